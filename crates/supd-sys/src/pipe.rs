//! The pipes that carry program output to supd.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use nix::fcntl::{FcntlArg, OFlag, fcntl};

/// A new pipe `(read end, write end)`, both close-on-exec (the write end is handed to the
/// child by `dup2`, which clears the flag on the copy).
pub fn new_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)
}

/// Grows the pipe's kernel buffer to `bytes` (best effort, returns the size it got). A bigger
/// buffer lets a chatty program write more before it has to wait for supd.
pub fn set_pipe_size(fd: impl AsFd, bytes: usize) -> io::Result<usize> {
    let size = fcntl(fd, FcntlArg::F_SETPIPE_SZ(bytes as libc::c_int))?;
    Ok(size as usize)
}

/// The pipe's kernel buffer size.
pub fn pipe_size(fd: impl AsFd) -> io::Result<usize> {
    Ok(fcntl(fd, FcntlArg::F_GETPIPE_SZ)? as usize)
}

/// Makes writes to (or reads from) `fd` fail with `WouldBlock` instead of waiting.
pub fn set_nonblocking(fd: impl AsFd) -> io::Result<()> {
    let flags = OFlag::from_bits_truncate(fcntl(&fd, FcntlArg::F_GETFL)?);
    fcntl(&fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}
