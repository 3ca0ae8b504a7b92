//! `supctl`: the command-line client of supd.
//!
//! Exit codes (DESIGN.md): 0 success; 1 the action failed; 2 usage error (including an
//! unknown program name); 3 `status`: not every named program is up; 4 supd cannot be
//! reached. Every failure prints one line saying why.

mod client;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use supd_proto::{ErrorKind, Reply, Request, ServerMessage, Stream};

use client::{Client, Failure};

#[derive(Parser)]
#[command(
    name = "supctl",
    version,
    about = "Control a running supd: status, start, stop, restart, signal, logs, shutdown"
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
    /// Show each program's state, pid, uptime, restarts and last exit (exit 3 unless all up)
    Status {
        /// Programs to show [default: all]
        names: Vec<String>,
        /// Print a JSON array instead of a table
        #[arg(long)]
        json: bool,
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
    /// Send a signal to the process group of programs
    Signal {
        /// `HUP`, `SIGHUP` or a number
        signal: String,
        /// Program names, or `all`
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Print recent output of programs, and follow it with -f
    Logs {
        /// Programs [default: all, interleaved in arrival order]
        names: Vec<String>,
        /// How many recent lines
        #[arg(short = 'n', long, default_value_t = 100, value_name = "N")]
        lines: usize,
        /// Keep printing new output until interrupted
        #[arg(short = 'f', long)]
        follow: bool,
        /// Only output from the last DURATION ("5m", "1h")
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        since: Option<std::time::Duration>,
        /// Only what the programs wrote to stdout
        #[arg(long, conflicts_with = "stderr")]
        stdout: bool,
        /// Only what the programs wrote to stderr
        #[arg(long)]
        stderr: bool,
        /// One JSON object per line: {"ts", "program", "stream", "line"}
        #[arg(long)]
        json: bool,
    },
    /// Print state changes as they happen, until interrupted
    Events {
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
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        timeout: Option<std::time::Duration>,
    },
    /// Re-read supd's config and apply only the difference (exit 1 and the problems when
    /// the config is invalid; the running programs are then left as they are)
    Reload,
    /// Stop every program, then make supd exit; waits until it has
    Shutdown,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(failure) => {
            if failure.code != 0 {
                eprintln!("supctl: {}", failure.message);
            }
            failure.code
        }
    };
    ExitCode::from(code)
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let socket = client::socket_path(cli.socket, cli.config)?;
    match cli.command {
        Command::Status { names, json } => {
            let programs = match Client::connect(&socket)?.request(Request::Status { names })? {
                ServerMessage::Reply {
                    reply: Reply::Status { programs },
                    ..
                } => programs,
                other => return Err(unexpected(other)),
            };
            if json {
                println!("{}", render::status_json(&programs));
            } else {
                print!("{}", render::status_table(&programs));
            }
            Ok(if programs.iter().all(|p| p.up) { 0 } else { 3 })
        }
        Command::Start { names } => act(&socket, Request::Start { names }),
        Command::Stop { names } => act(&socket, Request::Stop { names }),
        Command::Restart { names } => act(&socket, Request::Restart { names }),
        Command::Signal { signal, names } => act(&socket, Request::Signal { signal, names }),
        Command::Logs {
            names,
            lines,
            follow,
            since,
            stdout,
            stderr,
            json,
        } => {
            // Prefix lines with (padded) names when several programs are shown.
            let width = if json || names.len() == 1 && names[0] != "all" {
                None
            } else {
                let names = client::program_names(&socket, &names)?;
                Some(names.iter().map(String::len).max().unwrap_or(0))
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
            let mut out = render::LogPrinter::new(width, json);
            loop {
                match client.next()? {
                    ServerMessage::Log { chunk, .. } => out.print(&chunk)?,
                    ServerMessage::End { .. } => return Ok(0),
                    other => return Err(unexpected(other)),
                }
            }
        }
        Command::Events { json } => {
            let mut client = Client::connect(&socket)?;
            client.send(Request::Events { names: vec![] })?;
            loop {
                match client.next()? {
                    ServerMessage::Event { event, .. } => render::event(&event, json)?,
                    ServerMessage::End { .. } => return Ok(0),
                    other => return Err(unexpected(other)),
                }
            }
        }
        Command::Health => {
            let programs =
                match Client::connect(&socket)?.request(Request::Status { names: vec![] })? {
                    ServerMessage::Reply {
                        reply: Reply::Status { programs },
                        ..
                    } => programs,
                    other => return Err(unexpected(other)),
                };
            let down: Vec<String> = programs
                .iter()
                .filter(|p| p.autostart && !p.up)
                .map(|p| match &p.health {
                    Some(h) => format!("{} is {} ({h})", p.name, p.state),
                    None => format!("{} is {}", p.name, p.state),
                })
                .collect();
            if down.is_empty() {
                println!(
                    "healthy: {} program{} up",
                    programs.len(),
                    if programs.len() == 1 { "" } else { "s" }
                );
                Ok(0)
            } else {
                println!("unhealthy: {}", down.join("; "));
                Ok(1)
            }
        }
        Command::Wait { names, timeout } => act(
            &socket,
            Request::Wait {
                names,
                timeout_ms: timeout.map(|t| t.as_millis() as u64),
            },
        ),
        Command::Reload => match Client::connect(&socket)?.request(Request::Reload)? {
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
                Ok(0)
            }
            ServerMessage::Error { error, .. } if error.kind == ErrorKind::InvalidConfig => {
                eprintln!("{}", error.message);
                eprintln!(
                    "supctl: the config was not reloaded; supd keeps running the previous one"
                );
                Ok(1)
            }
            other => Err(unexpected(other)),
        },
        Command::Shutdown => {
            let mut client = Client::connect(&socket)?;
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
            Ok(0)
        }
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
            Ok(if outcomes.iter().all(|o| o.ok) { 0 } else { 1 })
        }
        other => Err(unexpected(other)),
    }
}

/// A reply of the wrong kind, or an error reply, as a failure with the right exit code.
fn unexpected(msg: ServerMessage) -> Failure {
    match msg {
        ServerMessage::Error { error, .. } => Failure {
            code: match error.kind {
                ErrorKind::UnknownProgram => 2,
                ErrorKind::BadRequest
                | ErrorKind::Protocol
                | ErrorKind::Refused
                | ErrorKind::InvalidConfig => 1,
            },
            message: error.message,
        },
        other => Failure {
            code: 1,
            message: format!("unexpected answer from supd: {other:?}"),
        },
    }
}
