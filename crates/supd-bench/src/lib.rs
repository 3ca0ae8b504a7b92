//! What the harness (`supd-bench`) and its helper programs (`bench-stamp`, `bench-blast`,
//! `bench-ticker`) share: the clock and the stamp file format.
//!
//! Every time in the benchmark is a reading of `CLOCK_MONOTONIC` in nanoseconds, taken by
//! whichever process sees the event first-hand: the harness for what it does (exec a
//! supervisor, `kill -9` a child, write a file, send SIGTERM), a helper program for its own
//! start. The clock is system-wide, so differences between processes are meaningful.
//!
//! A stamp file holds lines `NANOSECONDS PID\n`. `bench-stamp FILE` replaces FILE whole
//! (written aside, then renamed) so a reader never sees half a line; `bench-stamp --exit
//! FILE` appends one line (a single `write` under `O_APPEND`).

use std::path::Path;
use std::time::Duration;

use nix::time::{ClockId, clock_gettime};

/// `CLOCK_MONOTONIC` now, in nanoseconds.
pub fn mono_ns() -> u64 {
    let ts = clock_gettime(ClockId::CLOCK_MONOTONIC).expect("CLOCK_MONOTONIC is readable");
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

/// Sleeps until `CLOCK_MONOTONIC` reads `due_ns` (at once when it is past): the pacing of
/// the helper programs that write at a fixed rate.
pub fn sleep_until_mono(due_ns: u64) {
    if due_ns > mono_ns() {
        let at = nix::sys::time::TimeSpec::new(
            (due_ns / 1_000_000_000) as _,
            (due_ns % 1_000_000_000) as _,
        );
        let _ = nix::time::clock_nanosleep(
            ClockId::CLOCK_MONOTONIC,
            nix::time::ClockNanosleepFlags::TIMER_ABSTIME,
            &at,
        );
    }
}

/// Nanoseconds in a duration (saturating).
pub fn ns(d: Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}

/// One stamp: when a process started (CLOCK_MONOTONIC ns) and its pid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub ns: u64,
    pub pid: u32,
}

impl Stamp {
    /// The stamp of the calling process, taken now.
    pub fn now() -> Stamp {
        Stamp {
            ns: mono_ns(),
            pid: std::process::id(),
        }
    }

    /// The line written to a stamp file.
    pub fn line(&self) -> String {
        format!("{} {}\n", self.ns, self.pid)
    }

    /// Parses one `NANOSECONDS PID` line.
    pub fn parse(line: &str) -> Option<Stamp> {
        let mut it = line.split_whitespace();
        let ns = it.next()?.parse().ok()?;
        let pid = it.next()?.parse().ok()?;
        Some(Stamp { ns, pid })
    }

    /// The stamp in FILE (the last complete line), if there is one.
    pub fn read(path: &Path) -> Option<Stamp> {
        Self::read_all(path).pop()
    }

    /// Every complete line of FILE.
    pub fn read_all(path: &Path) -> Vec<Stamp> {
        let Ok(text) = std::fs::read_to_string(path) else {
            return Vec::new();
        };
        text.split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .filter_map(Stamp::parse)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_line_parses_back() {
        let s = Stamp { ns: 42, pid: 7 };
        assert_eq!(Stamp::parse(&s.line()), Some(s));
    }

    #[test]
    fn a_half_written_last_line_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s");
        std::fs::write(&f, "1 2\n3 4\n5").unwrap();
        assert_eq!(
            Stamp::read_all(&f),
            vec![Stamp { ns: 1, pid: 2 }, Stamp { ns: 3, pid: 4 }]
        );
    }
}
