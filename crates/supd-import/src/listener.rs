//! `[eventlistener:x]` sections: recognising the "stop supervisord when a program dies"
//! listener, and the keys a listener has beyond a program's.
//!
//! Docker images often run a listener on `PROCESS_STATE_FATAL` (or `_EXITED`) whose only
//! job is to stop supervisord, so the container exits: a script that runs
//! `kill -SIGQUIT $(cat supervisord.pid)`, `kill -s SIGTERM $PPID`, `supervisorctl
//! shutdown`, `pkill supervisord`, `os.kill(os.getppid(), ...)`. supd does that itself for
//! `critical = true` programs, so such a listener becomes `critical` on the programs it
//! watched: those its script or arguments name, else every program. The script is read
//! when it can be (inline in `command`, or the file its first word names, through the
//! caller's reader); when it cannot, a script named like one (`stop-supervisor`,
//! `kill_supervisord.py`, `supervisord-watchdog`) is taken for one, and the note says so.

/// The events a stopping listener reacts to (a parent type selects its subtypes).
const DEATH_EVENTS: &[&str] = &[
    "PROCESS_STATE",
    "PROCESS_STATE_FATAL",
    "PROCESS_STATE_EXITED",
    "PROCESS_STATE_STOPPED",
];

/// A listener that stops supervisord.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stopper {
    /// The supervisord program names its text names (empty: it watches every program).
    pub watched: Vec<String>,
    /// How it was recognised, for the note.
    pub how: String,
}

/// The `events` value as names.
pub(crate) fn events(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

/// The file a listener's command runs: its first word, or the first after an interpreter
/// (`sh`, `bash`, `python3 -u`, ...), when it is not inline code.
pub(crate) fn script_path(argv: &[String]) -> Option<&str> {
    let mut words = argv.iter().map(String::as_str);
    let first = words.next()?;
    let base = first.rsplit('/').next().unwrap_or(first);
    let interpreter = [
        "sh", "bash", "dash", "ash", "zsh", "php", "perl", "ruby", "node",
    ]
    .contains(&base)
        || base.starts_with("python");
    if !interpreter {
        return Some(first);
    }
    for word in words {
        if word == "-c" {
            return None;
        }
        if !word.starts_with('-') {
            return Some(word);
        }
    }
    None
}

/// Whether `text` (a command line or a script) stops supervisord.
fn stops_supervisord(text: &str) -> Option<&'static str> {
    let has = |s: &str| text.contains(s);
    let kills = has("kill") || has("signal");
    if kills && (has("supervisord.pid") || has("supervisor.pid")) {
        return Some("kills the pid of supervisord.pid");
    }
    if kills && (has("$PPID") || has("${PPID}") || has("getppid()")) {
        return Some("kills its parent, supervisord");
    }
    if (has("pkill") || has("killall")) && has("supervisord") {
        return Some("kills supervisord by name");
    }
    if has("supervisorctl") && has(" shutdown") {
        return Some("runs `supervisorctl shutdown`");
    }
    if has("supervisor.shutdown()") {
        return Some("calls supervisor.shutdown() over XML-RPC");
    }
    if has("os.kill(1,") || has("kill -SIGTERM 1") || has("kill -TERM 1") {
        return Some("kills PID 1, supervisord in a container");
    }
    None
}

/// A script name that says it stops supervisord.
fn named_like_a_stopper(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    base.contains("supervisor")
        && [
            "kill", "stop", "exit", "shutdown", "watchdog", "fatal", "suicide",
        ]
        .iter()
        .any(|w| base.contains(w))
}

/// The listener as a stopper, if it is one: it listens to a process death event and its
/// command (or `script`, the text of the file its command runs) stops supervisord.
/// `programs` are the supervisord program names of the converted files.
pub(crate) fn stopper(
    command: &str,
    argv: &[String],
    events: &[String],
    script: Option<&str>,
    programs: &[&str],
) -> Option<Stopper> {
    if !events.iter().any(|e| DEATH_EVENTS.contains(&e.as_str())) {
        return None;
    }
    let how = match (
        stops_supervisord(command),
        script.and_then(stops_supervisord),
    ) {
        (Some(how), _) => format!("its command {how}"),
        (None, Some(how)) => format!("its script {how}"),
        (None, None) => {
            let path = script_path(argv).filter(|p| script.is_none() && named_like_a_stopper(p))?;
            format!(
                "its script {path} could not be read here, and its name says it stops \
                 supervisord"
            )
        }
    };
    let text = format!("{command}\n{}", script.unwrap_or(""));
    let watched = programs
        .iter()
        .filter(|name| names(&text, name) || argv.iter().skip(1).any(|a| lists(a, name)))
        .map(|name| name.to_string())
        .collect();
    Some(Stopper { watched, how })
}

/// `text` names the program `name`: quoted, or as `processname:NAME`.
fn names(text: &str, name: &str) -> bool {
    [
        format!("\"{name}\""),
        format!("'{name}'"),
        format!("processname:{name}"),
    ]
    .iter()
    .any(|needle| text.contains(needle.as_str()))
}

/// An argument that is `name` or a comma-separated list with it.
fn lists(arg: &str, name: &str) -> bool {
    let value = arg.split_once('=').map_or(arg, |(_, v)| v);
    value.split(',').any(|part| part.trim() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        shell_words::split(s).unwrap()
    }

    fn check(command: &str, events_value: &str, script: Option<&str>) -> Option<Stopper> {
        stopper(
            command,
            &words(command),
            &events(events_value),
            script,
            &["nginx", "php-fpm", "app"],
        )
    }

    #[test]
    fn inline_killers_are_recognised() {
        let inline = "bash -c 'printf \"READY\\n\"; while read line; do kill -SIGQUIT $PPID; done < /dev/stdin'";
        let s = check(inline, "PROCESS_STATE_FATAL", None).unwrap();
        assert!(s.watched.is_empty());
        assert_eq!(s.how, "its command kills its parent, supervisord");
        let pid = "sh -c 'echo READY; read l; kill -SIGQUIT $(cat /var/run/supervisord.pid)'";
        assert!(check(pid, "PROCESS_STATE_EXITED,PROCESS_STATE_FATAL", None).is_some());
        assert!(
            check(pid, "TICK_60", None).is_none(),
            "not on a death event"
        );
    }

    #[test]
    fn scripts_are_read_or_judged_by_name() {
        let script = "#!/bin/sh\nprintf 'READY\\n'\nwhile read line; do\n  kill -s SIGTERM $(cat /run/supervisord.pid)\ndone\n";
        let s = check(
            "/usr/local/bin/listener.sh",
            "PROCESS_STATE_FATAL",
            Some(script),
        )
        .unwrap();
        assert_eq!(s.how, "its script kills the pid of supervisord.pid");
        let python = "if pheaders['processname'] in ['nginx', 'app']:\n    os.kill(os.getppid(), signal.SIGTERM)\n";
        let s = check("python3 /kill.py", "PROCESS_STATE", Some(python)).unwrap();
        assert_eq!(s.watched, ["nginx", "app"]);
        let s = check("/usr/bin/stop-supervisor", "PROCESS_STATE_FATAL", None).unwrap();
        assert!(s.how.contains("its name says"), "{}", s.how);
        assert!(check("crashmail -a -m a@b", "PROCESS_STATE_EXITED", None).is_none());
        assert!(
            check(
                "/x/listener.py",
                "PROCESS_STATE_FATAL",
                Some("print('READY')")
            )
            .is_none(),
            "a readable script that does not stop supervisord"
        );
    }

    #[test]
    fn arguments_name_the_watched_programs() {
        let s = check(
            "/usr/local/bin/kill-supervisord --programs=nginx,php-fpm",
            "PROCESS_STATE_FATAL",
            None,
        )
        .unwrap();
        assert_eq!(s.watched, ["nginx", "php-fpm"]);
    }

    #[test]
    fn script_paths() {
        assert_eq!(script_path(&words("python3 -u /a/l.py x")), Some("/a/l.py"));
        assert_eq!(script_path(&words("/bin/l")), Some("/bin/l"));
        assert_eq!(script_path(&words("bash -c 'kill $PPID'")), None);
    }
}
