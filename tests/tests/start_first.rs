//! Start-first restarts (issue 16, acceptance 2): `restart_mode = "start-first"` with a
//! health check, on a socket supd holds. Twenty restarts (`supctl restart`, a file change,
//! `supctl upgrade`) under a load loop cost no request: the new instance starts beside the
//! old one, both accept on the same queue, and the old one is stopped (finishing its request
//! in flight) only once the new one is healthy. A new version whose health never passes is
//! stopped, the old one keeps serving, and the restart fails saying so.
//!
//! The server is tests/helpers/pid_server.py (it answers its pid), started through
//! `sh -c` (`$$$$` in the TOML: `$$` is a literal `$`) so that each instance records the version it started with in `version.<pid>`;
//! the health `command` checks the instance it is given (`$MAINPID`): it has printed its first
//! line and created `ready.<pid>` (`PID_SERVER_READY_DIR`), and its version is not `broken`.
//! An `http` check through the shared socket could be answered by either instance.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use supd_tests::load::{self, LoadLoop};
use supd_tests::{DEADLINE, Supd, alive, free_port, wait_until};

const RESTARTS: usize = 20;

/// Far more than the restarts need.
const MAX_REQUESTS: u64 = 2_000_000;

/// `web`: the pid server on a held `port`, start-first, healthy unless the version it
/// started with is `broken`; restarted when a `*.py` file in `dir` changes.
fn config(port: u16, dir: &Path) -> String {
    let server = load::pid_server();
    let dir = dir.display();
    format!(
        r#"
[program.web]
command = ["sh", "-c", "cp {dir}/version.txt {dir}/version.$$$$ && exec python3 {server} {port}"]
sockets = ["tcp://127.0.0.1:{port}"]
restart_mode = "start-first"
environment = {{ PID_SERVER_READY_DIR = "{dir}" }}
min_uptime = "0s"
stop_timeout = "10s"

[program.web.health]
command = ["sh", "-c", "test -f {dir}/ready.$MAINPID && test \"$(cat {dir}/version.$MAINPID)\" != broken"]
interval = "1s"
timeout = "5s"
retries = 2

[program.web.watch]
paths = ["{dir}"]
include = ["*.py"]
debounce = "20ms"
"#,
        server = server.display(),
    )
}

/// supd running `web`, healthy, answering on its held socket; the pid.
fn started(dir: &Path) -> (Supd, SocketAddr, u64) {
    std::fs::write(dir.join("version.txt"), "1\n").unwrap();
    let port = free_port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let supd = Supd::start(&config(port, dir));
    let p = supd.wait_state("web", "running");
    let pid = p["pid"].as_u64().expect("web has a pid");
    load::wait_answered_by(addr, pid);
    (supd, addr, pid)
}

#[test]
fn twenty_start_first_restarts_under_load_fail_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let (mut supd, addr, mut pid) = started(dir.path());
    let load = LoadLoop::start(addr, "/", MAX_REQUESTS);
    for i in 0..RESTARTS {
        std::fs::write(dir.path().join("version.txt"), format!("{}\n", i + 2)).unwrap();
        match i % 3 {
            0 => {
                let out = supd.ctl(&["restart", "web"]);
                assert_eq!(out.code, 0, "supctl restart web: {out:?}");
                assert!(out.stdout.contains("web: restarted"), "{out:?}");
            }
            1 => std::fs::write(dir.path().join("app.py"), format!("# {i}\n")).unwrap(),
            _ => {
                let out = supd.ctl(&["upgrade", "web"]);
                assert_eq!(out.code, 0, "supctl upgrade web: {out:?}");
            }
        }
        let new = wait_until(
            &format!(
                "web to be running healthy with a new pid (restart {})",
                i + 1
            ),
            DEADLINE,
            || {
                let p = supd.program("web");
                let new = p["pid"].as_u64()?;
                (new != pid && p["state"] == "running" && p["health"] == "healthy").then_some(new)
            },
        );
        wait_until(
            &format!("the old instance {pid} to be gone after restart {}", i + 1),
            DEADLINE,
            || (!alive(pid as i32)).then_some(()),
        );
        wait_until(
            &format!("the load loop to be answered by the new pid {new}"),
            DEADLINE,
            || (load.last_answer() == new.to_string()).then_some(()),
        );
        if i == 0 {
            // The new instance's output is read while the old one still runs: its first
            // line comes before the old one's last.
            let lines = supd.stdout.lines();
            let position = |text: &str| lines.iter().position(|l| l.contains(text));
            let new_serves = position(&format!("pid_server {new}: serving"));
            let old_exits = position(&format!("pid_server {pid}: SIGTERM, exiting"));
            assert!(
                new_serves.is_some() && new_serves < old_exits.or(Some(usize::MAX)),
                "{lines:#?}"
            );
        }
        pid = new;
    }
    let report = load.finish();
    eprintln!("start-first, {RESTARTS} restarts: {report:?}");
    assert!(report.answered > 0, "{report:?}");
    assert_eq!(
        report.failed(),
        0,
        "start-first restarts on a held socket cost no request: {report:?}"
    );
    assert!(supd.terminate().success());
    assert_eq!(supd.leftovers(), Vec::<i32>::new(), "processes left behind");
}

#[test]
fn a_new_version_that_never_gets_healthy_leaves_the_old_one_serving() {
    let dir = tempfile::tempdir().unwrap();
    let (mut supd, addr, old) = started(dir.path());
    let load = LoadLoop::start(addr, "/", MAX_REQUESTS);
    std::fs::write(dir.path().join("version.txt"), "broken\n").unwrap();

    let out = supd.ctl(&["restart", "web"]);
    assert_eq!(out.code, 1, "the restart fails: {out:?}");
    assert!(
        out.stderr
            .starts_with("web: not restarted: the new instance did not come up (unhealthy"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains(&format!("pid {old} serves on")),
        "{out:?}"
    );
    assert!(alive(old as i32), "the old instance was never stopped");
    let p = supd.program("web");
    assert_eq!(p["pid"].as_u64(), Some(old), "{p}");
    assert_eq!(p["state"], "running", "{p}");
    // The broken one is stopped; the old one goes on answering, and stays healthy.
    wait_until("the broken instance to be gone", DEADLINE, || {
        supd.program("web")["previous_pid"].is_null().then_some(())
    });
    let answered = load.answered();
    wait_until("more answers from the old instance", DEADLINE, || {
        (load.answered() > answered + 10 && load.last_answer() == old.to_string()).then_some(())
    });
    let report = load.finish();
    assert_eq!(report.failed(), 0, "{report:?}");
    assert_eq!(supd.program("web")["health"], "healthy");
    let messages = supd.supd_messages();
    assert!(
        messages
            .iter()
            .any(|l| l.contains("the new instance did not come up") && l.contains("unhealthy")),
        "supd says why: {messages:?}"
    );

    // Mended, the next restart goes through.
    std::fs::write(dir.path().join("version.txt"), "2\n").unwrap();
    let out = supd.ctl(&["restart", "web"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_ne!(supd.program("web")["pid"].as_u64(), Some(old));
    assert!(supd.terminate().success());
    assert_eq!(supd.leftovers(), Vec::<i32>::new(), "processes left behind");
}
