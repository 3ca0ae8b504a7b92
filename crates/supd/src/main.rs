//! `supd`: the daemon's command line.
//!
//! Exit codes (DESIGN.md): 0 after a requested shutdown; 2 for a config or usage error;
//! 1 for an internal failure; a critical program's own code when it fails for good.

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

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "supd",
    version,
    about = "A process supervisor for containers: runs, restarts and stops the programs of a TOML config",
    after_help = "Control a running supd with supctl (supctl status, supctl restart web, ...)."
)]
struct Cli {
    /// Config file [default: $SUPD_CONFIG, else /etc/supd/supd.toml]
    #[arg(long, short = 'c', global = true, value_name = "PATH")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the programs of the config in the foreground (the default)
    Run,
    /// Validate the config: print every problem at once; exit 0 when there is none, else 2
    Check,
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
    let code = match cli.command.unwrap_or(Command::Run) {
        Command::Check => check(&path),
        Command::Run => run(&path),
        Command::Exec { user, command } => exec::exec(&user, &command),
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}

/// Loads and validates the config, printing every problem; `None` when there were any.
fn load(path: &std::path::Path) -> Option<supd_config::Config> {
    let problems = match supd_config::load(path) {
        Ok(config) => {
            let problems = preflight::check(&config);
            if problems.is_empty() {
                return Some(config);
            }
            problems
        }
        Err(diagnostics) => diagnostics.0,
    };
    for p in &problems {
        eprintln!("{p}");
    }
    let n = problems.len();
    eprintln!(
        "supd: {n} problem{} in {}",
        if n == 1 { "" } else { "s" },
        path.display()
    );
    None
}

fn check(path: &std::path::Path) -> i32 {
    let Some(config) = load(path) else {
        return 2;
    };
    let names: Vec<&str> = config.programs.iter().map(|p| p.name.as_str()).collect();
    println!(
        "{}: ok ({} program{}: {})",
        path.display(),
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        names.join(", ")
    );
    0
}

fn run(path: &std::path::Path) -> i32 {
    let Some(config) = load(path) else {
        return 2;
    };
    match daemon::run(config) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("supd: {}", e.message);
            e.code
        }
    }
}
