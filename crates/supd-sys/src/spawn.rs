//! Starting a program: fork, drop privileges, exec.
//!
//! Everything the child needs (argv, environment, working directory, ids, umask, output
//! descriptors) is prepared in [`SpawnRequest`] before the fork. Between fork and exec the
//! child makes only async-signal-safe system calls: `setsid`, `setgroups`, `setgid`,
//! `setuid`, `umask`, plus what the standard library does for redirection and the signal
//! mask. An exec failure travels back to the parent through the standard library's
//! close-on-exec pipe, so `spawn` returns `Err` with the real reason (`No such file or
//! directory`) instead of a child that exits 127.

use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Identity the program runs as, already resolved to numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups, set with `setgroups` before `setgid`/`setuid`.
    pub groups: Vec<u32>,
}

/// Where one output stream of the child goes.
#[derive(Debug)]
pub enum Output {
    /// `/dev/null`.
    Null,
    /// This descriptor (the write end of a pipe, or a log file opened for appending).
    Fd(OwnedFd),
}

/// Everything needed to start one program, resolved in the parent.
#[derive(Debug)]
pub struct SpawnRequest {
    /// argv; `argv[0]` is looked up on the `PATH` of `env` when it has no `/`.
    pub argv: Vec<OsString>,
    /// The complete environment of the program.
    pub env: Vec<(OsString, OsString)>,
    pub cwd: Option<PathBuf>,
    pub credentials: Option<Credentials>,
    pub umask: Option<u32>,
    pub stdout: Output,
    pub stderr: Output,
}

/// Starts the program in a new session (so it leads its own process group, `pgid == pid`)
/// with stdin on `/dev/null`. Returns its pid once `execve` has succeeded.
///
/// Errors are phrased for users: `cannot run "foo": No such file or directory`.
pub fn spawn(req: SpawnRequest) -> Result<u32, SpawnError> {
    let Some(program) = req.argv.first() else {
        return Err(SpawnError::new("empty command".into()));
    };
    if let Some(cwd) = &req.cwd
        && !cwd.is_dir()
    {
        return Err(SpawnError::new(format!(
            "working directory {} does not exist or is not a directory",
            cwd.display()
        )));
    }
    let mut cmd = Command::new(program);
    cmd.args(&req.argv[1..])
        .env_clear()
        .envs(req.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(stdio(req.stdout))
        .stderr(stdio(req.stderr));
    if let Some(cwd) = &req.cwd {
        cmd.current_dir(cwd);
    }
    let credentials = req.credentials;
    let umask = req.umask;
    // SAFETY: the closure runs in the forked child before exec. It only makes
    // async-signal-safe system calls on data prepared before the fork (the `groups` vector
    // is moved in and only read), allocates nothing, takes no locks, and reports failure with
    // `io::Error::last_os_error()`, which does not allocate.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(c) = &credentials {
                if libc::setgroups(c.groups.len(), c.groups.as_ptr()) < 0 {
                    return Err(io::Error::last_os_error());
                }
                if libc::setgid(c.gid) < 0 {
                    return Err(io::Error::last_os_error());
                }
                if libc::setuid(c.uid) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            if let Some(mask) = umask {
                libc::umask(mask as libc::mode_t);
            }
            Ok(())
        });
    }
    match cmd.spawn() {
        // The `Child` handle is dropped on purpose: supd's reaper collects the exit status
        // with `waitpid(-1)`; dropping a `Child` neither waits nor kills.
        Ok(child) => Ok(child.id()),
        Err(e) => Err(SpawnError::new(format!(
            "cannot run {:?}: {}",
            program.to_string_lossy(),
            describe(&e)
        ))),
    }
}

fn stdio(out: Output) -> Stdio {
    match out {
        Output::Null => Stdio::null(),
        Output::Fd(fd) => Stdio::from(fd),
    }
}

/// An io error as a user reads it: `No such file or directory`, without `(os error 2)`.
pub fn describe(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Why a program could not be started, in one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnError(pub String);

impl SpawnError {
    fn new(s: String) -> Self {
        SpawnError(s)
    }
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpawnError {}
