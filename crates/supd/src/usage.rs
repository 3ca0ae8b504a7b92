//! Resource use of programs: CPU and resident memory summed over each program's process
//! group, read from `/proc` at the moment a client asks (`Status { resources: true }`:
//! `supctl status`, `supctl top`, the dashboard, a `/metrics` scrape). Nothing here runs
//! by itself: with nobody looking, supd reads nothing and wakes up for nothing.
//!
//! A program's processes are those whose process group is its run's (every run gets its
//! own group, led by the run's first process), plus the previous run's group during a
//! start-first restart. CPU time counts what those processes used and what their reaped
//! children used (`utime + stime + cutime + cstime`). The CPU percentage is over the time
//! since this program's previous sample when that was recent ([`RECENT`]), so a viewer
//! sampling every second sees the last second; otherwise over the run's uptime, as `ps`
//! reports `%CPU`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use supd_proto::{Percent, ProgramStatus, Usage};

/// How old a previous sample may be and still be the start of the CPU interval.
const RECENT: Duration = Duration::from_secs(10);

/// One process, as `/proc/PID/stat` has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcessStat {
    group: u32,
    /// User + system time of the process and of its reaped children, in clock ticks.
    cpu_ticks: u64,
    /// Resident set size, in pages.
    rss_pages: u64,
}

/// What a group of processes used, in the units of `/proc`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Totals {
    cpu_ticks: u64,
    rss_pages: u64,
    processes: u32,
}

/// The previous sample of one program, the start of the next CPU interval.
struct Previous {
    at: Instant,
    cpu_ticks: u64,
    /// The process groups it was taken over: another run makes the interval meaningless.
    groups: Vec<u32>,
}

/// Samples programs' resource use on request and remembers each program's last sample.
pub struct Sampler {
    previous: RefCell<HashMap<String, Previous>>,
    /// `/proc`'s units: clock ticks per second and bytes per page.
    ticks_per_second: u64,
    page_bytes: u64,
}

impl Default for Sampler {
    fn default() -> Self {
        use nix::unistd::{SysconfVar, sysconf};
        let var = |v, fallback| {
            sysconf(v)
                .ok()
                .flatten()
                .filter(|&n| n > 0)
                .map_or(fallback, |n| n as u64)
        };
        Sampler {
            previous: RefCell::default(),
            ticks_per_second: var(SysconfVar::CLK_TCK, 100),
            page_bytes: var(SysconfVar::PAGE_SIZE, 4096),
        }
    }
}

impl Sampler {
    /// Fills `usage` of every program in `programs` that has a process, from one reading
    /// of `/proc`.
    pub fn fill(&self, programs: &mut [ProgramStatus]) {
        let now = Instant::now();
        let groups_of =
            |p: &ProgramStatus| -> Vec<u32> { p.pid.into_iter().chain(p.previous_pid).collect() };
        if programs.iter().all(|p| p.pid.is_none()) {
            return;
        }
        let processes = read_processes();
        let mut previous = self.previous.borrow_mut();
        previous.retain(|_, p| now.duration_since(p.at) <= RECENT);
        for program in programs.iter_mut() {
            let groups = groups_of(program);
            if groups.is_empty() {
                previous.remove(&program.name);
                continue;
            }
            let totals = sum_groups(&processes, &groups);
            let cpu_percent = match previous.get(&program.name) {
                Some(p) if p.groups == groups && totals.cpu_ticks >= p.cpu_ticks => percent(
                    self.seconds(totals.cpu_ticks - p.cpu_ticks),
                    now.duration_since(p.at),
                ),
                _ => percent(
                    self.seconds(totals.cpu_ticks),
                    Duration::from_millis(program.uptime_ms.unwrap_or(0)),
                ),
            };
            previous.insert(
                program.name.clone(),
                Previous {
                    at: now,
                    cpu_ticks: totals.cpu_ticks,
                    groups,
                },
            );
            program.usage = Some(Usage {
                cpu_percent,
                cpu_ms: totals.cpu_ticks.saturating_mul(1000) / self.ticks_per_second,
                rss_bytes: totals.rss_pages.saturating_mul(self.page_bytes),
                processes: totals.processes,
            });
        }
    }

    fn seconds(&self, ticks: u64) -> f64 {
        ticks as f64 / self.ticks_per_second as f64
    }
}

/// `cpu` seconds used over `elapsed`, as a percentage of one core (0 when no time passed).
fn percent(cpu: f64, elapsed: Duration) -> Percent {
    let elapsed = elapsed.as_secs_f64();
    if elapsed <= 0.0 {
        return Percent(0.0);
    }
    let p = 100.0 * cpu / elapsed;
    // Two decimals are all any view shows; rounding keeps the figure stable on the wire.
    Percent(if p.is_finite() {
        (p * 100.0).round() / 100.0
    } else {
        0.0
    })
}

fn sum_groups(processes: &[ProcessStat], groups: &[u32]) -> Totals {
    processes
        .iter()
        .filter(|p| groups.contains(&p.group))
        .fold(Totals::default(), |t, p| Totals {
            cpu_ticks: t.cpu_ticks + p.cpu_ticks,
            rss_pages: t.rss_pages + p.rss_pages,
            processes: t.processes + 1,
        })
}

/// Every process `/proc` lists now; one that exits while being read is skipped.
fn read_processes() -> Vec<ProcessStat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|entry| std::fs::read(entry.path().join("stat")).ok())
        .filter_map(|stat| parse_stat(&stat))
        .collect()
}

/// The fields of `/proc/PID/stat` this module uses (see proc_pid_stat(5)). The command name
/// in parentheses may hold anything, spaces and parentheses included: fields are counted
/// from the last `)`.
fn parse_stat(stat: &[u8]) -> Option<ProcessStat> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    // After the name: state (field 3), so field n is at index n - 3.
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(ProcessStat {
        group: u32::try_from(field(5)?).ok()?,
        cpu_ticks: field(14)? + field(15)? + field(16)? + field(17)?,
        rss_pages: field(24)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_count_from_the_last_parenthesis() {
        let line = b"4242 (we(b) 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 2 1 20 0 1 0 12345 1000000 250 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some(ProcessStat {
                group: 4242,
                cpu_ticks: 7 + 3 + 2 + 1,
                rss_pages: 250,
            })
        );
        assert_eq!(parse_stat(b"4242 (web"), None);
        assert_eq!(parse_stat(b"4242 (web) S 1"), None);
    }

    #[test]
    fn percent_of_one_core() {
        assert_eq!(percent(0.5, Duration::from_secs(1)), Percent(50.0));
        assert_eq!(percent(3.0, Duration::from_secs(2)), Percent(150.0));
        assert_eq!(percent(1.0, Duration::ZERO), Percent(0.0));
    }

    #[test]
    fn samples_this_process_group() {
        let me = std::process::id();
        let group = nix::unistd::getpgrp().as_raw() as u32;
        let processes = read_processes();
        assert!(processes.iter().any(|p| p.group == group), "{me}");
        let totals = sum_groups(&processes, &[group]);
        assert!(totals.processes >= 1 && totals.rss_pages > 0, "{totals:?}");
    }
}
