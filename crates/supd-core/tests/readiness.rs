//! When a program counts as up: health checks, sd_notify `READY=1`, restart after failed
//! checks, and `supctl wait` (issue 5), driven by the simulator in `common/`.

mod common;

use std::time::Duration;

use common::*;
use supd_config::{Readiness, Signal};
use supd_core::{ExitStatus, Input, Life, OutcomeKind, ProgramState, Timer, Why};

#[test]
fn a_health_checked_program_is_up_only_once_healthy_and_dependents_wait_for_it() {
    let mut proxy = spec("proxy");
    proxy.depends_on = vec!["web".into()];
    let mut sim = Sim::new(vec![checked("web"), proxy]).boot();
    assert_eq!(
        sim.state(0),
        ProgramState::Starting,
        "spawned, not yet healthy"
    );
    assert!(sim.st.programs[1].waiting());
    sim.advance(Duration::from_millis(250));
    assert_eq!(
        answer_probes(&mut sim, false),
        1,
        "first check soon after start"
    );
    assert_eq!(sim.state(0), ProgramState::Starting);
    sim.advance(Duration::from_millis(250));
    answer_probes(&mut sim, true);
    assert_eq!(sim.state(0), ProgramState::Running);
    assert!(
        sim.st.programs[1].pid().is_some(),
        "proxy started once web was healthy"
    );
    let health = sim.st.programs[0].health.clone().unwrap();
    assert_eq!(health.healthy, Some(true));
    // Once healthy, checks come every `interval`.
    sim.advance(Duration::from_secs(4));
    assert_eq!(answer_probes(&mut sim, true), 0);
    sim.advance(Duration::from_secs(1));
    assert_eq!(answer_probes(&mut sim, true), 1);
}

#[test]
fn failing_retries_checks_in_a_row_restarts_with_backoff_saying_unhealthy() {
    let mut sim = Sim::new(vec![checked("web")]).boot();
    sim.advance(Duration::from_millis(250));
    answer_probes(&mut sim, true);
    let pid = sim.pid(0);
    for _ in 0..2 {
        sim.advance(Duration::from_secs(5));
        answer_probes(&mut sim, false);
        assert_eq!(
            sim.state(0),
            ProgramState::Running,
            "fewer than `retries` failures"
        );
    }
    sim.advance(Duration::from_secs(5));
    answer_probes(&mut sim, false);
    assert_eq!(sim.state(0), ProgramState::Stopping);
    assert_eq!(sim.signals_to(pid)[0], Signal::SIGTERM);
    sim.exit(
        0,
        ExitStatus::Signaled {
            signal: Signal::SIGTERM,
            core_dumped: false,
        },
    );
    assert_eq!(
        sim.state(0),
        ProgramState::Backoff,
        "backs off like a failed start"
    );
    assert!(
        matches!(
            sim.st.programs[0].life(),
            Life::Backoff {
                failure: Why::Unhealthy { detail, failures: 3 },
                ..
            } if detail == "connection refused"
        ),
        "{:?}",
        sim.st.programs[0].life()
    );
    sim.advance(Duration::from_millis(100));
    assert_eq!(sim.state(0), ProgramState::Starting);
    assert_eq!(sim.st.programs[0].restarts(), 1);
}

#[test]
fn failures_within_start_period_do_not_count() {
    let mut s = checked("slow");
    s.health.as_mut().unwrap().start_period = Duration::from_secs(10);
    s.health.as_mut().unwrap().retries = 1;
    let mut sim = Sim::new(vec![s]).boot();
    for _ in 0..20 {
        sim.advance(Duration::from_millis(250));
        answer_probes(&mut sim, false);
    }
    assert_eq!(
        sim.state(0),
        ProgramState::Starting,
        "still in its grace period"
    );
    sim.advance(Duration::from_secs(6));
    answer_probes(&mut sim, false);
    assert_eq!(
        sim.state(0),
        ProgramState::Stopping,
        "after start_period, failures count"
    );
}

#[test]
fn notify_readiness_waits_for_ready_from_the_program() {
    let mut s = spec("daemon");
    s.min_uptime = Duration::ZERO;
    s.ready = Readiness::Notify;
    let mut sim = Sim::new(vec![s]).boot();
    let pid = sim.pid(0);
    sim.advance(Duration::from_secs(10));
    assert_eq!(
        sim.state(0),
        ProgramState::Starting,
        "not up without READY=1"
    );
    sim.feed(Input::Notify {
        prog: 0,
        from_pid: pid,
        ready: false,
        status: Some("loading data".into()),
    });
    assert_eq!(
        sim.st.programs[0].notify_status.as_deref(),
        Some("loading data")
    );
    assert_eq!(sim.state(0), ProgramState::Starting);
    sim.feed(Input::Notify {
        prog: 0,
        from_pid: pid,
        ready: true,
        status: None,
    });
    assert_eq!(sim.state(0), ProgramState::Running);
}

#[test]
fn dying_before_ready_is_a_failed_start() {
    let mut s = spec("daemon");
    s.min_uptime = Duration::ZERO;
    s.ready = Readiness::Notify;
    let mut sim = Sim::new(vec![s]).boot();
    sim.advance(Duration::from_secs(30));
    sim.exit(0, ExitStatus::Exited(1));
    assert_eq!(sim.state(0), ProgramState::Backoff);
}

#[test]
fn wait_answers_when_up_or_at_timeout() {
    let mut sim = Sim::new(vec![checked("web")]).boot();
    sim.feed(Input::Wait {
        req: 1,
        progs: vec![0],
        timeout: Some(Duration::from_secs(5)),
    });
    assert_eq!(sim.reply(1), None);
    sim.advance(Duration::from_millis(250));
    answer_probes(&mut sim, true);
    assert_eq!(sim.reply(1), Some(vec![OutcomeKind::Up]));

    let mut sim = Sim::new(vec![checked("web")]).boot();
    sim.feed(Input::Wait {
        req: 2,
        progs: vec![0],
        timeout: Some(Duration::from_secs(5)),
    });
    for _ in 0..19 {
        sim.advance(Duration::from_millis(250));
        answer_probes(&mut sim, false);
    }
    assert_eq!(sim.reply(2), None);
    sim.advance(Duration::from_millis(300));
    let reply = sim.reply(2).unwrap();
    assert!(
        matches!(
            &reply[..],
            [OutcomeKind::NotUpYet(Life::Stopping {
                cause: Why::Unhealthy { .. },
                ..
            })]
        ),
        "{reply:?}"
    );
    assert!(
        sim.timers
            .iter()
            .all(|(_, t)| !matches!(t, Timer::WaitTimeout { .. }))
    );
}

#[test]
fn wait_fails_at_once_for_a_program_that_will_not_come_up() {
    let mut s = spec("bad");
    s.start_retries = Some(0);
    let mut sim = Sim::new(vec![s]).boot();
    sim.feed(Input::Wait {
        req: 3,
        progs: vec![0],
        timeout: None,
    });
    sim.exit(0, ExitStatus::Exited(1));
    let reply = sim.reply(3).unwrap();
    assert!(
        matches!(&reply[..], [OutcomeKind::WillNotComeUp(Life::Fatal { .. })]),
        "{reply:?}"
    );
}

#[test]
fn a_failing_check_during_shutdown_restarts_nothing() {
    let mut proxy = spec("proxy");
    proxy.depends_on = vec!["web".into()];
    let mut web = checked("web");
    web.health.as_mut().unwrap().retries = 1;
    let mut sim = Sim::new(vec![web, proxy]).boot();
    sim.advance(Duration::from_millis(250));
    answer_probes(&mut sim, true);
    sim.advance(Duration::from_secs(2));
    let spawned = sim.spawn_times();
    sim.feed(Input::Shutdown { force: false });
    // web waits for proxy to stop; meanwhile its check fails.
    sim.advance(Duration::from_secs(5));
    answer_probes(&mut sim, false);
    assert_eq!(
        sim.state(0),
        ProgramState::Running,
        "web is left for the shutdown plan"
    );
    sim.exit(1, ExitStatus::Exited(0));
    sim.exit(0, ExitStatus::Exited(0));
    sim.advance(Duration::from_secs(5));
    assert_eq!(
        sim.spawn_times(),
        spawned,
        "nothing started during shutdown"
    );
}
