//! supervisord's XML-RPC interface (`supervisor.*` and `system.*` at `/RPC2`), over supd.
//!
//! This module owns the translation both ways: supervisord's names (`group:name`,
//! `group:*`), states, descriptions, log offsets and fault codes on one side, supd's control
//! requests on the other. It decides nothing about programs: every call becomes the same
//! [`Request`] `supctl` sends (through [`Served::ask`]) or reads the owner's view of the
//! programs ([`Served::inspect`]); there is no second state machine.
//!
//! The reference is supervisor's own `rpcinterface.py` and `xmlrpc.py` (4.x): the method
//! list, which states count as running (`RUNNING`, `BACKOFF`, `STARTING`), what each fault
//! is raised for, the shape of group results (`{name, group, status, description}`), and the
//! `[[added, changed, removed]]` of `reloadConfig`. Where supd differs it says so in
//! `docs/supervisord.md`.
//!
//! supervisord's `reloadConfig` only computes what changed (`supervisorctl reread`), and
//! `supervisorctl update` then applies it group by group with `stopProcessGroup`,
//! `removeProcessGroup` and `addProcessGroup`; supd's reload applies a whole config at once.
//! So `reloadConfig` asks the owner what a reload would do, remembers the groups it reported
//! ([`Pending`]), and the group calls `update` makes next carry out supd's reload once, at the
//! first `addProcessGroup` (or the last `removeProcessGroup` when nothing is added): by then
//! `update` has stopped the removed and changed groups, so nothing restarts twice.

mod faults;
mod info;
mod logs;
mod methods;
mod reload;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use supd_config::ProgramSpec;
use supd_proto::{
    ActionOutcome, ErrorKind, ProgramState, ProgramStatus, Reply, Request, ServerMessage, Stream,
};

pub use faults::{Fault, FaultCode};

use super::xmlrpc::{Call, Value};
use crate::control::Served;
use crate::logplane::StreamLog;
use crate::supervisor::DaemonState;
use faults::{acted_fault, start_fault};
use info::{config_info, process_info};
use logs::{read_log, tail_log};
use methods::{Args, METHODS};
use reload::Pending;

pub(super) type Answer = Result<Value, Fault>;

/// The XML-RPC API version supervisord 3 and 4 report; supervisorctl refuses any other.
pub(super) const API_VERSION: &str = "3.0";

/// The supervisor release whose interface this is, and supd's own version after it.
pub(super) const SUPERVISOR_VERSION: &str = concat!("4.3.0+supd.", env!("CARGO_PKG_VERSION"));

/// One program as supervisord's clients see it.
pub(super) struct Proc {
    group: String,
    name: String,
    status: ProgramStatus,
    spec: ProgramSpec,
}

impl Proc {
    fn namespec(&self) -> String {
        if self.group == self.name {
            self.name.clone()
        } else {
            format!("{}:{}", self.group, self.name)
        }
    }

    /// supervisord's `RUNNING_STATES`: what `start` refuses and `stop` acts on.
    fn running(&self) -> bool {
        matches!(
            self.status.state,
            ProgramState::Running | ProgramState::Starting | ProgramState::Backoff
        )
    }

    fn supd_name(&self) -> String {
        self.status.name.clone()
    }
}

/// What a name in a call selects.
pub(super) enum Selected<'p> {
    One(&'p Proc),
    /// `group:*`, or a name that is a group.
    Group(Vec<&'p Proc>),
}

/// The XML-RPC interface of one supd.
pub struct Rpc {
    served: Rc<Served>,
    pending: RefCell<Pending>,
    next_id: Cell<u64>,
}

/// Whether `call` only reads (what a `readonly` address serves): the `get*`, `read*`,
/// `tail*` and `system.*` methods, and a multicall made of those only.
pub fn reads(call: &Call) -> bool {
    fn read_method(name: &str) -> bool {
        let Some(method) = name.strip_prefix("supervisor.") else {
            return name.starts_with("system.") && name != "system.multicall";
        };
        ["get", "read", "tail"]
            .iter()
            .any(|p| method.starts_with(p))
    }
    if call.method != "system.multicall" {
        return read_method(&call.method);
    }
    let [Value::Array(calls)] = call.params.as_slice() else {
        return false;
    };
    calls.iter().all(|c| match c {
        Value::Struct(fields) => fields
            .iter()
            .any(|(k, v)| k == "methodName" && matches!(v, Value::Str(name) if read_method(name))),
        _ => false,
    })
}

impl Rpc {
    pub fn new(served: Rc<Served>) -> Rc<Rpc> {
        Rc::new(Rpc {
            served,
            pending: RefCell::default(),
            next_id: Cell::new(1),
        })
    }

    pub fn served(&self) -> &Rc<Served> {
        &self.served
    }

    /// Answers one call: its value, or the fault to send.
    pub async fn call(self: &Rc<Self>, call: Call) -> Result<Value, Fault> {
        if call.method == "system.multicall" {
            return self.multicall(call.params).await;
        }
        self.dispatch(&call.method, call.params).await
    }

    async fn multicall(self: &Rc<Self>, params: Vec<Value>) -> Answer {
        let [Value::Array(calls)] = params.as_slice() else {
            return Err(Fault::bare(FaultCode::IncorrectParameters));
        };
        let mut results = Vec::with_capacity(calls.len());
        for call in calls {
            let Value::Struct(fields) = call else {
                results.push(
                    Fault::new(FaultCode::IncorrectParameters, "a call is not a struct").as_value(),
                );
                continue;
            };
            let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v);
            let result = match (field("methodName"), field("params")) {
                (Some(Value::Str(name)), _) if name == "system.multicall" => Err(Fault::new(
                    FaultCode::IncorrectParameters,
                    "Recursive system.multicall forbidden",
                )),
                (Some(Value::Str(name)), None) => Box::pin(self.dispatch(name, Vec::new())).await,
                (Some(Value::Str(name)), Some(Value::Array(params))) => {
                    Box::pin(self.dispatch(name, params.clone())).await
                }
                (Some(Value::Str(_)), Some(_)) => Err(Fault::new(
                    FaultCode::IncorrectParameters,
                    "params is not an array",
                )),
                _ => Err(Fault::new(FaultCode::IncorrectParameters, "No methodName")),
            };
            // supervisord puts each value as it is (not in a one-element array).
            results.push(result.unwrap_or_else(|fault| fault.as_value()));
        }
        Ok(Value::Array(results))
    }

    async fn dispatch(self: &Rc<Self>, method: &str, params: Vec<Value>) -> Answer {
        let Some((_, signature, _)) = METHODS.iter().find(|(name, _, _)| *name == method) else {
            return Err(Fault::bare(FaultCode::UnknownMethod));
        };
        let args = Args::new(params, signature)?;
        match method {
            "supervisor.getAPIVersion" | "supervisor.getVersion" => Ok(Value::str(API_VERSION)),
            "supervisor.getSupervisorVersion" => Ok(Value::str(SUPERVISOR_VERSION)),
            "supervisor.getIdentification" => Ok(Value::str("supervisor")),
            "supervisor.getState" => self.get_state().await,
            "supervisor.getPID" => Ok(Value::Int(std::process::id().into())),
            "supervisor.readLog" | "supervisor.readMainLog" => {
                read_log(&crate::mainlog::snapshot(), args.int(0)?, args.int(1)?)
            }
            "supervisor.clearLog" => {
                crate::mainlog::clear();
                Ok(Value::Bool(true))
            }
            "supervisor.shutdown" => self.shutdown().await,
            "supervisor.restart" => self.restart().await,
            "supervisor.reloadConfig" => self.reload_config().await,
            "supervisor.addProcessGroup" => self.add_group(args.string(0)?).await,
            "supervisor.removeProcessGroup" => self.remove_group(args.string(0)?).await,
            "supervisor.getAllConfigInfo" => self.all_config_info().await,
            "supervisor.getProcessInfo" => {
                let procs = self.procs().await?;
                match select(&procs, args.string(0)?)? {
                    Selected::One(p) => Ok(process_info(p, now_secs())),
                    Selected::Group(..) => Err(Fault::new(FaultCode::BadName, args.string(0)?)),
                }
            }
            "supervisor.getAllProcessInfo" => {
                let now = now_secs();
                let mut procs = self.procs().await?;
                procs.sort_by(|a, b| (&a.group, &a.name).cmp(&(&b.group, &b.name)));
                Ok(Value::Array(
                    procs.iter().map(|p| process_info(p, now)).collect(),
                ))
            }
            "supervisor.startProcess" => {
                self.start_one(args.string(0)?, args.bool_or(1, true)?)
                    .await
            }
            "supervisor.startProcessGroup" => {
                let procs = self.procs().await?;
                let members = self.group_members(&procs, args.string(0)?)?;
                self.start_many(members, args.bool_or(1, true)?).await
            }
            "supervisor.startAllProcesses" => {
                let procs = self.procs().await?;
                self.start_many(procs.iter().collect(), args.bool_or(0, true)?)
                    .await
            }
            "supervisor.stopProcess" => self.stop_one(args.string(0)?).await,
            "supervisor.stopProcessGroup" => {
                let name = args.string(0)?;
                let procs = self.procs().await?;
                if !procs.iter().any(|p| p.group == name) && self.removed_by_reload(name) {
                    // Stopped and gone already: the reload removed it.
                    return Ok(Value::Array(Vec::new()));
                }
                let members = self.group_members(&procs, name)?;
                self.stop_many(members).await
            }
            "supervisor.stopAllProcesses" => {
                let procs = self.procs().await?;
                self.stop_many(procs.iter().collect()).await
            }
            "supervisor.signalProcess" => {
                let signal = args.signal(1)?;
                let procs = self.procs().await?;
                match select(&procs, args.string(0)?)? {
                    Selected::One(p) => self.signal_one(p, &signal).await,
                    Selected::Group(members) => self.signal_many(members, &signal).await,
                }
            }
            "supervisor.signalProcessGroup" => {
                let signal = args.signal(1)?;
                let procs = self.procs().await?;
                let members = self.group_members(&procs, args.string(0)?)?;
                self.signal_many(members, &signal).await
            }
            "supervisor.signalAllProcesses" => {
                let signal = args.signal(0)?;
                let procs = self.procs().await?;
                self.signal_many(procs.iter().collect(), &signal).await
            }
            "supervisor.sendProcessStdin" => {
                let procs = self.procs().await?;
                let name = args.string(0)?;
                let p = one(&procs, name)?;
                let data = args.string(1)?.as_bytes().to_vec();
                let sent =
                    crate::listeners::stdin::send(&self.served.events, p.status.name.clone(), data)
                        .await;
                use crate::listeners::stdin::StdinError;
                match sent {
                    Ok(()) => Ok(Value::Bool(true)),
                    Err(StdinError::UnknownProgram(_)) => Err(Fault::new(FaultCode::BadName, name)),
                    Err(StdinError::NotRunning) => Err(Fault::new(FaultCode::NotRunning, name)),
                    Err(e @ (StdinError::NoPipe | StdinError::Closed)) => {
                        Err(Fault::new(FaultCode::NoFile, format!("{name}: {e}")))
                    }
                }
            }
            "supervisor.sendRemoteCommEvent" => Ok(Value::Bool(true)),
            "supervisor.readProcessStdoutLog"
            | "supervisor.readProcessStderrLog"
            | "supervisor.readProcessLog" => {
                let stream = stream_of(method);
                let log = self.stream_log(args.string(0)?, stream).await?;
                read_log(&log, args.int(1)?, args.int(2)?)
            }
            "supervisor.tailProcessStdoutLog"
            | "supervisor.tailProcessStderrLog"
            | "supervisor.tailProcessLog" => {
                let stream = stream_of(method);
                let log = self.stream_log(args.string(0)?, stream).await?;
                Ok(tail_log(&log, args.int(1)?, args.int(2)?))
            }
            "supervisor.clearProcessLogs" | "supervisor.clearProcessLog" => {
                let procs = self.procs().await?;
                let p = one(&procs, args.string(0)?)?;
                self.clear_logs(p)?;
                Ok(Value::Bool(true))
            }
            "supervisor.clearAllProcessLogs" => {
                let procs = self.procs().await?;
                let results = procs
                    .iter()
                    .map(|p| result_of(p, self.clear_logs(p)))
                    .collect();
                Ok(Value::Array(results))
            }
            "system.listMethods" => Ok(Value::Array(
                METHODS
                    .iter()
                    .map(|(name, _, _)| Value::str(*name))
                    .collect(),
            )),
            "system.methodHelp" => {
                let name = args.string(0)?;
                METHODS
                    .iter()
                    .find(|(n, _, _)| *n == name)
                    .map(|(_, _, help)| Value::str(*help))
                    .ok_or_else(|| Fault::bare(FaultCode::SignatureUnsupported))
            }
            "system.methodSignature" => {
                let name = args.string(0)?;
                METHODS
                    .iter()
                    .find(|(n, _, _)| *n == name)
                    .map(|(_, sig, _)| Value::Array(sig.iter().map(|t| Value::str(*t)).collect()))
                    .ok_or_else(|| Fault::bare(FaultCode::SignatureUnsupported))
            }
            _ => Err(Fault::bare(FaultCode::UnknownMethod)),
        }
    }

    /// The programs supervisord's clients see (not those of a group `removeProcessGroup`
    /// took out), with their supervisord group and process names.
    async fn procs(&self) -> Result<Vec<Proc>, Fault> {
        let mut procs = self.all_procs().await?;
        let pending = self.pending.borrow();
        procs.retain(|p| !pending.hidden.contains(&p.group));
        Ok(procs)
    }

    /// Every program, with its supervisord group and process name.
    async fn all_procs(&self) -> Result<Vec<Proc>, Fault> {
        let inspection = self
            .served
            .inspect()
            .await
            .ok_or_else(|| Fault::bare(FaultCode::ShutdownState))?;
        let groups = self.served.names.groups();
        Ok(inspection
            .programs
            .into_iter()
            .map(|i| {
                let (group, name) = supervisor_names(&i.spec.name, &groups);
                Proc {
                    group,
                    name,
                    status: i.status,
                    spec: i.spec,
                }
            })
            .collect())
    }

    fn group_members<'p>(&self, procs: &'p [Proc], name: &str) -> Result<Vec<&'p Proc>, Fault> {
        let members: Vec<&Proc> = procs.iter().filter(|p| p.group == name).collect();
        if members.is_empty() {
            return Err(Fault::new(FaultCode::BadName, name));
        }
        Ok(members)
    }

    fn next_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    /// Asks the owner, turning its errors into faults.
    async fn ask(&self, request: Request) -> Result<Reply, Fault> {
        match self.served.ask(self.next_id(), request).await {
            ServerMessage::Reply { reply, .. } => Ok(reply),
            ServerMessage::Error { error, .. } => Err(match error.kind {
                ErrorKind::UnknownProgram => Fault::new(FaultCode::BadName, error.message),
                ErrorKind::InvalidConfig => Fault::new(FaultCode::CantReread, error.message),
                ErrorKind::Refused => Fault::new(FaultCode::ShutdownState, error.message),
                _ => Fault::new(FaultCode::Failed, error.message),
            }),
            _ => Err(Fault::bare(FaultCode::Failed)),
        }
    }

    async fn act(&self, request: Request) -> Result<Vec<ActionOutcome>, Fault> {
        match self.ask(request).await? {
            Reply::Actions { outcomes } => Ok(outcomes),
            _ => Err(Fault::bare(FaultCode::Failed)),
        }
    }

    /// Sends `request` and does not wait for its answer (`wait = false`).
    fn fire(self: &Rc<Self>, request: Request) {
        let rpc = self.clone();
        tokio::task::spawn_local(async move {
            let _ = rpc.ask(request).await;
        });
    }

    async fn get_state(&self) -> Answer {
        let state = match self.served.inspect().await {
            Some(i) if !i.shutting_down => DaemonState::Running,
            _ => DaemonState::Shutdown,
        };
        Ok(Value::record([
            ("statecode", Value::Int(state.code().into())),
            ("statename", Value::str(state.name())),
        ]))
    }

    async fn shutdown(&self) -> Answer {
        self.ask(Request::Shutdown).await?;
        Ok(Value::Bool(true))
    }

    /// supervisord re-executes itself: the config is read again and every program restarts.
    async fn restart(self: &Rc<Self>) -> Answer {
        let rpc = self.clone();
        tokio::task::spawn_local(async move {
            let _ = rpc.ask(Request::Reload).await;
            let _ = rpc
                .ask(Request::Restart {
                    names: vec!["all".into()],
                })
                .await;
        });
        Ok(Value::Bool(true))
    }

    async fn all_config_info(&self) -> Answer {
        let mut procs = self.procs().await?;
        procs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Value::Array(procs.iter().map(config_info).collect()))
    }

    async fn start_one(self: &Rc<Self>, name: &str, wait: bool) -> Answer {
        let procs = self.procs().await?;
        let p = match select(&procs, name)? {
            Selected::One(p) => p,
            Selected::Group(members) => return self.start_many(members, wait).await,
        };
        if p.running() {
            return Err(Fault::new(FaultCode::AlreadyStarted, name));
        }
        let request = Request::Start {
            names: vec![p.supd_name()],
        };
        if !wait {
            self.fire(request);
            return Ok(Value::Bool(true));
        }
        let outcomes = self.act(request).await?;
        match outcomes.first() {
            Some(o) => start_fault(o, name).map_or(Ok(Value::Bool(true)), Err),
            None => Err(Fault::new(FaultCode::Failed, name)),
        }
    }

    async fn start_many(self: &Rc<Self>, members: Vec<&Proc>, wait: bool) -> Answer {
        let todo: Vec<&Proc> = members.into_iter().filter(|p| !p.running()).collect();
        if todo.is_empty() {
            return Ok(Value::Array(Vec::new()));
        }
        let request = Request::Start {
            names: todo.iter().map(|p| p.supd_name()).collect(),
        };
        if !wait {
            self.fire(request);
            return Ok(Value::Array(
                todo.iter().map(|p| result_of(p, Ok(()))).collect(),
            ));
        }
        let outcomes = self.act(request).await?;
        Ok(group_results(&todo, &outcomes, start_fault))
    }

    async fn stop_one(self: &Rc<Self>, name: &str) -> Answer {
        let procs = self.procs().await?;
        let p = match select(&procs, name)? {
            Selected::One(p) => p,
            Selected::Group(members) => return self.stop_many(members).await,
        };
        if !p.running() {
            return Err(Fault::new(FaultCode::NotRunning, name));
        }
        let outcomes = self
            .act(Request::Stop {
                names: vec![p.supd_name()],
            })
            .await?;
        match outcomes.first() {
            Some(o) => acted_fault(o, name).map_or(Ok(Value::Bool(true)), Err),
            None => Err(Fault::new(FaultCode::Failed, name)),
        }
    }

    async fn stop_many(&self, members: Vec<&Proc>) -> Answer {
        let todo: Vec<&Proc> = members.into_iter().filter(|p| p.running()).collect();
        if todo.is_empty() {
            return Ok(Value::Array(Vec::new()));
        }
        let outcomes = self
            .act(Request::Stop {
                names: todo.iter().map(|p| p.supd_name()).collect(),
            })
            .await?;
        Ok(group_results(&todo, &outcomes, acted_fault))
    }

    async fn signal_one(&self, p: &Proc, signal: &str) -> Answer {
        let name = p.namespec();
        if !p.running() || p.status.pid.is_none() {
            return Err(Fault::new(FaultCode::NotRunning, name));
        }
        let outcomes = self
            .act(Request::Signal {
                signal: signal.to_string(),
                names: vec![p.supd_name()],
            })
            .await?;
        match outcomes.first() {
            Some(o) => acted_fault(o, &name).map_or(Ok(Value::Bool(true)), Err),
            None => Err(Fault::new(FaultCode::Failed, name)),
        }
    }

    async fn signal_many(&self, members: Vec<&Proc>, signal: &str) -> Answer {
        let todo: Vec<&Proc> = members
            .into_iter()
            .filter(|p| p.running() && p.status.pid.is_some())
            .collect();
        if todo.is_empty() {
            return Ok(Value::Array(Vec::new()));
        }
        let outcomes = self
            .act(Request::Signal {
                signal: signal.to_string(),
                names: todo.iter().map(|p| p.supd_name()).collect(),
            })
            .await?;
        Ok(group_results(&todo, &outcomes, acted_fault))
    }

    async fn stream_log(&self, name: &str, stream: Stream) -> Result<StreamLog, Fault> {
        let procs = self.procs().await?;
        let p = one(&procs, name)?;
        let id = self.id_of(p)?;
        Ok(self.served.plane.stream_log(id, stream))
    }

    fn id_of(&self, p: &Proc) -> Result<usize, Fault> {
        self.served
            .names
            .resolve(std::slice::from_ref(&p.status.name), false)
            .ok()
            .and_then(|ids| ids.first().copied())
            .ok_or_else(|| Fault::new(FaultCode::BadName, p.namespec()))
    }

    fn clear_logs(&self, p: &Proc) -> Result<(), Fault> {
        let id = self.id_of(p)?;
        self.served.plane.clear(id);
        Ok(())
    }

    /// The program `namespec` names and the stream a `/logtail/NAME[/CHANNEL]` reads, for
    /// the log tail: `None` when there is no such program.
    pub async fn logtail_target(&self, namespec: &str) -> Option<usize> {
        let procs = self.procs().await.ok()?;
        let p = one(&procs, namespec).ok()?;
        self.id_of(p).ok()
    }
}

/// supervisord's group and process name of supd program `name`: the first `[group.G]`
/// holding it, else its instance base (`web:2` is `web:web_02`), else itself.
pub(crate) fn supervisor_names(name: &str, groups: &[supd_config::GroupSpec]) -> (String, String) {
    let process = match supd_config::split_instance(name) {
        Some((base, n)) => (base.to_string(), format!("{base}_{n:02}")),
        None => (name.to_string(), name.to_string()),
    };
    match groups.iter().find(|g| g.programs.iter().any(|p| p == name)) {
        Some(g) => (g.name.clone(), process.1),
        None => process,
    }
}

/// What `name` (`group:name`, `group:*`, `name`, or a group's name) selects.
pub(super) fn select<'p>(procs: &'p [Proc], name: &str) -> Result<Selected<'p>, Fault> {
    let (group, process) = match name.split_once(':') {
        Some((g, p)) => (g, Some(p)),
        None => (name, None),
    };
    let members: Vec<&Proc> = procs.iter().filter(|p| p.group == group).collect();
    if members.is_empty() {
        return Err(Fault::new(FaultCode::BadName, name));
    }
    match process {
        Some("*") => Ok(Selected::Group(members)),
        Some(process) => members
            .into_iter()
            .find(|p| p.name == process)
            .map(Selected::One)
            .ok_or_else(|| Fault::new(FaultCode::BadName, name)),
        // A bare name is the process of the same name in the group of that name.
        None => match members.iter().find(|p| p.name == group) {
            Some(p) => Ok(Selected::One(p)),
            None => Ok(Selected::Group(members)),
        },
    }
}

pub(super) fn one<'p>(procs: &'p [Proc], name: &str) -> Result<&'p Proc, Fault> {
    match select(procs, name)? {
        Selected::One(p) => Ok(p),
        Selected::Group(..) => Err(Fault::new(FaultCode::BadName, name)),
    }
}

pub(super) fn outcome_for<'o>(
    outcomes: &'o [ActionOutcome],
    p: &Proc,
) -> Option<&'o ActionOutcome> {
    outcomes.iter().find(|o| o.name == p.status.name)
}

/// A group call's answer: one element per program acted on, its outcome judged by `fault`.
fn group_results(
    todo: &[&Proc],
    outcomes: &[ActionOutcome],
    fault: fn(&ActionOutcome, &str) -> Option<Fault>,
) -> Value {
    Value::Array(
        todo.iter()
            .map(|p| {
                let fault = match outcome_for(outcomes, p) {
                    Some(o) => fault(o, &p.namespec()),
                    None => Some(Fault::new(FaultCode::Failed, p.namespec())),
                };
                result_of(p, fault.map_or(Ok(()), Err))
            })
            .collect(),
    )
}

/// One element of a group call's answer.
pub(super) fn result_of(p: &Proc, result: Result<(), Fault>) -> Value {
    let (status, description) = match result {
        Ok(()) => (FaultCode::Success.number(), "OK".to_string()),
        Err(f) => (f.code.number(), f.text),
    };
    Value::record([
        ("name", Value::str(&p.name)),
        ("group", Value::str(&p.group)),
        ("status", Value::Int(status.into())),
        ("description", Value::str(description)),
    ])
}

pub(super) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub(super) fn names_value(names: &[String]) -> Value {
    Value::Array(names.iter().map(Value::str).collect())
}

/// Removes `name` from `list`; whether it was there.
pub(super) fn take(list: &mut Vec<String>, name: &str) -> bool {
    let before = list.len();
    list.retain(|g| g != name);
    list.len() != before
}

pub(super) fn stream_of(method: &str) -> Stream {
    if method.contains("Stderr") {
        Stream::Stderr
    } else {
        Stream::Stdout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(method: &str, params: Vec<Value>) -> Call {
        Call {
            method: method.into(),
            params,
        }
    }

    fn nested(methods: &[&str]) -> Vec<Value> {
        let calls = methods
            .iter()
            .map(|m| Value::Struct(vec![("methodName".into(), Value::Str(m.to_string()))]))
            .collect();
        vec![Value::Array(calls)]
    }

    #[test]
    fn reads_are_the_get_read_tail_and_system_methods() {
        for m in [
            "supervisor.getAllProcessInfo",
            "supervisor.readProcessStdoutLog",
            "supervisor.tailProcessStderrLog",
            "system.listMethods",
        ] {
            assert!(reads(&call(m, vec![])), "{m}");
        }
        for m in [
            "supervisor.stopProcess",
            "supervisor.clearLog",
            "supervisor.sendProcessStdin",
            "supervisor.shutdown",
            "system.multicall",
        ] {
            assert!(!reads(&call(m, vec![])), "{m}");
        }
        let multicall = |ms: &[&str]| call("system.multicall", nested(ms));
        assert!(reads(&multicall(&[
            "supervisor.getState",
            "supervisor.getPID"
        ])));
        assert!(!reads(&multicall(&[
            "supervisor.getState",
            "supervisor.stopProcess"
        ])));
    }
}
