//! The method table (names, signatures and help for `system.listMethods`,
//! `system.methodSignature` and `system.methodHelp`) and the checking of a call's
//! parameters against it, faulting as supervisord does (`INCORRECT_PARAMETERS` for Python's
//! `TypeError`, `BAD_SIGNAL` for a signal that is none).

use super::super::xmlrpc::Value;
use super::faults::{Fault, FaultCode};

/// The methods, their signatures (`[return, params...]`, as `system.methodSignature`
/// gives them) and help.
pub(super) const METHODS: &[(&str, &[&str], &str)] = &[
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
    // supervisord's older names, still answered.
    (
        "supervisor.readMainLog",
        &["string", "int", "int"],
        "Read length bytes from the main log starting at offset (old name of readLog)",
    ),
    (
        "supervisor.readProcessLog",
        &["string", "string", "int", "int"],
        "Read length bytes from name's stdout log starting at offset (old name of readProcessStdoutLog)",
    ),
    (
        "supervisor.tailProcessLog",
        &["array", "string", "int", "int"],
        "Tail the stdout log (old name of tailProcessStdoutLog)",
    ),
    (
        "supervisor.clearProcessLog",
        &["boolean", "string"],
        "Clear the logs of the named process (old name of clearProcessLogs)",
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

/// The parameters of one call, checked against its signature.
pub(super) struct Args {
    params: Vec<Value>,
}

impl Args {
    /// Too many parameters, or too few for a method without defaults, is
    /// `INCORRECT_PARAMETERS` (Python's `TypeError`, as supervisord reports it).
    pub(super) fn new(params: Vec<Value>, signature: &[&str]) -> Result<Args, Fault> {
        if params.len() > signature.len() - 1 {
            return Err(Fault::bare(FaultCode::IncorrectParameters));
        }
        Ok(Args { params })
    }

    pub(super) fn get(&self, i: usize) -> Result<&Value, Fault> {
        self.params
            .get(i)
            .ok_or_else(|| Fault::bare(FaultCode::IncorrectParameters))
    }

    pub(super) fn string(&self, i: usize) -> Result<&str, Fault> {
        match self.get(i)? {
            Value::Str(s) => Ok(s),
            other => Err(Fault::new(
                FaultCode::IncorrectParameters,
                format!("expected a string, found {}", other.type_name()),
            )),
        }
    }

    pub(super) fn int(&self, i: usize) -> Result<i64, Fault> {
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

    pub(super) fn bool_or(&self, i: usize, default: bool) -> Result<bool, Fault> {
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
    pub(super) fn signal(&self, i: usize) -> Result<String, Fault> {
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

    #[test]
    pub(super) fn every_method_has_a_signature_with_a_return_type() {
        for (name, sig, help) in METHODS {
            assert!(name.starts_with("supervisor.") || name.starts_with("system."));
            assert!(!sig.is_empty() && !help.is_empty(), "{name}");
        }
    }
}
