//! `supd-bench`: runs the same scenarios against supd and supervisord and prints one table
//! (Markdown) with both figures, how many times better supd is, and the target from
//! BENCHMARKS.md.
//!
//! ```text
//! cargo run --release --locked -p supd-bench [-- --quick | --runs N | --samples N | --only a,b | --json | --no-build]
//! ```
//!
//! Steps: build the release binaries (`$CARGO build --release --locked --bin supd ...`);
//! prepare the peers (supervisord in `target/bench/venv`, Debian's `entr`); print the
//! machine; run the scenarios ([`scenarios`]) in a scratch directory; print the table; check
//! that no process it started is left ([`guard`]).
//!
//! Module map: [`setup`] gets tools ready, [`system`] drives a supervisor, [`scenarios`]
//! measure, [`stats`] and [`report`] summarise, [`procfs`] reads `/proc`, [`guard`] cleans up.

mod guard;
mod procfs;
mod report;
mod scenarios;
mod setup;
mod stats;
mod system;
mod wire;

use std::process::ExitCode;

pub use supd_bench::{Stamp, mono_ns};

/// Errors are sentences shown to the user (in the table's notes).
pub type Res<T> = Result<T, String>;

const USAGE: &str = "\
usage: supd-bench [OPTIONS]

Runs the same scenarios against supd and supervisord and prints one table.

  --quick        fewer runs and samples, 100 MB instead of 500 MB, 5 s idle window
  --runs N       repetitions of whole-life scenarios (default 5)
  --samples N    samples of latency scenarios (default 20)
  --only LIST    comma-separated scenarios to run (see --list); `soak` runs only when named
  --duration S   seconds of chaos in the soak (default 600)
  --list         list the scenarios and exit
  --json         print the results as JSON on stdout instead of the table
  --no-build     do not run `cargo build --release --locked` first
  -h, --help     this text
";

struct Args {
    plan: scenarios::Plan,
    only: Vec<String>,
    json: bool,
    build: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        plan: scenarios::Plan {
            runs: 5,
            samples: 20,
            blast_bytes: 500_000_000,
            idle_secs: 10,
            soak_secs: 600,
        },
        only: Vec::new(),
        json: false,
        build: true,
    };
    let (mut runs, mut samples, mut soak_secs) = (None, None, None);
    let mut it = std::env::args().skip(1);
    let number = |flag: &str, v: Option<String>| -> Result<usize, String> {
        v.and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{flag} needs a positive whole number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => {
                args.plan = scenarios::Plan {
                    runs: 2,
                    samples: 6,
                    blast_bytes: 100_000_000,
                    idle_secs: 5,
                    soak_secs: args.plan.soak_secs,
                };
            }
            "--runs" => runs = Some(number("--runs", it.next())?),
            "--samples" => samples = Some(number("--samples", it.next())?),
            "--duration" => soak_secs = Some(number("--duration", it.next())? as u64),
            "--only" => {
                let list = it.next().ok_or("--only needs a list of scenarios")?;
                for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if !scenarios::ALL.iter().any(|(n, _)| *n == name) {
                        return Err(format!("unknown scenario {name:?} (see --list)"));
                    }
                    args.only.push(name.to_string());
                }
            }
            "--list" => {
                for (name, what) in scenarios::ALL {
                    println!("{name:<10} {what}");
                }
                return Ok(None);
            }
            "--json" => args.json = true,
            "--no-build" => args.build = false,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
        }
    }
    if let Some(n) = runs {
        args.plan.runs = n;
    }
    if let Some(n) = samples {
        args.plan.samples = n;
    }
    if let Some(n) = soak_secs {
        args.plan.soak_secs = n;
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    guard::install();
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("supd-bench: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("supd-bench: {e}");
            guard::cleanup();
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Res<ExitCode> {
    let stale = guard::sweep_stale();
    if stale > 0 {
        eprintln!("killed {stale} processes left by an earlier supd-bench run");
    }
    let bin_dir = setup::bin_dir()?;
    if args.build {
        setup::build(&bin_dir)?;
    } else {
        setup::check_binaries(&bin_dir)?;
    }
    let target = bin_dir.parent().ok_or("no target directory")?.to_path_buf();
    let tools = setup::Tools {
        supervisor: setup::supervisor_venv(&target),
        entr: setup::entr(),
        pid1: setup::pid1(),
        bin_dir,
    };
    let mut info = setup::machine_info(&tools);
    info.push(("open files".into(), setup::raise_open_files()));
    let scratch = tempfile::Builder::new()
        .prefix("supd-bench-")
        .tempdir()
        .map_err(|e| format!("cannot create a scratch directory: {e}"))?
        .keep();
    guard::set_scratch(scratch.clone());

    let selected: Vec<&str> = scenarios::ALL
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| {
            if args.only.is_empty() {
                !scenarios::OPT_IN.contains(n)
            } else {
                args.only.iter().any(|o| o == n)
            }
        })
        .collect();
    let plan = args.plan.clone();
    eprintln!(
        "\n{} runs per whole-life scenario, {} samples per latency scenario; scenarios: {}",
        plan.runs,
        plan.samples,
        selected.join(", ")
    );
    let ctx = scenarios::Ctx::new(tools, plan, scratch.clone());
    let mut rows = Vec::new();
    for name in &selected {
        let what = scenarios::ALL
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, w)| *w);
        eprintln!("\n== {name}: {what}");
        let started = std::time::Instant::now();
        rows.extend(scenarios::run(&ctx, name));
        eprintln!("   ({:.0} s)", started.elapsed().as_secs_f64());
    }

    let killed = guard::sweep(&guard::prefix());
    let _ = std::fs::remove_dir_all(&scratch);
    let command = command_line();
    let sections = ctx.sections();
    if args.json {
        let mut value = report::json(&info, &command, &rows);
        value["sections"] = serde_json::json!(sections);
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        println!();
        for (k, v) in &info {
            println!("{k:<12} {v}");
        }
        println!("{:<12} {command}", "command");
        println!();
        print!("{}", report::table(&rows));
        for section in &sections {
            println!("\n{}", section.trim_end());
        }
    }
    if killed > 0 {
        eprintln!(
            "warning: {killed} processes of the benchmark were still alive at the end (killed)"
        );
    } else {
        eprintln!("\nno process of the benchmark is left");
    }
    Ok(ExitCode::SUCCESS)
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut line = String::from("cargo run --release --locked -p supd-bench");
    if !args.is_empty() {
        line.push_str(" -- ");
        line.push_str(&args.join(" "));
    }
    line
}
