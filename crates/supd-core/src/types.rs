//! The interface of [`crate::step`]: what comes in ([`Input`]), what goes out ([`Effect`]),
//! and the timers the core asks for. What the effects *say* (causes, log lines, notices,
//! answers) is typed data too, in [`crate::why`]; the daemon words it.

use std::time::Duration;

use supd_config::Signal;

use crate::why::{Change, Notice, OutcomeKind};

/// Index of a program in [`crate::State::programs`].
pub type ProgId = usize;

/// A request from a client, as numbered by the daemon; echoed in [`Effect::Reply`].
pub type ReqId = u64;

/// How a process ended, as `waitpid` reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled { signal: Signal, core_dumped: bool },
}

impl ExitStatus {
    /// The code a shell would show: the exit code, or 128 + the signal number.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled { signal, .. } => 128 + signal as i32,
        }
    }
}

/// What a client asked for a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Restart,
    /// A restart that is start-first whatever `restart_mode` says (`supctl upgrade`).
    Upgrade,
}

/// Everything that can happen to supd.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// supd has started: start the autostart programs.
    Boot,
    /// A client asked to start/stop/restart these programs; reply to `req` when done.
    Command {
        req: ReqId,
        action: Action,
        progs: Vec<ProgId>,
    },
    /// A client asked to send `signal` to the process group of each of these programs;
    /// reply to `req` (at once: one [`OutcomeKind::SignalSent`] or
    /// [`OutcomeKind::NotRunning`] per program).
    Signal {
        req: ReqId,
        signal: Signal,
        progs: Vec<ProgId>,
    },
    /// The [`Effect::Spawn`] for this run succeeded: the program's process is `pid`, leader of
    /// process group `pid`.
    Spawned { prog: ProgId, run: u32, pid: i32 },
    /// The [`Effect::Spawn`] for this run failed before the program ran (`error` says why,
    /// e.g. `cannot run "gunicorn": No such file or directory`).
    SpawnFailed {
        prog: ProgId,
        run: u32,
        error: String,
        retry: SpawnRetry,
    },
    /// The reaper collected `pid`. `group_alive`: other members of process group `pid` were
    /// still alive right after.
    Exited {
        pid: i32,
        status: ExitStatus,
        group_alive: bool,
    },
    /// The process group of this run, whose leader already exited, has no member left.
    GroupEmpty { prog: ProgId, run: u32 },
    /// A timer requested by [`Effect::SetTimer`] is due.
    Timer(Timer),
    /// SIGTERM/SIGINT/SIGQUIT or `supctl shutdown`. A second one (or `force`) kills
    /// everything at once.
    Shutdown { force: bool },
    /// The reaper found that supd has no child process at all.
    NoChildren,
    /// A burst of changes to files the program watches ended (debounced by the watcher).
    /// `paths` are the changed files, as the operator should read them (relative to the
    /// watched directory), in the order they changed, each once.
    FilesChanged { prog: ProgId, paths: Vec<String> },
    /// A health check of run `run` ended: `ok`, or why not.
    ProbeResult {
        prog: ProgId,
        run: u32,
        ok: bool,
        detail: String,
    },
    /// A process of the program (`from_pid`, found in its process group) sent an sd_notify
    /// message: `READY=1` (`ready`), and/or `STATUS=...` (`status`).
    Notify {
        prog: ProgId,
        from_pid: i32,
        ready: bool,
        status: Option<String>,
    },
    /// A client waits until these programs are up (`supctl wait`), for at most `timeout`.
    Wait {
        req: ReqId,
        progs: Vec<ProgId>,
        timeout: Option<Duration>,
    },
    /// The config was re-read (and is valid): apply the difference. Answer `req`, if any,
    /// with [`Effect::Reloaded`].
    Reload {
        req: Option<ReqId>,
        specs: Vec<supd_config::ProgramSpec>,
        shutdown_timeout: Duration,
    },
}

/// Whether a spawn that failed may succeed if tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnRetry {
    /// The command cannot be executed as configured (not found, not executable, a format
    /// the kernel does not run): retrying cannot help, the program goes `fatal` at once. A
    /// watched file change or `supctl start` still tries again.
    Futile,
    /// Something that may pass (no memory, too many processes, a pipe that could not be
    /// made): a failed start like any other, with backoff.
    MayHelp,
}

/// A timer, tagged so that a stale one is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// `min_uptime` of this run has passed: `starting` becomes `running`.
    Settled { prog: ProgId, run: u32 },
    /// The backoff delay after a failed start of this run is over: try again.
    Retry { prog: ProgId, run: u32 },
    /// `stop_timeout` of this run's stop is over: SIGKILL the group.
    StopTimeout { prog: ProgId, run: u32 },
    /// Leftovers of a process group whose leader died on its own got `stop_timeout` after
    /// SIGTERM: SIGKILL them.
    LingerKill { pgid: i32 },
    /// Leftover descendants had their grace period after SIGTERM during shutdown.
    DescendantsKill,
    /// `shutdown_timeout` is over: SIGKILL everything.
    ShutdownDeadline,
    /// Time for the next health check of this run.
    Probe { prog: ProgId, run: u32 },
    /// A `supctl wait` has waited long enough.
    WaitTimeout { req: ReqId },
}

/// What the daemon must do, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Start run `run` of the program, then report [`Input::Spawned`] or
    /// [`Input::SpawnFailed`] before handling any other input.
    Spawn { prog: ProgId, run: u32 },
    /// Run one health check of this run; report [`Input::ProbeResult`].
    Probe { prog: ProgId, run: u32 },
    /// Send `signal` to every process of group `pgid`.
    SignalGroup { pgid: i32, signal: Signal },
    /// Send `signal` to every descendant of supd (adopted orphans, `setsid` escapees).
    SignalDescendants { signal: Signal },
    /// Deliver `Input::Timer(timer)` at time `at` (same clock as `now`).
    SetTimer { at: Duration, timer: Timer },
    /// Answer request `req`: one outcome per program, in the order they were named.
    Reply { req: ReqId, outcomes: Vec<Outcome> },
    /// A program changed state (or, with `from == to`, something happened within one):
    /// `from` and `to` as the wire names them, `change` what happened, from which the
    /// daemon makes the log line and the event's reason.
    Changed {
        prog: ProgId,
        from: crate::ProgramState,
        to: crate::ProgramState,
        change: Change,
    },
    /// Tell the operator something that is not a state change (e.g. a shutdown step).
    Notice(Notice),
    /// Everything is gone: exit supd with this code.
    Exit { code: i32 },
    /// A reload was applied: programs added (new ids), changed (restarted if they ran, with
    /// the new settings), and removed (stopping, then retired); unchanged ones untouched.
    Reloaded {
        req: Option<ReqId>,
        added: Vec<ProgId>,
        changed: Vec<ProgId>,
        removed: Vec<ProgId>,
    },
}

/// The result of a request for one program.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub prog: ProgId,
    pub kind: OutcomeKind,
}

impl Outcome {
    /// Whether the request succeeded for this program.
    pub fn ok(&self) -> bool {
        self.kind.ok()
    }
}
