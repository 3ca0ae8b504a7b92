//! Client requests: `start`/`stop`/`restart`, `signal` and `wait`, and the book of who waits
//! for which program to reach which goal.
//!
//! Guarantees: every request gets exactly one [`Effect::Reply`], with one outcome per
//! program in the order they were named: at once when each is decided already (a signal
//! sent, a program already running), else at the end of the first step after which every
//! program has reached its goal or failed to, or when a `wait` times out.

use std::time::Duration;

use supd_config::{RestartMode, Signal};

use crate::machine::Cx;
use crate::state::{Life, Program};
use crate::types::{Action, Effect, Outcome, ProgId, ReqId, Timer};
use crate::why::{OutcomeKind, Why};

impl Cx<'_> {
    pub(crate) fn command(&mut self, req: ReqId, action: Action, progs: Vec<ProgId>) {
        let mut items = Vec::with_capacity(progs.len());
        let mut seen = Vec::with_capacity(progs.len());
        for p in progs {
            if seen.contains(&p) {
                continue;
            }
            seen.push(p);
            if self.st.shutdown.is_some() {
                items.push(Pending::Done(Outcome {
                    prog: p,
                    kind: OutcomeKind::Refused,
                }));
                continue;
            }
            let cause = Why::Requested(action);
            let prog = &mut self.st.programs[p];
            match action {
                Action::Start => {
                    let running = matches!(prog.life, Life::Running { .. }) || prog.overlapping();
                    if running && !prog.spec.oneshot {
                        items.push(Pending::Done(Outcome {
                            prog: p,
                            kind: OutcomeKind::AlreadyRunning,
                        }));
                        continue;
                    }
                    prog.failed_starts = 0;
                    self.start(p, cause);
                    items.push(Pending::Wait(p, Goal::Up));
                }
                Action::Stop => {
                    if matches!(prog.life, Life::Stopped { .. }) {
                        items.push(Pending::Done(Outcome {
                            prog: p,
                            kind: OutcomeKind::AlreadyStopped,
                        }));
                        continue;
                    }
                    self.stop(p, cause);
                    items.push(Pending::Wait(p, Goal::Down));
                }
                Action::Restart | Action::Upgrade => {
                    prog.failed_starts = 0;
                    let start_first = action == Action::Upgrade
                        || prog.spec.restart_mode == RestartMode::StartFirst;
                    self.restart(p, cause, start_first);
                    items.push(Pending::Wait(p, Goal::Restarted));
                }
            }
        }
        self.st.waiters.add(req, items);
    }

    /// `supctl signal`: to the process group of every program that has a live process.
    pub(crate) fn signal(&mut self, req: ReqId, signal: Signal, progs: Vec<ProgId>) {
        let mut items = Vec::with_capacity(progs.len());
        for p in progs {
            let prog = &self.st.programs[p];
            let kind = match prog.pid() {
                Some(pgid) => {
                    self.effects.push(Effect::SignalGroup { pgid, signal });
                    OutcomeKind::SignalSent { signal, pgid }
                }
                None => OutcomeKind::NotRunning(prog.state()),
            };
            items.push(Pending::Done(Outcome { prog: p, kind }));
        }
        self.st.waiters.add(req, items);
    }

    /// `supctl wait`: answered when every program is up, definitely failed, or at timeout.
    pub(crate) fn wait(&mut self, req: ReqId, progs: Vec<ProgId>, timeout: Option<Duration>) {
        let items = progs
            .into_iter()
            .map(|p| Pending::Wait(p, Goal::Ready))
            .collect();
        self.st.waiters.add(req, items);
        if let Some(t) = timeout {
            self.set_timer(t, Timer::WaitTimeout { req });
        }
    }

    pub(crate) fn wait_timeout(&mut self, req: ReqId) {
        let programs = &self.st.programs;
        if let Some(outcomes) = self
            .st
            .waiters
            .expire(req, |p| OutcomeKind::NotUpYet(programs[p].life.clone()))
        {
            self.effects.push(Effect::Reply { req, outcomes });
        }
    }

    /// Answers every request whose programs are all decided now.
    pub(crate) fn answer_decided(&mut self) {
        let shutting_down = self.st.shutdown.is_some();
        for (req, outcomes) in self.st.waiters.settle(&self.st.programs, shutting_down) {
            self.effects.push(Effect::Reply { req, outcomes });
        }
    }
}

/// What a request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// `running` (a oneshot: completed successfully), or a definite failure.
    Up,
    /// As `Up`, for a `restart` (answered `restarted`).
    Restarted,
    /// No process left.
    Down,
    /// `supctl wait`: up; fails only when the program will not come up by itself.
    Ready,
}

#[derive(Debug)]
struct Item {
    prog: ProgId,
    goal: Goal,
    outcome: Option<Outcome>,
}

#[derive(Debug)]
struct Waiter {
    req: ReqId,
    items: Vec<Item>,
}

/// The requests not answered yet.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    list: Vec<Waiter>,
}

/// One program of a new request: either already decided, or waiting for a goal.
enum Pending {
    Done(Outcome),
    Wait(ProgId, Goal),
}

impl Waiters {
    fn add(&mut self, req: ReqId, items: Vec<Pending>) {
        let items = items
            .into_iter()
            .map(|p| match p {
                Pending::Done(outcome) => Item {
                    prog: outcome.prog,
                    goal: Goal::Up,
                    outcome: Some(outcome),
                },
                Pending::Wait(prog, goal) => Item {
                    prog,
                    goal,
                    outcome: None,
                },
            })
            .collect();
        self.list.push(Waiter { req, items });
    }

    /// Gives up on request `req`: its undecided items fail with `why(prog)`. Returns the
    /// outcomes, or `None` when the request was already answered.
    fn expire(&mut self, req: ReqId, why: impl Fn(ProgId) -> OutcomeKind) -> Option<Vec<Outcome>> {
        let i = self.list.iter().position(|w| w.req == req)?;
        let w = self.list.remove(i);
        Some(
            w.items
                .into_iter()
                .map(|item| {
                    item.outcome.unwrap_or_else(|| Outcome {
                        prog: item.prog,
                        kind: why(item.prog),
                    })
                })
                .collect(),
        )
    }

    /// Answers every open `restart` of `p` with `kind` now (a start-first restart whose new
    /// run did not come up: the program is up, but the restart failed).
    pub(crate) fn fail_restarts(&mut self, p: ProgId, kind: OutcomeKind) {
        let items = self.list.iter_mut().flat_map(|w| w.items.iter_mut());
        for item in items.filter(|i| i.prog == p && i.goal == Goal::Restarted) {
            item.outcome.get_or_insert_with(|| Outcome {
                prog: p,
                kind: kind.clone(),
            });
        }
    }

    /// Decides every open item against the programs' states at the end of a step, and
    /// returns the requests that are now fully answered.
    fn settle(&mut self, programs: &[Program], shutting_down: bool) -> Vec<(ReqId, Vec<Outcome>)> {
        let mut done = Vec::new();
        self.list.retain_mut(|w| {
            for item in w.items.iter_mut().filter(|i| i.outcome.is_none()) {
                item.outcome =
                    decide(&programs[item.prog], item.goal, shutting_down).map(|kind| Outcome {
                        prog: item.prog,
                        kind,
                    });
            }
            if w.items.iter().all(|i| i.outcome.is_some()) {
                let outcomes = w.items.drain(..).filter_map(|i| i.outcome).collect();
                done.push((w.req, outcomes));
                false
            } else {
                true
            }
        });
        done
    }
}

/// The outcome for a program that waits for `goal`, if it is decided.
fn decide(p: &Program, goal: Goal, shutting_down: bool) -> Option<OutcomeKind> {
    match goal {
        Goal::Down => matches!(
            p.life,
            Life::Stopped { .. } | Life::Backoff { .. } | Life::Exited { .. } | Life::Fatal { .. }
        )
        .then_some(OutcomeKind::Stopped),
        // A start-first restart is under way: the new run is not up yet.
        Goal::Up | Goal::Restarted if p.overlapping() => None,
        Goal::Ready if p.is_up() => Some(OutcomeKind::Up),
        // Nothing brings a stopped, fatal or finished program up by itself: a waiter would
        // wait forever.
        Goal::Ready => match p.life {
            Life::Fatal { .. } | Life::Exited { .. } | Life::Stopped { .. } => {
                Some(OutcomeKind::WillNotComeUp(p.life.clone()))
            }
            _ => None,
        },
        Goal::Up | Goal::Restarted if p.is_up() => Some(match (goal, p.spec.oneshot) {
            (_, true) => OutcomeKind::Completed,
            (Goal::Restarted, false) => OutcomeKind::Restarted,
            _ => OutcomeKind::Started,
        }),
        Goal::Up | Goal::Restarted if shutting_down => Some(OutcomeKind::NotStartedShuttingDown),
        Goal::Up | Goal::Restarted => match &p.life {
            Life::Backoff { failure: why, .. } | Life::Fatal { why } => {
                Some(OutcomeKind::FailedToStart(why.clone()))
            }
            Life::Exited { status, after, .. } => Some(OutcomeKind::ExitedAtOnce {
                status: *status,
                after: *after,
            }),
            Life::Stopped { why } => Some(OutcomeKind::NotStarted(why.clone())),
            Life::Waiting { .. }
            | Life::Spawning { .. }
            | Life::Starting { .. }
            | Life::Running { .. }
            | Life::Stopping { .. } => None,
        },
    }
}
