//! Signalling and finding processes: process groups, descendants, the subreaper bit.

use std::collections::{HashMap, HashSet};
use std::io;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

/// Sends `signal` to every process of group `pgid`. A group with no member left is not an
/// error (returns `Ok(false)`).
pub fn signal_group(pgid: i32, signal: Signal) -> io::Result<bool> {
    if pgid <= 1 {
        // Never signal "every process" (-1) or supd's own group by mistake.
        return Ok(false);
    }
    match killpg(Pid::from_raw(pgid), signal) {
        Ok(()) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Sends `signal` to one process. A process that is gone is not an error.
pub fn signal_process(pid: i32, signal: Signal) -> io::Result<bool> {
    if pid <= 1 {
        return Ok(false);
    }
    match kill(Pid::from_raw(pid), signal) {
        Ok(()) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// True when process group `pgid` still has a member (zombies included until reaped).
pub fn group_alive(pgid: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    !matches!(killpg(Pid::from_raw(pgid), None), Err(Errno::ESRCH))
}

/// The process groups that have a live member (zombies, which only wait to be reaped, do
/// not count), from `/proc`: for one who cannot reap them (supd's keeper) and must not wait
/// for a group of zombies to go away.
pub fn groups_with_live_members() -> HashSet<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashSet::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
            let state = fields.next()?;
            let pgid = fields.nth(1)?.parse().ok()?;
            (state != "Z" && state != "X").then_some(pgid)
        })
        .collect()
}

/// Makes orphaned descendants of supd re-parent to supd instead of PID 1, so supd reaps them
/// and can find them at shutdown. Not needed (and not done) when supd is PID 1.
pub fn become_subreaper() -> io::Result<()> {
    nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)
}

/// Every live descendant of process `root` (children, grandchildren, ...), from `/proc`.
/// Zombies are included: signalling them is harmless and they are reaped anyway.
pub fn descendants(root: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some(ppid) = parent_of(pid) {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        if let Some(kids) = children.get(&pid) {
            for &kid in kids {
                found.push(kid);
                todo.push(kid);
            }
        }
    }
    found
}

/// The parent pid (`/proc/PID/stat` field 4).
fn parent_of(pid: i32) -> Option<i32> {
    stat_field(pid, 4)
}

/// Numeric field `n` (1-based, as proc(5) numbers them) of `/proc/PID/stat`. Fields are
/// counted after the parenthesised command name, which may itself contain spaces and
/// parentheses.
fn stat_field(pid: i32, n: usize) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(n - 3)?.parse().ok()
}

/// The process group of process `pid` (`/proc/PID/stat` field 5), if it exists.
pub fn process_group(pid: i32) -> Option<i32> {
    stat_field(pid, 5)
}

/// Marks every descriptor from 3 up close-on-exec (supervisord closes them for its
/// children; supd keeps none it did not open itself). Run at start, before anything is
/// opened: descriptors a parent leaked to supd must not reach the programs.
pub fn cloexec_inherited_fds() {
    // close_range(2) with CLOSE_RANGE_CLOEXEC (Linux 5.11); on older kernels, each fd.
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on descriptors.
    let done =
        unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) } == 0;
    if done {
        return;
    }
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        let fds: Vec<i32> = entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .filter(|&fd| fd >= 3)
            .collect();
        for fd in fds {
            // SAFETY: `fd` was open a moment ago (listed in /proc/self/fd) and this runs at
            // start-up, before any other thread could close it; the borrow lasts for this
            // one fcntl call, which at worst fails with EBADF.
            let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
            let _ = nix::fcntl::fcntl(
                borrowed,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            );
        }
    }
}

/// This process's pid.
pub fn own_pid() -> i32 {
    std::process::id() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_children_and_grandchildren() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30; wait"])
            .spawn()
            .unwrap();
        let sh = child.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let grandchildren = loop {
            let found = descendants(sh);
            if found.len() >= 2 || std::time::Instant::now() > deadline {
                break found;
            }
            std::thread::yield_now();
        };
        assert!(descendants(own_pid()).contains(&sh));
        assert_eq!(grandchildren.len(), 2, "the two sleeps: {grandchildren:?}");
        assert!(
            descendants(own_pid())
                .iter()
                .any(|p| grandchildren.contains(p))
        );
        for pid in grandchildren.iter().chain([&sh]) {
            let _ = signal_process(*pid, Signal::SIGKILL);
        }
        let _ = child.wait();
    }

    #[test]
    fn stat_fields_are_read_after_the_command_name() {
        let me = own_pid();
        assert_eq!(parent_of(me), Some(nix::unistd::getppid().as_raw()));
        assert_eq!(process_group(me), Some(nix::unistd::getpgrp().as_raw()));
    }

    #[test]
    fn live_groups_include_this_one() {
        assert!(groups_with_live_members().contains(&nix::unistd::getpgrp().as_raw()));
    }

    #[test]
    fn signalling_nobody_is_not_an_error() {
        assert!(!group_alive(i32::MAX - 1));
        assert!(!signal_group(i32::MAX - 1, Signal::SIGTERM).unwrap());
        assert!(!signal_group(1, Signal::SIGTERM).unwrap());
        assert!(!signal_group(-1, Signal::SIGTERM).unwrap());
    }
}
