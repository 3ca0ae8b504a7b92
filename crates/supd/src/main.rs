//! `supd`: the daemon's command line.
//!
//! Exit codes: [`exit`].
//!
//! The config comes from [`source`]: a supd TOML file (with its includes and env files, for
//! the profiles of `--profile`/`$SUPD_PROFILE`), or a supervisord file converted on the fly.

mod bulletin;
mod check;
mod control;
mod daemon;
mod event;
mod exec;
mod exit;
mod http;
mod identity;
mod keeper;
mod launch;
mod listeners;
mod logging;
mod logplane;
mod mainlog;
mod names;
mod notify;
mod owner;
mod preflight;
mod probe;
mod signals;
mod sockets;
mod source;
mod status;
#[allow(dead_code)] // used by the HTTP interface and the event listeners, being added
mod supervisor;
mod timers;
mod usage;
mod watch;
mod wording;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};
use supd_config::LoadOptions;

#[derive(Parser)]
#[command(
    name = "supd",
    version,
    about = "A process supervisor for containers: runs, restarts and stops the programs of a TOML config",
    after_help = "Control a running supd with supctl (supctl status, supctl restart web, ...)."
)]
struct Cli {
    #[command(flatten)]
    source: ConfigArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

/// Which config, for the commands that read one (`supd`, `supd run`, `supd check`): given
/// before the command or after it.
#[derive(Args, Default)]
struct ConfigArgs {
    /// Config file: supd TOML, or a supervisord file (.conf/.ini), converted on the fly
    /// [default: $SUPD_CONFIG, else /etc/supd/supd.toml]
    #[arg(long, short = 'c', value_name = "PATH")]
    config: Option<PathBuf>,

    /// Also run the programs of this profile (repeat it, or separate names with commas)
    /// [default: $SUPD_PROFILE]; programs without `profiles` always run
    #[arg(long, short = 'p', value_name = "NAME", value_delimiter = ',')]
    profile: Vec<String>,
}

impl ConfigArgs {
    /// These options, where those given after the command win over those before it.
    fn or(self, before: ConfigArgs) -> ConfigArgs {
        ConfigArgs {
            config: self.config.or(before.config),
            profile: if self.profile.is_empty() {
                before.profile
            } else {
                self.profile
            },
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the programs of the config in the foreground (the default)
    Run {
        #[command(flatten)]
        source: ConfigArgs,
    },
    /// Validate the config: print every problem at once; exit 0 when there is none, else 2
    Check {
        #[command(flatten)]
        source: ConfigArgs,
    },
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
        override_usage = "supd exec USER CMD [ARGS]...\n       supd exec --user USER [--] CMD [ARGS]...",
        after_help = "Both gosu's form (`supd exec appuser daphne ...`) and `--user` work.\n\
        Exit codes: CMD's own; 2 when USER cannot be used; 126 when CMD \
        cannot be executed; 127 when it is not found."
    )]
    Exec {
        /// "name", "uid", "name:group" or "uid:gid" [default: the first word, as in gosu]
        #[arg(long, short = 'u', value_name = "USER")]
        user: Option<String>,
        /// The command and its arguments (after USER, or after `--user USER [--]`)
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            required = true,
            value_name = "CMD"
        )]
        command: Vec<std::ffi::OsString>,
    },
    /// Print a completion script for SHELL (e.g. `supd completions bash >
    /// /etc/bash_completion.d/supd`)
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page of supd, or of one of its commands
    Man {
        /// A command, for its own page (supd-COMMAND(1))
        #[arg(value_name = "COMMAND", conflicts_with = "dir")]
        command: Option<String>,
        /// Write every page (supd.1 and one per command) into DIR instead
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// The keeper that stops the programs if supd dies (started by supd itself)
    #[command(hide = true)]
    Keeper,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command.unwrap_or(Command::Run {
        source: ConfigArgs::default(),
    }) {
        Command::Check { source } => match config_source(source.or(cli.source)) {
            Some((path, options)) => check(&path, &options),
            None => exit::USAGE,
        },
        Command::Run { source } => match config_source(source.or(cli.source)) {
            Some((path, options)) => run(&path, &options),
            None => exit::USAGE,
        },
        Command::Import { file } => import(&file),
        Command::Exec { user, command } => match (user, command.split_first()) {
            (Some(user), _) => exec::exec(&user, &command),
            // gosu's form: the first word is the user (a `--` after it is let through).
            (None, Some((user, command))) if !command.is_empty() && command != ["--"] => {
                let command = command.strip_prefix(&["--".into()][..]).unwrap_or(command);
                exec::exec(&user.to_string_lossy(), command)
            }
            (None, user) => {
                let user = user.map_or("USER".into(), |(u, _)| u.to_string_lossy());
                eprintln!(
                    "supd exec: name the command to run as {user} (supd exec USER CMD [ARGS]...)"
                );
                exit::USAGE
            }
        },
        Command::Completions { shell } => {
            // Into memory first: clap_complete panics when its writer fails (`| head`).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "supd", &mut script);
            let mut out = std::io::stdout().lock();
            written(
                std::io::Write::write_all(&mut out, &script)
                    .and_then(|()| std::io::Write::flush(&mut out)),
            )
        }
        Command::Man { command, dir } => man(command.as_deref(), dir.as_deref()),
        Command::Keeper => keeper::run(),
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}

/// The config file and load options the command line (or the environment) names; `None`,
/// having said so, when none is named and the default file does not exist.
fn config_source(args: ConfigArgs) -> Option<(PathBuf, LoadOptions)> {
    let named = args
        .config
        .or_else(|| std::env::var_os("SUPD_CONFIG").map(PathBuf::from));
    let path = match named {
        Some(path) => path,
        None if !Path::new(supd_config::DEFAULT_CONFIG).exists() => {
            eprintln!(
                "supd: no config file: give one with --config PATH or $SUPD_CONFIG \
                 (the default, {}, does not exist)",
                supd_config::DEFAULT_CONFIG
            );
            return None;
        }
        None => PathBuf::from(supd_config::DEFAULT_CONFIG),
    };
    let options = LoadOptions {
        profiles: profiles(args.profile),
    };
    Some((path, options))
}

/// `supd man [COMMAND]`, or every page into `--dir`.
fn man(command: Option<&str>, dir: Option<&Path>) -> i32 {
    let mut cli = Cli::command().disable_help_subcommand(true);
    cli.build();
    if let Some(dir) = dir {
        let shown = cli.get_subcommands().filter(|c| !c.is_hide_set());
        let pages = std::iter::once(&cli).chain(shown);
        for page in pages {
            if let Err(e) = man_page(page).generate_to(dir) {
                eprintln!(
                    "supd: cannot write the man pages into {}: {}",
                    dir.display(),
                    supd_sys::describe(&e)
                );
                return exit::USAGE;
            }
        }
        return exit::SUCCESS;
    }
    let page = match command {
        None => &cli,
        Some(name) => match cli.find_subcommand(name).filter(|c| !c.is_hide_set()) {
            Some(sub) => sub,
            None => {
                let names: Vec<&str> = cli
                    .get_subcommands()
                    .filter(|c| !c.is_hide_set())
                    .map(|c| c.get_name())
                    .collect();
                eprintln!("supd: no command {name:?} (commands: {})", names.join(", "));
                return exit::USAGE;
            }
        },
    };
    let mut out = std::io::stdout().lock();
    written(
        man_page(page)
            .render(&mut out)
            .and_then(|()| std::io::Write::flush(&mut out)),
    )
}

/// The page of supd (`supd.1`) or of one of its commands (`supd-exec.1`), from a built
/// command line.
fn man_page(command: &clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(command.clone()).source(format!("supd {}", env!("CARGO_PKG_VERSION")))
}

/// The exit code of printing to stdout: 0, also when the reader left early (`| head`).
fn written(result: std::io::Result<()>) -> i32 {
    match result {
        Ok(()) => exit::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::SUCCESS,
        Err(e) => {
            eprintln!("supd: cannot write to stdout: {e}");
            exit::INTERNAL
        }
    }
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
    check::summary(path, &problems, 0);
    None
}

fn check(path: &Path, options: &LoadOptions) -> i32 {
    check::run(path, options)
}

fn run(path: &Path, options: &LoadOptions) -> i32 {
    let Some(loaded) = load(path, options) else {
        return exit::USAGE;
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
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return exit::SUCCESS,
                Err(e) => {
                    eprintln!("supd: cannot write the converted config: {e}");
                    return exit::INTERNAL;
                }
            }
            for note in &conversion.notes {
                eprintln!("{note}");
            }
            exit::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            exit::USAGE
        }
    }
}
