//! Signal storms (supd only).
//!
//! - 10,000 SIGHUP (supd: reload the config; unchanged here, so nothing may restart) and
//!   10,000 SIGUSR1 (supd: reopen the log files) sent to supd in a burst, 10 programs (one
//!   writing numbered lines to a log file). While and after: `supctl status` again and again
//!   (latency, failures), then: supd alive, every program running with the pid it had.
//! - 5,000 orphans reaped at once, supd as PID 1 (`unshare --pid --fork --mount-proc`): a
//!   program's subshell starts 5,000 `cat FIFO` and exits, so they are re-parented to supd;
//!   the harness holds the FIFO's only writer, and once every `cat` has it open, closes it:
//!   all 5,000 exit together. Measured: until no `cat` and no zombie is left, `supctl status`
//!   meanwhile.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::{Ctx, Latencies, StatusProbe, Usage, markdown_table, poll, progress};
use crate::report::{Better, Row};
use crate::system::{Instance, Options, Program, Sys};
use crate::{Res, procfs, wire};

const BURST: usize = 10_000;
const ORPHANS: usize = 5_000;

struct Storm {
    signal: &'static str,
    burst_ms: f64,
    during: Latencies,
    before: Usage,
    after: Usage,
    alive: bool,
    new_pids: usize,
}

pub fn run(ctx: &Ctx) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut table = Vec::new();
    for (name, sig) in [("SIGHUP", Signal::SIGHUP), ("SIGUSR1", Signal::SIGUSR1)] {
        match storm(ctx, name, sig) {
            Ok(s) => {
                progress(&format!(
                    "{name} storm: burst {:.0} ms, status p99 {:?} ms, {} failures",
                    s.burst_ms,
                    s.during.p(99.0),
                    s.during.failures
                ));
                rows.push(supd_row(
                    &format!("10,000 × {name} in a burst: `supctl status` p99 during/after"),
                    "ms",
                    s.during.p(99.0).ok_or("no status answered".to_string()),
                    "< 50 ms",
                    |v| v < 50.0,
                ));
                rows.push(supd_row(
                    &format!("10,000 × {name}: programs restarted by it"),
                    "",
                    Ok(s.new_pids as f64),
                    "0",
                    |v| v == 0.0,
                ));
                let [p50, p99, failed] = s.during.cells();
                table.push(vec![
                    s.signal.to_string(),
                    format!("{:.0}", s.burst_ms),
                    p50,
                    p99,
                    failed,
                    format!("{} → {}", s.before.rss_kib, s.after.rss_kib),
                    format!("{} → {}", s.before.fds, s.after.fds),
                    if s.alive { "yes" } else { "**no**" }.into(),
                    s.new_pids.to_string(),
                ]);
            }
            Err(e) => {
                progress(&format!("{name} storm: {e}"));
                rows.push(supd_row(
                    &format!("{BURST} × {name}"),
                    "",
                    Err(e),
                    "",
                    |_| true,
                ));
            }
        }
    }
    ctx.section(format!(
        "### Signal storms: 10,000 signals to supd in a burst (10 programs)\n\n{}",
        markdown_table(
            &[
                "signal",
                "burst took (ms)",
                "status p50 (ms)",
                "status p99 (ms)",
                "status failed",
                "RSS kB before → after",
                "fds before → after",
                "supd alive",
                "programs with a new pid",
            ],
            &table
        )
    ));
    match &ctx.tools.pid1 {
        Err(why) => rows.push(supd_row(
            &format!("{ORPHANS} orphans reaped as PID 1"),
            "ms",
            Err(why.clone()),
            "",
            |_| true,
        )),
        Ok(()) => match orphans(ctx) {
            Ok((reap_ms, zombies, during)) => {
                progress(&format!(
                    "{ORPHANS} orphans: reaped in {reap_ms:.0} ms, {zombies} zombies after, status {:?} ms, {} failures",
                    during.ms, during.failures
                ));
                rows.push(supd_row(
                    "5,000 orphans exit at once (supd PID 1) → all reaped",
                    "ms",
                    Ok(reap_ms),
                    "",
                    |_| true,
                ));
                rows.push(supd_row(
                    "5,000 orphans: zombies left after",
                    "",
                    Ok(zombies as f64),
                    "0",
                    |v| v == 0.0,
                ));
                rows.push(supd_row(
                    &format!(
                        "5,000 orphans: `supctl status` p99 while reaping ({} samples)",
                        during.ms.len()
                    ),
                    "ms",
                    during.p(99.0).ok_or(format!(
                        "no status answered ({} failed: {:?})",
                        during.failures, during.last_failure
                    )),
                    "< 50 ms",
                    |v| v < 50.0,
                ));
            }
            Err(e) => rows.push(supd_row(
                &format!("{ORPHANS} orphans reaped as PID 1"),
                "ms",
                Err(e),
                "",
                |_| true,
            )),
        },
    }
    rows
}

/// A row with a figure of supd only.
pub fn supd_row(
    label: &str,
    unit: &'static str,
    value: Res<f64>,
    target: &str,
    meets: impl Fn(f64) -> bool,
) -> Row {
    let mut row = Row::new("signals", label, unit, Better::Lower);
    row.supd = value;
    row.supervisord = Err("n/a".into());
    if target.is_empty() {
        row
    } else {
        row.target(target, meets)
    }
}

fn pids(socket: &std::path::Path) -> Res<Vec<(String, Option<u32>)>> {
    Ok(wire::status(socket)?
        .into_iter()
        .map(|p| (p.name, p.pid))
        .collect())
}

fn storm(ctx: &Ctx, name: &str, sig: Signal) -> Res<Storm> {
    let dir = ctx.dir(&format!("storm-{name}"));
    std::fs::create_dir_all(dir.join("state")).map_err(|e| format!("mkdir: {e}"))?;
    let seq = ctx.tools.bin("bench-seq").display().to_string();
    let state = dir.join("state").display().to_string();
    let mut programs: Vec<Program> = (0..9).map(|k| Program::sleeper(format!("s{k}"))).collect();
    programs.push(Program::new("lines", &[&seq, "100", &state]).supd("stdout = \"lines.log\""));
    let mut inst = Instance::start(&ctx.tools, Sys::Supd, &dir, &programs, Options::default())?;
    inst.settle(10, Duration::from_millis(200))?;
    let socket = dir.join("supd.sock");
    let before_pids = pids(&socket)?;
    let before = Usage::of(inst.pid);
    let probe = StatusProbe::start(&inst, Duration::ZERO);
    let t0 = Instant::now();
    let target = Pid::from_raw(inst.pid);
    for _ in 0..BURST {
        nix::sys::signal::kill(target, sig).map_err(|e| format!("kill -{name}: {e}"))?;
    }
    let burst_ms = t0.elapsed().as_secs_f64() * 1000.0;
    // Let what the burst queued play out while the probe goes on.
    std::thread::sleep(Duration::from_secs(2));
    let during = probe.finish();
    let alive = inst.try_exit().is_none();
    let after = Usage::of(inst.pid);
    let after_pids = pids(&socket).unwrap_or_default();
    let new_pids = before_pids
        .iter()
        .filter(|b| !after_pids.contains(b))
        .count();
    Ok(Storm {
        signal: if name == "SIGHUP" {
            "SIGHUP (reload)"
        } else {
            "SIGUSR1 (reopen logs)"
        },
        burst_ms,
        during,
        before,
        after,
        alive,
        new_pids,
    })
}

/// Reap time (ms), zombies left, and what `supctl status` saw meanwhile.
fn orphans(ctx: &Ctx) -> Res<(f64, usize, Latencies)> {
    let dir = ctx.dir("orphans");
    std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir: {e}"))?;
    let fifo = dir.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600))
        .map_err(|e| format!("mkfifo {}: {e}", fifo.display()))?;
    // The only writer: the cats' opens return at once, their reads end when it closes.
    let writer = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .map_err(|e| format!("cannot open the fifo: {e}"))?;
    let script = format!(
        "(i=0; while [ $i -lt {ORPHANS} ]; do cat {} & i=$((i+1)); done); exec sleep 100000",
        crate::system::shell_quote(&fifo.display().to_string())
    );
    let p = Program::new("orphans", &["sh", "-c", &script]).supd("min_uptime = \"0s\"");
    let mut inst = Instance::start(
        &ctx.tools,
        Sys::Supd,
        &dir,
        &[p],
        Options {
            pid1: true,
            ..Options::default()
        },
    )?;
    let cats = |pid: i32| -> Vec<i32> {
        procfs::children(pid)
            .into_iter()
            .filter(|(_, s)| s.comm == "cat" && s.state != 'Z')
            .map(|(p, _)| p)
            .collect()
    };
    let fifo_text = fifo.display().to_string();
    inst.wait_for(
        &format!("{ORPHANS} orphaned cats holding the fifo"),
        Duration::from_secs(120),
        |i| {
            std::thread::sleep(Duration::from_millis(200));
            let c = cats(i.pid);
            (c.len() >= ORPHANS
                && c.iter().all(|p| {
                    std::fs::read_link(format!("/proc/{p}/fd/3"))
                        .is_ok_and(|l| l.display().to_string() == fifo_text)
                }))
            .then_some(())
        },
    )?;
    let probe = StatusProbe::start(&inst, Duration::ZERO);
    let t0 = Instant::now();
    drop(writer);
    let supd = inst.pid;
    let reaped = poll(
        "every orphan reaped",
        Duration::from_secs(60),
        // Each look reads 5,000 /proc entries: not so often that it takes a CPU from supd.
        Duration::from_millis(20),
        || {
            let kids = procfs::children(supd);
            kids.iter()
                .all(|(_, s)| s.comm != "cat" && s.state != 'Z')
                .then(|| t0.elapsed().as_secs_f64() * 1000.0)
        },
    );
    let during = probe.finish();
    let reap_ms = reaped?;
    if inst.try_exit().is_some() {
        return Err(format!("supd died while reaping{}", inst.stderr_tail()));
    }
    let zombies = procfs::zombie_children(supd).len();
    Ok((reap_ms, zombies, during))
}
