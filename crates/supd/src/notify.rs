//! The sd_notify socket: programs with `ready = "notify"` get `NOTIFY_SOCKET` and report
//! `READY=1` (and `STATUS=...`) to it, as they would to systemd.
//!
//! It is one datagram socket in the abstract namespace (no file, no permissions to get
//! wrong for programs running as other users). Every message carries the sender's real pid
//! (`SO_PASSCRED`, filled in by the kernel); a message counts only when that process is a
//! member of a program's process group — anything else is ignored.

use std::io;
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, UnixAddr, recvmsg, setsockopt, sockopt};
use tokio::io::Interest;
use tokio::sync::mpsc;

use crate::event::Event;

/// The value of `NOTIFY_SOCKET` for programs (`@` marks the abstract namespace).
pub struct NotifySocket {
    pub env_value: String,
}

/// Binds the socket and starts reading it on the current `LocalSet`.
pub fn open(events: mpsc::UnboundedSender<Event>) -> io::Result<NotifySocket> {
    let name = format!(
        "supd-notify-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let socket = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes())?)?;
    setsockopt(&socket, sockopt::PassCred, &true)?;
    socket.set_nonblocking(true)?;
    let socket = tokio::net::UnixDatagram::from_std(socket)?;
    tokio::task::spawn_local(read(socket, events));
    Ok(NotifySocket {
        env_value: format!("@{name}"),
    })
}

async fn read(socket: tokio::net::UnixDatagram, events: mpsc::UnboundedSender<Event>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let got = socket
            .async_io(Interest::READABLE, || {
                let mut iov = [io::IoSliceMut::new(&mut buf)];
                let mut cmsg = nix::cmsg_space!(nix::sys::socket::UnixCredentials);
                let msg = recvmsg::<UnixAddr>(
                    socket.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    MsgFlags::MSG_DONTWAIT,
                )
                .map_err(io::Error::from)?;
                let pid = msg.cmsgs().ok().and_then(|mut cmsgs| {
                    cmsgs.find_map(|c| match c {
                        ControlMessageOwned::ScmCredentials(cred) => Some(cred.pid()),
                        _ => None,
                    })
                });
                Ok((msg.bytes, pid))
            })
            .await;
        let (len, pid) = match got {
            Ok(got) => got,
            Err(e) => {
                tracing::warn!(
                    "the sd_notify socket failed ({e}); READY=1 messages are no longer received"
                );
                return;
            }
        };
        let Some(pid) = pid else { continue };
        let text = String::from_utf8_lossy(&buf[..len]);
        let (ready, status) = parse(&text);
        if !ready && status.is_none() {
            continue;
        }
        let Some(pgid) = supd_sys::process::process_group(pid) else {
            continue;
        };
        let _ = events.send(Event::Notify {
            pgid,
            pid,
            ready,
            status,
        });
    }
}

/// `READY=1` and `STATUS=...` out of a newline-separated sd_notify message.
fn parse(text: &str) -> (bool, Option<String>) {
    let mut ready = false;
    let mut status = None;
    for line in text.lines() {
        match line.split_once('=') {
            Some(("READY", "1")) => ready = true,
            Some(("STATUS", s)) => status = Some(s.to_string()),
            _ => {}
        }
    }
    (ready, status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_parsed_line_by_line() {
        assert_eq!(parse("READY=1"), (true, None));
        assert_eq!(
            parse("STATUS=loading\nREADY=1\nMAINPID=4\n"),
            (true, Some("loading".into()))
        );
        assert_eq!(parse("READY=0\nWATCHDOG=1"), (false, None));
    }
}
