//! Becoming another program in place: drop privileges, then `execve` (same pid, so signals
//! go straight to the new program). Used by `supd exec`, the gosu replacement for
//! entrypoint scripts.

use std::ffi::{CString, OsString};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use nix::unistd::{Gid, Uid};

use crate::spawn::Credentials;

/// Sets supplementary groups, then gid, then uid (in that order: after `setuid` the others
/// would no longer be permitted). Must run before any other thread exists.
pub fn drop_privileges(c: &Credentials) -> io::Result<()> {
    let groups: Vec<Gid> = c.groups.iter().map(|&g| Gid::from_raw(g)).collect();
    nix::unistd::setgroups(&groups)?;
    nix::unistd::setgid(Gid::from_raw(c.gid))?;
    nix::unistd::setuid(Uid::from_raw(c.uid))?;
    Ok(())
}

/// Replaces this process with `file`, run with `argv` and exactly `env`, with the signal
/// state a program expects (no signal blocked, SIGPIPE not ignored: the Rust runtime
/// ignores it, and an ignored disposition would survive exec). Returns only on failure.
pub fn exec(file: &Path, argv: &[OsString], env: &[(OsString, OsString)]) -> io::Error {
    // SAFETY: setting SIGPIPE's disposition to the default installs no handler; nothing of
    // this process runs after a successful exec.
    unsafe {
        let _ = nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        );
    }
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    );
    let cstr =
        |b: Vec<u8>| CString::new(b).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput));
    let prepared = (|| -> io::Result<(CString, Vec<CString>, Vec<CString>)> {
        let file = cstr(file.as_os_str().as_bytes().to_vec())?;
        let argv = argv
            .iter()
            .map(|a| cstr(a.clone().into_vec()))
            .collect::<io::Result<Vec<_>>>()?;
        let env = env
            .iter()
            .map(|(k, v)| {
                let mut kv = k.clone().into_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                cstr(kv)
            })
            .collect::<io::Result<Vec<_>>>()?;
        Ok((file, argv, env))
    })();
    match prepared {
        Ok((file, argv, env)) => match nix::unistd::execve(&file, &argv, &env) {
            Ok(never) => match never {},
            Err(e) => e.into(),
        },
        Err(e) => e,
    }
}
