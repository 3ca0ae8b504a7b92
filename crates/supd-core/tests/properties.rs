//! Property tests: the core driven by random inputs over random small configs, with a
//! simulator that plays the daemon's part faithfully, and its promises checked after every
//! step.
//!
//! The simulator does what the owner does: it carries out a step's effects in order, then
//! feeds their results (a spawn's pid or failure) before anything else; spawns give fresh
//! pids; exits come only for live processes, each once; a process group whose leader died
//! may live on and empty later (reported only for stopping programs, as the owner does);
//! `NoChildren` comes after a reap that leaves no process; timers come in time order, on
//! time or late, and old ones are delivered again (stale). The script also sends every
//! request a client can (start/stop/restart/signal/wait), file changes, health results,
//! sd_notify messages, reloads with changed, added and removed programs, and shutdowns.
//!
//! Checked after every step: a pid belongs to at most one program, and exactly the live
//! processes are the programs' pids; every spawned pid is attached to its program and
//! matched to exactly one exit; the event stream tells every change of state, in order; a
//! stale timer or health result changes nothing; nothing is spawned once a shutdown has
//! begun, which stops dependents before their dependencies and signals leftover descendants
//! only once every program is down; timers are never set in the past; a program is never
//! tried again after `start_retries + 1` failed starts in a row, and gives up exactly then;
//! a critical program's permanent failure begins the shutdown; every answer is consistent
//! with the program's state. At the end: after a shutdown, with every process exiting and
//! timers delivered, supd exits — with the code of the first cause (0, or the critical
//! program's) — and every request got exactly one reply. (Every program is in exactly one
//! state by construction: a state is one `Life` value.)
//!
//! The default run is 10,000 cases. For a longer hunt set `PROPTEST_CASES`, e.g.
//! `PROPTEST_CASES=1000000 cargo test --release -p supd-core --test properties`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use proptest::prelude::*;
use supd_config::{
    HealthCheck, HealthSpec, PollMode, ProgramSpec, Readiness, RestartMode, RestartPolicy, Signal,
    WatchAction, WatchSpec,
};
use supd_core::{
    Action, Change, Effect, ExitStatus, Input, Life, OutcomeKind, ProgramState, ReqId, SpawnRetry,
    State, Timer, Why, step,
};

const MS: Duration = Duration::from_millis(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The random parts of one program's spec.
#[derive(Debug, Clone)]
struct ProgramDraft {
    autostart: bool,
    oneshot: bool,
    restart: RestartPolicy,
    exit_code_3_is_success: bool,
    min_uptime_ms: u64,
    start_retries: Option<u32>,
    stop_signal: Signal,
    stop_timeout_ms: u64,
    /// Bit `i`: depends on the `i`-th program drafted before it.
    depends_on: u8,
    critical: bool,
    notify: bool,
    health: Option<(u32, u64, u64)>,
    watch: Option<WatchAction>,
    start_first: bool,
}

fn draft() -> impl Strategy<Value = ProgramDraft> {
    (
        (
            prop::bool::weighted(0.8),
            prop::bool::weighted(0.25),
            prop_oneof![
                Just(RestartPolicy::Always),
                Just(RestartPolicy::OnFailure),
                Just(RestartPolicy::Never)
            ],
            prop::bool::weighted(0.2),
            prop_oneof![Just(0u64), Just(50), Just(1000)],
            prop_oneof![Just(None), (0u32..4).prop_map(Some)],
            prop_oneof![
                Just(Signal::SIGTERM),
                Just(Signal::SIGINT),
                Just(Signal::SIGCONT)
            ],
        ),
        (
            prop_oneof![Just(500u64), Just(2000)],
            any::<u8>(),
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.15),
            prop::option::weighted(
                0.3,
                (
                    1u32..4,
                    prop_oneof![Just(1000u64), Just(5000)],
                    prop_oneof![Just(0u64), Just(2000)],
                ),
            ),
            prop::option::weighted(
                0.3,
                prop_oneof![
                    Just(WatchAction::Restart),
                    Just(WatchAction::Signal(Signal::SIGHUP))
                ],
            ),
            prop::bool::weighted(0.4),
        ),
    )
        .prop_map(
            |(
                (autostart, oneshot, restart, code3, min_uptime_ms, start_retries, stop_signal),
                (stop_timeout_ms, depends_on, critical, notify, health, watch, start_first),
            )| ProgramDraft {
                autostart,
                oneshot,
                restart,
                exit_code_3_is_success: code3,
                min_uptime_ms,
                start_retries,
                stop_signal,
                stop_timeout_ms,
                depends_on,
                critical,
                notify,
                health,
                watch,
                start_first,
            },
        )
}

impl ProgramDraft {
    /// The spec named `name`, depending on some of `earlier` (so the graph has no cycle).
    fn spec(&self, name: &str, earlier: &[String]) -> ProgramSpec {
        let mut s = ProgramSpec::new(name, vec!["/bin/true".into()]);
        s.autostart = self.autostart;
        s.oneshot = self.oneshot;
        s.restart = self.restart;
        if self.start_first && !self.oneshot {
            s.restart_mode = RestartMode::StartFirst;
        }
        if self.exit_code_3_is_success {
            s.exit_codes = vec![0, 3];
        }
        s.min_uptime = ms(self.min_uptime_ms);
        s.restart_delay = 100 * MS;
        s.max_restart_delay = 1000 * MS;
        s.start_retries = self.start_retries;
        s.stop_signal = self.stop_signal;
        s.stop_timeout = ms(self.stop_timeout_ms);
        s.depends_on = earlier
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < 8 && self.depends_on & (1 << i) != 0)
            .map(|(_, n)| n.clone())
            .collect();
        s.critical = self.critical;
        if self.notify {
            s.ready = Readiness::Notify;
        }
        s.health = self
            .health
            .map(|(retries, interval_ms, start_period_ms)| HealthSpec {
                check: HealthCheck::Tcp("127.0.0.1:1".into()),
                interval: ms(interval_ms),
                timeout: 1000 * MS,
                retries,
                start_period: ms(start_period_ms),
            });
        s.watch = self.watch.map(|action| WatchSpec {
            paths: vec![".".into()],
            include: vec![],
            exclude: vec![],
            debounce: 200 * MS,
            action,
            poll: PollMode::Auto,
        });
        s
    }
}

/// 1-5 programs, dependencies only on programs drafted earlier, in a shuffled file order.
fn config() -> impl Strategy<Value = Vec<ProgramSpec>> {
    prop::collection::vec(draft(), 1..=5)
        .prop_map(|drafts| {
            let mut names = Vec::new();
            let mut specs = Vec::new();
            for (i, d) in drafts.iter().enumerate() {
                let name = format!("p{i}");
                specs.push(d.spec(&name, &names));
                names.push(name);
            }
            specs
        })
        .prop_shuffle()
}

/// One thing that happens, as the script says it; the simulator picks its target among
/// what exists at that moment (`pick` modulo the candidates).
#[derive(Debug, Clone)]
enum Op {
    /// A live leader exits (`status` picks how); its group may live on.
    Exit {
        pick: usize,
        status: u8,
        group_alive: bool,
    },
    /// A group whose leader died empties.
    GroupEmpties {
        pick: usize,
    },
    /// Killed processes die.
    KilledDie,
    /// Time passes; due timers fire, on time or `late` (all at the end).
    Advance {
        ms: u64,
        late: bool,
    },
    /// A timer that already fired comes again.
    StaleTimer {
        pick: usize,
    },
    /// A health result for a run that is over.
    StaleProbe {
        pick: usize,
        ok: bool,
    },
    Command {
        action: Action,
        progs: u8,
        reversed: bool,
    },
    Signal {
        progs: u8,
    },
    Wait {
        progs: u8,
        timeout_ms: Option<u64>,
    },
    FilesChanged {
        pick: usize,
        files: usize,
    },
    /// A pending health check ends.
    Probe {
        pick: usize,
        ok: bool,
    },
    Notify {
        pick: usize,
        ready: bool,
        status: bool,
    },
    Reload {
        remove: Option<usize>,
        changes: Vec<(usize, u8)>,
        add: Option<ProgramDraft>,
    },
    Shutdown {
        force: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<usize>(), any::<u8>(), prop::bool::weighted(0.25))
            .prop_map(|(pick, status, group_alive)| Op::Exit { pick, status, group_alive }),
        2 => any::<usize>().prop_map(|pick| Op::GroupEmpties { pick }),
        1 => Just(Op::KilledDie),
        5 => (prop_oneof![Just(10u64), Just(60), Just(250), Just(600), Just(1100), Just(2500), Just(6000)],
              prop::bool::weighted(0.3))
            .prop_map(|(ms, late)| Op::Advance { ms, late }),
        1 => any::<usize>().prop_map(|pick| Op::StaleTimer { pick }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, ok)| Op::StaleProbe { pick, ok }),
        3 => (prop_oneof![Just(Action::Start), Just(Action::Stop), Just(Action::Restart), Just(Action::Upgrade)],
              any::<u8>(), any::<bool>())
            .prop_map(|(action, progs, reversed)| Op::Command { action, progs, reversed }),
        1 => any::<u8>().prop_map(|progs| Op::Signal { progs }),
        1 => (any::<u8>(), prop_oneof![Just(None), Just(Some(500u64)), Just(Some(3000))])
            .prop_map(|(progs, timeout_ms)| Op::Wait { progs, timeout_ms }),
        1 => (any::<usize>(), 1usize..4).prop_map(|(pick, files)| Op::FilesChanged { pick, files }),
        2 => (any::<usize>(), prop::bool::weighted(0.6)).prop_map(|(pick, ok)| Op::Probe { pick, ok }),
        1 => (any::<usize>(), prop::bool::weighted(0.7), any::<bool>())
            .prop_map(|(pick, ready, status)| Op::Notify { pick, ready, status }),
        1 => (
            prop::option::weighted(0.3, any::<usize>()),
            prop::collection::vec((any::<usize>(), 0u8..5), 0..3),
            prop::option::weighted(0.3, draft()),
        )
            .prop_map(|(remove, changes, add)| Op::Reload { remove, changes, add }),
        1 => prop::bool::weighted(0.3).prop_map(|force| Op::Shutdown { force }),
    ]
}

/// A process group the simulator runs.
#[derive(Debug, Clone, Copy)]
struct Group {
    prog: usize,
    run: u32,
    leader_alive: bool,
    killed: bool,
}

/// The daemon's part, and the checks.
struct Sim {
    st: State,
    now: Duration,
    specs: Vec<ProgramSpec>,
    next_pid: i32,
    next_req: ReqId,
    added: u32,
    /// Live process groups, by pgid (= the leader's pid).
    groups: BTreeMap<i32, Group>,
    /// Every pid spawned, and how many exits were delivered for it.
    spawned: BTreeMap<i32, u32>,
    /// Spawned, but not reported to the core yet (its `Spawned` is next in the inbox).
    unreported: BTreeSet<i32>,
    timers: Vec<(Duration, u64, Timer)>,
    timer_seq: u64,
    fired: Vec<Timer>,
    probes: Vec<(usize, u32)>,
    spawn_plan: Vec<u8>,
    spawns: usize,
    inbox: VecDeque<Input>,
    /// Processes started so far: the reaper's "no child left" is out of date once one was
    /// started after it (as in the owner).
    children_started: u64,
    /// A step signalled descendants: reap once the inbox is empty (as the owner does).
    reap_due: bool,
    /// Requests sent, and how often each was answered.
    requests: BTreeMap<ReqId, u32>,
    /// The wire state of every program as the `Changed` effects told it.
    told: Vec<ProgramState>,
    /// The exit code the first cause of the shutdown calls for.
    expected_code: Option<i32>,
    exit: Option<i32>,
}

impl Sim {
    fn new(specs: Vec<ProgramSpec>, spawn_plan: Vec<u8>) -> Sim {
        Sim {
            st: State::new(specs.clone(), Duration::from_secs(30)),
            now: Duration::ZERO,
            told: vec![ProgramState::Stopped; specs.len()],
            specs,
            next_pid: 100,
            next_req: 0,
            added: 0,
            groups: BTreeMap::new(),
            spawned: BTreeMap::new(),
            unreported: BTreeSet::new(),
            timers: Vec::new(),
            timer_seq: 0,
            fired: Vec::new(),
            probes: Vec::new(),
            spawn_plan,
            spawns: 0,
            inbox: VecDeque::new(),
            children_started: 0,
            reap_due: false,
            requests: BTreeMap::new(),
            expected_code: None,
            exit: None,
        }
    }

    /// Feeds `input` and every result of its effects, as the owner does.
    fn feed(&mut self, input: Input) {
        self.inbox.push_back(input);
        while let Some(input) = self.inbox.pop_front() {
            if self.exit.is_some() {
                self.inbox.clear();
                return;
            }
            let follow_ups = self.step(input);
            for next in follow_ups.into_iter().rev() {
                self.inbox.push_front(next);
            }
        }
        if std::mem::take(&mut self.reap_due) {
            self.after_reap();
        }
    }

    /// One step, with the checks around it; returns the inputs its effects produce.
    fn step(&mut self, input: Input) -> Vec<Input> {
        let was_shutting_down = self.st.shutting_down();
        let spawned_pid = match input {
            Input::Spawned { prog, pid, .. } => {
                self.unreported.remove(&pid);
                Some((prog, pid))
            }
            _ => None,
        };
        let is_no_children = input == Input::NoChildren;
        let is_shutdown = matches!(input, Input::Shutdown { .. });
        let effects = step(&mut self.st, input, self.now);

        self.told
            .resize(self.st.programs.len(), ProgramState::Stopped);
        let mut follow_ups = Vec::new();
        for effect in &effects {
            match effect {
                Effect::Spawn { prog, run } => {
                    assert!(!was_shutting_down, "nothing is spawned during shutdown");
                    let p = &self.st.programs[*prog];
                    if let Some(retries) = p.spec.start_retries {
                        assert!(
                            p.failed_starts() <= retries,
                            "tried again after {} failed starts in a row: {p:?}",
                            p.failed_starts()
                        );
                    }
                    follow_ups.push(self.spawn(*prog, *run));
                }
                Effect::Probe { prog, run } => self.probes.push((*prog, *run)),
                Effect::SignalGroup { pgid, signal } => {
                    if *signal == Signal::SIGKILL
                        && let Some(g) = self.groups.get_mut(pgid)
                    {
                        g.killed = true;
                    }
                }
                Effect::SignalDescendants { signal } => {
                    if *signal == Signal::SIGKILL {
                        self.groups.values_mut().for_each(|g| g.killed = true);
                    } else {
                        let up = self
                            .st
                            .programs
                            .iter()
                            .find(|p| in_flight(p.life()) || p.previous_pid().is_some());
                        assert!(
                            up.is_none(),
                            "descendants before every program is down: {up:?}"
                        );
                    }
                    self.reap_due = true;
                }
                Effect::SetTimer { at, timer } => {
                    assert!(*at >= self.now, "{timer:?} set in the past");
                    self.timer_seq += 1;
                    self.timers.push((*at, self.timer_seq, *timer));
                }
                Effect::Reply { req, outcomes } => {
                    self.answered(*req);
                    // With one program, the outcome was decided in this very step (with
                    // more, some may have been decided in earlier ones).
                    if let [o] = &outcomes[..] {
                        self.check_outcome(o.prog, &o.kind);
                    }
                }
                Effect::Reloaded { req, .. } => {
                    if let Some(req) = req {
                        self.answered(*req);
                    }
                }
                Effect::Changed {
                    prog,
                    from,
                    to,
                    change,
                } => {
                    assert_eq!(
                        self.told[*prog], *from,
                        "events tell every change, in order"
                    );
                    self.told[*prog] = *to;
                    let p = &self.st.programs[*prog];
                    if let Change::Stopping {
                        cause: Why::Shutdown,
                        ..
                    } = change
                    {
                        let dependent = self
                            .st
                            .programs
                            .iter()
                            .find(|q| q.deps.contains(prog) && in_flight(q.life()));
                        assert!(
                            dependent.is_none(),
                            "{} stopped before its dependent {dependent:?}",
                            p.spec.name
                        );
                    }
                    if let Change::GaveUp { failures, .. } = change {
                        assert_eq!(
                            Some(*failures),
                            p.spec.start_retries.map(|r| r + 1),
                            "gives up after start_retries + 1 failed starts: {p:?}"
                        );
                    }
                    if *to == ProgramState::Fatal && p.spec.critical && !was_shutting_down {
                        assert!(
                            self.st.shutting_down(),
                            "a critical failure shuts supd down"
                        );
                    }
                }
                Effect::Notice(_) => {}
                Effect::Exit { code } => {
                    assert!(is_no_children, "supd exits only once no child is left");
                    assert!(self.groups.is_empty());
                    assert_eq!(self.exit, None, "supd exits once");
                    self.exit = Some(*code);
                }
            }
        }
        if !was_shutting_down && self.st.shutting_down() {
            self.expected_code = Some(if is_shutdown { 0 } else { self.critical_code() });
        }
        if let Some((prog, pid)) = spawned_pid {
            assert_eq!(
                self.st.programs[prog].pid(),
                Some(pid),
                "a spawned pid is attached to its program"
            );
        }
        self.check_state();
        follow_ups
    }

    /// The exit code a critical failure that began the shutdown calls for.
    fn critical_code(&self) -> i32 {
        let failed: Vec<i32> = self
            .st
            .programs
            .iter()
            .filter(|p| p.spec.critical && p.failed())
            .map(|p| p.last_exit.map_or(1, ExitStatus::shell_code))
            .collect();
        assert!(!failed.is_empty(), "a shutdown began without a cause");
        failed[0]
    }

    fn answered(&mut self, req: ReqId) {
        let n = self
            .requests
            .get_mut(&req)
            .unwrap_or_else(|| panic!("a reply to {req}, which nobody sent"));
        *n += 1;
        assert_eq!(*n, 1, "request {req} answered twice");
    }

    fn check_outcome(&self, prog: usize, kind: &OutcomeKind) {
        let p = &self.st.programs[prog];
        let success = |p: &supd_core::Program| matches!(p.last_exit, Some(ExitStatus::Exited(code)) if p.spec.exit_codes.contains(&code));
        match kind {
            OutcomeKind::Started | OutcomeKind::Restarted => {
                assert!(matches!(p.life(), Life::Running { .. }), "{kind:?}: {p:?}")
            }
            OutcomeKind::Completed => {
                assert!(p.spec.oneshot && success(p), "{kind:?}: {p:?}")
            }
            OutcomeKind::Up if p.spec.oneshot => assert!(success(p), "{kind:?}: {p:?}"),
            OutcomeKind::Up => assert!(p.is_up(), "{kind:?}: {p:?}"),
            OutcomeKind::Stopped => assert!(!p.has_process(), "{kind:?}: {p:?}"),
            _ => {}
        }
    }

    /// The state agrees with the processes that exist, and keeps its promises.
    fn check_state(&self) {
        let mut pids = BTreeSet::new();
        for (i, p) in self.st.programs.iter().enumerate() {
            assert_eq!(
                self.told[i],
                p.state(),
                "{}: told {:?}",
                p.spec.name,
                self.told[i]
            );
            if p.predecessor().is_some() {
                assert!(
                    matches!(p.life(), Life::Spawning { .. } | Life::Starting { .. }),
                    "{}: a predecessor serves only while its successor comes up: {p:?}",
                    p.spec.name
                );
            }
            for pid in instance_pids(p) {
                assert!(pids.insert(pid), "pid {pid} belongs to two programs");
                let g = self.groups.get(&pid);
                assert!(
                    g.is_some_and(|g| g.leader_alive && g.prog == i),
                    "{}: pid {pid} is not its live process ({g:?})",
                    p.spec.name
                );
            }
        }
        for (pgid, g) in &self.groups {
            if g.leader_alive && !self.unreported.contains(pgid) {
                assert!(
                    instance_pids(&self.st.programs[g.prog]).contains(pgid),
                    "live process {pgid} of {} is not its pid",
                    self.st.programs[g.prog].spec.name
                );
            }
        }
        for (prog, run, pgid) in self.st.lingering_groups() {
            let g = self.groups.get(&pgid);
            assert!(
                g.is_some_and(|g| !g.leader_alive && g.prog == prog && g.run == run),
                "lingering group {pgid} does not exist ({g:?})"
            );
        }
    }

    fn spawn(&mut self, prog: usize, run: u32) -> Input {
        let plan = self.spawn_plan[self.spawns % self.spawn_plan.len()];
        self.spawns += 1;
        match plan % 16 {
            0 => Input::SpawnFailed {
                prog,
                run,
                error: "cannot fork: Resource temporarily unavailable".into(),
                retry: SpawnRetry::MayHelp,
            },
            1 => Input::SpawnFailed {
                prog,
                run,
                error: "cannot run \"x\": No such file or directory".into(),
                retry: SpawnRetry::Futile,
            },
            _ => {
                self.next_pid += 1;
                let pid = self.next_pid;
                let group = Group {
                    prog,
                    run,
                    leader_alive: true,
                    killed: false,
                };
                self.groups.insert(pid, group);
                self.spawned.insert(pid, 0);
                self.unreported.insert(pid);
                self.children_started += 1;
                Input::Spawned { prog, run, pid }
            }
        }
    }

    fn emptied_groups(&self) -> Vec<Input> {
        self.st
            .lingering_groups()
            .filter(|(_, _, pgid)| !self.groups.contains_key(pgid))
            .map(|(prog, run, _)| Input::GroupEmpty { prog, run })
            .collect()
    }

    fn exit_leader(&mut self, pgid: i32, status: ExitStatus, members_live_on: bool) {
        let g = self.groups.get_mut(&pgid).expect("a live group");
        assert!(
            instance_pids(&self.st.programs[g.prog]).contains(&pgid),
            "the exit of {pgid} is matched to its program"
        );
        g.leader_alive = false;
        let group_alive = members_live_on && !g.killed;
        if !group_alive {
            self.groups.remove(&pgid);
        }
        *self.spawned.get_mut(&pgid).unwrap() += 1;
        self.feed(Input::Exited {
            pid: pgid,
            status,
            group_alive,
        });
        self.after_reap();
    }

    /// What the owner does after reaping: groups that emptied, then `NoChildren` if the
    /// reaper found nothing left and nothing was started since.
    fn after_reap(&mut self) {
        let none_left = self.groups.is_empty();
        let started = self.children_started;
        for input in self.emptied_groups() {
            self.feed(input);
        }
        if none_left && self.children_started == started {
            self.feed(Input::NoChildren);
        }
    }

    fn advance(&mut self, by: Duration, late: bool) {
        let until = self.now + by;
        loop {
            self.timers.sort_by_key(|&(at, seq, _)| (at, seq));
            match self.timers.first() {
                Some(&(at, _, timer)) if at <= until && self.exit.is_none() => {
                    self.timers.remove(0);
                    self.now = if late { until } else { self.now.max(at) };
                    // As the owner: groups that emptied meanwhile first.
                    for input in self.emptied_groups() {
                        self.feed(input);
                    }
                    self.fired.push(timer);
                    self.feed(Input::Timer(timer));
                }
                _ => break,
            }
        }
        self.now = until;
    }

    fn request(&mut self) -> ReqId {
        self.next_req += 1;
        self.requests.insert(self.next_req, 0);
        self.next_req
    }

    /// The current programs whose bit is set in `mask` (at least one when any exist).
    fn chosen(&self, mask: u8) -> Vec<usize> {
        let current: Vec<usize> = self.st.current().map(|(i, _)| i).collect();
        let mut chosen: Vec<usize> = current
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << (i % 8)) != 0)
            .map(|(_, &p)| p)
            .collect();
        if chosen.is_empty() && !current.is_empty() {
            chosen.push(current[mask as usize % current.len()]);
        }
        chosen
    }

    fn leaders(&self) -> Vec<i32> {
        let alive = self.groups.iter().filter(|(_, g)| g.leader_alive);
        alive.map(|(&pgid, _)| pgid).collect()
    }

    /// Whether `timer` can concern nothing any more: its run, or its request, is over.
    fn is_stale(&self, timer: Timer) -> bool {
        let current_run = |prog: usize| match *self.st.programs[prog].life() {
            Life::Spawning { run, .. }
            | Life::Starting { run, .. }
            | Life::Running { run, .. }
            | Life::Stopping { run, .. }
            | Life::Backoff { run, .. } => Some(run),
            _ => None,
        };
        let leaving = |prog: usize, run: u32| {
            let p = &self.st.programs[prog];
            p.leaving().iter().any(|l| l.run == run)
        };
        match timer {
            Timer::StopTimeout { prog, run } => {
                current_run(prog) != Some(run) && !leaving(prog, run)
            }
            // A predecessor's checks keep their turn while it serves.
            Timer::Probe { prog, run } => {
                let predecessor = self.st.programs[prog].predecessor().map(|p| p.run);
                current_run(prog) != Some(run) && predecessor != Some(run)
            }
            Timer::Settled { prog, run } | Timer::Retry { prog, run } => {
                current_run(prog) != Some(run)
            }
            Timer::WaitTimeout { req } => self.requests.get(&req) == Some(&1),
            Timer::LingerKill { .. } | Timer::DescendantsKill | Timer::ShutdownDeadline => false,
        }
    }

    /// Feeds an input that must change nothing.
    fn feed_stale(&mut self, input: Input) {
        let before = format!("{:?}", self.st);
        let effects = step(&mut self.st, input.clone(), self.now);
        assert!(effects.is_empty(), "{input:?} is stale but did {effects:?}");
        assert_eq!(
            before,
            format!("{:?}", self.st),
            "{input:?} is stale but changed the state"
        );
    }

    fn play(&mut self, op: Op) {
        match op {
            Op::Exit {
                pick,
                status,
                group_alive,
            } => {
                let leaders = self.leaders();
                if leaders.is_empty() {
                    return;
                }
                let pgid = leaders[pick % leaders.len()];
                let status = if self.groups[&pgid].killed {
                    killed(Signal::SIGKILL)
                } else {
                    match status % 6 {
                        0 | 1 => ExitStatus::Exited(0),
                        2 => ExitStatus::Exited(1),
                        3 => ExitStatus::Exited(3),
                        4 => killed(Signal::SIGTERM),
                        _ => killed(Signal::SIGSEGV),
                    }
                };
                self.exit_leader(pgid, status, group_alive);
            }
            Op::GroupEmpties { pick } => {
                let leaderless: Vec<i32> = self
                    .groups
                    .iter()
                    .filter(|(_, g)| !g.leader_alive)
                    .map(|(&pgid, _)| pgid)
                    .collect();
                if !leaderless.is_empty() {
                    self.groups.remove(&leaderless[pick % leaderless.len()]);
                    self.after_reap();
                }
            }
            Op::KilledDie => {
                let killed_groups: Vec<i32> = self
                    .groups
                    .iter()
                    .filter(|(_, g)| g.killed)
                    .map(|(&pgid, _)| pgid)
                    .collect();
                for pgid in killed_groups {
                    match self.groups.get(&pgid) {
                        Some(g) if g.leader_alive => {
                            self.exit_leader(pgid, killed(Signal::SIGKILL), false)
                        }
                        Some(_) => {
                            self.groups.remove(&pgid);
                            self.after_reap();
                        }
                        None => {}
                    }
                }
            }
            Op::Advance { ms: millis, late } => self.advance(ms(millis), late),
            Op::StaleTimer { pick } => {
                if self.fired.is_empty() {
                    return;
                }
                let timer = self.fired[pick % self.fired.len()];
                if self.is_stale(timer) {
                    self.feed_stale(Input::Timer(timer));
                } else {
                    self.feed(Input::Timer(timer));
                }
            }
            Op::StaleProbe { pick, ok } => {
                let prog = pick % self.st.programs.len();
                self.feed_stale(Input::ProbeResult {
                    prog,
                    run: 0,
                    ok,
                    detail: "stale".into(),
                });
            }
            Op::Command {
                action,
                progs,
                reversed,
            } => {
                let mut progs = self.chosen(progs);
                if reversed {
                    progs.reverse();
                }
                let req = self.request();
                self.feed(Input::Command { req, action, progs });
            }
            Op::Signal { progs } => {
                let progs = self.chosen(progs);
                let req = self.request();
                self.feed(Input::Signal {
                    req,
                    signal: Signal::SIGHUP,
                    progs,
                });
            }
            Op::Wait { progs, timeout_ms } => {
                let progs = self.chosen(progs);
                let req = self.request();
                self.feed(Input::Wait {
                    req,
                    progs,
                    timeout: timeout_ms.map(ms),
                });
            }
            Op::FilesChanged { pick, files } => {
                let prog = pick % self.st.programs.len();
                let paths = (0..files).map(|i| format!("f{i}.py")).collect();
                self.feed(Input::FilesChanged { prog, paths });
            }
            Op::Probe { pick, ok } => {
                if self.probes.is_empty() {
                    return;
                }
                let (prog, run) = self.probes.remove(pick % self.probes.len());
                let detail = if ok { "ok" } else { "connection refused" };
                self.feed(Input::ProbeResult {
                    prog,
                    run,
                    ok,
                    detail: detail.into(),
                });
            }
            Op::Notify {
                pick,
                ready,
                status,
            } => {
                let leaders = self.leaders();
                if leaders.is_empty() {
                    return;
                }
                let pgid = leaders[pick % leaders.len()];
                self.feed(Input::Notify {
                    prog: self.groups[&pgid].prog,
                    from_pid: pgid,
                    ready,
                    status: status.then(|| "serving".into()),
                });
            }
            Op::Reload {
                remove,
                changes,
                add,
            } => self.reload(remove, changes, add),
            Op::Shutdown { force } => self.feed(Input::Shutdown { force }),
        }
    }

    fn reload(
        &mut self,
        remove: Option<usize>,
        changes: Vec<(usize, u8)>,
        add: Option<ProgramDraft>,
    ) {
        let mut specs = self.specs.clone();
        if let Some(i) = remove.filter(|_| specs.len() > 1) {
            let gone = specs.remove(i % specs.len()).name;
            for s in &mut specs {
                s.depends_on.retain(|d| *d != gone);
            }
        }
        for (i, change) in changes {
            let n = specs.len();
            let s = &mut specs[i % n];
            match change {
                0 => s.environment = vec![("V".into(), format!("{}", self.now.as_millis()))],
                1 => s.start_retries = s.start_retries.map_or(Some(1), |_| None),
                2 => s.oneshot = !s.oneshot,
                3 => s.autostart = !s.autostart,
                _ => {
                    s.min_uptime = if s.min_uptime.is_zero() {
                        50 * MS
                    } else {
                        Duration::ZERO
                    }
                }
            }
        }
        if let Some(draft) = add {
            self.added += 1;
            let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
            specs.push(draft.spec(&format!("n{}", self.added), &names));
        }
        self.specs = specs.clone();
        let req = Some(self.request());
        self.feed(Input::Reload {
            req,
            specs,
            shutdown_timeout: Duration::from_secs(30),
        });
    }

    /// Shuts supd down and lets every process end; supd must exit.
    fn finish(&mut self) {
        if self.exit.is_none() {
            self.feed(Input::Shutdown { force: false });
        }
        for _ in 0..1000 {
            if self.exit.is_some() {
                break;
            }
            if let Some(&pgid) = self.leaders().first() {
                self.exit_leader(pgid, ExitStatus::Exited(0), false);
            } else if let Some(&pgid) = self.groups.keys().next() {
                self.groups.remove(&pgid);
                self.after_reap();
            } else {
                self.after_reap();
                self.advance(Duration::from_secs(1), false);
            }
        }
        assert_eq!(
            self.exit, self.expected_code,
            "supd exits, with the code of the cause"
        );
        for (req, answers) in &self.requests {
            assert_eq!(*answers, 1, "request {req} answered {answers} times");
        }
        for (pid, exits) in &self.spawned {
            assert_eq!(*exits, 1, "pid {pid} exited {exits} times");
        }
    }
}

/// The live leaders of the program's processes: its current run's, a predecessor's, those
/// of runs leaving.
fn instance_pids(p: &supd_core::Program) -> Vec<i32> {
    let predecessor = p.predecessor().map(|pr| pr.pid);
    let leaving = p
        .leaving()
        .iter()
        .filter(|l| l.leader_alive)
        .map(|l| l.pgid);
    p.pid()
        .into_iter()
        .chain(predecessor)
        .chain(leaving)
        .collect()
}

/// A process of the program exists or is being spawned.
fn in_flight(life: &Life) -> bool {
    matches!(
        life,
        Life::Spawning { .. }
            | Life::Starting { .. }
            | Life::Running { .. }
            | Life::Stopping { .. }
    )
}

fn killed(signal: Signal) -> ExitStatus {
    ExitStatus::Signaled {
        signal,
        core_dumped: false,
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_core_keeps_its_promises_whatever_happens(
        specs in config(),
        spawn_plan in prop::collection::vec(any::<u8>(), 1..8),
        ops in prop::collection::vec(op(), 0..80),
    ) {
        let mut sim = Sim::new(specs, spawn_plan);
        sim.feed(Input::Boot);
        for op in ops {
            if sim.exit.is_some() {
                break;
            }
            sim.play(op);
        }
        sim.finish();
    }
}
