//! Nothing the benchmark starts outlives it.
//!
//! Every process the harness starts (a supervisor, `unshare`, a raw `bench-blast`) carries
//! `SUPD_BENCH_TOKEN=supd-bench-<harness pid>-<n>` in its environment, and so does every
//! process *they* start — supervisors pass their environment on — including `setsid`
//! escapees and adopted orphans. [`sweep`] finds them through `/proc/PID/environ` and
//! SIGKILLs them. It runs:
//! - when an [`crate::system::Instance`] is dropped (for its own token),
//! - on SIGINT/SIGTERM/SIGHUP to the harness (caught by a thread of its own, see
//!   [`install`]),
//! - in the panic hook (the release profile aborts on panic, so no `Drop` runs then),
//! - at the end of a run, which then checks that nothing is left.
//!
//! At start-up [`sweep_stale`] also kills what an earlier harness that was SIGKILLed left
//! behind (a token whose harness pid no longer runs).
//!
//! Supervisors get a process group of their own, so a terminal's Ctrl-C reaches only the
//! harness, which then takes everything down itself.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::procfs;

/// The environment variable that marks the benchmark's processes.
pub const TOKEN_VAR: &str = "SUPD_BENCH_TOKEN";

static COUNTER: AtomicU64 = AtomicU64::new(0);
static SCRATCH: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The prefix of every token of this harness process.
pub fn prefix() -> String {
    format!("supd-bench-{}-", std::process::id())
}

/// A fresh token for one group of processes.
pub fn new_token() -> String {
    format!("{}{}", prefix(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Records the scratch directory to delete when the harness is interrupted.
pub fn set_scratch(dir: PathBuf) {
    *SCRATCH.lock().unwrap_or_else(|e| e.into_inner()) = Some(dir);
}

/// Live processes whose token starts with `prefix`.
pub fn marked(prefix: &str) -> Vec<i32> {
    let needle = format!("{TOKEN_VAR}={prefix}");
    procfs::pids()
        .into_iter()
        .filter(|&pid| pid != std::process::id() as i32)
        .filter(|&pid| {
            procfs::environ(pid).is_some_and(|env| {
                env.split(|&b| b == 0)
                    .any(|var| var.starts_with(needle.as_bytes()))
            })
        })
        .collect()
}

/// SIGKILLs every live process whose token starts with `prefix`, until none is left (a
/// supervisor may start a new one between two scans). Returns how many it killed.
pub fn sweep(prefix: &str) -> usize {
    let mut killed = 0;
    for _ in 0..50 {
        let pids = marked(prefix);
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            if nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    killed
}

/// Kills what earlier harness runs left: tokens whose harness process is gone.
pub fn sweep_stale() -> usize {
    let needle = format!("{TOKEN_VAR}=supd-bench-");
    let mut stale = Vec::new();
    for pid in procfs::pids() {
        let Some(env) = procfs::environ(pid) else {
            continue;
        };
        for var in env.split(|&b| b == 0) {
            let Some(rest) = var.strip_prefix(needle.as_bytes()) else {
                continue;
            };
            let owner: Option<i32> = std::str::from_utf8(rest)
                .ok()
                .and_then(|r| r.split('-').next()?.parse().ok());
            if let Some(owner) = owner
                && owner != std::process::id() as i32
                && !procfs::alive(owner)
            {
                stale.push(pid);
            }
        }
    }
    for &pid in &stale {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    stale.len()
}

/// Installs the signal thread and the panic hook. Call first thing in `main`.
///
/// The signal thread runs a small tokio runtime whose handlers catch SIGINT, SIGTERM and
/// SIGHUP. Handlers (unlike a blocked signal mask, which `exec` keeps and which
/// `std::process::Command` does not clear) are reset by `exec`, so the supervisors the
/// harness starts receive these signals normally.
pub fn install() {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let caught = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()
            .and_then(|rt| rt.block_on(wait_for_signal(ready_tx)));
        if let Some(sig) = caught {
            eprintln!("\nsupd-bench: {sig} received: killing every process it started");
            cleanup();
            std::process::exit(128 + sig as i32);
        }
    });
    if ready_rx.recv().is_err() {
        eprintln!("supd-bench: cannot catch SIGINT/SIGTERM: Ctrl-C may leave processes behind");
    }
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        cleanup();
        default(info);
    }));
}

async fn wait_for_signal(ready: std::sync::mpsc::Sender<()>) -> Option<Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).ok()?;
    let mut term = signal(SignalKind::terminate()).ok()?;
    let mut hup = signal(SignalKind::hangup()).ok()?;
    let _ = ready.send(());
    tokio::select! {
        _ = int.recv() => Some(Signal::SIGINT),
        _ = term.recv() => Some(Signal::SIGTERM),
        _ = hup.recv() => Some(Signal::SIGHUP),
    }
}

/// Kills everything of this harness and removes its scratch directory.
pub fn cleanup() {
    sweep(&prefix());
    if let Some(dir) = SCRATCH.lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = std::fs::remove_dir_all(dir);
    }
}
