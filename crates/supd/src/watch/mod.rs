//! File watching: `[program.NAME.watch]` turned into `Event::FilesChanged` on the event
//! queue. What a change does (restart, revive from backoff/fatal, send a signal) is the
//! core's policy; this module only says *that* files changed, and which.
//!
//! # Theory of operation
//!
//! Per watched program, one pipeline, owned by a [`ProgramWatch`]:
//!
//! ```text
//!  inotify (notify's thread) ─┐
//!                             ├─► watch thread ──► debounce task ──► event queue
//!  poll timer (same thread) ──┘   (engine.rs)      (debounce.rs,      (FilesChanged)
//!                                  match, follow    on the event loop)
//!                                  new dirs, poll)
//! ```
//!
//! - [`engine`]: resolves the roots, decides inotify or polling per root ([`fstype`] for
//!   `poll = "auto"`), walks the trees once at start, then runs the thread that filters raw
//!   events through the [`matcher`] and follows directories created later.
//! - [`debounce`]: trailing edge; one event per burst, each path once, first-seen order.
//!
//! Guarantees:
//! - When [`start`] returns, every watch is in place: a change made after that is seen.
//! - Idle costs nothing: the thread blocks on its channel and the task on its own; no timer
//!   runs unless a burst is being collected, or a root is polled (polling costs CPU by
//!   design, and only where configured or detected).
//! - Dropping a [`ProgramWatch`] (or [`Watchers`]) stops its watching: the thread ends and
//!   drops its inotify watcher, the task is aborted, a burst in progress is discarded.
//! - supd's own log files (any program's `stdout`/`stderr` file, and rotated copies) never
//!   count, so a program logging into its own tree does not restart itself forever.
//!
//! What is fatal at start ([`start`] returns the sentence, supd exits 2): a watched path
//! that does not exist or cannot be read, and an invalid glob (both are also reported by
//! `supd check`, see [`check`]); failing to start a thread. Everything else is a warning
//! and supd keeps going: an unreadable subdirectory (not watched), the inotify watch limit
//! (`fs.inotify.max_user_watches`) reached at start (that program polls every second
//! instead) or later (the new directory is not watched), inotify unavailable (polls), a
//! `.gitignore` with bad lines (the rest of it applies), a watched directory removed.

mod debounce;
mod engine;
mod fstype;
mod matcher;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use supd_config::{OutputTarget, ProgramSpec, WatchSpec};
use supd_core::ProgId;
use tokio::sync::mpsc::UnboundedSender;

use crate::event::Event;
use engine::{Engine, Msg};

/// One relevant change, as the watch thread hands it to the debounce task.
pub struct Change {
    /// Absolute: what makes two changes the same.
    pub path: PathBuf,
    /// For the operator: relative to the watched root (`app/views.py`).
    pub shown: String,
}

/// The watch of one program; dropping it stops watching.
pub struct ProgramWatch {
    stop: std::sync::mpsc::Sender<Msg>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ProgramWatch {
    fn drop(&mut self) {
        let _ = self.stop.send(Msg::Stop);
        self.task.abort();
    }
}

/// Every program's watch, by program. Dropping it stops all watching.
pub struct Watchers {
    events: UnboundedSender<Event>,
    /// supd's log files (absolute), ignored by every watch.
    log_files: Vec<PathBuf>,
    active: BTreeMap<ProgId, ProgramWatch>,
}

/// Starts watching for every program of `programs` that has a `watch` section. Must run
/// on the event loop's `LocalSet`. The error is one sentence; supd then refuses to start.
pub fn start(
    programs: &[(ProgId, &ProgramSpec)],
    events: UnboundedSender<Event>,
) -> Result<Watchers, String> {
    let mut watchers = Watchers {
        events,
        log_files: log_files(programs.iter().map(|(_, p)| *p)),
        active: BTreeMap::new(),
    };
    for (prog, spec) in programs {
        watchers.set(*prog, spec)?;
    }
    Ok(watchers)
}

impl Watchers {
    /// Starts, replaces or (when `spec` has no `watch`) stops the watch of `prog`: for a
    /// config reload. On error the program's previous watch is already stopped.
    pub fn set(&mut self, prog: ProgId, spec: &ProgramSpec) -> Result<(), String> {
        self.active.remove(&prog);
        let Some(watch) = &spec.watch else {
            return Ok(());
        };
        let handle = watch_program(prog, &spec.name, watch, &self.log_files, &self.events)?;
        self.active.insert(prog, handle);
        Ok(())
    }

    /// Stops watching for `prog` (a program removed by a reload).
    pub fn stop(&mut self, prog: ProgId) {
        self.active.remove(&prog);
    }
}

fn watch_program(
    prog: ProgId,
    name: &str,
    spec: &WatchSpec,
    log_files: &[PathBuf],
    events: &UnboundedSender<Event>,
) -> Result<ProgramWatch, String> {
    let (changes_tx, changes_rx) = tokio::sync::mpsc::unbounded_channel();
    let (tx, rx) = std::sync::mpsc::channel();
    let engine = Engine::setup(name, spec, log_files.to_vec(), changes_tx, &tx)?;
    std::thread::Builder::new()
        .name("supd-watch".into())
        .spawn(move || engine.run(rx))
        .map_err(|e| format!("{name}: cannot start the file watching thread: {e}"))?;
    let task = tokio::task::spawn_local(debounce::run(
        prog,
        spec.debounce,
        changes_rx,
        events.clone(),
    ));
    Ok(ProgramWatch { stop: tx, task })
}

/// Every program's `stdout`/`stderr` file, absolute, with its directory resolved like
/// the watch roots are (so symbolic links in the path do not hide it).
fn log_files<'a>(programs: impl Iterator<Item = &'a ProgramSpec>) -> Vec<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let mut out = Vec::new();
    for p in programs {
        for target in [&p.stdout, &p.stderr] {
            let OutputTarget::File(file) = target else {
                continue;
            };
            let file = cwd.join(file);
            let resolved = match (file.parent(), file.file_name()) {
                (Some(dir), Some(name)) => std::fs::canonicalize(dir)
                    .map(|d| d.join(name))
                    .unwrap_or_else(|_| file.clone()),
                _ => file.clone(),
            };
            if !out.contains(&resolved) {
                out.push(resolved);
            }
        }
    }
    out
}

/// Problems `supd check` reports for a `watch` section, as `(key under program.NAME,
/// sentence)`: watched paths that do not exist or cannot be read, and invalid globs.
pub fn check(spec: &WatchSpec) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    for path in &spec.paths {
        if let Some(problem) = path_problem(path) {
            problems.push(("watch.paths", problem));
        }
    }
    for (key, problem) in matcher::check_globs(&spec.include, &spec.exclude) {
        let key = if key == "include" {
            "watch.include"
        } else {
            "watch.exclude"
        };
        problems.push((key, problem));
    }
    problems
}

/// The `include` globs of `spec` (by index) that match no file under its watched
/// directories right now, for the warnings of `supd check`. Files are walked as the watch
/// sees them (built-in ignores, `exclude`, `.gitignore` files); after [`WALK_LIMIT`]
/// entries the walk gives up and reports nothing.
pub fn unmatched_includes(spec: &WatchSpec) -> Vec<usize> {
    if spec.include.is_empty() || spec.paths.iter().any(|p| !p.is_dir()) {
        return Vec::new(); // a watched file is watched whatever the globs say
    }
    let Ok(mut base) = matcher::Matcher::new(&[], &spec.exclude, Vec::new()) else {
        return Vec::new();
    };
    let mut pending: Vec<(usize, matcher::Matcher)> = spec
        .include
        .iter()
        .enumerate()
        .filter_map(|(i, glob)| {
            let m = matcher::Matcher::new(std::slice::from_ref(glob), &[], Vec::new()).ok()?;
            Some((i, m))
        })
        .collect();
    let mut budget = WALK_LIMIT;
    for root in &spec.paths {
        let Ok(root) = std::fs::canonicalize(root) else {
            continue;
        };
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            if pending.is_empty() {
                return Vec::new();
            }
            let _ = base.refresh_gitignore(&dir);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                budget = match budget.checked_sub(1) {
                    Some(b) => b,
                    None => return Vec::new(),
                };
                let path = entry.path();
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                if base.is_ignored(&root, &path, is_dir) {
                    continue;
                }
                if is_dir {
                    dirs.push(path);
                } else {
                    pending.retain(|(_, m)| !m.is_relevant(&root, &path, false));
                }
            }
        }
    }
    pending.into_iter().map(|(i, _)| i).collect()
}

/// How many directory entries [`unmatched_includes`] looks at, at most.
const WALK_LIMIT: usize = 100_000;

fn path_problem(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(format!("watched path {} does not exist", path.display()))
        }
        Err(e) => Some(format!(
            "watched path {} cannot be used: {}",
            path.display(),
            io_reason(&e)
        )),
        Ok(meta) if meta.is_dir() => std::fs::read_dir(path).err().map(|e| {
            format!(
                "watched directory {} cannot be read: {}",
                path.display(),
                io_reason(&e)
            )
        }),
        Ok(_) => None,
    }
}

/// An I/O error as a short clause, without `(os error N)`.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "it does not exist".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => supd_sys::describe(e),
    }
}
