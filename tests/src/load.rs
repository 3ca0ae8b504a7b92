//! A bounded load loop for the zero-downtime tests: HTTP/1.0 GETs to a loopback address,
//! one after another on one thread, each one either answered or failed with a kind
//! (refused, reset, other). Requests only ever wait (long timeouts): what a restart must
//! not cause is a refused or broken connection.
//!
//! [`LoadLoop::between`] runs a closure on the load thread between two requests, so a
//! `kill -9` never lands on a request in flight (a process killed that way takes its
//! accepted connection with it, under any supervisor); what is measured is the window
//! while the program is down, when new requests must queue instead of being refused.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long one request may wait for its connection and its answer.
const REQUEST_PATIENCE: Duration = Duration::from_secs(15);

/// How many failures are kept word for word in the report.
const KEPT_ERRORS: usize = 5;

/// What the load loop saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Requests answered with a 2xx status.
    pub answered: u64,
    /// Connections refused (nothing listening: the window a held socket closes).
    pub refused: u64,
    /// Connections reset or closed without an answer.
    pub reset: u64,
    /// Anything else: timeouts, non-2xx answers, other errors.
    pub other: u64,
    /// The first few failures, as sentences.
    pub first_errors: Vec<String>,
}

impl LoadReport {
    /// Every failure, whatever its kind.
    pub fn failed(&self) -> u64 {
        self.refused + self.reset + self.other
    }
}

type Between = Box<dyn FnOnce() + Send>;

/// The running loop; [`LoadLoop::finish`] stops it and returns its report.
pub struct LoadLoop {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    between: mpsc::Sender<(Between, mpsc::Sender<()>)>,
    report: Arc<Mutex<LoadReport>>,
    thread: Option<JoinHandle<()>>,
}

impl LoadLoop {
    /// Starts sending requests for `path` to `addr` (a loopback address), at most
    /// `max_requests` of them, until [`LoadLoop::finish`].
    pub fn start(addr: SocketAddr, path: &str, max_requests: u64) -> LoadLoop {
        assert!(
            addr.ip().is_loopback(),
            "load tests use loopback addresses only"
        );
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let report = Arc::new(Mutex::new(LoadReport::default()));
        let (between, pending) = mpsc::channel::<(Between, mpsc::Sender<()>)>();
        let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        let thread = {
            let (stop, answered, report) = (stop.clone(), answered.clone(), report.clone());
            std::thread::spawn(move || {
                for _ in 0..max_requests {
                    while let Ok((job, done)) = pending.try_recv() {
                        job();
                        let _ = done.send(());
                    }
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let result = one_request(addr, &request);
                    let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
                    match result {
                        Ok(()) => {
                            r.answered += 1;
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                        Err((kind, sentence)) => {
                            match kind {
                                Failure::Refused => r.refused += 1,
                                Failure::Reset => r.reset += 1,
                                Failure::Other => r.other += 1,
                            }
                            if r.first_errors.len() < KEPT_ERRORS {
                                r.first_errors.push(sentence);
                            }
                        }
                    }
                }
                // Jobs sent after the last request still run, so `between` never hangs.
                while let Ok((job, done)) = pending.try_recv() {
                    job();
                    let _ = done.send(());
                }
            })
        };
        LoadLoop {
            stop,
            answered,
            between,
            report,
            thread: Some(thread),
        }
    }

    /// Requests answered so far.
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::SeqCst)
    }

    /// Runs `job` on the load thread between two requests, and returns once it has run.
    pub fn between(&self, job: impl FnOnce() + Send + 'static) {
        let (done, ran) = mpsc::channel();
        self.between
            .send((Box::new(job), done))
            .expect("the load loop is running");
        ran.recv().expect("the load loop ran the job");
    }

    /// Stops the loop and returns what it saw.
    pub fn finish(mut self) -> LoadReport {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().expect("the load thread panicked");
        }
        self.report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

enum Failure {
    Refused,
    Reset,
    Other,
}

fn one_request(addr: SocketAddr, request: &str) -> Result<(), (Failure, String)> {
    let io = |what: &str, e: std::io::Error| {
        let kind = match e.kind() {
            ErrorKind::ConnectionRefused => Failure::Refused,
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                Failure::Reset
            }
            _ => Failure::Other,
        };
        (kind, format!("{what} {addr}: {e}"))
    };
    let mut stream =
        TcpStream::connect_timeout(&addr, REQUEST_PATIENCE).map_err(|e| io("connect to", e))?;
    stream
        .set_read_timeout(Some(REQUEST_PATIENCE))
        .and_then(|()| stream.set_write_timeout(Some(REQUEST_PATIENCE)))
        .map_err(|e| io("set timeouts on", e))?;
    stream
        .write_all(request.as_bytes())
        .map_err(|e| io("send to", e))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| io("read from", e))?;
    if answer.is_empty() {
        return Err((Failure::Reset, format!("{addr} closed without an answer")));
    }
    let status_line = String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    let ok = status_line
        .split_whitespace()
        .nth(1)
        .is_some_and(|code| code.starts_with('2'));
    if ok {
        Ok(())
    } else {
        Err((Failure::Other, format!("{addr} answered {status_line:?}")))
    }
}

impl Drop for LoadLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
