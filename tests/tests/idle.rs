//! An idle supd does not poll (issue 2, acceptance item 9; DESIGN.md rule 6), not even with
//! its HTTP interface listening for a dashboard nobody has open (issue 17, acceptance 4).

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
    quiet(pid);

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

/// Waits until supd has had nothing to do for longer than the one-off work a burst of
/// control requests leaves behind (giving back start-up memory 2 s after the last one,
/// `SHED_AFTER_QUIET` in daemon.rs): the measurement starts from a supd at rest. A window
/// with a wake-up in it starts over.
fn quiet(pid: i32) {
    const AT_REST: Duration = Duration::from_secs(3);
    supd_tests::wait_until("supd to be at rest", supd_tests::DEADLINE * 2, || {
        let before = context_switches(pid);
        std::thread::sleep(AT_REST);
        (context_switches(pid) == before).then_some(())
    });
}

/// Context switches of every thread of `pid` so far: each wake-up of a sleeping thread is
/// one (voluntary when it slept waiting, nonvoluntary when preempted).
fn context_switches(pid: i32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("supd's threads");
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// Issue 17, acceptance 4: with 100 programs and the HTTP interface (dashboard, API,
/// metrics) listening but nobody looking, supd does not wake up at all: resource use is
/// sampled only when asked, and no stream or timer runs for a viewer who is not there.
#[test]
fn idle_supd_with_100_programs_and_http_wakes_up_zero_times_in_10_seconds() {
    let programs: String = (0..100)
        .map(|i| format!("[program.p{i}]\ncommand = \"sleep 1000\"\nmin_uptime = \"200ms\"\n\n"))
        .collect();
    let port = supd_tests::free_port();
    let mut supd = Supd::start_with(
        &programs,
        supd_tests::StartOptions {
            supd_table: format!("[supd.http]\nlisten = [\"127.0.0.1:{port}\"]\n"),
            ..Default::default()
        },
    );
    for i in 0..100 {
        supd.wait_state(&format!("p{i}"), "running");
    }
    let pid = supd.pid() as i32;
    quiet(pid);

    let before = context_switches(pid);
    // The measurement window itself, not a synchronisation: nothing happens during it.
    std::thread::sleep(Duration::from_secs(10));
    let after = context_switches(pid);
    assert_eq!(
        after - before,
        0,
        "an idle supd with 100 programs woke up {} times in 10 s",
        after - before
    );
    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}
