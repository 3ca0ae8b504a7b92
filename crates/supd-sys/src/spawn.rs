//! Starting a program: fork, drop privileges, exec.
//!
//! Everything the child needs (the executable's path, argv, environment, working
//! directory, ids, umask, output descriptors, an empty signal mask) is prepared in the
//! parent before `fork`, as C strings and pointer arrays. Between fork and exec the child
//! makes only async-signal-safe system calls — `sigprocmask`, `signal(SIGPIPE, SIG_DFL)`,
//! `dup2`, `setsid`, `setgroups`, `setgid`, `setuid`, `umask`, `chdir`, `execve` — and
//! allocates nothing. If one of them fails, the child writes the errno to a close-on-exec
//! pipe and exits 127; the parent reads that pipe to tell an exec that happened from one
//! that did not, with the real reason (`No such file or directory`).
//!
//! Spawning is split in two so that many programs start in parallel: [`fork_exec`] returns
//! as soon as the child exists, and [`Pending::confirm`] later waits for its `execve`. A
//! supervisor starting 100 programs forks all of them, then confirms them, while the
//! children exec side by side.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

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
    /// This descriptor (the write end of a pipe, or a file opened for appending).
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

/// Why a program could not be started, in one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnError(pub String);

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpawnError {}

/// A forked child whose `execve` is not confirmed yet.
#[derive(Debug)]
pub struct Pending {
    pub pid: u32,
    /// Read end of the error pipe: end of file once `execve` succeeded, an errno otherwise.
    errors: OwnedFd,
    program: String,
}

/// Starts the program and waits until it runs: [`fork_exec`] then [`Pending::confirm`].
pub fn spawn(req: SpawnRequest) -> Result<u32, SpawnError> {
    fork_exec(req)?.confirm()
}

/// Forks the child that will become the program (in a new session, so it leads its own
/// process group, `pgid == pid`, with stdin on `/dev/null`). Returns at once; call
/// [`Pending::confirm`] to learn whether `execve` succeeded.
pub fn fork_exec(req: SpawnRequest) -> Result<Pending, SpawnError> {
    let Some(program) = req.argv.first() else {
        return Err(SpawnError("empty command".into()));
    };
    let shown = program.to_string_lossy().into_owned();
    let cannot = |why: String| SpawnError(format!("cannot run {shown:?}: {why}"));
    if let Some(cwd) = &req.cwd
        && !cwd.is_dir()
    {
        return Err(SpawnError(format!(
            "working directory {} does not exist or is not a directory",
            cwd.display()
        )));
    }
    let path_var = req
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_os_str());
    let file =
        find_executable(program, path_var, req.cwd.as_deref()).map_err(|e| cannot(describe(&e)))?;
    let image =
        Image::new(&file, &req).map_err(|_| cannot("an argument contains a NUL byte".into()))?;

    let null = std::fs::File::open("/dev/null").map_err(|e| cannot(describe(&e)))?;
    let fd_of = |out: &Output| match out {
        Output::Null => null.as_raw_fd(),
        Output::Fd(fd) => fd.as_raw_fd(),
    };
    let (stdout, stderr) = (fd_of(&req.stdout), fd_of(&req.stderr));
    let (errors, report) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| cannot(describe(&io::Error::from(e))))?;

    let child = ChildPlan {
        stdin: null.as_raw_fd(),
        stdout,
        stderr,
        report: report.as_raw_fd(),
        credentials: req.credentials.as_ref(),
        umask: req.umask,
        image: &image,
    };
    // SAFETY: fork() itself is safe to call; what matters is the child side. The child runs
    // only `ChildPlan::exec`, which makes async-signal-safe system calls on memory prepared
    // before the fork (no allocation, no lock, no panic: every failure path is
    // `report_and_exit`, which calls write(2) and _exit(2)).
    match unsafe { libc::fork() } {
        -1 => Err(cannot(describe(&io::Error::last_os_error()))),
        0 => child.exec(),
        pid => {
            // The child has its own copies; ours go now (the write end of the error pipe
            // must, or the parent would never see end of file).
            drop(report);
            drop(req.stdout);
            drop(req.stderr);
            Ok(Pending {
                pid: pid as u32,
                errors,
                program: shown,
            })
        }
    }
}

impl Pending {
    /// Waits until the child has called `execve`: `Ok(pid)`, or why it could not. A child
    /// that failed exits 127 on its own; supd's reaper collects it like any other.
    pub fn confirm(self) -> Result<u32, SpawnError> {
        let mut buf = [0u8; 4];
        let mut got = 0;
        loop {
            match nix::unistd::read(&self.errors, &mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => {
                    got += n;
                    if got == buf.len() {
                        break;
                    }
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        if got == buf.len() {
            let errno = i32::from_ne_bytes(buf);
            let e = io::Error::from_raw_os_error(errno);
            return Err(SpawnError(format!(
                "cannot run {:?}: {}",
                self.program,
                describe(&e)
            )));
        }
        Ok(self.pid)
    }
}

/// The file `program` names: itself when it has a `/` (relative to `cwd`, where the child
/// will be), else the first executable match on `path` (a `PATH`-style list).
pub fn find_executable(
    program: &OsStr,
    path: Option<&OsStr>,
    cwd: Option<&Path>,
) -> io::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let check = |p: &Path| -> io::Result<()> {
        let meta = std::fs::metadata(p)?;
        if meta.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        if meta.permissions().mode() & 0o111 == 0 {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        Ok(())
    };
    if program.as_bytes().contains(&b'/') {
        let as_given = PathBuf::from(program);
        let seen_from_here = match cwd {
            Some(dir) if as_given.is_relative() => dir.join(&as_given),
            _ => as_given.clone(),
        };
        check(&seen_from_here)?;
        // The child chdirs first, so it execs the path as given.
        return Ok(as_given);
    }
    let path = path.unwrap_or(OsStr::new("/usr/local/bin:/usr/bin:/bin"));
    let mut denied = None;
    for dir in std::env::split_paths(path) {
        let dir = match cwd {
            Some(c) if dir.is_relative() => c.join(dir),
            _ => dir,
        };
        let candidate = dir.join(program);
        match check(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => denied = Some(e),
            Err(_) => {}
        }
    }
    Err(denied.unwrap_or_else(|| io::Error::from_raw_os_error(libc::ENOENT)))
}

/// The C view of the program: strings and the pointer arrays `execve` takes.
struct Image {
    file: CString,
    cwd: Option<CString>,
    // The pointer arrays point into these; they must live as long as the arrays.
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
    groups: Vec<libc::gid_t>,
    empty_mask: libc::sigset_t,
}

impl Image {
    fn new(file: &Path, req: &SpawnRequest) -> Result<Image, std::ffi::NulError> {
        let argv: Vec<CString> = req
            .argv
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<Result<_, _>>()?;
        let envp: Vec<CString> = req
            .env
            .iter()
            .map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv)
            })
            .collect::<Result<_, _>>()?;
        let ptrs = |v: &[CString]| {
            v.iter()
                .map(|s| s.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect()
        };
        let argv_ptrs = ptrs(&argv);
        let envp_ptrs = ptrs(&envp);
        let groups = req
            .credentials
            .as_ref()
            .map(|c| c.groups.clone())
            .unwrap_or_default();
        Ok(Image {
            file: CString::new(file.as_os_str().as_bytes())?,
            cwd: req
                .cwd
                .as_ref()
                .map(|c| CString::new(c.as_os_str().as_bytes()))
                .transpose()?,
            _argv: argv,
            _envp: envp,
            argv_ptrs,
            envp_ptrs,
            groups,
            empty_mask: empty_sigset(),
        })
    }
}

fn empty_sigset() -> libc::sigset_t {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given; it cannot fail for a valid
    // pointer, and the value is only read after it has been initialised.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        set.assume_init()
    }
}

/// What the child does, with everything already in place.
struct ChildPlan<'a> {
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    report: RawFd,
    credentials: Option<&'a Credentials>,
    umask: Option<u32>,
    image: &'a Image,
}

impl ChildPlan<'_> {
    /// Runs in the forked child; never returns.
    fn exec(&self) -> ! {
        let img = self.image;
        // SAFETY: every call below is an async-signal-safe system call on pointers into
        // `Image`, which the parent built before forking and which the child's copy of the
        // address space still holds; nothing allocates or takes a lock.
        unsafe {
            if libc::sigprocmask(libc::SIG_SETMASK, &img.empty_mask, std::ptr::null_mut()) != 0 {
                self.report_and_exit();
            }
            // The Rust runtime ignores SIGPIPE; an ignored disposition survives exec.
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            for (from, to) in [(self.stdin, 0), (self.stdout, 1), (self.stderr, 2)] {
                if libc::dup2(from, to) < 0 {
                    self.report_and_exit();
                }
            }
            if libc::setsid() < 0 {
                self.report_and_exit();
            }
            if let Some(c) = self.credentials {
                if libc::setgroups(img.groups.len(), img.groups.as_ptr()) < 0
                    || libc::setgid(c.gid) < 0
                    || libc::setuid(c.uid) < 0
                {
                    self.report_and_exit();
                }
            }
            if let Some(mask) = self.umask {
                libc::umask(mask as libc::mode_t);
            }
            if let Some(cwd) = &img.cwd
                && libc::chdir(cwd.as_ptr()) < 0
            {
                self.report_and_exit();
            }
            libc::execve(
                img.file.as_ptr(),
                img.argv_ptrs.as_ptr(),
                img.envp_ptrs.as_ptr(),
            );
            self.report_and_exit()
        }
    }

    /// Sends errno to the parent and exits 127, as a shell does for a command it cannot run.
    fn report_and_exit(&self) -> ! {
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        let bytes = errno.to_ne_bytes();
        // SAFETY: write(2) and _exit(2) are async-signal-safe; `bytes` lives on this stack.
        unsafe {
            libc::write(self.report, bytes.as_ptr().cast(), bytes.len());
            libc::_exit(127)
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn req(argv: &[&str]) -> SpawnRequest {
        SpawnRequest {
            argv: argv.iter().map(OsString::from).collect(),
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            cwd: None,
            credentials: None,
            umask: None,
            stdout: Output::Null,
            stderr: Output::Null,
        }
    }

    fn wait(pid: u32) -> nix::sys::wait::WaitStatus {
        nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid as i32), None).unwrap()
    }

    #[test]
    fn a_program_on_path_runs_in_its_own_session() {
        let pid = spawn(req(&[
            "sh",
            "-c",
            "[ $$ -eq $(ps -o sid= -p $$) ] || exit 9",
        ]))
        .unwrap();
        assert_eq!(
            wait(pid),
            nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(pid as i32), 0)
        );
    }

    #[test]
    fn missing_programs_and_directories_are_named() {
        let e = spawn(req(&["no-such-program-xyz"])).unwrap_err();
        assert_eq!(
            e.0,
            "cannot run \"no-such-program-xyz\": No such file or directory"
        );
        let e = spawn(req(&["/etc/passwd"])).unwrap_err();
        assert_eq!(e.0, "cannot run \"/etc/passwd\": Permission denied");
        let mut r = req(&["true"]);
        r.cwd = Some("/no/such/dir".into());
        let e = spawn(r).unwrap_err();
        assert!(
            e.0.starts_with("working directory /no/such/dir does not exist"),
            "{}",
            e.0
        );
    }

    #[test]
    fn an_exec_that_fails_in_the_child_is_reported_with_its_reason() {
        // A script whose interpreter does not exist: found and executable, yet execve fails.
        let dir = tempfile_dir();
        let script = dir.join("script");
        std::fs::write(&script, "#!/no/such/interpreter\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let pending = fork_exec(req(&[script.to_str().unwrap()])).unwrap();
        let pid = pending.pid;
        let e = pending.confirm().unwrap_err();
        assert!(e.0.ends_with(": No such file or directory"), "{}", e.0);
        assert_eq!(
            wait(pid),
            nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(pid as i32), 127)
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn output_goes_to_the_given_descriptors() {
        let (read, write) = crate::pipe::new_pipe().unwrap();
        let mut r = req(&["sh", "-c", "echo out; echo err >&2"]);
        r.stdout = Output::Fd(write.try_clone().unwrap());
        r.stderr = Output::Fd(write);
        let pid = spawn(r).unwrap();
        wait(pid);
        let mut text = String::new();
        use std::io::Read;
        std::fs::File::from(read).read_to_string(&mut text).unwrap();
        assert_eq!(text, "out\nerr\n");
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("supd-sys-spawn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
