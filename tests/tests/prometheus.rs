//! `/metrics` as a real Prometheus sees it: Debian's `prometheus` (installed by the test)
//! scrapes supd every second, and its HTTP API then has `supd_program_up` for each program,
//! the target healthy (a format error would show there), a program's output, CPU time and
//! memory, and a restart count that went up after a `kill -9`.
//!
//! The package's own service is never started here (no init system, and Debian's
//! policy-rc.d refuses it in containers); the test runs `/usr/bin/prometheus` itself, on a
//! free loopback port with its data in a temp dir, and kills it at the end.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use supd_tests::*;

/// Patience for what Prometheus must show: it has to start, then scrape (every second).
const PATIENCE: Duration = Duration::from_secs(60);

/// A Prometheus server scraping one target, killed (and waited for) when dropped.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    log: Captured,
    reader: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts `/usr/bin/prometheus` scraping `http://TARGET/metrics` every second.
    fn start(target: SocketAddr) -> Prometheus {
        let dir = tempfile::Builder::new()
            .prefix("supd-prometheus-")
            .tempdir()
            .expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: supd\n    static_configs:\n      \
                 - targets: [\"{target}\"]\n"
            ),
        )
        .expect("write prometheus.yml");
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut child = Command::new("/usr/bin/prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            // Prometheus logs to stderr.
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start prometheus");
        let (log, reader) = Captured::spawn_reader(child.stderr.take().unwrap());
        Prometheus {
            child,
            addr,
            log,
            reader: Some(reader),
            _dir: dir,
        }
    }

    /// The `data` of an answer of Prometheus's HTTP API at `path`, or why there is none.
    fn api(&self, path: &str) -> Result<Value, String> {
        let body = supd_tests::load::get(self.addr, path)?;
        let answer: Value =
            serde_json::from_str(&body).map_err(|e| format!("{path}: not JSON ({e}): {body}"))?;
        match answer["status"].as_str() {
            Some("success") => Ok(answer["data"].clone()),
            _ => Err(format!("{path}: {body}")),
        }
    }

    /// The series of the instant query `expr`, by their `program` label, with their value.
    fn query(&self, expr: &str) -> Result<Vec<(String, f64)>, String> {
        let data = self.api(&format!("/api/v1/query?query={}", url_encode(expr)))?;
        let series = data["result"].as_array().cloned().unwrap_or_default();
        Ok(series
            .iter()
            .map(|s| {
                let program = s["metric"]["program"].as_str().unwrap_or("").to_string();
                let value = s["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN);
                (program, value)
            })
            .collect())
    }

    /// The value of the one series of `expr`, once Prometheus has it.
    fn value(&self, expr: &str) -> Result<f64, String> {
        match self.query(expr)?.as_slice() {
            [(_, value)] => Ok(*value),
            other => Err(format!("{expr} has {} series: {other:?}", other.len())),
        }
    }

    /// Waits until `probe` is `Ok`, failing the test after [`PATIENCE`] with `what`, the
    /// last reason `probe` gave and what Prometheus logged.
    fn eventually<T>(&self, what: &str, mut probe: impl FnMut(&Self) -> Result<T, String>) -> T {
        let end = Instant::now() + PATIENCE;
        let outcome = wait_until(what, PATIENCE * 2, || match probe(self) {
            Ok(v) => Some(Ok(v)),
            Err(e) if Instant::now() >= end => Some(Err(e)),
            Err(_) => None,
        });
        outcome.unwrap_or_else(|why| {
            panic!(
                "timed out after {PATIENCE:?} waiting for {what}: {why}\nprometheus log:\n{}",
                self.log.text()
            )
        })
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// `s` with everything but unreserved URL characters percent-encoded.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn prometheus_scrapes_every_program_and_sees_a_restart() {
    if !Path::new("/usr/bin/prometheus").exists()
        && let Err(why) = apt_install(&["prometheus"])
    {
        println!("skipped: Debian's prometheus is not installed, and {why}");
        return;
    }
    let port = free_port();
    let supd = Supd::start_with(
        // web prints a line and uses some CPU (counting in the shell) before it sleeps.
        "[program.web]\ncommand = \"sh -c 'echo ready; i=0; while [ $i -lt 100000 ]; do \
         i=$((i+1)); done; exec sleep 1000'\"\n\n\
         [program.worker]\ncommand = \"sleep 1000\"\n",
        StartOptions {
            supd_table: format!("[supd.http]\nlisten = [\"127.0.0.1:{port}\"]\n"),
            ..Default::default()
        },
    );
    supd.wait_state("web", "running");
    supd.wait_state("worker", "running");
    let prometheus = Prometheus::start(format!("127.0.0.1:{port}").parse().unwrap());

    prometheus.eventually("Prometheus to scrape supd successfully", |p| {
        let targets = p.api("/api/v1/targets")?;
        let target = &targets["activeTargets"][0];
        match target["health"].as_str() {
            Some("up") => Ok(()),
            _ => Err(format!(
                "the target is {} ({})",
                target["health"], target["lastError"]
            )),
        }
    });
    let up = prometheus.eventually("supd_program_up of each program", |p| {
        let mut series = p.query("supd_program_up")?;
        series.sort_by(|a, b| a.0.cmp(&b.0));
        match series.as_slice() {
            [(web, _), (worker, _)] if web == "web" && worker == "worker" => Ok(series),
            _ => Err(format!("supd_program_up is {series:?}")),
        }
    });
    assert!(
        up.iter().all(|(_, value)| *value == 1.0),
        "both programs run, yet supd_program_up is {up:?}"
    );
    prometheus.eventually("the bytes web printed to be counted", |p| {
        let bytes = p.value(r#"supd_log_bytes_total{program="web",stream="stdout"}"#)?;
        // "ready\n"
        (bytes >= 6.0)
            .then_some(())
            .ok_or(format!("web's stdout bytes are {bytes}"))
    });
    prometheus.eventually("web's CPU time and memory", |p| {
        let cpu = p.value(r#"supd_program_cpu_seconds_total{program="web"}"#)?;
        let rss = p.value(r#"supd_program_memory_rss_bytes{program="web"}"#)?;
        (cpu > 0.0 && rss > 0.0)
            .then_some(())
            .ok_or(format!("web used {cpu} s of CPU, has {rss} bytes resident"))
    });
    let restarts = r#"supd_program_restarts_total{program="web"}"#;
    let before = prometheus.eventually("web's restart count", |p| p.value(restarts));

    let pid = supd.program("web")["pid"].as_u64().expect("web's pid");
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).expect("kill -9 web");
    supd.wait_new_pid("web", Some(pid));
    let after = prometheus.eventually("web's restart count to go up", |p| {
        let after = p.value(restarts)?;
        (after > before)
            .then_some(after)
            .ok_or(format!("it is still {after}"))
    });
    assert_eq!(after, before + 1.0, "one kill, one restart");
    let worker = prometheus.value(r#"supd_program_restarts_total{program="worker"}"#);
    assert_eq!(worker, Ok(0.0), "worker was not touched");
}
