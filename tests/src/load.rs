//! A bounded load loop for the zero-downtime tests: HTTP/1.0 GETs to a loopback address,
//! one after another on one thread, each one either answered or failed with a kind
//! (refused, reset, other). Requests only ever wait (long timeouts): what a restart must
//! not cause is a refused or broken connection.
//!
//! [`LoadLoop::between`] runs a closure on the load thread between two requests, so a
//! `kill -9` never lands on a request in flight (a process killed that way takes its
//! accepted connection with it, under any supervisor); what is measured is the window
//! while the program is down, when new requests must queue instead of being refused.
//!
//! The server these loops talk to is [`pid_server`] (tests/helpers/pid_server.py), shared by
//! the end-to-end test and supd-bench: its answers are its pid, so [`LoadLoop::last_answer`]
//! says which instance is serving.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long one request may wait for its connection and its answer.
const REQUEST_PATIENCE: Duration = Duration::from_secs(15);

/// How many failures are kept word for word in the report.
const KEPT_ERRORS: usize = 5;

/// tests/helpers/pid_server.py: `python3 pid_server.py PORT` serves HTTP on the socket it
/// inherits (systemd's protocol) or on 127.0.0.1:PORT, answers its pid, and on SIGTERM
/// finishes the request in flight and exits.
pub fn pid_server() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("helpers")
        .join("pid_server.py")
}

/// One GET of `path` at `addr` (loopback), with the load loop's patience: the body of a 2xx
/// answer, or the failure as a sentence.
pub fn get(addr: SocketAddr, path: &str) -> Result<String, String> {
    assert!(
        addr.ip().is_loopback(),
        "load tests use loopback addresses only"
    );
    one_request(addr, &request_text(addr, path)).map_err(|(_, sentence)| sentence)
}

/// Waits until `addr` answers with `pid`: the pid server's instance `pid` serves there.
pub fn wait_answered_by(addr: SocketAddr, pid: u64) {
    crate::wait_until(
        &format!("pid {pid} to answer on {addr}"),
        crate::DEADLINE,
        || {
            get(addr, "/")
                .ok()
                .filter(|body| body.trim() == pid.to_string())
        },
    );
}

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
    last_answer: Arc<Mutex<String>>,
    thread: Option<JoinHandle<()>>,
}

impl LoadLoop {
    /// Starts sending requests for `path` to `addr` (a loopback address), one right after
    /// the other, at most `max_requests` of them, until [`LoadLoop::finish`].
    pub fn start(addr: SocketAddr, path: &str, max_requests: u64) -> LoadLoop {
        Self::start_paced(addr, path, max_requests, Duration::ZERO)
    }

    /// [`LoadLoop::start`] at a steady rate: a request starts `every` after the previous
    /// one started, or as soon as that one is over when it took longer (a refused request
    /// is then one lost slot of the rate, so failures count the time the server was down,
    /// not how fast a loop can be refused).
    pub fn start_paced(
        addr: SocketAddr,
        path: &str,
        max_requests: u64,
        every: Duration,
    ) -> LoadLoop {
        assert!(
            addr.ip().is_loopback(),
            "load tests use loopback addresses only"
        );
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let report = Arc::new(Mutex::new(LoadReport::default()));
        let last_answer = Arc::new(Mutex::new(String::new()));
        let (between, pending) = mpsc::channel::<(Between, mpsc::Sender<()>)>();
        let request = request_text(addr, path);
        let thread = {
            let (stop, answered, report) = (stop.clone(), answered.clone(), report.clone());
            let last_answer = last_answer.clone();
            std::thread::spawn(move || {
                for _ in 0..max_requests {
                    while let Ok((job, done)) = pending.try_recv() {
                        job();
                        let _ = done.send(());
                    }
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let started = Instant::now();
                    let result = one_request(addr, &request);
                    let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
                    match result {
                        Ok(body) => {
                            r.answered += 1;
                            answered.fetch_add(1, Ordering::SeqCst);
                            *last_answer.lock().unwrap_or_else(|e| e.into_inner()) = body;
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
                    drop(r);
                    // The load generator's own rate, not a synchronisation.
                    if let Some(rest) = every.checked_sub(started.elapsed()) {
                        std::thread::sleep(rest);
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
            last_answer,
            thread: Some(thread),
        }
    }

    /// The body of the last answered request, trimmed (empty before the first one).
    pub fn last_answer(&self) -> String {
        self.last_answer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .trim()
            .to_string()
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

fn request_text(addr: SocketAddr, path: &str) -> String {
    format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")
}

/// One request; the body of its 2xx answer.
fn one_request(addr: SocketAddr, request: &str) -> Result<String, (Failure, String)> {
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
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status_line = head.lines().next().unwrap_or_default().to_string();
    let ok = status_line
        .split_whitespace()
        .nth(1)
        .is_some_and(|code| code.starts_with('2'));
    if ok {
        Ok(body.to_string())
    } else {
        Err((Failure::Other, format!("{addr} answered {status_line:?}")))
    }
}

impl Drop for LoadLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
