//! TOML text -> [`Config`], with every problem collected.
//!
//! This module owns the two stages described in the crate docs:
//! 1. [`syntax`]: the text becomes a spanned tree
//!    ([`toml::de::DeTable::parse_recoverable`]); syntax errors are returned alone, since a
//!    broken tree would only produce spurious schema errors.
//! 2. The schema walk: the top level and `[supd]` here, `[program.NAME]` in [`program`], the
//!    `depends_on` graph in [`graph`], all through the typed accessors of [`walker`].
//!
//! Nothing here touches the file system: relative paths are resolved lexically against the
//! directory of the config path as given.

mod graph;
mod health;
pub(crate) mod program;
pub(crate) mod suggest;
mod walker;
mod watch;

use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::DeTable;

use crate::diagnostic::Diagnostics;
use crate::spec::{Config, DEFAULT_SOCKET, LogFormat, ProgramSpec, SupdSpec};
use walker::{Field, Section, Walker};

const TOP_KEYS: &[&str] = &["supd", "program"];
const SUPD_KEYS: &[&str] = &[
    "socket",
    "socket_mode",
    "socket_group",
    "shutdown_timeout",
    "log_format",
    "log_timestamps",
];

/// Parses and validates a whole config file.
pub(crate) fn parse(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Diagnostics> {
    let mut w = Walker::new(text, path, env);
    let Some(doc) = syntax(&mut w, text) else {
        return w.finish(empty_config(path));
    };
    let root = Section::root(doc.get_ref());
    w.check_keys(&root, TOP_KEYS);
    let supd = root
        .get("supd")
        .map_or_else(SupdSpec::default, |f| supd(&mut w, f));
    let programs = root
        .get("program")
        .map(|f| programs(&mut w, f))
        .unwrap_or_default();
    w.finish(Config {
        path: path.to_path_buf(),
        supd,
        programs,
    })
}

/// Only `[supd] socket`, resolved; problems anywhere else are ignored.
pub(crate) fn socket_only(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PathBuf, Diagnostics> {
    let mut w = Walker::new(text, path, env);
    let Some(doc) = syntax(&mut w, text) else {
        return w.finish(PathBuf::from(DEFAULT_SOCKET));
    };
    let socket_field = Section::root(doc.get_ref())
        .get("supd")
        .and_then(|f| match f.value.get_ref() {
            toml::de::DeValue::Table(table) => Some(Section {
                at: f.at(),
                path: f.key,
                table,
            }),
            _ => None,
        })
        .and_then(|sec| sec.get("socket"));
    let socket = match socket_field {
        Some(f) => w.path(&f),
        None => Some(PathBuf::from(DEFAULT_SOCKET)),
    };
    w.finish(socket.unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET)))
}

fn empty_config(path: &Path) -> Config {
    Config {
        path: path.to_path_buf(),
        supd: SupdSpec::default(),
        programs: Vec::new(),
    }
}

/// Stage 1: the spanned tree, or `None` after recording every syntax error.
fn syntax<'i>(w: &mut Walker, text: &'i str) -> Option<Spanned<DeTable<'i>>> {
    let (doc, errors) = DeTable::parse_recoverable(text);
    if errors.is_empty() {
        return Some(doc);
    }
    for e in &errors {
        let span = e.span();
        let message = syntax_message(e.message(), span.clone().and_then(|s| text.get(s)));
        w.error_at(span.map(|s| s.start), None, message);
    }
    None
}

/// The first line of a TOML parser message, as a sentence. `snippet` is the text the parser
/// pointed at, used to name the key of a "duplicate key" error.
fn syntax_message(message: &str, snippet: Option<&str>) -> String {
    let first = message
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .trim_end_matches('.');
    let key = snippet.filter(|s| !s.is_empty() && !s.contains('\n'));
    match (first, key) {
        ("duplicate key", Some(key)) => format!("invalid TOML: key {key:?} is defined twice"),
        ("", _) => "invalid TOML".to_string(),
        (first, _) => format!("invalid TOML: {first}"),
    }
}

/// The `[supd]` table.
fn supd(w: &mut Walker, field: Field) -> SupdSpec {
    const LOG_FORMATS: &[(&str, LogFormat)] = &[
        ("prefix", LogFormat::Prefix),
        ("raw", LogFormat::Raw),
        ("json", LogFormat::Json),
    ];
    let mut spec = SupdSpec::default();
    let Some(sec) = w.table(field, "a table like [supd]") else {
        return spec;
    };
    w.check_keys(&sec, SUPD_KEYS);
    if let Some(socket) = sec.get("socket").and_then(|f| w.path(&f)) {
        spec.socket = socket;
    }
    if let Some(mode) = sec.get("socket_mode").and_then(|f| w.mode(&f)) {
        spec.socket_mode = mode;
    }
    spec.socket_group = sec
        .get("socket_group")
        .and_then(|f| w.id_ref(&f, "a group name or number"));
    if let Some(d) = sec.get("shutdown_timeout").and_then(|f| w.duration(&f)) {
        spec.shutdown_timeout = d;
    }
    if let Some(format) = sec
        .get("log_format")
        .and_then(|f| w.choice(&f, LOG_FORMATS))
    {
        spec.log_format = format;
    }
    if let Some(b) = sec.get("log_timestamps").and_then(|f| w.bool(&f)) {
        spec.log_timestamps = b;
    }
    spec
}

/// The `[program.*]` tables, in file order, then the `depends_on` cycle search.
fn programs(w: &mut Walker, field: Field) -> Vec<ProgramSpec> {
    let Some(sec) = w.table(field, "a table of programs like [program.web]") else {
        return Vec::new();
    };
    let names: Vec<&str> = sec.table.keys().map(|k| k.get_ref().as_ref()).collect();
    let mut specs = Vec::with_capacity(names.len());
    let mut nodes = Vec::with_capacity(names.len());
    for (key, value) in sec.table.iter() {
        let name: &str = key.get_ref();
        let path = sec.child(name);
        if let Some(problem) = program_name_problem(name) {
            w.error(key.span().start, &path, problem);
        }
        let field = Field { key: path, value };
        let Some(program_sec) = w.table(field, "a table like [program.web]") else {
            continue;
        };
        let read = program::program(w, name, &program_sec, &names);
        specs.push(read.spec);
        nodes.push(read.node);
    }
    graph::report_cycles(w, &nodes);
    specs
}

/// Names are `[A-Za-z0-9_.-]+`; `all` and `supd` are reserved.
fn program_name_problem(name: &str) -> Option<String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid {
        return Some(format!(
            "invalid program name {name:?} (use letters, digits, \"_\", \".\" and \"-\")"
        ));
    }
    match name {
        "all" => Some(
            "the program name \"all\" is reserved (supctl uses it to mean every program)"
                .to_string(),
        ),
        "supd" => Some(
            "the program name \"supd\" is reserved (supd prefixes its own log lines with it)"
                .to_string(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_messages_are_one_clean_sentence() {
        assert_eq!(
            syntax_message("duplicate key", Some("command")),
            "invalid TOML: key \"command\" is defined twice"
        );
        assert_eq!(
            syntax_message("duplicate key", None),
            "invalid TOML: duplicate key"
        );
        assert_eq!(
            syntax_message("unclosed table, expected `]`\nmore detail", None),
            "invalid TOML: unclosed table, expected `]`"
        );
        assert_eq!(syntax_message("", None), "invalid TOML");
    }

    #[test]
    fn program_names() {
        assert_eq!(program_name_problem("web"), None);
        assert_eq!(program_name_problem("celery-worker_2.a"), None);
        assert!(program_name_problem("").is_some());
        assert!(program_name_problem("my app").is_some());
        assert!(program_name_problem("a/b").is_some());
        assert!(program_name_problem("all").is_some());
        assert!(program_name_problem("supd").is_some());
    }
}
