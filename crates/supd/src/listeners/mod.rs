//! Event listeners (`[eventlistener.NAME]`): supervisord's events, buffered per pool and
//! handed to listener processes over their stdin, one at a time, as their stdout asks.
//!
//! This module owns the pools (a listener table and its instances), their buffers and
//! serial numbers, the protocol state of each listener process ([`protocol`]), where events
//! come from, and the stdin pipes of every program ([`stdin`]). The owner tells it of every
//! spawn and state change and of reloads; it asks the owner (an [`Event`]) to restart a
//! listener that broke the protocol. Nothing here runs, and nothing is kept, while no
//! listener subscribes: with no listener, the tick timers are never armed and the log plane
//! is not followed.
//!
//! As in supervisord, every event goes into the buffer of each pool that subscribes to its
//! type (the oldest dropped, with a warning, beyond `buffer_size`); the oldest buffered event
//! goes to a process of the pool that is running and said `READY`; a `FAIL` puts it back at
//! the head of the buffer; a process that exits while busy gives its event back too.

pub mod payload;
pub mod protocol;
pub mod stdin;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::os::fd::OwnedFd;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use supd_config::event_types::EventType;
use supd_core::{ExitStatus, ProgId, State};
use supd_proto::{ProgramState, Stream};
use tokio::sync::{broadcast, mpsc};
use tokio::task::AbortHandle;

use crate::event::Event;
use crate::logplane::LogPlane;
use crate::logplane::ring::Record;
use crate::names::Names;
use protocol::{Phase, Reader, Said};
use stdin::StdinPipes;

/// One event waiting for, or being handled by, a listener of one pool.
#[derive(Debug, Clone)]
struct Queued {
    serial: u64,
    pool_serial: u64,
    kind: EventType,
    payload: Rc<str>,
}

/// The listeners of one `[eventlistener.NAME]` table.
struct Pool {
    name: String,
    events: Vec<EventType>,
    buffer_size: usize,
    /// The last pool serial given (`None` before the first event).
    serial: Option<u64>,
    buffer: VecDeque<Queued>,
}

/// One running listener process.
struct Process {
    pool: String,
    pid: i32,
    reader: Reader,
    /// The program is `running` (supervisord sends events only then).
    running: bool,
    /// The event it is handling.
    event: Option<Queued>,
    /// The task reading its stdout.
    task: AbortHandle,
}

#[derive(Default)]
struct Inner {
    /// The last global serial given (`None` before the first event).
    serial: Option<u64>,
    pools: Vec<Pool>,
    processes: HashMap<ProgId, Process>,
    /// The latest process of every program that had one (payloads name it after it ended).
    pids: HashMap<ProgId, i32>,
    /// Programs (and stream, as a number) whose lines are `PROCESS_LOG_*` events, when a
    /// pool wants them.
    log_events: HashSet<(ProgId, usize)>,
    /// Armed `TICK_*` timers.
    ticks: Vec<(EventType, AbortHandle)>,
    /// Following the log plane for `PROCESS_LOG_*`.
    follow: Option<AbortHandle>,
    /// The groups of the config, for `PROCESS_GROUP_ADDED` / `_REMOVED` on reload.
    groups: HashSet<String>,
}

pub struct Listeners {
    inner: RefCell<Inner>,
    stdin: StdinPipes,
    names: Rc<Names>,
    plane: Rc<LogPlane>,
    /// The owner's queue (restarting a listener that broke the protocol).
    events: mpsc::UnboundedSender<Event>,
    me: Weak<Listeners>,
}

impl Listeners {
    pub fn new(
        names: Rc<Names>,
        plane: Rc<LogPlane>,
        events: mpsc::UnboundedSender<Event>,
    ) -> Rc<Listeners> {
        Rc::new_cyclic(|me| Listeners {
            inner: RefCell::new(Inner::default()),
            stdin: StdinPipes::default(),
            names,
            plane,
            events,
            me: me.clone(),
        })
    }

    /// Every program's stdin pipe.
    pub fn stdin(&self) -> &StdinPipes {
        &self.stdin
    }

    /// Takes the pools, and what feeds them, from the programs of `state` (at start and
    /// after each reload, when the groups that came and went are announced).
    pub fn configure(&self, state: &State, announce_groups: bool) {
        let mut inner = self.inner.borrow_mut();
        let mut pools: Vec<Pool> = Vec::new();
        for (_, p) in state.current() {
            let Some(l) = &p.spec.listener else { continue };
            if pools.iter().any(|pool| pool.name == l.pool) {
                continue;
            }
            let kept = inner.pools.iter().position(|pool| pool.name == l.pool);
            let (serial, buffer) = match kept {
                Some(i) => {
                    let old = inner.pools.swap_remove(i);
                    (old.serial, old.buffer)
                }
                None => (None, VecDeque::new()),
            };
            pools.push(Pool {
                name: l.pool.clone(),
                events: l.events.clone(),
                buffer_size: l.buffer_size,
                serial,
                buffer,
            });
        }
        inner.pools = pools;
        let wanted = |kind: EventType| inner.pools.iter().any(|p| p.events.contains(&kind));
        let log_events: HashSet<(ProgId, usize)> = state
            .current()
            .flat_map(|(i, p)| {
                let out = (p.spec.stdout_events && wanted(EventType::ProcessLogStdout))
                    .then_some((i, Stream::Stdout as usize));
                let err = (p.spec.stderr_events && wanted(EventType::ProcessLogStderr))
                    .then_some((i, Stream::Stderr as usize));
                out.into_iter().chain(err)
            })
            .collect();
        let ticks: Vec<EventType> = EventType::ALL
            .iter()
            .copied()
            .filter(|t| t.tick_period().is_some() && wanted(*t))
            .collect();
        inner.log_events = log_events;
        self.arm_ticks(&mut inner, &ticks);
        self.follow_logs(&mut inner);
        let groups: HashSet<String> = state
            .current()
            .map(|(_, p)| self.names_of(&p.spec.name).1)
            .collect();
        let old = std::mem::replace(&mut inner.groups, groups);
        drop(inner);
        if announce_groups {
            let inner = self.inner.borrow();
            let mut added: Vec<&String> = inner.groups.difference(&old).collect();
            let mut removed: Vec<&String> = old.difference(&inner.groups).collect();
            added.sort();
            removed.sort();
            let added: Vec<String> = added.into_iter().cloned().collect();
            let removed: Vec<String> = removed.into_iter().cloned().collect();
            drop(inner);
            for g in added {
                self.publish(EventType::ProcessGroupAdded, || payload::process_group(&g));
            }
            for g in removed {
                self.publish(EventType::ProcessGroupRemoved, || {
                    payload::process_group(&g)
                });
            }
        }
    }

    /// `SUPERVISOR_STATE_CHANGE_RUNNING` (`running`) or `_STOPPING`.
    pub fn supervisor_state(&self, running: bool) {
        let kind = if running {
            EventType::SupervisorStateChangeRunning
        } else {
            EventType::SupervisorStateChangeStopping
        };
        self.publish(kind, String::new);
    }

    /// `prog` has a new process `pid`: its stdin pipe (when it has one) and, for a
    /// listener, the read end of its stdout (the protocol).
    pub fn spawned(
        &self,
        state: &State,
        prog: ProgId,
        pid: i32,
        stdin: Option<OwnedFd>,
        protocol: Option<OwnedFd>,
    ) {
        self.inner.borrow_mut().pids.insert(prog, pid);
        if let Some(fd) = stdin {
            self.stdin.attach(prog, fd);
        }
        let (Some(fd), Some(l)) = (protocol, &state.programs[prog].spec.listener) else {
            return;
        };
        let rx = match tokio::net::unix::pipe::Receiver::from_owned_fd(fd) {
            Ok(rx) => rx,
            Err(e) => {
                tracing::error!(
                    "{}: cannot read its stdout: {e}",
                    state.programs[prog].spec.name
                );
                return;
            }
        };
        let task = tokio::task::spawn_local(read_protocol(self.me.clone(), prog, pid, rx));
        let gone = self.inner.borrow_mut().processes.insert(
            prog,
            Process {
                pool: l.pool.clone(),
                pid,
                reader: Reader::default(),
                running: false,
                event: None,
                task: task.abort_handle(),
            },
        );
        if let Some(gone) = gone {
            self.give_back(gone);
        }
    }

    /// `prog` went from `from` to `to` (a real change): its `PROCESS_STATE_*` event, and
    /// what the change means for its pipes and, for a listener, its readiness.
    pub fn changed(&self, state: &State, prog: ProgId, from: ProgramState, to: ProgramState) {
        let p = &state.programs[prog];
        if p.pid().is_none() {
            // The process is gone (or not spawned yet): a next one gets fresh pipes.
            self.stdin.detach(prog);
            let gone = self.inner.borrow_mut().processes.remove(&prog);
            if let Some(gone) = gone {
                self.give_back(gone);
            }
        }
        let kind = payload::process_state_type(to);
        if self.wanted(kind) {
            let (process, group) = self.names_of(&p.spec.name);
            let pid = self.inner.borrow().pids.get(&prog).copied().unwrap_or(0);
            let expected = match p.last_exit {
                Some(ExitStatus::Exited(code)) => p.spec.exit_codes.contains(&code),
                _ => false,
            };
            let detail = payload::StateDetail {
                tries: p.failed_starts(),
                pid,
                expected,
            };
            self.publish(kind, || {
                payload::process_state(&process, &group, from, to, &detail)
            });
        }
        if to == ProgramState::Running {
            let pool = {
                let mut inner = self.inner.borrow_mut();
                inner.processes.get_mut(&prog).map(|proc| {
                    proc.running = true;
                    proc.pool.clone()
                })
            };
            if let Some(pool) = pool {
                self.dispatch(&pool);
            }
        }
    }

    /// supervisord's names for program `name`: `(process, group)`.
    pub fn names_of(&self, name: &str) -> (String, String) {
        let (group, process) = crate::http::rpc::supervisor_names(name, &self.names.groups());
        (process, group)
    }

    /// Some pool subscribes to `kind`.
    fn wanted(&self, kind: EventType) -> bool {
        self.inner
            .borrow()
            .pools
            .iter()
            .any(|p| p.events.contains(&kind))
    }

    /// Queues an event of type `kind` (payload built by `make`, only if some pool wants it)
    /// in every pool that subscribes to it, then hands out what can be.
    fn publish(&self, kind: EventType, make: impl FnOnce() -> String) {
        let pools: Vec<String> = {
            let mut inner = self.inner.borrow_mut();
            if !inner.pools.iter().any(|p| p.events.contains(&kind)) {
                return;
            }
            let serial = next_serial(&mut inner.serial);
            let payload: Rc<str> = make().into();
            let mut names = Vec::new();
            for pool in inner.pools.iter_mut().filter(|p| p.events.contains(&kind)) {
                let event = Queued {
                    serial,
                    pool_serial: next_serial(&mut pool.serial),
                    kind,
                    payload: payload.clone(),
                };
                pool.accept(event, false);
                names.push(pool.name.clone());
            }
            names
        };
        for pool in pools {
            self.dispatch(&pool);
        }
    }

    /// Sends the pool's oldest events to its ready processes, while there are both.
    fn dispatch(&self, pool_name: &str) {
        let mut inner = self.inner.borrow_mut();
        let inner = &mut *inner;
        let Some(pool) = inner.pools.iter_mut().find(|p| p.name == pool_name) else {
            return;
        };
        while !pool.buffer.is_empty() {
            let ready = inner
                .processes
                .iter_mut()
                .filter(|(_, proc)| {
                    proc.pool == pool_name && proc.running && proc.reader.phase() == Phase::Ready
                })
                .min_by_key(|(prog, _)| **prog);
            let Some((&prog, proc)) = ready else { break };
            let Some(event) = pool.buffer.pop_front() else {
                break;
            };
            let envelope = payload::envelope(
                event.serial,
                &pool.name,
                event.pool_serial,
                event.kind,
                &event.payload,
            );
            if self.stdin.write(prog, envelope, None).is_err() {
                pool.buffer.push_front(event);
                break;
            }
            proc.reader.sent();
            proc.event = Some(event);
        }
    }

    /// What listener `prog` (process `pid`) wrote on its stdout.
    fn output(&self, prog: ProgId, pid: i32, data: &[u8]) {
        let (said, pool) = {
            let mut inner = self.inner.borrow_mut();
            let Some(proc) = inner.processes.get_mut(&prog).filter(|p| p.pid == pid) else {
                return;
            };
            (proc.reader.feed(data), proc.pool.clone())
        };
        for s in said {
            match s {
                Said::Ready => {}
                Said::Ok => {
                    self.take_event(prog);
                }
                Said::Fail => {
                    if let Some(event) = self.take_event(prog) {
                        tracing::warn!(
                            "{}: event {} was rejected (FAIL): it is sent again",
                            self.names.name(prog),
                            event.serial
                        );
                        self.rebuffer(&pool, event);
                    }
                }
                Said::Violation(how) => {
                    tracing::warn!(
                        "{}: broke the event listener protocol ({how}); it gets no more events \
                         (supervisord's UNKNOWN state) and is restarted",
                        self.names.name(prog)
                    );
                    if let Some(event) = self.take_event(prog) {
                        self.rebuffer(&pool, event);
                    }
                    let _ = self.events.send(Event::ListenerBroke { prog, pid });
                }
            }
        }
        self.dispatch(&pool);
    }

    /// The event `prog` was handling, no longer its.
    fn take_event(&self, prog: ProgId) -> Option<Queued> {
        self.inner
            .borrow_mut()
            .processes
            .get_mut(&prog)
            .and_then(|p| p.event.take())
    }

    /// A process that is gone gives its event back to its pool.
    fn give_back(&self, mut gone: Process) {
        gone.task.abort();
        if let Some(event) = gone.event.take() {
            self.rebuffer(&gone.pool, event);
            self.dispatch(&gone.pool);
        }
    }

    /// Puts `event` back at the head of `pool`'s buffer.
    fn rebuffer(&self, pool: &str, event: Queued) {
        let mut inner = self.inner.borrow_mut();
        if let Some(pool) = inner.pools.iter_mut().find(|p| p.name == pool) {
            pool.accept(event, true);
        }
    }

    /// Arms a timer for each tick type in `wanted`, and disarms the others.
    fn arm_ticks(&self, inner: &mut Inner, wanted: &[EventType]) {
        inner.ticks.retain(|(kind, task)| {
            let keep = wanted.contains(kind);
            if !keep {
                task.abort();
            }
            keep
        });
        for &kind in wanted {
            if inner.ticks.iter().any(|(k, _)| *k == kind) {
                continue;
            }
            let Some(period) = kind.tick_period() else {
                continue;
            };
            let task = tokio::task::spawn_local(tick(self.me.clone(), kind, period));
            inner.ticks.push((kind, task.abort_handle()));
        }
    }

    /// Follows the log plane while some program's lines are events.
    fn follow_logs(&self, inner: &mut Inner) {
        match (&inner.follow, inner.log_events.is_empty()) {
            (Some(task), true) => {
                task.abort();
                inner.follow = None;
            }
            (None, false) => {
                let rx = self.plane.follow();
                let task = tokio::task::spawn_local(follow(self.me.clone(), rx));
                inner.follow = Some(task.abort_handle());
            }
            _ => {}
        }
    }

    /// A record of program output: a `PROCESS_LOG_*` event when its program's lines are.
    fn logged(&self, record: &Record) {
        let (wanted, pid) = {
            let inner = self.inner.borrow();
            (
                inner
                    .log_events
                    .contains(&(record.prog, record.stream as usize)),
                inner.pids.get(&record.prog).copied().unwrap_or(0),
            )
        };
        if !wanted {
            return;
        }
        let (process, group) = self.names_of(&self.names.name(record.prog));
        let kind = match record.stream {
            Stream::Stdout => EventType::ProcessLogStdout,
            Stream::Stderr => EventType::ProcessLogStderr,
        };
        self.publish(kind, || {
            payload::process_log(&process, &group, pid, record.stream, &record.text())
        });
    }
}

impl Pool {
    /// Adds `event` (at the head when it is given back), dropping the oldest beyond
    /// `buffer_size` as supervisord does.
    fn accept(&mut self, event: Queued, head: bool) {
        if self.buffer.len() >= self.buffer_size
            && let Some(dropped) = self.buffer.pop_front()
        {
            tracing::warn!(
                "event listener pool {}: buffer overflowed (buffer_size = {}), dropped event {} ({})",
                self.name,
                self.buffer_size,
                dropped.serial,
                dropped.kind.name()
            );
        }
        if head {
            self.buffer.push_front(event);
        } else {
            self.buffer.push_back(event);
        }
    }
}

/// The next number after `last`, from 0 (supervisord's serials).
fn next_serial(last: &mut Option<u64>) -> u64 {
    let next = last.map_or(0, |n| n.wrapping_add(1));
    *last = Some(next);
    next
}

/// Reads a listener's stdout until it closes.
async fn read_protocol(
    listeners: Weak<Listeners>,
    prog: ProgId,
    pid: i32,
    rx: tokio::net::unix::pipe::Receiver,
) {
    let mut buf = vec![0u8; 4096];
    loop {
        if rx.readable().await.is_err() {
            return;
        }
        match rx.try_read(&mut buf) {
            Ok(0) => return,
            Ok(n) => match listeners.upgrade() {
                Some(l) => l.output(prog, pid, &buf[..n]),
                None => return,
            },
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

/// Publishes `kind` at the start of every `period` of wall-clock time, as supervisord does.
async fn tick(listeners: Weak<Listeners>, kind: EventType, period: Duration) {
    let period = period.as_secs().max(1);
    loop {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let next = (now.as_secs() / period + 1) * period;
        tokio::time::sleep(Duration::from_secs(next).saturating_sub(now)).await;
        let Some(l) = listeners.upgrade() else {
            return;
        };
        l.publish(kind, || payload::tick(next));
    }
}

/// Turns program output into `PROCESS_LOG_*` events.
async fn follow(listeners: Weak<Listeners>, mut rx: broadcast::Receiver<Arc<Record>>) {
    loop {
        match rx.recv().await {
            Ok(record) => match listeners.upgrade() {
                Some(l) => l.logged(&record),
                None => return,
            },
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("event listeners missed {n} records of program output");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// `SUPERVISOR_SERVER_URL` (and `SUPERVISOR_USERNAME` / `_PASSWORD`) for every program,
/// from the first `[supd.http] listen` address: `unix:///path` or `http://127.0.0.1:9001`,
/// as supervisord's `serverurl`. A password written as `{SHA}` cannot be handed on (only
/// its digest is known): the variable is left out, and the listener's calls are refused.
pub fn server_env(config: &supd_config::Config) -> Vec<(String, String)> {
    use supd_config::{ListenAddress, Password};
    let Some(first) = config.supd.http.as_ref().and_then(|h| h.listen.first()) else {
        return Vec::new();
    };
    let url = match &first.address {
        ListenAddress::Unix(path) => format!("unix://{}", path.display()),
        ListenAddress::Tcp(addr) => format!("http://{addr}"),
    };
    let mut env = vec![("SUPERVISOR_SERVER_URL".to_string(), url)];
    if let Some(auth) = &first.auth {
        env.push(("SUPERVISOR_USERNAME".to_string(), auth.username.clone()));
        if let Password::Plain(password) = &auth.password {
            env.push(("SUPERVISOR_PASSWORD".to_string(), password.clone()));
        }
    }
    env
}
