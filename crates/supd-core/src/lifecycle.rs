//! A program's lifecycle: starting it (dependencies first), spawn results, exits, the
//! restart and backoff policy, stopping (signal, then SIGKILL after `stop_timeout`, then
//! waiting for the whole group), and the timers of a run.
//!
//! Guarantees:
//! - a start never spawns a program while one of its dependencies is not up (it waits); a
//!   program whose dependency failed for good is `stopped`, saying which one. (Restarts after
//!   a crash and retries after a backoff do not wait for dependencies.)
//! - a run's pid is attached in the step that learns it ([`Cx::spawned`]), and an exit is
//!   matched only against live pids; an unknown one is an adopted orphan and changes
//!   nothing;
//! - a timer or a result of an earlier run (its run number is not the current one) changes
//!   nothing;
//! - `start_retries` failed starts in a row are retried, the next one is `fatal`; the delay
//!   between tries doubles from `restart_delay` up to `max_restart_delay`; a start out of
//!   `stopped`, `exited` or `fatal` (and a reload that changes the settings) begins a new
//!   series of tries;
//! - a spawn in flight is never lost: a stop meanwhile is carried out once its pid is known;
//! - nothing is started or restarted once a shutdown has begun.

use std::time::Duration;

use supd_config::{RestartMode, RestartPolicy, Signal, WatchAction};

use crate::machine::Cx;
use crate::state::{Life, Then};
use crate::types::{Effect, ExitStatus, ProgId, SpawnRetry, Timer};
use crate::why::{Change, Halt, Notice, Why};

/// After SIGKILL, how often a stop re-checks a group that still has members which are not
/// supd's children (so no exit would wake supd). Only runs in that rare case.
const KILL_RECHECK: Duration = Duration::from_secs(1);

impl Then {
    /// What follows the stop once something asks for a start (because of `cause`): a
    /// start, after the backoff if one was due.
    fn start_because(&self, cause: Why) -> Then {
        match self {
            Then::BackOffThenStart(_) => Then::BackOffThenStart(cause),
            Then::Nothing | Then::Start(_) => Then::Start(cause),
        }
    }
}

impl Cx<'_> {
    // ----- starting -------------------------------------------------------------------

    /// Brings `p` up: starts its dependencies first (a program cannot be up without them),
    /// then spawns it, or leaves it waiting until they are up. A program being stopped
    /// starts once the stop completes.
    pub(crate) fn start(&mut self, p: ProgId, cause: Why) {
        self.start_with(p, cause, &mut Vec::new());
    }

    fn start_with(&mut self, p: ProgId, cause: Why, visiting: &mut Vec<ProgId>) {
        if self.st.shutdown.is_some() || visiting.contains(&p) || self.st.programs[p].retired {
            return;
        }
        match &mut self.st.programs[p].life {
            // On its way up: whatever asked for a stop meanwhile is overruled.
            Life::Spawning { stop, .. } => {
                *stop = None;
                return;
            }
            Life::Waiting { .. } | Life::Starting { .. } | Life::Running { .. } => return,
            Life::Stopping { then, .. } => {
                *then = then.start_because(cause);
                return;
            }
            // A new series of tries (`start_retries` again); only a start during a backoff
            // continues the current one.
            Life::Stopped { .. } | Life::Exited { .. } | Life::Fatal { .. } => {
                self.st.programs[p].failed_starts = 0;
            }
            Life::Backoff { .. } => {}
        }
        visiting.push(p);
        for d in self.st.programs[p].deps.clone() {
            if !self.st.programs[d].is_up() {
                self.start_with(d, Why::NeededBy(p), visiting);
            }
        }
        visiting.pop();
        let on = self.unmet_deps(p);
        if on.is_empty() {
            self.spawn(p, cause);
        } else {
            self.enter(p, Life::Waiting { on: on.clone() }, Change::Waiting { on });
        }
    }

    fn unmet_deps(&self, p: ProgId) -> Vec<ProgId> {
        let programs = &self.st.programs;
        programs[p]
            .deps
            .iter()
            .copied()
            .filter(|&d| !programs[d].is_up())
            .collect()
    }

    /// Programs waiting for dependencies: spawn those whose dependencies are all up, give up
    /// on those with a dependency that will not come up.
    pub(crate) fn settle_waiting(&mut self) {
        if self.st.shutdown.is_some() {
            return;
        }
        // Each pass can only unblock or fail programs further down the graph; the graph has
        // no cycles, so this ends within `programs.len()` passes.
        for _ in 0..=self.st.programs.len() {
            let mut changed = false;
            for p in 0..self.st.programs.len() {
                if !self.st.programs[p].waiting() {
                    continue;
                }
                let programs = &self.st.programs;
                let blocked = programs[p].deps.iter().copied().find_map(|d| {
                    let dep = &programs[d];
                    let down = matches!(dep.life, Life::Stopped { .. } | Life::Exited { .. });
                    (dep.failed() || down && !dep.is_up()).then_some((d, dep.failed()))
                });
                if let Some((dep, failed)) = blocked {
                    self.enter(
                        p,
                        Life::Stopped {
                            why: Some(Halt::Blocked { dep, failed }),
                        },
                        Change::Blocked { dep, failed },
                    );
                    changed = true;
                } else if self.unmet_deps(p).is_empty() {
                    self.spawn(p, Why::DependenciesUp);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Starts a new run of `p` (which has no process): the daemon spawns it and reports
    /// back before anything else happens.
    pub(crate) fn spawn(&mut self, p: ProgId, cause: Why) {
        let prog = &mut self.st.programs[p];
        prog.starts += 1;
        let run = prog.starts;
        self.enter(
            p,
            Life::Spawning {
                run,
                cause: cause.clone(),
                stop: None,
            },
            Change::Spawning { cause },
        );
        self.effects.push(Effect::Spawn { prog: p, run });
    }

    pub(crate) fn spawned(&mut self, p: ProgId, run: u32, pid: i32) {
        let Life::Spawning {
            run: spawning,
            cause,
            stop,
        } = &self.st.programs[p].life
        else {
            return;
        };
        if *spawning != run {
            return;
        }
        let (cause, stop) = (cause.clone(), stop.clone());
        let (settled, ready) = self.begin_readiness(p, run);
        self.st.programs[p].last_started_at = Some(self.now);
        let life = Life::Starting {
            run,
            pid,
            started_at: self.now,
            settled,
            ready,
            cause,
        };
        self.enter(p, life, Change::Started { pid });
        match stop {
            Some(cause) => self.stop(p, cause),
            None => self.maybe_running(p),
        }
    }

    pub(crate) fn spawn_failed(&mut self, p: ProgId, run: u32, error: String, retry: SpawnRetry) {
        let Life::Spawning { run: r, stop, .. } = &self.st.programs[p].life else {
            return;
        };
        if *r != run {
            return;
        }
        let stop = stop.clone();
        self.st.programs[p].last_exit = None;
        match (stop, retry) {
            // Asked to stop meanwhile: it is stopped, whatever the spawn said.
            (Some(cause), _) => self.cancel(p, cause),
            (None, SpawnRetry::MayHelp) => self.failed_start(p, Why::SpawnFailed(error)),
            (None, SpawnRetry::Futile) => self.cannot_execute(p, Why::CannotExecute(error)),
        }
    }

    /// The command cannot be executed as configured: no retry could help, so `fatal` at once
    /// (whatever `start_retries` says). A file change or `supctl start` tries again.
    fn cannot_execute(&mut self, p: ProgId, failure: Why) {
        if self.successor_failed(p, &failure, false) {
            return;
        }
        let prog = &mut self.st.programs[p];
        prog.failed_starts += 1;
        let watched = prog.spec.watch.is_some();
        self.enter(
            p,
            Life::Fatal {
                why: failure.clone(),
            },
            Change::NotRetried { failure, watched },
        );
    }

    /// A start that did not last: back off and retry, or give up.
    fn failed_start(&mut self, p: ProgId, failure: Why) {
        if self.successor_failed(p, &failure, false) {
            return;
        }
        if self.st.shutdown.is_some() {
            // A spawn in flight when the shutdown began: nothing is retried any more.
            let life = Life::Stopped {
                why: Some(Halt::Cancelled {
                    by: Why::SupdShuttingDown,
                }),
            };
            self.enter(p, life, Change::NotRetriedShuttingDown { failure });
            return;
        }
        let prog = &mut self.st.programs[p];
        prog.failed_starts += 1;
        let failures = prog.failed_starts;
        let spec = &prog.spec;
        if spec.restart == RestartPolicy::Never {
            let life = Life::Fatal {
                why: failure.clone(),
            };
            self.enter(p, life, Change::NeverRestarted { failure });
            return;
        }
        if spec.start_retries.is_some_and(|limit| failures > limit) {
            let life = Life::Fatal {
                why: failure.clone(),
            };
            self.enter(p, life, Change::GaveUp { failure, failures });
            return;
        }
        let delay = backoff_delay(spec.restart_delay, spec.max_restart_delay, failures);
        let limit = spec.start_retries.map(|retries| retries + 1);
        let run = prog.starts;
        self.set_timer(delay, Timer::Retry { prog: p, run });
        let life = Life::Backoff {
            run,
            until: self.now + delay,
            failure: failure.clone(),
        };
        let change = Change::BackingOff {
            failure,
            delay,
            failures,
            limit,
        };
        self.enter(p, life, change);
    }

    pub(crate) fn retry_due(&mut self, p: ProgId, run: u32) {
        if self.st.shutdown.is_some() {
            return;
        }
        if let Life::Backoff {
            run: r, failure, ..
        } = &self.st.programs[p].life
            && *r == run
        {
            let cause = Why::Retry(Box::new(failure.clone()));
            self.spawn(p, cause);
        }
    }

    // ----- exits ----------------------------------------------------------------------

    pub(crate) fn exited(&mut self, pid: i32, status: ExitStatus, group_alive: bool) {
        let Some(p) = self.st.program_with_pid(pid) else {
            // An earlier instance beside the current one, or an adopted orphan (reaped,
            // nothing to decide).
            self.other_instance_exited(pid, status, group_alive);
            return;
        };
        let now = self.now;
        let prog = &mut self.st.programs[p];
        prog.last_exit = Some(status);
        prog.last_exit_at = Some(now);
        match &mut prog.life {
            Life::Stopping { leader_alive, .. } => {
                if group_alive {
                    *leader_alive = false;
                } else {
                    self.stop_done(p);
                }
            }
            Life::Starting { started_at, .. } | Life::Running { started_at, .. } => {
                let after = now.saturating_sub(*started_at);
                // Dying before it was up (min_uptime, readiness) is a failed start.
                let was_up = matches!(prog.life, Life::Running { .. });
                if group_alive {
                    self.kill_leftovers(p, pid);
                }
                if !self.successor_failed(p, &Why::Exited { status, after }, true) {
                    self.unexpected_exit(p, status, after, was_up);
                }
            }
            _ => unreachable!("only a program with a live process has a pid"),
        }
    }

    /// The leader died on its own but its group lives on: TERM the leftovers now (so a
    /// crash loop never piles up orphans), KILL them after `stop_timeout`.
    pub(crate) fn kill_leftovers(&mut self, p: ProgId, pgid: i32) {
        let stop_timeout = self.st.programs[p].spec.stop_timeout;
        self.effects.push(Effect::SignalGroup {
            pgid,
            signal: Signal::SIGTERM,
        });
        self.set_timer(stop_timeout, Timer::LingerKill { pgid });
    }

    pub(crate) fn linger_kill(&mut self, pgid: i32) {
        // The pgid is the pid of a dead leader; never KILL it if a new run got it.
        if !self.st.owns_pid(pgid) {
            self.effects.push(Effect::SignalGroup {
                pgid,
                signal: Signal::SIGKILL,
            });
        }
    }

    fn unexpected_exit(&mut self, p: ProgId, status: ExitStatus, after: Duration, was_up: bool) {
        let spec = &self.st.programs[p].spec;
        let success = matches!(status, ExitStatus::Exited(code) if spec.exit_codes.contains(&code));
        let (oneshot, policy) = (spec.oneshot, spec.restart);
        let exited = Life::Exited {
            status,
            after,
            completed: false,
        };
        if self.st.shutdown.is_some() {
            let life = Life::Exited {
                status,
                after,
                completed: oneshot && success,
            };
            self.enter(p, life, Change::Ended { status, after });
            return;
        }
        // Every exit is first an `exited` (for the event stream: running → exited →
        // backoff → starting); what happens next is decided below, in the same step, and
        // logged there.
        self.enter(p, exited.clone(), Change::Exited { status, after });
        let failure = Why::Exited { status, after };
        if oneshot {
            if success {
                self.st.programs[p].failed_starts = 0;
                let completed = Life::Exited {
                    status,
                    after,
                    completed: true,
                };
                self.enter(p, completed, Change::Completed { status, after });
            } else {
                self.failed_start(p, failure);
            }
            return;
        }
        let restart = match policy {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => !success,
            RestartPolicy::Never => false,
        };
        if !restart {
            if success {
                self.enter(p, exited, Change::Ended { status, after });
            } else {
                let fatal = Life::Fatal { why: failure };
                self.enter(p, fatal, Change::NotRestarted { status, after });
            }
        } else if !was_up {
            self.failed_start(p, failure);
        } else {
            self.st.programs[p].failed_starts = 0;
            self.notice(Notice::Restarting {
                prog: p,
                why: failure,
            });
            self.spawn(p, Why::Restarted(status));
        }
    }

    // ----- stopping -------------------------------------------------------------------

    /// Stops `p` (because of `cause`): `stop_signal` to its group now, SIGKILL after
    /// `stop_timeout`. A program without a process just becomes `stopped`; one being
    /// stopped already will not start again afterwards; one being spawned is stopped once
    /// its pid is known (unless a start overrules it first, as in a restart).
    pub(crate) fn stop(&mut self, p: ProgId, cause: Why) {
        self.stop_predecessor(p);
        let prog = &mut self.st.programs[p];
        match &mut prog.life {
            Life::Starting {
                run,
                pid,
                started_at,
                ..
            }
            | Life::Running {
                run,
                pid,
                started_at,
                ..
            } => {
                let (run, pgid, started_at) = (*run, *pid, *started_at);
                let signal = self.send_stop(p, run, pgid);
                let life = Life::Stopping {
                    run,
                    pgid,
                    started_at,
                    leader_alive: true,
                    cause: cause.clone(),
                    then: Then::Nothing,
                };
                self.enter(p, life, Change::Stopping { cause, signal });
            }
            Life::Stopping { then, .. } => *then = Then::Nothing,
            Life::Spawning { stop, .. } => *stop = Some(cause),
            Life::Stopped { .. } => {}
            Life::Waiting { .. }
            | Life::Backoff { .. }
            | Life::Exited { .. }
            | Life::Fatal { .. } => self.cancel(p, cause),
        }
    }

    /// `stop_signal` to group `pgid` of run `run` of `p` now, SIGKILL after `stop_timeout`
    /// (the [`Timer::StopTimeout`] of that run). Returns the signal sent.
    pub(crate) fn send_stop(&mut self, p: ProgId, run: u32, pgid: i32) -> Signal {
        let spec = &self.st.programs[p].spec;
        let (signal, stop_timeout) = (spec.stop_signal, spec.stop_timeout);
        self.effects.push(Effect::SignalGroup { pgid, signal });
        if signal != Signal::SIGCONT {
            // A stopped (SIGSTOP) process would not act on the signal until continued.
            self.effects.push(Effect::SignalGroup {
                pgid,
                signal: Signal::SIGCONT,
            });
        }
        self.set_timer(stop_timeout, Timer::StopTimeout { prog: p, run });
        signal
    }

    /// SIGKILL to group `pgid` of run `run` of `p`, and a re-check later (members that are
    /// not supd's children would wake nobody).
    pub(crate) fn kill_group(&mut self, p: ProgId, run: u32, pgid: i32) {
        self.effects.push(Effect::SignalGroup {
            pgid,
            signal: Signal::SIGKILL,
        });
        self.set_timer(KILL_RECHECK, Timer::StopTimeout { prog: p, run });
    }

    /// Stops `p` because it failed its health checks (`why`); once stopped, the run counts
    /// as a failed start: back off, then start again. The successor of a start-first
    /// restart is stopped instead, and its predecessor serves on.
    pub(crate) fn restart_backing_off(&mut self, p: ProgId, why: Why) {
        if self.successor_failed(p, &why, false) {
            return;
        }
        self.stop(p, why.clone());
        if let Life::Stopping { then, .. } = &mut self.st.programs[p].life {
            *then = Then::BackOffThenStart(why);
        }
    }

    /// A program with no process (waiting, backing off, exited, fatal) becomes `stopped`:
    /// whatever was to come is cancelled (by `cause`).
    pub(crate) fn cancel(&mut self, p: ProgId, cause: Why) {
        let life = Life::Stopped {
            why: Some(Halt::Cancelled { by: cause.clone() }),
        };
        self.enter(p, life, Change::Cancelled { cause });
    }

    pub(crate) fn group_empty(&mut self, p: ProgId, run: u32) {
        if self.leaving_group_empty(p, run) {
            return;
        }
        if matches!(
            self.st.programs[p].life,
            Life::Stopping { run: r, leader_alive: false, .. } if r == run
        ) {
            self.stop_done(p);
        }
    }

    /// The whole group of a stopping program is gone: `stopped`, then whatever was to
    /// follow (unless supd is shutting down).
    fn stop_done(&mut self, p: ProgId) {
        let prog = &mut self.st.programs[p];
        let Life::Stopping { cause, then, .. } = &prog.life else {
            return;
        };
        let (by, then) = (cause.clone(), then.clone());
        let exit = prog.last_exit;
        let life = Life::Stopped {
            why: Some(Halt::Stopped { by, exit }),
        };
        self.enter(p, life, Change::Stopped { exit });
        if self.st.shutdown.is_some() {
            return; // whatever was to follow this stop is cancelled
        }
        match then {
            Then::Nothing => {}
            Then::Start(cause) => self.start(p, cause),
            Then::BackOffThenStart(failure) => self.failed_start(p, failure),
        }
    }

    pub(crate) fn stop_timeout(&mut self, p: ProgId, run: u32) {
        if self.leaving_stop_timeout(p, run) {
            return;
        }
        let prog = &self.st.programs[p];
        let Life::Stopping { run: r, pgid, .. } = prog.life else {
            return;
        };
        if r != run {
            return;
        }
        self.notice(Notice::Killing { prog: p });
        self.kill_group(p, run, pgid);
    }

    // ----- file changes ---------------------------------------------------------------

    /// A debounced burst of changes: restart (reviving a crash-looping program at once), or
    /// send the configured signal. A change never starts a program someone stopped.
    pub(crate) fn files_changed(&mut self, p: ProgId, paths: Vec<String>) {
        let Some(watch) = &self.st.programs[p].spec.watch else {
            return;
        };
        if self.st.shutdown.is_some() || paths.is_empty() {
            return;
        }
        match watch.action {
            WatchAction::Signal(signal) => {
                if let Some(pgid) = self.st.programs[p].pid() {
                    self.notice(Notice::SendingSignal {
                        prog: p,
                        paths,
                        signal,
                    });
                    self.effects.push(Effect::SignalGroup { pgid, signal });
                }
            }
            WatchAction::Restart => {
                let start_first = self.st.programs[p].spec.restart_mode == RestartMode::StartFirst;
                let prog = &mut self.st.programs[p];
                match &mut prog.life {
                    Life::Starting { .. } | Life::Running { .. } => {
                        self.notice(Notice::RestartingForChanges {
                            prog: p,
                            paths: paths.clone(),
                        });
                        self.restart(p, Why::FilesChanged(paths), start_first);
                    }
                    // Already on its way back up (a restart in progress): this burst is
                    // covered by the start that follows.
                    Life::Stopping { then, .. } if *then != Then::Nothing => {
                        *then = then.start_because(Why::FilesChanged(paths));
                    }
                    Life::Backoff { .. } | Life::Fatal { .. } | Life::Exited { .. } => {
                        prog.failed_starts = 0;
                        self.notice(Notice::StartingForChanges {
                            prog: p,
                            paths: paths.clone(),
                        });
                        self.start(p, Why::FilesChanged(paths));
                    }
                    // Stopped by someone, being stopped, or on its way up.
                    Life::Stopped { .. }
                    | Life::Stopping { .. }
                    | Life::Waiting { .. }
                    | Life::Spawning { .. } => {}
                }
            }
        }
    }
}

/// `restart_delay` doubled per failed start after the first, capped at `max`.
pub(crate) fn backoff_delay(first: Duration, max: Duration, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(32);
    first
        .checked_mul(1u32 << doublings.min(31))
        .unwrap_or(max)
        .min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    use supd_config::ProgramSpec;

    use crate::state::State;
    use crate::types::{Action, Input};

    /// No input stops a program between its spawn and the report of its pid today (a
    /// restart's start overrules its stop); should one ever do it, the process is stopped,
    /// not lost.
    #[test]
    fn a_stop_while_the_spawn_is_in_flight_stops_the_process_once_its_pid_is_known() {
        let spec = ProgramSpec::new("web", vec!["/bin/true".into()]);
        let mut st = State::new(vec![spec], Duration::from_secs(30));
        let mut cx = Cx::new(&mut st, Duration::ZERO);
        cx.start(0, Why::Autostart);
        cx.stop(0, Why::Requested(Action::Stop));
        let effects = cx.finish();
        assert!(effects.contains(&Effect::Spawn { prog: 0, run: 1 }));
        let effects = crate::step(
            &mut st,
            Input::Spawned {
                prog: 0,
                run: 1,
                pid: 42,
            },
            Duration::ZERO,
        );
        assert!(effects.contains(&Effect::SignalGroup {
            pgid: 42,
            signal: Signal::SIGTERM
        }));
        assert!(matches!(
            st.programs[0].life(),
            Life::Stopping {
                pgid: 42,
                cause: Why::Requested(Action::Stop),
                then: Then::Nothing,
                ..
            }
        ));
    }

    #[test]
    fn backoff_doubles_from_the_first_failure_and_caps() {
        let first = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        let delays: Vec<u128> = (1..=6)
            .map(|n| backoff_delay(first, max, n).as_millis())
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff_delay(first, max, u32::MAX), max);
    }
}
