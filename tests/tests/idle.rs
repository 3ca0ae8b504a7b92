//! An idle supd does not poll (issue 2, acceptance item 9; DESIGN.md rule 6).

use std::time::Duration;

use supd_tests::{Supd, cpu_ticks};

#[test]
fn idle_supd_with_10_running_programs_uses_no_cpu_for_10_seconds() {
    let programs: String = (0..10)
        .map(|i| format!("[program.idle{i}]\ncommand = \"sleep 1000\"\nmin_uptime = \"200ms\"\n\n"))
        .collect();
    let mut supd = Supd::start(&programs);
    // Settled: every program past min_uptime, so no timer is pending.
    for i in 0..10 {
        supd.wait_state(&format!("idle{i}"), "running");
    }
    let pid = supd.pid() as i32;

    let before = cpu_ticks(pid);
    // This sleep is the measurement window itself, not a synchronisation: nothing happens
    // during it, and an idle supd must not wake up on its own.
    std::thread::sleep(Duration::from_secs(10));
    let after = cpu_ticks(pid);

    // utime+stime are counted in whole clock ticks, charged to whoever runs when a tick
    // fires; the last bit of work before `before` (answering the last `status`) can still be
    // charged after it, so one tick is tolerated. A polling loop would show many more.
    assert!(
        after - before <= 1,
        "idle supd used {} clock ticks of CPU in 10s (before {before}, after {after})",
        after - before
    );
    assert!(supd.try_exit().is_none());
    assert_eq!(supd.leftovers().len(), 10);

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}
