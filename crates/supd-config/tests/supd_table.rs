//! `[supd]` keys and the top level: defaults, good values, bad values.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{ok, problem};
use supd_config::{IdRef, LogFormat, SupdSpec, parse_str};

#[test]
fn empty_file_is_all_defaults() {
    let config = ok("");
    assert_eq!(config.supd, SupdSpec::default());
    assert_eq!(config.supd.socket, PathBuf::from("/run/supd.sock"));
    assert_eq!(config.supd.socket_mode, 0o600);
    assert_eq!(config.supd.socket_group, None);
    assert_eq!(config.supd.shutdown_timeout, Duration::from_secs(30));
    assert_eq!(config.supd.log_format, LogFormat::Prefix);
    assert!(config.programs.is_empty());
    assert_eq!(config.path, PathBuf::from(common::PATH));
    assert_eq!(ok("# only a comment\n\n[supd]\n").supd, SupdSpec::default());
}

#[test]
fn socket_absolute_relative_and_interpolated() {
    assert_eq!(
        ok("[supd]\nsocket = \"/tmp/s.sock\"").supd.socket,
        PathBuf::from("/tmp/s.sock")
    );
    assert_eq!(
        ok("[supd]\nsocket = \"s.sock\"").supd.socket,
        PathBuf::from("/etc/supd/s.sock")
    );
    assert_eq!(
        ok("[supd]\nsocket = \"./run/../s.sock\"").supd.socket,
        PathBuf::from("/etc/supd/run/../s.sock")
    );
    assert_eq!(
        ok("[supd]\nsocket = \"${RUN_DIR}/s.sock\"").supd.socket,
        PathBuf::from("/run/supd/s.sock")
    );
}

#[test]
fn socket_relative_to_a_relative_config_path_stays_relative() {
    let parse = |path: &str| {
        parse_str("[supd]\nsocket = \"x.sock\"", Path::new(path), &common::env)
            .map(|c| c.supd.socket)
    };
    assert_eq!(parse("conf/supd.toml"), Ok(PathBuf::from("conf/x.sock")));
    assert_eq!(parse("supd.toml"), Ok(PathBuf::from("x.sock")));
}

#[test]
fn socket_bad_values() {
    assert_eq!(
        problem("[supd]\nsocket = 3"),
        "2: supd.socket: expected a string, found integer 3"
    );
    assert_eq!(
        problem("[supd]\nsocket = \"\""),
        "2: supd.socket: expected a path, found an empty string"
    );
}

#[test]
fn socket_mode_good_values() {
    let mode = |v: &str| ok(&format!("[supd]\nsocket_mode = {v}")).supd.socket_mode;
    assert_eq!(mode("\"0600\""), 0o600);
    assert_eq!(mode("\"660\""), 0o660);
    assert_eq!(mode("\"0o640\""), 0o640);
    assert_eq!(mode("0o600"), 0o600);
    assert_eq!(mode("0"), 0);
    assert_eq!(mode("0x1ff"), 0o777);
}

#[test]
fn socket_mode_bad_values() {
    assert_eq!(
        problem("[supd]\nsocket_mode = \"rw-r\""),
        r#"2: supd.socket_mode: expected an octal mode like "0600" or 0o600, found "rw-r""#
    );
    assert_eq!(
        problem("[supd]\nsocket_mode = 600"),
        r#"2: supd.socket_mode: expected an octal mode like "0600" or 0o600, found decimal integer 600 (write "600" or 0o600 for octal)"#
    );
    assert_eq!(
        problem("[supd]\nsocket_mode = \"1777\""),
        "2: supd.socket_mode: mode 0o1777 is out of range (at most 0o777)"
    );
    assert_eq!(
        problem("[supd]\nsocket_mode = 0o7777"),
        "2: supd.socket_mode: mode 0o7777 is out of range (at most 0o777)"
    );
    assert_eq!(
        problem("[supd]\nsocket_mode = true"),
        r#"2: supd.socket_mode: expected an octal mode like "0600" or 0o600, found boolean true"#
    );
}

#[test]
fn socket_group_names_and_numbers() {
    let group = |v: &str| {
        ok(&format!("[supd]\nsocket_group = \"{v}\""))
            .supd
            .socket_group
    };
    assert_eq!(group("ops"), Some(IdRef::Name("ops".into())));
    assert_eq!(group("1000"), Some(IdRef::Id(1000)));
    assert_eq!(
        problem("[supd]\nsocket_group = \"\""),
        r#"2: supd.socket_group: expected a group name or number, found """#
    );
    assert_eq!(
        problem("[supd]\nsocket_group = \"a b\""),
        r#"2: supd.socket_group: expected a group name or number, found "a b""#
    );
    assert_eq!(
        problem("[supd]\nsocket_group = 1000"),
        "2: supd.socket_group: expected a string, found integer 1000"
    );
}

#[test]
fn shutdown_timeout() {
    assert_eq!(
        ok("[supd]\nshutdown_timeout = \"1m 30s\"")
            .supd
            .shutdown_timeout,
        Duration::from_secs(90)
    );
    assert_eq!(
        problem("[supd]\nshutdown_timeout = \"10 parsecs\""),
        r#"2: supd.shutdown_timeout: expected a duration like "250ms", "10s" or "1m", found "10 parsecs""#
    );
    assert_eq!(
        problem("[supd]\nshutdown_timeout = 10"),
        r#"2: supd.shutdown_timeout: expected a duration string like "10s", found integer 10 (write "10s")"#
    );
    assert_eq!(
        problem("[supd]\nshutdown_timeout = 1.5"),
        r#"2: supd.shutdown_timeout: expected a duration like "250ms", "10s" or "1m", found float 1.5"#
    );
}

#[test]
fn log_format() {
    let format = |v: &str| ok(&format!("[supd]\nlog_format = \"{v}\"")).supd.log_format;
    assert_eq!(format("prefix"), LogFormat::Prefix);
    assert_eq!(format("raw"), LogFormat::Raw);
    assert_eq!(format("json"), LogFormat::Json);
    assert_eq!(
        problem("[supd]\nlog_format = \"xml\""),
        r#"2: supd.log_format: expected one of "prefix", "raw", "json", found "xml""#
    );
}

#[test]
fn unknown_supd_key_suggests_the_nearest() {
    assert_eq!(
        problem("[supd]\nsocket_mod = \"0600\""),
        r#"2: supd.socket_mod: unknown key "socket_mod" (did you mean "socket_mode"?)"#
    );
}

#[test]
fn top_level_shapes() {
    assert_eq!(
        problem("supd = 1"),
        "1: supd: expected a table like [supd], found integer 1"
    );
    assert_eq!(
        problem("program = \"web\""),
        r#"1: program: expected a table of programs like [program.web], found "web""#
    );
    assert_eq!(
        problem("[[program]]\ncommand = \"x\""),
        "1: program: expected a table of programs like [program.web], found an array"
    );
    assert_eq!(
        problem("[programs.web]\ncommand = \"x\""),
        r#"1: programs: unknown key "programs" (did you mean "program"?)"#
    );
    assert_eq!(
        problem("whatever = 1"),
        r#"1: whatever: unknown key "whatever" (known keys: supd, program, eventlistener, group)"#
    );
}
