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
mod dropin;
mod hostile;
mod idle;
mod launch;
mod logs;
mod scale;
mod shutdown;
mod signals;
mod soak;
mod sockets;
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
        "supervisorctl",
        "`supervisorctl status` of 100 programs: supervisord's own client against both",
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
        "sockets",
        "failed requests during 20 restarts under load: supd with and without `sockets`, supervisord",
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
    (
        "scale",
        "10 / 100 / 1,000 programs: start, idle PSS, status --json, SIGTERM; 10,000 lines/s each: CPU",
    ),
    (
        "signals",
        "10,000 SIGHUP / SIGUSR1 in a burst; 5,000 orphans reaped at once as PID 1",
    ),
    (
        "hostile",
        "status latency, fds and RSS under hostile clients of the control socket",
    ),
    (
        "soak",
        "chaos for --duration (default 600 s): kill -9, supctl, reloads, a full log disk (only with --only soak)",
    ),
];

/// Groups that run only when `--only` names them (they take minutes).
pub const OPT_IN: &[&str] = &["soak"];

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
    /// Seconds of chaos in the soak.
    pub soak_secs: u64,
}

/// What every scenario gets.
pub struct Ctx {
    pub tools: Tools,
    pub plan: Plan,
    /// Scratch directory of this harness run (removed at the end).
    pub scratch: PathBuf,
    counter: std::cell::Cell<usize>,
    sections: std::cell::RefCell<Vec<String>>,
}

impl Ctx {
    pub fn new(tools: Tools, plan: Plan, scratch: PathBuf) -> Ctx {
        Ctx {
            tools,
            plan,
            scratch,
            counter: std::cell::Cell::new(0),
            sections: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// Adds a Markdown section (a heading and a table, say) printed after the main table.
    pub fn section(&self, markdown: String) {
        self.sections.borrow_mut().push(markdown);
    }

    /// The sections added so far, in order.
    pub fn sections(&self) -> Vec<String> {
        self.sections.borrow().clone()
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
        "supervisorctl" => dropin::run(ctx),
        "logs" => logs::run(ctx),
        "watch" => watch::run(ctx),
        "sockets" => sockets::run(ctx),
        "shutdown" => shutdown::run(ctx),
        "zombies" => zombies::run(ctx),
        "idle-cpu" => idle::cpu(ctx),
        "scale" => scale::run(ctx),
        "signals" => signals::run(ctx),
        "hostile" => hostile::run(ctx),
        "soak" => soak::run(ctx),
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

/// supd's resident memory and open descriptors at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub rss_kib: u64,
    pub fds: usize,
}

impl Usage {
    /// Of `pid` now; zeros once it is gone.
    pub fn of(pid: i32) -> Usage {
        Usage {
            rss_kib: procfs::rss_kib(pid).unwrap_or(0),
            fds: procfs::fd_count(pid).unwrap_or(0),
        }
    }
}

/// `supctl status` run again and again from a thread of its own (a whole client process
/// each time, as a user sees it), until [`StatusProbe::finish`].
pub struct StatusProbe {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Latencies>,
}

/// What a [`StatusProbe`] saw.
#[derive(Clone, Debug, Default)]
pub struct Latencies {
    /// Wall time of each successful `supctl status`, in ms.
    pub ms: Vec<f64>,
    /// Failed runs, and the last failure.
    pub failures: usize,
    pub last_failure: Option<String>,
}

impl Latencies {
    pub fn p(&self, p: f64) -> Option<f64> {
        crate::stats::percentile(&self.ms, p)
    }

    /// The three table cells of a probe: p50, p99 (ms) and "failed of all".
    pub fn cells(&self) -> [String; 3] {
        let p = |q| self.p(q).map_or("–".into(), crate::report::number);
        [
            p(50.0),
            p(99.0),
            format!("{} of {}", self.failures, self.failures + self.ms.len()),
        ]
    }
}

impl StatusProbe {
    /// Starts probing `inst`, one `supctl status` every `every` (back to back when zero).
    pub fn start(inst: &crate::system::Instance, every: Duration) -> StatusProbe {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let (client, conf, token) = (inst.client.clone(), inst.conf.clone(), inst.token.clone());
        let thread = std::thread::spawn(move || {
            let mut seen = Latencies::default();
            while !flag.load(Ordering::Relaxed) {
                let start = std::time::Instant::now();
                let out = std::process::Command::new(&client)
                    .arg("-c")
                    .arg(&conf)
                    .arg("status")
                    .env(crate::guard::TOKEN_VAR, &token)
                    .env_remove("SUPD_SOCKET")
                    .env_remove("SUPD_CONFIG")
                    .stdin(std::process::Stdio::null())
                    .output();
                let took = start.elapsed().as_secs_f64() * 1000.0;
                match out {
                    Ok(o) if o.status.success() => seen.ms.push(took),
                    Ok(o) => {
                        seen.failures += 1;
                        seen.last_failure =
                            Some(String::from_utf8_lossy(&o.stderr).trim().to_string());
                    }
                    Err(e) => {
                        seen.failures += 1;
                        seen.last_failure = Some(format!("cannot run supctl: {e}"));
                    }
                }
                std::thread::sleep(every);
            }
            seen
        });
        StatusProbe { stop, thread }
    }

    /// Stops probing and returns what it saw.
    pub fn finish(self) -> Latencies {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// A small deterministic random source (xorshift64*), seeded from the clock; good enough to
/// pick programs and commands.
pub struct Dice(u64);

impl Dice {
    pub fn new() -> Dice {
        Dice(crate::mono_ns() | 1)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }
}

/// A Markdown table from a header and rows of cells.
pub fn markdown_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n|", header.join(" | "));
    for _ in header {
        out.push_str("---|");
    }
    out.push('\n');
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}
