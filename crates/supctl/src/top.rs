//! `supctl top`: the programs and their CPU and memory, redrawn every second on the
//! terminal's alternate screen until `q`; one plain snapshot when stdout is no terminal
//! (like `top -b -n 1`), for scripts.
//!
//! Each second is one `status` request with resources, so supd samples `/proc` only while
//! someone looks. Keys: `c`/`m`/`n` sort by CPU, memory or name, `r` reverses, `q` or
//! Ctrl-C quits; the terminal is restored however the view ends (a key, SIGTERM, SIGHUP,
//! supd going away).

use std::io::{self, IsTerminal, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use anstyle::Style;
use supd_proto::{ProgramState, ProgramStatus};
use supd_sys::terminal::{Input, Terminal};

use crate::client::{Client, Failure};
use crate::{exit, render};

/// How often the view asks supd again.
const REFRESH: Duration = Duration::from_secs(1);

/// How long supd may take to answer before the view gives up on it.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Lines above the table: the summary, the sort order, a blank line.
const HEADER_LINES: usize = 3;

/// Which column the rows are sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Busiest first.
    Cpu,
    /// Largest first.
    Memory,
    /// Alphabetical.
    Name,
}

/// What the user chose: the order, and whether it is reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub order: Order,
    pub reversed: bool,
}

impl Default for View {
    fn default() -> Self {
        View {
            order: Order::Cpu,
            reversed: false,
        }
    }
}

/// How a frame is laid out: the terminal's size (`None`: a snapshot, nothing cut), colour,
/// and the time of day for the summary.
pub struct Layout<'a> {
    pub size: Option<(usize, usize)>,
    pub colour: bool,
    pub clock: &'a str,
}

/// `supctl top [NAMES...]`.
pub fn run(socket: &Path, names: Vec<String>) -> Result<u8, Failure> {
    let fetch = || {
        let mut client = Client::connect(socket)?;
        client.answer_within(ANSWER_WITHIN)?;
        crate::status(&mut client, names.clone(), true)
    };
    // Before the screen changes, so an unknown name or an absent supd reads as usual.
    let programs = fetch()?;
    let colour = anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never;
    if !io::stdout().is_terminal() {
        let layout = Layout {
            size: None,
            colour,
            clock: &clock(),
        };
        let mut out = anstream::stdout().lock();
        for line in frame(&programs, View::default(), &layout) {
            writeln!(out, "{line}").map_err(render::closed)?;
        }
        return Ok(exit::SUCCESS);
    }
    let mut screen = Screen::open()?;
    let mut programs = programs;
    let mut view = View::default();
    let mut due = Instant::now() + REFRESH;
    loop {
        let layout = Layout {
            size: Some(screen.size()),
            colour,
            clock: &clock(),
        };
        screen.draw(&frame(&programs, view, &layout))?;
        let input = screen
            .terminal
            .wait(due.saturating_duration_since(Instant::now()))
            .map_err(|e| terminal_failure(&e))?;
        match input {
            Input::Timeout if Instant::now() >= due => {
                programs = fetch().map_err(gone)?;
                due = Instant::now() + REFRESH;
            }
            Input::Timeout | Input::Resized => {}
            Input::Ended => return Ok(exit::SUCCESS),
            Input::Keys(keys) => {
                for key in keys {
                    match key {
                        // q, Q, Ctrl-C, Ctrl-D.
                        b'q' | b'Q' | 3 | 4 => return Ok(exit::SUCCESS),
                        b'c' | b'C' => view.order = Order::Cpu,
                        b'm' | b'M' => view.order = Order::Memory,
                        b'n' | b'N' => view.order = Order::Name,
                        b'r' | b'R' => view.reversed = !view.reversed,
                        _ => {}
                    }
                }
            }
        }
    }
}

/// supd stopped answering while the view was up: the exit code of "cannot reach supd"
/// (an unknown name after a reload keeps its own).
fn gone(failure: Failure) -> Failure {
    match failure.code {
        exit::USAGE => failure,
        _ => Failure {
            code: exit::UNREACHABLE,
            message: format!("supd went away: {}", failure.message),
        },
    }
}

fn terminal_failure(e: &io::Error) -> Failure {
    Failure {
        code: exit::FAILED,
        message: format!("cannot use the terminal: {}", supd_sys::describe(e)),
    }
}

/// The local time of day, `21:03:04`.
fn clock() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(now)
        .ok()
        .and_then(supd_sys::clock::local_time)
        .map_or_else(String::new, |t| {
            format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second)
        })
}

/// The alternate screen with the cursor hidden, on a terminal in cbreak mode; dropping it
/// puts the terminal back as it was.
struct Screen {
    terminal: Terminal,
}

impl Screen {
    /// Switch to the alternate screen and hide the cursor.
    const ENTER: &'static str = "\x1b[?1049h\x1b[?25l";
    /// Show the cursor and return to the normal screen.
    const LEAVE: &'static str = "\x1b[?25h\x1b[?1049l";

    fn open() -> Result<Screen, Failure> {
        let terminal = Terminal::open().map_err(|e| terminal_failure(&e))?;
        let mut out = io::stdout().lock();
        out.write_all(Self::ENTER.as_bytes())
            .and_then(|()| out.flush())
            .map_err(render::closed)?;
        Ok(Screen { terminal })
    }

    /// (columns, rows): from the terminal, else `$COLUMNS`/`$LINES`, else 80x24.
    fn size(&self) -> (usize, usize) {
        if let Some((columns, rows)) = supd_sys::terminal::window_size(io::stdout().as_fd()) {
            return (columns.into(), rows.into());
        }
        let env = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|&n: &usize| n > 0)
                .unwrap_or(default)
        };
        (env("COLUMNS", 80), env("LINES", 24))
    }

    /// Redraws in place: home, each line cleared to its end, the rest of the screen cleared.
    /// No newline after the last line, so a full screen never scrolls.
    fn draw(&self, lines: &[String]) -> Result<(), Failure> {
        let mut text = String::from("\x1b[H");
        text.push_str(&lines.join("\x1b[K\r\n"));
        text.push_str("\x1b[K\x1b[J");
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(render::closed)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let mut out = io::stdout().lock();
        let _ = out.write_all(Self::LEAVE.as_bytes());
        let _ = out.flush();
    }
}

/// The lines of one frame: a summary (programs by state, CPU and memory in total), the sort
/// order, then `NAME STATE PID CPU MEM RESTARTS UPTIME` sorted by `view`. With a size, lines
/// are cut to its width and rows that do not fit become `… N more`.
pub fn frame(programs: &[ProgramStatus], view: View, layout: &Layout<'_>) -> Vec<String> {
    let mut sorted: Vec<&ProgramStatus> = programs.iter().collect();
    sort(&mut sorted, view);
    let rows: Vec<Vec<String>> = sorted
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.state.to_string(),
                render::pid(p),
                render::cpu(p),
                render::memory(p),
                p.restarts.to_string(),
                p.uptime_ms.map_or("-".into(), render::uptime),
            ]
        })
        .collect();
    let styles: Vec<Style> = sorted
        .iter()
        .map(|p| {
            if layout.colour {
                render::state_style(p)
            } else {
                Style::new()
            }
        })
        .collect();
    let header = ["NAME", "STATE", "PID", "CPU", "MEM", "RESTARTS", "UPTIME"];
    let mut table = render::aligned(&header, rows, &styles, &[2, 3, 4, 5]);
    let order = match view.order {
        Order::Cpu => "CPU",
        Order::Memory => "memory",
        Order::Name => "name",
    };
    let reversed = if view.reversed { ", reversed" } else { "" };
    let mut lines = vec![summary(programs, layout.clock)];
    lines.push(match layout.size {
        Some(_) => {
            format!("sorted by {order}{reversed}; keys: c cpu, m memory, n name, r reverse, q quit")
        }
        None => format!("sorted by {order}{reversed}"),
    });
    lines.push(String::new());
    let Some((width, height)) = layout.size else {
        lines.append(&mut table);
        return lines;
    };
    let room = height.saturating_sub(HEADER_LINES).max(1);
    if table.len() > room {
        let shown = room.saturating_sub(1).max(1);
        let more = table.len() - shown;
        table.truncate(shown);
        table.push(format!("… {more} more"));
    }
    lines.append(&mut table);
    lines.truncate(height.max(1));
    lines.iter().map(|line| cut(line, width)).collect()
}

/// `21:03:04  5 programs: 3 running, 1 backoff, 1 stopped  CPU 101.3%  MEM 45.1M` (CPU and
/// memory summed over the programs sampled; `-` when none was).
fn summary(programs: &[ProgramStatus], clock: &str) -> String {
    const STATES: [ProgramState; 7] = [
        ProgramState::Running,
        ProgramState::Starting,
        ProgramState::Stopping,
        ProgramState::Backoff,
        ProgramState::Fatal,
        ProgramState::Exited,
        ProgramState::Stopped,
    ];
    let counts: Vec<String> = STATES
        .iter()
        .filter_map(|&state| {
            let n = programs.iter().filter(|p| p.state == state).count();
            (n > 0).then(|| format!("{n} {state}"))
        })
        .collect();
    let plural = if programs.len() == 1 { "" } else { "s" };
    let sampled: Vec<_> = programs.iter().filter_map(|p| p.usage.as_ref()).collect();
    let (cpu, memory) = if sampled.is_empty() {
        ("-".to_string(), "-".to_string())
    } else {
        (
            render::percent(sampled.iter().map(|u| u.cpu_percent.0).sum()),
            render::bytes(sampled.iter().map(|u| u.rss_bytes).sum()),
        )
    };
    let mut line = String::new();
    if !clock.is_empty() {
        line.push_str(clock);
        line.push_str("  ");
    }
    line.push_str(&format!("{} program{plural}", programs.len()));
    if !counts.is_empty() {
        line.push_str(": ");
        line.push_str(&counts.join(", "));
    }
    line.push_str(&format!("  CPU {cpu}  MEM {memory}"));
    line
}

/// Busiest (or largest) first, programs without a sample last; name order for `n`. Ties
/// keep supd's order (the config's).
fn sort(programs: &mut [&ProgramStatus], view: View) {
    let cpu = |p: &ProgramStatus| p.usage.as_ref().map_or(-1.0, |u| u.cpu_percent.0);
    let memory = |p: &ProgramStatus| p.usage.as_ref().map_or(-1.0, |u| u.rss_bytes as f64);
    match view.order {
        Order::Cpu => programs.sort_by(|a, b| cpu(b).total_cmp(&cpu(a))),
        Order::Memory => programs.sort_by(|a, b| memory(b).total_cmp(&memory(a))),
        Order::Name => programs.sort_by(|a, b| a.name.cmp(&b.name)),
    }
    if view.reversed {
        programs.reverse();
    }
}

/// `line` cut to `width` characters on the screen; its colour codes take no room, and a
/// line cut inside a colour ends with a reset.
fn cut(line: &str, width: usize) -> String {
    let mut out = String::with_capacity(line.len());
    let mut shown = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // A CSI sequence: ESC [ parameters, then a letter.
            out.push(c);
            for c in chars.by_ref() {
                out.push(c);
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        if shown == width {
            if out.contains('\x1b') {
                out.push_str("\x1b[0m");
            }
            return out;
        }
        out.push(c);
        shown += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::tests::{status, usage};

    fn programs() -> Vec<ProgramStatus> {
        let mut web = status("web", ProgramState::Running);
        web.pid = Some(41);
        web.uptime_ms = Some(65_000);
        web.usage = Some(usage(2.5, 50 * 1024 * 1024));
        let mut busy = status("busy", ProgramState::Running);
        busy.pid = Some(42);
        busy.restarts = 3;
        busy.uptime_ms = Some(5_000);
        busy.usage = Some(usage(99.6, 1024 * 1024));
        let idle = status("idle", ProgramState::Stopped);
        vec![web, busy, idle]
    }

    fn names(lines: &[String]) -> Vec<&str> {
        lines[HEADER_LINES + 1..]
            .iter()
            .map(|l| l.split_whitespace().next().unwrap_or(""))
            .collect()
    }

    const PLAIN: Layout<'static> = Layout {
        size: None,
        colour: false,
        clock: "21:03:04",
    };

    #[test]
    fn a_snapshot_sums_up_then_lists_the_busiest_first() {
        let lines = frame(&programs(), View::default(), &PLAIN);
        assert_eq!(
            lines,
            [
                "21:03:04  3 programs: 2 running, 1 stopped  CPU 102.1%  MEM 51.0M",
                "sorted by CPU",
                "",
                "NAME  STATE    PID    CPU    MEM  RESTARTS  UPTIME",
                "busy  running   42  99.6%   1.0M         3  5s",
                "web   running   41   2.5%  50.0M         0  1m5s",
                "idle  stopped    -      -      -         0  -",
            ]
        );
    }

    #[test]
    fn keys_choose_the_order() {
        let order = |order, reversed| {
            let lines = frame(&programs(), View { order, reversed }, &PLAIN);
            names(&lines).join(" ")
        };
        assert_eq!(order(Order::Cpu, false), "busy web idle");
        assert_eq!(order(Order::Memory, false), "web busy idle");
        assert_eq!(order(Order::Name, false), "busy idle web");
        assert_eq!(order(Order::Name, true), "web idle busy");
    }

    #[test]
    fn a_small_terminal_cuts_lines_and_counts_the_rows_left_out() {
        let layout = Layout {
            size: Some((30, HEADER_LINES + 3)),
            colour: true,
            clock: "21:03:04",
        };
        let lines = frame(&programs(), View::default(), &layout);
        assert_eq!(lines.len(), HEADER_LINES + 3, "{lines:#?}");
        assert_eq!(lines.last().unwrap(), "… 2 more");
        assert!(lines[1].starts_with("sorted by CPU; keys"), "{lines:#?}");
        for line in &lines {
            let shown = anstream::adapter::strip_str(line).to_string();
            assert!(shown.chars().count() <= 30, "{shown:?}");
        }
        // busy's state is green, the colour ends within the line.
        assert!(lines[HEADER_LINES + 1].contains("\x1b[32mrunning\x1b[0m"));
    }

    #[test]
    fn cutting_a_coloured_line_resets_the_colour() {
        assert_eq!(cut("ab\x1b[31mcdef\x1b[0m", 3), "ab\x1b[31mc\x1b[0m");
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "abc");
    }

    #[test]
    fn without_samples_the_totals_are_dashes() {
        let mut idle = programs();
        for p in &mut idle {
            p.usage = None;
        }
        assert_eq!(
            summary(&idle[..1], ""),
            "1 program: 1 running  CPU -  MEM -"
        );
    }
}
