//! supervisord's event types, for `[eventlistener.NAME] events`: the names a listener
//! subscribes to (`supervisor/events.py`'s `EventTypes`), and which concrete types a parent
//! name such as `PROCESS_STATE` stands for.
//!
//! Only concrete types are ever sent; a parent name selects its subtypes, `EVENT` every type.
//! supd accepts every name supervisord accepts, so a listener written for supervisord
//! subscribes unchanged; the types supd never produces are marked in [`EventType::produced`].

/// One concrete supervisord event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    ProcessStateStopped,
    ProcessStateExited,
    ProcessStateStarting,
    ProcessStateStopping,
    ProcessStateBackoff,
    ProcessStateFatal,
    ProcessStateRunning,
    ProcessStateUnknown,
    ProcessLogStdout,
    ProcessLogStderr,
    ProcessCommunicationStdout,
    ProcessCommunicationStderr,
    RemoteCommunication,
    SupervisorStateChangeRunning,
    SupervisorStateChangeStopping,
    Tick5,
    Tick60,
    Tick3600,
    ProcessGroupAdded,
    ProcessGroupRemoved,
}

impl EventType {
    /// Every concrete type, in supervisord's order.
    pub const ALL: &'static [EventType] = &[
        EventType::ProcessStateStopped,
        EventType::ProcessStateExited,
        EventType::ProcessStateStarting,
        EventType::ProcessStateStopping,
        EventType::ProcessStateBackoff,
        EventType::ProcessStateFatal,
        EventType::ProcessStateRunning,
        EventType::ProcessStateUnknown,
        EventType::ProcessLogStdout,
        EventType::ProcessLogStderr,
        EventType::ProcessCommunicationStdout,
        EventType::ProcessCommunicationStderr,
        EventType::RemoteCommunication,
        EventType::SupervisorStateChangeRunning,
        EventType::SupervisorStateChangeStopping,
        EventType::Tick5,
        EventType::Tick60,
        EventType::Tick3600,
        EventType::ProcessGroupAdded,
        EventType::ProcessGroupRemoved,
    ];

    /// supervisord's name: `PROCESS_STATE_EXITED`.
    pub fn name(self) -> &'static str {
        match self {
            EventType::ProcessStateStopped => "PROCESS_STATE_STOPPED",
            EventType::ProcessStateExited => "PROCESS_STATE_EXITED",
            EventType::ProcessStateStarting => "PROCESS_STATE_STARTING",
            EventType::ProcessStateStopping => "PROCESS_STATE_STOPPING",
            EventType::ProcessStateBackoff => "PROCESS_STATE_BACKOFF",
            EventType::ProcessStateFatal => "PROCESS_STATE_FATAL",
            EventType::ProcessStateRunning => "PROCESS_STATE_RUNNING",
            EventType::ProcessStateUnknown => "PROCESS_STATE_UNKNOWN",
            EventType::ProcessLogStdout => "PROCESS_LOG_STDOUT",
            EventType::ProcessLogStderr => "PROCESS_LOG_STDERR",
            EventType::ProcessCommunicationStdout => "PROCESS_COMMUNICATION_STDOUT",
            EventType::ProcessCommunicationStderr => "PROCESS_COMMUNICATION_STDERR",
            EventType::RemoteCommunication => "REMOTE_COMMUNICATION",
            EventType::SupervisorStateChangeRunning => "SUPERVISOR_STATE_CHANGE_RUNNING",
            EventType::SupervisorStateChangeStopping => "SUPERVISOR_STATE_CHANGE_STOPPING",
            EventType::Tick5 => "TICK_5",
            EventType::Tick60 => "TICK_60",
            EventType::Tick3600 => "TICK_3600",
            EventType::ProcessGroupAdded => "PROCESS_GROUP_ADDED",
            EventType::ProcessGroupRemoved => "PROCESS_GROUP_REMOVED",
        }
    }

    /// False for the types supd accepts but never sends: `PROCESS_STATE_UNKNOWN` (supd
    /// always knows a program's state), `PROCESS_COMMUNICATION_*` (supervisord's
    /// `<!--XSUPERVISOR:BEGIN-->` capture mode) and `REMOTE_COMMUNICATION`
    /// (`sendRemoteCommEvent`).
    pub fn produced(self) -> bool {
        !matches!(
            self,
            EventType::ProcessStateUnknown
                | EventType::ProcessCommunicationStdout
                | EventType::ProcessCommunicationStderr
                | EventType::RemoteCommunication
        )
    }

    /// The period of a `TICK_*` type.
    pub fn tick_period(self) -> Option<std::time::Duration> {
        let secs = match self {
            EventType::Tick5 => 5,
            EventType::Tick60 => 60,
            EventType::Tick3600 => 3600,
            _ => return None,
        };
        Some(std::time::Duration::from_secs(secs))
    }
}

/// supervisord's abstract types: each stands for the concrete types whose names extend it.
const PARENTS: &[&str] = &[
    "EVENT",
    "PROCESS_STATE",
    "PROCESS_LOG",
    "PROCESS_COMMUNICATION",
    "SUPERVISOR_STATE_CHANGE",
    "TICK",
    "PROCESS_GROUP",
];

/// The concrete types `name` stands for (itself, or a parent's subtypes), or `None` for a
/// name supervisord does not have.
pub fn select(name: &str) -> Option<Vec<EventType>> {
    if let Some(t) = EventType::ALL.iter().find(|t| t.name() == name) {
        return Some(vec![*t]);
    }
    if name == "EVENT" {
        return Some(EventType::ALL.to_vec());
    }
    PARENTS.contains(&name).then(|| {
        let prefix = format!("{name}_");
        EventType::ALL
            .iter()
            .copied()
            .filter(|t| t.name().starts_with(&prefix))
            .collect()
    })
}

/// Every name [`select`] accepts: the concrete types, then the parents.
pub fn names() -> Vec<&'static str> {
    EventType::ALL
        .iter()
        .map(|t| t.name())
        .chain(PARENTS.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_select_their_subtypes() {
        assert_eq!(select("PROCESS_STATE").map(|v| v.len()), Some(8));
        assert_eq!(
            select("TICK"),
            Some(vec![
                EventType::Tick5,
                EventType::Tick60,
                EventType::Tick3600
            ])
        );
        assert_eq!(select("EVENT").map(|v| v.len()), Some(EventType::ALL.len()));
        assert_eq!(
            select("PROCESS_STATE_EXITED"),
            Some(vec![EventType::ProcessStateExited])
        );
        assert_eq!(select("PROCESS"), None);
        assert_eq!(select("process_state"), None);
    }

    #[test]
    fn every_parent_has_subtypes() {
        for parent in PARENTS {
            assert!(select(parent).is_some_and(|v| !v.is_empty()), "{parent}");
        }
    }
}
