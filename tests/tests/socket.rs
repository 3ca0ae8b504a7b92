//! The control socket file: created with `socket_mode`, a stale one replaced, a live one
//! never stolen, removed at exit (issue 2, "The control socket").

use std::os::unix::fs::{FileTypeExt, PermissionsExt};

use supd_tests::{DEADLINE, StartOptions, Supd, bin, ctl_at, run_supd, wait_until};

#[test]
fn socket_is_created_with_mode_0600_by_default_and_the_configured_mode_otherwise() {
    let mut supd = Supd::start("[program.a]\ncommand = \"sleep 1000\"\n");
    let mode = std::fs::metadata(&supd.socket)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    supd.terminate();

    let mut supd = Supd::start_with(
        "[program.a]\ncommand = \"sleep 1000\"\n",
        StartOptions {
            supd_table: "socket_mode = \"0660\"".into(),
            ..Default::default()
        },
    );
    let mode = std::fs::metadata(&supd.socket)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o660);
    assert_eq!(supd.terminate().code(), Some(0));
    assert!(!supd.socket.exists(), "the socket file is removed at exit");
}

#[test]
fn a_stale_socket_file_is_replaced() {
    // A supd in the directory, to host the files and clean up after the test.
    let host = Supd::start("[program.a]\ncommand = \"sleep 1000\"\n");
    // A socket file nobody listens on, as a killed supd leaves behind.
    let stale = host.path("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    std::fs::write(
        host.path("second.toml"),
        "[supd]\nsocket = \"stale.sock\"\n[program.b]\ncommand = \"sleep 1000\"\n",
    )
    .unwrap();
    let mut second = std::process::Command::new(bin("supd"))
        .args(["--config", "second.toml"])
        .current_dir(host.dir.path())
        .env("SUPD_E2E_TOKEN", &host.token)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until(
        "the second supd to answer on the replaced socket",
        DEADLINE,
        || (ctl_at(&stale, &["status", "b"]).code == 0).then_some(()),
    );
    assert!(
        std::fs::symlink_metadata(&stale)
            .unwrap()
            .file_type()
            .is_socket()
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(second.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(second.wait().unwrap().code(), Some(0));
}

#[test]
fn a_live_socket_is_never_stolen() {
    let supd = Supd::start("[program.a]\ncommand = \"sleep 1000\"\n");
    // A second supd on the same config must refuse, and the first keeps answering.
    let out = run_supd(supd.dir.path(), &["--config", "supd.toml"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("another supd is already running with control socket"),
        "{}",
        out.stderr
    );
    assert_eq!(
        supd.program("a")["name"],
        "a",
        "the first supd still answers"
    );
}

#[test]
fn a_socket_in_a_missing_directory_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("supd.toml"),
        "[supd]\nsocket = \"no/such/dir/supd.sock\"\n[program.a]\ncommand = \"sleep 1000\"\n",
    )
    .unwrap();
    let out = run_supd(dir.path(), &["--config", "supd.toml"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("cannot create control socket no/such/dir/supd.sock: directory no/such/dir does not exist"),
        "{}",
        out.stderr
    );
}
