//! `bench-blast TOTAL_BYTES [LINE_LEN [GO_FILE STAMP_FILE]]`: writes TOTAL_BYTES of
//! LINE_LEN-byte lines (default 100, newline included) to stdout as fast as the kernel takes
//! them, in 64 KiB writes — a producer that is never the bottleneck of a throughput
//! benchmark (the same as the tests' `blast`).
//!
//! With GO_FILE and STAMP_FILE it first creates `STAMP_FILE.ready`, waits until GO_FILE
//! exists, and records the moment it starts writing in STAMP_FILE (see `supd_bench::Stamp`):
//! the harness can read the supervisor's CPU time before the first byte flows.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use supd_bench::Stamp;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let total: u64 = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(100 << 20);
    let len: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100)
        .max(1);
    if let [_, _, go, stamp] = args.as_slice() {
        wait_for_go(Path::new(go), Path::new(stamp));
    }
    let mut line = vec![b'x'; len];
    line[len - 1] = b'\n';
    let block: Vec<u8> = line
        .iter()
        .copied()
        .cycle()
        .take(len * (65536 / len).max(1))
        .collect();
    let mut out = std::io::stdout().lock();
    let mut left = total;
    while left > 0 {
        let n = (block.len() as u64).min(left) as usize;
        if out.write_all(&block[..n]).is_err() {
            std::process::exit(1);
        }
        left -= n as u64;
    }
}

/// Says it is ready, waits for the go file, stamps the start.
pub fn wait_for_go(go: &Path, stamp: &Path) {
    let ready = format!("{}.ready", stamp.display());
    if let Err(e) = std::fs::write(&ready, "") {
        eprintln!("bench-blast: cannot write {ready}: {e}");
        std::process::exit(2);
    }
    // Polling is fine here: nothing is measured before the go file appears.
    while !go.exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    if let Err(e) = std::fs::write(stamp, Stamp::now().line()) {
        eprintln!("bench-blast: cannot write {}: {e}", stamp.display());
        std::process::exit(2);
    }
}
