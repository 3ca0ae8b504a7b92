//! Dispatch: one [`Cx`] per step, which hands each [`Input`] to the module that owns it and,
//! at the end of the step, lets the cross-cutting rules run (programs waiting for
//! dependencies, the shutdown plan, answering requests).
//!
//! It also owns the two ways a step speaks: [`Cx::enter`], the only place a program's
//! [`Life`] is replaced (and the change reported), and [`Cx::notice`].
//!
//! | input | owner |
//! |---|---|
//! | `Boot`, `Spawned`, `SpawnFailed`, `Exited`, `GroupEmpty`, `FilesChanged`, program timers | [`crate::lifecycle`] |
//! | `ProbeResult`, `Notify`, `Settled`/`Probe` timers | [`crate::readiness`] |
//! | `Command`, `Signal`, `Wait`, `WaitTimeout` timer | [`crate::requests`] |
//! | `Reload` | [`crate::reload`] |
//! | `Shutdown`, `NoChildren`, shutdown timers | [`crate::shutdown`] |

use std::time::Duration;

use crate::state::{Life, State};
use crate::types::{Effect, Input, ProgId, Timer};
use crate::why::{Change, Notice, ShutdownCause, Why};

/// One step in progress: the state, the time, and the effects gathered so far.
pub(crate) struct Cx<'a> {
    pub(crate) st: &'a mut State,
    pub(crate) now: Duration,
    pub(crate) effects: Vec<Effect>,
}

impl<'a> Cx<'a> {
    pub(crate) fn new(st: &'a mut State, now: Duration) -> Self {
        Cx {
            st,
            now,
            effects: Vec::new(),
        }
    }

    pub(crate) fn handle(&mut self, input: Input) {
        match input {
            Input::Boot => {
                for p in 0..self.st.programs.len() {
                    if self.st.programs[p].spec.autostart {
                        self.start(p, Why::Autostart);
                    }
                }
            }
            Input::Command { req, action, progs } => self.command(req, action, progs),
            Input::Signal { req, signal, progs } => self.signal(req, signal, progs),
            Input::Spawned { prog, run, pid } => self.spawned(prog, run, pid),
            Input::SpawnFailed {
                prog,
                run,
                error,
                retry,
            } => self.spawn_failed(prog, run, error, retry),
            Input::Exited {
                pid,
                status,
                group_alive,
            } => self.exited(pid, status, group_alive),
            Input::GroupEmpty { prog, run } => self.group_empty(prog, run),
            Input::Timer(timer) => match timer {
                Timer::Settled { prog, run } => self.settled(prog, run),
                Timer::Probe { prog, run } => self.probe_due(prog, run),
                Timer::WaitTimeout { req } => self.wait_timeout(req),
                Timer::Retry { prog, run } => self.retry_due(prog, run),
                Timer::StopTimeout { prog, run } => self.stop_timeout(prog, run),
                Timer::LingerKill { pgid } => self.linger_kill(pgid),
                Timer::DescendantsKill => self.descendants_kill(),
                Timer::ShutdownDeadline => self.shutdown_deadline(),
            },
            Input::Shutdown { force } => self.shutdown(force, 0, ShutdownCause::Requested),
            Input::NoChildren => self.no_children(),
            Input::FilesChanged { prog, paths } => self.files_changed(prog, paths),
            Input::Reload {
                req,
                specs,
                shutdown_timeout,
            } => self.reload(req, specs, shutdown_timeout),
            Input::ProbeResult {
                prog,
                run,
                ok,
                detail,
            } => self.probe_result(prog, run, ok, detail),
            Input::Notify {
                prog,
                from_pid,
                ready,
                status,
            } => self.notified(prog, from_pid, ready, status),
            Input::Wait {
                req,
                progs,
                timeout,
            } => self.wait(req, progs, timeout),
        }
    }

    /// Ends the step: start programs whose dependencies came up, move the shutdown along,
    /// answer the requests that are decided.
    pub(crate) fn finish(mut self) -> Vec<Effect> {
        self.settle_waiting();
        self.advance_shutdown();
        self.answer_decided();
        self.effects
    }

    /// Replaces the [`Life`] of `p` and reports it as `change`. Landing in `fatal` while
    /// `critical` shuts supd down, with the program's exit code.
    pub(crate) fn enter(&mut self, p: ProgId, life: Life, change: Change) {
        let prog = &mut self.st.programs[p];
        let from = prog.life.state();
        let to = life.state();
        prog.life = life;
        let critical_failure = prog.failed() && prog.spec.critical;
        let code = prog.last_exit.map_or(1, |s| s.shell_code());
        self.effects.push(Effect::Changed {
            prog: p,
            from,
            to,
            change,
        });
        if critical_failure {
            self.shutdown(false, code, ShutdownCause::CriticalFailed(p));
        }
    }

    pub(crate) fn notice(&mut self, notice: Notice) {
        self.effects.push(Effect::Notice(notice));
    }

    pub(crate) fn set_timer(&mut self, after: Duration, timer: Timer) {
        self.effects.push(Effect::SetTimer {
            at: self.now + after,
            timer,
        });
    }
}
