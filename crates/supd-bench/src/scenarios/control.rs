//! The client round trip, as a user sees it: wall time of a whole client process, from
//! spawn to exit, against a supervisor with 10 programs (nine `sleep`, one `bench-stamp`).
//! - `supctl -c CONF status` vs `supervisorctl -c CONF status`;
//! - `supctl -c CONF restart r` vs `supervisorctl -c CONF restart r`: both return once `r`
//!   runs again; `r` has supd `min_uptime = "0s"` and supervisord `startsecs=0`, so neither
//!   waits a readiness second. Each sample checks that `r` really has a new process.
//!
//! Both supervisors run side by side; samples alternate.

use std::time::{Duration, Instant};

use super::{Ctx, next_stamp, progress};
use crate::Res;
use crate::Stamp;
use crate::report::{Better, Row, Series};
use crate::stats;
use crate::system::{Instance, Options, Program, SHORT_QUIET, Sys};

pub fn run(ctx: &Ctx) -> Vec<Row> {
    let mut instances: Vec<(Sys, Instance)> = Vec::new();
    let mut status = [Series::default(), Series::default()];
    let mut restart = [Series::default(), Series::default()];
    for sys in [Sys::Supd, Sys::Supervisord] {
        let dir = ctx.dir(&format!("control-{}", sys.name()));
        let file = dir.join("r").display().to_string();
        let mut programs: Vec<Program> =
            (0..9).map(|k| Program::sleeper(format!("p{k}"))).collect();
        programs.push(
            Program::new("r", &[&ctx.tools.stamp(), &file])
                .supd("min_uptime = \"0s\"")
                .ini("startsecs=0"),
        );
        let started = Instance::start(&ctx.tools, sys, &dir, &programs, Options::default())
            .and_then(|mut inst| inst.settle(10, SHORT_QUIET).map(|()| inst));
        match started {
            Ok(inst) => instances.push((sys, inst)),
            Err(e) => {
                status[sys as usize] = Series::failed(e.clone());
                restart[sys as usize] = Series::failed(e);
            }
        }
    }
    for i in 0..ctx.plan.samples {
        for sys in Sys::order(i) {
            if let Some((_, inst)) = instances.iter().find(|(s, _)| *s == sys)
                && !status[sys as usize].broken()
            {
                status[sys as usize].push(timed(inst, &["status"]));
            }
        }
    }
    for i in 0..ctx.plan.samples {
        for sys in Sys::order(i) {
            if let Some((_, inst)) = instances.iter().find(|(s, _)| *s == sys)
                && !restart[sys as usize].broken()
            {
                restart[sys as usize].push(restart_sample(inst));
            }
        }
    }
    for (k, sys) in [Sys::Supd, Sys::Supervisord].iter().enumerate() {
        progress(&format!(
            "status, {}: {:?} ms",
            sys.name(),
            status[k].values
        ));
        progress(&format!(
            "restart, {}: {:?} ms",
            sys.name(),
            restart[k].values
        ));
    }
    drop(instances);
    let mut floor = Series::default();
    for _ in 0..ctx.plan.samples {
        let start = Instant::now();
        let ran = std::process::Command::new("true")
            .stdin(std::process::Stdio::null())
            .output();
        floor.push(match ran {
            Ok(_) => Ok(start.elapsed().as_secs_f64() * 1000.0),
            Err(e) => Err(format!("cannot run true: {e}")),
        });
    }
    let [s0, s1] = status;
    let [r0, r1] = restart;
    vec![
        Row::new(
            "control",
            "status round trip (client process start included), p50",
            "ms",
            Better::Lower,
        )
        .medians(&s0, &s1)
        .target("≤ 1 ms", |v| v <= 1.0),
        Row::new("control", "status round trip, p95", "ms", Better::Lower)
            .stat(&s0, &s1, |v| stats::percentile(v, 95.0)),
        Row::new(
            "control",
            "restart one program and wait until it runs, p50",
            "ms",
            Better::Lower,
        )
        .medians(&r0, &r1)
        .target("≤ 5 ms", |v| v <= 5.0),
        Row::reference(
            "control",
            "reference: `true` run the same way (the floor of any client), p50",
            "ms",
            &floor,
        ),
    ]
}

/// Wall time of one client run, in ms; an error when it fails.
fn timed(inst: &Instance, args: &[&str]) -> Res<f64> {
    let mut cmd = inst.ctl_command(args);
    let start = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run the client: {e}"))?;
    let took = start.elapsed().as_secs_f64() * 1000.0;
    if !out.status.success() {
        return Err(format!(
            "`{} {}` failed ({}): {}",
            inst.sys.name(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(took)
}

fn restart_sample(inst: &Instance) -> Res<f64> {
    let file = inst.dir.join("r");
    let old = Stamp::read(&file).ok_or("r has no stamp")?;
    let took = timed(inst, &["restart", "r"])?;
    // The client said r runs again: it must be a new process.
    next_stamp(&file, Some(old.pid), Duration::from_secs(5))?;
    Ok(took)
}
