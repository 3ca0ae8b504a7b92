//! supervisord's vocabulary, for the clients and listeners written for it.
//!
//! This module owns the translation of supd's program states into supervisord's numbers and
//! names (`supervisor/states.py`), which its XML-RPC interface (`getProcessInfo`'s `state`
//! and `statename`) and its event listeners (`PROCESS_STATE_RUNNING`, `from_state:`) use.
//! The states map one to one; supervisord's `UNKNOWN` (1000) has no supd counterpart.

use supd_proto::ProgramState;

/// supervisord's number for `state` (`ProcessStates` in `supervisor/states.py`).
pub fn state_code(state: ProgramState) -> i32 {
    match state {
        ProgramState::Stopped => 0,
        ProgramState::Starting => 10,
        ProgramState::Running => 20,
        ProgramState::Backoff => 30,
        ProgramState::Stopping => 40,
        ProgramState::Exited => 100,
        ProgramState::Fatal => 200,
    }
}

/// supervisord's name for `state`: `"RUNNING"`.
pub fn state_name(state: ProgramState) -> &'static str {
    match state {
        ProgramState::Stopped => "STOPPED",
        ProgramState::Starting => "STARTING",
        ProgramState::Running => "RUNNING",
        ProgramState::Backoff => "BACKOFF",
        ProgramState::Stopping => "STOPPING",
        ProgramState::Exited => "EXITED",
        ProgramState::Fatal => "FATAL",
    }
}

/// supervisord's state of itself (`SupervisorStates`), for `getState` and
/// `SUPERVISOR_STATE_CHANGE_*` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaemonState {
    Running,
    Restarting,
    Shutdown,
}

impl DaemonState {
    pub fn code(self) -> i32 {
        match self {
            DaemonState::Running => 1,
            DaemonState::Restarting => 0,
            DaemonState::Shutdown => -1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DaemonState::Running => "RUNNING",
            DaemonState::Restarting => "RESTARTING",
            DaemonState::Shutdown => "SHUTDOWN",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_has_supervisords_number_and_name() {
        use ProgramState::*;
        let all = [Stopped, Starting, Running, Backoff, Stopping, Exited, Fatal];
        let codes: Vec<i32> = all.iter().map(|s| state_code(*s)).collect();
        assert_eq!(codes, [0, 10, 20, 30, 40, 100, 200]);
        for s in all {
            assert_eq!(state_name(s), s.as_str().to_uppercase());
        }
    }
}
