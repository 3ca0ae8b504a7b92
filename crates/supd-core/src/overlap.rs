//! Restarts, and the start-first kind (`restart_mode = "start-first"`, `supctl upgrade`):
//! the new run is spawned beside the running one, which keeps serving (its
//! [`Predecessor`]) until the new one is up; only then is the old one stopped (it is
//! [`Leaving`]). If the new run does not come up (it exits, cannot be spawned, or fails its
//! health checks), the predecessor becomes the current run again, the new one is stopped,
//! and the restart is answered [`OutcomeKind::KeptPrevious`].
//!
//! Guarantees:
//! - a predecessor exists only while the program's current run is spawning or starting;
//! - at every moment at least one instance that was up is alive, until the new one is up,
//!   unless the old one dies by itself (then the new one carries on alone, and a failure
//!   of it is an ordinary failed start);
//! - every leaving process gets `stop_signal`, then SIGKILL after `stop_timeout`, like any
//!   stop, and its exit changes nothing but the leaving list;
//! - a restart asked while a start-first restart is under way replaces the new run (it
//!   leaves), the predecessor keeps serving.

use crate::machine::Cx;
use crate::state::{Leaving, Life, Predecessor};
use crate::types::{ExitStatus, ProgId, Timer};
use crate::why::{Change, Notice, OutcomeKind, Why};

impl Cx<'_> {
    /// Restarts `p` (because of `cause`): start-first when `start_first` and the program is
    /// running, else stop, then start.
    pub(crate) fn restart(&mut self, p: ProgId, cause: Why, start_first: bool) {
        let prog = &self.st.programs[p];
        let start_first = start_first && !prog.spec.oneshot && self.st.shutdown.is_none();
        match (&prog.life, &prog.predecessor) {
            (&Life::Starting { run, pid, .. }, Some(_)) => {
                self.leave(p, run, pid);
                self.spawn(p, cause);
            }
            (Life::Running { .. }, None) if start_first => {
                let prog = &mut self.st.programs[p];
                let Life::Running {
                    run,
                    pid,
                    started_at,
                    cause: started_by,
                } = prog.life.clone()
                else {
                    unreachable!("matched as running above")
                };
                prog.predecessor = Some(Predecessor {
                    run,
                    pid,
                    started_at,
                    cause: started_by,
                    health: prog.health.take(),
                    notify_status: prog.notify_status.take(),
                });
                self.notice(Notice::StartingBeside { prog: p, pid });
                self.spawn(p, cause);
            }
            _ => {
                self.stop(p, cause.clone());
                self.start(p, cause);
            }
        }
    }

    /// The current run of `p` has just come up: its predecessor, if any, leaves.
    pub(crate) fn successor_up(&mut self, p: ProgId) {
        let prog = &mut self.st.programs[p];
        let (Some(pred), Some(pid)) = (prog.predecessor.take(), prog.life.pid()) else {
            return;
        };
        self.notice(Notice::Replaced {
            prog: p,
            previous: pred.pid,
            by: pid,
        });
        self.leave(p, pred.run, pred.pid);
    }

    /// The current run of `p` failed to come up (`failure`): if it was the successor of a
    /// start-first restart, it leaves (unless its process is `gone` already) and the
    /// predecessor is the current run again (true is returned); otherwise nothing happens
    /// here (false).
    pub(crate) fn successor_failed(&mut self, p: ProgId, failure: &Why, gone: bool) -> bool {
        let Some(pred) = self.st.programs[p].predecessor.take() else {
            return false;
        };
        if let Life::Starting { run, pid, .. } = self.st.programs[p].life
            && !gone
        {
            self.leave(p, run, pid);
        }
        let prog = &mut self.st.programs[p];
        prog.health = pred.health;
        prog.notify_status = pred.notify_status;
        prog.last_started_at = Some(pred.started_at);
        let life = Life::Running {
            run: pred.run,
            pid: pred.pid,
            started_at: pred.started_at,
            cause: pred.cause,
        };
        let change = Change::KeptPrevious {
            pid: pred.pid,
            failure: failure.clone(),
        };
        self.enter(p, life, change);
        let kind = OutcomeKind::KeptPrevious {
            failure: failure.clone(),
            pid: pred.pid,
        };
        self.st.waiters.fail_restarts(p, kind);
        true
    }

    /// A health check of run `run` of `p` came due or answered; true when that run is the
    /// predecessor of a start-first restart. Its checks pause (only the new run is
    /// checked), but keep their turn: the next one is due after `interval`, so they go on
    /// should it become the current run again.
    pub(crate) fn predecessor_check(&mut self, p: ProgId, run: u32) -> bool {
        let prog = &self.st.programs[p];
        if prog.predecessor.as_ref().is_none_or(|pred| pred.run != run) {
            return false;
        }
        if let Some(health) = &prog.spec.health {
            let interval = health.interval;
            self.set_timer(interval, Timer::Probe { prog: p, run });
        }
        true
    }

    /// `p` is being stopped for good: a predecessor still serving leaves too.
    pub(crate) fn stop_predecessor(&mut self, p: ProgId) {
        if let Some(pred) = self.st.programs[p].predecessor.take() {
            self.leave(p, pred.run, pred.pid);
        }
    }

    /// Run `run` of `p` (group `pgid`), no longer the current one, is stopped beside it.
    fn leave(&mut self, p: ProgId, run: u32, pgid: i32) {
        self.notice(Notice::StoppingPrevious { prog: p, pid: pgid });
        self.send_stop(p, run, pgid);
        self.st.programs[p].leaving.push(Leaving {
            run,
            pgid,
            leader_alive: true,
        });
    }

    /// An exit of a predecessor or of a leaving process; false when `pid` is neither.
    pub(crate) fn other_instance_exited(
        &mut self,
        pid: i32,
        status: ExitStatus,
        group_alive: bool,
    ) -> bool {
        let programs = &mut self.st.programs;
        if let Some(p) = programs
            .iter()
            .position(|q| q.predecessor.as_ref().is_some_and(|pr| pr.pid == pid))
        {
            // It died by itself while its successor comes up: the successor carries on.
            programs[p].predecessor = None;
            if group_alive {
                self.kill_leftovers(p, pid);
            }
            self.notice(Notice::PreviousExited {
                prog: p,
                pid,
                status,
                stopped: false,
            });
            return true;
        }
        for (p, prog) in programs.iter_mut().enumerate() {
            let Some(i) = prog
                .leaving
                .iter()
                .position(|l| l.leader_alive && l.pgid == pid)
            else {
                continue;
            };
            if group_alive {
                prog.leaving[i].leader_alive = false;
            } else {
                prog.leaving.remove(i);
            }
            self.notice(Notice::PreviousExited {
                prog: p,
                pid,
                status,
                stopped: true,
            });
            return true;
        }
        false
    }

    /// The group of leaving run `run` of `p` has emptied; false when no such run leaves.
    pub(crate) fn leaving_group_empty(&mut self, p: ProgId, run: u32) -> bool {
        let leaving = &mut self.st.programs[p].leaving;
        match leaving.iter().position(|l| l.run == run && !l.leader_alive) {
            Some(i) => {
                leaving.remove(i);
                true
            }
            None => false,
        }
    }

    /// `stop_timeout` of leaving run `run` of `p` is over: SIGKILL its group. False when no
    /// such run leaves.
    pub(crate) fn leaving_stop_timeout(&mut self, p: ProgId, run: u32) -> bool {
        let Some(pgid) = self.st.programs[p]
            .leaving
            .iter()
            .find(|l| l.run == run)
            .map(|l| l.pgid)
        else {
            return false;
        };
        self.notice(Notice::KillingPrevious { prog: p, pid: pgid });
        self.kill_group(p, run, pgid);
        true
    }
}
