//! The simulator the state-machine tests drive: spawns succeed (or fail) instantly with
//! made-up pids, timers fire when the simulated clock passes them. No processes, no real
//! time.
#![allow(dead_code)]

use std::time::Duration;

use supd_config::{HealthCheck, HealthSpec, ProgramSpec, Signal};
use supd_core::{
    Action, Effect, ExitStatus, Input, OutcomeKind, ProgramState, SpawnRetry, State, Timer, step,
};

pub const MS: Duration = Duration::from_millis(1);

pub fn spec(name: &str) -> ProgramSpec {
    ProgramSpec::new(name, vec!["/bin/true".into()])
}

/// A program that is up once its (tcp) health check passes: every 5 s, 3 failures in a
/// row tolerated, no `min_uptime`.
pub fn checked(name: &str) -> ProgramSpec {
    let mut s = spec(name);
    s.min_uptime = Duration::ZERO;
    s.health = Some(HealthSpec {
        check: HealthCheck::Tcp("127.0.0.1:1".into()),
        interval: Duration::from_secs(5),
        timeout: Duration::from_secs(1),
        retries: 3,
        start_period: Duration::ZERO,
    });
    s
}

pub struct Sim {
    pub st: State,
    pub now: Duration,
    pub next_pid: i32,
    pub timers: Vec<(Duration, Timer)>,
    /// Every effect so far, in order.
    pub log: Vec<Effect>,
    /// Programs whose spawns fail with this error.
    pub spawn_error: Vec<(usize, String)>,
    /// Programs whose command cannot be executed (as `ENOENT` would say).
    pub futile_spawns: Vec<usize>,
    pub exit_code: Option<i32>,
}

impl Sim {
    pub fn new(specs: Vec<ProgramSpec>) -> Self {
        Sim {
            st: State::new(specs, Duration::from_secs(30)),
            now: Duration::ZERO,
            next_pid: 100,
            timers: Vec::new(),
            log: Vec::new(),
            spawn_error: Vec::new(),
            futile_spawns: Vec::new(),
            exit_code: None,
        }
    }

    pub fn feed(&mut self, input: Input) {
        let effects = step(&mut self.st, input, self.now);
        for e in effects {
            self.log.push(e.clone());
            match e {
                Effect::Spawn { prog, run } => {
                    let next = match self.spawn_error.iter().find(|(p, _)| *p == prog) {
                        Some((_, error)) => Input::SpawnFailed {
                            prog,
                            run,
                            error: error.clone(),
                            retry: SpawnRetry::MayHelp,
                        },
                        None if self.futile_spawns.contains(&prog) => Input::SpawnFailed {
                            prog,
                            run,
                            error: "cannot run \"web\": No such file or directory".into(),
                            retry: SpawnRetry::Futile,
                        },
                        None => {
                            self.next_pid += 1;
                            Input::Spawned {
                                prog,
                                run,
                                pid: self.next_pid,
                            }
                        }
                    };
                    self.feed(next);
                }
                Effect::SetTimer { at, timer } => self.timers.push((at, timer)),
                Effect::Exit { code } => self.exit_code = Some(code),
                _ => {}
            }
        }
    }

    pub fn boot(mut self) -> Self {
        self.feed(Input::Boot);
        self
    }

    /// Moves the clock forward by `d`, firing due timers in time order.
    pub fn advance(&mut self, d: Duration) {
        let until = self.now + d;
        loop {
            self.timers.sort_by_key(|(at, _)| *at);
            match self.timers.first() {
                Some(&(at, timer)) if at <= until => {
                    self.timers.remove(0);
                    self.now = self.now.max(at);
                    self.feed(Input::Timer(timer));
                }
                _ => break,
            }
        }
        self.now = until;
    }

    pub fn state(&self, p: usize) -> ProgramState {
        self.st.programs[p].state()
    }

    pub fn pid(&self, p: usize) -> i32 {
        self.st.programs[p].pid().expect("program has a pid")
    }

    pub fn exit(&mut self, p: usize, status: ExitStatus) {
        let pid = self.pid(p);
        self.feed(Input::Exited {
            pid,
            status,
            group_alive: false,
        });
    }

    pub fn command(&mut self, req: u64, action: Action, progs: Vec<usize>) {
        self.feed(Input::Command { req, action, progs });
    }

    /// The answer to request `req`, one outcome per program; `None` while unanswered.
    /// Panics if it was answered more than once.
    pub fn reply(&self, req: u64) -> Option<Vec<OutcomeKind>> {
        let mut replies = self.log.iter().filter_map(|e| match e {
            Effect::Reply { req: r, outcomes } if *r == req => {
                Some(outcomes.iter().map(|o| o.kind.clone()).collect())
            }
            _ => None,
        });
        let first = replies.next();
        assert!(replies.next().is_none(), "request {req} answered twice");
        first
    }

    pub fn signals_to(&self, pgid: i32) -> Vec<Signal> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Effect::SignalGroup { pgid: g, signal } if *g == pgid => Some(*signal),
                _ => None,
            })
            .collect()
    }

    pub fn spawn_times(&self) -> usize {
        self.log
            .iter()
            .filter(|e| matches!(e, Effect::Spawn { .. }))
            .count()
    }
}

/// Answers every probe the simulation asks for, up to now, with `ok`.
pub fn answer_probes(sim: &mut Sim, ok: bool) -> usize {
    let asked: Vec<(usize, u32)> = sim
        .log
        .iter()
        .filter_map(|e| match e {
            Effect::Probe { prog, run } => Some((*prog, *run)),
            _ => None,
        })
        .collect();
    let n = asked.len();
    sim.log.retain(|e| !matches!(e, Effect::Probe { .. }));
    for (prog, run) in asked {
        sim.feed(Input::ProbeResult {
            prog,
            run,
            ok,
            detail: if ok {
                "ok".into()
            } else {
                "connection refused".into()
            },
        });
    }
    n
}

pub const KILLED: ExitStatus = ExitStatus::Signaled {
    signal: Signal::SIGKILL,
    core_dumped: false,
};
