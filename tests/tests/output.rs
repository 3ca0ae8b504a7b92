//! Program output: prefixed lines on supd's stdout/stderr, nothing lost under a flood, and
//! `supctl logs` (issue 2, acceptance item 6).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use supd_tests::{DEADLINE, Supd, bin, wait_until};

#[test]
fn each_line_appears_once_with_its_name_prefix_padded_so_the_bars_line_up() {
    let mut supd = Supd::start(
        r#"
[program.a]
command = ["sh", "-c", "echo one; echo two; echo 'three | with a bar'; echo oops-a >&2; exec sleep 1000"]
min_uptime = "0s"

[program.much-longer-name]
command = ["sh", "-c", "echo one; echo 'two  spaced  '; echo oops-long >&2; exec sleep 1000"]
min_uptime = "0s"
"#,
    );
    supd.wait_stdout_line("a                | three | with a bar");
    supd.wait_stdout_line("much-longer-name | two  spaced  ");
    // Stop supd so every byte it will ever print has been read.
    assert_eq!(supd.terminate().code(), Some(0));

    let out = supd.stdout.lines();
    let err = supd.stderr.lines();
    let expected_out = [
        "a                | one",
        "a                | two",
        "a                | three | with a bar",
        "much-longer-name | one",
        "much-longer-name | two  spaced  ",
    ];
    for line in expected_out {
        let n = out.iter().filter(|l| *l == line).count();
        assert_eq!(n, 1, "{line:?} appears {n} times on stdout:\n{out:#?}");
    }
    assert_eq!(
        out.len(),
        expected_out.len(),
        "unexpected stdout lines:\n{out:#?}"
    );
    // Each program's lines keep their order.
    let pos = |line: &str| out.iter().position(|l| l == line).unwrap();
    assert!(pos(expected_out[0]) < pos(expected_out[1]));
    assert!(pos(expected_out[1]) < pos(expected_out[2]));
    assert!(pos(expected_out[3]) < pos(expected_out[4]));

    // stderr of programs goes to supd's stderr, with the same prefix, and not to stdout.
    for line in ["a                | oops-a", "much-longer-name | oops-long"] {
        let n = err.iter().filter(|l| *l == line).count();
        assert_eq!(n, 1, "{line:?} appears {n} times on stderr:\n{err:#?}");
    }
    // Every prefixed line of both streams, supd's own included, has its bar in one column.
    for line in out.iter().chain(&err) {
        assert_eq!(
            line.find(" | "),
            Some("much-longer-name".len()),
            "bar out of line: {line:?}"
        );
    }
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn a_million_lines_flooded_out_all_arrive_in_order() {
    const N: usize = 1_000_000;
    let mut supd = Supd::start(&format!(
        r#"
[program.flood]
command = "flood {N}"
restart = "never"
min_uptime = "0s"
"#
    ));
    // The flood may take a while in a debug build on a busy machine.
    wait_until("flood to finish", Duration::from_secs(180), || {
        (supd.program("flood")["state"] == "exited").then_some(())
    });
    assert_eq!(supd.program("flood")["exit_code"], 0);
    // supd drains every pipe before it exits.
    assert_eq!(supd.terminate().code(), Some(0));

    let bytes = supd.stdout.bytes();
    let mut expected = 1usize;
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if expected > N {
            // Only the empty piece after the last `\n` may follow.
            assert!(
                line.is_empty(),
                "extra output after line {N}: {:?}",
                String::from_utf8_lossy(line)
            );
            continue;
        }
        let want = format!("flood | {expected}");
        assert!(
            line == want.as_bytes(),
            "stdout line {} is {:?}, expected {want:?}",
            i + 1,
            String::from_utf8_lossy(&line[..line.len().min(200)])
        );
        expected += 1;
    }
    assert_eq!(expected, N + 1, "only {} lines arrived", expected - 1);
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn logs_n_5_prints_exactly_the_last_5_lines() {
    let mut supd = Supd::start(
        r#"
[program.counter]
command = ["sh", "-c", "i=1; while [ $i -le 20 ]; do echo line$i; i=$((i+1)); done; exec sleep 1000"]
min_uptime = "0s"
"#,
    );
    supd.wait_stdout_line("counter | line20");
    let out = wait_until("line20 in supctl logs", DEADLINE, || {
        let out = supd.ctl(&["logs", "counter", "-n", "5"]);
        out.stdout.contains("line20").then_some(out)
    });
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout, "line16\nline17\nline18\nline19\nline20\n",
        "{out:?}"
    );
    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn logs_f_follows_new_lines() {
    // Prints `got-usr1` each time its group gets SIGUSR1 (the `sleep` dies of it, the
    // shell runs the trap).
    let mut supd = Supd::start(
        r#"
[program.talker]
command = ["sh", "-c", "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.1; done"]
min_uptime = "0s"
"#,
    );
    supd.wait_stdout_line("talker | ready");

    let mut follower = Command::new(bin("supctl"))
        .arg("--socket")
        .arg(&supd.socket)
        // Only stdout: the shell says "User defined signal 1" on stderr when `sleep` dies.
        .args(["logs", "talker", "-f", "-n", "1", "--stdout"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start supctl logs -f");
    let (tx, rx) = mpsc::channel();
    let stdout = follower.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |want: &str| {
        wait_until(&format!("{want:?} from supctl logs -f"), DEADLINE, || {
            seen.extend(rx.try_iter());
            seen.iter().any(|l| l == want).then(|| seen.clone())
        })
    };

    // The backlog (the last line) comes first; supd subscribed the follower before that.
    wait_for("ready");
    let sig = supd.ctl(&["signal", "USR1", "talker"]);
    assert_eq!(sig.code, 0, "{sig:?}");
    let seen = wait_for("got-usr1");
    assert_eq!(seen, ["ready", "got-usr1"]);

    follower.kill().expect("stop supctl logs -f");
    follower.wait().unwrap();
    reader.join().unwrap();

    // supd does not mind a follower that goes away.
    assert_eq!(supd.ctl(&["status"]).code, 0);
    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}
