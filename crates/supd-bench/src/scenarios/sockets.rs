//! Failed requests during 20 restarts under load (issue 16). One program, the HTTP server
//! of the end-to-end test (tests/helpers/pid_server.py, [`supd_tests::load::pid_server`]:
//! it answers its pid and finishes the request in flight on SIGTERM), under three setups
//! one after the other in one run:
//!
//! - supd with `sockets = ["tcp://127.0.0.1:PORT"]`: supd holds the port, the server
//!   serves on the inherited fd 3;
//! - supd without `sockets`: the server binds the port itself;
//! - supervisord: the server binds the port itself (its `[program:x]` has no held socket).
//!
//! The load is [`supd_tests::load::LoadLoop`] on loopback at a steady 1,000 requests/s (one
//! GET started every millisecond, one at a time, each allowed 15 s): a refused request is
//! one lost millisecond, so the failures count roughly the milliseconds during which the
//! port refused connections. The 20 restarts alternate `kill -9`, sent from the load thread
//! between two requests (a killed process takes the connection it accepted with it under any
//! supervisor), and the client's `restart web` (`supctl restart`, `supervisorctl restart`);
//! after each one the harness waits until the load loop is answered by a new pid.
//!
//! supd runs `min_uptime = "0s"`; supervisord `startsecs=0` (so `supervisorctl restart`
//! does not wait a second), `autorestart=true`. The server runs on the interpreter `python3`
//! names (`sys.executable`), not through a launcher script such as pyenv's shim, which
//! would add its own start-up to every restart.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use supd_tests::load::{self, LoadLoop, LoadReport};

use super::{Ctx, markdown_table, progress};
use crate::Res;
use crate::report::{Better, Row, Series};
use crate::system::{Instance, Options, Program, Sys};

/// Restarts per setup: `kill -9` and the client's `restart` in turn.
const RESTARTS: usize = 20;
/// One request started every this long.
const PACE: Duration = Duration::from_millis(1);
/// The load loop's bound: far above what 20 restarts take at that pace.
const MAX_REQUESTS: u64 = 1_000_000;
/// How long one restart may take until a new pid answers (supervisord restarts a killed
/// program on its 1 s tick).
const RESTART_LIMIT: Duration = Duration::from_secs(30);

/// One setup of the comparison.
struct Setup {
    label: &'static str,
    sys: Sys,
    held: bool,
}

const SETUPS: [Setup; 3] = [
    Setup {
        label: "supd with `sockets`",
        sys: Sys::Supd,
        held: true,
    },
    Setup {
        label: "supd without `sockets`",
        sys: Sys::Supd,
        held: false,
    },
    Setup {
        label: "supervisord",
        sys: Sys::Supervisord,
        held: false,
    },
];

pub fn run(ctx: &Ctx) -> Vec<Row> {
    let outcomes: Vec<Res<LoadReport>> = SETUPS
        .iter()
        .map(|setup| {
            let outcome = measure(ctx, setup);
            match &outcome {
                Ok(r) => progress(&format!("20 restarts under load, {}: {r:?}", setup.label)),
                Err(e) => progress(&format!("20 restarts under load, {}: {e}", setup.label)),
            }
            outcome
        })
        .collect();
    let failed = |k: usize| match &outcomes[k] {
        Ok(r) => Series {
            values: vec![r.failed() as f64],
            error: None,
        },
        Err(e) => Series::failed(e.clone()),
    };
    let (held, plain, sv) = (failed(0), failed(1), failed(2));

    let details: Vec<Vec<String>> = SETUPS
        .iter()
        .zip(&outcomes)
        .map(|(setup, outcome)| {
            let mut cells = vec![setup.label.to_string()];
            match outcome {
                Ok(r) => cells.extend([
                    r.answered.to_string(),
                    r.refused.to_string(),
                    r.reset.to_string(),
                    r.other.to_string(),
                    r.first_errors.first().map_or("–".into(), |e| one_line(e)),
                ]),
                Err(e) => {
                    cells.extend(["✗".into(), "✗".into(), "✗".into(), "✗".into(), one_line(e)])
                }
            }
            cells
        })
        .collect();
    ctx.section(format!(
        "### {RESTARTS} restarts under load (`kill -9` and the client's `restart`, in turn; \
         1,000 requests/s on loopback)\n\n{}",
        markdown_table(
            &[
                "setup",
                "answered",
                "refused",
                "reset",
                "other",
                "first failure"
            ],
            &details
        )
    ));

    vec![
        Row::new(
            "sockets",
            "failed requests during 20 restarts under load (`kill -9`, client `restart`; 1,000 requests/s), supd with `sockets`",
            "",
            Better::Lower,
        )
        .medians(&held, &sv)
        .target("0 with held sockets", |v| v == 0.0),
        Row::new(
            "sockets",
            "the same, supd without `sockets` (the server binds its port itself)",
            "",
            Better::Lower,
        )
        .medians(&plain, &sv),
    ]
}

/// Starts the setup, runs the 20 restarts under the load loop, returns what it saw.
fn measure(ctx: &Ctx, setup: &Setup) -> Res<LoadReport> {
    let dir = ctx.dir(&format!(
        "sockets-{}-{}",
        setup.sys.name(),
        if setup.held { "held" } else { "plain" }
    ));
    let port = supd_tests::free_port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let server = load::pid_server().display().to_string();
    let mut program = Program::new("web", &[&python(), &server, &port.to_string()])
        .supd("min_uptime = \"0s\"")
        .ini("startsecs=0");
    if setup.held {
        program = program.supd(&format!("sockets = [\"tcp://127.0.0.1:{port}\"]"));
    }
    let mut inst = Instance::start(&ctx.tools, setup.sys, &dir, &[program], Options::default())?;
    let answering =
        |not: Option<u32>, body: &str| body.trim().parse::<u32>().ok().filter(|&p| Some(p) != not);
    let mut pid = inst.wait_for(&format!("web to answer on {addr}"), RESTART_LIMIT, |_| {
        load::get(addr, "/")
            .ok()
            .and_then(|body| answering(None, &body))
    })?;

    let load = LoadLoop::start_paced(addr, "/", MAX_REQUESTS, PACE);
    for i in 0..RESTARTS {
        if i % 2 == 0 {
            let victim = Pid::from_raw(pid as i32);
            load.between(move || {
                let _ = nix::sys::signal::kill(victim, Signal::SIGKILL);
            });
        } else {
            let out = inst.ctl(&["restart", "web"])?;
            if !out.status.success() {
                return Err(format!(
                    "{} restart web failed ({}): {}",
                    inst.client.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
        pid = inst.wait_for(
            &format!("an answer from a new web (restart {} of {RESTARTS})", i + 1),
            RESTART_LIMIT,
            |_| answering(Some(pid), &load.last_answer()),
        )?;
    }
    Ok(load.finish())
}

/// The interpreter `python3` on PATH runs (`sys.executable`), or `python3` itself when it
/// cannot say.
fn python() -> String {
    std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into())
}

/// A table cell: the first line of a message, its `|` escaped.
fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().replace('|', "\\|")
}
