//! Every mistake a user can make gets one clear sentence and the documented exit code, and a
//! running supd keeps running (issue 2, acceptance item 8).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use supd_tests::{
    CtlOutput, DEADLINE, StartOptions, Supd, alive, assert_clear_message, ctl_at, run_supd,
    wait_until,
};

/// Writes `text` as `bad.toml` in a fresh directory; returns the directory and the path.
fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("supd-e2e-bad-")
        .tempdir()
        .unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// `supd check --config PATH`.
fn check(dir: &Path, path: &Path) -> CtlOutput {
    run_supd(dir, &["check", "--config", path.to_str().unwrap()])
}

/// The lines of `out.stderr` that report a problem in `file` (`file:LINE: ...`).
fn problems<'a>(out: &'a CtlOutput, file: &str) -> Vec<&'a str> {
    out.stderr
        .lines()
        .filter(|l| l.starts_with(&format!("{file}:")))
        .collect()
}

/// Starts supd on a config it must refuse: exits 2 without starting anything.
fn refused_by_supd_run(programs: &str) -> String {
    let mut supd = Supd::start_with(
        programs,
        StartOptions {
            no_wait: true,
            ..StartOptions::default()
        },
    );
    let status = supd.wait_exit(DEADLINE);
    assert_eq!(status.code(), Some(2), "{}", supd.stderr.text());
    assert!(supd.leftovers().is_empty());
    assert!(!supd.socket.exists(), "a refused config left a socket");
    supd.stderr.text()
}

#[test]
fn malformed_toml_is_refused_with_file_and_line() {
    let text = "[program.web]\ncommand = \"sleep 1000\"\nmin_uptime = \"1s\n";
    let (dir, path) = config_file(text);
    let out = check(dir.path(), &path);
    assert_eq!(out.code, 2, "{out:?}");
    assert_clear_message(&out.stderr);
    let found = problems(&out, &path.display().to_string());
    assert_eq!(found.len(), 1, "{out:?}");
    assert!(
        found[0].starts_with(&format!("{}:3:", path.display())),
        "no file:line in {found:?}"
    );
    assert!(found[0].contains("TOML"), "{found:?}");

    let stderr = refused_by_supd_run(text);
    assert!(stderr.contains("supd.toml:"), "{stderr}");
    assert!(stderr.contains("invalid TOML"), "{stderr}");
    assert_clear_message(&stderr);
}

#[test]
fn unknown_key_is_refused_naming_the_closest_known_key() {
    let text = "[program.web]\ncommand = \"sleep 1000\"\nautostrat = false\n";
    let (dir, path) = config_file(text);
    let out = check(dir.path(), &path);
    assert_eq!(out.code, 2, "{out:?}");
    assert_clear_message(&out.stderr);
    let found = problems(&out, &path.display().to_string());
    assert_eq!(found.len(), 1, "{out:?}");
    let line = found[0];
    assert!(
        line.starts_with(&format!("{}:3:", path.display())),
        "{line}"
    );
    assert!(line.contains("\"autostrat\""), "{line}");
    assert!(line.contains("did you mean \"autostart\""), "{line}");

    // In the [supd] table too.
    let (dir, path) = config_file("[supd]\nsokcet = \"x.sock\"\n");
    let out = check(dir.path(), &path);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("did you mean \"socket\""), "{out:?}");

    let stderr = refused_by_supd_run(text);
    assert!(stderr.contains("did you mean \"autostart\""), "{stderr}");
}

#[test]
fn missing_command_is_refused_naming_the_program() {
    let text = "[program.web]\nrestart = \"always\"\n";
    let (dir, path) = config_file(text);
    let out = check(dir.path(), &path);
    assert_eq!(out.code, 2, "{out:?}");
    assert_clear_message(&out.stderr);
    let found = problems(&out, &path.display().to_string());
    assert_eq!(found.len(), 1, "{out:?}");
    assert!(found[0].contains("program.web"), "{found:?}");
    assert!(found[0].contains("missing"), "{found:?}");
    assert!(found[0].contains("\"command\""), "{found:?}");

    let stderr = refused_by_supd_run(text);
    assert!(
        stderr.contains("missing required key \"command\""),
        "{stderr}"
    );
}

#[test]
fn check_reports_every_problem_at_once() {
    let text = "\
[program.web]
command = \"sleep 1000\"
autostrat = false

[program.worker]
restart = \"always\"

[program.cron]
command = \"sleep 1000\"
restart = \"sometimes\"
";
    let (dir, path) = config_file(text);
    let out = check(dir.path(), &path);
    assert_eq!(out.code, 2, "{out:?}");
    let found = problems(&out, &path.display().to_string());
    assert_eq!(found.len(), 3, "expected 3 problems: {out:?}");
    assert!(found.iter().any(|l| l.contains("autostrat")), "{found:?}");
    assert!(
        found.iter().any(|l| l.contains("program.worker")),
        "{found:?}"
    );
    assert!(found.iter().any(|l| l.contains("sometimes")), "{found:?}");
}

#[test]
fn command_that_does_not_exist_goes_fatal_saying_why_and_others_keep_running() {
    let mut supd = Supd::start(
        r#"
[program.ghost]
command = "no-such-program-supd-e2e --flag"
restart_delay = "100ms"
start_retries = 2

[program.steady]
command = "sleep 1000"
min_uptime = "0s"
"#,
    );
    let steady = supd.wait_new_pid("steady", None);
    let ghost = supd.wait_state("ghost", "fatal");
    let reason = ghost["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("No such file or directory"), "{ghost}");
    assert!(reason.contains("no-such-program-supd-e2e"), "{ghost}");
    assert_eq!(ghost["pid"], Value::Null, "{ghost}");

    // Asking for it again fails with the reason, exit 1.
    let start = supd.ctl(&["start", "ghost"]);
    assert_eq!(start.code, 1, "{start:?}");
    assert_eq!(start.stderr.lines().count(), 1, "{start:?}");
    assert!(
        start.stderr.contains("No such file or directory"),
        "{start:?}"
    );
    assert_clear_message(&start.stderr);

    // supd and the other program are unaffected.
    assert!(supd.try_exit().is_none());
    let now = supd.program("steady");
    assert_eq!(now["state"], "running", "{now}");
    assert_eq!(now["pid"].as_u64(), Some(steady), "{now}");
    assert!(supd.stderr.text().contains("No such file or directory"));
    assert!(!supd.stderr.text().contains("panicked"));

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn supctl_exits_4_with_one_line_when_no_supd_listens() {
    let dir = tempfile::Builder::new()
        .prefix("supd-e2e-nosupd-")
        .tempdir()
        .unwrap();

    // No socket file at all.
    let missing = dir.path().join("missing.sock");
    for args in [&["status"][..], &["stop", "web"], &["logs", "-f"]] {
        let out = ctl_at(&missing, args);
        assert_eq!(out.code, 4, "{args:?}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {out:?}");
        assert!(out.stderr.contains("missing.sock"), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
        assert_clear_message(&out.stderr);
    }

    // A socket file left behind by a supd that is gone.
    let stale = dir.path().join("stale.sock");
    drop(UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let out = ctl_at(&stale, &["status"]);
    assert_eq!(out.code, 4, "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    assert!(out.stderr.contains("stale.sock"), "{out:?}");
    assert_clear_message(&out.stderr);
}

#[test]
fn unknown_program_name_exits_2_naming_it_and_supd_still_answers() {
    let mut supd = Supd::start(
        r#"
[program.web]
command = "sleep 1000"
min_uptime = "0s"
"#,
    );
    let web = supd.wait_new_pid("web", None);

    for args in [
        &["restart", "nope"][..],
        &["stop", "nope"],
        &["start", "web", "nope"],
        &["status", "nope"],
        &["signal", "HUP", "nope"],
        &["logs", "nope"],
    ] {
        let out = supd.ctl(args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {out:?}");
        assert!(out.stderr.contains("\"nope\""), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
        assert_clear_message(&out.stderr);
    }
    let typo = supd.ctl(&["restart", "wbe"]);
    assert_eq!(typo.code, 2, "{typo:?}");
    assert!(typo.stderr.contains("did you mean \"web\""), "{typo:?}");

    // Nothing was done to the real program, and supd still answers.
    let status = supd.ctl(&["status"]);
    assert_eq!(status.code, 0, "{status:?}");
    let now = supd.program("web");
    assert_eq!(now["pid"].as_u64(), Some(web), "{now}");
    assert_eq!(now["restarts"], 0, "{now}");
    assert!(supd.try_exit().is_none());

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

/// A raw connection to supd's control socket, with a read deadline.
fn raw(supd: &Supd) -> (UnixStream, BufReader<UnixStream>) {
    let stream = UnixStream::connect(&supd.socket).expect("connect to supd");
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let reader = BufReader::new(stream.try_clone().unwrap());
    (stream, reader)
}

/// Reads one line and parses it as JSON.
fn read_json(reader: &mut BufReader<UnixStream>) -> Value {
    let mut line = String::new();
    reader.read_line(&mut line).expect("a line from supd");
    assert!(line.ends_with('\n'), "not a whole line: {line:?}");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?} is not JSON: {e}"))
}

/// Asserts supd has closed the connection.
fn assert_closed(reader: &mut BufReader<UnixStream>) {
    let mut rest = Vec::new();
    reader
        .read_to_end(&mut rest)
        .expect("supd closes the connection");
    assert!(
        rest.is_empty(),
        "more after the error: {:?}",
        String::from_utf8_lossy(&rest)
    );
}

fn hello() -> Vec<u8> {
    let mut line = json!({"hello": {"protocol": 1, "software": "e2e-test"}})
        .to_string()
        .into_bytes();
    line.push(b'\n');
    line
}

#[test]
fn garbage_and_vanishing_clients_get_an_error_or_nothing_and_supd_keeps_serving() {
    let mut supd = Supd::start(
        r#"
[program.web]
command = "sleep 1000"
min_uptime = "0s"
"#,
    );
    let web = supd.wait_new_pid("web", None);

    // A client that says nothing holds no one up.
    let (_silent, _) = raw(&supd);

    // Not JSON at all: one JSON error line, then supd hangs up.
    let (mut s, mut r) = raw(&supd);
    s.write_all(b"not json\n").unwrap();
    let err = read_json(&mut r);
    assert_eq!(err["error"]["error"]["kind"], "bad_request", "{err}");
    assert!(
        !err["error"]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{err}"
    );
    assert_closed(&mut r);

    // Connects and closes at once.
    drop(UnixStream::connect(&supd.socket).unwrap());

    // A hello, then half a request, then gone.
    let (mut s, mut r) = raw(&supd);
    s.write_all(&hello()).unwrap();
    let answer = read_json(&mut r);
    assert!(answer.get("hello").is_some(), "{answer}");
    s.write_all(br#"{"request":{"id":1,"request":{"cmd":"sta"#)
        .unwrap();
    drop(s);
    drop(r);

    // A hello, then garbage.
    let (mut s, mut r) = raw(&supd);
    s.write_all(&hello()).unwrap();
    read_json(&mut r);
    s.write_all(b"{]\n").unwrap();
    let err = read_json(&mut r);
    assert_eq!(err["error"]["error"]["kind"], "bad_request", "{err}");
    assert_closed(&mut r);

    // A protocol version from the future.
    let (mut s, mut r) = raw(&supd);
    s.write_all(b"{\"hello\":{\"protocol\":999,\"software\":\"e2e\"}}\n")
        .unwrap();
    let err = read_json(&mut r);
    assert_eq!(err["error"]["error"]["kind"], "protocol", "{err}");
    assert_closed(&mut r);

    // A request whose client leaves before the answer: it is still carried out.
    let (mut s, mut r) = raw(&supd);
    s.write_all(&hello()).unwrap();
    read_json(&mut r);
    let mut request =
        json!({"request": {"id": 7, "request": {"cmd": "restart", "names": ["web"]}}})
            .to_string()
            .into_bytes();
    request.push(b'\n');
    s.write_all(&request).unwrap();
    drop(s);
    drop(r);
    let restarted = wait_until("web to be restarted", DEADLINE, || {
        let p = supd.program("web");
        (p["restarts"] == 1 && p["state"] == "running").then_some(p)
    });
    assert_ne!(restarted["pid"].as_u64(), Some(web), "{restarted}");

    // supd still answers, and is still running.
    let status = supd.ctl(&["status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("web"), "{status:?}");
    assert!(supd.try_exit().is_none());
    assert!(!supd.stderr.text().contains("panicked"));
    assert!(alive(restarted["pid"].as_u64().unwrap() as i32));

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}
