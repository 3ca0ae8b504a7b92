//! What a new user of supctl hits in the first hour (issue 12): followers told why their
//! stream ended, `logs` like journalctl and docker (every line on stdout, `-t`, `--tail`),
//! `events NAME`, the habits of supervisorctl and docker compose (those supctl does without
//! are in `crates/supctl/tests/cli.rs`), and a status table coloured on a terminal only.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use supd_tests::{Captured, DEADLINE, Supd, bin, line_channel, wait_until};

/// The next line from `lines` that `want` accepts, failing the test after [`DEADLINE`].
fn next_line(lines: &mpsc::Receiver<String>, what: &str, want: impl Fn(&str) -> bool) -> String {
    let end = std::time::Instant::now() + DEADLINE;
    loop {
        let left = end.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if want(&line) => return line,
            Ok(_) => {}
            Err(e) => panic!("no line with {what} ({e})"),
        }
    }
}

/// Waits until an `events` follower is in place: `poke` makes state changes until one of
/// them shows in `lines` (a stream says nothing when it starts). Returns that line.
fn until_following(lines: &mpsc::Receiver<String>, poke: impl Fn()) -> String {
    wait_until("the events stream to be in place", DEADLINE, || {
        poke();
        lines.recv_timeout(Duration::from_millis(200)).ok()
    })
}

/// Waits for `child` to exit; its code.
fn exit_code(child: &mut Child) -> i32 {
    let status = wait_until("supctl to exit", DEADLINE, || {
        child.try_wait().ok().flatten()
    });
    status.code().unwrap_or(-1)
}

#[test]
fn a_follower_that_stops_reading_is_told_it_fell_behind_after_whole_lines_and_exits_1() {
    let supd = Supd::start(
        r#"
[program.flood]
command = ["python3", "-c", "import sys, time\nn = 0\nwhile True:\n    sys.stdout.write(''.join(f'{i:012d}\\n' for i in range(n, n + 8000)))\n    sys.stdout.flush()\n    n += 8000\n    time.sleep(0.05)"]
min_uptime = "0s"
"#,
    );
    supd.wait_state("flood", "running");
    // Nobody reads this supctl's stdout for now: its pipe fills, then its socket, then
    // supd's side of it, and supd decides to cut it off, in the middle of a message (the
    // program writes 96 KB at a time, so messages are bigger than what a full socket takes).
    let mut follower = supd.spawn_ctl(&["logs", "flood", "-f", "-n", "0"]);
    let stdout = follower.stdout.take().unwrap();
    let (stderr, stderr_reader) = Captured::spawn_reader(follower.stderr.take().unwrap());
    wait_until(
        "supd to cut the stuck follower off",
        Duration::from_secs(30),
        || {
            supd.supd_messages()
                .iter()
                .any(|m| m.contains("cut off a follower"))
                .then_some(())
        },
    );
    // Reading again: what supd had sent arrives, then the reason, never half a line.
    let mut previous: Option<u64> = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        assert_eq!(line.len(), 12, "a whole line: {line:?}");
        let n: u64 = line.parse().unwrap();
        if let Some(p) = previous {
            assert_eq!(n, p + 1, "every line in order");
        }
        previous = Some(n);
    }
    assert_eq!(exit_code(&mut follower), 1);
    stderr_reader.join().unwrap();
    assert_eq!(
        stderr.text(),
        "supctl: cut off: this follower fell behind for 5 s\n"
    );
    assert!(
        previous.is_some(),
        "the follower got output before it stalled"
    );
}

#[test]
fn followers_get_the_last_lines_then_say_supd_exited_and_exit_0() {
    let mut supd = Supd::start(
        r#"
[program.polite]
command = ["sh", "-c", "trap 'echo goodbye; exit 0' TERM; echo hello; while true; do sleep 0.05; done"]
min_uptime = "0s"

[program.marker]
command = "sleep 1000"
min_uptime = "0s"
"#,
    );
    supd.wait_state("polite", "running");
    supd.wait_state("marker", "running");
    let mut logs = supd.spawn_ctl(&["logs", "-f", "polite"]);
    let log_lines = line_channel(logs.stdout.take().unwrap());
    next_line(&log_lines, "hello", |l| l == "hello");
    let mut events = supd.spawn_ctl(&["events"]);
    let event_lines = line_channel(events.stdout.take().unwrap());
    until_following(&event_lines, || {
        assert_eq!(supd.ctl(&["restart", "marker"]).code, 0);
    });

    let out = supd.ctl(&["shutdown"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(supd.wait_exit(DEADLINE).code(), Some(0));

    next_line(&log_lines, "the line written while stopping", |l| {
        l == "goodbye"
    });
    next_line(&event_lines, "the last state change", |l| {
        l.contains("polite: stopping -> stopped")
    });
    for (name, child) in [("logs -f", &mut logs), ("events", &mut events)] {
        assert_eq!(exit_code(child), 0, "{name}");
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(err, "supd exited\n", "{name}");
    }
}

#[test]
fn logs_put_stderr_lines_on_stdout_and_take_timestamps_and_tail() {
    let supd = Supd::start(
        r#"
[program.app]
command = ["sh", "-c", "echo started; echo 'Traceback (most recent call last):' >&2; echo '  ValueError' >&2; exec sleep 1000"]
min_uptime = "0s"
"#,
    );
    wait_until("app's three lines", DEADLINE, || {
        (supd.ctl(&["logs", "app"]).stdout.lines().count() == 3).then_some(())
    });
    let out = supd.ctl(&["logs", "app"]);
    assert_eq!(out.stderr, "", "nothing on supctl's stderr");
    assert!(out.stdout.contains("Traceback (most recent call last):\n"));
    assert!(out.stdout.contains("started\n"));

    let out = supd.ctl(&["logs", "app", "--stderr"]);
    assert_eq!(
        out.stdout,
        "Traceback (most recent call last):\n  ValueError\n"
    );
    let out = supd.ctl(&["logs", "app", "--stdout"]);
    assert_eq!(out.stdout, "started\n");

    let out = supd.ctl(&["logs", "app", "--stderr", "--tail", "1"]);
    assert_eq!(out.stdout, "  ValueError\n", "--tail is -n");
    assert_eq!(
        supd.ctl(&["logs", "app", "-n", "all"])
            .stdout
            .lines()
            .count(),
        3
    );

    let out = supd.ctl(&["logs", "app", "--stderr", "-t"]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    for (line, text) in lines
        .iter()
        .zip(["Traceback (most recent call last):", "  ValueError"])
    {
        let (ts, rest) = line.split_once(' ').unwrap();
        assert_eq!(rest, text);
        // RFC 3339 in UTC with milliseconds: 2026-11-23T16:01:02.123Z
        assert_eq!(ts.len(), 24, "{ts:?}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T' && ts.as_bytes()[19] == b'.');
        humantime::parse_rfc3339(ts).unwrap_or_else(|e| panic!("{ts:?}: {e}"));
    }

    let out = supd.ctl(&["logs", "app", "--json"]);
    let streams: Vec<String> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["stream"].to_string())
        .collect();
    assert_eq!(
        streams.iter().filter(|s| *s == "\"stderr\"").count(),
        2,
        "--json keeps the stream: {streams:?}"
    );
}

#[test]
fn events_of_named_programs_leave_the_others_out_and_an_unknown_name_exits_2() {
    let supd = Supd::start(
        r#"
[program.watched]
command = "sleep 1000"
min_uptime = "0s"

[program.other]
command = "sleep 1000"
min_uptime = "0s"
autostart = false
"#,
    );
    supd.wait_state("watched", "running");
    let mut events = supd.spawn_ctl(&["events", "--json", "watched"]);
    let lines = line_channel(events.stdout.take().unwrap());
    let event = |line: &str| serde_json::from_str::<serde_json::Value>(line).unwrap();
    until_following(&lines, || {
        assert_eq!(supd.ctl(&["restart", "watched"]).code, 0);
    });
    // other's changes come before watched's stop, in one ordered stream: none may show.
    assert_eq!(supd.ctl(&["start", "other"]).code, 0);
    assert_eq!(supd.ctl(&["stop", "watched"]).code, 0);
    let mut seen = Vec::new();
    loop {
        let e = event(&next_line(&lines, "watched stopped", |_| true));
        seen.push(e["program"].clone());
        if e["to"] == "stopped" {
            break;
        }
    }
    assert!(seen.iter().all(|p| p == "watched"), "{seen:?}");
    let _ = events.kill();
    let _ = events.wait();

    let out = supd.ctl(&["events", "wached"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "supctl: no program named \"wached\" (did you mean \"watched\"?)\n"
    );
}

#[test]
fn supervisorctl_and_compose_habits_do_what_they_do_there() {
    let mut supd = Supd::start(
        r#"
[program.web]
command = ["sh", "-c", "echo up; exec sleep 1000"]
min_uptime = "0s"

[program.idle]
command = "sleep 1000"
autostart = false
"#,
    );
    let web = supd.wait_state("web", "running");
    let pid = web["pid"].as_u64().unwrap();

    // ps = status (same table, same exit code).
    let ps = supd.ctl(&["ps", "web"]);
    assert_eq!(ps.code, 0, "{ps:?}");
    assert!(ps.stdout.starts_with("NAME"), "{}", ps.stdout);
    assert!(
        ps.stdout.contains(&format!("running  {pid}")),
        "{}",
        ps.stdout
    );
    assert_eq!(supd.ctl(&["ps", "idle"]).code, 3);

    // tail [-f] = logs.
    wait_until("web's line", DEADLINE, || {
        (supd.ctl(&["tail", "web"]).stdout == "up\n").then_some(())
    });

    // pid NAME prints the pid like supervisorctl; pid alone supd's; no process: exit 3.
    let out = supd.ctl(&["pid", "web"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, format!("{pid}\n").as_str())
    );
    let out = supd.ctl(&["pid"]);
    assert_eq!(out.stdout, format!("{}\n", supd.pid()));
    let out = supd.ctl(&["pid", "idle"]);
    assert_eq!((out.code, out.stdout.as_str()), (3, ""), "never 0: {out:?}");
    assert_eq!(out.stderr, "supctl: idle has no process (it is stopped)\n");

    // update = reload.
    let out = supd.ctl(&["update"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "no program changed\n"));

    // version: both.
    let out = supd.ctl(&["version"]);
    let v = env!("CARGO_PKG_VERSION");
    assert_eq!(
        out.stdout,
        format!("supctl {v}\nsupd {v} (pid {}, protocol 1)\n", supd.pid())
    );

    // down = shutdown, as in compose.
    let out = supd.ctl(&["down"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(supd.wait_exit(DEADLINE).code(), Some(0));
}

/// Runs supctl with its stdout on a pseudo-terminal; everything it printed.
fn status_on_a_terminal(supd: &Supd, env: &[(&str, &str)]) -> String {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let mut cmd = Command::new(bin("supctl"));
    cmd.arg("--socket")
        .arg(&supd.socket)
        .arg("status")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied())
        .stdout(Stdio::from(pty.slave));
    let mut child = cmd.spawn().expect("run supctl");
    // Our copy of the terminal's other end must go, or reading never sees the end.
    drop(cmd);
    let mut master = std::fs::File::from(pty.master);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // Until EIO: the terminal is closed once supctl has exited.
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    child.wait().unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn status_is_coloured_by_state_on_a_terminal_only_and_never_with_no_color() {
    let supd = Supd::start(
        r#"
[program.web]
command = "sleep 1000"
min_uptime = "0s"

[program.broken]
command = "false"
start_retries = 1
"#,
    );
    supd.wait_state("web", "running");
    supd.wait_state("broken", "fatal");

    let coloured = status_on_a_terminal(&supd, &[]);
    assert!(coloured.contains("\x1b[32mrunning\x1b[0m"), "{coloured:?}");
    assert!(coloured.contains("\x1b[31mfatal\x1b[0m"), "{coloured:?}");

    let plain = status_on_a_terminal(&supd, &[("NO_COLOR", "1")]);
    assert!(
        plain.contains("running") && !plain.contains('\x1b'),
        "{plain:?}"
    );

    let piped = supd.ctl(&["status"]);
    assert!(piped.stdout.contains("running") && !piped.stdout.contains('\x1b'));
}
