//! The open-files limit: supd raises its own soft limit to the hard one (it may hold
//! thousands of pipes), and its programs get the limit supd was started with.

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use supd_tests::Supd;

/// `RLIMIT_NOFILE` (soft, hard) of process `pid`, from `/proc/PID/limits`.
fn open_files_limit(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let mut values = line["Max open files".len()..].split_whitespace();
    (
        values.next().unwrap().to_string(),
        values.next().unwrap().to_string(),
    )
}

#[test]
fn supd_raises_its_own_limit_and_programs_get_the_original_one() {
    // This test binary has this one test: lowering its own soft limit affects nothing else.
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let lowered = soft.min(hard / 2).max(64);
    setrlimit(Resource::RLIMIT_NOFILE, lowered, hard).unwrap();

    let mut supd = Supd::start(
        r#"
[program.limits]
command = ["sh", "-c", "echo soft $(ulimit -n) hard $(ulimit -Hn); exec sleep 1000"]
min_uptime = "0s"
"#,
    );
    let line = supd.wait_stdout_prefix("limits | soft ");
    assert_eq!(line, format!("limits | soft {lowered} hard {hard}"));
    assert_eq!(
        open_files_limit(supd.pid()),
        (hard.to_string(), hard.to_string()),
        "supd's own limit is raised to the hard one"
    );
    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}
