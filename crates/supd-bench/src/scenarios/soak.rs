//! Soak and chaos (supd only, opt-in: `--only soak`, `--duration SECS`, default 600).
//!
//! 50 programs `bench-seq 250 STATE` (250 numbered lines a second, see that helper) write their stdout to
//! log files of supd's (`log_max_size = "256KB"`, so they rotate; `log_backups` high enough
//! that nothing is deleted); the log of `p49` is on a 20 MB tmpfs of its own. For the
//! duration, a chaos driver (one thread, a tick every 50 ms) asks `status` over the socket,
//! `kill -9`s a random running program, and one tick in ten sends a random command
//! (`restart`, `stop` then `start` 1 s later, `logs`); every 10 s it reloads the config
//! (adding or removing a program `extra`) and samples supd's RSS, fds and zombie children.
//! Once, at a third of the duration, it fills the tmpfs with a file of its own, holds it full
//! for 10 s, frees it and waits for supd to write `p49`'s log again.
//!
//! Sample rule for zombies: samples are taken 50 ms after the last kill; a zombie child seen
//! then is looked at again 100 ms later and counts as *lingering* if it is still there.
//!
//! Line rule (sound because a line is one `write()` below `PIPE_BUF` and supd drains a dead
//! program's pipe): per run (RUN of the line), the log holds seqs 0, 1, 2 ... in file order,
//! each once; the run's state file says its last seq S (written after the line), so the log
//! must reach S (S+1 may be there too: killed between the two writes). A seq above the next
//! expected one is a gap (lost lines), below it a duplicate / out of order; a run reaching
//! less than S lost its tail. Runs must be contiguous (no line of a run after a later run's)
//! and in start order. Lines of `p49` lost while its disk was full are counted apart.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use supd_proto::Request;

use super::{Ctx, Dice, Usage, markdown_table, progress};
use crate::report::{Better, Row, Series};
use crate::system::{Instance, Options, Program, Sys, supd_config};
use crate::wire;
use crate::{Res, procfs};

const PROGRAMS: usize = 50;
/// Lines a second per program: enough that every program's output buffer in supd (about
/// 6,000 short lines) is full well within the first minute, so the 1-minute sample the end
/// is compared with is supd's steady state, not a buffer still filling.
const RATE: &str = "250";
const DISK_PROGRAM: &str = "p49";
const TICK: Duration = Duration::from_millis(50);
const SAMPLE_EVERY: Duration = Duration::from_secs(10);

pub fn run(ctx: &Ctx) -> Vec<Row> {
    match soak(ctx) {
        Ok(rows) => rows,
        Err(e) => {
            progress(&format!("soak: {e}"));
            vec![failed_row(&e)]
        }
    }
}

fn failed_row(why: &str) -> Row {
    let mut row = Row::new("soak", "soak", "", Better::Lower);
    row.supd = Err(why.to_string());
    row.supervisord = Err("n/a".into());
    row
}

/// The tmpfs of the disk program, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path) -> Res<Tmpfs> {
        std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=20m", "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err(format!(
                "cannot mount a 20 MB tmpfs on {} (needs root)",
                dir.display()
            ));
        }
        Ok(Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

struct Sample {
    at_s: u64,
    usage: Usage,
    restarts: u64,
    zombies: usize,
    lingering: usize,
}

#[derive(Default)]
struct Chaos {
    kills: u64,
    /// Kills whose program has been seen with another pid since.
    answered: u64,
    /// (program, killed pid).
    pending: Vec<(String, u32)>,
    commands: u64,
    command_errors: u64,
    last_error: Option<String>,
    reloads: u64,
    reload_errors: u64,
    /// Programs reloads said they changed (restarted): none, the config changes only `extra`.
    reload_changed: usize,
    samples: Vec<Sample>,
    disk: String,
}

fn programs(ctx: &Ctx, dir: &Path, extra: bool) -> Vec<Program> {
    let seq = ctx.tools.bin("bench-seq").display().to_string();
    let state = dir.join("state").display().to_string();
    let mut list: Vec<Program> = (0..PROGRAMS)
        .map(|k| {
            let name = format!("p{k:02}");
            let log = if name == DISK_PROGRAM {
                format!("disk/{name}.log")
            } else {
                format!("logs/{name}.log")
            };
            Program::new(&name, &[&seq, RATE, &state])
                .supd(&format!("stdout = \"{log}\""))
                .supd("min_uptime = \"0s\"")
                .supd("log_max_size = \"256KB\"")
                .supd("log_backups = 100")
        })
        .collect();
    if extra {
        list.push(Program::sleeper("extra"));
    }
    list
}

fn soak(ctx: &Ctx) -> Res<Vec<Row>> {
    let dir = ctx.dir("soak");
    for sub in ["logs", "state"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| format!("mkdir {sub}: {e}"))?;
    }
    let tmpfs = Tmpfs::mount(&dir.join("disk"))?;
    let mut inst = Instance::start(
        &ctx.tools,
        Sys::Supd,
        &dir,
        &programs(ctx, &dir, false),
        Options::default(),
    )?;
    let socket = dir.join("supd.sock");
    inst.wait_for("supd's socket", Duration::from_secs(20), |_| {
        wire::status(&socket).ok()
    })?;
    let duration = Duration::from_secs(ctx.plan.soak_secs);
    progress(&format!(
        "soak: {PROGRAMS} programs, {} s of chaos",
        duration.as_secs()
    ));
    let chaos = drive(ctx, &mut inst, &dir, duration)?;
    // Settle: every program running again, every kill answered.
    let settled = super::poll(
        "every program running and every kill answered",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || {
            let st = wire::status(&socket).ok()?;
            let running = st
                .iter()
                .filter(|p| p.state == supd_proto::ProgramState::Running)
                .count();
            let unanswered = chaos
                .pending
                .iter()
                .filter(|(n, pid)| st.iter().any(|p| &p.name == n && p.pid == Some(*pid)))
                .count();
            (running >= PROGRAMS && unanswered == 0).then_some(())
        },
    );
    let unanswered = wire::status(&socket).map_or(chaos.pending.len(), |st| {
        chaos
            .pending
            .iter()
            .filter(|(n, pid)| st.iter().any(|p| &p.name == n && p.pid == Some(*pid)))
            .count()
    }) as u64;
    let end = Usage::of(inst.pid);
    let alive = procfs::alive(inst.pid);
    inst.signal(Signal::SIGTERM)?;
    let exited = inst.wait_exit()?;
    let lines = check_lines(&dir);
    drop(tmpfs);
    Ok(report(
        ctx,
        &chaos,
        end,
        alive,
        (unanswered, settled.err()),
        exited,
        &lines,
    ))
}

fn drive(ctx: &Ctx, inst: &mut Instance, dir: &Path, duration: Duration) -> Res<Chaos> {
    let socket = dir.join("supd.sock");
    let mut dice = Dice::new();
    let mut chaos = Chaos::default();
    let mut stopped: HashMap<String, Instant> = HashMap::new();
    let start = Instant::now();
    let mut next_sample = start + SAMPLE_EVERY;
    let mut next_tick = start;
    let mut extra = false;
    let disk_at = start + duration / 3;
    let mut disk_done = false;
    while start.elapsed() < duration {
        if let Some(rest) = next_tick.checked_duration_since(Instant::now()) {
            std::thread::sleep(rest);
        }
        next_tick += TICK;
        if inst.try_exit().is_some() {
            return Err(format!("supd died during the soak{}", inst.stderr_tail()));
        }
        if Instant::now() >= next_sample {
            next_sample += SAMPLE_EVERY;
            let sample = take_sample(inst.pid, start, &socket);
            progress(&format!(
                "soak {:>4} s: RSS {} kB, {} fds, {} restarts, {} zombies",
                sample.at_s,
                sample.usage.rss_kib,
                sample.usage.fds,
                sample.restarts,
                sample.zombies
            ));
            chaos.samples.push(sample);
            extra = !extra;
            std::fs::write(&inst.conf, supd_config(dir, &programs(ctx, dir, extra)))
                .map_err(|e| format!("cannot rewrite the config: {e}"))?;
            chaos.reloads += 1;
            let answer = wire::ask(&socket, Request::Reload).map(|(_, a)| a);
            if let Ok(supd_proto::ServerMessage::Reply {
                reply: supd_proto::Reply::Reloaded { changed, .. },
                ..
            }) = &answer
            {
                chaos.reload_changed += changed.len();
            }
            if !matches!(answer, Ok(supd_proto::ServerMessage::Reply { .. })) {
                chaos.reload_errors += 1;
                chaos.last_error = Some(format!("reload: {answer:?}"));
            }
        }
        if !disk_done && Instant::now() >= disk_at {
            disk_done = true;
            chaos.disk = fill_disk(inst, dir);
            progress(&format!("soak: full log disk: {}", chaos.disk));
        }
        let status = match wire::status(&socket) {
            Ok(s) => s,
            Err(e) => {
                chaos.command_errors += 1;
                chaos.last_error = Some(format!("status: {e}"));
                continue;
            }
        };
        chaos.pending.retain(|(name, pid)| {
            let moved_on = status
                .iter()
                .any(|p| &p.name == name && p.pid.is_some_and(|now| now != *pid));
            if moved_on {
                chaos.answered += 1;
            }
            !moved_on
        });
        let targets: Vec<_> = status
            .iter()
            .filter(|p| p.state == supd_proto::ProgramState::Running && p.name != "extra")
            .filter(|p| !stopped.contains_key(&p.name))
            .filter(|p| !chaos.pending.iter().any(|(n, _)| n == &p.name))
            .filter_map(|p| Some((p.name.clone(), p.pid?)))
            .collect();
        if !targets.is_empty() {
            let (name, pid) = targets[dice.below(targets.len())].clone();
            if nix::sys::signal::kill(Pid::from_raw(pid as i32), Signal::SIGKILL).is_ok() {
                chaos.kills += 1;
                chaos.pending.push((name, pid));
            }
        }
        // Programs the driver stopped a second ago come back.
        let due: Vec<String> = stopped
            .iter()
            .filter(|(_, at)| at.elapsed() >= Duration::from_secs(1))
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            stopped.remove(&name);
            command(&socket, &mut chaos, Request::Start { names: vec![name] });
        }
        if dice.below(10) == 0 && !targets.is_empty() {
            let (name, _) = targets[dice.below(targets.len())].clone();
            let request = match dice.below(3) {
                0 => Request::Restart {
                    names: vec![name.clone()],
                },
                1 => {
                    stopped.insert(name.clone(), Instant::now());
                    Request::Stop {
                        names: vec![name.clone()],
                    }
                }
                _ => Request::Logs {
                    names: vec![name.clone()],
                    lines: Some(20),
                    follow: false,
                    since_ms: None,
                    stream: None,
                },
            };
            command(&socket, &mut chaos, request);
        }
    }
    for name in stopped.into_keys() {
        command(&socket, &mut chaos, Request::Start { names: vec![name] });
    }
    chaos.samples.push(take_sample(inst.pid, start, &socket));
    Ok(chaos)
}

/// Sends one command and reads its whole answer (a `logs` stream up to its end).
fn command(socket: &Path, chaos: &mut Chaos, request: Request) {
    use supd_proto::ServerMessage as M;
    chaos.commands += 1;
    let answer = wire::ask(socket, request).and_then(|(mut conn, mut answer)| {
        while matches!(answer, M::Log { .. }) {
            answer = conn.next()?;
        }
        Ok(answer)
    });
    if !matches!(answer, Ok(M::Reply { .. } | M::End { .. })) {
        chaos.command_errors += 1;
        chaos.last_error = Some(format!("{answer:?}"));
    }
}

fn take_sample(pid: i32, start: Instant, socket: &Path) -> Sample {
    let zombies = procfs::zombie_children(pid);
    let lingering = if zombies.is_empty() {
        0
    } else {
        std::thread::sleep(Duration::from_millis(100));
        let again = procfs::zombie_children(pid);
        zombies.iter().filter(|z| again.contains(z)).count()
    };
    let restarts = wire::status(socket)
        .map(|st| st.iter().map(|p| p.restarts as u64).sum())
        .unwrap_or(0);
    Sample {
        at_s: start.elapsed().as_secs_f64().round() as u64,
        usage: Usage::of(pid),
        restarts,
        zombies: zombies.len(),
        lingering,
    }
}

/// Bytes of every file in `dir` (the other programs' logs).
fn bytes_in(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Fills the tmpfs, holds it full 10 s, frees it; says what supd did.
fn fill_disk(inst: &mut Instance, dir: &Path) -> String {
    use std::io::Write;
    let disk = dir.join("disk");
    let log = disk.join(format!("{DISK_PROGRAM}.log"));
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let filler_path = disk.join("filler");
    let mut filler = match std::fs::File::create(&filler_path) {
        Ok(f) => f,
        Err(e) => return format!("cannot create the filler: {e}"),
    };
    let block = vec![0u8; 64 * 1024];
    while filler.write_all(&block).is_ok() {}
    while filler.write_all(&block[..512]).is_ok() {}
    drop(filler);
    let others_before = bytes_in(&dir.join("logs"));
    let log_full = size(&log);
    std::thread::sleep(Duration::from_secs(10));
    let others_grew = bytes_in(&dir.join("logs")) - others_before;
    let alive = inst.try_exit().is_none();
    let _ = std::fs::remove_file(&filler_path);
    let freed = Instant::now();
    let log_at_free = size(&log);
    let resumed = super::poll(
        "supd to write the log again",
        Duration::from_secs(20),
        Duration::from_millis(5),
        || (size(&log) > log_at_free).then_some(()),
    );
    let stderr = std::fs::read_to_string(inst.dir.join("supervisor.stderr")).unwrap_or_default();
    let reports = stderr
        .lines()
        .filter(|l| l.contains("No space") || l.contains("full"))
        .count();
    format!(
        "held full 10 s: supd {}, other logs grew {} kB meanwhile, {DISK_PROGRAM}.log grew {} B while full; \
         after freeing: {}; supd's stderr mentions the full disk on {reports} line(s)",
        if alive { "alive" } else { "DEAD" },
        others_grew / 1024,
        log_at_free.saturating_sub(log_full),
        match resumed {
            Ok(()) => format!(
                "writing again after {:.0} ms",
                freed.elapsed().as_secs_f64() * 1000.0
            ),
            Err(e) => e,
        }
    )
}

#[derive(Default, Clone)]
struct LineVerdict {
    runs: usize,
    lines: u64,
    lost: u64,
    tail_lost: u64,
    duplicated: u64,
    interleaved: u64,
    malformed: u64,
    /// The first finding, for the report.
    example: Option<String>,
}

/// The log files of `name`, oldest first (`name.log.N` ... `name.log.1`, `name.log`).
fn log_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut rotated: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let f = e.file_name().to_string_lossy().into_owned();
                    let n = f.strip_prefix(&format!("{name}.log."))?.parse().ok()?;
                    Some((n, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    rotated.sort_by_key(|r| std::cmp::Reverse(r.0));
    let mut files: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    files.push(dir.join(format!("{name}.log")));
    files
}

/// Checks every program's lines against the rule of the module docs.
fn check_lines(dir: &Path) -> BTreeMap<String, LineVerdict> {
    let mut out = BTreeMap::new();
    for k in 0..PROGRAMS {
        let name = format!("p{k:02}");
        let logs = if name == DISK_PROGRAM { "disk" } else { "logs" };
        let mut v = LineVerdict::default();
        // run -> next expected seq, in order of first appearance.
        let mut next: HashMap<String, u64> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        for file in log_files(&dir.join(logs), &name) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for line in text.lines() {
                let mut it = line.split(' ');
                let (Some(run), Some(Ok(seq)), None) =
                    (it.next(), it.next().map(str::parse::<u64>), it.next())
                else {
                    v.malformed += 1;
                    continue;
                };
                v.lines += 1;
                if order.last().map(String::as_str) != Some(run) {
                    if next.contains_key(run) {
                        v.interleaved += 1;
                        v.example.get_or_insert_with(|| {
                            format!("{}: {line:?} after a line of another run", file.display())
                        });
                    } else {
                        let start =
                            |r: &str| r.split('-').next().and_then(|n| n.parse::<u64>().ok());
                        if order.last().is_some_and(|last| start(last) > start(run)) {
                            v.interleaved += 1;
                        }
                        order.push(run.to_string());
                    }
                }
                let expected = next.entry(run.to_string()).or_insert(0);
                if seq > *expected {
                    v.example.get_or_insert_with(|| {
                        format!("{}: {line:?} where seq {expected} was due", file.display())
                    });
                }
                if seq >= *expected {
                    v.lost += seq - *expected;
                    *expected = seq + 1;
                } else {
                    v.duplicated += 1;
                    v.example.get_or_insert_with(|| {
                        format!("{}: {line:?} again or late", file.display())
                    });
                }
            }
        }
        for (run, expected) in &next {
            let last = std::fs::read_to_string(dir.join("state").join(run))
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok());
            if let Some(last) = last
                && *expected < last + 1
            {
                v.tail_lost += last + 1 - expected;
            }
        }
        v.runs = next.len();
        out.insert(name, v);
    }
    out
}

fn report(
    ctx: &Ctx,
    chaos: &Chaos,
    end: Usage,
    alive: bool,
    (unanswered, settle_error): (u64, Option<String>),
    exited: std::process::ExitStatus,
    lines: &BTreeMap<String, LineVerdict>,
) -> Vec<Row> {
    let rows: Vec<Vec<String>> = chaos
        .samples
        .iter()
        .map(|s| {
            vec![
                s.at_s.to_string(),
                s.usage.rss_kib.to_string(),
                s.usage.fds.to_string(),
                s.restarts.to_string(),
                format!("{} ({} lingering)", s.zombies, s.lingering),
            ]
        })
        .collect();
    let first_minute = chaos
        .samples
        .iter()
        .find(|s| s.at_s >= 60)
        .or(chaos.samples.first())
        .map(|s| s.usage)
        .unwrap_or_default();
    let pct = |a: f64, b: f64| if b > 0.0 { (a - b) / b * 100.0 } else { 0.0 };
    let rss_pct = pct(end.rss_kib as f64, first_minute.rss_kib as f64);
    let fd_pct = pct(end.fds as f64, first_minute.fds as f64);
    let sum = |f: fn(&LineVerdict) -> u64, disk: bool| -> u64 {
        lines
            .iter()
            .filter(|(n, _)| (n.as_str() == DISK_PROGRAM) == disk)
            .map(|(_, v)| f(v))
            .sum()
    };
    let mut per_program: Vec<Vec<String>> = lines
        .iter()
        .filter(|(n, v)| {
            n.as_str() == DISK_PROGRAM
                || v.lost + v.tail_lost + v.duplicated + v.interleaved + v.malformed > 0
        })
        .map(|(n, v)| {
            vec![
                n.clone(),
                v.runs.to_string(),
                v.lines.to_string(),
                v.lost.to_string(),
                v.tail_lost.to_string(),
                v.duplicated.to_string(),
                v.interleaved.to_string(),
                v.malformed.to_string(),
            ]
        })
        .collect();
    let all = |f: fn(&LineVerdict) -> u64| lines.values().map(f).sum::<u64>();
    per_program.push(vec![
        "all 50".into(),
        lines.values().map(|v| v.runs).sum::<usize>().to_string(),
        all(|v| v.lines).to_string(),
        all(|v| v.lost).to_string(),
        all(|v| v.tail_lost).to_string(),
        all(|v| v.duplicated).to_string(),
        all(|v| v.interleaved).to_string(),
        all(|v| v.malformed).to_string(),
    ]);
    let mut examples = String::new();
    for (name, v) in lines {
        if let Some(e) = &v.example {
            examples.push_str(&format!("- first finding of {name}: {e}\n"));
        }
    }
    let zombies_seen: usize = chaos.samples.iter().map(|s| s.zombies).sum();
    let lingering: usize = chaos.samples.iter().map(|s| s.lingering).sum();
    ctx.section(format!(
        "### Soak: supd every 10 s ({} s of chaos, {PROGRAMS} programs)\n\n{}\n\
         Verdicts:\n\n\
         - kill -9: {} sent, {} followed by a new process of the program{}\n\
         - zombies at samples: {zombies_seen} seen, {lingering} still there 100 ms later\n\
         - supd at the end: RSS {} kB ({rss_pct:+.1} % vs {} kB at 1 min), {} fds ({fd_pct:+.1} % vs {} at 1 min), {}; exit after SIGTERM: {exited}\n\
         - commands: {} sent, {} not answered as expected; reloads: {}, {} failed, {} programs reported changed{}\n\
         - full log disk: {}\n\n\
         Lines per program (programs with a finding, the disk program, and the sum):\n\n{}\n{examples}",
        ctx.plan.soak_secs,
        markdown_table(&["t (s)", "RSS (kB)", "fds", "restarts so far", "zombies"], &rows),
        chaos.kills,
        chaos.kills - unanswered,
        match &settle_error {
            Some(e) => format!(" ({e})"),
            None => String::new(),
        },
        end.rss_kib,
        first_minute.rss_kib,
        end.fds,
        first_minute.fds,
        if alive { "alive" } else { "DEAD" },
        chaos.commands,
        chaos.command_errors,
        chaos.reloads,
        chaos.reload_errors,
        chaos.reload_changed,
        match &chaos.last_error {
            Some(e) => format!(" (last: {e})"),
            None => String::new(),
        },
        chaos.disk,
        markdown_table(
            &["program", "runs", "lines", "lost (gaps)", "lost (tails)", "duplicated / out of order", "runs interleaved", "malformed"],
            &per_program
        ),
    ));
    let row = |label: &str, unit: &'static str, v: f64| {
        let mut r = Row::new("soak", label, unit, Better::Lower);
        let s = Series {
            values: vec![v],
            error: None,
        };
        r = r.medians(&s, &Series::failed("n/a"));
        r.supervisord = Err("n/a".into());
        r
    };
    vec![
        row(
            "soak: kills not followed by a restart",
            "",
            unanswered as f64,
        )
        .target("0", |v| v == 0.0),
        row("soak: zombies lingering at samples", "", lingering as f64).target("0", |v| v == 0.0),
        row("soak: supd RSS at the end vs 1 min", "%", rss_pct).target("≤ 10 %", |v| v <= 10.0),
        row("soak: supd fds at the end vs 1 min", "%", fd_pct).target("≤ 10 %", |v| v <= 10.0),
        row(
            "soak: lines lost or duplicated (49 programs on a healthy disk)",
            "",
            (sum(
                |v| v.lost + v.tail_lost + v.duplicated + v.interleaved + v.malformed,
                false,
            )) as f64,
        )
        .target("0", |v| v == 0.0),
        row(
            "soak: lines lost by the program whose disk filled",
            "",
            (sum(|v| v.lost + v.tail_lost, true)) as f64,
        ),
    ]
}
