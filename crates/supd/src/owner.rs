//! The state owner: the one place where [`supd_core::State`] lives and changes.
//!
//! It takes events off the queue, turns them into core inputs, runs [`supd_core::step`], and
//! carries out the effects. Results of effects come back as inputs (a spawn's pid, a reaped
//! exit), never as direct state changes. Reaping happens here, in the owner's own turn, so a
//! pid is always attached to its program before any exit could be matched against it.
//!
//! It decides nothing and words nothing about programs: the core decides, [`crate::wording`]
//! turns the core's values into log lines and answers, [`crate::status`] builds the status
//! rows and events. What is written here is about carrying out effects (a signal that could
//! not be sent, a config that could not be reloaded).

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

use supd_config::Signal;
use supd_core::{Action, Effect, ExitStatus, Input, OutcomeKind, ReqId, SpawnRetry, State, step};
use supd_proto::{
    ActionOutcome, ErrorKind, ErrorReply, OutcomeCode, ProgramState, Reply, Request, ServerMessage,
    StateEvent,
};
use supd_sys::process;
use supd_sys::reap::{Ended, Reaped, reap_one};
use tokio::sync::{mpsc, oneshot};

use crate::bulletin::Bulletin;
use crate::event::{Event, Inspected, Inspection, ProgramDiff, Sig};
use crate::keeper::Keeper;
use crate::launch::Launcher;
use crate::listeners::Listeners;
use crate::listeners::stdin::{StdinError, Written};
use crate::logplane::LogPlane;
use crate::names::Names;
use crate::probe;
use crate::status;
use crate::timers::Timers;
use crate::wording;

/// Exits handled in one turn of the loop; more wait for the next turn, behind the requests
/// that arrived meanwhile (5,000 orphans ending at once must not stall `supctl status`).
const REAP_BATCH: usize = 64;

/// A client waiting for the core's answer ([`Effect::Reply`], [`Effect::Reloaded`]).
struct Waiting {
    id: u64,
    reply: oneshot::Sender<ServerMessage>,
}

pub struct Owner {
    state: State,
    /// The config file, re-read by `reload`.
    config_path: std::path::PathBuf,
    /// How it was loaded (the profiles given at start): a reload loads it the same way.
    load_options: supd_config::LoadOptions,
    /// The control socket in use (a reload cannot move it).
    socket: std::path::PathBuf,
    boot: Instant,
    timers: Timers,
    launcher: Launcher,
    /// Told of every process group started and gone, so it can stop them if supd dies.
    keeper: Keeper,
    names: Rc<Names>,
    waiting: HashMap<ReqId, Waiting>,
    next_req: ReqId,
    /// Inputs produced while carrying out effects, handled before the next event.
    inbox: VecDeque<Input>,
    /// Set when the core says supd is done.
    exit: Option<i32>,
    plane: Rc<LogPlane>,
    /// `command` health checks running: their pid, and where their exit status goes.
    checks: HashMap<i32, oneshot::Sender<ExitStatus>>,
    /// The event queue, for tasks the owner starts (health checks).
    events: mpsc::UnboundedSender<Event>,
    /// State changes, for `supctl events`.
    bulletin: Rc<Bulletin>,
    /// File watching, kept in step with the config across reloads.
    watchers: Option<crate::watch::Watchers>,
    /// Events of programs entering `starting` in the step being carried out, published
    /// once their spawn has told the pid.
    held_starts: Vec<(usize, StateEvent)>,
    /// Signals that could not be sent in the step being carried out (process group,
    /// signal, why), for the reply to `supctl signal`.
    failed_signals: Vec<(i32, Signal, String)>,
    /// Processes started so far (programs and health checks): the reaper's "no child
    /// left" is out of date once one was started after it said so.
    children_started: u64,
    /// Event listeners, and every program's stdin pipe.
    listeners: Rc<Listeners>,
}

impl Owner {
    pub fn new(
        config: &supd_config::Config,
        keeper: Keeper,
        launcher: Launcher,
        names: Rc<Names>,
        plane: Rc<LogPlane>,
        bulletin: Rc<Bulletin>,
        events: mpsc::UnboundedSender<Event>,
    ) -> Self {
        Owner {
            listeners: Listeners::new(names.clone(), plane.clone(), events.clone()),
            watchers: None,
            held_starts: Vec::new(),
            failed_signals: Vec::new(),
            children_started: 0,
            bulletin,
            checks: HashMap::new(),
            events,
            state: State::new(config.programs.clone(), config.supd.shutdown_timeout),
            config_path: config.path.clone(),
            load_options: config.options.clone(),
            socket: config.supd.socket.clone(),
            plane,
            boot: Instant::now(),
            timers: Timers::default(),
            launcher,
            keeper,
            names,
            waiting: HashMap::new(),
            next_req: 0,
            inbox: VecDeque::new(),
            exit: None,
        }
    }

    /// Hands the file watchers to the owner, which updates them on reload.
    pub fn set_watchers(&mut self, watchers: crate::watch::Watchers) {
        self.watchers = Some(watchers);
    }

    /// The exit code, once everything is stopped.
    pub fn exit_code(&self) -> Option<i32> {
        self.exit
    }

    /// supd's clock: time since the owner was created.
    fn now(&self) -> Duration {
        self.boot.elapsed()
    }

    /// When the owner next needs to wake without an event (a time too far to represent is
    /// never).
    pub fn next_wakeup(&self) -> Option<Instant> {
        self.timers.next().and_then(|at| self.boot.checked_add(at))
    }

    pub fn boot(&mut self) {
        self.listeners.configure(&self.state, false);
        self.feed(Input::Boot);
        self.listeners.supervisor_state(true);
    }

    /// Begins the shutdown (`force`: a second request, everything is killed).
    fn shut_down(&mut self, force: bool) {
        if !self.state.shutting_down() {
            self.listeners.supervisor_state(false);
        }
        self.feed(Input::Shutdown { force });
    }

    pub fn on_event(&mut self, event: Event) {
        match event {
            Event::Signal(Sig::Chld) => self.reap(),
            Event::Signal(sig @ (Sig::Term | Sig::Int | Sig::Quit)) => {
                let name = match sig {
                    Sig::Term => "SIGTERM",
                    Sig::Int => "SIGINT",
                    _ => "SIGQUIT",
                };
                let force = self.state.shutting_down();
                if !force {
                    tracing::info!("{name} received");
                }
                self.shut_down(force);
            }
            Event::Signal(Sig::Hup) => {
                tracing::info!("SIGHUP received: reloading {}", self.config_path.display());
                self.reload(None);
            }
            Event::Signal(Sig::Usr1) => {
                let n = self.plane.reopen_files();
                tracing::info!(
                    "SIGUSR1 received: reopening {n} log file{}",
                    if n == 1 { "" } else { "s" }
                );
            }
            Event::FilesChanged { prog, paths } => self.feed(Input::FilesChanged { prog, paths }),
            Event::ProbeResult {
                prog,
                run,
                ok,
                detail,
            } => self.feed(Input::ProbeResult {
                prog,
                run,
                ok,
                detail,
            }),
            Event::Notify {
                pgid,
                pid,
                ready,
                status,
            } => match self.state.program_with_pid(pgid) {
                Some(prog) => self.feed(Input::Notify {
                    prog,
                    from_pid: pid,
                    ready,
                    status,
                }),
                None => tracing::debug!(
                    "ignored an sd_notify message from pid {pid}: not a process of any program"
                ),
            },
            Event::Control { id, request, reply } => self.control(id, request, reply),
            Event::RestartKeeper => self.keeper.restart(),
            Event::Inspect { reply } => {
                let _ = reply.send(self.inspect());
            }
            Event::Reread { reply } => {
                let _ = reply.send(self.reread());
            }
            Event::ListenerBroke { prog, pid } => {
                if self.state.programs[prog].pid() == Some(pid) && !self.state.shutting_down() {
                    // Nobody waits for the answer.
                    self.next_req += 1;
                    let req = self.next_req;
                    self.feed(Input::Command {
                        req,
                        action: Action::Restart,
                        progs: vec![prog],
                    });
                }
            }
            Event::SendStdin { name, data, reply } => self.send_stdin(&name, data, reply),
        }
    }

    /// XML-RPC's `sendProcessStdin`: `data` to the stdin of the running program `name`.
    fn send_stdin(&mut self, name: &str, data: Vec<u8>, reply: Written) {
        let prog = match self.names.resolve(&[name.to_string()], false) {
            Ok(progs) if progs.len() == 1 => progs[0],
            Ok(_) => {
                let message = format!("{name:?} names several programs; name one");
                let _ = reply.send(Err(StdinError::UnknownProgram(message)));
                return;
            }
            Err(e) => {
                let _ = reply.send(Err(StdinError::UnknownProgram(e)));
                return;
            }
        };
        let p = &self.state.programs[prog];
        let refused = if p.pid().is_none() || p.state() == ProgramState::Stopping {
            Some(StdinError::NotRunning)
        } else if p.spec.stdin != supd_config::StdinMode::Pipe {
            Some(StdinError::NoPipe)
        } else {
            None
        };
        match refused {
            Some(e) => {
                let _ = reply.send(Err(e));
            }
            None => {
                // The writer answers once the bytes are in the pipe; a pipe it no longer
                // has means the process closed it.
                let (tx, rx) = oneshot::channel();
                match self.listeners.stdin().write(prog, data, Some(tx)) {
                    Ok(()) => {
                        tokio::task::spawn_local(async move {
                            let outcome = rx.await.unwrap_or(Err(StdinError::Closed));
                            let _ = reply.send(outcome);
                        });
                    }
                    Err(_) => {
                        let _ = reply.send(Err(StdinError::Closed));
                    }
                }
            }
        }
    }

    /// Fires every timer that is due (after noting groups that emptied meanwhile, so a stop
    /// timeout never signals a group that is already gone).
    pub fn on_timers(&mut self) {
        self.check_lingering_groups();
        while let Some(timer) = self.timers.pop_due(self.now()) {
            self.feed(Input::Timer(timer));
        }
    }

    /// Runs the core on `input` and on every input its effects produce.
    fn feed(&mut self, input: Input) {
        self.inbox.push_back(input);
        let mut reap = false;
        while let Some(input) = self.inbox.pop_front() {
            let now = self.now();
            let effects = step(&mut self.state, input, now);
            self.failed_signals.clear();
            let mut follow_ups = Vec::new();
            for effect in effects {
                reap |= matches!(effect, Effect::SignalDescendants { .. });
                follow_ups.extend(self.execute(effect));
            }
            // Starts that wait for dependencies spawn nothing: their events go out as is.
            for (_, event) in std::mem::take(&mut self.held_starts) {
                self.bulletin.publish(|| event);
            }
            // Results of this step's effects come before anything queued earlier: the
            // core hears of a pid before any exit could be matched against it.
            for next in follow_ups.into_iter().rev() {
                self.inbox.push_front(next);
            }
        }
        if reap {
            // Signalling descendants may leave nothing to wait for: find out now.
            self.reap();
        }
    }

    fn execute(&mut self, effect: Effect) -> Option<Input> {
        match effect {
            Effect::Spawn { prog, run } => {
                let spec = &self.state.programs[prog].spec;
                let announce = self.keeper.announcement(spec.stop_signal);
                let names = self.listeners.names_of(&spec.name);
                let beside = self.state.programs[prog].overlapping();
                let result = self.launcher.launch(prog, spec, announce, &names, beside);
                let result = result.map(|launched| {
                    let pid = launched.pid;
                    self.keeper.track(pid as i32, spec.stop_signal);
                    self.children_started += 1;
                    self.listeners.spawned(
                        &self.state,
                        prog,
                        pid as i32,
                        launched.stdin,
                        launched.protocol,
                    );
                    pid
                });
                if let Some(i) = self.held_starts.iter().position(|(p, _)| *p == prog) {
                    let (_, mut event) = self.held_starts.remove(i);
                    event.pid = result.as_ref().ok().copied();
                    self.bulletin.publish(|| event);
                }
                Some(spawn_result(prog, run, result))
            }
            Effect::Probe { prog, run } => {
                self.start_check(prog, run);
                None
            }
            Effect::SignalGroup { pgid, signal } => {
                if let Err(e) = process::signal_group(pgid, signal) {
                    tracing::warn!(
                        "cannot send {} to process group {pgid}: {e}",
                        signal.as_str()
                    );
                    self.failed_signals.push((pgid, signal, e.to_string()));
                }
                None
            }
            Effect::SignalDescendants { signal } => {
                if signal == Signal::SIGKILL {
                    // supd kills every group itself now; nothing is left for the keeper.
                    self.keeper.release();
                }
                let keeper = self.keeper.pid();
                let mut pids = process::descendants(process::own_pid());
                pids.retain(|&pid| Some(pid) != keeper);
                if !pids.is_empty() {
                    tracing::info!(
                        "sending {} to {} leftover process{}: {}",
                        signal.as_str(),
                        pids.len(),
                        if pids.len() == 1 { "" } else { "es" },
                        pids.iter()
                            .map(i32::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                for pid in pids {
                    let _ = process::signal_process(pid, signal);
                }
                None
            }
            Effect::SetTimer { at, timer } => {
                self.timers.insert(at, timer);
                None
            }
            Effect::Reply { req, outcomes } => {
                if let Some(w) = self.waiting.remove(&req) {
                    let outcomes = outcomes
                        .iter()
                        .map(|o| {
                            let failed = match o.kind {
                                OutcomeKind::SignalSent { signal, pgid } => self
                                    .failed_signals
                                    .iter()
                                    .find(|(g, s, _)| (*g, *s) == (pgid, signal))
                                    .map(|(_, _, e)| wording::signal_failed(signal, e)),
                                _ => None,
                            };
                            let code = if failed.is_some() {
                                OutcomeCode::SignalFailed
                            } else {
                                status::outcome_code(&o.kind)
                            };
                            ActionOutcome {
                                name: self.names.name(o.prog).to_string(),
                                ok: o.ok() && failed.is_none(),
                                message: failed.unwrap_or_else(|| wording::outcome(&self.state, o)),
                                code: Some(code),
                            }
                        })
                        .collect();
                    let _ = w.reply.send(ServerMessage::Reply {
                        id: w.id,
                        reply: Reply::Actions { outcomes },
                    });
                }
                None
            }
            Effect::Changed {
                prog,
                from,
                to,
                change,
            } => {
                if let Some(line) = wording::log_line(&self.state, &change) {
                    // The core's own name: a reload reports new programs before the name
                    // table hears of them.
                    tracing::info!("{}: {line}", self.state.programs[prog].spec.name);
                }
                if from != to {
                    self.listeners.changed(&self.state, prog, from, to);
                    let event = status::state_event(&self.state, prog, from, to, &change);
                    if to == ProgramState::Starting && self.state.programs[prog].pid().is_none() {
                        // The spawn that follows in this step tells the pid.
                        self.held_starts.push((prog, event));
                    } else {
                        self.bulletin.publish(|| event);
                    }
                }
                None
            }
            Effect::Notice(notice) => {
                tracing::info!("{}", wording::notice(&self.state, &notice));
                None
            }
            Effect::Exit { code } => {
                self.exit = Some(code);
                None
            }
            Effect::Reloaded {
                req,
                added,
                changed,
                removed,
            } => {
                self.sync_names();
                self.sync_watchers(&added, &changed, &removed);
                self.listeners.configure(&self.state, true);
                let names = |ids: Vec<usize>| ids.into_iter().map(|p| self.names.name(p)).collect();
                let reply = Reply::Reloaded {
                    added: names(added),
                    changed: names(changed),
                    removed: names(removed),
                };
                if let Some(w) = req.and_then(|r| self.waiting.remove(&r)) {
                    let _ = w.reply.send(ServerMessage::Reply { id: w.id, reply });
                }
                None
            }
        }
    }

    /// Collects every ended child and tells the core.
    fn reap(&mut self) {
        let mut reaped = 0;
        let none_left = loop {
            if reaped == REAP_BATCH {
                // More may be waiting (thousands of orphans at once, as PID 1): let the
                // control requests queued meanwhile in, then carry on.
                let _ = self.events.send(Event::Signal(Sig::Chld));
                break false;
            }
            reaped += 1;
            match reap_one() {
                Reaped::Child { pid, ended } => {
                    let status = match ended {
                        Ended::Exited(code) => ExitStatus::Exited(code),
                        Ended::Signaled {
                            signal,
                            core_dumped,
                        } => ExitStatus::Signaled {
                            signal,
                            core_dumped,
                        },
                    };
                    if self.keeper.restart_if(pid, &wording::exit_status(status)) {
                        continue;
                    }
                    let group_alive = process::group_alive(pid);
                    self.keeper.leader_reaped(pid, group_alive);
                    if let Some(check) = self.checks.remove(&pid) {
                        let _ = check.send(status);
                        continue;
                    }
                    if !self.state.owns_pid(pid) {
                        tracing::debug!(
                            "reaped adopted process {pid}: {}",
                            wording::exit_status(status)
                        );
                    }
                    self.feed(Input::Exited {
                        pid,
                        status,
                        group_alive,
                    });
                }
                Reaped::NothingYet => break false,
                Reaped::NoChildren => break true,
            }
        };
        // Groups first, so a stop that completed is reported as such before "nothing left";
        // what follows that stop (a restart) may start a process, and then something is left.
        let started = self.children_started;
        self.check_lingering_groups();
        if self.state.shutting_down() {
            // Everything supd started is gone: the keeper has nothing left to do.
            self.keeper.release_if_idle();
        }
        if none_left && self.children_started == started {
            self.feed(Input::NoChildren);
        }
    }

    /// Stopping programs whose leader exited while its group lived on: done when empty.
    fn check_lingering_groups(&mut self) {
        self.keeper.forget_emptied();
        let empty: Vec<_> = self
            .state
            .lingering_groups()
            .filter(|&(_, _, pgid)| !process::group_alive(pgid))
            .map(|(prog, run, _)| Input::GroupEmpty { prog, run })
            .collect();
        for input in empty {
            self.feed(input);
        }
    }

    // ----- control requests ----------------------------------------------------------

    fn inspect(&self) -> Inspection {
        let now = self.now();
        let programs = (0..self.state.programs.len())
            .filter(|&p| !self.state.programs[p].retired)
            .map(|p| Inspected {
                status: status::program_status(&self.state, p, now),
                spec: self.state.programs[p].spec.clone(),
            })
            .collect();
        Inspection {
            programs,
            shutting_down: self.state.shutting_down(),
        }
    }

    /// What [`Owner::reload`] would do now, by program name.
    fn reread(&self) -> Result<ProgramDiff, String> {
        let config = crate::source::load(&self.config_path, &self.load_options)
            .map_err(|problems| {
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            })?
            .config;
        let current: Vec<&supd_config::ProgramSpec> = self
            .state
            .programs
            .iter()
            .filter(|p| !p.retired)
            .map(|p| &p.spec)
            .collect();
        let mut diff = ProgramDiff::default();
        for spec in &config.programs {
            match current.iter().find(|c| c.name == spec.name) {
                None => diff.added.push(spec.name.clone()),
                Some(c) if *c != spec => diff.changed.push(spec.name.clone()),
                Some(_) => {}
            }
        }
        for c in &current {
            if !config.programs.iter().any(|s| s.name == c.name) {
                diff.removed.push(c.name.clone());
            }
        }
        Ok(diff)
    }

    fn control(&mut self, id: u64, request: Request, reply: oneshot::Sender<ServerMessage>) {
        let error = |kind, message: String| ServerMessage::Error {
            id: Some(id),
            error: ErrorReply { kind, message },
        };
        let answer = match request {
            Request::Status { names, .. } => match self.names.resolve(&names, true) {
                Ok(progs) => {
                    let now = self.now();
                    ServerMessage::Reply {
                        id,
                        reply: Reply::Status {
                            programs: progs
                                .iter()
                                .map(|&p| status::program_status(&self.state, p, now))
                                .collect(),
                        },
                    }
                }
                Err(e) => error(ErrorKind::UnknownProgram, e),
            },
            Request::Start { names } => return self.command(id, Action::Start, &names, reply),
            Request::Stop { names } => return self.command(id, Action::Stop, &names, reply),
            Request::Restart { names } => {
                return self.command(id, Action::Restart, &names, reply);
            }
            Request::Upgrade { names } => {
                return self.command(id, Action::Upgrade, &names, reply);
            }
            Request::Signal { signal, names } => match supd_config::signal::parse(&signal) {
                Err(e) => error(ErrorKind::Refused, e),
                Ok(signal) => match self.names.resolve(&names, false) {
                    Ok(progs) => {
                        let req = self.wait_for_core(id, reply);
                        self.feed(Input::Signal { req, signal, progs });
                        return;
                    }
                    Err(e) => error(ErrorKind::UnknownProgram, e),
                },
            },
            Request::Shutdown => {
                let answer = ServerMessage::Reply {
                    id,
                    reply: Reply::ShuttingDown,
                };
                let _ = reply.send(answer);
                tracing::info!("shutdown requested by supctl");
                self.shut_down(false);
                return;
            }
            Request::Wait { names, timeout_ms } => {
                let progs = if names.is_empty() {
                    Ok(self
                        .state
                        .current()
                        .filter(|(_, p)| p.spec.autostart)
                        .map(|(i, _)| i)
                        .collect())
                } else {
                    self.names.resolve(&names, false)
                };
                match progs {
                    Ok(progs) => {
                        let req = self.wait_for_core(id, reply);
                        self.feed(Input::Wait {
                            req,
                            progs,
                            timeout: timeout_ms.map(Duration::from_millis),
                        });
                        return;
                    }
                    Err(e) => error(ErrorKind::UnknownProgram, e),
                }
            }
            Request::Reload => {
                self.reload(Some(Waiting { id, reply }));
                return;
            }
            Request::Logs { .. } | Request::Events { .. } => error(
                ErrorKind::BadRequest,
                "streams are served by the control connection itself".into(),
            ),
        };
        let _ = reply.send(answer);
    }

    /// Starts one health check of run `run` of `prog`, as a task that reports back as an
    /// event. A `command` check is spawned here, so its pid is known to the reaper before
    /// it can exit.
    fn start_check(&mut self, prog: usize, run: u32) {
        let spec = &self.state.programs[prog].spec;
        let Some(health) = &spec.health else {
            return;
        };
        let check = match probe::Check::network(&health.check) {
            Some(check) => check,
            None => {
                let supd_config::HealthCheck::Command(argv) = &health.check else {
                    return;
                };
                let announce = self.keeper.announcement(Signal::SIGTERM);
                let checked = self.state.programs[prog].pid();
                match self.launcher.launch_check(spec, argv, checked, announce) {
                    Ok(pid) => {
                        self.children_started += 1;
                        self.keeper.track(pid as i32, Signal::SIGTERM);
                        let (tx, rx) = oneshot::channel();
                        self.checks.insert(pid as i32, tx);
                        probe::Check::Command {
                            pgid: pid as i32,
                            exit: rx,
                        }
                    }
                    Err(e) => probe::Check::Failed(e.message),
                }
            }
        };
        tokio::task::spawn_local(probe::run(
            prog,
            run,
            check,
            health.timeout,
            self.events.clone(),
        ));
    }

    /// Re-reads the config (with the profiles supd was started with; a supervisord file is
    /// converted again); a valid one goes to the core as a difference to apply, an invalid
    /// one is reported (to the client, or the log) and changes nothing.
    fn reload(&mut self, client: Option<Waiting>) {
        let loaded = crate::source::load(&self.config_path, &self.load_options);
        let config = match loaded {
            Ok(loaded) => loaded.config,
            Err(problems) => {
                let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
                return refuse_reload(client, &problems);
            }
        };
        if config.supd.socket != self.socket {
            tracing::warn!(
                "[supd] socket changed to {}: that takes effect when supd restarts",
                config.supd.socket.display()
            );
        }
        // Every new address bound, or the reload refused: nothing changes then.
        match self.launcher.sockets.rebind(&config.programs) {
            Ok(rebound) => {
                for url in &rebound.closed {
                    tracing::info!("closed {url}");
                }
            }
            Err(e) => return refuse_reload(client, &[e.0]),
        }
        let req = client.map(|w| self.wait_for_core(w.id, w.reply));
        // Groups name programs by name: the new ones hold as soon as the core has the specs.
        self.names.set_groups(config.groups);
        self.feed(Input::Reload {
            req,
            specs: config.programs,
            shutdown_timeout: config.supd.shutdown_timeout,
        });
    }

    /// After a reload: program ids and names as the core now has them, for the control
    /// plane and the log plane.
    fn sync_names(&self) {
        let all: Vec<String> = self
            .state
            .programs
            .iter()
            .map(|p| p.spec.name.clone())
            .collect();
        let retired: Vec<bool> = self.state.programs.iter().map(|p| p.retired).collect();
        self.plane.set_programs(&all);
        self.names.set(all, retired);
    }

    /// After a reload: watch what added and changed programs now say; stop watching for
    /// removed ones. A watch that cannot be set up is reported; the program runs anyway.
    fn sync_watchers(&mut self, added: &[usize], changed: &[usize], removed: &[usize]) {
        let Some(watchers) = self.watchers.as_mut() else {
            return;
        };
        for &p in removed {
            watchers.stop(p);
        }
        for &p in added.iter().chain(changed) {
            let spec = &self.state.programs[p].spec;
            if let Err(e) = watchers.set(p, spec) {
                tracing::warn!("{}: not watching files: {e}", spec.name);
            }
        }
    }

    /// `start`/`stop`/`restart`: the core answers once every program reached its goal.
    fn command(
        &mut self,
        id: u64,
        action: Action,
        names: &[String],
        reply: oneshot::Sender<ServerMessage>,
    ) {
        let refuse = |kind, message: String| ServerMessage::Error {
            id: Some(id),
            error: ErrorReply { kind, message },
        };
        if self.state.shutting_down() {
            let _ = reply.send(refuse(ErrorKind::Refused, "supd is shutting down".into()));
            return;
        }
        match self.names.resolve(names, false) {
            Ok(progs) => {
                let req = self.wait_for_core(id, reply);
                self.feed(Input::Command { req, action, progs });
            }
            Err(e) => {
                let _ = reply.send(refuse(ErrorKind::UnknownProgram, e));
            }
        }
    }

    /// Registers a client that waits for the core's answer; returns the request's number.
    fn wait_for_core(&mut self, id: u64, reply: oneshot::Sender<ServerMessage>) -> ReqId {
        self.next_req += 1;
        self.waiting.insert(self.next_req, Waiting { id, reply });
        self.next_req
    }
}

/// A reload that changes nothing, for `problems` (a config's, or a socket that cannot be
/// bound): each logged, and all of them the client's answer.
fn refuse_reload(client: Option<Waiting>, problems: &[String]) {
    for p in problems {
        tracing::warn!("{p}");
    }
    tracing::warn!("config not reloaded: the previous one stays in force");
    if let Some(w) = client {
        let _ = w.reply.send(ServerMessage::Error {
            id: Some(w.id),
            error: ErrorReply {
                kind: ErrorKind::InvalidConfig,
                message: problems.join("\n"),
            },
        });
    }
}

/// What the core hears of a spawn: the pid, or why there is none.
fn spawn_result(prog: usize, run: u32, result: Result<u32, supd_sys::spawn::SpawnError>) -> Input {
    match result {
        Ok(pid) => Input::Spawned {
            prog,
            run,
            pid: pid as i32,
        },
        Err(e) => Input::SpawnFailed {
            prog,
            run,
            retry: if e.is_futile() {
                SpawnRetry::Futile
            } else {
                SpawnRetry::MayHelp
            },
            error: e.message,
        },
    }
}
