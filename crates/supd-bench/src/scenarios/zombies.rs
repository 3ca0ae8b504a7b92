//! Zombies 0.5 s after orphans exit, with the supervisor as PID 1 of a new PID namespace
//! (`unshare --pid --fork --mount-proc`; needs root). The program
//! `sh -c 'for i in 1 2 3 4 5; do (sleep 0.3 &); done; exec sleep 100000'` leaves five
//! orphans, re-parented to the supervisor, that exit 0.3 s later. Once the last one has
//! exited, the harness waits 0.5 s and counts the supervisor's zombie children.

use std::time::Duration;

use super::{Ctx, children_running, poll};
use crate::procfs;
use crate::report::{Better, Row, Series};
use crate::system::{Instance, Options, Program};

const SCRIPT: &str = "for i in 1 2 3 4 5; do (sleep 0.3 &); done; exec sleep 100000";

pub fn run(ctx: &Ctx) -> Vec<Row> {
    let (supd, sv) = match &ctx.tools.pid1 {
        Err(why) => (Series::failed(why.clone()), Series::failed(why.clone())),
        Ok(()) => ctx.repeat_series("zombies as PID 1", ctx.plan.runs, |sys, dir| {
            let p = Program::new("orphans", &["sh", "-c", SCRIPT]);
            let mut inst = Instance::start(
                &ctx.tools,
                sys,
                dir,
                &[p],
                Options {
                    pid1: true,
                    ..Options::default()
                },
            )?;
            let orphans = inst.wait_for("5 orphans", Duration::from_secs(20), |i| {
                let v = children_running(i.pid, &["sleep", "0.3"]);
                (v.len() >= 5).then_some(v)
            })?;
            poll(
                "the orphans to exit",
                Duration::from_secs(10),
                Duration::from_millis(1),
                || orphans.iter().all(|&p| !procfs::alive(p)).then_some(()),
            )?;
            std::thread::sleep(Duration::from_millis(500));
            let zombies = procfs::children(inst.pid)
                .iter()
                .filter(|(_, s)| s.state == 'Z')
                .count();
            Ok(zombies as f64)
        }),
    };
    vec![
        Row::new(
            "zombies",
            "zombies 0.5 s after orphans exit (supervisor as PID 1)",
            "",
            Better::Lower,
        )
        .medians(&supd, &sv)
        .target("0", |v| v == 0.0),
    ]
}
