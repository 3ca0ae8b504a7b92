//! The state machine: lifecycle, restart policies, stopping, dependencies, shutdown, file
//! changes and reload, driven by the simulator in `common/`.

mod common;

use std::time::Duration;

use common::*;
use supd_config::{ProgramSpec, RestartPolicy, Signal};
use supd_core::{
    Action, Change, Effect, ExitStatus, Halt, Input, Life, Notice, OutcomeKind, ProgramState,
    Timer, Why,
};

#[test]
fn boot_starts_autostart_programs_and_they_settle_after_min_uptime() {
    let mut idle = spec("idle");
    idle.autostart = false;
    let mut sim = Sim::new(vec![spec("a"), spec("b"), idle]).boot();
    assert_eq!(sim.state(0), ProgramState::Starting);
    assert!(sim.st.programs[0].pid().is_some());
    assert_eq!(sim.state(2), ProgramState::Stopped);
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.state(0), ProgramState::Running);
    assert_eq!(sim.state(1), ProgramState::Running);
    assert_eq!(sim.st.programs[0].restarts(), 0);
}

#[test]
fn zero_min_uptime_is_running_at_once() {
    let mut s = spec("a");
    s.min_uptime = Duration::ZERO;
    let sim = Sim::new(vec![s]).boot();
    assert_eq!(sim.state(0), ProgramState::Running);
}

#[test]
fn crash_after_min_uptime_restarts_at_once_and_counts_a_restart() {
    let mut sim = Sim::new(vec![spec("web")]).boot();
    sim.advance(Duration::from_secs(5));
    let old = sim.pid(0);
    sim.exit(0, KILLED);
    let p = &sim.st.programs[0];
    assert_eq!(p.state(), ProgramState::Starting);
    assert_ne!(p.pid(), Some(old), "a new process, no delay");
    assert_eq!(p.restarts(), 1);
    assert_eq!(p.last_exit, Some(KILLED));
    assert!(
        matches!(
            p.life(),
            Life::Starting {
                cause: Why::Restarted(KILLED),
                ..
            }
        ),
        "{:?}",
        p.life()
    );
}

#[test]
fn failed_starts_back_off_doubling_then_go_fatal() {
    let mut s = spec("bad");
    s.start_retries = Some(3);
    let mut sim = Sim::new(vec![s]).boot();
    let mut delays = Vec::new();
    for _ in 0..3 {
        sim.advance(10 * MS);
        sim.exit(0, ExitStatus::Exited(1));
        assert_eq!(sim.state(0), ProgramState::Backoff);
        let (at, _) = *sim
            .timers
            .iter()
            .find(|(_, t)| matches!(t, Timer::Retry { .. }))
            .unwrap();
        delays.push((at - sim.now).as_millis());
        sim.advance(at - sim.now);
        assert_eq!(sim.state(0), ProgramState::Starting);
    }
    assert_eq!(delays, [100, 200, 400]);
    sim.advance(10 * MS);
    sim.exit(0, ExitStatus::Exited(1));
    assert_eq!(sim.state(0), ProgramState::Fatal);
    assert_eq!(
        sim.spawn_times(),
        4,
        "the first start plus start_retries retries"
    );
    assert_eq!(
        sim.st.programs[0].life(),
        &Life::Fatal {
            why: Why::Exited {
                status: ExitStatus::Exited(1),
                after: 10 * MS
            }
        }
    );
    assert!(sim.log.iter().any(|e| matches!(
        e,
        Effect::Changed {
            change: Change::GaveUp { failures: 4, .. },
            ..
        }
    )));

    // `supctl start` revives it, with a fresh failure count.
    sim.command(1, Action::Start, vec![0]);
    assert_eq!(sim.state(0), ProgramState::Starting);
    assert_eq!(sim.st.programs[0].failed_starts(), 0);
    assert_eq!(sim.reply(1), None, "the reply waits for the outcome");
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.reply(1), Some(vec![OutcomeKind::Started]));
}

#[test]
fn start_reply_reports_a_failed_start() {
    let mut s = spec("bad");
    s.autostart = false;
    let mut sim = Sim::new(vec![s]).boot();
    sim.command(7, Action::Start, vec![0]);
    sim.advance(5 * MS);
    sim.exit(0, ExitStatus::Exited(1));
    assert_eq!(
        sim.reply(7),
        Some(vec![OutcomeKind::FailedToStart(Why::Exited {
            status: ExitStatus::Exited(1),
            after: 5 * MS
        })])
    );
}

#[test]
fn spawn_failure_backs_off_with_the_error_as_reason() {
    let mut s = spec("ghost");
    s.start_retries = Some(1);
    let mut sim = Sim::new(vec![s]);
    sim.spawn_error
        .push((0, "No such file or directory".into()));
    let mut sim = sim.boot();
    assert!(
        matches!(
            sim.st.programs[0].life(),
            Life::Backoff { failure: Why::SpawnFailed(error), .. }
                if error == "No such file or directory"
        ),
        "{:?}",
        sim.st.programs[0].life()
    );
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.state(0), ProgramState::Fatal);
}

#[test]
fn on_failure_policy_keeps_success_exited_and_restarts_failures() {
    let mut s = spec("job");
    s.restart = RestartPolicy::OnFailure;
    let mut sim = Sim::new(vec![s.clone()]).boot();
    sim.advance(Duration::from_secs(2));
    sim.exit(0, ExitStatus::Exited(0));
    assert_eq!(sim.state(0), ProgramState::Exited);
    assert_eq!(sim.spawn_times(), 1);

    let mut sim = Sim::new(vec![s]).boot();
    sim.advance(Duration::from_secs(2));
    sim.exit(0, ExitStatus::Exited(3));
    assert_eq!(sim.state(0), ProgramState::Starting);
    assert_eq!(sim.spawn_times(), 2);
}

#[test]
fn custom_exit_codes_count_as_success() {
    let mut s = spec("job");
    s.restart = RestartPolicy::OnFailure;
    s.exit_codes = vec![0, 3];
    let mut sim = Sim::new(vec![s]).boot();
    sim.advance(Duration::from_secs(2));
    sim.exit(0, ExitStatus::Exited(3));
    assert_eq!(sim.state(0), ProgramState::Exited);
}

#[test]
fn never_policy_never_restarts() {
    let mut s = spec("once");
    s.restart = RestartPolicy::Never;
    for status in [ExitStatus::Exited(0), ExitStatus::Exited(2), KILLED] {
        let mut sim = Sim::new(vec![s.clone()]).boot();
        sim.advance(Duration::from_secs(2));
        sim.exit(0, status);
        let expected = if status == ExitStatus::Exited(0) {
            ProgramState::Exited
        } else {
            ProgramState::Fatal
        };
        assert_eq!(sim.state(0), expected, "{status:?}");
        sim.advance(Duration::from_secs(60));
        assert_eq!(sim.spawn_times(), 1);
    }
}

#[test]
fn stop_signals_the_group_then_kills_after_stop_timeout() {
    let mut sim = Sim::new(vec![spec("web")]).boot();
    sim.advance(Duration::from_secs(2));
    let pid = sim.pid(0);
    sim.command(1, Action::Stop, vec![0]);
    assert_eq!(sim.state(0), ProgramState::Stopping);
    assert_eq!(sim.signals_to(pid), [Signal::SIGTERM, Signal::SIGCONT]);
    sim.advance(Duration::from_secs(9));
    assert_eq!(sim.signals_to(pid).len(), 2, "no KILL before stop_timeout");
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.signals_to(pid).last(), Some(&Signal::SIGKILL));
    assert_eq!(sim.reply(1), None);
    sim.exit(0, KILLED);
    assert_eq!(sim.state(0), ProgramState::Stopped);
    assert_eq!(sim.reply(1), Some(vec![OutcomeKind::Stopped]));
    assert_eq!(
        sim.st.programs[0].life(),
        &Life::Stopped {
            why: Some(Halt::Stopped {
                by: Why::Requested(Action::Stop),
                exit: Some(KILLED)
            })
        }
    );
    sim.advance(Duration::from_secs(60));
    assert_eq!(sim.spawn_times(), 1, "a stopped program stays stopped");
}

#[test]
fn stop_waits_for_the_whole_group_when_the_leader_exits_first() {
    let mut sim = Sim::new(vec![spec("sh")]).boot();
    sim.advance(Duration::from_secs(2));
    let pid = sim.pid(0);
    sim.command(1, Action::Stop, vec![0]);
    sim.feed(Input::Exited {
        pid,
        status: ExitStatus::Exited(0),
        group_alive: true,
    });
    assert_eq!(sim.state(0), ProgramState::Stopping);
    assert_eq!(sim.st.lingering_groups().collect::<Vec<_>>(), [(0, 1, pid)]);
    assert_eq!(sim.reply(1), None);
    sim.advance(Duration::from_secs(10));
    assert_eq!(sim.signals_to(pid).last(), Some(&Signal::SIGKILL));
    sim.feed(Input::GroupEmpty { prog: 0, run: 1 });
    assert_eq!(sim.state(0), ProgramState::Stopped);
    assert_eq!(sim.reply(1), Some(vec![OutcomeKind::Stopped]));
}

#[test]
fn a_leader_that_dies_alone_gets_its_leftovers_terminated() {
    let mut sim = Sim::new(vec![spec("sh")]).boot();
    sim.advance(Duration::from_secs(2));
    let pid = sim.pid(0);
    sim.feed(Input::Exited {
        pid,
        status: KILLED,
        group_alive: true,
    });
    assert_eq!(sim.signals_to(pid), [Signal::SIGTERM]);
    sim.advance(Duration::from_secs(10));
    assert_eq!(sim.signals_to(pid), [Signal::SIGTERM, Signal::SIGKILL]);
}

#[test]
fn restart_stops_then_starts_and_counts() {
    let mut sim = Sim::new(vec![spec("web")]).boot();
    sim.advance(Duration::from_secs(2));
    sim.command(1, Action::Restart, vec![0]);
    assert_eq!(sim.state(0), ProgramState::Stopping);
    sim.exit(
        0,
        ExitStatus::Signaled {
            signal: Signal::SIGTERM,
            core_dumped: false,
        },
    );
    assert_eq!(sim.state(0), ProgramState::Starting);
    assert_eq!(sim.st.programs[0].restarts(), 1);
    assert!(matches!(
        sim.st.programs[0].life(),
        Life::Starting {
            cause: Why::Requested(Action::Restart),
            ..
        }
    ));
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.reply(1), Some(vec![OutcomeKind::Restarted]));
}

#[test]
fn start_of_a_running_program_answers_at_once() {
    let mut sim = Sim::new(vec![spec("web")]).boot();
    sim.advance(Duration::from_secs(2));
    sim.command(1, Action::Start, vec![0]);
    assert_eq!(sim.reply(1), Some(vec![OutcomeKind::AlreadyRunning]));
    assert_eq!(sim.spawn_times(), 1);
}

#[test]
fn stale_timers_from_an_earlier_run_are_ignored() {
    let mut sim = Sim::new(vec![spec("web")]).boot();
    // Run 1 dies before min_uptime; `supctl start` starts run 2 before the retry timer.
    sim.advance(10 * MS);
    sim.exit(0, ExitStatus::Exited(1));
    sim.command(1, Action::Start, vec![0]);
    let run2 = sim.pid(0);
    sim.advance(Duration::from_millis(150)); // run 1's Retry and Settled timers fire
    assert_eq!(sim.pid(0), run2, "the stale retry did not spawn again");
    assert_eq!(sim.spawn_times(), 2);
}

#[test]
fn orphans_change_nothing() {
    let mut sim = Sim::new(vec![spec("web")]).boot();
    let before = sim.log.len();
    sim.feed(Input::Exited {
        pid: 99_999,
        status: ExitStatus::Exited(0),
        group_alive: false,
    });
    assert_eq!(sim.log.len(), before);
}

#[test]
fn dependencies_start_first_and_failures_block_dependents() {
    let mut migrate = spec("migrate");
    migrate.oneshot = true;
    migrate.restart = RestartPolicy::Never;
    let mut web = spec("web");
    web.depends_on = vec!["migrate".into()];
    let mut proxy = spec("proxy");
    proxy.depends_on = vec!["web".into()];
    let specs = vec![proxy, web, migrate];

    let mut sim = Sim::new(specs.clone()).boot();
    assert_eq!(sim.state(2), ProgramState::Running, "oneshot runs");
    assert_eq!(sim.st.programs[1].life(), &Life::Waiting { on: vec![2] });
    assert!(sim.st.programs[0].waiting());
    sim.advance(50 * MS);
    sim.exit(2, ExitStatus::Exited(0));
    assert_eq!(sim.state(2), ProgramState::Exited);
    assert_eq!(sim.state(1), ProgramState::Starting);
    assert!(
        sim.st.programs[1].pid().is_some(),
        "web spawned once migrate completed"
    );
    assert!(
        sim.st.programs[0].waiting(),
        "proxy waits until web is running"
    );
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.state(1), ProgramState::Running);
    assert!(sim.st.programs[0].pid().is_some());

    let mut sim = Sim::new(specs).boot();
    sim.exit(2, ExitStatus::Exited(1));
    assert_eq!(sim.state(2), ProgramState::Fatal);
    let blocked_by = |dep| Life::Stopped {
        why: Some(Halt::Blocked { dep, failed: true }),
    };
    assert_eq!(sim.st.programs[1].life(), &blocked_by(2));
    assert_eq!(
        sim.st.programs[0].life(),
        &Life::Stopped {
            why: Some(Halt::Blocked {
                dep: 1,
                failed: false
            })
        }
    );
    assert_eq!(sim.spawn_times(), 1);
}

#[test]
fn shutdown_stops_dependents_first_then_signals_descendants_then_exits() {
    let a = spec("a");
    let mut b = spec("b");
    b.depends_on = vec!["a".into()];
    let mut c = spec("c");
    c.depends_on = vec!["b".into()];
    let free = spec("free");
    let mut sim = Sim::new(vec![a, b, c, free]).boot();
    sim.advance(Duration::from_secs(3));
    let pids: Vec<i32> = (0..4).map(|p| sim.pid(p)).collect();
    sim.feed(Input::Shutdown { force: false });
    assert_eq!(sim.state(2), ProgramState::Stopping, "c first");
    assert_eq!(sim.state(3), ProgramState::Stopping, "free in parallel");
    assert_eq!(sim.state(1), ProgramState::Running);
    assert_eq!(sim.state(0), ProgramState::Running);
    sim.exit(2, ExitStatus::Exited(0));
    assert_eq!(sim.state(1), ProgramState::Stopping, "then b");
    assert_eq!(sim.state(0), ProgramState::Running);
    sim.exit(1, ExitStatus::Exited(0));
    assert_eq!(sim.state(0), ProgramState::Stopping, "a last");
    sim.exit(3, ExitStatus::Exited(0));
    assert!(
        !sim.log
            .iter()
            .any(|e| matches!(e, Effect::SignalDescendants { .. }))
    );
    sim.exit(0, ExitStatus::Exited(0));
    assert!(sim.log.iter().any(|e| matches!(
        e,
        Effect::SignalDescendants {
            signal: Signal::SIGTERM
        }
    )));
    assert_eq!(sim.exit_code, None, "waits until no child is left");
    sim.feed(Input::NoChildren);
    assert_eq!(sim.exit_code, Some(0));
    for pid in pids {
        assert_eq!(sim.signals_to(pid)[0], Signal::SIGTERM);
    }
    assert_eq!(sim.spawn_times(), 4, "nothing restarted during shutdown");
}

#[test]
fn second_shutdown_request_kills_everything_now() {
    let mut sim = Sim::new(vec![spec("a"), spec("b")]).boot();
    sim.advance(Duration::from_secs(2));
    let (a, b) = (sim.pid(0), sim.pid(1));
    sim.feed(Input::Shutdown { force: false });
    sim.feed(Input::Shutdown { force: true });
    assert_eq!(sim.signals_to(a).last(), Some(&Signal::SIGKILL));
    assert_eq!(sim.signals_to(b).last(), Some(&Signal::SIGKILL));
    assert!(sim.log.iter().any(|e| matches!(
        e,
        Effect::SignalDescendants {
            signal: Signal::SIGKILL
        }
    )));
    sim.feed(Input::NoChildren);
    assert_eq!(sim.exit_code, Some(0));
}

#[test]
fn shutdown_deadline_kills_what_is_left() {
    let mut sim = Sim::new(vec![spec("stubborn")]).boot();
    sim.st.programs[0].spec.stop_timeout = Duration::from_secs(100);
    sim.advance(Duration::from_secs(2));
    let pid = sim.pid(0);
    sim.feed(Input::Shutdown { force: false });
    sim.advance(Duration::from_secs(29));
    assert_ne!(sim.signals_to(pid).last(), Some(&Signal::SIGKILL));
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.signals_to(pid).last(), Some(&Signal::SIGKILL));
}

#[test]
fn commands_during_shutdown_are_refused() {
    let mut sim = Sim::new(vec![spec("a")]).boot();
    sim.feed(Input::Shutdown { force: false });
    sim.command(5, Action::Start, vec![0]);
    assert_eq!(sim.reply(5), Some(vec![OutcomeKind::Refused]));
}

#[test]
fn critical_failure_shuts_down_with_the_program_exit_code() {
    let mut migrate = spec("migrate");
    migrate.oneshot = true;
    migrate.restart = RestartPolicy::Never;
    migrate.critical = true;
    let mut sim = Sim::new(vec![migrate, spec("other")]).boot();
    sim.advance(Duration::from_secs(2));
    sim.exit(0, ExitStatus::Exited(3));
    assert_eq!(sim.state(0), ProgramState::Fatal);
    assert!(sim.st.shutting_down());
    assert_eq!(sim.state(1), ProgramState::Stopping);
    sim.exit(1, ExitStatus::Exited(0));
    sim.feed(Input::NoChildren);
    assert_eq!(sim.exit_code, Some(3));
}

fn watched(name: &str, action: supd_config::WatchAction) -> ProgramSpec {
    let mut s = spec(name);
    s.watch = Some(supd_config::WatchSpec {
        paths: vec![".".into()],
        include: vec![],
        exclude: vec![],
        debounce: Duration::from_millis(200),
        action,
        poll: supd_config::PollMode::Auto,
    });
    s
}

fn changed(paths: &[&str]) -> Vec<String> {
    paths.iter().map(|p| p.to_string()).collect()
}

#[test]
fn a_file_change_restarts_a_running_program_and_says_why() {
    let mut sim = Sim::new(vec![watched("web", supd_config::WatchAction::Restart)]).boot();
    sim.advance(Duration::from_secs(2));
    let old = sim.pid(0);
    sim.feed(Input::FilesChanged {
        prog: 0,
        paths: changed(&["app/views.py", "app/urls.py", "app/models.py"]),
    });
    assert_eq!(sim.state(0), ProgramState::Stopping);
    assert_eq!(sim.signals_to(old)[0], Signal::SIGTERM);
    // More changes while it stops: still one restart.
    sim.feed(Input::FilesChanged {
        prog: 0,
        paths: changed(&["app/views.py"]),
    });
    sim.exit(0, ExitStatus::Exited(0));
    assert_eq!(sim.state(0), ProgramState::Starting);
    assert_eq!(sim.spawn_times(), 2);
    assert_eq!(sim.st.programs[0].restarts(), 1);
    assert!(matches!(
        sim.st.programs[0].life(),
        Life::Starting { cause: Why::FilesChanged(paths), .. } if *paths == changed(&["app/views.py"])
    ));
    let first_burst = changed(&["app/views.py", "app/urls.py", "app/models.py"]);
    assert!(sim.log.iter().any(|e| *e
        == Effect::Notice(Notice::RestartingForChanges {
            prog: 0,
            paths: first_burst.clone()
        })));
}

#[test]
fn a_file_change_revives_a_crash_looping_program_at_once() {
    let mut s = watched("web", supd_config::WatchAction::Restart);
    s.start_retries = Some(0);
    let mut sim = Sim::new(vec![s]).boot();
    sim.exit(0, ExitStatus::Exited(1));
    assert_eq!(sim.state(0), ProgramState::Fatal);
    sim.feed(Input::FilesChanged {
        prog: 0,
        paths: changed(&["app.py"]),
    });
    assert_eq!(sim.state(0), ProgramState::Starting);
    assert!(sim.st.programs[0].pid().is_some());
    assert_eq!(sim.st.programs[0].failed_starts(), 0);
}

#[test]
fn a_file_change_never_starts_a_stopped_program() {
    let mut sim = Sim::new(vec![watched("web", supd_config::WatchAction::Restart)]).boot();
    sim.advance(Duration::from_secs(2));
    sim.command(1, Action::Stop, vec![0]);
    sim.feed(Input::FilesChanged {
        prog: 0,
        paths: changed(&["a.py"]),
    });
    sim.exit(0, ExitStatus::Exited(0));
    assert_eq!(sim.state(0), ProgramState::Stopped);
    sim.feed(Input::FilesChanged {
        prog: 0,
        paths: changed(&["a.py"]),
    });
    assert_eq!(sim.state(0), ProgramState::Stopped);
    assert_eq!(sim.spawn_times(), 1);
}

#[test]
fn a_signal_action_signals_the_group_and_keeps_the_pid() {
    let mut sim = Sim::new(vec![watched(
        "nginx",
        supd_config::WatchAction::Signal(Signal::SIGHUP),
    )])
    .boot();
    let pid = sim.pid(0);
    sim.feed(Input::FilesChanged {
        prog: 0,
        paths: changed(&["nginx.conf"]),
    });
    assert_eq!(sim.signals_to(pid), [Signal::SIGHUP]);
    assert_eq!(sim.pid(0), pid);
    assert_eq!(sim.spawn_times(), 1);
}

fn reload(sim: &mut Sim, specs: Vec<ProgramSpec>) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    sim.feed(Input::Reload {
        req: Some(99),
        specs,
        shutdown_timeout: Duration::from_secs(30),
    });
    sim.log
        .iter()
        .rev()
        .find_map(|e| match e {
            Effect::Reloaded {
                added,
                changed,
                removed,
                ..
            } => Some((added.clone(), changed.clone(), removed.clone())),
            _ => None,
        })
        .expect("a Reloaded effect")
}

#[test]
fn reload_applies_only_the_difference() {
    let mut sim = Sim::new(vec![spec("keep"), spec("change"), spec("drop")]).boot();
    sim.advance(Duration::from_secs(2));
    let (keep, change, drop) = (sim.pid(0), sim.pid(1), sim.pid(2));

    let mut changed = spec("change");
    changed.environment = vec![("MODE".into(), "new".into())];
    let (added, changed_ids, removed) = reload(&mut sim, vec![spec("keep"), changed, spec("new")]);
    assert_eq!((added, changed_ids, removed), (vec![3], vec![1], vec![2]));

    assert_eq!(sim.pid(0), keep, "unchanged: same process");
    assert!(sim.signals_to(keep).is_empty());
    assert_eq!(sim.state(1), ProgramState::Stopping, "changed: restarting");
    assert_eq!(sim.signals_to(change)[0], Signal::SIGTERM);
    assert_eq!(sim.state(2), ProgramState::Stopping, "removed: stopping");
    assert!(sim.st.programs[2].retired);
    assert!(sim.st.program("drop").is_none());
    assert_eq!(sim.state(3), ProgramState::Starting, "added: started");

    sim.exit(1, ExitStatus::Exited(0));
    assert_eq!(sim.state(1), ProgramState::Starting);
    assert_eq!(sim.st.programs[1].spec.environment[0].1, "new");
    sim.exit(2, ExitStatus::Exited(0));
    assert_eq!(sim.state(2), ProgramState::Stopped);
    sim.advance(Duration::from_secs(60));
    assert!(
        sim.st.programs[2].pid().is_none(),
        "a retired program never starts again"
    );
    assert_eq!(sim.st.current().count(), 3);
    let _ = drop;
}

#[test]
fn reload_gives_a_failing_program_with_new_settings_a_fresh_try() {
    let mut bad = spec("web");
    bad.start_retries = Some(0);
    let mut sim = Sim::new(vec![bad.clone()]).boot();
    sim.exit(0, ExitStatus::Exited(127));
    assert_eq!(sim.state(0), ProgramState::Fatal);
    let mut fixed = bad;
    fixed.command = vec!["/bin/sleep".into(), "1000".into()];
    reload(&mut sim, vec![fixed]);
    assert_eq!(sim.state(0), ProgramState::Starting);
    assert!(sim.st.programs[0].pid().is_some());
}

#[test]
fn reload_relinks_dependencies_by_name() {
    let mut web = spec("web");
    web.depends_on = vec!["db".into()];
    let mut sim = Sim::new(vec![spec("db"), web.clone()]).boot();
    sim.advance(Duration::from_secs(2));
    // db is removed and re-added under the same name: web now depends on the new one.
    reload(&mut sim, vec![web.clone()]);
    assert!(sim.st.programs[1].deps.is_empty());
    reload(&mut sim, vec![spec("db"), web]);
    assert_eq!(
        sim.st.programs[1].deps,
        [2],
        "the new db, not the retired one (0)"
    );
}

fn oneshot(name: &str) -> ProgramSpec {
    let mut s = spec(name);
    s.oneshot = true;
    s.restart = supd_config::RestartPolicy::OnFailure;
    s
}

#[test]
fn a_failing_oneshot_backs_off_doubling_then_is_fatal_and_a_critical_one_stops_supd() {
    // The migration pattern: retried twice, then supd exits with its code.
    let mut migrate = oneshot("migrate");
    migrate.start_retries = Some(2);
    migrate.critical = true;
    let mut sim = Sim::new(vec![migrate]).boot();
    let mut delays = Vec::new();
    for _ in 0..3 {
        assert_eq!(
            sim.state(0),
            ProgramState::Running,
            "a oneshot runs at once"
        );
        sim.advance(Duration::from_millis(300));
        sim.exit(0, ExitStatus::Exited(3));
        if sim.state(0) == ProgramState::Backoff {
            let at = sim
                .timers
                .iter()
                .find_map(|(at, t)| matches!(t, Timer::Retry { .. }).then_some(*at))
                .expect("a retry timer");
            delays.push((at - sim.now).as_millis());
            sim.advance(at - sim.now);
        }
    }
    assert_eq!(delays, [100, 200], "the delay doubles per failed start");
    assert_eq!(sim.state(0), ProgramState::Fatal);
    assert_eq!(sim.st.programs[0].failed_starts(), 3);
    // critical: everything stops; once nothing is left supd exits with the oneshot's code.
    assert!(sim.st.shutting_down());
    sim.feed(Input::NoChildren);
    assert_eq!(sim.exit_code, Some(3));
}

#[test]
fn a_command_that_cannot_be_executed_is_fatal_at_once_and_supctl_start_tries_again() {
    // Unlimited start_retries (the default): retrying could not help anyway.
    let mut sim = Sim::new(vec![spec("web")]);
    sim.futile_spawns.push(0);
    let mut sim = sim.boot();
    assert_eq!(sim.state(0), ProgramState::Fatal);
    assert_eq!(sim.spawn_times(), 1, "not retried");
    sim.advance(Duration::from_secs(600));
    assert_eq!(sim.spawn_times(), 1, "still not retried");
    assert_eq!(
        sim.st.programs[0].life(),
        &Life::Fatal {
            why: Why::CannotExecute("cannot run \"web\": No such file or directory".into())
        }
    );
    assert!(sim.log.iter().any(|e| matches!(
        e,
        Effect::Changed {
            change: Change::NotRetried { watched: false, .. },
            ..
        }
    )));
    // The binary was installed: supctl start tries again.
    sim.futile_spawns.clear();
    sim.command(1, Action::Start, vec![0]);
    assert_eq!(sim.state(0), ProgramState::Starting);
    assert_eq!(sim.spawn_times(), 2);
}

#[test]
fn a_file_change_revives_a_program_whose_command_could_not_be_executed() {
    let mut sim = Sim::new(vec![watched("web", supd_config::WatchAction::Restart)]);
    sim.futile_spawns.push(0);
    let mut sim = sim.boot();
    assert_eq!(sim.state(0), ProgramState::Fatal);
    sim.futile_spawns.clear();
    sim.feed(Input::FilesChanged {
        prog: 0,
        paths: changed(&["bin/web"]),
    });
    assert_eq!(sim.state(0), ProgramState::Starting);
    assert!(sim.st.programs[0].pid().is_some());
}

#[test]
fn waiting_for_a_program_that_was_stopped_by_hand_fails_at_once() {
    let mut sim = Sim::new(vec![spec("web")]).boot();
    sim.advance(Duration::from_secs(2));
    sim.command(1, Action::Stop, vec![0]);
    sim.exit(0, ExitStatus::Exited(0));
    assert_eq!(sim.state(0), ProgramState::Stopped);
    sim.feed(Input::Wait {
        req: 2,
        progs: vec![0],
        timeout: None,
    });
    let stopped = Life::Stopped {
        why: Some(Halt::Stopped {
            by: Why::Requested(Action::Stop),
            exit: Some(ExitStatus::Exited(0)),
        }),
    };
    assert_eq!(
        sim.reply(2).expect("answered at once"),
        [OutcomeKind::WillNotComeUp(stopped)]
    );
}

#[test]
fn reload_runs_a_changed_completed_oneshot_again_and_its_dependents_wait_for_it() {
    let migrate = oneshot("migrate");
    let mut web = spec("web");
    web.depends_on = vec!["migrate".into()];
    let mut sim = Sim::new(vec![migrate.clone(), web.clone()]).boot();
    sim.exit(0, ExitStatus::Exited(0));
    sim.advance(Duration::from_secs(2));
    assert_eq!(sim.state(0), ProgramState::Exited);
    assert_eq!(sim.state(1), ProgramState::Running);
    let web_pid = sim.pid(1);

    // Both read the same .env file, which changed: both are "changed".
    let env = vec![("DATABASE_URL".to_string(), "postgres://new".to_string())];
    let (mut migrate2, mut web2) = (migrate, web);
    migrate2.environment = env.clone();
    web2.environment = env;
    let (_, changed, _) = reload(&mut sim, vec![migrate2, web2]);
    assert_eq!(changed, [0, 1]);
    assert_eq!(
        sim.state(0),
        ProgramState::Running,
        "the migration runs again"
    );
    sim.exit(1, ExitStatus::Exited(0));
    assert_eq!(
        sim.st.programs[1].life(),
        &Life::Waiting { on: vec![0] },
        "web waits for migrate"
    );
    sim.exit(0, ExitStatus::Exited(0));
    assert_eq!(sim.state(0), ProgramState::Exited);
    assert!(
        sim.st.programs[1].pid().is_some_and(|pid| pid != web_pid),
        "web starts once migrate completed"
    );
}

#[test]
fn state_events_say_the_cause_without_repeating_the_state() {
    let mut sim = Sim::new(vec![spec("web")]).boot();
    sim.advance(Duration::from_secs(2));
    sim.exit(
        0,
        ExitStatus::Signaled {
            signal: Signal::SIGSEGV,
            core_dumped: false,
        },
    );
    sim.advance(Duration::from_secs(2));
    sim.feed(Input::Shutdown { force: false });
    let events: Vec<(ProgramState, ProgramState, Change)> = sim
        .log
        .iter()
        .filter_map(|e| match e {
            Effect::Changed {
                from, to, change, ..
            } if from != to => Some((*from, *to, change.clone())),
            _ => None,
        })
        .collect();
    use ProgramState::*;
    let change_of = |from, to| {
        events
            .iter()
            .find(|(f, t, _)| (*f, *t) == (from, to))
            .map(|(_, _, c)| c.clone())
    };
    assert_eq!(
        change_of(Starting, Running),
        Some(Change::Up {
            by: supd_core::UpBy::Uptime
        }),
        "{events:#?}"
    );
    let segv = ExitStatus::Signaled {
        signal: Signal::SIGSEGV,
        core_dumped: false,
    };
    assert_eq!(
        change_of(Running, Exited),
        Some(Change::Exited {
            status: segv,
            after: Duration::from_secs(2)
        }),
        "{events:#?}"
    );
    assert_eq!(
        change_of(Exited, Starting),
        Some(Change::Spawning {
            cause: Why::Restarted(segv)
        }),
        "{events:#?}"
    );
    assert_eq!(
        change_of(Running, Stopping),
        Some(Change::Stopping {
            cause: Why::Shutdown,
            signal: Signal::SIGTERM
        }),
        "{events:#?}"
    );
}

#[test]
fn signal_goes_through_the_core_to_the_groups_of_programs_with_a_process() {
    let mut idle = spec("idle");
    idle.autostart = false;
    let mut sim = Sim::new(vec![spec("web"), idle]).boot();
    sim.advance(Duration::from_secs(2));
    let web = sim.pid(0);
    sim.feed(Input::Signal {
        req: 4,
        signal: Signal::SIGHUP,
        progs: vec![0, 1],
    });
    assert_eq!(sim.signals_to(web), [Signal::SIGHUP]);
    assert_eq!(
        sim.reply(4),
        Some(vec![
            OutcomeKind::SignalSent {
                signal: Signal::SIGHUP,
                pgid: web
            },
            OutcomeKind::NotRunning(ProgramState::Stopped)
        ])
    );
    assert_eq!(
        sim.state(0),
        ProgramState::Running,
        "a signal changes no state"
    );
    assert_eq!(sim.spawn_times(), 1);
}

/// Found by the property tests: `supctl restart web db` with `db` down first spawns `db` as
/// web's dependency; `db`'s own restart, in the same request, cancelled that spawn in
/// flight, so the process it reported next was attached to nothing (before: web, waiting for
/// db, adopted it and ran without its dependency).
#[test]
fn restarting_a_program_then_its_dependency_in_one_request_keeps_the_dependency_spawn() {
    let mut db = spec("db");
    db.start_retries = Some(0);
    let mut web = spec("web");
    web.depends_on = vec!["db".into()];
    let mut sim = Sim::new(vec![db, web]).boot();
    sim.exit(0, ExitStatus::Exited(1));
    assert_eq!(sim.state(0), ProgramState::Fatal);
    assert_eq!(sim.state(1), ProgramState::Stopped, "blocked by db");

    sim.command(1, Action::Restart, vec![1, 0]);
    assert!(sim.st.programs[0].pid().is_some(), "db's process is db's");
    assert_eq!(sim.spawn_times(), 2, "db spawned once, for both reasons");
    assert_eq!(
        sim.st.programs[1].life(),
        &Life::Waiting { on: vec![0] },
        "web waits for db"
    );
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.state(0), ProgramState::Running);
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.state(1), ProgramState::Running);
    assert_eq!(
        sim.reply(1),
        Some(vec![OutcomeKind::Restarted, OutcomeKind::Restarted])
    );
}

/// Found by the property tests: a critical program that failed while another program's spawn
/// was in flight began the shutdown, which found "no process left" and went on to leftover
/// descendants while that program was still to be started — and then never stopped it in
/// order.
#[test]
fn a_shutdown_waits_for_a_spawn_in_flight_and_then_stops_it() {
    let mut migrate = spec("migrate");
    migrate.critical = true;
    let mut sim = Sim::new(vec![migrate, spec("web")]);
    sim.futile_spawns.push(0);
    let mut sim = sim.boot();
    assert!(sim.st.shutting_down());
    let web = sim.pid(1);
    assert_eq!(sim.state(1), ProgramState::Stopping, "stopped once spawned");
    assert_eq!(sim.signals_to(web), [Signal::SIGTERM, Signal::SIGCONT]);
    assert!(
        !sim.log
            .iter()
            .any(|e| matches!(e, Effect::SignalDescendants { .. })),
        "descendants only once every program is down"
    );
    sim.exit(1, ExitStatus::Exited(0));
    assert!(
        sim.log
            .iter()
            .any(|e| matches!(e, Effect::SignalDescendants { .. }))
    );
    sim.feed(Input::NoChildren);
    assert_eq!(
        sim.exit_code,
        Some(1),
        "the code of the failed critical program"
    );
}

/// Found by the property tests: a oneshot that ended during shutdown counted as up however it
/// ended (a oneshot was up whenever it was `exited`), so a `wait` for a migration that was
/// killed answered "up", and `supctl health` agreed.
#[test]
fn a_oneshot_killed_during_shutdown_is_not_up() {
    let mut migrate = oneshot("migrate");
    migrate.min_uptime = Duration::ZERO;
    let mut web = spec("web");
    web.depends_on = vec!["migrate".into()];
    for (status, up) in [(KILLED, false), (ExitStatus::Exited(0), true)] {
        let mut sim = Sim::new(vec![migrate.clone(), web.clone()]).boot();
        sim.exit(0, ExitStatus::Exited(0));
        sim.advance(Duration::from_secs(2));
        assert_eq!(sim.state(1), ProgramState::Running);
        // The migration runs again (`supctl start migrate`) while web runs on.
        sim.command(1, Action::Start, vec![0]);
        sim.feed(Input::Wait {
            req: 2,
            progs: vec![0],
            timeout: None,
        });
        sim.feed(Input::Shutdown { force: false });
        assert_eq!(sim.state(1), ProgramState::Stopping, "web first");
        assert_eq!(sim.state(0), ProgramState::Running, "migrate after web");
        sim.exit(0, status);
        assert_eq!(sim.st.programs[0].is_up(), up, "{status:?}");
        let answer = sim.reply(2).unwrap();
        if up {
            assert_eq!(answer, [OutcomeKind::Up]);
        } else {
            assert!(
                matches!(
                    &answer[..],
                    [OutcomeKind::WillNotComeUp(Life::Exited { .. })]
                ),
                "{answer:?}"
            );
        }
    }
}

/// Found by the property tests: a fatal (or fatal, then stopped) program started again as a
/// dependency kept its count of failed starts, so it got a single try and then "gave up
/// after 3 failed starts in a row" although `start_retries = 1` allows two; `supctl start`
/// of it gave it the two.
#[test]
fn a_program_that_gave_up_and_is_started_as_a_dependency_gets_its_start_retries_again() {
    let mut db = spec("db");
    db.start_retries = Some(1);
    let mut web = spec("web");
    web.depends_on = vec!["db".into()];
    web.autostart = false;
    let mut sim = Sim::new(vec![db, web]).boot();
    for _ in 0..2 {
        sim.exit(0, ExitStatus::Exited(1));
        sim.advance(Duration::from_secs(1));
    }
    assert_eq!(sim.state(0), ProgramState::Fatal);
    assert_eq!(sim.st.programs[0].failed_starts(), 2);

    sim.command(1, Action::Start, vec![1]);
    assert_eq!(sim.st.programs[0].failed_starts(), 0, "a fresh count");
    sim.exit(0, ExitStatus::Exited(1));
    assert_eq!(
        sim.state(0),
        ProgramState::Backoff,
        "retried, as start_retries says"
    );
    sim.advance(Duration::from_secs(1));
    sim.exit(0, ExitStatus::Exited(1));
    assert_eq!(sim.state(0), ProgramState::Fatal);
    assert_eq!(sim.st.programs[0].failed_starts(), 2);
    assert!(matches!(
        &sim.reply(1).unwrap()[..],
        [OutcomeKind::NotStarted(Some(Halt::Blocked {
            dep: 0,
            failed: true
        }))]
    ));
    // Stopped by hand meanwhile: a new series of tries all the same.
    sim.command(2, Action::Stop, vec![0]);
    assert_eq!(sim.state(0), ProgramState::Stopped);
    sim.command(3, Action::Start, vec![1]);
    assert_eq!(sim.st.programs[0].failed_starts(), 0, "a fresh count");
    sim.exit(0, ExitStatus::Exited(1));
    assert_eq!(
        sim.state(0),
        ProgramState::Backoff,
        "retried, as start_retries says"
    );
}

/// Found by the property tests: a program started by hand (not `autostart`) that was backing
/// off when a reload changed its settings went on with its old series of failures under the
/// new `start_retries`, and so was retried more often than they allow. A failing program whose
/// settings change gets a fresh try with them, started by hand or not.
#[test]
fn reload_gives_a_backing_off_program_a_fresh_try_with_its_new_settings() {
    let mut flaky = spec("flaky");
    flaky.autostart = false;
    let mut sim = Sim::new(vec![flaky.clone()]).boot();
    sim.command(1, Action::Start, vec![0]);
    for _ in 0..2 {
        sim.exit(0, ExitStatus::Exited(1));
        let at = sim
            .timers
            .iter()
            .find_map(|(at, t)| matches!(t, Timer::Retry { .. }).then_some(*at))
            .unwrap();
        sim.advance(at - sim.now);
    }
    sim.exit(0, ExitStatus::Exited(1));
    assert_eq!(sim.state(0), ProgramState::Backoff);
    assert_eq!(sim.st.programs[0].failed_starts(), 3);

    let mut stricter = flaky;
    stricter.start_retries = Some(1);
    reload(&mut sim, vec![stricter]);
    assert_eq!(sim.state(0), ProgramState::Starting, "tried again at once");
    assert_eq!(sim.st.programs[0].failed_starts(), 0);
    sim.exit(0, ExitStatus::Exited(1));
    assert_eq!(
        sim.state(0),
        ProgramState::Backoff,
        "1 retry, as start_retries says"
    );
}

/// Found by the property tests: a program waiting for a dependency, with failed starts behind
/// it, kept counting them against the `start_retries` a reload had just lowered, and was
/// tried more often than the new settings allow. New settings begin a new series of tries.
#[test]
fn reload_gives_a_waiting_program_a_fresh_series_of_tries_with_its_new_settings() {
    let mut db = spec("db");
    db.autostart = false;
    let mut flaky = spec("flaky");
    flaky.depends_on = vec!["db".into()];
    flaky.autostart = false;
    let mut app = spec("app");
    app.depends_on = vec!["flaky".into()];
    app.autostart = false;
    let mut sim = Sim::new(vec![db.clone(), flaky.clone(), app]).boot();
    sim.command(1, Action::Start, vec![1]);
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.state(0), ProgramState::Running);
    for _ in 0..2 {
        sim.exit(1, ExitStatus::Exited(1));
        let at = sim
            .timers
            .iter()
            .filter(|(at, _)| *at > sim.now)
            .find_map(|(at, t)| matches!(t, Timer::Retry { .. }).then_some(*at))
            .unwrap();
        sim.advance(at - sim.now);
    }
    sim.exit(1, ExitStatus::Exited(1));
    assert_eq!(sim.st.programs[1].failed_starts(), 3);
    // db is stopped; starting app starts flaky (backing off) and db: flaky waits for db.
    sim.command(2, Action::Stop, vec![0]);
    sim.exit(0, ExitStatus::Exited(0));
    sim.feed(Input::Command {
        req: 3,
        action: Action::Start,
        progs: vec![2],
    });
    assert_eq!(sim.st.programs[1].life(), &Life::Waiting { on: vec![0] });

    let mut stricter = flaky;
    stricter.start_retries = Some(1);
    let app = sim.st.programs[2].spec.clone();
    reload(&mut sim, vec![db, stricter, app]);
    assert_eq!(
        sim.st.programs[1].failed_starts(),
        0,
        "a new series of tries"
    );
}

/// Found by the property tests: a spawn in flight that failed once a shutdown had begun put
/// its program in `backoff`, whose retry never comes during a shutdown, so a `wait` for it
/// was never answered and `status` promised a retry.
#[test]
fn a_spawn_that_fails_during_shutdown_is_not_retried_and_waiters_are_answered() {
    let mut migrate = oneshot("migrate");
    migrate.autostart = false;
    migrate.critical = true;
    migrate.restart = RestartPolicy::Never;
    let mut worker = spec("worker");
    worker.autostart = false;
    let mut sim = Sim::new(vec![migrate, worker]);
    sim.spawn_error
        .push((0, "cannot fork: Resource temporarily unavailable".into()));
    sim.spawn_error
        .push((1, "cannot fork: Resource temporarily unavailable".into()));
    let mut sim = sim.boot();
    // migrate's spawn fails (fatal, critical: shutdown) while worker's is in flight.
    sim.command(1, Action::Start, vec![0, 1]);
    assert!(sim.st.shutting_down());
    assert_eq!(
        sim.st.programs[1].life(),
        &Life::Stopped {
            why: Some(Halt::Cancelled {
                by: Why::SupdShuttingDown
            })
        }
    );
    assert!(sim.log.iter().any(|e| matches!(
        e,
        Effect::Changed {
            prog: 1,
            change: Change::NotRetriedShuttingDown {
                failure: Why::SpawnFailed(_)
            },
            ..
        }
    )));
    sim.feed(Input::Wait {
        req: 2,
        progs: vec![1],
        timeout: None,
    });
    assert!(matches!(
        &sim.reply(2).expect("answered at once")[..],
        [OutcomeKind::WillNotComeUp(Life::Stopped { .. })]
    ));
    sim.feed(Input::NoChildren);
    assert_eq!(sim.exit_code, Some(1));
}
