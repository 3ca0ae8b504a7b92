//! `bench-stamp FILE`: records its own start (`CLOCK_MONOTONIC` ns and pid) in FILE, then
//! waits for a signal forever. A supervised "program" whose every start the benchmark can
//! time on the same clock as the harness. It dies of SIGTERM at once (default action).
//!
//! `bench-stamp --exit FILE`: appends its start to FILE and exits 1 at once — a program
//! that fails right at start, to time a supervisor's retries.

use std::io::Write;

use supd_bench::Stamp;

fn main() {
    // First thing: the moment this program began to run.
    let stamp = Stamp::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, file] if flag == "--exit" => {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
                .unwrap_or_else(|e| fail(&format!("cannot open {file}: {e}")));
            // One write under O_APPEND: lines of concurrent writers never interleave.
            if let Err(e) = f.write_all(stamp.line().as_bytes()) {
                fail(&format!("cannot write {file}: {e}"));
            }
            std::process::exit(1);
        }
        [file] if !file.starts_with('-') => {
            let path = std::path::Path::new(file);
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            // Written aside (a dot file, which readers skip), then renamed over FILE.
            let aside = path.with_file_name(format!(".{name}.{}", stamp.pid));
            if let Err(e) =
                std::fs::write(&aside, stamp.line()).and_then(|()| std::fs::rename(&aside, path))
            {
                fail(&format!("cannot write {file}: {e}"));
            }
            loop {
                nix::unistd::pause();
            }
        }
        _ => {
            eprintln!("usage: bench-stamp FILE | bench-stamp --exit FILE");
            std::process::exit(2);
        }
    }
}

fn fail(message: &str) -> ! {
    eprintln!("bench-stamp: {message}");
    std::process::exit(2);
}
