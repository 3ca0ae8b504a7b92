//! Bad supervisord input gives one clear error naming the file and the line (issue 6,
//! acceptance 6), never a panic and never a half-converted file.

mod common;

use std::path::Path;

use common::import;
use supd_import::{SourceFile, convert_files};

/// The error of converting `text`, as displayed.
#[track_caller]
fn error(text: &str) -> String {
    match import(text) {
        Ok(c) => panic!("expected an error, got:\n{}", c.toml),
        Err(e) => e.to_string(),
    }
}

const FILE: &str = "/etc/supervisor/supervisord.conf";

#[test]
fn unknown_sections_and_options_are_warnings_not_errors() {
    // supervisord runs these files: it ignores what it does not know.
    let c = import(
        "[supervisord]\nnodaemon=true\nlogfil=/x\n\n[foo:bar]\nx=1\n\n[program:web]\ncommand=x\nautorestar=true\n",
    )
    .unwrap();
    assert_eq!(
        c.warnings,
        [
            format!(
                "{FILE}:3: [supervisord] logfil=/x: ignored, as supervisord ignores options it \
                 does not know in this section (did you mean \"logfile\"?)"
            ),
            format!(
                "{FILE}:5: [foo:bar] ignored, as supervisord ignores sections it does not know"
            ),
            format!(
                "{FILE}:10: [program:web] autorestar=true: ignored, as supervisord ignores \
                 options it does not know in this section (did you mean \"autorestart\"?)"
            ),
        ]
    );
    assert!(c.warnings.iter().all(|w| c.notes.contains(w)));
    assert!(
        c.toml.contains("# autorestar=true: ignored"),
        "a comment of the program: {}",
        c.toml
    );
    let c = import("[programs:web]\ncommand=x\n").unwrap();
    assert_eq!(
        c.warnings,
        [format!(
            "{FILE}:1: [programs:web] ignored, as supervisord ignores sections it does not know \
             (did you mean [program:...]?)"
        )]
    );
}

#[test]
fn unknown_expansion_names_its_line() {
    let e = error("[program:web]\ndirectory=/app\ncommand=run --name %(prog_name)s\n");
    assert_eq!(
        e,
        format!(
            "{FILE}:3: [program:web] command: unknown expansion \"%(prog_name)s\" (known \
             names: ENV_*, here, host_node_name, program_name, group_name, process_num, \
             numprocs)"
        )
    );
    let e = error("[unix_http_server]\nfile=%(program_name)s.sock\n");
    assert!(
        e.starts_with(&format!("{FILE}:2: [unix_http_server] file: ")),
        "{e}"
    );
    assert!(e.contains("only available inside a [program:x]"), "{e}");
}

#[test]
fn bad_values_name_the_key() {
    for (text, line, needle) in [
        (
            "[program:a]\ncommand=x\nautostart=perhaps\n",
            3,
            "autostart: expected true or false",
        ),
        (
            "[program:a]\ncommand=x\nautorestart=sometimes\n",
            3,
            "expected true, false or unexpected",
        ),
        (
            "[program:a]\ncommand=x\nstartsecs=1.5\n",
            3,
            "startsecs: expected an integer",
        ),
        (
            "[program:a]\ncommand=x\nexitcodes=0,300\n",
            3,
            "exit codes from 0 to 255",
        ),
        (
            "[program:a]\ncommand=x\nstopsignal=BOGUS\n",
            3,
            "unknown signal",
        ),
        (
            "[program:a]\ncommand=x\nenvironment=A=$HOME\n",
            3,
            "environment",
        ),
        (
            "[program:a]\ncommand=sh -c 'unclosed\n",
            2,
            "no closing quotation",
        ),
        ("[program:a]\nautostart=true\n", 1, "has no command"),
        ("[program:a]\ncommand=date +%Y\n", 2, "lone \"%\""),
        ("[program:a]\ncommand=x\nnumprocs=2\n", 3, "process_name"),
        (
            "[fcgi-program:php]\ncommand=php-cgi\nsocket=tcp://127.0.0.1:9000\n",
            1,
            "supd does not hold sockets for its programs yet",
        ),
        ("[program:café]\ncommand=x\n", 1, "non-ASCII characters"),
        (
            "[inet_http_server]\nport=9001\nusername=u\n",
            1,
            "a username or a password but not both",
        ),
        ("[inet_http_server]\nport=abc\n", 2, "expected a port"),
        ("[eventlistener:x]\ncommand=l\n", 1, "no events setting"),
        ("[program:all]\ncommand=x\n", 1, "reserved"),
        ("[unix_http_server]\nchmod=999\n", 2, "octal"),
        ("[include]\n", 1, "no files setting"),
        ("[DEFAULT]\nx=1\n", 1, "[DEFAULT]"),
        ("command=x\n", 1, "[section] header"),
        (
            "[program:a]\njust some words\n",
            2,
            "expected \"key = value\"",
        ),
    ] {
        let e = error(text);
        let prefix = format!("{FILE}:{line}: ");
        assert!(e.starts_with(&prefix), "{text:?}: {e}");
        assert!(e.contains(needle), "{text:?}: {e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
}

#[test]
fn program_defined_twice_names_both_places() {
    let e = error("[program:a]\ncommand=x\n[program:b]\ncommand=y\n[program:a]\ncommand=z\n");
    assert!(e.starts_with(&format!("{FILE}:5: ")), "{e}");
    assert!(e.contains("first on line 1"), "{e}");

    let main = SourceFile {
        path: Path::new("/etc/supervisor/supervisord.conf"),
        text: "[include]\nfiles=conf.d/*.conf\n\n[program:web]\ncommand=x\n",
    };
    let extra = SourceFile {
        path: Path::new("/etc/supervisor/conf.d/web.conf"),
        text: "; web again\n[program:web]\ncommand=y\n",
    };
    let e = convert_files(&[main, extra], &common::env).unwrap_err();
    assert_eq!(e.file, Path::new("/etc/supervisor/conf.d/web.conf"));
    assert_eq!(e.line, 2);
    assert_eq!(
        e.to_string(),
        "/etc/supervisor/conf.d/web.conf:2: program \"web\" is defined twice: first at \
         /etc/supervisor/supervisord.conf:4, again here"
    );
}

#[test]
fn no_files_is_an_error_not_a_panic() {
    let e = convert_files(&[], &common::env).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(e.to_string().contains("no supervisord file"));
}
