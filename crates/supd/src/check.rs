//! `supd check`: everything `supd run` refuses (the config itself, then [`crate::preflight`]),
//! and what would only fail once a program starts, each as `FILE:LINE: KEY: sentence`;
//! exit 2 when there is any:
//! - a command (or `health.command`) not on the program's `PATH` (its `environment`'s,
//!   else supd's own), or that the program's user cannot execute: a directory on the way it
//!   cannot enter, no execute permission for it, a script it cannot read, a `#!`
//!   interpreter (also one found through `env`) that is missing or that it cannot execute;
//! - a working directory the program's user cannot enter;
//! - a log file (`stdout`/`stderr` path) supd cannot create or write;
//! - a control socket whose directory is missing or not writable for supd;
//! - a `[supd.http]` `token_file` supd cannot read, or one that is empty;
//! - a program's socket (`sockets`) that cannot be bound now (a port in use, a missing
//!   directory); the ones that can are listed on stdout (`web: tcp://127.0.0.1:8000 is
//!   free`).
//!
//! (A run still starts with those: the program alone fails, saying why.) Warnings, printed
//! as `FILE:LINE: warning: KEY: sentence`, leave the exit code 0: a watch `include` glob
//! that matches no file right now, and a config with no program that runs.
//!
//! Permissions are judged from the permission bits, as [`access`] describes. A program
//! with no `user` runs as supd does.

mod access;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use supd_config::{Config, Diagnostic, LoadOptions, OutputTarget, ProgramSpec};
use supd_sys::users::UserDb;

use access::{Who, absolute};

/// Runs `supd check` on the config at `path`; returns the exit code.
pub fn run(path: &Path, options: &LoadOptions) -> i32 {
    let loaded = match crate::source::read(path, options) {
        Ok(loaded) => loaded,
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            summary(path, &problems, 0);
            return crate::exit::USAGE;
        }
    };
    let config = &loaded.config;
    let mut findings = Findings::default();
    for problem in crate::preflight::check(config) {
        findings.problem(problem);
    }
    inspect(config, &mut findings);
    http(config, &mut findings);
    for line in sockets(config, &mut findings) {
        println!("{line}");
    }
    let problems = loaded.shown(findings.problems);
    let warnings = loaded.shown(findings.warnings);
    let mut lines: Vec<(&Diagnostic, Severity)> = problems
        .iter()
        .map(|d| (d, Severity::Problem))
        .chain(warnings.iter().map(|d| (d, Severity::Warning)))
        .collect();
    sort(&mut lines, config);
    for (d, severity) in &lines {
        match severity {
            Severity::Problem => eprintln!("{d}"),
            Severity::Warning => eprintln!("{}", warning_line(d)),
        }
    }
    if !problems.is_empty() {
        summary(path, &problems, warnings.len());
        return crate::exit::USAGE;
    }
    let warnings = warnings.len();
    if let Some(notes) = loaded.converted {
        eprintln!("{}", crate::source::suggest_import(path, notes));
    }
    println!("{}", ok_line(path, config, warnings));
    crate::exit::SUCCESS
}

/// A problem makes `supd check` exit 2; a warning does not.
#[derive(Clone, Copy)]
enum Severity {
    Problem,
    Warning,
}

/// What the inspection found, each once.
#[derive(Default)]
struct Findings {
    problems: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl Findings {
    fn problem(&mut self, d: Diagnostic) {
        if !self.problems.contains(&d) {
            self.problems.push(d);
        }
    }

    fn warning(&mut self, d: Diagnostic) {
        if !self.warnings.contains(&d) {
            self.warnings.push(d);
        }
    }
}

/// Looks at the machine for every program (the instances of one program share its table,
/// so their findings are the same and count once).
fn inspect(config: &Config, out: &mut Findings) {
    let db = UserDb::system();
    let supd = Who::supd();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    for p in &config.programs {
        for (key, target) in [("stdout", &p.stdout), ("stderr", &p.stderr)] {
            if let OutputTarget::File(file) = target {
                let file = absolute(file, &cwd);
                if let Some(why) = supd.cannot_write(&file, &db) {
                    let message = format!("supd cannot write log file {}: {why}", file.display());
                    out.problem(config.program_problem(&p.name, key, message));
                }
            }
        }
        if let Some(watch) = &p.watch {
            for i in crate::watch::unmatched_includes(watch) {
                let roots: Vec<String> = watch
                    .paths
                    .iter()
                    .map(|r| absolute(r, &cwd).display().to_string())
                    .collect();
                let message = format!(
                    "{:?} matches no file under {} right now",
                    watch.include[i],
                    roots.join(", ")
                );
                out.warning(config.program_item_problem(&p.name, "watch.include", i, message));
            }
        }
        if p.restart_mode == supd_config::RestartMode::StartFirst && p.sockets.is_empty() {
            let message = "start-first runs the new process beside the old one: without \
                           `sockets` (a socket supd holds for both), a server that binds its \
                           own port cannot start while the old one holds it, unless it binds \
                           with SO_REUSEPORT";
            out.warning(config.program_problem(&p.name, "restart_mode", message));
        }
        if let Some(who) = program_user(p, &db) {
            runnable(config, p, &who, &cwd, &db, out);
        }
    }
    socket(config, &supd, &cwd, &db, out);
    if config.programs.is_empty() {
        let message = if config.inactive.is_empty() {
            "the config has no programs (add a [program.NAME] table with a command)".to_string()
        } else {
            format!(
                "no program runs with the active profiles (left out: {})",
                config.inactive.join(", ")
            )
        };
        out.warning(Diagnostic {
            file: config.path.clone(),
            line: None,
            key: None,
            message,
        });
    }
}

/// The `token_file`s of `[supd.http]`, read as `supd run` reads them.
fn http(config: &Config, out: &mut Findings) {
    let Some(http) = &config.supd.http else {
        return;
    };
    for listen in &http.listen {
        if let Err(e) = crate::http::gate::Gate::of(listen) {
            out.problem(config.supd_problem("http.token_file", e.0));
        }
    }
}

/// Tries every program's sockets as `supd run` would bind them: one line for each address
/// that is free, a problem for each that is not.
fn sockets(config: &Config, out: &mut Findings) -> Vec<String> {
    let mut free = Vec::new();
    for p in &config.programs {
        for (i, socket) in p.sockets.iter().enumerate() {
            let url = socket.address.url();
            match crate::sockets::bindable(&socket.address) {
                Ok(()) => free.push(format!("{}: {url} is free", p.name)),
                Err(why) => {
                    let message = format!("{url} cannot be bound: {why}");
                    let mut d = config.program_item_problem(&p.name, "sockets", i, message);
                    d.key = d.key.map(|k| format!("{k}[{i}]"));
                    out.problem(d);
                }
            }
        }
    }
    free
}

/// Who the program runs as; `None` when its `user` cannot be used (a problem
/// [`crate::preflight`] reports).
fn program_user(p: &ProgramSpec, db: &UserDb) -> Option<Who> {
    let Some(user) = &p.user else {
        return Some(Who::supd());
    };
    let run_as = crate::identity::run_as(user, db).ok()?;
    let shown = format!("user {:?}", crate::identity::describe(user));
    Some(match run_as.credentials {
        Some(c) => Who {
            uid: c.uid,
            gid: c.gid,
            groups: c.groups,
            shown,
        },
        None => Who {
            shown,
            ..Who::supd()
        },
    })
}

/// The working directory, the command and the health command of `p`, for `who`.
fn runnable(
    config: &Config,
    p: &ProgramSpec,
    who: &Who,
    supd_cwd: &Path,
    db: &UserDb,
    out: &mut Findings,
) {
    let cwd = p
        .directory
        .as_deref()
        .map_or_else(|| supd_cwd.to_path_buf(), |d| absolute(d, supd_cwd));
    if p.directory.is_some() {
        if !cwd.is_dir() {
            return; // preflight says so; nothing runs there
        }
        if let Some(why) = who.cannot_enter(&cwd, db) {
            let message = format!(
                "{} cannot enter the working directory {}: {why}",
                who.shown,
                cwd.display()
            );
            out.problem(config.program_problem(&p.name, "directory", message));
            return; // nothing runs there
        }
    }
    let (path, path_source) = program_path(p);
    let mut commands = vec![("command", &p.command)];
    if let Some(supd_config::HealthSpec {
        check: supd_config::HealthCheck::Command(argv),
        ..
    }) = &p.health
    {
        commands.push(("health.command", argv));
    }
    for (key, argv) in commands {
        let Some(program) = argv.first() else {
            continue;
        };
        let problem = command_problem(program, who, &path, &path_source, &cwd, p, db);
        if let Some(message) = problem {
            out.problem(config.program_problem(&p.name, key, message));
        }
    }
}

/// Why `program` cannot be run by `who` in `cwd` with `PATH` `path`; the lookup is supd's
/// own ([`supd_sys::spawn::find_executable`], as for a start), the execution `who`'s.
fn command_problem(
    program: &str,
    who: &Who,
    path: &OsStr,
    path_source: &str,
    cwd: &Path,
    p: &ProgramSpec,
    db: &UserDb,
) -> Option<String> {
    let name = OsStr::new(program);
    let found = supd_sys::spawn::find_executable(name, Some(path), p.directory.as_deref());
    let cannot_run = |file: &Path| {
        who.cannot_execute(file, path, cwd, db)
            .map(|why| format!("{} cannot run {}: {why}", who.shown, file.display()))
    };
    match found {
        Ok(file) => cannot_run(&absolute(&file, cwd)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut message = if program.contains('/') {
                format!(
                    "{} does not exist",
                    absolute(Path::new(program), cwd).display()
                )
            } else {
                format!(
                    "{program:?} is not on PATH ({}{path_source})",
                    Path::new(path).display()
                )
            };
            if program.contains(char::is_whitespace) {
                // `command = ["python manage.py"]`, or quotes inside the command string.
                message.push_str("; that name has a space in it: give each word separately");
            }
            Some(message)
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            let candidate = first_candidate(program, path, cwd)?;
            Some(
                cannot_run(&candidate)
                    .unwrap_or_else(|| format!("{} cannot be executed", candidate.display())),
            )
        }
        Err(e) => Some(format!(
            "cannot run {program:?}: {}",
            supd_sys::describe(&e)
        )),
    }
}

/// The file a lookup of `program` stops at when nothing it finds is executable: the path
/// itself when it has a `/`, else the first entry of `PATH` that has it.
fn first_candidate(program: &str, path: &OsStr, cwd: &Path) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(absolute(Path::new(program), cwd));
    }
    std::env::split_paths(path)
        .map(|dir| absolute(&dir.join(program), cwd))
        .find(|c| match std::fs::metadata(c) {
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::PermissionDenied,
        })
}

/// The `PATH` a start of `p` looks its command up on, and where it comes from (for
/// messages): the program's environment, else supd's own, else the default of
/// [`supd_sys::spawn::find_executable`].
fn program_path(p: &ProgramSpec) -> (OsString, String) {
    if let Some((_, v)) = p.environment.iter().find(|(k, _)| k == "PATH") {
        return (v.into(), ", from the program's environment".to_string());
    }
    match std::env::var_os("PATH") {
        Some(v) => (v, ", supd's own".to_string()),
        None => (
            "/usr/local/bin:/usr/bin:/bin".into(),
            ", the default: neither supd nor the program sets PATH".to_string(),
        ),
    }
}

/// The control socket's groups, and its directory unless a socket is already there (a
/// running supd).
fn socket(config: &Config, supd: &Who, cwd: &Path, db: &UserDb, out: &mut Findings) {
    if let Err(unknown) = crate::control::access::Access::from_spec(&config.supd, db) {
        let message = format!("no group named {:?} in /etc/group", unknown.name);
        out.problem(config.supd_problem(unknown.key, message));
    }
    let mode = config.supd.socket_mode;
    if config.supd.socket_group.is_some() && mode & 0o060 != 0o060 {
        let message = format!(
            "mode {mode:04o} does not let socket_group read and write the socket, so its \
             members cannot connect (use \"0660\", or leave socket_mode out)"
        );
        out.warning(config.supd_problem("socket_mode", message));
    }
    let socket = absolute(&config.supd.socket, cwd);
    if std::fs::symlink_metadata(&socket).is_ok() {
        return;
    }
    if let Some(why) = supd.cannot_write(&socket, db) {
        let message = format!(
            "supd cannot create the control socket {}: {why}",
            socket.display()
        );
        out.problem(config.supd_problem("socket", message));
    }
}

/// By file (the main file first, then in order of appearance), then line.
fn sort<T>(lines: &mut [(&Diagnostic, T)], config: &Config) {
    let mut files: Vec<PathBuf> = vec![config.path.clone()];
    for (d, _) in lines.iter() {
        if !files.contains(&d.file) {
            files.push(d.file.clone());
        }
    }
    lines.sort_by_key(|(d, _)| {
        let file = files.iter().position(|f| *f == d.file);
        (file, d.line.unwrap_or(0))
    });
}

/// `FILE:LINE: warning: KEY: sentence`.
fn warning_line(d: &Diagnostic) -> String {
    let mut line = d.file.display().to_string();
    if let Some(n) = d.line {
        line.push_str(&format!(":{n}"));
    }
    line.push_str(": warning: ");
    if let Some(key) = &d.key {
        line.push_str(&format!("{key}: "));
    }
    line.push_str(&d.message);
    line
}

/// `supd: N problems in PATH`, after the `problems` (for `supd check` and a refused run).
pub fn summary(path: &Path, problems: &[Diagnostic], warnings: usize) {
    let converted = problems
        .iter()
        .any(|d| d.file.to_string_lossy().ends_with(crate::source::CONVERTED));
    let n = problems.len();
    let warnings = match warnings {
        0 => String::new(),
        1 => " and 1 warning".to_string(),
        w => format!(" and {w} warnings"),
    };
    eprintln!(
        "supd: {n} problem{}{warnings} in {}{}",
        if n == 1 { "" } else { "s" },
        path.display(),
        if converted {
            format!(
                " (lines of the converted TOML that `supd import {}` prints)",
                path.display()
            )
        } else {
            String::new()
        }
    );
}

/// `supd.toml: ok (2 programs: web, worker)`, then the programs profiles leave out and
/// the number of warnings.
fn ok_line(path: &Path, config: &Config, warnings: usize) -> String {
    let names: Vec<&str> = config.programs.iter().map(|p| p.name.as_str()).collect();
    let mut line = format!(
        "{}: ok ({} program{}{})",
        path.display(),
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        if names.is_empty() {
            String::new()
        } else {
            format!(": {}", names.join(", "))
        }
    );
    if !config.inactive.is_empty() {
        let active = if config.options.profiles.is_empty() {
            "no profile is active".to_string()
        } else {
            format!("active profiles: {}", config.options.profiles.join(", "))
        };
        line.push_str(&format!(
            "; left out by profiles: {} ({active})",
            config.inactive.join(", ")
        ));
    }
    match warnings {
        0 => {}
        1 => line.push_str("; 1 warning"),
        w => line.push_str(&format!("; {w} warnings")),
    }
    line
}
