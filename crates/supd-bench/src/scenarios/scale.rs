//! Scale (supd only): the same figures with 10, 100 and 1,000 programs, to see how each
//! grows. With N `sleep` programs: start → all `running` (one `wait` request over the
//! socket, answered once every program is up; `min_uptime = "0s"` so up means started), idle PSS after 3 s of quiet,
//! `supctl status --json` round trip (median of the samples), SIGTERM → supd exited (it
//! exits once everything is gone). With N `bench-ticker 10000 5 100` programs (10,000
//! lines/s each, 5 s, to supd's stdout = /dev/null): supd's CPU while they write, and the
//! lines per second that actually went through (1,000 such programs would be 10 M lines/s:
//! not run on a machine this size).
//!
//! The growth table puts the marginal cost per program of each step side by side
//! ((f(100) − f(10)) / 90 vs (f(1000) − f(100)) / 900); a step more than twice as expensive
//! per program as the one before is flagged as super-linear.

use std::time::{Duration, Instant};

use super::{Ctx, markdown_table, ms, poll, progress};
use crate::report::{Better, Row, Series};
use crate::system::{Instance, Options, Program, Sys};
use crate::{Res, mono_ns, procfs, stats, wire};

const SIZES: [usize; 3] = [10, 100, 1000];
const CHATTY_SIZES: [usize; 2] = [10, 100];

#[derive(Debug, Default, Clone)]
struct Figures {
    start_ms: Option<f64>,
    pss_kib: Option<f64>,
    status_ms: Option<f64>,
    sigterm_ms: Option<f64>,
    cpu_pct: Option<f64>,
    lines_per_s: Option<f64>,
}

pub fn run(ctx: &Ctx) -> Vec<Row> {
    let mut all: Vec<(usize, Res<Figures>)> = Vec::new();
    for n in SIZES {
        let mut figures = idle_figures(ctx, n);
        if CHATTY_SIZES.contains(&n)
            && let Ok(f) = &mut figures
        {
            match chatty(ctx, n) {
                Ok((cpu, lines)) => {
                    f.cpu_pct = Some(cpu);
                    f.lines_per_s = Some(lines);
                }
                Err(e) => progress(&format!("scale {n} chatty: {e}")),
            }
        }
        progress(&format!("scale {n}: {figures:?}"));
        all.push((n, figures));
    }
    let mut rows = Vec::new();
    let mut table = Vec::new();
    type Pick = fn(&Figures) -> Option<f64>;
    let figures: [(&str, &'static str, Pick); 6] = [
        ("start → all running", "ms", |f| f.start_ms),
        ("idle PSS of supd", "KiB", |f| f.pss_kib),
        ("`supctl status --json` round trip", "ms", |f| f.status_ms),
        ("SIGTERM → supd exited, all gone", "ms", |f| f.sigterm_ms),
        ("supd CPU, 10,000 lines/s per program", "%", |f| f.cpu_pct),
        ("lines/s delivered (all programs)", "lines/s", |f| {
            f.lines_per_s
        }),
    ];
    for (label, unit, pick) in figures {
        let values: Vec<Option<f64>> = all
            .iter()
            .map(|(_, f)| f.as_ref().ok().and_then(pick))
            .collect();
        for ((n, f), v) in all.iter().zip(&values) {
            let mut row = Row::new(
                "scale",
                format!("scale: {label}, {n} programs"),
                unit,
                Better::Lower,
            );
            row.supd = match (f, v) {
                (Err(e), _) => Err(e.clone()),
                (Ok(_), Some(v)) => Ok(*v),
                (Ok(_), None) => Err("not run at this size".into()),
            };
            row.supervisord = Err("n/a".into());
            rows.push(row);
        }
        let cell = |v: &Option<f64>| v.map_or("–".into(), crate::report::number);
        let marginal = |a: usize, b: usize| -> Option<f64> {
            let (fa, fb) = (values[a]?, values[b]?);
            Some((fb - fa) / (SIZES[b] - SIZES[a]) as f64)
        };
        let (m1, m2) = (marginal(0, 1), marginal(1, 2));
        let verdict = match (m1, m2) {
            (Some(a), Some(b)) if a > 0.0 && b > 2.0 * a => {
                format!("**super-linear** ({:.1}× per program)", b / a)
            }
            (Some(_), Some(_)) => "linear or better".into(),
            (Some(_), None) => "–".into(),
            _ => "–".into(),
        };
        let per = |m: Option<f64>| {
            m.map_or("–".into(), |m| {
                format!("{} {unit}", crate::report::number(m))
            })
        };
        table.push(vec![
            label.to_string(),
            unit.to_string(),
            cell(&values[0]),
            cell(&values[1]),
            cell(&values[2]),
            per(m1),
            per(m2),
            verdict,
        ]);
    }
    ctx.section(format!(
        "### Scale: how each figure grows (supd)\n\n{}",
        markdown_table(
            &[
                "figure",
                "unit",
                "10",
                "100",
                "1,000",
                "per program 10→100",
                "per program 100→1,000",
                "growth",
            ],
            &table
        )
    ));
    rows
}

fn idle_figures(ctx: &Ctx, n: usize) -> Res<Figures> {
    let dir = ctx.dir(&format!("scale-{n}"));
    let programs: Vec<Program> = (0..n)
        .map(|k| Program::sleeper(format!("s{k}")).supd("min_uptime = \"0s\""))
        .collect();
    let mut inst = Instance::start(&ctx.tools, Sys::Supd, &dir, &programs, Options::default())?;
    let socket = dir.join("supd.sock");
    // One `wait` request, answered once every program is up: polling `status` would cost
    // supd O(N) per poll for O(N) time, an O(N²) the figure would then show.
    let mut conn = inst.wait_for("supd's socket", Duration::from_secs(30), |_| {
        wire::Conn::open(&socket, Duration::from_secs(120)).ok()
    })?;
    let answer = conn.ask(supd_proto::Request::Wait {
        names: Vec::new(),
        timeout_ms: Some(120_000),
    })?;
    let all_running = mono_ns();
    match answer {
        supd_proto::ServerMessage::Reply {
            reply: supd_proto::Reply::Actions { outcomes },
            ..
        } if outcomes.iter().all(|o| o.ok) => {}
        other => return Err(format!("supctl wait: {other:?}")),
    }
    drop(conn);
    let start_ms = ms(inst.spawned_ns, all_running);
    std::thread::sleep(Duration::from_secs(3));
    let pss = inst.pss_kib().map(|v| v as f64);
    let mut samples = Series::default();
    for _ in 0..ctx.plan.samples.min(10) {
        let t = Instant::now();
        let out = inst.ctl(&["status", "--json"])?;
        if !out.status.success() {
            samples.push(Err(format!(
                "supctl status --json failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
            break;
        }
        samples.push(Ok(t.elapsed().as_secs_f64() * 1000.0));
    }
    let status_ms = samples.figure(stats::median).ok();
    let t0 = mono_ns();
    inst.signal(nix::sys::signal::Signal::SIGTERM)?;
    inst.wait_exit()?;
    let sigterm_ms = ms(t0, mono_ns());
    let left = inst.leftovers().len();
    if left > 0 {
        progress(&format!(
            "scale {n}: {left} processes left after supd exited"
        ));
    }
    drop(inst);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Figures {
        start_ms: Some(start_ms),
        pss_kib: pss,
        status_ms,
        sigterm_ms: Some(sigterm_ms),
        ..Figures::default()
    })
}

/// supd's CPU (% of one CPU) and the lines per second delivered while `n` tickers write
/// 10,000 lines/s each for 5 s.
fn chatty(ctx: &Ctx, n: usize) -> Res<(f64, f64)> {
    const RATE: u64 = 10_000;
    const SECS: u64 = 5;
    let dir = ctx.dir(&format!("scale-chatty-{n}"));
    let go = dir.join("go");
    let ticker = ctx.tools.bin("bench-ticker").display().to_string();
    let programs: Vec<Program> = (0..n)
        .map(|k| {
            let stamp = dir.join(format!("t{k}")).display().to_string();
            Program::new(
                format!("t{k}"),
                &[
                    &ticker,
                    &RATE.to_string(),
                    &SECS.to_string(),
                    "100",
                    &go.display().to_string(),
                    &stamp,
                ],
            )
            .supd("restart = \"never\"")
            .supd("min_uptime = \"0s\"")
        })
        .collect();
    let mut inst = Instance::start(&ctx.tools, Sys::Supd, &dir, &programs, Options::default())?;
    inst.wait_for("every ticker ready", Duration::from_secs(60), |_| {
        (0..n)
            .all(|k| dir.join(format!("t{k}.ready")).exists())
            .then_some(())
    })?;
    let cpu0 = procfs::runtime_ns(inst.pid).ok_or("supd is gone")?;
    let t0 = Instant::now();
    std::fs::write(&go, "").map_err(|e| format!("cannot write the go file: {e}"))?;
    poll(
        "every ticker to finish",
        Duration::from_secs(SECS * 20),
        Duration::from_millis(10),
        || inst.children().is_empty().then_some(()),
    )?;
    let wall = t0.elapsed().as_secs_f64();
    let cpu1 = procfs::runtime_ns(inst.pid).ok_or("supd is gone")?;
    let cpu = (cpu1 - cpu0) as f64 / 1e9 / wall * 100.0;
    let lines = (n as u64 * RATE * SECS) as f64 / wall;
    drop(inst);
    let _ = std::fs::remove_dir_all(&dir);
    Ok((cpu, lines))
}
