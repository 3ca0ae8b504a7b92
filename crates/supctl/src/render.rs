//! How answers look on a terminal: the status table, JSON, log lines.

use std::fmt::Write as _;
use std::io::{self, Write};

use supd_proto::{LogChunk, ProgramState, ProgramStatus, StateEvent, Stream};

use crate::client::Failure;

/// `NAME STATE PID UPTIME RESTARTS INFO`, one row per program, columns aligned.
pub fn status_table(programs: &[ProgramStatus]) -> String {
    let rows: Vec<[String; 6]> = programs
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                p.state.to_string(),
                p.pid.map_or("-".into(), |pid| pid.to_string()),
                p.uptime_ms.map_or("-".into(), uptime),
                p.restarts.to_string(),
                info(p),
            ]
        })
        .collect();
    let header = ["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "INFO"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header.map(String::from)).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[i]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The last column: why the program is where it is, and how its last run ended; health
/// and sd_notify status when there are.
fn info(p: &ProgramStatus) -> String {
    let mut reason = p.reason.clone().unwrap_or_default();
    for extra in [&p.health, &p.notify_status].into_iter().flatten() {
        if !reason.is_empty() {
            reason.push_str("; ");
        }
        reason.push_str(extra);
    }
    match (p.state, &p.last_exit) {
        // A program that is up: what caused the current run, plus how the last one ended.
        (ProgramState::Running | ProgramState::Starting, Some(last))
            if !reason.contains(last.as_str()) =>
        {
            format!("{reason} (last run {last})")
        }
        _ => reason,
    }
}

/// `45s`, `3m12s`, `2h5m`, `3d4h`.
fn uptime(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        3600..86400 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86400, s % 86400 / 3600),
    }
}

pub fn status_json(programs: &[ProgramStatus]) -> String {
    serde_json::to_string_pretty(programs).unwrap_or_else(|_| "[]".into())
}

/// Prints log chunks: raw for one program, `name | line` (padded) for several, or one JSON
/// object per line.
pub struct LogPrinter {
    width: Option<usize>,
    json: bool,
}

impl LogPrinter {
    pub fn new(width: Option<usize>, json: bool) -> Self {
        LogPrinter { width, json }
    }

    pub fn print(&mut self, chunk: &LogChunk) -> Result<(), Failure> {
        let mut out = String::with_capacity(chunk.text.len() + 16);
        for line in chunk.text.split_inclusive('\n') {
            if self.json {
                let object = serde_json::json!({
                    "ts": ts_text(chunk.ts_ms),
                    "program": chunk.program,
                    "stream": match chunk.stream { Stream::Stdout => "stdout", Stream::Stderr => "stderr" },
                    "line": line.strip_suffix('\n').unwrap_or(line),
                });
                let _ = writeln!(out, "{object}");
            } else if let Some(width) = self.width {
                let _ = write!(out, "{:<width$} | {line}", chunk.program);
            } else {
                out.push_str(line);
            }
        }
        // JSON lines all go to stdout; text goes back to the stream it came from.
        let result = match (self.json, chunk.stream) {
            (false, Stream::Stderr) => io::stderr().lock().write_all(out.as_bytes()),
            _ => io::stdout().lock().write_all(out.as_bytes()),
        };
        result.map_err(closed)
    }
}

/// A closed stdout (`supctl logs | head`) ends the command quietly.
fn closed(_: io::Error) -> Failure {
    Failure {
        code: 0,
        message: "output closed".into(),
    }
}

/// Milliseconds since the epoch as `2026-11-23T16:01:02.123Z`.
fn ts_text(ms: u64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_millis(at).to_string()
}

/// One state change: `2026-11-23T16:01:02.123Z web: running -> exited (exited with 1)`.
pub fn event(e: &StateEvent, json: bool) -> Result<(), Failure> {
    let text = if json {
        serde_json::to_string(e).unwrap_or_default()
    } else {
        let mut line = format!("{} {}: {} -> {}", ts_text(e.ts_ms), e.program, e.from, e.to);
        if let Some(pid) = e.pid {
            let _ = write!(line, " (pid {pid})");
        }
        if let Some(reason) = e.reason.as_deref().filter(|r| !r.is_empty()) {
            let _ = write!(line, ": {reason}");
        }
        line
    };
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|_| out.flush())
        .map_err(closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str, state: ProgramState) -> ProgramStatus {
        ProgramStatus {
            name: name.into(),
            state,
            up: state == ProgramState::Running,
            pid: None,
            restarts: 0,
            exit_code: None,
            signal: None,
            last_exit: None,
            uptime_ms: None,
            reason: None,
            reason_kind: None,
            autostart: true,
            health: None,
            notify_status: None,
        }
    }

    #[test]
    fn table_aligns_columns() {
        let mut web = status("web", ProgramState::Running);
        web.pid = Some(4242);
        web.uptime_ms = Some(125_000);
        web.restarts = 1;
        web.last_exit = Some("killed by SIGKILL".into());
        web.reason = Some("restarted: killed by SIGKILL".into());
        let mut bad = status("worker-long", ProgramState::Backoff);
        bad.reason = Some("exited with 1 after 3ms".into());
        let table = status_table(&[web, bad]);
        assert_eq!(
            table,
            "NAME         STATE    PID   UPTIME  RESTARTS  INFO\n\
             web          running  4242  2m5s    1         restarted: killed by SIGKILL\n\
             worker-long  backoff  -     -       0         exited with 1 after 3ms\n"
        );
    }

    #[test]
    fn uptime_reads_naturally() {
        assert_eq!(uptime(999), "0s");
        assert_eq!(uptime(61_000), "1m1s");
        assert_eq!(uptime(7_260_000), "2h1m");
        assert_eq!(uptime(90_000_000), "1d1h");
    }
}
