//! Program output to a log file: written by supd (so supd can reopen it), kept for
//! `supctl logs` too, and reopened on SIGUSR1 after an external logrotate moved it away
//! (issue 3, acceptance 2 for USR1; issue 7, acceptance 3).

use nix::sys::signal::Signal;
use supd_tests::{DEADLINE, StartOptions, Supd, wait_until};

const TICKER: &str = r#"
[program.tick]
command = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo line $i; sleep 0.02; done"]
stdout = "tick.log"
min_uptime = "0s"
"#;

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn sigusr1_reopens_log_files_after_they_were_moved_also_as_pid_1() {
    for pid1 in [false, true] {
        if pid1 && let Some(why) = supd_tests::pid_namespaces_unavailable() {
            eprintln!("skipped the PID 1 half: {why}");
            continue;
        }
        let mut supd = Supd::start_with(
            TICKER,
            StartOptions {
                pid1,
                ..Default::default()
            },
        );
        let log = supd.path("tick.log");
        let moved = supd.path("tick.log.1");
        wait_until("a few lines in tick.log", DEADLINE, || {
            (lines(&log).len() >= 3).then_some(())
        });
        std::fs::rename(&log, &moved).unwrap();
        supd.signal(Signal::SIGUSR1);
        wait_until("new lines in a new tick.log", DEADLINE, || {
            (lines(&log).len() >= 3).then_some(())
        });
        supd.signal(Signal::SIGTERM);
        assert_eq!(supd.wait_exit(DEADLINE).code(), Some(0));

        // Together the two files hold every line exactly once, in order: nothing lost.
        let all: Vec<String> = lines(&moved).into_iter().chain(lines(&log)).collect();
        let expected: Vec<String> = (1..=all.len()).map(|i| format!("line {i}")).collect();
        assert_eq!(all, expected);
        assert!(
            supd.supd_messages()
                .iter()
                .any(|m| m.contains("SIGUSR1 received: reopening 1 log file")),
            "{:?}",
            supd.supd_messages()
        );
        assert!(
            supd.stdout.lines().iter().all(|l| !l.contains("line ")),
            "file output does not also go to the console"
        );
    }
}

#[test]
fn file_output_is_kept_for_supctl_logs() {
    let mut supd = Supd::start(TICKER);
    wait_until("lines in tick.log", DEADLINE, || {
        (lines(&supd.path("tick.log")).len() >= 5).then_some(())
    });
    let out = supd.ctl(&["logs", "tick", "-n", "2"]);
    let got: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(got.len(), 2, "{out:?}");
    assert!(got.iter().all(|l| l.starts_with("line ")), "{got:?}");
    supd.terminate();
}

#[test]
fn an_unwritable_log_file_fails_the_start_naming_the_file() {
    let supd = Supd::start(
        r#"
[program.bad]
command = "sleep 1000"
stdout = "no/such/dir/bad.log"
start_retries = 0
min_uptime = "0s"
"#,
    );
    let p = supd.wait_state("bad", "fatal");
    let reason = p["reason"].as_str().unwrap();
    assert!(
        reason.contains("cannot open stdout log file") && reason.contains("no/such/dir/bad.log"),
        "{reason}"
    );
}
