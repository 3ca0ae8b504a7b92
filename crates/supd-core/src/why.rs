//! Causes, happenings and answers as data.
//!
//! The core decides and the daemon speaks: every reason a program is where it is ([`Why`],
//! [`Halt`]), every log line of a state change ([`Change`]), every operator notice
//! ([`Notice`]) and every answer to a request ([`OutcomeKind`]) is a value here, and the
//! daemon's `wording` module turns it into a sentence. No decision in the core ever looks at
//! text: a program's state and these values are all it reads.

use std::time::Duration;

use supd_config::Signal;

use crate::state::Life;
use crate::types::{Action, ExitStatus, ProgId};

/// What caused a start or a stop, or what a failed run ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Started at boot (`autostart = true`).
    Autostart,
    /// A client asked (`supctl start|stop|restart`).
    Requested(Action),
    /// Started because this program needs it (`depends_on`).
    NeededBy(ProgId),
    /// Was waiting for its dependencies; they are all up now.
    DependenciesUp,
    /// The backoff after this failure is over: trying again.
    Retry(Box<Why>),
    /// Its run was up and then ended like this; started again at once.
    Restarted(ExitStatus),
    /// Watched files changed (their paths, in the order they changed).
    FilesChanged(Vec<String>),
    /// A reload changed its settings.
    ConfigChanged,
    /// A reload added it.
    AddedToConfig,
    /// A reload removed it.
    RemovedFromConfig,
    /// The shutdown plan stops it (dependents first).
    Shutdown,
    /// What was still to come (a retry, a start waiting for dependencies) is cancelled:
    /// supd is shutting down.
    SupdShuttingDown,
    /// A run ended on its own like this, after running so long.
    Exited { status: ExitStatus, after: Duration },
    /// The spawn failed in a way that may pass (no memory, too many processes); the error.
    SpawnFailed(String),
    /// The command cannot be executed as configured (not found, not executable); the
    /// error.
    CannotExecute(String),
    /// This many health checks failed in a row; the last one said `detail`.
    Unhealthy { detail: String, failures: u32 },
}

/// How a program came to be `stopped`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// A stop asked by `by` ended its run; `exit` is how its process ended (`None`: it
    /// vanished without a reported exit).
    Stopped { by: Why, exit: Option<ExitStatus> },
    /// Stopped (by `by`) while it had no process: waiting, backing off, exited or fatal.
    Cancelled { by: Why },
    /// Not started: dependency `dep` failed (`fatal`), or is not running and nothing will
    /// start it (`failed: false`).
    Blocked { dep: ProgId, failed: bool },
}

/// How a started program came to count as up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpBy {
    /// It has run `min_uptime` (it has no other readiness condition).
    Uptime,
    /// Its health check passed.
    Healthy,
    /// It sent `READY=1` over `NOTIFY_SOCKET`.
    Ready,
}

/// What happened to a program, as [`crate::Effect::Changed`] reports it: the daemon logs
/// it (some changes are not logged, because the next one in the same step says it) and
/// gives it to the event stream as the change's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Not started yet: these dependencies are not up.
    Waiting { on: Vec<ProgId> },
    /// A new run is being spawned, because of `cause`.
    Spawning { cause: Why },
    /// The spawn told the pid.
    Started { pid: i32 },
    /// The run counts as up now.
    Up { by: UpBy },
    /// The run ended on its own; what follows is decided (and logged) in the same step.
    Exited { status: ExitStatus, after: Duration },
    /// The run ended on its own and nothing follows (shutdown, or a restart policy that
    /// does not restart a success).
    Ended { status: ExitStatus, after: Duration },
    /// A oneshot finished successfully.
    Completed { status: ExitStatus, after: Duration },
    /// A failed start: tried again after `delay`. `failures` failed starts in a row so far,
    /// of at most `limit` (`start_retries + 1`; `None`: unlimited).
    BackingOff {
        failure: Why,
        delay: Duration,
        failures: u32,
        limit: Option<u32>,
    },
    /// Failed starts in a row exhausted `start_retries`: fatal.
    GaveUp { failure: Why, failures: u32 },
    /// A failed start of a program with `restart = "never"`: fatal.
    NeverRestarted { failure: Why },
    /// A run ended with a failure its restart policy does not restart: fatal.
    NotRestarted { status: ExitStatus, after: Duration },
    /// The command cannot be executed: fatal at once. `watched`: a file change also tries
    /// again.
    NotRetried { failure: Why, watched: bool },
    /// A failed start once a shutdown has begun: not retried, the program is stopped.
    NotRetriedShuttingDown { failure: Why },
    /// A stop began: `signal` went to the group.
    Stopping { cause: Why, signal: Signal },
    /// A stop completed: the process ended as `exit` says (`None`: not known).
    Stopped { exit: Option<ExitStatus> },
    /// Stopped while it had no process (waiting, backing off, exited, fatal).
    Cancelled { cause: Why },
    /// Not started: a dependency will not come up.
    Blocked { dep: ProgId, failed: bool },
    /// supd has no child left: whatever was thought to be running is gone.
    Vanished,
    /// The new run of a start-first restart did not come up (`failure`): run `pid`, which
    /// kept serving meanwhile, is the current one again.
    KeptPrevious { pid: i32, failure: Why },
}

/// Why supd shuts down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownCause {
    /// A signal or `supctl shutdown`.
    Requested,
    /// This `critical` program failed for good.
    CriticalFailed(ProgId),
}

/// Something the operator should know that is not a state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A run that was up ended (`why` is a [`Why::Exited`]), or failed its health checks
    /// (a [`Why::Unhealthy`]): it is restarted.
    Restarting { prog: ProgId, why: Why },
    /// Watched files changed: the configured signal goes to the program's group.
    SendingSignal {
        prog: ProgId,
        paths: Vec<String>,
        signal: Signal,
    },
    /// Watched files changed: the running program is restarted.
    RestartingForChanges { prog: ProgId, paths: Vec<String> },
    /// Watched files changed: the failed or finished program is started again.
    StartingForChanges { prog: ProgId, paths: Vec<String> },
    /// The program did not stop within `stop_timeout` after `stop_signal`: SIGKILL.
    Killing { prog: ProgId },
    /// A health check passed after failures.
    HealthyAgain { prog: ProgId },
    /// A health check failed (`failures` in a row of `retries` tolerated).
    HealthCheckFailed {
        prog: ProgId,
        failures: u32,
        retries: u32,
        detail: String,
    },
    /// The program sent `READY=1` (from this process).
    Ready { prog: ProgId, from_pid: i32 },
    /// A reload arrived during shutdown: nothing changes.
    ReloadIgnored,
    /// A reload was applied.
    Reloaded {
        added: Vec<ProgId>,
        changed: Vec<ProgId>,
        removed: Vec<ProgId>,
    },
    /// A shutdown began; everything gets `timeout` (`shutdown_timeout`).
    ShuttingDown {
        cause: ShutdownCause,
        timeout: Duration,
    },
    /// A second shutdown request: every process is killed now.
    KillingEverything { cause: ShutdownCause },
    /// `shutdown_timeout` passed: every process is killed.
    ShutdownTimeout { timeout: Duration },
    /// Leftover descendants outlived their grace period after SIGTERM: SIGKILL.
    DescendantsIgnoredTerm,
    /// A start-first restart: a new run is spawned while process `pid` keeps serving.
    StartingBeside { prog: ProgId, pid: i32 },
    /// The new run `by` of a start-first restart is up: it replaces `previous`.
    Replaced {
        prog: ProgId,
        previous: i32,
        by: i32,
    },
    /// Process `pid`, no longer the program's current run, gets its stop signal.
    StoppingPrevious { prog: ProgId, pid: i32 },
    /// Process `pid`, an earlier run beside the current one, exited like this: after its
    /// stop signal (`stopped`), or by itself while its successor came up.
    PreviousExited {
        prog: ProgId,
        pid: i32,
        status: ExitStatus,
        stopped: bool,
    },
    /// Process `pid`, an earlier run, did not stop within `stop_timeout`: SIGKILL.
    KillingPrevious { prog: ProgId, pid: i32 },
}

/// How a request ended for one program.
#[derive(Debug, Clone, PartialEq)]
pub enum OutcomeKind {
    /// `start`: it is up.
    Started,
    /// `restart`: it is up again.
    Restarted,
    /// `start`/`restart` of a oneshot: it ran to completion.
    Completed,
    /// `stop`: no process is left.
    Stopped,
    /// `start` of a program that was running already.
    AlreadyRunning,
    /// `stop` of a program that was stopped already.
    AlreadyStopped,
    /// `wait`: it is up.
    Up,
    /// `signal`: sent to process group `pgid`. (The daemon reports it when `kill(2)`
    /// failed.)
    SignalSent { signal: Signal, pgid: i32 },
    /// `signal`: it has no process; it is in this state.
    NotRunning(crate::ProgramState),
    /// Refused: supd is shutting down.
    Refused,
    /// `start`/`restart`: supd began shutting down before it was up.
    NotStartedShuttingDown,
    /// `start`/`restart`: it failed to start (backing off or fatal) because of this.
    FailedToStart(Why),
    /// `start`/`restart`: it ran and exited, not to be restarted.
    ExitedAtOnce { status: ExitStatus, after: Duration },
    /// `start`/`restart`: it is stopped (by another request, or a dependency failed).
    NotStarted(Option<Halt>),
    /// `wait`: nothing will bring it up by itself; it is in this state.
    WillNotComeUp(Life),
    /// `wait`: the timeout passed first; it is in this state.
    NotUpYet(Life),
    /// `restart`/`upgrade` start-first: the new run did not come up (`failure`); process
    /// `pid` serves on.
    KeptPrevious { failure: Why, pid: i32 },
}

impl OutcomeKind {
    /// Whether the request succeeded for this program.
    pub fn ok(&self) -> bool {
        matches!(
            self,
            OutcomeKind::Started
                | OutcomeKind::Restarted
                | OutcomeKind::Completed
                | OutcomeKind::Stopped
                | OutcomeKind::AlreadyRunning
                | OutcomeKind::AlreadyStopped
                | OutcomeKind::Up
                | OutcomeKind::SignalSent { .. }
        )
    }
}
