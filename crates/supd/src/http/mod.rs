//! The HTTP interface of `[supd.http]`: its listeners, its credentials and its one router.
//!
//! This module owns the sockets (unix socket files with their mode and owner, TCP
//! addresses), HTTP itself (hyper's HTTP/1.1 server connections on supd's current-thread
//! runtime), the gate every request passes ([`Gate`]: HTTP Basic or a bearer token,
//! `readonly`, the cross-site check), and [`route`]: the single table of what is served
//! where. What a route answers is its module's: supervisord's XML-RPC at `POST /RPC2`
//! ([`rpc`], with the codec in [`xmlrpc`]) and its log tails at `GET /logtail/NAME[/stderr]`
//! and `GET /mainlogtail` (here). Every answer about programs comes from the control plane ([`Served`]), never
//! from a second copy of their state.
//!
//! A client costs a bounded amount: headers within [`HEADER_TIMEOUT`], a body of at most
//! [`MAX_BODY`] bytes; a log tail follows until the client hangs up or supd exits.

mod api;
mod dashboard;
pub(crate) mod gate;
mod metrics;
pub(crate) mod rpc;
mod sse;
mod xmlrpc;

use std::convert::Infallible;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use supd_config::{HttpSpec, ListenAddress};
use supd_proto::Stream;
use tokio::sync::{broadcast, mpsc};

use crate::control::{BindError, Served};
use gate::Gate;
use rpc::Rpc;

/// A client must send its request headers within this time.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request body accepted (an XML-RPC call; `sendProcessStdin` data included).
const MAX_BODY: usize = 4 << 20;
/// Connections served at once, over every address; more are closed as they come, with a
/// warning (at most one a second).
const MAX_CONNECTIONS: usize = 512;
/// How much of a log a tail starts with, as supervisord's (`tail_f_producer`, 1024 bytes).
const TAIL_HEAD: usize = 1024;

/// The bound listeners, ready to serve; socket files are removed when dropped.
pub struct Listeners {
    bound: Vec<(Listener, Rc<Gate>)>,
    files: Vec<PathBuf>,
}

impl Drop for Listeners {
    fn drop(&mut self) {
        for path in &self.files {
            let _ = std::fs::remove_file(path);
        }
    }
}

enum Listener {
    Unix(tokio::net::UnixListener),
    Tcp(tokio::net::TcpListener),
}

/// Binds every address of `spec`, before any program starts (a port taken, a directory
/// missing or an unknown owner is one sentence, and supd does not start).
pub fn bind(spec: &HttpSpec) -> Result<Listeners, BindError> {
    let mut listeners = Listeners {
        bound: Vec::new(),
        files: Vec::new(),
    };
    for listen in &spec.listen {
        let gate = Rc::new(Gate::of(listen)?);
        let listener = match &listen.address {
            ListenAddress::Unix(path) => {
                let what = "HTTP socket";
                let std = crate::control::create_socket_file_for(
                    path,
                    what,
                    "[supd.http] listen",
                    listen.mode,
                    listen.owner.as_ref(),
                )?;
                listeners.files.push(path.clone());
                std.set_nonblocking(true)
                    .and_then(|()| tokio::net::UnixListener::from_std(std))
                    .map(Listener::Unix)
                    .map_err(|e| {
                        BindError(format!("cannot listen on {what} {}: {e}", path.display()))
                    })?
            }
            ListenAddress::Tcp(addr) => {
                let std = std::net::TcpListener::bind(addr).map_err(|e| {
                    let why = crate::control::bind_reason(&e);
                    BindError(format!(
                        "cannot listen on {addr} ([supd.http] listen): {why}"
                    ))
                })?;
                std.set_nonblocking(true)
                    .and_then(|()| tokio::net::TcpListener::from_std(std))
                    .map(Listener::Tcp)
                    .map_err(|e| BindError(format!("cannot listen on {addr}: {e}")))?
            }
        };
        listeners.bound.push((listener, gate));
    }
    Ok(listeners)
}

/// Serves every listener until the returned tasks are dropped with supd.
pub async fn serve(listeners: Rc<Listeners>, served: Rc<Served>) {
    let rpc = Rpc::new(served);
    let open = Rc::new(std::cell::Cell::new(0usize));
    // Dropped with this task: every accept loop ends with it.
    let mut accepting = tokio::task::JoinSet::new();
    for i in 0..listeners.bound.len() {
        accepting.spawn_local(accept(listeners.clone(), i, rpc.clone(), open.clone()));
    }
    accepting.join_all().await;
}

async fn accept(
    listeners: Rc<Listeners>,
    index: usize,
    rpc: Rc<Rpc>,
    open: Rc<std::cell::Cell<usize>>,
) {
    let (listener, gate) = &listeners.bound[index];
    let mut warned: Option<std::time::Instant> = None;
    loop {
        let accepted = match listener {
            Listener::Unix(l) => l.accept().await.map(|(s, _)| Conn::Unix(s)),
            Listener::Tcp(l) => l.accept().await.map(|(s, _)| Conn::Tcp(s)),
        };
        let conn = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!("HTTP interface: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if open.get() >= MAX_CONNECTIONS {
            if warned.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                warned = Some(std::time::Instant::now());
                tracing::warn!(
                    "HTTP interface: {MAX_CONNECTIONS} connections are open; closing new ones"
                );
            }
            continue;
        }
        let (rpc, gate) = (rpc.clone(), gate.clone());
        let service = hyper::service::service_fn(move |req| {
            let (rpc, gate) = (rpc.clone(), gate.clone());
            async move { Ok::<_, Infallible>(handle(req, &rpc, &gate).await) }
        });
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT);
        open.set(open.get() + 1);
        let open = open.clone();
        tokio::task::spawn_local(async move {
            let _ = match conn {
                Conn::Unix(s) => http.serve_connection(TokioIo::new(s), service).await,
                Conn::Tcp(s) => http.serve_connection(TokioIo::new(s), service).await,
            };
            open.set(open.get() - 1);
        });
    }
}

enum Conn {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
}

/// What is served where: the one table of the HTTP interface.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// `POST /RPC2`: supervisord's XML-RPC.
    Rpc,
    /// `GET /logtail/NAME[/stdout|/stderr]`.
    Logtail {
        name: String,
        stream: Stream,
    },
    /// `GET /mainlogtail`: supd's own messages.
    MainLogtail,
    /// `GET /metrics`: Prometheus metrics.
    Metrics,
    /// `/api/...`: the JSON API.
    Api(api::Endpoint),
    /// `GET /`: the dashboard, and what its page loads.
    Dashboard(dashboard::Asset),
    /// A path that exists with another method.
    WrongMethod(&'static str),
    NotFound,
}

impl Route {
    /// Whether answering may change something (start, stop, signal, ...): such a route is
    /// refused by `readonly`, needs the credentials whenever any are set, and is refused to
    /// a cross-site request.
    fn writes(&self) -> bool {
        match self {
            // supervisord's API mixes reads and writes behind one path: decided per method
            // once the call is read (`rpc::reads`).
            Route::Rpc => false,
            Route::Logtail { .. } | Route::MainLogtail => false,
            Route::Metrics => false,
            Route::Api(endpoint) => endpoint.writes(),
            Route::Dashboard(_) => false,
            Route::WrongMethod(_) | Route::NotFound => false,
        }
    }
}

fn route(method: &Method, path: &str) -> Route {
    if let Some(route) = metrics::route(method, path) {
        return route;
    }
    if let Some(endpoint) = api::route(method, path) {
        return Route::Api(endpoint);
    }
    if let Some(asset) = dashboard::route(path) {
        return match *method {
            Method::GET | Method::HEAD => Route::Dashboard(asset),
            _ => Route::WrongMethod("GET"),
        };
    }
    match (method, path) {
        (&Method::POST, "/RPC2") => Route::Rpc,
        (_, "/RPC2") => Route::WrongMethod("POST"),
        (&Method::GET, "/mainlogtail") => Route::MainLogtail,
        (&Method::GET, p) if p.starts_with("/logtail/") => {
            let rest = percent_decode(&p["/logtail/".len()..]);
            let (name, stream) = match rest.rsplit_once('/') {
                Some((name, "stderr")) => (name.to_string(), Stream::Stderr),
                Some((name, "stdout")) => (name.to_string(), Stream::Stdout),
                _ => (rest.clone(), Stream::Stdout),
            };
            if name.is_empty() {
                Route::NotFound
            } else {
                Route::Logtail { name, stream }
            }
        }
        _ => Route::NotFound,
    }
}

async fn handle(req: Request<Incoming>, rpc: &Rc<Rpc>, gate: &Gate) -> Response<Body> {
    let route = route(req.method(), req.uri().path());
    if let Err(refusal) = gate.admit(&req, route.writes()) {
        return gate.refuse(&refusal);
    }
    match route {
        Route::Rpc => xmlrpc_call(req, rpc, gate).await,
        Route::Logtail { name, stream } => logtail(rpc, &name, stream).await,
        Route::MainLogtail => main_logtail(rpc),
        Route::Metrics => metrics::scrape(rpc.served()).await,
        Route::Api(endpoint) => api::handle(endpoint, req.uri().query(), rpc.served()).await,
        Route::Dashboard(asset) => dashboard::serve(asset),
        Route::WrongMethod(allowed) => {
            let mut res = text(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed\n");
            res.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allowed));
            res
        }
        Route::NotFound => text(StatusCode::NOT_FOUND, "404 Not Found\n"),
    }
}

async fn xmlrpc_call(req: Request<Incoming>, rpc: &Rc<Rpc>, gate: &Gate) -> Response<Body> {
    let (head, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the request is over {MAX_BODY} bytes, or was cut short\n"),
            );
        }
    };
    let Ok(body) = std::str::from_utf8(&body) else {
        return text(StatusCode::BAD_REQUEST, "the request is not UTF-8\n");
    };
    let call = match xmlrpc::parse_call(body) {
        Ok(call) => call,
        Err(e) => return text(StatusCode::BAD_REQUEST, &format!("{}\n", e.0)),
    };
    let head = Request::from_parts(head, ());
    match gate.admit(&head, !rpc::reads(&call)) {
        Err(gate::Refusal::ReadOnly(_)) => {
            return gate.refuse(&gate::Refusal::ReadOnly(format!("{}()", call.method)));
        }
        Err(refusal) => return gate.refuse(&refusal),
        Ok(()) => {}
    }
    let xml = match rpc.call(call).await {
        Ok(value) => xmlrpc::response(&value),
        Err(fault) => xmlrpc::fault(fault.code.number(), &fault.text),
    };
    let mut res = Response::new(Body::full(xml));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    res
}

/// supervisord's log tail: the last [`TAIL_HEAD`] bytes of the stream, then everything it
/// writes, until the client hangs up or supd exits.
async fn logtail(rpc: &Rc<Rpc>, name: &str, stream: Stream) -> Response<Body> {
    let Some(prog) = rpc.logtail_target(name).await else {
        return text(StatusCode::NOT_FOUND, "404 Not Found\n");
    };
    let served = rpc.served().clone();
    // Subscribe before reading what is there, so nothing falls between the two.
    let mut live = served.plane.follow();
    let last = served.plane.last_seq();
    let log = served.plane.stream_log(prog, stream);
    let head = log.text[log.text.len().saturating_sub(TAIL_HEAD)..].to_vec();
    let chunks = async move || loop {
        match live.recv().await {
            Ok(r) if r.seq > last && r.prog == prog && r.stream == stream => {
                return Some(Bytes::from(r.text()));
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(n)) => return Some(skipped(n)),
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    };
    tail_response(head, chunks, served.streams.watch())
}

/// `supervisorctl maintail -f`: supd's own messages, as [`logtail`] does a program's.
fn main_logtail(rpc: &Rc<Rpc>) -> Response<Body> {
    let mut live = crate::mainlog::follow();
    let log = crate::mainlog::snapshot();
    let head = log.text[log.text.len().saturating_sub(TAIL_HEAD)..].to_vec();
    let chunks = async move || match live.recv().await {
        Ok(line) => Some(Bytes::from(line.as_bytes().to_vec())),
        Err(broadcast::error::RecvError::Lagged(n)) => Some(skipped(n)),
        Err(broadcast::error::RecvError::Closed) => None,
    };
    tail_response(head, chunks, rpc.served().streams.watch())
}

/// What a follower that fell behind the broadcast gets instead of what it missed (as
/// supervisord says a file was truncated).
fn skipped(n: u64) -> Bytes {
    Bytes::from(format!("==> {n} chunks of output skipped <==\n"))
}

/// A streamed text response: `head`, then every chunk `next` gives, until it gives `None`,
/// the client hangs up or supd exits (`exiting`).
pub(super) fn tail_response(
    head: Vec<u8>,
    mut next: impl AsyncFnMut() -> Option<Bytes> + 'static,
    mut exiting: tokio::sync::watch::Receiver<bool>,
) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    tokio::task::spawn_local(async move {
        if tx.send(Bytes::from(head)).await.is_err() {
            return;
        }
        loop {
            let chunk = tokio::select! {
                biased;
                chunk = next() => chunk,
                _ = exiting.wait_for(|&e| e) => None,
                () = tx.closed() => None,
            };
            let Some(chunk) = chunk else { return };
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
    });
    let mut res = Response::new(Body::Stream(rx));
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=utf-8"),
    );
    headers.insert("X-Accel-Buffering", HeaderValue::from_static("no"));
    res
}

/// `%2F`-style escapes decoded (supervisorctl quotes nothing, browsers do).
pub(super) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut res = Response::new(Body::full(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=utf-8"),
    );
    res
}

/// A response body: all at once, or a stream of chunks (a log tail).
pub enum Body {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Bytes>),
}

impl Body {
    fn full(s: String) -> Body {
        Body::Full(Some(Bytes::from(s)))
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            Body::Stream(rx) => rx.poll_recv(cx).map(|d| d.map(|d| Ok(Frame::data(d)))),
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Body::Full(Some(d)) => hyper::body::SizeHint::with_exact(d.len() as u64),
            Body::Full(None) => hyper::body::SizeHint::with_exact(0),
            Body::Stream(_) => hyper::body::SizeHint::default(),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route(&Method::POST, "/RPC2"), Route::Rpc);
        assert_eq!(route(&Method::GET, "/RPC2"), Route::WrongMethod("POST"));
        assert_eq!(
            route(&Method::GET, "/logtail/web"),
            Route::Logtail {
                name: "web".into(),
                stream: Stream::Stdout
            }
        );
        assert_eq!(
            route(&Method::GET, "/logtail/g:web/stderr"),
            Route::Logtail {
                name: "g:web".into(),
                stream: Stream::Stderr
            }
        );
        assert_eq!(
            route(&Method::GET, "/logtail/g%3Aweb/stdout"),
            Route::Logtail {
                name: "g:web".into(),
                stream: Stream::Stdout
            }
        );
        assert_eq!(route(&Method::GET, "/logtail/"), Route::NotFound);
        assert_eq!(route(&Method::GET, "/nope"), Route::NotFound);
        assert_eq!(
            route(&Method::GET, "/"),
            Route::Dashboard(dashboard::Asset::Page)
        );
        assert_eq!(route(&Method::POST, "/"), Route::WrongMethod("GET"));
        assert_eq!(
            route(&Method::GET, "/api/status"),
            Route::Api(api::Endpoint::Status)
        );
    }

    #[test]
    fn only_routes_that_act_write() {
        let writes = |m: Method, p: &str| route(&m, p).writes();
        // XML-RPC: decided per method once the call is read (`rpc::reads`).
        assert!(!writes(Method::POST, "/RPC2"));
        assert!(writes(Method::POST, "/api/programs/web/restart"));
        assert!(!writes(Method::GET, "/api/status"));
        assert!(!writes(Method::GET, "/"));
        assert!(!writes(Method::GET, "/dashboard.js"));
        assert!(!writes(Method::GET, "/logtail/web"));
    }
}
