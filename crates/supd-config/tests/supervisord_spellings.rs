//! What people bring from supervisord gets the supd spelling in one short sentence
//! (issue 12): its `[program:x]` keys, its sections, and its `[program:x]` headers in a
//! `.toml` file.

mod common;

use common::{problem, problems, program_problem};

#[test]
fn supervisord_program_keys_name_the_supd_key() {
    let cases = [
        ("autorestart = true", r#"supd's key is "restart""#),
        ("numprocs = 2", r#"supd's key is "instances""#),
        ("startsecs = 5", r#"supd's key is "min_uptime""#),
        ("startretries = 3", r#"supd's key is "start_retries""#),
        ("stopwaitsecs = 10", r#"supd's key is "stop_timeout""#),
        (
            "stdout_logfile = \"/var/log/a.log\"",
            r#"supd's key is "stdout""#,
        ),
        (
            "stderr_logfile = \"/var/log/a.err\"",
            r#"supd's key is "stderr""#,
        ),
        ("redirect_stderr = true", r#"in supd: stderr = "stdout""#),
        (
            "priority = 10",
            r#"supd orders programs with depends_on = ["..."]"#,
        ),
        (
            "stopasgroup = true",
            "not needed: supd always stops the whole process group",
        ),
        (
            "killasgroup = true",
            "not needed: supd always kills the whole process group",
        ),
        ("stopsignal = \"INT\"", r#"supd's key is "stop_signal""#),
        ("exitcodes = [0, 2]", r#"supd's key is "exit_codes""#),
        (
            "process_name = \"%(program_name)s_%(process_num)02d\"",
            "supd names instances NAME:0, NAME:1 ...: use instances = N, and ${INSTANCE} in values",
        ),
    ];
    for (line, hint) in cases {
        let key = line.split(' ').next().unwrap();
        assert_eq!(
            program_problem(line),
            format!("3: program.p.{key}: unknown key {key:?} ({hint})"),
        );
    }
}

#[test]
fn an_unknown_program_key_is_one_short_sentence_without_the_list_of_keys() {
    assert_eq!(
        program_problem("frobnicate = 1"),
        r#"3: program.p.frobnicate: unknown key "frobnicate""#
    );
}

#[test]
fn supervisord_sections_and_their_keys_point_to_supd() {
    assert_eq!(
        problems("[supervisord]\nnodaemon = true\n[unix_http_server]\nfile = \"/run/s.sock\"\n"),
        [
            r#"1: supervisord: unknown key "supervisord" (supd's own settings go in [supd])"#,
            r#"3: unix_http_server: unknown key "unix_http_server" (the control socket is set in [supd]: socket, socket_mode, socket_group)"#,
        ]
    );
    assert_eq!(
        problem("[supd]\nnodaemon = true\n"),
        r#"2: supd.nodaemon: unknown key "nodaemon" (not needed: supd always runs in the foreground)"#
    );
}

#[test]
fn supervisord_headers_in_a_toml_file_say_how_to_write_them() {
    let text = "[program:web]\ncommand=\"sleep 1\"\n\n[group:all]\nprograms=web\n\n\
                [rpcinterface:supervisor]\n";
    assert_eq!(
        problems(text),
        [
            "1: program.web: [program:web] is supervisord's syntax: in TOML write [program.web] \
             (a .toml file is always read as TOML; name a supervisord file .conf to have supd \
             convert it)",
            r#"4: group.all: [group:all] is supervisord's syntax: in TOML write [group.all] with programs = ["..."]"#,
            "5: -: invalid TOML: string values must be quoted, expected literal string",
            "7: -: [rpcinterface:supervisor] is a supervisord section that supd does not need \
             (remove it)",
        ]
    );
}
