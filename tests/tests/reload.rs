//! `supctl reload` and SIGHUP: re-read the config and apply only the difference; an invalid
//! config changes nothing (issue 6, acceptance 1 and 2; issue 3, acceptance 2 for HUP to
//! PID 1).

use nix::sys::signal::Signal;
use supd_tests::{DEADLINE, StartOptions, Supd, wait_until};

fn config(change_value: &str, last: &str) -> String {
    format!(
        r#"
[program.keep1]
command = "sleep 1000"
min_uptime = "0s"

[program.keep2]
command = ["sh", "-c", "exec sleep 1001"]
min_uptime = "0s"

[program.change]
command = ["sh", "-c", "echo MODE=$MODE; exec sleep 1000"]
environment = {{ MODE = "{change_value}" }}
min_uptime = "0s"

{last}
"#
    )
}

const DROP: &str = "[program.drop]\ncommand = \"sleep 1002\"\nmin_uptime = \"0s\"\n";
const ADDED: &str = "[program.added]\ncommand = [\"sh\", \"-c\", \"echo hello from added; exec sleep 1000\"]\nmin_uptime = \"0s\"\n";

fn rewrite(supd: &Supd, programs: &str) {
    let text = format!("[supd]\nsocket = \"supd.sock\"\n\n{programs}");
    std::fs::write(&supd.config, text).unwrap();
}

fn pid(supd: &Supd, name: &str) -> u64 {
    supd.wait_state(name, "running")["pid"].as_u64().unwrap()
}

fn check_reload_applied_only_the_difference(
    supd: &Supd,
    keep1: u64,
    keep2: u64,
    change: u64,
    drop: u64,
) {
    let new_change = supd.wait_new_pid("change", Some(change));
    assert_ne!(new_change, change);
    supd.wait_stdout_line("change | MODE=new");
    supd.wait_stdout_line("added  | hello from added");
    supd.wait_state("added", "running");
    assert_eq!(pid(supd, "keep1"), keep1, "untouched: same pid");
    assert_eq!(pid(supd, "keep2"), keep2, "untouched: same pid");
    let names: Vec<String> = supd
        .status()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["keep1", "keep2", "change", "added"],
        "drop is gone from status"
    );
    wait_until("the removed program's process to be gone", DEADLINE, || {
        (!supd_tests::alive(drop as i32)).then_some(())
    });
    assert!(supd_tests::alive(keep1 as i32) && supd_tests::alive(keep2 as i32));
    let out = supd.ctl(&["status", "drop"]);
    assert_eq!(out.code, 2, "a removed program is unknown: {out:?}");
}

#[test]
fn reload_adds_removes_and_restarts_only_what_changed() {
    let mut supd = Supd::start(&config("old", DROP));
    let (keep1, keep2, change, drop) = (
        pid(&supd, "keep1"),
        pid(&supd, "keep2"),
        pid(&supd, "change"),
        pid(&supd, "drop"),
    );
    supd.wait_stdout_line("change | MODE=old");

    rewrite(&supd, &config("new", ADDED));
    let out = supd.ctl(&["reload"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "added: added\nchanged: change\nremoved: drop\n");
    check_reload_applied_only_the_difference(&supd, keep1, keep2, change, drop);

    let again = supd.ctl(&["reload"]);
    assert_eq!(again.stdout, "no program changed\n");
    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty());
}

#[test]
fn reload_of_an_invalid_config_changes_nothing_and_says_why() {
    let mut supd = Supd::start(&config("old", DROP));
    let before: Vec<u64> = ["keep1", "keep2", "change", "drop"]
        .iter()
        .map(|n| pid(&supd, n))
        .collect();
    let mut text = std::fs::read_to_string(&supd.config).unwrap();
    text.push_str("\n[program.broken\ncommand = \"x\"\n");
    let bad_line = text.lines().count() - 1;
    std::fs::write(&supd.config, &text).unwrap();

    let out = supd.ctl(&["reload"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("supd.toml:{bad_line}: invalid TOML")),
        "the error names its line: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("supd keeps running the previous one"),
        "{}",
        out.stderr
    );
    let after: Vec<u64> = ["keep1", "keep2", "change", "drop"]
        .iter()
        .map(|n| pid(&supd, n))
        .collect();
    assert_eq!(before, after, "every program kept its process");
    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn sighup_reloads_like_supctl_reload_also_as_pid_1() {
    for pid1 in [false, true] {
        if pid1 && let Some(why) = supd_tests::pid_namespaces_unavailable() {
            eprintln!("skipped the PID 1 half: {why}");
            continue;
        }
        let mut supd = Supd::start_with(
            &config("old", DROP),
            StartOptions {
                pid1,
                ..Default::default()
            },
        );
        let (keep1, keep2, change, drop) = (
            pid(&supd, "keep1"),
            pid(&supd, "keep2"),
            pid(&supd, "change"),
            pid(&supd, "drop"),
        );
        rewrite(&supd, &config("new", ADDED));
        supd.signal(Signal::SIGHUP);
        if pid1 {
            // Inside the namespace the pids differ from ours; the difference is what counts.
            supd.wait_stdout_line("change | MODE=new");
            supd.wait_state("added", "running");
            assert_eq!(pid(&supd, "keep1"), keep1);
            assert_eq!(pid(&supd, "keep2"), keep2);
            let _ = (change, drop);
        } else {
            check_reload_applied_only_the_difference(&supd, keep1, keep2, change, drop);
        }
        assert!(
            supd.supd_messages()
                .iter()
                .any(|m| m.contains("SIGHUP received: reloading")),
            "{:?}",
            supd.supd_messages()
        );
        supd.signal(Signal::SIGTERM);
        assert_eq!(supd.wait_exit(DEADLINE).code(), Some(0));
        assert!(supd.leftovers().is_empty());
    }
}

#[test]
fn reload_starts_and_stops_file_watching() {
    let program = |watch: &str| {
        format!("[program.web]\ncommand = \"sleep 1000\"\nmin_uptime = \"0s\"\n{watch}")
    };
    let mut supd = Supd::start(&program(""));
    std::fs::create_dir(supd.path("src")).unwrap();
    let first = pid(&supd, "web");

    rewrite(
        &supd,
        &program("[program.web.watch]\npaths = [\"src\"]\ndebounce = \"50ms\"\n"),
    );
    assert_eq!(supd.ctl(&["reload"]).stdout, "changed: web\n");
    let second = supd.wait_new_pid("web", Some(first));
    supd.wait_state("web", "running");
    std::fs::write(supd.path("src/app.py"), "x = 1\n").unwrap();
    let third = supd.wait_new_pid("web", Some(second));
    assert_eq!(supd.program("web")["reason"], "app.py changed");

    rewrite(&supd, &program(""));
    assert_eq!(supd.ctl(&["reload"]).stdout, "changed: web\n");
    let fourth = supd.wait_new_pid("web", Some(third));
    supd.wait_state("web", "running");
    // With the watch gone, a change restarts nothing: prove it with a restart we cause.
    std::fs::write(supd.path("src/app.py"), "x = 2\n").unwrap();
    assert_eq!(supd.ctl(&["restart", "web"]).code, 0);
    let fifth = supd.wait_new_pid("web", Some(fourth));
    assert_eq!(
        supd.program("web")["restarts"],
        4,
        "only the restart we asked for"
    );
    let _ = fifth;
    supd.terminate();
}

#[test]
fn reload_adding_a_program_that_waits_for_a_dependency_keeps_supd_running() {
    // Regression: the new program's "waiting for web" message named a program id the name
    // table did not know yet, and supd (PID 1 in a container) panicked.
    // web stays `starting` for 5 s, so a program that depends on it has to wait.
    let mut supd = Supd::start("[program.web]\ncommand = \"sleep 1001\"\nmin_uptime = \"5s\"\n");
    supd.wait_state("web", "starting");
    rewrite(
        &supd,
        "[program.web]\ncommand = \"sleep 1001\"\nmin_uptime = \"5s\"\n\n\
         [program.worker]\ncommand = \"sleep 1002\"\ndepends_on = [\"web\"]\nmin_uptime = \"0s\"\n",
    );
    let out = supd.ctl(&["reload"]);
    assert_eq!(out.stdout, "added: worker\n", "{out:?}");
    supd.wait_state("worker", "running");
    assert!(supd.try_exit().is_none(), "supd is still running");
    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty());
}

#[test]
fn reload_after_an_env_file_change_runs_the_oneshot_again_and_its_dependents_wait_for_it() {
    let env_dir = tempfile::tempdir().unwrap();
    let env_file = env_dir.path().join(".env");
    std::fs::write(&env_file, "SCHEMA=v1\n").unwrap();
    let supd = Supd::start_with(
        r#"
[program.migrate]
command = ["sh", "-c", "echo migrating to $SCHEMA; while [ ! -f go-$SCHEMA ]; do sleep 0.02; done; echo $SCHEMA > migrated"]
directory = "."
oneshot = true

[program.web]
command = ["sh", "-c", "echo web sees $(cat migrated); exec sleep 1000"]
directory = "."
depends_on = ["migrate"]
min_uptime = "0s"
"#,
        StartOptions {
            supd_table: format!("env_file = \"{}\"", env_file.display()),
            ..Default::default()
        },
    );
    std::fs::write(supd.path("go-v1"), "").unwrap();
    supd.wait_stdout_line("web     | web sees v1");

    // New settings: the migration must see them, and web must start after it again.
    std::fs::write(&env_file, "SCHEMA=v2\n").unwrap();
    let out = supd.ctl(&["reload"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "changed: migrate, web\n", "{out:?}");
    supd.wait_stdout_line("migrate | migrating to v2");
    let web = supd.wait_state("web", "starting");
    assert_eq!(
        web["pid"],
        serde_json::Value::Null,
        "web waits for migrate: {web}"
    );
    assert!(
        web["reason"]
            .as_str()
            .unwrap()
            .contains("waiting for migrate"),
        "{web}"
    );
    std::fs::write(supd.path("go-v2"), "").unwrap();
    supd.wait_stdout_line("web     | web sees v2");
    supd.wait_state("migrate", "exited");
    supd.wait_state("web", "running");
}
