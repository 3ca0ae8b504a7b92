//! How answers look on a terminal: the status table (its states in colour, which
//! `anstream` removes when stdout is no terminal or `NO_COLOR` is set), JSON, log lines.

use std::fmt::Write as _;
use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use supd_proto::{LogChunk, ProgramState, ProgramStatus, StateEvent, Stream};

use crate::client::Failure;

/// The colour of a state in the status table: green when up, yellow on the way, red when it
/// failed, dim when at rest.
pub fn state_style(p: &ProgramStatus) -> Style {
    let colour = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
    match p.state {
        ProgramState::Running if p.up => colour(AnsiColor::Green),
        // Running but not (yet) healthy.
        ProgramState::Running => colour(AnsiColor::Yellow),
        ProgramState::Starting | ProgramState::Stopping => colour(AnsiColor::Yellow),
        ProgramState::Backoff | ProgramState::Fatal => colour(AnsiColor::Red).bold(),
        // A oneshot that completed, or a run that ended some other way.
        ProgramState::Exited if p.up => colour(AnsiColor::Green),
        ProgramState::Exited => Style::new(),
        ProgramState::Stopped => Style::new().dimmed(),
    }
}

/// `NAME STATE PID UPTIME RESTARTS CPU MEM INFO`, one row per program, columns aligned, the
/// state in colour (ANSI codes; write it through `anstream`). CPU and MEM, after the
/// columns scripts already cut by position, are `-` for a program without a process (or
/// from a supd that does not sample). When a program holds
/// sockets, a `SOCKETS` column before `INFO` lists each program's addresses (`-` for none).
pub fn status_table(programs: &[ProgramStatus]) -> String {
    let with_sockets = programs.iter().any(|p| !p.sockets.is_empty());
    let rows: Vec<Vec<String>> = programs
        .iter()
        .map(|p| {
            let mut row = vec![
                p.name.clone(),
                p.state.to_string(),
                pid(p),
                p.uptime_ms.map_or("-".into(), uptime),
                p.restarts.to_string(),
                cpu(p),
                memory(p),
            ];
            if with_sockets {
                row.push(match p.sockets.as_slice() {
                    [] => "-".into(),
                    all => all.join(","),
                });
            }
            row.push(info(p));
            row
        })
        .collect();
    let mut header = vec!["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "CPU", "MEM"];
    if with_sockets {
        header.push("SOCKETS");
    }
    header.push("INFO");
    let styles: Vec<Style> = programs.iter().map(state_style).collect();
    let mut out = String::new();
    for line in aligned(&header, rows, &styles, &[]) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The lines of a table: the header, then each row, every column as wide as its widest
/// cell and two spaces apart (the columns numbered in `right` aligned right, the others
/// left), the last column unpadded and trailing spaces trimmed. Column 1, the state, of
/// row `i` is in `styles[i]`, padded outside the colour so the columns line up either way.
pub fn aligned(
    header: &[&str],
    rows: Vec<Vec<String>>,
    styles: &[Style],
    right: &[usize],
) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let styles = std::iter::once(Style::new()).chain(styles.iter().copied());
    std::iter::once(header)
        .chain(rows)
        .zip(styles)
        .map(|(row, style)| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                let (before, after) = match (right.contains(&i), i + 1 == row.len()) {
                    (true, _) => (pad, 0),
                    (false, true) => (0, 0),
                    (false, false) => (0, pad),
                };
                let (on, off) = if i == 1 {
                    (style.render().to_string(), style.render_reset().to_string())
                } else {
                    (String::new(), String::new())
                };
                let _ = write!(line, "{:before$}{on}{cell}{off}{:after$}", "", "");
                if i + 1 < row.len() {
                    line.push_str("  ");
                }
            }
            line.truncate(line.trim_end().len());
            line
        })
        .collect()
}

/// The PID column: the running process, or `-`.
pub fn pid(p: &ProgramStatus) -> String {
    p.pid.map_or("-".into(), |pid| pid.to_string())
}

/// The CPU column: `0.3%`, `103.0%` (100% is one core), or `-` without a sample.
pub fn cpu(p: &ProgramStatus) -> String {
    p.usage
        .as_ref()
        .map_or("-".into(), |u| percent(u.cpu_percent.0))
}

/// The MEM column: resident memory of the program's processes (`12.4M`), or `-`.
pub fn memory(p: &ProgramStatus) -> String {
    p.usage.as_ref().map_or("-".into(), |u| bytes(u.rss_bytes))
}

/// `0.3%`: one decimal.
pub fn percent(value: f64) -> String {
    format!("{value:.1}%")
}

/// A size in powers of 1024, as `ps` and `top` show memory: `812K`, `12.4M`, `312M`,
/// `1.2G`; below a KiB, in bytes (`512B`).
pub fn bytes(n: u64) -> String {
    const UNITS: [char; 5] = ['K', 'M', 'G', 'T', 'P'];
    if n < 1024 {
        return format!("{n}B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value < 99.95 {
        format!("{value:.1}{}", UNITS[unit])
    } else {
        format!("{value:.0}{}", UNITS[unit])
    }
}

/// The last column: why the program is where it is, and how its last run ended; health
/// and sd_notify status when there are.
fn info(p: &ProgramStatus) -> String {
    let mut reason = p.reason.clone().unwrap_or_default();
    let replacing = p.previous_pid.map(|prev| match p.state {
        ProgramState::Running => format!("pid {prev} stopping"),
        _ => format!("pid {prev} serves until this one is up"),
    });
    for extra in [&p.health, &p.notify_status, &replacing]
        .into_iter()
        .flatten()
    {
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

/// Why `supctl health` counts a program as not up, in words: `flaky is in backoff (exited
/// with 1 after 12ms)`, `web is running (unhealthy: HTTP 503 (3 in a row))`.
pub fn not_up(p: &ProgramStatus) -> String {
    let state = match p.state {
        ProgramState::Backoff => "is in backoff",
        ProgramState::Exited => "has exited",
        ProgramState::Stopped => "is stopped",
        ProgramState::Fatal => "is fatal",
        ProgramState::Starting => "is starting",
        ProgramState::Stopping => "is stopping",
        ProgramState::Running => "is running",
    };
    match p.health.as_ref().or(p.reason.as_ref()) {
        Some(why) => format!("{} {state} ({why})", p.name),
        None => format!("{} {state}", p.name),
    }
}

/// `45s`, `3m12s`, `2h5m`, `3d4h`.
pub fn uptime(ms: u64) -> String {
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

/// Prints log chunks, every line to stdout whichever stream it came from (like journalctl
/// and kubectl logs, so `supctl logs web | grep Traceback` sees stderr too): raw for one
/// program, `name | line` (padded) for several, each line after its arrival time with
/// `timestamps`, or one JSON object per line (which keeps the stream).
pub struct LogPrinter {
    width: Option<usize>,
    timestamps: bool,
    json: bool,
}

impl LogPrinter {
    pub fn new(width: Option<usize>, timestamps: bool, json: bool) -> Self {
        LogPrinter {
            width,
            timestamps,
            json,
        }
    }

    pub fn print(&mut self, chunk: &LogChunk) -> Result<(), Failure> {
        let out = self.format(chunk);
        io::stdout()
            .lock()
            .write_all(out.as_bytes())
            .map_err(closed)
    }

    fn format(&self, chunk: &LogChunk) -> String {
        let mut out = String::with_capacity(chunk.text.len() + 16);
        let ts = (self.json || self.timestamps).then(|| ts_text(chunk.ts_ms));
        for line in chunk.text.split_inclusive('\n') {
            if self.json {
                let object = serde_json::json!({
                    "ts": ts,
                    "program": chunk.program,
                    "stream": match chunk.stream { Stream::Stdout => "stdout", Stream::Stderr => "stderr" },
                    "line": line.strip_suffix('\n').unwrap_or(line),
                });
                let _ = writeln!(out, "{object}");
                continue;
            }
            if let Some(width) = self.width {
                let _ = write!(out, "{:<width$} | ", chunk.program);
            }
            if let Some(ts) = &ts {
                let _ = write!(out, "{ts} ");
            }
            out.push_str(line);
        }
        out
    }
}

/// A closed stdout (`supctl logs | head`) ends the command quietly.
pub fn closed(_: io::Error) -> Failure {
    Failure {
        code: crate::exit::SUCCESS,
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
pub mod tests {
    use super::*;
    use supd_proto::{Percent, Usage};

    #[test]
    fn health_says_what_a_program_that_is_not_up_is_doing_and_why() {
        let mut flaky = status("flaky", ProgramState::Backoff);
        flaky.reason = Some("exited with 1 after 12ms".into());
        assert_eq!(
            not_up(&flaky),
            "flaky is in backoff (exited with 1 after 12ms)"
        );
        let mut web = status("web", ProgramState::Running);
        web.reason = Some("autostart".into());
        web.health = Some("unhealthy: HTTP 503 (3 in a row)".into());
        assert_eq!(
            not_up(&web),
            "web is running (unhealthy: HTTP 503 (3 in a row))"
        );
        assert_eq!(
            not_up(&status("job", ProgramState::Exited)),
            "job has exited"
        );
    }

    pub fn status(name: &str, state: ProgramState) -> ProgramStatus {
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
            started_ms: None,
            stopped_ms: None,
            previous_pid: None,
            sockets: Vec::new(),
            depends_on: Vec::new(),
            usage: None,
        }
    }

    #[test]
    fn an_overlap_shows_both_pids() {
        let mut web = status("web", ProgramState::Starting);
        web.pid = Some(4243);
        web.previous_pid = Some(4242);
        web.up = true;
        let table = status_table(&[web.clone()]);
        assert!(table.contains("4243"), "{table}");
        assert!(
            table.contains("pid 4242 serves until this one is up"),
            "{table}"
        );
        web.state = ProgramState::Running;
        assert!(status_table(&[web]).contains("pid 4242 stopping"));
    }

    #[test]
    fn table_aligns_columns() {
        let mut web = status("web", ProgramState::Running);
        web.pid = Some(4242);
        web.uptime_ms = Some(125_000);
        web.restarts = 1;
        web.last_exit = Some("killed by SIGKILL".into());
        web.reason = Some("restarted: killed by SIGKILL".into());
        web.usage = Some(usage(12.5, 13_002_342));
        let mut bad = status("worker-long", ProgramState::Backoff);
        bad.reason = Some("exited with 1 after 3ms".into());
        let table = status_table(&[web, bad]);
        assert_eq!(
            anstream::adapter::strip_str(&table).to_string(),
            "NAME         STATE    PID   UPTIME  RESTARTS  CPU    MEM    INFO\n\
             web          running  4242  2m5s    1         12.5%  12.4M  restarted: killed by SIGKILL\n\
             worker-long  backoff  -     -       0         -      -      exited with 1 after 3ms\n"
        );
    }

    #[test]
    fn held_sockets_get_a_column_when_a_program_has_any() {
        let mut web = status("web", ProgramState::Running);
        web.pid = Some(7);
        web.sockets = vec!["tcp://127.0.0.1:8000".into(), "unix:///run/web.sock".into()];
        let table = status_table(&[web, status("db", ProgramState::Stopped)]);
        assert_eq!(
            anstream::adapter::strip_str(&table).to_string(),
            "NAME  STATE    PID  UPTIME  RESTARTS  CPU  MEM  SOCKETS                                    INFO\n\
             web   running  7    -       0         -    -    tcp://127.0.0.1:8000,unix:///run/web.sock\n\
             db    stopped  -    -       0         -    -    -\n"
        );
    }

    #[test]
    fn table_colours_states_outside_the_padding() {
        let mut web = status("web", ProgramState::Running);
        web.pid = Some(7);
        let table = status_table(&[web, status("db", ProgramState::Fatal)]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[1],
            "web   \x1b[32mrunning\x1b[0m  7    -       0         -    -"
        );
        assert_eq!(
            lines[2],
            "db    \x1b[1m\x1b[31mfatal\x1b[0m    -    -       0         -    -"
        );
        assert!(
            !lines[0].contains('\x1b'),
            "the header is plain: {:?}",
            lines[0]
        );
    }

    fn chunk(program: &str, stream: Stream, text: &str) -> LogChunk {
        LogChunk {
            program: program.into(),
            stream,
            ts_ms: 1_795_449_662_123,
            text: text.into(),
        }
    }

    #[test]
    fn log_lines_get_name_then_time_and_json_keeps_the_stream() {
        let err = chunk("web", Stream::Stderr, "Traceback\n  File x\n");
        assert_eq!(
            LogPrinter::new(None, false, false).format(&err),
            "Traceback\n  File x\n"
        );
        assert_eq!(
            LogPrinter::new(Some(6), true, false).format(&err),
            "web    | 2026-11-23T16:01:02.123Z Traceback\n\
             web    | 2026-11-23T16:01:02.123Z   File x\n"
        );
        assert_eq!(
            LogPrinter::new(None, true, true).format(&chunk("web", Stream::Stderr, "oops\n")),
            "{\"line\":\"oops\",\"program\":\"web\",\"stream\":\"stderr\",\"ts\":\"2026-11-23T16:01:02.123Z\"}\n"
        );
    }

    pub fn usage(cpu_percent: f64, rss_bytes: u64) -> Usage {
        Usage {
            cpu_percent: Percent(cpu_percent),
            cpu_ms: 0,
            rss_bytes,
            processes: 1,
        }
    }

    #[test]
    fn memory_reads_like_ps_and_cpu_has_one_decimal() {
        let cases = [
            (0, "0B"),
            (512, "512B"),
            (1024, "1.0K"),
            (831_488, "812K"),
            (13_002_342, "12.4M"),
            (327_155_712, "312M"),
            (1_288_490_189, "1.2G"),
            (1_073_741_823, "1.0G"),
        ];
        for (n, text) in cases {
            assert_eq!(bytes(n), text, "{n}");
        }
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(0.26), "0.3%");
        assert_eq!(percent(199.96), "200.0%");
    }

    #[test]
    fn columns_can_align_right() {
        let rows = vec![vec!["a".to_string(), "x".into(), "7".into(), "end".into()]];
        let lines = aligned(&["NAME", "ST", "PID", "LAST"], rows, &[Style::new()], &[2]);
        assert_eq!(lines, ["NAME  ST  PID  LAST", "a     x     7  end"]);
    }

    #[test]
    fn uptime_reads_naturally() {
        assert_eq!(uptime(999), "0s");
        assert_eq!(uptime(61_000), "1m1s");
        assert_eq!(uptime(7_260_000), "2h1m");
        assert_eq!(uptime(90_000_000), "1d1h");
    }
}
