//! `flood N [WIDTH]`: prints lines `1`..`N`, each zero-padded to WIDTH bytes (default: no
//! padding), to stdout as fast as it can, then exits 0.

use std::io::{BufWriter, Write};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let width: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let out = std::io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, out.lock());
    for i in 1..=n {
        if writeln!(out, "{i:0width$}").is_err() {
            std::process::exit(1);
        }
    }
    if out.flush().is_err() {
        std::process::exit(1);
    }
}
