//! Failed starts back off with growing delays, end in `fatal` after `start_retries`, and
//! `supctl start` revives the program (issue 2, acceptance item 3).

use supd_tests::{DEADLINE, StartOptions, Supd, alive, wait_until};

#[test]
fn program_that_exits_at_once_backs_off_doubling_then_is_fatal_and_supctl_start_revives_it() {
    // Fails at once until the file `marker` exists next to the config, then stays up.
    let mut supd = Supd::start(
        r#"
[program.flaky]
command = ["sh", "-c", "test -e marker || exit 1; echo revived; exec sleep 1000"]
directory = "."
min_uptime = "1s"
restart_delay = "200ms"
max_restart_delay = "30s"
start_retries = 3
"#,
    );

    // Watch it go through backoff on its way to fatal.
    let mut seen = Vec::new();
    let fatal = wait_until("flaky to be fatal", DEADLINE, || {
        let p = supd.program("flaky");
        let state = p["state"].as_str().unwrap().to_string();
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        (state == "fatal").then_some(p)
    });
    assert!(
        seen.iter().any(|s| s == "backoff"),
        "never seen in backoff; states seen: {seen:?}"
    );
    // start_retries = 3: the first start and 3 retries, all failed.
    assert_eq!(fatal["restarts"], 3, "{fatal}");
    assert_eq!(fatal["exit_code"], 1, "{fatal}");
    assert_eq!(fatal["pid"], serde_json::Value::Null, "{fatal}");
    assert!(
        fatal["reason"].as_str().unwrap().contains("exited with 1"),
        "{fatal}"
    );

    // supd said how long it waited before each retry: doubling from restart_delay.
    let said = supd.messages_about("flaky");
    let delays: Vec<&str> = said
        .iter()
        .filter_map(|m| m.split_once("retrying in ")?.1.split_whitespace().next())
        .collect();
    assert_eq!(delays, ["200ms", "400ms", "800ms"], "{said:#?}");
    assert!(
        said.last()
            .unwrap()
            .contains("giving up after 4 failed starts"),
        "{said:#?}"
    );

    // Fix the cause, then revive it by hand.
    std::fs::write(supd.path("marker"), "").unwrap();
    let start = supd.ctl(&["start", "flaky"]);
    assert_eq!(start.code, 0, "{start:?}");
    assert_eq!(start.stdout.trim(), "flaky: started", "{start:?}");
    let running = supd.wait_state("flaky", "running");
    let pid = running["pid"].as_u64().unwrap() as i32;
    assert!(alive(pid));
    // `restarts` counts every start after the first, the manual one included.
    assert_eq!(running["restarts"], 4, "{running}");
    supd.wait_stdout_line("flaky | revived");

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn supctl_start_revives_a_program_from_backoff_at_once() {
    // A 1-minute backoff: only `supctl start` can bring it back within the test's deadline.
    let mut supd = Supd::start(
        r#"
[program.slow-retry]
command = ["sh", "-c", "test -e marker || exit 1; exec sleep 1000"]
directory = "."
min_uptime = "1s"
restart_delay = "60s"
max_restart_delay = "5m"
"#,
    );
    let backoff = supd.wait_state("slow-retry", "backoff");
    assert_eq!(backoff["restarts"], 0, "{backoff}");
    assert!(
        supd.messages_about("slow-retry")
            .iter()
            .any(|m| m.contains("retrying in 1m")),
        "{:#?}",
        supd.supd_messages()
    );
    std::fs::write(supd.path("marker"), "").unwrap();
    let start = supd.ctl(&["start", "slow-retry"]);
    assert_eq!(start.code, 0, "{start:?}");
    let running = supd.wait_state("slow-retry", "running");
    assert_eq!(running["restarts"], 1, "{running}");
    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn a_failing_critical_oneshot_backs_off_doubling_reaches_fatal_and_supd_exits_with_its_code() {
    // The pattern of config/supd.toml: a migration retried twice, critical.
    let mut supd = Supd::start_with(
        r#"
[program.migrate]
command = ["sh", "-c", "sleep 0.3; exit 3"]
oneshot = true
restart = "on-failure"
start_retries = 2
critical = true

[program.web]
command = "sleep 1000"
depends_on = ["migrate"]
"#,
        StartOptions {
            no_wait: true,
            ..Default::default()
        },
    );
    let status = supd.wait_exit(DEADLINE);
    assert_eq!(status.code(), Some(3), "{:#?}", supd.supd_messages());
    let said = supd.messages_about("migrate");
    let retries: Vec<&str> = said
        .iter()
        .filter_map(|m| m.split_once("retrying in ")?.1.split_once(' '))
        .map(|(delay, _)| delay)
        .collect();
    assert_eq!(retries, ["100ms", "200ms"], "{said:#?}");
    assert!(
        said.iter().any(|m| m.contains("(failed start 2 of 3)")),
        "{said:#?}"
    );
    assert!(
        said.iter()
            .any(|m| m.contains("giving up after 3 failed starts")),
        "{said:#?}"
    );
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn a_command_that_cannot_be_executed_is_fatal_at_once_with_the_reason_in_status() {
    use std::os::unix::fs::PermissionsExt;
    // ENOENT, EACCES (not executable), ENOEXEC (no #! and not a binary), with the default
    // unlimited start_retries: retrying could not help.
    let files = tempfile::tempdir().unwrap();
    let data = files.path().join("data.txt");
    let garbage = files.path().join("garbage");
    std::fs::write(&data, "not a program\n").unwrap();
    std::fs::write(&garbage, [0u8, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    std::fs::set_permissions(&garbage, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut supd = Supd::start(&format!(
        r#"
[program.missing]
command = "no-such-command --flag"

[program.not-executable]
command = ["{}"]

[program.bad-format]
command = ["{}"]
"#,
        data.display(),
        garbage.display()
    ));
    for (name, why) in [
        ("missing", "No such file or directory"),
        ("not-executable", "Permission denied"),
        ("bad-format", "Exec format error"),
    ] {
        let p = supd.wait_state(name, "fatal");
        assert!(
            p["reason"].as_str().is_some_and(|r| r.contains(why)),
            "{name} should say {why:?}: {p}"
        );
        assert_eq!(p["pid"], serde_json::Value::Null, "{p}");
        assert_eq!(p["restarts"], 0, "not retried: {p}");
    }
    assert!(
        !supd
            .supd_messages()
            .iter()
            .any(|m| m.contains("retrying in")),
        "{:#?}",
        supd.supd_messages()
    );

    // Once the file is a program, `supctl start` brings it up.
    std::fs::write(&data, "#!/bin/sh\nexec sleep 1000\n").unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let start = supd.ctl(&["start", "not-executable"]);
    assert_eq!(start.code, 0, "{start:?}");
    let after = supd.program("not-executable");
    assert_eq!(after["state"], "running", "{after}");
    assert_eq!(after["restarts"], 1, "{after}");
    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}
