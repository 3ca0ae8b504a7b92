//! supd's own stdout and stderr: one writer thread, fed in order, with backpressure.
//!
//! Pipe readers hand over whole-line batches and wait for room in a byte budget before they
//! read more, so a slow consumer of supd's stdout slows the programs down (their pipes fill)
//! and never makes supd drop or buffer without bound. supd's own messages skip the budget
//! so the control plane never waits on a slow terminal. The writer lives on its own thread so
//! that a blocked `write(2)` never stalls the event loop.

use std::io::IoSlice;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::thread::JoinHandle;

use nix::errno::Errno;
use tokio::sync::{Semaphore, mpsc};

/// Bytes that may wait for the writer before pipe readers pause.
const BUDGET: usize = 4 << 20;
/// The writer gathers up to this much per `writev`.
const GATHER: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Stdout,
    Stderr,
}

struct Batch {
    target: Target,
    bytes: Vec<u8>,
    /// Budget to give back once written.
    permits: usize,
}

enum Msg {
    Write(Batch),
    /// Everything before this is written; the thread ends.
    Finish,
}

/// The sending side; cheap to share on the event-loop thread.
#[derive(Clone)]
pub struct Console {
    tx: mpsc::UnboundedSender<Msg>,
    budget: Arc<Semaphore>,
}

/// Owns the writer thread; [`ConsoleThread::finish`] flushes everything sent before.
pub struct ConsoleThread {
    thread: JoinHandle<()>,
}

impl Console {
    pub fn start() -> (Console, ConsoleThread) {
        let (tx, rx) = mpsc::unbounded_channel();
        let budget = Arc::new(Semaphore::new(BUDGET));
        let returned = budget.clone();
        let thread = std::thread::Builder::new()
            .name("supd-console".into())
            .stack_size(64 * 1024)
            .spawn(move || writer(rx, &returned))
            .unwrap_or_else(|e| {
                // Without a writer thread supd cannot honour "never lose a line".
                eprintln!("supd: cannot start the output thread: {e}");
                std::process::exit(1)
            });
        (Console { tx, budget }, ConsoleThread { thread })
    }

    /// Queues program output, first waiting until the writer has room for it.
    pub async fn write(&self, target: Target, bytes: Vec<u8>) {
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
            bytes,
            permits: 0,
        }));
    }
}

impl ConsoleThread {
    /// Waits until everything queued through `console` or its clones so far is written, and
    /// ends the thread. Later writes are discarded.
    pub fn finish(self, console: Console) {
        let _ = console.tx.send(Msg::Finish);
        let _ = self.thread.join();
    }
}

fn writer(mut rx: mpsc::UnboundedReceiver<Msg>, budget: &Semaphore) {
    let mut broken = [false, false];
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
                Msg::Finish => {
                    finished = true;
                    break;
                }
            }
            if size < GATHER {
                next = rx.try_recv().ok();
            }
        }
        // Write runs of batches for the same stream with one writev each.
        let mut i = 0;
        while i < batches.len() {
            let target = batches[i].target;
            let mut j = i;
            while j < batches.len() && batches[j].target == target {
                j += 1;
            }
            let slot = target as usize;
            if !broken[slot] {
                let run: Vec<&[u8]> = batches[i..j].iter().map(|b| &b.bytes[..]).collect();
                if let Err(e) = write_all(target, &run) {
                    broken[slot] = true;
                    let name = if target == Target::Stdout {
                        "stdout"
                    } else {
                        "stderr"
                    };
                    // Tell the other stream, if it still works; output to this one is dropped
                    // from now on because nobody can receive it.
                    let other = if target == Target::Stdout {
                        Target::Stderr
                    } else {
                        Target::Stdout
                    };
                    let msg = format!(
                        "supd | cannot write to {name}: {e}; its output is discarded from now on\n"
                    );
                    let _ = write_all(other, &[msg.as_bytes()]);
                }
            }
            i = j;
        }
        let permits: usize = batches.iter().map(|b| b.permits).sum();
        if permits > 0 {
            budget.add_permits(permits);
        }
        batches.clear();
        if finished {
            break;
        }
    }
}

/// Writes every byte of `parts` to `target`, retrying short writes and interruptions.
fn write_all(target: Target, parts: &[&[u8]]) -> Result<(), Errno> {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let fd = match target {
        Target::Stdout => stdout.as_fd(),
        Target::Stderr => stderr.as_fd(),
    };
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
