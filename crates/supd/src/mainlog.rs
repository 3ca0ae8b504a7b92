//! supd's own messages, kept for supervisord's clients: its "main log" (`readLog`,
//! `clearLog`, `supervisorctl maintail [-f]`).
//!
//! supd writes its messages to its standard error, not to a file; this module keeps the
//! most recent [`KEEP`] bytes of them as lines (`2026-12-07T13:22:26.123Z INFO web: running`),
//! with the offset of their end in everything written since supd started (the offsets of
//! `readLog`), and tells live followers. Recording is cheap and bounded; nothing is kept
//! but the bytes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::logplane::StreamLog;

/// Bytes of recent messages kept.
const KEEP: usize = 256 * 1024;

struct MainLog {
    lines: VecDeque<Arc<str>>,
    bytes: usize,
    /// Bytes written since supd started.
    end: u64,
    followers: Option<broadcast::Sender<Arc<str>>>,
}

static LOG: Mutex<MainLog> = Mutex::new(MainLog {
    lines: VecDeque::new(),
    bytes: 0,
    end: 0,
    followers: None,
});

fn log() -> std::sync::MutexGuard<'static, MainLog> {
    LOG.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps one message.
pub fn record(level: &str, message: &str) {
    let ts = crate::logplane::format::timestamp(std::time::SystemTime::now());
    let line: Arc<str> = format!("{ts} {level} {message}\n").into();
    let mut log = log();
    log.bytes += line.len();
    log.end += line.len() as u64;
    if let Some(tx) = &log.followers
        && tx.receiver_count() > 0
    {
        let _ = tx.send(line.clone());
    }
    log.lines.push_back(line);
    while log.bytes > KEEP
        && let Some(old) = log.lines.pop_front()
    {
        log.bytes -= old.len();
    }
}

/// The messages kept, with the offset of their end.
pub fn snapshot() -> StreamLog {
    let log = log();
    let mut text = Vec::with_capacity(log.bytes);
    for line in &log.lines {
        text.extend_from_slice(line.as_bytes());
    }
    StreamLog { text, end: log.end }
}

/// Forgets the messages kept (offsets go on from where they were).
pub fn clear() {
    let mut log = log();
    log.lines.clear();
    log.bytes = 0;
}

/// Messages from now on.
pub fn follow() -> broadcast::Receiver<Arc<str>> {
    log()
        .followers
        .get_or_insert_with(|| broadcast::channel(1024).0)
        .subscribe()
}
