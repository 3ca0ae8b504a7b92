//! The validated configuration: what the rest of supd consumes.
//!
//! Every value here is already checked and typed: durations are [`Duration`]s, signals are
//! [`Signal`]s, relative paths are resolved against the directory of the config file, and
//! `${VAR}` interpolation has been applied. Nothing downstream re-validates.

use std::path::PathBuf;
use std::time::Duration;

pub use nix::sys::signal::Signal;

use crate::diagnostic::Diagnostic;

/// A whole config, validated: the main file and the files it includes.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file this was read from, as given (used in messages).
    pub path: PathBuf,
    pub supd: SupdSpec,
    /// The programs that run with the active profiles, in file order (the main file's, then
    /// each included file's), a program with `instances = N` as `NAME:0` .. `NAME:N-1`.
    /// This is the start order among independent programs and the status order.
    pub programs: Vec<ProgramSpec>,
    /// Programs of the files left out by the active profiles (their names as written).
    pub inactive: Vec<String>,
    /// The `[group.NAME]` tables of every file, in file order.
    pub groups: Vec<GroupSpec>,
    /// What this config was loaded with (a reload loads with the same).
    pub options: LoadOptions,
    /// Where every `[supd]` and program key was written, for problems found after the
    /// config was read (see [`Config::program_problem`]).
    pub locations: Locations,
}

impl Config {
    pub fn program(&self, name: &str) -> Option<&ProgramSpec> {
        self.programs.iter().find(|p| p.name == name)
    }

    pub fn group(&self, name: &str) -> Option<&GroupSpec> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// A problem about `key` (`user`, `watch.include`) of program `program`, a name it
    /// runs under (`worker:1` is in `[program.worker]`): located at the line of that key,
    /// else of the program's table.
    pub fn program_problem(
        &self,
        program: &str,
        key: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        let table = split_instance(program).map_or(program, |(base, _)| base);
        let segment = crate::diagnostic::key_segment(table);
        let listener = format!("eventlistener.{segment}");
        let table_key = if self.locations.find(&listener).is_some() {
            listener
        } else {
            format!("program.{segment}")
        };
        self.located(&table_key, &format!("{table_key}.{key}"), message.into())
    }

    /// Like [`Config::program_problem`], at element `index` of the array `key`.
    pub fn program_item_problem(
        &self,
        program: &str,
        key: &str,
        index: usize,
        message: impl Into<String>,
    ) -> Diagnostic {
        let mut d = self.program_problem(program, key, message);
        let element = format!("{}[{index}]", d.key.as_deref().unwrap_or_default());
        if let Some(at) = self.locations.find(&element) {
            d.file = at.file.clone();
            d.line = Some(at.line);
        }
        d
    }

    /// A problem about `key` (`socket`) of `[supd]`, at its line when the file sets it.
    pub fn supd_problem(&self, key: &str, message: impl Into<String>) -> Diagnostic {
        self.located("supd", &format!("supd.{key}"), message.into())
    }

    /// A problem about `key`, placed at its line, else at the line of `table`, else in
    /// the main file with no line.
    fn located(&self, table: &str, key: &str, message: String) -> Diagnostic {
        let at = self
            .locations
            .find(key)
            .or_else(|| self.locations.find(table));
        Diagnostic {
            file: at.map_or_else(|| self.path.clone(), |a| a.file.clone()),
            line: at.map(|a| a.line),
            key: Some(key.to_string()),
            message,
        }
    }
}

/// One `[group.NAME]` table: a name for several programs on the command line
/// (`supctl restart group:NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// `[A-Za-z0-9_.-]+`; may be a program's name too (`group:web` and `web` are told
    /// apart on the command line).
    pub name: String,
    /// The names its programs run under with the active profiles (every instance of a
    /// program with `instances`), in config order, each once. Empty when none of them runs
    /// with the active profiles.
    pub programs: Vec<String>,
}

/// Where the keys of a config were written: the file and line of the value of every key
/// of `[supd]` and of every program table (nested ones too), and of every array element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Locations {
    /// By dotted key (`program.web.user`, `program.web.watch.include[1]`, `supd.socket`;
    /// a table's own key, `program.web`, is the line of its header).
    entries: Vec<(String, Location)>,
}

/// A place in one of the files of a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
}

impl Locations {
    pub(crate) fn add(&mut self, key: String, location: Location) {
        self.entries.push((key, location));
    }

    /// Where `key` was written, when it was.
    pub fn find(&self, key: &str) -> Option<&Location> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, l)| l)
    }
}

/// How to load a config (see [`crate::load_with`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Active profiles (`supd --profile`, `$SUPD_PROFILE`): programs with `profiles` run
    /// when they name one of these; programs without `profiles` always run. Empty: only
    /// programs without `profiles` run. Naming a profile no program has is an error.
    pub profiles: Vec<String>,
}

/// The name of instance `i` of program `name` (`worker:1`).
pub fn instance_name(name: &str, i: u32) -> String {
    format!("{name}:{i}")
}

/// `worker:1` -> `("worker", 1)`; `None` for a name that is not an instance's. (Names in a
/// config cannot contain `:`, so only instances have one.)
pub fn split_instance(name: &str) -> Option<(&str, u32)> {
    let (base, i) = name.rsplit_once(':')?;
    if base.is_empty() || i.is_empty() || !i.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((base, i.parse().ok()?))
}

/// The `[supd]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct SupdSpec {
    /// Control socket path (absolute, or relative to the current directory when the config
    /// was given by a relative path). Default `/run/supd.sock`.
    pub socket: PathBuf,
    /// Permission bits of the socket file. Default `0o600`; `0o660` with `socket_group`,
    /// `0o666` with `socket_readonly_group` (supd checks every client's credentials).
    pub socket_mode: u32,
    /// Group owner of the socket file (name or number, resolved at start); its members may
    /// use every command, like root and supd's own user.
    pub socket_group: Option<IdRef>,
    /// Members of this group may use the commands that change nothing (`status`, `logs`,
    /// `events`, `wait`).
    pub socket_readonly_group: Option<IdRef>,
    /// Hard cap for the whole shutdown. Default 30 s.
    pub shutdown_timeout: Duration,
    /// Console format of program output. Default [`LogFormat::Prefix`].
    pub log_format: LogFormat,
    /// Start `prefix` lines with a UTC timestamp. Default false.
    pub log_timestamps: bool,
    /// `[supd.http]`: the HTTP interface (supervisord's XML-RPC), when configured.
    pub http: Option<HttpSpec>,
}

/// `[supd.http]`: where supd serves HTTP (supervisord's XML-RPC at `/RPC2`, `/logtail`),
/// and who may use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSpec {
    /// At least one address.
    pub listen: Vec<ListenSpec>,
}

/// One address of `[supd.http] listen`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenSpec {
    pub address: ListenAddress,
    /// Permission bits of a unix socket file (supervisord's `chmod`). Default `0o700`.
    pub mode: u32,
    /// Owner of a unix socket file (supervisord's `chown`), resolved at start.
    pub owner: Option<UserSpec>,
    /// HTTP Basic credentials every request to this address must carry (or the token).
    pub auth: Option<Credentials>,
    /// A file holding a bearer token every request may carry instead (`Authorization:
    /// Bearer TOKEN`, or `?token=TOKEN` where a browser cannot set headers); read at start.
    pub token_file: Option<PathBuf>,
    /// Only what reads is served here: status, logs, metrics, the dashboard without its
    /// buttons' effect.
    pub readonly: bool,
}

/// An address supd listens on: one of `[supd.http] listen`, or of a program's `sockets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddress {
    /// `unix:/run/supd/http.sock`, `unix:///run/web.sock`
    Unix(PathBuf),
    /// `127.0.0.1:9001`, `tcp://127.0.0.1:8000`
    Tcp(std::net::SocketAddr),
}

impl ListenAddress {
    /// As a program's `sockets` writes it, normalised: `tcp://127.0.0.1:8000`,
    /// `tcp://[::1]:8000`, `unix:///run/web.sock` (what `supctl status` shows).
    pub fn url(&self) -> String {
        match self {
            ListenAddress::Unix(path) => format!("unix://{}", path.display()),
            ListenAddress::Tcp(addr) => format!("tcp://{addr}"),
        }
    }
}

/// One element of a program's `sockets`: an address supd binds before the program's first
/// start and holds for the program's whole life, passed to every run of it as descriptor
/// [`FIRST_SOCKET_FD`] + its index (systemd's `LISTEN_FDS` protocol).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketSpec {
    pub address: ListenAddress,
    /// Its entry of `LISTEN_FDNAMES`, and what `${SOCKET_FD_<NAME>}` finds it by:
    /// `[A-Za-z0-9_.-]+`. Default: the program's name (the NAME of `[program.NAME]`).
    pub name: String,
    /// The `listen(2)` backlog: connections the kernel queues while no process accepts
    /// (during a restart). Default [`DEFAULT_SOCKET_BACKLOG`].
    pub backlog: u32,
    /// Permission bits of a unix socket file. Default `0o666` (systemd's `SocketMode`).
    pub mode: u32,
    /// Owner of a unix socket file, resolved when it is bound.
    pub owner: Option<UserSpec>,
}

/// The descriptor of a program's first socket: 3, after stdin, stdout and stderr.
pub const FIRST_SOCKET_FD: i32 = 3;
/// `backlog` of a socket that does not set it.
pub const DEFAULT_SOCKET_BACKLOG: u32 = 1024;
/// `mode` of a unix socket of `sockets` that does not set it.
pub const DEFAULT_SOCKET_MODE: u32 = 0o666;

impl std::fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListenAddress::Unix(path) => write!(f, "unix:{}", path.display()),
            ListenAddress::Tcp(addr) => write!(f, "{addr}"),
        }
    }
}

/// `username` and `password` of `[supd.http]` (or of one of its addresses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Password,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    Plain(String),
    /// supervisord's `{SHA}` followed by the hex SHA-1 digest of the password.
    Sha1([u8; 20]),
}

impl Default for SupdSpec {
    fn default() -> Self {
        SupdSpec {
            socket: PathBuf::from(DEFAULT_SOCKET),
            socket_mode: 0o600,
            socket_group: None,
            socket_readonly_group: None,
            shutdown_timeout: Duration::from_secs(30),
            log_format: LogFormat::Prefix,
            log_timestamps: false,
            http: None,
        }
    }
}

/// Where `supd` and `supctl` look for the control socket when nothing says otherwise.
pub const DEFAULT_SOCKET: &str = "/run/supd.sock";
/// Where `supd` looks for its config when neither `--config` nor `$SUPD_CONFIG` is given.
pub const DEFAULT_CONFIG: &str = "/etc/supd/supd.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `name | line`, names padded so the bars line up.
    Prefix,
    /// The program's bytes unchanged.
    Raw,
    /// One JSON object per line.
    Json,
}

/// A user or group reference: a name to look up, or a number used as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdRef {
    Name(String),
    Id(u32),
}

/// The `user` key: `"name"`, `"uid"`, `"name:group"` or `"uid:gid"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSpec {
    pub user: IdRef,
    pub group: Option<IdRef>,
}

/// The `restart` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Restart after every exit (default).
    Always,
    /// Restart only after an exit whose code is not in `exit_codes`, or a death by signal.
    OnFailure,
    /// Never restart.
    Never,
}

/// The `restart_mode` key: how a restart of a running program (`supctl restart`, a file
/// change, a reload that changed it) replaces the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartMode {
    /// Stop the old process, then start the new one (default; what every supervisor does).
    StopFirst,
    /// Start the new process beside the old one, wait until it is up (`min_uptime`, the
    /// health check, `READY=1`), then stop the old one; if the new one never comes up, the
    /// old one keeps running.
    StartFirst,
}

/// Where one output stream of a program goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// supd's own stdout (for program stdout) or stderr (for program stderr), prefixed.
    Console,
    /// Discarded (`/dev/null`).
    Null,
    /// Appended to this file (resolved like [`SupdSpec::socket`]); rotated at
    /// `log_max_size`, reopened on SIGUSR1.
    File(PathBuf),
    /// Wherever the program's stdout goes (only for `stderr`: supervisord's
    /// `redirect_stderr`).
    Stdout,
}

/// One `[program.NAME]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramSpec {
    /// The NAME of `[program.NAME]`: `[A-Za-z0-9_.-]+`, never `all`; `NAME:i` for
    /// instance `i` of a program with `instances` (see [`split_instance`]).
    pub name: String,
    /// argv; never empty. A string `command` is split like a shell would (no shell runs).
    pub command: Vec<String>,
    /// Working directory (resolved like [`SupdSpec::socket`]). `None`: supd's own working
    /// directory.
    pub directory: Option<PathBuf>,
    /// Added to (and overriding) supd's own environment, each variable once: the variables
    /// of `[supd] env_file` that supd's own environment does not set, then the program's
    /// `env_file`, then `INSTANCE` (for instances), then `environment`, later ones winning.
    pub environment: Vec<(String, String)>,
    pub user: Option<UserSpec>,
    /// e.g. `0o022`.
    pub umask: Option<u32>,
    /// Default true.
    pub autostart: bool,
    /// Default [`RestartPolicy::Always`].
    pub restart: RestartPolicy,
    /// Default [`RestartMode::StopFirst`]; never `StartFirst` for a oneshot.
    pub restart_mode: RestartMode,
    /// Exit codes that count as success. Default `[0]`.
    pub exit_codes: Vec<i32>,
    /// A run shorter than this is a failed start. Default 1 s.
    pub min_uptime: Duration,
    /// Delay after the first failed start, doubling per failed start. Default 100 ms.
    pub restart_delay: Duration,
    /// Cap of the doubling delay. Default 30 s. Never below `restart_delay`.
    pub max_restart_delay: Duration,
    /// Failed starts in a row tolerated before `fatal`. `None`: unlimited (the default).
    pub start_retries: Option<u32>,
    /// Default SIGTERM.
    pub stop_signal: Signal,
    /// Then SIGKILL to the process group. Default 10 s.
    pub stop_timeout: Duration,
    /// Names of programs that must be up before this one starts (all exist, no cycles; a
    /// dependency on a program with instances lists every instance).
    pub depends_on: Vec<String>,
    /// Runs to completion once (migrations). Default false.
    pub oneshot: bool,
    /// When it fails for good, supd shuts down with its exit code. Default false.
    pub critical: bool,
    /// When the program counts as up (for dependents, `supctl start`, `wait`, `health`).
    /// Default [`Readiness::Started`]; a `health` check adds "and healthy".
    pub ready: Readiness,
    pub stdout: OutputTarget,
    pub stderr: OutputTarget,
    /// A log file that reaches this size is rotated (`name.log` → `name.log.1` ...).
    /// Default 50 MB.
    pub log_max_size: u64,
    /// Rotated files kept (`name.log.1` ... `name.log.N`); 0 truncates instead. Default 5.
    pub log_backups: u32,
    pub watch: Option<WatchSpec>,
    pub health: Option<HealthSpec>,
    /// The `stdin` key. Default [`StdinMode::Null`].
    pub stdin: StdinMode,
    /// `stdout_events`: each line written to stdout is also a `PROCESS_LOG_STDOUT` event for
    /// the event listeners (supervisord's `stdout_events_enabled`). Default false.
    pub stdout_events: bool,
    /// `stderr_events`: the same for stderr (`PROCESS_LOG_STDERR`). Default false.
    pub stderr_events: bool,
    /// Set for an `[eventlistener.NAME]`: its stdin and stdout carry supervisord's event
    /// listener protocol (stdin is always a pipe; stdout is never logged).
    pub listener: Option<ListenerSpec>,
    /// `sockets`: held by supd for the program's whole life and passed to every run as
    /// descriptors 3, 4, ... in this order. No two programs share an address.
    pub sockets: Vec<SocketSpec>,
}

impl ProgramSpec {
    /// A spec with every default filled in, for the given name and argv (used by tests).
    pub fn new(name: impl Into<String>, command: Vec<String>) -> Self {
        ProgramSpec {
            name: name.into(),
            command,
            directory: None,
            environment: Vec::new(),
            user: None,
            umask: None,
            autostart: true,
            restart: RestartPolicy::Always,
            restart_mode: RestartMode::StopFirst,
            exit_codes: vec![0],
            min_uptime: Duration::from_secs(1),
            restart_delay: Duration::from_millis(100),
            max_restart_delay: Duration::from_secs(30),
            start_retries: None,
            stop_signal: Signal::SIGTERM,
            stop_timeout: Duration::from_secs(10),
            depends_on: Vec::new(),
            oneshot: false,
            critical: false,
            ready: Readiness::Started,
            stdout: OutputTarget::Console,
            stderr: OutputTarget::Console,
            log_max_size: 50_000_000,
            log_backups: 5,
            watch: None,
            health: None,
            stdin: StdinMode::Null,
            stdout_events: false,
            stderr_events: false,
            listener: None,
            sockets: Vec::new(),
        }
    }
}

/// The `stdin` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdinMode {
    /// `/dev/null` (default).
    Null,
    /// `"pipe"`: a pipe whose write end supd keeps, so clients can write to the program
    /// (supervisord's `sendProcessStdin`).
    Pipe,
}

/// What makes a program an event listener (`[eventlistener.NAME]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSpec {
    /// The pool: the NAME of the table, shared by its instances (an event goes to one
    /// ready process of the pool).
    pub pool: String,
    /// The concrete event types it subscribes to (parents expanded), each once, in
    /// [`crate::event_types::EventType::ALL`] order.
    pub events: Vec<crate::event_types::EventType>,
    /// Events kept for the pool while no process of it is ready; beyond it the oldest is
    /// dropped. Default 10.
    pub buffer_size: usize,
}

/// The `ready` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Up once it has run `min_uptime` (and passed its health check, if it has one).
    Started,
    /// Up once it sent `READY=1` to `$NOTIFY_SOCKET` (systemd's sd_notify protocol).
    Notify,
}

/// `[program.NAME.watch]`.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchSpec {
    /// Relative ones resolve against the program's `directory` (else the config file's
    /// directory). Default `["."]`.
    pub paths: Vec<PathBuf>,
    /// Globs; empty means everything.
    pub include: Vec<String>,
    /// Globs added to the built-in ignores.
    pub exclude: Vec<String>,
    /// Default 200 ms.
    pub debounce: Duration,
    pub action: WatchAction,
    pub poll: PollMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchAction {
    Restart,
    Signal(Signal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollMode {
    Auto,
    Off,
    Interval(Duration),
}

/// `[program.NAME.health]`.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthSpec {
    pub check: HealthCheck,
    /// Default 5 s.
    pub interval: Duration,
    /// Default 1 s.
    pub timeout: Duration,
    /// Failures in a row before the program is restarted. Default 3.
    pub retries: u32,
    /// Failures during this time after start do not count. Default 0.
    pub start_period: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    /// argv, split like `command`.
    Command(Vec<String>),
    /// `host:port`.
    Tcp(String),
    /// `http://host[:port]/path`.
    Http(String),
}
