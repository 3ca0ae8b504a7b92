//! A program that exits at once (`bench-stamp --exit FILE`: appends its start stamp, exits 1):
//! how long until the supervisor tries again, and again. Both systems with their defaults
//! (supd: `restart_delay` 100 ms, doubling; supervisord: `startsecs=1`, 1 s then 2 s, then
//! FATAL). A fresh supervisor per run.

use std::time::Duration;

use super::{Ctx, ms, poll};
use crate::Stamp;
use crate::report::{Better, Row};
use crate::system::{Instance, Options, Program};

pub fn run(ctx: &Ctx) -> Vec<Row> {
    let (supd, sv, [e0, e1]) = ctx.repeat("exits at once", ctx.plan.runs, |sys, dir| {
        let log = dir.join("x.log");
        let file = log.display().to_string();
        let p = Program::new("x", &[&ctx.tools.stamp(), "--exit", &file]);
        let inst = Instance::start(&ctx.tools, sys, dir, &[p], Options::default())?;
        let s = poll(
            "three starts",
            Duration::from_secs(30),
            Duration::from_millis(5),
            || {
                let s = Stamp::read_all(&log);
                (s.len() >= 3).then_some(s)
            },
        )
        .map_err(|e| format!("{e}{}", inst.stderr_tail()))?;
        Ok((ms(s[0].ns, s[1].ns), ms(s[1].ns, s[2].ns)))
    });
    let first = |v: &[(f64, f64)]| v.iter().map(|x| x.0).collect::<Vec<_>>();
    let second = |v: &[(f64, f64)]| v.iter().map(|x| x.1).collect::<Vec<_>>();
    vec![
        Row::new(
            "backoff",
            "program that exits at once: 1st → 2nd start",
            "ms",
            Better::Lower,
        )
        .medians(
            &super::series(first(&supd), e0.clone()),
            &super::series(first(&sv), e1.clone()),
        )
        .target("`restart_delay` exactly (100 ms)", |v| {
            (100.0..=110.0).contains(&v)
        }),
        Row::new(
            "backoff",
            "program that exits at once: 2nd → 3rd start",
            "ms",
            Better::Lower,
        )
        .medians(
            &super::series(second(&supd), e0),
            &super::series(second(&sv), e1),
        )
        .target("doubling (200 ms)", |v| (200.0..=215.0).contains(&v)),
    ]
}
