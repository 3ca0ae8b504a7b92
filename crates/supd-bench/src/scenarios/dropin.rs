//! The drop-in client (issue 15): `supervisorctl -c FILE status` — supervisord's own
//! client, the same binary of the same virtualenv for both — against supd's XML-RPC
//! (`[supd.http]` on a unix socket) and against supervisord (`[unix_http_server]`), each
//! running 100 `sleep` programs, side by side, samples alternating. The figure is the wall
//! time of the whole client process, Python's start included, as a script calling
//! `supervisorctl status` sees it; every sample checks that the client listed 100 RUNNING
//! programs. The reference row is the same Python importing supervisorctl and doing
//! nothing else: the part of every sample that no server can make faster.

use std::process::{Command, Stdio};
use std::time::Instant;

use super::{Ctx, progress};
use crate::Res;
use crate::report::{Better, Row, Series};
use crate::stats;
use crate::system::{Instance, Options, Program, SHORT_QUIET, Sys};

/// Programs of each supervisor.
const PROGRAMS: usize = 100;

pub fn run(ctx: &Ctx) -> Vec<Row> {
    let clients = match &ctx.tools.supervisor {
        Ok(bin) => bin.clone(),
        Err(why) => {
            return rows(
                &[Series::failed(why.clone()), Series::failed(why.clone())],
                &Series::failed(why.clone()),
            );
        }
    };
    let samples = ctx.plan.samples * 5;
    let mut instances: Vec<(Sys, Instance)> = Vec::new();
    let mut status = [Series::default(), Series::default()];
    for sys in [Sys::Supd, Sys::Supervisord] {
        let dir = ctx.dir(&format!("dropin-{}", sys.name()));
        let programs: Vec<Program> = (0..PROGRAMS)
            .map(|k| Program::sleeper(format!("p{k:03}")))
            .collect();
        let opts = Options {
            http: true,
            ..Options::default()
        };
        let started = Instance::start(&ctx.tools, sys, &dir, &programs, opts)
            .and_then(|mut inst| inst.settle(PROGRAMS, SHORT_QUIET).map(|()| inst));
        match started {
            Ok(inst) => instances.push((sys, inst)),
            Err(e) => status[sys as usize] = Series::failed(e),
        }
    }
    for i in 0..samples {
        for sys in Sys::order(i) {
            if let Some((_, inst)) = instances.iter().find(|(s, _)| *s == sys)
                && !status[sys as usize].broken()
            {
                status[sys as usize].push(status_sample(&clients, inst));
            }
        }
    }
    drop(instances);
    let mut floor = Series::default();
    for _ in 0..samples {
        floor.push(timed(
            Command::new(clients.join("python3")).args(["-c", "import supervisor.supervisorctl"]),
        ));
    }
    for (k, sys) in [Sys::Supd, Sys::Supervisord].iter().enumerate() {
        progress(&format!(
            "supervisorctl status, {}: {:?} ms",
            sys.name(),
            status[k].values
        ));
    }
    rows(&status, &floor)
}

fn rows(status: &[Series; 2], floor: &Series) -> Vec<Row> {
    let [supd, sv] = status;
    vec![
        Row::new(
            "supervisorctl",
            "`supervisorctl status`, 100 programs (the same real client for both), p50",
            "ms",
            Better::Lower,
        )
        .medians(supd, sv),
        Row::new(
            "supervisorctl",
            "`supervisorctl status`, 100 programs, p99",
            "ms",
            Better::Lower,
        )
        .stat(supd, sv, |v| stats::percentile(v, 99.0)),
        Row::reference(
            "supervisorctl",
            "reference: that Python importing supervisorctl, no request (the client's floor), p50",
            "ms",
            floor,
        ),
    ]
}

/// One `supervisorctl -c FILE status`, checked: exit 0 and 100 RUNNING lines.
fn status_sample(clients: &std::path::Path, inst: &Instance) -> Res<f64> {
    let mut cmd = Command::new(clients.join("supervisorctl"));
    cmd.arg("-c").arg(inst.supervisorctl_conf()).arg("status");
    let (took, out) = run_timed(&mut cmd)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let running = text.lines().filter(|l| l.contains(" RUNNING ")).count();
    if !out.status.success() || running != PROGRAMS {
        let first = text.lines().next().unwrap_or_default().to_string();
        return Err(format!(
            "`supervisorctl status` against {} ended with {} and listed {running} RUNNING programs of {PROGRAMS}: {}",
            inst.sys.name(),
            out.status,
            if first.is_empty() {
                String::from_utf8_lossy(&out.stderr).trim().to_string()
            } else {
                first
            }
        ));
    }
    Ok(took)
}

/// Wall time of one run of `cmd` to completion, in ms, checked to succeed.
fn timed(cmd: &mut Command) -> Res<f64> {
    let (took, out) = run_timed(cmd)?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed ({})", out.status));
    }
    Ok(took)
}

/// Runs `cmd` to completion (stdin from /dev/null); its wall time in ms and its output.
fn run_timed(cmd: &mut Command) -> Res<(f64, std::process::Output)> {
    let start = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    Ok((start.elapsed().as_secs_f64() * 1000.0, out))
}
