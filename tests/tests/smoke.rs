//! Harness self-check: supd starts, answers, stops, leaves nothing.

use std::time::Duration;

use nix::sys::signal::Signal;
use supd_tests::Supd;

#[test]
fn supd_starts_answers_and_stops_cleanly() {
    let mut supd = Supd::start(
        r#"
[program.a]
command = "sleep 1000"
min_uptime = "0s"
"#,
    );
    let a = supd.wait_state("a", "running");
    assert!(a["pid"].as_u64().is_some());
    assert_eq!(supd.leftovers().len(), 1);
    supd.signal(Signal::SIGTERM);
    let status = supd.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    assert!(supd.leftovers().is_empty());
}
