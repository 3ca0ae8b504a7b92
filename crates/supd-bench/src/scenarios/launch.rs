//! Start → 100 programs started: every program is `bench-stamp DIR/N`; the figure is the
//! time from just before the supervisor is spawned to the latest of the 100 stamps.

use std::path::Path;
use std::time::Duration;

use super::{Ctx, ms, poll};
use crate::Stamp;
use crate::report::{Better, Row};
use crate::system::{Instance, Options, Program};

const N: usize = 100;

pub fn run(ctx: &Ctx) -> Vec<Row> {
    let (supd, sv) = ctx.repeat_series("launch → 100 started", ctx.plan.runs, |sys, dir| {
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
        let last = (0..N)
            .filter_map(|k| Stamp::read(&stamps.join(format!("p{k}"))))
            .map(|s| s.ns)
            .max()
            .ok_or("no stamp")?;
        Ok(ms(inst.spawned_ns, last))
    });
    vec![
        Row::new(
            "launch",
            "start → 100 programs started",
            "ms",
            Better::Lower,
        )
        .medians(&supd, &sv)
        .target("≤ 60 ms", |v| v <= 60.0),
    ]
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
