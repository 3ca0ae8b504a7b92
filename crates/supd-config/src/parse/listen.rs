//! Addresses supd listens on, and the mode and owner of a unix socket file: what
//! `[supd.http] listen` ([`super::http`]) and a program's `sockets` ([`super::sockets`])
//! have in common.
//!
//! The two keys spell addresses differently ([`Form`]): `[supd.http]` as supervisord does
//! (`"unix:PATH"`, `"HOST:PORT"`, `*:9001`), `sockets` as URLs (`"tcp://HOST:PORT"`,
//! `"unix:///run/web.sock"`). Both resolve to one [`ListenAddress`]; a relative unix path
//! resolves against the config file's directory, like every path of a config.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use super::program::parse_user;
use super::walker::{Field, Section, Walker, resolve};
use crate::spec::{ListenAddress, UserSpec};

/// How a key spells its addresses.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// `"unix:PATH"` or `"HOST:PORT"` (`[supd.http] listen`).
    Plain,
    /// `"tcp://HOST:PORT"` or `"unix:///PATH"` (a program's `sockets`).
    Url,
}

impl Form {
    /// The accepted forms, for messages.
    pub fn accepted(self) -> &'static str {
        match self {
            Form::Plain => "\"unix:PATH\" or \"HOST:PORT\"",
            Form::Url => "\"tcp://HOST:PORT\" or \"unix:///PATH\"",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Form::Plain => "\"127.0.0.1:9001\"",
            Form::Url => "\"tcp://127.0.0.1:8000\"",
        }
    }
}

/// A unix socket file's `mode` and `owner`, as a table entry sets them.
pub(super) struct Endpoint {
    pub address: ListenAddress,
    pub mode: Option<u32>,
    pub owner: Option<UserSpec>,
}

/// `address`, `mode` and `owner` of the table `sec` (an element of `listen` or `sockets`);
/// `mode` and `owner` only for a unix socket.
pub(super) fn endpoint(w: &mut Walker, sec: &Section, form: Form) -> Option<Endpoint> {
    let Some(at) = sec.get("address") else {
        let message = format!("missing key \"address\" ({})", form.accepted());
        w.error(sec.at, &sec.path, message);
        return None;
    };
    let address = address(w, &at, form)?;
    let mode = sec.get("mode").and_then(|f| w.mode(&f));
    let owner = match sec.get("owner") {
        Some(f) => Some(owner(w, &f)?),
        None => None,
    };
    if !matches!(address, ListenAddress::Unix(_))
        && let Some(f) = sec.get("mode").or_else(|| sec.get("owner"))
    {
        w.bad(&f, "only a unix socket has a mode and an owner");
        return None;
    }
    Some(Endpoint {
        address,
        mode,
        owner,
    })
}

/// What an element of an address list is, or `None` after reporting a value that is neither
/// a string nor a table.
pub(super) fn entry_is_table(w: &mut Walker, field: &Field, form: Form) -> Option<bool> {
    match field.value.get_ref() {
        toml::de::DeValue::String(_) => Some(false),
        toml::de::DeValue::Table(_) => Some(true),
        _ => {
            let message = format!(
                "expected an address ({}) or a table with \"address\"",
                form.accepted()
            );
            w.bad(field, message);
            None
        }
    }
}

/// One address in `form`.
pub(super) fn address(w: &mut Walker, field: &Field, form: Form) -> Option<ListenAddress> {
    let s = w.nonempty_string(field, "an address")?;
    match parse_address(&s, form, &w.base) {
        Ok(address) => Some(address),
        Err(message) => {
            w.bad(field, message);
            None
        }
    }
}

fn parse_address(s: &str, form: Form, base: &std::path::Path) -> Result<ListenAddress, String> {
    let expected = || {
        format!(
            "expected {} like {}, found {s:?}",
            form.accepted(),
            form.example()
        )
    };
    if let Some(path) = s.strip_prefix("unix:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err("expected a socket path after \"unix:\"".to_string());
        }
        return Ok(ListenAddress::Unix(resolve(base, path)));
    }
    let host_port = match form {
        Form::Plain if s.contains("://") => {
            return Err(format!("{} (without a scheme)", expected()));
        }
        Form::Plain => s,
        Form::Url => s.strip_prefix("tcp://").ok_or_else(expected)?,
    };
    tcp_address(host_port)
        .map(ListenAddress::Tcp)
        .map_err(|e| match e {
            HostPortError::Malformed => expected(),
            HostPortError::Unresolved(host) => {
                format!("cannot resolve host {host:?} of {s:?}")
            }
        })
}

/// Why `HOST:PORT` is not an address.
#[derive(Debug, PartialEq, Eq)]
enum HostPortError {
    Malformed,
    Unresolved(String),
}

/// `127.0.0.1:9001`, `[::1]:9001`, `localhost:9001`, and supervisord's `*:9001` / `:9001`
/// (every interface).
fn tcp_address(s: &str) -> Result<SocketAddr, HostPortError> {
    let (host, port) = s.rsplit_once(':').ok_or(HostPortError::Malformed)?;
    let port: u16 = port.parse().map_err(|_| HostPortError::Malformed)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host == "*" {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if host == "localhost" {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if host.contains(['/', ' ']) {
        return Err(HostPortError::Malformed);
    }
    // A host name: the address it has now (supervisord resolves it once, too).
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| HostPortError::Unresolved(host.to_string()))
}

/// `owner`: `"user"` or `"user:group"`.
fn owner(w: &mut Walker, field: &Field) -> Option<UserSpec> {
    let s = w.string(field)?;
    parse_user(&s).map_err(|message| w.bad(field, message)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    #[test]
    fn tcp_addresses_as_supervisord_writes_them() {
        let any = |port| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
        assert_eq!(tcp_address("*:9001"), Ok(any(9001)));
        assert_eq!(tcp_address(":9001"), Ok(any(9001)));
        assert_eq!(
            tcp_address("127.0.0.1:9001"),
            Ok("127.0.0.1:9001".parse().unwrap())
        );
        assert_eq!(tcp_address("[::1]:9001"), Ok("[::1]:9001".parse().unwrap()));
        assert_eq!(
            tcp_address("localhost:1"),
            Ok("127.0.0.1:1".parse().unwrap())
        );
        assert!(tcp_address("9001").is_err());
        assert!(tcp_address("127.0.0.1:99999").is_err());
    }

    #[test]
    fn each_form_has_its_own_spelling() {
        let base = Path::new("/etc/supd");
        let plain = |s| parse_address(s, Form::Plain, base);
        let url = |s| parse_address(s, Form::Url, base);
        let tcp = |s: &str| Ok(ListenAddress::Tcp(s.parse().unwrap()));
        let unix = |p: &str| Ok(ListenAddress::Unix(PathBuf::from(p)));
        assert_eq!(plain("127.0.0.1:9001"), tcp("127.0.0.1:9001"));
        assert_eq!(plain("unix:/run/a.sock"), unix("/run/a.sock"));
        assert!(plain("http://127.0.0.1:9001").is_err());
        assert!(plain("tcp://127.0.0.1:9001").is_err());
        assert_eq!(url("tcp://127.0.0.1:8000"), tcp("127.0.0.1:8000"));
        assert_eq!(url("tcp://*:80"), tcp("0.0.0.0:80"));
        assert_eq!(url("tcp://[::]:80"), tcp("[::]:80"));
        assert_eq!(url("unix:///run/web.sock"), unix("/run/web.sock"));
        assert_eq!(url("unix://web.sock"), unix("/etc/supd/web.sock"));
        assert_eq!(
            url("127.0.0.1:8000"),
            Err("expected \"tcp://HOST:PORT\" or \"unix:///PATH\" like \
                 \"tcp://127.0.0.1:8000\", found \"127.0.0.1:8000\""
                .to_string())
        );
        assert!(url("udp://127.0.0.1:53").is_err());
        assert!(url("tcp://127.0.0.1").is_err());
        assert!(url("unix://").is_err());
    }
}
