//! One `[program:x]` section -> one supd program table.
//!
//! This module owns the meaning of every `[program:x]` option: which supd key it becomes,
//! which supervisord default differs from supd's and is therefore written out
//! (`autorestart` -> `restart = "on-failure"`, `startretries` -> `start_retries = 3`,
//! `*_logfile_maxbytes` -> `log_max_size = "50MiB"`), and which has no equivalent and becomes
//! a note. It returns the programs and the notes; it knows nothing about other sections
//! except the `[supervisord]` settings passed in as [`Defaults`].
//!
//! `numprocs = N` becomes N programs, each named as supervisord names the process (its
//! expanded `process_name`, `worker_00`) when supd accepts that name, else `x-N`; they form
//! supervisord's group of the section (`[group.x]`, unless a `[group:g]` lists it), so
//! `worker:worker_00` means the same to both. A `process_name` other than the section's
//! name does the same for one process.
//!
//! Values that supd interpolates (strings) keep `%(ENV_X)s` as `${X}`; values supd does not
//! interpolate (booleans, integers, names) are resolved now through the caller's
//! environment, with a note.

use crate::command;
#[cfg(test)]
use crate::command::Command;
use crate::expand::{Ctx, Piece, ProcessNum, Text, expand};
use crate::ini::{Opt, Section};
use crate::render::{Commented, ProgramOut};
use crate::values::{self, AutoRestart, LogFile};

/// Every option supervisord knows in `[program:x]`.
pub const PROGRAM_KEYS: &[&str] = &[
    "command",
    "process_name",
    "numprocs",
    "numprocs_start",
    "priority",
    "autostart",
    "startsecs",
    "startretries",
    "autorestart",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "user",
    "redirect_stderr",
    "stdout_logfile",
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stdout_capture_maxbytes",
    "stdout_events_enabled",
    "stdout_syslog",
    "stderr_logfile",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "stderr_capture_maxbytes",
    "stderr_events_enabled",
    "stderr_syslog",
    "environment",
    "directory",
    "umask",
    "serverurl",
];

/// The most processes one section may expand to.
const MAX_NUMPROCS: i64 = 256;

/// `[supervisord]` settings that every program inherits.
#[derive(Debug, Clone, Default)]
pub(crate) struct Defaults {
    pub user: Option<String>,
    pub directory: Option<String>,
    pub umask: Option<String>,
    pub environment: Vec<(String, Text)>,
}

/// One section to convert.
pub(crate) struct Input<'a> {
    pub section: &'a Section,
    /// The `x` of `[program:x]`.
    pub name: &'a str,
    /// The supd name (already checked).
    pub supd_name: &'a str,
    /// The `[group:g]` listing this program, if any.
    pub group: Option<&'a str>,
    /// `%(here)s`.
    pub here: &'a str,
    /// The options supervisord knows in this kind of section ([`PROGRAM_KEYS`], or those of
    /// `[eventlistener:x]`); the others are ignored with a warning, as supervisord ignores
    /// them.
    pub keys: &'a [&'a str],
}

/// One converted supd program table.
#[derive(Debug, Clone)]
pub(crate) struct Program {
    pub out: ProgramOut,
    /// supervisord's name of the process it runs (its expanded `process_name`), for
    /// supervisorctl names.
    pub process_names: Vec<String>,
    /// The `numprocs` of its section.
    pub numprocs: i64,
}

/// A problem: the line and one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub line: usize,
    pub message: String,
}

/// The converted programs and the notes about the section (line, text).
pub(crate) struct Converted {
    pub programs: Vec<Program>,
    /// The supd group to write for them when supervisord's group of the processes (the
    /// section's name) is not what supd calls them: several processes, or a `process_name`.
    pub group: Option<String>,
    /// Its `priority` (line, value), when set.
    pub priority: Option<(usize, i64)>,
    pub notes: Vec<(usize, String)>,
    /// Options supervisord ignores (unknown ones): notes that are also warnings.
    pub warnings: Vec<(usize, String)>,
}

struct Reader<'a> {
    section: &'a Section,
    label: String,
    env: &'a dyn Fn(&str) -> Option<String>,
    notes: Vec<(usize, String)>,
    /// Notes that are also warnings.
    warnings: Vec<(usize, String)>,
}

impl<'a> Reader<'a> {
    fn opt(&self, key: &str) -> Option<&'a Opt> {
        self.section.get(key)
    }

    fn fail(&self, line: usize, key: &str, message: impl std::fmt::Display) -> Failure {
        Failure {
            line,
            message: format!("{} {key}: {message}", self.label),
        }
    }

    fn note(&mut self, line: usize, text: String) {
        self.notes.push((line, text));
    }

    /// A reader of the same section with no notes yet.
    fn fresh(&self) -> Reader<'a> {
        Reader {
            section: self.section,
            label: self.label.clone(),
            env: self.env,
            notes: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The expanded value of `key`.
    fn text(&self, key: &str, ctx: &Ctx) -> Result<Option<(usize, Text)>, Failure> {
        let Some(opt) = self.opt(key) else {
            return Ok(None);
        };
        let text = expand(&opt.value, ctx).map_err(|e| self.fail(opt.line, key, e))?;
        Ok(Some((opt.line, text)))
    }

    /// The expanded value of `key` with every `${VAR}` looked up now (for values supd does
    /// not interpolate).
    fn now(&mut self, key: &str, ctx: &Ctx) -> Result<Option<(usize, String)>, Failure> {
        let Some((line, text)) = self.text(key, ctx)? else {
            return Ok(None);
        };
        if let Some(unset) = text.vars().find(|v| (self.env)(v).is_none()) {
            // supervisord needs it set; here it may be set only where the file runs (an
            // image's ENV): the default applies, and the warning says so.
            let raw = self.opt(key).map_or("", |o| o.value.as_str());
            self.warnings.push((
                line,
                format!(
                    "{key}={}: {unset} is not set here, and supd needs this value now (it \
                     interpolates only strings); left out, so supervisord's default applies \
                     (set {unset} and convert again)",
                    crate::shorten(raw)
                ),
            ));
            return Ok(None);
        }
        let value = text
            .resolve(self.env)
            .map_err(|e| self.fail(line, key, e))?;
        if text.has_vars() {
            let vars: Vec<String> = text.vars().map(|v| format!("${{{v}}}")).collect();
            self.note(
                line,
                format!(
                    "{key}: {} read at import time ({key} = {value:?}), since supd interpolates \
                     only strings",
                    vars.join(", ")
                ),
            );
        }
        Ok(Some((line, value)))
    }

    fn bool(&mut self, key: &str, ctx: &Ctx) -> Result<Option<(usize, bool)>, Failure> {
        match self.now(key, ctx)? {
            None => Ok(None),
            Some((line, v)) => values::boolean(&v)
                .map(|b| Some((line, b)))
                .map_err(|e| self.fail(line, key, e)),
        }
    }

    fn int(&mut self, key: &str, ctx: &Ctx) -> Result<Option<(usize, i64)>, Failure> {
        match self.now(key, ctx)? {
            None => Ok(None),
            Some((line, v)) => values::integer(&v)
                .map(|n| Some((line, n)))
                .map_err(|e| self.fail(line, key, e)),
        }
    }

    /// Whole seconds -> a supd duration string (`"10s"`), `${VAR}s` kept for supd.
    fn seconds(&self, key: &str, ctx: &Ctx) -> Result<Option<String>, Failure> {
        let Some((line, text)) = self.text(key, ctx)? else {
            return Ok(None);
        };
        match text.literal() {
            Some(s) => match values::integer(&s) {
                Ok(n) if n >= 0 => Ok(Some(format!("{n}s"))),
                Ok(_) => Err(self.fail(
                    line,
                    key,
                    "expected a number of seconds, found a negative number",
                )),
                Err(e) => Err(self.fail(line, key, e)),
            },
            None => Ok(Some(format!("{}s", text.render()))),
        }
    }
}

/// A name supd accepts for a program or group (the rule of supd-config's names): ASCII
/// letters, digits, `_`, `.` and `-`, and not `all` or `supd`.
pub(crate) fn is_supd_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name != "all"
        && name != "supd"
}

/// A supervisord program (or group, as `what` says) name as a supd name: ASCII characters
/// outside `[A-Za-z0-9_.-]` become `-` (the second value says whether any did). A name with
/// other characters (supd names are ASCII), `all` and `supd` are refused.
pub(crate) fn supd_name(name: &str, what: &str) -> Result<(String, bool), String> {
    if name.is_empty() {
        return Err(format!("the {what} name is empty"));
    }
    if name.contains([' ', ':', '/']) {
        return Err(format!(
            "invalid {what} name {name:?} (supervisord refuses spaces, \":\" and \"/\" too)"
        ));
    }
    if !name.is_ascii() {
        return Err(format!(
            "the {what} name {name:?} has non-ASCII characters, which supd names cannot have \
             (ASCII letters, digits, \"_\", \".\" and \"-\"); rename the {what}"
        ));
    }
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean == "all" || clean == "supd" {
        return Err(format!(
            "the {what} name {clean:?} is reserved in supd (rename the {what})"
        ));
    }
    let changed = clean != name;
    Ok((clean, changed))
}

/// Converts one `[program:x]` section.
pub(crate) fn convert(
    input: &Input,
    defaults: &Defaults,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Converted, Failure> {
    let mut r = Reader {
        section: input.section,
        label: format!("[{}]", input.section.name),
        env,
        notes: Vec::new(),
        warnings: Vec::new(),
    };
    for opt in &input.section.options {
        if !input.keys.contains(&opt.key.as_str()) {
            r.warnings.push((
                opt.line,
                crate::ignored_option(&opt.key, &opt.value, input.keys),
            ));
        }
    }
    let group_name = input.group.unwrap_or(input.name);
    let section_ctx = Ctx {
        here: input.here,
        program_name: Some(input.name),
        group_name: Some(group_name),
        process_num: None,
        numprocs: None,
        env: vec![&defaults.environment],
    };
    let numprocs = match r.int("numprocs", &section_ctx)? {
        None => 1,
        Some((_, n @ 1..=MAX_NUMPROCS)) => n,
        Some((line, n)) => {
            return Err(r.fail(
                line,
                "numprocs",
                format!("expected a number from 1 to {MAX_NUMPROCS}, found {n}"),
            ));
        }
    };
    let start = match r.int("numprocs_start", &section_ctx)? {
        None => 0,
        Some((_, n @ 0..=1_000_000_000)) => n,
        Some((line, n)) => {
            return Err(r.fail(
                line,
                "numprocs_start",
                format!("expected a number from 0 to 1000000000, found {n}"),
            ));
        }
    };
    let process_name_raw = r.opt("process_name").map(|o| (o.line, o.value.clone()));
    let numprocs_line = r.opt("numprocs").map_or(input.section.line, |o| o.line);
    if numprocs > 1
        && !process_name_raw
            .as_ref()
            .is_some_and(|(_, p)| p.contains("%(process_num)"))
    {
        return Err(r.fail(
            numprocs_line,
            "numprocs",
            "numprocs > 1 needs a process_name that contains %(process_num)s (supervisord \
             refuses it too)",
        ));
    }

    let priority = r.int("priority", &section_ctx)?;
    // Every process exactly as supervisord runs it: its values, its name, the notes.
    let mut programs = Vec::new();
    let mut names = Vec::new();
    for process_num in start..start + numprocs {
        let mut one = r.fresh();
        let number = ProcessNum::Fixed(process_num);
        let process_name = process_name(&one, input, defaults, number, numprocs)?;
        let name = program_name(&process_name, input.supd_name, numprocs, process_num);
        let out = process(&mut one, input, defaults, name.clone(), number, numprocs)?;
        if programs.is_empty() {
            r.notes.append(&mut one.notes);
            r.warnings.append(&mut one.warnings);
        }
        if let Some((line, _)) = process_name_raw.as_ref().filter(|_| name != process_name) {
            let line = *line;
            r.note(
                line,
                format!(
                    "process_name: supervisord's name {process_name:?} is not a valid supd \
                     program name (letters, digits, \"_\", \".\" and \"-\"); the program is \
                     {name:?}"
                ),
            );
        }
        names.push(name);
        programs.push(Program {
            out,
            process_names: vec![process_name],
            numprocs,
        });
    }
    // supervisord's group of the processes: its `[group:g]`, else the section's name.
    let group = match input.group {
        Some(_) => None,
        None if names.len() > 1 || names.first().is_some_and(|n| n != input.supd_name) => {
            Some(input.supd_name.to_string())
        }
        None => None,
    };
    if numprocs > 1 {
        let group_name = input.group.unwrap_or(input.supd_name);
        r.note(
            numprocs_line,
            format!(
                "numprocs={numprocs}: became the {numprocs} programs {} (supervisord's process \
                 names), in the group {group_name:?} (`supctl restart group:{group_name}` \
                 restarts all of them)",
                listing(&names)
            ),
        );
    } else if let Some(group) = &group {
        r.note(
            process_name_raw
                .as_ref()
                .map_or(input.section.line, |(l, _)| *l),
            format!(
                "process_name: the program is {:?}, as supervisord names the process, in the \
                 group {group:?} (supervisord's {group}:{})",
                names[0], names[0]
            ),
        );
    }
    r.notes.sort_by_key(|(line, _)| *line);
    Ok(Converted {
        programs,
        group,
        priority,
        notes: r.notes,
        warnings: r.warnings,
    })
}

/// `a, b, c`, or `a .. z` for more than four names.
fn listing(names: &[String]) -> String {
    match names {
        [first, .., last] if names.len() > 4 => format!("{first} .. {last}"),
        _ => names.join(", "),
    }
}

/// The supd name of one process: supervisord's (its expanded `process_name`) when supd
/// accepts it, else the section's supd name (with `-N` for one of several processes).
fn program_name(process_name: &str, supd_name: &str, numprocs: i64, process_num: i64) -> String {
    if is_supd_name(process_name) {
        return process_name.to_string();
    }
    if numprocs > 1 {
        format!("{supd_name}-{process_num}")
    } else {
        supd_name.to_string()
    }
}

/// `%(...)s` names of one process before its `environment` is read.
fn base_ctx<'a>(
    input: &Input<'a>,
    defaults: &'a Defaults,
    process_num: ProcessNum,
    numprocs: i64,
) -> Ctx<'a> {
    Ctx {
        here: input.here,
        program_name: Some(input.name),
        group_name: Some(input.group.unwrap_or(input.name)),
        process_num: Some(process_num),
        numprocs: Some(numprocs),
        env: vec![&defaults.environment],
    }
}

/// The program's own `environment`, expanded: its values feed `%(ENV_X)s` of the other
/// options.
fn program_environment(r: &Reader, base: &Ctx) -> Result<Vec<(String, Text)>, Failure> {
    let mut program_env = Vec::new();
    if let Some(opt) = r.opt("environment") {
        let pairs =
            values::environment(&opt.value).map_err(|e| r.fail(opt.line, "environment", e))?;
        for pair in pairs {
            let value = expand(&pair.raw_value, base)
                .map_err(|e| r.fail(opt.line, "environment", format!("{}: {e}", pair.key)))?;
            program_env.push((pair.key, value));
        }
    }
    Ok(program_env)
}

/// supervisord's name of one process: its expanded `process_name`.
fn process_name(
    r: &Reader,
    input: &Input,
    defaults: &Defaults,
    process_num: ProcessNum,
    numprocs: i64,
) -> Result<String, Failure> {
    let Some(opt) = r.opt("process_name") else {
        return Ok(input.name.to_string());
    };
    let base = base_ctx(input, defaults, process_num, numprocs);
    let program_env = program_environment(r, &base)?;
    let ctx = Ctx {
        env: vec![&program_env, &defaults.environment],
        ..base.clone()
    };
    let text = expand(&opt.value, &ctx).map_err(|e| r.fail(opt.line, "process_name", e))?;
    text.resolve(r.env)
        .map_err(|e| r.fail(opt.line, "process_name", e))
}

/// One process of the section, or (with [`ProcessNum::Instances`]) every process as one
/// table; the error then says why `${INSTANCE}` cannot give each process its values.
fn process(
    r: &mut Reader,
    input: &Input,
    defaults: &Defaults,
    name: String,
    process_num: ProcessNum,
    numprocs: i64,
) -> Result<ProgramOut, Failure> {
    let base = base_ctx(input, defaults, process_num, numprocs);
    let program_env = program_environment(r, &base)?;
    let ctx = Ctx {
        env: vec![&program_env, &defaults.environment],
        ..base.clone()
    };

    let Some((command_line, command_text)) = r.text("command", &ctx)? else {
        return Err(Failure {
            line: input.section.line,
            message: format!("{} has no command", r.label),
        });
    };
    let converted =
        command::convert(&command_text.render()).map_err(|e| r.fail(command_line, "command", e))?;
    let mut out = ProgramOut::new(name, converted.command.clone());

    user(r, &ctx, defaults, &converted, command_line, &mut out)?;
    directory(r, &ctx, defaults, &mut out)?;

    let mut environment: Vec<(String, String)> = defaults
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.render()))
        .collect();
    for (k, v) in &program_env {
        match environment.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v.render(),
            None => environment.push((k.clone(), v.render())),
        }
    }
    out.environment = environment;

    out.umask = match r.text("umask", &ctx)? {
        Some((line, text)) => Some(mode(r, line, "umask", &text)?),
        None => defaults.umask.clone(),
    };
    out.autostart = r.bool("autostart", &ctx)?.map(|(_, b)| b);
    lifecycle(r, &ctx, &mut out)?;
    stop(r, &ctx, &mut out)?;
    outputs(r, &ctx, &mut out)?;
    dropped(r);
    let shown = command_text.display();
    if shown.contains("kill")
        && (shown.contains("supervisord.pid") || shown.contains("SUPERVISORD_PID"))
    {
        r.note(
            command_line,
            "command: signals supervisord through its pid file, which supd does not write \
             (`critical = true` makes supd stop when this program fails for good)"
                .to_string(),
        );
    }
    out.stdout_events = r
        .bool("stdout_events_enabled", &ctx)?
        .is_some_and(|(_, b)| b);
    out.stderr_events = r
        .bool("stderr_events_enabled", &ctx)?
        .is_some_and(|(_, b)| b);
    if command_text.display().contains("supervisorctl") {
        r.note(
            command_line,
            "command: calls supervisorctl, which supd replaces with supctl".to_string(),
        );
    }
    let section = r.section;
    if let Some(opt) = section
        .options
        .iter()
        .find(|o| o.value.contains("%(host_node_name)"))
    {
        r.note(
            opt.line,
            format!(
                "{}: %(host_node_name)s became ${{HOSTNAME}}, which supd reads from its own \
                 environment",
                opt.key
            ),
        );
    }
    Ok(out)
}

/// `user`, possibly replaced by a stripped `gosu USER`, else `[supervisord] user`.
fn user(
    r: &mut Reader,
    ctx: &Ctx,
    defaults: &Defaults,
    converted: &command::Converted,
    command_line: usize,
    out: &mut ProgramOut,
) -> Result<(), Failure> {
    let own = r.text("user", ctx)?;
    let user = match (&converted.privilege_drop, &own) {
        (Some((wrapper, user)), own) => {
            r.note(
                command_line,
                format!(
                    "command: the leading \"{wrapper} {user}\" became user = {user:?}; supd \
                     drops privileges itself"
                ),
            );
            if let Some((line, text)) = own {
                let own = text.display();
                if own != *user {
                    r.note(
                        *line,
                        format!("user={own}: replaced by {wrapper}'s user {user:?}"),
                    );
                }
            }
            Some((command_line, "command", user.clone()))
        }
        (None, Some((line, text))) => Some((*line, "user", text.render())),
        (None, None) => defaults.user.clone().map(|u| (0, "user", u)),
    };
    if let Some((line, key, user)) = user {
        // A `${VAR}` only supd can resolve; any other value is checked now.
        if !user.contains("${")
            && let Err(e) = user.parse::<supd_config::UserSpec>()
        {
            let line = if line == 0 { r.section.line } else { line };
            return Err(r.fail(line, key, format!("the user {user:?} is not valid: {e}")));
        }
        out.user = Some(user);
    }
    Ok(())
}

fn directory(
    r: &mut Reader,
    ctx: &Ctx,
    defaults: &Defaults,
    out: &mut ProgramOut,
) -> Result<(), Failure> {
    match r.text("directory", ctx)? {
        Some((line, text)) => {
            let dir = text.render();
            if dir.is_empty() {
                return Err(r.fail(line, "directory", "the directory is empty"));
            }
            if is_relative(&dir) {
                r.note(line, relative_note("directory", &dir));
            }
            out.directory = Some(dir);
        }
        None => out.directory = defaults.directory.clone(),
    }
    Ok(())
}

/// A path that supd would resolve against the config file's directory, while supervisord
/// resolved it against its own working directory.
pub(crate) fn is_relative(path: &str) -> bool {
    !path.starts_with('/') && !path.starts_with("${")
}

pub(crate) fn relative_note(key: &str, path: &str) -> String {
    format!(
        "{key}={path}: relative; supervisord resolved it against its working directory, supd \
         resolves it against the directory of this file"
    )
}

/// An octal mode for `umask`: `"022"`, or `${VAR}` kept for supd.
fn mode(r: &Reader, line: usize, key: &str, text: &Text) -> Result<String, Failure> {
    match text.literal() {
        Some(s) => match values::octal(&s) {
            Ok(m) if m <= 0o777 => Ok(format!("{m:03o}")),
            Ok(m) => Err(r.fail(
                line,
                key,
                format!("mode 0o{m:o} is out of range (at most 0o777)"),
            )),
            Err(e) => Err(r.fail(line, key, e)),
        },
        None => Ok(text.render()),
    }
}

/// `autorestart`, `exitcodes`, `startsecs`, `startretries`.
fn lifecycle(r: &mut Reader, ctx: &Ctx, out: &mut ProgramOut) -> Result<(), Failure> {
    let restart = match r.now("autorestart", ctx)? {
        Some((line, v)) => {
            let policy = values::auto_restart(&v).map_err(|e| r.fail(line, "autorestart", e))?;
            if policy == AutoRestart::Never {
                r.note(
                    line,
                    "autorestart=false: supd does not retry a failed start of a restart = \
                     \"never\" program (supervisord retried it startretries times)"
                        .to_string(),
                );
            }
            Commented::plain(restart_name(policy))
        }
        None => Commented {
            value: restart_name(AutoRestart::Unexpected),
            comment: Some("supervisord's default autorestart=unexpected"),
        },
    };
    out.restart = Some(restart);
    if let Some((line, v)) = r.now("exitcodes", ctx)? {
        out.exit_codes = Some(values::exit_codes(&v).map_err(|e| r.fail(line, "exitcodes", e))?);
    }
    out.min_uptime = r.seconds("startsecs", ctx)?;
    out.start_retries = Some(match r.int("startretries", ctx)? {
        Some((line, n)) => {
            let n = u32::try_from(n).map_err(|_| {
                r.fail(
                    line,
                    "startretries",
                    format!("expected a non-negative integer, found {n}"),
                )
            })?;
            Commented::plain(n)
        }
        None => Commented {
            value: 3,
            comment: Some("supervisord's default startretries"),
        },
    });
    Ok(())
}

fn restart_name(policy: AutoRestart) -> &'static str {
    match policy {
        AutoRestart::Always => "always",
        AutoRestart::Never => "never",
        AutoRestart::Unexpected => "on-failure",
    }
}

/// `stopsignal`, `stopwaitsecs`, `stopasgroup`, `killasgroup`.
fn stop(r: &mut Reader, ctx: &Ctx, out: &mut ProgramOut) -> Result<(), Failure> {
    if let Some((line, text)) = r.text("stopsignal", ctx)? {
        out.stop_signal = Some(match text.literal() {
            Some(s) => {
                let sig =
                    supd_config::signal::parse(&s).map_err(|e| r.fail(line, "stopsignal", e))?;
                let name = supd_config::signal::name(sig);
                name.strip_prefix("SIG").unwrap_or(name).to_string()
            }
            None => text.render(),
        });
    }
    out.stop_timeout = r.seconds("stopwaitsecs", ctx)?;
    for key in ["stopasgroup", "killasgroup"] {
        if let Some((line, value)) = r.bool(key, ctx)? {
            let what = if value {
                "dropped; supd always signals the whole process group"
            } else {
                "dropped; supd always signals the whole process group (supervisord signalled only \
                 the main process)"
            };
            r.note(line, format!("{key}={value}: {what}"));
        }
    }
    Ok(())
}

/// `stdout_logfile`, `stderr_logfile`, `redirect_stderr`, then [`rotation`].
fn outputs(r: &mut Reader, ctx: &Ctx, out: &mut ProgramOut) -> Result<(), Failure> {
    out.stdout = output(r, ctx, "stdout")?;
    match r.bool("redirect_stderr", ctx)? {
        Some((_, true)) => {
            for key in [
                "stderr_logfile",
                "stderr_logfile_maxbytes",
                "stderr_logfile_backups",
            ] {
                if let Some(opt) = r.opt(key) {
                    let note = format!(
                        "{key}={}: ignored because redirect_stderr=true (as supervisord does)",
                        crate::shorten(&opt.value)
                    );
                    r.note(opt.line, note);
                }
            }
            out.stderr = Some("stdout".to_string());
        }
        _ => out.stderr = output(r, ctx, "stderr")?,
    }
    rotation(r, ctx, out)
}

/// supervisord's default `*_logfile_maxbytes`: 50MB of 1024 × 1024 bytes.
const SUPERVISORD_MAXBYTES: u64 = 50 << 20;
/// supervisord's default `*_logfile_backups`.
const SUPERVISORD_BACKUPS: u32 = 10;
/// The most `log_backups` supd takes.
const MAX_LOG_BACKUPS: u32 = 1000;

/// How supervisord rotated one stream's log file.
struct StreamRotation {
    stream: &'static str,
    path: String,
    /// 0: never rotated.
    max_bytes: u64,
    backups: u32,
    /// The lines and values of `*_logfile_maxbytes` and `*_logfile_backups`, when set.
    max_bytes_set: Option<(usize, String)>,
    backups_set: Option<(usize, String)>,
}

impl StreamRotation {
    fn max_bytes_line(&self) -> Option<usize> {
        self.max_bytes_set.as_ref().map(|(line, _)| *line)
    }

    fn backups_line(&self) -> Option<usize> {
        self.backups_set.as_ref().map(|(line, _)| *line)
    }
}

/// `*_logfile_maxbytes` and `*_logfile_backups` -> `log_max_size` and `log_backups`, which
/// supd applies to both log files of a program. Written whenever a stream goes to a file
/// (supervisord's defaults differ from supd's); the settings of a stream that writes no file
/// change nothing in supervisord either (it refuses to rotate `/dev/stdout`) and are dropped.
fn rotation(r: &mut Reader, ctx: &Ctx, out: &mut ProgramOut) -> Result<(), Failure> {
    let mut files = Vec::new();
    for stream in ["stdout", "stderr"] {
        let max_bytes_key = format!("{stream}_logfile_maxbytes");
        let backups_key = format!("{stream}_logfile_backups");
        let max_bytes = match r.now(&max_bytes_key, ctx)? {
            Some((line, v)) => {
                let n = values::byte_size(&v).map_err(|e| r.fail(line, &max_bytes_key, e))?;
                Some((line, v, n))
            }
            None => None,
        };
        let backups = match r.int(&backups_key, ctx)? {
            Some((line, n)) => {
                let n = u32::try_from(n).map_err(|_| {
                    r.fail(
                        line,
                        &backups_key,
                        format!("expected a number of backups, 0 or more, found {n}"),
                    )
                })?;
                Some((line, n))
            }
            None => None,
        };
        let target = if stream == "stdout" {
            &out.stdout
        } else {
            &out.stderr
        };
        let Some(path) = target
            .as_deref()
            .filter(|t| !matches!(*t, "console" | "null" | "stdout"))
        else {
            continue;
        };
        files.push(StreamRotation {
            stream,
            path: path.to_string(),
            max_bytes: max_bytes
                .as_ref()
                .map_or(SUPERVISORD_MAXBYTES, |(_, _, n)| *n),
            backups: backups.map_or(SUPERVISORD_BACKUPS, |(_, n)| n),
            max_bytes_set: max_bytes.map(|(line, v, _)| (line, v)),
            backups_set: backups.map(|(line, n)| (line, n.to_string())),
        });
    }
    if files.is_empty() {
        return Ok(());
    }
    let supd_default = supd_config::ProgramSpec::new("", Vec::new()).log_max_size;
    // A file supervisord never rotated gets supd's default: supd rotates every log file.
    let effective = |f: &StreamRotation| {
        if f.max_bytes == 0 {
            supd_default
        } else {
            f.max_bytes
        }
    };
    let max_size = files.iter().map(effective).max().unwrap_or(supd_default);
    let mut backups = files.iter().map(|f| f.backups).max().unwrap_or(0);
    let size = size_text(max_size);
    for f in files.iter().filter(|f| f.max_bytes == 0) {
        let line = f.max_bytes_line().unwrap_or(r.section.line);
        r.note(
            line,
            format!(
                "{}_logfile_maxbytes=0: supervisord never rotated {}; supd rotates every log \
                 file, this one at log_max_size = {size:?}",
                f.stream, f.path
            ),
        );
    }
    if let [a, b] = files.as_slice() {
        // `stdout_logfile_maxbytes=1MB`, or `..=50MB (the default)` when unset.
        let shown =
            |f: &StreamRotation, key: &str, set: &Option<(usize, String)>, default| match set {
                Some((_, value)) => format!("{}_logfile_{key}={}", f.stream, crate::shorten(value)),
                None => format!("{}_logfile_{key}={default} (the default)", f.stream),
            };
        if a.max_bytes != 0 && b.max_bytes != 0 && a.max_bytes != b.max_bytes {
            let line = a
                .max_bytes_line()
                .or(b.max_bytes_line())
                .unwrap_or(r.section.line);
            r.note(
                line,
                format!(
                    "{}, {}: supd has one log_max_size for both log files of a program and uses \
                     the larger, {size:?}",
                    shown(a, "maxbytes", &a.max_bytes_set, "50MB"),
                    shown(b, "maxbytes", &b.max_bytes_set, "50MB"),
                ),
            );
        }
        if a.backups != b.backups {
            let line = a
                .backups_line()
                .or(b.backups_line())
                .unwrap_or(r.section.line);
            r.note(
                line,
                format!(
                    "{}, {}: supd has one log_backups for both log files of a program and uses \
                     the larger, {backups}",
                    shown(a, "backups", &a.backups_set, "10"),
                    shown(b, "backups", &b.backups_set, "10"),
                ),
            );
        }
    }
    if backups > MAX_LOG_BACKUPS {
        let line = files
            .iter()
            .find_map(StreamRotation::backups_line)
            .unwrap_or(r.section.line);
        r.note(
            line,
            format!(
                "log_backups: supd keeps at most {MAX_LOG_BACKUPS} rotated files, not {backups}"
            ),
        );
        backups = MAX_LOG_BACKUPS;
    }
    let max_bytes_set = files.iter().any(|f| f.max_bytes_set.is_some());
    let backups_set = files.iter().any(|f| f.backups_set.is_some());
    out.log_max_size = Some(Commented {
        value: size,
        comment: (!max_bytes_set).then_some("supervisord's default maxbytes"),
    });
    out.log_backups = Some(Commented {
        value: backups,
        comment: (!backups_set).then_some("supervisord's default backups"),
    });
    Ok(())
}

/// A byte count as a supd size, exactly: `50MiB` for supervisord's 50MB, `50MB` for supd's.
fn size_text(bytes: u64) -> String {
    let units = [
        ("GiB", 1u64 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
        ("GB", 1_000_000_000),
        ("MB", 1_000_000),
        ("KB", 1000),
    ];
    units
        .iter()
        .find(|(_, unit)| bytes != 0 && bytes.is_multiple_of(*unit))
        .map_or_else(
            || bytes.to_string(),
            |(name, unit)| format!("{}{name}", bytes / unit),
        )
}

/// One `*_logfile` -> `"console"`, `"null"` or a path.
fn output(r: &mut Reader, ctx: &Ctx, stream: &str) -> Result<Option<String>, Failure> {
    let key = format!("{stream}_logfile");
    let Some((line, text)) = r.text(&key, ctx)? else {
        return Ok(None);
    };
    let Some(value) = text.literal() else {
        return Ok(Some(log_path(r, line, &key, &text)));
    };
    if value.is_empty() {
        return Err(r.fail(line, &key, "the value is empty (write NONE for no log)"));
    }
    let (own, other) = if stream == "stdout" {
        ("output", "error")
    } else {
        ("error", "output")
    };
    let target = match values::log_file(&value) {
        LogFile::None => "null".to_string(),
        LogFile::Auto => {
            r.note(
                line,
                format!(
                    "{key}=AUTO: supd writes no automatic log file; it prints the program's \
                     {stream} on its standard {own} and keeps recent lines for `supctl logs`"
                ),
            );
            return Ok(None);
        }
        LogFile::Syslog => {
            r.note(
                line,
                format!("{key}=syslog: supd does not write to syslog; it uses the console"),
            );
            return Ok(None);
        }
        LogFile::Path(p) => match p.as_str() {
            "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" | "/dev/stderr" | "/dev/fd/2"
            | "/proc/self/fd/2" => {
                let to_fd1 = p.ends_with("stdout") || p.ends_with('1');
                if to_fd1 != (stream == "stdout") {
                    r.note(
                        line,
                        format!(
                            "{key}={p}: \"console\" sends the program's {stream} to supd's \
                             standard {own}, not its standard {other}"
                        ),
                    );
                }
                "console".to_string()
            }
            "/dev/null" => "null".to_string(),
            _ => log_path(r, line, &key, &Text::lit(&p)),
        },
    };
    Ok(Some(target))
}

/// A log file path as a supd string: a leading `~` becomes `${HOME}`, and a relative path
/// gets a note.
fn log_path(r: &mut Reader, line: usize, key: &str, text: &Text) -> String {
    let home_relative = match text.0.first() {
        Some(Piece::Lit(first)) => first
            .strip_prefix('~')
            .filter(|rest| rest.is_empty() || rest.starts_with('/')),
        _ => None,
    };
    let path = match home_relative {
        Some(rest) => {
            r.note(
                line,
                format!("{key}={}: \"~\" became ${{HOME}}", text.display()),
            );
            let mut t = Text::default();
            t.push_var("HOME");
            t.push_lit(rest);
            t.append(&Text(text.0[1..].to_vec()));
            t.render()
        }
        None => text.render(),
    };
    if is_relative(&path) {
        r.note(line, relative_note(key, &path));
    }
    path
}

/// Options that only become notes.
fn dropped(r: &mut Reader) {
    let section = r.section;
    for opt in &section.options {
        let why = match opt.key.as_str() {
            "stdout_capture_maxbytes" | "stderr_capture_maxbytes" => {
                "dropped; supd has no capture mode (PROCESS_COMMUNICATION events)"
            }
            "stdout_syslog" | "stderr_syslog" => "dropped; supd does not write to syslog",
            "serverurl" => {
                "dropped; supd sets SUPERVISOR_SERVER_URL for event listeners from the first \
                 [supd.http] listen address"
            }
            _ => continue,
        };
        r.note(
            opt.line,
            format!("{}={}: {why}", opt.key, crate::shorten(&opt.value)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ini;

    fn run(section_text: &str) -> Result<Converted, Failure> {
        run_with(section_text, &Defaults::default())
    }

    fn run_with(section_text: &str, defaults: &Defaults) -> Result<Converted, Failure> {
        let ini = ini::parse(section_text).unwrap();
        let section = &ini.sections[0];
        let name = section.name.strip_prefix("program:").unwrap();
        let env = |k: &str| match k {
            "N" => Some("2".to_string()),
            _ => None,
        };
        convert(
            &Input {
                section,
                name,
                supd_name: name,
                group: None,
                here: "/etc/supervisor",
                keys: PROGRAM_KEYS,
            },
            defaults,
            &env,
        )
    }

    fn one(section_text: &str) -> (ProgramOut, Vec<String>) {
        let c = run(section_text).unwrap_or_else(|f| panic!("{f:?}"));
        assert_eq!(c.programs.len(), 1);
        let notes = c.notes.into_iter().map(|(_, n)| n).collect();
        (c.programs[0].out.clone(), notes)
    }

    #[test]
    fn gosu_prefix_becomes_user() {
        let (p, notes) = one("[program:web]\ncommand=gosu appuser daphne -p 8000\n");
        assert_eq!(p.user.as_deref(), Some("appuser"));
        assert_eq!(p.command, Command::Str("daphne -p 8000".into()));
        assert!(
            notes[0].contains("\"gosu appuser\" became user"),
            "{notes:?}"
        );
        let (p, notes) = one("[program:web]\nuser=root\ncommand=su-exec app:app run\n");
        assert_eq!(p.user.as_deref(), Some("app:app"));
        assert!(
            notes.iter().any(|n| n.contains("user=root: replaced")),
            "{notes:?}"
        );
    }

    #[test]
    fn numprocs_becomes_programs_named_as_supervisord_names_the_processes() {
        let c = run("[program:queue-worker]\nnumprocs=3\nprocess_name=%(program_name)s_%(process_num)02d\ncommand=celery worker -n w%(process_num)d\nenvironment=SLOT=\"%(process_num)02d\"\nstdout_logfile=/var/log/w%(process_num)s.log\n").unwrap();
        let names: Vec<&str> = c.programs.iter().map(|p| p.out.name.as_str()).collect();
        assert_eq!(
            names,
            ["queue-worker_00", "queue-worker_01", "queue-worker_02"]
        );
        assert_eq!(c.group.as_deref(), Some("queue-worker"));
        assert_eq!(c.programs[2].process_names, ["queue-worker_02"]);
        assert_eq!(
            c.programs[1].out.command,
            Command::Str("celery worker -n w1".into())
        );
        assert_eq!(
            c.programs[1].out.environment,
            [("SLOT".to_string(), "01".to_string())]
        );
        assert_eq!(c.programs[2].out.stdout.as_deref(), Some("/var/log/w2.log"));
        assert!(
            c.notes.iter().any(|(_, n)| n.contains(
                "became the 3 programs queue-worker_00, queue-worker_01, queue-worker_02 \
                 (supervisord's process names), in the group \"queue-worker\""
            )),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn numprocs_start_numbers_the_processes() {
        let c = run("[program:worker]\nnumprocs=2\nnumprocs_start=5\nprocess_name=w%(process_num)s\ncommand=x %(process_num)d\n").unwrap();
        let names: Vec<&str> = c.programs.iter().map(|p| p.out.name.as_str()).collect();
        assert_eq!(names, ["w5", "w6"]);
        assert_eq!(c.programs[1].out.command, Command::Str("x 6".into()));
    }

    #[test]
    fn a_process_name_supd_refuses_falls_back_to_the_section_name() {
        let c =
            run("[program:w]\nnumprocs=2\nprocess_name=w:%(process_num)s\ncommand=x\n").unwrap();
        let names: Vec<&str> = c.programs.iter().map(|p| p.out.name.as_str()).collect();
        assert_eq!(names, ["w-0", "w-1"]);
        assert!(
            c.notes
                .iter()
                .any(|(_, n)| n.contains("\"w:0\" is not a valid supd program name")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn a_process_name_of_one_process_names_the_program_in_its_group() {
        let c = run("[program:web]\nprocess_name=frontend\ncommand=x\n").unwrap();
        assert_eq!(c.programs[0].out.name, "frontend");
        assert_eq!(c.group.as_deref(), Some("web"));
        let c = run("[program:web]\nprocess_name=%(program_name)s\ncommand=x\n").unwrap();
        assert_eq!((c.programs[0].out.name.as_str(), c.group), ("web", None));
    }

    #[test]
    fn values_from_the_environment_that_is_not_set_keep_the_default_with_a_warning() {
        let c = run("[program:w]\nnumprocs=%(ENV_UNSET)s\nautostart=%(ENV_UNSET)s\ncommand=x\n")
            .unwrap();
        assert_eq!(c.programs.len(), 1);
        assert_eq!(c.programs[0].out.autostart, None);
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert!(
            c.warnings[1].1.starts_with(
                "autostart=%(ENV_UNSET)s: UNSET is not set here, and supd needs this value now"
            ),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn unknown_options_are_ignored_with_a_warning() {
        let c = run("[program:a]\ncommand=x\nauto_start=false\npidfile=/run/a.pid\n").unwrap();
        assert_eq!(c.programs[0].out.autostart, None);
        assert_eq!(
            c.warnings,
            [
                (
                    3,
                    "auto_start=false: ignored, as supervisord ignores options it does not know \
                     in this section (did you mean \"autostart\"?)"
                        .to_string()
                ),
                (
                    4,
                    "pidfile=/run/a.pid: ignored, as supervisord ignores options it does not \
                     know in this section"
                        .to_string()
                )
            ]
        );
    }

    #[test]
    fn numprocs_needs_process_num_in_process_name() {
        let f = run("[program:w]\nnumprocs=2\ncommand=x\n").err().unwrap();
        assert_eq!(f.line, 2);
        assert!(f.message.contains("process_name"), "{}", f.message);
        assert!(run("[program:w]\nnumprocs=0\ncommand=x\n").is_err());
        assert!(run("[program:w]\nnumprocs=100000\ncommand=x\n").is_err());
    }

    #[test]
    fn numprocs_from_the_environment_is_read_now() {
        let c = run("[program:w]\nnumprocs=%(ENV_N)s\nprocess_name=w%(process_num)s\ncommand=x\n")
            .unwrap();
        assert_eq!(c.programs.len(), 2);
        assert!(
            c.notes
                .iter()
                .any(|(_, n)| n.contains("read at import time"))
        );
    }

    #[test]
    fn defaults_that_differ_are_written_out() {
        let (p, _) = one("[program:a]\ncommand=x\n");
        assert_eq!(p.restart.as_ref().unwrap().value, "on-failure");
        assert_eq!(p.start_retries.as_ref().unwrap().value, 3);
        let (p, notes) = one(
            "[program:a]\ncommand=x\nautorestart=false\nstartretries=0\nstartsecs=0\nstopwaitsecs=30\nstopsignal=quit\nexitcodes=0,2\numask=22\n",
        );
        assert_eq!(p.restart.unwrap().value, "never");
        assert!(
            notes
                .iter()
                .any(|n| n.contains("does not retry a failed start"))
        );
        assert_eq!(p.start_retries.unwrap().value, 0);
        assert_eq!(p.min_uptime.as_deref(), Some("0s"));
        assert_eq!(p.stop_timeout.as_deref(), Some("30s"));
        assert_eq!(p.stop_signal.as_deref(), Some("QUIT"));
        assert_eq!(p.exit_codes, Some(vec![0, 2]));
        assert_eq!(p.umask.as_deref(), Some("022"));
    }

    #[test]
    fn log_files() {
        let (p, _) =
            one("[program:a]\ncommand=x\nstdout_logfile=/dev/fd/1\nstderr_logfile=/dev/stderr\n");
        assert_eq!(
            (p.stdout.as_deref(), p.stderr.as_deref()),
            (Some("console"), Some("console"))
        );
        let (p, notes) = one("[program:a]\ncommand=x\nstdout_logfile=NONE\nstderr_logfile=AUTO\n");
        assert_eq!((p.stdout.as_deref(), p.stderr), (Some("null"), None));
        assert!(notes.iter().any(|n| n.starts_with("stderr_logfile=AUTO")));
        let (p, notes) = one(
            "[program:a]\ncommand=x\nstdout_logfile=%(here)s/%(program_name)s.log\nstderr_logfile=/dev/stdout\n",
        );
        assert_eq!(p.stdout.as_deref(), Some("/etc/supervisor/a.log"));
        assert!(
            notes.iter().any(|n| n.contains("not its standard output")),
            "{notes:?}"
        );
        let (p, notes) = one(
            "[program:a]\ncommand=x\nstdout_logfile=/var/log/a.log\nredirect_stderr=true\nstderr_logfile=/x\nstderr_logfile_maxbytes=1KB\n",
        );
        assert_eq!(p.stdout.as_deref(), Some("/var/log/a.log"));
        assert_eq!(p.stderr.as_deref(), Some("stdout"));
        assert_eq!(
            notes,
            [
                "stderr_logfile=/x: ignored because redirect_stderr=true (as supervisord does)",
                "stderr_logfile_maxbytes=1KB: ignored because redirect_stderr=true (as \
                 supervisord does)"
            ]
        );
        let (p, notes) = one("[program:a]\ncommand=x\nredirect_stderr=true\n");
        assert_eq!((p.stdout, p.stderr.as_deref()), (None, Some("stdout")));
        assert!(notes.is_empty(), "{notes:?}");
    }

    fn rotation_of(section_text: &str) -> (Option<String>, Option<u32>, Vec<String>) {
        let (p, notes) = one(section_text);
        (
            p.log_max_size.map(|c| c.value),
            p.log_backups.map(|c| c.value),
            notes,
        )
    }

    #[test]
    fn rotation_settings_of_a_log_file_become_log_max_size_and_log_backups() {
        // supervisord's MB is 1024 x 1024 bytes: MiB for supd
        let (size, backups, notes) = rotation_of(
            "[program:a]\ncommand=x\nstdout_logfile=/var/log/a.log\nstdout_logfile_maxbytes=1MB\nstdout_logfile_backups=3\n",
        );
        assert_eq!((size.as_deref(), backups), (Some("1MiB"), Some(3)));
        assert!(notes.is_empty(), "{notes:?}");
        // unset: supervisord's defaults, which are not supd's, written out
        let (p, _) = one("[program:a]\ncommand=x\nstdout_logfile=/var/log/a.log\n");
        let size = p.log_max_size.unwrap();
        assert_eq!(
            (size.value.as_str(), size.comment),
            ("50MiB", Some("supervisord's default maxbytes"))
        );
        let backups = p.log_backups.unwrap();
        assert_eq!(
            (backups.value, backups.comment),
            (10, Some("supervisord's default backups"))
        );
        // redirect_stderr: the one file is stdout's
        let (size, backups, _) = rotation_of(
            "[program:a]\ncommand=x\nstdout_logfile=/var/log/a.log\nstdout_logfile_maxbytes=2GB\nredirect_stderr=true\n",
        );
        assert_eq!((size.as_deref(), backups), (Some("2GiB"), Some(10)));
    }

    #[test]
    fn rotation_settings_without_a_log_file_are_dropped_silently() {
        // the seeds: /dev/fd/1 with maxbytes=0, which supervisord requires for a console
        let (size, backups, notes) = rotation_of(
            "[program:a]\ncommand=x\nstdout_logfile=/dev/fd/1\nstdout_logfile_maxbytes=0\nstderr_logfile=NONE\nstderr_logfile_backups=4\n",
        );
        assert_eq!((size, backups), (None, None));
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn stdout_and_stderr_files_rotating_differently_use_the_larger_with_a_note() {
        let (size, backups, notes) = rotation_of(
            "[program:a]\ncommand=x\nstdout_logfile=/l/out\nstdout_logfile_maxbytes=1MB\nstdout_logfile_backups=2\nstderr_logfile=/l/err\nstderr_logfile_maxbytes=5MB\n",
        );
        assert_eq!((size.as_deref(), backups), (Some("5MiB"), Some(10)));
        assert_eq!(
            notes,
            [
                "stdout_logfile_maxbytes=1MB, stderr_logfile_maxbytes=5MB: supd has one \
                 log_max_size for both log files of a program and uses the larger, \"5MiB\"",
                "stdout_logfile_backups=2, stderr_logfile_backups=10 (the default): supd has one \
                 log_backups for both log files of a program and uses the larger, 10"
            ]
        );
    }

    #[test]
    fn a_log_file_supervisord_never_rotated_gets_supds_default_size_with_a_note() {
        let (size, backups, notes) = rotation_of(
            "[program:a]\ncommand=x\nstdout_logfile=/l/out\nstdout_logfile_maxbytes=0\nstdout_logfile_backups=0\n",
        );
        assert_eq!((size.as_deref(), backups), (Some("50MB"), Some(0)));
        assert_eq!(
            notes,
            [
                "stdout_logfile_maxbytes=0: supervisord never rotated /l/out; supd rotates every \
              log file, this one at log_max_size = \"50MB\""
            ]
        );
        // a larger size of the other file wins
        let (size, _, _) = rotation_of(
            "[program:a]\ncommand=x\nstdout_logfile=/l/out\nstdout_logfile_maxbytes=0\nstderr_logfile=/l/err\nstderr_logfile_maxbytes=1GB\n",
        );
        assert_eq!(size.as_deref(), Some("1GiB"));
    }

    #[test]
    fn bad_rotation_values_name_the_line() {
        let f = run("[program:a]\ncommand=x\nstdout_logfile_maxbytes=lots\n")
            .err()
            .unwrap();
        assert_eq!(
            (f.line, f.message.as_str()),
            (
                3,
                "[program:a] stdout_logfile_maxbytes: expected a size like 50MB, 512KB or 0, \
                 found \"lots\""
            )
        );
        let f = run("[program:a]\ncommand=x\nstderr_logfile_backups=-1\n")
            .err()
            .unwrap();
        assert_eq!(f.line, 3);
        assert!(f.message.contains("0 or more"), "{}", f.message);
        let (_, backups, notes) = rotation_of(
            "[program:a]\ncommand=x\nstdout_logfile=/l/out\nstdout_logfile_backups=5000\n",
        );
        assert_eq!(backups, Some(1000));
        assert!(notes[0].contains("at most 1000"), "{notes:?}");
    }

    #[test]
    fn program_environment_feeds_env_expansions() {
        let (p, _) = one(
            "[program:a]\nenvironment=ROOT=\"/srv\",PATH=\"%(ENV_ROOT)s/bin:%(ENV_PATH)s\"\ncommand=%(ENV_ROOT)s/run\n",
        );
        assert_eq!(p.command, Command::Str("/srv/run".into()));
        // supervisord expands `environment` before adding its own names
        assert_eq!(
            p.environment[1],
            ("PATH".to_string(), "${ROOT}/bin:${PATH}".to_string())
        );
    }

    #[test]
    fn supervisord_defaults_apply() {
        let defaults = Defaults {
            user: Some("app".into()),
            directory: Some("/srv".into()),
            umask: Some("027".into()),
            environment: vec![("A".into(), Text::lit("1")), ("B".into(), Text::lit("2"))],
        };
        let c = run_with(
            "[program:a]\ncommand=x %(ENV_A)s\nenvironment=B=\"3\"\n",
            &defaults,
        )
        .unwrap();
        let p = &c.programs[0].out;
        assert_eq!(p.user.as_deref(), Some("app"));
        assert_eq!(p.directory.as_deref(), Some("/srv"));
        assert_eq!(p.umask.as_deref(), Some("027"));
        assert_eq!(p.command, Command::Str("x 1".into()));
        assert_eq!(
            p.environment,
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "3".to_string())
            ]
        );
    }

    #[test]
    fn bad_values_name_the_line() {
        let f = run("[program:a]\ncommand=x\nautostart=maybe\n")
            .err()
            .unwrap();
        assert_eq!(
            (f.line, f.message.as_str()),
            (
                3,
                "[program:a] autostart: expected true or false, found \"maybe\""
            )
        );
        let f = run("[program:a]\ncommand=x %(bogus)s\n").err().unwrap();
        assert_eq!(f.line, 2);
        assert!(f.message.contains("%(bogus)s"));
        let f = run("[program:a]\nautostart=true\n").err().unwrap();
        assert_eq!(
            (f.line, f.message.as_str()),
            (1, "[program:a] has no command")
        );
        assert!(run("[program:a]\ncommand=x\nstopsignal=BOGUS\n").is_err());
        assert!(run("[program:a]\ncommand=x\numask=1777\n").is_err());
        assert!(run("[program:a]\ncommand=gosu 'a b' x\n").is_err());
    }

    #[test]
    fn names() {
        assert_eq!(supd_name("web", "program"), Ok(("web".into(), false)));
        assert_eq!(
            supd_name("web+api", "program"),
            Ok(("web-api".into(), true))
        );
        assert_eq!(
            supd_name("café", "program"),
            Err(
                "the program name \"café\" has non-ASCII characters, which supd names cannot \
                 have (ASCII letters, digits, \"_\", \".\" and \"-\"); rename the program"
                    .to_string()
            )
        );
        assert!(supd_name("all", "program").is_err());
        assert!(supd_name("a:b", "program").is_err());
        assert!(supd_name("", "program").is_err());
        assert_eq!(
            supd_name("supd", "group"),
            Err("the group name \"supd\" is reserved in supd (rename the group)".to_string())
        );
    }
}
