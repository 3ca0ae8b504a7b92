//! One `[program:x]` section -> one supd program per process.
//!
//! This module owns the meaning of every `[program:x]` option: which supd key it becomes,
//! which supervisord default differs from supd's and is therefore written out
//! (`autorestart` -> `restart = "on-failure"`, `startretries` -> `start_retries = 3`), and
//! which has no equivalent and becomes a note. It returns the programs (several when
//! `numprocs > 1`, named `x-N` by process number) and the notes; it knows nothing about other
//! sections except the `[supervisord]` settings passed in as [`Defaults`].
//!
//! Values that supd interpolates (strings) keep `%(ENV_X)s` as `${X}`; values supd does not
//! interpolate (booleans, integers, names) are resolved now through the caller's
//! environment, with a note.

use crate::command;
#[cfg(test)]
use crate::command::Command;
use crate::expand::{Ctx, Text, expand};
use crate::ini::{Opt, Section};
use crate::render::{Commented, ProgramOut};
use crate::values::{self, AutoRestart, LogFile};

/// Every option supervisord knows in `[program:x]`.
pub(crate) const PROGRAM_KEYS: &[&str] = &[
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
    /// The supd name (already checked); instances add `-N`.
    pub supd_name: &'a str,
    /// The `[group:g]` listing this program, if any.
    pub group: Option<&'a str>,
    /// `%(here)s`.
    pub here: &'a str,
}

/// One converted process.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub out: ProgramOut,
    /// supervisord's name for it (its expanded `process_name`), for supervisorctl names.
    pub process_name: String,
    /// The `numprocs` of its section.
    pub numprocs: i64,
}

/// A problem: the line and one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub line: usize,
    pub message: String,
}

/// The converted processes and the notes about the section (line, text).
pub(crate) struct Converted {
    pub instances: Vec<Instance>,
    pub notes: Vec<(usize, String)>,
}

struct Reader<'a> {
    section: &'a Section,
    label: String,
    env: &'a dyn Fn(&str) -> Option<String>,
    notes: Vec<(usize, String)>,
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

/// A supervisord program name as a supd name: characters outside `[A-Za-z0-9_.-]` become
/// `-` (the second value says whether any did). `all` and `supd` are refused.
pub(crate) fn supd_name(name: &str) -> Result<(String, bool), String> {
    if name.is_empty() {
        return Err("the program name is empty".to_string());
    }
    if name.contains([' ', ':', '/']) {
        return Err(format!(
            "invalid program name {name:?} (supervisord refuses spaces, \":\" and \"/\" too)"
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
            "the program name {clean:?} is reserved in supd (rename the program)"
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
        label: format!("[program:{}]", input.name),
        env,
        notes: Vec::new(),
    };
    for opt in &input.section.options {
        if !PROGRAM_KEYS.contains(&opt.key.as_str()) {
            let hint = supd_config::closest(&opt.key, PROGRAM_KEYS.iter().copied())
                .map(|k| format!(" (did you mean {k:?}?)"))
                .unwrap_or_default();
            return Err(Failure {
                line: opt.line,
                message: format!(
                    "unknown option {:?} in [program:{}]{hint}",
                    opt.key, input.name
                ),
            });
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
    if numprocs > 1
        && !process_name_raw
            .as_ref()
            .is_some_and(|(_, p)| p.contains("%(process_num)"))
    {
        let line = r.opt("numprocs").map_or(input.section.line, |o| o.line);
        return Err(r.fail(
            line,
            "numprocs",
            "numprocs > 1 needs a process_name that contains %(process_num)s (supervisord \
             refuses it too)",
        ));
    }

    let mut instances = Vec::new();
    for process_num in start..start + numprocs {
        let first = process_num == start;
        let mut one = Reader {
            section: input.section,
            label: r.label.clone(),
            env,
            notes: Vec::new(),
        };
        let name = if numprocs > 1 {
            format!("{}-{process_num}", input.supd_name)
        } else {
            input.supd_name.to_string()
        };
        let instance = process(&mut one, input, defaults, name, process_num, numprocs)?;
        if first {
            r.notes.append(&mut one.notes);
        }
        instances.push(instance);
    }
    if let Some((line, raw)) = &process_name_raw {
        let names: Vec<&str> = instances.iter().map(|i| i.out.name.as_str()).collect();
        r.note(
            *line,
            format!(
                "process_name={}: supd names the program{} {}",
                crate::shorten(raw),
                if names.len() > 1 { "s" } else { "" },
                names.join(", ")
            ),
        );
    }
    if numprocs > 1 {
        let line = r.opt("numprocs").map_or(input.section.line, |o| o.line);
        let names: Vec<&str> = instances.iter().map(|i| i.out.name.as_str()).collect();
        r.note(
            line,
            format!(
                "numprocs={numprocs}: expanded into the programs {} (supd's coming `instances` \
                 key will replace this)",
                names.join(", ")
            ),
        );
    }
    r.notes.sort_by_key(|(line, _)| *line);
    Ok(Converted {
        instances,
        notes: r.notes,
    })
}

/// One process of the section.
fn process(
    r: &mut Reader,
    input: &Input,
    defaults: &Defaults,
    name: String,
    process_num: i64,
    numprocs: i64,
) -> Result<Instance, Failure> {
    let group_name = input.group.unwrap_or(input.name);
    let base = Ctx {
        here: input.here,
        program_name: Some(input.name),
        group_name: Some(group_name),
        process_num: Some(process_num),
        numprocs: Some(numprocs),
        env: vec![&defaults.environment],
    };

    // environment first: its values feed %(ENV_X)s of the other options.
    let mut program_env: Vec<(String, Text)> = Vec::new();
    if let Some(opt) = r.opt("environment") {
        let pairs =
            values::environment(&opt.value).map_err(|e| r.fail(opt.line, "environment", e))?;
        for pair in pairs {
            let value = expand(&pair.raw_value, &base)
                .map_err(|e| r.fail(opt.line, "environment", format!("{}: {e}", pair.key)))?;
            program_env.push((pair.key, value));
        }
    }
    let ctx = Ctx {
        env: vec![&program_env, &defaults.environment],
        ..base.clone()
    };

    let process_name = match r.opt("process_name") {
        Some(opt) => {
            let text = expand(&opt.value, &ctx).map_err(|e| r.fail(opt.line, "process_name", e))?;
            text.resolve(r.env)
                .map_err(|e| r.fail(opt.line, "process_name", e))?
        }
        None => input.name.to_string(),
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
    if let Some((line, _)) = r.int("priority", &ctx)? {
        let value = r
            .opt("priority")
            .map(|o| o.value.clone())
            .unwrap_or_default();
        r.note(
            line,
            format!(
                "priority={value}: supd has no priorities; programs start in file order, and \
                 `depends_on = [\"name\"]` makes one wait for another"
            ),
        );
    }
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
    Ok(Instance {
        out,
        process_name,
        numprocs,
    })
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
        if !user.contains('$') {
            if let Err(e) = user.parse::<supd_config::UserSpec>() {
                let line = if line == 0 { r.section.line } else { line };
                return Err(r.fail(line, key, format!("the user {user:?} is not valid: {e}")));
            }
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

/// `stdout_logfile`, `stderr_logfile`, `redirect_stderr`.
fn outputs(r: &mut Reader, ctx: &Ctx, out: &mut ProgramOut) -> Result<(), Failure> {
    out.stdout = output(r, ctx, "stdout")?;
    let redirect = r.bool("redirect_stderr", ctx)?;
    match redirect {
        Some((line, true)) => {
            if let Some(opt) = r.opt("stderr_logfile") {
                let note = format!(
                    "stderr_logfile={}: ignored because redirect_stderr=true (as supervisord does)",
                    crate::shorten(&opt.value)
                );
                r.note(opt.line, note);
            }
            let target = out.stdout.clone();
            let shown = match target.as_deref() {
                None | Some("console") => "supd's standard error".to_string(),
                Some("null") => "null".to_string(),
                Some(path) => format!("the same file {path}"),
            };
            r.note(
                line,
                format!(
                    "redirect_stderr=true: supd has no stderr = \"stdout\" yet, so stderr goes \
                     to {shown}"
                ),
            );
            out.stderr = target;
        }
        _ => out.stderr = output(r, ctx, "stderr")?,
    }
    Ok(())
}

/// One `*_logfile` -> `"console"`, `"null"` or a path.
fn output(r: &mut Reader, ctx: &Ctx, stream: &str) -> Result<Option<String>, Failure> {
    let key = format!("{stream}_logfile");
    let Some((line, text)) = r.text(&key, ctx)? else {
        return Ok(None);
    };
    let Some(value) = text.literal() else {
        return Ok(Some(text.render()));
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
            _ => {
                let path = match p.strip_prefix('~') {
                    Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                        r.note(line, format!("{key}={p}: \"~\" became ${{HOME}}"));
                        let mut t = Text::default();
                        t.push_var("HOME");
                        t.push_lit(rest);
                        t.render()
                    }
                    _ => Text::lit(&p).render(),
                };
                if is_relative(&path) {
                    r.note(line, relative_note(&key, &path));
                }
                path
            }
        },
    };
    Ok(Some(target))
}

/// Options that only become notes.
fn dropped(r: &mut Reader) {
    let section = r.section;
    for opt in &section.options {
        let why = match opt.key.as_str() {
            "stdout_logfile_maxbytes"
            | "stdout_logfile_backups"
            | "stderr_logfile_maxbytes"
            | "stderr_logfile_backups" => "dropped; supd does not rotate log files yet",
            "stdout_capture_maxbytes"
            | "stderr_capture_maxbytes"
            | "stdout_events_enabled"
            | "stderr_events_enabled" => "dropped; supd has no event listeners",
            "stdout_syslog" | "stderr_syslog" => "dropped; supd does not write to syslog",
            "serverurl" => "dropped; supd sets no SUPERVISOR_SERVER_URL for programs",
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
            },
            defaults,
            &env,
        )
    }

    fn one(section_text: &str) -> (ProgramOut, Vec<String>) {
        let c = run(section_text).unwrap_or_else(|f| panic!("{f:?}"));
        assert_eq!(c.instances.len(), 1);
        let notes = c.notes.into_iter().map(|(_, n)| n).collect();
        (c.instances[0].out.clone(), notes)
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
    fn numprocs_expands_into_named_programs() {
        let c = run("[program:worker]\nnumprocs=3\nnumprocs_start=1\nprocess_name=%(program_name)s_%(process_num)02d\ncommand=celery worker -n w%(process_num)d\nenvironment=SLOT=\"%(process_num)s\"\n").unwrap();
        let names: Vec<&str> = c.instances.iter().map(|i| i.out.name.as_str()).collect();
        assert_eq!(names, ["worker-1", "worker-2", "worker-3"]);
        assert_eq!(c.instances[1].process_name, "worker_02");
        assert_eq!(
            c.instances[2].out.command,
            Command::Str("celery worker -n w3".into())
        );
        assert_eq!(
            c.instances[0].out.environment,
            [("SLOT".to_string(), "1".to_string())]
        );
        assert!(
            c.notes
                .iter()
                .any(|(_, n)| n.contains("worker-1, worker-2, worker-3"))
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
        assert_eq!(c.instances.len(), 2);
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
            "[program:a]\ncommand=x\nstdout_logfile=/var/log/a.log\nredirect_stderr=true\nstderr_logfile=/x\n",
        );
        assert_eq!(p.stderr.as_deref(), Some("/var/log/a.log"));
        assert!(notes.iter().any(|n| n.starts_with("redirect_stderr=true")));
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("stderr_logfile=/x: ignored"))
        );
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
        let p = &c.instances[0].out;
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
    fn unknown_options_and_bad_values_name_the_line() {
        let f = run("[program:a]\ncommand=x\nautorestar=true\n")
            .err()
            .unwrap();
        assert_eq!(f.line, 3);
        assert_eq!(
            f.message,
            "unknown option \"autorestar\" in [program:a] (did you mean \"autorestart\"?)"
        );
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
        assert_eq!(supd_name("web"), Ok(("web".into(), false)));
        assert_eq!(supd_name("web+api"), Ok(("web-api".into(), true)));
        assert!(supd_name("all").is_err());
        assert!(supd_name("a:b").is_err());
        assert!(supd_name("").is_err());
    }
}
