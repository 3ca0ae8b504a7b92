//! `supctl stop` takes down a program's whole process group, and KILLs what ignores the stop
//! signal once `stop_timeout` has passed (issue 2, acceptance item 5).

use serde_json::Value;
use supd_tests::{DEADLINE, Supd, alive, process_group, wait_until};

/// The live processes of `supd`'s programs that are in process group `pgid`.
fn group_members(supd: &Supd, pgid: i32) -> Vec<i32> {
    supd.leftovers()
        .into_iter()
        .filter(|&pid| process_group(pid) == Some(pgid))
        .collect()
}

#[test]
fn stop_of_a_shell_with_a_background_child_leaves_nothing_of_its_group() {
    let mut supd = Supd::start(
        r#"
[program.wrapper]
command = ["sh", "-c", "sleep 1000 & sleep 1000"]
min_uptime = "0s"

[program.bystander]
command = "sleep 1000"
min_uptime = "0s"
"#,
    );
    let pgid = supd.wait_new_pid("wrapper", None) as i32;
    let bystander = supd.wait_new_pid("bystander", None) as i32;
    // The shell and both sleeps (or both sleeps, if the shell execs the last one).
    let members = wait_until("both sleeps of wrapper to run", DEADLINE, || {
        let m = group_members(&supd, pgid);
        (m.len() >= 2).then_some(m)
    });

    let stop = supd.ctl(&["stop", "wrapper"]);
    assert_eq!(stop.code, 0, "{stop:?}");
    assert_eq!(stop.stdout.trim(), "wrapper: stopped", "{stop:?}");

    // `stop` returns once every process of the program is gone.
    for pid in &members {
        assert!(
            !alive(*pid),
            "process {pid} of wrapper outlived supctl stop"
        );
    }
    assert_eq!(group_members(&supd, pgid), Vec::<i32>::new());
    let wrapper = supd.program("wrapper");
    assert_eq!(wrapper["state"], "stopped", "{wrapper}");
    assert_eq!(wrapper["pid"], Value::Null, "{wrapper}");
    // Nothing else was touched, and supd does not bring a stopped program back.
    assert_eq!(supd.leftovers(), vec![bystander]);
    assert_eq!(supd.program("bystander")["state"], "running");

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn program_that_ignores_term_is_killed_after_stop_timeout() {
    let mut supd = Supd::start(
        r#"
[program.stubborn]
command = ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"]
min_uptime = "0s"
stop_timeout = "1s"
"#,
    );
    let pid = supd.wait_new_pid("stubborn", None) as i32;
    // The trap is in place once it has said so.
    supd.wait_stdout_line("stubborn | ready");

    let stop = supd.ctl(&["stop", "stubborn"]);
    assert_eq!(stop.code, 0, "{stop:?}");
    assert_eq!(stop.stdout.trim(), "stubborn: stopped", "{stop:?}");
    assert!(!alive(pid));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());

    let stopped = supd.program("stubborn");
    assert_eq!(stopped["state"], "stopped", "{stopped}");
    assert_eq!(stopped["last_exit"], "killed by SIGKILL", "{stopped}");
    assert_eq!(stopped["signal"], "SIGKILL", "{stopped}");

    // TERM first; KILL only when TERM did not do it within stop_timeout.
    let said = supd.messages_about("stubborn");
    let term = said.iter().position(|m| m.contains("sent SIGTERM"));
    let kill = said
        .iter()
        .position(|m| m.contains("SIGKILL") && m.contains("1s"));
    assert!(
        matches!((term, kill), (Some(t), Some(k)) if t < k),
        "expected TERM then KILL after 1s: {said:#?}"
    );

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}
