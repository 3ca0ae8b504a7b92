//! Listening sockets supd holds for programs: their `listen(2)` backlog.
//!
//! std binds and listens with a backlog of its own choosing; supd then sets the one the
//! config asks for, calling `listen` again on the same socket (Linux changes the queue's
//! length in place, keeping the connections already queued). nix's wrapper refuses a
//! backlog above the C library's `SOMAXCONN` (128 with musl), which the kernel would
//! accept up to `net.core.somaxconn`, so this calls `listen` itself.

use std::io;
use std::os::fd::{AsFd, AsRawFd};

/// Sets the backlog of the listening socket `fd` (the kernel caps it at
/// `net.core.somaxconn`).
pub fn set_backlog(fd: &impl AsFd, backlog: u32) -> io::Result<()> {
    let backlog = libc::c_int::try_from(backlog).unwrap_or(libc::c_int::MAX);
    // SAFETY: listen(2) on a descriptor the borrow keeps open; it touches no memory.
    let rc = unsafe { libc::listen(fd.as_fd().as_raw_fd(), backlog) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_listening_socket_takes_a_new_backlog() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        super::set_backlog(&listener, 1024).unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(std::net::TcpStream::connect(addr).is_ok());
    }
}
