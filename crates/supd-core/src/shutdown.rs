//! The shutdown plan: stop programs dependents-first (independent ones in parallel), then
//! signal leftover descendants, then exit once the daemon reports no child is left; all of it
//! capped by `shutdown_timeout`, after which everything is SIGKILLed.
//!
//! Guarantees: once begun, nothing is started or restarted (retries and starts waiting for
//! dependencies are cancelled, follow-ups of stops dropped); a second request kills
//! everything at once; [`crate::Effect::Exit`] comes exactly once, after
//! [`crate::Input::NoChildren`], with the code of the cause (0, or a critical program's).

use std::time::Duration;

use supd_config::Signal;

use crate::machine::Cx;
use crate::state::{Life, Then};
use crate::types::{Effect, Timer};
use crate::why::{Change, Halt, Notice, ShutdownCause, Why};

/// Leftover descendants (not members of any program's group) get this long after SIGTERM.
pub(crate) const DESCENDANT_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct Shutdown {
    /// Exit code once everything is gone.
    code: i32,
    stage: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Stopping programs in dependency order.
    Programs,
    /// Programs are down; leftover descendants got SIGTERM.
    Descendants,
    /// Everything got SIGKILL (second signal or deadline).
    Killing,
    /// `Exit` was emitted.
    Done,
}

impl Cx<'_> {
    /// Begins a shutdown that will exit with `code`; a second request kills everything now.
    pub(crate) fn shutdown(&mut self, force: bool, code: i32, cause: ShutdownCause) {
        if self.st.shutdown.is_some() {
            if force {
                self.notice(Notice::KillingEverything { cause });
                self.kill_everything();
            }
            return;
        }
        self.st.shutdown = Some(Shutdown {
            code,
            stage: Stage::Programs,
        });
        let timeout = self.st.shutdown_timeout;
        self.notice(Notice::ShuttingDown { cause, timeout });
        self.set_timer(timeout, Timer::ShutdownDeadline);
        for p in 0..self.st.programs.len() {
            match &mut self.st.programs[p].life {
                Life::Stopping { then, .. } => *then = Then::Nothing,
                // Cancel what was still to come; `exited`/`fatal` keep telling how they ended.
                Life::Backoff { .. } | Life::Waiting { .. } => {
                    self.cancel(p, Why::SupdShuttingDown);
                }
                _ => {}
            }
        }
        if force {
            self.kill_everything();
        }
    }

    /// Moves the plan forward as far as it can go; called at the end of every step.
    pub(crate) fn advance_shutdown(&mut self) {
        if self.stage() != Some(Stage::Programs) {
            return;
        }
        let programs = &self.st.programs;
        let to_stop: Vec<usize> = (0..programs.len())
            .filter(|&p| {
                matches!(
                    programs[p].life,
                    Life::Starting { .. } | Life::Running { .. }
                )
            })
            .filter(|&p| {
                // Dependents go first: wait while any program that depends on p runs.
                !programs
                    .iter()
                    .any(|q| q.deps.contains(&p) && q.any_process())
            })
            .collect();
        for p in to_stop {
            self.stop(p, Why::Shutdown);
        }
        if self.st.programs.iter().all(|p| !p.any_process()) {
            self.set_stage(Stage::Descendants);
            self.effects.push(Effect::SignalDescendants {
                signal: Signal::SIGTERM,
            });
            self.set_timer(DESCENDANT_GRACE, Timer::DescendantsKill);
        }
    }

    /// SIGKILL to every program group and every descendant.
    fn kill_everything(&mut self) {
        self.set_stage(Stage::Killing);
        let groups: Vec<i32> = self
            .st
            .programs
            .iter()
            .flat_map(|p| p.all_process_groups())
            .collect();
        for pgid in groups {
            self.effects.push(Effect::SignalGroup {
                pgid,
                signal: Signal::SIGKILL,
            });
        }
        self.effects.push(Effect::SignalDescendants {
            signal: Signal::SIGKILL,
        });
    }

    /// The daemon found no child left: during shutdown, that is the end.
    pub(crate) fn no_children(&mut self) {
        let Some(sd) = self.st.shutdown.as_ref() else {
            return;
        };
        if sd.stage == Stage::Done {
            return;
        }
        let code = sd.code;
        // No child means no process of any program either, whatever we last heard.
        for p in 0..self.st.programs.len() {
            let prog = &mut self.st.programs[p];
            prog.predecessor = None;
            prog.leaving.clear();
            let by = match &self.st.programs[p].life {
                Life::Stopping { cause, .. } => cause.clone(),
                Life::Starting { .. } | Life::Running { .. } => Why::Shutdown,
                _ => continue,
            };
            let life = Life::Stopped {
                why: Some(Halt::Stopped { by, exit: None }),
            };
            self.enter(p, life, Change::Vanished);
        }
        self.set_stage(Stage::Done);
        self.effects.push(Effect::Exit { code });
    }

    pub(crate) fn shutdown_deadline(&mut self) {
        if matches!(self.stage(), Some(stage) if stage != Stage::Done) {
            self.notice(Notice::ShutdownTimeout {
                timeout: self.st.shutdown_timeout,
            });
            self.kill_everything();
        }
    }

    pub(crate) fn descendants_kill(&mut self) {
        if self.stage() == Some(Stage::Descendants) {
            self.notice(Notice::DescendantsIgnoredTerm);
            self.effects.push(Effect::SignalDescendants {
                signal: Signal::SIGKILL,
            });
        }
    }

    fn stage(&self) -> Option<Stage> {
        self.st.shutdown.as_ref().map(|s| s.stage)
    }

    fn set_stage(&mut self, stage: Stage) {
        if let Some(sd) = self.st.shutdown.as_mut() {
            sd.stage = stage;
        }
    }
}
