//! The converted document and its TOML text.
//!
//! This module owns the output format: a header comment naming the source files, `[supd]`
//! first (with the notes about supervisord-wide settings as comments), then one
//! `[program.NAME]` table per program in file order, each opened by the comments about that
//! program, then its `watch` sub-table (event listeners as `[eventlistener.NAME]` with the keys a
//! listener takes), and last the `[group.NAME]` tables. Every string goes through [`quote`], which produces
//! a valid TOML string for any input (literal `'...'` when that reads better, e.g. Windows
//! paths; basic `"..."` with escapes otherwise). Values are already supd strings here
//! (`${VAR}` interpolation and `$$` escapes in place); this module only quotes them.

use std::fmt::Write as _;

use crate::command::Command;

/// The whole converted file.
#[derive(Debug, Clone, Default)]
pub(crate) struct Doc {
    /// The main file, then included files, as displayed in the header.
    pub sources: Vec<String>,
    pub socket: Option<String>,
    pub socket_mode: Option<String>,
    pub socket_group: Option<String>,
    /// `[supd.http]`, from `[unix_http_server]` and `[inet_http_server]`.
    pub http: Option<HttpOut>,
    /// Comment lines under `[supd]`.
    pub comments: Vec<String>,
    pub items: Vec<Item>,
    /// `[group.NAME]` tables, written after the programs.
    pub groups: Vec<GroupOut>,
}

/// `[supd.http]`: the listen addresses and the credentials they share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HttpOut {
    pub listen: Vec<ListenOut>,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// One `listen` entry: a plain string when only `address` is set, else an inline table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListenOut {
    /// `unix:PATH` or `HOST:PORT`.
    pub address: String,
    pub mode: Option<String>,
    pub owner: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// What makes a program table an `[eventlistener.NAME]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListenerOut {
    pub events: Vec<String>,
    pub buffer_size: Option<i64>,
    /// A pool of this many listeners (each event goes to one of them).
    pub instances: Option<i64>,
}

/// One `[group.NAME]` table.
#[derive(Debug, Clone)]
pub(crate) struct GroupOut {
    pub name: String,
    pub comments: Vec<String>,
    /// supd program names.
    pub programs: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum Item {
    Program(Box<ProgramOut>),
    /// A program that was not converted (an entr watcher turned into a watch section, an
    /// event listener): only comments remain where it was.
    Dropped(Vec<String>),
}

/// A value with an optional trailing comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Commented<T> {
    pub value: T,
    pub comment: Option<&'static str>,
}

impl<T> Commented<T> {
    pub fn plain(value: T) -> Self {
        Commented {
            value,
            comment: None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ProgramOut {
    pub name: String,
    pub comments: Vec<String>,
    pub command: Command,
    pub directory: Option<String>,
    pub user: Option<String>,
    pub environment: Vec<(String, String)>,
    pub umask: Option<String>,
    pub autostart: Option<bool>,
    pub restart: Option<Commented<&'static str>>,
    pub exit_codes: Option<Vec<i32>>,
    pub min_uptime: Option<String>,
    pub start_retries: Option<Commented<u32>>,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<String>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub log_max_size: Option<Commented<String>>,
    pub log_backups: Option<Commented<u32>>,
    pub depends_on: Vec<String>,
    pub critical: Option<bool>,
    /// `stdout_events`, `stderr_events`: output lines as `PROCESS_LOG_*` events.
    pub stdout_events: bool,
    pub stderr_events: bool,
    pub watch: Option<WatchOut>,
    /// `Some`: written as `[eventlistener.NAME]`, with only the keys a listener takes.
    pub listener: Option<ListenerOut>,
}

impl ProgramOut {
    pub fn new(name: String, command: Command) -> Self {
        ProgramOut {
            name,
            comments: Vec::new(),
            command,
            directory: None,
            user: None,
            environment: Vec::new(),
            umask: None,
            autostart: None,
            restart: None,
            exit_codes: None,
            min_uptime: None,
            start_retries: None,
            stop_signal: None,
            stop_timeout: None,
            stdout: None,
            stderr: None,
            log_max_size: None,
            log_backups: None,
            depends_on: Vec::new(),
            critical: None,
            stdout_events: false,
            stderr_events: false,
            watch: None,
            listener: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WatchOut {
    pub paths: Vec<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// `"restart"` or a signal name.
    pub action: String,
}

/// Inline environment tables longer than this become `[program.NAME.environment]` tables.
const INLINE_MAX: usize = 100;

pub(crate) fn render(doc: &Doc) -> String {
    let mut out = String::new();
    let main = doc.sources.first().map(String::as_str).unwrap_or("?");
    line(
        &mut out,
        &format!("# Generated by `supd import` from {}.", comment(main)),
    );
    if doc.sources.len() > 1 {
        let included: Vec<String> = doc.sources[1..].iter().map(|s| comment(s)).collect();
        line(
            &mut out,
            &format!("# Included files merged in: {}.", included.join(", ")),
        );
    }
    line(
        &mut out,
        "# Comments under each table say which supervisord settings changed meaning or have no",
    );
    line(
        &mut out,
        "# supd equivalent. Review them, then run `supd check --config` on this file.",
    );
    out.push('\n');
    out.push_str("[supd]\n");
    comments(&mut out, &doc.comments);
    if let Some(s) = &doc.socket {
        kv(&mut out, "socket", &quote(s));
    }
    if let Some(s) = &doc.socket_mode {
        kv(&mut out, "socket_mode", &quote(s));
    }
    if let Some(s) = &doc.socket_group {
        kv(&mut out, "socket_group", &quote(s));
    }
    if let Some(http) = &doc.http {
        out.push_str("\n[supd.http]\n");
        kv(
            &mut out,
            "listen",
            &array(http.listen.iter().map(listen_entry)),
        );
        if let Some(u) = &http.username {
            kv(&mut out, "username", &quote(u));
        }
        if let Some(p) = &http.password {
            kv(&mut out, "password", &quote(p));
        }
    }
    for item in &doc.items {
        out.push('\n');
        match item {
            Item::Program(p) => program(&mut out, p),
            Item::Dropped(lines) => comments(&mut out, lines),
        }
    }
    for g in &doc.groups {
        let _ = writeln!(out, "\n[group.{}]", key(&g.name));
        comments(&mut out, &g.comments);
        kv(
            &mut out,
            "programs",
            &array(g.programs.iter().map(|p| quote(p))),
        );
    }
    out
}

/// A `listen` entry: `"ADDRESS"`, or `{ address = "ADDRESS", mode = ..., ... }`.
fn listen_entry(l: &ListenOut) -> String {
    let mut fields = vec![("address", &l.address)];
    let optional = [
        ("mode", &l.mode),
        ("owner", &l.owner),
        ("username", &l.username),
        ("password", &l.password),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            fields.push((k, v));
        }
    }
    if fields.len() == 1 {
        return quote(&l.address);
    }
    let inner: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k} = {}", quote(v)))
        .collect();
    format!("{{ {} }}", inner.join(", "))
}

fn program(out: &mut String, p: &ProgramOut) {
    let kind = if p.listener.is_some() {
        "eventlistener"
    } else {
        "program"
    };
    let table = format!("{kind}.{}", key(&p.name));
    let _ = writeln!(out, "[{table}]");
    comments(out, &p.comments);
    let command = match &p.command {
        Command::Str(s) => quote(s),
        Command::Argv(argv) => array(argv.iter().map(|s| quote(s))),
    };
    kv(out, "command", &command);
    if let Some(l) = &p.listener {
        kv(out, "events", &array(l.events.iter().map(|e| quote(e))));
        if let Some(n) = l.buffer_size {
            kv(out, "buffer_size", &n.to_string());
        }
        if let Some(n) = l.instances {
            kv(out, "instances", &n.to_string());
        }
    }
    let strings = [("directory", &p.directory), ("user", &p.user)];
    for (k, v) in strings {
        if let Some(v) = v {
            kv(out, k, &quote(v));
        }
    }
    let inline_env = format!(
        "{{ {} }}",
        p.environment
            .iter()
            .map(|(k, v)| format!("{} = {}", key(k), quote(v)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let env_inline = !p.environment.is_empty() && inline_env.len() + 14 <= INLINE_MAX;
    if env_inline {
        kv(out, "environment", &inline_env);
    }
    if let Some(v) = &p.umask {
        kv(out, "umask", &quote(v));
    }
    if let Some(v) = p.autostart {
        kv(out, "autostart", &v.to_string());
    }
    if let Some(v) = &p.restart {
        kv_commented(out, "restart", &quote(v.value), v.comment);
    }
    let is_program = p.listener.is_none();
    if is_program {
        // supervisord gives every program a stdin pipe (supervisorctl's sendProcessStdin)
        kv_commented(out, "stdin", &quote("pipe"), Some("supervisord's stdin"));
    }
    if let Some(v) = &p.exit_codes {
        kv(out, "exit_codes", &array(v.iter().map(|c| c.to_string())));
    }
    if let Some(v) = &p.min_uptime {
        kv(out, "min_uptime", &quote(v));
    }
    if let Some(v) = &p.start_retries {
        kv_commented(out, "start_retries", &v.value.to_string(), v.comment);
    }
    let stdout = p.stdout.as_ref().filter(|_| is_program);
    let strings = [
        ("stop_signal", p.stop_signal.as_ref()),
        ("stop_timeout", p.stop_timeout.as_ref()),
        ("stdout", stdout),
        ("stderr", p.stderr.as_ref()),
    ];
    for (k, v) in strings {
        if let Some(v) = v {
            kv(out, k, &quote(v));
        }
    }
    if let Some(v) = &p.log_max_size {
        kv_commented(out, "log_max_size", &quote(&v.value), v.comment);
    }
    if let Some(v) = &p.log_backups {
        kv_commented(out, "log_backups", &v.value.to_string(), v.comment);
    }
    if p.stdout_events && is_program {
        kv(out, "stdout_events", "true");
    }
    if p.stderr_events {
        kv(out, "stderr_events", "true");
    }
    if !p.depends_on.is_empty() && is_program {
        kv(
            out,
            "depends_on",
            &array(p.depends_on.iter().map(|d| quote(d))),
        );
    }
    if let Some(v) = p.critical {
        kv(out, "critical", &v.to_string());
    }
    if !p.environment.is_empty() && !env_inline {
        let _ = writeln!(out, "\n[{table}.environment]");
        for (k, v) in &p.environment {
            kv(out, &key(k), &quote(v));
        }
    }
    if let Some(w) = &p.watch {
        let _ = writeln!(out, "\n[{table}.watch]");
        kv(out, "paths", &array(w.paths.iter().map(|s| quote(s))));
        if !w.include.is_empty() {
            kv(out, "include", &array(w.include.iter().map(|s| quote(s))));
        }
        if !w.exclude.is_empty() {
            kv(out, "exclude", &array(w.exclude.iter().map(|s| quote(s))));
        }
        kv(out, "action", &quote(&w.action));
    }
}

fn line(out: &mut String, s: &str) {
    out.push_str(s);
    out.push('\n');
}

fn comments(out: &mut String, lines: &[String]) {
    for l in lines {
        let _ = writeln!(out, "# {}", comment(l));
    }
}

fn kv(out: &mut String, k: &str, v: &str) {
    let _ = writeln!(out, "{k} = {v}");
}

fn kv_commented(out: &mut String, k: &str, v: &str, c: Option<&str>) {
    match c {
        Some(c) => {
            let _ = writeln!(out, "{k} = {v}  # {}", comment(c));
        }
        None => kv(out, k, v),
    }
}

fn array(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

/// A TOML key: bare when it can be, else a quoted string.
pub(crate) fn key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { k.to_string() } else { basic(k) }
}

/// A TOML string holding exactly `s`: a literal string `'...'` when `s` has a backslash or
/// double quote but no single quote or control character (so Windows paths and
/// `-g "daemon off;"` stay readable), else a basic string with escapes.
pub(crate) fn quote(s: &str) -> String {
    let literal_ok = !s.contains('\'') && !s.chars().any(is_escaped_control);
    if literal_ok && (s.contains('\\') || s.contains('"')) {
        format!("'{s}'")
    } else {
        basic(s)
    }
}

/// Characters TOML does not allow raw in a single-line string (tab is allowed).
fn is_escaped_control(c: char) -> bool {
    (c.is_control() && c != '\t') || c == '\u{7f}'
}

fn basic(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if is_escaped_control(c) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text made safe for a one-line comment: control characters (newlines included) are shown
/// escaped.
pub(crate) fn comment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_escaped_control(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `value = QUOTED` back with the toml crate and returns the string.
    fn roundtrip(s: &str) -> String {
        let doc = format!("value = {}\n", quote(s));
        let table = toml::de::DeTable::parse(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
        match table.get_ref().get("value").map(|v| v.get_ref()) {
            Some(toml::de::DeValue::String(got)) => got.to_string(),
            other => panic!("{doc}: {other:?}"),
        }
    }

    #[test]
    fn quoting_survives_awkward_strings() {
        for s in [
            "",
            "plain",
            "daemon off;",
            "/usr/sbin/nginx -g \"daemon off;\"",
            r"C:\Program Files\app\run.exe",
            r#"both ' and " and \"#,
            "it's",
            "tab\there",
            "new\nline\r\n",
            "nul \0 bell \u{7} del \u{7f} esc \u{1b}",
            "unicode ü → 🚀",
            "''' \"\"\" ",
            "$${HOME} ${PATH}",
        ] {
            assert_eq!(roundtrip(s), s, "{s:?} -> {}", quote(s));
        }
    }

    #[test]
    fn readable_quoting_choices() {
        assert_eq!(quote("daemon off;"), "\"daemon off;\"");
        assert_eq!(quote(r"C:\x"), r"'C:\x'");
        assert_eq!(quote("-g \"daemon off;\""), "'-g \"daemon off;\"'");
    }

    #[test]
    fn keys_are_bare_when_possible() {
        assert_eq!(key("celery-worker_2"), "celery-worker_2");
        assert_eq!(key("a.b"), "\"a.b\"");
        assert_eq!(key(""), "\"\"");
    }

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(comment("a\nb\tc"), "a\\nb\tc");
    }
}
