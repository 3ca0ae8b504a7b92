//! Program patterns on the command line: `group:NAME` from `[group.NAME]`, and shell globs
//! over the names (`'web*'`, `'worker:*'`), for every supctl command that names programs
//! (issue 12).

use supd_tests::{Supd, assert_clear_message};

const STACK: &str = r#"
[program.web]
command = "sleep 1000"
min_uptime = "0s"

[program.beat]
command = "sleep 1001"
min_uptime = "0s"

[program.worker]
command = "sleep 1002"
instances = 2
min_uptime = "0s"

[group.celery]
programs = ["worker", "beat"]
"#;

/// The pid of every program, by name, once all of them run.
fn pids(supd: &Supd) -> Vec<(String, u64)> {
    ["web", "beat", "worker:0", "worker:1"]
        .iter()
        .map(|name| {
            let p = supd.wait_state(name, "running");
            (name.to_string(), p["pid"].as_u64().unwrap())
        })
        .collect()
}

/// The names whose pid changed between `before` and now.
fn restarted(supd: &Supd, before: &[(String, u64)]) -> Vec<String> {
    let now = pids(supd);
    before
        .iter()
        .zip(&now)
        .filter(|(b, n)| b.1 != n.1)
        .map(|(b, _)| b.0.clone())
        .collect()
}

/// The program names of `out`'s stdout lines (`NAME: message`), in order.
fn named(out: &supd_tests::CtlOutput) -> Vec<String> {
    out.stdout
        .lines()
        .map(|l| l.split(": ").next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn restart_group_restarts_its_programs_in_config_order_and_nothing_else() {
    let mut supd = Supd::start(STACK);
    let before = pids(&supd);
    let out = supd.ctl(&["restart", "group:celery"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(named(&out), ["beat", "worker:0", "worker:1"], "{out:?}");
    assert_eq!(restarted(&supd, &before), ["beat", "worker:0", "worker:1"]);
    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty());
}

#[test]
fn restart_of_an_instance_glob_restarts_every_instance_once() {
    let mut supd = Supd::start(STACK);
    let before = pids(&supd);
    let out = supd.ctl(&["restart", "worker:*", "worker:1", "group:celery"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(named(&out), ["worker:0", "worker:1", "beat"], "{out:?}");
    assert_eq!(restarted(&supd, &before), ["beat", "worker:0", "worker:1"]);
    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty());
}

#[test]
fn status_stop_and_signal_take_globs() {
    let mut supd = Supd::start(STACK);
    pids(&supd);
    let out = supd.ctl(&["status", "--json", "w*"]);
    assert_eq!(out.code, 0, "{out:?}");
    let names: Vec<String> = serde_json::from_str::<Vec<serde_json::Value>>(&out.stdout)
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["web", "worker:0", "worker:1"]);

    let out = supd.ctl(&["signal", "HUP", "b?at"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(named(&out), ["beat"], "{out:?}");

    let out = supd.ctl(&["stop", "worker:[01]"]);
    assert_eq!(out.code, 0, "{out:?}");
    supd.wait_state("worker:0", "stopped");
    supd.wait_state("worker:1", "stopped");
    assert_eq!(supd.program("web")["state"], "running");
    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty());
}

#[test]
fn a_glob_or_group_that_matches_nothing_is_refused_naming_it() {
    let mut supd = Supd::start(STACK);
    let before = pids(&supd);
    for (args, named) in [
        (&["restart", "nginx*"][..], "no program matches \"nginx*\""),
        (
            &["stop", "group:celry"],
            "no group named \"celry\" (did you mean \"group:celery\"?)",
        ),
        (
            &["restart", "web", "group:front"],
            "no group named \"front\"",
        ),
        (&["status", "[web"], "invalid pattern \"[web\""),
    ] {
        let out = supd.ctl(args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        assert!(out.stderr.contains(named), "{args:?}: {out:?}");
        assert_clear_message(&out.stderr);
    }
    assert!(restarted(&supd, &before).is_empty(), "nothing was touched");
    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn groups_follow_a_reload() {
    let mut supd = Supd::start(STACK);
    pids(&supd);
    let changed = STACK.replace(
        "[group.celery]\nprograms = [\"worker\", \"beat\"]",
        "[group.front]\nprograms = [\"web\"]",
    );
    std::fs::write(
        &supd.config,
        format!("[supd]\nsocket = \"supd.sock\"\n{changed}"),
    )
    .unwrap();
    let out = supd.ctl(&["reload"]);
    assert_eq!(out.code, 0, "{out:?}");
    let before = pids(&supd);
    let out = supd.ctl(&["restart", "group:front"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(restarted(&supd, &before), ["web"]);
    let out = supd.ctl(&["restart", "group:celery"]);
    assert_eq!(out.code, 2, "the old group is gone: {out:?}");
    assert!(out.stderr.contains("no group named \"celery\""), "{out:?}");
    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty());
}
