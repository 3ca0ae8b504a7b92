//! `supctl` without a supd: usage errors, unreachable sockets (exit codes 2 and 4), the
//! habits of other tools, completions and man pages. Talking to a real supd is covered by
//! the end-to-end tests in the workspace's `tests/`.

use std::process::Command;

fn supctl(args: &[&str]) -> (i32, String) {
    let (code, _, stderr) = supctl_output(args);
    (code, stderr)
}

/// Exit code, stdout, stderr.
fn supctl_output(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_supctl"))
        .args(args)
        .env_remove("SUPD_SOCKET")
        .env_remove("SUPD_CONFIG")
        .output()
        .expect("run supctl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn no_supd_at_the_socket_exits_4_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("none.sock");
    let (code, err) = supctl(&["--socket", socket.to_str().unwrap(), "status"]);
    assert_eq!(code, 4);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot reach supd at") && err.contains("no such socket"),
        "{err}"
    );
}

#[test]
fn a_stale_socket_file_exits_4_saying_refused() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let (code, err) = supctl(&["--socket", socket.to_str().unwrap(), "status"]);
    assert_eq!(code, 4);
    assert!(err.contains("connection refused"), "{err}");
}

#[test]
fn the_socket_is_found_in_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("supd.toml");
    std::fs::write(&config, "[supd]\nsocket = \"ctl.sock\"\n").unwrap();
    let (code, err) = supctl(&["--config", config.to_str().unwrap(), "status"]);
    assert_eq!(code, 4);
    assert!(
        err.contains(&dir.path().join("ctl.sock").display().to_string()),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(supctl(&["start"]).0, 2, "start needs a name");
    assert_eq!(supctl(&["frobnicate"]).0, 2);
}

#[test]
fn a_typo_says_which_command_was_meant() {
    assert_eq!(
        supctl(&["stauts"]),
        (
            2,
            "supctl: no command \"stauts\" (did you mean \"status\"?)\n".into()
        )
    );
    assert_eq!(
        supctl(&["restat", "web"]),
        (
            2,
            "supctl: no command \"restat\" (did you mean \"restart\"?)\n".into()
        )
    );
    let (code, err) = supctl(&["xyzzy"]);
    assert_eq!((code, err.lines().count()), (2, 1), "{err}");
}

#[test]
fn habits_supctl_does_without_name_the_command_that_does_it() {
    for (habit, instead) in [
        ("reread", "`supctl reload`"),
        ("avail", "`supctl status`"),
        ("add", "`supctl reload`"),
        ("remove", "`supctl reload`"),
        ("kill", "`supctl signal KILL NAME...`"),
        ("up", "`supctl start NAME...`"),
        ("maintail", "stderr"),
    ] {
        let (code, err) = supctl(&[habit, "web"]);
        assert_eq!(code, 2, "{habit}: {err}");
        assert_eq!(err.lines().count(), 1, "one sentence for {habit}: {err}");
        assert!(
            err.starts_with(&format!("supctl: no command {habit:?}: ")) && err.contains(instead),
            "{habit}: {err}"
        );
    }
}

#[test]
fn hidden_aliases_stay_out_of_the_command_list_and_are_mentioned_once_below_it() {
    let (code, help, _) = supctl_output(&["--help"]);
    assert_eq!(code, 0);
    let (list, below) = help.split_once("Options:").unwrap();
    for alias in ["tail", "ps", "update", "down"] {
        assert!(
            !list.lines().any(|l| l.trim_start().starts_with(alias)),
            "{alias} is listed:\n{list}"
        );
        assert_eq!(
            below.matches(&format!("`{alias}` is ")).count(),
            1,
            "{alias} mentioned once:\n{below}"
        );
    }
    assert!(
        list.contains("  pid ") && list.contains("  version "),
        "{list}"
    );
}

#[test]
fn completions_are_printed_for_each_shell_and_an_unknown_shell_is_a_usage_error() {
    for (shell, marker) in [
        ("bash", "complete -F _supctl"),
        ("zsh", "#compdef supctl"),
        ("fish", "complete -c supctl"),
    ] {
        let (code, script, err) = supctl_output(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(script.contains(marker), "{shell}: {script:.200}");
        assert!(
            script.contains("logs") && script.contains("follow"),
            "{shell}"
        );
    }
    assert_eq!(supctl(&["completions", "tcsh"]).0, 2);
}

#[test]
fn man_prints_the_page_of_supctl_or_of_one_command_by_name_or_alias() {
    let (code, page, _) = supctl_output(&["man"]);
    assert_eq!(code, 0);
    assert!(page.contains(".TH supctl 1"), "{page:.300}");
    assert!(
        page.contains("supctl\\-logs(1)"),
        "the commands' pages are named"
    );
    for name in ["logs", "tail"] {
        let (code, page, _) = supctl_output(&["man", name]);
        assert_eq!(code, 0);
        assert!(page.contains(".TH supctl-logs 1"), "{name}: {page:.300}");
        assert!(page.contains("\\-\\-timestamps"), "{name}");
    }
    let (code, err) = supctl(&["man", "lgos"]);
    assert_eq!(
        (code, err.as_str()),
        (2, "supctl: no command \"lgos\" (did you mean \"logs\"?)\n")
    );
}
