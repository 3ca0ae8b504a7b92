//! `blast TOTAL_BYTES [LINE_LEN]`: writes TOTAL_BYTES of LINE_LEN-byte lines (default 100,
//! newline included) to stdout as fast as the kernel takes them, in 64 KiB writes — a
//! producer that is never the bottleneck of a throughput benchmark.

use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let total: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(100 << 20);
    let len: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(100)
        .max(1);
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
