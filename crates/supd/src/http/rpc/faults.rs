//! supervisord's faults: its code table (`supervisor/xmlrpc.py`, `Faults`), the
//! `NAME: extra` wording of its `RPCError`, and which fault each outcome of a supd request
//! is.

use supd_proto::{ActionOutcome, OutcomeCode};

use super::super::xmlrpc::Value;

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

    pub(super) fn as_value(&self) -> Value {
        Value::record([
            ("faultCode", Value::Int(self.code.number().into())),
            ("faultString", Value::str(&self.text)),
        ])
    }
}

/// The fault of a `start` outcome, `None` when it started.
pub(super) fn start_fault(o: &ActionOutcome, name: &str) -> Option<Fault> {
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

/// The fault of a `stop` or `signal` outcome, `None` when it was done.
pub(super) fn acted_fault(o: &ActionOutcome, name: &str) -> Option<Fault> {
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
