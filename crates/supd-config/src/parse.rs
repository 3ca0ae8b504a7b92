//! TOML files -> [`Config`], with every problem collected.
//!
//! This module owns the two stages described in the crate docs, and how the files of one
//! config come together:
//! 1. [`syntax`]: the text of each file becomes a spanned tree
//!    ([`toml::de::DeTable::parse_recoverable`]); a file with syntax errors reports those
//!    alone, since a broken tree would only produce spurious schema errors. A supervisord
//!    header (`[program:web]`) is reported as such, with the TOML to write instead.
//! 2. The schema walk, in this order:
//!    - `[supd] env_file` (its path interpolated from supd's own environment only), whose
//!      variables then feed every other `${VAR}`;
//!    - the rest of `[supd]`, here, including `include`, whose files are read next;
//!    - every `[program.NAME]` table of every file: first `profiles` and `instances`
//!      ([`select`]), which decide what runs and under which names, then each table in full
//!      ([`program`]), once per instance, with its own `env_file` loaded first;
//!    - the `depends_on` graph over the programs of every file ([`graph`]);
//!    - every `[group.NAME]` table of every file, against the programs of every file
//!      ([`group`]);
//!    - where every `[supd]` and program key was written ([`Locations`]).
//!
//! Each file has its own [`Walker`], so every problem names the file it is in and a line
//! there; problems in env files name the env file and its line. The only I/O is reading
//! the files the config names (includes, env files) and listing the directories of include
//! globs; relative paths are resolved lexically against the directory of the file that
//! contains them.

mod command;
mod graph;
pub(crate) mod group;
pub(crate) mod health;
pub(crate) mod http;
mod listen;
pub(crate) mod program;
mod select;
pub(crate) mod sockets;
pub(crate) mod suggest;
mod walker;
pub(crate) mod watch;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use toml::Spanned;
use toml::de::DeTable;

use crate::diagnostic::{Diagnostic, Diagnostics, io_reason, key_segment};
use crate::spec::{
    Config, DEFAULT_SOCKET, LoadOptions, Location, Locations, LogFormat, ProgramSpec, SupdSpec,
};
use select::{Known, Universe};
use walker::{Field, InstanceVar, Section, Value, Walker, resolve};

const TOP_KEYS: &[&str] = &["supd", "program", "eventlistener", "group"];
/// The keys of `[supd]`.
pub const SUPD_KEYS: &[&str] = &[
    "socket",
    "socket_mode",
    "socket_group",
    "socket_readonly_group",
    "shutdown_timeout",
    "log_format",
    "log_timestamps",
    "http",
    "include",
    "env_file",
];

/// A file named by `[supd] include`, read.
struct Included {
    path: PathBuf,
    text: String,
}

/// One `[program.NAME]`, `[eventlistener.NAME]` or `[group.NAME]` table of one of the files.
struct Entry<'t, 'i> {
    /// Index of the file's walker.
    file: usize,
    /// The top-level key it is under (`program`, `eventlistener`, `group`).
    kind: &'static str,
    name: String,
    sec: Section<'t, 'i>,
}

/// What the named tables of one kind are: `[program.NAME]` or `[group.NAME]`.
struct TableKind {
    /// The top-level key, also the noun of messages.
    key: &'static str,
    /// What the top-level key must hold.
    tables_expected: &'static str,
    /// What each NAME must hold.
    table_expected: &'static str,
    name_problem: fn(&str) -> Option<String>,
}

const PROGRAMS: TableKind = TableKind {
    key: "program",
    tables_expected: "a table of programs like [program.web]",
    table_expected: "a table like [program.web]",
    name_problem: program_name_problem,
};

const LISTENERS: TableKind = TableKind {
    key: "eventlistener",
    tables_expected: "a table of event listeners like [eventlistener.crashmail]",
    table_expected: "a table like [eventlistener.crashmail]",
    name_problem: program_name_problem,
};

const GROUPS: TableKind = TableKind {
    key: "group",
    tables_expected: "a table of groups like [group.celery]",
    table_expected: "a table like [group.celery]",
    name_problem: group::group_name_problem,
};

/// Parses and validates a config file and the files it names.
pub(crate) fn parse(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    options: &LoadOptions,
) -> Result<Config, Diagnostics> {
    let mut main = Walker::new(text, path, env);
    let Some(doc) = syntax(&mut main, text) else {
        return main.finish(empty_config(path, options));
    };
    let mut env_files = EnvFiles::new(path);
    let root = Section::root(doc.get_ref());
    main.check_keys(&root, TOP_KEYS, suggest::TOP_HINTS);
    let supd_sec = root
        .get("supd")
        .and_then(|f| main.table(f, "a table like [supd]"));
    if let Some(f) = supd_sec.as_ref().and_then(|s| s.get("env_file")) {
        main.vars.supd_file = Rc::new(env_files.load(&mut main, &f));
    }
    let supd = supd_sec
        .as_ref()
        .map_or_else(SupdSpec::default, |s| supd(&mut main, s));
    let included = match supd_sec.as_ref().and_then(|s| s.get("include")) {
        Some(f) => read_includes(&mut main, &f, &mut env_files.order),
        None => Vec::new(),
    };

    let supd_vars = main.vars.supd_file.clone();
    let mut walkers = vec![main];
    let mut trees = Vec::with_capacity(included.len());
    for inc in &included {
        let mut w = Walker::new(&inc.text, &inc.path, env);
        w.vars.supd_file = supd_vars.clone();
        trees.push(syntax(&mut w, &inc.text));
        walkers.push(w);
    }
    let mut tables = vec![(0, doc.get_ref())];
    for (i, tree) in trees.iter().enumerate() {
        if let Some(tree) = tree {
            tables.push((i + 1, tree.get_ref()));
        }
    }

    for &(file, table) in &tables[1..] {
        included_top_level(&mut walkers[file], &Section::root(table), path);
    }
    // Event listeners are programs too: one set of names, one start order.
    let entries = named_tables(&mut walkers, &tables, &[&PROGRAMS, &LISTENERS]);
    let group_entries = named_tables(&mut walkers, &tables, &[&GROUPS]);
    let active_profiles = dedup(&options.profiles);
    let mut universe = Universe {
        programs: Vec::with_capacity(entries.len()),
        active_profiles: active_profiles.clone(),
    };
    for e in &entries {
        let w = &mut walkers[e.file];
        let profiles = select::profiles(w, &e.sec);
        let instances = select::instances(w, &e.sec);
        universe.programs.push(Known {
            name: e.name.clone(),
            active: select::is_active(&profiles, &active_profiles),
            profiles,
            instances,
        });
    }
    for message in universe.unknown_profiles() {
        walkers[0].push(Diagnostic {
            file: path.to_path_buf(),
            line: None,
            key: None,
            message,
        });
    }

    let mut programs = Vec::new();
    let mut inactive = Vec::new();
    let mut nodes = Vec::with_capacity(entries.len());
    for (e, known) in entries.iter().zip(&universe.programs) {
        let w = &mut walkers[e.file];
        let (specs, node) = read_program(w, e, known, &universe, &mut env_files);
        nodes.extend(node);
        if known.active {
            programs.extend(specs);
        } else {
            inactive.push(e.name.clone());
        }
    }
    graph::report_cycles(&mut walkers, &nodes);

    let mut groups = Vec::with_capacity(group_entries.len());
    for e in &group_entries {
        // A group may share a program's name, as in supervisord: `group:web` and `web` are
        // told apart on the command line.
        let w = &mut walkers[e.file];
        groups.push(group::group(w, &e.name, &e.sec, &universe));
    }

    let mut locations = Locations::default();
    if let Some(sec) = &supd_sec {
        record_table(&mut locations, &walkers[0], sec);
    }
    for e in &entries {
        record_table(&mut locations, &walkers[e.file], &e.sec);
    }

    let config = Config {
        path: path.to_path_buf(),
        supd,
        programs,
        inactive,
        groups,
        options: LoadOptions {
            profiles: active_profiles,
        },
        locations,
    };
    for problem in sockets::shared_addresses(&config) {
        walkers[0].push(problem);
    }
    finish(walkers, &env_files.order, config)
}

/// `items` without empty strings and repeats, in order.
fn dedup(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !item.is_empty() && !out.contains(item) {
            out.push(item.clone());
        }
    }
    out
}

/// `value` when no file had a problem; else every problem, sorted by file (in `order`,
/// then any other) and line, each once.
fn finish<T>(walkers: Vec<Walker>, order: &[PathBuf], value: T) -> Result<T, Diagnostics> {
    let mut all: Vec<Diagnostic> = walkers
        .into_iter()
        .flat_map(Walker::into_problems)
        .collect();
    if all.is_empty() {
        return Ok(value);
    }
    let rank = |d: &Diagnostic| {
        order
            .iter()
            .position(|f| *f == d.file)
            .unwrap_or(order.len())
    };
    all.sort_by_key(|d| (rank(d), d.line.unwrap_or(0)));
    let mut seen = HashSet::new();
    all.retain(|d| seen.insert(d.clone()));
    Err(Diagnostics(all))
}

/// Reads the files of `[supd] include`, in order, each once (the main file never).
fn read_includes(main: &mut Walker, field: &Field, order: &mut Vec<PathBuf>) -> Vec<Included> {
    let items = main
        .string_items(field, "an array of paths or globs like [\"conf.d/*.toml\"]")
        .unwrap_or_default();
    let identity = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let main_id = identity(main.file());
    let mut seen = HashSet::from([main_id.clone()]);
    let mut out = Vec::new();
    for (pattern, at) in items {
        if pattern.is_empty() {
            main.error(
                at,
                &field.key,
                "expected a path or a glob, found an empty string",
            );
            continue;
        }
        let resolved = resolve(&main.base, &pattern);
        let files = match crate::include::glob_files(&resolved) {
            Ok(files) => files,
            Err(why) => {
                main.error(at, &field.key, format!("cannot include {pattern:?}: {why}"));
                continue;
            }
        };
        for file in files {
            let id = identity(&file);
            if id == main_id && !crate::include::is_glob(&resolved) {
                let message = format!("{pattern:?} is this config file itself");
                main.error(at, &field.key, message);
            }
            if !seen.insert(id) {
                continue;
            }
            match std::fs::read_to_string(&file) {
                Ok(text) => {
                    order.push(file.clone());
                    out.push(Included { path: file, text });
                }
                Err(e) => {
                    let message = format!(
                        "cannot read included file {}: {}",
                        file.display(),
                        io_reason(&e)
                    );
                    main.error(at, &field.key, message);
                }
            }
        }
    }
    out
}

/// Every table of `kinds` (`[program.NAME]`) of every file, in file order (the main file
/// first), each name once among all the kinds: a second definition is reported, naming the
/// first.
fn named_tables<'t, 'i>(
    walkers: &mut [Walker],
    tables: &[(usize, &'t DeTable<'i>)],
    kinds: &[&TableKind],
) -> Vec<Entry<'t, 'i>> {
    let mut entries: Vec<Entry> = Vec::new();
    // name -> (kind, file, line) of its first definition
    let mut first: Vec<(String, &'static str, usize, usize)> = Vec::new();
    for &(file, table) in tables {
        for kind in kinds {
            named_tables_of(walkers, file, table, kind, &mut first, &mut entries);
        }
    }
    entries
}

/// The tables of `kind` in the file `file` (see [`named_tables`]).
fn named_tables_of<'t, 'i>(
    walkers: &mut [Walker],
    file: usize,
    table: &'t DeTable<'i>,
    kind: &TableKind,
    first: &mut Vec<(String, &'static str, usize, usize)>,
    entries: &mut Vec<Entry<'t, 'i>>,
) {
    let noun = kind.key;
    {
        let Some(field) = Section::root(table).get(kind.key) else {
            return;
        };
        let w = &mut walkers[file];
        let Some(sec) = w.table(field, kind.tables_expected) else {
            return;
        };
        for (key, value) in sec.table.iter() {
            let name: &str = key.get_ref();
            let key_path = sec.child(name);
            let at = key.span().start;
            let w = &mut walkers[file];
            if let Some(problem) = (kind.name_problem)(name) {
                w.error(at, &key_path, problem);
            }
            if let Some((_, other, f, line)) = first.iter().find(|(n, _, _, _)| n == name) {
                let message = if *other == noun {
                    format!(
                        "{noun} {name:?} is already defined in {}:{line} (a {noun} may be \
                         defined only once in a config file and the files it includes)",
                        walkers[*f].file().display()
                    )
                } else {
                    format!(
                        "{noun} {name:?} has the name of the {other} defined in {}:{line} \
                         (programs and event listeners share one set of names)",
                        walkers[*f].file().display()
                    )
                };
                walkers[file].error(at, &key_path, message);
                continue;
            }
            first.push((name.to_string(), noun, file, w.line(at)));
            let field = Field {
                key: key_path,
                value,
            };
            let Some(sec) = walkers[file].table(field, kind.table_expected) else {
                continue;
            };
            entries.push(Entry {
                file,
                kind: kind.key,
                name: name.to_string(),
                sec,
            });
        }
    }
}

/// An included file may hold only `[program.*]` and `[group.*]` tables.
fn included_top_level(w: &mut Walker, root: &Section, main_file: &Path) {
    for key in root.table.keys() {
        let name: &str = key.get_ref();
        let at = key.span().start;
        match name {
            "program" | "eventlistener" | "group" => {}
            "supd" => {
                let message = format!(
                    "[supd] is only allowed in the main config file {} (an included file may \
                     only define [program.*], [eventlistener.*] and [group.*] tables)",
                    main_file.display()
                );
                w.error(at, "supd", message);
            }
            _ => {
                let known = &["program", "eventlistener", "group"];
                let message = suggest::unknown_key_message(name, known, suggest::TOP_HINTS);
                w.error(at, &root.child(name), message);
            }
        }
    }
}

/// Adds where `sec` and everything in it were written to `locations`.
fn record_table(locations: &mut Locations, w: &Walker, sec: &Section) {
    let at = |offset: usize| Location {
        file: w.file().to_path_buf(),
        line: w.line(offset),
    };
    locations.add(sec.path.clone(), at(sec.at));
    for (key, value) in sec.table.iter() {
        record_value(locations, &at, sec.child(key.get_ref()), value);
    }
}

fn record_value(
    locations: &mut Locations,
    at: &dyn Fn(usize) -> Location,
    key: String,
    value: &Value,
) {
    locations.add(key.clone(), at(value.span().start));
    match value.get_ref() {
        toml::de::DeValue::Table(table) => {
            for (k, v) in table.iter() {
                let child = format!("{key}.{}", key_segment(k.get_ref()));
                record_value(locations, at, child, v);
            }
        }
        toml::de::DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                record_value(locations, at, format!("{key}[{i}]"), item);
            }
        }
        _ => {}
    }
}

/// Reads one program table: once, or once per instance. Returns the specs (named
/// `NAME:i` for instances) and the program's node of the dependency graph.
fn read_program(
    w: &mut Walker,
    e: &Entry,
    known: &Known,
    universe: &Universe,
    env_files: &mut EnvFiles,
) -> (Vec<ProgramSpec>, Option<graph::Node>) {
    let count = known.instances.unwrap_or(1);
    let mut specs = Vec::with_capacity(count as usize);
    let mut node = None;
    w.vars.lenient = !known.active;
    for i in 0..count {
        w.vars.instance = match known.instances {
            None => InstanceVar::NotInstanced,
            Some(_) => InstanceVar::Instance(i),
        };
        w.vars.program_file.clear();
        let before = w.problem_count();
        let file_vars = match e.sec.get("env_file") {
            Some(f) if known.active => env_files.load(w, &f),
            Some(f) => {
                // Not run: its env files need not exist.
                let _ = w.string_or_items(&f, ENV_FILE_EXPECTED);
                Vec::new()
            }
            None => Vec::new(),
        };
        w.vars.program_file = file_vars.clone();
        let listener = e.kind == LISTENERS.key;
        let read = program::program(w, &e.name, &e.sec, universe, listener);
        let mut spec = read.spec;
        let instance_var = known
            .instances
            .map(|_| vec![("INSTANCE".to_string(), i.to_string())])
            .unwrap_or_default();
        let inherited: Vec<(String, String)> = w
            .vars
            .supd_file
            .iter()
            .filter(|(k, _)| w.env_var(k).is_none())
            .cloned()
            .collect();
        spec.environment = merge_env(&[&inherited, &file_vars, &instance_var, &spec.environment]);
        if known.instances.is_some() {
            spec.name = crate::spec::instance_name(&e.name, i);
        }
        specs.push(spec);
        if node.is_none() {
            let mut n = read.node;
            n.file = e.file;
            node = Some(n);
        }
        if w.problem_count() > before {
            break; // the other instances would only repeat these problems
        }
    }
    w.vars.instance = InstanceVar::Outside;
    w.vars.lenient = false;
    w.vars.program_file.clear();
    (specs, node)
}

/// The layers of a program's environment, lowest first, as one list: each variable once, at
/// its first place, with its last value.
fn merge_env(layers: &[&[(String, String)]]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in layers.iter().flat_map(|l| l.iter()) {
        match out.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1.clone_from(v),
            None => out.push((k.clone(), v.clone())),
        }
    }
    out
}

/// Variables in order: name and value.
type EnvVars = Vec<(String, String)>;

const ENV_FILE_EXPECTED: &str = "a path like \".env\" or an array of paths";

/// The env files read so far (each is read and checked once, whoever names it), and the
/// order in which files were first read (for sorting problems).
struct EnvFiles {
    /// Path -> its variables, or why it cannot be read.
    cache: Vec<(PathBuf, Result<EnvVars, String>)>,
    /// The main file first, then every file read after it.
    order: Vec<PathBuf>,
}

impl EnvFiles {
    fn new(main: &Path) -> Self {
        EnvFiles {
            cache: Vec::new(),
            order: vec![main.to_path_buf()],
        }
    }

    /// The variables of the env file(s) of `field` (`env_file`), later files overriding
    /// earlier ones. Problems go to `w` (bad lines: with the env file's path and line).
    fn load(&mut self, w: &mut Walker, field: &Field) -> Vec<(String, String)> {
        let items = w
            .string_or_items(field, ENV_FILE_EXPECTED)
            .unwrap_or_default();
        let mut layers = Vec::new();
        for (p, at) in items {
            if p.is_empty() {
                w.error(at, &field.key, "expected a path, found an empty string");
                continue;
            }
            let path = resolve(&w.base, &p);
            layers.push(self.read(w, &path, at, &field.key));
        }
        let refs: Vec<&[(String, String)]> = layers.iter().map(Vec::as_slice).collect();
        merge_env(&refs)
    }

    fn read(&mut self, w: &mut Walker, path: &Path, at: usize, key: &str) -> Vec<(String, String)> {
        if let Some((_, known)) = self.cache.iter().find(|(p, _)| p == path) {
            return match known {
                Ok(vars) => vars.clone(),
                Err(message) => {
                    w.error(at, key, message.clone());
                    Vec::new()
                }
            };
        }
        let result = match std::fs::read_to_string(path) {
            Ok(text) => {
                self.order.push(path.to_path_buf());
                let (vars, problems) = crate::envfile::parse(&text);
                for p in problems {
                    w.push(Diagnostic {
                        file: path.to_path_buf(),
                        line: Some(p.line),
                        key: p.key,
                        message: p.message,
                    });
                }
                Ok(vars)
            }
            Err(e) => {
                let message = format!("cannot read env file {}: {}", path.display(), io_reason(&e));
                w.error(at, key, message.clone());
                Err(message)
            }
        };
        let vars = result.clone().unwrap_or_default();
        self.cache.push((path.to_path_buf(), result));
        vars
    }
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
    let supd_sec = Section::root(doc.get_ref())
        .get("supd")
        .and_then(|f| match f.value.get_ref() {
            toml::de::DeValue::Table(table) => Some(Section {
                at: f.at(),
                path: f.key,
                table,
            }),
            _ => None,
        });
    if let Some(f) = supd_sec.as_ref().and_then(|s| s.get("env_file")) {
        // Best effort: a broken env file is reported by `supd check`, not here.
        let mut scratch = Walker::new(text, path, env);
        w.vars.supd_file = Rc::new(EnvFiles::new(path).load(&mut scratch, &f));
    }
    let socket_field = supd_sec.and_then(|sec| sec.get("socket"));
    let socket = match socket_field {
        Some(f) => w.path(&f),
        None => Some(PathBuf::from(DEFAULT_SOCKET)),
    };
    w.finish(socket.unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET)))
}

fn empty_config(path: &Path, options: &LoadOptions) -> Config {
    Config {
        path: path.to_path_buf(),
        supd: SupdSpec::default(),
        programs: Vec::new(),
        inactive: Vec::new(),
        groups: Vec::new(),
        options: options.clone(),
        locations: Locations::default(),
    }
}

/// Stage 1: the spanned tree, or `None` after recording every syntax error.
fn syntax<'i>(w: &mut Walker, text: &'i str) -> Option<Spanned<DeTable<'i>>> {
    let (doc, errors) = DeTable::parse_recoverable(text);
    if errors.is_empty() {
        return Some(doc);
    }
    let supervisord = supervisord_headers(text);
    for (i, header) in supervisord.iter().enumerate() {
        let mut message = header.message.clone();
        if i == 0 {
            message.push_str(
                " (a .toml file is always read as TOML; name a supervisord file .conf to \
                 have supd convert it)",
            );
        }
        w.error_at(Some(header.at), header.key.as_deref(), message);
    }
    // `[program.NAME]` headers seen twice: (offset of the repeated header's line).
    let mut repeated: Vec<usize> = Vec::new();
    for e in &errors {
        let span = e.span();
        let at = span.as_ref().map(|s| s.start);
        if let Some(at) = at
            && supervisord.iter().any(|h| w.line(h.at) == w.line(at))
        {
            continue; // said better above
        }
        let snippet = span.clone().and_then(|s| text.get(s));
        if e.message().starts_with("duplicate key")
            && let Some(at) = at
        {
            let header = header_start(text, at);
            if repeated.contains(&header) {
                continue; // a key of a repeated program table: the header says it all
            }
            if let Some((kind, name, first)) = repeated_table(text, header) {
                repeated.push(header);
                let message = format!(
                    "{kind} {name:?} is already defined in {}:{} (a {kind} may be defined \
                     only once in a config file and the files it includes)",
                    w.file().display(),
                    w.line(first)
                );
                // At the repeated header: after a syntax error earlier in the file the
                // parser may report the repeat at a key of the table instead.
                w.error(header, &format!("{kind}.{}", key_segment(&name)), message);
                continue;
            }
        }
        w.error_at(at, None, syntax_message(e.message(), snippet));
    }
    None
}

/// Offset of the start of the `[table]` header line that `at` falls under (0 if none).
fn header_start(text: &str, at: usize) -> usize {
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if offset > at {
            break;
        }
        if line.trim_start().starts_with('[') {
            start = offset;
        }
        offset += line.len();
    }
    start
}

/// When the line at `header` is `[program.NAME]` or `[group.NAME]` and an earlier line is
/// the same header: `program` or `group`, NAME and the offset of the earlier one.
fn repeated_table(text: &str, header: usize) -> Option<(&'static str, String, usize)> {
    let name_of = |line: &str| -> Option<(&'static str, String)> {
        let inner = line.trim().strip_prefix('[')?.split(']').next()?;
        if inner.starts_with('[') {
            return None;
        }
        let parts: Vec<&str> = inner
            .split('.')
            .map(|p| p.trim().trim_matches(['"', '\'']))
            .collect();
        match parts.as_slice() {
            ["program", name] => Some(("program", name.to_string())),
            ["group", name] => Some(("group", name.to_string())),
            _ => None,
        }
    };
    let line = text.get(header..)?.lines().next()?;
    let (kind, name) = name_of(line)?;
    let mut offset = 0;
    for earlier in text.get(..header)?.split_inclusive('\n') {
        if name_of(earlier).is_some_and(|(k, n)| k == kind && n == name) {
            return Some((kind, name, offset));
        }
        offset += earlier.len();
    }
    None
}

/// A supervisord section header (`[program:web]`) in a TOML file.
struct SupervisordHeader {
    /// Byte offset of its `[`.
    at: usize,
    /// The key it meant (`program.web`), when it has a supd equivalent.
    key: Option<String>,
    /// What to write instead, one sentence.
    message: String,
}

/// Every line of `text` that is a supervisord section header with a `:` (`[program:web]`,
/// `[group:celery]`, `[rpcinterface:supervisor]`), which TOML cannot parse.
fn supervisord_headers(text: &str) -> Vec<SupervisordHeader> {
    let mut found = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset + (line.len() - line.trim_start().len());
        offset += line.len();
        let Some(inner) = line
            .trim()
            .strip_prefix('[')
            .and_then(|rest| rest.split_once(']'))
            .filter(|(_, after)| after.trim().is_empty() || after.trim().starts_with(['#', ';']))
            .map(|(inner, _)| inner.trim())
        else {
            continue;
        };
        let Some((section, name)) = inner.split_once(':') else {
            continue;
        };
        let is_word = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
        };
        if !is_word(section) || name.is_empty() || name.contains(['[', ']']) {
            continue;
        }
        let (key, message) = match section {
            "program" | "eventlistener" | "group" => {
                let key = format!("{section}.{}", key_segment(name));
                let extra = if section == "group" {
                    " with programs = [\"...\"]"
                } else {
                    ""
                };
                let message =
                    format!("[{inner}] is supervisord's syntax: in TOML write [{key}]{extra}");
                (Some(key), message)
            }
            "rpcinterface" => (
                None,
                format!("[{inner}] is a supervisord section that supd does not need (remove it)"),
            ),
            _ => (
                None,
                format!("[{inner}] is a supervisord section, which supd does not support"),
            ),
        };
        found.push(SupervisordHeader {
            at: start,
            key,
            message,
        });
    }
    found
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

/// The `[supd]` table (its `env_file` and `include` are read by [`parse`]).
fn supd(w: &mut Walker, sec: &Section) -> SupdSpec {
    const LOG_FORMATS: &[(&str, LogFormat)] = &[
        ("prefix", LogFormat::Prefix),
        ("raw", LogFormat::Raw),
        ("json", LogFormat::Json),
    ];
    let mut spec = SupdSpec::default();
    w.check_keys(sec, SUPD_KEYS, suggest::SUPD_HINTS);
    if let Some(socket) = sec.get("socket").and_then(|f| w.path(&f)) {
        spec.socket = socket;
    }
    spec.socket_group = sec
        .get("socket_group")
        .and_then(|f| w.id_ref(&f, "a group name or number"));
    spec.socket_readonly_group = sec
        .get("socket_readonly_group")
        .and_then(|f| w.id_ref(&f, "a group name or number"));
    // Without a mode, the socket file lets in whom the groups name: supd's peer check then
    // decides (a read-only group is not the file's group, so it needs the "other" bits).
    spec.socket_mode = match sec.get("socket_mode") {
        Some(f) => w.mode(&f).unwrap_or(spec.socket_mode),
        None if spec.socket_readonly_group.is_some() => 0o666,
        None if spec.socket_group.is_some() => 0o660,
        None => spec.socket_mode,
    };
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
    spec.http = sec.get("http").and_then(|f| http::http(w, f));
    spec
}

/// Names are `[A-Za-z0-9_.-]+`; `all` and `supd` are reserved.
fn program_name_problem(name: &str) -> Option<String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid && name.contains(':') {
        return Some(format!(
            "invalid program name {name:?} (\":\" is reserved for the instances of a program \
             with instances = N; use letters, digits, \"_\", \".\" and \"-\")"
        ));
    }
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
