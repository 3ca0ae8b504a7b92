//! What the harness reads about processes from `/proc`: states, parents, CPU time, PSS,
//! context switches. Every function returns `None`/empty for a process that is gone.

use std::path::Path;

/// Every pid in `/proc`.
pub fn pids() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// The fields of `/proc/PID/stat` we use.
#[derive(Clone, Debug)]
pub struct Stat {
    /// `R`, `S`, `Z`, ...
    pub state: char,
    pub ppid: i32,
    /// The command name (up to 15 bytes).
    pub comm: String,
    /// utime + stime, in clock ticks (every thread of the process).
    pub cpu_ticks: u64,
}

pub fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_string();
    let f: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // f[0] is field 3 of proc(5).
    let field = |n: usize| -> Option<u64> { f.get(n - 3)?.parse().ok() };
    Some(Stat {
        state: f.first()?.chars().next()?,
        ppid: field(4)? as i32,
        comm,
        cpu_ticks: field(14)? + field(15)?,
    })
}

/// True when `pid` runs (zombies count as gone).
pub fn alive(pid: i32) -> bool {
    stat(pid).is_some_and(|s| s.state != 'Z' && s.state != 'X')
}

/// `/proc/PID/environ` (empty for zombies).
pub fn environ(pid: i32) -> Option<Vec<u8>> {
    std::fs::read(format!("/proc/{pid}/environ")).ok()
}

/// Processes whose parent is `parent`, with their stat.
pub fn children(parent: i32) -> Vec<(i32, Stat)> {
    pids()
        .into_iter()
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .filter(|(_, s)| s.ppid == parent)
        .collect()
}

/// Proportional set size of `pid`, in KiB, from `/proc/PID/smaps_rollup`.
pub fn pss_kib(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Voluntary plus involuntary context switches of every live thread of `pid`: how often
/// it went to sleep and woke up again.
pub fn context_switches(pid: i32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut sum = 0;
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        for line in text.lines() {
            if let Some(v) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                sum += v.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    Some(sum)
}

/// Clock ticks per second (`_SC_CLK_TCK`).
pub fn clk_tck() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100, |v| v as u64)
}

/// First line of a file, trimmed (for machine info).
pub fn first_line(path: impl AsRef<Path>) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(text.lines().next()?.trim().to_string())
}

/// Time `pid` has run on a CPU, in nanoseconds: the first field of
/// `/proc/PID/task/*/schedstat`, summed over its live threads (exact, unlike clock ticks).
pub fn runtime_ns(pid: i32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut sum = 0;
    for task in tasks.flatten() {
        let text = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        sum += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(sum)
}

/// Resident set size of `pid`, in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Open file descriptors of `pid` (entries of `/proc/PID/fd`).
pub fn fd_count(pid: i32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// Children of `parent` that are zombies.
pub fn zombie_children(parent: i32) -> Vec<i32> {
    children(parent)
        .into_iter()
        .filter(|(_, s)| s.state == 'Z')
        .map(|(pid, _)| pid)
        .collect()
}
