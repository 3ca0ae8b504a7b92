//! Logs and events (issue 7): size rotation that keeps every line once, JSON output that
//! stays valid for any bytes, `supctl logs` options and followers, `supctl events`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use supd_tests::{DEADLINE, StartOptions, Supd, bin, line_channel, wait_until};

/// Every rotated file, oldest first, then the live one.
fn log_files(supd: &Supd, name: &str) -> Vec<std::path::PathBuf> {
    let mut numbered: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir(supd.dir.path())
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let n = file.strip_prefix(&format!("{name}."))?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    numbered.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    let mut files: Vec<_> = numbered.into_iter().map(|(_, p)| p).collect();
    files.push(supd.path(name));
    files
}

#[test]
fn rotation_keeps_every_line_exactly_once_in_order_within_the_size_limit() {
    const LINES: u64 = 2_000_000;
    const MAX: u64 = 10_000_000;
    let mut supd = Supd::start(&format!(
        r#"
[program.flood]
command = "flood {LINES} 99"
stdout = "flood.log"
log_max_size = "10MB"
log_backups = 30
restart = "never"
min_uptime = "0s"
"#
    ));
    supd.wait_state("flood", "exited");
    // Every byte it wrote has been through supd once supd has exited.
    supd.terminate();
    let files = log_files(&supd, "flood.log");
    assert!(files.len() >= 20, "200 MB in 10 MB files: {files:?}");
    let mut expected = 1u64;
    for file in &files {
        let size = std::fs::metadata(file).unwrap().len();
        assert!(size <= MAX + 100, "{} is {size} bytes", file.display());
        let reader = BufReader::with_capacity(1 << 20, std::fs::File::open(file).unwrap());
        for line in reader.lines() {
            let line = line.unwrap();
            assert_eq!(line.len(), 99, "{line:.20}");
            let n: u64 = line.parse().unwrap();
            assert_eq!(n, expected, "in {}", file.display());
            expected += 1;
        }
    }
    assert_eq!(expected - 1, LINES, "every line, once");
}

#[test]
fn json_format_keeps_every_line_of_supd_valid_json() {
    let mut supd = Supd::start_with(
        r#"
[program.text]
command = ["sh", "-c", "echo 'plain \"quoted\" \\ back'; echo oops >&2"]
restart = "never"
min_uptime = "0s"

[program.binary]
command = ["sh", "-c", "printf 'bad \\377\\376 bytes\\n'"]
restart = "never"
min_uptime = "0s"

[program.huge]
command = ["python3", "-c", "import sys; sys.stdout.write('y' * 1000000 + '\\n')"]
restart = "never"
min_uptime = "0s"
"#,
        StartOptions {
            supd_table: "log_format = \"json\"".into(),
            ..Default::default()
        },
    );
    for name in ["text", "binary", "huge"] {
        supd.wait_state(name, "exited");
    }
    supd.terminate();
    let out = supd.stdout.text();
    let mut huge_bytes = 0;
    let mut supd_messages = 0;
    for line in out.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:.200}"));
        for key in ["ts", "program", "stream", "line"] {
            assert!(v.get(key).is_some(), "no {key}: {line:.200}");
        }
        match v["program"].as_str().unwrap() {
            "huge" => huge_bytes += v["line"].as_str().unwrap().len(),
            "supd" => supd_messages += 1,
            _ => {}
        }
    }
    assert!(supd_messages >= 5, "supd's own messages are JSON too");
    assert_eq!(
        huge_bytes, 1_000_000,
        "the 1 MB line arrives whole, in pieces"
    );
    assert!(
        out.contains(r#""line":"bad \\xff\\xfe bytes""#),
        "invalid UTF-8 is escaped"
    );
    assert!(out.contains(r#""program":"text","stream":"stderr","line":"oops""#));
    assert!(
        supd.stderr.text().is_empty(),
        "one JSON stream: {}",
        supd.stderr.text()
    );
}

#[test]
fn logs_filter_by_stream_and_time_and_print_json() {
    let supd = Supd::start(
        r#"
[program.both]
command = ["sh", "-c", "echo to-out; echo to-err >&2; exec sleep 1000"]
min_uptime = "0s"
"#,
    );
    wait_until("both lines", DEADLINE, || {
        let out = supd.ctl(&["logs", "both"]).stdout;
        (out.contains("to-out") && out.contains("to-err")).then_some(())
    });
    let out = supd.ctl(&["logs", "both", "--stderr"]);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("to-err\n", ""));
    let out = supd.ctl(&["logs", "both", "--stdout"]);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("to-out\n", ""));
    let out = supd.ctl(&["logs", "both", "--since", "1h", "--json"]);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert!(
        lines
            .iter()
            .all(|l| l["program"] == "both" && l["ts"].is_string())
    );
    // Nothing was written in the future.
    let out = supd.ctl(&["logs", "both", "--since", "0s"]);
    assert_eq!(out.stdout, "", "{out:?}");
}

#[test]
fn a_follower_keeps_up_and_one_that_never_reads_is_cut_off_without_slowing_programs() {
    let supd = Supd::start(
        r#"
[program.chatty]
command = ["python3", "-u", "-c", "import time\nn = 0\nwhile True:\n    for _ in range(100):\n        n += 1\n        print(n)\n    time.sleep(0.01)"]
min_uptime = "0s"
"#,
    );
    supd.wait_state("chatty", "running");

    // A client that asks to follow and then never reads.
    let mut stuck = UnixStream::connect(&supd.socket).unwrap();
    stuck
        .write_all(b"{\"hello\":{\"protocol\":1,\"software\":\"stuck\"}}\n{\"request\":{\"id\":1,\"request\":{\"cmd\":\"logs\",\"names\":[\"chatty\"],\"follow\":true}}}\n")
        .unwrap();

    // A real follower keeps up with ~10,000 lines/s.
    let mut follower = Command::new(bin("supctl"))
        .arg("--socket")
        .arg(&supd.socket)
        .args(["logs", "chatty", "-f", "-n", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follower.stdout.take().unwrap()).lines();
    let first: u64 = lines.next().unwrap().unwrap().parse().unwrap();
    let mut last = first;
    for line in lines.by_ref() {
        let n: u64 = line.unwrap().parse().unwrap();
        assert_eq!(n, last + 1, "the follower sees every line, in order");
        last = n;
        if last >= first + 30_000 {
            break;
        }
    }

    // The stuck client is cut off; the program went on at full speed meanwhile.
    wait_until(
        "the stuck follower to be cut off",
        Duration::from_secs(30),
        || {
            supd.supd_messages()
                .iter()
                .any(|m| m.contains("cut off a follower"))
                .then_some(())
        },
    );
    let before = supd.stdout.lines().len();
    wait_until("chatty to keep writing", DEADLINE, || {
        (supd.stdout.lines().len() > before + 1000).then_some(())
    });
    stuck
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut sink = Vec::new();
    let drained = stuck.read_to_end(&mut sink);
    assert!(
        drained.is_ok(),
        "supd closed the stuck connection: {drained:?}"
    );
    let _ = follower.kill();
    let _ = follower.wait();
}

#[test]
fn events_show_each_transition_with_exit_codes() {
    let supd = Supd::start(
        r#"
[program.crashy]
command = ["sh", "-c", "if [ -f ran ]; then exit 3; fi; touch ran; sleep 0.5; exit 3"]
min_uptime = "200ms"
restart_delay = "200ms"
start_retries = 2
autostart = false

[program.marker]
command = "sleep 1000"
min_uptime = "0s"
autostart = false
"#,
    );
    let (mut events, rx) = follow_events(&supd, &["--json"]);
    let parse = |line: String| serde_json::from_str::<serde_json::Value>(&line).unwrap();
    // The subscription is in place once a transition of `marker` comes through.
    wait_until("the events stream to carry a first event", DEADLINE, || {
        supd.ctl(&["start", "marker"]);
        supd.ctl(&["stop", "marker"]);
        rx.try_iter()
            .map(parse)
            .any(|e| e["program"] == "marker")
            .then_some(())
    });
    while rx.try_recv().is_ok() {}
    assert_eq!(supd.ctl(&["start", "crashy"]).code, 0);
    let mut seen: Vec<serde_json::Value> = Vec::new();
    while let Ok(e) = rx.recv_timeout(DEADLINE).map(parse) {
        if e["program"] != "crashy" {
            continue;
        }
        let done = e["to"] == "fatal";
        seen.push(e);
        if done {
            break;
        }
    }
    let _ = events.kill();
    let _ = events.wait();
    let steps: Vec<(String, String)> = seen
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().into(),
                e["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    let position = |from: &str, to: &str, after: usize| {
        steps[after..]
            .iter()
            .position(|(f, t)| f == from && t == to)
            .map(|i| i + after)
            .unwrap_or_else(|| panic!("no {from} -> {to} after {after}: {steps:?}"))
    };
    let running = position("starting", "running", 0);
    let exited = position("running", "exited", running);
    assert_eq!(seen[exited]["exit_code"], 3);
    let backoff = position("exited", "backoff", exited);
    position("backoff", "starting", backoff);
    assert_eq!(steps.last().unwrap().1, "fatal");
    assert!(seen.iter().all(|e| e["ts_ms"].is_u64()));
}

#[test]
fn stderr_into_stdout_keeps_the_programs_own_order_and_timestamps_prefix_lines() {
    let mut supd = Supd::start_with(
        r#"
[program.merged]
command = ["sh", "-c", "echo one; echo two >&2; echo three; echo four >&2"]
stderr = "stdout"
restart = "never"
min_uptime = "0s"
"#,
        StartOptions {
            supd_table: "log_timestamps = true".into(),
            ..Default::default()
        },
    );
    supd.wait_state("merged", "exited");
    supd.terminate();
    let lines: Vec<(String, String)> = supd
        .stdout
        .lines()
        .into_iter()
        .map(|l| {
            let (ts, rest) = l.split_once(' ').expect("a timestamp first");
            (ts.to_string(), rest.to_string())
        })
        .collect();
    let rest: Vec<&str> = lines.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        rest,
        [
            "merged | one",
            "merged | two",
            "merged | three",
            "merged | four"
        ],
        "both streams, one pipe, in the order written"
    );
    for (ts, _) in &lines {
        assert!(humantime::parse_rfc3339(ts).is_ok(), "{ts} is RFC 3339");
        assert!(ts.ends_with('Z'), "{ts} is UTC");
    }
    assert!(
        supd.stderr.lines().iter().all(|l| !l.contains("merged |")),
        "nothing of the program on supd's stderr"
    );
}

#[test]
fn a_full_disk_is_reported_once_and_supervision_goes_on() {
    if !supd_tests::is_root() {
        eprintln!("skipped: mounting a tiny tmpfs needs root; CI runs as root");
        return;
    }
    // The log file on a 64 KiB tmpfs, and a program that writes more than that.
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&small)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(small.clone());
    let mut supd = Supd::start(&format!(
        r#"
[program.writer]
command = ["sh", "-c", "yes 'a line for the log' | head -c 200000; exec sleep 1000"]
stdout = "{}"
log_max_size = "1GB"
min_uptime = "0s"

[program.other]
command = "sleep 1000"
min_uptime = "0s"
"#,
        small.join("writer.log").display()
    ));
    let warning = "cannot write to log file";
    wait_until("the full disk to be reported", DEADLINE, || {
        supd.supd_messages()
            .iter()
            .any(|m| m.contains(warning))
            .then_some(())
    });
    // Supervision goes on: the writer keeps running, supd answers, other programs work.
    let writer = supd.program("writer");
    assert_eq!(writer["state"], "running");
    assert_eq!(supd.ctl(&["restart", "other"]).code, 0);
    let reported = supd
        .supd_messages()
        .iter()
        .filter(|m| m.contains(warning))
        .count();
    assert_eq!(reported, 1, "reported once: {:?}", supd.supd_messages());
    assert_eq!(supd.terminate().code(), Some(0));
}

/// Follows `supctl events ARGS` on `supd`; each line arrives on the returned channel.
fn follow_events(
    supd: &Supd,
    args: &[&str],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut events = supd.spawn_ctl(&[&["events"][..], args].concat());
    let rx = line_channel(events.stdout.take().unwrap());
    (events, rx)
}

#[test]
fn events_carry_the_pid_of_a_starting_program_and_say_each_cause_once() {
    let supd = Supd::start(
        r#"
[program.web]
command = "sleep 1000"
min_uptime = "0s"
autostart = false

[program.marker]
command = "sleep 1000"
autostart = false
"#,
    );
    let (mut text, text_rx) = follow_events(&supd, &[]);
    let (mut json, json_rx) = follow_events(&supd, &["--json"]);
    // Both subscriptions are in place once a transition of `marker` came through each.
    let (mut texts, mut jsons) = (Vec::new(), Vec::new());
    wait_until(
        "both event streams to carry a first event",
        DEADLINE,
        || {
            supd.ctl(&["start", "marker"]);
            supd.ctl(&["stop", "marker"]);
            texts.extend(text_rx.try_iter());
            jsons.extend(json_rx.try_iter());
            (!texts.is_empty() && !jsons.is_empty()).then_some(())
        },
    );
    assert_eq!(supd.ctl(&["start", "web"]).code, 0);
    let first = supd.program("web")["pid"].as_i64().unwrap() as i32;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(first), Signal::SIGSEGV).unwrap();
    let second = supd.wait_new_pid("web", Some(first as u64));
    supd.wait_state("web", "running");
    assert_eq!(supd.ctl(&["stop", "web"]).code, 0);

    let web_events = |rx: &std::sync::mpsc::Receiver<String>, seen: &mut Vec<String>| {
        wait_until("web's stop to show in the events", DEADLINE, || {
            seen.extend(rx.try_iter());
            seen.iter()
                // The stop's own event (`web: stopped -> starting` is the first start).
                .any(|l| {
                    l.contains("web")
                        && (l.contains("-> stopped") || l.contains("\"to\":\"stopped\""))
                })
                .then_some(())
        });
        seen.retain(|l| l.contains("\"web\"") || l.contains(" web: "));
    };
    web_events(&json_rx, &mut jsons);
    web_events(&text_rx, &mut texts);
    let _ = (text.kill(), json.kill(), text.wait(), json.wait());

    let starts: Vec<serde_json::Value> = jsons
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["to"] == "starting")
        .collect();
    let pids: Vec<i64> = starts
        .iter()
        .map(|e| e["pid"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(pids, [first as i64, second as i64], "{jsons:#?}");

    let texts: Vec<&str> = texts.iter().map(|l| l.split_once(' ').unwrap().1).collect();
    let line = |from_to: &str| {
        texts
            .iter()
            .find(|l| l.contains(from_to))
            .unwrap_or_else(|| panic!("no {from_to} in {texts:#?}"))
            .to_string()
    };
    assert_eq!(
        line("starting -> running"),
        format!("web: starting -> running (pid {first})")
    );
    assert!(
        line("running -> exited").starts_with("web: running -> exited: killed by SIGSEGV after "),
        "{texts:#?}"
    );
    assert_eq!(
        line("stopped -> starting"),
        format!("web: stopped -> starting (pid {first}): supctl start")
    );
    assert_eq!(
        line("running -> stopping"),
        format!("web: running -> stopping (pid {second}): supctl stop: sent SIGTERM")
    );
    assert_eq!(
        line("stopping -> stopped"),
        "web: stopping -> stopped: killed by SIGTERM"
    );
}
