//! Hostile clients of supd's control socket (supd only). supd runs 10 programs, one of them
//! chatty (`bench-seq 1000`, 1,000 lines/s to the console). Each attack runs from threads
//! of the harness for a window of 12 s (longer than supd's 10 s request timeout) while
//! `supctl status` runs back to back; measured: its latency, supd's fds and RSS before,
//! in the middle of the window (6 s) and 1 s after the attack stopped, whether supd is alive, and
//! what supd did to the attackers. The attacks:
//! - a request line over 1 MiB (2 MiB of JSON-less bytes, then `\n`), again and again;
//! - 1,000 connections that stay idle (connected, nothing sent);
//! - one client that connects and never speaks: when does supd hang up?
//! - one client that asks `logs --follow` of the chatty program and never reads;
//! - a flood: `status` requests at up to 10,000 per second (one connection each, as supd
//!   answers one request per connection), from two threads.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use supd_proto::Request;

use super::signals::supd_row;
use super::{Ctx, Latencies, StatusProbe, Usage, markdown_table, progress};
use crate::Res;
use crate::report::Row;
use crate::system::{Instance, Options, Program, Sys};
use crate::wire::{self, hello_line, request_line};

const WINDOW: Duration = Duration::from_secs(12);

#[derive(Clone, Copy)]
enum Attack {
    HugeLine,
    IdleThousand,
    Silent,
    FollowNoRead,
    Flood,
}

impl Attack {
    fn label(self) -> &'static str {
        match self {
            Attack::HugeLine => "request line over 1 MiB, repeated",
            Attack::IdleThousand => "1,000 idle connections",
            Attack::Silent => "a client that connects and never speaks",
            Attack::FollowNoRead => "`logs --follow` of a chatty program, never read",
            Attack::Flood => "flood of `status` requests (up to 10,000/s)",
        }
    }
}

struct Outcome {
    attack: Attack,
    did: String,
    during: Latencies,
    usage: [Usage; 3],
    alive: bool,
}

pub fn run(ctx: &Ctx) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut table = Vec::new();
    let attacks = [
        Attack::HugeLine,
        Attack::IdleThousand,
        Attack::Silent,
        Attack::FollowNoRead,
        Attack::Flood,
    ];
    for attack in attacks {
        match measure(ctx, attack) {
            Ok(o) => {
                progress(&format!(
                    "hostile: {}: p99 {:?} ms; {}",
                    attack.label(),
                    o.during.p(99.0),
                    o.did
                ));
                let mut row = supd_row(
                    &format!("hostile: {}: `supctl status` p99", attack.label()),
                    "ms",
                    o.during.p(99.0).ok_or(format!(
                        "no status answered ({} failed: {:?})",
                        o.during.failures, o.during.last_failure
                    )),
                    "< 50 ms",
                    |v| v < 50.0,
                );
                row.group = "hostile";
                rows.push(row);
                let [b, d, a] = o.usage;
                let [p50, p99, failed] = o.during.cells();
                table.push(vec![
                    o.attack.label().to_string(),
                    o.did.clone(),
                    p50,
                    p99,
                    failed,
                    format!("{} / {} / {}", b.fds, d.fds, a.fds),
                    format!("{} / {} / {}", b.rss_kib, d.rss_kib, a.rss_kib),
                    if o.alive { "yes" } else { "**no**" }.into(),
                ]);
            }
            Err(e) => {
                progress(&format!("hostile: {}: {e}", attack.label()));
                let mut row = supd_row(
                    &format!("hostile: {}", attack.label()),
                    "",
                    Err(e),
                    "",
                    |_| true,
                );
                row.group = "hostile";
                rows.push(row);
            }
        }
    }
    ctx.section(format!(
        "### Hostile clients of the control socket ({} s per attack)\n\n{}",
        WINDOW.as_secs(),
        markdown_table(
            &[
                "attack",
                "what supd did",
                "status p50 (ms)",
                "status p99 (ms)",
                "status failed",
                "fds before / during / after",
                "RSS kB before / during / after",
                "supd alive",
            ],
            &table
        )
    ));
    rows
}

fn measure(ctx: &Ctx, attack: Attack) -> Res<Outcome> {
    let dir = ctx.dir("hostile");
    std::fs::create_dir_all(dir.join("state")).map_err(|e| format!("mkdir: {e}"))?;
    let seq = ctx.tools.bin("bench-seq").display().to_string();
    let state = dir.join("state").display().to_string();
    let mut programs: Vec<Program> = (0..9).map(|k| Program::sleeper(format!("s{k}"))).collect();
    programs.push(Program::new("chatty", &[&seq, "1000", &state]));
    let mut inst = Instance::start(&ctx.tools, Sys::Supd, &dir, &programs, Options::default())?;
    inst.settle(10, Duration::from_millis(500))?;
    let socket = dir.join("supd.sock");
    let before = Usage::of(inst.pid);
    let stop = Arc::new(AtomicBool::new(false));
    let attacker = start(attack, socket.clone(), stop.clone());
    let probe = StatusProbe::start(&inst, Duration::ZERO);
    std::thread::sleep(WINDOW / 2);
    let during_usage = Usage::of(inst.pid);
    std::thread::sleep(WINDOW / 2);
    stop.store(true, Ordering::Relaxed);
    let did = attacker
        .join()
        .unwrap_or_else(|_| "the attacker thread panicked".into());
    std::thread::sleep(Duration::from_secs(1));
    let during = probe.finish();
    let after = Usage::of(inst.pid);
    let alive = inst.try_exit().is_none() && wire::status(&socket).is_ok();
    drop(inst);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Outcome {
        attack,
        did,
        during,
        usage: [before, during_usage, after],
        alive,
    })
}

fn start(attack: Attack, socket: PathBuf, stop: Arc<AtomicBool>) -> JoinHandle<String> {
    std::thread::spawn(move || match attack {
        Attack::HugeLine => huge_lines(&socket, &stop),
        Attack::IdleThousand => idle(&socket, &stop, 1000),
        Attack::Silent => idle(&socket, &stop, 1),
        Attack::FollowNoRead => follow_no_read(&socket, &stop),
        Attack::Flood => flood(&socket, &stop),
    })
}

/// What supd sent before closing (its first line), or how the connection stands.
fn fate(stream: &mut UnixStream, wait: Duration) -> String {
    let _ = stream.set_read_timeout(Some(wait));
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => {
                let first = String::from_utf8_lossy(&got);
                let first = first
                    .lines()
                    .find(|l| !l.contains("\"hello\""))
                    .unwrap_or("");
                return if first.is_empty() {
                    "closed".into()
                } else {
                    format!(
                        "closed after: {}",
                        first.chars().take(160).collect::<String>()
                    )
                };
            }
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return "still open".into();
            }
            Err(e) => return format!("error: {e}"),
        }
    }
}

fn huge_lines(socket: &Path, stop: &AtomicBool) -> String {
    let mut line = hello_line();
    line.extend(std::iter::repeat_n(b'x', 2 << 20));
    line.push(b'\n');
    let mut fates: std::collections::BTreeMap<String, usize> = Default::default();
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = UnixStream::connect(socket) else {
            *fates.entry("connect failed".into()).or_default() += 1;
            continue;
        };
        let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
        let sent = s.write_all(&line);
        let f = match sent {
            Ok(()) => fate(&mut s, Duration::from_secs(5)),
            Err(e) => format!(
                "write failed ({}), then {}",
                e.kind(),
                fate(&mut s, Duration::from_secs(1))
            ),
        };
        *fates.entry(f).or_default() += 1;
    }
    fates
        .iter()
        .map(|(f, n)| format!("{n}× {f}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn idle(socket: &Path, stop: &AtomicBool, n: usize) -> String {
    let opened = Instant::now();
    let mut conns = Vec::new();
    let mut refused = 0;
    for _ in 0..n {
        match UnixStream::connect(socket) {
            Ok(s) => conns.push(s),
            Err(_) => refused += 1,
        }
    }
    if n == 1 {
        // When does supd hang up on a client that never speaks?
        let Some(mut s) = conns.pop() else {
            return "could not connect".into();
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::Relaxed) {
            match s.read(&mut buf) {
                Ok(0) => {
                    return format!("hung up after {:.1} s", opened.elapsed().as_secs_f64());
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => {
                    return format!("error after {:.1} s: {e}", opened.elapsed().as_secs_f64());
                }
            }
        }
        return format!(
            "still connected after {:.0} s",
            opened.elapsed().as_secs_f64()
        );
    }
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut closed = 0;
    for s in &mut conns {
        let _ = s.set_nonblocking(true);
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => {
                    closed += 1;
                    break;
                }
                Ok(_) => continue,
                Err(_) => break,
            }
        }
    }
    format!(
        "{} connected ({refused} refused); {closed} closed by supd within {:.0} s",
        conns.len(),
        opened.elapsed().as_secs_f64()
    )
}

fn follow_no_read(socket: &Path, stop: &AtomicBool) -> String {
    let opened = Instant::now();
    let Ok(mut s) = UnixStream::connect(socket) else {
        return "could not connect".into();
    };
    let mut bytes = hello_line();
    bytes.extend(request_line(
        1,
        Request::Logs {
            names: vec!["chatty".into()],
            lines: Some(100_000),
            follow: true,
            since_ms: None,
            stream: None,
        },
    ));
    if let Err(e) = s.write_all(&bytes) {
        return format!("could not send the request: {e}");
    }
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Now read: did supd cut us off (and say so), or is it still streaming?
    let mut got = 0usize;
    let mut last = Vec::new();
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = vec![0u8; 1 << 16];
    let end = loop {
        match s.read(&mut buf) {
            Ok(0) => break "closed",
            Ok(n) => {
                got += n;
                last = buf[..n].to_vec();
            }
            Err(_) => break "still streaming",
        }
    };
    let tail = String::from_utf8_lossy(&last);
    let error = tail
        .lines()
        .rev()
        .find(|l| l.contains("\"error\""))
        .map(|l| format!(", last word: {}", l.chars().take(200).collect::<String>()))
        .unwrap_or_default();
    format!(
        "after {:.0} s unread: {got} bytes waiting, then {end}{error}",
        opened.elapsed().as_secs_f64() - 2.0
    )
}

fn flood(socket: &Path, stop: &AtomicBool) -> String {
    let started = Instant::now();
    let counts: Vec<(usize, usize)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let (mut ok, mut failed) = (0usize, 0usize);
                    let per = Duration::from_micros(200); // 5,000/s per thread
                    let mut next = Instant::now();
                    while !stop.load(Ordering::Relaxed) {
                        match wire::status(socket) {
                            Ok(_) => ok += 1,
                            Err(_) => failed += 1,
                        }
                        next += per;
                        if let Some(rest) = next.checked_duration_since(Instant::now()) {
                            std::thread::sleep(rest);
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or((0, 0)))
            .collect()
    });
    let ok: usize = counts.iter().map(|c| c.0).sum();
    let failed: usize = counts.iter().map(|c| c.1).sum();
    let secs = started.elapsed().as_secs_f64();
    format!(
        "{:.0} requests/s answered ({ok} in {secs:.0} s), {failed} failed",
        ok as f64 / secs
    )
}
