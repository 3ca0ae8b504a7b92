//! Graceful shutdown: SIGTERM to supd stops every program and every descendant, `setsid`
//! escapees included, then supd exits 0 (issue 2, acceptance item 7).

use std::time::Duration;

use supd_tests::{DEADLINE, Supd, alive, session, wait_until};

#[test]
fn sigterm_with_5_programs_and_a_setsid_escapee_exits_0_and_leaves_nothing() {
    let mut supd = Supd::start(
        r#"
[program.plain]
command = "sleep 1000"
min_uptime = "0s"

[program.wrapper]
command = ["sh", "-c", "sleep 1000 & sleep 1000"]
min_uptime = "0s"

[program.escaper]
command = ["sh", "-c", "setsid sleep 1000 & exec sleep 1000"]
min_uptime = "0s"

[program.stubborn]
command = ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"]
min_uptime = "0s"
stop_timeout = "1s"

[program.looper]
command = ["sh", "-c", "while :; do sleep 1; done"]
min_uptime = "0s"
"#,
    );
    for name in ["plain", "wrapper", "escaper", "stubborn", "looper"] {
        supd.wait_state(name, "running");
    }
    supd.wait_stdout_line("stubborn | ready");
    let programs = supd.program_pids();
    assert_eq!(programs.len(), 5);
    // The grandchild that left its program's session (and so its process group).
    let escapee = wait_until("the setsid grandchild to run", DEADLINE, || {
        supd.leftovers()
            .into_iter()
            .find(|&pid| session(pid) == Some(pid) && !programs.contains(&pid))
    });
    let before = supd.leftovers();
    assert!(before.len() >= 7, "{before:?}");

    supd.signal(nix::sys::signal::Signal::SIGTERM);
    let status = supd.wait_exit(DEADLINE);
    assert_eq!(status.code(), Some(0), "{}", supd.stderr.text());
    assert!(!alive(escapee), "the setsid escapee {escapee} survived");
    for pid in before {
        assert!(!alive(pid), "process {pid} survived supd");
    }
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
    // The socket file is gone with supd.
    assert!(!supd.socket.exists());
}

#[test]
fn second_sigterm_kills_everything_at_once() {
    let mut supd = Supd::start(
        r#"
[program.stubborn]
command = ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"]
min_uptime = "0s"
stop_timeout = "1h"
"#,
        // shutdown_timeout is left at its default (30s), past the test's deadline.
    );
    supd.wait_stdout_line("stubborn | ready");
    supd.signal(nix::sys::signal::Signal::SIGTERM);
    // Only a second TERM can end this before stop_timeout (1h) or shutdown_timeout (30s).
    supd.wait_state("stubborn", "stopping");
    supd.signal(nix::sys::signal::Signal::SIGTERM);
    let status = supd.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", supd.stderr.text());
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn supctl_shutdown_stops_everything_and_returns_when_supd_has_exited() {
    let mut supd = Supd::start(
        r#"
[program.a]
command = ["sh", "-c", "sleep 1000 & sleep 1000"]
min_uptime = "0s"

[program.b]
command = "sleep 1000"
min_uptime = "0s"
"#,
    );
    supd.wait_state("a", "running");
    supd.wait_state("b", "running");
    let out = supd.ctl(&["shutdown"]);
    assert_eq!(out.code, 0, "{out:?}");
    let status = supd.wait_exit(DEADLINE);
    assert_eq!(status.code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}
