//! `[supd.http]`: the addresses supd serves HTTP on and the credentials they ask for.
//!
//! An address is `"unix:PATH"` or `"HOST:PORT"` (supervisord's `*:9001` and `:9001` mean
//! every interface), or a table with `address` and that address's own `mode`, `owner`,
//! `username`, `password`, `token_file` and `readonly`. A TCP address other machines can
//! reach needs a password or a token: the interface starts and stops programs, so an open
//! one is a remote shell.

use super::listen::{self, Form};
use super::walker::{Field, Section, Walker};
use crate::spec::{Credentials, HttpSpec, ListenAddress, ListenSpec, Password};
use std::path::PathBuf;
use toml::de::DeValue;

/// The keys of `[supd.http]`.
pub const HTTP_KEYS: &[&str] = &["listen", "username", "password", "token_file", "readonly"];
/// The keys of a table in `[supd.http] listen`.
pub const LISTEN_KEYS: &[&str] = &[
    "address",
    "mode",
    "owner",
    "username",
    "password",
    "token_file",
    "readonly",
];

/// supervisord's default `chmod` of its unix socket.
const DEFAULT_UNIX_MODE: u32 = 0o700;

/// `[supd.http]`.
pub(super) fn http(w: &mut Walker, field: Field) -> Option<HttpSpec> {
    let sec = w.table(field, "a table like [supd.http]")?;
    w.check_keys(&sec, HTTP_KEYS, HTTP_HINTS);
    let shared = Shared {
        auth: credentials(w, &sec),
        token_file: sec.get("token_file").and_then(|f| w.path(&f)),
        readonly: sec.get("readonly").and_then(|f| w.bool(&f)),
    };
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
        if let Some(spec) = listen_entry(w, field, &shared) {
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

/// What `[supd.http]` sets for every address that does not set its own.
struct Shared {
    auth: Option<Credentials>,
    token_file: Option<PathBuf>,
    readonly: Option<bool>,
}

/// One element of `listen`: a string or a table.
fn listen_entry(w: &mut Walker, field: Field, shared: &Shared) -> Option<ListenSpec> {
    let mut spec = if listen::entry_is_table(w, &field, Form::Plain)? {
        let sec = w.table(field.reborrow(), "a table with \"address\"")?;
        w.check_keys(&sec, LISTEN_KEYS, &[]);
        let endpoint = listen::endpoint(w, &sec, Form::Plain)?;
        ListenSpec {
            address: endpoint.address,
            mode: endpoint.mode.unwrap_or(DEFAULT_UNIX_MODE),
            owner: endpoint.owner,
            auth: credentials(w, &sec),
            token_file: sec.get("token_file").and_then(|f| w.path(&f)),
            readonly: sec
                .get("readonly")
                .and_then(|f| w.bool(&f))
                .or(shared.readonly)
                .unwrap_or(false),
        }
    } else {
        ListenSpec {
            address: listen::address(w, &field, Form::Plain)?,
            mode: DEFAULT_UNIX_MODE,
            owner: None,
            auth: None,
            token_file: None,
            readonly: shared.readonly.unwrap_or(false),
        }
    };
    // An address with credentials of its own uses only those; the others inherit.
    if spec.auth.is_none() && spec.token_file.is_none() {
        spec.auth = shared.auth.clone();
        spec.token_file = shared.token_file.clone();
    }
    if let ListenAddress::Tcp(addr) = &spec.address
        && spec.auth.is_none()
        && spec.token_file.is_none()
        && !addr.ip().is_loopback()
    {
        w.bad(
            &field,
            format!(
                "{addr} can be reached from other machines, and the HTTP interface starts and \
                 stops programs: set username and password (or token_file), or listen on \
                 127.0.0.1:{}",
                addr.port()
            ),
        );
        return None;
    }
    Some(spec)
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
    fn sha_digests() {
        let d = sha1_hex("40bd001563085fc35165329ea1ff5c5ecbdbbeef").unwrap();
        assert_eq!(d[0], 0x40);
        assert_eq!(d[19], 0xef);
        assert!(sha1_hex("40bd").is_none());
        assert!(sha1_hex(&"zz".repeat(20)).is_none());
    }
}
