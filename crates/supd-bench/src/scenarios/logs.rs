//! Program output through the supervisor to the supervisor's stdout, redirected to a file.
//!
//! - **Throughput**: `bench-blast BYTES 100` (100-byte lines in 64 KiB writes) as the only
//!   program. It waits for a go file, so the supervisor's CPU time is read just before the
//!   first byte; the figure is BYTES / (last byte in the file − the program's own start
//!   stamp) and the supervisor's utime+stime over that window. supd prefixes each line with
//!   `blast | `; supervisord (`stdout_logfile=/dev/stdout`, `stdout_logfile_maxbytes=0`)
//!   copies the bytes as they are. Reference: the same program writing straight to a file.
//!   The three (raw, supd, supervisord) alternate per run.
//! - **One write() per line at 20,000 lines/s** for 5 s (`bench-ticker`): the supervisor's
//!   CPU time over the window, as a share of one core.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Ctx, ms, progress};
use crate::report::{Better, Row, Series};
use crate::system::{Instance, Options, Program, Sys};
use crate::{Res, Stamp, guard, mono_ns, procfs};

const LINE: u64 = 100;
const RATE: u64 = 20_000;
const TICK_SECS: u64 = 5;

pub fn run(ctx: &Ctx) -> Vec<Row> {
    let bytes = ctx.plan.blast_bytes / LINE * LINE;
    let mb = bytes as f64 / 1e6;
    let mut raw = Series::default();
    let mut rate = [Series::default(), Series::default()];
    let mut cpu = [Series::default(), Series::default()];
    for i in 0..ctx.plan.runs {
        let order: [Option<Sys>; 3] = if i % 2 == 0 {
            [None, Some(Sys::Supd), Some(Sys::Supervisord)]
        } else {
            [Some(Sys::Supervisord), Some(Sys::Supd), None]
        };
        for who in order {
            let name = who.map_or("raw", Sys::name);
            let dir = ctx.dir(&format!("logs-{name}"));
            match who {
                None if !raw.broken() => {
                    let v = blast_raw(ctx, &dir, bytes).map(|secs| mb / secs);
                    progress(&format!(
                        "{mb:.0} MB, run {}/{} raw: {v:?} MB/s",
                        i + 1,
                        ctx.plan.runs
                    ));
                    raw.push(v);
                }
                Some(sys) if !rate[sys as usize].broken() => {
                    let v = blast_through(ctx, sys, &dir, bytes);
                    progress(&format!(
                        "{mb:.0} MB, run {}/{} {name}: {v:?} (s, CPU s)",
                        i + 1,
                        ctx.plan.runs
                    ));
                    let k = sys as usize;
                    rate[k].push(v.clone().map(|(secs, _)| mb / secs));
                    cpu[k].push(v.map(|(_, cpu)| cpu));
                }
                _ => {}
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let (t0, t1) = ctx.repeat_series("20,000 lines/s", ctx.plan.runs, |sys, dir| {
        ticker(ctx, sys, dir)
    });

    let raw_rate = crate::stats::median(&raw.values);
    let [r0, r1] = rate;
    let [c0, c1] = cpu;
    let mut rows = Vec::new();
    let label = format!("{mb:.0} MB of 100-byte lines through the supervisor to a file: rate");
    let mut row = Row::new("logs", label, "MB/s", Better::Higher).medians(&r0, &r1);
    row = match raw_rate {
        Some(raw) => row.target(
            format!("≥ 90% of the raw rate (≥ {:.0} MB/s)", raw * 0.9),
            move |v| v >= raw * 0.9,
        ),
        None => row.target_text("≥ 90% of the raw rate"),
    };
    rows.push(row);
    let mut row = Row::new(
        "logs",
        format!("{mb:.0} MB through the supervisor: its CPU time"),
        "s",
        Better::Lower,
    )
    .medians(&c0, &c1);
    row = match row.supervisord.clone() {
        Ok(sv) => row.target(
            format!("≤ half of supervisord's (≤ {:.2} s)", sv / 2.0),
            move |v| v <= sv / 2.0,
        ),
        Err(_) => row.target_text("≤ half of supervisord's"),
    };
    rows.push(row);
    rows.push(Row::reference(
        "logs",
        format!("reference: the same {mb:.0} MB written straight to a file (no supervisor)"),
        "MB/s",
        &raw,
    ));
    rows.push(
        Row::new(
            "logs",
            "one `write()` per line at 20,000 lines/s: supervisor CPU (share of one core)",
            "%",
            Better::Lower,
        )
        .medians(&t0, &t1)
        .target("≤ 3%", |v| v <= 3.0),
    );
    rows
}

/// `bench-blast BYTES 100 > FILE` with no supervisor: seconds from its start stamp to its exit.
fn blast_raw(ctx: &Ctx, dir: &Path, bytes: u64) -> Res<f64> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let out = dir.join("out");
    let (go, stamp) = (dir.join("go"), dir.join("stamp"));
    std::fs::write(&go, "").map_err(|e| e.to_string())?;
    let file = std::fs::File::create(&out).map_err(|e| e.to_string())?;
    let status = Command::new(ctx.tools.bin("bench-blast"))
        .arg(bytes.to_string())
        .arg(LINE.to_string())
        .arg(&go)
        .arg(&stamp)
        .env(guard::TOKEN_VAR, guard::new_token())
        .stdout(Stdio::from(file))
        .status()
        .map_err(|e| format!("cannot run bench-blast: {e}"))?;
    let end = mono_ns();
    if !status.success() {
        return Err(format!("bench-blast failed: {status}"));
    }
    let start = Stamp::read(&stamp).ok_or("bench-blast wrote no stamp")?;
    Ok(ms(start.ns, end) / 1000.0)
}

/// Output size of `lines` lines of `len` bytes, as the supervisor writes them for `name`.
fn expected(sys: Sys, name: &str, lines: u64, len: u64) -> u64 {
    match sys {
        // `name | line`: the name padded to the longest program name (or `supd`).
        Sys::Supd => lines * (len + name.len().max(4) as u64 + 3),
        Sys::Supervisord => lines * len,
    }
}

/// Starts `program` (waiting for a go file), then: CPU ticks, go, wait for `size` bytes in
/// the supervisor's stdout. Returns (seconds from the program's start stamp to the last
/// byte, supervisor CPU seconds).
fn through(
    ctx: &Ctx,
    sys: Sys,
    dir: &Path,
    program: Program,
    size: u64,
    limit: Duration,
) -> Res<(f64, f64)> {
    let out = dir.join("out");
    let (go, stamp) = (dir.join("go"), dir.join("stamp"));
    let mut inst = Instance::start(
        &ctx.tools,
        sys,
        dir,
        &[program],
        Options {
            stdout: Some(out.clone()),
            ..Options::default()
        },
    )?;
    let ready = dir.join("stamp.ready");
    inst.wait_for("the program to be ready", Duration::from_secs(20), |_| {
        ready.exists().then_some(())
    })?;
    let cpu0 = inst.cpu_ticks()?;
    std::fs::write(&go, "").map_err(|e| e.to_string())?;
    let mut seen = 0;
    let end = inst
        .wait_for(&format!("{size} bytes of output"), limit, |_| {
            seen = std::fs::metadata(&out).map_or(0, |m| m.len());
            (seen >= size).then(mono_ns)
        })
        .map_err(|e| format!("{e} (got {seen} bytes)"))?;
    let cpu1 = inst.cpu_ticks()?;
    let start = Stamp::read(&stamp).ok_or("the program wrote no stamp")?;
    Ok((
        ms(start.ns, end) / 1000.0,
        (cpu1 - cpu0) as f64 / procfs::clk_tck() as f64,
    ))
}

fn blast_through(ctx: &Ctx, sys: Sys, dir: &Path, bytes: u64) -> Res<(f64, f64)> {
    let (go, stamp) = (dir.join("go"), dir.join("stamp"));
    let p = Program::new(
        "blast",
        &[
            &ctx.tools.bin("bench-blast").display().to_string(),
            &bytes.to_string(),
            &LINE.to_string(),
            &go.display().to_string(),
            &stamp.display().to_string(),
        ],
    )
    .supd("restart = \"never\"")
    .ini("autorestart=false")
    .ini("startsecs=0");
    let size = expected(sys, "blast", bytes / LINE, LINE);
    through(ctx, sys, dir, p, size, Duration::from_secs(300))
}

/// Supervisor CPU over 5 s of 20,000 lines/s, in percent of one core.
fn ticker(ctx: &Ctx, sys: Sys, dir: &Path) -> Res<f64> {
    let (go, stamp) = (dir.join("go"), dir.join("stamp"));
    let p = Program::new(
        "ticker",
        &[
            &ctx.tools.bin("bench-ticker").display().to_string(),
            &RATE.to_string(),
            &TICK_SECS.to_string(),
            &LINE.to_string(),
            &go.display().to_string(),
            &stamp.display().to_string(),
        ],
    )
    .supd("restart = \"never\"")
    .ini("autorestart=false")
    .ini("startsecs=0");
    let size = expected(sys, "ticker", RATE * TICK_SECS, LINE);
    let (secs, cpu) = through(ctx, sys, dir, p, size, Duration::from_secs(60))?;
    Ok(cpu / secs * 100.0)
}
