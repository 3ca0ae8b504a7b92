//! The text supd sends event listeners: supervisord's header line and each event type's
//! payload (`supervisor/events.py`), field for field.

use supd_config::event_types::EventType;
use supd_proto::{ProgramState, Stream};

use crate::supervisor::state_name;

/// The header line and payload of one event, as a listener reads them.
pub fn envelope(
    serial: u64,
    pool: &str,
    pool_serial: u64,
    kind: EventType,
    payload: &str,
) -> Vec<u8> {
    format!(
        "ver:3.0 server:supervisor serial:{serial} pool:{pool} poolserial:{pool_serial} \
         eventname:{} len:{}\n{payload}",
        kind.name(),
        payload.len()
    )
    .into_bytes()
}

/// The `PROCESS_STATE_*` type of entering `to`.
pub fn process_state_type(to: ProgramState) -> EventType {
    match to {
        ProgramState::Stopped => EventType::ProcessStateStopped,
        ProgramState::Starting => EventType::ProcessStateStarting,
        ProgramState::Running => EventType::ProcessStateRunning,
        ProgramState::Backoff => EventType::ProcessStateBackoff,
        ProgramState::Stopping => EventType::ProcessStateStopping,
        ProgramState::Exited => EventType::ProcessStateExited,
        ProgramState::Fatal => EventType::ProcessStateFatal,
    }
}

/// What a state change says besides the names: `tries` (failed starts in a row) for
/// `STARTING` and `BACKOFF`, `expected` and `pid` for `EXITED`, `pid` for `RUNNING`,
/// `STOPPING`, `STOPPED`, nothing for `FATAL`.
pub struct StateDetail {
    pub tries: u32,
    /// The last process of the program (0 when it never had one).
    pub pid: i32,
    /// The exit was one the program's `exit_codes` allow.
    pub expected: bool,
}

/// `processname:web groupname:web from_state:RUNNING expected:0 pid:123`.
pub fn process_state(
    process: &str,
    group: &str,
    from: ProgramState,
    to: ProgramState,
    detail: &StateDetail,
) -> String {
    let mut out = format!(
        "processname:{process} groupname:{group} from_state:{}",
        state_name(from)
    );
    match to {
        ProgramState::Starting | ProgramState::Backoff => {
            out.push_str(&format!(" tries:{}", detail.tries));
        }
        ProgramState::Exited => {
            out.push_str(&format!(
                " expected:{} pid:{}",
                u8::from(detail.expected),
                detail.pid
            ));
        }
        ProgramState::Running | ProgramState::Stopping | ProgramState::Stopped => {
            out.push_str(&format!(" pid:{}", detail.pid));
        }
        ProgramState::Fatal => {}
    }
    out
}

/// `PROCESS_LOG_*`: `processname:web groupname:web pid:123 channel:stdout\n` then the lines.
pub fn process_log(process: &str, group: &str, pid: i32, stream: Stream, text: &[u8]) -> String {
    let channel = match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    };
    format!(
        "processname:{process} groupname:{group} pid:{pid} channel:{channel}\n{}",
        String::from_utf8_lossy(text)
    )
}

/// `PROCESS_GROUP_ADDED` / `_REMOVED`: `groupname:web\n`.
pub fn process_group(group: &str) -> String {
    format!("groupname:{group}\n")
}

/// `TICK_*`: `when:1700000000`, the start of the period (Unix seconds).
pub fn tick(when: u64) -> String {
    format!("when:{when}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_read_as_supervisords() {
        let detail = StateDetail {
            tries: 2,
            pid: 42,
            expected: false,
        };
        use ProgramState::*;
        assert_eq!(
            process_state("web", "web", Running, Exited, &detail),
            "processname:web groupname:web from_state:RUNNING expected:0 pid:42"
        );
        assert_eq!(
            process_state("web", "g", Backoff, Starting, &detail),
            "processname:web groupname:g from_state:BACKOFF tries:2"
        );
        assert_eq!(
            process_state("web", "web", Backoff, Fatal, &detail),
            "processname:web groupname:web from_state:BACKOFF"
        );
        assert_eq!(
            String::from_utf8(envelope(7, "mail", 3, EventType::Tick5, "when:5")).unwrap(),
            "ver:3.0 server:supervisor serial:7 pool:mail poolserial:3 eventname:TICK_5 len:6\nwhen:5"
        );
        assert_eq!(
            process_log("web", "web", 9, Stream::Stderr, b"oops\n"),
            "processname:web groupname:web pid:9 channel:stderr\noops\n"
        );
    }
}
