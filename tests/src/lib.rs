//! The end-to-end harness: a real `supd` in a temporary directory, driven with the real
//! `supctl`, observed through its output, its exit status and `/proc`.
//!
//! - [`Supd::start`] writes a config (with `[supd] socket` pointing into the temp dir),
//!   starts `target/<profile>/supd` on it, and returns once supd answers on its socket.
//! - [`Supd::ctl`] runs `supctl` against it; [`Supd::status`] parses `supctl status --json`.
//! - [`wait_until`] is the only way to wait: a condition polled against a deadline, never a
//!   bare sleep.
//! - Every process a test's supd starts carries a unique token in its environment, so
//!   [`Supd::leftovers`] finds them all — `setsid` escapees included — even with many tests
//!   running in parallel.
//! - Dropping a [`Supd`] that still runs kills it and everything it started.
//!
//! The binaries are the ones `cargo test --workspace` builds (`supd` and `supctl` have
//! integration tests of their own, so cargo builds them before any test runs); the helper
//! programs are this crate's own binaries.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

pub mod load;
use serde_json::Value;

/// Default patience for conditions that should hold quickly.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// The directory holding the workspace's built binaries (`target/debug`).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SUPD_BIN_DIR") {
        return PathBuf::from(dir);
    }
    // Test executables live in target/<profile>/deps/.
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("profile dir").to_path_buf()
}

/// Path of a workspace binary (`supd`, `supctl`) or of a helper of this crate (`flood`).
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` (it builds supd and supctl)",
        path.display()
    );
    path
}

/// Polls `cond` until it returns `Some`, failing the test with `what` after `deadline`.
pub fn wait_until<T>(what: &str, deadline: Duration, mut cond: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(v) = cond() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// The result of one `supctl` run.
#[derive(Debug)]
pub struct CtlOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for CtlOutput {
    fn from(out: std::process::Output) -> Self {
        CtlOutput {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Output captured from a pipe by a background thread.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Reads `from` to its end in a thread, keeping everything.
    pub fn spawn_reader(from: impl Read + Send + 'static) -> (Captured, JoinHandle<()>) {
        Self::spawn(from)
    }

    fn spawn(mut from: impl Read + Send + 'static) -> (Captured, JoinHandle<()>) {
        let captured = Captured::default();
        let sink = captured.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.0.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        (captured, thread)
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// Lines as text, without their `\n`.
    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_string).collect()
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A running supd under test.
pub struct Supd {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub socket: PathBuf,
    /// Marker in the environment of supd and everything it starts.
    pub token: String,
    child: Option<Child>,
    pub stdout: Captured,
    pub stderr: Captured,
    readers: Vec<JoinHandle<()>>,
    exit: Option<ExitStatus>,
    /// supd's pid as seen from here, when it differs from the child's (PID 1 mode: the
    /// child is `unshare`, supd is its child).
    daemon: Option<u32>,
}

/// Options for [`Supd::start_with`].
#[derive(Default)]
pub struct StartOptions {
    /// Extra `[supd]` keys (the `socket` key is always set by the harness).
    pub supd_table: String,
    /// Extra environment for supd.
    pub env: Vec<(String, String)>,
    /// Do not wait for the socket (for configs that make supd exit at once).
    pub no_wait: bool,
    /// Run supd as PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc`);
    /// needs root (check [`is_root`] and skip, saying why, when not).
    pub pid1: bool,
    /// Extra arguments for supd, after `--config PATH` (e.g. `--profile dev`).
    pub args: Vec<String>,
    /// Run supd on this file (name in the temp dir, text) instead of the generated
    /// `supd.toml`; `programs` and `supd_table` are then unused. The text must put the
    /// socket at `supd.sock` in the temp dir (e.g. a supervisord file with
    /// `[unix_http_server] file=%(here)s/supd.sock`).
    pub config_file: Option<(String, String)>,
}

impl Supd {
    /// Starts supd on a config made of `programs` (TOML `[program.*]` tables).
    pub fn start(programs: &str) -> Supd {
        Self::start_with(programs, StartOptions::default())
    }

    pub fn start_with(programs: &str, opts: StartOptions) -> Supd {
        let dir = tempfile::Builder::new()
            .prefix("supd-e2e-")
            .tempdir()
            .expect("temp dir");
        let socket = dir.path().join("supd.sock");
        let config = match &opts.config_file {
            Some((name, text)) => {
                let config = dir.path().join(name);
                std::fs::write(&config, text).expect("write config");
                config
            }
            None => {
                let config = dir.path().join("supd.toml");
                let text = format!(
                    "[supd]\nsocket = \"supd.sock\"\n{}\n\n{}",
                    opts.supd_table, programs
                );
                std::fs::write(&config, text).expect("write config");
                config
            }
        };
        let token = format!(
            "{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            Instant::now().elapsed().as_nanos()
        );
        let mut cmd = if opts.pid1 {
            let mut c = Command::new("unshare");
            // --kill-child: if the test dies, the namespace goes with it.
            c.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
                .arg(bin("supd"));
            c
        } else {
            Command::new(bin("supd"))
        };
        cmd.arg("--config")
            .arg(&config)
            .args(&opts.args)
            .current_dir(dir.path())
            .env("SUPD_E2E_TOKEN", &token)
            .env("NO_COLOR", "1")
            .env("PATH", path_with_helpers())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start supd");
        let (stdout, t1) = Captured::spawn(child.stdout.take().unwrap());
        let (stderr, t2) = Captured::spawn(child.stderr.take().unwrap());
        let mut supd = Supd {
            dir,
            config,
            socket,
            token,
            child: Some(child),
            stdout,
            stderr,
            readers: vec![t1, t2],
            exit: None,
            daemon: None,
        };
        if opts.pid1 {
            let unshare = supd.child.as_ref().map_or(0, Child::id) as i32;
            let daemon = wait_until("unshare to start supd", DEADLINE, || {
                supd_sys::process::descendants(unshare).first().copied()
            });
            supd.daemon = Some(daemon as u32);
        }
        if !opts.no_wait {
            wait_until("supd to answer on its socket", DEADLINE, || {
                if let Some(status) = supd.try_exit() {
                    panic!(
                        "supd exited early with {status}\nstderr:\n{}",
                        supd.stderr.text()
                    );
                }
                (supd.ctl(&["status"]).code != 4).then_some(())
            });
        }
        supd
    }

    /// supd's pid (as seen from the test, also in PID 1 mode).
    pub fn pid(&self) -> u32 {
        self.daemon
            .unwrap_or_else(|| self.child.as_ref().map_or(0, Child::id))
    }

    /// Runs `supctl --socket <this supd's socket> ARGS`.
    pub fn ctl(&self, args: &[&str]) -> CtlOutput {
        ctl_at(&self.socket, args)
    }

    /// `supctl --socket <this supd's socket> ARGS`, running in the background with stdout
    /// and stderr piped (for followers: `logs -f`, `events`).
    pub fn spawn_ctl(&self, args: &[&str]) -> Child {
        Command::new(bin("supctl"))
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run supctl")
    }

    /// Asks `request` over the control protocol itself (hello, request, one answer), as a
    /// client other than supctl would.
    pub fn ask(&self, request: supd_proto::Request) -> supd_proto::ServerMessage {
        use std::io::Write as _;
        use supd_proto::{ClientMessage, Hello, PROTOCOL_VERSION, decode, encode};
        let mut conn = std::os::unix::net::UnixStream::connect(&self.socket).expect("connect");
        let mut bytes = encode(&ClientMessage::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            software: "supd-tests".into(),
            pid: None,
        }));
        bytes.extend(encode(&ClientMessage::Request { id: 1, request }));
        conn.write_all(&bytes).expect("send the request");
        let mut lines = std::io::BufReader::new(conn).lines();
        let mut answer = || -> supd_proto::ServerMessage {
            let line = lines.next().expect("an answer").expect("read the answer");
            decode(line.as_bytes()).expect("a server message")
        };
        let _hello = answer();
        answer()
    }

    /// `supctl status --json`, parsed.
    pub fn status(&self) -> Vec<Value> {
        let out = self.ctl(&["status", "--json"]);
        assert!(
            out.code == 0 || out.code == 3,
            "supctl status failed: {out:?}"
        );
        serde_json::from_str(&out.stdout).expect("status --json is a JSON array")
    }

    /// The status object of program `name`.
    pub fn program(&self, name: &str) -> Value {
        self.status()
            .into_iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no program {name} in status"))
    }

    /// Waits until `name` is in `state`; returns its status object.
    pub fn wait_state(&self, name: &str, state: &str) -> Value {
        wait_until(&format!("{name} to be {state}"), DEADLINE, || {
            let p = self.program(name);
            (p["state"] == state).then_some(p)
        })
    }

    /// Waits until `name` runs with a pid other than `not`; returns the new pid.
    pub fn wait_new_pid(&self, name: &str, not: Option<u64>) -> u64 {
        wait_until(&format!("{name} to run with a new pid"), DEADLINE, || {
            let p = self.program(name);
            p["pid"].as_u64().filter(|&pid| Some(pid) != not)
        })
    }

    /// Sends a signal to supd itself.
    pub fn signal(&self, sig: Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid() as i32), sig)
            .expect("signal supd");
    }

    /// supd's exit status, if it has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none()
            && let Some(child) = self.child.as_mut()
        {
            self.exit = child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Waits for supd to exit (and its output to be fully read).
    pub fn wait_exit(&mut self, deadline: Duration) -> ExitStatus {
        let status = wait_until("supd to exit", deadline, || self.try_exit());
        for t in self.readers.drain(..) {
            let _ = t.join();
        }
        status
    }

    /// Every live process (zombies excluded) that supd started, directly or not — found by
    /// the token in its environment. supd itself is not included.
    pub fn leftovers(&self) -> Vec<i32> {
        let child = self.child.as_ref().map_or(0, Child::id) as i32;
        processes_with_env(&format!("SUPD_E2E_TOKEN={}", self.token))
            .into_iter()
            .filter(|&pid| pid != self.pid() as i32 && pid != child)
            .collect()
    }

    /// Zombies whose parent is supd (orphans it adopted and has not reaped).
    pub fn zombie_children(&self) -> Vec<i32> {
        let supd = self.pid() as i32;
        all_pids()
            .into_iter()
            .filter(|&pid| {
                proc_stat(pid).is_some_and(|f| {
                    f.first().is_some_and(|s| s == "Z")
                        && f.get(1).is_some_and(|pp| *pp == supd.to_string())
                })
            })
            .collect()
    }

    /// Path of a file in the test's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Supd {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            // A failed test: take everything down so nothing outlives it.
            for pid in [self.pid(), self.child.as_ref().map_or(0, Child::id)] {
                let _ =
                    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
            if let Some(child) = self.child.as_mut() {
                let _ = child.wait();
            }
        }
        for pid in self.leftovers() {
            let _ = supd_sys::process::signal_process(pid, Signal::SIGKILL);
        }
    }
}

/// Runs `supctl --socket SOCKET ARGS`.
pub fn ctl_at(socket: &Path, args: &[&str]) -> CtlOutput {
    ctl_through(Command::new(bin("supctl")), socket, args)
}

/// Runs `launcher --socket SOCKET ARGS`, where `launcher` ends in supctl (supctl itself, or
/// a command that runs it, such as `setpriv ... supctl`), without the environment's socket
/// or config.
pub fn ctl_through(mut launcher: Command, socket: &Path, args: &[&str]) -> CtlOutput {
    launcher
        .arg("--socket")
        .arg(socket)
        .args(args)
        .env_remove("SUPD_SOCKET")
        .env_remove("SUPD_CONFIG")
        .output()
        .expect("run supctl")
        .into()
}

/// `PATH` with this crate's helper programs first.
pub fn path_with_helpers() -> String {
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{}:{path}", bin_dir().display())
}

/// Every pid in `/proc` (zombies included).
pub fn all_pids() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// Live processes whose environment contains `needle` (`KEY=value`).
pub fn processes_with_env(needle: &str) -> Vec<i32> {
    let needle = needle.as_bytes();
    all_pids()
        .into_iter()
        .filter(|pid| {
            let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let after = s[s.rfind(')')? + 1..].trim_start().to_string();
                    Some(!after.starts_with('Z'))
                })
                .unwrap_or(false);
            alive
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .map(|env| env.split(|&b| b == 0).any(|var| var == needle))
                    .unwrap_or(false)
        })
        .collect()
}

/// A TCP port nobody listens on right now (the kernel's choice), for programs that must
/// listen somewhere; never a fixed port, so tests can run in parallel.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Why supd cannot be run as PID 1 of a new PID namespace here, if it cannot: needs root
/// and a kernel/sandbox that lets `unshare --pid --fork --mount-proc` work.
pub fn pid_namespaces_unavailable() -> Option<String> {
    if !is_root() {
        return Some("running supd as PID 1 needs root (unshare --pid); CI runs as root".into());
    }
    match Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .output()
    {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "unshare --pid does not work here: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Some(format!("cannot run unshare: {e}")),
    }
}

/// True when running as root (tests that need it skip otherwise, saying why).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

// ----- helpers shared by several end-to-end tests ---------------------------------------

impl Supd {
    /// Sends SIGTERM to supd and waits (up to [`DEADLINE`]) for it to exit and for its output
    /// to be fully read; returns its exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        self.signal(Signal::SIGTERM);
        self.wait_exit(DEADLINE)
    }

    /// supd's own messages (the `supd | ...` lines of its stderr), without the prefix.
    pub fn supd_messages(&self) -> Vec<String> {
        self.stderr
            .lines()
            .into_iter()
            .filter_map(|line| {
                let (who, what) = line.split_once(" | ")?;
                (who.trim_end() == "supd").then(|| what.to_string())
            })
            .collect()
    }

    /// supd's own messages about program `name` (`NAME: ...`), without `NAME: `.
    pub fn messages_about(&self, name: &str) -> Vec<String> {
        let head = format!("{name}: ");
        self.supd_messages()
            .into_iter()
            .filter_map(|m| m.strip_prefix(&head).map(str::to_string))
            .collect()
    }

    /// Waits until supd's stdout holds `line` as a whole line.
    pub fn wait_stdout_line(&self, line: &str) {
        wait_until(&format!("{line:?} on supd's stdout"), DEADLINE, || {
            self.stdout.lines().iter().any(|l| l == line).then_some(())
        })
    }

    /// Waits for a line starting with `prefix` on supd's stdout; returns it.
    pub fn wait_stdout_prefix(&self, prefix: &str) -> String {
        wait_until(
            &format!("a line starting {prefix:?} on supd's stdout"),
            DEADLINE,
            || {
                self.stdout
                    .lines()
                    .into_iter()
                    .find(|l| l.starts_with(prefix))
            },
        )
    }

    /// The pids of every program that has one, from `supctl status --json`.
    pub fn program_pids(&self) -> Vec<i32> {
        self.status()
            .iter()
            .filter_map(|p| p["pid"].as_u64().map(|pid| pid as i32))
            .collect()
    }
}

/// Runs `supd ARGS` to completion in `dir` (for `supd check` and configs supd refuses).
pub fn run_supd(dir: &Path, args: &[&str]) -> CtlOutput {
    let out = Command::new(bin("supd"))
        .args(args)
        .current_dir(dir)
        .env_remove("SUPD_CONFIG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run supd");
    out.into()
}

/// The fields of `/proc/PID/stat` after the command name: index 0 is field 3 (`state`),
/// so field N of proc(5) is at index N - 3. `None` when the process is gone.
pub fn proc_stat(pid: i32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 1..];
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// True when `pid` is a live process (zombies count as dead).
pub fn alive(pid: i32) -> bool {
    proc_stat(pid).is_some_and(|f| f[0] != "Z" && f[0] != "X")
}

/// The process group of `pid` (field 5 of `/proc/PID/stat`).
pub fn process_group(pid: i32) -> Option<i32> {
    proc_stat(pid)?.get(2)?.parse().ok()
}

/// The session of `pid` (field 6 of `/proc/PID/stat`).
pub fn session(pid: i32) -> Option<i32> {
    proc_stat(pid)?.get(3)?.parse().ok()
}

/// CPU time `pid` has used, user plus system, in clock ticks (fields 14 and 15 of
/// `/proc/PID/stat`; they cover every thread of the process).
pub fn cpu_ticks(pid: i32) -> u64 {
    let f = proc_stat(pid).unwrap_or_else(|| panic!("process {pid} is gone"));
    let field = |n: usize| -> u64 { f[n - 3].parse().expect("numeric /proc stat field") };
    field(14) + field(15)
}

/// Asserts that `text` (what a command printed on failure) is a short human message: not
/// empty, no panic, no Rust debug dump.
pub fn assert_clear_message(text: &str) {
    assert!(!text.trim().is_empty(), "expected a message, got nothing");
    for bad in [
        "panicked",
        "RUST_BACKTRACE",
        "Os {",
        "kind:",
        "Error {",
        "Some(",
    ] {
        assert!(
            !text.contains(bad),
            "message looks like a panic or a debug dump ({bad:?}):\n{text}"
        );
    }
}

/// Makes sure the Debian `packages` that provide `commands` are installed: when a command
/// is missing and we are root on a Debian-like system, installs them with apt-get (once per
/// test process), printing that it does. Returns why not when they cannot be had, so the
/// test can skip saying so. CI machines start bare; this is how the tests bring their tools.
pub fn ensure_tools(commands: &[&str], packages: &[&str]) -> Result<(), String> {
    let missing = |cmds: &[&str]| -> Vec<String> {
        cmds.iter()
            .filter(|c| {
                !Command::new("sh")
                    .args(["-c", &format!("command -v {c}")])
                    .stdout(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
            .map(|c| c.to_string())
            .collect()
    };
    if missing(commands).is_empty() {
        return Ok(());
    }
    apt_install(packages)
        .map_err(|e| format!("{} not installed, and {e}", missing(commands).join(", ")))?;
    match missing(commands).as_slice() {
        [] => Ok(()),
        still => Err(format!(
            "{} still missing after installing {}",
            still.join(", "),
            packages.join(" ")
        )),
    }
}

/// Installs the Debian `packages` with apt-get (`apt-get update` once per test process),
/// printing that it does; why not when that is impossible (not root, no apt-get) or fails.
pub fn apt_install(packages: &[&str]) -> Result<(), String> {
    static APT: Mutex<bool> = Mutex::new(false);
    if !is_root() || !Path::new("/usr/bin/apt-get").exists() {
        return Err(format!(
            "cannot install {} here (needs root and apt-get)",
            packages.join(" ")
        ));
    }
    let mut updated = APT.lock().unwrap_or_else(|e| e.into_inner());
    eprintln!("installing {} for this test (apt-get)", packages.join(" "));
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=600", "-qq"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !*updated {
        *updated = apt(&["update"]);
    }
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend_from_slice(packages);
    if !apt(&install) {
        return Err(format!("apt-get install {} failed", packages.join(" ")));
    }
    Ok(())
}

/// Lines of `from` as they come, through a channel (so a test can wait for one with a
/// deadline).
pub fn line_channel(from: impl Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The `bin` directory of a virtualenv under `target/` holding the pip `supervisor` and
/// `superlance` packages (supervisorctl, supervisord, crashmail, httpok...): the real
/// clients that the drop-in tests drive supd with (see [`pip_venv`]).
pub fn supervisor_clients() -> Result<PathBuf, String> {
    pip_venv(
        "dropin",
        &["supervisor==4.3.0", "superlance==2.0.0"],
        &["supervisorctl", "supervisord", "crashmail", "httpok"],
    )
}

/// The `bin` directory of the virtualenv `target/NAME/venv` with the pip `packages`
/// installed, once every one of `commands` is in it: real Python tools for the tests
/// (supervisord's clients, uvicorn). Created once (`python3 -m venv`, with Debian's
/// python3-venv installed when needed) and reused by later runs; returns why not when it
/// cannot be had (no python, pip without network), so the test can skip saying so.
pub fn pip_venv(name: &str, packages: &[&str], commands: &[&str]) -> Result<PathBuf, String> {
    static MADE: Mutex<()> = Mutex::new(());
    let _one_at_a_time = MADE.lock().unwrap_or_else(|e| e.into_inner());
    let venv = bin_dir()
        .parent()
        .map(|target| target.join(name).join("venv"))
        .ok_or("cannot find the target directory")?;
    let bin = venv.join("bin");
    if commands.iter().all(|c| bin.join(c).exists()) {
        return Ok(bin);
    }
    let make_venv = || {
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !make_venv() {
        // Debian's python3 has no ensurepip without python3-venv.
        apt_install(&["python3", "python3-venv"])?;
        if !make_venv() {
            return Err(format!("python3 -m venv {} failed", venv.display()));
        }
    }
    let wanted = packages.join(" ");
    eprintln!("installing {wanted} into {} (pip)", venv.display());
    let pip = Command::new(bin.join("pip"))
        .args(["install", "-q", "--disable-pip-version-check"])
        .args(packages)
        .status()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if !pip.success() || !commands.iter().all(|c| bin.join(c).exists()) {
        return Err(format!("pip install {wanted} failed (no network?)"));
    }
    Ok(bin)
}

// ----- supervisord itself, beside supd, for the drop-in tests ---------------------------

/// Runs `supervisorctl ARGS` from the virtualenv `clients` (see [`supervisor_clients`]) in
/// the C locale (as Ansible does: its output is string-matched), to completion.
pub fn supervisorctl(clients: &Path, args: &[&str]) -> CtlOutput {
    Command::new(clients.join("supervisorctl"))
        .args(args)
        .env("LANGUAGE", "C")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .expect("run supervisorctl")
        .into()
}

/// A real supervisord (the pip one of [`supervisor_clients`]) running `supervisord.conf` in
/// a temporary directory in the foreground (`-n`), for tests that compare supd with it.
/// Its programs carry a token in their environment like supd's, and dropping it kills
/// supervisord and everything it started.
pub struct Supervisord {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// The virtualenv's `bin` directory.
    pub clients: PathBuf,
    pub token: String,
    child: Child,
    pub output: Captured,
    exit: Option<ExitStatus>,
}

impl Supervisord {
    /// Writes `text` to `supervisord.conf` in a new temporary directory (so `%(here)s` is
    /// that directory) and starts supervisord on it; returns once `supervisorctl -c FILE
    /// status` gets an answer (the file needs a `[supervisorctl]` section).
    pub fn start(clients: &Path, text: &str) -> Supervisord {
        let dir = tempfile::Builder::new()
            .prefix("supervisord-e2e-")
            .tempdir()
            .expect("temp dir");
        let config = dir.path().join("supervisord.conf");
        std::fs::write(&config, text).expect("write supervisord.conf");
        let token = format!(
            "supervisord-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut child = Command::new(clients.join("supervisord"))
            .arg("-n")
            .arg("-c")
            .arg(&config)
            .current_dir(dir.path())
            .env("SUPD_E2E_TOKEN", &token)
            .env("PATH", path_with_helpers())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start supervisord");
        let (output, _) = Captured::spawn(child.stdout.take().expect("piped stdout"));
        let (errors, _) = Captured::spawn(child.stderr.take().expect("piped stderr"));
        let mut supervisord = Supervisord {
            dir,
            config,
            clients: clients.to_path_buf(),
            token,
            child,
            output,
            exit: None,
        };
        wait_until("supervisord to answer supervisorctl", DEADLINE, || {
            if let Some(status) = supervisord.try_exit() {
                panic!(
                    "supervisord exited early with {status}\n{}{}",
                    supervisord.output.text(),
                    errors.text()
                );
            }
            [0, 3]
                .contains(&supervisord.ctl(&["status"]).code)
                .then_some(())
        });
        supervisord
    }

    /// `supervisorctl -c supervisord.conf ARGS`.
    pub fn ctl(&self, args: &[&str]) -> CtlOutput {
        let config = self.config.display().to_string();
        let mut all = vec!["-c", config.as_str()];
        all.extend_from_slice(args);
        supervisorctl(&self.clients, &all)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    pub fn wait_exit(&mut self, deadline: Duration) -> ExitStatus {
        wait_until("supervisord to exit", deadline, || self.try_exit())
    }

    /// Live processes that supervisord started (supervisord itself excluded).
    pub fn leftovers(&self) -> Vec<i32> {
        processes_with_env(&format!("SUPD_E2E_TOKEN={}", self.token))
            .into_iter()
            .filter(|&pid| pid != self.child.id() as i32)
            .collect()
    }
}

impl Drop for Supervisord {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for pid in self.leftovers() {
            let _ = supd_sys::process::signal_process(pid, Signal::SIGKILL);
        }
    }
}
