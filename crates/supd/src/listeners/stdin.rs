//! The write ends of programs' stdin pipes (`stdin = "pipe"`, and every event listener):
//! what supd writes to a program, in order, without ever blocking the owner.
//!
//! Each pipe has a writer task fed by a queue; a write is answered once its bytes are in
//! the pipe (or the pipe turned out closed). A pipe is dropped when its process is gone, so
//! the program's next run gets a fresh one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::OwnedFd;

use supd_core::ProgId;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

/// Why bytes could not be written to a program's stdin (XML-RPC `sendProcessStdin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StdinError {
    /// No program has this name (the resolver's sentence).
    UnknownProgram(String),
    /// The program has no process (or it is stopping).
    NotRunning,
    /// The program's stdin is `/dev/null` (it has no `stdin = "pipe"`).
    NoPipe,
    /// The process closed its stdin (or exited) before the bytes were written.
    Closed,
}

impl std::fmt::Display for StdinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StdinError::UnknownProgram(message) => f.write_str(message),
            StdinError::NotRunning => f.write_str("the program is not running"),
            StdinError::NoPipe => f.write_str(
                "the program's stdin is /dev/null (set stdin = \"pipe\" to write to it)",
            ),
            StdinError::Closed => f.write_str("the program's stdin is closed"),
        }
    }
}

/// Where a write's outcome goes.
pub type Written = oneshot::Sender<Result<(), StdinError>>;

struct Chunk {
    data: Vec<u8>,
    done: Option<Written>,
}

/// The stdin pipes of the programs' current processes.
#[derive(Default)]
pub struct StdinPipes {
    pipes: RefCell<HashMap<ProgId, mpsc::UnboundedSender<Chunk>>>,
}

impl StdinPipes {
    /// Takes over `write_end`, the stdin pipe of `prog`'s new process.
    pub fn attach(&self, prog: ProgId, write_end: OwnedFd) {
        let pipe = match tokio::net::unix::pipe::Sender::from_owned_fd(write_end) {
            Ok(pipe) => pipe,
            Err(e) => {
                tracing::error!("cannot write to the stdin of program #{prog}: {e}");
                return;
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        self.pipes.borrow_mut().insert(prog, tx);
        tokio::task::spawn_local(write_all(pipe, rx));
    }

    /// `prog`'s process is gone: its pipe is closed once what was queued is written.
    pub fn detach(&self, prog: ProgId) {
        self.pipes.borrow_mut().remove(&prog);
    }

    /// Queues `data` for `prog`'s stdin; `done` hears how it went. Refused at once when
    /// `prog` has no pipe.
    pub fn write(
        &self,
        prog: ProgId,
        data: Vec<u8>,
        done: Option<Written>,
    ) -> Result<(), StdinError> {
        let pipes = self.pipes.borrow();
        let Some(tx) = pipes.get(&prog) else {
            return Err(StdinError::NoPipe);
        };
        tx.send(Chunk { data, done })
            .map_err(|_| StdinError::Closed)
    }
}

/// Writes every chunk in order until the queue closes; after a failed write the pipe is
/// closed, and every later chunk is answered so.
async fn write_all(
    mut pipe: tokio::net::unix::pipe::Sender,
    mut chunks: mpsc::UnboundedReceiver<Chunk>,
) {
    let mut closed = false;
    while let Some(chunk) = chunks.recv().await {
        let outcome = if closed {
            Err(StdinError::Closed)
        } else {
            match pipe.write_all(&chunk.data).await {
                Ok(()) => Ok(()),
                Err(_) => {
                    closed = true;
                    Err(StdinError::Closed)
                }
            }
        };
        if let Some(done) = chunk.done {
            let _ = done.send(outcome);
        }
    }
}

/// Writes `data` to the stdin of program `name` (as supctl names it) through the owner, and
/// answers once the bytes are in the pipe: what XML-RPC's `sendProcessStdin` calls.
pub async fn send(
    events: &mpsc::UnboundedSender<crate::event::Event>,
    name: String,
    data: Vec<u8>,
) -> Result<(), StdinError> {
    let (reply, answer) = oneshot::channel();
    let event = crate::event::Event::SendStdin { name, data, reply };
    if events.send(event).is_err() {
        // The owner is gone: supd is exiting.
        return Err(StdinError::NotRunning);
    }
    answer.await.unwrap_or(Err(StdinError::NotRunning))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// Runs `test` on a single-threaded event loop, as supd's owner runs.
    fn on_event_loop(test: impl std::future::Future<Output = ()>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        tokio::task::LocalSet::new().block_on(&runtime, test);
    }

    #[test]
    fn writes_arrive_in_order_and_are_answered() {
        on_event_loop(async {
            let pipes = StdinPipes::default();
            assert_eq!(pipes.write(0, b"x".to_vec(), None), Err(StdinError::NoPipe));
            let (read, write) = supd_sys::pipe::new_pipe().expect("pipe");
            pipes.attach(0, write);
            pipes.write(0, b"one ".to_vec(), None).expect("queued");
            let (done, answer) = oneshot::channel();
            pipes.write(0, b"two".to_vec(), Some(done)).expect("queued");
            assert_eq!(answer.await, Ok(Ok(())));
            // Both are in the pipe once the second is answered.
            let mut got = [0u8; 7];
            std::fs::File::from(read)
                .read_exact(&mut got)
                .expect("read");
            assert_eq!(&got, b"one two");
            pipes.detach(0);
        });
    }

    #[test]
    fn a_closed_pipe_is_said_so() {
        on_event_loop(async {
            let pipes = StdinPipes::default();
            let (read, write) = supd_sys::pipe::new_pipe().expect("pipe");
            pipes.attach(3, write);
            drop(read);
            let (done, answer) = oneshot::channel();
            pipes
                .write(3, b"lost".to_vec(), Some(done))
                .expect("queued");
            assert_eq!(answer.await, Ok(Err(StdinError::Closed)));
            let (done, answer) = oneshot::channel();
            pipes
                .write(3, b"lost too".to_vec(), Some(done))
                .expect("queued");
            assert_eq!(answer.await, Ok(Err(StdinError::Closed)));
        });
    }
}
