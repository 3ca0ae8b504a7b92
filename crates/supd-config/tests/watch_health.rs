//! `[program.NAME.watch]` and `[program.NAME.health]`: defaults, good values, bad values.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{problem, problems, program, program_problem};
use supd_config::{HealthCheck, HealthSpec, PollMode, Signal, WatchAction, WatchSpec};

#[test]
fn empty_watch_table_is_all_defaults_rooted_at_the_config_dir() {
    let watch = program("[program.p.watch]\n").watch;
    assert_eq!(
        watch,
        Some(WatchSpec {
            paths: vec![PathBuf::from("/etc/supd")],
            include: Vec::new(),
            exclude: Vec::new(),
            debounce: Duration::from_millis(200),
            action: WatchAction::Restart,
            poll: PollMode::Auto,
        })
    );
}

#[test]
fn watch_paths_resolve_against_the_program_directory() {
    let p = program(
        "directory = \"/app/backend\"\n[program.p.watch]\npaths = [\".\", \"src\", \"/etc/app\"]\n",
    );
    let paths = p.watch.map(|w| w.paths);
    assert_eq!(
        paths,
        Some(vec![
            PathBuf::from("/app/backend"),
            PathBuf::from("/app/backend/src"),
            PathBuf::from("/etc/app"),
        ])
    );
    let p = program("directory = \"backend\"\nwatch = { paths = [\"src\"] }\n");
    assert_eq!(
        p.watch.map(|w| w.paths),
        Some(vec![PathBuf::from("/etc/supd/backend/src")])
    );
}

#[test]
fn watch_good_values() {
    let p = program(
        "[program.p.watch]\ninclude = [\"**/*.py\", \"*.{js,ts}\"]\nexclude = [\"**/migrations/**\"]\n\
         debounce = \"1s\"\naction = \"HUP\"\npoll = \"500ms\"\n",
    );
    let w = p.watch.expect("watch");
    assert_eq!(w.include, ["**/*.py", "*.{js,ts}"]);
    assert_eq!(w.exclude, ["**/migrations/**"]);
    assert_eq!(w.debounce, Duration::from_secs(1));
    assert_eq!(w.action, WatchAction::Signal(Signal::SIGHUP));
    assert_eq!(w.poll, PollMode::Interval(Duration::from_millis(500)));
    let w = program("watch = { action = \"restart\", poll = \"off\" }")
        .watch
        .expect("watch");
    assert_eq!((w.action, w.poll), (WatchAction::Restart, PollMode::Off));
    let w = program("watch = { action = \"SIGUSR1\", poll = \"auto\" }")
        .watch
        .expect("watch");
    assert_eq!(
        (w.action, w.poll),
        (WatchAction::Signal(Signal::SIGUSR1), PollMode::Auto)
    );
}

#[test]
fn watch_bad_values() {
    let one = |line: &str| program_problem(&format!("[program.p.watch]\n{line}\n"));
    assert_eq!(
        one("paths = []"),
        "4: program.p.watch.paths: expected at least one path, found an empty array"
    );
    assert_eq!(
        one("paths = \".\""),
        r#"4: program.p.watch.paths: expected an array of paths like ["."], found ".""#
    );
    assert_eq!(
        one("include = [\"src/[a\"]"),
        r#"4: program.p.watch.include: invalid glob "src/[a": "[" is never closed"#
    );
    assert_eq!(
        one("exclude = [\"\"]"),
        r#"4: program.p.watch.exclude: invalid glob "": a glob must not be empty"#
    );
    assert_eq!(
        one("debounce = 200"),
        r#"4: program.p.watch.debounce: expected a duration string like "10s", found integer 200 (write "200s")"#
    );
    assert_eq!(
        one("action = \"reload\""),
        r#"4: program.p.watch.action: expected "restart" or a signal name like "HUP", found "reload""#
    );
    assert_eq!(
        one("poll = \"0s\""),
        r#"4: program.p.watch.poll: expected a poll interval greater than zero, found "0s""#
    );
    assert_eq!(
        one("poll = \"sometimes\""),
        r#"4: program.p.watch.poll: expected "auto", "off" or an interval like "1s", found "sometimes""#
    );
    assert_eq!(
        one("debounse = \"1s\""),
        r#"4: program.p.watch.debounse: unknown key "debounse" (did you mean "debounce"?)"#
    );
    assert_eq!(
        program_problem("watch = true"),
        "3: program.p.watch: expected a table like [program.web.watch], found boolean true"
    );
}

#[test]
fn health_http_with_defaults() {
    let health =
        program("[program.p.health]\nhttp = \"http://127.0.0.1:${PORT}/healthz\"\n").health;
    assert_eq!(
        health,
        Some(HealthSpec {
            check: HealthCheck::Http("http://127.0.0.1:8000/healthz".into()),
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
            retries: 3,
            start_period: Duration::ZERO,
        })
    );
}

#[test]
fn health_tcp_and_command_checks_with_settings() {
    let h = program(
        "[program.p.health]\ntcp = \"127.0.0.1:5432\"\ninterval = \"10s\"\ntimeout = \"2s\"\n\
         retries = 1\nstart_period = \"30s\"\n",
    )
    .health
    .expect("health");
    assert_eq!(h.check, HealthCheck::Tcp("127.0.0.1:5432".into()));
    assert_eq!(
        (h.interval, h.timeout),
        (Duration::from_secs(10), Duration::from_secs(2))
    );
    assert_eq!((h.retries, h.start_period), (1, Duration::from_secs(30)));

    let h = program("health = { command = \"pg_isready -q\" }")
        .health
        .expect("health");
    assert_eq!(
        h.check,
        HealthCheck::Command(vec!["pg_isready".into(), "-q".into()])
    );
    let h = program("health = { command = [\"sh\", \"-c\", \"true\"] }")
        .health
        .expect("health");
    assert_eq!(
        h.check,
        HealthCheck::Command(vec!["sh".into(), "-c".into(), "true".into()])
    );
}

#[test]
fn health_needs_exactly_one_check() {
    assert_eq!(
        program_problem("[program.p.health]\ninterval = \"1s\"\n"),
        r#"3: program.p.health: missing a check: set exactly one of "command", "tcp" or "http""#
    );
    assert_eq!(
        program_problem("[program.p.health]\ntcp = \"h:1\"\nhttp = \"http://h\"\n"),
        r#"5: program.p.health.http: expected exactly one of "command", "tcp" or "http", found both "tcp" and "http""#
    );
}

#[test]
fn health_bad_values() {
    let one = |line: &str| program_problem(&format!("[program.p.health]\n{line}\n"));
    assert_eq!(
        one("tcp = \"localhost\""),
        r#"4: program.p.health.tcp: expected "host:port" like "127.0.0.1:8000", found "localhost""#
    );
    assert_eq!(
        one("tcp = \"localhost:99999\""),
        r#"4: program.p.health.tcp: expected a port from 1 to 65535 after the last ":", found "99999""#
    );
    assert_eq!(
        one("http = \"localhost:8000/healthz\""),
        r#"4: program.p.health.http: expected a URL starting with "http://", found "localhost:8000/healthz""#
    );
    assert_eq!(
        one("http = \"https://x/\""),
        r#"4: program.p.health.http: https is not supported by health checks; use an "http://" URL, found "https://x/""#
    );
    assert_eq!(
        one("command = \"\""),
        "4: program.p.health.command: the command is empty"
    );
    let with_check =
        |line: &str| program_problem(&format!("[program.p.health]\ntcp = \"h:1\"\n{line}\n"));
    assert_eq!(
        with_check("interval = \"0s\""),
        r#"5: program.p.health.interval: expected a duration greater than zero, found "0s""#
    );
    assert_eq!(
        with_check("timeout = \"fast\""),
        r#"5: program.p.health.timeout: expected a duration like "250ms", "10s" or "1m", found "fast""#
    );
    assert_eq!(
        with_check("retries = 0"),
        "5: program.p.health.retries: expected an integer of at least 1, found integer 0"
    );
    assert_eq!(
        with_check("retires = 3"),
        r#"5: program.p.health.retires: unknown key "retires" (did you mean "retries"?)"#
    );
    assert_eq!(
        problems("[program.p]\ncommand = \"x\"\nhealth = []\n"),
        ["3: program.p.health: expected a table like [program.web.health], found an array"]
    );
    assert_eq!(
        problem("[program.p]\ncommand = \"x\"\nhealth = { http = \"http://${HOST}/\" }\n"),
        "3: program.p.health.http: environment variable HOST is not set (give a default with ${HOST:-value})"
    );
}
