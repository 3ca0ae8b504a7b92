//! `GET /metrics`: supd and its programs for Prometheus, in the OpenMetrics 1.0 text format
//! that the `prometheus-client` crate encodes.
//!
//! Every scrape builds its answer afresh from what `supctl status` shows (with resource use
//! sampled, `Status { resources: true }`) and from the log plane's byte counters; nothing is
//! kept between scrapes and nothing runs between them, so a supd nobody scrapes does no
//! work for this. The families and their labels are listed in README's "Prometheus
//! metrics"; a program's label is its name as `supctl status` shows it.

use std::fmt;
use std::time::Duration;

use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, StatusCode};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::TypedMetric;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use supd_proto::{ProgramState, ProgramStatus, Reply, Request, ServerMessage, Stream};

use super::{Body, Route, text};
use crate::control::Served;
use crate::logplane::format::stream_name;

/// Where the metrics are served.
const PATH: &str = "/metrics";

/// What Prometheus asks for first, and what `prometheus-client` writes.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The labels of a family with one series.
const NO_LABELS: [(&str, &str); 0] = [];

/// Every state a program can be in: `supd_program_state` has a series for each.
const STATES: [ProgramState; 7] = ProgramState::ALL;

/// The route of `method path` when it is this module's: `GET /metrics` (a read), or the
/// same path with another method.
pub(super) fn route(method: &Method, path: &str) -> Option<Route> {
    (path == PATH).then_some(match *method {
        Method::GET => Route::Metrics,
        _ => Route::WrongMethod("GET"),
    })
}

/// Answers a scrape.
pub(super) async fn scrape(served: &Served) -> Response<Body> {
    let request = Request::Status {
        names: vec![],
        resources: true,
    };
    let programs = match served.ask(0, request).await {
        ServerMessage::Reply {
            reply: Reply::Status { programs },
            ..
        } => programs,
        ServerMessage::Error { error, .. } => {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("{}\n", error.message),
            );
        }
        _ => {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "supd answered its status request with something else\n",
            );
        }
    };
    let snapshot = Snapshot {
        programs,
        log_bytes: log_bytes(served),
        uptime: served.started.elapsed(),
    };
    let Ok(body) = snapshot.encode() else {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics could not be encoded\n",
        );
    };
    let mut res = Response::new(Body::full(body));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    res
}

/// Bytes read so far from each program's stdout and stderr, by name, in program order.
fn log_bytes(served: &Served) -> Vec<(String, [u64; 2])> {
    let progs = served.names.resolve(&[], true).unwrap_or_default();
    progs
        .into_iter()
        .map(|prog| {
            let read = [Stream::Stdout, Stream::Stderr].map(|s| served.plane.bytes_read(prog, s));
            (served.names.name(prog), read)
        })
        .collect()
}

/// What one scrape reports.
#[derive(Debug)]
struct Snapshot {
    programs: Vec<ProgramStatus>,
    /// Per program: bytes read from its stdout and stderr.
    log_bytes: Vec<(String, [u64; 2])>,
    /// How long supd has been running.
    uptime: Duration,
}

impl Snapshot {
    /// The OpenMetrics text of the snapshot, ending with `# EOF`.
    fn encode(self) -> Result<String, fmt::Error> {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry)?;
        Ok(out)
    }
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let e = &mut encoder;
        let programs = &self.programs;
        let version = [("version", env!("CARGO_PKG_VERSION"))];
        family(
            e,
            "supd",
            "supd's version.",
            None,
            [(NO_LABELS, Info::new(version))],
        )?;
        family(
            e,
            "supd_uptime",
            "How long supd has been running.",
            Some(&Unit::Seconds),
            [(NO_LABELS, ConstGauge::new(self.uptime.as_secs_f64()))],
        )?;
        family(
            e,
            "supd_program_up",
            "1 when the program is up as its dependents see it (running, and healthy if it \
             has a health check; a oneshot that completed), else 0.",
            None,
            programs
                .iter()
                .map(|p| (program(p), ConstGauge::new(i64::from(p.up)))),
        )?;
        family(
            e,
            "supd_program_state",
            "1 for the state the program is in, 0 for every other state.",
            None,
            programs.iter().flat_map(|p| {
                STATES.map(|state| {
                    let labels = [("program", p.name.as_str()), ("state", state.as_str())];
                    (labels, ConstGauge::new(i64::from(p.state == state)))
                })
            }),
        )?;
        family(
            e,
            "supd_program_restarts",
            "Starts of the program after its first, whatever caused them.",
            None,
            programs
                .iter()
                .map(|p| (program(p), ConstCounter::new(u64::from(p.restarts)))),
        )?;
        family(
            e,
            "supd_program_last_exit_code",
            "The exit code of the program's last run, when it exited (not killed by a \
             signal).",
            None,
            programs
                .iter()
                .filter_map(|p| Some((program(p), ConstGauge::new(p.exit_code?)))),
        )?;
        family(
            e,
            "supd_program_cpu",
            "CPU time (user and system) of the program's process group, with the children \
             they reaped; starts again from 0 with each run.",
            Some(&Unit::Seconds),
            programs.iter().filter_map(|p| {
                let seconds = p.usage?.cpu_ms as f64 / 1000.0;
                Some((program(p), ConstCounter::new(seconds)))
            }),
        )?;
        family(
            e,
            "supd_program_memory_rss",
            "Resident memory of the program's process group, summed over its processes.",
            Some(&Unit::Bytes),
            programs
                .iter()
                .filter_map(|p| Some((program(p), ConstGauge::new(p.usage?.rss_bytes)))),
        )?;
        family(
            e,
            "supd_program_processes",
            "Processes in the program's process group.",
            None,
            programs
                .iter()
                .filter_map(|p| Some((program(p), ConstGauge::new(p.usage?.processes)))),
        )?;
        family(
            e,
            "supd_program_healthy",
            "For a running program with a health check: 1 when its checks pass, else 0.",
            None,
            programs.iter().filter_map(|p| {
                let healthy = p.health.as_deref()? == "healthy";
                Some((program(p), ConstGauge::new(i64::from(healthy))))
            }),
        )?;
        family(
            e,
            "supd_log",
            "Output supd has read from the program's stdout or stderr, over all its runs.",
            Some(&Unit::Bytes),
            self.log_bytes.iter().flat_map(|(name, read)| {
                [Stream::Stdout, Stream::Stderr].map(|stream| {
                    let labels = [("program", name.as_str()), ("stream", stream_name(stream))];
                    (labels, ConstCounter::new(read[stream as usize]))
                })
            }),
        )
    }
}

/// The `program` label of `p`.
fn program(p: &ProgramStatus) -> [(&'static str, &str); 1] {
    [("program", p.name.as_str())]
}

/// Writes the family `name` (its help, unit and type) and then each of its `series`: the
/// labels that tell it apart, and its value.
fn family<L: EncodeLabelSet, M: EncodeMetric + TypedMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    series: impl IntoIterator<Item = (L, M)>,
) -> Result<(), fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, unit, M::TYPE)?;
    for (labels, metric) in series {
        metric.encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use supd_proto::{Percent, Usage};

    /// A program in `state` that has nothing else to say (what the wire leaves out).
    fn status(name: &str, state: ProgramState) -> ProgramStatus {
        let up = state == ProgramState::Running;
        let json = serde_json::json!({"name": name, "state": state, "up": up, "restarts": 0});
        serde_json::from_value(json).expect("a ProgramStatus")
    }

    fn scrape_of(programs: Vec<ProgramStatus>, log_bytes: Vec<(String, [u64; 2])>) -> String {
        Snapshot {
            programs,
            log_bytes,
            uptime: Duration::from_millis(12_500),
        }
        .encode()
        .expect("encodes")
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn a_running_program_with_its_usage_and_health() {
        let mut web = status("web", ProgramState::Running);
        web.pid = Some(42);
        web.restarts = 3;
        web.exit_code = Some(137);
        web.health = Some("healthy".into());
        web.usage = Some(Usage {
            cpu_percent: Percent(1.5),
            cpu_ms: 2_250,
            rss_bytes: 10 << 20,
            processes: 2,
        });
        let text = scrape_of(vec![web], vec![("web".into(), [120, 7])]);
        let lines = lines(&text);
        for expected in [
            "# TYPE supd info",
            &format!("supd_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION")),
            "# TYPE supd_uptime_seconds gauge",
            "# UNIT supd_uptime_seconds seconds",
            "supd_uptime_seconds 12.5",
            "# TYPE supd_program_up gauge",
            "supd_program_up{program=\"web\"} 1",
            "supd_program_state{program=\"web\",state=\"running\"} 1",
            "supd_program_state{program=\"web\",state=\"fatal\"} 0",
            "# TYPE supd_program_restarts counter",
            "supd_program_restarts_total{program=\"web\"} 3",
            "supd_program_last_exit_code{program=\"web\"} 137",
            "# TYPE supd_program_cpu_seconds counter",
            "supd_program_cpu_seconds_total{program=\"web\"} 2.25",
            "# TYPE supd_program_memory_rss_bytes gauge",
            "supd_program_memory_rss_bytes{program=\"web\"} 10485760",
            "supd_program_processes{program=\"web\"} 2",
            "supd_program_healthy{program=\"web\"} 1",
            "# TYPE supd_log_bytes counter",
            "supd_log_bytes_total{program=\"web\",stream=\"stdout\"} 120",
            "supd_log_bytes_total{program=\"web\",stream=\"stderr\"} 7",
        ] {
            assert!(lines.contains(&expected), "no {expected:?} in\n{text}");
        }
        assert_eq!(lines.last(), Some(&"# EOF"), "{text}");
        let states = lines
            .iter()
            .filter(|l| l.starts_with("supd_program_state{"))
            .count();
        assert_eq!(states, STATES.len(), "{text}");
    }

    #[test]
    fn what_is_not_known_is_left_out() {
        let mut worker = status("group:worker", ProgramState::Backoff);
        worker.health = Some("unhealthy: HTTP 503 (2 in a row)".into());
        let stopped = status("idle", ProgramState::Stopped);
        let text = scrape_of(vec![worker, stopped], vec![]);
        let lines = lines(&text);
        for expected in [
            "supd_program_up{program=\"group:worker\"} 0",
            "supd_program_state{program=\"group:worker\",state=\"backoff\"} 1",
            "supd_program_state{program=\"group:worker\",state=\"running\"} 0",
            "supd_program_state{program=\"idle\",state=\"stopped\"} 1",
            "supd_program_restarts_total{program=\"idle\"} 0",
            "supd_program_healthy{program=\"group:worker\"} 0",
        ] {
            assert!(lines.contains(&expected), "no {expected:?} in\n{text}");
        }
        // No usage sampled, no exit yet, no health check on `idle`: no series for those.
        for absent in [
            "supd_program_cpu_seconds_total{",
            "supd_program_memory_rss_bytes{",
            "supd_program_last_exit_code{",
            "supd_program_healthy{program=\"idle\"}",
        ] {
            assert!(
                !lines.iter().any(|l| l.starts_with(absent)),
                "{absent:?} in\n{text}"
            );
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let text = scrape_of(
            vec![status("we\"b\\", ProgramState::Running)],
            vec![("we\"b\\".into(), [0, 0])],
        );
        assert!(
            text.contains("supd_program_up{program=\"we\\\"b\\\\\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn routes() {
        assert_eq!(route(&Method::GET, "/metrics"), Some(Route::Metrics));
        assert_eq!(
            route(&Method::POST, "/metrics"),
            Some(Route::WrongMethod("GET"))
        );
        assert_eq!(route(&Method::GET, "/metrics/x"), None);
        assert!(!Route::Metrics.writes());
    }
}
