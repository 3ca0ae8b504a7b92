//! The whole conversion: source files -> sections -> one supd document.
//!
//! This module owns what is not about a single program: which sections exist and what
//! becomes of each (`[supervisord]`, the HTTP servers as `[supd.http]`, `[include]`,
//! `[group:x]` as `[group.x]` tables of the converted programs, `[eventlistener:x]`, the
//! ignored ones, unknown ones as warnings, `[fcgi-program:x]` refused), merging the main
//! file with its included files (a program defined twice is an error naming both places),
//! what needs every program at once (entr watchers into watch sections of the programs
//! they restart, supervisord's group of a section's processes, `priority` as `depends_on`
//! through [`crate::order`], listeners that stop supervisord as `critical` through
//! [`crate::listener`]), and collecting the notes and warnings. Each `[program:x]` and
//! `[eventlistener:x]` itself is converted by [`crate::program`].
//!
//! Order follows supervisord: `[supervisord]` is read first wherever it is (its `user`,
//! `directory`, `umask` and `environment` apply to every program), then programs in file
//! order (main file, then included files in the order given).

use std::path::{Path, PathBuf};

use crate::entr::{self, Detect};
use crate::expand::{Ctx, Text, expand};
use crate::ini::{self, Opt, Section};
use crate::program::{self, Defaults, Failure};
use crate::render::{self, Doc, GroupOut, Item, ListenOut, ListenerOut, WatchOut};
use crate::{Conversion, ImportError, SourceFile};
use crate::{http, listener, order};

/// What a section header names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Supervisord,
    UnixHttpServer,
    InetHttpServer,
    Supervisorctl,
    Include,
    Program(String),
    Group(String),
    EventListener(String),
    FcgiProgram(String),
    RpcInterface,
    CtlPlugin,
    /// A section supervisord does not know (and ignores): the "did you mean" hint.
    Unknown(String),
}

const SECTION_NAMES: &[&str] = &[
    "supervisord",
    "unix_http_server",
    "inet_http_server",
    "supervisorctl",
    "include",
    "program:",
    "group:",
    "eventlistener:",
    "fcgi-program:",
    "rpcinterface:",
    "ctlplugin:",
];

fn classify(name: &str) -> Result<Kind, String> {
    let kind = match name {
        "supervisord" => Kind::Supervisord,
        "unix_http_server" => Kind::UnixHttpServer,
        "inet_http_server" => Kind::InetHttpServer,
        "supervisorctl" => Kind::Supervisorctl,
        "include" => Kind::Include,
        "DEFAULT" => {
            return Err(
                "[DEFAULT] sections are not supported by supd import (copy its keys into the \
                 sections that use them)"
                    .to_string(),
            );
        }
        _ => match name.split_once(':') {
            Some(("program", rest)) => Kind::Program(ini::py_strip(rest).to_string()),
            Some(("group", rest)) => Kind::Group(ini::py_strip(rest).to_string()),
            Some(("eventlistener", rest)) => Kind::EventListener(rest.to_string()),
            Some(("fcgi-program", rest)) => Kind::FcgiProgram(rest.to_string()),
            Some(("rpcinterface", _)) => Kind::RpcInterface,
            Some(("ctlplugin", _)) => Kind::CtlPlugin,
            _ => {
                let head = name.split(':').next().unwrap_or(name);
                let hint = supd_config::closest(
                    head,
                    SECTION_NAMES.iter().map(|s| s.trim_end_matches(':')),
                )
                .map(|s| {
                    format!(
                        " (did you mean [{s}{}]?)",
                        if name.contains(':') { ":..." } else { "" }
                    )
                })
                .unwrap_or_default();
                Kind::Unknown(hint)
            }
        },
    };
    Ok(kind)
}

/// One note: where it comes from and its text (already prefixed with its section when it
/// is not about a program).
struct Note {
    file: usize,
    line: usize,
    scope: String,
    text: String,
    /// Also a comment under `[supd]` (notes about programs are comments of the program, or
    /// of the comment block left where a dropped section was).
    under_supd: bool,
    /// Also a warning: something supervisord ignores, or a value that could not be read.
    warning: bool,
}

/// A converted program with what watcher handling needs.
struct Entry {
    item: usize,
    file: usize,
    /// The section's line.
    line: usize,
    /// The line of its `command`.
    command_line: usize,
    /// The `x` of `[program:x]`.
    sv_name: String,
    /// Its `[group:g]`, else its own name (supervisord's homogeneous group).
    group: String,
    /// The `priority` of its `[group:g]` (999 when unset), when one lists it.
    group_priority: Option<i64>,
    /// Its own `priority`, when set.
    priority: Option<i64>,
    /// supervisord's name of the process the program runs (one).
    process_names: Vec<String>,
    numprocs: i64,
    notes: Vec<(usize, String)>,
    warnings: Vec<(usize, String)>,
}

struct Run<'a> {
    files: &'a [SourceFile<'a>],
    shown: Vec<String>,
    heres: Vec<String>,
    env: &'a dyn Fn(&str) -> Option<String>,
    notes: Vec<Note>,
}

impl Run<'_> {
    fn error(&self, file: usize, line: usize, message: impl Into<String>) -> ImportError {
        ImportError {
            file: self
                .files
                .get(file)
                .map_or_else(PathBuf::new, |f| f.path.to_path_buf()),
            line,
            message: message.into(),
        }
    }

    fn failure(&self, file: usize, f: Failure) -> ImportError {
        self.error(file, f.line, f.message)
    }

    fn note(&mut self, file: usize, line: usize, scope: &str, text: String) {
        self.push_note(file, line, scope, text, true, false);
    }

    /// A note (under `[supd]`) that is also a warning.
    fn warn(&mut self, file: usize, line: usize, scope: &str, text: String) {
        self.push_note(file, line, scope, text, true, true);
    }

    /// A note whose comment is written elsewhere than under `[supd]`.
    fn note_elsewhere(&mut self, file: usize, line: usize, scope: &str, text: String) {
        self.push_note(file, line, scope, text, false, false);
    }

    fn push_note(
        &mut self,
        file: usize,
        line: usize,
        scope: &str,
        text: String,
        under_supd: bool,
        warning: bool,
    ) {
        self.notes.push(Note {
            file,
            line,
            scope: scope.to_string(),
            text,
            under_supd,
            warning,
        });
    }

    fn ctx(&self, file: usize) -> Ctx<'_> {
        Ctx {
            here: self.heres.get(file).map_or(".", String::as_str),
            ..Ctx::default()
        }
    }

    /// `opt` expanded with `%(here)s` and `%(ENV_X)s` only.
    fn text(&self, file: usize, scope: &str, opt: &Opt) -> Result<Text, ImportError> {
        expand(&opt.value, &self.ctx(file))
            .map_err(|e| self.error(file, opt.line, format!("{scope} {}: {e}", opt.key)))
    }

    /// Like [`Self::text`], with variables resolved now.
    fn now(&mut self, file: usize, scope: &str, opt: &Opt) -> Result<String, ImportError> {
        let text = self.text(file, scope, opt)?;
        let value = text
            .resolve(self.env)
            .map_err(|e| self.error(file, opt.line, format!("{scope} {}: {e}", opt.key)))?;
        if text.has_vars() {
            self.note(
                file,
                opt.line,
                scope,
                format!("{}: read at import time as {value:?}", opt.key),
            );
        }
        Ok(value)
    }
}

/// Options supervisord knows in `[eventlistener:x]`: a program's (but capture mode, which a
/// listener cannot have), and its own.
static LISTENER_KEYS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    program::PROGRAM_KEYS
        .iter()
        .copied()
        .filter(|k| *k != "stdout_capture_maxbytes")
        .chain(["events", "buffer_size", "result_handler"])
        .collect()
});

/// The options of every section of one kind merged in order: a later value of a key
/// replaces an earlier one (as supervisord's parser merges repeated sections and files).
fn merged<'s>(sections: &[(usize, &'s Section)]) -> Vec<(usize, &'s Opt)> {
    let mut out: Vec<(usize, &Opt)> = Vec::new();
    for (file, section) in sections {
        for opt in &section.options {
            match out.iter_mut().find(|(_, o)| o.key == opt.key) {
                Some(slot) => *slot = (*file, opt),
                None => out.push((*file, opt)),
            }
        }
    }
    out
}

fn here_of(path: &Path) -> String {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.display().to_string(),
        _ => ".".to_string(),
    }
}

/// Reads a file a listener runs (for [`listener::stopper`]); `None` when it cannot.
pub(crate) type ReadScript<'a> = &'a dyn Fn(&Path) -> Option<String>;

/// A converted `[eventlistener:x]`, decided once every program is known.
struct ListenerEntry {
    /// Its items (one per process).
    items: Vec<usize>,
    file: usize,
    command_line: usize,
    sv_name: String,
    command: String,
    argv: Vec<String>,
    events: Vec<String>,
    notes: Vec<(usize, String)>,
    warnings: Vec<(usize, String)>,
}

/// The sections of the converted files, by kind.
#[derive(Default)]
struct Sections<'s> {
    supervisord: Vec<(usize, &'s Section)>,
    unix: Vec<(usize, &'s Section)>,
    inet: Vec<(usize, &'s Section)>,
    groups: Vec<(usize, &'s Section, Kind)>,
    includes: Vec<(usize, &'s Section)>,
    /// Programs and event listeners, in order.
    ordered: Vec<(usize, &'s Section, Kind)>,
}

pub(crate) fn convert_files(
    files: &[SourceFile],
    env: &dyn Fn(&str) -> Option<String>,
    read_script: ReadScript,
) -> Result<Conversion, ImportError> {
    let mut run = Run {
        files,
        shown: files.iter().map(|f| f.path.display().to_string()).collect(),
        heres: files.iter().map(|f| here_of(f.path)).collect(),
        env,
        notes: Vec::new(),
    };
    if files.is_empty() {
        return Err(run.error(0, 0, "no supervisord file to convert"));
    }
    let mut parsed = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        parsed.push(ini::parse(f.text).map_err(|e| run.error(i, e.line, e.message))?);
    }
    let sections = sort_sections(&mut run, &parsed)?;

    let defaults = supervisord_section(&mut run, &sections.supervisord)?;
    let mut doc = Doc {
        sources: run.shown.clone(),
        ..Doc::default()
    };
    http_servers(&mut run, &sections.unix, &sections.inet, &mut doc)?;
    let include_patterns = include(&mut run, &sections.includes)?;
    let groups = group_sections(&mut run, &sections.groups)?;

    let mut entries: Vec<Entry> = Vec::new();
    let mut listeners: Vec<ListenerEntry> = Vec::new();
    let mut generated: Vec<(usize, usize, String, String)> = Vec::new();
    let mut seen: Vec<(String, usize, usize)> = Vec::new();
    for (file, section, kind) in &sections.ordered {
        let (file, section) = (*file, *section);
        let (name, is_listener) = match kind {
            Kind::Program(name) => (name, false),
            Kind::EventListener(name) => (name, true),
            _ => continue,
        };
        let what = if is_listener {
            "event listener"
        } else {
            "program"
        };
        let (supd_name, renamed) = program::supd_name(name, what)
            .map_err(|e| run.error(file, section.line, format!("[{}]: {e}", section.name)))?;
        if let Some(&again) = section.repeated_at.first() {
            return Err(run.error(
                file,
                again,
                format!(
                    "[{}] is defined twice in this file (first on line {}); supd import does \
                     not merge program sections",
                    section.name, section.line
                ),
            ));
        }
        let group = if is_listener {
            None
        } else {
            group_of(&groups, name)
        };
        let input = program::Input {
            section,
            name,
            supd_name: &supd_name,
            group,
            here: run.heres.get(file).map_or(".", String::as_str),
            keys: if is_listener {
                &LISTENER_KEYS
            } else {
                program::PROGRAM_KEYS
            },
        };
        let converted =
            program::convert(&input, &defaults, env).map_err(|f| run.failure(file, f))?;
        let mut notes = converted.notes;
        if renamed {
            notes.insert(
                0,
                (
                    section.line,
                    format!(
                        "renamed to {supd_name:?}: supd {what} names use only letters, digits, \
                         \"_\", \".\" and \"-\""
                    ),
                ),
            );
        }
        let command_line = section.get("command").map_or(section.line, |o| o.line);
        let first_name = converted.programs.first().map(|p| p.out.name.clone());
        let mut items = Vec::new();
        let mut listener_out = None;
        if is_listener {
            listener_out = Some(listener_keys(&mut run, file, section, &mut notes)?);
        }
        let mut programs = converted.programs;
        if let Some(l) = listener_out.as_mut() {
            listener_pool(l, &mut programs, &supd_name, section, &mut notes);
        }
        for (i, mut program) in programs.into_iter().enumerate() {
            let taken = |n: &str| seen.iter().any(|(other, _, _)| other == n);
            if taken(&program.out.name) && program.numprocs == 1 && !taken(&supd_name) {
                // supervisord's names are per group: `a:web` and `b:web` are two processes.
                notes.push((
                    section.line,
                    format!(
                        "the program is {supd_name:?}, not {:?} as supervisord names the \
                         process: another program has that name in supd",
                        program.out.name
                    ),
                ));
                program.out.name = supd_name.clone();
            }
            let out_name = program.out.name.clone();
            if i > 0 && !notes.is_empty() {
                let first = first_name.clone().unwrap_or_default();
                program.out.comments.push(format!(
                    "another process of [{}]; see the notes of {first}",
                    section.name
                ));
            }
            if let Some((_, f, l)) = seen.iter().find(|(n, _, _)| *n == out_name) {
                let first = if *f == file {
                    format!("line {l}")
                } else {
                    format!("{}:{l}", run.shown[*f])
                };
                return Err(run.error(
                    file,
                    section.line,
                    format!("{what} {out_name:?} is defined twice: first at {first}, again here"),
                ));
            }
            seen.push((out_name, file, section.line));
            items.push(doc.items.len());
            if is_listener {
                program.out.listener = listener_out.clone();
            } else {
                entries.push(Entry {
                    item: doc.items.len(),
                    file,
                    line: section.line,
                    command_line,
                    sv_name: name.clone(),
                    group: group.unwrap_or(name).to_string(),
                    group_priority: group.map(|g| group_priority(&groups, g)),
                    priority: converted.priority.map(|(_, p)| p),
                    process_names: program.process_names,
                    numprocs: program.numprocs,
                    notes: if i == 0 { notes.clone() } else { Vec::new() },
                    warnings: if i == 0 {
                        converted.warnings.clone()
                    } else {
                        Vec::new()
                    },
                });
            }
            doc.items.push(Item::Program(Box::new(program.out)));
        }
        if is_listener {
            let command = section.get("command").map_or("", |o| o.value.as_str());
            let argv = match doc.items.get(items[0]) {
                Some(Item::Program(p)) => p.command.argv(),
                _ => Vec::new(),
            };
            listeners.push(ListenerEntry {
                items,
                file,
                command_line,
                sv_name: name.clone(),
                command: command.to_string(),
                argv,
                events: listener_out.map(|l| l.events).unwrap_or_default(),
                notes,
                warnings: converted.warnings,
            });
        } else if let Some(g) = converted.group {
            generated.push((file, section.line, name.clone(), g));
        }
    }

    watchers(&mut run, &mut doc, &mut entries);
    group_tables(&mut run, &groups, &entries, &mut doc);
    generated_groups(&mut run, &groups, &generated, &entries, &mut doc);
    start_order(&groups, &mut entries, &mut doc);
    stoppers(
        &mut run,
        &mut listeners,
        &mut entries,
        &mut doc,
        read_script,
    );

    // Program notes become comments of their first instance.
    for entry in &entries {
        let scope = format!("[program:{}]", entry.sv_name);
        attach(
            &mut run,
            &mut doc,
            entry.item,
            entry.file,
            &scope,
            &entry.notes,
            &entry.warnings,
        );
    }
    for l in &listeners {
        let scope = format!("[eventlistener:{}]", l.sv_name);
        if let Some(&item) = l.items.first() {
            attach(
                &mut run,
                &mut doc,
                item,
                l.file,
                &scope,
                &l.notes,
                &l.warnings,
            );
        }
    }

    run.notes.sort_by_key(|n| (n.file, n.line));
    for n in &run.notes {
        if n.under_supd {
            doc.comments.push(format!("{} {}", n.scope, n.text));
        }
    }
    let line_of = |n: &Note| {
        let line = format!("{}:{}: {} {}", run.shown[n.file], n.line, n.scope, n.text);
        render::comment(&line)
    };
    let notes = run.notes.iter().map(line_of).collect();
    let warnings = run
        .notes
        .iter()
        .filter(|n| n.warning)
        .map(line_of)
        .collect();
    Ok(Conversion {
        toml: render::render(&doc),
        notes,
        warnings,
        includes: include_patterns,
    })
}

/// The notes (and warnings) of a program or listener: comments of its table, and notes.
fn attach(
    run: &mut Run,
    doc: &mut Doc,
    item: usize,
    file: usize,
    scope: &str,
    notes: &[(usize, String)],
    warnings: &[(usize, String)],
) {
    let Some(Item::Program(p)) = doc.items.get_mut(item) else {
        return;
    };
    let tagged = notes
        .iter()
        .map(|n| (n, false))
        .chain(warnings.iter().map(|w| (w, true)));
    let mut all: Vec<_> = tagged.collect();
    all.sort_by_key(|((line, _), _)| *line);
    for ((line, text), warning) in all {
        p.comments.push(text.clone());
        run.notes.push(Note {
            file,
            line: *line,
            scope: scope.to_string(),
            text: text.clone(),
            under_supd: false,
            warning,
        });
    }
}

/// Every section of every file, by kind; the sections supd ignores or refuses are dealt
/// with here.
fn sort_sections<'s>(run: &mut Run, parsed: &'s [ini::Ini]) -> Result<Sections<'s>, ImportError> {
    let mut s = Sections::default();
    for (file, ini) in parsed.iter().enumerate() {
        for section in &ini.sections {
            let kind = classify(&section.name).map_err(|e| run.error(file, section.line, e))?;
            let scope = format!("[{}]", section.name);
            match &kind {
                Kind::Supervisord => s.supervisord.push((file, section)),
                Kind::UnixHttpServer => s.unix.push((file, section)),
                Kind::InetHttpServer => s.inet.push((file, section)),
                Kind::Group(_) => s.groups.push((file, section, kind.clone())),
                Kind::Include => s.includes.push((file, section)),
                Kind::Supervisorctl => run.note(
                    file,
                    section.line,
                    "[supervisorctl]",
                    "ignored: supervisorctl reads it itself (point its serverurl at a \
                     [supd.http] listen address); supctl uses supd's control socket"
                        .to_string(),
                ),
                Kind::RpcInterface => run.note(
                    file,
                    section.line,
                    &scope,
                    "ignored; supd serves supervisord's XML-RPC interface itself at /RPC2 of \
                     [supd.http]"
                        .to_string(),
                ),
                Kind::CtlPlugin => run.note(
                    file,
                    section.line,
                    &scope,
                    "ignored; supervisorctl loads its plugins itself, and supctl has none"
                        .to_string(),
                ),
                Kind::Unknown(hint) => run.warn(
                    file,
                    section.line,
                    &scope,
                    format!("ignored, as supervisord ignores sections it does not know{hint}"),
                ),
                Kind::FcgiProgram(_) => {
                    return Err(run.error(
                        file,
                        section.line,
                        format!(
                            "{scope} cannot be converted: supd does not hold sockets for its \
                             programs yet, so this FastCGI pool would run without its socket \
                             (make it a [program:x] whose command opens the socket itself)"
                        ),
                    ));
                }
                Kind::Program(_) | Kind::EventListener(_) => {
                    s.ordered.push((file, section, kind));
                }
            }
        }
    }
    Ok(s)
}

const SUPERVISORD_KEYS: &[&str] = &[
    "logfile",
    "logfile_maxbytes",
    "logfile_backups",
    "loglevel",
    "pidfile",
    "umask",
    "nodaemon",
    "silent",
    "minfds",
    "minprocs",
    "nocleanup",
    "childlogdir",
    "user",
    "directory",
    "strip_ansi",
    "environment",
    "identifier",
    "profile_options",
];

/// `[supervisord]`: the settings every program inherits, and notes for the rest.
fn supervisord_section(
    run: &mut Run,
    sections: &[(usize, &Section)],
) -> Result<Defaults, ImportError> {
    const SCOPE: &str = "[supervisord]";
    let mut defaults = Defaults::default();
    for (file, opt) in merged(sections) {
        let shown = format!("{}={}", opt.key, crate::shorten(&opt.value));
        let dropped = match opt.key.as_str() {
            "environment" => {
                let pairs = crate::values::environment(&opt.value)
                    .map_err(|e| run.error(file, opt.line, format!("{SCOPE} {e}")))?;
                for pair in pairs {
                    let value = expand(&pair.raw_value, &run.ctx(file)).map_err(|e| {
                        run.error(
                            file,
                            opt.line,
                            format!("{SCOPE} environment: {}: {e}", pair.key),
                        )
                    })?;
                    defaults.environment.push((pair.key, value));
                }
                run.note(
                    file,
                    opt.line,
                    SCOPE,
                    "environment: merged into every program's environment".to_string(),
                );
                continue;
            }
            "user" => {
                let user = run.text(file, SCOPE, opt)?.render();
                // A `${VAR}` only supd can resolve; any other value is checked now.
                if !user.contains("${") {
                    user.parse::<supd_config::UserSpec>()
                        .map_err(|e| run.error(file, opt.line, format!("{SCOPE} user: {e}")))?;
                }
                run.note(
                    file,
                    opt.line,
                    SCOPE,
                    format!(
                        "{shown}: supd does not switch users itself; every program without its \
                     own user runs as {user:?}"
                    ),
                );
                defaults.user = Some(user);
                continue;
            }
            "directory" => {
                let dir = run.text(file, SCOPE, opt)?.render();
                if dir.is_empty() {
                    let message = format!("{SCOPE} directory: the directory is empty");
                    return Err(run.error(file, opt.line, message));
                }
                run.note(
                    file,
                    opt.line,
                    SCOPE,
                    format!("{shown}: every program without its own directory starts in it"),
                );
                if program::is_relative(&dir) {
                    run.note(
                        file,
                        opt.line,
                        SCOPE,
                        program::relative_note("directory", &dir),
                    );
                }
                defaults.directory = Some(dir);
                continue;
            }
            "umask" => {
                let text = run.text(file, SCOPE, opt)?;
                let umask = octal_mode(run, file, opt, SCOPE, &text)?;
                run.note(
                    file,
                    opt.line,
                    SCOPE,
                    format!("{shown}: set on every program without its own umask"),
                );
                defaults.umask = Some(umask);
                continue;
            }
            "nodaemon" => "dropped; supd always runs in the foreground",
            "logfile" => "dropped; supd writes its own messages to its standard error",
            "logfile_maxbytes" | "logfile_backups" => "dropped; supd has no log file of its own",
            "loglevel" => {
                "dropped; supd's log level comes from its environment (SUPD_LOG=debug or \
                 SUPD_LOG=warn)"
            }
            "pidfile" => "dropped; supd writes no pid file (supctl reaches it through the socket)",
            "minfds" | "minprocs" => {
                "dropped; supd does not raise resource limits (use ulimit or the container runtime)"
            }
            "nocleanup" | "childlogdir" => "dropped; supd writes no AUTO child log files",
            "identifier" => {
                "dropped; XML-RPC getIdentification answers supervisord's default, \"supervisor\""
            }
            "strip_ansi" => "dropped; supd passes program output through unchanged",
            "silent" => "dropped; supd always prints program output",
            "profile_options" => "dropped; supd has no profiler",
            key => {
                let text = crate::ignored_option(key, &opt.value, SUPERVISORD_KEYS);
                run.warn(file, opt.line, SCOPE, text);
                continue;
            }
        };
        run.note(file, opt.line, SCOPE, format!("{shown}: {dropped}"));
    }
    Ok(defaults)
}

fn octal_mode(
    run: &Run,
    file: usize,
    opt: &Opt,
    scope: &str,
    text: &Text,
) -> Result<String, ImportError> {
    match text.literal() {
        Some(s) => match crate::values::octal(&s) {
            Ok(m) if m <= 0o777 => Ok(format!("{m:04o}")),
            Ok(m) => Err(run.error(
                file,
                opt.line,
                format!(
                    "{scope} {}: mode 0o{m:o} is out of range (at most 0o777)",
                    opt.key
                ),
            )),
            Err(e) => Err(run.error(file, opt.line, format!("{scope} {}: {e}", opt.key))),
        },
        None => Ok(text.render()),
    }
}

/// `[unix_http_server]` and `[inet_http_server]` -> `[supd.http] listen` entries; the unix
/// server's directory also gets supd's control socket (`supd.sock`), and its `chmod` and
/// `chown` group apply to that socket too (`socket_mode`, `socket_group`).
fn http_servers(
    run: &mut Run,
    unix: &[(usize, &Section)],
    inet: &[(usize, &Section)],
    doc: &mut Doc,
) -> Result<(), ImportError> {
    let mut listen = Vec::new();
    if let Some((file, line)) = unix.first().map(|(f, s)| (*f, s.line)) {
        listen.push(unix_http_server(run, unix, doc, file, line)?);
    }
    if let Some((file, line)) = inet.first().map(|(f, s)| (*f, s.line)) {
        listen.push(inet_http_server(run, inet, file, line)?);
    }
    if !listen.is_empty() {
        doc.http = Some(http::http(listen));
    }
    Ok(())
}

/// `username` and `password` of an HTTP server: both or neither, as supervisord requires.
fn credentials(
    run: &mut Run,
    scope: &str,
    options: &[(usize, &Opt)],
    at: (usize, usize),
) -> Result<(Option<String>, Option<String>), ImportError> {
    let mut username = None;
    let mut password = None;
    for (file, opt) in options {
        let slot = match opt.key.as_str() {
            "username" => &mut username,
            "password" => &mut password,
            _ => continue,
        };
        *slot = Some(run.text(*file, scope, opt)?.render());
    }
    if username.is_some() != password.is_some() {
        let (file, line) = at;
        return Err(run.error(
            file,
            line,
            format!(
                "{scope} has a username or a password but not both (supervisord refuses it too)"
            ),
        ));
    }
    Ok((username, password))
}

/// `[unix_http_server]` -> a `unix:PATH` listen entry, and `[supd] socket` beside it.
fn unix_http_server(
    run: &mut Run,
    sections: &[(usize, &Section)],
    doc: &mut Doc,
    first_file: usize,
    first_line: usize,
) -> Result<ListenOut, ImportError> {
    const SCOPE: &str = "[unix_http_server]";
    const KEYS: &[&str] = &["file", "chmod", "chown", "username", "password"];
    let options = merged(sections);
    let mut entry = ListenOut::default();
    let mut file_seen = false;
    let mut chown_group = None;
    for &(file, opt) in &options {
        match opt.key.as_str() {
            "file" => {
                let text = run.text(file, SCOPE, opt)?;
                let mut socket = text.render();
                if let Some(rest) = socket
                    .strip_prefix('~')
                    .filter(|r| r.is_empty() || r.starts_with('/'))
                {
                    socket = format!("${{HOME}}{rest}");
                    run.note(
                        file,
                        opt.line,
                        SCOPE,
                        "file: \"~\" became ${HOME}".to_string(),
                    );
                }
                if socket.is_empty() {
                    return Err(run.error(
                        file,
                        opt.line,
                        format!("{SCOPE} file: the socket path is empty"),
                    ));
                }
                if program::is_relative(&socket) {
                    run.note(
                        file,
                        opt.line,
                        SCOPE,
                        program::relative_note("file", &socket),
                    );
                }
                let control = http::control_socket_beside(&socket);
                run.note(
                    file,
                    opt.line,
                    SCOPE,
                    format!(
                        "file={}: supervisord's HTTP socket, where supervisorctl and XML-RPC \
                         clients connect ([supd.http] listen); supd's own control socket, for \
                         supctl, is {control:?} beside it",
                        crate::shorten(&socket)
                    ),
                );
                entry.address = format!("unix:{socket}");
                doc.socket = Some(control);
                file_seen = true;
            }
            "chmod" => {
                let text = run.text(file, SCOPE, opt)?;
                let mode = octal_mode(run, file, opt, SCOPE, &text)?;
                entry.mode = Some(mode.clone());
                doc.socket_mode = Some(mode);
            }
            "chown" => {
                let value = run.now(file, SCOPE, opt)?;
                if value.parse::<supd_config::UserSpec>().is_err() {
                    let message = format!(
                        "{SCOPE} chown: expected USER or USER:GROUP, found {:?}",
                        supd_config::shorten(&value)
                    );
                    return Err(run.error(file, opt.line, message));
                }
                if let Some((_, group)) = value.split_once(':') {
                    if group.contains(':') || group.parse::<supd_config::UserSpec>().is_err() {
                        let message = format!(
                            "{SCOPE} chown: expected USER or USER:GROUP, found {:?}",
                            supd_config::shorten(&value)
                        );
                        return Err(run.error(file, opt.line, message));
                    }
                    chown_group = Some((file, opt.line, value.clone(), group.to_string()));
                }
                entry.owner = Some(Text::lit(&value).render());
            }
            "username" | "password" => {}
            key => {
                let text = crate::ignored_option(key, &opt.value, KEYS);
                run.warn(file, opt.line, SCOPE, text);
            }
        }
    }
    if !file_seen {
        return Err(run.error(
            first_file,
            first_line,
            format!("{SCOPE} has no file setting (supervisord refuses it too)"),
        ));
    }
    if let Some((file, line, value, group)) = chown_group {
        // supervisord's default chmod is 0700: the group gets nothing.
        let mode = doc.socket_mode.as_deref().unwrap_or("0700");
        let group_rw = u32::from_str_radix(mode, 8).is_ok_and(|m| m & 0o060 == 0o060);
        let text = if group_rw {
            doc.socket_group = Some(Text::lit(&group).render());
            format!(
                "chown={value}: the HTTP socket's owner; supd's control socket gets \
                 socket_group = {group:?} (its members may control supd)"
            )
        } else {
            format!(
                "chown={value}: the HTTP socket's owner; chmod={mode} gives its group no access, \
                 so supd's control socket gets no socket_group either"
            )
        };
        run.note(file, line, SCOPE, text);
    }
    (entry.username, entry.password) = credentials(run, SCOPE, &options, (first_file, first_line))?;
    Ok(entry)
}

/// `[inet_http_server]` -> a `HOST:PORT` listen entry. Without a password, an address
/// other than loopback becomes `127.0.0.1:PORT` (supd refuses to serve the network without
/// one), with a warning.
fn inet_http_server(
    run: &mut Run,
    sections: &[(usize, &Section)],
    first_file: usize,
    first_line: usize,
) -> Result<ListenOut, ImportError> {
    const SCOPE: &str = "[inet_http_server]";
    const KEYS: &[&str] = &["port", "username", "password"];
    let options = merged(sections);
    let mut entry = ListenOut::default();
    let mut port_at = None;
    for &(file, opt) in &options {
        match opt.key.as_str() {
            "port" => {
                let value = run.now(file, SCOPE, opt)?;
                entry.address = http::tcp_address(&value)
                    .map_err(|e| run.error(file, opt.line, format!("{SCOPE} port: {e}")))?;
                port_at = Some((file, opt.line, value));
            }
            "username" | "password" => {}
            key => {
                let text = crate::ignored_option(key, &opt.value, KEYS);
                run.warn(file, opt.line, SCOPE, text);
            }
        }
    }
    let Some((file, line, port)) = port_at else {
        return Err(run.error(
            first_file,
            first_line,
            format!("{SCOPE} has no port setting (supervisord refuses it too)"),
        ));
    };
    (entry.username, entry.password) = credentials(run, SCOPE, &options, (first_file, first_line))?;
    if entry.password.is_none() && !http::is_loopback(&entry.address) {
        let loopback = format!("127.0.0.1:{}", http::port_of(&entry.address));
        run.warn(
            file,
            line,
            SCOPE,
            format!(
                "port={port}: listens on {loopback}, not {}: supd serves the network only \
                 with a password (set username and password to listen there)",
                entry.address
            ),
        );
        entry.address = loopback;
    }
    Ok(entry)
}

/// `[include] files = ...` of the main file -> glob patterns resolved against its directory.
fn include(run: &mut Run, sections: &[(usize, &Section)]) -> Result<Vec<PathBuf>, ImportError> {
    const SCOPE: &str = "[include]";
    let mut patterns = Vec::new();
    for (file, section) in sections {
        let file = *file;
        if file > 0 {
            run.note(
                file,
                section.line,
                SCOPE,
                "ignored: supervisord does not follow includes of included files".to_string(),
            );
            continue;
        }
        for opt in &section.options {
            if opt.key != "files" {
                let text = crate::ignored_option(&opt.key, &opt.value, &["files"]);
                run.warn(file, opt.line, SCOPE, text);
            }
        }
        let Some(opt) = section.get("files") else {
            return Err(run.error(file, section.line, "[include] has no files setting"));
        };
        let value = run.now(file, SCOPE, opt)?;
        let here = PathBuf::from(run.heres.first().map_or(".", String::as_str));
        for word in value.split_whitespace() {
            let p = Path::new(word);
            patterns.push(if p.is_absolute() {
                p.to_path_buf()
            } else {
                here.join(p)
            });
        }
        let what = if run.files.len() > 1 {
            "the files it matches are merged into this file (supd's own `[supd] include` reads \
             only supd TOML files)"
        } else {
            "the files it matches are not part of this conversion"
        };
        run.note(
            file,
            opt.line,
            SCOPE,
            format!("files={}: {what}", crate::shorten(&value)),
        );
    }
    Ok(patterns)
}

/// One `[group:g]` section, read.
struct GroupSection {
    file: usize,
    line: usize,
    /// The `g`.
    name: String,
    /// Its supd name; `renamed` when that differs from `name`.
    supd_name: String,
    renamed: bool,
    programs_line: usize,
    /// The `x` of each `[program:x]` it lists, in order.
    members: Vec<String>,
    /// The line and value of its `priority`.
    priority: Option<(usize, i64)>,
}

/// Reads the `[group:g]` sections (before any program is converted: programs need their
/// group for `%(group_name)s`). A group defined again in a later file replaces the earlier
/// one, as supervisord's parser does.
fn group_sections(
    run: &mut Run,
    groups: &[(usize, &Section, Kind)],
) -> Result<Vec<GroupSection>, ImportError> {
    const KEYS: &[&str] = &["programs", "priority"];
    let mut read: Vec<GroupSection> = Vec::new();
    for (file, section, kind) in groups {
        let (file, section) = (*file, *section);
        let Kind::Group(name) = kind else { continue };
        let scope = format!("[group:{name}]");
        for opt in &section.options {
            if !KEYS.contains(&opt.key.as_str()) {
                let text = crate::ignored_option(&opt.key, &opt.value, KEYS);
                run.warn(file, opt.line, &scope, text);
            }
        }
        let (supd_name, renamed) = program::supd_name(name, "group")
            .map_err(|e| run.error(file, section.line, format!("{scope}: {e}")))?;
        let Some(opt) = section.get("programs") else {
            return Err(run.error(
                file,
                section.line,
                format!("{scope} has no programs setting"),
            ));
        };
        let value = run.now(file, &scope, opt)?;
        let mut members: Vec<String> = Vec::new();
        for member in value
            .split(',')
            .map(ini::py_strip)
            .filter(|s| !s.is_empty())
        {
            if !members.iter().any(|m| m == member) {
                members.push(member.to_string());
            }
        }
        let priority = match section.get("priority") {
            Some(opt) => {
                let value = run.now(file, &scope, opt)?;
                let n = crate::values::integer(&value)
                    .map_err(|e| run.error(file, opt.line, format!("{scope} priority: {e}")))?;
                Some((opt.line, n))
            }
            None => None,
        };
        let group = GroupSection {
            file,
            line: section.line,
            name: name.clone(),
            supd_name,
            renamed,
            programs_line: opt.line,
            members,
            priority,
        };
        if let Some(slot) = read.iter_mut().find(|g| g.name == group.name) {
            *slot = group;
            continue;
        }
        if let Some(other) = read.iter().find(|g| g.supd_name == group.supd_name) {
            return Err(run.error(
                file,
                section.line,
                format!(
                    "{scope} and [group:{}] ({}:{}) both become the supd group {:?}",
                    other.name, run.shown[other.file], other.line, group.supd_name
                ),
            ));
        }
        read.push(group);
    }
    Ok(read)
}

/// The group of program `x`: the first `[group:g]` that lists it.
fn group_of<'g>(groups: &'g [GroupSection], program: &str) -> Option<&'g str> {
    groups
        .iter()
        .find(|g| g.members.iter().any(|m| m == program))
        .map(|g| g.name.as_str())
}

/// `[group:g] programs=a,b` -> `[group.g] programs = ["a", "b"]`, with the supd names of
/// the members as converted: the base name of a table with `instances`, every program of a
/// `numprocs` section that stayed separate programs. Runs after [`watchers`]: a member that
/// became a watch section is left out, and so is one that is not defined; a group left with
/// no member is not written.
fn group_tables(run: &mut Run, groups: &[GroupSection], entries: &[Entry], doc: &mut Doc) {
    for group in groups {
        let scope = format!("[group:{}]", group.name);
        let mut notes: Vec<(usize, String)> = Vec::new();
        if group.renamed {
            notes.push((
                group.line,
                format!(
                    "renamed to {:?}: supd group names use only letters, digits, \"_\", \".\" \
                     and \"-\"",
                    group.supd_name
                ),
            ));
        }
        let mut programs: Vec<String> = Vec::new();
        for member in &group.members {
            let mine: Vec<&Entry> = entries.iter().filter(|e| e.sv_name == *member).collect();
            if mine.is_empty() {
                notes.push((
                    group.programs_line,
                    format!(
                        "names the program {member:?}, which is not defined in the converted \
                         files; left out"
                    ),
                ));
            }
            for entry in mine {
                match doc.items.get(entry.item) {
                    Some(Item::Program(p)) => {
                        if !programs.contains(&p.name) {
                            programs.push(p.name.clone());
                        }
                    }
                    _ => notes.push((
                        group.programs_line,
                        format!(
                            "names the program {member:?}, which became a watch section; left \
                             out"
                        ),
                    )),
                }
            }
        }
        if let Some((line, value)) = &group.priority {
            notes.push((
                *line,
                format!(
                    "priority={value}: orders the start of its programs among the others (see \
                     their depends_on)"
                ),
            ));
        }
        if programs.is_empty() {
            run.note(
                group.file,
                group.line,
                &scope,
                "not converted: none of its programs is in the converted config".to_string(),
            );
            for (line, text) in notes {
                run.note(group.file, line, &scope, text);
            }
            continue;
        }
        for (line, text) in &notes {
            run.note_elsewhere(group.file, *line, &scope, text.clone());
        }
        doc.groups.push(GroupOut {
            name: group.supd_name.clone(),
            comments: notes.into_iter().map(|(_, text)| text).collect(),
            programs,
        });
    }
}

/// The `priority` of the `[group:g]` named `g` (supervisord's default when unset).
fn group_priority(groups: &[GroupSection], g: &str) -> i64 {
    groups
        .iter()
        .find(|s| s.name == g)
        .and_then(|s| s.priority)
        .map_or(order::DEFAULT_PRIORITY, |(_, p)| p)
}

/// `events`, `buffer_size` and `result_handler` of an `[eventlistener:x]`.
fn listener_keys(
    run: &mut Run,
    file: usize,
    section: &Section,
    notes: &mut Vec<(usize, String)>,
) -> Result<ListenerOut, ImportError> {
    let scope = format!("[{}]", section.name);
    let Some(opt) = section.get("events") else {
        return Err(run.error(
            file,
            section.line,
            format!("{scope} has no events setting (supervisord refuses it too)"),
        ));
    };
    let events = listener::events(&run.now(file, &scope, opt)?);
    let buffer_size = match section.get("buffer_size") {
        Some(opt) => {
            let value = run.now(file, &scope, opt)?;
            let n = crate::values::integer(&value)
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    run.error(
                        file,
                        opt.line,
                        format!(
                            "{scope} buffer_size: expected a number, 0 or more, found {value:?}"
                        ),
                    )
                })?;
            Some(n)
        }
        None => None,
    };
    if let Some(opt) = section.get("result_handler") {
        notes.push((
            opt.line,
            format!(
                "result_handler={}: dropped; supd reads the listener's results as \
                 supervisord's default handler does (OK, FAIL)",
                crate::shorten(&opt.value)
            ),
        ));
    }
    Ok(ListenerOut {
        events,
        buffer_size,
        instances: None,
    })
}

/// A listener pool (`numprocs = N`) stays one `[eventlistener.x]` with `instances`: each
/// event goes to one listener of the pool, not to each. The keys a listener table does not
/// take become notes.
fn listener_pool(
    listener: &mut ListenerOut,
    programs: &mut Vec<program::Program>,
    supd_name: &str,
    section: &Section,
    notes: &mut Vec<(usize, String)>,
) {
    let line_of = |key: &str| section.get(key).map_or(section.line, |o| o.line);
    if programs.len() > 1 {
        let n = programs.len();
        programs.truncate(1);
        programs[0].out.name = supd_name.to_string();
        listener.instances = i64::try_from(n).ok();
        notes.retain(|(_, text)| !text.starts_with("numprocs="));
        notes.push((
            line_of("numprocs"),
            format!(
                "numprocs={n}: one [eventlistener.{supd_name}] with instances = {n}, a pool: each \
                 event goes to one of its listeners; %(process_num)s is that of the first"
            ),
        ));
    }
    let Some(p) = programs.first_mut() else {
        return;
    };
    if p.out.stdout.take().is_some() && section.get("stdout_logfile").is_some() {
        notes.push((
            line_of("stdout_logfile"),
            "stdout_logfile: dropped; a listener's standard output is the listener protocol"
                .to_string(),
        ));
    }
    if p.out.stdout_events {
        p.out.stdout_events = false;
        notes.push((
            line_of("stdout_events_enabled"),
            "stdout_events_enabled: dropped; a listener's standard output is the listener \
             protocol"
                .to_string(),
        ));
    }
}

/// `[group.x]` for the processes of `[program:x]` when supd names them otherwise than `x`
/// (`numprocs`, `process_name`) and no `[group:g]` lists them: supervisord's group of them.
fn generated_groups(
    run: &mut Run,
    groups: &[GroupSection],
    generated: &[(usize, usize, String, String)],
    entries: &[Entry],
    doc: &mut Doc,
) {
    for (file, line, sv_name, group) in generated {
        let scope = format!("[program:{sv_name}]");
        let taken = groups.iter().any(|g| g.supd_name == *group)
            || doc.groups.iter().any(|g| g.name == *group);
        if taken {
            run.note_elsewhere(
                *file,
                *line,
                &scope,
                format!("its processes are not grouped as {group:?}: a [group:{group}] exists"),
            );
            continue;
        }
        let programs: Vec<String> = entries
            .iter()
            .filter(|e| e.sv_name == *sv_name)
            .filter_map(|e| match doc.items.get(e.item) {
                Some(Item::Program(p)) => Some(p.name.clone()),
                _ => None,
            })
            .collect();
        if programs.is_empty() {
            continue;
        }
        doc.groups.push(GroupOut {
            name: group.clone(),
            comments: vec![format!(
                "the processes of [program:{sv_name}], supervisord's group {sv_name:?}"
            )],
            programs,
        });
    }
}

/// supervisord's `priority` as `depends_on` chains (see [`crate::order`]), with a note on
/// each program that waits.
fn start_order(groups: &[GroupSection], entries: &mut [Entry], doc: &mut Doc) {
    let any_priority =
        entries.iter().any(|e| e.priority.is_some()) || groups.iter().any(|g| g.priority.is_some());
    if !any_priority {
        return;
    }
    let mut ranked = Vec::new();
    let mut positions = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(Item::Program(p)) = doc.items.get(e.item) else {
            continue;
        };
        let own = e.priority.unwrap_or(order::DEFAULT_PRIORITY);
        let autostart = p.autostart.unwrap_or(true);
        let keeps_running = p.restart.as_ref().is_none_or(|r| r.value != "never");
        ranked.push(order::Ranked {
            key: (e.group_priority.unwrap_or(own), own),
            autostart,
            awaitable: autostart && keeps_running,
        });
        positions.push(i);
    }
    let chains = order::chains(&ranked);
    for (at, waits) in chains.iter().enumerate() {
        if waits.is_empty() {
            continue;
        }
        let names: Vec<String> = waits
            .iter()
            .filter_map(|&w| match doc.items.get(entries[positions[w]].item) {
                Some(Item::Program(p)) => Some(p.name.clone()),
                _ => None,
            })
            .collect();
        let (group_key, own_key) = ranked[waits[0]].key;
        let entry = &mut entries[positions[at]];
        if let Some(Item::Program(p)) = doc.items.get_mut(entry.item) {
            p.depends_on = names.clone();
        }
        let (mine, theirs) = if ranked[at].key.0 != group_key {
            (ranked[at].key.0, group_key)
        } else {
            (ranked[at].key.1, own_key)
        };
        let line = entry.line;
        entry.notes.push((
            line,
            format!(
                "priority {mine}: depends_on = [{}] (priority {theirs}), since supervisord \
                 starts lower priorities first; supd waits until they run, and does not start \
                 this program if one fails for good",
                names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
}

/// The listener's script, when its command runs a file that can be read.
fn script_of(l: &ListenerEntry, here: &str, read: ReadScript) -> Option<String> {
    let path = listener::script_path(&l.argv)?;
    let path = if path.starts_with('/') {
        PathBuf::from(path)
    } else {
        Path::new(here).join(path)
    };
    read(&path)
}

/// The listeners that stop supervisord when a program dies become `critical = true` on
/// the programs they watched; the others stay `[eventlistener.x]`.
fn stoppers(
    run: &mut Run,
    listeners: &mut [ListenerEntry],
    entries: &mut [Entry],
    doc: &mut Doc,
    read: ReadScript,
) {
    let programs: Vec<String> = entries.iter().map(|e| e.sv_name.clone()).collect();
    let programs: Vec<&str> = programs.iter().map(String::as_str).collect();
    for l in listeners.iter_mut() {
        let here = run.heres.get(l.file).map_or(".", String::as_str);
        let script = script_of(l, here, read);
        let Some(stopper) =
            listener::stopper(&l.command, &l.argv, &l.events, script.as_deref(), &programs)
        else {
            continue;
        };
        let scope = format!("[eventlistener:{}]", l.sv_name);
        let mut critical = Vec::new();
        for e in entries.iter_mut() {
            let watched = stopper.watched.is_empty() || stopper.watched.contains(&e.sv_name);
            let Some(Item::Program(p)) = doc.items.get_mut(e.item).filter(|_| watched) else {
                continue;
            };
            p.critical = Some(true);
            critical.push(p.name.clone());
            let exited = if l.events.iter().any(|e| e == "PROCESS_STATE_EXITED") {
                " (it also stopped it on any exit, expected or not: supd does not)"
            } else {
                ""
            };
            let line = e.line;
            e.notes.push((
                line,
                format!(
                    "critical = true: {scope} (line {}) stopped supervisord when this program \
                     died{exited}; supd shuts down when a critical program fails for good",
                    l.command_line
                ),
            ));
        }
        let watched = if stopper.watched.is_empty() {
            "every program".to_string()
        } else {
            stopper.watched.join(", ")
        };
        let text = format!(
            "dropped: it stops supervisord when a program dies ({}, on {}), which supd does \
             itself for critical programs; critical = true on {watched}",
            stopper.how,
            l.events.join(",")
        );
        for &item in &l.items {
            doc.items[item] =
                Item::Dropped(vec![format!("{scope} (line {}) {text}", l.command_line)]);
        }
        run.note_elsewhere(l.file, l.command_line, &scope, text);
        l.notes.clear();
        l.warnings.clear();
        let _ = critical;
    }
}

/// supervisorctl names -> the entries they mean: `name`, `group:*`, `group:process`
/// (each process of a `numprocs` section is an entry of its own).
fn resolve_target(spec: &str, entries: &[Entry]) -> Vec<usize> {
    let matching = |keep: &dyn Fn(&Entry) -> bool| {
        entries
            .iter()
            .enumerate()
            .filter(|(_, e)| keep(e))
            .map(|(i, _)| i)
            .collect()
    };
    match spec.split_once(':') {
        Some((group, "" | "*")) => matching(&|e| e.group == group),
        Some((group, process)) => {
            matching(&|e| e.group == group && e.process_names.iter().any(|p| p == process))
        }
        None => matching(&|e| {
            e.sv_name == spec || (e.numprocs == 1 && e.process_names.iter().any(|p| p == spec))
        }),
    }
}

/// `p` (relative to the watcher's directory) as a watch path of a program whose own
/// directory is `target_dir` (supd resolves watch paths against it).
fn watch_path(p: &str, watcher_dir: Option<&str>, target_dir: Option<&str>) -> Option<String> {
    if !program::is_relative(p) || watcher_dir == target_dir {
        return Some(p.to_string());
    }
    let dir = watcher_dir?;
    let rel = p.strip_prefix("./").unwrap_or(p);
    if rel == "." || rel.is_empty() {
        return Some(dir.to_string());
    }
    Some(format!("{}/{rel}", dir.trim_end_matches('/')))
}

/// Turns recognised entr watchers into watch sections of the programs they restart.
fn watchers(run: &mut Run, doc: &mut Doc, entries: &mut [Entry]) {
    for w in 0..entries.len() {
        let Some(Item::Program(watcher)) = doc.items.get(entries[w].item) else {
            continue;
        };
        if entries[w].numprocs != 1 {
            continue;
        }
        let argv = watcher.command.argv();
        let watcher_dir = watcher.directory.clone();
        let command_line = entries[w].command_line;
        let found = match entr::detect(&argv) {
            Detect::NotEntr => continue,
            Detect::Unrecognized(reason) => {
                entries[w].notes.push((command_line, format!(
                    "command: uses entr, but {reason}; it stays a program (a watch section on the \
                     program it restarts would replace it)"
                )));
                continue;
            }
            Detect::Watcher(found) => found,
        };
        let mut targets: Vec<usize> = Vec::new();
        let mut problem = None;
        for spec in &found.targets {
            let hits = resolve_target(spec, entries);
            if hits.is_empty() {
                problem = Some(format!("{spec:?} is not a program of the converted files"));
            }
            for t in hits {
                if t == w {
                    problem = Some("it restarts itself".to_string());
                } else if let Some(Item::Program(p)) = doc.items.get(entries[t].item)
                    && p.watch.is_some()
                {
                    problem = Some(format!("{} already has a watch section", p.name));
                }
                if !targets.contains(&t) {
                    targets.push(t);
                }
            }
        }
        let mut paths_by_target = Vec::new();
        for &t in &targets {
            let Some(Item::Program(p)) = doc.items.get(entries[t].item) else {
                continue;
            };
            let paths: Option<Vec<String>> = found
                .paths
                .iter()
                .map(|path| watch_path(path, watcher_dir.as_deref(), p.directory.as_deref()))
                .collect();
            match paths {
                Some(paths) => paths_by_target.push((t, paths)),
                None => {
                    problem = Some(
                        "it watches relative paths and has no directory, so they were relative to \
                         supervisord's working directory"
                            .to_string(),
                    );
                }
            }
        }
        if let Some(problem) = problem {
            entries[w].notes.push((
                command_line,
                format!("command: an entr watcher, but {problem}; it stays a program"),
            ));
            continue;
        }
        let action = match &found.action {
            entr::Action::Restart => "restart".to_string(),
            entr::Action::Signal(sig) => sig.clone(),
        };
        let verb = match &found.action {
            entr::Action::Restart => "restart".to_string(),
            entr::Action::Signal(sig) => format!("signal {sig}"),
        };
        let sv_watcher = entries[w].sv_name.clone();
        let mut target_tables = Vec::new();
        for (t, paths) in paths_by_target {
            let item = entries[t].item;
            if let Some(Item::Program(p)) = doc.items.get_mut(item) {
                p.watch = Some(WatchOut {
                    paths,
                    include: found.include.clone(),
                    exclude: found.exclude.clone(),
                    action: action.clone(),
                });
                target_tables.push(format!("[program.{}.watch]", render::key(&p.name)));
            }
            let target_line = entries[t].line;
            entries[t].notes.push((
                target_line,
                format!(
                    "watch: converted from [program:{sv_watcher}] (line {command_line}), an entr \
                     watcher that ran `supervisorctl {verb} {}`; that program is dropped",
                    found.targets.join(" ")
                ),
            ));
        }
        let text = format!(
            "dropped; its entr watcher became {}",
            target_tables.join(", ")
        );
        let scope = format!("[program:{sv_watcher}]");
        doc.items[entries[w].item] =
            Item::Dropped(vec![format!("{scope} (line {command_line}) {text}")]);
        entries[w].notes.clear();
        run.note_elsewhere(entries[w].file, command_line, &scope, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_kinds() {
        assert_eq!(classify("program: web "), Ok(Kind::Program("web".into())));
        assert_eq!(classify("group:g"), Ok(Kind::Group("g".into())));
        assert_eq!(classify("rpcinterface:supervisor"), Ok(Kind::RpcInterface));
        assert_eq!(classify("foo:bar"), Ok(Kind::Unknown(String::new())));
        assert_eq!(
            classify("programs:x"),
            Ok(Kind::Unknown(" (did you mean [program:...]?)".into()))
        );
        assert_eq!(
            classify("supervisor"),
            Ok(Kind::Unknown(" (did you mean [supervisord]?)".into()))
        );
        assert!(classify("DEFAULT").unwrap_err().contains("[DEFAULT]"));
    }

    #[test]
    fn watch_paths_follow_the_watcher_directory() {
        assert_eq!(
            watch_path("/abs", None, Some("/x")).as_deref(),
            Some("/abs")
        );
        assert_eq!(
            watch_path("src", Some("/app"), Some("/app")).as_deref(),
            Some("src")
        );
        assert_eq!(
            watch_path(".", Some("/app"), Some("/other")).as_deref(),
            Some("/app")
        );
        assert_eq!(
            watch_path("./src", Some("/app/"), None).as_deref(),
            Some("/app/src")
        );
        assert_eq!(watch_path("src", None, Some("/app")), None);
        assert_eq!(watch_path("src", None, None).as_deref(), Some("src"));
    }
}
