//! The shutdown plan: stop programs dependents-first (independent ones in parallel), then
//! signal leftover descendants, then exit once the daemon reports no child is left; all of it
//! capped by `shutdown_timeout`, after which everything is SIGKILLed.

use std::time::Duration;

use supd_config::Signal;

use crate::machine::Cx;
use crate::types::{Effect, Timer};

/// Leftover descendants (not members of any program's group) get this long after SIGTERM.
pub(crate) const DESCENDANT_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct Shutdown {
    /// Exit code once everything is gone.
    pub(crate) code: i32,
    pub(crate) phase: Phase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
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
    pub(crate) fn shutdown(&mut self, force: bool, code: i32, why: &str) {
        if self.st.shutdown.is_some() {
            if force {
                self.notice(format!("{why} again: killing everything now"));
                self.kill_everything();
            }
            return;
        }
        self.st.shutdown = Some(Shutdown {
            code,
            phase: Phase::Programs,
        });
        let timeout = self.st.shutdown_timeout;
        self.notice(format!(
            "shutting down ({why}); everything gets {}",
            crate::machine::human(timeout)
        ));
        self.effects.push(Effect::SetTimer {
            at: self.now + timeout,
            timer: Timer::ShutdownDeadline,
        });
        for p in 0..self.st.programs.len() {
            let prog = &mut self.st.programs[p];
            prog.restart_after_stop = None;
            // Cancel what was still to come; `exited`/`fatal` keep telling how they ended.
            if prog.state == supd_proto::ProgramState::Backoff || prog.waiting() {
                self.settle_idle(p, "supd is shutting down");
            }
        }
        if force {
            self.kill_everything();
        }
    }

    /// Moves the plan forward as far as it can go; called at the end of every step.
    pub(crate) fn advance_shutdown(&mut self) {
        let Some(phase) = self.st.shutdown.as_ref().map(|s| s.phase) else {
            return;
        };
        if phase != Phase::Programs {
            return;
        }
        let programs = &self.st.programs;
        let to_stop: Vec<usize> = (0..programs.len())
            .filter(|&p| {
                programs[p].pid.is_some() && programs[p].state != supd_proto::ProgramState::Stopping
            })
            .filter(|&p| {
                // Dependents go first: wait while any program that depends on p runs.
                !programs
                    .iter()
                    .any(|q| q.deps.contains(&p) && q.has_process())
            })
            .collect();
        for p in to_stop {
            self.stop(p, "shutdown");
        }
        if self.st.programs.iter().all(|p| !p.has_process()) {
            self.set_phase(Phase::Descendants);
            self.effects.push(Effect::SignalDescendants {
                signal: Signal::SIGTERM,
            });
            self.effects.push(Effect::SetTimer {
                at: self.now + DESCENDANT_GRACE,
                timer: Timer::DescendantsKill,
            });
        }
    }

    /// SIGKILL to every program group and every descendant.
    pub(crate) fn kill_everything(&mut self) {
        self.set_phase(Phase::Killing);
        let groups: Vec<i32> = self
            .st
            .programs
            .iter()
            .filter_map(|p| p.pid.or(p.lingering_pgid))
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
        if sd.phase == Phase::Done {
            return;
        }
        let code = sd.code;
        // No child means no process of any program either, whatever we last heard.
        for p in 0..self.st.programs.len() {
            if self.st.programs[p].has_process() {
                self.st.programs[p].pid = None;
                self.st.programs[p].lingering_pgid = None;
                self.set(p, supd_proto::ProgramState::Stopped, "stopped".into());
            }
        }
        self.set_phase(Phase::Done);
        self.effects.push(Effect::Exit { code });
    }

    fn set_phase(&mut self, phase: Phase) {
        if let Some(sd) = self.st.shutdown.as_mut() {
            sd.phase = phase;
        }
    }

    pub(crate) fn shutdown_timer(&mut self, timer: Timer) {
        let Some(phase) = self.st.shutdown.as_ref().map(|s| s.phase) else {
            return;
        };
        match timer {
            Timer::ShutdownDeadline if phase != Phase::Done => {
                self.notice(format!(
                    "shutdown_timeout ({}) reached: killing everything",
                    crate::machine::human(self.st.shutdown_timeout)
                ));
                self.kill_everything();
            }
            Timer::DescendantsKill if phase == Phase::Descendants => {
                self.notice("leftover processes ignored SIGTERM: sending SIGKILL".into());
                self.effects.push(Effect::SignalDescendants {
                    signal: Signal::SIGKILL,
                });
            }
            _ => {}
        }
    }
}
