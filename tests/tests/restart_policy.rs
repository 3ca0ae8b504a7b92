//! `restart = "on-failure"` and `restart = "never"` (issue 2, acceptance item 4).
//!
//! "Is not restarted" is shown against a pacer: a `restart = "always"` program that exits
//! the same way, in the same supd. Once the pacer has been restarted several times, a restart
//! of the program under test would have happened too, so its state can be checked then —
//! causality instead of a sleep.

use serde_json::Value;
use supd_tests::{DEADLINE, Supd, wait_until};

/// A program restarted after every run of ~0.2 s, for as long as supd runs.
const PACER: &str = r#"
[program.pacer]
command = ["sh", "-c", "sleep 0.2"]
restart = "always"
min_uptime = "0s"
"#;

/// Waits until the pacer has been restarted `n` times.
fn wait_pacer(supd: &Supd, n: u64) {
    wait_until(&format!("the pacer to restart {n} times"), DEADLINE, || {
        (supd.program("pacer")["restarts"].as_u64()? >= n).then_some(())
    });
}

#[test]
fn on_failure_program_that_exits_0_stays_exited() {
    let mut supd = Supd::start(&format!(
        r#"{PACER}
[program.job]
command = ["sh", "-c", "sleep 0.2; exit 0"]
restart = "on-failure"
min_uptime = "0s"
"#
    ));
    let exited = supd.wait_state("job", "exited");
    assert_eq!(exited["exit_code"], 0, "{exited}");
    assert_eq!(exited["restarts"], 0, "{exited}");
    assert_eq!(exited["pid"], Value::Null, "{exited}");

    // The pacer, which exits the same way under `always`, is restarted; job is not.
    wait_pacer(&supd, 5);
    let later = supd.program("job");
    assert_eq!(later["state"], "exited", "{later}");
    assert_eq!(later["restarts"], 0, "{later}");
    assert_eq!(later["pid"], Value::Null, "{later}");

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn on_failure_program_that_exits_3_is_restarted() {
    let mut supd = Supd::start(
        r#"
[program.crasher]
command = ["sh", "-c", "sleep 0.3; exit 3"]
restart = "on-failure"
min_uptime = "100ms"
restart_delay = "10s"
"#,
    );
    supd.wait_new_pid("crasher", None);
    let restarted = wait_until("crasher to be restarted twice", DEADLINE, || {
        let p = supd.program("crasher");
        (p["restarts"].as_u64()? >= 2).then_some(p)
    });
    assert_eq!(restarted["exit_code"], 3, "{restarted}");
    assert_eq!(restarted["last_exit"], "exited with 3", "{restarted}");
    // Each run outlived min_uptime, so each restart was immediate, not a backoff (a
    // restart_delay of 10s would not fit in the deadline twice).
    let said = supd.messages_about("crasher");
    assert!(!said.iter().any(|m| m.contains("retrying in")), "{said:#?}");
    assert!(
        said.iter()
            .filter(|m| m.starts_with("exited with 3") && m.ends_with("restarting"))
            .count()
            >= 2,
        "{said:#?}"
    );

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn never_program_is_not_restarted_after_success_or_failure() {
    let mut supd = Supd::start(&format!(
        r#"{PACER}
[program.never-ok]
command = ["sh", "-c", "sleep 0.2; exit 0"]
restart = "never"
min_uptime = "0s"

[program.never-fails]
command = ["sh", "-c", "sleep 0.2; exit 3"]
restart = "never"
min_uptime = "0s"
"#
    ));
    let ok = supd.wait_state("never-ok", "exited");
    assert_eq!(ok["exit_code"], 0, "{ok}");
    // A failure under `never` is a failure for good.
    let failed = supd.wait_state("never-fails", "fatal");
    assert_eq!(failed["exit_code"], 3, "{failed}");
    assert_eq!(failed["last_exit"], "exited with 3", "{failed}");

    wait_pacer(&supd, 5);
    for (name, state) in [("never-ok", "exited"), ("never-fails", "fatal")] {
        let p = supd.program(name);
        assert_eq!(p["state"], state, "{p}");
        assert_eq!(p["restarts"], 0, "{p}");
        assert_eq!(p["pid"], Value::Null, "{p}");
    }
    for name in ["never-ok", "never-fails"] {
        let starts = supd
            .messages_about(name)
            .iter()
            .filter(|m| m.starts_with("started"))
            .count();
        assert_eq!(starts, 1, "{:#?}", supd.messages_about(name));
    }

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}
