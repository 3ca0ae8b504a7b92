//! File change → new process started. The watched program is `bench-stamp DIR/w`; a sample
//! stamps t0, rewrites `DIR/src/app.py`, and reads the new process's own start stamp.
//!
//! - supd: `[program.w.watch]` with `paths = [DIR/src]`, `include = ["*.py"]`,
//!   `debounce = "50ms"`; and a second supd with `debounce = "1ms"` (the smallest);
//! - supervisord: the seeds' setup, a second program
//!   `sh -c "find DIR/src -name '*.py' | entr -n -r supervisorctl -c CONF restart w"`, with
//!   `w` at `startsecs=0` so its restart does not wait a second. entr has no debounce
//!   setting; it waits about 50 ms by itself.
//!
//! The three run side by side; samples rotate between them, 0.5 s apart.

use std::path::PathBuf;
use std::time::Duration;

use super::{Ctx, ms, next_stamp, progress};
use crate::report::{Better, Row, Series};
use crate::stats;
use crate::system::{Instance, Options, Program, Sys};
use crate::{Res, mono_ns};

struct Watched {
    label: &'static str,
    inst: Res<Instance>,
    src: PathBuf,
    stamp: PathBuf,
    series: Series,
}

pub fn run(ctx: &Ctx) -> Vec<Row> {
    let mut all: Vec<Watched> = vec![
        start(ctx, Sys::Supd, "supd-50ms", "50ms"),
        start(ctx, Sys::Supervisord, "supervisord+entr", ""),
        start(ctx, Sys::Supd, "supd-1ms", "1ms"),
    ];
    // Let every watcher settle (entr runs its command once at start: one restart of w).
    for w in &mut all {
        if let Ok(inst) = &mut w.inst {
            let stamp = w.stamp.clone();
            let first = inst.wait_for("w to start", Duration::from_secs(20), |_| {
                crate::Stamp::read(&stamp)
            });
            if let Err(e) = first {
                w.inst = Err(e);
            }
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    for w in &mut all {
        if let Err(e) = &w.inst {
            w.series = Series::failed(e.clone());
        }
    }
    for i in 0..ctx.plan.samples {
        for k in 0..all.len() {
            let w = &mut all[(i + k) % 3];
            if w.series.broken() {
                continue;
            }
            let v = sample(w, i);
            if let Err(e) = &v {
                progress(&format!("file change: {}: {e}", w.label));
            }
            w.series.push(v);
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    for w in &all {
        progress(&format!(
            "file change → restarted, {}: {:?} ms",
            w.label, w.series.values
        ));
    }
    let supd = all[0].series.clone();
    let sv = all[1].series.clone();
    let mut tiny = Row::new(
        "watch",
        "file change → new process started, smallest debounce (`1ms`), p50",
        "ms",
        Better::Lower,
    );
    tiny.supd = all[2].series.figure(stats::median);
    tiny.supd_samples = all[2].series.values.clone();
    tiny.supervisord = Err("n/a".into());
    vec![
        Row::new(
            "watch",
            "file change → new process started, `debounce = 50ms`, p50",
            "ms",
            Better::Lower,
        )
        .medians(&supd, &sv)
        .target("≤ 55 ms", |v| v <= 55.0),
        Row::new(
            "watch",
            "file change → new process started, `debounce = 50ms`, p95",
            "ms",
            Better::Lower,
        )
        .stat(&supd, &sv, |v| stats::percentile(v, 95.0)),
        tiny.target("≤ 4 ms", |v| v <= 4.0),
    ]
}

fn start(ctx: &Ctx, sys: Sys, label: &'static str, debounce: &str) -> Watched {
    let dir = ctx.dir(&format!("watch-{label}"));
    let src = dir.join("src");
    let stamp = dir.join("w");
    let mut w = Watched {
        label,
        inst: Err(String::new()),
        src: src.clone(),
        stamp: stamp.clone(),
        series: Series::default(),
    };
    if let Err(e) = std::fs::create_dir_all(&src)
        .and_then(|()| std::fs::write(src.join("app.py"), "# version 0\n"))
    {
        w.inst = Err(format!("cannot prepare {}: {e}", src.display()));
        return w;
    }
    let program = Program::new("w", &[&ctx.tools.stamp(), &stamp.display().to_string()]);
    let programs = match sys {
        Sys::Supd => vec![program.watch(&format!(
            "paths = [{}]\ninclude = [\"*.py\"]\ndebounce = \"{debounce}\"",
            serde_json::Value::String(src.display().to_string())
        ))],
        Sys::Supervisord => {
            let ctl = match (&ctx.tools.supervisor, &ctx.tools.entr) {
                (Ok(bin), Ok(())) => bin.join("supervisorctl"),
                (Err(e), _) | (_, Err(e)) => {
                    w.inst = Err(e.clone());
                    return w;
                }
            };
            let script = format!(
                "find {} -name '*.py' | entr -n -r {} -c {} restart w",
                src.display(),
                ctl.display(),
                dir.join("supervisord.conf").display()
            );
            vec![
                program.ini("startsecs=0"),
                Program::new("watcher", &["sh", "-c", &script]),
            ]
        }
    };
    w.inst = Instance::start(&ctx.tools, sys, &dir, &programs, Options::default());
    w
}

fn sample(w: &Watched, i: usize) -> Res<f64> {
    let Ok(inst) = &w.inst else {
        return Err("not running".into());
    };
    let old = crate::Stamp::read(&w.stamp).ok_or("w has no stamp")?;
    let t0 = mono_ns();
    std::fs::write(w.src.join("app.py"), format!("# version {}\n", i + 1))
        .map_err(|e| format!("cannot write app.py: {e}"))?;
    let new = next_stamp(&w.stamp, Some(old.pid), Duration::from_secs(10))
        .map_err(|e| format!("{e}{}", inst.stderr_tail()))?;
    Ok(ms(t0, new.ns))
}
