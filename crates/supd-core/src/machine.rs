//! The per-program state machine: start (with dependencies), spawn results, exits, stops,
//! timers, and the restart/backoff policy.

use std::time::Duration;

use supd_config::{RestartPolicy, Signal};
use supd_proto::ProgramState;

use crate::requests::{Goal, Pending};
use crate::state::State;
use crate::types::{Action, Effect, ExitStatus, Input, Outcome, ProgId, ReqId, SpawnRetry, Timer};

/// After SIGKILL, how often a stop re-checks a group that still has members which are not
/// supd's children (so no exit would wake supd). Only runs in that rare case.
const KILL_RECHECK: Duration = Duration::from_secs(1);

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
                        self.start(p, "autostart");
                    }
                }
            }
            Input::Command { req, action, progs } => self.command(req, action, progs),
            Input::Spawned { prog, run, pid } => self.spawned(prog, run, pid),
            Input::SpawnFailed {
                prog,
                run,
                error,
                retry,
            } => {
                let p = &mut self.st.programs[prog];
                if p.run == run && p.state == ProgramState::Starting && p.pid.is_none() {
                    p.last_exit = None;
                    match retry {
                        SpawnRetry::MayHelp => self.failed_start(prog, error),
                        SpawnRetry::Futile => self.cannot_execute(prog, error),
                    }
                }
            }
            Input::Exited {
                pid,
                status,
                group_alive,
            } => self.exited(pid, status, group_alive),
            Input::GroupEmpty { prog, run } => {
                let p = &self.st.programs[prog];
                if p.run == run && p.state == ProgramState::Stopping && p.pid.is_none() {
                    self.stop_done(prog);
                }
            }
            Input::Timer(timer) => self.timer(timer),
            Input::Shutdown { force } => self.shutdown(force, 0, "requested"),
            Input::NoChildren => self.no_children(),
            Input::FilesChanged { prog, paths } => self.files_changed(prog, &paths),
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
        let shutting_down = self.st.shutdown.is_some();
        for (req, outcomes) in self.st.waiters.settle(&self.st.programs, shutting_down) {
            self.effects.push(Effect::Reply { req, outcomes });
        }
        self.effects
    }

    // ----- requests -------------------------------------------------------------------

    fn command(&mut self, req: ReqId, action: Action, progs: Vec<ProgId>) {
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
                    ok: false,
                    message: "refused: supd is shutting down".into(),
                }));
                continue;
            }
            let who = match action {
                Action::Start => "supctl start",
                Action::Stop => "supctl stop",
                Action::Restart => "supctl restart",
            };
            match action {
                Action::Start => {
                    let prog = &self.st.programs[p];
                    if prog.state == ProgramState::Running && !prog.spec.oneshot {
                        items.push(Pending::Done(Outcome {
                            prog: p,
                            ok: true,
                            message: "already running".into(),
                        }));
                        continue;
                    }
                    self.st.programs[p].failures = 0;
                    self.start(p, who);
                    items.push(Pending::Wait(p, Goal::Up));
                }
                Action::Stop => {
                    let prog = &self.st.programs[p];
                    if prog.state == ProgramState::Stopped {
                        items.push(Pending::Done(Outcome {
                            prog: p,
                            ok: true,
                            message: "already stopped".into(),
                        }));
                        continue;
                    }
                    self.stop(p, who);
                    items.push(Pending::Wait(p, Goal::Down));
                }
                Action::Restart => {
                    self.st.programs[p].failures = 0;
                    self.stop(p, who);
                    self.start(p, who);
                    items.push(Pending::Wait(p, Goal::Restarted));
                }
            }
        }
        self.st.waiters.add(req, items);
    }

    // ----- starting -------------------------------------------------------------------

    /// Brings `p` up: starts its dependencies first (a program cannot be up without them),
    /// then spawns it, or leaves it `starting` without a process until they are up.
    pub(crate) fn start(&mut self, p: ProgId, reason: &str) {
        self.start_with(p, reason, &mut Vec::new());
    }

    fn start_with(&mut self, p: ProgId, reason: &str, visiting: &mut Vec<ProgId>) {
        if self.st.shutdown.is_some() || visiting.contains(&p) || self.st.programs[p].retired {
            return;
        }
        let prog = &mut self.st.programs[p];
        match prog.state {
            ProgramState::Starting | ProgramState::Running => return,
            ProgramState::Stopping => {
                prog.restart_after_stop = Some(reason.to_string());
                return;
            }
            ProgramState::Stopped
            | ProgramState::Backoff
            | ProgramState::Exited
            | ProgramState::Fatal => {}
        }
        visiting.push(p);
        let name = prog.spec.name.clone();
        for d in self.st.programs[p].deps.clone() {
            let dep = &self.st.programs[d];
            if !dep.is_up() {
                self.start_with(d, &format!("needed by {name}"), visiting);
            }
        }
        visiting.pop();
        let waiting_for = self.unmet_deps(p);
        if waiting_for.is_empty() {
            self.spawn(p, reason);
        } else {
            self.st.programs[p].awaiting_deps = true;
            self.st.programs[p].reason = Some(format!("waiting for {}", waiting_for.join(", ")));
            let message = format!("waiting for {}", waiting_for.join(", "));
            self.set(p, ProgramState::Starting, message);
        }
    }

    fn unmet_deps(&self, p: ProgId) -> Vec<String> {
        self.st.programs[p]
            .deps
            .iter()
            .map(|&d| &self.st.programs[d])
            .filter(|d| !d.is_up())
            .map(|d| d.spec.name.clone())
            .collect()
    }

    /// Programs waiting for dependencies: spawn those whose dependencies are all up, give up
    /// on those with a dependency that will not come up.
    fn settle_waiting(&mut self) {
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
                let dead_dep = self.st.programs[p].deps.iter().copied().find(|&d| {
                    let dep = &self.st.programs[d];
                    dep.failed()
                        || matches!(dep.state, ProgramState::Stopped | ProgramState::Exited)
                            && !dep.is_up()
                });
                if let Some(d) = dead_dep {
                    let dep = &self.st.programs[d];
                    let why = if dep.failed() {
                        "failed"
                    } else {
                        "is not running"
                    };
                    let message = format!("not started: dependency {} {why}", dep.spec.name);
                    self.st.programs[p].reason = Some(message.clone());
                    self.set(p, ProgramState::Stopped, message);
                    changed = true;
                } else if self.unmet_deps(p).is_empty() {
                    self.spawn(p, "dependencies are up");
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    fn spawn(&mut self, p: ProgId, reason: &str) {
        let prog = &mut self.st.programs[p];
        prog.run += 1;
        prog.starts += 1;
        prog.pid = None;
        prog.started_at = None;
        prog.lingering_pgid = None;
        prog.restart_after_stop = None;
        prog.awaiting_deps = false;
        prog.reason = Some(reason.to_string());
        let run = prog.run;
        if prog.state != ProgramState::Starting {
            let from = prog.state;
            prog.state = ProgramState::Starting;
            self.effects.push(Effect::Changed {
                prog: p,
                from,
                to: ProgramState::Starting,
                message: String::new(),
                reason: Some(reason.to_string()),
            });
        }
        self.effects.push(Effect::Spawn { prog: p, run });
    }

    fn spawned(&mut self, p: ProgId, run: u32, pid: i32) {
        let prog = &mut self.st.programs[p];
        if prog.run != run || prog.state != ProgramState::Starting || prog.pid.is_some() {
            return;
        }
        prog.pid = Some(pid);
        prog.started_at = Some(self.now);
        self.begin_readiness(p);
        self.set(p, ProgramState::Starting, format!("started (pid {pid})"));
        self.maybe_running(p);
    }

    /// The command cannot be executed as configured: no retry could help, so `fatal` at once
    /// (whatever `start_retries` says). A file change or `supctl start` tries again.
    fn cannot_execute(&mut self, p: ProgId, what: String) {
        let prog = &mut self.st.programs[p];
        prog.failures += 1;
        prog.reason = Some(what.clone());
        let again = if prog.spec.watch.is_some() {
            "supctl start or a change to a watched file tries again"
        } else {
            "supctl start tries again"
        };
        self.set(
            p,
            ProgramState::Fatal,
            format!("{what}; not retried, as that cannot help ({again})"),
        );
    }

    /// A start that did not last: back off and retry, or give up.
    fn failed_start(&mut self, p: ProgId, what: String) {
        let prog = &mut self.st.programs[p];
        prog.failures += 1;
        prog.pid = None;
        let failures = prog.failures;
        let spec = &prog.spec;
        if spec.restart == RestartPolicy::Never
            || spec.start_retries.is_some_and(|limit| failures > limit)
        {
            prog.reason = Some(what.clone());
            let message = if spec.restart == RestartPolicy::Never {
                format!("{what}; not restarted (restart = \"never\")")
            } else {
                format!("{what}; giving up after {failures} failed starts in a row")
            };
            self.set(p, ProgramState::Fatal, message);
            return;
        }
        let delay = backoff_delay(spec.restart_delay, spec.max_restart_delay, failures);
        let attempts = match spec.start_retries {
            Some(limit) => format!(" (failed start {failures} of {})", limit + 1),
            None => String::new(),
        };
        prog.reason = Some(what.clone());
        let run = prog.run;
        self.effects.push(Effect::SetTimer {
            at: self.now + delay,
            timer: Timer::Retry { prog: p, run },
        });
        self.set(
            p,
            ProgramState::Backoff,
            format!("{what}; retrying in {}{attempts}", human(delay)),
        );
    }

    // ----- exits ----------------------------------------------------------------------

    fn exited(&mut self, pid: i32, status: ExitStatus, group_alive: bool) {
        let Some(p) = self.st.programs.iter().position(|q| q.pid == Some(pid)) else {
            return; // an adopted orphan: reaped, nothing to decide
        };
        let prog = &mut self.st.programs[p];
        prog.pid = None;
        prog.last_exit = Some(status);
        let uptime = self.now.saturating_sub(prog.started_at.unwrap_or(self.now));
        match prog.state {
            ProgramState::Stopping => {
                if group_alive {
                    prog.lingering_pgid = Some(pid);
                } else {
                    self.stop_done(p);
                }
            }
            ProgramState::Starting | ProgramState::Running => {
                // Dying before it was up (min_uptime, readiness) is a failed start.
                let was_up = prog.state == ProgramState::Running;
                if group_alive {
                    self.kill_leftovers(p, pid);
                }
                self.unexpected_exit(p, status, uptime, was_up);
            }
            _ => {}
        }
    }

    /// The leader died on its own but its group lives on: TERM the leftovers now (so a
    /// crash loop never piles up orphans), KILL them after `stop_timeout`.
    fn kill_leftovers(&mut self, p: ProgId, pgid: i32) {
        let stop_timeout = self.st.programs[p].spec.stop_timeout;
        self.effects.push(Effect::SignalGroup {
            pgid,
            signal: Signal::SIGTERM,
        });
        self.effects.push(Effect::SetTimer {
            at: self.now + stop_timeout,
            timer: Timer::LingerKill { pgid },
        });
    }

    fn unexpected_exit(&mut self, p: ProgId, status: ExitStatus, uptime: Duration, was_up: bool) {
        let spec = &self.st.programs[p].spec;
        let success = matches!(status, ExitStatus::Exited(code) if spec.exit_codes.contains(&code));
        let (oneshot, policy) = (spec.oneshot, spec.restart);
        let name = spec.name.clone();
        let what = format!("{status} after {}", human(uptime));
        if self.st.shutdown.is_some() {
            self.st.programs[p].reason = Some(what.clone());
            self.set(p, ProgramState::Exited, what);
            return;
        }
        // Every exit is first an `exited` (for the event stream: running → exited →
        // backoff → starting); what happens next is decided below, in the same step, and
        // logged there.
        self.st.programs[p].reason = Some(what.clone());
        self.transition(p, ProgramState::Exited, String::new(), Some(what.clone()));
        if oneshot {
            if success {
                self.st.programs[p].failures = 0;
                self.st.programs[p].reason = Some(format!("completed: {what}"));
                self.set(p, ProgramState::Exited, format!("completed: {what}"));
            } else {
                self.failed_start(p, what);
            }
            return;
        }
        let restart = match policy {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => !success,
            RestartPolicy::Never => false,
        };
        if !restart {
            let (to, note) = if success {
                (ProgramState::Exited, "")
            } else {
                (ProgramState::Fatal, "; not restarted")
            };
            self.st.programs[p].reason = Some(what.clone());
            self.set(p, to, format!("{what}{note}"));
        } else if !was_up {
            self.failed_start(p, what);
        } else {
            self.st.programs[p].failures = 0;
            self.notice(format!("{name}: {what}; restarting"));
            self.spawn(p, &format!("restarted: {status}"));
        }
    }

    // ----- stopping -------------------------------------------------------------------

    /// Stops `p`: `stop_signal` to its group now, SIGKILL after `stop_timeout`. A program
    /// without a process just becomes `stopped`.
    pub(crate) fn stop(&mut self, p: ProgId, reason: &str) {
        let prog = &mut self.st.programs[p];
        prog.restart_after_stop = None;
        prog.backoff_after_stop = false;
        match (prog.state, prog.pid) {
            (ProgramState::Starting | ProgramState::Running, Some(pid)) => {
                let signal = prog.spec.stop_signal;
                let at = self.now + prog.spec.stop_timeout;
                let run = prog.run;
                self.effects.push(Effect::SignalGroup { pgid: pid, signal });
                if signal != Signal::SIGCONT {
                    // A stopped (SIGSTOP) process would not act on the signal until continued.
                    self.effects.push(Effect::SignalGroup {
                        pgid: pid,
                        signal: Signal::SIGCONT,
                    });
                }
                self.effects.push(Effect::SetTimer {
                    at,
                    timer: Timer::StopTimeout { prog: p, run },
                });
                prog.reason = Some(reason.to_string());
                self.transition(
                    p,
                    ProgramState::Stopping,
                    format!("stopping ({reason}): sent {}", signal.as_str()),
                    Some(format!("{reason}: sent {}", signal.as_str())),
                );
            }
            (ProgramState::Stopping | ProgramState::Stopped, _) => {}
            _ => self.settle_idle(p, reason),
        }
    }

    /// A program with no process (waiting, backing off, exited, fatal) becomes `stopped`.
    pub(crate) fn settle_idle(&mut self, p: ProgId, reason: &str) {
        let prog = &mut self.st.programs[p];
        if prog.state != ProgramState::Stopped && !prog.has_process() {
            prog.reason = Some(format!("stopped: {reason}"));
            self.transition(
                p,
                ProgramState::Stopped,
                format!("stopped ({reason})"),
                Some(reason.to_string()),
            );
        }
    }

    fn stop_done(&mut self, p: ProgId) {
        let prog = &mut self.st.programs[p];
        prog.lingering_pgid = None;
        let again = prog.restart_after_stop.take();
        let back_off = std::mem::take(&mut prog.backoff_after_stop);
        let how = prog
            .last_exit
            .map(|s| s.to_string())
            .unwrap_or_else(|| "gone".into());
        // While stopping, the reason is what asked for the stop.
        prog.reason = Some(match prog.reason.take() {
            Some(cause) => format!("stopped ({cause}): {how}"),
            None => format!("stopped: {how}"),
        });
        self.transition(
            p,
            ProgramState::Stopped,
            format!("stopped ({how})"),
            Some(how),
        );
        match again {
            // Shutting down: whatever was to follow this stop is cancelled.
            _ if self.st.shutdown.is_some() => {}
            Some(reason) if back_off => self.failed_start(p, reason),
            Some(reason) => self.start(p, &reason),
            None => {}
        }
    }

    // ----- file changes ---------------------------------------------------------------

    /// A debounced burst of changes: restart (reviving a crash-looping program at once), or
    /// send the configured signal. A change never starts a program someone stopped.
    fn files_changed(&mut self, p: ProgId, paths: &[String]) {
        let Some(watch) = &self.st.programs[p].spec.watch else {
            return;
        };
        if self.st.shutdown.is_some() || paths.is_empty() {
            return;
        }
        let what = describe_changes(paths);
        let name = self.st.programs[p].spec.name.clone();
        match watch.action {
            supd_config::WatchAction::Signal(signal) => {
                if let Some(pid) = self.st.programs[p].pid {
                    self.notice(format!("{name}: {what}; sending {}", signal.as_str()));
                    self.effects.push(Effect::SignalGroup { pgid: pid, signal });
                }
            }
            supd_config::WatchAction::Restart => {
                let prog = &mut self.st.programs[p];
                match prog.state {
                    ProgramState::Starting | ProgramState::Running if prog.pid.is_some() => {
                        self.notice(format!("{name}: restarting: {what}"));
                        self.stop(p, &what);
                        self.start(p, &what);
                    }
                    // Already on its way back up (a restart in progress): this burst is
                    // covered by the start that follows.
                    ProgramState::Stopping if prog.restart_after_stop.is_some() => {
                        prog.restart_after_stop = Some(what);
                    }
                    ProgramState::Backoff | ProgramState::Fatal | ProgramState::Exited => {
                        prog.failures = 0;
                        self.notice(format!("{name}: starting: {what}"));
                        self.start(p, &what);
                    }
                    // Stopped by someone, being stopped, or waiting for dependencies.
                    _ => {}
                }
            }
        }
    }

    // ----- timers ---------------------------------------------------------------------

    fn timer(&mut self, timer: Timer) {
        match timer {
            Timer::Settled { prog, run } => self.settled(prog, run),
            Timer::Probe { prog, run } => self.probe_due(prog, run),
            Timer::WaitTimeout { req } => self.wait_timeout(req),
            Timer::Retry { prog, run } => {
                let p = &self.st.programs[prog];
                if p.run == run && p.state == ProgramState::Backoff && self.st.shutdown.is_none() {
                    let why = p.reason.clone().unwrap_or_default();
                    self.spawn(prog, &format!("retry after {why}"));
                }
            }
            Timer::StopTimeout { prog, run } => {
                let p = &self.st.programs[prog];
                if p.run != run || p.state != ProgramState::Stopping {
                    return;
                }
                let Some(pgid) = p.pid.or(p.lingering_pgid) else {
                    return;
                };
                let message = format!(
                    "{}: still running {} after {}: sending SIGKILL",
                    p.spec.name,
                    human(p.spec.stop_timeout),
                    p.spec.stop_signal.as_str()
                );
                self.notice(message);
                self.effects.push(Effect::SignalGroup {
                    pgid,
                    signal: Signal::SIGKILL,
                });
                self.effects.push(Effect::SetTimer {
                    at: self.now + KILL_RECHECK,
                    timer: Timer::StopTimeout { prog, run },
                });
            }
            Timer::LingerKill { pgid } => {
                // The pgid is the pid of a dead leader; never KILL it if a new run got it.
                if !self.st.programs.iter().any(|p| p.pid == Some(pgid)) {
                    self.effects.push(Effect::SignalGroup {
                        pgid,
                        signal: Signal::SIGKILL,
                    });
                }
            }
            Timer::DescendantsKill | Timer::ShutdownDeadline => self.shutdown_timer(timer),
        }
    }

    // ----- helpers --------------------------------------------------------------------

    /// Moves `p` to `to` and reports it, `message` being both the log line and the event's
    /// reason.
    pub(crate) fn set(&mut self, p: ProgId, to: ProgramState, message: String) {
        let reason = (!message.is_empty()).then(|| message.clone());
        self.transition(p, to, message, reason);
    }

    /// Moves `p` to `to` and reports it: `message` for the log (empty: nothing to log),
    /// `reason` for the event stream. Landing in `fatal` while `critical` shuts supd down.
    pub(crate) fn transition(
        &mut self,
        p: ProgId,
        to: ProgramState,
        message: String,
        reason: Option<String>,
    ) {
        let prog = &mut self.st.programs[p];
        let from = prog.state;
        prog.state = to;
        if to != ProgramState::Starting {
            prog.awaiting_deps = false;
        }
        let critical_failure = to == ProgramState::Fatal && prog.spec.critical;
        let code = prog.last_exit.map_or(1, ExitStatus::shell_code);
        let name = prog.spec.name.clone();
        self.effects.push(Effect::Changed {
            prog: p,
            from,
            to,
            message,
            reason,
        });
        if critical_failure {
            self.shutdown(false, code, &format!("critical program {name} failed"));
        }
    }

    pub(crate) fn notice(&mut self, message: String) {
        self.effects.push(Effect::Notice { message });
    }
}

/// `3 files changed (app/views.py, app/urls.py, ...)`, `app/views.py changed`.
pub(crate) fn describe_changes(paths: &[String]) -> String {
    match paths {
        [one] => format!("{one} changed"),
        [a, b] => format!("2 files changed ({a}, {b})"),
        [a, b, ..] => format!("{} files changed ({a}, {b}, ...)", paths.len()),
        [] => "nothing changed".into(),
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

/// A short human form of a duration: `250ms`, `1.5s`, `2m5s`.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        let tenths = ms / 100;
        if tenths.is_multiple_of(10) {
            format!("{}s", tenths / 10)
        } else {
            format!("{}.{}s", tenths / 10, tenths % 10)
        }
    } else {
        let s = d.as_secs();
        if s.is_multiple_of(60) {
            format!("{}m", s / 60)
        } else {
            format!("{}m{}s", s / 60, s % 60)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn human_durations_read_naturally() {
        assert_eq!(human(Duration::from_millis(12)), "12ms");
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human(Duration::from_secs(10)), "10s");
        assert_eq!(human(Duration::from_secs(125)), "2m5s");
        assert_eq!(human(Duration::from_secs(120)), "2m");
    }
}
