//! Where program output ends up: supd's stdout, supd's stderr, and program log files — all
//! written by one writer thread, in order, with backpressure.
//!
//! Pipe readers hand over whole-line batches and wait for room in a byte budget before they
//! read more, so a slow consumer (a slow terminal, a slow disk) slows the programs down
//! (their pipes fill) and never makes supd drop lines or buffer without bound. supd's own
//! messages skip the budget so the control plane never waits. The writer lives on its own
//! thread so that a blocked `write(2)` never stalls the event loop.
//!
//! Log files are opened by the event loop (so a bad path is reported when the program
//! starts) and then owned by the writer, which rotates them by size (`name.log` →
//! `name.log.1` → ... → `name.log.N`, cutting only between lines, so no file exceeds the
//! limit by more than one line) and reopens them all on request (SIGUSR1, after an external
//! logrotate moved them away). A write error on a file (disk full) is reported once; the
//! lines for that file are dropped until a write succeeds again, and supervision goes on.

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use nix::errno::Errno;
use tokio::sync::{Semaphore, mpsc};

/// Bytes that may wait for the writer before pipe readers pause.
const BUDGET: usize = 4 << 20;
/// The writer gathers up to this much per `writev`.
const GATHER: usize = 1 << 20;

/// One destination of output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Stdout,
    Stderr,
    /// A log file, by the id [`Output::open_file`] gave it.
    File(usize),
}

struct Batch {
    target: Target,
    /// Shared with the ring of recent output, which keeps the same buffer.
    bytes: Arc<Vec<u8>>,
    /// Budget to give back once written.
    permits: usize,
}

enum Msg {
    Write(Batch),
    /// A newly opened log file for [`Target::File`]`(id)`.
    AddFile {
        id: usize,
        path: PathBuf,
        file: File,
        max_size: u64,
        backups: u32,
    },
    /// Reopen every log file at its path.
    Reopen,
    /// Everything before this is written; the thread ends.
    Finish,
}

/// The sending side; cheap to clone and share on the event-loop thread.
#[derive(Clone)]
pub struct Output {
    tx: mpsc::UnboundedSender<Msg>,
    budget: Arc<Semaphore>,
}

/// Owns the writer thread; [`OutputThread::finish`] flushes everything sent before.
pub struct OutputThread {
    thread: JoinHandle<()>,
}

impl Output {
    pub fn start() -> (Output, OutputThread) {
        let (tx, rx) = mpsc::unbounded_channel();
        let budget = Arc::new(Semaphore::new(BUDGET));
        let returned = budget.clone();
        let thread = std::thread::Builder::new()
            .name("supd-output".into())
            .stack_size(64 * 1024)
            .spawn(move || Writer::default().run(rx, &returned))
            .unwrap_or_else(|e| {
                // Without a writer thread supd cannot honour "never lose a line".
                eprintln!("supd: cannot start the output thread: {e}");
                std::process::exit(1)
            });
        (Output { tx, budget }, OutputThread { thread })
    }

    /// Queues program output, first waiting until the writer has room for it.
    pub async fn write(&self, target: Target, bytes: Arc<Vec<u8>>) {
        let permits = bytes.len().min(BUDGET);
        // The semaphore is never closed, so acquiring only waits.
        if let Ok(p) = self.budget.acquire_many(permits as u32).await {
            p.forget();
        }
        let _ = self.tx.send(Msg::Write(Batch {
            target,
            bytes,
            permits,
        }));
    }

    /// Queues one of supd's own messages without waiting.
    pub fn write_now(&self, target: Target, bytes: Vec<u8>) {
        let _ = self.tx.send(Msg::Write(Batch {
            target,
            bytes: Arc::new(bytes),
            permits: 0,
        }));
    }

    /// Opens `path` for appending (creating it, mode 0644) and hands it to the writer as
    /// [`Target::File`]`(id)`, to be rotated at `max_size` bytes keeping `backups` old files.
    pub fn open_file(&self, id: usize, path: &Path, max_size: u64, backups: u32) -> io::Result<()> {
        let file = open_log(path)?;
        let _ = self.tx.send(Msg::AddFile {
            id,
            path: path.to_path_buf(),
            file,
            max_size,
            backups,
        });
        Ok(())
    }

    /// Reopens every log file at its configured path (after logrotate moved it away).
    pub fn reopen_files(&self) {
        let _ = self.tx.send(Msg::Reopen);
    }
}

impl OutputThread {
    /// Waits until everything queued through `output` or its clones so far is written, and
    /// ends the thread. Later writes are discarded.
    pub fn finish(self, output: Output) {
        let _ = output.tx.send(Msg::Finish);
        let _ = self.thread.join();
    }
}

fn open_log(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .open(path)
}

/// A log file as the writer holds it.
struct LogFile {
    path: PathBuf,
    file: Option<File>,
    /// Bytes in the current file.
    size: u64,
    max_size: u64,
    backups: u32,
    /// A write failed and was reported; cleared by the next successful write.
    failing: bool,
}

impl LogFile {
    fn new(path: PathBuf, file: File, max_size: u64, backups: u32) -> Self {
        let size = file.metadata().map_or(0, |m| m.len());
        LogFile {
            path,
            file: Some(file),
            size,
            max_size,
            backups,
            failing: false,
        }
    }

    /// Appends whole lines, rotating first whenever the next lines would take the file past
    /// `max_size`; a single line longer than that gets a file of its own.
    fn append(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let total: u64 = parts.iter().map(|p| p.len() as u64).sum();
        if self.size + total <= self.max_size {
            return self.write(parts, total);
        }
        for part in parts {
            let mut rest: &[u8] = part;
            while !rest.is_empty() {
                let room = self.max_size.saturating_sub(self.size) as usize;
                let cut = if rest.len() <= room {
                    rest.len()
                } else {
                    match memchr::memrchr(b'\n', &rest[..room]) {
                        Some(i) => i + 1,
                        // Not one whole line fits: an empty file takes the first line anyway.
                        None if self.size == 0 => {
                            memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1)
                        }
                        None => 0,
                    }
                };
                if cut > 0 {
                    self.write(&[&rest[..cut]], cut as u64)?;
                    rest = &rest[cut..];
                }
                if !rest.is_empty() {
                    self.rotate()?;
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, parts: &[&[u8]], total: u64) -> io::Result<()> {
        let file = self
            .file
            .as_ref()
            .ok_or_else(|| io::Error::other("not open"))?;
        if let Err(e) = write_all(file.as_fd(), parts) {
            // A disk that fills mid-write leaves part of a line; the next line would be glued
            // to it. Take that part back (only when the file grew by less than this write
            // since our count: a file truncated behind our back is left alone).
            if let Ok(m) = file.metadata()
                && m.len() > self.size
                && m.len() - self.size < total
            {
                let _ = file.set_len(self.size);
            }
            return Err(io::Error::from(e));
        }
        self.size += total;
        Ok(())
    }

    /// `name.log.(N-1)` → `name.log.N`, ..., `name.log` → `name.log.1`, then a new empty
    /// `name.log`. With no backups, the file is just emptied.
    fn rotate(&mut self) -> io::Result<()> {
        if self.backups == 0 {
            if let Some(f) = &self.file {
                f.set_len(0)?;
            }
            self.size = 0;
            return Ok(());
        }
        let numbered = |n: u32| {
            let mut p = self.path.clone().into_os_string();
            p.push(format!(".{n}"));
            PathBuf::from(p)
        };
        for n in (1..self.backups).rev() {
            let from = numbered(n);
            if from.exists() {
                std::fs::rename(&from, numbered(n + 1))?;
            }
        }
        std::fs::rename(&self.path, numbered(1))?;
        self.file = Some(open_log(&self.path)?);
        self.size = 0;
        Ok(())
    }

    fn reopen(&mut self) -> io::Result<()> {
        let file = open_log(&self.path)?;
        self.size = file.metadata().map_or(0, |m| m.len());
        self.file = Some(file);
        self.failing = false;
        Ok(())
    }
}

/// The writer thread's state.
#[derive(Default)]
struct Writer {
    files: Vec<Option<LogFile>>,
    /// stdout / stderr could not be written to any more (reported once).
    broken: [bool; 2],
}

impl Writer {
    fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>, budget: &Semaphore) {
        let mut batches: Vec<Batch> = Vec::new();
        let mut finished = false;
        while let Some(first) = rx.blocking_recv() {
            let mut size = 0;
            let mut next = Some(first);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Write(b) => {
                        size += b.bytes.len();
                        batches.push(b);
                    }
                    // Control messages apply in order with the writes around them.
                    Msg::AddFile {
                        id,
                        path,
                        file,
                        max_size,
                        backups,
                    } => {
                        self.flush(&mut batches, budget);
                        if self.files.len() <= id {
                            self.files.resize_with(id + 1, || None);
                        }
                        self.files[id] = Some(LogFile::new(path, file, max_size, backups));
                    }
                    Msg::Reopen => {
                        self.flush(&mut batches, budget);
                        self.reopen();
                    }
                    Msg::Finish => {
                        finished = true;
                        break;
                    }
                }
                if size < GATHER {
                    next = rx.try_recv().ok();
                }
            }
            self.flush(&mut batches, budget);
            if finished {
                break;
            }
        }
    }

    /// Writes the gathered batches: each run of batches for one target with one `writev`.
    fn flush(&mut self, batches: &mut Vec<Batch>, budget: &Semaphore) {
        let mut i = 0;
        while i < batches.len() {
            let target = batches[i].target;
            let mut j = i;
            while j < batches.len() && batches[j].target == target {
                j += 1;
            }
            let run: Vec<&[u8]> = batches[i..j].iter().map(|b| &b.bytes[..]).collect();
            self.write(target, &run);
            i = j;
        }
        let permits: usize = batches.iter().map(|b| b.permits).sum();
        if permits > 0 {
            budget.add_permits(permits);
        }
        batches.clear();
    }

    fn write(&mut self, target: Target, parts: &[&[u8]]) {
        match target {
            Target::Stdout | Target::Stderr => {
                let slot = usize::from(target == Target::Stderr);
                if self.broken[slot] {
                    return;
                }
                let stdout = io::stdout();
                let stderr = io::stderr();
                let fd = if slot == 0 {
                    stdout.as_fd()
                } else {
                    stderr.as_fd()
                };
                if let Err(e) = write_all(fd, parts) {
                    self.broken[slot] = true;
                    let name = ["stdout", "stderr"][slot];
                    self.warn(&format!(
                        "cannot write to {name}: {e}; its output is discarded from now on"
                    ));
                }
            }
            Target::File(id) => {
                let Some(Some(log)) = self.files.get_mut(id) else {
                    return;
                };
                match log.append(parts) {
                    Ok(()) => log.failing = false,
                    Err(e) => {
                        if !log.failing {
                            log.failing = true;
                            let message = format!(
                                "cannot write to log file {}: {e}; its lines are dropped until writing works again",
                                log.path.display()
                            );
                            self.warn(&message);
                        }
                    }
                }
            }
        }
    }

    fn reopen(&mut self) {
        let mut problems = Vec::new();
        for log in self.files.iter_mut().flatten() {
            match log.reopen() {
                Ok(()) => {}
                Err(e) => problems.push(format!(
                    "cannot reopen log file {}: {}; still writing to the old one",
                    log.path.display(),
                    supd_sys::describe(&e)
                )),
            }
        }
        for p in problems {
            self.warn(&p);
        }
    }

    /// A message of the writer itself, on stderr if it still works, else on stdout.
    fn warn(&mut self, message: &str) {
        let line = format!("supd | warning: {message}\n");
        for (slot, fd) in [(1, io::stderr().as_fd()), (0, io::stdout().as_fd())] {
            if !self.broken[slot] && write_all(fd, &[line.as_bytes()]).is_ok() {
                return;
            }
        }
    }
}

/// Writes every byte of `parts` to `fd`, retrying short writes and interruptions.
fn write_all(fd: BorrowedFd<'_>, parts: &[&[u8]]) -> Result<(), Errno> {
    let mut part = 0;
    let mut offset = 0;
    while part < parts.len() {
        let slices: Vec<IoSlice> = std::iter::once(&parts[part][offset..])
            .chain(parts[part + 1..].iter().copied())
            .take(512)
            .map(IoSlice::new)
            .collect();
        match nix::sys::uio::writev(fd, &slices) {
            Ok(mut n) => {
                while part < parts.len() && n >= parts[part].len() - offset {
                    n -= parts[part].len() - offset;
                    part += 1;
                    offset = 0;
                }
                offset += n;
            }
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => {
                // Someone made our stdout non-blocking; wait until it takes more.
                let mut pfd = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLOUT)];
                let _ = nix::poll::poll(&mut pfd, nix::poll::PollTimeout::NONE);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
