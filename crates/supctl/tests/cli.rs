//! `supctl` without a supd: usage errors and unreachable sockets (exit codes 2 and 4).
//! Talking to a real supd is covered by the end-to-end tests in the workspace's `tests/`.

use std::process::Command;

fn supctl(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_supctl"))
        .args(args)
        .env_remove("SUPD_SOCKET")
        .env_remove("SUPD_CONFIG")
        .output()
        .expect("run supctl");
    (
        out.status.code().unwrap_or(-1),
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
