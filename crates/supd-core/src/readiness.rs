//! When a started program counts as up: `min_uptime` passed (`settled`), plus its readiness
//! condition (`ready`) — a passing health check, or `READY=1` over `NOTIFY_SOCKET`. Also
//! the health checks of a running program: after `retries` failures in a row it is
//! restarted, backing off like a failed start.
//!
//! Guarantees: `starting` becomes `running` exactly once per run, when it is both settled
//! and ready; a oneshot is `running` as soon as it runs (only its success counts as a start
//! that worked); health results and notify messages of an earlier run, or during shutdown,
//! change nothing.

use std::time::Duration;

use supd_config::Readiness;

use crate::machine::Cx;
use crate::state::{Health, Life};
use crate::types::{Effect, ProgId, Timer};
use crate::why::{Change, Notice, UpBy, Why};

/// While a program is not yet healthy, it is checked at least this often (a dependency
/// should not wait a whole `interval` for its first check).
const STARTING_PROBE_INTERVAL: Duration = Duration::from_millis(250);

impl Cx<'_> {
    /// Run `run` of `p` has just been spawned: decide what it needs before it is up (returns
    /// whether it is already settled and ready), and schedule its first checks.
    pub(crate) fn begin_readiness(&mut self, p: ProgId, run: u32) -> (bool, bool) {
        let prog = &mut self.st.programs[p];
        let spec = &prog.spec;
        let min_uptime = spec.min_uptime;
        let settled = spec.oneshot || min_uptime.is_zero();
        let ready = spec.oneshot || (spec.health.is_none() && spec.ready == Readiness::Started);
        let first_probe = spec
            .health
            .as_ref()
            .map(|h| h.interval.min(STARTING_PROBE_INTERVAL));
        prog.health = spec.health.as_ref().map(|_| Health::default());
        prog.notify_status = None;
        if !settled {
            self.set_timer(min_uptime, Timer::Settled { prog: p, run });
        }
        if let Some(first) = first_probe {
            self.set_timer(first, Timer::Probe { prog: p, run });
        }
        (settled, ready)
    }

    /// `starting` becomes `running` once the run is settled and ready.
    pub(crate) fn maybe_running(&mut self, p: ProgId) {
        let prog = &mut self.st.programs[p];
        let Life::Starting {
            run,
            pid,
            started_at,
            settled: true,
            ready: true,
            cause,
        } = &prog.life
        else {
            return;
        };
        let life = Life::Running {
            run: *run,
            pid: *pid,
            started_at: *started_at,
            cause: cause.clone(),
        };
        // A oneshot is `running` as soon as it runs; only its success counts as a start
        // that worked (a failed migration must back off and reach `fatal`).
        if !prog.spec.oneshot {
            prog.failed_starts = 0;
        }
        let by = match (&prog.spec.health, prog.spec.ready) {
            (_, Readiness::Notify) => UpBy::Ready,
            (Some(_), _) => UpBy::Healthy,
            _ => UpBy::Uptime,
        };
        self.enter(p, life, Change::Up { by });
        self.successor_up(p);
    }

    pub(crate) fn settled(&mut self, p: ProgId, run: u32) {
        if let Life::Starting {
            run: r, settled, ..
        } = &mut self.st.programs[p].life
            && *r == run
        {
            *settled = true;
            self.maybe_running(p);
        }
    }

    /// Time for a health check: ask the daemon to run it, unless the run is over.
    pub(crate) fn probe_due(&mut self, p: ProgId, run: u32) {
        if self.predecessor_check(p, run) {
            return;
        }
        if current_run(&self.st.programs[p].life) == Some(run) {
            self.effects.push(Effect::Probe { prog: p, run });
        }
    }

    pub(crate) fn probe_result(&mut self, p: ProgId, run: u32, ok: bool, detail: String) {
        if self.st.shutdown.is_some() {
            return; // stopping everything anyway: health no longer decides anything
        }
        if self.predecessor_check(p, run) {
            return;
        }
        let prog = &mut self.st.programs[p];
        if current_run(&prog.life) != Some(run) {
            return;
        }
        let started_at = prog.started_at().unwrap_or(self.now);
        let (Some(spec), Some(health)) = (prog.spec.health.clone(), prog.health.as_mut()) else {
            return;
        };
        let in_grace = self.now.saturating_sub(started_at) < spec.start_period;
        if ok {
            let was = health.healthy;
            health.healthy = Some(true);
            health.failures = 0;
            if prog.spec.ready == Readiness::Started
                && let Life::Starting { ready, .. } = &mut prog.life
            {
                *ready = true;
            }
            if was == Some(false) {
                self.notice(Notice::HealthyAgain { prog: p });
            }
            self.maybe_running(p);
        } else if in_grace {
            health.last_failure = Some(detail);
        } else {
            health.healthy = Some(false);
            health.failures += 1;
            health.last_failure = Some(detail.clone());
            let failures = health.failures;
            if failures >= spec.retries {
                self.unhealthy(p, detail, failures);
                return;
            }
            self.notice(Notice::HealthCheckFailed {
                prog: p,
                failures,
                retries: spec.retries,
                detail,
            });
        }
        let ready = match self.st.programs[p].life {
            Life::Starting { ready, .. } => ready,
            _ => true,
        };
        let next = if ready {
            spec.interval
        } else {
            spec.interval.min(STARTING_PROBE_INTERVAL)
        };
        self.set_timer(next, Timer::Probe { prog: p, run });
    }

    /// `retries` checks failed in a row: restart, backing off like a failed start.
    fn unhealthy(&mut self, p: ProgId, detail: String, failures: u32) {
        let why = Why::Unhealthy { detail, failures };
        self.notice(Notice::Restarting {
            prog: p,
            why: why.clone(),
        });
        self.restart_backing_off(p, why);
    }

    pub(crate) fn notified(
        &mut self,
        p: ProgId,
        from_pid: i32,
        ready: bool,
        status: Option<String>,
    ) {
        let prog = &mut self.st.programs[p];
        if prog.pid().is_none() {
            return;
        }
        if let Some(status) = status {
            prog.notify_status = Some(status);
        }
        let wants_notify = prog.spec.ready == Readiness::Notify;
        if let Life::Starting {
            ready: was_ready, ..
        } = &mut prog.life
            && ready
            && wants_notify
            && !*was_ready
        {
            *was_ready = true;
            self.notice(Notice::Ready { prog: p, from_pid });
            self.maybe_running(p);
        }
    }
}

/// The run a health check may still concern: the current one, while it is starting or
/// running.
fn current_run(life: &Life) -> Option<u32> {
    match *life {
        Life::Starting { run, .. } | Life::Running { run, .. } => Some(run),
        _ => None,
    }
}
