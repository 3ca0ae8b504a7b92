//! Fuzz tests of the config loader: arbitrary text, and TOML built from the real key names
//! with values of every type (wrong ones too, huge numbers, unicode, empty strings, deep
//! nesting), through `parse_str`, `parse_str_with` (profiles) and files on disk (includes
//! and env files); and the env file syntax, whose quoting must round-trip.
//!
//! Properties: nothing panics; nothing hangs (every case runs on a thread of its own and
//! must answer within [`DEADLINE`], else the test fails naming the input); every problem
//! names a file and a line of it and has a message, and names a key where it is about one
//! (a problem whose line holds `key = ...` names that key); every accepted config keeps
//! its invariants (unique program names, dependencies and group members that exist, a
//! command, delays in order).
//!
//! The default run, for CI, is 3,000 cases of each text target and 300 of each target that
//! writes files. For a longer hunt set `PROPTEST_CASES` (the cases of each text target; the
//! file targets run a tenth of it), e.g.
//! `PROPTEST_CASES=1000000 cargo test --release --locked -p supd-config --test fuzz`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use supd_config::keys::{HEALTH_KEYS, PROGRAM_KEYS, SUPD_KEYS, WATCH_KEYS};
use supd_config::{Config, Diagnostics, LoadOptions};

/// Longest a single case may take before it counts as a hang (generous: a debug build on
/// a busy machine parses these inputs in well under a millisecond).
const DEADLINE: Duration = Duration::from_secs(20);

const MAIN: &str = "/etc/supd/supd.toml";

fn env(name: &str) -> Option<String> {
    match name {
        "PORT" => Some("8000".to_string()),
        "EMPTY" => Some(String::new()),
        "WEIRD" => Some("a\"b\\c\n]".to_string()),
        _ => None,
    }
}

/// `f()` on a thread of its own: its result, or a failure when it does not answer within
/// [`DEADLINE`] (a hang) or panics.
fn guarded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let _ = tx.send(f());
        })
        .expect("thread");
    match rx.recv_timeout(DEADLINE) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("no answer within {DEADLINE:?}: {what}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("panicked: {what}"),
    }
}

fn parse_guarded(text: &str, profiles: &[&str]) -> Result<Config, Diagnostics> {
    let owned = text.to_string();
    let options = LoadOptions {
        profiles: profiles.iter().map(|p| p.to_string()).collect(),
    };
    guarded(&format!("{text:?}"), move || {
        supd_config::parse_str_with(&owned, Path::new(MAIN), &env, &options)
    })
}

/// The text of `file`: `text` for the main file, else read from disk.
fn text_of(file: &Path, main: &Path, text: &str) -> Option<String> {
    if file == main {
        Some(text.to_string())
    } else {
        std::fs::read_to_string(file).ok()
    }
}

/// The problems' promises: a message, a file of the config, a line of that file, and the
/// key when the line sets one.
fn check_problems(problems: &Diagnostics, main: &Path, text: &str) -> Result<(), TestCaseError> {
    prop_assert!(!problems.is_empty(), "empty Diagnostics");
    for d in problems.iter() {
        prop_assert!(!d.message.trim().is_empty(), "empty message: {d:?}");
        prop_assert!(!d.file.as_os_str().is_empty(), "no file: {d:?}");
        let Some(line) = d.line else {
            // Only a file that cannot be read at all, and a profile asked for on the command
            // line, have no line.
            prop_assert!(
                d.message.starts_with("cannot read") || d.message.starts_with("unknown profile"),
                "no line: {d}\n---\n{text}"
            );
            continue;
        };
        let Some(file_text) = text_of(&d.file, main, text) else {
            continue;
        };
        let lines = file_text.split('\n').count();
        prop_assert!(
            line >= 1 && line <= lines,
            "line {line} of a {lines}-line file: {d}\n---\n{text}"
        );
        if let Some(key) = &d.key {
            prop_assert!(!key.is_empty(), "empty key: {d:?}");
        }
        let line_text = file_text.split('\n').nth(line - 1).unwrap_or_default();
        if let Some((written, _)) = line_text.split_once(" = ") {
            let about_a_key = [PROGRAM_KEYS, SUPD_KEYS, WATCH_KEYS, HEALTH_KEYS]
                .iter()
                .any(|keys| keys.contains(&written));
            // A syntax error is about the text; the schema's problems are about keys.
            if about_a_key && !d.message.starts_with("invalid TOML") {
                let named = d.key.as_deref().is_some_and(|k| k.contains(written));
                prop_assert!(named, "the key is not named: {d}\n---\n{text}");
            }
        }
    }
    Ok(())
}

/// What an accepted config promises.
fn check_config(config: &Config) -> Result<(), TestCaseError> {
    let names: BTreeSet<&str> = config.programs.iter().map(|p| p.name.as_str()).collect();
    prop_assert_eq!(
        names.len(),
        config.programs.len(),
        "duplicate program names"
    );
    for p in &config.programs {
        prop_assert!(!p.command.is_empty(), "{}: empty command", p.name);
        prop_assert!(
            !p.name.is_empty() && p.name != "all",
            "bad name {:?}",
            p.name
        );
        let base = supd_config::split_instance(&p.name).map_or(p.name.as_str(), |(b, _)| b);
        prop_assert!(
            base.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')),
            "bad name {:?}",
            p.name
        );
        for d in &p.depends_on {
            prop_assert!(
                names.contains(d.as_str()),
                "{} depends on missing {d}",
                p.name
            );
            prop_assert!(d != &p.name, "{} depends on itself", p.name);
        }
        prop_assert!(p.max_restart_delay >= p.restart_delay, "{}: delays", p.name);
        let mut vars = BTreeSet::new();
        for (k, v) in &p.environment {
            prop_assert!(vars.insert(k.as_str()), "{}: {k} set twice", p.name);
            prop_assert!(
                !k.contains('\0') && !v.contains('\0'),
                "{}: NUL in {k}",
                p.name
            );
        }
        prop_assert!(
            p.command.iter().all(|a| !a.contains('\0')),
            "{}: NUL in argv",
            p.name
        );
    }
    let mut groups = BTreeSet::new();
    for g in &config.groups {
        prop_assert!(groups.insert(g.name.as_str()), "group {} twice", g.name);
        for member in &g.programs {
            prop_assert!(names.contains(member.as_str()), "group member {member}");
        }
    }
    Ok(())
}

// ---- Structure-aware generation -------------------------------------------------------

/// Keys no table has: typos and supervisord's spellings.
const UNKNOWN_KEYS: &[&str] = &["autorestart", "startsecs", "comand", "nodaemon", ""];
const NAMES: &[&str] = &["web", "db", "w.x", "a-b_1", "all", "", "é", "x y", "w:1"];

/// Strings a key might plausibly hold, right for some keys and wrong for others.
const WORDS: &[&str] = &[
    "",
    "x",
    "run --port ${PORT}",
    "${UNSET}",
    "${EMPTY}",
    "${WEIRD}",
    "$${PORT}",
    "${",
    "${PORT:-9}",
    "${X:?must be set}",
    "5s",
    "100ms",
    "1m30s",
    "0s",
    "-1s",
    "1h",
    "99999999999999999999s",
    "5",
    "5 s",
    "abc",
    "SIGHUP",
    "HUP",
    "TERM",
    "SIGKILL",
    "KILL",
    "9",
    "64",
    "SIGFOO",
    "root",
    "0",
    "1000:1000",
    "nobody:nogroup",
    "root:",
    ":0",
    "4294967296",
    "always",
    "on-failure",
    "never",
    "sometimes",
    "started",
    "notify",
    "console",
    "null",
    "stdout",
    "/var/log/x.log",
    "relative/x.log",
    "json",
    "raw",
    "prefix",
    "0644",
    "0o600",
    "0777",
    "999",
    "restart",
    "signal:HUP",
    "signal:NOPE",
    "auto",
    "off",
    "poll:1s",
    "localhost:80",
    "http://localhost/health",
    "https://x/",
    "ftp://x",
    "*.py",
    "conf.d/*.toml",
    "**/*.toml",
    "[",
    "missing.toml",
    "missing.env",
    "10MB",
    "1GiB",
    "1.5kb",
    "é",
    "\u{0}",
    "\u{feff}",
    "'",
    "\"",
    "\\",
    "\n",
    "web",
    "db",
    "w.x",
    "all",
    "dev",
    "prod",
];

fn toml_string(s: &str) -> String {
    // Debug quoting is TOML-compatible for these (escapes `"`, `\`, control characters),
    // except `\u{..}`, which TOML spells `\u....`.
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(WORDS).prop_map(toml_string),
        1 => any::<String>().prop_map(|s| toml_string(&s)),
        1 => "[a-z*./${}:-]{0,12}".prop_map(|s| toml_string(&s)),
        2 => prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(3),
            Just(i64::MAX),
            Just(i64::MIN),
            Just(u32::MAX as i64),
            Just(u32::MAX as i64 + 1),
            any::<i64>(),
        ]
        .prop_map(|n| n.to_string()),
        1 => prop::sample::select(&["true", "false", "1.5", "-0.0", "inf", "nan", "1e400",
            "1979-05-27T07:32:00Z", "07:32:00", "0x1f", "0o777", "'literal'", "'''a\nb'''"][..])
            .prop_map(str::to_string),
    ]
}

fn value() -> impl Strategy<Value = String> {
    scalar().prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(
                (
                    prop::sample::select(&["command", "tcp", "x", "a.b", "\"q\""][..]),
                    inner
                ),
                0..3
            )
            .prop_map(|kv| {
                let items: Vec<String> = kv.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", items.join(", "))
            }),
        ]
    })
}

fn key_line(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    let key = prop_oneof![
        8 => prop::sample::select(keys),
        1 => prop::sample::select(UNKNOWN_KEYS),
    ];
    (key, value()).prop_map(|(k, v)| format!("{k} = {v}"))
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(NAMES).prop_map(|n| {
        if !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            n.to_string()
        } else {
            toml_string(n)
        }
    })
}

/// One table: a header and some of its keys.
fn table() -> impl Strategy<Value = String> {
    let body = |keys| prop::collection::vec(key_line(keys), 0..6).prop_map(|l| l.join("\n"));
    prop_oneof![
        1 => body(SUPD_KEYS).prop_map(|b| format!("[supd]\n{b}")),
        5 => (name(), Just("command = \"run\"".to_string()).boxed().prop_union(Just(String::new()).boxed()), body(PROGRAM_KEYS))
            .prop_map(|(n, c, b)| format!("[program.{n}]\n{c}\n{b}")),
        1 => (name(), body(WATCH_KEYS)).prop_map(|(n, b)| format!("[program.{n}.watch]\n{b}")),
        1 => (name(), body(HEALTH_KEYS)).prop_map(|(n, b)| format!("[program.{n}.health]\n{b}")),
        1 => (name(), prop::collection::vec(name(), 0..3))
            .prop_map(|(n, m)| format!("[group.{n}]\nprograms = [{}]", m.join(", "))),
        1 => prop::sample::select(&["[[program]]", "[program]", "[program:web]", "[x]",
            "[supd.extra]", "[program.web.watch.deep]", "program = 1", "[program.web]\n[program.web]"][..])
            .prop_map(str::to_string),
    ]
}

fn document() -> impl Strategy<Value = String> {
    prop::collection::vec(table(), 0..6).prop_map(|t| t.join("\n\n") + "\n")
}

/// A document with bytes of junk spliced in somewhere.
fn mutated_document() -> impl Strategy<Value = String> {
    (
        document(),
        any::<prop::sample::Index>(),
        "[\\[\\]=\"'{}\n#.,\\\\ a-z0-9é]{1,6}",
    )
        .prop_map(|(doc, at, junk)| {
            let mut at = at.index(doc.len() + 1);
            while !doc.is_char_boundary(at) {
                at -= 1;
            }
            format!("{}{junk}{}", &doc[..at], &doc[at..])
        })
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3_000)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// One value checked against both promises.
fn check(text: &str, profiles: &[&str]) -> Result<(), TestCaseError> {
    match parse_guarded(text, profiles) {
        Ok(config) => check_config(&config),
        Err(problems) => check_problems(&problems, Path::new(MAIN), text),
    }
}

proptest! {
    #![proptest_config(config(cases()))]

    #[test]
    fn arbitrary_text_is_refused_cleanly(text in any::<String>()) {
        check(&text, &[])?;
    }

    #[test]
    fn toml_made_of_real_keys_keeps_the_promises(text in document(), dev in any::<bool>()) {
        check(&text, if dev { &["dev"] } else { &[] })?;
    }

    #[test]
    fn toml_with_junk_spliced_in_keeps_the_promises(text in mutated_document()) {
        check(&text, &[])?;
    }
}

// ---- Files on disk: includes and env files --------------------------------------------

/// An env file line: good, badly quoted, or junk.
fn env_line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (prop::sample::select(&["A", "PORT", "_x.y-z", "1X", "", "export B", "A B"][..]),
            prop::sample::select(&["", " ", " = "][..]),
            prop::sample::select(WORDS))
            .prop_map(|(k, eq, v)| format!("{k}{eq}={v}")),
        1 => "[A-Z]{1,3}=[\"'][a-z\\\\\"' #\n]{0,8}".prop_map(|s| s),
        1 => any::<String>(),
    ]
}

fn env_file() -> impl Strategy<Value = String> {
    prop::collection::vec(env_line(), 0..6).prop_map(|l| l.join("\n"))
}

fn included_file() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => document(),
        1 => any::<String>(),
    ]
}

/// A main file that includes `conf.d/*.toml` and names env files, plus those files.
fn tree() -> impl Strategy<Value = (String, Vec<String>, String, String)> {
    (
        prop::sample::select(
            &[
                "include = [\"conf.d/*.toml\"]",
                "include = [\"conf.d/a.toml\", \"conf.d/missing.toml\"]",
                "include = [\"conf.d\"]",
                "include = [\"**/*.toml\"]",
                "include = [\"conf.d/[\"]",
                "include = \"conf.d/*.toml\"",
                "include = [\"supd.toml\"]",
            ][..],
        ),
        prop::sample::select(&[".env", "missing.env", "conf.d", ""][..]),
        document(),
        prop::collection::vec(included_file(), 0..3),
        env_file(),
        env_file(),
    )
        .prop_map(
            |(include, supd_env, main_rest, included, supd_vars, program_vars)| {
                let env_key = if supd_env.is_empty() {
                    String::new()
                } else {
                    format!("env_file = \"{supd_env}\"")
                };
                let main = format!(
                    "[supd]\n{include}\n{env_key}\n\n[program.p]\ncommand = \"run ${{A}}\"\n\
                 env_file = \"p.env\"\n\n{main_rest}"
                );
                (main, included, supd_vars, program_vars)
            },
        )
}

fn write_tree(
    dir: &Path,
    main: &str,
    included: &[String],
    supd_vars: &str,
    p_vars: &str,
) -> PathBuf {
    std::fs::create_dir_all(dir.join("conf.d")).expect("conf.d");
    for (i, text) in included.iter().enumerate() {
        std::fs::write(
            dir.join(format!("conf.d/{}.toml", (b'a' + i as u8) as char)),
            text,
        )
        .expect("write include");
    }
    std::fs::write(dir.join(".env"), supd_vars).expect("write .env");
    std::fs::write(dir.join("p.env"), p_vars).expect("write p.env");
    let path = dir.join("supd.toml");
    std::fs::write(&path, main).expect("write main");
    path
}

proptest! {
    #![proptest_config(config(cases() / 10))]

    #[test]
    fn configs_of_several_files_keep_the_promises(
        (main, included, supd_vars, program_vars) in tree()
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write_tree(dir.path(), &main, &included, &supd_vars, &program_vars);
        let loaded_path = path.clone();
        let result = guarded(&format!("{main:?} {included:?}"), move || {
            supd_config::parse_str(&std::fs::read_to_string(&loaded_path).unwrap_or_default(),
                &loaded_path, &env)
        });
        match result {
            Ok(config) => check_config(&config)?,
            Err(problems) => check_problems(&problems, &path, &main)?,
        }
    }
}

// ---- Env file quoting round-trips ------------------------------------------------------

/// How a value is written in an env file.
#[derive(Debug, Clone, Copy)]
enum Quoting {
    Bare,
    Single,
    Double,
}

/// `value` written with `quoting`, when that quoting can hold it.
fn render_env_value(value: &str, quoting: Quoting) -> Option<String> {
    match quoting {
        Quoting::Bare => {
            let plain = value.trim() == value
                && !value.starts_with(['\'', '"'])
                && !value.contains(['\n', '\r'])
                && !value.contains(" #")
                && !value.contains("\t#");
            plain.then(|| value.to_string())
        }
        // A CR before a line end is a CRLF file's line end, not part of the value.
        Quoting::Single => {
            (!value.contains('\'') && !value.contains("\r\n")).then(|| format!("'{value}'"))
        }
        Quoting::Double => {
            let mut out = String::from("\"");
            for c in value.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
            out.push('"');
            Some(out)
        }
    }
}

/// Values an env file can hold: anything but NUL (refused, see the test at the end).
fn env_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z \t#'\"\\\\$={}\n\r]{0,10}",
        any::<String>(),
        prop::sample::select(WORDS).prop_map(str::to_string),
    ]
    .prop_map(|s| s.replace('\0', ""))
}

fn env_entries() -> impl Strategy<Value = Vec<(String, String, Quoting)>> {
    prop::collection::vec(
        (
            "[A-Za-z_][A-Za-z0-9_.-]{0,6}",
            env_value(),
            prop_oneof![
                Just(Quoting::Bare),
                Just(Quoting::Single),
                Just(Quoting::Double)
            ],
        ),
        0..6,
    )
}

proptest! {
    #![proptest_config(config(cases() / 10))]

    #[test]
    fn env_file_values_round_trip(entries in env_entries(), export in any::<bool>()) {
        let mut text = String::from("# generated\n");
        let mut expected: Vec<(String, String)> = Vec::new();
        for (key, value, quoting) in &entries {
            let Some(rendered) = render_env_value(value, *quoting) else { continue };
            let prefix = if export { "export " } else { "" };
            text.push_str(&format!("{prefix}{key}={rendered}\n"));
            match expected.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value.clone(),
                None => expected.push((key.clone(), value.clone())),
            }
        }
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("p.env"), &text).expect("write env file");
        let path = dir.path().join("supd.toml");
        let main = "[program.p]\ncommand = \"x\"\nenv_file = \"p.env\"\n";
        let config = guarded(&text, move || supd_config::parse_str(main, &path, &env));
        match config {
            Ok(config) => prop_assert_eq!(&config.programs[0].environment, &expected, "{}", text),
            Err(problems) => prop_assert!(false, "refused:\n{}\n---\n{}", problems, text),
        }
    }
}

// ---- What the fuzzing found, kept as plain tests ---------------------------------------

/// A program table written twice after a syntax error earlier in the file: the parser's
/// recovery reported the repeat at a key of the table, so the problem named
/// `program.e` on the line of `command`. It is now at the repeated header.
#[test]
fn a_repeated_table_after_a_syntax_error_is_reported_at_its_header() {
    let text = "[supd]\nsocket ={ { command = \"\" }\n\n[program.e]\ncommand = \"run\"\n\n\n\
                [program.e]\ncommand = \"run\"\n";
    let problems = parse_guarded(text, &[]).expect_err("invalid");
    let repeat = problems
        .iter()
        .find(|d| d.message.contains("already defined"))
        .expect("the repeat is reported");
    assert_eq!(repeat.line, Some(8), "{repeat}");
    assert_eq!(repeat.key.as_deref(), Some("program.e"));
}

/// Deeply nested arrays and inline tables are refused or read, without a stack overflow.
#[test]
fn deep_nesting_neither_overflows_nor_hangs() {
    for depth in [10, 100, 1_000, 10_000] {
        for (open, close) in [("[", "]"), ("{ a = ", " }")] {
            let text = format!(
                "[program.p]\ncommand = \"x\"\nexit_codes = {}1{}\n",
                open.repeat(depth),
                close.repeat(depth)
            );
            match parse_guarded(&text, &[]) {
                Ok(_) => panic!("depth {depth}: nested exit_codes accepted"),
                Err(problems) => check_problems(&problems, Path::new(MAIN), &text)
                    .unwrap_or_else(|e| panic!("depth {depth}: {e}")),
            }
        }
    }
}

/// An env file value with a NUL character was accepted, and the program then failed to
/// start with "an argument contains a NUL byte". It is now a problem at its line.
#[test]
fn an_env_file_value_with_a_nul_is_refused_at_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("p.env"), "A=ok\nB=x\0y\nC=\"p\0q\"\n").expect("env");
    let path = dir.path().join("supd.toml");
    let text = "[program.p]\ncommand = \"x\"\nenv_file = \"p.env\"\n";
    let problems = supd_config::parse_str(text, &path, &env).expect_err("NULs refused");
    let found: Vec<(Option<usize>, Option<&str>, &str)> = problems
        .iter()
        .map(|d| (d.line, d.key.as_deref(), d.message.as_str()))
        .collect();
    let nul = "the value contains a NUL character, which is not allowed";
    assert_eq!(
        found,
        [(Some(2), Some("B"), nul), (Some(3), Some("C"), nul)],
        "{problems}"
    );
}
