//! When a started program counts as up: `min_uptime` passed, plus its readiness condition —
//! a passing health check, or `READY=1` over `NOTIFY_SOCKET`. Also the health checks of a
//! running program (restart with backoff after `retries` failures in a row) and
//! `supctl wait`.

use std::time::Duration;

use supd_config::Readiness;
use supd_proto::ProgramState;

use crate::machine::Cx;
use crate::requests::{Goal, Pending};
use crate::state::Health;
use crate::types::{Effect, ProgId, ReqId, Timer};

/// While a program is not yet healthy, it is checked at least this often (a dependency
/// should not wait a whole `interval` for its first check).
const STARTING_PROBE_INTERVAL: Duration = Duration::from_millis(250);

impl Cx<'_> {
    /// A run has just been spawned: decide what it needs before it is up, and schedule its
    /// first health check.
    pub(crate) fn begin_readiness(&mut self, p: ProgId) {
        let prog = &mut self.st.programs[p];
        let min_uptime = prog.spec.min_uptime;
        prog.settled = prog.spec.oneshot || min_uptime.is_zero();
        prog.ready = prog.spec.oneshot
            || (prog.spec.health.is_none() && prog.spec.ready == Readiness::Started);
        prog.health = prog.spec.health.as_ref().map(|_| Health::default());
        prog.notify_status = None;
        let run = prog.run;
        if !prog.settled {
            self.effects.push(Effect::SetTimer {
                at: self.now + min_uptime,
                timer: Timer::Settled { prog: p, run },
            });
        }
        if let Some(h) = &self.st.programs[p].spec.health {
            let first = h.interval.min(STARTING_PROBE_INTERVAL);
            self.effects.push(Effect::SetTimer {
                at: self.now + first,
                timer: Timer::Probe { prog: p, run },
            });
        }
    }

    /// `starting` becomes `running` once the run is settled and ready.
    pub(crate) fn maybe_running(&mut self, p: ProgId) {
        let prog = &mut self.st.programs[p];
        if prog.state == ProgramState::Starting && prog.pid.is_some() && prog.settled && prog.ready
        {
            // A oneshot is `running` as soon as it runs; only its success counts as a
            // start that worked (a failed migration must back off and reach `fatal`).
            if !prog.spec.oneshot {
                prog.failures = 0;
            }
            let (how, why) = match (&prog.spec.health, prog.spec.ready) {
                (_, Readiness::Notify) => ("running (ready)", Some("READY=1")),
                (Some(_), _) => ("running (healthy)", Some("healthy")),
                _ => ("running", None),
            };
            self.transition(
                p,
                ProgramState::Running,
                how.into(),
                why.map(str::to_string),
            );
        }
    }

    pub(crate) fn settled(&mut self, p: ProgId, run: u32) {
        let prog = &mut self.st.programs[p];
        if prog.run == run && prog.pid.is_some() {
            prog.settled = true;
            self.maybe_running(p);
        }
    }

    /// Time for a health check: ask the daemon to run it, unless the run is over.
    pub(crate) fn probe_due(&mut self, p: ProgId, run: u32) {
        let prog = &self.st.programs[p];
        if prog.run == run
            && prog.pid.is_some()
            && matches!(prog.state, ProgramState::Starting | ProgramState::Running)
        {
            self.effects.push(Effect::Probe { prog: p, run });
        }
    }

    pub(crate) fn probe_result(&mut self, p: ProgId, run: u32, ok: bool, detail: String) {
        if self.st.shutdown.is_some() {
            return; // stopping everything anyway: health no longer decides anything
        }
        let prog = &mut self.st.programs[p];
        let (Some(spec), Some(health)) = (prog.spec.health.clone(), prog.health.as_mut()) else {
            return;
        };
        if prog.run != run
            || prog.pid.is_none()
            || !matches!(prog.state, ProgramState::Starting | ProgramState::Running)
        {
            return;
        }
        let in_grace =
            self.now.saturating_sub(prog.started_at.unwrap_or(self.now)) < spec.start_period;
        let name = prog.spec.name.clone();
        if ok {
            let was = health.healthy;
            health.healthy = Some(true);
            health.failures = 0;
            if prog.spec.ready == Readiness::Started {
                prog.ready = true;
            }
            if was == Some(false) {
                self.notice(format!("{name}: healthy again"));
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
                self.unhealthy(p, &detail, failures);
                return;
            }
            self.notice(format!(
                "{name}: health check failed ({failures} of {}): {detail}",
                spec.retries
            ));
        }
        let ready = self.st.programs[p].ready;
        let next = if ready {
            spec.interval
        } else {
            spec.interval.min(STARTING_PROBE_INTERVAL)
        };
        self.effects.push(Effect::SetTimer {
            at: self.now + next,
            timer: Timer::Probe { prog: p, run },
        });
    }

    /// `retries` checks failed in a row: restart, backing off like a failed start.
    fn unhealthy(&mut self, p: ProgId, detail: &str, failures: u32) {
        let name = self.st.programs[p].spec.name.clone();
        let why = format!("unhealthy: {detail} ({failures} checks failed in a row)");
        self.notice(format!("{name}: {why}; restarting"));
        self.stop(p, &why);
        let prog = &mut self.st.programs[p];
        prog.restart_after_stop = Some(why);
        prog.backoff_after_stop = true;
    }

    pub(crate) fn notified(
        &mut self,
        p: ProgId,
        from_pid: i32,
        ready: bool,
        status: Option<String>,
    ) {
        let prog = &mut self.st.programs[p];
        if prog.pid.is_none() {
            return;
        }
        if let Some(status) = status {
            prog.notify_status = Some(status);
        }
        if ready && prog.spec.ready == Readiness::Notify && !prog.ready {
            prog.ready = true;
            let name = prog.spec.name.clone();
            self.notice(format!("{name}: READY=1 from pid {from_pid}"));
            self.maybe_running(p);
        }
    }

    /// `supctl wait`: answered when every program is up, definitely failed, or at timeout.
    pub(crate) fn wait(&mut self, req: ReqId, progs: Vec<ProgId>, timeout: Option<Duration>) {
        let items = progs
            .into_iter()
            .map(|p| Pending::Wait(p, Goal::Ready))
            .collect();
        self.st.waiters.add(req, items);
        if let Some(t) = timeout {
            self.effects.push(Effect::SetTimer {
                at: self.now + t,
                timer: Timer::WaitTimeout { req },
            });
        }
    }

    pub(crate) fn wait_timeout(&mut self, req: ReqId) {
        let programs = &self.st.programs;
        if let Some(outcomes) = self.st.waiters.expire(req, |p| {
            let prog = &programs[p];
            let why = prog.reason.as_deref().unwrap_or("no reason given");
            format!("not up yet: {} ({why})", prog.state)
        }) {
            self.effects.push(Effect::Reply { req, outcomes });
        }
    }
}
