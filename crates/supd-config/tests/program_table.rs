//! `[program.NAME]` keys: defaults, good values, bad values.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{ok, problem, problems, program, program_problem};
use supd_config::{IdRef, OutputTarget, ProgramSpec, RestartMode, RestartPolicy, Signal, UserSpec};

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[test]
fn a_program_with_only_a_command_has_every_default() {
    assert_eq!(program(""), ProgramSpec::new("p", argv(&["x"])));
    let p = program("");
    assert!(p.autostart);
    assert_eq!(p.restart, RestartPolicy::Always);
    assert_eq!(p.exit_codes, vec![0]);
    assert_eq!(p.min_uptime, Duration::from_secs(1));
    assert_eq!(p.restart_delay, Duration::from_millis(100));
    assert_eq!(p.max_restart_delay, Duration::from_secs(30));
    assert_eq!(p.start_retries, None);
    assert_eq!(p.stop_signal, Signal::SIGTERM);
    assert_eq!(p.stop_timeout, Duration::from_secs(10));
    assert_eq!((p.oneshot, p.critical), (false, false));
    assert_eq!(
        (p.stdout, p.stderr),
        (OutputTarget::Console, OutputTarget::Console)
    );
    assert_eq!((p.directory, p.user, p.umask), (None, None, None));
    assert!(p.environment.is_empty() && p.depends_on.is_empty());
    assert_eq!((p.watch, p.health), (None, None));
}

#[test]
fn programs_keep_file_order() {
    let config = ok(
        "[program.zeta]\ncommand = \"z\"\n[program.alpha]\ncommand = \"a\"\n\
                     [program.mid]\ncommand = \"m\"\n",
    );
    let names: Vec<&str> = config.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["zeta", "alpha", "mid"]);
    assert_eq!(
        config.program("alpha").map(|p| p.command.clone()),
        Some(argv(&["a"]))
    );
}

#[test]
fn command_string_is_split_like_a_shell() {
    let config = ok(r#"[program.p]
command = "daphne -b 0.0.0.0 -p ${PORT} 'config.asgi:application' \"a b\" c\\ d"
"#);
    assert_eq!(
        config.programs[0].command,
        argv(&[
            "daphne",
            "-b",
            "0.0.0.0",
            "-p",
            "8000",
            "config.asgi:application",
            "a b",
            "c d"
        ])
    );
}

#[test]
fn command_array_is_taken_as_argv_and_dollar_words_pass_through() {
    let config = ok(r#"[program.p]
command = ["sh", "-c", "exec npm run dev -- --port $PORT ${PORT}"]
"#);
    assert_eq!(
        config.programs[0].command,
        argv(&["sh", "-c", "exec npm run dev -- --port $PORT 8000"])
    );
}

#[test]
fn command_bad_values() {
    let one = |value: &str| problem(&format!("[program.p]\ncommand = {value}\n"));
    assert_eq!(
        one("\"sh -c 'echo hi\""),
        "2: program.p.command: cannot split the command into arguments: missing closing quote"
    );
    assert_eq!(one("\"\""), "2: program.p.command: the command is empty");
    assert_eq!(one("\"   \""), "2: program.p.command: the command is empty");
    assert_eq!(one("[]"), "2: program.p.command: the command is empty");
    assert_eq!(
        one("[\"\", \"x\"]"),
        "2: program.p.command: the program to run (the first word of the command) is empty"
    );
    assert_eq!(
        one("3"),
        r#"2: program.p.command: expected a command string like "daphne -p 8000 app.asgi:application" or an array of strings, found integer 3"#
    );
    assert_eq!(
        problem("[program.p]\ncommand = [\n  \"a\",\n  3,\n]\n"),
        "4: program.p.command: expected a string, found integer 3"
    );
}

#[test]
fn missing_command_is_reported_on_the_program_line() {
    assert_eq!(
        problem("[supd]\n\n[program.web]\nautostart = false\n"),
        r#"3: program.web: missing required key "command""#
    );
    assert_eq!(
        problem("[program]\nweb = { autostart = true }\n"),
        r#"2: program.web: missing required key "command""#
    );
}

#[test]
fn directory_resolves_against_the_config_dir() {
    assert_eq!(
        program("directory = \"/app/backend\"").directory,
        Some("/app/backend".into())
    );
    assert_eq!(
        program("directory = \"app\"").directory,
        Some("/etc/supd/app".into())
    );
    assert_eq!(
        program("directory = \"${APP}/x\"").directory,
        Some("/app/x".into())
    );
    assert_eq!(
        program_problem("directory = \"\""),
        "3: program.p.directory: expected a path, found an empty string"
    );
    assert_eq!(
        program_problem("directory = [\"/a\"]"),
        "3: program.p.directory: expected a string, found an array"
    );
}

#[test]
fn environment_inline_and_sub_table() {
    let p = program(
        r#"environment = { HOME = "/home/app", PATH = "/app/.venv/bin:${PATH}", N = 3, B = true }"#,
    );
    let expected = [
        ("HOME", "/home/app"),
        ("PATH", "/app/.venv/bin:/usr/bin:/bin"),
        ("N", "3"),
        ("B", "true"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(p.environment, expected);

    let p = program("[program.p.environment]\nZ = \"1\"\nA = \"${EMPTY:-d}\"\n");
    assert_eq!(
        p.environment,
        vec![
            ("Z".to_string(), "1".to_string()),
            ("A".to_string(), "d".to_string())
        ]
    );
}

#[test]
fn environment_bad_values() {
    assert_eq!(
        program_problem("environment = { PATH = [\"/bin\"] }"),
        "3: program.p.environment.PATH: expected a string, found an array"
    );
    assert_eq!(
        program_problem("environment = { \"A=B\" = \"x\" }"),
        r#"3: program.p.environment."A=B": invalid environment variable name "A=B" (it must be non-empty and contain no "=")"#
    );
    assert_eq!(
        program_problem("environment = { X = \"${NOPE}\" }"),
        "3: program.p.environment.X: environment variable NOPE is not set (give a default with ${NOPE:-value})"
    );
    assert_eq!(
        program_problem("environment = \"A=B\""),
        r#"3: program.p.environment: expected a table of variables like { HOME = "/home/app" }, found "A=B""#
    );
}

#[test]
fn user_forms() {
    let user = |v: &str| program(&format!("user = \"{v}\"")).user;
    let name = |s: &str| IdRef::Name(s.to_string());
    assert_eq!(
        user("appuser"),
        Some(UserSpec {
            user: name("appuser"),
            group: None
        })
    );
    assert_eq!(
        user("1000"),
        Some(UserSpec {
            user: IdRef::Id(1000),
            group: None
        })
    );
    assert_eq!(
        user("app:www-data"),
        Some(UserSpec {
            user: name("app"),
            group: Some(name("www-data"))
        })
    );
    assert_eq!(
        user("1000:1000"),
        Some(UserSpec {
            user: IdRef::Id(1000),
            group: Some(IdRef::Id(1000))
        })
    );
    assert_eq!(
        program_problem("user = \"a:b:c\""),
        r#"3: program.p.user: expected "name", "uid", "name:group" or "uid:gid", found "a:b:c""#
    );
    assert_eq!(
        program_problem("user = \"4294967295\""),
        "3: program.p.user: id 4294967295 is out of range (at most 4294967294)"
    );
}

#[test]
fn umask() {
    assert_eq!(program("umask = \"022\"").umask, Some(0o22));
    assert_eq!(program("umask = 0o027").umask, Some(0o27));
    assert_eq!(
        program_problem("umask = \"999\""),
        r#"3: program.p.umask: expected an octal mode like "0600" or 0o600, found "999""#
    );
}

#[test]
fn booleans() {
    let p = program("autostart = false\noneshot = true\ncritical = true");
    assert_eq!((p.autostart, p.oneshot, p.critical), (false, true, true));
    assert_eq!(
        program_problem("autostart = \"yes\""),
        r#"3: program.p.autostart: expected true or false, found "yes""#
    );
    assert_eq!(
        program_problem("oneshot = 1"),
        "3: program.p.oneshot: expected true or false, found integer 1"
    );
    assert_eq!(
        program_problem("critical = \"true\""),
        r#"3: program.p.critical: expected true or false, found "true""#
    );
}

#[test]
fn restart_policy() {
    assert_eq!(
        program("restart = \"always\"").restart,
        RestartPolicy::Always
    );
    assert_eq!(
        program("restart = \"on-failure\"").restart,
        RestartPolicy::OnFailure
    );
    assert_eq!(program("restart = \"never\"").restart, RestartPolicy::Never);
    assert_eq!(
        program_problem("restart = \"sometimes\""),
        r#"3: program.p.restart: expected one of "always", "on-failure", "never", found "sometimes""#
    );
}

#[test]
fn restart_mode() {
    assert_eq!(program("").restart_mode, RestartMode::StopFirst);
    assert_eq!(
        program("restart_mode = \"start-first\"").restart_mode,
        RestartMode::StartFirst
    );
    assert_eq!(
        program_problem("restart_mode = \"start_first\""),
        r#"3: program.p.restart_mode: expected one of "stop-first", "start-first", found "start_first""#
    );
    assert_eq!(
        program_problem("oneshot = true\nrestart_mode = \"start-first\""),
        "4: program.p.restart_mode: a oneshot runs to completion, nothing serves while it \
         restarts: restart_mode = \"start-first\" is for long-running programs"
    );
}

#[test]
fn exit_codes() {
    assert_eq!(
        program("exit_codes = [0, 2, 255]").exit_codes,
        vec![0, 2, 255]
    );
    assert_eq!(program("exit_codes = []").exit_codes, Vec::<i32>::new());
    assert_eq!(
        program_problem("exit_codes = [0, 256]"),
        "3: program.p.exit_codes: expected an exit code from 0 to 255, found integer 256"
    );
    assert_eq!(
        program_problem("exit_codes = [-1]"),
        "3: program.p.exit_codes: expected an exit code from 0 to 255, found integer -1"
    );
    assert_eq!(
        program_problem("exit_codes = 0"),
        "3: program.p.exit_codes: expected an array of exit codes like [0, 2], found integer 0"
    );
}

#[test]
fn durations() {
    let p = program(
        "min_uptime = \"5s\"\nrestart_delay = \"250ms\"\nmax_restart_delay = \"1m\"\n\
         stop_timeout = \"1h 30m\"",
    );
    assert_eq!(p.min_uptime, Duration::from_secs(5));
    assert_eq!(p.restart_delay, Duration::from_millis(250));
    assert_eq!(p.max_restart_delay, Duration::from_secs(60));
    assert_eq!(p.stop_timeout, Duration::from_secs(5400));
    assert_eq!(program("min_uptime = \"0\"").min_uptime, Duration::ZERO);
    for key in [
        "min_uptime",
        "restart_delay",
        "max_restart_delay",
        "stop_timeout",
    ] {
        assert_eq!(
            program_problem(&format!("{key} = \"soon\"")),
            format!(
                r#"3: program.p.{key}: expected a duration like "250ms", "10s" or "1m", found "soon""#
            )
        );
    }
}

#[test]
fn max_restart_delay_may_not_be_below_restart_delay() {
    assert_eq!(
        program_problem("restart_delay = \"1s\"\nmax_restart_delay = \"100ms\""),
        "4: program.p.max_restart_delay: max_restart_delay (100ms) must not be shorter than restart_delay (1s)"
    );
    assert_eq!(
        program_problem("restart_delay = \"1m\""),
        "3: program.p.restart_delay: restart_delay (1m) is longer than the default max_restart_delay (30s); set max_restart_delay too"
    );
    let p = program("restart_delay = \"1m\"\nmax_restart_delay = \"1m\"");
    assert_eq!(p.restart_delay, p.max_restart_delay);
}

#[test]
fn start_retries() {
    assert_eq!(program("start_retries = 5").start_retries, Some(5));
    assert_eq!(program("start_retries = 0").start_retries, Some(0));
    assert_eq!(
        program_problem("start_retries = -1"),
        "3: program.p.start_retries: expected a non-negative integer, found integer -1"
    );
    assert_eq!(
        program_problem("start_retries = \"5\""),
        r#"3: program.p.start_retries: expected a non-negative integer, found "5""#
    );
    assert_eq!(
        program_problem("start_retries = 99999999999"),
        "3: program.p.start_retries: expected a non-negative integer, found integer 99999999999"
    );
}

#[test]
fn stop_signal() {
    assert_eq!(program("stop_signal = \"INT\"").stop_signal, Signal::SIGINT);
    assert_eq!(
        program("stop_signal = \"SIGQUIT\"").stop_signal,
        Signal::SIGQUIT
    );
    assert_eq!(
        program("stop_signal = \"usr1\"").stop_signal,
        Signal::SIGUSR1
    );
    assert_eq!(program("stop_signal = \"9\"").stop_signal, Signal::SIGKILL);
    assert_eq!(program("stop_signal = 2").stop_signal, Signal::SIGINT);
    assert_eq!(
        program_problem("stop_signal = \"FOO\""),
        r#"3: program.p.stop_signal: unknown signal "FOO" (expected a name such as TERM, HUP, INT, QUIT, USR1, or a number)"#
    );
    assert_eq!(
        program_problem("stop_signal = 99"),
        "3: program.p.stop_signal: unknown signal number 99"
    );
}

#[test]
fn outputs() {
    let p = program("stdout = \"null\"\nstderr = \"logs/err.log\"");
    assert_eq!(p.stdout, OutputTarget::Null);
    assert_eq!(
        p.stderr,
        OutputTarget::File(PathBuf::from("/etc/supd/logs/err.log"))
    );
    let p = program("stdout = \"/var/log/web.log\"\nstderr = \"console\"");
    assert_eq!(
        p.stdout,
        OutputTarget::File(PathBuf::from("/var/log/web.log"))
    );
    assert_eq!(p.stderr, OutputTarget::Console);
    assert_eq!(
        program_problem("stdout = \"\""),
        r#"3: program.p.stdout: expected "console", "null" or a file path, found an empty string"#
    );
    assert_eq!(
        program_problem("stderr = false"),
        "3: program.p.stderr: expected a string, found boolean false"
    );
}

#[test]
fn depends_on() {
    let config = ok("[program.migrate]\ncommand = \"m\"\noneshot = true\n\
                     [program.web]\ncommand = \"w\"\ndepends_on = [\"migrate\", \"migrate\"]\n");
    assert_eq!(config.programs[1].depends_on, vec!["migrate".to_string()]);
    assert_eq!(
        problem(
            "[program.migrate]\ncommand = \"m\"\n[program.web]\ncommand = \"w\"\ndepends_on = [\"migrat\"]\n"
        ),
        r#"5: program.web.depends_on: unknown program "migrat" (did you mean "migrate"?)"#
    );
    assert_eq!(
        problem("[program.web]\ncommand = \"w\"\ndepends_on = [\"db\"]\n"),
        r#"3: program.web.depends_on: unknown program "db" (known programs: web)"#
    );
    assert_eq!(
        problem("[program.web]\ncommand = \"w\"\ndepends_on = [\"web\"]\n"),
        "3: program.web.depends_on: a program cannot depend on itself"
    );
    assert_eq!(
        problem("[program.web]\ncommand = \"w\"\ndepends_on = \"db\"\n"),
        r#"3: program.web.depends_on: expected an array of program names like ["migrate"], found "db""#
    );
}

#[test]
fn program_names() {
    assert_eq!(
        problem("[program.all]\ncommand = \"x\""),
        r#"1: program.all: the program name "all" is reserved (supctl uses it to mean every program)"#
    );
    assert_eq!(
        problem("[program.supd]\ncommand = \"x\""),
        r#"1: program.supd: the program name "supd" is reserved (supd prefixes its own log lines with it)"#
    );
    assert_eq!(
        problem("[program.\"my app\"]\ncommand = \"x\""),
        r#"1: program."my app": invalid program name "my app" (use letters, digits, "_", "." and "-")"#
    );
    assert_eq!(
        ok("[program.\"web.v2\"]\ncommand = \"x\"").programs[0].name,
        "web.v2"
    );
    assert_eq!(
        problem("[program]\nweb = \"daphne\""),
        r#"2: program.web: expected a table like [program.web], found "daphne""#
    );
}

#[test]
fn unknown_program_keys_suggest_the_nearest() {
    assert_eq!(
        problems("[program.web]\ncomand = \"x\"\n"),
        [
            r#"1: program.web: missing required key "command""#,
            r#"2: program.web.comand: unknown key "comand" (did you mean "command"?)"#,
        ]
    );
    assert_eq!(
        program_problem("restart_dealy = \"1s\""),
        r#"3: program.p.restart_dealy: unknown key "restart_dealy" (did you mean "restart_delay"?)"#
    );
}

#[test]
fn absurdly_long_durations_are_refused() {
    // Regression: "300000000000y" passed `supd check`, then overflowed supd's clock at boot.
    let problems = supd_config::parse_str(
        "[program.a]\ncommand = \"x\"\nmin_uptime = \"300000000000y\"\n",
        std::path::Path::new("supd.toml"),
        &|_| None,
    )
    .unwrap_err();
    let text = problems.to_string();
    assert!(
        text.contains("program.a.min_uptime: \"300000000000y\" is too long (at most 100 years)"),
        "{text}"
    );
}
