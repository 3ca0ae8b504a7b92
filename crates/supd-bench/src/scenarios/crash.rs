//! `kill -9` of a child → its replacement started. One program, `bench-stamp DIR/c`, under
//! each supervisor (side by side, samples alternating). A sample: wait until the current
//! process has run 1.2 s (past supd's default `min_uptime` of 1 s, so its death is a crash,
//! not a failed start), stamp t0, SIGKILL it, and read the replacement's own start stamp.
//!
//! supd runs with its defaults; supervisord with `startsecs=0` (and `autorestart=true`).

use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::{Ctx, ms, next_stamp, progress};
use crate::report::{Better, Row, Series};
use crate::stats;
use crate::system::{Instance, Options, Program, Sys};
use crate::{Res, guard, mono_ns};

pub fn run(ctx: &Ctx) -> Vec<Row> {
    let mut instances: Vec<(Sys, Res<Instance>)> = Vec::new();
    for sys in [Sys::Supd, Sys::Supervisord] {
        let dir = ctx.dir(&format!("crash-{}", sys.name()));
        let file = dir.join("c").display().to_string();
        let p = Program::new("c", &[&ctx.tools.stamp(), &file]).ini("startsecs=0");
        instances.push((
            sys,
            Instance::start(&ctx.tools, sys, &dir, &[p], Options::default()),
        ));
    }
    let mut series = [Series::default(), Series::default()];
    for (sys, inst) in &instances {
        if let Err(e) = inst {
            series[*sys as usize] = Series::failed(e.clone());
        }
    }
    for i in 0..ctx.plan.samples {
        for sys in Sys::order(i) {
            let k = sys as usize;
            if series[k].broken() {
                continue;
            }
            let Some((_, Ok(inst))) = instances.iter().find(|(s, _)| *s == sys) else {
                continue;
            };
            let v = sample(inst);
            if let Err(e) = &v {
                progress(&format!("kill -9: {}: {e}", sys.name()));
            }
            series[k].push(v);
        }
    }
    for (k, sys) in [Sys::Supd, Sys::Supervisord].iter().enumerate() {
        progress(&format!(
            "kill -9 → restarted, {}: {:?} ms",
            sys.name(),
            series[k].values
        ));
    }
    let [supd, sv] = series;
    let reference = spawn_reference(ctx);
    progress(&format!(
        "spawn → stamp, no supervisor: {:?} ms",
        reference.values
    ));
    vec![
        Row::new(
            "crash",
            "`kill -9` of a child → replacement started, p50",
            "ms",
            Better::Lower,
        )
        .medians(&supd, &sv)
        .target("≤ 2 ms", |v| v <= 2.0),
        Row::new(
            "crash",
            "`kill -9` of a child → replacement started, p95",
            "ms",
            Better::Lower,
        )
        .stat(&supd, &sv, |v| stats::percentile(v, 95.0)),
        Row::reference(
            "crash",
            "reference: the harness spawns the stamp program itself → its start stamp, p50",
            "ms",
            &reference,
        ),
    ]
}

/// What starting the stamp program costs with no supervisor: from just before the harness
/// spawns it to its own start stamp (fork, exec, dynamic loading, runtime start-up). Every
/// "… started" figure of both systems includes this.
fn spawn_reference(ctx: &Ctx) -> Series {
    let dir = ctx.dir("spawn-reference");
    let mut series = Series::default();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return Series::failed(e.to_string());
    }
    for i in 0..ctx.plan.samples {
        let file = dir.join(format!("s{i}"));
        let t0 = mono_ns();
        let child = Command::new(ctx.tools.stamp())
            .arg(&file)
            .env(guard::TOKEN_VAR, guard::new_token())
            .stdin(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => return Series::failed(format!("cannot run bench-stamp: {e}")),
        };
        let v = next_stamp(&file, None, Duration::from_secs(10)).map(|s| ms(t0, s.ns));
        let _ = child.kill();
        let _ = child.wait();
        series.push(v);
        if series.broken() {
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    series
}

fn sample(inst: &Instance) -> Res<f64> {
    let file = inst.dir.join("c");
    let old = next_stamp(&file, None, Duration::from_secs(20))?;
    let age = Duration::from_nanos(mono_ns().saturating_sub(old.ns));
    if let Some(rest) = Duration::from_millis(1200).checked_sub(age) {
        std::thread::sleep(rest);
    }
    let t0 = mono_ns();
    nix::sys::signal::kill(Pid::from_raw(old.pid as i32), Signal::SIGKILL)
        .map_err(|e| format!("kill -9 {}: {e}", old.pid))?;
    let new = next_stamp(&file, Some(old.pid), Duration::from_secs(20))
        .map_err(|e| format!("{e}{}", inst.stderr_tail()))?;
    Ok(ms(t0, new.ns))
}
