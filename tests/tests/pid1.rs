//! supd as PID 1 of a PID namespace, the way a container runs it (issue 3, acceptance 1
//! and 2): every orphan is reaped, handled signals do what DESIGN.md says, and shutdown
//! leaves nothing. Needs root (for `unshare --pid`); skips, saying why, otherwise.

use std::time::Duration;

use nix::sys::signal::Signal;
use supd_tests::{DEADLINE, StartOptions, Supd, pid_namespaces_unavailable, wait_until};

fn start_as_pid1(programs: &str) -> Option<Supd> {
    if let Some(why) = pid_namespaces_unavailable() {
        eprintln!("skipped: {why}");
        return None;
    }
    Some(Supd::start_with(
        programs,
        StartOptions {
            pid1: true,
            ..Default::default()
        },
    ))
}

#[test]
fn orphans_that_exit_are_reaped_so_no_zombie_stays() {
    let Some(mut supd) = start_as_pid1(
        r#"
[program.orphans]
command = ["sh", "-c", "while :; do (sleep 0.01 &); sleep 0.05; done"]
min_uptime = "0s"
"#,
    ) else {
        return;
    };
    supd.wait_state("orphans", "running");
    // The scenario itself: let it create about a hundred orphans.
    std::thread::sleep(Duration::from_secs(5));
    // A supd that did not reap would have ~100 zombie children by now and never get to 0;
    // one that does may still be between an exit and its reap at any single instant.
    wait_until("no zombie children of supd", Duration::from_secs(2), || {
        supd.zombie_children().is_empty().then_some(())
    });
    assert!(
        supd.messages_about("orphans")
            .iter()
            .all(|m| !m.contains("exited")),
        "the program itself kept running"
    );
    supd.signal(Signal::SIGTERM);
    assert_eq!(supd.wait_exit(DEADLINE).code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn sigterm_to_pid1_stops_everything_and_exits_0() {
    let Some(mut supd) = start_as_pid1(
        r#"
[program.a]
command = "sleep 1000"
min_uptime = "0s"

[program.escapee]
command = ["sh", "-c", "setsid sleep 1000 & exec sleep 1000"]
min_uptime = "0s"
"#,
    ) else {
        return;
    };
    supd.wait_state("a", "running");
    supd.wait_state("escapee", "running");
    wait_until("the setsid grandchild to exist", DEADLINE, || {
        (supd.leftovers().len() >= 3).then_some(())
    });
    supd.signal(Signal::SIGTERM);
    assert_eq!(supd.wait_exit(DEADLINE).code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn sigquit_to_pid1_is_a_graceful_shutdown() {
    let Some(mut supd) = start_as_pid1(
        r#"
[program.graceful]
command = ["sh", "-c", "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.1; done"]
min_uptime = "0s"
"#,
    ) else {
        return;
    };
    supd.wait_stdout_line("graceful | ready");
    supd.signal(Signal::SIGQUIT);
    assert_eq!(supd.wait_exit(DEADLINE).code(), Some(0));
    assert!(
        supd.stdout.lines().iter().any(|l| l == "graceful | bye"),
        "the program got TERM and could say goodbye: {:?}",
        supd.stdout.lines()
    );
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}
