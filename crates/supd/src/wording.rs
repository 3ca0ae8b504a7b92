//! Every sentence supd says about its programs, made from the core's typed values: the log
//! lines of state changes, notices, the reasons in `supctl status` and the event stream,
//! the answers to requests, and the snake_case kinds that go on the wire beside them.
//!
//! The core decides with values ([`supd_core::why`]); this module is the only place those
//! become text, so a sentence is changed here or nowhere. Program names are read from the
//! core's [`State`] (a reload reports new programs before the control plane's name table
//! hears of them).

use std::time::Duration;

use supd_config::Signal;
use supd_core::{
    Action, Change, ExitStatus, Halt, Health, Life, Notice, Outcome, OutcomeKind, ProgId,
    ShutdownCause, State, UpBy, Why,
};

/// A short human form of a duration: `250ms`, `1.5s`, `2m5s` (the workspace's one
/// formatter).
pub fn human(d: Duration) -> String {
    supd_config::duration::format(d)
}

/// `exited with 1`, `killed by SIGKILL`, `killed by SIGSEGV (core dumped)`.
pub fn exit_status(status: ExitStatus) -> String {
    match status {
        ExitStatus::Exited(code) => format!("exited with {code}"),
        ExitStatus::Signaled {
            signal,
            core_dumped,
        } => {
            let dumped = if core_dumped { " (core dumped)" } else { "" };
            format!("killed by {}{dumped}", signal.as_str())
        }
    }
}

/// `app/views.py changed`, `2 files changed (a.py, b.py)`,
/// `3 files changed (app/views.py, app/urls.py, ...)`.
pub fn changed_files(paths: &[String]) -> String {
    match paths {
        [one] => format!("{one} changed"),
        [a, b] => format!("2 files changed ({a}, {b})"),
        [a, b, ..] => format!("{} files changed ({a}, {b}, ...)", paths.len()),
        [] => "nothing changed".into(),
    }
}

fn name(st: &State, p: ProgId) -> &str {
    &st.programs[p].spec.name
}

fn names(st: &State, ids: &[ProgId]) -> String {
    ids.iter()
        .map(|&p| name(st, p))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `exited with 1 after 3ms`.
fn ran(status: ExitStatus, after: Duration) -> String {
    format!("{} after {}", exit_status(status), human(after))
}

/// A cause or a failure, as it reads after `because`: `supctl restart`,
/// `restarted: killed by SIGKILL`, `exited with 1 after 10ms`.
pub fn why(st: &State, why: &Why) -> String {
    match why {
        Why::Autostart => "autostart".into(),
        Why::Requested(Action::Start) => "supctl start".into(),
        Why::Requested(Action::Stop) => "supctl stop".into(),
        Why::Requested(Action::Restart) => "supctl restart".into(),
        Why::Requested(Action::Upgrade) => "supctl upgrade".into(),
        Why::NeededBy(p) => format!("needed by {}", name(st, *p)),
        Why::DependenciesUp => "dependencies are up".into(),
        Why::Retry(failure) => format!("retry after {}", self::why(st, failure)),
        Why::Restarted(status) => format!("restarted: {}", exit_status(*status)),
        Why::FilesChanged(paths) => changed_files(paths),
        Why::ConfigChanged => "config changed".into(),
        Why::AddedToConfig => "added to the config".into(),
        Why::RemovedFromConfig => "removed from the config".into(),
        Why::Shutdown => "shutdown".into(),
        Why::SupdShuttingDown => "supd is shutting down".into(),
        Why::Exited { status, after } => ran(*status, *after),
        Why::SpawnFailed(error) | Why::CannotExecute(error) => error.clone(),
        Why::Unhealthy { detail, failures } => {
            format!("unhealthy: {detail} ({failures} checks failed in a row)")
        }
    }
}

/// The machine-readable word for a cause.
pub fn why_kind(why: &Why) -> &'static str {
    match why {
        Why::Autostart => "autostart",
        Why::Requested(Action::Start) => "supctl_start",
        Why::Requested(Action::Stop) => "supctl_stop",
        Why::Requested(Action::Restart) => "supctl_restart",
        Why::Requested(Action::Upgrade) => "supctl_upgrade",
        Why::NeededBy(_) => "needed_by",
        Why::DependenciesUp => "dependencies_up",
        Why::Retry(_) => "retry",
        Why::Restarted(_) => "restarted",
        Why::FilesChanged(_) => "files_changed",
        Why::ConfigChanged => "config_changed",
        Why::AddedToConfig => "added_to_config",
        Why::RemovedFromConfig => "removed_from_config",
        Why::Shutdown => "shutdown",
        Why::SupdShuttingDown => "supd_shutting_down",
        Why::Exited { .. } => "exited",
        Why::SpawnFailed(_) => "spawn_failed",
        Why::CannotExecute(_) => "cannot_execute",
        Why::Unhealthy { .. } => "unhealthy",
    }
}

/// How a stop ended: `killed by SIGKILL`, or `gone` when no exit was reported.
fn stop_end(exit: Option<ExitStatus>) -> String {
    exit.map_or_else(|| "gone".into(), exit_status)
}

/// `not started: dependency migrate failed`.
fn blocked(st: &State, dep: ProgId, failed: bool) -> String {
    let what = if failed { "failed" } else { "is not running" };
    format!("not started: dependency {} {what}", name(st, dep))
}

fn blocked_kind(failed: bool) -> &'static str {
    if failed {
        "dependency_failed"
    } else {
        "dependency_not_running"
    }
}

/// Why a program is `stopped`: `stopped (supctl stop): exited with 0`.
fn halt(st: &State, halt: &Halt) -> String {
    match halt {
        Halt::Stopped { by, exit } => format!("stopped ({}): {}", why(st, by), stop_end(*exit)),
        Halt::Cancelled { by } => format!("stopped: {}", why(st, by)),
        Halt::Blocked { dep, failed } => blocked(st, *dep, *failed),
    }
}

fn halt_kind(halt: &Halt) -> &'static str {
    match halt {
        Halt::Stopped { by, .. } | Halt::Cancelled { by } => why_kind(by),
        Halt::Blocked { failed, .. } => blocked_kind(*failed),
    }
}

/// Why a program is where it is, for `supctl status` (`None` before its first start).
pub fn reason(st: &State, life: &Life) -> Option<String> {
    Some(match life {
        Life::Stopped { why } => return why.as_ref().map(|h| halt(st, h)),
        Life::Waiting { on } => format!("waiting for {}", names(st, on)),
        Life::Spawning { cause, .. }
        | Life::Starting { cause, .. }
        | Life::Running { cause, .. }
        | Life::Stopping { cause, .. } => why(st, cause),
        Life::Backoff { failure, .. } => why(st, failure),
        Life::Fatal { why: failure } => why(st, failure),
        Life::Exited {
            status,
            after,
            completed,
        } => {
            let ran = ran(*status, *after);
            if *completed {
                format!("completed: {ran}")
            } else {
                ran
            }
        }
    })
}

/// The machine-readable word for [`reason`].
pub fn reason_kind(life: &Life) -> Option<&'static str> {
    Some(match life {
        Life::Stopped { why } => return why.as_ref().map(halt_kind),
        Life::Waiting { .. } => "waiting",
        Life::Spawning { cause, .. }
        | Life::Starting { cause, .. }
        | Life::Running { cause, .. }
        | Life::Stopping { cause, .. } => why_kind(cause),
        Life::Backoff { failure, .. } => why_kind(failure),
        Life::Fatal { why } => why_kind(why),
        Life::Exited {
            completed: true, ..
        } => "completed",
        Life::Exited { .. } => "exited",
    })
}

/// The log line of a change, after `NAME: ` (`None`: the change is not logged, because
/// the next one says it).
pub fn log_line(st: &State, change: &Change) -> Option<String> {
    Some(match change {
        Change::Waiting { on } => format!("waiting for {}", names(st, on)),
        Change::Spawning { .. } | Change::Exited { .. } => return None,
        Change::Started { pid } => format!("started (pid {pid})"),
        Change::Up { by: UpBy::Uptime } => "running".into(),
        Change::Up { by: UpBy::Healthy } => "running (healthy)".into(),
        Change::Up { by: UpBy::Ready } => "running (ready)".into(),
        Change::Ended { status, after } => ran(*status, *after),
        Change::Completed { status, after } => format!("completed: {}", ran(*status, *after)),
        Change::BackingOff {
            failure,
            delay,
            failures,
            limit,
        } => {
            let attempts = limit
                .map(|limit| format!(" (failed start {failures} of {limit})"))
                .unwrap_or_default();
            format!(
                "{}; retrying in {}{attempts}",
                why(st, failure),
                human(*delay)
            )
        }
        Change::GaveUp { failure, failures } => format!(
            "{}; giving up after {failures} failed starts in a row",
            why(st, failure)
        ),
        Change::NeverRestarted { failure } => {
            format!("{}; not restarted (restart = \"never\")", why(st, failure))
        }
        Change::NotRestarted { status, after } => {
            format!("{}; not restarted", ran(*status, *after))
        }
        Change::NotRetried { failure, watched } => {
            let again = if *watched {
                "supctl start or a change to a watched file tries again"
            } else {
                "supctl start tries again"
            };
            format!(
                "{}; not retried, as that cannot help ({again})",
                why(st, failure)
            )
        }
        Change::NotRetriedShuttingDown { failure } => {
            format!(
                "{}; not retried, as supd is shutting down",
                why(st, failure)
            )
        }
        Change::Stopping { cause, signal } => {
            format!("stopping ({}): sent {}", why(st, cause), signal.as_str())
        }
        Change::Stopped { exit } => format!("stopped ({})", stop_end(*exit)),
        Change::Cancelled { cause } => format!("stopped ({})", why(st, cause)),
        Change::Blocked { dep, failed } => blocked(st, *dep, *failed),
        Change::Vanished => "stopped".into(),
        Change::KeptPrevious { pid, failure } => format!(
            "the new instance did not come up ({}); pid {pid} serves on",
            why(st, failure)
        ),
    })
}

/// The reason of a change in the event stream, read after `from -> to` without repeating
/// it: `shutdown: sent SIGTERM`, `killed by SIGSEGV after 2s`.
pub fn event_reason(st: &State, change: &Change) -> Option<String> {
    match change {
        Change::Spawning { cause } => Some(why(st, cause)),
        Change::Up { by: UpBy::Uptime } => None,
        Change::Up { by: UpBy::Healthy } => Some("healthy".into()),
        Change::Up { by: UpBy::Ready } => Some("READY=1".into()),
        Change::Exited { status, after } => Some(ran(*status, *after)),
        Change::Stopping { cause, signal } => {
            Some(format!("{}: sent {}", why(st, cause), signal.as_str()))
        }
        Change::Stopped { exit } => Some(stop_end(*exit)),
        Change::Cancelled { cause } => Some(why(st, cause)),
        Change::Waiting { .. }
        | Change::Started { .. }
        | Change::Ended { .. }
        | Change::Completed { .. }
        | Change::BackingOff { .. }
        | Change::GaveUp { .. }
        | Change::NeverRestarted { .. }
        | Change::NotRestarted { .. }
        | Change::NotRetried { .. }
        | Change::NotRetriedShuttingDown { .. }
        | Change::Blocked { .. }
        | Change::Vanished
        | Change::KeptPrevious { .. } => log_line(st, change),
    }
}

/// The machine-readable word for [`event_reason`].
pub fn change_kind(change: &Change) -> Option<&'static str> {
    Some(match change {
        Change::Waiting { .. } => "waiting",
        Change::Spawning { cause }
        | Change::Stopping { cause, .. }
        | Change::Cancelled { cause } => why_kind(cause),
        Change::Started { .. } => "started",
        Change::Up { by: UpBy::Uptime } => return None,
        Change::Up { by: UpBy::Healthy } => "healthy",
        Change::Up { by: UpBy::Ready } => "ready",
        Change::Exited { .. } | Change::Ended { .. } | Change::NotRestarted { .. } => "exited",
        Change::Completed { .. } => "completed",
        Change::BackingOff { failure, .. }
        | Change::GaveUp { failure, .. }
        | Change::NeverRestarted { failure }
        | Change::NotRetried { failure, .. }
        | Change::NotRetriedShuttingDown { failure } => why_kind(failure),
        Change::Stopped { exit: Some(_) } => "exited",
        Change::Stopped { exit: None } | Change::Vanished => "gone",
        Change::Blocked { failed, .. } => blocked_kind(*failed),
        Change::KeptPrevious { .. } => "kept_previous",
    })
}

fn shutdown_cause(st: &State, cause: ShutdownCause) -> String {
    match cause {
        ShutdownCause::Requested => "requested".into(),
        ShutdownCause::CriticalFailed(p) => format!("critical program {} failed", name(st, p)),
    }
}

/// A notice, as a whole log line.
pub fn notice(st: &State, notice: &Notice) -> String {
    match notice {
        Notice::Restarting { prog, why: w } => {
            format!("{}: {}; restarting", name(st, *prog), why(st, w))
        }
        Notice::SendingSignal {
            prog,
            paths,
            signal,
        } => format!(
            "{}: {}; sending {}",
            name(st, *prog),
            changed_files(paths),
            signal.as_str()
        ),
        Notice::RestartingForChanges { prog, paths } => {
            format!("{}: restarting: {}", name(st, *prog), changed_files(paths))
        }
        Notice::StartingForChanges { prog, paths } => {
            format!("{}: starting: {}", name(st, *prog), changed_files(paths))
        }
        Notice::Killing { prog } => {
            let spec = &st.programs[*prog].spec;
            format!(
                "{}: still running {} after {}: sending SIGKILL",
                spec.name,
                human(spec.stop_timeout),
                spec.stop_signal.as_str()
            )
        }
        Notice::HealthyAgain { prog } => format!("{}: healthy again", name(st, *prog)),
        Notice::HealthCheckFailed {
            prog,
            failures,
            retries,
            detail,
        } => format!(
            "{}: health check failed ({failures} of {retries}): {detail}",
            name(st, *prog)
        ),
        Notice::Ready { prog, from_pid } => {
            format!("{}: READY=1 from pid {from_pid}", name(st, *prog))
        }
        Notice::ReloadIgnored => "reload ignored: supd is shutting down".into(),
        Notice::Reloaded {
            added,
            changed,
            removed,
        } => {
            if added.is_empty() && changed.is_empty() && removed.is_empty() {
                "config reloaded: no program changed".into()
            } else {
                format!(
                    "config reloaded: added [{}], changed [{}], removed [{}]",
                    names(st, added),
                    names(st, changed),
                    names(st, removed)
                )
            }
        }
        Notice::ShuttingDown { cause, timeout } => format!(
            "shutting down ({}); everything gets {}",
            shutdown_cause(st, *cause),
            human(*timeout)
        ),
        Notice::KillingEverything { cause } => format!(
            "{} again: killing everything now",
            shutdown_cause(st, *cause)
        ),
        Notice::ShutdownTimeout { timeout } => format!(
            "shutdown_timeout ({}) reached: killing everything",
            human(*timeout)
        ),
        Notice::DescendantsIgnoredTerm => {
            "leftover processes ignored SIGTERM: sending SIGKILL".into()
        }
        Notice::StartingBeside { prog, pid } => format!(
            "{}: starting a new instance beside pid {pid}, which serves until it is up",
            name(st, *prog)
        ),
        Notice::Replaced { prog, previous, by } => format!(
            "{}: pid {by} is up and replaces pid {previous}",
            name(st, *prog)
        ),
        Notice::StoppingPrevious { prog, pid } => {
            let spec = &st.programs[*prog].spec;
            format!(
                "{}: stopping pid {pid}: sent {}",
                spec.name,
                spec.stop_signal.as_str()
            )
        }
        Notice::PreviousExited {
            prog,
            pid,
            status,
            stopped: true,
        } => format!(
            "{}: pid {pid} stopped ({})",
            name(st, *prog),
            exit_status(*status)
        ),
        Notice::PreviousExited {
            prog,
            pid,
            status,
            stopped: false,
        } => format!(
            "{}: pid {pid}, serving until its successor is up, {}; the successor carries on",
            name(st, *prog),
            exit_status(*status)
        ),
        Notice::KillingPrevious { prog, pid } => {
            let spec = &st.programs[*prog].spec;
            format!(
                "{}: pid {pid} still running {} after {}: sending SIGKILL",
                spec.name,
                human(spec.stop_timeout),
                spec.stop_signal.as_str()
            )
        }
    }
}

/// The answer for one program of a request: `started`, `already running`,
/// `failed to start: exited with 1 after 3ms (see supctl logs web)`.
pub fn outcome(st: &State, outcome: &Outcome) -> String {
    let state_and_reason = |life: &Life, otherwise: &str| {
        let reason = reason(st, life).unwrap_or_else(|| otherwise.into());
        format!("{} ({reason})", life.state())
    };
    match &outcome.kind {
        OutcomeKind::Started => "started".into(),
        OutcomeKind::Restarted => "restarted".into(),
        OutcomeKind::Completed => "completed".into(),
        OutcomeKind::Stopped => "stopped".into(),
        OutcomeKind::AlreadyRunning => "already running".into(),
        OutcomeKind::AlreadyStopped => "already stopped".into(),
        OutcomeKind::Up => "up".into(),
        OutcomeKind::SignalSent { signal, .. } => format!("sent {}", signal.as_str()),
        OutcomeKind::NotRunning(state) => format!("not running ({state})"),
        OutcomeKind::Refused => "refused: supd is shutting down".into(),
        OutcomeKind::NotStartedShuttingDown => "not started: supd is shutting down".into(),
        OutcomeKind::FailedToStart(failure) => format!(
            "failed to start: {} (see supctl logs {})",
            why(st, failure),
            name(st, outcome.prog)
        ),
        OutcomeKind::ExitedAtOnce { status, after } => {
            format!("exited at once: {}", ran(*status, *after))
        }
        OutcomeKind::NotStarted(why) => why
            .as_ref()
            .map_or_else(|| "unknown reason".into(), |h| halt(st, h)),
        OutcomeKind::WillNotComeUp(life) => {
            format!(
                "will not come up: it is {}",
                state_and_reason(life, "unknown reason")
            )
        }
        OutcomeKind::NotUpYet(life) => {
            format!("not up yet: {}", state_and_reason(life, "no reason given"))
        }
        OutcomeKind::KeptPrevious { failure, pid } => format!(
            "not restarted: the new instance did not come up ({}); pid {pid} serves on \
             (see supctl logs {})",
            why(st, failure),
            name(st, outcome.prog)
        ),
    }
}

/// The answer for a program whose group could not be signalled (`kill(2)` failed).
pub fn signal_failed(signal: Signal, error: &str) -> String {
    format!("cannot send {}: {error}", signal.as_str())
}

/// What the health checks of the current run found: `healthy`,
/// `unhealthy: HTTP 503 (2 in a row)`, `starting: connection refused`, `not checked yet`.
pub fn health(health: &Health) -> String {
    match health.healthy {
        Some(true) => "healthy".into(),
        Some(false) => format!(
            "unhealthy: {} ({} in a row)",
            health.last_failure.as_deref().unwrap_or("check failed"),
            health.failures
        ),
        None => match &health.last_failure {
            Some(why) => format!("starting: {why}"),
            None => "not checked yet".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use supd_config::ProgramSpec;

    const KILLED: ExitStatus = ExitStatus::Signaled {
        signal: Signal::SIGKILL,
        core_dumped: false,
    };

    fn state() -> State {
        let names = ["web", "migrate"];
        let specs = names
            .iter()
            .map(|n| ProgramSpec::new(*n, vec!["/bin/true".into()]))
            .collect();
        State::new(specs, Duration::from_secs(30))
    }

    #[test]
    fn exit_statuses_read_like_a_shell_would_say_them() {
        assert_eq!(exit_status(ExitStatus::Exited(1)), "exited with 1");
        assert_eq!(exit_status(KILLED), "killed by SIGKILL");
        let dumped = ExitStatus::Signaled {
            signal: Signal::SIGSEGV,
            core_dumped: true,
        };
        assert_eq!(exit_status(dumped), "killed by SIGSEGV (core dumped)");
    }

    #[test]
    fn changed_files_name_at_most_two() {
        let paths = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(changed_files(&paths(&["app.py"])), "app.py changed");
        assert_eq!(
            changed_files(&paths(&["a.py", "b.py"])),
            "2 files changed (a.py, b.py)"
        );
        assert_eq!(
            changed_files(&paths(&["app/views.py", "app/urls.py", "app/models.py"])),
            "3 files changed (app/views.py, app/urls.py, ...)"
        );
    }

    #[test]
    fn causes_read_as_before() {
        let st = state();
        let exited = Why::Exited {
            status: ExitStatus::Exited(1),
            after: Duration::from_millis(10),
        };
        let cases = [
            (Why::Autostart, "autostart", "autostart"),
            (
                Why::Requested(Action::Restart),
                "supctl restart",
                "supctl_restart",
            ),
            (Why::NeededBy(0), "needed by web", "needed_by"),
            (
                Why::Restarted(KILLED),
                "restarted: killed by SIGKILL",
                "restarted",
            ),
            (exited.clone(), "exited with 1 after 10ms", "exited"),
            (
                Why::Retry(Box::new(exited)),
                "retry after exited with 1 after 10ms",
                "retry",
            ),
            (
                Why::Unhealthy {
                    detail: "connection refused".into(),
                    failures: 3,
                },
                "unhealthy: connection refused (3 checks failed in a row)",
                "unhealthy",
            ),
            (
                Why::SupdShuttingDown,
                "supd is shutting down",
                "supd_shutting_down",
            ),
        ];
        for (w, text, kind) in cases {
            assert_eq!((why(&st, &w).as_str(), why_kind(&w)), (text, kind));
        }
    }

    #[test]
    fn a_stop_logs_the_cause_and_the_event_does_not_repeat_the_state() {
        let st = state();
        let change = Change::Stopping {
            cause: Why::Shutdown,
            signal: Signal::SIGTERM,
        };
        assert_eq!(
            log_line(&st, &change).as_deref(),
            Some("stopping (shutdown): sent SIGTERM")
        );
        assert_eq!(
            event_reason(&st, &change).as_deref(),
            Some("shutdown: sent SIGTERM")
        );
        assert_eq!(change_kind(&change), Some("shutdown"));
        let exited = Change::Exited {
            status: KILLED,
            after: Duration::from_secs(2),
        };
        assert_eq!(log_line(&st, &exited), None, "said by what follows");
        assert_eq!(
            event_reason(&st, &exited).as_deref(),
            Some("killed by SIGKILL after 2s")
        );
    }

    #[test]
    fn backing_off_says_the_delay_and_the_attempt() {
        let st = state();
        let change = Change::BackingOff {
            failure: Why::Exited {
                status: ExitStatus::Exited(1),
                after: Duration::from_millis(10),
            },
            delay: Duration::from_millis(200),
            failures: 2,
            limit: Some(3),
        };
        assert_eq!(
            log_line(&st, &change).as_deref(),
            Some("exited with 1 after 10ms; retrying in 200ms (failed start 2 of 3)")
        );
    }

    #[test]
    fn a_failed_start_during_shutdown_says_it_is_not_retried() {
        let st = state();
        let change = Change::NotRetriedShuttingDown {
            failure: Why::SpawnFailed("cannot fork: Resource temporarily unavailable".into()),
        };
        let said = "cannot fork: Resource temporarily unavailable; not retried, as supd is \
                    shutting down";
        assert_eq!(log_line(&st, &change).as_deref(), Some(said));
        assert_eq!(event_reason(&st, &change).as_deref(), Some(said));
        assert_eq!(change_kind(&change), Some("spawn_failed"));
    }

    #[test]
    fn status_reasons_say_why_a_program_is_where_it_is() {
        let st = state();
        let stopped = Life::Stopped {
            why: Some(Halt::Stopped {
                by: Why::Requested(Action::Stop),
                exit: Some(ExitStatus::Exited(0)),
            }),
        };
        assert_eq!(
            reason(&st, &stopped).as_deref(),
            Some("stopped (supctl stop): exited with 0")
        );
        assert_eq!(reason_kind(&stopped), Some("supctl_stop"));
        let blocked = Life::Stopped {
            why: Some(Halt::Blocked {
                dep: 1,
                failed: true,
            }),
        };
        assert_eq!(
            reason(&st, &blocked).as_deref(),
            Some("not started: dependency migrate failed")
        );
        assert_eq!(reason_kind(&blocked), Some("dependency_failed"));
        let waiting = Life::Waiting { on: vec![1, 0] };
        assert_eq!(
            reason(&st, &waiting).as_deref(),
            Some("waiting for migrate, web")
        );
        assert_eq!(reason(&st, &Life::Stopped { why: None }), None);
    }

    #[test]
    fn answers_read_as_before() {
        let st = state();
        let answer = |kind| outcome(&st, &Outcome { prog: 0, kind });
        assert_eq!(
            answer(OutcomeKind::FailedToStart(Why::SpawnFailed(
                "No such file or directory".into()
            ))),
            "failed to start: No such file or directory (see supctl logs web)"
        );
        assert_eq!(
            answer(OutcomeKind::WillNotComeUp(Life::Stopped {
                why: Some(Halt::Cancelled {
                    by: Why::Requested(Action::Stop)
                })
            })),
            "will not come up: it is stopped (stopped: supctl stop)"
        );
        assert_eq!(
            answer(OutcomeKind::NotUpYet(Life::Waiting { on: vec![1] })),
            "not up yet: starting (waiting for migrate)"
        );
        assert_eq!(
            answer(OutcomeKind::NotRunning(supd_core::ProgramState::Stopped)),
            "not running (stopped)"
        );
        assert_eq!(
            answer(OutcomeKind::SignalSent {
                signal: Signal::SIGHUP,
                pgid: 42
            }),
            "sent SIGHUP"
        );
    }

    #[test]
    fn health_reads_as_status_shows_it() {
        let mut h = Health::default();
        assert_eq!(health(&h), "not checked yet");
        h.last_failure = Some("connection refused".into());
        assert_eq!(health(&h), "starting: connection refused");
        h.healthy = Some(false);
        h.failures = 2;
        h.last_failure = Some("HTTP 503".into());
        assert_eq!(health(&h), "unhealthy: HTTP 503 (2 in a row)");
        h.healthy = Some(true);
        assert_eq!(health(&h), "healthy");
    }
}
