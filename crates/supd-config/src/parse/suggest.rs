//! "Did you mean ...?": the nearest known name to a misspelt one, by edit distance.

/// The candidate nearest to `word`, when it is near enough to be a plausible typo: at most
/// `max(2, len/3)` single-character edits away, and fewer edits than `word` has characters
/// (so `"db"` does not suggest `"web"`). Ties go to the earlier candidate.
pub(crate) fn nearest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let len = word.chars().count();
    let limit = (len / 3).max(2).min(len.saturating_sub(1));
    let mut best: Option<(usize, &'c str)> = None;
    for &candidate in candidates {
        let distance = edit_distance(word, candidate);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// What one table says about a key it does not know: a hint for the names people bring
/// from elsewhere (supervisord, mostly), as `(key, hint)`.
pub(super) type Hints = &'static [(&'static str, &'static str)];

/// The message for an unknown `key` of a table whose keys are `known`: one short sentence.
///
/// A key another tool spells differently gets its supd equivalent from `hints`
/// (`unknown key "autorestart" (supd's key is "restart")`); else a plausible typo gets the
/// nearest known key (`unknown key "comand" (did you mean "command"?)`); else a small table
/// lists its keys, and a large one says nothing more.
pub(super) fn unknown_key_message(key: &str, known: &[&str], hints: Hints) -> String {
    if let Some((_, hint)) = hints.iter().find(|(k, _)| *k == key) {
        return format!("unknown key {key:?} ({hint})");
    }
    match nearest(key, known) {
        Some(s) => format!("unknown key {key:?} (did you mean {s:?}?)"),
        None if known.len() <= LISTED_KEYS => {
            format!("unknown key {key:?} (known keys: {})", known.join(", "))
        }
        None => format!("unknown key {key:?}"),
    }
}

/// Tables with at most this many keys name them all in an unknown-key message.
const LISTED_KEYS: usize = 8;

/// The top level: supervisord's sections.
pub(super) const TOP_HINTS: Hints = &[
    ("supervisord", "supd's own settings go in [supd]"),
    (
        "unix_http_server",
        "the control socket is set in [supd]: socket, socket_mode, socket_group",
    ),
    (
        "supervisorctl",
        "not needed: supctl finds the socket from [supd] socket",
    ),
    (
        "rpcinterface",
        "not needed: supd has no RPC interface to declare",
    ),
    ("include", "write include = [\"conf.d/*.toml\"] in [supd]"),
];

/// `[supd]`: supervisord's `[supervisord]` and `[unix_http_server]` keys.
pub(super) const SUPD_HINTS: Hints = &[
    ("file", "supd's key is \"socket\""),
    ("chmod", "supd's key is \"socket_mode\""),
    ("chown", "supd's key is \"socket_group\""),
    ("nodaemon", "not needed: supd always runs in the foreground"),
    (
        "logfile",
        "not needed: supd writes its own messages to its standard error",
    ),
    (
        "pidfile",
        "not needed: supctl reaches supd through its socket",
    ),
    (
        "user",
        "supd runs as the user that starts it; set user in each [program.NAME]",
    ),
];

/// `[program.NAME]`: supervisord's `[program:x]` keys (see supd-import's conversion for
/// the details of each).
pub(super) const PROGRAM_HINTS: Hints = &[
    ("autorestart", "supd's key is \"restart\""),
    ("numprocs", "supd's key is \"instances\""),
    (
        "numprocs_start",
        "supd numbers instances from 0, as NAME:0, NAME:1 ...",
    ),
    (
        "process_name",
        "supd names instances NAME:0, NAME:1 ...: use instances = N, and ${INSTANCE} in values",
    ),
    ("startsecs", "supd's key is \"min_uptime\""),
    ("startretries", "supd's key is \"start_retries\""),
    ("stopwaitsecs", "supd's key is \"stop_timeout\""),
    ("stopsignal", "supd's key is \"stop_signal\""),
    ("exitcodes", "supd's key is \"exit_codes\""),
    (
        "stopasgroup",
        "not needed: supd always stops the whole process group",
    ),
    (
        "killasgroup",
        "not needed: supd always kills the whole process group",
    ),
    (
        "priority",
        "supd orders programs with depends_on = [\"...\"]",
    ),
    ("redirect_stderr", "in supd: stderr = \"stdout\""),
    ("stdout_logfile", "supd's key is \"stdout\""),
    ("stderr_logfile", "supd's key is \"stderr\""),
    ("stdout_logfile_maxbytes", "supd's key is \"log_max_size\""),
    ("stderr_logfile_maxbytes", "supd's key is \"log_max_size\""),
    ("stdout_logfile_backups", "supd's key is \"log_backups\""),
    ("stderr_logfile_backups", "supd's key is \"log_backups\""),
    (
        "stdout_capture_maxbytes",
        "not supported: supd has no PROCESS_COMMUNICATION events",
    ),
    (
        "stderr_capture_maxbytes",
        "not supported: supd has no PROCESS_COMMUNICATION events",
    ),
    ("stdout_events_enabled", "supd's key is \"stdout_events\""),
    ("stderr_events_enabled", "supd's key is \"stderr_events\""),
    (
        "stdout_syslog",
        "not supported: supd does not write to syslog",
    ),
    (
        "stderr_syslog",
        "not supported: supd does not write to syslog",
    ),
    (
        "serverurl",
        "not needed: supd sets SUPERVISOR_SERVER_URL from [supd.http] listen",
    ),
    ("cwd", "supd's key is \"directory\""),
    ("working_dir", "supd's key is \"directory\""),
    ("workdir", "supd's key is \"directory\""),
    ("env", "supd's key is \"environment\""),
];

/// `[eventlistener.NAME]`: the keys its protocol takes over, and supervisord's
/// `[eventlistener:x]` keys.
pub(super) const LISTENER_HINTS: Hints = &[
    (
        "stdout",
        "an event listener's stdout carries the listener protocol and is not logged",
    ),
    (
        "stdin",
        "an event listener's stdin carries the listener protocol",
    ),
    (
        "stdout_events",
        "an event listener's stdout carries the listener protocol",
    ),
    (
        "result_handler",
        "not supported: supd reads OK and FAIL results as supervisord's default handler",
    ),
    ("autorestart", "supd's key is \"restart\""),
    ("numprocs", "supd's key is \"instances\""),
    ("startsecs", "supd's key is \"min_uptime\""),
    ("startretries", "supd's key is \"start_retries\""),
    ("stopwaitsecs", "supd's key is \"stop_timeout\""),
    ("stopsignal", "supd's key is \"stop_signal\""),
    ("exitcodes", "supd's key is \"exit_codes\""),
    ("stderr_logfile", "supd's key is \"stderr\""),
    ("stderr_events_enabled", "supd's key is \"stderr_events\""),
    (
        "redirect_stderr",
        "an event listener's stdout carries the listener protocol: stderr cannot go there",
    ),
];

/// Number of single-character insertions, deletions, substitutions and swaps of two
/// neighbours from `a` to `b` (the optimal string alignment distance): `wbe` is one edit
/// from `web`, as a typist sees it.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Rows i-2, i-1 and i of the distance table.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 0..a.len() {
        current[0] = i + 1;
        for j in 0..b.len() {
            let substitution = previous[j] + usize::from(a[i] != b[j]);
            let mut best = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                best = best.min(before[j - 1] + 1);
            }
            current[j + 1] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("comand", "command"), 1);
        assert_eq!(edit_distance("restart_dealy", "restart_delay"), 1);
        assert_eq!(edit_distance("wbe", "web"), 1);
        assert_eq!(edit_distance("wbe", "db"), 2);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("üx", "ux"), 1);
    }

    #[test]
    fn nearest_suggests_only_plausible_typos() {
        let keys = ["command", "restart", "restart_delay", "max_restart_delay"];
        assert_eq!(nearest("comand", &keys), Some("command"));
        assert_eq!(nearest("restart_dealy", &keys), Some("restart_delay"));
        assert_eq!(nearest("restrat", &keys), Some("restart"));
        assert_eq!(nearest("zzz", &keys), None);
        assert_eq!(nearest("programs", &["supd", "program"]), Some("program"));
        assert_eq!(nearest("db", &["web"]), None);
        assert_eq!(nearest("", &["a"]), None);
        assert_eq!(nearest("wb", &["web"]), Some("web"));
    }

    #[test]
    fn messages_give_a_hint_then_a_typo_then_small_lists_only() {
        assert_eq!(
            unknown_key_message("xyz", &["supd", "program"], &[]),
            r#"unknown key "xyz" (known keys: supd, program)"#
        );
        assert_eq!(
            unknown_key_message("comand", &["command"], &[]),
            r#"unknown key "comand" (did you mean "command"?)"#
        );
        let many = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"];
        assert_eq!(
            unknown_key_message("frobnicate", &many, &[]),
            r#"unknown key "frobnicate""#
        );
        // "autostart" is nearer by spelling, and wrong.
        assert_eq!(
            unknown_key_message(
                "autorestart",
                super::super::program::PROGRAM_KEYS,
                PROGRAM_HINTS
            ),
            r#"unknown key "autorestart" (supd's key is "restart")"#
        );
    }

    #[test]
    fn hints_name_keys_that_exist_and_never_a_known_one() {
        use super::super::program::{LISTENER_KEYS, PROGRAM_KEYS};
        use super::super::{SUPD_KEYS, TOP_KEYS};
        for (hints, known) in [
            (TOP_HINTS, TOP_KEYS),
            (SUPD_HINTS, SUPD_KEYS),
            (PROGRAM_HINTS, PROGRAM_KEYS),
            (LISTENER_HINTS, LISTENER_KEYS.as_slice()),
        ] {
            for (key, hint) in hints {
                assert!(!known.contains(key), "{key} is a known key");
                if let Some(rest) = hint.strip_prefix("supd's key is \"") {
                    let named = rest.trim_end_matches('"');
                    assert!(known.contains(&named), "{key}: {named} is not a key");
                }
            }
        }
    }
}
