//! Collecting exit statuses: the only `waitpid` in supd.
//!
//! supd never lets anything else wait for its children (no `tokio::process`, no
//! `Child::wait`): two reapers would steal each other's statuses.

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signaled { signal: Signal, core_dumped: bool },
}

/// The result of one non-blocking `waitpid(-1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaped {
    Child {
        pid: i32,
        ended: Ended,
    },
    /// Children exist, none has ended.
    NothingYet,
    /// supd has no child at all.
    NoChildren,
}

/// Collects one ended child, if any, without blocking. Call until it returns
/// [`Reaped::NothingYet`] or [`Reaped::NoChildren`] on every SIGCHLD.
pub fn reap_one() -> Reaped {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => {
                return Reaped::Child {
                    pid: pid.as_raw(),
                    ended: Ended::Exited(code),
                };
            }
            Ok(WaitStatus::Signaled(pid, signal, core_dumped)) => {
                return Reaped::Child {
                    pid: pid.as_raw(),
                    ended: Ended::Signaled {
                        signal,
                        core_dumped,
                    },
                };
            }
            Ok(WaitStatus::StillAlive) => return Reaped::NothingYet,
            // Stop/continue reports are not requested (no WUNTRACED/WCONTINUED); skip any.
            Ok(_) => continue,
            Err(Errno::EINTR) => continue,
            Err(Errno::ECHILD) => return Reaped::NoChildren,
            // EINVAL cannot happen with these arguments; treat anything else as "nothing".
            Err(_) => return Reaped::NothingYet,
        }
    }
}
