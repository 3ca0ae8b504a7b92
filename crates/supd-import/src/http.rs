//! supervisord's HTTP servers (`[unix_http_server]`, `[inet_http_server]`) as supd's
//! `[supd.http]` listen entries: the pure parts.
//!
//! This module owns how an `[inet_http_server] port` becomes a TCP address (supervisord's
//! `inet_address`: `9001`, `:9001` and `*:9001` listen on every interface), which TCP
//! addresses are loopback (supd refuses any other without a password), where supd's own
//! control socket goes when the unix server's file is known (`supd.sock` beside it), and
//! when the servers' credentials are shared by every entry (top-level `username` and
//! `password`) or kept per entry. Reading the sections is [`crate::convert`]'s.

use crate::render::{HttpOut, ListenOut};

/// `[inet_http_server] port` as a supd TCP address `HOST:PORT`: every interface is
/// `0.0.0.0`, `localhost` is `127.0.0.1`, an IPv6 host is bracketed.
pub(crate) fn tcp_address(port: &str) -> Result<String, String> {
    let (host, number) = match port.rsplit_once(':') {
        Some((host, number)) => (host.trim(), number.trim()),
        None => ("", port.trim()),
    };
    let number: u16 = match number.parse() {
        Ok(n) if n > 0 => n,
        _ => {
            return Err(format!(
                "expected a port like 9001, 127.0.0.1:9001 or *:9001, found {port:?}"
            ));
        }
    };
    let host = host.to_ascii_lowercase();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = match host {
        "" | "*" => "0.0.0.0".to_string(),
        "localhost" => "127.0.0.1".to_string(),
        h if h.contains(':') => format!("[{h}]"),
        h => h.to_string(),
    };
    Ok(format!("{host}:{number}"))
}

/// A `HOST:PORT` that only this machine reaches.
pub(crate) fn is_loopback(address: &str) -> bool {
    let host = address
        .rsplit_once(':')
        .map_or(address, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// The port of a `HOST:PORT`.
pub(crate) fn port_of(address: &str) -> &str {
    address.rsplit_once(':').map_or(address, |(_, port)| port)
}

/// supd's control socket beside the unix server's `file`: `supd.sock` in its directory
/// (`supd-control.sock` when the HTTP socket itself is named `supd.sock`).
pub(crate) fn control_socket_beside(file: &str) -> String {
    let (dir, name) = match file.rsplit_once('/') {
        Some((dir, name)) => (Some(dir), name),
        None => (None, file),
    };
    let control = if name == "supd.sock" {
        "supd-control.sock"
    } else {
        "supd.sock"
    };
    match dir {
        Some(dir) => format!("{dir}/{control}"),
        None => control.to_string(),
    }
}

/// `[supd.http]` from its entries: credentials every entry has alike become the top-level
/// `username` and `password`; different ones stay with their entries.
pub(crate) fn http(mut listen: Vec<ListenOut>) -> HttpOut {
    let creds = |l: &ListenOut| (l.username.clone(), l.password.clone());
    let shared = listen.first().map(creds).filter(|(u, p)| {
        u.is_some() && p.is_some() && listen.iter().all(|l| creds(l) == (u.clone(), p.clone()))
    });
    let (username, password) = match shared {
        Some((u, p)) => {
            for l in &mut listen {
                l.username = None;
                l.password = None;
            }
            (u, p)
        }
        None => (None, None),
    };
    HttpOut {
        listen,
        username,
        password,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_as_supervisord_reads_them() {
        for (port, address) in [
            ("9001", "0.0.0.0:9001"),
            (":9001", "0.0.0.0:9001"),
            ("*:9001", "0.0.0.0:9001"),
            ("127.0.0.1:9001", "127.0.0.1:9001"),
            ("LOCALHOST:9001", "127.0.0.1:9001"),
            ("[::1]:9001", "[::1]:9001"),
            ("0.0.0.0:80", "0.0.0.0:80"),
        ] {
            assert_eq!(tcp_address(port).as_deref(), Ok(address), "{port}");
        }
        assert!(tcp_address("x:abc").is_err());
        assert!(tcp_address("0").is_err());
        assert!(tcp_address("").is_err());
    }

    #[test]
    fn loopback_addresses() {
        assert!(is_loopback("127.0.0.1:9001"));
        assert!(is_loopback("[::1]:9001"));
        assert!(!is_loopback("0.0.0.0:9001"));
        assert!(!is_loopback("example.com:9001"));
        assert_eq!(port_of("0.0.0.0:9001"), "9001");
    }

    #[test]
    fn control_socket_goes_beside_the_http_socket() {
        assert_eq!(
            control_socket_beside("/var/run/supervisor.sock"),
            "/var/run/supd.sock"
        );
        assert_eq!(control_socket_beside("/x.sock"), "/supd.sock");
        assert_eq!(control_socket_beside("x.sock"), "supd.sock");
        assert_eq!(
            control_socket_beside("/run/supd.sock"),
            "/run/supd-control.sock",
            "never the HTTP socket itself"
        );
    }

    #[test]
    fn shared_credentials_move_up() {
        let entry = |address: &str, user: Option<&str>| ListenOut {
            address: address.to_string(),
            username: user.map(str::to_string),
            password: user.map(|u| format!("{u}-pw")),
            ..ListenOut::default()
        };
        let h = http(vec![
            entry("unix:/s", Some("u")),
            entry("127.0.0.1:1", Some("u")),
        ]);
        assert_eq!(
            (h.username.as_deref(), h.password.as_deref()),
            (Some("u"), Some("u-pw"))
        );
        assert!(h.listen.iter().all(|l| l.username.is_none()));
        let h = http(vec![
            entry("unix:/s", Some("a")),
            entry("127.0.0.1:1", Some("b")),
        ]);
        assert_eq!(h.username, None);
        assert_eq!(h.listen[1].username.as_deref(), Some("b"));
        let h = http(vec![
            entry("unix:/s", None),
            entry("127.0.0.1:1", Some("b")),
        ]);
        assert_eq!(h.username, None);
        assert_eq!(h.listen[0].username, None);
    }
}
