//! The data [`crate::step`] owns: every program's record and its [`Life`], the pending
//! requests and the shutdown plan. Read it freely (status, log plane); it changes only
//! through `step`.
//!
//! A program's state is one [`Life`] variant, and each variant carries exactly the data that
//! exists in it: a pid only while there is a process, a run number only while a run is in
//! flight (spawning, starting, running, stopping, backing off), what follows a stop only
//! while stopping. What spans runs (the spec, the start count, failed starts in a row, the
//! last exit, the health of the current run) stays in the [`Program`] record. The wire's
//! [`ProgramState`] is derived from the `Life`, in [`Life::state`] and nowhere else.

use std::time::Duration;

use supd_config::ProgramSpec;
use supd_proto::ProgramState;

use crate::requests::Waiters;
use crate::shutdown::Shutdown;
use crate::types::{ExitStatus, ProgId};
use crate::why::{Halt, Why};

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
        let deps: Vec<Vec<ProgId>> = self
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
    pub fn program(&self, name: &str) -> Option<(ProgId, &Program)> {
        self.programs
            .iter()
            .enumerate()
            .find(|(_, p)| p.spec.name == name && !p.retired)
    }

    /// The program whose current run's live process is `pid` (the leader of its process
    /// group); an earlier instance beside it (see [`State::owns_pid`]) is not found.
    pub fn program_with_pid(&self, pid: i32) -> Option<ProgId> {
        self.programs.iter().position(|p| p.pid() == Some(pid))
    }

    /// Programs of the current config, with their ids (retired ones left out).
    pub fn current(&self) -> impl Iterator<Item = (ProgId, &Program)> {
        self.programs.iter().enumerate().filter(|(_, p)| !p.retired)
    }

    /// True once a shutdown has begun: new work is refused.
    pub fn shutting_down(&self) -> bool {
        self.shutdown.is_some()
    }

    /// `shutdown_timeout` as last configured.
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// Process groups whose leader has exited during a stop while other members lived on:
    /// the daemon reports [`crate::Input::GroupEmpty`] when one of them empties.
    pub fn lingering_groups(&self) -> impl Iterator<Item = (ProgId, u32, i32)> + '_ {
        self.programs.iter().enumerate().flat_map(|(i, p)| {
            let current = match p.life {
                Life::Stopping {
                    run,
                    pgid,
                    leader_alive: false,
                    ..
                } => Some((i, run, pgid)),
                _ => None,
            };
            let leaving = p
                .leaving
                .iter()
                .filter(|l| !l.leader_alive)
                .map(move |l| (i, l.run, l.pgid));
            current.into_iter().chain(leaving)
        })
    }

    /// Whether `pid` is the leader of any process of a program: its current run, a
    /// predecessor serving, or a run leaving.
    pub fn owns_pid(&self, pid: i32) -> bool {
        self.program_with_pid(pid).is_some()
            || self.programs.iter().any(|p| {
                p.predecessor.as_ref().is_some_and(|pr| pr.pid == pid)
                    || p.leaving.iter().any(|l| l.leader_alive && l.pgid == pid)
            })
    }
}

/// Where a program is in its lifecycle, with the data that exists there.
#[derive(Debug, Clone, PartialEq)]
pub enum Life {
    /// Not running, and nothing starts it by itself. `why`: `None` before its first start.
    Stopped { why: Option<Halt> },
    /// Asked to start, but these dependencies are not up yet (wire: `starting`).
    Waiting { on: Vec<ProgId> },
    /// [`crate::Effect::Spawn`] of run `run` is out; the daemon reports the pid before any
    /// other input (wire: `starting`). `stop`: a stop asked meanwhile (because of this),
    /// carried out as soon as the pid is known.
    Spawning {
        run: u32,
        cause: Why,
        stop: Option<Why>,
    },
    /// Run `run` is process `pid` (leader of its own group), not up yet: it must last
    /// `min_uptime` (`settled`) and meet its readiness condition (`ready`).
    Starting {
        run: u32,
        pid: i32,
        started_at: Duration,
        settled: bool,
        ready: bool,
        cause: Why,
    },
    /// Run `run` is process `pid`, up. `cause`: what started it.
    Running {
        run: u32,
        pid: i32,
        started_at: Duration,
        cause: Why,
    },
    /// Run `run` was asked to stop (by `cause`); its group `pgid` got the stop signal.
    /// `leader_alive`: the leader (pid `pgid`) has not exited yet; once it has, the stop
    /// completes when the whole group is gone. `then`: what follows the stop.
    Stopping {
        run: u32,
        pgid: i32,
        started_at: Duration,
        leader_alive: bool,
        cause: Why,
        then: Then,
    },
    /// Run `run` was a failed start (`failure`); the next try is at `until`.
    Backoff {
        run: u32,
        until: Duration,
        failure: Why,
    },
    /// The last run ended on its own and is not restarted. `completed`: a oneshot that
    /// succeeded (what makes a oneshot up).
    Exited {
        status: ExitStatus,
        after: Duration,
        completed: bool,
    },
    /// Failed for good (`why`): nothing restarts it by itself; dependents will not start.
    Fatal { why: Why },
}

/// What follows a stop in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    /// Nothing: the program stays stopped.
    Nothing,
    /// Start again at once (a restart in progress), because of this.
    Start(Why),
    /// Count the run as a failed start and back off, then start again (a restart after
    /// failed health checks), because of this.
    BackOffThenStart(Why),
}

impl Life {
    /// The state as the wire and DESIGN.md name it: the one place `Life` meets
    /// [`ProgramState`].
    pub fn state(&self) -> ProgramState {
        match self {
            Life::Stopped { .. } => ProgramState::Stopped,
            Life::Waiting { .. } | Life::Spawning { .. } | Life::Starting { .. } => {
                ProgramState::Starting
            }
            Life::Running { .. } => ProgramState::Running,
            Life::Stopping { .. } => ProgramState::Stopping,
            Life::Backoff { .. } => ProgramState::Backoff,
            Life::Exited { .. } => ProgramState::Exited,
            Life::Fatal { .. } => ProgramState::Fatal,
        }
    }

    /// The live process (leader of its own group), if any.
    pub fn pid(&self) -> Option<i32> {
        match *self {
            Life::Starting { pid, .. } | Life::Running { pid, .. } => Some(pid),
            Life::Stopping {
                pgid,
                leader_alive: true,
                ..
            } => Some(pgid),
            _ => None,
        }
    }
}

/// One program's record: its spec, its [`Life`], and what spans runs.
#[derive(Debug)]
pub struct Program {
    pub spec: ProgramSpec,
    /// Indexes of the programs in `spec.depends_on`.
    pub deps: Vec<ProgId>,
    pub(crate) life: Life,
    /// Spawns so far; also the number of the latest run (timers carry it, so one from an
    /// earlier run is recognised). `restarts()` is every one after the first.
    pub(crate) starts: u32,
    /// Failed starts in a row (a run shorter than `min_uptime` or not ready, a spawn that
    /// failed, a oneshot that failed).
    pub(crate) failed_starts: u32,
    /// How the last run ended.
    pub last_exit: Option<ExitStatus>,
    /// When the latest run's process started (supd time), kept after it ended.
    pub last_started_at: Option<Duration>,
    /// When the last run ended (supd time).
    pub last_exit_at: Option<Duration>,
    /// Removed from the config by a reload: stopped, never started again, and left out of
    /// status. Its index stays taken so that ids in flight (timers, pumps) stay valid.
    pub retired: bool,
    /// Health of the current run, for programs with a health check.
    pub health: Option<Health>,
    /// The last `STATUS=` text the current run sent over `NOTIFY_SOCKET`.
    pub notify_status: Option<String>,
    /// A start-first restart in progress: the run that keeps serving while its successor
    /// (the run of `life`, spawning or starting) comes up. Never set in any other `life`.
    pub(crate) predecessor: Option<Predecessor>,
    /// Processes of earlier runs being stopped beside the current one: a predecessor
    /// replaced by its successor, or a successor that did not come up.
    pub(crate) leaving: Vec<Leaving>,
}

/// The run that keeps serving during a start-first restart, with what it had as the
/// program's current run (restored if its successor does not come up).
#[derive(Debug, Clone, PartialEq)]
pub struct Predecessor {
    pub run: u32,
    pub pid: i32,
    pub started_at: Duration,
    pub cause: Why,
    pub health: Option<Health>,
    pub notify_status: Option<String>,
}

/// A process of an earlier run that got its stop signal while the program lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leaving {
    pub run: u32,
    pub pgid: i32,
    /// The leader has not exited yet; once it has, it is gone when its group is empty.
    pub leader_alive: bool,
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
            life: Life::Stopped { why: None },
            starts: 0,
            failed_starts: 0,
            last_exit: None,
            last_started_at: None,
            last_exit_at: None,
            retired: false,
            health: None,
            notify_status: None,
            predecessor: None,
            leaving: Vec::new(),
        }
    }

    /// The earlier instance still alive beside the current one, during or right after a
    /// start-first restart: the predecessor serving, or one leaving.
    pub fn previous_pid(&self) -> Option<i32> {
        self.predecessor
            .as_ref()
            .map(|p| p.pid)
            .or_else(|| self.leaving.iter().find(|l| l.leader_alive).map(|l| l.pgid))
    }

    /// During a start-first restart, the run serving until the current one is up.
    pub fn predecessor(&self) -> Option<&Predecessor> {
        self.predecessor.as_ref()
    }

    /// Processes of earlier runs being stopped beside the current one.
    pub fn leaving(&self) -> &[Leaving] {
        &self.leaving
    }

    /// A start-first restart is under way: the predecessor serves, its successor is not
    /// up yet.
    pub fn overlapping(&self) -> bool {
        self.predecessor.is_some()
    }

    /// Where the program is, with the data of that state.
    pub fn life(&self) -> &Life {
        &self.life
    }

    /// The state as the wire names it.
    pub fn state(&self) -> ProgramState {
        self.life.state()
    }

    /// The live process (leader of its own process group), if any.
    pub fn pid(&self) -> Option<i32> {
        self.life.pid()
    }

    /// When the live process was spawned (supd clock); `None` without one.
    pub fn started_at(&self) -> Option<Duration> {
        match self.life {
            Life::Starting { started_at, .. } | Life::Running { started_at, .. } => {
                Some(started_at)
            }
            Life::Stopping {
                started_at,
                leader_alive: true,
                ..
            } => Some(started_at),
            _ => None,
        }
    }

    /// The process group of the current run while any member of it may live.
    pub(crate) fn process_group(&self) -> Option<i32> {
        match self.life {
            Life::Starting { pid, .. } | Life::Running { pid, .. } => Some(pid),
            Life::Stopping { pgid, .. } => Some(pgid),
            _ => None,
        }
    }

    /// Every process group of the program that may still have members: the current run's,
    /// a predecessor's, those leaving.
    pub(crate) fn all_process_groups(&self) -> impl Iterator<Item = i32> + '_ {
        let predecessor = self.predecessor.as_ref().map(|p| p.pid);
        let leaving = self.leaving.iter().map(|l| l.pgid);
        self.process_group()
            .into_iter()
            .chain(predecessor)
            .chain(leaving)
    }

    /// Some process of the program exists (or is being spawned): the current run's, or an
    /// earlier one beside it.
    pub(crate) fn any_process(&self) -> bool {
        self.has_process() || self.predecessor.is_some() || !self.leaving.is_empty()
    }

    /// Starts after the first, whatever caused them.
    pub fn restarts(&self) -> u32 {
        self.starts.saturating_sub(1)
    }

    /// Failed starts in a row.
    pub fn failed_starts(&self) -> u32 {
        self.failed_starts
    }

    /// A process of this program exists or is being spawned, and is not fully stopped yet.
    pub fn has_process(&self) -> bool {
        matches!(self.life, Life::Spawning { .. }) || self.process_group().is_some()
    }

    /// Waiting for dependencies: `starting`, not spawned yet.
    pub fn waiting(&self) -> bool {
        matches!(self.life, Life::Waiting { .. })
    }

    /// Up, as dependents and `supctl status` understand it: a long-running program is
    /// `running`; a oneshot has completed successfully.
    pub fn is_up(&self) -> bool {
        if self.predecessor.is_some() {
            return true; // its predecessor is running while the successor comes up
        }
        if self.spec.oneshot {
            matches!(
                self.life,
                Life::Exited {
                    completed: true,
                    ..
                }
            )
        } else {
            matches!(self.life, Life::Running { .. })
        }
    }

    /// Failed for good: dependents will not start.
    pub fn failed(&self) -> bool {
        matches!(self.life, Life::Fatal { .. })
    }
}
