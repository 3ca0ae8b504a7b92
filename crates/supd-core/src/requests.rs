//! Pending `start`/`stop`/`restart` requests: who waits for which program to reach which
//! goal. Each request is answered once, when every program it named has an outcome.

use supd_proto::ProgramState;

use crate::state::Program;
use crate::types::{Outcome, ProgId, ReqId};

/// What a request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Goal {
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

#[derive(Debug, Default)]
pub(crate) struct Waiters {
    list: Vec<Waiter>,
}

/// One program of a new request: either already decided, or waiting for a goal.
pub(crate) enum Pending {
    Done(Outcome),
    Wait(ProgId, Goal),
}

impl Waiters {
    pub(crate) fn add(&mut self, req: ReqId, items: Vec<Pending>) {
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
    pub(crate) fn expire(
        &mut self,
        req: ReqId,
        why: impl Fn(ProgId) -> String,
    ) -> Option<Vec<Outcome>> {
        let i = self.list.iter().position(|w| w.req == req)?;
        let w = self.list.remove(i);
        Some(
            w.items
                .into_iter()
                .map(|item| {
                    item.outcome.unwrap_or_else(|| Outcome {
                        prog: item.prog,
                        ok: false,
                        message: why(item.prog),
                    })
                })
                .collect(),
        )
    }

    /// Decides every open item against the programs' states at the end of a step, and
    /// returns the requests that are now fully answered.
    pub(crate) fn settle(
        &mut self,
        programs: &[Program],
        shutting_down: bool,
    ) -> Vec<(ReqId, Vec<Outcome>)> {
        let mut done = Vec::new();
        self.list.retain_mut(|w| {
            for item in w.items.iter_mut().filter(|i| i.outcome.is_none()) {
                item.outcome = decide(item.prog, &programs[item.prog], item.goal, shutting_down);
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

fn decide(prog: ProgId, p: &Program, goal: Goal, shutting_down: bool) -> Option<Outcome> {
    let ok = |message: &str| {
        Some(Outcome {
            prog,
            ok: true,
            message: message.to_string(),
        })
    };
    let fail = |message: String| {
        Some(Outcome {
            prog,
            ok: false,
            message,
        })
    };
    let reason = p.reason.as_deref().unwrap_or("unknown reason");
    match goal {
        Goal::Down => (!p.has_process() && p.state != ProgramState::Starting).then(|| Outcome {
            prog,
            ok: true,
            message: "stopped".into(),
        }),
        Goal::Ready if p.is_up() => ok("up"),
        // Nothing brings a stopped, fatal or finished program up by itself: a waiter would
        // wait forever.
        Goal::Ready => match p.state {
            ProgramState::Fatal | ProgramState::Exited | ProgramState::Stopped => {
                fail(format!("will not come up: it is {} ({reason})", p.state))
            }
            _ => None,
        },
        Goal::Up | Goal::Restarted if p.is_up() => ok(match (goal, p.spec.oneshot) {
            (_, true) => "completed",
            (Goal::Restarted, false) => "restarted",
            _ => "started",
        }),
        Goal::Up | Goal::Restarted if shutting_down => {
            fail("not started: supd is shutting down".into())
        }
        Goal::Up | Goal::Restarted => match p.state {
            ProgramState::Backoff | ProgramState::Fatal => fail(format!(
                "failed to start: {reason} (see supctl logs {})",
                p.spec.name
            )),
            ProgramState::Exited => fail(format!("exited at once: {reason}")),
            ProgramState::Stopped => fail(reason.to_string()),
            ProgramState::Starting | ProgramState::Stopping | ProgramState::Running => None,
        },
    }
}
