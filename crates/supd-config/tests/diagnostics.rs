//! Whole-file behaviour: every problem at once with its line, suggestions, dependency cycles,
//! interpolation errors, syntax errors, and the file-reading entry points.

mod common;

use std::path::{Path, PathBuf};

use common::{ok, parse, problem, problems};
use supd_config::{load, parse_str, socket_path};

#[test]
fn five_problems_are_all_reported_with_their_lines() {
    let text = r#"[supd]
socket_mode = "rw"
log_format = "xml"

[program.web]
comand = "daphne"
restart = "sometimes"
stop_timeout = "10 parsecs"
"#;
    assert_eq!(
        problems(text),
        [
            r#"2: supd.socket_mode: expected an octal mode like "0600" or 0o600, found "rw""#,
            r#"3: supd.log_format: expected one of "prefix", "raw", "json", found "xml""#,
            r#"5: program.web: missing required key "command""#,
            r#"6: program.web.comand: unknown key "comand" (did you mean "command"?)"#,
            r#"7: program.web.restart: expected one of "always", "on-failure", "never", found "sometimes""#,
            r#"8: program.web.stop_timeout: expected a duration like "250ms", "10s" or "1m", found "10 parsecs""#,
        ]
    );
}

#[test]
fn problems_from_several_programs_come_sorted_by_line() {
    let text = r#"[program.b]
command = "b"
depends_on = ["a", "zzz"]
[program.a]
command = "a"
user = ""
[supd]
shutdown_timeout = 5
"#;
    assert_eq!(
        problems(text),
        [
            r#"3: program.b.depends_on: unknown program "zzz" (known programs: b, a)"#,
            r#"6: program.a.user: expected "name", "uid", "name:group" or "uid:gid", found """#,
            r#"8: supd.shutdown_timeout: expected a duration string like "10s", found integer 5 (write "5s")"#,
        ]
    );
}

#[test]
fn unknown_keys_suggest_the_nearest_known_key() {
    assert_eq!(
        problem("[program.web]\ncommand = \"x\"\ncomand = \"y\"\n"),
        r#"3: program.web.comand: unknown key "comand" (did you mean "command"?)"#
    );
    assert_eq!(
        problem("[program.web]\ncommand = \"x\"\nrestart_dealy = \"1s\"\n"),
        r#"3: program.web.restart_dealy: unknown key "restart_dealy" (did you mean "restart_delay"?)"#
    );
    assert_eq!(
        problem("[programs.web]\ncommand = \"x\"\n"),
        r#"1: programs: unknown key "programs" (did you mean "program"?)"#
    );
}

#[test]
fn two_program_cycle_is_reported_once() {
    let text = "[program.a]\ncommand = \"a\"\ndepends_on = [\"b\"]\n\
                [program.b]\ncommand = \"b\"\ndepends_on = [\"a\"]\n";
    assert_eq!(
        problems(text),
        ["3: program.a.depends_on: dependency cycle: a -> b -> a"]
    );
}

#[test]
fn three_program_cycle_names_every_program() {
    let text = r#"[program.a]
command = "a"
depends_on = ["b"]
[program.b]
command = "b"
depends_on = ["c"]
[program.c]
command = "c"
depends_on = [
  "d",
  "a",
]
[program.d]
command = "d"
"#;
    assert_eq!(
        problems(text),
        ["3: program.a.depends_on: dependency cycle: a -> b -> c -> a"]
    );
}

#[test]
fn two_separate_cycles_are_both_reported() {
    let text = "[program.a]\ncommand = \"a\"\ndepends_on = [\"b\"]\n\
                [program.b]\ncommand = \"b\"\ndepends_on = [\"a\"]\n\
                [program.c]\ncommand = \"c\"\ndepends_on = [\"d\"]\n\
                [program.d]\ncommand = \"d\"\ndepends_on = [\"c\"]\n";
    assert_eq!(
        problems(text),
        [
            "3: program.a.depends_on: dependency cycle: a -> b -> a",
            "9: program.c.depends_on: dependency cycle: c -> d -> c",
        ]
    );
}

#[test]
fn a_diamond_is_not_a_cycle() {
    let config = ok(
        "[program.a]\ncommand = \"a\"\ndepends_on = [\"b\", \"c\"]\n\
                     [program.b]\ncommand = \"b\"\ndepends_on = [\"d\"]\n\
                     [program.c]\ncommand = \"c\"\ndepends_on = [\"d\"]\n\
                     [program.d]\ncommand = \"d\"\n",
    );
    assert_eq!(config.programs[0].depends_on, ["b", "c"]);
}

#[test]
fn a_long_dependency_chain_does_not_overflow_the_stack() {
    let mut text = String::new();
    for i in 0..5000 {
        text.push_str(&format!(
            "[program.p{i}]\ncommand = \"x\"\ndepends_on = [\"p{}\"]\n",
            i + 1
        ));
    }
    text.push_str("[program.p5000]\ncommand = \"x\"\ndepends_on = [\"p0\"]\n");
    let all = problems(&text);
    assert_eq!(all.len(), 1);
    assert!(all[0].starts_with("3: program.p0.depends_on: dependency cycle: p0 -> p1 -> p2"));
    assert!(all[0].ends_with("p4999 -> p5000 -> p0"));
}

#[test]
fn missing_dependency_is_named() {
    assert_eq!(
        problem("[program.web]\ncommand = \"x\"\ndepends_on = [\"migrate\"]\n"),
        r#"3: program.web.depends_on: unknown program "migrate" (known programs: web)"#
    );
}

#[test]
fn interpolation_applies_to_every_string_value() {
    let config = ok(r#"[supd]
socket = "${RUN_DIR:-/run}/supd.sock"
socket_group = "${GROUP:-ops}"
[program.web]
command = "serve --port ${PORT} --literal $${PORT} $HOME"
directory = "${APP}"
user = "${APP_USER:-app}:${APP_GROUP:-app}"
restart = "${RESTART:-on-failure}"
stop_signal = "${SIG:-INT}"
"#);
    assert_eq!(config.supd.socket, PathBuf::from("/run/supd/supd.sock"));
    let web = &config.programs[0];
    assert_eq!(
        web.command,
        ["serve", "--port", "8000", "--literal", "${PORT}", "$HOME"]
    );
    assert_eq!(web.directory, Some(PathBuf::from("/app")));
    assert_eq!(web.restart, supd_config::RestartPolicy::OnFailure);
    assert_eq!(web.stop_signal, supd_config::Signal::SIGINT);
}

#[test]
fn interpolation_errors_name_the_key_and_the_variable() {
    let text = r#"[supd]
socket = "${SOCKET_DIR}/supd.sock"
[program.web]
command = ["serve", "${PORT}", "${BIND_ADDR}"]
directory = "${APP"
user = "${1USER}"
"#;
    assert_eq!(
        problems(text),
        [
            "2: supd.socket: environment variable SOCKET_DIR is not set (give a default with ${SOCKET_DIR:-value})",
            "4: program.web.command: environment variable BIND_ADDR is not set (give a default with ${BIND_ADDR:-value})",
            r#"5: program.web.directory: unterminated "${" (close it with "}", or write "$${" for a literal "${")"#,
            r#"6: program.web.user: invalid variable name "1USER" in "${1USER}" (expected letters, digits and _, not starting with a digit, optionally followed by ":-default")"#,
        ]
    );
}

#[test]
fn keys_are_never_interpolated() {
    let config = ok("[program.web]\ncommand = \"x\"\nenvironment = { \"A_${X}\" = \"1\" }\n");
    assert_eq!(config.programs[0].environment[0].0, "A_${X}");
}

#[test]
fn syntax_errors_are_reported_alone_with_their_lines() {
    let text = "[supd]\nsocket = \"unterminated\nbogus_key = 1\n[program.web]\ncommand = \"x\"\n";
    let all = problems(text);
    assert!(!all.is_empty());
    assert!(all.iter().all(|p| p.contains("invalid TOML")), "{all:#?}");
    assert!(all[0].starts_with("2: -: invalid TOML: "), "{all:#?}");
    assert!(!all.iter().any(|p| p.contains("bogus_key")));
}

#[test]
fn duplicate_keys_and_tables_are_syntax_errors_naming_the_key() {
    assert_eq!(
        problems("[program.web]\ncommand = \"a\"\ncommand = \"b\"\n"),
        [r#"3: -: invalid TOML: key "command" is defined twice"#]
    );
    assert_eq!(
        problems("[program.web]\ncommand = \"a\"\n[program.web]\ncommand = \"b\"\n"),
        [
            "3: program.web: program \"web\" is already defined in /etc/supd/supd.toml:1 \
             (a program may be defined only once in a config file and the files it includes)"
        ]
    );
}

#[test]
fn syntax_error_messages_are_single_lines() {
    for text in [
        "x = ",
        "[supd",
        "a = [1, 2",
        "a = {",
        "= 1",
        "a = 1 2",
        "a.b = 1\na = 2",
        "a = \"\\q\"",
    ] {
        let all = problems(text);
        assert!(!all.is_empty(), "{text:?}");
        for p in &all {
            assert!(!p.contains('\n'), "{text:?}: {p:?}");
            assert!(p.contains("invalid TOML"), "{text:?}: {p:?}");
        }
    }
}

#[test]
fn diagnostics_display_as_file_line_key_message() {
    let err = parse("[program.web]\ncommand = \"x\"\nrestart = \"sometimes\"\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"/etc/supd/supd.toml:3: program.web.restart: expected one of "always", "on-failure", "never", found "sometimes""#
    );
    let err = parse("a = 1\nb = 2\n").unwrap_err();
    assert_eq!(err.len(), 2);
    assert_eq!(err.to_string().lines().count(), 2);
}

#[test]
fn odd_inputs_never_panic() {
    let inputs = [
        "",
        "\n\n\n",
        "\u{feff}[supd]",
        "[program.\"\"]\ncommand = \"x\"",
        "[program.\"ü\"]\ncommand = \"ü\"",
        "[program.web]\ncommand = \"\\u0000\"",
        "[program.web]\ncommand = \"x\"\nenvironment = { \"\" = \"x\", A = { B = 1 } }",
        "[program.web]\ncommand = \"x\"\nexit_codes = [99999999999999999999]",
        "[supd]\nsocket_mode = 0xffffffffffffffff",
        "[supd]\nsocket_mode = -0",
        "[supd]\nshutdown_timeout = \"99999999999999999999999h\"",
        "[program.web]\ncommand = \"x\"\nstop_signal = \"99999999999999999999\"",
        "[program.web]\ncommand = 1979-05-27T07:32:00Z",
        "[program.web]\ncommand = \"x\"\nwatch = { paths = [[\"a\"]] }",
        "a = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        "[program.web]\ncommand = \"x\"\nhealth = { tcp = \":\", http = \"http://\" , command = [] }",
        "[program.web]\ncommand = \"${\"",
        "[program.web]\ncommand = \"$\"",
    ];
    for text in inputs {
        match parse(text) {
            Ok(_) => {}
            Err(problems) => {
                for p in problems.iter() {
                    assert!(!p.message.is_empty(), "{text:?}");
                    assert!(!p.message.contains('\n'), "{text:?}: {:?}", p.message);
                }
            }
        }
    }
}

#[test]
fn nul_characters_are_refused() {
    assert_eq!(
        problem("[program.web]\ncommand = \"x\\u0000y\"\n"),
        "2: program.web.command: the value contains a NUL character, which is not allowed"
    );
}

#[test]
fn load_of_a_missing_file_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nope.toml");
    let err = load(&path).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(
        err.to_string(),
        format!("{}: cannot read config file: no such file", path.display())
    );
    let err = socket_path(&path).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("cannot read config file: no such file")
    );
}

#[test]
fn load_reads_the_file_and_resolves_paths_against_its_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("supd.toml");
    std::fs::write(
        &path,
        "[supd]\nsocket = \"supd.sock\"\n[program.web]\ncommand = \"x\"\nstdout = \"web.log\"\n",
    )
    .expect("write");
    let config = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.path, path);
    assert_eq!(config.supd.socket, dir.path().join("supd.sock"));
    assert_eq!(
        config.programs[0].stdout,
        supd_config::OutputTarget::File(dir.path().join("web.log"))
    );
}

#[test]
fn socket_path_ignores_problems_elsewhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("supd.toml");
    std::fs::write(
        &path,
        "[supd]\nsocket = \"s.sock\"\nbogus = 1\n[program.web]\ncomand = \"x\"\n",
    )
    .expect("write");
    assert_eq!(socket_path(&path), Ok(dir.path().join("s.sock")));

    std::fs::write(&path, "[program.web]\ncommand = 3\n").expect("write");
    assert_eq!(socket_path(&path), Ok(PathBuf::from("/run/supd.sock")));

    std::fs::write(&path, "supd = \"not a table\"\n").expect("write");
    assert_eq!(socket_path(&path), Ok(PathBuf::from("/run/supd.sock")));
}

#[test]
fn socket_path_still_refuses_syntax_errors_and_a_bad_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("supd.toml");
    std::fs::write(&path, "[supd\nsocket = \"s.sock\"\n").expect("write");
    let err = socket_path(&path).unwrap_err();
    assert!(err.to_string().contains("invalid TOML"), "{err}");

    std::fs::write(&path, "[supd]\nsocket = 3\n").expect("write");
    let err = socket_path(&path).unwrap_err();
    assert!(
        err.to_string()
            .ends_with(":2: supd.socket: expected a string, found integer 3"),
        "{err}"
    );
}

#[test]
fn parse_str_uses_the_given_environment_only() {
    let env = |name: &str| (name == "ONLY").then(|| "yes".to_string());
    let config = parse_str(
        "[program.web]\ncommand = \"echo ${ONLY}\"\n",
        Path::new("x.toml"),
        &env,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.programs[0].command, ["echo", "yes"]);
    assert!(
        parse_str(
            "[program.web]\ncommand = \"echo ${PATH}\"\n",
            Path::new("x.toml"),
            &env
        )
        .is_err()
    );
}
