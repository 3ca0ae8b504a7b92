//! Event listeners (issue 15 §3): supervisord's listener protocol with real listeners — a
//! Python one written with `supervisor.childutils` (the pip package), and superlance's
//! `crashmail` and `httpok` — and `stdin = "pipe"`.
//!
//! Each test skips, saying why, when the pip packages cannot be had (no network).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use supd_tests::{DEADLINE, StartOptions, Supd, free_port, supervisor_clients, wait_until};

/// A listener written the way supervisord's documentation shows, with `childutils`. It
/// records its `SUPERVISOR_*` variables in `env.log`, and every event in `events.log`, one
/// line each: its answer, the header's fields, ` || `, the payload (newlines as `\n`).
/// Its first argument says how it behaves: `ok` (answers OK), `fail-first` (answers FAIL
/// the first time it sees an event, OK the second), `wait:FILE` (says READY only once FILE
/// exists), `garbage` (writes a line that is not `READY`).
const LISTENER: &str = r#"
import os, sys, time
from supervisor import childutils

mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
with open("env.log", "w") as f:
    for k in sorted(os.environ):
        if k.startswith("SUPERVISOR_"):
            f.write("%s=%s\n" % (k, os.environ[k]))
if mode == "garbage":
    sys.stdout.write("hello\n")
    sys.stdout.flush()
    time.sleep(1000)
if mode.startswith("wait:"):
    while not os.path.exists(mode[5:]):
        time.sleep(0.05)
seen = set()
while True:
    headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
    answer = "OK"
    if mode == "fail-first" and headers["serial"] not in seen:
        answer = "FAIL"
    seen.add(headers["serial"])
    fields = " ".join("%s:%s" % kv for kv in sorted(headers.items()))
    with open("events.log", "a") as f:
        f.write("%s %s || %s\n" % (answer, fields, payload.replace("\n", "\\n")))
    if answer == "OK":
        childutils.listener.ok(sys.stdout)
    else:
        childutils.listener.fail(sys.stdout)
"#;

/// One event as the listener recorded it.
#[derive(Debug, Clone)]
struct Received {
    answer: String,
    headers: HashMap<String, String>,
    payload: String,
}

impl Received {
    fn header(&self, key: &str) -> &str {
        self.headers.get(key).map_or("", String::as_str)
    }

    fn serial(&self) -> u64 {
        self.header("serial").parse().expect("a numeric serial")
    }
}

/// The pip packages' Python, or why the test is skipped.
fn python() -> Option<PathBuf> {
    match supervisor_clients() {
        Ok(bin) => Some(bin.join("python")),
        Err(why) => {
            eprintln!("skipped: {why}");
            None
        }
    }
}

/// supd with the childutils listener (written before supd starts, in a directory of its
/// own, kept as long as the returned guard); `config` says `{listener}` for the start of
/// the listener's argv (`[python, "/path/listener.py"` without the `]`).
fn start(python: &Path, config: &str) -> (Supd, tempfile::TempDir) {
    let scripts = tempfile::Builder::new()
        .prefix("supd-e2e-listener-")
        .tempdir()
        .expect("temp dir");
    let script = scripts.path().join("listener.py");
    std::fs::write(&script, LISTENER).expect("write listener.py");
    let listener = format!(
        "[{:?}, {:?}",
        python.display().to_string(),
        script.display().to_string()
    );
    let supd = Supd::start(&config.replace("{listener}", &listener));
    (supd, scripts)
}

/// Every event the listener recorded so far.
fn received(supd: &Supd) -> Vec<Received> {
    let text = std::fs::read_to_string(supd.path("events.log")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (head, payload) = line.split_once(" || ")?;
            let mut words = head.split(' ');
            let answer = words.next()?.to_string();
            let headers = words
                .filter_map(|w| w.split_once(':'))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Some(Received {
                answer,
                headers,
                payload: payload.replace("\\n", "\n"),
            })
        })
        .collect()
}

/// Waits for the first recorded event that `matches`.
fn wait_event(supd: &Supd, what: &str, matches: impl Fn(&Received) -> bool) -> Received {
    wait_until(what, DEADLINE, || received(supd).into_iter().find(&matches))
}

/// Waits for a message of supd's own that contains `text`.
fn wait_message(supd: &Supd, text: &str) -> String {
    wait_until(&format!("supd to say {text:?}"), DEADLINE, || {
        supd.supd_messages().into_iter().find(|m| m.contains(text))
    })
}

/// `[program.NAME]` tables of programs that sleep, running at once.
fn sleepers(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("[program.{n}]\ncommand = [\"sleep\", \"1000\"]\nmin_uptime = \"0s\"\n"))
        .collect()
}

/// Listeners count as running at once, so they get events from the start.
const QUICK: &str = "min_uptime = \"0s\"";

#[test]
fn a_crash_reaches_a_childutils_listener_with_supervisords_payload() {
    let Some(python) = python() else { return };
    let (mut supd, _scripts) = start(
        &python,
        &format!(
            r#"
[program.crash]
command = ["sleep", "1000"]
min_uptime = "0s"
restart = "never"

[program.done]
command = ["sh", "-c", "sleep 0.2"]
min_uptime = "0s"
restart = "never"
autostart = false

[eventlistener.watch]
command = {{listener}}]
events = ["PROCESS_STATE"]
{QUICK}
"#
        ),
    );
    let running = wait_event(&supd, "crash's RUNNING event", |e| {
        e.header("eventname") == "PROCESS_STATE_RUNNING"
            && e.payload.starts_with("processname:crash ")
    });
    let pid = supd.program("crash")["pid"].as_u64().expect("crash's pid") as i32;
    assert_eq!(
        running.payload,
        format!("processname:crash groupname:crash from_state:STARTING pid:{pid}")
    );
    kill(Pid::from_raw(pid), Signal::SIGKILL).expect("kill crash");
    let exited = wait_event(&supd, "crash's EXITED event", |e| {
        e.header("eventname") == "PROCESS_STATE_EXITED"
            && e.payload.starts_with("processname:crash ")
    });
    assert_eq!(
        exited.payload,
        format!("processname:crash groupname:crash from_state:RUNNING expected:0 pid:{pid}")
    );
    assert_eq!(exited.header("ver"), "3.0");
    assert_eq!(exited.header("server"), "supervisor");
    assert_eq!(exited.header("pool"), "watch");
    assert_eq!(exited.header("len"), exited.payload.len().to_string());
    assert!(exited.serial() > running.serial());
    let pool_serial = |e: &Received| e.header("poolserial").parse::<u64>().expect("poolserial");
    assert!(pool_serial(&exited) > pool_serial(&running));

    // An exit its exit_codes allow is expected.
    assert!(supd.ctl(&["start", "done"]).code == 0);
    let done = wait_event(&supd, "done's EXITED event", |e| {
        e.header("eventname") == "PROCESS_STATE_EXITED"
            && e.payload.starts_with("processname:done ")
    });
    assert!(
        done.payload.contains(" expected:1 pid:"),
        "{}",
        done.payload
    );

    let env = std::fs::read_to_string(supd.path("env.log")).expect("env.log");
    for var in [
        "SUPERVISOR_ENABLED=1",
        "SUPERVISOR_PROCESS_NAME=watch",
        "SUPERVISOR_GROUP_NAME=watch",
    ] {
        assert!(env.lines().any(|l| l == var), "{var} in {env:?}");
    }
    assert!(supd.terminate().success());
}

#[test]
fn events_beyond_buffer_size_drop_the_oldest_with_a_warning() {
    let Some(python) = python() else { return };
    let (mut supd, _scripts) = start(
        &python,
        &format!(
            r#"{sleepers}
[eventlistener.slow]
command = {{listener}}, "wait:go"]
events = ["PROCESS_STATE_RUNNING"]
buffer_size = 2
{QUICK}
"#,
            sleepers = sleepers(&["a", "b", "c"])
        ),
    );
    for name in ["a", "b", "c"] {
        supd.wait_state(name, "running");
    }
    // Three RUNNING events (and the listener's own, once its script is there) into a
    // buffer of two: the oldest go, each with a warning.
    let warning = "event listener pool slow: buffer overflowed (buffer_size = 2), dropped event";
    wait_until("two overflow warnings", DEADLINE, || {
        let n = supd
            .supd_messages()
            .iter()
            .filter(|m| m.contains(warning))
            .count();
        (n >= 2).then_some(())
    });
    std::fs::write(supd.path("go"), "").expect("write go");
    let got = wait_until("two events", DEADLINE, || {
        let got = received(&supd);
        (got.len() >= 2).then_some(got)
    });
    // Serials 0 and 1 were dropped: the two kept come next, oldest first.
    let serials: Vec<u64> = got.iter().take(2).map(Received::serial).collect();
    assert_eq!(serials, [2, 3], "{got:#?}");
    assert!(supd.terminate().success());
}

#[test]
fn tick_5_comes_at_the_start_of_each_five_seconds() {
    let Some(python) = python() else { return };
    let (mut supd, _scripts) = start(
        &python,
        &format!(
            "[eventlistener.ticks]\ncommand = {{listener}}]\nevents = [\"TICK_5\"]\n{QUICK}\n"
        ),
    );
    let tick = wait_event(&supd, "a TICK_5 event", |e| {
        e.header("eventname") == "TICK_5"
    });
    let when: u64 = tick
        .payload
        .strip_prefix("when:")
        .and_then(|w| w.parse().ok())
        .expect("when:SECONDS");
    assert_eq!(when % 5, 0, "{}", tick.payload);
    assert!(supd.terminate().success());
}

#[test]
fn an_event_answered_fail_is_sent_again() {
    let Some(python) = python() else { return };
    let (mut supd, _scripts) = start(
        &python,
        &format!(
            r#"{sleepers}
[eventlistener.picky]
command = {{listener}}, "fail-first"]
events = ["PROCESS_STATE_RUNNING"]
{QUICK}
"#,
            sleepers = sleepers(&["a"])
        ),
    );
    let failed = wait_event(&supd, "an event answered FAIL", |e| e.answer == "FAIL");
    let again = wait_event(&supd, "the same event again, answered OK", |e| {
        e.answer == "OK" && e.serial() == failed.serial()
    });
    assert_eq!(again.payload, failed.payload);
    wait_message(
        &supd,
        &format!("event {} was rejected (FAIL)", failed.serial()),
    );
    assert!(supd.terminate().success());
}

#[test]
fn a_listener_that_breaks_the_protocol_is_restarted() {
    let Some(python) = python() else { return };
    let (mut supd, _scripts) = start(
        &python,
        &format!(
            "[eventlistener.rude]\ncommand = {{listener}}, \"garbage\"]\nevents = [\"PROCESS_STATE\"]\n{QUICK}\n"
        ),
    );
    let said = wait_message(&supd, "rude: broke the event listener protocol");
    assert!(said.contains("\"hello\\n\""), "{said}");
    wait_until("rude to be restarted", DEADLINE, || {
        (supd.program("rude")["restarts"].as_u64() >= Some(2)).then_some(())
    });
    assert!(supd.terminate().success());
}

#[test]
fn log_lines_are_events_for_programs_that_ask() {
    let Some(python) = python() else { return };
    let (mut supd, _scripts) = start(
        &python,
        &format!(
            r#"
[program.talker]
command = ["sh", "-c", "while [ ! -e listening ]; do sleep 0.05; done; echo out-line; echo err-line >&2; exec sleep 1000"]
stdout_events = true
stderr_events = true

[program.quiet]
command = ["sh", "-c", "while [ ! -e listening ]; do sleep 0.05; done; echo not-an-event; exec sleep 1000"]

[eventlistener.logs]
command = {{listener}}]
events = ["PROCESS_LOG", "PROCESS_STATE_RUNNING"]
{QUICK}
"#
        ),
    );
    // The listener is up once it got an event: from then on, lines reach it at once.
    wait_event(&supd, "a first event", |_| true);
    std::fs::write(supd.path("listening"), "").expect("write listening");
    let out = wait_event(&supd, "the stdout line", |e| {
        e.header("eventname") == "PROCESS_LOG_STDOUT"
    });
    let pid = supd.program("talker")["pid"]
        .as_u64()
        .expect("talker's pid");
    assert_eq!(
        out.payload,
        format!("processname:talker groupname:talker pid:{pid} channel:stdout\nout-line\n")
    );
    let err = wait_event(&supd, "the stderr line", |e| {
        e.header("eventname") == "PROCESS_LOG_STDERR"
    });
    assert!(
        err.payload.ends_with("channel:stderr\nerr-line\n"),
        "{}",
        err.payload
    );
    supd.wait_stdout_line("quiet  | not-an-event");
    assert!(
        !received(&supd)
            .iter()
            .any(|e| e.payload.contains("not-an-event")),
        "quiet has no stdout_events"
    );
    assert!(supd.terminate().success());
}

#[test]
fn send_process_stdin_writes_to_a_stdin_pipe() {
    let (http, port) = http_table("");
    let mut supd = Supd::start_with(
        r#"
[program.reader]
command = ["sh", "-c", "while read line; do echo got:$line; done"]
stdin = "pipe"

[program.deaf]
command = ["sleep", "1000"]
"#,
        StartOptions {
            supd_table: http,
            ..StartOptions::default()
        },
    );
    supd.wait_state("reader", "running");
    supd.wait_state("deaf", "running");
    // supervisord's own client library, as its tools call it.
    let call = |name: &str| {
        let script = format!(
            "import xmlrpc.client\n\
             s = xmlrpc.client.ServerProxy('http://127.0.0.1:{port}/RPC2')\n\
             try:\n    print(s.supervisor.sendProcessStdin({name:?}, 'hello\\n'))\n\
             except xmlrpc.client.Fault as f:\n    print(f.faultCode, f.faultString)\n"
        );
        let out = std::process::Command::new("python3")
            .args(["-c", &script])
            .output()
            .expect("run python3");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(call("reader"), "True");
    supd.wait_stdout_line("reader | got:hello");
    let no_pipe = call("deaf");
    assert!(no_pipe.starts_with("20 NO_FILE"), "{no_pipe}");
    assert!(call("nobody").starts_with("10 BAD_NAME"));
    assert!(supd.terminate().success());
}

#[test]
fn supd_running_and_groups_coming_and_going_are_events() {
    let Some(python) = python() else { return };
    let listener = format!(
        "\n[eventlistener.groups]\ncommand = {{listener}}]\n\
         events = [\"SUPERVISOR_STATE_CHANGE\", \"PROCESS_GROUP\"]\n{QUICK}\n"
    );
    let (mut supd, _scripts) = start(&python, &(sleepers(&["old"]) + &listener));
    let first = wait_event(&supd, "a first event", |_| true);
    assert_eq!(first.header("eventname"), "SUPERVISOR_STATE_CHANGE_RUNNING");
    assert_eq!((first.payload.as_str(), first.header("len")), ("", "0"));

    // The same listener (its command as supd started it), "old" replaced by "new".
    let text = std::fs::read_to_string(&supd.config).expect("read config");
    std::fs::write(&supd.config, text.replace("[program.old]", "[program.new]"))
        .expect("rewrite config");
    let out = supd.ctl(&["reload"]);
    assert_eq!(out.stdout, "added: new\nremoved: old\n", "{out:?}");
    let added = wait_event(&supd, "PROCESS_GROUP_ADDED", |e| {
        e.header("eventname") == "PROCESS_GROUP_ADDED"
    });
    assert_eq!(added.payload, "groupname:new\n");
    let removed = wait_event(&supd, "PROCESS_GROUP_REMOVED", |e| {
        e.header("eventname") == "PROCESS_GROUP_REMOVED"
    });
    assert_eq!(removed.payload, "groupname:old\n");
    assert!(supd.terminate().success());
}

/// A stand-in for sendmail in a directory of its own: it appends the mail it is given to
/// `mail.txt` beside it. Returns its path and the guard of the directory.
fn fake_sendmail() -> (PathBuf, tempfile::TempDir) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("supd-e2e-sendmail-")
        .tempdir()
        .expect("temp dir");
    let script = dir.path().join("sendmail");
    let mail = dir.path().join("mail.txt");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ncat >> {:?}\n", mail.display().to_string()),
    )
    .expect("write sendmail");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (script, dir)
}

/// `[supd.http]` on a free loopback port, with `extra` keys; returns the table and the port.
fn http_table(extra: &str) -> (String, u16) {
    let port = free_port();
    (
        format!("[supd.http]\nlisten = [\"127.0.0.1:{port}\"]\n{extra}"),
        port,
    )
}

#[test]
fn superlance_crashmail_mails_a_crash() {
    let bin = match supervisor_clients() {
        Ok(bin) => bin,
        Err(why) => return eprintln!("skipped: {why}"),
    };
    let (sendmail, mailbox) = fake_sendmail();
    let (http, _) = http_table("");
    let crashmail = bin.join("crashmail").display().to_string();
    let mut supd = Supd::start_with(
        &format!(
            r#"
[program.crash]
command = ["sleep", "1000"]
min_uptime = "0s"
restart = "never"

[eventlistener.crashmail]
command = [{crashmail:?}, "-a", "-m", "ops@example.com", "-s", {:?}]
events = ["PROCESS_STATE_EXITED"]
{QUICK}
"#,
            sendmail.display().to_string()
        ),
        StartOptions {
            supd_table: http,
            ..StartOptions::default()
        },
    );
    supd.wait_state("crashmail", "running");
    let pid = supd.program("crash")["pid"].as_u64().expect("crash's pid") as i32;
    kill(Pid::from_raw(pid), Signal::SIGKILL).expect("kill crash");
    let mail = wait_until("crashmail's mail", DEADLINE, || {
        std::fs::read_to_string(mailbox.path().join("mail.txt"))
            .ok()
            .filter(|m| m.contains("exited unexpectedly"))
    });
    assert!(
        mail.starts_with("To: ops@example.com\nSubject:  crash crashed at "),
        "{mail}"
    );
    assert!(
        mail.contains(&format!(
            "Process crash in group crash exited unexpectedly (pid {pid}) from state RUNNING"
        )),
        "{mail}"
    );
    assert!(supd.terminate().success());
}

#[test]
fn superlance_httpok_restarts_a_program_that_answers_wrong() {
    let bin = match supervisor_clients() {
        Ok(bin) => bin,
        Err(why) => return eprintln!("skipped: {why}"),
    };
    let web_port = free_port();
    let (http, _) = http_table("username = \"ops\"\npassword = \"secret\"\n");
    let httpok = bin.join("httpok").display().to_string();
    let python = bin.join("python").display().to_string();
    // httpok wants 200 from a page the server does not have: at each TICK_5 it restarts
    // web through XML-RPC (stopProcess, startProcess), with the credentials supd handed it
    // (supervisord names web "web:web", which httpok writes as "web").
    let mut supd = Supd::start_with(
        &format!(
            r#"
[program.web]
command = [{python:?}, "-m", "http.server", "--bind", "127.0.0.1", "{web_port}"]
min_uptime = "0s"

[eventlistener.httpok]
command = [{httpok:?}, "-p", "web", "-c", "200", "-t", "5", "http://127.0.0.1:{web_port}/missing"]
events = ["TICK_5"]
{QUICK}
"#
        ),
        StartOptions {
            supd_table: http,
            ..StartOptions::default()
        },
    );
    let first = supd.wait_new_pid("web", None);
    let second = supd.wait_new_pid("web", Some(first));
    assert_ne!(first, second);
    let said = supd.stderr.text();
    assert!(
        said.contains("httpok | web is in RUNNING state, restarting"),
        "{said}"
    );
    assert!(supd.terminate().success());
}
