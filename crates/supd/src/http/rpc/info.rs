//! What supervisord says about a program: `getProcessInfo`'s struct with its
//! `description` (`pid 12, uptime 0:01:02`, `Dec 07 01:02 PM`, `Not started`), and
//! `getAllConfigInfo`'s.

use supd_config::{OutputTarget, RestartPolicy};
use supd_proto::ProgramState;

use super::super::xmlrpc::Value;
use super::Proc;
use crate::supervisor::{state_code, state_name};

/// `getProcessInfo`'s struct.
pub(super) fn process_info(p: &Proc, now: i64) -> Value {
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
pub(super) fn describe(p: &Proc, start: i64, stop: i64, now: i64, spawnerr: &str) -> String {
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
pub(super) fn uptime(secs: i64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let hms = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        n => format!("{n} days, {hms}"),
    }
}

/// `strftime('%b %d %I:%M %p')` of local time.
pub(super) fn local_stamp(secs: i64) -> String {
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

pub(super) fn log_path(target: &OutputTarget) -> String {
    match target {
        OutputTarget::File(path) => path.display().to_string(),
        _ => String::new(),
    }
}

/// `getAllConfigInfo`'s struct (supervisord's `None` is `"none"`, as it sends it).
pub(super) fn config_info(p: &Proc) -> Value {
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
pub(super) fn command_line(argv: &[String]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn uptimes_read_like_pythons_timedelta() {
        assert_eq!(uptime(0), "0:00:00");
        assert_eq!(uptime(62), "0:01:02");
        assert_eq!(uptime(86_400 + 3661), "1 day, 1:01:01");
        assert_eq!(uptime(3 * 86_400), "3 days, 0:00:00");
    }

    #[test]
    pub(super) fn command_lines_quote_what_needs_it() {
        let argv = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(command_line(&argv(&["sleep", "10"])), "sleep 10");
        assert_eq!(
            command_line(&argv(&["sh", "-c", "echo 'a b'"])),
            r"sh -c 'echo '\''a b'\'''"
        );
    }
}
