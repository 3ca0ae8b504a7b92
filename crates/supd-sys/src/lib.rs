//! supd's contact with the kernel: the only crate allowed to use `unsafe`.
//!
//! It owns the system calls whose misuse would break supd's guarantees:
//! - [`spawn`]: fork/exec of a program into its own session and process group, with its
//!   privileges dropped gosu-style, every input resolved before the fork so the child runs
//!   only raw system calls until `execve`;
//! - [`reap`]: `waitpid(-1, WNOHANG)`, the one place supd collects exit statuses;
//! - [`process`]: signalling process groups, finding leftover descendants in `/proc`, and
//!   becoming a child subreaper when supd is not PID 1;
//! - [`pipe`]: the output pipes between programs and supd;
//! - [`limits`]: supd's own `RLIMIT_NOFILE`, raised, and the original one its programs get;
//! - [`socket`]: the backlog of the sockets supd holds for programs;
//! - [`users`]: `/etc/passwd` and `/etc/group`, parsed directly, resolved gosu-style;
//! - [`exec`]: dropping privileges and `execve` in place, for `supd exec`;
//! - [`terminal`]: the window size, cbreak mode and signals of `supctl top`'s terminal.
//!
//! Nothing here decides anything: policy lives in `supd-core`.

pub mod clock;
pub mod exec;
pub mod limits;
pub mod memory;
pub mod pipe;
pub mod process;
pub mod reap;
pub mod socket;
pub mod spawn;
pub mod terminal;
pub mod users;

pub use nix::sys::signal::Signal;

/// An I/O error in the system's own words, without Rust's `(os error N)` tail: `No such file
/// or directory`, `Permission denied`. Every crate words I/O errors through this.
pub fn describe(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(errno) => nix::errno::Errno::from_raw(errno).desc().to_string(),
        None => e.to_string(),
    }
}
pub use nix::unistd::Pid;

#[cfg(test)]
mod tests {
    #[test]
    fn io_errors_read_as_the_systems_words_without_the_os_error_tail() {
        let e = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(super::describe(&e), "No such file or directory");
        let e = std::io::Error::from_raw_os_error(libc::ENOEXEC);
        assert_eq!(super::describe(&e), "Exec format error");
        let custom = std::io::Error::other("pipe closed");
        assert_eq!(super::describe(&custom), "pipe closed");
    }
}
