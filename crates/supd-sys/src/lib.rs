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
//! - [`users`]: `/etc/passwd` and `/etc/group`, parsed directly, resolved gosu-style;
//! - [`exec`]: dropping privileges and `execve` in place, for `supd exec`.
//!
//! Nothing here decides anything: policy lives in `supd-core`.

pub mod exec;
pub mod memory;
pub mod pipe;
pub mod process;
pub mod reap;
pub mod spawn;
pub mod users;

pub use nix::sys::signal::Signal;
pub use nix::unistd::Pid;
