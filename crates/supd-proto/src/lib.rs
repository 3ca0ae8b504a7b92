//! The control protocol between `supctl` (or any client) and `supd`.
//!
//! This crate owns the wire contract and nothing else: message types, their JSON shape, the
//! newline-delimited framing and the protocol version. It has no I/O runtime, so both the
//! async daemon and the blocking client use it.
//!
//! # Conversation
//! One connection carries one conversation, over a Unix stream socket, one JSON object per
//! line (NDJSON, UTF-8, at most [`MAX_LINE`] bytes per line):
//!
//! 1. the client sends [`ClientMessage::Hello`] with its [`PROTOCOL_VERSION`];
//! 2. the server answers [`ServerMessage::Hello`] (or [`ServerMessage::Error`] and closes:
//!    [`ErrorKind::Protocol`] when the versions differ, [`ErrorKind::PermissionDenied`]
//!    when the client's user may not use this server, [`ErrorKind::Refused`] when the
//!    server has too many connections open);
//! 3. the client sends one [`ClientMessage::Request`];
//! 4. the server answers with exactly one [`ServerMessage::Reply`] or
//!    [`ServerMessage::Error`] for that request id, or — for a streaming request
//!    (`logs --follow`, `events`) — any number of [`ServerMessage::Log`] /
//!    [`ServerMessage::Event`] lines until the client hangs up or the server sends
//!    [`ServerMessage::End`] (supd is exiting) or [`ServerMessage::Error`] (the client fell
//!    behind and is cut off; the error follows whole lines only).
//!
//! A line that is not valid JSON for the expected message gets an [`ErrorKind::BadRequest`]
//! error naming the problem, and the server closes the connection.

use serde::{Deserialize, Serialize};

mod framing;
pub use framing::{FrameError, LineReader, decode, encode};

/// Bumped on every incompatible change of the messages below.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest accepted line, in bytes (requests are tiny; log chunks are split below this).
pub const MAX_LINE: usize = 1 << 20;

/// Both sides introduce themselves with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    /// `"supctl 0.1.0"`, `"supd 0.1.0"`.
    pub software: String,
    /// The server's pid (absent from clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// Client -> server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientMessage {
    Hello(Hello),
    Request { id: u64, request: Request },
}

/// What a client can ask. `names` may contain `"all"`; empty means all where that makes
/// sense (`status`, `logs`, `wait`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Status {
        #[serde(default)]
        names: Vec<String>,
        /// Also sample each program's CPU and memory from `/proc` ([`ProgramStatus::usage`]).
        /// Nothing is sampled unless a client asks: an idle supd reads nothing.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        resources: bool,
    },
    Start {
        names: Vec<String>,
    },
    Stop {
        names: Vec<String>,
    },
    Restart {
        names: Vec<String>,
    },
    /// A restart that starts the new process beside the running one and stops the old one
    /// once the new one is up (start-first), whatever the program's `restart_mode`.
    Upgrade {
        names: Vec<String>,
    },
    /// `signal` is a name (`HUP`, `SIGHUP`) or a number, as the user typed it.
    Signal {
        signal: String,
        names: Vec<String>,
    },
    Logs {
        #[serde(default)]
        names: Vec<String>,
        /// How many recent lines (per the whole selection) to send first.
        #[serde(default)]
        lines: Option<usize>,
        #[serde(default)]
        follow: bool,
        /// Only output that arrived at or after this time (milliseconds since the Unix
        /// epoch).
        #[serde(default)]
        since_ms: Option<u64>,
        /// Only this stream.
        #[serde(default)]
        stream: Option<Stream>,
    },
    /// A live stream of state changes, as [`ServerMessage::Event`]s, until the client
    /// hangs up: of the programs `names` selects (the names resolve once, when the stream
    /// starts), or of every program when it is empty. Without names this is
    /// `{"cmd":"events"}`, as before names existed.
    Events {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        names: Vec<String>,
    },
    Shutdown,
    /// Re-read the config and apply only the difference.
    Reload,
    /// Answer once the programs are up (`names` empty: every autostart program), or when
    /// `timeout_ms` has passed, or as soon as one of them cannot come up any more.
    Wait {
        #[serde(default)]
        names: Vec<String>,
        #[serde(default)]
        timeout_ms: Option<u64>,
    },
}

/// Server -> client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerMessage {
    Hello(Hello),
    Reply {
        id: u64,
        reply: Reply,
    },
    /// `id` is absent when the failure is not tied to a request (bad hello, garbage).
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        error: ErrorReply,
    },
    /// Output of programs, for `logs`: whole lines only.
    Log {
        id: u64,
        chunk: LogChunk,
    },
    /// A state change, for `events`.
    Event {
        id: u64,
        event: StateEvent,
    },
    /// The end of a stream: `logs` without `--follow` ends with this once the recent lines
    /// are sent; a following stream (`logs --follow`, `events`) gets it when supd exits,
    /// after the last output and state changes.
    End {
        id: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Status {
        programs: Vec<ProgramStatus>,
    },
    /// One outcome per program acted on, in the order they were named.
    Actions {
        outcomes: Vec<ActionOutcome>,
    },
    /// `shutdown` was accepted; supd is stopping everything and will exit.
    ShuttingDown,
    /// `reload` was applied: program names added, changed (restarted when they ran),
    /// removed (stopping).
    Reloaded {
        added: Vec<String>,
        changed: Vec<String>,
        removed: Vec<String>,
    },
}

/// A program's lifecycle state, as DESIGN.md names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgramState {
    Stopped,
    Starting,
    Running,
    Backoff,
    Stopping,
    Exited,
    Fatal,
}

impl ProgramState {
    /// Every state, in lifecycle order.
    pub const ALL: [ProgramState; 7] = [
        ProgramState::Stopped,
        ProgramState::Starting,
        ProgramState::Running,
        ProgramState::Backoff,
        ProgramState::Stopping,
        ProgramState::Exited,
        ProgramState::Fatal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProgramState::Stopped => "stopped",
            ProgramState::Starting => "starting",
            ProgramState::Running => "running",
            ProgramState::Backoff => "backoff",
            ProgramState::Stopping => "stopping",
            ProgramState::Exited => "exited",
            ProgramState::Fatal => "fatal",
        }
    }
}

impl std::fmt::Display for ProgramState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of `supctl status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramStatus {
    pub name: String,
    pub state: ProgramState,
    /// Up as dependents and `supctl status`/`health` understand it: `running` (and healthy),
    /// or, for a oneshot, completed successfully.
    pub up: bool,
    /// The running process, if any.
    pub pid: Option<u32>,
    /// Starts after the first, whatever caused them.
    pub restarts: u32,
    /// Exit code of the last run when it exited normally.
    pub exit_code: Option<i32>,
    /// Signal that ended the last run (`"SIGKILL"`), when it died of one.
    pub signal: Option<String>,
    /// How the last run ended, in words: `"exited with 1"`, `"killed by SIGKILL"`.
    pub last_exit: Option<String>,
    /// Milliseconds since the current process started (running/starting/stopping only).
    pub uptime_ms: Option<u64>,
    /// Why it is in this state or what caused the last start: `"supctl restart"`,
    /// `"crashed: killed by SIGKILL"`, `"No such file or directory"`.
    pub reason: Option<String>,
    /// What `reason` is about, for programs: a snake_case word such as `"autostart"`,
    /// `"supctl_restart"`, `"restarted"`, `"exited"`, `"unhealthy"`, `"waiting"`,
    /// `"dependency_failed"` (see docs/architecture.md for the list).
    #[serde(default)]
    pub reason_kind: Option<String>,
    /// Whether supd starts it by itself (`supctl health` expects those up).
    #[serde(default)]
    pub autostart: bool,
    /// For programs with a health check: `"healthy"`, `"unhealthy: HTTP 503 (2 in a row)"`,
    /// `"not checked yet"`.
    #[serde(default)]
    pub health: Option<String>,
    /// The last `STATUS=` an sd_notify program sent.
    #[serde(default)]
    pub notify_status: Option<String>,
    /// When the latest run's process started, in milliseconds since the Unix epoch (kept
    /// after it ended; absent before the first start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<u64>,
    /// When the last run ended, in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_ms: Option<u64>,
    /// During a start-first restart, the earlier process still alive beside `pid`: serving
    /// until `pid` is up, then stopping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_pid: Option<u32>,
    /// The sockets supd holds for it (its `sockets`), normalised: `tcp://127.0.0.1:8000`,
    /// `unix:///run/web.sock`; passed to every run as descriptors 3, 4, ... in this order.
    #[serde(default)]
    pub sockets: Vec<String>,
    /// The programs this one waits for (its `depends_on`), in the config's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// CPU and memory of its processes, when the request asked for `resources` and it has
    /// a process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// Resource use of a program's processes: everything in its process group (and, during a
/// start-first restart, the previous run's group), sampled from `/proc` when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// CPU used since the previous sample of this program when that was recent (`supctl
    /// top`, the dashboard, a Prometheus scrape), otherwise over its processes' lifetime
    /// (as `ps` reports it). 100 is one core.
    pub cpu_percent: Percent,
    /// CPU time (user + system) of its live processes and of the children they reaped, in
    /// milliseconds.
    pub cpu_ms: u64,
    /// Resident memory summed over its processes, in bytes.
    pub rss_bytes: u64,
    /// How many processes were counted.
    pub processes: u32,
}

/// A percentage; never NaN, so it compares as equal to itself.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Percent(pub f64);

// Every constructor of `Percent` in supd gives a finite number: equality is reflexive.
impl Eq for Percent {}

/// The result of `start`/`stop`/`restart`/`signal` for one program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionOutcome {
    pub name: String,
    pub ok: bool,
    /// `"started"`, `"stopped"`, `"already running"`,
    /// `"failed to start: exited with 1 (see supctl logs web)"`.
    pub message: String,
    /// What happened, for clients that act on it (absent from older servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<OutcomeCode>,
}

/// What a `start`/`stop`/`restart`/`signal`/`wait` did for one program, as a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeCode {
    /// It is up (started, restarted, completed, healthy), stopped, or got the signal.
    Done,
    /// `start` of a program that was running already.
    AlreadyRunning,
    /// `stop` of a program that was stopped already; `signal` of one without a process.
    NotRunning,
    /// supd is shutting down.
    ShuttingDown,
    /// Its process could not be created (the command is missing or cannot be executed).
    SpawnFailed,
    /// It started but did not stay up (exited during `min_uptime`, backing off, fatal).
    Exited,
    /// It was stopped before it was up (another request, a failed dependency).
    NotStarted,
    /// `wait`: it is not up (yet).
    NotUp,
    /// Sending the signal failed.
    SignalFailed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    pub kind: ErrorKind,
    /// One sentence naming the thing: `no program named "wbe" (did you mean "web"?)`.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The hello was missing or its protocol version is not this server's.
    Protocol,
    /// The line was not a valid request.
    BadRequest,
    /// A name that is no program.
    UnknownProgram,
    /// The request is valid but cannot be carried out (bad signal name, supd shutting down).
    Refused,
    /// `reload`: the config file has problems (one per line in the message); the running
    /// config stays in force.
    InvalidConfig,
    /// The client's user may not do this (checked from the socket's peer credentials): sent
    /// instead of the hello to a user who may do nothing, or as the answer to a request
    /// that changes something from a user of `socket_readonly_group`.
    PermissionDenied,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A program changed state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateEvent {
    /// Milliseconds since the Unix epoch.
    pub ts_ms: u64,
    pub program: String,
    pub from: ProgramState,
    pub to: ProgramState,
    /// The process after the change, if any.
    pub pid: Option<u32>,
    /// For `to: exited`: how the run ended.
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    /// Why the program is in its new state.
    pub reason: Option<String>,
    /// What `reason` is about, as a snake_case word (as in [`ProgramStatus::reason_kind`]).
    #[serde(default)]
    pub reason_kind: Option<String>,
}

/// Whole lines a program wrote to one stream, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogChunk {
    pub program: String,
    pub stream: Stream,
    /// When supd read them, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub ts_ms: u64,
    /// One or more lines, each ending in `\n`. Invalid UTF-8 is replaced by U+FFFD.
    pub text: String,
}
