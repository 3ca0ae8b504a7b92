//! Restarts nobody notices (issue 16, acceptance 1): a server serving on a socket that supd
//! holds (`sockets`) is restarted 20 times under a load loop — `kill -9`, a file change
//! (`[program.web.watch]`), `supctl restart` — and not one request fails: while no instance
//! runs, connections wait in the held socket's queue. The same loop against the same server
//! without `sockets` sees refused connections, so the test proves the difference.
//!
//! The server is tests/helpers/pid_server.py ([`supd_tests::load::pid_server`]): it answers
//! its pid and, on SIGTERM, finishes the request in flight before it exits. `kill -9` is sent
//! from the load thread between two requests ([`LoadLoop::between`]): a process killed that
//! way takes the connection it has accepted with it, whatever holds its socket; what is
//! tested is the window while the server is down. After each restart the test waits for a
//! new pid in `supctl status`, then for the load loop to be answered by that pid.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use supd_tests::load::{self, LoadLoop, LoadReport};
use supd_tests::{DEADLINE, Supd, free_port, wait_until};

/// Restarts per run: `kill -9`, file change and `supctl restart` in turn.
const RESTARTS: usize = 20;

/// The bound of the load loop: far more than 20 restarts need, even when every request of
/// a down server is refused at once.
const MAX_REQUESTS: u64 = 2_000_000;

/// How a restart is caused.
#[derive(Clone, Copy, Debug)]
enum Restart {
    Kill9,
    FileChange,
    Supctl,
}

impl Restart {
    fn nth(i: usize) -> Restart {
        [Restart::Kill9, Restart::FileChange, Restart::Supctl][i % 3]
    }
}

/// `web`: the pid server on `port`, with the port held by supd when `held`, restarted
/// when a `*.py` file under `watched` changes.
fn config(port: u16, held: bool, watched: &Path) -> String {
    let server = load::pid_server();
    let sockets = if held {
        format!("sockets = [\"tcp://127.0.0.1:{port}\"]\n")
    } else {
        String::new()
    };
    format!(
        r#"
[program.web]
command = ["python3", "{server}", "{port}"]
{sockets}min_uptime = "0s"
stop_timeout = "10s"

[program.web.watch]
paths = ["{watched}"]
include = ["*.py"]
debounce = "20ms"
"#,
        server = server.display(),
        watched = watched.display(),
    )
}

/// Runs the 20 restarts under the load loop; what the loop saw.
fn restarted_under_load(held: bool) -> LoadReport {
    let watched = tempfile::Builder::new()
        .prefix("supd-held-")
        .tempdir()
        .expect("temp dir");
    let app = watched.path().join("app.py");
    std::fs::write(&app, "# version 0\n").unwrap();
    let port = free_port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut supd = Supd::start(&config(port, held, watched.path()));

    let mut pid = supd.wait_new_pid("web", None);
    load::wait_answered_by(addr, pid);
    let how = if held {
        "the inherited socket"
    } else {
        "its own socket"
    };
    let announced = format!("| pid_server {pid}: serving on");
    let serving = wait_until("web to say which socket it serves on", DEADLINE, || {
        supd.stdout
            .lines()
            .into_iter()
            .find(|l| l.starts_with("web ") && l.contains(&announced))
    });
    assert!(
        serving.contains(how),
        "web should serve on {how}: {serving}"
    );
    let sockets = &supd.program("web")["sockets"];
    if held {
        assert_eq!(
            sockets,
            &serde_json::json!([format!("tcp://127.0.0.1:{port}")]),
            "supctl status shows the held socket"
        );
    } else {
        assert!(
            sockets.as_array().is_none_or(Vec::is_empty),
            "no socket is held without `sockets`: {sockets}"
        );
    }

    let load = LoadLoop::start(addr, "/", MAX_REQUESTS);
    for i in 0..RESTARTS {
        match Restart::nth(i) {
            Restart::Kill9 => {
                let victim = Pid::from_raw(pid as i32);
                load.between(move || {
                    nix::sys::signal::kill(victim, Signal::SIGKILL).expect("kill -9 web")
                });
            }
            Restart::FileChange => std::fs::write(&app, format!("# version {}\n", i + 1)).unwrap(),
            Restart::Supctl => {
                let out = supd.ctl(&["restart", "web"]);
                assert_eq!(out.code, 0, "supctl restart web: {out:?}");
            }
        }
        let new = supd.wait_new_pid("web", Some(pid));
        wait_until(
            &format!(
                "the load loop to be answered by web's new pid {new} (restart {} of {RESTARTS}, {:?})",
                i + 1,
                Restart::nth(i)
            ),
            DEADLINE,
            || (load.last_answer() == new.to_string()).then_some(()),
        );
        pid = new;
    }
    let report = load.finish();
    eprintln!(
        "{} sockets: {report:?}",
        if held { "with" } else { "without" }
    );
    let status = supd.terminate();
    assert!(status.success(), "supd exited with {status}");
    assert_eq!(supd.leftovers(), Vec::<i32>::new(), "processes left behind");
    report
}

#[test]
fn a_held_socket_makes_twenty_restarts_under_load_cost_no_request() {
    let report = restarted_under_load(true);
    assert!(
        report.answered > 0,
        "the load loop was answered: {report:?}"
    );
    assert_eq!(
        report.failed(),
        0,
        "with `sockets`, requests only wait during restarts: {report:?}"
    );
}

#[test]
fn without_sockets_the_same_restarts_refuse_connections() {
    let report = restarted_under_load(false);
    assert!(
        report.answered > 0,
        "the load loop was answered: {report:?}"
    );
    assert!(
        report.refused > 0,
        "without `sockets`, a restart is a window of refused connections: {report:?}"
    );
}
