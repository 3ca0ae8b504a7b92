//! Stopping.
//! - SIGTERM → every process gone, 100 `sleep` programs: t0 just before the harness sends
//!   SIGTERM to the supervisor, t1 when the supervisor has exited (both supervisors reap
//!   their children before they exit; the harness then checks nothing of theirs is left,
//!   and waits for it if something is).
//! - The same with 10 programs, one of which ignores TERM
//!   (`sh -c 'trap "" TERM; exec sleep 100000'`), both systems with a 2 s stop wait (supd
//!   `stop_timeout = "2s"`, supervisord `stopwaitsecs=2`): about the stop wait for both.
//! - `sh -c 'sleep 100000 & sleep 100000'` stopped with the client and default settings:
//!   how many of its sleeps are still alive 0.5 s after the client returned.

use std::time::Duration;

use nix::sys::signal::Signal;

use super::{Ctx, ms, poll};
use crate::report::{Better, Row};
use crate::system::{Instance, Options, Program, SHORT_QUIET};
use crate::{Res, mono_ns, procfs};

pub fn run(ctx: &Ctx) -> Vec<Row> {
    let (a0, a1) = ctx.repeat_series("SIGTERM, 100 programs", ctx.plan.runs, |sys, dir| {
        let programs: Vec<Program> = (0..100)
            .map(|k| Program::sleeper(format!("p{k}")))
            .collect();
        let inst = Instance::start(&ctx.tools, sys, dir, &programs, Options::default())?;
        terminate(inst, 100)
    });
    let (b0, b1) = ctx.repeat_series("SIGTERM, one ignores TERM", ctx.plan.runs, |sys, dir| {
        let mut programs: Vec<Program> =
            (0..9).map(|k| Program::sleeper(format!("p{k}"))).collect();
        programs.push(Program::new(
            "stubborn",
            &["sh", "-c", "trap '' TERM; exec sleep 100000"],
        ));
        let programs: Vec<Program> = programs
            .into_iter()
            .map(|p| p.supd("stop_timeout = \"2s\"").ini("stopwaitsecs=2"))
            .collect();
        let inst = Instance::start(&ctx.tools, sys, dir, &programs, Options::default())?;
        terminate(inst, 10)
    });
    let (c0, c1) = ctx.repeat_series(
        "sh -c 'sleep & sleep' stopped",
        ctx.plan.runs,
        |sys, dir| {
            let p = Program::new("g", &["sh", "-c", "sleep 100000 & sleep 100000"]);
            let mut inst = Instance::start(&ctx.tools, sys, dir, &[p], Options::default())?;
            inst.settle(1, SHORT_QUIET)?;
            inst.wait_for("both sleeps", Duration::from_secs(10), |i| {
                (sleeps(i) >= 2).then_some(())
            })?;
            let out = inst.ctl(&["stop", "g"])?;
            if !out.status.success() {
                return Err(format!(
                    "stop g failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            std::thread::sleep(Duration::from_millis(500));
            Ok(sleeps(&inst) as f64)
        },
    );
    vec![
        Row::new(
            "shutdown",
            "SIGTERM → every process gone, 100 programs",
            "ms",
            Better::Lower,
        )
        .medians(&a0, &a1)
        .target("≤ 50 ms", |v| v <= 50.0),
        Row::new(
            "shutdown",
            "SIGTERM → every process gone, 10 programs, one ignores TERM (2 s stop wait)",
            "ms",
            Better::Lower,
        )
        .medians(&b0, &b1)
        .target("the stop wait (2000 ms)", |v| v < 2100.0),
        Row::new(
            "shutdown",
            "`sh -c 'sleep & sleep'` stopped with default settings: sleeps left",
            "",
            Better::Lower,
        )
        .medians(&c0, &c1)
        .target("0", |v| v == 0.0),
    ]
}

/// Live `sleep` processes of the instance.
fn sleeps(inst: &Instance) -> usize {
    inst.leftovers()
        .into_iter()
        .filter(|&p| procfs::stat(p).is_some_and(|s| s.comm == "sleep"))
        .count()
}

/// Settles `n` programs, sends SIGTERM, and returns ms until everything is gone.
fn terminate(mut inst: Instance, n: usize) -> Res<f64> {
    inst.settle(n, SHORT_QUIET)?;
    let t0 = mono_ns();
    inst.signal(Signal::SIGTERM)?;
    inst.wait_exit()?;
    let mut t1 = mono_ns();
    if !inst.leftovers().is_empty() {
        poll(
            "the supervisor's processes to be gone",
            Duration::from_secs(60),
            Duration::from_millis(1),
            || inst.leftovers().is_empty().then_some(()),
        )?;
        t1 = mono_ns();
    }
    Ok(ms(t0, t1))
}
