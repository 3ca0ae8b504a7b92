//! Start order and readiness (issue 5): `depends_on`, oneshots, health checks, sd_notify,
//! critical programs, ordered shutdown, `supctl health` and `supctl wait`.

use std::os::linux::net::SocketAddrExt;
use std::time::Duration;

use nix::sys::signal::Signal;
use supd_tests::{DEADLINE, StartOptions, Supd, free_port, run_supd, wait_until};

/// Nanoseconds since the epoch written to `file` by a program at a moment of its life.
fn stamp(supd: &Supd, file: &str) -> Option<u128> {
    std::fs::read_to_string(supd.path(file))
        .ok()?
        .trim()
        .parse()
        .ok()
}

const STAMP: &str = "date +%s%N >";

#[test]
fn programs_start_in_dependency_order_each_once_its_dependencies_are_up() {
    let port = free_port();
    let mut supd = Supd::start(&format!(
        r#"
[program.proxy]
command = ["sh", "-c", "{STAMP} proxy.started; exec sleep 1000"]
depends_on = ["web"]
min_uptime = "0s"

[program.web]
command = ["sh", "-c", "{STAMP} web.started; sleep 0.3; {STAMP} web.listening; exec python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"127.0.0.1\", {port})); s.listen(); time.sleep(1000)'"]
depends_on = ["migrate"]
min_uptime = "0s"

[program.web.health]
tcp = "127.0.0.1:{port}"
interval = "5s"

[program.migrate]
command = ["sh", "-c", "{STAMP} migrate.started; sleep 0.3; {STAMP} migrate.done"]
oneshot = true
"#
    ));
    supd.wait_state("proxy", "running");
    let stamped = |file: &str| wait_until(file, DEADLINE, || stamp(&supd, file));
    let (migrate_done, web_started, web_listening, proxy_started) = (
        stamped("migrate.done"),
        stamped("web.started"),
        stamped("web.listening"),
        stamped("proxy.started"),
    );
    assert!(
        migrate_done < web_started,
        "web started after migrate completed"
    );
    assert!(
        web_listening < proxy_started,
        "proxy started after web was healthy"
    );
    let migrate = supd.program("migrate");
    assert_eq!(migrate["state"], "exited");
    assert_eq!(migrate["up"], true);
    let web = supd.program("web");
    assert_eq!(web["health"], "healthy");
    assert_eq!(supd.ctl(&["health"]).code, 0);
    supd.terminate();
    assert!(supd.leftovers().is_empty());
}

#[test]
fn a_failed_oneshot_keeps_its_dependents_from_starting_and_says_why() {
    let mut supd = Supd::start(
        r#"
[program.migrate]
command = ["sh", "-c", "echo migration failed >&2; exit 1"]
oneshot = true
restart = "never"

[program.web]
command = "sleep 1000"
depends_on = ["migrate"]

[program.proxy]
command = "sleep 1000"
depends_on = ["web"]
"#,
    );
    supd.wait_state("migrate", "fatal");
    let web = supd.wait_state("web", "stopped");
    assert_eq!(web["reason"], "not started: dependency migrate failed");
    let proxy = supd.wait_state("proxy", "stopped");
    assert_eq!(
        proxy["reason"],
        "not started: dependency web is not running"
    );
    assert!(web["pid"].is_null() && proxy["pid"].is_null());
    assert_eq!(supd.ctl(&["health"]).code, 1);
    supd.terminate();
}

#[test]
fn a_critical_oneshot_that_fails_makes_supd_exit_with_its_code() {
    let mut supd = Supd::start_with(
        r#"
[program.migrate]
command = ["sh", "-c", "sleep 0.2; exit 3"]
oneshot = true
restart = "never"
critical = true

[program.other]
command = "sleep 1000"
min_uptime = "0s"

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
    assert_eq!(
        status.code(),
        Some(3),
        "supd exits with the critical program's code"
    );
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
    assert!(
        supd.supd_messages()
            .iter()
            .any(|m| m.contains("critical program migrate failed")),
        "{:?}",
        supd.supd_messages()
    );
}

#[test]
fn a_program_whose_health_check_starts_failing_is_restarted_saying_unhealthy() {
    let mut supd = Supd::start(
        r#"
[program.web]
command = ["sh", "-c", "touch healthy; exec sleep 1000"]
min_uptime = "0s"
restart_delay = "100ms"

[program.web.health]
command = ["test", "-f", "healthy"]
interval = "200ms"
retries = 2
"#,
    );
    let first = supd.wait_state("web", "running")["pid"].as_u64().unwrap();
    assert_eq!(supd.program("web")["health"], "healthy");
    std::fs::remove_file(supd.path("healthy")).unwrap();
    let second = supd.wait_new_pid("web", Some(first));
    let web = supd.wait_state("web", "running");
    assert_eq!(web["pid"].as_u64(), Some(second));
    assert_eq!(web["restarts"], 1);
    let reason = web["reason"].as_str().unwrap();
    assert_eq!(
        reason,
        "retry after unhealthy: check command exited with 1 (2 checks failed in a row)"
    );
    supd.terminate();
}

#[test]
fn an_sd_notify_program_is_up_only_after_its_own_ready_message() {
    let mut supd = Supd::start(
        r#"
[program.daemon]
command = ["notify_ready", "go"]
ready = "notify"
min_uptime = "0s"

[program.after]
command = "sleep 1000"
depends_on = ["daemon"]
min_uptime = "0s"
"#,
    );
    supd.wait_stdout_line("daemon | waiting for go");
    let daemon = wait_until("the STATUS= text", DEADLINE, || {
        let p = supd.program("daemon");
        (p["notify_status"] == "waiting for go").then_some(p)
    });
    assert_eq!(daemon["state"], "starting");
    assert_eq!(
        supd.program("after")["state"],
        "starting",
        "waiting for daemon"
    );

    // READY=1 from an unrelated process (this test) is ignored.
    let pid = daemon["pid"].as_u64().unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let socket = environ
        .split(|&b| b == 0)
        .find_map(|v| v.strip_prefix(b"NOTIFY_SOCKET=@"))
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .expect("NOTIFY_SOCKET in the program's environment");
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(socket.as_bytes()).unwrap();
    let forger = std::os::unix::net::UnixDatagram::unbound().unwrap();
    forger
        .send_to_addr(b"READY=1\nSTATUS=forged", &addr)
        .unwrap();
    // Prove the forged message was read and ignored: a real one right after is honoured,
    // and the forged status never shows.
    std::fs::write(supd.path("go"), "").unwrap();
    let daemon = supd.wait_state("daemon", "running");
    assert_eq!(daemon["notify_status"], "serving");
    supd.wait_state("after", "running");
    assert!(
        supd.supd_messages()
            .iter()
            .any(|m| m.contains(&format!("daemon: READY=1 from pid {pid}"))),
        "{:?}",
        supd.supd_messages()
    );
    supd.terminate();
}

#[test]
fn shutdown_stops_dependents_first_and_respects_shutdown_timeout() {
    let on_term = |name: &str| {
        format!("trap '{STAMP} {name}.term; exit 0' TERM; echo up; while :; do sleep 0.05; done")
    };
    let mut supd = Supd::start_with(
        &format!(
            r#"
[program.a]
command = ["sh", "-c", "{a}"]
min_uptime = "0s"

[program.b]
command = ["sh", "-c", "{b}"]
depends_on = ["a"]
min_uptime = "0s"

[program.c]
command = ["sh", "-c", "{c}"]
depends_on = ["b"]
min_uptime = "0s"

[program.stubborn]
command = ["sh", "-c", "trap '' TERM; echo up; while :; do sleep 0.05; done"]
stop_timeout = "1m"
min_uptime = "0s"
"#,
            a = on_term("a"),
            b = on_term("b"),
            c = on_term("c"),
        ),
        StartOptions {
            supd_table: "shutdown_timeout = \"3s\"".into(),
            ..Default::default()
        },
    );
    for name in ["a", "b", "c", "stubborn"] {
        supd.wait_stdout_line(&format!("{name:<8} | up"));
    }
    supd.signal(Signal::SIGTERM);
    let status = supd.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    let (a, b, c) = (
        stamp(&supd, "a.term").unwrap(),
        stamp(&supd, "b.term").unwrap(),
        stamp(&supd, "c.term").unwrap(),
    );
    assert!(c < b && b < a, "c stopped first, a last: c={c} b={b} a={a}");
    assert!(
        supd.supd_messages()
            .iter()
            .any(|m| m.contains("shutdown_timeout (3s) reached: killing everything")),
        "{:?}",
        supd.supd_messages()
    );
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn dependency_cycles_and_missing_dependencies_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("supd.toml"),
        r#"
[program.a]
command = "sleep 1"
depends_on = ["b"]

[program.b]
command = "sleep 1"
depends_on = ["a"]

[program.c]
command = "sleep 1"
depends_on = ["nope"]
"#,
    )
    .unwrap();
    let out = run_supd(dir.path(), &["check", "--config", "supd.toml"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("dependency cycle: a -> b -> a"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("\"nope\""), "{}", out.stderr);
}

#[test]
fn supctl_wait_returns_once_up_or_fails_at_its_timeout() {
    let mut supd = Supd::start(
        r#"
[program.web]
command = ["sh", "-c", "while [ ! -f go ]; do sleep 0.05; done; touch healthy; exec sleep 1000"]
min_uptime = "0s"

[program.web.health]
command = ["test", "-f", "healthy"]
interval = "1s"
"#,
    );
    let out = supd.ctl(&["wait", "web", "--timeout", "500ms"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with("web: not up yet: starting"),
        "{}",
        out.stderr
    );

    std::fs::write(supd.path("go"), "").unwrap();
    let out = supd.ctl(&["wait", "web", "--timeout", "20s"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "web: up\n");
    supd.terminate();
}

#[test]
fn supctl_health_is_1_while_a_program_backs_off_and_0_when_all_are_up() {
    let mut supd = Supd::start(
        r#"
[program.ok]
command = "sleep 1000"
min_uptime = "0s"

[program.flaky]
command = ["sh", "-c", "test -f fixed || exit 1; exec sleep 1000"]
min_uptime = "100ms"
restart_delay = "1m"
max_restart_delay = "1m"
"#,
    );
    wait_until("flaky to back off", DEADLINE, || {
        (supd.program("flaky")["state"] == "backoff").then_some(())
    });
    let out = supd.ctl(&["health"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .starts_with("unhealthy: flaky is in backoff (exited with 1 after "),
        "{}",
        out.stdout
    );
    std::fs::write(supd.path("fixed"), "").unwrap();
    assert_eq!(supd.ctl(&["start", "flaky"]).code, 0);
    let out = supd.ctl(&["health"]);
    assert_eq!(out.code, 0, "{out:?}");
    supd.terminate();
}

#[test]
fn supctl_wait_on_a_program_that_is_stopped_fatal_or_finished_fails_at_once_saying_why() {
    let supd = Supd::start(
        r#"
[program.web]
command = "sleep 1000"
min_uptime = "0s"

[program.broken]
command = "sh -c 'exit 1'"
restart = "never"

[program.job]
command = "true"
restart = "on-failure"
min_uptime = "0s"
"#,
    );
    supd.wait_state("web", "running");
    assert_eq!(supd.ctl(&["stop", "web"]).code, 0);
    supd.wait_state("broken", "fatal");
    supd.wait_state("job", "exited");
    // No --timeout: before, this waited forever.
    for (name, state) in [("web", "stopped"), ("broken", "fatal"), ("job", "exited")] {
        let out = supd.ctl(&["wait", name]);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(
            out.stderr
                .starts_with(&format!("{name}: will not come up: it is {state} (")),
            "{out:?}"
        );
    }
    let out = supd.ctl(&["wait", "web"]);
    assert!(
        out.stderr.contains("supctl stop"),
        "says who stopped it: {out:?}"
    );
}
