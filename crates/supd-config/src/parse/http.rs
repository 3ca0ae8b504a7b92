//! `[supd.http]`: the addresses supd serves HTTP on and the credentials they ask for.
//!
//! An address is `"unix:PATH"` or `"HOST:PORT"` (supervisord's `*:9001` and `:9001` mean
//! every interface), or a table with `address` and that address's own `mode`, `owner`,
//! `username` and `password`. A TCP address other machines can reach needs a password:
//! supervisord's interface starts and stops programs, so an open one is a remote shell.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use super::program::parse_user;
use super::walker::{Field, Section, Walker, resolve};
use crate::spec::{Credentials, HttpSpec, ListenAddress, ListenSpec, Password};
use toml::de::DeValue;

/// The keys of `[supd.http]`.
pub const HTTP_KEYS: &[&str] = &["listen", "username", "password"];
/// The keys of a table in `[supd.http] listen`.
pub const LISTEN_KEYS: &[&str] = &["address", "mode", "owner", "username", "password"];

/// supervisord's default `chmod` of its unix socket.
const DEFAULT_UNIX_MODE: u32 = 0o700;

/// `[supd.http]`.
pub(super) fn http(w: &mut Walker, field: Field) -> Option<HttpSpec> {
    let sec = w.table(field, "a table like [supd.http]")?;
    w.check_keys(&sec, HTTP_KEYS, HTTP_HINTS);
    let shared = credentials(w, &sec);
    let Some(listen) = sec.get("listen") else {
        let message = "missing key \"listen\": the addresses to serve, like \
                       listen = [\"127.0.0.1:9001\"] or [\"unix:/run/supd/http.sock\"]";
        w.error(sec.at, &sec.path, message);
        return None;
    };
    let DeValue::Array(items) = listen.value.get_ref() else {
        w.bad(
            &listen,
            "expected an array of addresses, like [\"127.0.0.1:9001\"]",
        );
        return None;
    };
    if items.is_empty() {
        w.bad(&listen, "expected at least one address");
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let field = Field {
            key: format!("{}[{i}]", listen.key),
            value: item,
        };
        if let Some(spec) = listen_entry(w, field, shared.as_ref()) {
            out.push(spec);
        }
    }
    (out.len() == items.len()).then_some(HttpSpec { listen: out })
}

/// supervisord's names for these keys.
const HTTP_HINTS: &[(&str, &str)] = &[
    (
        "port",
        "supd's key is \"listen\" (a list: [\"127.0.0.1:9001\"])",
    ),
    (
        "file",
        "supd's key is \"listen\" (a list: [\"unix:/run/supd/http.sock\"])",
    ),
];

/// One element of `listen`: a string or a table.
fn listen_entry(w: &mut Walker, field: Field, shared: Option<&Credentials>) -> Option<ListenSpec> {
    let (address, mode, owner, auth) = match field.value.get_ref() {
        DeValue::String(_) => (address(w, &field)?, None, None, shared.cloned()),
        DeValue::Table(_) => {
            let sec = w.table(
                Field {
                    key: field.key.clone(),
                    value: field.value,
                },
                "an address or a table with \"address\"",
            )?;
            w.check_keys(&sec, LISTEN_KEYS, &[]);
            let Some(at) = sec.get("address") else {
                let message = "missing key \"address\" (\"unix:PATH\" or \"HOST:PORT\")";
                w.error(sec.at, &sec.path, message);
                return None;
            };
            let address = address(w, &at)?;
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
            let auth = credentials(w, &sec).or_else(|| shared.cloned());
            (address, mode, owner, auth)
        }
        _ => {
            w.bad(
                &field,
                "expected an address (\"unix:PATH\" or \"HOST:PORT\") or a table with \"address\"",
            );
            return None;
        }
    };
    if let ListenAddress::Tcp(addr) = &address
        && auth.is_none()
        && !addr.ip().is_loopback()
    {
        w.bad(
            &field,
            format!(
                "{addr} can be reached from other machines, and the HTTP interface starts and \
                 stops programs: set username and password, or listen on 127.0.0.1:{}",
                addr.port()
            ),
        );
        return None;
    }
    Some(ListenSpec {
        address,
        mode: mode.unwrap_or(DEFAULT_UNIX_MODE),
        owner,
        auth,
    })
}

/// `"unix:PATH"` (relative to the config file) or `"HOST:PORT"`.
fn address(w: &mut Walker, field: &Field) -> Option<ListenAddress> {
    let s = w.nonempty_string(field, "an address")?;
    if let Some(path) = s.strip_prefix("unix:") {
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            w.bad(field, "expected a socket path after \"unix:\"");
            return None;
        }
        return Some(ListenAddress::Unix(resolve(&w.base, path)));
    }
    match tcp_address(&s) {
        Ok(addr) => Some(ListenAddress::Tcp(addr)),
        Err(message) => {
            w.bad(field, message);
            None
        }
    }
}

/// `127.0.0.1:9001`, `[::1]:9001`, `localhost:9001`, and supervisord's `*:9001` / `:9001`
/// (every interface).
fn tcp_address(s: &str) -> Result<SocketAddr, String> {
    let expected =
        || format!("expected \"unix:PATH\" or \"HOST:PORT\" like \"127.0.0.1:9001\", found {s:?}");
    if s.contains("://") {
        return Err(format!("{} (without a scheme)", expected()));
    }
    let (host, port) = s.rsplit_once(':').ok_or_else(expected)?;
    let port: u16 = port.parse().map_err(|_| expected())?;
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
    // A host name: the address it has now (supervisord resolves it once, too).
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| format!("cannot resolve host {host:?} of {s:?}"))
}

/// `owner`: `"user"` or `"user:group"`.
fn owner(w: &mut Walker, field: &Field) -> Option<crate::spec::UserSpec> {
    let s = w.string(field)?;
    parse_user(&s).map_err(|message| w.bad(field, message)).ok()
}

/// `username` and `password` of `sec`: both or neither.
fn credentials(w: &mut Walker, sec: &Section) -> Option<Credentials> {
    let username = sec.get("username");
    let password = sec.get("password");
    match (username, password) {
        (None, None) => None,
        (Some(u), None) => {
            w.bad(&u, "a username needs a password (set both, or neither)");
            None
        }
        (None, Some(p)) => {
            w.bad(&p, "a password needs a username (set both, or neither)");
            None
        }
        (Some(u), Some(p)) => {
            let username = w.nonempty_string(&u, "a user name")?;
            let raw = w.nonempty_string(&p, "a password")?;
            let password = match raw.strip_prefix("{SHA}") {
                Some(hex) => match sha1_hex(hex) {
                    Some(digest) => Password::Sha1(digest),
                    None => {
                        w.bad(
                            &p,
                            "expected 40 hexadecimal digits after {SHA} (the SHA-1 digest of \
                             the password, as `echo -n PASSWORD | sha1sum` prints)",
                        );
                        return None;
                    }
                },
                None => Password::Plain(raw),
            };
            Some(Credentials { username, password })
        }
    }
}

fn sha1_hex(hex: &str) -> Option<[u8; 20]> {
    if hex.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(tcp_address("http://127.0.0.1:9001").is_err());
        assert!(tcp_address("127.0.0.1:99999").is_err());
    }

    #[test]
    fn sha_digests() {
        let d = sha1_hex("40bd001563085fc35165329ea1ff5c5ecbdbbeef").unwrap();
        assert_eq!(d[0], 0x40);
        assert_eq!(d[19], 0xef);
        assert!(sha1_hex("40bd").is_none());
        assert!(sha1_hex(&"zz".repeat(20)).is_none());
    }
}
