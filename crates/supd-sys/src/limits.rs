//! supd's own open-files limit, and the one its programs get.
//!
//! supd supervising a thousand programs holds two pipes per program plus its sockets, more
//! than the usual soft `RLIMIT_NOFILE` of 1024: at start it raises its soft limit to the hard
//! one ([`raise_open_files_limit`]). Programs must not inherit that: many misbehave with a
//! huge limit (those that close every descriptor up to it, or size a table by it), so the
//! spawner gives each child the original soft limit back before `execve`
//! ([`original_open_files_limit`]).

use std::io;
use std::sync::OnceLock;

/// The `RLIMIT_NOFILE` supd was started with, remembered when it raised its own.
static ORIGINAL: OnceLock<libc::rlimit> = OnceLock::new();

/// What [`raise_open_files_limit`] did: the soft limit before and after (the hard limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raised {
    pub before: u64,
    pub after: u64,
}

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit, remembering the original
/// for the programs. Call once, early, before any program is started.
pub fn raise_open_files_limit() -> io::Result<Raised> {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the rlimit it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut current) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let raised = Raised {
        before: current.rlim_cur,
        after: current.rlim_max,
    };
    if current.rlim_cur == current.rlim_max {
        return Ok(raised);
    }
    let wanted = libc::rlimit {
        rlim_cur: current.rlim_max,
        rlim_max: current.rlim_max,
    };
    // SAFETY: setrlimit reads the rlimit it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let _ = ORIGINAL.set(current);
    Ok(raised)
}

/// The limit programs get back, when supd raised its own (else they inherit supd's as is).
pub(crate) fn original_open_files_limit() -> Option<libc::rlimit> {
    ORIGINAL.get().copied()
}
