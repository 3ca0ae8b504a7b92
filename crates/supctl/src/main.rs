//! `supctl`: the command-line client of supd.
//!
//! Exit codes: [`exit`].

mod client;
mod exit;
mod render;
mod top;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use supd_proto::{ErrorKind, ProgramStatus, Reply, Request, ServerMessage, Stream};

use client::{Client, Failure};

/// Mentioned once, below `supctl --help`; the aliases themselves stay out of the list.
const HABITS: &str = "\
Habits from supervisorctl and docker compose work too: `tail` is logs, `ps` is status, \
`update` is reload, `down` is shutdown; commands supctl does without (reread, avail, \
kill, ...) say which command to use instead.";

#[derive(Parser)]
#[command(
    name = "supctl",
    version,
    about = "Control a running supd: status, top, start, stop, restart, signal, logs, shutdown",
    after_help = HABITS
)]
struct Cli {
    /// Control socket [default: $SUPD_SOCKET, else the socket of --config/$SUPD_CONFIG,
    /// else /run/supd.sock]
    #[arg(long, short = 's', global = true, value_name = "PATH")]
    socket: Option<PathBuf>,

    /// supd's config file, to find the socket in it
    #[arg(long, short = 'c', global = true, value_name = "PATH")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show each program's state, pid, CPU, memory, uptime, restarts and last exit (exit 3
    /// unless all up)
    #[command(alias = "ps")]
    Status {
        /// Programs to show [default: all]
        names: Vec<String>,
        /// Print a JSON array instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Watch the programs live: state, pid, CPU, memory, restarts and uptime, every second
    ///
    /// Rows are sorted busiest first. Keys: `c`, `m`, `n` sort by CPU, memory or name; `r`
    /// reverses the order; `q` or Ctrl-C quits. Rows that do not fit the terminal are
    /// counted (`… 3 more`). When stdout is no terminal, prints one snapshot and exits 0 (as
    /// `top -b -n 1` does); when supd goes away, exits 4 saying so.
    Top {
        /// Programs to show [default: all]
        names: Vec<String>,
    },
    /// Start programs and wait until they run (or fail to)
    Start {
        /// Program names, or `all`
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Stop programs and wait until every process of theirs is gone
    Stop {
        /// Program names, or `all`
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Stop then start programs, and wait until they run again (or fail to)
    Restart {
        /// Program names, or `all`
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Restart programs start-first: start the new process beside the running one, stop the
    /// old one once the new one is up; if it never comes up, the old one serves on
    Upgrade {
        /// Program names, or `all`
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Send a signal to the process group of programs
    Signal {
        /// `HUP`, `SIGHUP` or a number
        signal: String,
        /// Program names, or `all`
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Print recent output of programs (stderr lines too, on stdout), and follow it with -f
    #[command(alias = "tail")]
    Logs {
        /// Programs [default: all, interleaved in arrival order]
        names: Vec<String>,
        /// How many recent lines, or `all` (what supd keeps: about 1 MB per program)
        #[arg(
            short = 'n',
            long,
            visible_alias = "tail",
            default_value = "100",
            value_name = "N",
            value_parser = parse_lines
        )]
        lines: usize,
        /// Keep printing new output until interrupted (or until supd exits)
        #[arg(short = 'f', long)]
        follow: bool,
        /// Only output from the last DURATION ("5m", "1h")
        #[arg(long, value_name = "DURATION", value_parser = supd_config::duration::parse)]
        since: Option<std::time::Duration>,
        /// Only what the programs wrote to stdout
        #[arg(long, conflicts_with = "stderr")]
        stdout: bool,
        /// Only what the programs wrote to stderr
        #[arg(long)]
        stderr: bool,
        /// Start each line with the time supd read it (RFC 3339, milliseconds, UTC)
        #[arg(short = 't', long)]
        timestamps: bool,
        /// One JSON object per line: {"ts", "program", "stream", "line"}
        #[arg(long)]
        json: bool,
    },
    /// Print state changes as they happen, until interrupted (or until supd exits)
    Events {
        /// Programs [default: all]
        names: Vec<String>,
        /// One JSON object per event: {"ts_ms", "program", "from", "to", "pid", "exit_code", "signal", "reason"}
        #[arg(long)]
        json: bool,
    },
    /// Exit 0 when every autostart program is up (and healthy), else 1: for Docker
    /// HEALTHCHECK and Kubernetes exec probes
    Health,
    /// Wait until the programs are up (and healthy): exit 0, or 1 on timeout or when one of
    /// them cannot come up
    Wait {
        /// Programs [default: every autostart program]
        names: Vec<String>,
        /// Give up after this long ("30s", "2m") [default: wait as long as it takes]
        #[arg(long, value_name = "DURATION", value_parser = supd_config::duration::parse)]
        timeout: Option<std::time::Duration>,
    },
    /// Re-read supd's config and apply only the difference (exit 1 and the problems when
    /// the config is invalid; the running programs are then left as they are)
    #[command(alias = "update")]
    Reload,
    /// Stop every program, then make supd exit; waits until it has
    #[command(alias = "down")]
    Shutdown,
    /// Print the pid of each program, one per line (exit 3 when one has no process), or
    /// supd's own pid when no program is named
    Pid {
        /// Program names, or `all` [default: supd itself]
        names: Vec<String>,
    },
    /// Print the versions of supctl and of the supd it reaches
    Version,
    /// Print a completion script for SHELL (e.g. `supctl completions bash >
    /// /etc/bash_completion.d/supctl`)
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the man page of supctl, or of one of its commands
    Man {
        /// A command, for its own page (supctl-COMMAND(1))
        #[arg(value_name = "COMMAND", conflicts_with = "dir")]
        command: Option<String>,
        /// Write every page (supctl.1 and one per command) into DIR instead
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Any other word: a habit from another tool, or a typo.
    #[command(external_subcommand)]
    Other(Vec<String>),
}

/// `-n N`: a number of lines, or `all`.
fn parse_lines(text: &str) -> Result<usize, String> {
    match text {
        "all" => Ok(usize::MAX),
        _ => text
            .parse()
            .map_err(|_| format!("{text:?} is not a number of lines (or all)")),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(failure) => {
            if failure.code != exit::SUCCESS {
                eprintln!("supctl: {}", failure.message);
            }
            failure.code
        }
    };
    ExitCode::from(code)
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let Cli {
        socket,
        config,
        command,
    } = cli;
    // Found only by the commands that talk to supd.
    let socket = move || client::socket_path(socket, config);
    match command {
        Command::Status { names, json } => {
            let programs = status(&mut Client::connect(&socket()?)?, names, true)?;
            if json {
                println!("{}", render::status_json(&programs));
            } else {
                let mut out = anstream::stdout().lock();
                write!(out, "{}", render::status_table(&programs)).map_err(render::closed)?;
            }
            Ok(if programs.iter().all(|p| p.up) {
                exit::SUCCESS
            } else {
                exit::NOT_UP
            })
        }
        Command::Top { names } => top::run(&socket()?, names),
        Command::Start { names } => act(&socket()?, Request::Start { names }),
        Command::Stop { names } => act(&socket()?, Request::Stop { names }),
        Command::Restart { names } => act(&socket()?, Request::Restart { names }),
        Command::Upgrade { names } => act(&socket()?, Request::Upgrade { names }),
        Command::Signal { signal, names } => act(&socket()?, Request::Signal { signal, names }),
        Command::Logs {
            names,
            lines,
            follow,
            since,
            stdout,
            stderr,
            timestamps,
            json,
        } => {
            let socket = socket()?;
            // Prefix lines with (padded) names when several programs are shown.
            let width = if json {
                None
            } else {
                let shown = client::program_names(&socket, &names)?;
                (shown.len() > 1).then(|| shown.iter().map(String::len).max().unwrap_or(0))
            };
            let since_ms = since.map(|d| {
                std::time::SystemTime::now()
                    .checked_sub(d)
                    .unwrap_or(std::time::UNIX_EPOCH)
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |t| t.as_millis() as u64)
            });
            let stream = match (stdout, stderr) {
                (true, _) => Some(Stream::Stdout),
                (_, true) => Some(Stream::Stderr),
                _ => None,
            };
            let mut client = Client::connect(&socket)?;
            client.send(Request::Logs {
                names,
                lines: Some(lines),
                follow,
                since_ms,
                stream,
            })?;
            let mut out = render::LogPrinter::new(width, timestamps, json);
            loop {
                match client.next_in_stream()? {
                    ServerMessage::Log { chunk, .. } => out.print(&chunk)?,
                    ServerMessage::End { .. } => return Ok(ended(follow)),
                    other => return Err(unexpected(other)),
                }
            }
        }
        Command::Events { names, json } => {
            let mut client = Client::connect(&socket()?)?;
            client.send(Request::Events { names })?;
            loop {
                match client.next_in_stream()? {
                    ServerMessage::Event { event, .. } => render::event(&event, json)?,
                    ServerMessage::End { .. } => return Ok(ended(true)),
                    other => return Err(unexpected(other)),
                }
            }
        }
        Command::Health => {
            let programs = status(&mut Client::connect(&socket()?)?, vec![], false)?;
            let down: Vec<String> = programs
                .iter()
                .filter(|p| p.autostart && !p.up)
                .map(render::not_up)
                .collect();
            if down.is_empty() {
                println!(
                    "healthy: {} program{} up",
                    programs.len(),
                    if programs.len() == 1 { "" } else { "s" }
                );
                Ok(exit::SUCCESS)
            } else {
                println!("unhealthy: {}", down.join("; "));
                Ok(exit::FAILED)
            }
        }
        Command::Wait { names, timeout } => act(
            &socket()?,
            Request::Wait {
                names,
                timeout_ms: timeout.map(|t| t.as_millis() as u64),
            },
        ),
        Command::Reload => match Client::connect(&socket()?)?.request(Request::Reload)? {
            ServerMessage::Reply {
                reply:
                    Reply::Reloaded {
                        added,
                        changed,
                        removed,
                    },
                ..
            } => {
                if added.is_empty() && changed.is_empty() && removed.is_empty() {
                    println!("no program changed");
                }
                for (what, names) in [("added", added), ("changed", changed), ("removed", removed)]
                {
                    if !names.is_empty() {
                        println!("{what}: {}", names.join(", "));
                    }
                }
                Ok(exit::SUCCESS)
            }
            ServerMessage::Error { error, .. } if error.kind == ErrorKind::InvalidConfig => {
                eprintln!("{}", error.message);
                eprintln!(
                    "supctl: the config was not reloaded; supd keeps running the previous one"
                );
                Ok(exit::FAILED)
            }
            other => Err(unexpected(other)),
        },
        Command::Shutdown => {
            let mut client = Client::connect(&socket()?)?;
            match client.request(Request::Shutdown)? {
                ServerMessage::Reply {
                    reply: Reply::ShuttingDown,
                    ..
                } => {}
                other => return Err(unexpected(other)),
            }
            eprintln!("supd: shutting down");
            // supd holds this connection open until it exits.
            client.wait_closed();
            eprintln!("supd: exited");
            Ok(exit::SUCCESS)
        }
        Command::Pid { names } => {
            let mut client = Client::connect(&socket()?)?;
            if names.is_empty() {
                // supd's own pid, from its hello (a status request makes it say hello).
                status(&mut client, vec![], false)?;
                let pid = client.server().and_then(|hello| hello.pid);
                println!("{}", pid.map_or("-".into(), |p| p.to_string()));
                return Ok(exit::SUCCESS);
            }
            let programs = status(&mut client, names, false)?;
            let mut all = true;
            for p in &programs {
                match p.pid {
                    Some(pid) => println!("{pid}"),
                    // Never 0, as supervisorctl prints: `kill $(supctl pid web)` must not
                    // signal the caller's own process group.
                    None => {
                        all = false;
                        eprintln!("supctl: {} has no process (it is {})", p.name, p.state);
                    }
                }
            }
            Ok(if all { exit::SUCCESS } else { exit::NOT_UP })
        }
        Command::Version => {
            println!("supctl {}", env!("CARGO_PKG_VERSION"));
            let mut client = Client::connect(&socket()?)?;
            status(&mut client, vec![], false)?;
            match client.server() {
                Some(hello) => {
                    let pid = hello.pid.map_or(String::new(), |p| format!("pid {p}, "));
                    println!("{} ({pid}protocol {})", hello.software, hello.protocol);
                }
                None => println!("supd: unknown version"),
            }
            Ok(exit::SUCCESS)
        }
        Command::Completions { shell } => {
            // Into memory first: clap_complete panics when its writer fails (`| head`).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "supctl", &mut script);
            let mut out = io::stdout().lock();
            out.write_all(&script)
                .and_then(|()| out.flush())
                .map(|()| 0)
                .map_err(render::closed)
        }
        Command::Man { command, dir } => man(command.as_deref(), dir.as_deref()),
        Command::Other(words) => Err(other_command(&words)),
    }
}

/// The end of a stream: after `logs` without `-f`, nothing to say; a followed stream only
/// ends when supd exits.
fn ended(followed: bool) -> u8 {
    if followed {
        eprintln!("supd exited");
    }
    0
}

/// `supctl man [COMMAND]`, or every page into `--dir`.
fn man(command: Option<&str>, dir: Option<&Path>) -> Result<u8, Failure> {
    // `help` gets no page; the others are `supctl-NAME`, found by name or alias.
    let mut cli = Cli::command().disable_help_subcommand(true);
    cli.build();
    if let Some(dir) = dir {
        for page in std::iter::once(&cli).chain(cli.get_subcommands()) {
            man_page(page).generate_to(dir).map_err(|e| Failure {
                code: exit::FAILED,
                message: format!(
                    "cannot write the man pages into {}: {}",
                    dir.display(),
                    supd_sys::describe(&e)
                ),
            })?;
        }
        return Ok(exit::SUCCESS);
    }
    let page = match command {
        None => &cli,
        Some(name) => cli
            .find_subcommand(name)
            .ok_or_else(|| unknown_command(name))?,
    };
    let mut out = io::stdout().lock();
    man_page(page)
        .render(&mut out)
        .and_then(|()| out.flush())
        .map(|()| 0)
        .map_err(render::closed)
}

/// The page of supctl (`supctl.1`) or of one of its commands (`supctl-logs.1`), from a built
/// command line.
fn man_page(command: &clap::Command) -> clap_mangen::Man {
    clap_mangen::Man::new(command.clone()).source(format!("supctl {}", env!("CARGO_PKG_VERSION")))
}

/// A command supctl does not have: what to use instead when it is another tool's habit,
/// else the closest command (exit 2 either way).
fn other_command(words: &[String]) -> Failure {
    let name = words.first().map_or("", String::as_str);
    let instead = match name {
        "reread" => {
            "`supctl reload` re-reads the config and applies the difference in one step (`supd check` validates it without applying)"
        }
        "avail" => "`supctl status` lists every program of the config, running or not",
        "add" => "`supctl reload` starts the programs added to the config",
        "remove" => "`supctl reload` stops the programs removed from the config",
        "kill" => "`supctl signal KILL NAME...` sends a signal, `supctl stop NAME...` stops",
        "up" => {
            "supd starts its programs itself; `supctl start NAME...` starts stopped ones, `supctl wait` waits until they are up"
        }
        "maintail" => "supd writes its own messages to its stderr, next to the programs' output",
        _ => return unknown_command(name),
    };
    Failure {
        code: exit::USAGE,
        message: format!("no command {name:?}: {instead}"),
    }
}

fn unknown_command(name: &str) -> Failure {
    let cli = Cli::command();
    let commands: Vec<&str> = cli
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .flat_map(|c| std::iter::once(c.get_name()).chain(c.get_all_aliases()))
        .collect();
    let message = match supd_config::closest(name, commands.iter().copied()) {
        Some(near) => format!("no command {name:?} (did you mean {near:?}?)"),
        None => format!("no command {name:?} (see supctl --help)"),
    };
    Failure {
        code: exit::USAGE,
        message,
    }
}

/// The status of the programs `names` selects (all when empty).
/// With `resources`, each program with a process comes with its CPU and memory use.
fn status(
    client: &mut Client,
    names: Vec<String>,
    resources: bool,
) -> Result<Vec<ProgramStatus>, Failure> {
    match client.request(Request::Status { names, resources })? {
        ServerMessage::Reply {
            reply: Reply::Status { programs },
            ..
        } => Ok(programs),
        other => Err(unexpected(other)),
    }
}

/// `start`/`stop`/`restart`/`signal`: one line per program; 1 if any failed.
fn act(socket: &std::path::Path, request: Request) -> Result<u8, Failure> {
    match Client::connect(socket)?.request(request)? {
        ServerMessage::Reply {
            reply: Reply::Actions { outcomes },
            ..
        } => {
            for o in &outcomes {
                if o.ok {
                    println!("{}: {}", o.name, o.message);
                } else {
                    eprintln!("{}: {}", o.name, o.message);
                }
            }
            Ok(if outcomes.iter().all(|o| o.ok) {
                exit::SUCCESS
            } else {
                exit::FAILED
            })
        }
        other => Err(unexpected(other)),
    }
}

/// A reply of the wrong kind, or an error reply, as a failure with the right exit code.
fn unexpected(msg: ServerMessage) -> Failure {
    match msg {
        ServerMessage::Error { error, .. } => Failure {
            code: match error.kind {
                ErrorKind::UnknownProgram => exit::USAGE,
                ErrorKind::BadRequest
                | ErrorKind::Protocol
                | ErrorKind::Refused
                | ErrorKind::InvalidConfig => exit::FAILED,
                ErrorKind::PermissionDenied => exit::UNREACHABLE,
            },
            message: error.message,
        },
        other => Failure {
            code: exit::FAILED,
            message: format!("unexpected answer from supd: {other:?}"),
        },
    }
}
