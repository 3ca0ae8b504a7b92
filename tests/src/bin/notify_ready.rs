//! `notify_ready TRIGGER_FILE`: a daemon that speaks systemd's sd_notify protocol. It sends
//! `STATUS=waiting for TRIGGER_FILE` to `$NOTIFY_SOCKET`, waits until TRIGGER_FILE exists,
//! sends `READY=1` and `STATUS=serving`, then sleeps until killed.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

fn send(message: &str) {
    let Ok(target) = std::env::var("NOTIFY_SOCKET") else {
        eprintln!("notify_ready: NOTIFY_SOCKET is not set");
        std::process::exit(2);
    };
    let addr = match target.strip_prefix('@') {
        Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
        None => SocketAddr::from_pathname(&target),
    }
    .expect("NOTIFY_SOCKET address");
    let socket = UnixDatagram::unbound().expect("datagram socket");
    socket
        .send_to_addr(message.as_bytes(), &addr)
        .expect("send to NOTIFY_SOCKET");
}

fn main() {
    let trigger = std::env::args()
        .nth(1)
        .expect("usage: notify_ready TRIGGER_FILE");
    send(&format!("STATUS=waiting for {trigger}"));
    println!("waiting for {trigger}");
    while !std::path::Path::new(&trigger).exists() {
        // A helper program, not a test: it may poll its trigger.
        std::thread::sleep(Duration::from_millis(10));
    }
    send("READY=1\nSTATUS=serving");
    println!("ready");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
