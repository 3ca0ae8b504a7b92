//! `supctl signal` goes through the core like every other request (issue 13): the program's
//! process group gets the signal, and the answer says, per program, that it was sent or why
//! not.

use supd_tests::Supd;

#[test]
fn signal_reaches_the_group_of_a_running_program_and_says_which_are_not_running() {
    let mut supd = Supd::start(
        r#"
[program.trapper]
command = ["sh", "-c", "trap 'echo got-hup' HUP; echo ready; while :; do sleep 1 & wait $!; done"]
min_uptime = "0s"

[program.idle]
command = "sleep 1000"
autostart = false
"#,
    );
    supd.wait_new_pid("trapper", None);
    supd.wait_stdout_line("trapper | ready");

    let out = supd.ctl(&["signal", "HUP", "trapper", "idle"]);
    assert_eq!(out.code, 1, "one of them is not running: {out:?}");
    assert_eq!(out.stdout, "trapper: sent SIGHUP\n", "{out:?}");
    assert_eq!(out.stderr, "idle: not running (stopped)\n", "{out:?}");
    supd.wait_stdout_line("trapper | got-hup");
    assert_eq!(
        supd.program("trapper")["restarts"],
        0,
        "a signal restarts nothing"
    );

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}
