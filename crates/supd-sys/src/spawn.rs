//! Starting a program: fork, drop privileges, exec.
//!
//! Everything the child needs (the executable's path, argv, environment, working
//! directory, ids, umask, output descriptors, an empty signal mask) is prepared in the
//! parent before `fork`, as C strings and pointer arrays. Between fork and exec the child
//! makes only async-signal-safe system calls — `getpid` and `write` (its pid to supd's
//! keeper, [`Announce`]), `sigaction` (to reset supd's handlers),
//! `sigprocmask`, `fcntl` and `dup2` (stdio, and the sockets supd holds for the program as
//! descriptors 3, 4, ..., see [`ListenFd`]), `setsid`, `setrlimit` (the open-files limit supd was started with,
//! see [`crate::limits`]), `setgroups`, `setgid`, `setuid`, `umask`, `chdir`, `execve` — and
//! allocates nothing (the child writes its pid into `LISTEN_PID=`, an environment entry
//! allocated for it beforehand). If one of them fails, the child leaves the errno in
//! memory it shares with supd and exits 127, so supd reports the real reason (`No such file
//! or directory`) instead of a program that exited 127.
//!
//! The child is created with `clone(CLONE_VM | CLONE_VFORK)` on a small stack of its own,
//! as glibc's `posix_spawn` does: it shares supd's memory until it execs, so supd's page
//! tables are never copied and supd takes no copy-on-write faults — a `fork` of a running
//! supd costs both, for every start.

use crate::describe;
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

/// A line the child writes to `fd` first thing, its own pid between `before` and `after`
/// (supd's keeper hears of the program's group before it can exec, see `supd::keeper`).
/// Written once, without waiting (a full pipe loses it); longer than 128 bytes, not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announce {
    pub fd: RawFd,
    pub before: Vec<u8>,
    pub after: Vec<u8>,
}

/// A socket the program inherits (systemd's `LISTEN_FDS` protocol): the `i`-th of a request
/// is descriptor `3 + i` in the child, without close-on-exec, named `name` in
/// `LISTEN_FDNAMES`.
#[derive(Debug)]
pub struct ListenFd {
    /// supd's descriptor (a duplicate of the one it holds; closed once the child has it).
    pub fd: OwnedFd,
    pub name: String,
}

/// The first descriptor of [`ListenFd`]s in the child (`SD_LISTEN_FDS_START`).
pub const LISTEN_FDS_START: RawFd = 3;

/// Everything needed to start one program, resolved in the parent.
#[derive(Debug)]
pub struct SpawnRequest {
    /// argv; `argv[0]` is looked up on the `PATH` of `env` when it has no `/`.
    pub argv: Vec<OsString>,
    /// The file to execute instead of the one `argv[0]` names (supd re-executing itself
    /// through `/proc/self/exe` while its `argv[0]` stays `supd`).
    pub executable: Option<PathBuf>,
    /// The complete environment of the program.
    pub env: Vec<(OsString, OsString)>,
    pub cwd: Option<PathBuf>,
    pub credentials: Option<Credentials>,
    pub umask: Option<u32>,
    /// The child's stdin (the read end of a pipe supd writes to); `None` is `/dev/null`.
    pub stdin: Option<OwnedFd>,
    /// A line with its pid the child writes before anything else.
    pub announce: Option<Announce>,
    pub stdout: Output,
    pub stderr: Output,
    /// Sockets passed as descriptors 3, 4, ...; when there are any, `LISTEN_FDS`,
    /// `LISTEN_FDNAMES` and `LISTEN_PID` (the child's own pid) replace those of `env`.
    pub sockets: Vec<ListenFd>,
}

/// Why a program could not be started: one sentence, and whether finding or executing the
/// command itself failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnError {
    pub message: String,
    /// The `errno` of looking up or `execve`ing the command (`ENOENT`, `EACCES`,
    /// `ENOEXEC`...), when that is what failed.
    pub exec_errno: Option<i32>,
}

impl SpawnError {
    /// A failure that is not about the command itself (a pipe, a user, a directory).
    pub fn new(message: impl Into<String>) -> Self {
        SpawnError {
            message: message.into(),
            exec_errno: None,
        }
    }

    /// Trying the same command again cannot work: it is not there, not executable, not a
    /// format the kernel runs, or not a valid argument list, until the file or the config
    /// changes. (`ETXTBSY`, a file
    /// being written, and resource shortages may pass.)
    pub fn is_futile(&self) -> bool {
        matches!(
            self.exec_errno,
            Some(
                libc::ENOENT
                    | libc::EACCES
                    | libc::ENOEXEC
                    | libc::ENOTDIR
                    | libc::ELOOP
                    | libc::ENAMETOOLONG
                    | libc::E2BIG
                    | libc::EINVAL
                    | libc::EPERM
            )
        )
    }
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SpawnError {}

/// Starts the program in a new session (so it leads its own process group, `pgid == pid`)
/// with stdin on `/dev/null` unless the request gives one, and returns its pid once `execve` has succeeded.
pub fn spawn(req: SpawnRequest) -> Result<u32, SpawnError> {
    let Some(program) = req.argv.first() else {
        return Err(SpawnError {
            message: "empty command".into(),
            exec_errno: Some(libc::ENOENT),
        });
    };
    let shown = program.to_string_lossy().into_owned();
    let cannot = |why: String| SpawnError::new(format!("cannot run {shown:?}: {why}"));
    let cannot_exec = |e: &io::Error| SpawnError {
        message: format!("cannot run {shown:?}: {}", describe(e)),
        exec_errno: e.raw_os_error(),
    };
    if let Some(cwd) = &req.cwd
        && !cwd.is_dir()
    {
        return Err(SpawnError::new(format!(
            "working directory {} does not exist or is not a directory",
            cwd.display()
        )));
    }
    let path_var = req
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_os_str());
    let named = req
        .executable
        .as_deref()
        .map_or(program.as_os_str(), Path::as_os_str);
    let file = find_executable(named, path_var, req.cwd.as_deref()).map_err(|e| cannot_exec(&e))?;
    let image = Image::new(&file, &req).map_err(|_| SpawnError {
        message: format!("cannot run {shown:?}: an argument contains a NUL byte"),
        exec_errno: Some(libc::EINVAL),
    })?;

    // Read-write: the same descriptor is stdin and, for `null` outputs, stdout/stderr.
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| cannot(describe(&e)))?;
    let fd_of = |out: &Output| match out {
        Output::Null => null.as_raw_fd(),
        Output::Fd(fd) => fd.as_raw_fd(),
    };
    let (stdout, stderr) = (fd_of(&req.stdout), fd_of(&req.stderr));
    let sockets: Vec<std::cell::Cell<RawFd>> = req
        .sockets
        .iter()
        .map(|s| std::cell::Cell::new(s.fd.as_raw_fd()))
        .collect();
    let child = ChildPlan {
        sockets: &sockets,
        stdin: req
            .stdin
            .as_ref()
            .map_or(null.as_raw_fd(), AsRawFd::as_raw_fd),
        open_files_limit: crate::limits::original_open_files_limit(),
        announce: req.announce.as_ref(),
        stdout,
        stderr,
        failed: std::sync::atomic::AtomicI32::new(0),
        credentials: req.credentials.as_ref(),
        umask: req.umask,
        image: &image,
    };
    let pid = clone_vfork(&child).map_err(|e| cannot(describe(&e)))?;
    // The child has exec'd (or exited): its copies of the descriptors are its own now.
    drop(req.stdin);
    drop(req.stdout);
    drop(req.stderr);
    drop(req.sockets);
    match child.failed.load(std::sync::atomic::Ordering::SeqCst) {
        0 => Ok(pid),
        // The child exits 127 on its own; supd's reaper collects it like any other.
        errno => Err(cannot_exec(&io::Error::from_raw_os_error(errno))),
    }
}

/// Runs `plan.exec()` in a new process that shares supd's memory until it execs
/// (`CLONE_VM | CLONE_VFORK`, as glibc's `posix_spawn` does): no page table is copied and
/// supd takes no copy-on-write fault, which a `fork` of a running supd costs. supd waits
/// until the child has called `execve` (or exited), with every signal blocked meanwhile,
/// and the child runs on a stack of its own.
fn clone_vfork(plan: &ChildPlan) -> io::Result<u32> {
    const STACK: usize = 64 * 1024;
    extern "C" fn entry(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `arg` is the `&ChildPlan` passed to clone below; the parent keeps it
        // alive and untouched until this child has exec'd or exited.
        let plan = unsafe { &*(arg as *const ChildPlan) };
        plan.exec()
    }
    // SAFETY: a fresh private anonymous mapping; checked for failure before use.
    let stack = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        )
    };
    if stack == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let mut all = empty_sigset();
    let mut old = empty_sigset();
    // SAFETY: sigfillset/pthread_sigmask on local sets; clone gets a stack of STACK bytes
    // (it grows down from its end), an entry point that never returns into Rust frames of
    // the parent, and a pointer that outlives the call; munmap releases the stack once the
    // child no longer uses it (CLONE_VFORK returns only after its exec or exit).
    let pid = unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let pid = libc::clone(
            entry,
            stack.cast::<u8>().add(STACK).cast(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            plan as *const ChildPlan as *mut libc::c_void,
        );
        let error = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        libc::munmap(stack, STACK);
        if pid < 0 {
            return Err(error);
        }
        pid
    };
    Ok(pid as u32)
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
    /// The `LISTEN_PID=` entry of `envp_ptrs`, which the child completes with its own pid
    /// (boxed: the pointer in `envp_ptrs` must not move with the `Image`).
    listen_pid: Option<Box<ListenPid>>,
}

/// `LISTEN_PID=` and room for a pid and the terminating NUL.
struct ListenPid(std::cell::UnsafeCell<[u8; LISTEN_PID_LEN]>);

const LISTEN_PID_PREFIX: &[u8] = b"LISTEN_PID=";
const LISTEN_PID_LEN: usize = LISTEN_PID_PREFIX.len() + 10 + 1;

impl ListenPid {
    fn new() -> Box<ListenPid> {
        let mut entry = [0u8; LISTEN_PID_LEN];
        entry[..LISTEN_PID_PREFIX.len()].copy_from_slice(LISTEN_PID_PREFIX);
        Box::new(ListenPid(std::cell::UnsafeCell::new(entry)))
    }

    fn as_ptr(&self) -> *const libc::c_char {
        self.0.get().cast()
    }

    /// Writes `pid` after `LISTEN_PID=`, NUL-terminated, without allocating (in the child).
    ///
    /// # Safety
    /// No one else may read or write the entry meanwhile: only the child, before `execve`,
    /// while supd waits for it.
    unsafe fn set(&self, pid: u32) {
        // SAFETY: the caller guarantees exclusive access to the entry.
        let entry = unsafe { &mut *self.0.get() };
        let mut digits = [0u8; 10];
        let digits = decimal(pid, &mut digits);
        let end = LISTEN_PID_PREFIX.len() + digits.len();
        entry[LISTEN_PID_PREFIX.len()..end].copy_from_slice(digits);
        entry[end] = 0;
    }
}

/// The variables of the `LISTEN_FDS` protocol, which a request with sockets sets itself.
const LISTEN_VARS: [&str; 3] = ["LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PID"];

impl Image {
    fn new(file: &Path, req: &SpawnRequest) -> Result<Image, std::ffi::NulError> {
        let argv: Vec<CString> = req
            .argv
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<Result<_, _>>()?;
        let passing = !req.sockets.is_empty();
        let names: Vec<&str> = req.sockets.iter().map(|s| s.name.as_str()).collect();
        let listen_env = [
            (OsString::from("LISTEN_FDS"), names.len().to_string().into()),
            (OsString::from("LISTEN_FDNAMES"), names.join(":").into()),
        ];
        let envp: Vec<CString> = req
            .env
            .iter()
            .filter(|(k, _)| !passing || !LISTEN_VARS.iter().any(|v| k == v))
            .chain(listen_env.iter().filter(|_| passing))
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
        let mut envp_ptrs: Vec<*const libc::c_char> = ptrs(&envp);
        let listen_pid = passing.then(ListenPid::new);
        if let Some(entry) = &listen_pid {
            envp_ptrs.insert(envp_ptrs.len() - 1, entry.as_ptr());
        }
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
            listen_pid,
        })
    }
}

/// The longest [`Announce`] line.
const ANNOUNCE_MAX: usize = 128;

/// Puts `announce.before`, `pid` in decimal and `announce.after` into `line`, without
/// allocating (it runs in the child); returns the length, `None` when it does not fit.
fn announcement(line: &mut [u8; ANNOUNCE_MAX], announce: &Announce, pid: u32) -> Option<usize> {
    let mut digits = [0u8; 10];
    let parts = [
        &announce.before[..],
        decimal(pid, &mut digits),
        &announce.after[..],
    ];
    let mut len = 0;
    for part in parts {
        line.get_mut(len..len + part.len())?.copy_from_slice(part);
        len += part.len();
    }
    Some(len)
}

/// `n` in decimal, written into `digits` without allocating (it runs in the child).
fn decimal(n: u32, digits: &mut [u8; 10]) -> &[u8] {
    let mut n = n;
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[start..]
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
    /// supd's descriptors of the sockets, to become 3, 4, ...; the child moves those that
    /// are in the way (see [`ChildPlan::place_sockets`]) and notes their new number here.
    sockets: &'a [std::cell::Cell<RawFd>],
    stdin: RawFd,
    /// The open-files limit to restore (supd raised its own), if any.
    open_files_limit: Option<libc::rlimit>,
    announce: Option<&'a Announce>,
    stdout: RawFd,
    stderr: RawFd,
    /// Where the child leaves the errno of a failed step (the child shares supd's memory
    /// until it execs); 0 while nothing failed.
    failed: std::sync::atomic::AtomicI32,
    credentials: Option<&'a Credentials>,
    umask: Option<u32>,
    image: &'a Image,
}

impl ChildPlan<'_> {
    /// Runs in the child, which shares supd's memory until `execve` and starts with every
    /// signal blocked; never returns.
    fn exec(&self) -> ! {
        let img = self.image;
        // SAFETY: every call below is an async-signal-safe system call on pointers into
        // `Image`, which the parent built before cloning and keeps alive while it waits for
        // this child to exec (CLONE_VFORK); nothing allocates or takes a lock, and nothing
        // writes to memory but `failed` and this child's own stack.
        unsafe {
            let pid = libc::syscall(libc::SYS_getpid) as u32;
            if let Some(entry) = &img.listen_pid {
                // Only this child touches the entry, before its exec, while supd waits.
                entry.set(pid);
            }
            if let Some(announce) = self.announce {
                let mut line = [0u8; ANNOUNCE_MAX];
                if let Some(len) = announcement(&mut line, announce, pid) {
                    libc::write(announce.fd, line.as_ptr().cast(), len);
                }
            }
            // supd's signal handlers live in the memory this child shares with supd: make
            // sure none can run here before exec resets them. The Rust runtime ignores
            // SIGPIPE, and an ignored disposition would survive exec.
            for sig in 1..libc::SIGRTMAX() {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                    && (old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN
                        || sig == libc::SIGPIPE)
                {
                    let mut dfl: libc::sigaction = std::mem::zeroed();
                    dfl.sa_sigaction = libc::SIG_DFL;
                    libc::sigaction(sig, &dfl, std::ptr::null_mut());
                }
            }
            if libc::sigprocmask(libc::SIG_SETMASK, &img.empty_mask, std::ptr::null_mut()) != 0 {
                self.report_and_exit();
            }
            let end = LISTEN_FDS_START + self.sockets.len() as RawFd;
            self.lift_sockets(end);
            for (from, to) in [(self.stdin, 0), (self.stdout, 1), (self.stderr, 2)] {
                if libc::dup2(from, to) < 0 {
                    self.report_and_exit();
                }
            }
            self.place_sockets();
            if libc::setsid() < 0 {
                self.report_and_exit();
            }
            if let Some(limit) = &self.open_files_limit
                && libc::setrlimit(libc::RLIMIT_NOFILE, limit) < 0
            {
                self.report_and_exit();
            }
            if let Some(c) = self.credentials {
                // Raw system calls: glibc's wrappers would try to change the credentials of
                // every thread of supd (whose memory this child shares), not just its own.
                if libc::syscall(libc::SYS_setgroups, img.groups.len(), img.groups.as_ptr()) < 0
                    || libc::syscall(libc::SYS_setgid, c.gid) < 0
                    || libc::syscall(libc::SYS_setuid, c.uid) < 0
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

    /// Moves every socket descriptor below `end` (the first descriptor after the sockets'
    /// places) to a free one at or above it, so placing the sockets at 3, 4, ... cannot
    /// overwrite one not yet placed, nor can stdio's `dup2` onto 0, 1, 2. The moved copy is
    /// close-on-exec; its original is the child's own, closed at exec.
    fn lift_sockets(&self, end: RawFd) {
        for fd in self.sockets {
            if fd.get() < end {
                // SAFETY: fcntl(F_DUPFD_CLOEXEC) is an async-signal-safe system call on a
                // descriptor of this child's own table (a copy of supd's, not shared).
                let lifted = unsafe { libc::fcntl(fd.get(), libc::F_DUPFD_CLOEXEC, end) };
                if lifted < 0 {
                    self.report_and_exit();
                }
                fd.set(lifted);
            }
        }
    }

    /// `dup2`s socket `i` onto `3 + i`. Every source is above the targets
    /// ([`ChildPlan::lift_sockets`]), so each `dup2` makes a new descriptor, and a new
    /// descriptor has no close-on-exec: the program inherits it.
    fn place_sockets(&self) {
        for (i, fd) in self.sockets.iter().enumerate() {
            // SAFETY: dup2 is an async-signal-safe system call on this child's own table.
            if unsafe { libc::dup2(fd.get(), LISTEN_FDS_START + i as RawFd) } < 0 {
                self.report_and_exit();
            }
        }
    }

    /// Leaves errno for the parent and exits 127, as a shell does for a command it cannot
    /// run.
    fn report_and_exit(&self) -> ! {
        let errno = io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL);
        self.failed
            .store(errno.max(1), std::sync::atomic::Ordering::SeqCst);
        // SAFETY: _exit(2) is async-signal-safe and does not return.
        unsafe { libc::_exit(127) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(argv: &[&str]) -> SpawnRequest {
        SpawnRequest {
            argv: argv.iter().map(OsString::from).collect(),
            executable: None,
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            cwd: None,
            credentials: None,
            umask: None,
            stdin: None,
            announce: None,
            stdout: Output::Null,
            stderr: Output::Null,
            sockets: Vec::new(),
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
            e.message,
            "cannot run \"no-such-program-xyz\": No such file or directory"
        );
        let e = spawn(req(&["/etc/passwd"])).unwrap_err();
        assert_eq!(e.message, "cannot run \"/etc/passwd\": Permission denied");
        let mut r = req(&["true"]);
        r.cwd = Some("/no/such/dir".into());
        let e = spawn(r).unwrap_err();
        assert!(
            e.message
                .starts_with("working directory /no/such/dir does not exist"),
            "{}",
            e.message
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
        let e = spawn(req(&[script.to_str().unwrap()])).unwrap_err();
        assert!(
            e.message.ends_with(": No such file or directory"),
            "{}",
            e.message
        );
        // (The child that could not exec exited 127; in supd, the reaper collects it.)
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn null_output_accepts_writes() {
        let pid = spawn(req(&["sh", "-c", "echo out && echo err >&2"])).unwrap();
        assert_eq!(
            wait(pid),
            nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(pid as i32), 0)
        );
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

    #[test]
    fn stdin_is_the_given_descriptor() {
        let (stdin_read, stdin_write) = crate::pipe::new_pipe().unwrap();
        let (out_read, out_write) = crate::pipe::new_pipe().unwrap();
        let mut r = req(&["sh", "-c", "read line; echo got $line"]);
        r.stdin = Some(stdin_read);
        r.stdout = Output::Fd(out_write);
        let pid = spawn(r).unwrap();
        use std::io::{Read, Write};
        let mut to_child = std::fs::File::from(stdin_write);
        to_child.write_all(b"hello\n").unwrap();
        drop(to_child);
        wait(pid);
        let mut text = String::new();
        std::fs::File::from(out_read)
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "got hello\n");
    }

    #[test]
    fn the_child_announces_its_pid_first() {
        let (read, write) = crate::pipe::new_pipe().unwrap();
        let mut r = req(&["true"]);
        r.announce = Some(Announce {
            fd: write.as_raw_fd(),
            before: b"track ".to_vec(),
            after: b" 15\n".to_vec(),
        });
        let pid = spawn(r).unwrap();
        wait(pid);
        drop(write);
        let mut text = String::new();
        use std::io::Read;
        std::fs::File::from(read).read_to_string(&mut text).unwrap();
        assert_eq!(text, format!("track {pid} 15\n"));
    }

    #[test]
    fn announcements_that_do_not_fit_are_not_written() {
        let mut line = [0u8; ANNOUNCE_MAX];
        let fits = Announce {
            fd: -1,
            before: b"a ".to_vec(),
            after: b"\n".to_vec(),
        };
        assert_eq!(announcement(&mut line, &fits, 0), Some(4));
        assert_eq!(&line[..4], b"a 0\n");
        assert_eq!(announcement(&mut line, &fits, u32::MAX), Some(13));
        let too_long = Announce {
            before: vec![b'x'; ANNOUNCE_MAX],
            ..fits
        };
        assert_eq!(announcement(&mut line, &too_long, 1), None);
    }

    #[test]
    fn sockets_become_3_and_up_with_the_listen_variables() {
        // Pipes stand in for sockets: each child descriptor 3 + i writes its number into
        // pipe i. The sources are given highest first, so most of them sit where another
        // one must go.
        let pipes: Vec<(OwnedFd, OwnedFd)> =
            (0..6).map(|_| crate::pipe::new_pipe().unwrap()).collect();
        let mut order: Vec<usize> = (0..pipes.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(pipes[i].1.as_raw_fd()));
        let (out_read, out_write) = crate::pipe::new_pipe().unwrap();
        let script = "echo 3 >&3 && echo 4 >&4 && echo 5 >&5 && echo 6 >&6 && echo 7 >&7 && \
                      echo 8 >&8 || exit 9; echo \"$LISTEN_FDS $LISTEN_FDNAMES $LISTEN_PID $$\"";
        let mut r = req(&["sh", "-c", script]);
        r.env.push(("LISTEN_FDS".into(), "99".into()));
        r.stdout = Output::Fd(out_write);
        r.sockets = order
            .iter()
            .map(|&i| ListenFd {
                fd: pipes[i].1.try_clone().unwrap(),
                name: format!("s{i}"),
            })
            .collect();
        let pid = spawn(r).unwrap();
        assert_eq!(
            wait(pid),
            nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(pid as i32), 0)
        );
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::from(out_read)
            .read_to_string(&mut text)
            .unwrap();
        let names: Vec<String> = order.iter().map(|i| format!("s{i}")).collect();
        assert_eq!(text, format!("6 {} {pid} {pid}\n", names.join(":")));
        for (place, &i) in order.iter().enumerate() {
            let (read, _) = &pipes[i];
            let mut file = std::fs::File::from(read.try_clone().unwrap());
            let mut buf = [0u8; 16];
            let n = file.read(&mut buf).unwrap();
            assert_eq!(
                std::str::from_utf8(&buf[..n]).unwrap(),
                format!("{}\n", place + 3)
            );
        }
    }

    #[test]
    fn a_child_without_sockets_keeps_the_environment_as_given() {
        let (out_read, out_write) = crate::pipe::new_pipe().unwrap();
        let mut r = req(&[
            "sh",
            "-c",
            "echo \"${LISTEN_FDS-unset} ${LISTEN_PID-unset}\"",
        ]);
        r.env.push(("LISTEN_FDS".into(), "2".into()));
        r.stdout = Output::Fd(out_write);
        let pid = spawn(r).unwrap();
        wait(pid);
        use std::io::Read;
        let mut text = String::new();
        std::fs::File::from(out_read)
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "2 unset\n");
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("supd-sys-spawn-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
