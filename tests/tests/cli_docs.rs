//! The command lines as documentation (issue 12): the checked-in man pages match the
//! binaries, supd prints its completions and man pages, each supd command's `--help` lists
//! only its own options, and `supd exec` takes gosu's own form.

use std::path::Path;
use std::process::Command;

use supd_tests::{CtlOutput, bin, is_root, run_supd};

/// How to bring `docs/man` up to date, as the failure message says it.
const REGENERATE: &str = "rm -f docs/man/*.1 && cargo run -q --locked --bin supctl -- man --dir docs/man && cargo run -q --locked --bin supd -- man --dir docs/man";

/// `name` -> contents of every `*.1` file in `dir`.
fn pages(dir: &Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".1"))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap();
            (e.file_name().to_string_lossy().into_owned(), text)
        })
        .collect()
}

#[test]
fn checked_in_man_pages_match_what_the_binaries_print() {
    let fresh = tempfile::tempdir().unwrap();
    for binary in ["supctl", "supd"] {
        let out = Command::new(bin(binary))
            .args(["man", "--dir"])
            .arg(fresh.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{binary} man --dir: {out:?}");
    }
    let checked_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/man");
    let (want, have) = (pages(fresh.path()), pages(&checked_in));
    assert!(want.contains_key("supctl.1") && want.contains_key("supd.1"));
    let mut stale: Vec<String> = Vec::new();
    for (name, text) in &want {
        match have.get(name) {
            None => stale.push(format!("{name} is missing")),
            Some(old) if old != text => stale.push(format!("{name} is out of date")),
            Some(_) => {}
        }
    }
    stale.extend(
        have.keys()
            .filter(|name| !want.contains_key(*name))
            .map(|name| format!("{name} belongs to no command any more")),
    );
    assert!(
        stale.is_empty(),
        "docs/man is stale ({}); regenerate it from the workspace root with:\n{REGENERATE}",
        stale.join(", ")
    );
}

#[test]
fn supd_prints_completions_and_man_pages() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F _supd"),
        ("zsh", "#compdef supd"),
        ("fish", "complete -c supd"),
    ] {
        let out = run_supd(dir.path(), &["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {out:?}");
        assert!(out.stdout.contains(marker), "{shell}: {:.200}", out.stdout);
        assert!(out.stdout.contains("exec"), "{shell}");
    }
    assert_eq!(run_supd(dir.path(), &["completions", "tcsh"]).code, 2);
    let out = run_supd(dir.path(), &["man"]);
    assert!(out.stdout.contains(".TH supd 1"), "{:.300}", out.stdout);
    let out = run_supd(dir.path(), &["man", "exec"]);
    assert!(
        out.stdout.contains(".TH supd-exec 1"),
        "{:.300}",
        out.stdout
    );
    let out = run_supd(dir.path(), &["man", "exce"]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn each_supd_command_help_lists_only_its_own_options() {
    let dir = tempfile::tempdir().unwrap();
    let help = |args: &[&str]| -> String {
        let out = run_supd(dir.path(), args);
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        out.stdout
    };
    for command in ["import", "exec"] {
        let text = help(&[command, "--help"]);
        assert!(
            !text.contains("--config") && !text.contains("--profile"),
            "supd {command} --help:\n{text}"
        );
    }
    for args in [&["--help"][..], &["check", "--help"], &["run", "--help"]] {
        let text = help(args);
        assert!(
            text.contains("--config") && text.contains("--profile"),
            "{args:?}:\n{text}"
        );
    }
    // The config may still be named before the command or after it.
    std::fs::write(
        dir.path().join("a.toml"),
        "[program.a]\ncommand = \"true\"\n",
    )
    .unwrap();
    for args in [
        &["--config", "a.toml", "check"][..],
        &["check", "--config", "a.toml"],
    ] {
        let out = run_supd(dir.path(), args);
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
    }
}

fn supd_exec(args: &[&str]) -> CtlOutput {
    let out = Command::new(bin("supd"))
        .arg("exec")
        .args(args)
        .output()
        .unwrap();
    CtlOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn supd_exec_takes_gosus_form_user_then_command() {
    if !is_root() {
        eprintln!("skipped: switching to user nobody needs root (CI runs as root)");
        return;
    }
    for args in [
        &["nobody", "id", "-u"][..],
        &["nobody", "--", "id", "-u"],
        &["--user", "nobody", "--", "id", "-u"],
        &["--user", "nobody", "id", "-u"],
    ] {
        let out = supd_exec(args);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, "65534\n"),
            "{args:?}: {out:?}"
        );
    }
    // Options of the command stay the command's.
    let out = supd_exec(&["nobody", "sh", "-c", "echo \"$@\"", "sh", "--user", "x"]);
    assert_eq!(out.stdout, "--user x\n", "{out:?}");

    let out = supd_exec(&["nobody"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "supd exec: name the command to run as nobody (supd exec USER CMD [ARGS]...)\n"
    );
}
