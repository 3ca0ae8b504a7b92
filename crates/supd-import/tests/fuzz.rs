//! Fuzz tests of the supervisord importer: arbitrary text, and INI built from supervisord's
//! sections and keys (`[program:x]`, `[group:g]`, `[supervisord]`, `[include]`, ...) with
//! values that are right, wrong or odd (`%(ENV_X)s`, `%(program_name)s`, numprocs, command
//! lines with quotes, continuation lines, comments, unicode), one file or a main file and
//! an included one through `convert_files`. (`no_panic.rs` mutates the fixtures; this file
//! generates files from nothing.)
//!
//! Properties: nothing panics or hangs (inputs are a few dozen lines, and every case runs on
//! a thread of its own that must answer within [`DEADLINE`]); every `Err` names one of
//! the files and a line of it and says something; every `Ok` is valid TOML that supd's own
//! loader reads, or refuses only for what the importer leaves to it (a value with a
//! `${VAR}` in it, a glob), at a line of it.
//!
//! The default run, for CI, is 3,000 cases of each target. For a longer hunt set
//! `PROPTEST_CASES`, e.g.
//! `PROPTEST_CASES=1000000 cargo test --release --locked -p supd-import --test fuzz`.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use supd_import::{Conversion, ImportError, PROGRAM_KEYS, SourceFile, convert_files};

/// Longest one case may take before it counts as a hang.
const DEADLINE: Duration = Duration::from_secs(20);

const MAIN: &str = "/etc/supervisor/supervisord.conf";
const INCLUDED: &str = "/etc/supervisor/conf.d/more.conf";
const TOML_PATH: &str = "/etc/supd/supd.toml";

fn env(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/root".to_string()),
        "N" => Some("2".to_string()),
        "EMPTY" => Some(String::new()),
        "ODD" => Some("a b'\"%".to_string()),
        _ => None,
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3_000)
}

/// Sections, each with the keys supervisord knows in it (and a typo or two).
const SECTIONS: &[(&str, &[&str])] = &[
    (
        "[supervisord]",
        &[
            "nodaemon",
            "logfile",
            "pidfile",
            "user",
            "directory",
            "umask",
            "environment",
        ],
    ),
    ("[unix_http_server]", &["file", "chmod", "chown"]),
    ("[inet_http_server]", &["port"]),
    ("[supervisorctl]", &["serverurl"]),
    (
        "[rpcinterface:supervisor]",
        &["supervisor.rpcinterface_factory"],
    ),
    ("[include]", &["files"]),
    ("[program:web]", PROGRAM_KEYS),
    ("[program:worker]", PROGRAM_KEYS),
    ("[program:a.b]", PROGRAM_KEYS),
    ("[program:x y]", PROGRAM_KEYS),
    ("[program:]", PROGRAM_KEYS),
    ("[program:é]", PROGRAM_KEYS),
    ("[group:g]", &["programs", "priority"]),
    ("[group:web]", &["programs"]),
    ("[eventlistener:e]", PROGRAM_KEYS),
    ("[fcgi-program:f]", PROGRAM_KEYS),
    ("[other]", &["x"]),
    ("[program:web", PROGRAM_KEYS),
];

/// Options supervisord does not know: typos.
const UNKNOWN_KEYS: &[&str] = &["Command", "comand", "autorestrat", ""];

/// Values: right for some keys, wrong for others.
const VALUES: &[&str] = &[
    "",
    "true",
    "false",
    "yes",
    "0",
    "1",
    "2",
    "-1",
    "99999999999999999999",
    "unexpected",
    "always",
    "never",
    "TERM",
    "SIGHUP",
    "KILL",
    "nope",
    "0,2",
    "0, 1,",
    "022",
    "0777",
    "1MB",
    "10KB",
    "1GB",
    "0",
    "NONE",
    "AUTO",
    "/dev/stdout",
    "/dev/fd/1",
    "/dev/fd/2",
    "/var/log/%(program_name)s.log",
    "%(here)s/x",
    "%(ENV_HOME)s",
    "%(ENV_N)s",
    "%(ENV_ODD)s",
    "%(ENV_UNSET)s",
    "%(ENV_",
    "%(process_num)02d",
    "%(process_num)d",
    "%(program_name)s",
    "%(group_name)s",
    "%(host_node_name)s",
    "%(bogus)s",
    "%%",
    "%",
    "%(",
    "root",
    "app:app",
    "1000",
    "1000:1000",
    "web,worker",
    "web",
    "conf.d/*.conf",
    "*.conf",
    "[",
    "a:b",
    "A=\"1\",B=\"2\"",
    "A=1,B=%(ENV_HOME)s",
    "A=\"unterminated",
    "A=\"x,y\"",
    "=1",
    "A",
    "unix:///tmp/s.sock",
    "é",
    "\u{0}",
    "\u{feff}",
    "${X}",
    "$$",
    "${",
    "'",
    "\"",
];

/// Command lines: programs, shells, quotes, gosu and entr.
const COMMANDS: &[&str] = &[
    "python -m http.server 8000",
    "/usr/bin/env A=1 run",
    "bash -c 'echo \"hi there\"; exec sleep 1'",
    "sh -c \"exec run --name=%(program_name)s\"",
    "gosu app run",
    "gosu app:app %(here)s/bin/run",
    "su-exec 1000:1000 run",
    "gosu",
    "run 'unterminated",
    "run \"unterminated",
    "run \\",
    "bash -c 'find src -name \"*.py\" | entr -n supervisorctl restart web'",
    "sh -c 'ls *.py | entr -r supervisorctl restart g:*'",
    "entr -n true",
    "run --n %(process_num)02d --env %(ENV_HOME)s",
    "run %(ENV_UNSET)s",
    "   ",
    "é ü",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        10 => prop::sample::select(VALUES).prop_map(str::to_string),
        1 => "[ -~]{0,12}",
        1 => any::<String>().prop_map(|s| s.replace(['\n', '\r'], " ")),
    ]
}

fn line(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        12 => (prop::sample::select(keys), prop::sample::select(&["=", " = ", ": ", ":"][..]), value())
            .prop_map(|(k, sep, v)| format!("{k}{sep}{v}")),
        1 => (prop::sample::select(UNKNOWN_KEYS), value()).prop_map(|(k, v)| format!("{k}={v}")),
        2 => (prop::sample::select(&["command=", "command = "][..]), prop::sample::select(COMMANDS))
            .prop_map(|(k, c)| format!("{k}{c}")),
        1 => value().prop_map(|v| format!("    {v}")),
        1 => value().prop_map(|v| format!("; {v}")),
        1 => value().prop_map(|v| format!("# {v}")),
        1 => prop::sample::select(SECTIONS).prop_map(|(header, _)| header.to_string()),
        1 => value(),
    ]
}

fn section() -> impl Strategy<Value = String> {
    prop::sample::select(SECTIONS).prop_flat_map(|(header, keys)| {
        (
            prop::option::weighted(0.8, prop::sample::select(COMMANDS)),
            prop::collection::vec(line(keys), 0..6),
        )
            .prop_map(move |(command, lines)| {
                let mut out = format!("{header}\n");
                if let Some(c) = command.filter(|_| keys == PROGRAM_KEYS) {
                    out.push_str(&format!("command={c}\n"));
                }
                for l in lines {
                    out.push_str(&l);
                    out.push('\n');
                }
                out
            })
    })
}

fn ini() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => prop::collection::vec(section(), 0..5).prop_map(|s| s.concat()),
        2 => sound_ini(),
    ]
}

/// Good values for a program key (`None` for those left out of sound sections).
fn sound_values(key: &str) -> Option<&'static [&'static str]> {
    Some(match key {
        "process_name" => &[
            "%(program_name)s",
            "%(program_name)s_%(process_num)02d",
            "x",
        ],
        "numprocs" => &["1", "2", "%(ENV_N)s"],
        "numprocs_start" => &["0", "1"],
        "priority" => &["1", "999"],
        "autostart" | "stopasgroup" | "killasgroup" | "redirect_stderr" => &["true", "false"],
        "startsecs" | "startretries" | "stopwaitsecs" | "stdout_logfile_backups" => &["0", "3"],
        "autorestart" => &["true", "false", "unexpected"],
        "exitcodes" => &["0", "0,2"],
        "stopsignal" => &["TERM", "HUP", "INT", "KILL", "QUIT", "USR1"],
        "user" => &["root", "app", "1000"],
        "stdout_logfile" | "stderr_logfile" => &[
            "/dev/stdout",
            "/dev/fd/1",
            "/dev/fd/2",
            "NONE",
            "AUTO",
            "/var/log/%(program_name)s.log",
        ],
        "stdout_logfile_maxbytes" => &["0", "1MB", "50KB"],
        "environment" => &[
            "A=\"1\",B=\"%(ENV_HOME)s\"",
            "A=1",
            "PATH=\"/bin:%(ENV_HOME)s\"",
        ],
        "directory" => &["/srv", "%(here)s"],
        "umask" => &["022", "002"],
        _ => return None,
    })
}

/// A program section with good values, so that conversions succeed and supd reads them.
fn sound_program(name: &'static str) -> impl Strategy<Value = String> {
    let keys: Vec<&str> = PROGRAM_KEYS
        .iter()
        .copied()
        .filter(|k| sound_values(k).is_some())
        .collect();
    (
        prop::sample::select(COMMANDS),
        prop::sample::subsequence(keys, 0..8),
        any::<prop::sample::Index>(),
    )
        .prop_map(move |(command, keys, pick)| {
            let mut out = format!("[program:{name}]\ncommand={command}\n");
            for key in keys {
                let values = sound_values(key).unwrap_or(&["x"]);
                out.push_str(&format!("{key}={}\n", values[pick.index(values.len())]));
            }
            out
        })
}

/// Good sections, and perhaps one line of junk.
fn sound_ini() -> impl Strategy<Value = String> {
    (
        prop::option::of(prop::sample::select(
            &[
                "[supervisord]\nnodaemon=true\nuser=root\n",
                "[supervisord]\nenvironment=G=\"1\"\numask=022\ndirectory=/srv\n",
                "[unix_http_server]\nfile=/run/s.sock\nchmod=0770\n",
            ][..],
        )),
        sound_program("web"),
        prop::option::of(sound_program("worker")),
        prop::option::of(sound_program("a.b")),
        prop::option::of(Just("[group:g]\nprograms=web\n")),
        prop::option::of((any::<prop::sample::Index>(), line(PROGRAM_KEYS))),
    )
        .prop_map(|(supervisord, web, worker, ab, group, junk)| {
            let text = [
                supervisord.map(str::to_string),
                Some(web),
                worker,
                ab,
                group.map(str::to_string),
            ]
            .into_iter()
            .flatten()
            .collect::<String>();
            let Some((at, junk)) = junk else { return text };
            let mut lines: Vec<&str> = text.lines().collect();
            lines.insert(at.index(lines.len() + 1), &junk);
            lines.join("\n") + "\n"
        })
}

/// `f()` on a thread of its own: its result, or a failure when it does not answer within
/// [`DEADLINE`] or panics.
fn guarded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("no answer within {DEADLINE:?}: {what}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("panicked: {what}"),
    }
}

/// Converts `files` (path, text), main file first, on a guarded thread.
fn import(files: &[(&str, String)]) -> Result<Conversion, ImportError> {
    let owned: Vec<(PathBuf, String)> = files
        .iter()
        .map(|(p, t)| (PathBuf::from(p), t.clone()))
        .collect();
    guarded(&format!("{files:?}"), move || {
        let sources: Vec<SourceFile> = owned
            .iter()
            .map(|(path, text)| SourceFile { path, text })
            .collect();
        convert_files(&sources, &env)
    })
}

/// The promises of an import: a located error, or TOML that supd reads or refuses only at
/// lines of it.
fn check(files: &[(&str, String)]) -> Result<(), TestCaseError> {
    match import(files) {
        Err(e) => {
            prop_assert!(!e.message.trim().is_empty(), "empty message: {e:?}");
            let text = files.iter().find(|(p, _)| Path::new(p) == e.file);
            let Some((_, text)) = text else {
                return Err(TestCaseError::fail(format!("{e}: not one of the files")));
            };
            let lines = text.split('\n').count();
            prop_assert!(
                e.line >= 1 && e.line <= lines,
                "line {} of a {lines}-line file: {e}\n---\n{text}",
                e.line
            );
        }
        Ok(c) => {
            let toml = c.toml.clone();
            prop_assert!(
                toml::de::DeTable::parse(&toml).is_ok(),
                "invalid TOML from {files:?}:\n{toml}"
            );
            let loaded = guarded(&toml.clone(), move || {
                supd_config::parse_str(&toml, Path::new(TOML_PATH), &env)
            });
            if let Err(problems) = loaded {
                let lines = c.toml.split('\n').count();
                for d in problems.iter() {
                    prop_assert!(
                        d.line.is_some_and(|l| l >= 1 && l <= lines),
                        "{d}\nfrom {files:?}:\n{}",
                        c.toml
                    );
                    // What only supd checks: a value with a variable of supd's environment
                    // in it, a glob.
                    let line = d.line.and_then(|l| c.toml.lines().nth(l - 1)).unwrap_or("");
                    prop_assert!(
                        line.contains("${") || d.message.contains("glob"),
                        "{d}\nfrom {files:?}:\n{}",
                        c.toml
                    );
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_converts_or_names_a_line(text in any::<String>()) {
        check(&[(MAIN, text)])?;
    }

    #[test]
    fn supervisord_shaped_files_keep_the_promises(text in ini()) {
        check(&[(MAIN, text)])?;
    }

    #[test]
    fn a_main_file_and_an_included_one_keep_the_promises(main in ini(), included in ini()) {
        let main = format!("[include]\nfiles = conf.d/*.conf\n{main}");
        check(&[(MAIN, main), (INCLUDED, included)])?;
    }
}

/// `[supervisord] directory=` (empty) converted to programs with `directory = ""`, which
/// supd refuses ("expected a path, found an empty string"). It is now refused at its line,
/// as an empty `[program:x] directory` already was.
#[test]
fn an_empty_supervisord_directory_is_refused_at_its_line() {
    let text = "[supervisord]\ndirectory=\n[program:web]\ncommand=run\n".to_string();
    let err = import(&[(MAIN, text)]).expect_err("refused");
    assert_eq!(
        err.to_string(),
        format!("{MAIN}:2: [supervisord] directory: the directory is empty")
    );
}

/// A `user` with a `$` that is no `${VAR}` (`user=$ &`) was left unchecked, as if supd
/// would resolve it, and supd then refused the converted file. It is checked now.
#[test]
fn a_user_with_a_lone_dollar_is_checked_by_the_import() {
    for text in [
        "[program:web]\ncommand=run\nuser=$ &\n",
        "[supervisord]\nuser=$ &\n[program:web]\ncommand=run\n",
    ] {
        let err = import(&[(MAIN, text.to_string())]).expect_err("refused");
        assert!(err.line > 0 && err.message.contains("user"), "{err}");
    }
    // A variable is still left to supd.
    let ok = import(&[(
        MAIN,
        "[program:web]\ncommand=run\nuser=%(ENV_WHO)s\n".to_string(),
    )]);
    assert!(ok.is_ok_and(|c| c.toml.contains("user = \"${WHO}\"")));
}

/// `chown=app:app` with a continuation line gave `socket_group = "app\ntrue"`, which supd
/// refuses. A group that is no group name or number is refused at its line.
#[test]
fn a_chown_group_that_is_no_group_is_refused_at_its_line() {
    for text in [
        "[unix_http_server]\nchown=app:app\n    true\n",
        "[unix_http_server]\nchown=app:a b\n",
        "[unix_http_server]\nchown=app:a:b\n",
    ] {
        let err = import(&[(MAIN, text.to_string())]).expect_err("refused");
        assert_eq!(err.line, 2, "{err}");
        assert!(
            err.message
                .starts_with("[unix_http_server] chown: expected USER or USER:GROUP"),
            "{err}"
        );
    }
}
