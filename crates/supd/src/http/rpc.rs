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

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use supd_config::{OutputTarget, ProgramSpec, RestartPolicy};
use supd_proto::{
    ActionOutcome, ErrorKind, OutcomeCode, ProgramState, ProgramStatus, Reply, Request,
    ServerMessage, Stream,
};

use super::xmlrpc::{Call, Value};
use crate::control::Served;
use crate::event::ProgramDiff;
use crate::logplane::StreamLog;
use crate::supervisor::{DaemonState, state_code, state_name};

/// supervisord's fault codes (`supervisor/xmlrpc.py`, `Faults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    UnknownMethod,
    IncorrectParameters,
    BadArguments,
    SignatureUnsupported,
    ShutdownState,
    BadName,
    BadSignal,
    NoFile,
    /// In supervisord's table; supd reports every failed spawn as `SPAWN_ERROR`, with the
    /// reason in the process's `spawnerr`.
    #[allow(dead_code)]
    NotExecutable,
    Failed,
    AbnormalTermination,
    SpawnError,
    AlreadyStarted,
    NotRunning,
    Success,
    AlreadyAdded,
    StillRunning,
    CantReread,
}

impl FaultCode {
    pub fn number(self) -> i32 {
        match self {
            FaultCode::UnknownMethod => 1,
            FaultCode::IncorrectParameters => 2,
            FaultCode::BadArguments => 3,
            FaultCode::SignatureUnsupported => 4,
            FaultCode::ShutdownState => 6,
            FaultCode::BadName => 10,
            FaultCode::BadSignal => 11,
            FaultCode::NoFile => 20,
            FaultCode::NotExecutable => 21,
            FaultCode::Failed => 30,
            FaultCode::AbnormalTermination => 40,
            FaultCode::SpawnError => 50,
            FaultCode::AlreadyStarted => 60,
            FaultCode::NotRunning => 70,
            FaultCode::Success => 80,
            FaultCode::AlreadyAdded => 90,
            FaultCode::StillRunning => 91,
            FaultCode::CantReread => 92,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FaultCode::UnknownMethod => "UNKNOWN_METHOD",
            FaultCode::IncorrectParameters => "INCORRECT_PARAMETERS",
            FaultCode::BadArguments => "BAD_ARGUMENTS",
            FaultCode::SignatureUnsupported => "SIGNATURE_UNSUPPORTED",
            FaultCode::ShutdownState => "SHUTDOWN_STATE",
            FaultCode::BadName => "BAD_NAME",
            FaultCode::BadSignal => "BAD_SIGNAL",
            FaultCode::NoFile => "NO_FILE",
            FaultCode::NotExecutable => "NOT_EXECUTABLE",
            FaultCode::Failed => "FAILED",
            FaultCode::AbnormalTermination => "ABNORMAL_TERMINATION",
            FaultCode::SpawnError => "SPAWN_ERROR",
            FaultCode::AlreadyStarted => "ALREADY_STARTED",
            FaultCode::NotRunning => "NOT_RUNNING",
            FaultCode::Success => "SUCCESS",
            FaultCode::AlreadyAdded => "ALREADY_ADDED",
            FaultCode::StillRunning => "STILL_RUNNING",
            FaultCode::CantReread => "CANT_REREAD",
        }
    }
}

/// An XML-RPC fault as supervisord words it: `BAD_NAME: wbe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: FaultCode,
    pub text: String,
}

impl Fault {
    pub fn new(code: FaultCode, extra: impl std::fmt::Display) -> Fault {
        Fault {
            code,
            text: format!("{}: {extra}", code.name()),
        }
    }

    pub fn bare(code: FaultCode) -> Fault {
        Fault {
            code,
            text: code.name().to_string(),
        }
    }

    fn as_value(&self) -> Value {
        Value::record([
            ("faultCode", Value::Int(self.code.number().into())),
            ("faultString", Value::str(&self.text)),
        ])
    }
}

type Answer = Result<Value, Fault>;

/// The methods, their signatures (`[return, params...]`, as `system.methodSignature`
/// gives them) and help.
const METHODS: &[(&str, &[&str], &str)] = &[
    (
        "supervisor.getAPIVersion",
        &["string"],
        "Return the version of the RPC API used by supervisord",
    ),
    (
        "supervisor.getVersion",
        &["string"],
        "Return the version of the RPC API used by supervisord (deprecated: getAPIVersion)",
    ),
    (
        "supervisor.getSupervisorVersion",
        &["string"],
        "Return the version of the supervisor package in use by supervisord",
    ),
    (
        "supervisor.getIdentification",
        &["string"],
        "Return identifying string of supervisord",
    ),
    (
        "supervisor.getState",
        &["struct"],
        "Return current state of supervisord as a struct",
    ),
    (
        "supervisor.getPID",
        &["int"],
        "Return the PID of supervisord",
    ),
    (
        "supervisor.readLog",
        &["string", "int", "int"],
        "Read length bytes from the main log starting at offset",
    ),
    ("supervisor.clearLog", &["boolean"], "Clear the main log"),
    (
        "supervisor.shutdown",
        &["boolean"],
        "Shut down the supervisor process",
    ),
    (
        "supervisor.restart",
        &["boolean"],
        "Restart the supervisor process",
    ),
    (
        "supervisor.reloadConfig",
        &["array"],
        "Reload the configuration: [[added, changed, removed]]",
    ),
    (
        "supervisor.addProcessGroup",
        &["boolean", "string"],
        "Update the config for a running process from config file",
    ),
    (
        "supervisor.removeProcessGroup",
        &["boolean", "string"],
        "Remove a stopped process from the active configuration",
    ),
    (
        "supervisor.getAllConfigInfo",
        &["array"],
        "Get info about all available process configurations",
    ),
    (
        "supervisor.getProcessInfo",
        &["struct", "string"],
        "Get info about a process named name",
    ),
    (
        "supervisor.getAllProcessInfo",
        &["array"],
        "Get info about all processes",
    ),
    (
        "supervisor.startProcess",
        &["boolean", "string", "boolean"],
        "Start a process",
    ),
    (
        "supervisor.startProcessGroup",
        &["array", "string", "boolean"],
        "Start all processes in the group named 'name'",
    ),
    (
        "supervisor.startAllProcesses",
        &["array", "boolean"],
        "Start all processes listed in the configuration file",
    ),
    (
        "supervisor.stopProcess",
        &["boolean", "string", "boolean"],
        "Stop a process named by name",
    ),
    (
        "supervisor.stopProcessGroup",
        &["array", "string", "boolean"],
        "Stop all processes in the process group named 'name'",
    ),
    (
        "supervisor.stopAllProcesses",
        &["array", "boolean"],
        "Stop all processes in the process list",
    ),
    (
        "supervisor.signalProcess",
        &["boolean", "string", "string"],
        "Send an arbitrary UNIX signal to the process named by name",
    ),
    (
        "supervisor.signalProcessGroup",
        &["array", "string", "string"],
        "Send a signal to all processes in the group named 'name'",
    ),
    (
        "supervisor.signalAllProcesses",
        &["array", "string"],
        "Send a signal to all processes in the process list",
    ),
    (
        "supervisor.sendProcessStdin",
        &["boolean", "string", "string"],
        "Send a string of chars to the stdin of the process name",
    ),
    (
        "supervisor.sendRemoteCommEvent",
        &["boolean", "string", "string"],
        "Send an event that will be received by event listener subprocesses subscribing to the RemoteCommunicationEvent",
    ),
    (
        "supervisor.readProcessStdoutLog",
        &["string", "string", "int", "int"],
        "Read length bytes from name's stdout log starting at offset",
    ),
    (
        "supervisor.readProcessStderrLog",
        &["string", "string", "int", "int"],
        "Read length bytes from name's stderr log starting at offset",
    ),
    (
        "supervisor.tailProcessStdoutLog",
        &["array", "string", "int", "int"],
        "Provides a more efficient way to tail the (stdout) log than readProcessStdoutLog: [string bytes, int offset, bool overflow]",
    ),
    (
        "supervisor.tailProcessStderrLog",
        &["array", "string", "int", "int"],
        "Provides a more efficient way to tail the (stderr) log than readProcessStderrLog: [string bytes, int offset, bool overflow]",
    ),
    (
        "supervisor.clearProcessLogs",
        &["boolean", "string"],
        "Clear the stdout and stderr logs for the named process and reopen them",
    ),
    (
        "supervisor.clearAllProcessLogs",
        &["array"],
        "Clear all process log files",
    ),
    (
        "system.listMethods",
        &["array"],
        "Return an array listing the available method names",
    ),
    (
        "system.methodHelp",
        &["string", "string"],
        "Return a string showing the method's documentation",
    ),
    (
        "system.methodSignature",
        &["array", "string"],
        "Return an array describing the method signature in the form [rtype, ptype, ptype...]",
    ),
    (
        "system.multicall",
        &["array", "array"],
        "Process an array of calls, and return an array of results",
    ),
];

/// The XML-RPC API version supervisord 3 and 4 report; supervisorctl refuses any other.
const API_VERSION: &str = "3.0";
/// The supervisor release whose interface this is, and supd's own version after it.
const SUPERVISOR_VERSION: &str = concat!("4.3.0+supd.", env!("CARGO_PKG_VERSION"));

/// One program as supervisord's clients see it.
struct Proc {
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
enum Selected<'p> {
    One(&'p Proc),
    /// `group:*`, or a name that is a group.
    Group(Vec<&'p Proc>),
}

/// Groups a `reloadConfig` reported that `update` has not acted on yet.
#[derive(Default)]
struct Pending {
    added: Vec<String>,
    changed: Vec<String>,
    removed: Vec<String>,
    /// supd's reload of that config was carried out (by the first `addProcessGroup`, or
    /// the last `removeProcessGroup` when nothing is to be added).
    applied: bool,
    /// Removed groups gone since: `stopProcessGroup` of one is an empty success.
    gone: Vec<String>,
}

/// The XML-RPC interface of one supd.
pub struct Rpc {
    served: Rc<Served>,
    pending: RefCell<Pending>,
    next_id: Cell<u64>,
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
            "supervisor.readLog" => {
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
                if !procs.iter().any(|p| p.group == name)
                    && self.pending.borrow().gone.iter().any(|g| g == name)
                {
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
                if !p.running() || p.status.pid.is_none() {
                    return Err(Fault::new(FaultCode::NotRunning, name));
                }
                Err(Fault::new(
                    FaultCode::NoFile,
                    format!("supd does not keep the standard input of {name} open"),
                ))
            }
            "supervisor.sendRemoteCommEvent" => Ok(Value::Bool(true)),
            "supervisor.readProcessStdoutLog" | "supervisor.readProcessStderrLog" => {
                let stream = stream_of(method);
                let log = self.stream_log(args.string(0)?, stream).await?;
                read_log(&log, args.int(1)?, args.int(2)?)
            }
            "supervisor.tailProcessStdoutLog" | "supervisor.tailProcessStderrLog" => {
                let stream = stream_of(method);
                let log = self.stream_log(args.string(0)?, stream).await?;
                Ok(tail_log(&log, args.int(1)?, args.int(2)?))
            }
            "supervisor.clearProcessLogs" => {
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

    /// The programs, with their supervisord group and process names.
    async fn procs(&self) -> Result<Vec<Proc>, Fault> {
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

    async fn reload_config(&self) -> Answer {
        let diff = match self.served.reread().await {
            Some(Ok(diff)) => diff,
            Some(Err(problems)) => return Err(Fault::new(FaultCode::CantReread, problems)),
            None => return Err(Fault::bare(FaultCode::ShutdownState)),
        };
        let before = self.procs().await?;
        let groups = self.served.names.groups();
        let pending = group_diff(&before, &diff, &groups);
        let answer = Value::Array(vec![Value::Array(vec![
            names_value(&pending.added),
            names_value(&pending.changed),
            names_value(&pending.removed),
        ])]);
        *self.pending.borrow_mut() = pending;
        Ok(answer)
    }

    /// Carries out the reload `reloadConfig` reported, once.
    async fn apply_pending(&self) -> Result<(), Fault> {
        if std::mem::replace(&mut self.pending.borrow_mut().applied, true) {
            return Ok(());
        }
        if let Err(fault) = self.ask(Request::Reload).await {
            self.pending.borrow_mut().applied = false;
            return Err(fault);
        }
        let mut pending = self.pending.borrow_mut();
        let removed = std::mem::take(&mut pending.removed);
        pending.gone.extend(removed);
        Ok(())
    }

    async fn add_group(self: &Rc<Self>, name: &str) -> Answer {
        let (added, changed) = {
            let mut pending = self.pending.borrow_mut();
            (
                take(&mut pending.added, name),
                take(&mut pending.changed, name),
            )
        };
        if !added && !changed {
            let procs = self.procs().await?;
            return Err(if procs.iter().any(|p| p.group == name) {
                Fault::new(FaultCode::AlreadyAdded, name)
            } else {
                Fault::new(FaultCode::BadName, name)
            });
        }
        self.apply_pending().await?;
        if changed {
            // Stopped by `update` before the reload: started again, as supervisord's
            // addProcessGroup starts a group's autostart programs. (Added ones were started
            // by the reload itself.)
            let procs = self.procs().await?;
            let start: Vec<String> = procs
                .iter()
                .filter(|p| p.group == name && p.spec.autostart && !p.running())
                .map(Proc::supd_name)
                .collect();
            if !start.is_empty() {
                self.fire(Request::Start { names: start });
            }
        }
        Ok(Value::Bool(true))
    }

    async fn remove_group(&self, name: &str) -> Answer {
        let procs = self.procs().await?;
        let members: Vec<&Proc> = procs.iter().filter(|p| p.group == name).collect();
        let (removed, changed) = {
            let pending = self.pending.borrow();
            (
                pending.removed.iter().any(|g| g == name),
                pending.changed.iter().any(|g| g == name),
            )
        };
        if members.is_empty() {
            return Err(Fault::new(FaultCode::BadName, name));
        }
        if members.iter().any(|p| p.running()) {
            return Err(Fault::new(FaultCode::StillRunning, name));
        }
        if removed {
            let last = {
                let mut pending = self.pending.borrow_mut();
                take(&mut pending.removed, name);
                pending.gone.push(name.to_string());
                pending.removed.is_empty() && pending.added.is_empty() && pending.changed.is_empty()
            };
            if last {
                self.apply_pending().await?;
            }
            return Ok(Value::Bool(true));
        }
        if changed {
            // `update` of a changed group: its addProcessGroup follows.
            return Ok(Value::Bool(true));
        }
        Err(Fault::new(
            FaultCode::Failed,
            format!("supd removes {name} only when it leaves the config (then reloadConfig)"),
        ))
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
        Ok(Value::Array(
            todo.iter()
                .map(|p| {
                    let fault = match outcome_for(&outcomes, p) {
                        Some(o) => start_fault(o, &p.namespec()),
                        None => Some(Fault::new(FaultCode::Failed, p.namespec())),
                    };
                    result_of(p, fault.map_or(Ok(()), Err))
                })
                .collect(),
        ))
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
            Some(o) => stop_fault(o, name).map_or(Ok(Value::Bool(true)), Err),
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
        Ok(Value::Array(
            todo.iter()
                .map(|p| {
                    let fault = match outcome_for(&outcomes, p) {
                        Some(o) => stop_fault(o, &p.namespec()),
                        None => Some(Fault::new(FaultCode::Failed, p.namespec())),
                    };
                    result_of(p, fault.map_or(Ok(()), Err))
                })
                .collect(),
        ))
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
            Some(o) => signal_fault(o, &name).map_or(Ok(Value::Bool(true)), Err),
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
        Ok(Value::Array(
            todo.iter()
                .map(|p| {
                    let fault = match outcome_for(&outcomes, p) {
                        Some(o) => signal_fault(o, &p.namespec()),
                        None => Some(Fault::new(FaultCode::Failed, p.namespec())),
                    };
                    result_of(p, fault.map_or(Ok(()), Err))
                })
                .collect(),
        ))
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
fn supervisor_names(name: &str, groups: &[supd_config::GroupSpec]) -> (String, String) {
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
fn select<'p>(procs: &'p [Proc], name: &str) -> Result<Selected<'p>, Fault> {
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

fn one<'p>(procs: &'p [Proc], name: &str) -> Result<&'p Proc, Fault> {
    match select(procs, name)? {
        Selected::One(p) => Ok(p),
        Selected::Group(..) => Err(Fault::new(FaultCode::BadName, name)),
    }
}

fn outcome_for<'o>(outcomes: &'o [ActionOutcome], p: &Proc) -> Option<&'o ActionOutcome> {
    outcomes.iter().find(|o| o.name == p.status.name)
}

/// The fault of a `start` outcome, `None` when it started.
fn start_fault(o: &ActionOutcome, name: &str) -> Option<Fault> {
    let code = match o.code {
        Some(OutcomeCode::Done) => return None,
        Some(OutcomeCode::AlreadyRunning) => FaultCode::AlreadyStarted,
        Some(OutcomeCode::SpawnFailed) => FaultCode::SpawnError,
        Some(OutcomeCode::Exited | OutcomeCode::NotStarted) => FaultCode::AbnormalTermination,
        Some(OutcomeCode::ShuttingDown) => FaultCode::ShutdownState,
        _ if o.ok => return None,
        _ => FaultCode::Failed,
    };
    Some(Fault::new(code, name))
}

fn stop_fault(o: &ActionOutcome, name: &str) -> Option<Fault> {
    let code = match o.code {
        Some(OutcomeCode::Done) => return None,
        Some(OutcomeCode::NotRunning) => FaultCode::NotRunning,
        Some(OutcomeCode::ShuttingDown) => FaultCode::ShutdownState,
        _ if o.ok => return None,
        _ => {
            return Some(Fault::new(
                FaultCode::Failed,
                format!("{name}: {}", o.message),
            ));
        }
    };
    Some(Fault::new(code, name))
}

fn signal_fault(o: &ActionOutcome, name: &str) -> Option<Fault> {
    let code = match o.code {
        Some(OutcomeCode::Done) => return None,
        Some(OutcomeCode::NotRunning) => FaultCode::NotRunning,
        Some(OutcomeCode::ShuttingDown) => FaultCode::ShutdownState,
        _ if o.ok => return None,
        _ => {
            return Some(Fault::new(
                FaultCode::Failed,
                format!("{name}: {}", o.message),
            ));
        }
    };
    Some(Fault::new(code, name))
}

/// One element of a group call's answer.
fn result_of(p: &Proc, result: Result<(), Fault>) -> Value {
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

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `getProcessInfo`'s struct.
fn process_info(p: &Proc, now: i64) -> Value {
    let s = &p.status;
    let secs = |ms: Option<u64>| ms.map_or(0, |ms| (ms / 1000) as i64);
    let (start, stop) = (secs(s.started_ms), secs(s.stopped_ms));
    let spawnerr = match s.state {
        ProgramState::Backoff | ProgramState::Fatal => s.reason.clone().unwrap_or_default(),
        _ => String::new(),
    };
    // supervisord's exitstatus: the exit code, -1 for a death by signal.
    let exitstatus = match (s.exit_code, &s.signal) {
        (Some(code), _) => code,
        (None, Some(_)) => -1,
        (None, None) => 0,
    };
    let stdout = log_path(&p.spec.stdout);
    let stderr = match p.spec.stderr {
        OutputTarget::Stdout => stdout.clone(),
        ref other => log_path(other),
    };
    let description = describe(p, start, stop, now, &spawnerr);
    Value::record([
        ("name", Value::str(&p.name)),
        ("group", Value::str(&p.group)),
        ("description", Value::str(description)),
        ("start", Value::Int(start)),
        ("stop", Value::Int(stop)),
        ("now", Value::Int(now)),
        ("state", Value::Int(state_code(s.state).into())),
        ("statename", Value::str(state_name(s.state))),
        ("spawnerr", Value::str(spawnerr)),
        ("exitstatus", Value::Int(exitstatus.into())),
        ("logfile", Value::str(&stdout)),
        ("stdout_logfile", Value::str(&stdout)),
        ("stderr_logfile", Value::str(&stderr)),
        ("pid", Value::Int(s.pid.map_or(0, i64::from))),
    ])
}

/// supervisord's `description` (`_interpretProcessInfo`): `pid 12, uptime 0:01:02` while
/// running, the error when backing off or fatal, the local time it stopped (`Dec 07 01:02
/// PM`) or `Not started` when stopped or exited.
fn describe(p: &Proc, start: i64, stop: i64, now: i64, spawnerr: &str) -> String {
    match p.status.state {
        ProgramState::Running => format!(
            "pid {}, uptime {}",
            p.status.pid.unwrap_or(0),
            uptime((now - start).max(0))
        ),
        ProgramState::Backoff | ProgramState::Fatal if spawnerr.is_empty() => {
            format!("unknown error (try \"tail {}\")", p.name)
        }
        ProgramState::Backoff | ProgramState::Fatal => spawnerr.to_string(),
        ProgramState::Stopped | ProgramState::Exited if start == 0 => "Not started".into(),
        ProgramState::Stopped | ProgramState::Exited => local_stamp(stop),
        ProgramState::Starting | ProgramState::Stopping => String::new(),
    }
}

/// Python's `str(timedelta)` of whole seconds: `0:01:02`, `3 days, 4:05:06`.
fn uptime(secs: i64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let hms = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        n => format!("{n} days, {hms}"),
    }
}

/// `strftime('%b %d %I:%M %p')` of local time.
fn local_stamp(secs: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let Some(t) = supd_sys::clock::local_time(secs) else {
        return String::new();
    };
    let hour12 = match t.hour % 12 {
        0 => 12,
        h => h,
    };
    format!(
        "{} {:02} {:02}:{:02} {}",
        MONTHS[(t.month as usize).saturating_sub(1).min(11)],
        t.day,
        hour12,
        t.minute,
        if t.hour < 12 { "AM" } else { "PM" }
    )
}

fn log_path(target: &OutputTarget) -> String {
    match target {
        OutputTarget::File(path) => path.display().to_string(),
        _ => String::new(),
    }
}

/// `getAllConfigInfo`'s struct (supervisord's `None` is `"none"`, as it sends it).
fn config_info(p: &Proc) -> Value {
    let spec = &p.spec;
    let none = || Value::str("none");
    let autorestart = match spec.restart {
        RestartPolicy::Always => Value::Bool(true),
        RestartPolicy::OnFailure => Value::str("unexpected"),
        RestartPolicy::Never => Value::Bool(false),
    };
    let uid = match spec.user.as_ref().map(|u| &u.user) {
        Some(supd_config::IdRef::Id(id)) => Value::Int((*id).into()),
        Some(supd_config::IdRef::Name(name)) => supd_sys::users::UserDb::system()
            .user_by_name(name)
            .map_or_else(none, |u| Value::Int(u.uid.into())),
        None => none(),
    };
    // supd's console is its own stdout and stderr, as supervisord's /dev/stdout would be.
    let file = |t: &OutputTarget, console: &str| match t {
        OutputTarget::File(path) => Value::str(path.display().to_string()),
        OutputTarget::Console => Value::str(console),
        _ => none(),
    };
    let secs = |d: std::time::Duration| Value::Int(d.as_secs() as i64);
    Value::record([
        ("autostart", Value::Bool(spec.autostart)),
        ("autorestart", autorestart),
        (
            "directory",
            spec.directory
                .as_ref()
                .map_or_else(none, |d| Value::str(d.display().to_string())),
        ),
        ("uid", uid),
        ("command", Value::str(command_line(&spec.command))),
        (
            "exitcodes",
            Value::Array(
                spec.exit_codes
                    .iter()
                    .map(|&c| Value::Int(c.into()))
                    .collect(),
            ),
        ),
        ("group", Value::str(&p.group)),
        ("group_prio", Value::Int(999)),
        ("inuse", Value::Bool(true)),
        ("killasgroup", Value::Bool(true)),
        ("name", Value::str(&p.name)),
        ("process_prio", Value::Int(999)),
        (
            "redirect_stderr",
            Value::Bool(matches!(spec.stderr, OutputTarget::Stdout)),
        ),
        (
            "startretries",
            Value::Int(spec.start_retries.map_or(-1, i64::from)),
        ),
        ("startsecs", secs(spec.min_uptime)),
        ("stdout_capture_maxbytes", Value::Int(0)),
        ("stdout_events_enabled", Value::Bool(false)),
        ("stdout_logfile", file(&spec.stdout, "/dev/stdout")),
        (
            "stdout_logfile_backups",
            Value::Int(spec.log_backups.into()),
        ),
        (
            "stdout_logfile_maxbytes",
            Value::Int(spec.log_max_size as i64),
        ),
        ("stdout_syslog", Value::Bool(false)),
        ("stopsignal", Value::Int(spec.stop_signal as i64)),
        ("stopwaitsecs", secs(spec.stop_timeout)),
        ("stderr_capture_maxbytes", Value::Int(0)),
        ("stderr_events_enabled", Value::Bool(false)),
        ("stderr_logfile", file(&spec.stderr, "/dev/stderr")),
        (
            "stderr_logfile_backups",
            Value::Int(spec.log_backups.into()),
        ),
        (
            "stderr_logfile_maxbytes",
            Value::Int(spec.log_max_size as i64),
        ),
        ("stderr_syslog", Value::Bool(false)),
        ("serverurl", Value::str("AUTO")),
    ])
}

/// The argv as one line, words with spaces or quotes in single quotes.
fn command_line(argv: &[String]) -> String {
    argv.iter()
        .map(|w| {
            if !w.is_empty() && !w.contains([' ', '\t', '\'', '"', '\\', '$']) {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn names_value(names: &[String]) -> Value {
    Value::Array(names.iter().map(Value::str).collect())
}

/// Removes `name` from `list`; whether it was there.
fn take(list: &mut Vec<String>, name: &str) -> bool {
    let before = list.len();
    list.retain(|g| g != name);
    list.len() != before
}

/// The groups a reload would add (new groups), remove (every member gone) or change (any
/// member added, changed or removed), in config order.
fn group_diff(before: &[Proc], diff: &ProgramDiff, groups: &[supd_config::GroupSpec]) -> Pending {
    let mut pending = Pending::default();
    let exists = |g: &str| before.iter().any(|p| p.group == g);
    let group_of = |name: &str| {
        before
            .iter()
            .find(|p| p.status.name == name)
            .map_or_else(|| supervisor_names(name, groups).0, |p| p.group.clone())
    };
    let note = |list: &mut Vec<String>, g: String| {
        if !list.contains(&g) {
            list.push(g);
        }
    };
    for name in &diff.added {
        let g = group_of(name);
        if exists(&g) {
            note(&mut pending.changed, g);
        } else {
            note(&mut pending.added, g);
        }
    }
    for name in &diff.changed {
        note(&mut pending.changed, group_of(name));
    }
    for name in &diff.removed {
        let g = group_of(name);
        let all_gone = before
            .iter()
            .filter(|p| p.group == g)
            .all(|p| diff.removed.contains(&p.status.name));
        if all_gone {
            note(&mut pending.removed, g);
        } else {
            note(&mut pending.changed, g);
        }
    }
    let changed = std::mem::take(&mut pending.changed);
    pending.changed = changed
        .into_iter()
        .filter(|g| !pending.removed.contains(g))
        .collect();
    pending
}

fn stream_of(method: &str) -> Stream {
    if method.contains("Stderr") {
        Stream::Stderr
    } else {
        Stream::Stdout
    }
}

/// supervisord's `readFile` over what the ring holds: a negative `offset` reads that many
/// bytes from the end (then `length` must be 0); otherwise `length` bytes from `offset`
/// (0: to the end). Bytes the ring no longer holds read as if they were never written.
fn read_log(log: &StreamLog, offset: i64, length: i64) -> Answer {
    let end = log.end as i64;
    let (from, to) = if offset < 0 {
        if length != 0 {
            return Err(Fault::bare(FaultCode::BadArguments));
        }
        ((end + offset).max(0), end)
    } else {
        if length < 0 {
            return Err(Fault::bare(FaultCode::BadArguments));
        }
        let to = if length == 0 {
            end
        } else {
            (offset + length).min(end)
        };
        (offset, to)
    };
    Ok(Value::str(slice(log, from, to)))
}

/// supervisord's `tailFile` over what the ring holds: `[bytes, new offset, overflow]`.
fn tail_log(log: &StreamLog, offset: i64, length: i64) -> Value {
    let size = log.end as i64;
    let (mut offset, mut length) = (offset, length);
    let mut overflow = false;
    if size > offset + length {
        overflow = true;
        offset = size - 1;
    }
    if offset + length > size {
        if offset > size - 1 {
            length = 0;
        }
        offset = size - length;
    }
    offset = offset.max(0);
    length = length.max(0);
    let text = if length == 0 {
        String::new()
    } else {
        slice(log, offset, offset + length)
    };
    Value::Array(vec![
        Value::str(text),
        Value::Int(size),
        Value::Bool(overflow),
    ])
}

/// The text between stream offsets `from` and `to`, as far as the ring holds it.
fn slice(log: &StreamLog, from: i64, to: i64) -> String {
    let start = log.start() as i64;
    let lo = (from.max(start) - start) as usize;
    let hi = ((to.max(start) - start) as usize).min(log.text.len());
    String::from_utf8_lossy(log.text.get(lo..hi.max(lo)).unwrap_or_default()).into_owned()
}

/// The parameters of one call, checked against its signature.
struct Args {
    params: Vec<Value>,
}

impl Args {
    /// Too many parameters, or too few for a method without defaults, is
    /// `INCORRECT_PARAMETERS` (Python's `TypeError`, as supervisord reports it).
    fn new(params: Vec<Value>, signature: &[&str]) -> Result<Args, Fault> {
        if params.len() > signature.len() - 1 {
            return Err(Fault::bare(FaultCode::IncorrectParameters));
        }
        Ok(Args { params })
    }

    fn get(&self, i: usize) -> Result<&Value, Fault> {
        self.params
            .get(i)
            .ok_or_else(|| Fault::bare(FaultCode::IncorrectParameters))
    }

    fn string(&self, i: usize) -> Result<&str, Fault> {
        match self.get(i)? {
            Value::Str(s) => Ok(s),
            other => Err(Fault::new(
                FaultCode::IncorrectParameters,
                format!("expected a string, found {}", other.type_name()),
            )),
        }
    }

    fn int(&self, i: usize) -> Result<i64, Fault> {
        match self.get(i)? {
            Value::Int(n) => Ok(*n),
            Value::Str(s) => s
                .trim()
                .parse()
                .map_err(|_| Fault::new(FaultCode::IncorrectParameters, "expected an int")),
            other => Err(Fault::new(
                FaultCode::IncorrectParameters,
                format!("expected an int, found {}", other.type_name()),
            )),
        }
    }

    fn bool_or(&self, i: usize, default: bool) -> Result<bool, Fault> {
        match self.params.get(i) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Int(n)) => Ok(*n != 0),
            Some(other) => Err(Fault::new(
                FaultCode::IncorrectParameters,
                format!("expected a boolean, found {}", other.type_name()),
            )),
        }
    }

    /// A signal name (`HUP`, `SIGHUP`) or number, as a string or an int; `BAD_SIGNAL`
    /// when it is none.
    fn signal(&self, i: usize) -> Result<String, Fault> {
        let text = match self.get(i)? {
            Value::Str(s) => s.clone(),
            Value::Int(n) => n.to_string(),
            other => {
                return Err(Fault::new(
                    FaultCode::IncorrectParameters,
                    format!("expected a signal, found {}", other.type_name()),
                ));
            }
        };
        supd_config::signal::parse(&text).map_err(|_| Fault::new(FaultCode::BadSignal, &text))?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(text: &str, end: u64) -> StreamLog {
        StreamLog {
            text: text.as_bytes().to_vec(),
            end,
        }
    }

    #[test]
    fn uptimes_read_like_pythons_timedelta() {
        assert_eq!(uptime(0), "0:00:00");
        assert_eq!(uptime(62), "0:01:02");
        assert_eq!(uptime(86_400 + 3661), "1 day, 1:01:01");
        assert_eq!(uptime(3 * 86_400), "3 days, 0:00:00");
    }

    #[test]
    fn read_log_follows_supervisords_read_file() {
        let l = log("hello world\n", 12);
        assert_eq!(read_log(&l, -6, 0), Ok(Value::str("world\n")));
        assert_eq!(read_log(&l, -100, 0), Ok(Value::str("hello world\n")));
        assert_eq!(read_log(&l, 6, 0), Ok(Value::str("world\n")));
        assert_eq!(read_log(&l, 0, 5), Ok(Value::str("hello")));
        assert_eq!(
            read_log(&l, -1, 1),
            Err(Fault::bare(FaultCode::BadArguments))
        );
        assert_eq!(
            read_log(&l, 1, -1),
            Err(Fault::bare(FaultCode::BadArguments))
        );
        // The ring forgot the first 100 bytes: offsets stay those of the whole stream.
        let l = log("tail\n", 105);
        assert_eq!(read_log(&l, 0, 0), Ok(Value::str("tail\n")));
        assert_eq!(read_log(&l, 103, 0), Ok(Value::str("l\n")));
    }

    #[test]
    fn tail_log_follows_supervisords_tail_file() {
        let l = log("0123456789", 10);
        // supervisorctl tail -f's first call: offset 0, length 1600.
        assert_eq!(
            tail_log(&l, 0, 1600),
            Value::Array(vec![
                Value::str("0123456789"),
                Value::Int(10),
                Value::Bool(false)
            ])
        );
        // Caught up: nothing new.
        assert_eq!(
            tail_log(&l, 10, 1600),
            Value::Array(vec![Value::str(""), Value::Int(10), Value::Bool(false)])
        );
        // More was written than asked for: the last `length` bytes, and overflow.
        assert_eq!(
            tail_log(&l, 0, 4),
            Value::Array(vec![Value::str("6789"), Value::Int(10), Value::Bool(true)])
        );
    }

    #[test]
    fn command_lines_quote_what_needs_it() {
        let argv = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(command_line(&argv(&["sleep", "10"])), "sleep 10");
        assert_eq!(
            command_line(&argv(&["sh", "-c", "echo 'a b'"])),
            r"sh -c 'echo '\''a b'\'''"
        );
    }

    #[test]
    fn every_method_has_a_signature_with_a_return_type() {
        for (name, sig, help) in METHODS {
            assert!(name.starts_with("supervisor.") || name.starts_with("system."));
            assert!(!sig.is_empty() && !help.is_empty(), "{name}");
        }
    }
}
