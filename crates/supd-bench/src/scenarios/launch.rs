//! Start → 100 programs started: every program is `bench-stamp DIR/N`; the figure is the
//! time from just before the supervisor is spawned to the latest of the 100 stamps.
//!
//! Reference: the CPU time the 100 programs themselves used until then (their exec,
//! dynamic loading and start-up, from `/proc/PID/task/*/schedstat`; in supd's runs, whose
//! children run only a few system calls between fork and exec) divided by the number of
//! CPUs — no supervisor can start them all sooner than that.

use std::path::Path;
use std::time::Duration;

use super::{Ctx, ms, poll, series};
use crate::report::{Better, Row};
use crate::system::{Instance, Options, Program};
use crate::{Stamp, procfs};

const N: usize = 100;

pub fn run(ctx: &Ctx) -> Vec<Row> {
    let (supd, sv, [e0, e1]) = ctx.repeat("launch → 100 started", ctx.plan.runs, |sys, dir| {
        let stamps = dir.join("stamps");
        std::fs::create_dir_all(&stamps).map_err(|e| e.to_string())?;
        let programs: Vec<Program> = (0..N)
            .map(|k| {
                let file = stamps.join(format!("p{k}")).display().to_string();
                Program::new(format!("p{k}"), &[&ctx.tools.stamp(), &file])
            })
            .collect();
        let inst = Instance::start(&ctx.tools, sys, dir, &programs, Options::default())?;
        // Counting directory entries every 5 ms costs the supervisor next to nothing.
        poll(
            "100 stamps",
            Duration::from_secs(60),
            Duration::from_millis(5),
            || (count(&stamps) >= N).then_some(()),
        )
        .map_err(|e| format!("{e}{}", inst.stderr_tail()))?;
        let stamps: Vec<Stamp> = (0..N)
            .filter_map(|k| Stamp::read(&stamps.join(format!("p{k}"))))
            .collect();
        let last = stamps.iter().map(|s| s.ns).max().ok_or("no stamp")?;
        // The programs' own CPU time so far: exec, dynamic loading, start-up, the stamp.
        let programs_cpu: u64 = stamps
            .iter()
            .filter_map(|s| procfs::runtime_ns(s.pid as i32))
            .sum();
        Ok((
            ms(inst.spawned_ns, last),
            programs_cpu as f64 / 1e6 / cpus(),
        ))
    });
    // From supd's runs only: a python child of supervisord runs python code between fork
    // and exec, which would count as the program's own time.
    let floor: Vec<f64> = supd.iter().map(|x| x.1).collect();
    let time = |v: &[(f64, f64)]| v.iter().map(|x| x.0).collect::<Vec<_>>();
    vec![
        Row::new(
            "launch",
            "start → 100 programs started",
            "ms",
            Better::Lower,
        )
        .medians(&series(time(&supd), e0), &series(time(&sv), e1))
        .target("≤ 60 ms", |v| v <= 60.0),
        Row::reference(
            "launch",
            format!(
                "reference: the 100 programs' own CPU time to start, ÷ {} CPUs (a floor for any supervisor)",
                cpus()
            ),
            "ms",
            &series(floor, None),
        ),
    ]
}

fn cpus() -> f64 {
    std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
}

/// Stamp files in `dir` (dot files are stamps being written).
fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .unwrap_or(0)
}
