//! `supd`: the daemon's command line.
//!
//! Exit codes (DESIGN.md): 0 after a requested shutdown; 2 for a config or usage error;
//! 1 for an internal failure; a critical program's own code when it fails for good.
//! `supd import`: 0 converted, 2 the supervisord file cannot be read or converted.
//!
//! The config comes from [`source`]: a supd TOML file (with its includes and env files, for
//! the profiles of `--profile`/`$SUPD_PROFILE`), or a supervisord file converted on the fly.

mod bulletin;
mod control;
mod daemon;
mod event;
mod exec;
mod identity;
mod launch;
mod logging;
mod logplane;
mod names;
mod notify;
mod owner;
mod preflight;
mod probe;
mod signals;
mod timers;
mod watch;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use supd_config::LoadOptions;

#[derive(Parser)]
#[command(
    name = "supd",
    version,
    about = "A process supervisor for containers: runs, restarts and stops the programs of a TOML config",
    after_help = "Control a running supd with supctl (supctl status, supctl restart web, ...)."
)]
struct Cli {
    /// Config file: supd TOML, or a supervisord file (.conf/.ini), converted on the fly
    /// [default: $SUPD_CONFIG, else /etc/supd/supd.toml]
    #[arg(long, short = 'c', global = true, value_name = "PATH")]
    config: Option<PathBuf>,

    /// Also run the programs of this profile (repeat it, or separate names with commas)
    /// [default: $SUPD_PROFILE]; programs without `profiles` always run
    #[arg(
        long,
        short = 'p',
        global = true,
        value_name = "NAME",
        value_delimiter = ','
    )]
    profile: Vec<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the programs of the config in the foreground (the default)
    Run,
    /// Validate the config: print every problem at once; exit 0 when there is none, else 2
    Check,
    /// Convert a supervisord config to supd TOML: the TOML on stdout, notes on stderr
    #[command(
        after_help = "Example: supd import /etc/supervisor/supervisord.conf > supd.toml\n\
        Exit codes: 0 converted; 2 the file cannot be read or converted (one line naming \
        the file and line)."
    )]
    Import {
        /// The supervisord config file ([include] files are followed)
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Run CMD as USER in place of this process (same pid), like gosu: for entrypoint scripts
    #[command(
        after_help = "Exit codes: CMD's own; 2 when USER cannot be used; 126 when CMD \
        cannot be executed; 127 when it is not found."
    )]
    Exec {
        /// "name", "uid", "name:group" or "uid:gid"
        #[arg(long, short = 'u', value_name = "USER")]
        user: String,
        /// The command and its arguments (after `--`)
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<std::ffi::OsString>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let path = cli
        .config
        .or_else(|| std::env::var_os("SUPD_CONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(supd_config::DEFAULT_CONFIG));
    let options = LoadOptions {
        profiles: profiles(cli.profile),
    };
    let code = match cli.command.unwrap_or(Command::Run) {
        Command::Check => check(&path, &options),
        Command::Run => run(&path, &options),
        Command::Import { file } => import(&file),
        Command::Exec { user, command } => exec::exec(&user, &command),
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}

/// `--profile` names, else those of `$SUPD_PROFILE` (comma-separated); blanks dropped.
fn profiles(given: Vec<String>) -> Vec<String> {
    let given = if given.is_empty() {
        std::env::var("SUPD_PROFILE")
            .map(|v| v.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    } else {
        given
    };
    given
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Loads and validates the config, printing every problem; `None` when there were any.
fn load(path: &Path, options: &LoadOptions) -> Option<source::Loaded> {
    let problems = match source::load(path, options) {
        Ok(loaded) => return Some(loaded),
        Err(problems) => problems,
    };
    for p in &problems {
        eprintln!("{p}");
    }
    let n = problems.len();
    let converted = problems
        .iter()
        .any(|p| p.file.to_string_lossy().ends_with(source::CONVERTED));
    eprintln!(
        "supd: {n} problem{} in {}{}",
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
    None
}

fn check(path: &Path, options: &LoadOptions) -> i32 {
    let Some(loaded) = load(path, options) else {
        return 2;
    };
    let config = &loaded.config;
    if let Some(notes) = loaded.converted {
        eprintln!("{}", source::suggest_import(path, notes));
    }
    let names: Vec<&str> = config.programs.iter().map(|p| p.name.as_str()).collect();
    let mut line = format!(
        "{}: ok ({} program{}: {})",
        path.display(),
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        names.join(", ")
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
    println!("{line}");
    0
}

fn run(path: &Path, options: &LoadOptions) -> i32 {
    let Some(loaded) = load(path, options) else {
        return 2;
    };
    if let Some(notes) = loaded.converted {
        eprintln!("{}", source::suggest_import(path, notes));
    }
    match daemon::run(loaded.config) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("supd: {}", e.message);
            e.code
        }
    }
}

/// `supd import FILE`: 0 with the TOML on stdout and the notes on stderr, or 2 with one line.
fn import(file: &Path) -> i32 {
    match source::convert(file) {
        Ok(conversion) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match out
                .write_all(conversion.toml.as_bytes())
                .and_then(|()| out.flush())
            {
                Ok(()) => {}
                // `supd import x.conf | head`: the reader has all it wanted.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return 0,
                Err(e) => {
                    eprintln!("supd: cannot write the converted config: {e}");
                    return 1;
                }
            }
            for note in &conversion.notes {
                eprintln!("{note}");
            }
            0
        }
        Err(e) => {
            eprintln!("{e}");
            2
        }
    }
}

/// The config supd runs: a supd TOML file, or a supervisord file converted on the fly.
///
/// This module owns the choice between the two and the conversion's file handling (the
/// `[include]` files of a supervisord config, `%(here)s`); everything else is the config
/// crate's ([`supd_config`]) and the converter's ([`supd_import`]). `supd run`, `supd check`
/// and every reload go through [`load`], so they accept exactly the same configs.
pub(crate) mod source {
    use std::path::{Path, PathBuf};

    use supd_config::{Config, Diagnostic, LoadOptions};
    use supd_import::{Conversion, ImportError, SourceFile};

    /// Added to the file name of problems found in a converted config, whose lines are
    /// those of the TOML `supd import` prints.
    pub const CONVERTED: &str = " (converted)";

    /// A config ready to run.
    pub struct Loaded {
        pub config: Config,
        /// `Some(number of notes)` when it was converted from a supervisord file.
        pub converted: Option<usize>,
    }

    /// Reads, validates and preflights the config at `path` (converting a supervisord file
    /// first); every problem when there are any.
    pub fn load(path: &Path, options: &LoadOptions) -> Result<Loaded, Vec<Diagnostic>> {
        let (result, converted) = if is_supervisord(path) {
            let conversion = convert(path).map_err(|e| {
                vec![Diagnostic {
                    file: e.file,
                    line: (e.line > 0).then_some(e.line),
                    key: None,
                    message: e.message,
                }]
            })?;
            let env = |name: &str| std::env::var(name).ok();
            let result = supd_config::parse_str_with(&conversion.toml, path, &env, options)
                .map_err(|d| {
                    // Lines of the converted TOML, not of the .conf file: say so.
                    let shown = PathBuf::from(format!("{}{CONVERTED}", path.display()));
                    d.0.into_iter()
                        .map(|p| Diagnostic {
                            file: shown.clone(),
                            ..p
                        })
                        .collect::<Vec<_>>()
                });
            (result, Some(conversion.notes.len()))
        } else {
            let result = supd_config::load_with(path, options).map_err(|d| d.0);
            (result, None)
        };
        let config = result?;
        let problems = crate::preflight::check(&config);
        if problems.is_empty() {
            Ok(Loaded { config, converted })
        } else {
            Err(problems)
        }
    }

    /// The one line `supd run`/`check` print for a supervisord file.
    pub fn suggest_import(path: &Path, notes: usize) -> String {
        let notes = match notes {
            0 => String::new(),
            1 => " (1 setting changed or has no equivalent)".to_string(),
            n => format!(" ({n} settings changed or have no equivalent)"),
        };
        format!(
            "supd: {p} is a supervisord config, converted on the fly{notes}; to keep a supd \
             config, run: supd import {p} > supd.toml",
            p = path.display()
        )
    }

    /// A supervisord file: named `*.conf`/`*.ini`, or with a `[supervisord]` or
    /// `[program:...]` section (which TOML cannot have).
    pub fn is_supervisord(path: &Path) -> bool {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("conf") || e.eq_ignore_ascii_case("ini"))
        {
            return true;
        }
        let Ok(text) = std::fs::read_to_string(path) else {
            return false;
        };
        text.lines().any(|line| {
            let line = line.trim();
            line == "[supervisord]" || line.starts_with("[program:")
        })
    }

    /// Converts the supervisord file at `path` and the files its `[include]` names; or why
    /// not, one sentence about one file and line.
    pub fn convert(path: &Path) -> Result<Conversion, ImportError> {
        let error = |message: String| ImportError {
            file: path.to_path_buf(),
            line: 0,
            message,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| error(format!("cannot read the file: {}", reason(&e))))?;
        // `%(here)s` is the file's directory as given: make it absolute, so the converted
        // paths mean the same wherever the TOML ends up. Messages keep the path as given.
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let as_given = |mut e: ImportError| {
            if e.file == absolute {
                e.file = path.to_path_buf();
            }
            e
        };
        let env = |name: &str| std::env::var(name).ok();
        let first = supd_import::convert(&text, &absolute, &env).map_err(as_given)?;
        let mut included: Vec<(PathBuf, String)> = Vec::new();
        for pattern in &first.includes {
            let files = supd_config::include::glob_files(pattern)
                .map_err(|why| error(format!("[include] files: {why}")))?;
            for file in files {
                if file == absolute || included.iter().any(|(p, _)| *p == file) {
                    continue;
                }
                let text = std::fs::read_to_string(&file).map_err(|e| {
                    error(format!(
                        "[include] files: cannot read {}: {}",
                        file.display(),
                        reason(&e)
                    ))
                })?;
                included.push((file, text));
            }
        }
        let mut conversion = if included.is_empty() {
            first
        } else {
            let mut sources = vec![SourceFile {
                path: &absolute,
                text: &text,
            }];
            sources.extend(
                included
                    .iter()
                    .map(|(path, text)| SourceFile { path, text }),
            );
            supd_import::convert_files(&sources, &env).map_err(as_given)?
        };
        let (from, to) = (absolute.display().to_string(), path.display().to_string());
        for note in &mut conversion.notes {
            if let Some(rest) = note.strip_prefix(&from) {
                *note = format!("{to}{rest}");
            }
        }
        Ok(conversion)
    }

    fn reason(e: &std::io::Error) -> String {
        match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::InvalidData => "it is not UTF-8 text".to_string(),
            _ => {
                let s = e.to_string();
                s.split(" (os error").next().unwrap_or(&s).to_string()
            }
        }
    }
}
