//! Start-first restarts (`restart_mode = "start-first"`, `supctl upgrade`), driven by the
//! simulator in `common/`: the new run comes up beside the old one, which is stopped only
//! then; a new run that does not come up leaves the old one serving and fails the restart.

mod common;

use std::time::Duration;

use common::*;
use supd_config::{HealthSpec, PollMode, ProgramSpec, RestartMode, Signal, WatchAction, WatchSpec};
use supd_core::{Action, ExitStatus, Input, Life, OutcomeKind, ProgramState, Why};

const TERMINATED: ExitStatus = ExitStatus::Signaled {
    signal: Signal::SIGTERM,
    core_dumped: false,
};

fn start_first(name: &str) -> ProgramSpec {
    let mut s = spec(name);
    s.restart_mode = RestartMode::StartFirst;
    s.min_uptime = Duration::from_millis(500);
    s.watch = Some(WatchSpec {
        paths: vec![".".into()],
        include: vec![],
        exclude: vec![],
        debounce: Duration::from_millis(200),
        action: WatchAction::Restart,
        poll: PollMode::Auto,
    });
    s
}

/// A simulation with `web` running (up) as pid `old`.
fn running(web: ProgramSpec) -> (Sim, i32) {
    let mut sim = Sim::new(vec![web]).boot();
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.state(0), ProgramState::Running);
    let old = sim.pid(0);
    (sim, old)
}

fn exit_pid(sim: &mut Sim, pid: i32, status: ExitStatus) {
    sim.feed(Input::Exited {
        pid,
        status,
        group_alive: false,
    });
}

#[test]
fn the_old_process_is_stopped_only_once_the_new_one_is_up() {
    let (mut sim, old) = running(start_first("web"));
    sim.command(1, Action::Restart, vec![0]);
    let new = sim.pid(0);
    assert_ne!(new, old, "the new run is spawned at once");
    assert!(
        sim.signals_to(old).is_empty(),
        "the old one serves meanwhile"
    );
    assert_eq!(sim.st.programs[0].previous_pid(), Some(old));
    assert!(
        sim.st.programs[0].is_up(),
        "the program is up during the overlap"
    );
    assert_eq!(sim.reply(1), None, "answered once the new run is up");

    sim.advance(Duration::from_millis(500));
    assert_eq!(sim.state(0), ProgramState::Running);
    assert_eq!(sim.pid(0), new);
    assert_eq!(
        sim.signals_to(old)[0],
        Signal::SIGTERM,
        "then the old one stops"
    );
    assert_eq!(sim.reply(1), Some(vec![OutcomeKind::Restarted]));
    assert!(sim.signals_to(new).is_empty());

    exit_pid(&mut sim, old, TERMINATED);
    assert_eq!(sim.st.programs[0].previous_pid(), None);
    assert_eq!(
        sim.state(0),
        ProgramState::Running,
        "its exit changes nothing else"
    );
    assert_eq!(
        sim.st.programs[0].last_exit, None,
        "the last exit is the current run's"
    );
}

#[test]
fn a_new_run_that_exits_before_it_is_up_leaves_the_old_one_serving() {
    let (mut sim, old) = running(start_first("web"));
    sim.command(1, Action::Restart, vec![0]);
    let new = sim.pid(0);
    exit_pid(&mut sim, new, ExitStatus::Exited(1));
    assert!(
        matches!(sim.st.programs[0].life(), Life::Running { pid, .. } if *pid == old),
        "{:?}",
        sim.st.programs[0].life()
    );
    assert!(
        sim.signals_to(old).is_empty(),
        "the old one was never stopped"
    );
    assert!(
        sim.signals_to(new).is_empty(),
        "the new one is gone already"
    );
    assert!(matches!(
        sim.reply(1).as_deref(),
        Some([OutcomeKind::KeptPrevious { pid, failure: Why::Exited { status: ExitStatus::Exited(1), .. } }]) if *pid == old
    ));
    // No backoff, no retry: the old run simply goes on.
    sim.advance(Duration::from_secs(5));
    assert_eq!(sim.pid(0), old);
    assert_eq!(sim.state(0), ProgramState::Running);
}

#[test]
fn a_new_run_whose_health_never_passes_is_stopped_and_the_old_one_serves_on() {
    let mut web = start_first("web");
    web.min_uptime = Duration::ZERO;
    web.health = checked("web").health.map(|h| HealthSpec {
        interval: Duration::from_secs(1),
        retries: 2,
        ..h
    });
    let mut sim = Sim::new(vec![web]).boot();
    sim.advance(Duration::from_millis(250));
    answer_probes(&mut sim, true);
    let old = sim.pid(0);
    sim.feed(Input::FilesChanged {
        prog: 0,
        paths: vec!["app.py".into()],
    });
    let new = sim.pid(0);
    assert_ne!(new, old);
    // Only the new run is checked during the overlap; its checks fail.
    for _ in 0..8 {
        sim.advance(Duration::from_millis(250));
        answer_probes(&mut sim, false);
        if sim.pid(0) == old {
            break;
        }
    }
    assert_eq!(sim.pid(0), old, "the old run is the current one again");
    assert_eq!(sim.state(0), ProgramState::Running);
    assert_eq!(
        sim.signals_to(new)[0],
        Signal::SIGTERM,
        "the new one is stopped"
    );
    assert!(sim.signals_to(old).is_empty());
    assert_eq!(
        sim.st.programs[0].previous_pid(),
        Some(new),
        "until it is gone"
    );
    exit_pid(&mut sim, new, TERMINATED);
    assert_eq!(sim.st.programs[0].previous_pid(), None);
    // The old run's health checks resume.
    sim.advance(Duration::from_secs(1));
    assert_eq!(answer_probes(&mut sim, true), 1);
    assert_eq!(sim.pid(0), old);
}

#[test]
fn a_stop_during_the_overlap_stops_both() {
    let (mut sim, old) = running(start_first("web"));
    sim.command(1, Action::Restart, vec![0]);
    let new = sim.pid(0);
    sim.command(2, Action::Stop, vec![0]);
    assert_eq!(sim.signals_to(old)[0], Signal::SIGTERM);
    assert_eq!(sim.signals_to(new)[0], Signal::SIGTERM);
    exit_pid(&mut sim, new, TERMINATED);
    assert_eq!(sim.state(0), ProgramState::Stopped);
    assert_eq!(sim.reply(2), Some(vec![OutcomeKind::Stopped]));
    assert_eq!(sim.st.programs[0].previous_pid(), Some(old));
    // A stubborn old one gets SIGKILL after stop_timeout, like any stop.
    sim.advance(Duration::from_secs(10));
    assert!(sim.signals_to(old).contains(&Signal::SIGKILL));
    exit_pid(&mut sim, old, KILLED);
    assert_eq!(sim.st.programs[0].previous_pid(), None);
}

#[test]
fn an_old_process_that_dies_during_the_overlap_leaves_the_new_one_to_carry_on() {
    let (mut sim, old) = running(start_first("web"));
    sim.command(1, Action::Restart, vec![0]);
    let new = sim.pid(0);
    exit_pid(&mut sim, old, KILLED);
    assert_eq!(sim.pid(0), new);
    assert!(
        !sim.st.programs[0].is_up(),
        "nothing serves until the new one is up"
    );
    sim.advance(Duration::from_millis(500));
    assert_eq!(sim.state(0), ProgramState::Running);
    assert_eq!(sim.reply(1), Some(vec![OutcomeKind::Restarted]));
}

#[test]
fn upgrade_is_start_first_whatever_restart_mode_says_and_restart_is_not() {
    let mut web = spec("web");
    web.min_uptime = Duration::from_millis(500);
    let (mut sim, old) = running(web);
    sim.command(1, Action::Restart, vec![0]);
    assert_eq!(
        sim.signals_to(old)[0],
        Signal::SIGTERM,
        "stop-first: stopped at once"
    );
    exit_pid(&mut sim, old, TERMINATED);
    sim.advance(Duration::from_millis(500));
    let old = sim.pid(0);
    sim.command(2, Action::Upgrade, vec![0]);
    assert!(
        sim.signals_to(old).is_empty(),
        "upgrade: serves on meanwhile"
    );
    sim.advance(Duration::from_millis(500));
    assert_eq!(sim.signals_to(old)[0], Signal::SIGTERM);
    assert_eq!(sim.reply(2), Some(vec![OutcomeKind::Restarted]));
}

#[test]
fn a_restart_during_the_overlap_replaces_the_new_run_and_the_old_one_serves_on() {
    let (mut sim, old) = running(start_first("web"));
    sim.feed(Input::FilesChanged {
        prog: 0,
        paths: vec!["a.py".into()],
    });
    let first = sim.pid(0);
    sim.feed(Input::FilesChanged {
        prog: 0,
        paths: vec!["b.py".into()],
    });
    let second = sim.pid(0);
    assert_ne!(second, first);
    assert_eq!(sim.signals_to(first)[0], Signal::SIGTERM);
    assert!(sim.signals_to(old).is_empty());
    sim.advance(Duration::from_millis(500));
    assert_eq!(sim.pid(0), second);
    assert_eq!(sim.signals_to(old)[0], Signal::SIGTERM);
}

#[test]
fn a_shutdown_during_the_overlap_waits_for_both_processes() {
    let (mut sim, old) = running(start_first("web"));
    sim.command(1, Action::Restart, vec![0]);
    let new = sim.pid(0);
    sim.feed(Input::Shutdown { force: false });
    assert_eq!(sim.signals_to(old)[0], Signal::SIGTERM);
    assert_eq!(sim.signals_to(new)[0], Signal::SIGTERM);
    exit_pid(&mut sim, new, TERMINATED);
    assert!(
        !sim.log
            .iter()
            .any(|e| matches!(e, supd_core::Effect::SignalDescendants { .. })),
        "the old one is still a program's process"
    );
    exit_pid(&mut sim, old, TERMINATED);
    sim.feed(Input::NoChildren);
    assert_eq!(sim.exit_code, Some(0));
}
