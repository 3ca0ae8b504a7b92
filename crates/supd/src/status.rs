//! What `supctl status` and `supctl events` show: the core's state turned into the wire's
//! records ([`ProgramStatus`], [`StateEvent`]), with their text from [`crate::wording`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use supd_core::{Change, ExitStatus, OutcomeKind, ProgId, ProgramState, State, Why};
use supd_proto::{OutcomeCode, ProgramStatus, StateEvent};

use crate::wording;

/// One row of `supctl status` for `prog`, at supd time `now`.
pub fn program_status(st: &State, prog: ProgId, now: Duration) -> ProgramStatus {
    let p = &st.programs[prog];
    let life = p.life();
    ProgramStatus {
        name: p.spec.name.clone(),
        state: p.state(),
        up: p.is_up(),
        pid: p.pid().map(|pid| pid as u32),
        restarts: p.restarts(),
        exit_code: match p.last_exit {
            Some(ExitStatus::Exited(code)) => Some(code),
            _ => None,
        },
        signal: match p.last_exit {
            Some(ExitStatus::Signaled { signal, .. }) => Some(signal.as_str().to_string()),
            _ => None,
        },
        last_exit: p.last_exit.map(wording::exit_status),
        uptime_ms: p
            .started_at()
            .map(|t| now.saturating_sub(t).as_millis() as u64),
        reason: wording::reason(st, life),
        reason_kind: wording::reason_kind(life).map(str::to_string),
        autostart: p.spec.autostart,
        health: p
            .health
            .as_ref()
            .filter(|_| p.pid().is_some())
            .map(wording::health),
        notify_status: p.notify_status.clone(),
        started_ms: p.last_started_at.map(|t| epoch_ms(t, now)),
        stopped_ms: p.last_exit_at.map(|t| epoch_ms(t, now)),
        previous_pid: p.previous_pid().map(|pid| pid as u32),
        sockets: p.spec.sockets.iter().map(|s| s.address.url()).collect(),
        depends_on: p.spec.depends_on.clone(),
        usage: None,
    }
}

/// The wall-clock time (milliseconds since the Unix epoch) of supd time `t`, supd time
/// being `now`.
fn epoch_ms(t: Duration, now: Duration) -> u64 {
    let at = SystemTime::now()
        .checked_sub(now.saturating_sub(t))
        .unwrap_or(UNIX_EPOCH);
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The event stream's record of a change of `prog` (`from -> to`, because of `change`), as
/// the state now has it.
pub fn state_event(
    st: &State,
    prog: ProgId,
    from: ProgramState,
    to: ProgramState,
    change: &Change,
) -> StateEvent {
    let p = &st.programs[prog];
    StateEvent {
        ts_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        program: p.spec.name.clone(),
        from,
        to,
        pid: p.pid().map(|pid| pid as u32),
        exit_code: match (to, p.last_exit) {
            (ProgramState::Exited, Some(ExitStatus::Exited(c))) => Some(c),
            _ => None,
        },
        signal: match (to, p.last_exit) {
            (ProgramState::Exited, Some(ExitStatus::Signaled { signal, .. })) => {
                Some(signal.as_str().to_string())
            }
            _ => None,
        },
        reason: wording::event_reason(st, change),
        reason_kind: wording::change_kind(change).map(str::to_string),
    }
}

/// The wire's word for what a request did to one program.
pub fn outcome_code(kind: &OutcomeKind) -> OutcomeCode {
    match kind {
        OutcomeKind::Started
        | OutcomeKind::Restarted
        | OutcomeKind::Completed
        | OutcomeKind::Stopped
        | OutcomeKind::Up
        | OutcomeKind::SignalSent { .. } => OutcomeCode::Done,
        OutcomeKind::AlreadyRunning => OutcomeCode::AlreadyRunning,
        OutcomeKind::AlreadyStopped | OutcomeKind::NotRunning(_) => OutcomeCode::NotRunning,
        OutcomeKind::Refused | OutcomeKind::NotStartedShuttingDown => OutcomeCode::ShuttingDown,
        OutcomeKind::FailedToStart(Why::SpawnFailed(_) | Why::CannotExecute(_))
        | OutcomeKind::KeptPrevious {
            failure: Why::SpawnFailed(_) | Why::CannotExecute(_),
            ..
        } => OutcomeCode::SpawnFailed,
        OutcomeKind::FailedToStart(_)
        | OutcomeKind::ExitedAtOnce { .. }
        | OutcomeKind::KeptPrevious { .. } => OutcomeCode::Exited,
        OutcomeKind::NotStarted(_) => OutcomeCode::NotStarted,
        OutcomeKind::WillNotComeUp(_) | OutcomeKind::NotUpYet(_) => OutcomeCode::NotUp,
    }
}
