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
mod source;
mod status;
mod timers;
mod watch;
mod wording;

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
    let env = |name: &str| std::env::var(name).ok();
    match supd_import::convert_file(file, &env) {
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
