//! One `[program.NAME]` table; its `watch` and `health` sub-tables are read by
//! [`super::watch`] and [`super::health`].
//!
//! Each reader starts from the defaults of [`ProgramSpec::new`] and overwrites what the table
//! sets correctly; every problem goes to the [`Walker`]. A spec read with problems is thrown
//! away by the caller.
//!
//! `env_file`, `profiles` and `instances` are read by the caller ([`super`] and
//! [`super::select`]) before this table, since they change how it is read (which variables
//! exist, whether problems matter, what `${INSTANCE}` is).

use std::time::Duration;

use toml::de::DeValue;

use super::command::argv;
use super::graph::Node;
use super::select::Universe;
use super::walker::SocketVars;
use super::walker::{
    Field, IdError, Section, Walker, found, integer_text, out_of_range_id, parse_id_ref, resolve,
    set,
};
use super::{health, sockets, suggest, watch};
use crate::event_types;
use crate::spec::{
    ListenerSpec, OutputTarget, ProgramSpec, Readiness, RestartMode, RestartPolicy, StdinMode,
    UserSpec,
};

/// The keys of `[program.NAME]`.
pub const PROGRAM_KEYS: &[&str] = &[
    "command",
    "directory",
    "environment",
    "user",
    "umask",
    "autostart",
    "restart",
    "restart_mode",
    "exit_codes",
    "min_uptime",
    "restart_delay",
    "max_restart_delay",
    "start_retries",
    "stop_signal",
    "stop_timeout",
    "depends_on",
    "oneshot",
    "critical",
    "ready",
    "stdout",
    "stderr",
    "log_max_size",
    "log_backups",
    "watch",
    "health",
    "env_file",
    "profiles",
    "instances",
    "stdin",
    "stdout_events",
    "stderr_events",
    "sockets",
];

/// The program keys an `[eventlistener.NAME]` does not take: those its protocol takes over
/// (stdin, stdout) or that make no sense for it (readiness, oneshot, watching).
const NOT_FOR_LISTENERS: &[&str] = &[
    "oneshot",
    "restart_mode",
    "ready",
    "stdout",
    "watch",
    "health",
    "stdin",
    "stdout_events",
    "sockets",
];

/// The keys of `[eventlistener.NAME]`: a program's, less [`NOT_FOR_LISTENERS`], plus its
/// own.
pub static LISTENER_KEYS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    PROGRAM_KEYS
        .iter()
        .copied()
        .filter(|k| !NOT_FOR_LISTENERS.contains(k))
        .chain(["events", "buffer_size"])
        .collect()
});

/// Events a listener pool keeps while none of its processes is ready, by default
/// (supervisord's `buffer_size`).
pub const DEFAULT_BUFFER_SIZE: usize = 10;

/// A program as read, with its `depends_on` edges for the cycle search.
pub(super) struct Program {
    pub spec: ProgramSpec,
    pub node: Node,
}

/// Reads `[program.NAME]` (or `[eventlistener.NAME]` when `listener`); `programs` are the
/// programs of every file (for `depends_on`). The spec is named `NAME`; the caller renames
/// instances.
pub(super) fn program(
    w: &mut Walker,
    name: &str,
    sec: &Section,
    programs: &Universe,
    listener: bool,
) -> Program {
    let keys = if listener {
        LISTENER_KEYS.as_slice()
    } else {
        PROGRAM_KEYS
    };
    let hints = if listener {
        suggest::LISTENER_HINTS
    } else {
        suggest::PROGRAM_HINTS
    };
    w.check_keys(sec, keys, hints);
    let mut spec = ProgramSpec::new(name, Vec::new());
    // Before `command` and `environment`, which may name the sockets' descriptors.
    w.vars.sockets = SocketVars::NotHere;
    let socket_vars = match sec.get("sockets") {
        None => SocketVars::Program(Vec::new()),
        Some(f) => match sockets::sockets(w, &f, name) {
            Some(read) => {
                spec.sockets = read;
                SocketVars::Program(spec.sockets.iter().map(|s| s.name.clone()).collect())
            }
            None => SocketVars::Unknown,
        },
    };
    read_process(w, sec, &mut spec, socket_vars);
    read_lifecycle(w, sec, &mut spec);
    read_delays(w, sec, &mut spec);
    read_outputs(w, sec, &mut spec);
    let node = read_depends_on(w, sec, programs, &mut spec);
    let base = spec.directory.clone().unwrap_or_else(|| w.base.clone());
    spec.watch = sec.get("watch").and_then(|f| watch::watch(w, f, &base));
    spec.health = sec.get("health").and_then(|f| health::health(w, f));
    if listener {
        read_listener(w, sec, &mut spec);
    }
    w.vars.sockets = SocketVars::Outside;
    Program { spec, node }
}

/// What makes an event listener: `events`, `buffer_size`; its stdin and stdout are the
/// protocol's.
fn read_listener(w: &mut Walker, sec: &Section, spec: &mut ProgramSpec) {
    let mut events = Vec::new();
    match sec.get("events") {
        None => w.error(sec.at, &sec.path, "missing required key \"events\""),
        Some(f) => {
            let items = w
                .string_items(
                    &f,
                    "an array of event types like [\"PROCESS_STATE_EXITED\"]",
                )
                .unwrap_or_default();
            for (name, at) in items {
                match event_types::select(&name) {
                    Some(types) => events.extend(types),
                    None => {
                        let names = event_types::names();
                        let message = match suggest::nearest(&name, &names) {
                            Some(near) => {
                                format!("unknown event type {name:?} (did you mean {near:?}?)")
                            }
                            None => format!(
                                "unknown event type {name:?} (supervisord's types are \
                                 PROCESS_STATE, PROCESS_STATE_EXITED, PROCESS_LOG_STDOUT, TICK_60, \
                                 SUPERVISOR_STATE_CHANGE, PROCESS_GROUP and their kin)"
                            ),
                        };
                        w.error(at, &f.key, message);
                    }
                }
            }
        }
    }
    events.sort();
    events.dedup();
    let buffer_size = sec
        .get("buffer_size")
        .and_then(|f| w.integer(&f, 0..=1_000_000, "a number of events from 0 to 1000000"))
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(DEFAULT_BUFFER_SIZE);
    if spec.stderr == OutputTarget::Stdout
        && let Some(f) = sec.get("stderr")
    {
        w.bad(
            &f,
            "an event listener's stdout carries the listener protocol: its stderr cannot go there",
        );
    }
    spec.stdin = StdinMode::Pipe;
    spec.stdout = OutputTarget::Null;
    spec.listener = Some(ListenerSpec {
        pool: spec.name.clone(),
        events,
        buffer_size,
    });
}

/// What the process is: command, directory, environment, user, umask. `command` and
/// `environment` are read with `socket_vars` (`${SOCKET_FD_<NAME>}`, `${LISTEN_FD}`).
fn read_process(w: &mut Walker, sec: &Section, spec: &mut ProgramSpec, socket_vars: SocketVars) {
    w.vars.sockets = socket_vars;
    match sec.get("command") {
        Some(f) => set(&mut spec.command, argv(w, &f)),
        None => w.error(sec.at, &sec.path, "missing required key \"command\""),
    }
    if let Some(f) = sec.get("environment") {
        spec.environment = environment(w, f);
    }
    w.vars.sockets = SocketVars::NotHere;
    spec.directory = sec.get("directory").and_then(|f| w.path(&f));
    spec.user = sec.get("user").and_then(|f| user(w, &f));
    spec.umask = sec.get("umask").and_then(|f| w.mode(&f));
}

/// How the program is run and restarted (all but the delays).
fn read_lifecycle(w: &mut Walker, sec: &Section, spec: &mut ProgramSpec) {
    const RESTART: &[(&str, RestartPolicy)] = &[
        ("always", RestartPolicy::Always),
        ("on-failure", RestartPolicy::OnFailure),
        ("never", RestartPolicy::Never),
    ];
    set(
        &mut spec.autostart,
        sec.get("autostart").and_then(|f| w.bool(&f)),
    );
    set(
        &mut spec.restart,
        sec.get("restart").and_then(|f| w.choice(&f, RESTART)),
    );
    const RESTART_MODE: &[(&str, RestartMode)] = &[
        ("stop-first", RestartMode::StopFirst),
        ("start-first", RestartMode::StartFirst),
    ];
    set(
        &mut spec.restart_mode,
        sec.get("restart_mode")
            .and_then(|f| w.choice(&f, RESTART_MODE)),
    );
    set(
        &mut spec.exit_codes,
        sec.get("exit_codes").and_then(|f| exit_codes(w, &f)),
    );
    set(
        &mut spec.min_uptime,
        sec.get("min_uptime").and_then(|f| w.duration(&f)),
    );
    spec.start_retries = sec.get("start_retries").and_then(|f| {
        let n = w.integer(&f, 0..=i64::from(u32::MAX), "a non-negative integer")?;
        u32::try_from(n).ok()
    });
    set(
        &mut spec.stop_signal,
        sec.get("stop_signal").and_then(|f| w.signal(&f)),
    );
    set(
        &mut spec.stop_timeout,
        sec.get("stop_timeout").and_then(|f| w.duration(&f)),
    );
    set(
        &mut spec.oneshot,
        sec.get("oneshot").and_then(|f| w.bool(&f)),
    );
    set(
        &mut spec.critical,
        sec.get("critical").and_then(|f| w.bool(&f)),
    );
    if spec.oneshot
        && spec.restart_mode == RestartMode::StartFirst
        && let Some(f) = sec.get("restart_mode")
    {
        w.bad(
            &f,
            "a oneshot runs to completion, nothing serves while it restarts: \
             restart_mode = \"start-first\" is for long-running programs",
        );
    }
    const READY: &[(&str, Readiness)] = &[
        ("started", Readiness::Started),
        ("notify", Readiness::Notify),
    ];
    set(
        &mut spec.ready,
        sec.get("ready").and_then(|f| w.choice(&f, READY)),
    );
}

/// `restart_delay` and `max_restart_delay`, which must not contradict each other.
fn read_delays(w: &mut Walker, sec: &Section, spec: &mut ProgramSpec) {
    let delay_field = sec.get("restart_delay");
    let max_field = sec.get("max_restart_delay");
    let delay = delay_field.as_ref().map(|f| w.duration(f));
    let max = max_field.as_ref().map(|f| w.duration(f));
    if matches!(delay, Some(None)) || matches!(max, Some(None)) {
        return; // already reported
    }
    set(&mut spec.restart_delay, delay.flatten());
    set(&mut spec.max_restart_delay, max.flatten());
    if spec.max_restart_delay >= spec.restart_delay {
        return;
    }
    let (delay_text, max_text) = (show(spec.restart_delay), show(spec.max_restart_delay));
    if let Some(f) = max_field {
        let message = format!(
            "max_restart_delay ({max_text}) must not be shorter than restart_delay ({delay_text})"
        );
        w.bad(&f, message);
    } else if let Some(f) = delay_field {
        let message = format!(
            "restart_delay ({delay_text}) is longer than the default max_restart_delay \
             ({max_text}); set max_restart_delay too"
        );
        w.bad(&f, message);
    }
}

fn show(d: Duration) -> String {
    crate::duration::format(d)
}

fn read_outputs(w: &mut Walker, sec: &Section, spec: &mut ProgramSpec) {
    const STDIN: &[(&str, StdinMode)] = &[("null", StdinMode::Null), ("pipe", StdinMode::Pipe)];
    set(
        &mut spec.stdin,
        sec.get("stdin").and_then(|f| w.choice(&f, STDIN)),
    );
    set(
        &mut spec.stdout_events,
        sec.get("stdout_events").and_then(|f| w.bool(&f)),
    );
    set(
        &mut spec.stderr_events,
        sec.get("stderr_events").and_then(|f| w.bool(&f)),
    );
    set(
        &mut spec.stdout,
        sec.get("stdout").and_then(|f| output(w, &f, false)),
    );
    set(
        &mut spec.stderr,
        sec.get("stderr").and_then(|f| output(w, &f, true)),
    );
    set(
        &mut spec.log_max_size,
        sec.get("log_max_size").and_then(|f| w.size(&f)),
    );
    set(
        &mut spec.log_backups,
        sec.get("log_backups").and_then(|f| {
            let n = w.integer(&f, 0..=1000, "a number of backups from 0 to 1000")?;
            u32::try_from(n).ok()
        }),
    );
}

/// `"console"`, `"null"`, a file path, or (for stderr) `"stdout"`.
fn output(w: &mut Walker, field: &Field, is_stderr: bool) -> Option<OutputTarget> {
    let expected = if is_stderr {
        "\"console\", \"null\", \"stdout\" or a file path"
    } else {
        "\"console\", \"null\" or a file path"
    };
    let s = w.nonempty_string(field, expected)?;
    Some(match s.as_str() {
        "console" => OutputTarget::Console,
        "null" => OutputTarget::Null,
        "stdout" if is_stderr => OutputTarget::Stdout,
        _ => OutputTarget::File(resolve(&w.base, &s)),
    })
}

/// Reads `depends_on`: each name must be another program (of any file), active when this
/// one is. A program with instances stands for all of them.
fn read_depends_on(
    w: &mut Walker,
    sec: &Section,
    programs: &Universe,
    spec: &mut ProgramSpec,
) -> Node {
    let mut node = Node {
        name: spec.name.clone(),
        key: sec.child("depends_on"),
        file: 0,
        deps: Vec::new(),
    };
    let Some(field) = sec.get("depends_on") else {
        return node;
    };
    let items = w
        .string_items(&field, "an array of program names like [\"migrate\"]")
        .unwrap_or_default();
    for (dep, at) in items {
        if dep == spec.name {
            w.error(at, &field.key, "a program cannot depend on itself");
            continue;
        }
        match programs.dependency(&spec.name, &dep) {
            Err(message) => w.error(at, &field.key, message),
            Ok(run_names) => {
                if !node.deps.iter().any(|(d, _)| *d == dep) {
                    node.deps.push((dep, at));
                    spec.depends_on.extend(run_names);
                }
            }
        }
    }
    node
}

/// `environment`: a table of names to strings (integers and booleans are taken as text).
fn environment(w: &mut Walker, field: Field) -> Vec<(String, String)> {
    let Some(sec) = w.table(field, "a table of variables like { HOME = \"/home/app\" }") else {
        return Vec::new();
    };
    let mut vars = Vec::new();
    for (key, value) in sec.table.iter() {
        let name: &str = key.get_ref();
        let field = Field {
            key: sec.child(name),
            value,
        };
        if name.is_empty() || name.contains(['=', '\0']) {
            let message = format!(
                "invalid environment variable name {name:?} (it must be non-empty and contain no \"=\")"
            );
            w.error(key.span().start, &field.key, message);
            continue;
        }
        let text = match value.get_ref() {
            DeValue::String(_) => w.string(&field),
            DeValue::Integer(i) => Some(integer_text(i)),
            DeValue::Boolean(b) => Some(b.to_string()),
            other => {
                w.bad(&field, format!("expected a string, found {}", found(other)));
                None
            }
        };
        if let Some(text) = text {
            vars.push((name.to_string(), text));
        }
    }
    vars
}

/// `user`: `"name"`, `"uid"`, `"name:group"` or `"uid:gid"`.
fn user(w: &mut Walker, field: &Field) -> Option<UserSpec> {
    let s = w.string(field)?;
    match parse_user(&s) {
        Ok(spec) => Some(spec),
        Err(message) => {
            w.bad(field, message);
            None
        }
    }
}

pub(crate) fn parse_user(s: &str) -> Result<UserSpec, String> {
    let (user, group) = match s.split_once(':') {
        Some((user, group)) => (user, Some(group)),
        None => (s, None),
    };
    let id = |part: &str| {
        parse_id_ref(part).map_err(|e| match e {
            IdError::OutOfRange => out_of_range_id(part),
            IdError::Malformed => {
                format!("expected \"name\", \"uid\", \"name:group\" or \"uid:gid\", found {s:?}")
            }
        })
    };
    Ok(UserSpec {
        user: id(user)?,
        group: group.map(id).transpose()?,
    })
}

/// `exit_codes`: an array of integers from 0 to 255.
fn exit_codes(w: &mut Walker, field: &Field) -> Option<Vec<i32>> {
    let DeValue::Array(items) = field.value.get_ref() else {
        let message = format!(
            "expected an array of exit codes like [0, 2], found {}",
            found(field.value.get_ref())
        );
        w.bad(field, message);
        return None;
    };
    let mut codes = Vec::with_capacity(items.len());
    let mut ok = true;
    for value in items.iter() {
        let item = Field {
            key: field.key.clone(),
            value,
        };
        match w.integer(&item, 0..=255, "an exit code from 0 to 255") {
            Some(code) => codes.extend(i32::try_from(code).ok()),
            None => ok = false,
        }
    }
    ok.then_some(codes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::IdRef;

    #[test]
    fn users() {
        let name = |s: &str| IdRef::Name(s.to_string());
        assert_eq!(
            parse_user("app"),
            Ok(UserSpec {
                user: name("app"),
                group: None
            })
        );
        assert_eq!(
            parse_user("1000:1001"),
            Ok(UserSpec {
                user: IdRef::Id(1000),
                group: Some(IdRef::Id(1001))
            })
        );
        assert_eq!(
            parse_user("app:www-data"),
            Ok(UserSpec {
                user: name("app"),
                group: Some(name("www-data"))
            })
        );
        for bad in ["", ":", "app:", ":grp", "a:b:c", "a b"] {
            assert!(parse_user(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(
            parse_user("1:99999999999"),
            Err("id 99999999999 is out of range (at most 4294967294)".to_string())
        );
    }
}
