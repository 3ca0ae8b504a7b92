//! Health checks: one check of one run, as the core asks for them ([`supd_core::Effect::Probe`]).
//!
//! A check is a task on the event loop that ends by sending [`Event::ProbeResult`]; it
//! never blocks the loop. `tcp` connects; `http` sends a plain HTTP/1.1 GET and wants a 2xx
//! status; `command` runs through supd's own spawner (same user, directory and environment
//! as the program) and its exit status comes from supd's one reaper — never through
//! `tokio::process`, whose reaping would race supd's. Every check gets `timeout`.

use std::time::Duration;

use supd_config::HealthCheck;
use supd_core::ProgId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::event::Event;

/// How a `command` check's process ended, as the reaper saw it (`None`: never started).
pub type CommandExit = oneshot::Receiver<supd_core::ExitStatus>;

/// What a check needs besides its spec.
pub enum Check {
    Tcp(String),
    Http(String),
    /// The check's process (already spawned) and where its exit status will come from.
    Command {
        pgid: i32,
        exit: CommandExit,
    },
    /// The check's process could not even be started (the sentence says why).
    Failed(String),
}

impl Check {
    pub fn network(check: &HealthCheck) -> Option<Check> {
        match check {
            HealthCheck::Tcp(addr) => Some(Check::Tcp(addr.clone())),
            HealthCheck::Http(url) => Some(Check::Http(url.clone())),
            HealthCheck::Command(_) => None,
        }
    }
}

/// Runs `check` with `timeout` and reports the result for run `run` of `prog`.
pub async fn run(
    prog: ProgId,
    run: u32,
    check: Check,
    timeout: Duration,
    events: mpsc::UnboundedSender<Event>,
) {
    let pgid = match &check {
        Check::Command { pgid, .. } => Some(*pgid),
        _ => None,
    };
    let outcome = match tokio::time::timeout(timeout, perform(check)).await {
        Ok(outcome) => outcome,
        Err(_) => {
            if let Some(pgid) = pgid {
                // The reaper still collects it; its status then goes nowhere.
                let _ = supd_sys::process::signal_group(pgid, supd_config::Signal::SIGKILL);
            }
            Err(format!(
                "timed out after {}",
                crate::wording::human(timeout)
            ))
        }
    };
    let (ok, detail) = match outcome {
        Ok(detail) => (true, detail),
        Err(detail) => (false, detail),
    };
    let _ = events.send(Event::ProbeResult {
        prog,
        run,
        ok,
        detail,
    });
}

async fn perform(check: Check) -> Result<String, String> {
    match check {
        Check::Tcp(addr) => TcpStream::connect(&addr)
            .await
            .map(|_| format!("connected to {addr}"))
            .map_err(|e| format!("cannot connect to {addr}: {}", supd_sys::describe(&e))),
        Check::Http(url) => http_get(&url).await,
        Check::Command { exit, .. } => match exit.await {
            Ok(supd_core::ExitStatus::Exited(0)) => Ok("exited with 0".into()),
            Ok(status) => Err(format!(
                "check command {}",
                crate::wording::exit_status(status)
            )),
            Err(_) => Err("check command vanished".into()),
        },
        Check::Failed(why) => Err(why),
    }
}

/// `GET` of an `http://host[:port]/path` URL; a 2xx status line is healthy.
async fn http_get(url: &str) -> Result<String, String> {
    let (host, port, path) = split_url(url).ok_or_else(|| format!("bad URL {url:?}"))?;
    let addr = format!("{host}:{port}");
    let mut stream = TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {}", supd_sys::describe(&e)))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: supd-health\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot send the request: {e}"))?;
    // The status line is all we need: `HTTP/1.1 200 OK`.
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 4096 {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("cannot read the response: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    let line = line.lines().next().unwrap_or("");
    let status: Option<u16> = line
        .strip_prefix("HTTP/")
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok());
    match status {
        Some(code) if (200..300).contains(&code) => Ok(format!("HTTP {code}")),
        Some(code) => Err(format!("HTTP {code} from {url}")),
        None => Err(format!("no HTTP status line from {url}")),
    }
}

/// `http://host:port/path` → (`host`, port, `/path`); port 80 and path `/` by default.
fn split_url(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, p.parse().ok()?),
        _ => (authority, 80),
    };
    if host.is_empty() {
        return None;
    }
    Some((host.to_string(), port, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:8000/healthz"),
            Some(("127.0.0.1".into(), 8000, "/healthz".into()))
        );
        assert_eq!(
            split_url("http://localhost"),
            Some(("localhost".into(), 80, "/".into()))
        );
        assert_eq!(
            split_url("http://[::1]:8080/x?y=1"),
            Some(("[::1]".into(), 8080, "/x?y=1".into()))
        );
        assert_eq!(split_url("https://x/"), None);
        assert_eq!(split_url("http://:80/"), None);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn http_checks_want_a_2xx_status() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            use std::io::{Read, Write};
            for status in ["200 OK", "503 Service Unavailable"] {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = write!(s, "HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
            }
        });
        let url = format!("http://127.0.0.1:{port}/healthz");
        assert_eq!(http_get(&url).await, Ok("HTTP 200".into()));
        assert_eq!(http_get(&url).await, Err(format!("HTTP 503 from {url}")));
        server.join().unwrap();
        let refused = http_get(&url).await.unwrap_err();
        assert!(
            refused.starts_with("cannot connect to 127.0.0.1:"),
            "{refused}"
        );
    }
}
