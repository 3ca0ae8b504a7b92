//! An idle supervisor: its memory with 10 and 100 `sleep` programs, and the CPU time and
//! wake-ups it spends with 100 of them while nothing happens.
//!
//! "Idle" starts once every program is started, past the 1 s readiness time of both systems
//! and checked `running` with the client, and then 3 s without any client request (supd
//! arms a one-shot timer after a request to give memory back 2 s later; an idle supervisor
//! in a container is one nobody has talked to for a while).

use std::time::Duration;

use super::Ctx;
use crate::procfs;
use crate::report::{Better, Row};
use crate::system::{IDLE_QUIET, Instance, Options, Program};

fn sleepers(n: usize) -> Vec<Program> {
    (0..n).map(|k| Program::sleeper(format!("p{k}"))).collect()
}

/// PSS of the supervisor process (supd; supervisord's python), from smaps_rollup.
pub fn memory(ctx: &Ctx) -> Vec<Row> {
    let mut rows = Vec::new();
    for n in [10, 100] {
        let (supd, sv) = ctx.repeat_series(
            &format!("idle memory, {n} programs"),
            ctx.plan.runs,
            |sys, dir| {
                let mut inst =
                    Instance::start(&ctx.tools, sys, dir, &sleepers(n), Options::default())?;
                inst.settle(n, IDLE_QUIET)?;
                let kib = inst.pss_kib().ok_or("cannot read /proc/PID/smaps_rollup")?;
                Ok(kib as f64 / 1024.0)
            },
        );
        let row = Row::new(
            "memory",
            format!("idle memory, {n} programs (PSS of the supervisor's processes)"),
            "MiB",
            Better::Lower,
        )
        .medians(&supd, &sv);
        rows.push(if n == 100 {
            row.target("≤ 2 MiB", |v| v <= 2.0)
        } else {
            row
        });
    }
    rows
}

/// utime+stime (clock ticks) and context switches (sleeps and wake-ups) of the supervisor
/// over the idle window.
pub fn cpu(ctx: &Ctx) -> Vec<Row> {
    let secs = ctx.plan.idle_secs;
    let (supd, sv, errors) = ctx.repeat("idle CPU, 100 programs", ctx.plan.runs, |sys, dir| {
        let mut inst = Instance::start(&ctx.tools, sys, dir, &sleepers(100), Options::default())?;
        inst.settle(100, IDLE_QUIET)?;
        let ticks0 = inst.cpu_ticks()?;
        let switches0 = procfs::context_switches(inst.pid).unwrap_or(0);
        // The measurement window itself: nothing happens during it.
        std::thread::sleep(Duration::from_secs(secs));
        let ticks1 = inst.cpu_ticks()?;
        let switches1 = procfs::context_switches(inst.pid).unwrap_or(0);
        Ok((
            (ticks1 - ticks0) as f64,
            switches1.saturating_sub(switches0) as f64,
        ))
    });
    let [e0, e1] = errors;
    let ticks = |v: &[(f64, f64)]| v.iter().map(|x| x.0).collect::<Vec<_>>();
    let wakes = |v: &[(f64, f64)]| v.iter().map(|x| x.1).collect::<Vec<_>>();
    let tick_ms = 1000 / procfs::clk_tck();
    vec![
        Row::new(
            "idle-cpu",
            format!("idle CPU, 100 programs, over {secs} s (clock ticks of {tick_ms} ms)"),
            "ticks",
            Better::Lower,
        )
        .medians(
            &super::series(ticks(&supd), e0.clone()),
            &super::series(ticks(&sv), e1.clone()),
        )
        .target("0 (no timer wakes an idle supd)", |v| v == 0.0),
        Row::new(
            "idle-cpu",
            format!("idle wake-ups, 100 programs, over {secs} s (context switches)"),
            "",
            Better::Lower,
        )
        .medians(
            &super::series(wakes(&supd), e0),
            &super::series(wakes(&sv), e1),
        )
        .target("0", |v| v == 0.0),
    ]
}
