//! The whole conversion: source files -> sections -> one supd document.
//!
//! This module owns what is not about a single program: which sections exist and what
//! becomes of each (`[supervisord]`, `[unix_http_server]`, `[include]`, `[group:x]` as
//! `[group.x]` tables of the converted programs, the dropped ones, unknown ones as errors),
//! merging the main file with its included files (a program defined twice is an error
//! naming both places), turning entr watchers into watch sections of the programs they
//! restart, and collecting the notes. Each `[program:x]` itself is converted by
//! [`crate::program`].
//!
//! Order follows supervisord: `[supervisord]` is read first wherever it is (its `user`,
//! `directory`, `umask` and `environment` apply to every program), then programs in file
//! order (main file, then included files in the order given).

use std::path::{Path, PathBuf};

use crate::entr::{self, Detect};
use crate::expand::{Ctx, Text, expand};
use crate::ini::{self, Opt, Section};
use crate::program::{self, Defaults, Failure};
use crate::render::{self, Doc, GroupOut, Item, WatchOut};
use crate::{Conversion, ImportError, SourceFile};

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
                return Err(format!("unknown section [{name}]{hint}"));
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
    /// supervisord's names of the processes the program runs (several for `instances`).
    process_names: Vec<String>,
    numprocs: i64,
    notes: Vec<(usize, String)>,
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
        self.notes.push(Note {
            file,
            line,
            scope: scope.to_string(),
            text,
            under_supd: true,
        });
    }

    /// A note whose comment is written elsewhere than under `[supd]`.
    fn note_elsewhere(&mut self, file: usize, line: usize, scope: &str, text: String) {
        self.notes.push(Note {
            file,
            line,
            scope: scope.to_string(),
            text,
            under_supd: false,
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

fn unknown_key(scope: &str, key: &str, known: &[&str]) -> String {
    let hint = supd_config::closest(key, known.iter().copied())
        .map(|k| format!(" (did you mean {k:?}?)"))
        .unwrap_or_default();
    format!("unknown option {key:?} in {scope}{hint}")
}

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

pub(crate) fn convert_files(
    files: &[SourceFile],
    env: &dyn Fn(&str) -> Option<String>,
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

    let mut supervisord = Vec::new();
    let mut unix = Vec::new();
    let mut groups = Vec::new();
    let mut includes = Vec::new();
    // Sections that become items, in order: programs and not-converted ones.
    let mut ordered: Vec<(usize, &Section, Kind)> = Vec::new();
    for (file, ini) in parsed.iter().enumerate() {
        for section in &ini.sections {
            let kind = classify(&section.name).map_err(|e| run.error(file, section.line, e))?;
            match &kind {
                Kind::Supervisord => supervisord.push((file, section)),
                Kind::UnixHttpServer => unix.push((file, section)),
                Kind::Group(_) => groups.push((file, section, kind.clone())),
                Kind::Include => includes.push((file, section)),
                Kind::InetHttpServer => run.note(
                    file,
                    section.line,
                    "[inet_http_server]",
                    "dropped; supd has no TCP control port (supctl talks to the Unix socket)"
                        .to_string(),
                ),
                Kind::Supervisorctl => run.note(
                    file,
                    section.line,
                    "[supervisorctl]",
                    "dropped; supctl finds the socket through `supctl --config` on this file \
                     (or $SUPD_CONFIG), or $SUPD_SOCKET"
                        .to_string(),
                ),
                Kind::RpcInterface => run.note(
                    file,
                    section.line,
                    &format!("[{}]", section.name),
                    "dropped; supd's control protocol is built in".to_string(),
                ),
                Kind::CtlPlugin => run.note(
                    file,
                    section.line,
                    &format!("[{}]", section.name),
                    "dropped; supctl has no plugins".to_string(),
                ),
                Kind::Program(_) | Kind::EventListener(_) | Kind::FcgiProgram(_) => {
                    ordered.push((file, section, kind));
                }
            }
        }
    }

    let defaults = supervisord_section(&mut run, &supervisord)?;
    let mut doc = Doc {
        sources: run.shown.clone(),
        ..Doc::default()
    };
    unix_http_server(&mut run, &unix, &mut doc)?;
    let include_patterns = include(&mut run, &includes)?;
    let groups = group_sections(&mut run, &groups)?;

    let mut entries: Vec<Entry> = Vec::new();
    let mut seen: Vec<(String, usize, usize)> = Vec::new();
    for (file, section, kind) in &ordered {
        let (file, section) = (*file, *section);
        match kind {
            Kind::Program(name) => {
                let (supd_name, renamed) = program::supd_name(name, "program").map_err(|e| {
                    run.error(file, section.line, format!("[{}]: {e}", section.name))
                })?;
                if let Some(&again) = section.repeated_at.first() {
                    return Err(run.error(
                        file,
                        again,
                        format!(
                            "[{}] is defined twice in this file (first on line {}); supd import \
                             does not merge program sections",
                            section.name, section.line
                        ),
                    ));
                }
                let group = group_of(&groups, name);
                let input = program::Input {
                    section,
                    name,
                    supd_name: &supd_name,
                    group,
                    here: run.heres.get(file).map_or(".", String::as_str),
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
                                "renamed to {supd_name:?}: supd program names use only letters, \
                                 digits, \"_\", \".\" and \"-\""
                            ),
                        ),
                    );
                }
                let first_name = converted.programs.first().map(|p| p.out.name.clone());
                for (i, mut program) in converted.programs.into_iter().enumerate() {
                    let out_name = program.out.name.clone();
                    if i > 0 && !notes.is_empty() {
                        let first = first_name.clone().unwrap_or_default();
                        program.out.comments.push(format!(
                            "another process of [program:{name}]; see the notes of {first}"
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
                            format!(
                                "program {out_name:?} is defined twice: first at {first}, again \
                                 here"
                            ),
                        ));
                    }
                    seen.push((out_name, file, section.line));
                    entries.push(Entry {
                        item: doc.items.len(),
                        file,
                        line: section.line,
                        command_line: section.get("command").map_or(section.line, |o| o.line),
                        sv_name: name.clone(),
                        group: group.unwrap_or(name).to_string(),
                        process_names: program.process_names,
                        numprocs: program.numprocs,
                        notes: if i == 0 { notes.clone() } else { Vec::new() },
                    });
                    doc.items.push(Item::Program(Box::new(program.out)));
                }
            }
            Kind::EventListener(_) | Kind::FcgiProgram(_) => {
                let why = if matches!(kind, Kind::EventListener(_)) {
                    "not converted: supd has no event listener protocol (`supctl events --json` \
                     streams state changes)"
                } else {
                    "not converted: supd does not open FastCGI sockets for programs"
                };
                let scope = format!("[{}]", section.name);
                doc.items.push(Item::Dropped(vec![format!(
                    "{scope} (line {}): {why}",
                    section.line
                )]));
                run.note_elsewhere(file, section.line, &scope, why.to_string());
            }
            _ => {}
        }
    }

    watchers(&mut run, &mut doc, &mut entries);
    group_tables(&mut run, &groups, &entries, &mut doc);

    // Program notes become comments of their first instance.
    for entry in &entries {
        let Some(Item::Program(p)) = doc.items.get_mut(entry.item) else {
            continue;
        };
        let scope = format!("[program:{}]", entry.sv_name);
        for (line, text) in &entry.notes {
            p.comments.push(text.clone());
            run.notes.push(Note {
                file: entry.file,
                line: *line,
                scope: scope.clone(),
                text: text.clone(),
                under_supd: false,
            });
        }
    }

    run.notes.sort_by_key(|n| (n.file, n.line));
    for n in &run.notes {
        if n.under_supd {
            doc.comments.push(format!("{} {}", n.scope, n.text));
        }
    }
    let notes = run
        .notes
        .iter()
        .map(|n| {
            let line = format!("{}:{}: {} {}", run.shown[n.file], n.line, n.scope, n.text);
            render::comment(&line)
        })
        .collect();
    Ok(Conversion {
        toml: render::render(&doc),
        notes,
        includes: include_patterns,
    })
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
            "identifier" => "dropped; supd has no identifier",
            "strip_ansi" => "dropped; supd passes program output through unchanged",
            "silent" => "dropped; supd always prints program output",
            "profile_options" => "dropped; supd has no profiler",
            key => {
                return Err(run.error(file, opt.line, unknown_key(SCOPE, key, SUPERVISORD_KEYS)));
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

/// `[unix_http_server]` -> `[supd] socket`, `socket_mode`, `socket_group`.
fn unix_http_server(
    run: &mut Run,
    sections: &[(usize, &Section)],
    doc: &mut Doc,
) -> Result<(), ImportError> {
    const SCOPE: &str = "[unix_http_server]";
    const KEYS: &[&str] = &["file", "chmod", "chown", "username", "password"];
    for (file, opt) in merged(sections) {
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
                doc.socket = Some(socket);
            }
            "chmod" => {
                let text = run.text(file, SCOPE, opt)?;
                doc.socket_mode = Some(octal_mode(run, file, opt, SCOPE, &text)?);
            }
            "chown" => {
                let value = run.now(file, SCOPE, opt)?;
                match value.split_once(':') {
                    Some((_, group))
                        if !group.is_empty()
                            && (group.contains(':')
                                || group.parse::<supd_config::UserSpec>().is_err()) =>
                    {
                        let message = format!(
                            "{SCOPE} chown: expected USER:GROUP with a group name or number, \
                             found {:?}",
                            supd_config::shorten(&value)
                        );
                        return Err(run.error(file, opt.line, message));
                    }
                    Some((_, group)) if !group.is_empty() => {
                        run.note(
                            file,
                            opt.line,
                            SCOPE,
                            format!(
                                "chown={value}: became socket_group = {group:?}: its members \
                                 may control supd (the socket's owner is the user supd runs as)"
                            ),
                        );
                        doc.socket_group = Some(Text::lit(group).render());
                    }
                    _ => run.note(
                        file,
                        opt.line,
                        SCOPE,
                        format!(
                            "chown={value}: dropped; the socket's owner is the user supd runs \
                             as (supd takes only a group for it, from chown=USER:GROUP)"
                        ),
                    ),
                }
            }
            "username" | "password" => run.note(
                file,
                opt.line,
                SCOPE,
                format!(
                    "{}: dropped; supd has no password, access is controlled by socket_mode \
                     and socket_group",
                    opt.key
                ),
            ),
            key => return Err(run.error(file, opt.line, unknown_key(SCOPE, key, KEYS))),
        }
    }
    Ok(())
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
                return Err(run.error(file, opt.line, unknown_key(SCOPE, &opt.key, &["files"])));
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
    priority: Option<(usize, String)>,
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
                return Err(run.error(file, opt.line, unknown_key(&scope, &opt.key, KEYS)));
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
        let priority = section.get("priority").map(|o| (o.line, o.value.clone()));
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
                    "priority={}: supd has no priorities; programs start in file order, and \
                     `depends_on = [\"name\"]` makes one wait for another",
                    crate::shorten(value)
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

/// An entry a supervisorctl name means.
struct Target {
    entry: usize,
    /// The name means only some of the processes of the entry's table (`group:worker_01`
    /// of a table with `instances`).
    partial: bool,
}

/// supervisorctl names -> the entries they mean: `name`, `group:*`, `group:process`.
fn resolve_target(spec: &str, entries: &[Entry]) -> Vec<Target> {
    let whole = |entry| Target {
        entry,
        partial: false,
    };
    match spec.split_once(':') {
        Some((group, "" | "*")) => entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.group == group)
            .map(|(i, _)| whole(i))
            .collect(),
        Some((group, process)) => entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.group == group && e.process_names.iter().any(|p| p == process))
            .map(|(i, e)| Target {
                entry: i,
                partial: e.process_names.len() > 1,
            })
            .collect(),
        None => entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.sv_name == spec || (e.numprocs == 1 && e.process_names.iter().any(|p| p == spec))
            })
            .map(|(i, _)| whole(i))
            .collect(),
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
            for Target { entry: t, partial } in hits {
                if t == w {
                    problem = Some("it restarts itself".to_string());
                } else if let Some(Item::Program(p)) = doc.items.get(entries[t].item) {
                    if partial {
                        problem = Some(format!(
                            "{spec:?} is one process of {}, and a watch section acts on every \
                             instance",
                            p.name
                        ));
                    } else if p.watch.is_some() {
                        problem = Some(format!("{} already has a watch section", p.name));
                    }
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
        assert_eq!(
            classify("foo:bar").unwrap_err(),
            "unknown section [foo:bar]"
        );
        assert_eq!(
            classify("programs:x").unwrap_err(),
            "unknown section [programs:x] (did you mean [program:...]?)"
        );
        assert_eq!(
            classify("supervisor").unwrap_err(),
            "unknown section [supervisor] (did you mean [supervisord]?)"
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
