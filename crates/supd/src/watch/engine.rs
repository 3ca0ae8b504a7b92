//! One program's watch: where its roots are, how each is observed (inotify or polling), and
//! the thread that turns raw file-system events into relevant changes.
//!
//! # Theory of operation
//!
//! [`Engine::setup`] runs on the caller's thread, before any program starts: it resolves
//! the roots, decides per root between inotify and polling, and walks each tree once —
//! adding one non-recursive inotify watch per directory that is not ignored (so `.git`,
//! `node_modules`, `.gitignore`d build trees cost no watch at all, and one unreadable
//! subdirectory is a warning, not a failure), or taking the first polling snapshot. When
//! `setup` returns, every change from then on is seen.
//!
//! [`Engine::run`] then owns the thread `supd-watch`. It blocks on one channel fed by
//! notify's inotify thread; when some root is polled it also wakes every poll interval to
//! rescan. Nothing else wakes it, so an idle watch costs no CPU unless it polls. For each
//! raw event it:
//! - keeps only what is a change of content or presence: create, write, close after
//!   writing, metadata (touch), delete, and both halves of a rename — reads and opens are
//!   dropped; a rename is reported as its `From` and `To` halves (the combined `Both` event
//!   is skipped), so a save by rename (vim, JetBrains) yields the real file's path once the
//!   temporary name is ignored, and a path counts once however many events it gets;
//! - asks the [`Matcher`] whether the path counts;
//! - for a directory that appears (created, or moved in), watches it and every directory
//!   under it, then lists them and reports the files already there: files written before
//!   the watch existed are not lost;
//! - re-reads a `.gitignore` that changed, and walks its directory again;
//! - after an inotify queue overflow, walks every root again and reports one change.
//!
//! Relevant changes go, in the order seen and batched per wake-up, to the program's
//! debounce task ([`super::debounce`]) over a tokio channel. The thread ends on
//! [`Msg::Stop`] (sent when the program's [`super::ProgramWatch`] is dropped) or when the
//! debounce task is gone; the inotify watcher, owned by the thread, is dropped with it.
//!
//! Polling is supd's own (not notify's `PollWatcher`, which compares modification times in
//! whole seconds and so misses a second save within the same second): it compares
//! modification and change times to the nanosecond, size and inode, and skips ignored
//! directories while it walks.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind, RenameMode};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use supd_config::{PollMode, WatchSpec};
use tokio::sync::mpsc::UnboundedSender;

use super::matcher::Matcher;
use super::{Change, fstype, io_reason};

/// Poll interval for `poll = "auto"` on a file system inotify cannot see, and for the
/// fallbacks when inotify cannot be used.
pub const AUTO_POLL: Duration = Duration::from_secs(1);

/// Advice when the inotify watch limit is reached.
const RAISE_LIMIT: &str = "raise the limit with `sysctl -w fs.inotify.max_user_watches=524288`";

/// What the watch thread is woken by.
pub enum Msg {
    /// An event (or error) from notify's inotify thread.
    Native(notify::Result<notify::Event>),
    /// The program's watch was dropped: end the thread.
    Stop,
}

/// One watched path of the config.
struct Root {
    /// The directory watched (canonical): the path itself, or the directory of a file.
    dir: PathBuf,
    /// When the config named a file: only this entry of `dir` is watched.
    only: Option<OsString>,
    /// With several roots, shown paths start with this (the root's last component).
    label: Option<String>,
    /// Polled rather than watched with inotify.
    poll: bool,
    /// Directories of other roots inside this one that are observed the other way: not
    /// walked from here.
    prune: Vec<PathBuf>,
}

/// What polling remembers of a path.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    mtime: (i64, i64),
    ctime: (i64, i64),
    size: u64,
    ino: u64,
    is_dir: bool,
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        Stamp {
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            size: meta.size(),
            ino: meta.ino(),
            is_dir: meta.is_dir(),
        }
    }
}

/// One entry of a directory listing.
struct Entry {
    path: PathBuf,
    is_dir: bool,
    /// When asked for.
    stamp: Option<Stamp>,
}

/// How a raw event saw a path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Created or moved in; `Some(true)` when known to be a directory.
    Appeared(Option<bool>),
    /// Written, closed after writing, or its metadata changed.
    Changed,
    /// Deleted or moved away; `Some(true)` when known to be a directory.
    Gone(Option<bool>),
}

pub struct Engine {
    /// The program's name, for messages.
    name: String,
    roots: Vec<Root>,
    matcher: Matcher,
    /// `None` when no root uses inotify.
    native: Option<RecommendedWatcher>,
    /// Directories with an inotify watch.
    watched: HashSet<PathBuf>,
    poll_every: Duration,
    /// Polling: every path seen by the last scan.
    snapshot: HashMap<PathBuf, Stamp>,
    /// Paths already warned about (unreadable directories), so polling does not repeat it.
    warned: HashSet<PathBuf>,
    limit_warned: bool,
    /// Set up is over: problems are now warned about as they happen.
    running: bool,
    /// During set-up: where the inotify watch limit was hit, and why.
    limit_hit: Option<String>,
    out: UnboundedSender<Vec<Change>>,
}

impl Engine {
    /// Resolves, decides and walks (see the module docs). The error is one sentence naming
    /// the path or glob that makes the watch impossible.
    pub fn setup(
        name: &str,
        spec: &WatchSpec,
        log_files: Vec<PathBuf>,
        out: UnboundedSender<Vec<Change>>,
        tx: &Sender<Msg>,
    ) -> Result<Engine, String> {
        let matcher = Matcher::new(&spec.include, &spec.exclude, log_files)
            .map_err(|e| format!("{name}: {e}"))?;
        let mut roots = resolve_roots(name, &spec.paths)?;

        let poll_every = match spec.poll {
            PollMode::Interval(every) => {
                for r in &mut roots {
                    r.poll = true;
                }
                every
            }
            PollMode::Off => AUTO_POLL,
            PollMode::Auto => {
                for r in &mut roots {
                    if let Some(what) = fstype::remote_fs(&r.dir) {
                        tracing::info!(
                            "{name}: polling {} every {}s: it is on {what}, where inotify \
                             does not see changes made from outside this machine (set \
                             poll = \"off\" in [program.{name}.watch] to use inotify anyway)",
                            r.dir.display(),
                            AUTO_POLL.as_secs()
                        );
                        r.poll = true;
                    }
                }
                AUTO_POLL
            }
        };

        let mut engine = Engine {
            name: name.to_string(),
            roots,
            matcher,
            native: None,
            watched: HashSet::new(),
            poll_every,
            snapshot: HashMap::new(),
            warned: HashSet::new(),
            limit_warned: false,
            running: false,
            limit_hit: None,
            out,
        };
        engine.set_prunes();

        if engine.roots.iter().any(|r| !r.poll) {
            let tx = tx.clone();
            let handler = move |event: notify::Result<notify::Event>| {
                let _ = tx.send(Msg::Native(event));
            };
            match RecommendedWatcher::new(handler, notify::Config::default()) {
                Ok(watcher) => {
                    engine.native = Some(watcher);
                    if !engine.watch_native_roots() {
                        tracing::warn!(
                            "{name}: {}: polling every {}s instead ({RAISE_LIMIT} to use \
                             inotify)",
                            engine.limit_hit.take().unwrap_or_default(),
                            AUTO_POLL.as_secs()
                        );
                        engine.fall_back_to_polling();
                    }
                }
                Err(e) => {
                    tracing::warn!(
                        "{name}: cannot use inotify ({}); polling every {}s instead",
                        describe(&e),
                        AUTO_POLL.as_secs()
                    );
                    engine.fall_back_to_polling();
                }
            }
        }
        if engine.roots.iter().any(|r| r.poll) {
            engine.scan(&mut Vec::new(), false);
        }
        tracing::info!("{name}: {}", engine.summary());
        engine.running = true;
        Ok(engine)
    }

    /// `watching /app (inotify on 12 directories)`.
    fn summary(&self) -> String {
        let shown: Vec<String> = self
            .roots
            .iter()
            .map(|r| match &r.only {
                Some(file) => r.dir.join(file).display().to_string(),
                None => r.dir.display().to_string(),
            })
            .collect();
        let mut how = Vec::new();
        if self.native.is_some() {
            let n = self.watched.len();
            how.push(format!(
                "inotify on {n} director{}",
                if n == 1 { "y" } else { "ies" }
            ));
        }
        if self.roots.iter().any(|r| r.poll) {
            how.push(format!(
                "polling every {}",
                supd_config::duration::format(self.poll_every)
            ));
        }
        format!(
            "watching {} for changes ({})",
            shown.join(", "),
            how.join(", ")
        )
    }

    fn set_prunes(&mut self) {
        let dirs: Vec<(PathBuf, bool, bool)> = self
            .roots
            .iter()
            .map(|r| (r.dir.clone(), r.poll, r.only.is_none()))
            .collect();
        for r in &mut self.roots {
            r.prune = dirs
                .iter()
                .filter(|(dir, poll, whole)| {
                    *whole && *poll != r.poll && dir != &r.dir && dir.starts_with(&r.dir)
                })
                .map(|(dir, _, _)| dir.clone())
                .collect();
        }
    }

    /// Adds the inotify watches of every native root. False when the watch limit was hit.
    fn watch_native_roots(&mut self) -> bool {
        for i in 0..self.roots.len() {
            if self.roots[i].poll {
                continue;
            }
            let dir = self.roots[i].dir.clone();
            let ok = if self.roots[i].only.is_some() {
                self.add_watch(&dir)
            } else {
                self.walk_native(i, &dir, None)
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// The inotify watch limit was reached while setting up: give back every watch and
    /// poll instead, saying so.
    fn fall_back_to_polling(&mut self) {
        self.native = None;
        self.watched.clear();
        for r in &mut self.roots {
            r.poll = true;
        }
        if self.poll_every > AUTO_POLL {
            self.poll_every = AUTO_POLL;
        }
        self.set_prunes();
    }

    /// Adds one directory's watch. False when the inotify watch limit is reached (warned
    /// once); other failures are warned about and the walk goes on.
    fn add_watch(&mut self, dir: &Path) -> bool {
        let Some(watcher) = self.native.as_mut() else {
            return true;
        };
        match watcher.watch(dir, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.watched.insert(dir.to_path_buf());
                true
            }
            Err(e) if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) => {
                if self.running && !self.limit_warned {
                    self.limit_warned = true;
                    tracing::warn!(
                        "{}: cannot watch {}: {}; changes in it are not seen ({RAISE_LIMIT}, \
                         or set poll = \"1s\" in [program.{}.watch])",
                        self.name,
                        dir.display(),
                        describe(&e),
                        self.name
                    );
                } else if !self.running && self.limit_hit.is_none() {
                    self.limit_hit = Some(format!("{} at {}", describe(&e), dir.display()));
                }
                false
            }
            // Gone between listing and watching: its removal is (or was) an event.
            Err(e) if matches!(e.kind, notify::ErrorKind::PathNotFound) => true,
            Err(e) => {
                if self.warned.insert(dir.to_path_buf()) {
                    tracing::warn!(
                        "{}: cannot watch {}: {}; changes in it are not seen",
                        self.name,
                        dir.display(),
                        describe(&e)
                    );
                }
                true
            }
        }
    }

    /// Watches `start` (under root `ri`) and every directory below it that is not
    /// ignored. With `report`, the entries found count as changes (a directory that just
    /// appeared). False when the watch limit was hit (without `report`, the walk stops
    /// there).
    fn walk_native(
        &mut self,
        ri: usize,
        start: &Path,
        mut report: Option<&mut Vec<Change>>,
    ) -> bool {
        let (root_dir, prune) = (self.roots[ri].dir.clone(), self.roots[ri].prune.clone());
        let mut dirs = vec![start.to_path_buf()];
        let mut found: Vec<(PathBuf, bool)> = Vec::new();
        let mut limited = false;
        while let Some(dir) = dirs.pop() {
            self.refresh_gitignore(&dir);
            if !limited && !self.add_watch(&dir) {
                limited = true;
                if report.is_none() {
                    return false;
                }
                // Still list the rest: the files already there are changes to report.
            }
            for entry in self.list(&root_dir, &dir, &prune, false) {
                if entry.is_dir {
                    dirs.push(entry.path.clone());
                }
                if report.is_some() {
                    found.push((entry.path, entry.is_dir));
                }
            }
        }
        if let Some(changes) = report.as_mut() {
            for (path, is_dir) in found {
                if self.counts(ri, &path, is_dir) {
                    changes.push(self.change(ri, path));
                }
            }
        }
        !limited
    }

    /// The entries of `dir`, in name order, without the ignored directories and those of
    /// `prune` (files are all there: whether one counts is only asked when it changes).
    /// With `stat`, each comes with its metadata (not following symbolic links); without,
    /// nothing is read but the directory. An unreadable directory is warned about once.
    fn list(&mut self, root: &Path, dir: &Path, prune: &[PathBuf], stat: bool) -> Vec<Entry> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound && self.warned.insert(dir.to_path_buf())
                {
                    tracing::warn!(
                        "{}: cannot read {}: {}; changes in it are not seen",
                        self.name,
                        dir.display(),
                        io_reason(&e)
                    );
                }
                return Vec::new();
            }
        };
        let mut out: Vec<Entry> = entries
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                let is_dir = entry.file_type().ok()?.is_dir();
                if is_dir && (prune.contains(&path) || self.matcher.is_ignored(root, &path, true)) {
                    return None;
                }
                let stamp = if stat {
                    Some(Stamp::of(&entry.metadata().ok()?))
                } else {
                    None
                };
                Some(Entry {
                    path,
                    is_dir,
                    stamp,
                })
            })
            .collect();
        out.sort_unstable_by(|a, b| a.path.as_os_str().cmp(b.path.as_os_str()));
        out
    }

    fn refresh_gitignore(&mut self, dir: &Path) {
        if let Some(warning) = self.matcher.refresh_gitignore(dir) {
            let file = dir.join(".gitignore");
            if self.warned.insert(file) {
                tracing::warn!("{}: {warning}", self.name);
            }
        }
    }

    /// True when a change of `path` under root `ri` counts: a relevant file, or a
    /// directory when `include` is empty.
    fn counts(&self, ri: usize, path: &Path, is_dir: bool) -> bool {
        let root = &self.roots[ri];
        if let Some(only) = &root.only {
            return path.parent() == Some(root.dir.as_path())
                && path.file_name() == Some(only.as_os_str())
                && !self.matcher.is_ignored(&root.dir, path, false);
        }
        if is_dir {
            self.matcher.includes_everything() && !self.matcher.is_ignored(&root.dir, path, true)
        } else {
            self.matcher.is_relevant(&root.dir, path, false)
        }
    }

    /// The change of `path` under root `ri`, shown relative to the root.
    fn change(&self, ri: usize, path: PathBuf) -> Change {
        let root = &self.roots[ri];
        let rel = path.strip_prefix(&root.dir).unwrap_or(&path);
        let shown = match (&root.label, rel.as_os_str().is_empty()) {
            (_, true) => root.dir.display().to_string(),
            (Some(label), false) if root.only.is_none() => format!("{label}/{}", rel.display()),
            _ => rel.display().to_string(),
        };
        Change { path, shown }
    }

    /// The root an event path belongs to: the deepest one (of the given kind) holding it.
    fn root_of(&self, path: &Path, poll: bool) -> Option<usize> {
        self.roots
            .iter()
            .enumerate()
            .filter(|(_, r)| r.poll == poll && path.starts_with(&r.dir))
            .filter(|(_, r)| match &r.only {
                Some(only) => {
                    path.parent() == Some(r.dir.as_path())
                        && path.file_name() == Some(only.as_os_str())
                }
                None => true,
            })
            .max_by_key(|(_, r)| r.dir.components().count())
            .map(|(i, _)| i)
    }

    // ----- the thread -----------------------------------------------------------------

    /// The watch thread's loop (see the module docs).
    pub fn run(mut self, rx: Receiver<Msg>) {
        let polls = self.roots.iter().any(|r| r.poll);
        let mut next_poll = polls.then(|| Instant::now() + self.poll_every);
        loop {
            let mut changes = Vec::new();
            if let Some(at) = next_poll
                && Instant::now() >= at
            {
                self.scan(&mut changes, true);
                next_poll = Some(Instant::now() + self.poll_every);
            } else {
                let msg = match next_poll {
                    Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
                    None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
                match msg {
                    Ok(Msg::Native(event)) => {
                        self.on_native(event, &mut changes);
                        // Take what else is already queued, to send one batch.
                        loop {
                            match rx.try_recv() {
                                Ok(Msg::Native(event)) => self.on_native(event, &mut changes),
                                Ok(Msg::Stop) => return,
                                Err(_) => break,
                            }
                        }
                    }
                    Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                    Err(RecvTimeoutError::Timeout) => continue,
                }
            }
            if !changes.is_empty() && self.out.send(changes).is_err() {
                // The debounce task is gone: nobody listens any more.
                return;
            }
        }
    }

    fn on_native(&mut self, event: notify::Result<notify::Event>, changes: &mut Vec<Change>) {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                let about = e
                    .paths
                    .first()
                    .map(|p| format!(" ({})", p.display()))
                    .unwrap_or_default();
                tracing::warn!(
                    "{}: file watching error{about}: {}",
                    self.name,
                    describe(&e)
                );
                return;
            }
        };
        if event.need_rescan() {
            self.rescan_native(changes);
            return;
        }
        let seen = match event.kind {
            EventKind::Create(kind) => Seen::Appeared(match kind {
                CreateKind::Folder => Some(true),
                CreateKind::File => Some(false),
                _ => None,
            }),
            // Both halves of a rename also come as separate `From` and `To` events.
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => return,
            EventKind::Modify(ModifyKind::Name(RenameMode::To)) => Seen::Appeared(None),
            EventKind::Modify(ModifyKind::Name(_)) => Seen::Gone(None),
            EventKind::Modify(_) => Seen::Changed,
            EventKind::Remove(kind) => Seen::Gone(match kind {
                RemoveKind::Folder => Some(true),
                RemoveKind::File => Some(false),
                _ => None,
            }),
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => Seen::Changed,
            EventKind::Access(_) | EventKind::Any | EventKind::Other => return,
        };
        for path in event.paths {
            self.on_path(path, seen, changes);
        }
    }

    fn on_path(&mut self, path: PathBuf, seen: Seen, changes: &mut Vec<Change>) {
        let Some(ri) = self.root_of(&path, false) else {
            return;
        };
        if path == self.roots[ri].dir {
            if let Seen::Gone(_) = seen
                && self.warned.insert(path.clone())
            {
                tracing::warn!(
                    "{}: watched directory {} was removed or renamed: changes in it are no \
                     longer seen until supd restarts",
                    self.name,
                    path.display()
                );
            }
            return;
        }
        let is_dir = match seen {
            Seen::Appeared(Some(d)) | Seen::Gone(Some(d)) => d,
            Seen::Appeared(None) => std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()),
            Seen::Gone(None) => self.watched.contains(&path),
            Seen::Changed => self.watched.contains(&path),
        };
        if path.file_name().is_some_and(|n| n == ".gitignore")
            && let Some(dir) = path.parent()
            && self.roots[ri].only.is_none()
        {
            let dir = dir.to_path_buf();
            self.refresh_gitignore(&dir);
            // Directories it no longer ignores get their watches.
            if seen != Seen::Gone(Some(true)) && self.watched.contains(&dir) {
                self.walk_native(ri, &dir, None);
            }
        }
        if !is_dir {
            if self.counts(ri, &path, false) {
                changes.push(self.change(ri, path));
            }
            return;
        }
        match seen {
            Seen::Appeared(_) => {
                if self.roots[ri].only.is_some()
                    || self.matcher.is_ignored(&self.roots[ri].dir, &path, true)
                    || self.roots[ri].prune.contains(&path)
                {
                    return;
                }
                if self.counts(ri, &path, true) {
                    changes.push(self.change(ri, path.clone()));
                }
                self.walk_native(ri, &path, Some(changes));
            }
            Seen::Gone(_) => {
                self.watched.retain(|d| !d.starts_with(&path));
                if self.counts(ri, &path, true) {
                    changes.push(self.change(ri, path));
                }
            }
            // A directory's own metadata: not a change of what it holds.
            Seen::Changed => {}
        }
    }

    /// Events were lost (inotify queue overflow): watch again whatever is missing and
    /// report one change per native root.
    fn rescan_native(&mut self, changes: &mut Vec<Change>) {
        for ri in 0..self.roots.len() {
            if self.roots[ri].poll {
                continue;
            }
            let dir = self.roots[ri].dir.clone();
            if self.roots[ri].only.is_none() {
                self.walk_native(ri, &dir, None);
            }
            changes.push(Change {
                path: dir.clone(),
                shown: format!("files under {} (too many changes to list)", dir.display()),
            });
        }
    }

    /// Polling: lists every polled root and compares with the last scan. With `report`,
    /// differences that count go to `changes`.
    fn scan(&mut self, changes: &mut Vec<Change>, report: bool) {
        let mut order: Vec<(usize, PathBuf, Stamp)> = Vec::new();
        for ri in 0..self.roots.len() {
            if !self.roots[ri].poll {
                continue;
            }
            let root = &self.roots[ri];
            if let Some(only) = &root.only {
                let path = root.dir.join(only);
                if let Ok(meta) = std::fs::symlink_metadata(&path) {
                    order.push((ri, path, Stamp::of(&meta)));
                }
                continue;
            }
            let prune = root.prune.clone();
            let mut dirs = vec![root.dir.clone()];
            while let Some(dir) = dirs.pop() {
                self.refresh_gitignore(&dir);
                let root_dir = self.roots[ri].dir.clone();
                for entry in self.list(&root_dir, &dir, &prune, true) {
                    if entry.is_dir {
                        dirs.push(entry.path.clone());
                    }
                    if let Some(stamp) = entry.stamp {
                        order.push((ri, entry.path, stamp));
                    }
                }
            }
        }
        let mut now: HashMap<PathBuf, Stamp> = HashMap::with_capacity(order.len());
        for (ri, path, stamp) in order {
            if report {
                let counted = match self.snapshot.get(&path) {
                    None => true,
                    // A directory's own times change with its entries: those are seen
                    // one by one.
                    Some(old) => *old != stamp && !(old.is_dir && stamp.is_dir),
                };
                if counted && self.counts(ri, &path, stamp.is_dir) {
                    changes.push(self.change(ri, path.clone()));
                }
            }
            now.insert(path, stamp);
        }
        if report {
            let mut gone: Vec<(PathBuf, bool)> = self
                .snapshot
                .iter()
                .filter(|(path, _)| !now.contains_key(*path))
                .map(|(path, stamp)| (path.clone(), stamp.is_dir))
                .collect();
            gone.sort();
            for (path, is_dir) in gone {
                if let Some(ri) = self.root_of(&path, true)
                    && self.counts(ri, &path, is_dir)
                {
                    changes.push(self.change(ri, path));
                }
            }
        }
        self.snapshot = now;
    }
}

/// Canonical roots for the configured paths; the error names the path.
fn resolve_roots(name: &str, paths: &[PathBuf]) -> Result<Vec<Root>, String> {
    let mut roots: Vec<Root> = Vec::new();
    for path in paths {
        let cannot = |why: String| format!("{name}: cannot watch {}: {why}", path.display());
        let real = std::fs::canonicalize(path).map_err(|e| cannot(io_reason(&e)))?;
        let meta = std::fs::metadata(&real).map_err(|e| cannot(io_reason(&e)))?;
        let (dir, only) = if meta.is_dir() {
            std::fs::read_dir(&real).map_err(|e| cannot(io_reason(&e)))?;
            (real, None)
        } else {
            match (real.parent(), real.file_name()) {
                (Some(dir), Some(file)) => (dir.to_path_buf(), Some(file.to_os_string())),
                _ => return Err(cannot("it is not a directory or a file in one".into())),
            }
        };
        if !roots.iter().any(|r| r.dir == dir && r.only == only) {
            roots.push(Root {
                dir,
                only,
                label: None,
                poll: false,
                prune: Vec::new(),
            });
        }
    }
    if roots.len() > 1 {
        for r in &mut roots {
            r.label = r
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .or_else(|| Some(r.dir.display().to_string()));
        }
    }
    Ok(roots)
}

/// One clause for a notify error (no debug dump).
fn describe(e: &notify::Error) -> String {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => {
            let limit = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
                .map(|s| format!(" = {}", s.trim()))
                .unwrap_or_default();
            format!("the inotify watch limit is reached (fs.inotify.max_user_watches{limit})")
        }
        notify::ErrorKind::Io(io) if io.raw_os_error() == Some(libc::EMFILE) => {
            "too many inotify instances: raise fs.inotify.max_user_instances or set poll = \"1s\""
                .into()
        }
        notify::ErrorKind::Io(io) => io_reason(io),
        notify::ErrorKind::PathNotFound => "it does not exist".into(),
        notify::ErrorKind::WatchNotFound => "it was not watched".into(),
        notify::ErrorKind::Generic(what) => what.clone(),
        notify::ErrorKind::InvalidConfig(_) => "invalid watcher configuration".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

    struct Running {
        stop: Sender<Msg>,
        rx: UnboundedReceiver<Vec<Change>>,
    }

    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.stop.send(Msg::Stop);
        }
    }

    impl Running {
        /// Waits (up to 10 s) for changes until `want` was seen; returns the shown paths,
        /// each once (as the debounce task would).
        fn until(&mut self, want: &str) -> Vec<String> {
            let end = Instant::now() + Duration::from_secs(10);
            let mut got = Vec::new();
            while !got.iter().any(|s| s == want) {
                assert!(
                    Instant::now() < end,
                    "no change {want:?} in 10s, got {got:?}"
                );
                match self.rx.try_recv() {
                    Ok(changes) => {
                        for c in changes {
                            if !got.contains(&c.shown) {
                                got.push(c.shown);
                            }
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            got
        }
    }

    fn spec(root: &Path, include: &[&str], poll: PollMode) -> WatchSpec {
        WatchSpec {
            paths: vec![root.to_path_buf()],
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: Vec::new(),
            debounce: Duration::from_millis(50),
            action: supd_config::WatchAction::Restart,
            poll,
        }
    }

    fn start(spec: &WatchSpec) -> Running {
        let (out, rx) = unbounded_channel();
        let (tx, msgs) = std::sync::mpsc::channel();
        let engine = Engine::setup("test", spec, Vec::new(), out, &tx).unwrap();
        std::thread::spawn(move || engine.run(msgs));
        Running { stop: tx, rx }
    }

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        (dir, root)
    }

    #[test]
    fn directories_created_later_are_followed_and_their_first_files_not_lost() {
        let (_dir, root) = tree();
        let mut w = start(&spec(&root, &["*.py"], PollMode::Off));
        // Created together with its directories, before supd could watch them: found by
        // listing the new directory.
        std::fs::create_dir_all(root.join("a/b/c")).unwrap();
        std::fs::write(root.join("a/b/c/new.py"), "x").unwrap();
        w.until("a/b/c/new.py");
        // Then the new directory is watched like any other.
        std::fs::write(root.join("a/b/c/new.py"), "y").unwrap();
        w.until("a/b/c/new.py");
        std::fs::write(root.join("a/b/later.py"), "z").unwrap();
        w.until("a/b/later.py");
    }

    #[test]
    fn a_save_by_rename_reports_the_real_file_only() {
        let (_dir, root) = tree();
        std::fs::write(root.join("x.py"), "old").unwrap();
        let mut w = start(&spec(&root, &[], PollMode::Off));
        std::fs::write(root.join("x.py___jb_tmp___"), "new").unwrap();
        std::fs::rename(root.join("x.py"), root.join("x.py___jb_old___")).unwrap();
        std::fs::rename(root.join("x.py___jb_tmp___"), root.join("x.py")).unwrap();
        std::fs::remove_file(root.join("x.py___jb_old___")).unwrap();
        std::fs::write(root.join("sentinel"), "").unwrap();
        let got = w.until("sentinel");
        assert!(
            got.iter().all(|s| s == "x.py" || s == "sentinel"),
            "{got:?}"
        );
    }

    #[test]
    fn reads_are_not_changes() {
        let (_dir, root) = tree();
        std::fs::write(root.join("x.py"), "x").unwrap();
        let mut w = start(&spec(&root, &[], PollMode::Off));
        for _ in 0..10 {
            let _ = std::fs::read(root.join("x.py")).unwrap();
            let _ = std::fs::read_dir(&root).unwrap().count();
        }
        std::fs::write(root.join("sentinel"), "").unwrap();
        assert_eq!(w.until("sentinel"), ["sentinel"]);
    }

    #[test]
    fn polling_sees_a_second_save_within_the_same_second() {
        let (_dir, root) = tree();
        std::fs::write(root.join("x.py"), "1").unwrap();
        let mut w = start(&spec(
            &root,
            &[],
            PollMode::Interval(Duration::from_millis(20)),
        ));
        std::fs::write(root.join("x.py"), "22").unwrap();
        w.until("x.py");
        // Same size, same second: the nanoseconds of the modification time tell.
        std::fs::write(root.join("x.py"), "33").unwrap();
        w.until("x.py");
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/y.py"), "").unwrap();
        w.until("sub/y.py");
        std::fs::remove_file(root.join("sub/y.py")).unwrap();
        w.until("sub/y.py");
    }

    #[test]
    fn a_watched_file_survives_being_replaced_by_rename() {
        let (_dir, root) = tree();
        std::fs::write(root.join("conf.toml"), "a").unwrap();
        std::fs::write(root.join("other"), "a").unwrap();
        let mut spec = spec(&root, &[], PollMode::Off);
        spec.paths = vec![root.join("conf.toml")];
        let mut w = start(&spec);
        for round in 0..2 {
            std::fs::write(root.join("other"), "b").unwrap();
            std::fs::write(root.join(".conf.toml.tmp"), format!("{round}")).unwrap();
            std::fs::rename(root.join(".conf.toml.tmp"), root.join("conf.toml")).unwrap();
            assert_eq!(w.until("conf.toml"), ["conf.toml"]);
        }
    }

    #[test]
    fn with_several_roots_paths_are_shown_under_the_root_name() {
        let (_dir, root) = tree();
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::create_dir_all(root.join("config")).unwrap();
        let mut spec = spec(&root, &["*.py"], PollMode::Off);
        spec.paths = vec![root.join("app"), root.join("config")];
        let mut w = start(&spec);
        std::fs::write(root.join("app/views.py"), "").unwrap();
        w.until("app/views.py");
        std::fs::write(root.join("config/settings.py"), "").unwrap();
        w.until("config/settings.py");
        // Outside both roots: not watched at all. (Late events of the writes above may
        // share the sentinel's batch; manage.py must not be in it.)
        std::fs::write(root.join("manage.py"), "").unwrap();
        std::fs::write(root.join("app/sentinel.py"), "").unwrap();
        let batch = w.until("app/sentinel.py");
        assert!(
            batch
                .iter()
                .all(|p| p != "manage.py" && !p.ends_with("/manage.py")),
            "{batch:?}"
        );
    }

    #[test]
    fn missing_roots_are_an_error_naming_them() {
        let (_dir, root) = tree();
        let (out, _rx) = unbounded_channel();
        let (tx, _msgs) = std::sync::mpsc::channel();
        let spec = spec(&root.join("nope"), &[], PollMode::Off);
        let e = Engine::setup("web", &spec, Vec::new(), out, &tx)
            .err()
            .unwrap();
        assert_eq!(
            e,
            format!(
                "web: cannot watch {}: it does not exist",
                root.join("nope").display()
            )
        );
    }
}
