//! The shipped examples run for real: started by supd from their own directory, on ports
//! chosen for the test, and checked through their own interfaces.
//! (`examples/zero-downtime/` is run under load by `zero_downtime.rs`, and
//! `examples/django-stack-real/` by `real_stack.rs`: both install what they run.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

use nix::sys::signal::Signal;
use supd_tests::{Captured, DEADLINE, bin, ctl_at, free_port, path_with_helpers, wait_until};

/// A tiny HTTP client: (status, body).
fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((
        status,
        text.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
    ))
}

#[test]
fn the_django_stack_example_starts_in_order_and_serves() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/django-stack");
    let work = tempfile::tempdir().unwrap();
    let (backend, frontend) = (free_port(), free_port());
    let socket = work.path().join("supd.sock");
    let config = work.path().join("supd.toml");
    // The example as shipped, with its socket and database moved into the test's directory.
    let text = std::fs::read_to_string(example.join("supd.toml"))
        .unwrap()
        .replace(
            "socket = \"supd.sock\"",
            &format!("socket = {:?}", socket.display().to_string()),
        )
        .replace(
            "directory = \".\"",
            &format!("directory = {:?}", example.display().to_string()),
        );
    std::fs::write(&config, text).unwrap();
    let mut child = Command::new(bin("supd"))
        .arg("--config")
        .arg(&config)
        .env("DB", work.path().join("app.sqlite3"))
        .env("BACKEND_PORT", backend.to_string())
        .env("FRONTEND_PORT", frontend.to_string())
        .env("NO_COLOR", "1")
        .env("PATH", path_with_helpers())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (out, _t1) = Captured::spawn_reader(child.stdout.take().unwrap());
    let (err, _t2) = Captured::spawn_reader(child.stderr.take().unwrap());
    let status = || {
        let o = ctl_at(&socket, &["status", "--json"]);
        serde_json::from_str::<serde_json::Value>(&o.stdout).ok()
    };
    wait_until("every program of the example to be up", DEADLINE, || {
        let s = status()?;
        s.as_array()?.iter().all(|p| p["up"] == true).then_some(())
    });
    let s = status().unwrap();
    assert_eq!(s[0]["name"], "migrate");
    assert_eq!(s[0]["state"], "exited");
    assert_eq!(s[1]["health"], "healthy");
    let (code, body) = http(backend, "POST", "/api/tasks", "resize image 42").unwrap();
    assert_eq!(code, 201, "{body}");
    wait_until("the worker to do the task", DEADLINE, || {
        out.text()
            .contains("worker   | worker: task 1 succeeded")
            .then_some(())
    });
    let (code, page) = http(frontend, "GET", "/", "").unwrap();
    assert_eq!(code, 200);
    assert!(page.contains("Frontend"));
    assert_eq!(ctl_at(&socket, &["health"]).code, 0);

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0), "{}", err.text());
    let messages = err.text();
    let stopped = |name: &str| messages.find(&format!("{name}: stopped")).unwrap();
    assert!(
        stopped("frontend") < stopped("backend"),
        "dependents stop first:\n{messages}"
    );
}
