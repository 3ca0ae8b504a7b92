//! `[program.NAME.health]`: exactly one check (`command`, `tcp` or `http`) and its timing.

use std::time::Duration;

use super::command::argv;
use super::walker::{Field, Section, Walker};
use crate::spec::{HealthCheck, HealthSpec};

/// The keys of `[program.NAME.health]`.
pub const HEALTH_KEYS: &[&str] = &[
    "command",
    "tcp",
    "http",
    "interval",
    "timeout",
    "start_period",
    "retries",
];

const HEALTH_CHECKS: &[&str] = &["command", "tcp", "http"];

/// `[program.NAME.health]`, with the defaults of [`HealthSpec`].
pub(super) fn health(w: &mut Walker, field: Field) -> Option<HealthSpec> {
    let sec = w.table(field, "a table like [program.web.health]")?;
    w.check_keys(&sec, HEALTH_KEYS, &[]);
    let interval = sec
        .get("interval")
        .and_then(|f| w.positive_duration(&f))
        .unwrap_or(Duration::from_secs(5));
    let timeout = sec
        .get("timeout")
        .and_then(|f| w.positive_duration(&f))
        .unwrap_or(Duration::from_secs(1));
    let start_period = sec
        .get("start_period")
        .and_then(|f| w.duration(&f))
        .unwrap_or_default();
    let retries = sec
        .get("retries")
        .and_then(|f| w.integer(&f, 1..=i64::from(u32::MAX), "an integer of at least 1"))
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(3);
    let check = health_check(w, &sec)?;
    Some(HealthSpec {
        check,
        interval,
        timeout,
        retries,
        start_period,
    })
}

/// Exactly one of `command`, `tcp`, `http`.
fn health_check(w: &mut Walker, sec: &Section) -> Option<HealthCheck> {
    let present: Vec<(&str, Field)> = HEALTH_CHECKS
        .iter()
        .filter_map(|&k| sec.get(k).map(|f| (k, f)))
        .collect();
    let mut checks: Vec<Option<HealthCheck>> = present
        .iter()
        .map(|(kind, f)| health_check_value(w, kind, f))
        .collect();
    match present.as_slice() {
        [] => {
            let message = "missing a check: set exactly one of \"command\", \"tcp\" or \"http\"";
            w.error(sec.at, &sec.path, message);
            None
        }
        [_] => checks.pop().flatten(),
        [(first, _), rest @ ..] => {
            for (kind, f) in rest {
                let message = format!(
                    "expected exactly one of \"command\", \"tcp\" or \"http\", found both \
                     {first:?} and {kind:?}"
                );
                w.bad(f, message);
            }
            None
        }
    }
}

fn health_check_value(w: &mut Walker, kind: &str, field: &Field) -> Option<HealthCheck> {
    if kind == "command" {
        return argv(w, field).map(HealthCheck::Command);
    }
    let s = w.string(field)?;
    let checked = if kind == "tcp" {
        tcp_address(&s).map(|()| HealthCheck::Tcp(s))
    } else {
        http_url(&s).map(|()| HealthCheck::Http(s))
    };
    match checked {
        Ok(check) => Some(check),
        Err(message) => {
            w.bad(field, message);
            None
        }
    }
}

/// `host:port` with a port from 1 to 65535.
fn tcp_address(s: &str) -> Result<(), String> {
    match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => match port.parse::<u16>() {
            Ok(p) if p != 0 => Ok(()),
            _ => Err(format!(
                "expected a port from 1 to 65535 after the last \":\", found {port:?}"
            )),
        },
        _ => Err(format!(
            "expected \"host:port\" like \"127.0.0.1:8000\", found {s:?}"
        )),
    }
}

/// `http://host[:port][/path]`.
fn http_url(s: &str) -> Result<(), String> {
    match s.strip_prefix("http://") {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        Some(_) => Err(format!("expected a host after \"http://\", found {s:?}")),
        None if s.starts_with("https://") => Err(format!(
            "https is not supported by health checks; use an \"http://\" URL, found {s:?}"
        )),
        None => Err(format!(
            "expected a URL starting with \"http://\", found {s:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_addresses() {
        assert_eq!(tcp_address("127.0.0.1:8000"), Ok(()));
        assert_eq!(tcp_address("localhost:1"), Ok(()));
        assert_eq!(tcp_address("[::1]:65535"), Ok(()));
        assert!(tcp_address("localhost").is_err());
        assert!(tcp_address(":80").is_err());
        assert!(tcp_address("h:0").is_err());
        assert!(tcp_address("h:65536").is_err());
        assert!(tcp_address("h:http").is_err());
    }

    #[test]
    fn http_urls() {
        assert_eq!(http_url("http://127.0.0.1:8000/healthz"), Ok(()));
        assert_eq!(http_url("http://web"), Ok(()));
        assert!(http_url("http://").is_err());
        assert!(http_url("http:///x").is_err());
        assert!(http_url("https://x").unwrap_err().contains("https"));
        assert!(http_url("127.0.0.1:8000").is_err());
    }
}
