//! The gate every HTTP request passes before its route answers: who may ask (HTTP Basic
//! `username`/`password`, or a bearer token from `token_file`), and whether it may change
//! anything (`readonly`, and no writes sent by a page of another site).
//!
//! With credentials set, every route needs them — reads too: logs and status say a lot
//! about a machine. A write (`Route::writes`) is refused on a `readonly` address, and
//! refused when the browser says another site's page sent it (`Origin` not this address,
//! or `Sec-Fetch-Site: cross-site`): a page on the internet could otherwise POST to
//! `127.0.0.1:9001` from a developer's browser.

use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use supd_config::{Credentials, ListenSpec, Password};

use super::{Body, percent_decode, text};
use crate::control::BindError;

/// What one address of `[supd.http]` asks of every request.
pub struct Gate {
    basic: Option<Credentials>,
    /// The contents of `token_file`, trimmed.
    token: Option<String>,
    pub readonly: bool,
}

/// Why the gate turned a request away.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Credentials are set and the request has none that match.
    Unauthorized,
    /// A write (named) on a `readonly` address.
    ReadOnly(String),
    /// A write sent by a page of another site: its origin.
    CrossSite(String),
}

impl Gate {
    /// The gate of `listen`; its `token_file` is read now (at start), so a missing or
    /// empty one stops supd with one sentence.
    pub fn of(listen: &ListenSpec) -> Result<Gate, BindError> {
        let token = match &listen.token_file {
            None => None,
            Some(path) => {
                let cannot = |why: &dyn std::fmt::Display| {
                    BindError(format!(
                        "cannot use [supd.http] token_file {}: {why}",
                        path.display()
                    ))
                };
                let text =
                    std::fs::read_to_string(path).map_err(|e| cannot(&supd_sys::describe(&e)))?;
                let token = text.trim();
                if token.is_empty() {
                    return Err(cannot(&"the file is empty; put the token in it"));
                }
                Some(token.to_string())
            }
        };
        Ok(Gate {
            basic: listen.auth.clone(),
            token,
            readonly: listen.readonly,
        })
    }

    /// Lets `req` through, or says why not. `writes`: what it asks may change something.
    pub fn admit<B>(&self, req: &Request<B>, writes: bool) -> Result<(), Refusal> {
        let headers = req.headers();
        if self.basic.is_some() || self.token.is_some() {
            let authorization = headers.get(header::AUTHORIZATION);
            let basic = self
                .basic
                .as_ref()
                .is_some_and(|c| basic_matches(authorization, c));
            let token = self.token.as_deref().is_some_and(|t| {
                let matches = |given: &str| same(given.as_bytes(), t.as_bytes());
                bearer(authorization).is_some_and(matches)
                    || query_token(req.uri().query()).is_some_and(|q| matches(&q))
            });
            if !(basic || token) {
                return Err(Refusal::Unauthorized);
            }
        }
        if !writes {
            return Ok(());
        }
        if let Some(origin) = cross_site(headers) {
            return Err(Refusal::CrossSite(origin));
        }
        if self.readonly {
            return Err(Refusal::ReadOnly(format!(
                "{} {}",
                req.method(),
                req.uri().path()
            )));
        }
        Ok(())
    }

    /// The answer to a refused request.
    pub fn refuse(&self, refusal: &Refusal) -> Response<Body> {
        match refusal {
            Refusal::Unauthorized => {
                let mut res = text(StatusCode::UNAUTHORIZED, "401 Unauthorized\n");
                // Basic when it is set: a browser then asks for the user name and password.
                let challenge = if self.basic.is_some() {
                    "Basic realm=\"default\""
                } else {
                    "Bearer realm=\"supd\""
                };
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
                res
            }
            Refusal::ReadOnly(what) => text(
                StatusCode::FORBIDDEN,
                &format!(
                    "403 Forbidden: {what} would change something, and this address is \
                     readonly ([supd.http] readonly = true)\n"
                ),
            ),
            Refusal::CrossSite(origin) => text(
                StatusCode::FORBIDDEN,
                &format!(
                    "403 Forbidden: a page of another site ({origin}) may not change anything \
                     here\n"
                ),
            ),
        }
    }
}

/// The origin of a request a page of another site sent, if it is one: `Sec-Fetch-Site:
/// cross-site`, or an `Origin` whose host and port are not the request's `Host` (browsers
/// send `Origin` with every POST; tools such as curl and supervisorctl send none).
fn cross_site(headers: &hyper::HeaderMap) -> Option<String> {
    let value = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = value(header::ORIGIN);
    if value(header::HeaderName::from_static("sec-fetch-site")) == Some("cross-site") {
        return Some(origin.unwrap_or("another site").to_string());
    }
    let origin = origin?;
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    match (authority, value(header::HOST)) {
        (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host) => None,
        _ => Some(origin.to_string()),
    }
}

/// The token of an `Authorization: Bearer TOKEN` header.
fn bearer(header: Option<&HeaderValue>) -> Option<&str> {
    let (scheme, token) = header?.to_str().ok()?.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `token=...` of a query string (what an `EventSource` URL or a link can carry).
fn query_token(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .map(percent_decode)
}

/// Whether the `Authorization` header carries `credentials` (HTTP Basic).
fn basic_matches(header: Option<&HeaderValue>, credentials: &Credentials) -> bool {
    use base64::Engine as _;
    let Some(encoded) = header
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Some((user, pass)) = std::str::from_utf8(&decoded)
        .ok()
        .and_then(|s| s.split_once(':'))
    else {
        return false;
    };
    let password_ok = match &credentials.password {
        Password::Plain(p) => same(p.as_bytes(), pass.as_bytes()),
        Password::Sha1(digest) => {
            use sha1::Digest as _;
            same(&sha1::Sha1::digest(pass.as_bytes()), digest)
        }
    };
    same(user.as_bytes(), credentials.username.as_bytes()) & password_ok
}

/// Equality in a time that does not depend on where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use supd_config::ListenAddress;

    fn header(s: &str) -> HeaderValue {
        use base64::Engine as _;
        let v = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        );
        HeaderValue::from_str(&v).unwrap()
    }

    fn gate(basic: bool, token: bool, readonly: bool) -> Gate {
        Gate {
            basic: basic.then(|| Credentials {
                username: "user".into(),
                password: Password::Plain("123".into()),
            }),
            token: token.then(|| "s3cret".to_string()),
            readonly,
        }
    }

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut req = Request::post(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.body(()).unwrap()
    }

    #[test]
    fn basic_credentials() {
        let plain = Credentials {
            username: "user".into(),
            password: Password::Plain("123".into()),
        };
        assert!(basic_matches(Some(&header("user:123")), &plain));
        assert!(!basic_matches(Some(&header("user:124")), &plain));
        assert!(!basic_matches(Some(&header("usr:123")), &plain));
        assert!(!basic_matches(None, &plain));
        assert!(!basic_matches(
            Some(&HeaderValue::from_static("Basic !!")),
            &plain
        ));
        // echo -n 123 | sha1sum
        let mut digest = [0u8; 20];
        let hex = "40bd001563085fc35165329ea1ff5c5ecbdbbeef";
        for (i, b) in digest.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        let sha = Credentials {
            username: "user".into(),
            password: Password::Sha1(digest),
        };
        assert!(basic_matches(Some(&header("user:123")), &sha));
        assert!(!basic_matches(Some(&header("user:1234")), &sha));
    }

    #[test]
    fn a_token_in_the_header_or_the_query() {
        let g = gate(false, true, false);
        let ok = |uri: &str, h: &[(&str, &str)]| g.admit(&request(uri, h), true);
        assert_eq!(ok("/api/status", &[]), Err(Refusal::Unauthorized));
        assert_eq!(ok("/x", &[("authorization", "Bearer s3cret")]), Ok(()));
        assert_eq!(ok("/x", &[("authorization", "bearer  s3cret ")]), Ok(()));
        assert_eq!(
            ok("/x", &[("authorization", "Bearer s3cre")]),
            Err(Refusal::Unauthorized)
        );
        assert_eq!(ok("/x?a=1&token=s3cret", &[]), Ok(()));
        assert_eq!(ok("/x?token=s3cre", &[]), Err(Refusal::Unauthorized));
        // Either credential opens a gate that has both.
        let both = gate(true, true, false);
        assert_eq!(both.admit(&request("/x?token=s3cret", &[]), true), Ok(()));
        let basic = header("user:123");
        let req = request("/x", &[("authorization", basic.to_str().unwrap())]);
        assert_eq!(both.admit(&req, true), Ok(()));
    }

    #[test]
    fn writes_from_another_site_and_on_readonly_addresses() {
        let open = gate(false, false, false);
        let same_site = [
            ("host", "127.0.0.1:9001"),
            ("origin", "http://127.0.0.1:9001"),
        ];
        assert_eq!(open.admit(&request("/x", &same_site), true), Ok(()));
        assert_eq!(
            open.admit(&request("/x", &[]), true),
            Ok(()),
            "curl sends no Origin"
        );
        let evil = [
            ("host", "127.0.0.1:9001"),
            ("origin", "https://evil.example"),
        ];
        assert_eq!(
            open.admit(&request("/x", &evil), true),
            Err(Refusal::CrossSite("https://evil.example".into()))
        );
        assert_eq!(
            open.admit(&request("/x", &evil), false),
            Ok(()),
            "reads are not writes"
        );
        let fetch = [("sec-fetch-site", "cross-site")];
        assert!(matches!(
            open.admit(&request("/x", &fetch), true),
            Err(Refusal::CrossSite(_))
        ));
        let null = [("host", "127.0.0.1:9001"), ("origin", "null")];
        assert!(open.admit(&request("/x", &null), true).is_err());

        let readonly = gate(false, false, true);
        assert_eq!(readonly.admit(&request("/api/status", &[]), false), Ok(()));
        assert_eq!(
            readonly.admit(&request("/api/programs/web/stop", &[]), true),
            Err(Refusal::ReadOnly("POST /api/programs/web/stop".into()))
        );
    }

    #[test]
    fn a_token_file_is_read_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let spec = |file: &str| ListenSpec {
            address: ListenAddress::Tcp("127.0.0.1:9001".parse().unwrap()),
            mode: 0o700,
            owner: None,
            auth: None,
            token_file: Some(dir.path().join(file)),
            readonly: false,
        };
        std::fs::write(dir.path().join("token"), "s3cret\n").unwrap();
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        assert_eq!(
            Gate::of(&spec("token")).unwrap().token.as_deref(),
            Some("s3cret")
        );
        let err = Gate::of(&spec("empty")).err().unwrap().0;
        assert!(err.contains("empty") && err.contains("token_file"), "{err}");
        let err = Gate::of(&spec("missing")).err().unwrap().0;
        assert!(err.ends_with("missing: No such file or directory"), "{err}");
    }
}
