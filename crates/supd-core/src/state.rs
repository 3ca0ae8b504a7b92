//! The data [`crate::step`] owns: every program's lifecycle record, pending requests and the
//! shutdown plan. Read it freely (status, log plane); change it only through `step`.

use std::time::Duration;

use supd_config::ProgramSpec;
use supd_proto::ProgramState;

use crate::requests::Waiters;
use crate::shutdown::Shutdown;
use crate::types::ExitStatus;

/// All of supd's decision-relevant state.
#[derive(Debug)]
pub struct State {
    pub programs: Vec<Program>,
    pub(crate) waiters: Waiters,
    pub(crate) shutdown: Option<Shutdown>,
    /// Cap of the whole shutdown (`[supd] shutdown_timeout`).
    pub(crate) shutdown_timeout: Duration,
}

impl State {
    /// A state with every program `stopped`. Dependencies in the specs must be valid (the
    /// config crate guarantees it); unknown names in `depends_on` are ignored.
    pub fn new(specs: Vec<ProgramSpec>, shutdown_timeout: Duration) -> Self {
        let mut state = State {
            programs: specs.into_iter().map(Program::new).collect(),
            waiters: Waiters::default(),
            shutdown: None,
            shutdown_timeout,
        };
        state.link_dependencies();
        state
    }

    /// Resolves every program's `depends_on` names to indexes (retired programs are never
    /// a dependency).
    pub(crate) fn link_dependencies(&mut self) {
        let deps: Vec<Vec<crate::ProgId>> = self
            .programs
            .iter()
            .map(|p| {
                p.spec
                    .depends_on
                    .iter()
                    .filter_map(|d| self.program(d).map(|(i, _)| i))
                    .collect()
            })
            .collect();
        for (p, deps) in self.programs.iter_mut().zip(deps) {
            p.deps = deps;
        }
    }

    /// The program named `name` (retired ones are not found).
    pub fn program(&self, name: &str) -> Option<(crate::ProgId, &Program)> {
        self.programs
            .iter()
            .enumerate()
            .find(|(_, p)| p.spec.name == name && !p.retired)
    }

    /// Programs of the current config, with their ids (retired ones left out).
    pub fn current(&self) -> impl Iterator<Item = (crate::ProgId, &Program)> {
        self.programs.iter().enumerate().filter(|(_, p)| !p.retired)
    }

    /// True once a shutdown has begun: new work is refused.
    pub fn shutting_down(&self) -> bool {
        self.shutdown.is_some()
    }

    /// Process groups whose leader has exited during a stop while other members lived on:
    /// the daemon reports [`crate::Input::GroupEmpty`] when one of them empties.
    pub fn lingering_groups(&self) -> impl Iterator<Item = (crate::ProgId, u32, i32)> + '_ {
        self.programs.iter().enumerate().filter_map(|(i, p)| {
            (p.state == ProgramState::Stopping)
                .then_some(p.lingering_pgid)
                .flatten()
                .map(|pgid| (i, p.run, pgid))
        })
    }
}

/// One program's lifecycle record.
#[derive(Debug)]
pub struct Program {
    pub spec: ProgramSpec,
    /// Indexes of the programs in `spec.depends_on`.
    pub deps: Vec<crate::ProgId>,
    pub state: ProgramState,
    /// The live process (leader of its own process group), if any.
    pub pid: Option<i32>,
    /// Number of the current or last run; bumped by every spawn. Timers carry it.
    pub run: u32,
    /// Spawns so far; `restarts()` is every one after the first.
    pub starts: u32,
    /// Failed starts in a row (a run shorter than `min_uptime`, or a spawn that failed).
    pub failures: u32,
    /// When the current process was spawned (supd clock).
    pub started_at: Option<Duration>,
    /// How the last run ended.
    pub last_exit: Option<ExitStatus>,
    /// Why the program is in its state, or what caused the last start.
    pub reason: Option<String>,
    /// Start again as soon as the current stop completes (a restart in progress).
    pub(crate) restart_after_stop: Option<String>,
    /// Set while stopping, after the leader exited but its group lives on.
    pub(crate) lingering_pgid: Option<i32>,
    /// `starting` but not spawned: some dependency is not up yet.
    pub(crate) awaiting_deps: bool,
    /// Removed from the config by a reload: stopped, never started again, and left out of
    /// status. Its index stays taken so that ids in flight (timers, pumps) stay valid.
    pub retired: bool,
    /// This run has lasted `min_uptime`.
    pub(crate) settled: bool,
    /// This run has met its readiness condition (health check passed, `READY=1` received;
    /// at once when it has none). `starting` becomes `running` when settled and ready.
    pub(crate) ready: bool,
    /// Health of this run, for programs with a health check.
    pub health: Option<Health>,
    /// The last `STATUS=` text the program sent over `NOTIFY_SOCKET`.
    pub notify_status: Option<String>,
    /// The current stop was caused by failed health checks: back off before starting again.
    pub(crate) backoff_after_stop: bool,
}

/// What the health checks of the current run found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// `None` until the first check (or while failures are within `start_period`).
    pub healthy: Option<bool>,
    /// Failed checks in a row (outside `start_period`).
    pub failures: u32,
    /// What the last failed check said (`connection refused`, `HTTP 503`, `exited with 1`).
    pub last_failure: Option<String>,
}

impl Program {
    pub(crate) fn new(spec: ProgramSpec) -> Self {
        Program {
            spec,
            deps: Vec::new(),
            state: ProgramState::Stopped,
            pid: None,
            run: 0,
            starts: 0,
            failures: 0,
            started_at: None,
            last_exit: None,
            reason: None,
            restart_after_stop: None,
            lingering_pgid: None,
            awaiting_deps: false,
            retired: false,
            settled: false,
            ready: false,
            health: None,
            notify_status: None,
            backoff_after_stop: false,
        }
    }

    /// Starts after the first, whatever caused them.
    pub fn restarts(&self) -> u32 {
        self.starts.saturating_sub(1)
    }

    /// A process of this program may exist (spawned and not yet fully stopped).
    pub fn has_process(&self) -> bool {
        self.pid.is_some() || self.state == ProgramState::Stopping
    }

    /// Waiting for dependencies: `starting`, not spawned yet.
    pub fn waiting(&self) -> bool {
        self.state == ProgramState::Starting && self.awaiting_deps
    }

    /// Up, as dependents and `supctl status` understand it: a long-running program is
    /// `running`; a oneshot has completed successfully.
    pub fn is_up(&self) -> bool {
        if self.spec.oneshot {
            self.state == ProgramState::Exited
        } else {
            self.state == ProgramState::Running
        }
    }

    /// Failed for good: dependents will not start.
    pub fn failed(&self) -> bool {
        self.state == ProgramState::Fatal
    }
}
