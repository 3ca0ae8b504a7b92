//! `bench-seq RATE STATE_DIR`: writes numbered lines to stdout forever, RATE per second, each
//! with one `write()` (shorter than `PIPE_BUF`, so a line reaches the pipe whole or not at
//! all, even under `kill -9`). A line is `RUN SEQ\n`: RUN (`STARTNS-PID`, `CLOCK_MONOTONIC`
//! at start and the pid) names this run, SEQ counts its lines from 0.
//!
//! After each line has been written, SEQ is also written over the start of `STATE_DIR/RUN`
//! (fixed width, one `pwrite`): after a `kill -9` that file says how far the run got (its
//! last line, or the one before when the kill fell between the two writes). The soak checks
//! the log files against it (see `scenarios::soak`).

use std::io::Write;
use std::os::unix::fs::FileExt;

use supd_bench::{Stamp, sleep_until_mono};

fn main() {
    let start = Stamp::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (rate, state_dir) = match args.as_slice() {
        [rate, dir] => match rate.parse::<u64>() {
            Ok(r) if r > 0 => (r, std::path::PathBuf::from(dir)),
            _ => usage(),
        },
        _ => usage(),
    };
    let interval = 1_000_000_000 / rate;
    let run = format!("{}-{}", start.ns, start.pid);
    let state = std::fs::File::create(state_dir.join(&run)).unwrap_or_else(|e| {
        eprintln!(
            "bench-seq: cannot create {}: {e}",
            state_dir.join(&run).display()
        );
        std::process::exit(2);
    });
    let mut out = std::io::stdout().lock();
    for seq in 0u64.. {
        sleep_until_mono(start.ns + seq * interval);
        // stdout is line-buffered: one write() per line.
        if out
            .write_all(format!("{run} {seq}\n").as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            std::process::exit(1);
        }
        let _ = state.write_at(format!("{seq:020}").as_bytes(), 0);
    }
}

fn usage() -> ! {
    eprintln!("usage: bench-seq RATE STATE_DIR (RATE lines per second, at least 1)");
    std::process::exit(2);
}
