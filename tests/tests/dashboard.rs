//! The dashboard at `/` and the JSON API at `/api/...` of `[supd.http]`: the API's answers
//! and errors over plain HTTP, its Server-Sent Event streams (state changes, a log that
//! follows, their end when supd exits), and the page itself in a real headless Chromium
//! driven by Selenium (`tests/helpers/dashboard_check.py`): programs listed, a `kill -9`
//! shown live without a reload, the restart button, the log pane following.
//!
//! `SUPD_UPDATE_SCREENSHOT=1` also copies the browser test's screenshot to
//! `docs/dashboard.png` (the README's picture).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::Receiver;

use serde_json::Value;
use supd_tests::*;

/// An answer: its status code, its headers (lower-case names) and its body.
struct Answer {
    status: u16,
    headers: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to supd's HTTP port");
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream
}

fn request_text(method: &str, path: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
}

/// One request; the whole answer (bodies here are never chunked: they are not streams).
fn call(port: u16, method: &str, path: &str) -> Answer {
    let mut stream = connect(port);
    stream
        .write_all(request_text(method, path).as_bytes())
        .expect("send the request");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read the answer");
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers: {text}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {head}"));
    Answer {
        status,
        headers: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

/// An open event stream: its headers, then its lines as they come.
struct EventStream {
    headers: String,
    lines: Receiver<String>,
}

impl EventStream {
    fn open(port: u16, path: &str) -> EventStream {
        let mut stream = connect(port);
        stream
            .write_all(request_text("GET", path).as_bytes())
            .expect("send the request");
        let mut reader = BufReader::new(stream);
        let mut headers = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("read a header");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            headers.push_str(&line.to_ascii_lowercase());
        }
        EventStream {
            headers,
            lines: line_channel(reader),
        }
    }

    /// The data of the next `event: NAME` whose data satisfies `wanted`, skipping the others.
    fn wait_event(&self, name: &str, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let mut event = String::new();
        wait_until(what, DEADLINE, || {
            let line = self.lines.recv_timeout(DEADLINE).ok()?;
            if let Some(e) = line.strip_prefix("event: ") {
                event = e.to_string();
            } else if let Some(data) = line.strip_prefix("data: ")
                && event == name
            {
                let value: Value = serde_json::from_str(data).expect("event data is JSON");
                return wanted(&value).then_some(value);
            }
            None
        })
    }

    /// Whether the stream ends (the server closed it) within the deadline.
    fn ends(&self) -> bool {
        loop {
            match self.lines.recv_timeout(DEADLINE) {
                Ok(_) => continue,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return true,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => return false,
            }
        }
    }
}

/// supd running `programs`, serving HTTP on a loopback port; and the port.
fn start_with_http(programs: &str) -> (Supd, u16) {
    let port = free_port();
    let supd = Supd::start_with(
        programs,
        StartOptions {
            supd_table: format!("[supd.http]\nlisten = [\"127.0.0.1:{port}\"]\n"),
            ..Default::default()
        },
    );
    (supd, port)
}

/// A program that prints its name's line, then the contents of `job_file` on each SIGUSR1.
fn job_printer(ready_line: &str, job_file: &Path) -> String {
    format!(
        "[\"python3\", \"-u\", \"-c\", \"import signal; signal.signal(signal.SIGUSR1, lambda *_: \
         print('processed', open('{}').read().strip(), flush=True)); print('{ready_line}'); \
         [signal.pause() for _ in iter(int, 1)]\"]",
        job_file.display()
    )
}

#[test]
fn the_api_answers_json_and_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("job.txt");
    let config = format!(
        "[program.web]\ncommand = \"sleep 1000\"\n\n\
         [program.worker]\ncommand = {}\ndepends_on = [\"web\"]\n",
        job_printer("worker ready", &job)
    );
    let (supd, port) = start_with_http(&config);
    supd.wait_state("worker", "running");

    let status = call(port, "GET", "/api/status");
    assert_eq!(status.status, 200, "{}", status.body);
    assert!(status.headers.contains("content-type: application/json"));
    let programs = status.json()["programs"].as_array().unwrap().clone();
    let names: Vec<&str> = programs
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "worker"]);
    assert_eq!(programs[1]["depends_on"], serde_json::json!(["web"]));
    // CPU and memory come with it (the whole process group, sampled now).
    assert!(
        programs[0]["usage"]["rss_bytes"].as_u64().unwrap() > 0,
        "{programs:?}"
    );

    let one = call(port, "GET", "/api/programs/worker");
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["state"], "running");
    let some = call(port, "GET", "/api/status?names=w*");
    assert_eq!(some.json()["programs"].as_array().unwrap().len(), 2);

    // Errors: JSON, the right status, one sentence naming the thing.
    let errors = [
        ("GET", "/api/programs/wbe", 404, "not_found", "\"wbe\""),
        ("GET", "/api/programs/w*", 400, "bad_request", "2 programs"),
        (
            "GET",
            "/api/programs/web/restart",
            405,
            "method_not_allowed",
            "POST",
        ),
        ("POST", "/api/status", 405, "method_not_allowed", "GET"),
        (
            "POST",
            "/api/programs/web/signal",
            400,
            "bad_request",
            "'signal'",
        ),
        (
            "POST",
            "/api/programs/web/signal?signal=NOPE",
            400,
            "bad_request",
            "NOPE",
        ),
        (
            "GET",
            "/api/programs/web/logs?stream=stdin",
            400,
            "bad_request",
            "'stream'",
        ),
        (
            "GET",
            "/api/programs/web/logs?lines=many",
            400,
            "bad_request",
            "'lines'",
        ),
        ("GET", "/api/status?nmes=web", 400, "bad_request", "'nmes'"),
        ("GET", "/api/nope", 404, "not_found", "/api/status"),
    ];
    for (method, path, status, code, says) in errors {
        let answer = call(port, method, path);
        let what = format!("{method} {path}: {}", answer.body);
        assert_eq!(answer.status, status, "{what}");
        assert_eq!(answer.json()["error"], code, "{what}");
        let message = answer.json()["message"].as_str().unwrap().to_string();
        assert!(message.contains(says), "{what}");
        assert_clear_message(&message);
    }
    assert!(
        call(port, "GET", "/api/programs/web/start")
            .headers
            .contains("allow: post")
    );

    // Actions answer with the outcomes supctl shows.
    let old = supd.program("web")["pid"].as_u64().unwrap();
    let restarted = call(port, "POST", "/api/programs/web/restart");
    assert_eq!(restarted.status, 200, "{}", restarted.body);
    let outcome = &restarted.json()["outcomes"][0];
    assert_eq!(
        (outcome["name"].as_str(), outcome["ok"].as_bool()),
        (Some("web"), Some(true))
    );
    assert_ne!(supd.program("web")["pid"].as_u64(), Some(old));
    let stopped = call(port, "POST", "/api/programs/web/stop");
    assert_eq!(stopped.json()["outcomes"][0]["message"], "stopped");
    assert_eq!(supd.program("web")["state"], "stopped");
    let again = call(port, "POST", "/api/programs/web/stop");
    assert_eq!(again.json()["outcomes"][0]["code"], "not_running");
    let started = call(port, "POST", "/api/programs/web/start");
    assert_eq!(started.json()["outcomes"][0]["ok"], true);

    // Recent lines, as JSON.
    std::fs::write(&job, "job-1\n").unwrap();
    let signalled = call(port, "POST", "/api/programs/worker/signal?signal=USR1");
    assert_eq!(
        signalled.json()["outcomes"][0]["ok"],
        true,
        "{}",
        signalled.body
    );
    let lines = wait_until("the job's line in the worker's log", DEADLINE, || {
        let logs = call(
            port,
            "GET",
            "/api/programs/worker/logs?lines=10&stream=stdout",
        );
        let lines = logs.json()["lines"].as_array().cloned()?;
        lines
            .iter()
            .any(|l| l["text"] == "processed job-1\n")
            .then_some(lines)
    });
    assert_eq!(lines[0]["text"], "worker ready\n");
    assert!(
        lines
            .iter()
            .all(|l| l["program"] == "worker" && l["stream"] == "stdout")
    );
    drop(supd);
}

#[test]
fn events_and_logs_stream_as_server_sent_events_until_supd_exits() {
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("job.txt");
    let config = format!(
        "[program.web]\ncommand = \"sleep 1000\"\n\n[program.worker]\ncommand = {}\n",
        job_printer("worker ready", &job)
    );
    let (mut supd, port) = start_with_http(&config);
    supd.wait_state("worker", "running");
    let events = EventStream::open(port, "/api/events?names=web");
    assert!(
        events.headers.starts_with("http/1.1 200"),
        "{}",
        events.headers
    );
    assert!(events.headers.contains("content-type: text/event-stream"));
    assert!(events.headers.contains("cache-control: no-cache"));
    assert!(events.headers.contains("x-accel-buffering: no"));
    let logs = EventStream::open(port, "/api/programs/worker/logs?follow=1&lines=5");
    // The recent lines first.
    logs.wait_event("log", "the worker's first line", |l| {
        l["text"] == "worker ready\n"
    });

    let old = supd.program("web")["pid"].as_u64().unwrap();
    assert_eq!(supd.ctl(&["restart", "web"]).code, 0);
    let stopping = events.wait_event("state", "web stopping", |e| e["to"] == "stopping");
    assert_eq!(
        (stopping["program"].as_str(), stopping["pid"].as_u64()),
        (Some("web"), Some(old))
    );
    let running = events.wait_event("state", "web running again", |e| e["to"] == "running");
    assert_eq!(running["pid"], supd.program("web")["pid"]);
    // Only web's: a restart of the worker is not in this stream.
    assert_eq!(supd.ctl(&["restart", "worker"]).code, 0);
    assert_eq!(supd.ctl(&["restart", "web"]).code, 0);
    let next = events.wait_event("state", "web's next change", |_| true);
    assert_eq!(next["program"], "web");

    // Following: a line printed now.
    std::fs::write(&job, "job-2\n").unwrap();
    assert_eq!(supd.ctl(&["signal", "USR1", "worker"]).code, 0);
    let line = logs.wait_event("log", "the job's line, live", |l| {
        l["text"] == "processed job-2\n"
    });
    assert_eq!(
        (line["program"].as_str(), line["stream"].as_str()),
        (Some("worker"), Some("stdout"))
    );
    assert!(line["ts_ms"].as_u64().unwrap() > 0);

    // supd exits: every stream ends.
    supd.terminate();
    assert!(events.ends(), "the event stream outlived supd");
    assert!(logs.ends(), "the log stream outlived supd");
}

#[test]
fn the_page_is_served_from_the_binary() {
    let (supd, port) = start_with_http("[program.web]\ncommand = \"sleep 1000\"\n");
    let page = call(port, "GET", "/");
    assert_eq!(page.status, 200);
    assert!(page.headers.contains("content-type: text/html"));
    assert!(
        page.headers
            .contains("content-security-policy: default-src 'none'")
    );
    assert!(page.body.contains("<script src=\"dashboard.js\""));
    for (path, kind) in [
        ("/dashboard.js", "text/javascript"),
        ("/dashboard.css", "text/css"),
    ] {
        let asset = call(port, "GET", path);
        assert_eq!(asset.status, 200, "{path}");
        assert!(
            asset.headers.contains(&format!("content-type: {kind}")),
            "{path}"
        );
        assert!(!asset.body.is_empty());
    }
    assert_eq!(call(port, "POST", "/").status, 405);
    drop(supd);
}

/// The venv's Python with Selenium, and Debian's Chromium and its driver: installed when
/// missing (root, apt, pip), or why not.
fn browser_tools() -> Result<PathBuf, String> {
    ensure_tools(
        &["chromium", "chromedriver"],
        &["chromium", "chromium-driver"],
    )?;
    // Selenium installs no command of its own; `wsdump` comes with it (websocket-client).
    let bin = pip_venv("dashboard", &["selenium==4.51.0"], &["python3", "wsdump"])?;
    Ok(bin.join("python3"))
}

#[test]
fn the_dashboard_in_chromium_shows_restarts_live_restarts_and_follows_logs() {
    let python = match browser_tools() {
        Ok(python) => python,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let web_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("job.txt");
    // A small web stack as people run it: a database, a cache, migrations, the app, a worker.
    let config = format!(
        r#"[program.db]
command = ["sh", "-c", "echo 'LOG:  database system is ready to accept connections'; exec sleep 100000"]

[program.cache]
command = ["sh", "-c", "echo '* Ready to accept connections tcp'; exec sleep 100000"]

[program.migrate]
command = ["sh", "-c", "echo 'Applying orders.0001_initial... OK'; echo 'Applying orders.0002_refunds... OK'"]
oneshot = true
depends_on = ["db"]

[program.web]
command = "python3 -m http.server {web_port} --bind 127.0.0.1"
depends_on = ["migrate", "cache"]

[program.web.health]
http = "http://127.0.0.1:{web_port}/"
interval = "5s"

[program.worker]
command = {worker}
depends_on = ["db", "cache"]
"#,
        worker = job_printer("worker ready: queue=default concurrency=4", &job)
    );
    let (supd, port) = start_with_http(&config);
    let screenshot = supd.dir.path().join("dashboard.png");
    let out = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("helpers/dashboard_check.py"))
        .args(["--url", &format!("http://127.0.0.1:{port}/")])
        .arg("--supctl")
        .arg(bin("supctl"))
        .arg("--socket")
        .arg(&supd.socket)
        .args(["--programs", "db,cache,migrate,web,worker"])
        .args(["--kill", "worker", "--restart", "cache", "--log", "worker"])
        .arg("--job-file")
        .arg(&job)
        .arg("--screenshot")
        .arg(&screenshot)
        .output()
        .expect("run tests/helpers/dashboard_check.py");
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("{report}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "the dashboard check failed:\n{report}"
    );
    let passed = report.lines().filter(|l| l.starts_with("ok: ")).count();
    assert_eq!(passed, 5, "every check of the script passed:\n{report}");
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
    if std::env::var_os("SUPD_UPDATE_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/dashboard.png");
        std::fs::write(&docs, &png).expect("write docs/dashboard.png");
        eprintln!("wrote {}", docs.display());
    }
    drop(supd);
}
