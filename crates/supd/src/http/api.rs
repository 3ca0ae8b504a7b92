//! The JSON API at `/api/...`: supd's control protocol over HTTP, for the dashboard, scripts
//! and `curl`.
//!
//! This module owns the API's paths and query parameters, its JSON answers and its errors
//! (`{"error":"not_found","message":"..."}` with the HTTP status that fits). It decides
//! nothing about programs: status and every action are the [`Request`]s supctl sends, asked
//! through [`Served::ask`]; names resolve as on supctl's command line (groups, globs,
//! instances); logs and state changes stream from the log plane and the events bulletin as
//! Server-Sent Events ([`super::sse`]).
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/api/status[?names=a,b]` | `{"programs":[ProgramStatus...]}`, with CPU and memory |
//! | GET | `/api/programs/NAME` | one `ProgramStatus` |
//! | POST | `/api/programs/NAME/start\|stop\|restart\|upgrade` | `{"outcomes":[ActionOutcome...]}` |
//! | POST | `/api/programs/NAME/signal?signal=HUP` | `{"outcomes":[...]}` |
//! | GET | `/api/programs/NAME/logs[?stream=stdout\|stderr&lines=N]` | `{"lines":[LogChunk...]}` |
//! | GET | `/api/programs/NAME/logs?follow=1` | SSE, `event: log` |
//! | GET | `/api/events[?names=a,b]` | SSE, `event: state` |

use std::rc::Rc;
use std::sync::Arc;

use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, StatusCode};
use serde_json::json;
use supd_proto::{ErrorKind, LogChunk, ProgramStatus, Reply, Request, ServerMessage, Stream};
use tokio::sync::broadcast;

use super::{Body, percent_decode, sse};
use crate::control::Served;
use crate::logplane::ring::Record;

/// What every path under `/api/` starts with.
pub(super) const PREFIX: &str = "/api/";

/// Recent lines a log request sends when it does not say `lines`.
const DEFAULT_LINES: usize = 100;

/// The most recent lines one request may ask for.
const MAX_LINES: usize = 10_000;

/// The query parameter the security gate reads (`?token=`, for `EventSource`); every
/// endpoint accepts it.
const TOKEN_PARAMETER: &str = "token";

/// One endpoint of the API, with the program it names.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Endpoint {
    /// `GET /api/status`.
    Status,
    /// `GET /api/programs/NAME`.
    Program(String),
    /// `POST /api/programs/NAME/ACTION`.
    Act { name: String, action: Action },
    /// `POST /api/programs/NAME/signal`.
    Signal(String),
    /// `GET /api/programs/NAME/logs`.
    Logs(String),
    /// `GET /api/events`.
    Events,
    /// A path of the API used with another method; the one it takes.
    WrongMethod(&'static str),
    /// A path under `/api/` that is none of the above.
    NotFound,
}

/// What `POST /api/programs/NAME/ACTION` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Start,
    Stop,
    Restart,
    Upgrade,
}

impl Action {
    fn from_word(word: &str) -> Option<Action> {
        Some(match word {
            "start" => Action::Start,
            "stop" => Action::Stop,
            "restart" => Action::Restart,
            "upgrade" => Action::Upgrade,
            _ => return None,
        })
    }

    fn request(self, names: Vec<String>) -> Request {
        match self {
            Action::Start => Request::Start { names },
            Action::Stop => Request::Stop { names },
            Action::Restart => Request::Restart { names },
            Action::Upgrade => Request::Upgrade { names },
        }
    }
}

impl Endpoint {
    /// Whether answering may change something: starting, stopping, signalling.
    pub(super) fn writes(&self) -> bool {
        match self {
            Endpoint::Act { .. } | Endpoint::Signal(_) => true,
            Endpoint::Status
            | Endpoint::Program(_)
            | Endpoint::Logs(_)
            | Endpoint::Events
            | Endpoint::WrongMethod(_)
            | Endpoint::NotFound => false,
        }
    }
}

/// The endpoint of `path` (without its query), or `None` outside `/api/`.
pub(super) fn route(method: &Method, path: &str) -> Option<Endpoint> {
    let rest = path.strip_prefix(PREFIX)?;
    let get = |endpoint| {
        if method == Method::GET || method == Method::HEAD {
            endpoint
        } else {
            Endpoint::WrongMethod("GET")
        }
    };
    let post = |endpoint| {
        if method == Method::POST {
            endpoint
        } else {
            Endpoint::WrongMethod("POST")
        }
    };
    Some(match rest {
        "status" => get(Endpoint::Status),
        "events" => get(Endpoint::Events),
        _ => {
            let Some(program) = rest.strip_prefix("programs/") else {
                return Some(Endpoint::NotFound);
            };
            // Split before decoding: a `%2F` belongs to the name.
            let (name, what) = match program.split_once('/') {
                Some((name, what)) => (percent_decode(name), Some(what)),
                None => (percent_decode(program), None),
            };
            if name.is_empty() {
                return Some(Endpoint::NotFound);
            }
            match what {
                None | Some("") => get(Endpoint::Program(name)),
                Some("logs") => get(Endpoint::Logs(name)),
                Some("signal") => post(Endpoint::Signal(name)),
                Some(word) => match Action::from_word(word) {
                    Some(action) => post(Endpoint::Act { name, action }),
                    None => Endpoint::NotFound,
                },
            }
        }
    })
}

/// Answers `endpoint`; `query` is the request's query string, if any.
pub(super) async fn handle(
    endpoint: Endpoint,
    query: Option<&str>,
    served: &Rc<Served>,
) -> Response<Body> {
    let answer = async {
        let query = Query::parse(query.unwrap_or(""));
        match endpoint {
            Endpoint::Status => {
                query.only(&["names"])?;
                let programs = status(served, query.names()).await?;
                Ok(json_response(
                    StatusCode::OK,
                    &json!({ "programs": programs }),
                ))
            }
            Endpoint::Program(name) => {
                query.only(&[])?;
                let program = one_program(served, name).await?;
                Ok(json_response(StatusCode::OK, &program))
            }
            Endpoint::Act { name, action } => {
                query.only(&[])?;
                act(served, action.request(vec![name])).await
            }
            Endpoint::Signal(name) => {
                query.only(&["signal"])?;
                let signal = query
                    .one("signal")
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "query parameter 'signal' is missing (e.g. ?signal=HUP)",
                        )
                    })?;
                // The owner would refuse it too; this says which parameter is wrong.
                supd_config::signal::parse(signal).map_err(|e| {
                    ApiError::bad_request(&format!("query parameter 'signal': {e}"))
                })?;
                act(
                    served,
                    Request::Signal {
                        signal: signal.to_string(),
                        names: vec![name],
                    },
                )
                .await
            }
            Endpoint::Logs(name) => {
                query.only(&["stream", "lines", "follow"])?;
                let wanted = LogQuery::from_query(&query)?;
                logs(served, &name, wanted)
            }
            Endpoint::Events => {
                query.only(&["names"])?;
                events(served, &query.names())
            }
            Endpoint::WrongMethod(allowed) => {
                let mut res = ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    format!("this path takes {allowed} only"),
                )
                .response();
                res.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allowed));
                Ok(res)
            }
            Endpoint::NotFound => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such API endpoint (see /api/status, /api/programs/NAME, /api/events)".into(),
            )),
        }
    };
    answer.await.unwrap_or_else(|e: ApiError| e.response())
}

/// The status of the programs `names` selects (every program when empty), with their CPU
/// and memory.
async fn status(served: &Served, names: Vec<String>) -> Result<Vec<ProgramStatus>, ApiError> {
    let request = Request::Status {
        names,
        resources: true,
    };
    match ask(served, request).await? {
        Reply::Status { programs } => Ok(programs),
        _ => Err(ApiError::unexpected()),
    }
}

/// The status of the one program `name` stands for.
async fn one_program(served: &Served, name: String) -> Result<ProgramStatus, ApiError> {
    let mut programs = status(served, vec![name.clone()]).await?;
    match programs.len() {
        1 => Ok(programs.remove(0)),
        n => Err(ApiError::bad_request(&format!(
            "'{name}' stands for {n} programs; ask /api/status?names={name} for several"
        ))),
    }
}

async fn act(served: &Served, request: Request) -> Result<Response<Body>, ApiError> {
    match ask(served, request).await? {
        Reply::Actions { outcomes } => Ok(json_response(
            StatusCode::OK,
            &json!({ "outcomes": outcomes }),
        )),
        _ => Err(ApiError::unexpected()),
    }
}

/// Asks the owner, turning its errors into HTTP ones.
async fn ask(served: &Served, request: Request) -> Result<Reply, ApiError> {
    // The id only pairs a reply with its request on a connection; each ask has its own.
    match served.ask(0, request).await {
        ServerMessage::Reply { reply, .. } => Ok(reply),
        ServerMessage::Error { error, .. } => {
            let exiting = *served.streams.watch().borrow();
            Err(ApiError::from_kind(error.kind, exiting, error.message))
        }
        _ => Err(ApiError::unexpected()),
    }
}

/// What `GET /api/programs/NAME/logs` asked for.
#[derive(Debug, PartialEq, Eq)]
struct LogQuery {
    /// Only this stream; both when `None`.
    stream: Option<Stream>,
    lines: usize,
    follow: bool,
}

impl LogQuery {
    fn from_query(query: &Query) -> Result<LogQuery, ApiError> {
        let stream = match query.one("stream") {
            None | Some("both") | Some("") => None,
            Some("stdout") => Some(Stream::Stdout),
            Some("stderr") => Some(Stream::Stderr),
            Some(other) => {
                return Err(ApiError::bad_request(&format!(
                    "query parameter 'stream' must be stdout, stderr or both, not '{other}'"
                )));
            }
        };
        let lines = match query.one("lines") {
            None => DEFAULT_LINES,
            Some(n) => match n.parse::<usize>() {
                Ok(n) if n <= MAX_LINES => n,
                _ => {
                    return Err(ApiError::bad_request(&format!(
                        "query parameter 'lines' must be a number from 0 to {MAX_LINES}, not '{n}'"
                    )));
                }
            },
        };
        let follow = match query.one("follow") {
            None | Some("0") | Some("false") | Some("no") => false,
            Some("") | Some("1") | Some("true") | Some("yes") => true,
            Some(other) => {
                return Err(ApiError::bad_request(&format!(
                    "query parameter 'follow' must be 1 or 0, not '{other}'"
                )));
            }
        };
        Ok(LogQuery {
            stream,
            lines,
            follow,
        })
    }
}

/// The recent lines of the programs `name` stands for, as JSON; or, following, those lines
/// and everything they write from now on, as SSE.
fn logs(served: &Rc<Served>, name: &str, wanted: LogQuery) -> Result<Response<Body>, ApiError> {
    let progs = served
        .names
        .resolve(&[name.to_string()], false)
        .map_err(|message| ApiError::from_kind(ErrorKind::UnknownProgram, false, message))?;
    let stream = wanted.stream;
    let selected = progs.clone();
    let keep = move |r: &Record| selected.contains(&r.prog) && stream.is_none_or(|s| r.stream == s);
    // Subscribe before reading the backlog, so nothing falls between the two.
    let live = wanted.follow.then(|| served.plane.follow());
    let backlog = served.plane.tail(&progs, wanted.lines, &keep);
    let last = served.plane.last_seq();
    let lines = backlog
        .iter()
        .flat_map(|(record, text)| log_lines(served, record, text));
    let Some(mut live) = live else {
        let lines: Vec<LogChunk> = lines.collect();
        return Ok(json_response(StatusCode::OK, &json!({ "lines": lines })));
    };
    let head = log_events(lines);
    let served_here = served.clone();
    let next = async move || loop {
        match live.recv().await {
            Ok(record) if record.seq > last && keep(&record) => {
                let text = record.text();
                return Some(Bytes::from(log_events(log_lines(
                    &served_here,
                    &record,
                    &text,
                ))));
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(n)) => return Some(sse::skipped(n)),
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    };
    Ok(sse::stream(head, next, served.streams.watch()))
}

/// Each line of `text` (what `record` holds of its program's output) as a [`LogChunk`].
fn log_lines<'t>(
    served: &Served,
    record: &Record,
    text: &'t [u8],
) -> impl Iterator<Item = LogChunk> + 't {
    let program = served.names.name(record.prog);
    let stream = record.stream;
    let ts_ms = record
        .at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    text.split_inclusive(|&b| b == b'\n')
        .map(move |line| LogChunk {
            program: program.clone(),
            stream,
            ts_ms,
            text: String::from_utf8_lossy(line).into_owned(),
        })
}

/// `event: log` for each line.
fn log_events(lines: impl Iterator<Item = LogChunk>) -> Vec<u8> {
    lines.flat_map(|line| sse::event("log", &line)).collect()
}

/// The state changes of the programs `names` selects (of every program, also those a
/// reload adds, when empty), as SSE, from now on.
fn events(served: &Rc<Served>, names: &[String]) -> Result<Response<Body>, ApiError> {
    let wanted: Option<Vec<String>> = if names.is_empty() {
        None
    } else {
        let progs = served
            .names
            .resolve(names, false)
            .map_err(|message| ApiError::from_kind(ErrorKind::UnknownProgram, false, message))?;
        Some(progs.into_iter().map(|p| served.names.name(p)).collect())
    };
    let mut live = served.bulletin.subscribe();
    let next = async move || loop {
        match live.recv().await {
            Ok(event) if wanted.as_ref().is_none_or(|w| w.contains(&event.program)) => {
                let event: Arc<supd_proto::StateEvent> = event;
                return Some(sse::event("state", &*event));
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(n)) => return Some(sse::skipped(n)),
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    };
    // A first comment, so the client knows at once that the stream is open.
    let head = b": supd events\n\n".to_vec();
    Ok(sse::stream(head, next, served.streams.watch()))
}

/// The parameters of a query string (`a=1&b=x%20y`), decoded, in order.
#[derive(Debug, Default)]
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: &str) -> Query {
        let decode = |s: &str| percent_decode(&s.replace('+', " "));
        Query(
            query
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(pair), String::new()),
                })
                .collect(),
        )
    }

    /// The last value of `key`.
    fn one(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every name of `names=a,b` (also given more than once).
    fn names(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == "names")
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(String::from)
            .collect()
    }

    /// An error naming the first parameter that is not one of `known` (or the token).
    fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        match self
            .0
            .iter()
            .find(|(k, _)| k != TOKEN_PARAMETER && !known.contains(&k.as_str()))
        {
            None => Ok(()),
            Some((k, _)) if known.is_empty() => Err(ApiError::bad_request(&format!(
                "unknown query parameter '{k}' (this endpoint takes none)"
            ))),
            Some((k, _)) => Err(ApiError::bad_request(&format!(
                "unknown query parameter '{k}' (this endpoint takes {})",
                known.join(", ")
            ))),
        }
    }
}

/// An answer other than success: its HTTP status, a word for programs, a sentence for people.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: String) -> ApiError {
        ApiError {
            status,
            code,
            message,
        }
    }

    fn bad_request(message: &str) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message.to_string())
    }

    /// What an error of the control protocol is over HTTP (`exiting`: supd is on its way out).
    fn from_kind(kind: ErrorKind, exiting: bool, message: String) -> ApiError {
        let (status, code) = match kind {
            _ if exiting => (StatusCode::SERVICE_UNAVAILABLE, "exiting"),
            ErrorKind::UnknownProgram => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::BadRequest | ErrorKind::Protocol => (StatusCode::BAD_REQUEST, "bad_request"),
            ErrorKind::PermissionDenied => (StatusCode::FORBIDDEN, "forbidden"),
            ErrorKind::Refused | ErrorKind::InvalidConfig => (StatusCode::CONFLICT, "refused"),
        };
        ApiError::new(status, code, message)
    }

    /// The owner answered with something that does not fit the request (cannot happen).
    fn unexpected() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "supd gave an unexpected answer".into(),
        )
    }

    fn response(&self) -> Response<Body> {
        json_response(
            self.status,
            &json!({ "error": self.code, "message": self.message }),
        )
    }
}

fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    let mut text = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    text.push('\n');
    let mut res = Response::new(Body::Full(Some(Bytes::from(text))));
    *res.status_mut() = status;
    typed(res, "application/json", "no-store")
}

/// `res` with its `Content-Type` and `Cache-Control`.
pub(super) fn typed(
    mut res: Response<Body>,
    content_type: &'static str,
    cache_control: &'static str,
) -> Response<Body> {
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Option<Endpoint> {
        route(&Method::GET, path)
    }

    fn post(path: &str) -> Option<Endpoint> {
        route(&Method::POST, path)
    }

    #[test]
    fn paths() {
        let program = |n: &str| Some(Endpoint::Program(n.into()));
        let act = |n: &str, action| {
            Some(Endpoint::Act {
                name: n.into(),
                action,
            })
        };
        let cases = [
            (get("/"), None),
            (get("/apix"), None),
            (get("/api/status"), Some(Endpoint::Status)),
            (get("/api/events"), Some(Endpoint::Events)),
            (get("/api/nope"), Some(Endpoint::NotFound)),
            (get("/api/programs/"), Some(Endpoint::NotFound)),
            (get("/api/programs/web"), program("web")),
            (get("/api/programs/web/"), program("web")),
            (get("/api/programs/web%2A"), program("web*")),
            (
                get("/api/programs/worker%3A1/logs"),
                Some(Endpoint::Logs("worker:1".into())),
            ),
            (
                post("/api/programs/web/restart"),
                act("web", Action::Restart),
            ),
            (
                post("/api/programs/group:g/upgrade"),
                act("group:g", Action::Upgrade),
            ),
            (
                post("/api/programs/web/signal"),
                Some(Endpoint::Signal("web".into())),
            ),
            // A program may be called like an action.
            (
                get("/api/programs/logs/logs"),
                Some(Endpoint::Logs("logs".into())),
            ),
            (get("/api/programs/web/reboot"), Some(Endpoint::NotFound)),
        ];
        for (i, (got, want)) in cases.into_iter().enumerate() {
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn methods() {
        assert_eq!(
            get("/api/programs/web/start"),
            Some(Endpoint::WrongMethod("POST"))
        );
        assert_eq!(
            get("/api/programs/web/signal"),
            Some(Endpoint::WrongMethod("POST"))
        );
        assert_eq!(post("/api/status"), Some(Endpoint::WrongMethod("GET")));
        assert_eq!(
            route(&Method::DELETE, "/api/programs/web"),
            Some(Endpoint::WrongMethod("GET"))
        );
        assert_eq!(route(&Method::HEAD, "/api/status"), Some(Endpoint::Status));
    }

    #[test]
    fn only_actions_write() {
        let writes = |p: &str, m: Method| route(&m, p).unwrap().writes();
        for action in ["start", "stop", "restart", "upgrade", "signal"] {
            assert!(writes(&format!("/api/programs/web/{action}"), Method::POST));
            // Refused with 405, so it changes nothing.
            assert!(!writes(&format!("/api/programs/web/{action}"), Method::GET));
        }
        for read in [
            "/api/status",
            "/api/events",
            "/api/programs/web",
            "/api/programs/web/logs",
        ] {
            assert!(!writes(read, Method::GET));
        }
    }

    #[test]
    fn query_strings() {
        let q = Query::parse("names=web,worker*&names=group%3Ag&token=x&follow");
        assert_eq!(q.names(), ["web", "worker*", "group:g"]);
        assert_eq!(q.one("token"), Some("x"));
        assert_eq!(q.one("follow"), Some(""));
        assert_eq!(q.one("lines"), None);
        assert!(q.only(&["names", "follow"]).is_ok());
        let unknown = q.only(&["names"]).unwrap_err();
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            unknown.message,
            "unknown query parameter 'follow' (this endpoint takes names)"
        );
        assert_eq!(Query::parse("").0, Vec::new());
        assert_eq!(
            Query::parse("signal=SIG+HUP").one("signal"),
            Some("SIG HUP")
        );
        assert!(Query::parse("names=").names().is_empty());
    }

    #[test]
    fn log_queries() {
        let parse = |q: &str| LogQuery::from_query(&Query::parse(q));
        assert_eq!(
            parse("").unwrap(),
            LogQuery {
                stream: None,
                lines: DEFAULT_LINES,
                follow: false
            }
        );
        assert_eq!(
            parse("stream=stderr&lines=5&follow=1").unwrap(),
            LogQuery {
                stream: Some(Stream::Stderr),
                lines: 5,
                follow: true
            }
        );
        assert_eq!(parse("stream=both").unwrap().stream, None);
        let message = |q: &str| parse(q).unwrap_err().message;
        assert_eq!(
            message("stream=stdin"),
            "query parameter 'stream' must be stdout, stderr or both, not 'stdin'"
        );
        assert!(message("lines=-1").starts_with("query parameter 'lines' must be a number"));
        assert!(message("lines=99999999").starts_with("query parameter 'lines'"));
        assert_eq!(
            message("follow=maybe"),
            "query parameter 'follow' must be 1 or 0, not 'maybe'"
        );
    }

    #[test]
    fn errors_map_to_statuses() {
        let status = |kind, exiting| ApiError::from_kind(kind, exiting, String::new()).status;
        assert_eq!(
            status(ErrorKind::UnknownProgram, false),
            StatusCode::NOT_FOUND
        );
        assert_eq!(status(ErrorKind::Refused, false), StatusCode::CONFLICT);
        assert_eq!(
            status(ErrorKind::Refused, true),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status(ErrorKind::BadRequest, false),
            StatusCode::BAD_REQUEST
        );
    }
}
