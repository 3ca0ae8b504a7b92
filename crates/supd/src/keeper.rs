//! The keeper: a tiny second process that stops supd's programs when supd dies without
//! stopping them itself (`kill -9`, an OOM kill, a crash), so no program is left running
//! unsupervised (supervisord's issue #168). Both sides live here: the keeper process
//! ([`run`], `supd keeper`, a hidden command) and supd's handle on it ([`Keeper`]).
//!
//! When supd is not PID 1 it re-executes its own binary (`/proc/self/exe`) as `supd keeper`,
//! in a session of its own (a stop of a program's group or a terminal's ^C never hits it),
//! with its stdin on a pipe whose write end only supd holds (close-on-exec: no program
//! inherits it). supd tells it, one line each, every process group it starts
//! (`track PGID SIGNAL`: programs and `command` health checks) and every group that is gone
//! (`forget PGID`: the leader reaped and no member left, never earlier, so a reused pid is
//! never a group of the keeper's). When supd dies, however it dies, the kernel closes the
//! write end; the keeper reads end-of-file, sends each group still tracked its stop signal,
//! gives them [`GRACE`], SIGKILLs what is left, says so in one line and exits. On a normal
//! shutdown supd has stopped everything itself and forgotten every group before it closes
//! the pipe: the keeper then has nothing to do and exits silently. As PID 1 there is no
//! keeper: when PID 1 dies the kernel kills the whole namespace.
//!
//! Why not something else:
//! - `PR_SET_PDEATHSIG` only reaches the direct child (the group leader, not the processes
//!   it starts), is cleared when the child changes credentials or execs a setuid file (the
//!   gosu-like privilege drop every `user =` program gets), and fires when the *thread* that
//!   forked exits, not the process (supd spawns from one thread, but that is fragile).
//! - A state file under the socket directory, for the next supd to clean up after, only
//!   helps at a next start that may never come (a container restarted elsewhere).
//!
//! A spawn lasts until the child has exec'd (supd waits for it), up to a millisecond: a
//! `kill -9` in the middle of starting 300 programs once left one running that the keeper
//! never heard of. So the child itself writes its `track` line first thing, before it
//! execs ([`Keeper::announcement`]); supd's own `track` after the spawn repeats it.
//!
//! What is not covered: a process that left its group (`setsid`) is not in any tracked
//! group (cgroups will cover it, a later issue); and the instant between the child's start
//! and its first write (one `getpid`, microseconds).
//!
//! If the keeper dies while supd runs, supd warns and starts a new one (at most once per
//! [`RESTART_INTERVAL`]), telling it every live group again. Writes to it never block supd:
//! the pipe is non-blocking, and a full or broken pipe counts as a dead keeper.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use supd_config::Signal;
use supd_sys::process;
use supd_sys::spawn::{Announce, Output, SpawnRequest, spawn};
use tokio::sync::mpsc;

use crate::event::Event;

/// The hidden command that runs the keeper (`supd keeper`).
pub const COMMAND: &str = "keeper";

/// How long the groups get after their stop signal, once supd is gone, before SIGKILL.
pub const GRACE: Duration = Duration::from_secs(1);

/// How often the keeper looks whether the groups are gone meanwhile.
const POLL: Duration = Duration::from_millis(10);

/// A keeper that died is started again at most this often.
pub const RESTART_INTERVAL: Duration = Duration::from_secs(1);

/// The keeper's pipe buffer: room for a burst of thousands of `track` lines.
const PIPE_BYTES: usize = 1 << 20;

// ----- the keeper process --------------------------------------------------------------

/// One line from supd.
#[derive(Debug, PartialEq, Eq)]
enum Message {
    Track { pgid: i32, signal: Signal },
    Forget { pgid: i32 },
}

fn parse(line: &str) -> Option<Message> {
    let mut words = line.split_whitespace();
    let verb = words.next()?;
    let pgid: i32 = words.next()?.parse().ok().filter(|&p| p > 1)?;
    let message = match verb {
        "track" => Message::Track {
            pgid,
            signal: Signal::try_from(words.next()?.parse::<i32>().ok()?).ok()?,
        },
        "forget" => Message::Forget { pgid },
        _ => return None,
    };
    words.next().is_none().then_some(message)
}

/// `supd keeper`: follows supd's lines until end-of-file, then stops what is still tracked.
/// Returns the exit code (0).
pub fn run() -> i32 {
    let supd = nix::unistd::getppid().as_raw();
    // Start-up (the command line) touched code the loop below never runs: give it back, so
    // the keeper costs a few pages, not a second supd.
    supd_sys::memory::shed_startup_pages();
    let mut groups: HashMap<i32, Signal> = HashMap::new();
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match parse(&line) {
            Some(Message::Track { pgid, signal }) => {
                groups.insert(pgid, signal);
            }
            Some(Message::Forget { pgid }) => {
                groups.remove(&pgid);
            }
            None => {
                let _ = writeln!(
                    io::stderr(),
                    "supd keeper: ignored a line it does not know: {line:?}"
                );
            }
        }
    }
    if groups.is_empty() {
        return 0;
    }
    let (stopped, killed) = stop_groups(&groups);
    let _ = writeln!(
        io::stderr(),
        "supd keeper: supd (pid {supd}) is gone; stopped {stopped} program group{}{}",
        if stopped == 1 { "" } else { "s" },
        if killed > 0 {
            format!(" ({killed} with SIGKILL)")
        } else {
            String::new()
        }
    );
    0
}

/// Sends every group its stop signal, waits up to [`GRACE`] for them to be gone, SIGKILLs
/// the rest. Returns (groups that still existed, groups that needed SIGKILL).
fn stop_groups(groups: &HashMap<i32, Signal>) -> (usize, usize) {
    let mut left: Vec<i32> = groups
        .iter()
        .filter(|&(&pgid, &signal)| process::signal_group(pgid, signal).unwrap_or(false))
        .map(|(&pgid, _)| pgid)
        .collect();
    let stopped = left.len();
    let deadline = Instant::now() + GRACE;
    loop {
        left.retain(|&pgid| process::group_alive(pgid));
        if !left.is_empty() {
            // Zombies wait for a reaper that is not the keeper: they are gone enough.
            let live = process::groups_with_live_members();
            left.retain(|pgid| live.contains(pgid));
        }
        if left.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(POLL);
    }
    for &pgid in &left {
        let _ = process::signal_group(pgid, Signal::SIGKILL);
    }
    (stopped, left.len())
}

// ----- supd's side ----------------------------------------------------------------------

/// A keeper process supd started: its pid, and the write end of its stdin (`None` once
/// supd has given it up, until it is reaped).
struct Running {
    pid: i32,
    pipe: Option<File>,
}

/// A process group the keeper is told of.
struct Group {
    signal: Signal,
    /// Its leader was reaped while members lived on: forgotten once they are gone too.
    lingering: bool,
}

/// supd's handle on its keeper: what it was told, and starting it again when it dies.
pub struct Keeper {
    running: Option<Running>,
    /// Every live group supd started (told again to a new keeper).
    groups: HashMap<i32, Group>,
    /// False as PID 1, after a start failed, and once supd's shutdown released it.
    wanted: bool,
    last_start: Option<Instant>,
    /// A restart is already scheduled.
    restart_due: bool,
    /// For the scheduled restart ([`Event::RestartKeeper`]).
    events: mpsc::UnboundedSender<Event>,
}

impl Keeper {
    /// No keeper (supd is PID 1: its death takes the whole namespace down).
    pub fn none(events: mpsc::UnboundedSender<Event>) -> Keeper {
        Keeper {
            running: None,
            groups: HashMap::new(),
            wanted: false,
            last_start: None,
            restart_due: false,
            events,
        }
    }

    /// Starts the keeper; if it cannot be started, says so once and runs without it.
    pub fn start(events: mpsc::UnboundedSender<Event>) -> Keeper {
        let mut keeper = Keeper::none(events);
        keeper.wanted = true;
        keeper.start_now();
        keeper
    }

    /// The keeper's pid, while one runs.
    pub fn pid(&self) -> Option<i32> {
        self.running.as_ref().map(|r| r.pid)
    }

    /// What a child about to be started writes to the keeper first thing, so the keeper
    /// hears of its group even if supd dies before the spawn returns (the `track` that
    /// follows the spawn then only repeats it).
    pub fn announcement(&self, signal: Signal) -> Option<Announce> {
        use std::os::fd::AsRawFd;
        let pipe = self.running.as_ref()?.pipe.as_ref()?;
        Some(Announce {
            fd: pipe.as_raw_fd(),
            before: b"track ".to_vec(),
            after: format!(" {}\n", signal as i32).into_bytes(),
        })
    }

    /// Process group `pgid` was just started; `signal` stops it.
    pub fn track(&mut self, pgid: i32, signal: Signal) {
        self.groups.insert(
            pgid,
            Group {
                signal,
                lingering: false,
            },
        );
        self.send(&format!("track {pgid} {}\n", signal as i32));
    }

    /// Process group `pgid` is gone (no member left).
    pub fn forget(&mut self, pgid: i32) {
        if self.groups.remove(&pgid).is_some() {
            self.send(&format!("forget {pgid}\n"));
        }
    }

    /// The leader of group `pid` was reaped; the group is forgotten now if it is empty,
    /// else once [`Keeper::forget_emptied`] finds it so.
    pub fn leader_reaped(&mut self, pid: i32, group_alive: bool) {
        if let Some(group) = self.groups.get_mut(&pid) {
            if group_alive {
                group.lingering = true;
            } else {
                self.forget(pid);
            }
        } else if !group_alive {
            // A child whose exec failed announced itself, and supd never tracked it.
            self.send(&format!("forget {pid}\n"));
        }
    }

    /// Forgets the groups that outlived their leader and are empty now.
    pub fn forget_emptied(&mut self) {
        let empty: Vec<i32> = self
            .groups
            .iter()
            .filter(|&(&pgid, g)| g.lingering && !process::group_alive(pgid))
            .map(|(&pgid, _)| pgid)
            .collect();
        for pgid in empty {
            self.forget(pgid);
        }
    }

    /// At shutdown, once supd has no group left to protect: closes the pipe, so the keeper
    /// exits with nothing to do, and is not started again.
    pub fn release_if_idle(&mut self) {
        if self.groups.is_empty() {
            self.release();
        }
    }

    /// supd is killing everything itself (the end of a shutdown): the keeper is told to
    /// forget every group, then let go, so supd's last child is not a keeper it waits for.
    pub fn release(&mut self) {
        if !self.wanted {
            return;
        }
        let lines: String = self
            .groups
            .keys()
            .map(|pgid| format!("forget {pgid}\n"))
            .collect();
        self.groups.clear();
        self.send(&lines);
        self.wanted = false;
        if let Some(running) = self.running.as_mut() {
            running.pipe = None;
        }
    }

    /// If `pid` (just reaped, having ended `how`) is the keeper's: a keeper that died while
    /// it was still wanted is started again (at once, or [`RESTART_INTERVAL`] after the last
    /// start). Returns whether `pid` was the keeper's.
    pub fn restart_if(&mut self, pid: i32, how: &str) -> bool {
        if self.pid() != Some(pid) {
            return false;
        }
        self.running = None;
        if !self.wanted {
            tracing::debug!("the keeper (pid {pid}) exited: {how}");
            return true;
        }
        tracing::warn!(
            "the keeper (pid {pid}) that stops the programs if supd is killed ended ({how}); starting a new one"
        );
        let since = self.last_start.map_or(RESTART_INTERVAL, |at| at.elapsed());
        if since >= RESTART_INTERVAL {
            self.start_now();
        } else if !self.restart_due {
            self.restart_due = true;
            let events = self.events.clone();
            let wait = RESTART_INTERVAL - since;
            tokio::task::spawn_local(async move {
                tokio::time::sleep(wait).await;
                let _ = events.send(Event::RestartKeeper);
            });
        }
        true
    }

    /// The scheduled restart is due.
    pub fn restart(&mut self) {
        self.restart_due = false;
        if self.wanted && self.running.is_none() {
            self.start_now();
        }
    }

    /// Starts a keeper and tells it every live group; one that cannot be started is given
    /// up with a warning.
    fn start_now(&mut self) {
        self.last_start = Some(Instant::now());
        match spawn_keeper() {
            Ok(running) => {
                tracing::debug!("started the keeper (pid {})", running.pid);
                self.running = Some(running);
                let lines: String = self
                    .groups
                    .iter()
                    .map(|(pgid, g)| format!("track {pgid} {}\n", g.signal as i32))
                    .collect();
                self.send(&lines);
            }
            Err(e) => {
                self.wanted = false;
                tracing::warn!(
                    "cannot start the keeper that stops the programs if supd is killed ({e}); running without it"
                );
            }
        }
    }

    /// Writes `lines` to the keeper without ever waiting: a keeper whose pipe is full or
    /// broken is killed (and started again once reaped).
    fn send(&mut self, lines: &str) {
        let Some(running) = self.running.as_mut() else {
            return;
        };
        let Some(pipe) = running.pipe.as_mut() else {
            return;
        };
        if lines.is_empty() {
            return;
        }
        match pipe.write(lines.as_bytes()) {
            Ok(n) if n == lines.len() => {}
            outcome => {
                let why = match outcome {
                    Ok(_) => "its pipe is full".to_string(),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        "its pipe is full".to_string()
                    }
                    Err(e) => supd_sys::describe(&e),
                };
                tracing::warn!(
                    "cannot write to the keeper (pid {}): {why}; replacing it",
                    running.pid
                );
                running.pipe = None;
                let _ = process::signal_process(running.pid, Signal::SIGKILL);
            }
        }
    }
}

/// Starts `supd keeper` (this very binary) in a session of its own, its stdin a pipe whose
/// write end is returned, its stderr supd's.
fn spawn_keeper() -> Result<Running, String> {
    let (read, write) = supd_sys::pipe::new_pipe()
        .map_err(|e| format!("cannot create its pipe: {}", supd_sys::describe(&e)))?;
    let _ = supd_sys::pipe::set_pipe_size(&write, PIPE_BYTES);
    supd_sys::pipe::set_nonblocking(&write)
        .map_err(|e| format!("cannot set up its pipe: {}", supd_sys::describe(&e)))?;
    let stderr = io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| format!("cannot share stderr: {}", supd_sys::describe(&e)))?;
    let pid = spawn(SpawnRequest {
        argv: vec![OsString::from("supd"), OsString::from(COMMAND)],
        executable: Some("/proc/self/exe".into()),
        env: Vec::new(),
        cwd: Some("/".into()),
        credentials: None,
        umask: None,
        stdin: Some(read),
        announce: None,
        stdout: Output::Null,
        stderr: Output::Fd(stderr),
        sockets: Vec::new(),
    })
    .map_err(|e| e.message)?;
    Ok(Running {
        pid: pid as i32,
        pipe: Some(File::from(write)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_strictly() {
        assert_eq!(
            parse("track 1234 15"),
            Some(Message::Track {
                pgid: 1234,
                signal: Signal::SIGTERM
            })
        );
        assert_eq!(parse("forget 1234"), Some(Message::Forget { pgid: 1234 }));
        for bad in [
            "",
            "track",
            "track 1234",
            "track 1 15",
            "track -1 15",
            "track 1234 999",
            "forget 0",
            "forget 1234 15",
            "kill 1234",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_group_is_forgotten_once_its_leader_is_reaped_and_no_member_is_left() {
        let (events, _rx) = mpsc::unbounded_channel();
        let mut keeper = Keeper::none(events);
        let (gone, lingering) = (i32::MAX - 1, i32::MAX - 2);
        keeper.track(gone, Signal::SIGTERM);
        keeper.track(lingering, Signal::SIGINT);
        keeper.leader_reaped(gone, false);
        keeper.leader_reaped(lingering, true);
        assert_eq!(keeper.groups.keys().collect::<Vec<_>>(), [&lingering]);
        keeper.release_if_idle();
        keeper.forget_emptied();
        assert!(keeper.groups.is_empty());
        // Reaping a process that is no group of its is nothing to the keeper.
        keeper.leader_reaped(12345, true);
        assert!(keeper.groups.is_empty());
    }

    #[test]
    fn groups_that_are_gone_are_not_counted() {
        let groups = HashMap::from([(i32::MAX - 1, Signal::SIGTERM)]);
        assert_eq!(stop_groups(&groups), (0, 0));
    }
}
