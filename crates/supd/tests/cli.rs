//! The `supd` command line without a running daemon: `check`, usage errors, exit codes.
//! (Running supd is covered by the end-to-end tests in the workspace's `tests/` crate.)

use std::process::Command;

fn supd(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_supd"))
        .args(args)
        .current_dir(dir)
        .env_remove("SUPD_CONFIG")
        .output()
        .expect("run supd");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_accepts_a_good_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("supd.toml"),
        "[program.web]\ncommand = \"sleep 1\"\n",
    )
    .unwrap();
    let (code, out, _) = supd(&["check", "--config", "supd.toml"], dir.path());
    assert_eq!(code, 0);
    assert_eq!(out, "supd.toml: ok (1 program: web)\n");
}

#[test]
fn check_reports_every_problem_with_line_and_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("supd.toml"),
        "[program.web]\ncomand = \"sleep 1\"\n\n[program.worker]\ncommand = \"x\"\nrestart = \"sometimes\"\n",
    )
    .unwrap();
    let (code, _, err) = supd(&["check", "--config", "supd.toml"], dir.path());
    assert_eq!(code, 2);
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines[0].starts_with("supd.toml:1: program.web: missing required key \"command\""),
        "{err}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with(
            "supd.toml:2: program.web.comand: unknown key \"comand\" (did you mean \"command\"?)"
        )),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("supd.toml:6: program.worker.restart:")),
        "{err}"
    );
    assert_eq!(lines.last(), Some(&"supd: 3 problems in supd.toml"));
}

#[test]
fn a_missing_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = supd(&["--config", "nope.toml"], dir.path());
    assert_eq!(code, 2);
    assert!(
        err.starts_with("nope.toml: cannot read config file: no such file"),
        "{err}"
    );
}

#[test]
fn no_config_given_and_no_default_file_says_how_to_give_one() {
    if std::path::Path::new("/etc/supd/supd.toml").exists() {
        eprintln!("skipped: this machine has /etc/supd/supd.toml, so supd would read it");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for args in [&[][..], &["check"][..]] {
        let (code, _, err) = supd(args, dir.path());
        assert_eq!(code, 2, "{err}");
        assert_eq!(
            err,
            "supd: no config file: give one with --config PATH or $SUPD_CONFIG (the default, \
             /etc/supd/supd.toml, does not exist)\n"
        );
    }
}

#[test]
fn a_missing_working_directory_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("supd.toml"),
        "[program.web]\ncommand = \"sleep 1\"\ndirectory = \"missing\"\n",
    )
    .unwrap();
    let (code, _, err) = supd(&["check", "--config", "supd.toml"], dir.path());
    assert_eq!(code, 2);
    assert!(
        err.contains("program.web.directory: missing does not exist"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = supd(&["--no-such-flag"], dir.path());
    assert_eq!(code, 2, "{err}");
}

#[test]
fn the_reference_config_checks_clean() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/supd.toml");
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = supd(&["check", "--config", config], dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok (2 programs: migrate, web)"), "{out}");
}

#[test]
fn the_quickstart_example_checks_clean() {
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/quickstart/supd.toml"
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = supd(&["check", "--config", config], dir.path());
    assert_eq!(code, 0, "{err}");
}
