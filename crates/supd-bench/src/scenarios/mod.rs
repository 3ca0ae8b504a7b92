//! The scenarios. Each one measures both systems under the same conditions and returns its
//! rows; none asserts anything (a figure that cannot be taken becomes a note in the table).
//!
//! Two ways to alternate the systems, both to cancel machine drift:
//! - **per run** ([`Ctx::repeat`]): run `i` starts a fresh supervisor for each system, in
//!   the order [`Sys::order`]`(i)` (supd first on even runs, supervisord first on odd ones);
//!   used where the figure is about a whole life (start, memory, shutdown);
//! - **per sample**: both supervisors run side by side, idle, and the samples alternate
//!   between them (`kill -9`, control commands, file changes).

mod backoff;
mod control;
mod crash;
mod idle;
mod launch;
mod logs;
mod shutdown;
mod watch;
mod zombies;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::report::{Row, Series};
use crate::setup::Tools;
use crate::system::Sys;
use crate::{Res, Stamp, procfs};

/// The scenario groups, in the order they run, with what they measure.
pub const ALL: &[(&str, &str)] = &[
    ("memory", "idle memory (PSS) with 10 and 100 programs"),
    ("launch", "start → 100 programs started"),
    ("crash", "kill -9 of a child → replacement started, p50/p95"),
    (
        "backoff",
        "a program that exits at once: delay of the next attempts",
    ),
    (
        "control",
        "status round trip; restart one program and wait until it runs",
    ),
    (
        "logs",
        "500 MB of lines through the supervisor; 20,000 lines/s one write() each",
    ),
    (
        "watch",
        "file change → new process started (supd watch vs entr + supervisorctl)",
    ),
    (
        "shutdown",
        "SIGTERM → everything gone (100 programs; one ignoring TERM); sh -c 'sleep & sleep' stopped",
    ),
    (
        "zombies",
        "zombies 0.5 s after orphans exit, supervisor as PID 1",
    ),
    (
        "idle-cpu",
        "CPU and wake-ups of an idle supervisor with 100 programs",
    ),
];

/// How much to measure.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Repetitions of whole-life scenarios.
    pub runs: usize,
    /// Samples of latency scenarios.
    pub samples: usize,
    /// Bytes of the throughput scenario.
    pub blast_bytes: u64,
    /// Seconds of the idle-CPU window.
    pub idle_secs: u64,
}

/// What every scenario gets.
pub struct Ctx {
    pub tools: Tools,
    pub plan: Plan,
    /// Scratch directory of this harness run (removed at the end).
    pub scratch: PathBuf,
    counter: std::cell::Cell<usize>,
}

impl Ctx {
    pub fn new(tools: Tools, plan: Plan, scratch: PathBuf) -> Ctx {
        Ctx {
            tools,
            plan,
            scratch,
            counter: std::cell::Cell::new(0),
        }
    }

    /// A fresh, empty directory for one supervisor's files.
    pub fn dir(&self, name: &str) -> PathBuf {
        let n = self.counter.get();
        self.counter.set(n + 1);
        self.scratch.join(format!("{n:04}-{name}"))
    }

    /// Runs `f` once per system and run, alternating the order (see the module docs), each
    /// time in a fresh directory that is removed afterwards. A system whose run fails is not
    /// run again (its error is kept). Prints progress on stderr.
    pub fn repeat<T: std::fmt::Debug>(
        &self,
        what: &str,
        runs: usize,
        mut f: impl FnMut(Sys, &Path) -> Res<T>,
    ) -> (Vec<T>, Vec<T>, [Option<String>; 2]) {
        let mut out: [Vec<T>; 2] = [Vec::new(), Vec::new()];
        let mut errors: [Option<String>; 2] = [None, None];
        for i in 0..runs {
            for sys in Sys::order(i) {
                let k = sys as usize;
                if errors[k].is_some() {
                    continue;
                }
                let dir = self.dir(&format!("{what}-{}", sys.name()));
                let result = f(sys, &dir);
                let _ = std::fs::remove_dir_all(&dir);
                match result {
                    Ok(v) => {
                        progress(&format!(
                            "{what}: run {}/{runs} {}: {v:?}",
                            i + 1,
                            sys.name()
                        ));
                        out[k].push(v);
                    }
                    Err(e) => {
                        progress(&format!("{what}: {}: {e}", sys.name()));
                        errors[k] = Some(e);
                    }
                }
            }
        }
        let [supd, sv] = out;
        (supd, sv, errors)
    }

    /// [`Ctx::repeat`] for a single figure per run.
    pub fn repeat_series(
        &self,
        what: &str,
        runs: usize,
        f: impl FnMut(Sys, &Path) -> Res<f64>,
    ) -> (Series, Series) {
        let (a, b, [ea, eb]) = self.repeat(what, runs, f);
        (series(a, ea), series(b, eb))
    }
}

/// A series from values and the error that stopped sampling, if any.
pub fn series(values: Vec<f64>, error: Option<String>) -> Series {
    Series { values, error }
}

/// Progress line on stderr.
pub fn progress(line: &str) {
    eprintln!("  {line}");
}

/// Runs one scenario group by name.
pub fn run(ctx: &Ctx, name: &str) -> Vec<Row> {
    match name {
        "memory" => idle::memory(ctx),
        "launch" => launch::run(ctx),
        "crash" => crash::run(ctx),
        "backoff" => backoff::run(ctx),
        "control" => control::run(ctx),
        "logs" => logs::run(ctx),
        "watch" => watch::run(ctx),
        "shutdown" => shutdown::run(ctx),
        "zombies" => zombies::run(ctx),
        "idle-cpu" => idle::cpu(ctx),
        _ => Vec::new(),
    }
}

/// Milliseconds between two CLOCK_MONOTONIC readings (negative when `to` is earlier).
pub fn ms(from: u64, to: u64) -> f64 {
    (to as f64 - from as f64) / 1e6
}

/// Polls `cond` every `every` until it returns `Some`, or fails with `what` after `limit`.
pub fn poll<T>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut cond: impl FnMut() -> Option<T>,
) -> Res<T> {
    let end = std::time::Instant::now() + limit;
    loop {
        if let Some(v) = cond() {
            return Ok(v);
        }
        if std::time::Instant::now() > end {
            return Err(format!("timed out after {limit:?} waiting for {what}"));
        }
        std::thread::sleep(every);
    }
}

/// Waits until the stamp file holds a stamp of a process other than `old` (any stamp when
/// `old` is `None`); returns it.
pub fn next_stamp(path: &Path, old: Option<u32>, limit: Duration) -> Res<Stamp> {
    poll(
        &format!("a new stamp in {}", path.display()),
        limit,
        Duration::from_millis(1),
        || Stamp::read(path).filter(|s| Some(s.pid) != old),
    )
}

/// Live children of `parent` whose command line is exactly `argv`.
pub fn children_running(parent: i32, argv: &[&str]) -> Vec<i32> {
    procfs::children(parent)
        .into_iter()
        .filter(|(pid, s)| s.state != 'Z' && cmdline(*pid) == argv)
        .map(|(pid, _)| pid)
        .collect()
}

/// The argv of `pid`.
pub fn cmdline(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}
