//! `bench-ticker RATE SECONDS LINE_LEN GO_FILE STAMP_FILE`: a chatty but slow program. It
//! creates `STAMP_FILE.ready`, waits until GO_FILE exists, stamps its start in STAMP_FILE,
//! then writes RATE lines per second for SECONDS, each line (LINE_LEN bytes, newline
//! included) with its own `write()`, paced on absolute `CLOCK_MONOTONIC` deadlines with a
//! timer slack of 1 ns (a late wake-up writes the overdue lines at once, so the average
//! rate holds).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use supd_bench::{Stamp, sleep_until_mono};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [rate, seconds, len, go, stamp] = args.as_slice() else {
        eprintln!("usage: bench-ticker RATE SECONDS LINE_LEN GO_FILE STAMP_FILE");
        std::process::exit(2);
    };
    let (Ok(rate), Ok(seconds), Ok(len)) = (
        rate.parse::<u64>(),
        seconds.parse::<u64>(),
        len.parse::<usize>(),
    ) else {
        eprintln!("bench-ticker: RATE, SECONDS and LINE_LEN are whole numbers");
        std::process::exit(2);
    };
    let ready = format!("{stamp}.ready");
    if std::fs::write(&ready, "").is_err() {
        std::process::exit(2);
    }
    while !Path::new(go).exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = nix::sys::prctl::set_timerslack(1);
    let start = Stamp::now();
    if std::fs::write(stamp, start.line()).is_err() {
        std::process::exit(2);
    }
    let mut line = vec![b'x'; len.max(1)];
    line[len.max(1) - 1] = b'\n';
    let total = rate * seconds;
    let interval = 1_000_000_000 / rate.max(1);
    // stdout is line-buffered: one write() per line.
    let mut out = std::io::stdout().lock();
    for i in 0..total {
        sleep_until_mono(start.ns + i * interval);
        if out.write_all(&line).and_then(|()| out.flush()).is_err() {
            std::process::exit(1);
        }
    }
}
