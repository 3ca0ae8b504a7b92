//! Server-Sent Events: how the JSON API streams state changes and log lines to a browser's
//! `EventSource` (or `curl -N`).
//!
//! This module owns the wire format (`event: NAME` and one `data:` line of JSON, a blank
//! line after each) and the response around it: `text/event-stream`, never cached, never
//! buffered by a proxy. A stream ends when the client hangs up or supd exits. While a stream
//! is open, and only then, a comment line goes out after [`KEEP_ALIVE`] of silence, so a
//! client that vanished without closing its connection is noticed; an idle supd with no
//! stream open has no timer at all.

use std::time::Duration;

use hyper::Response;
use hyper::body::Bytes;
use serde::Serialize;

use super::{Body, tail_response};

/// The longest silence on an open stream before a keep-alive comment.
pub(super) const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What a silent stream sends every [`KEEP_ALIVE`].
const KEEP_ALIVE_COMMENT: &[u8] = b": keep-alive\n\n";

/// One event: `event: NAME`, then `data` as one line of JSON.
pub(super) fn event(name: &str, data: &impl Serialize) -> Bytes {
    // serde_json escapes every newline inside strings: the data is one line.
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".into());
    Bytes::from(format!("event: {name}\ndata: {json}\n\n"))
}

/// The event a stream sends instead of what it missed when it fell behind supd's broadcast.
pub(super) fn skipped(missed: u64) -> Bytes {
    event("skipped", &serde_json::json!({ "skipped": missed }))
}

/// A `text/event-stream` response: `head` (events already known), then every event `next`
/// gives until it gives `None`, the client hangs up or supd exits (`exiting`). `next` must
/// be cancel-safe (a keep-alive may interrupt it).
pub(super) fn stream(
    head: Vec<u8>,
    mut next: impl AsyncFnMut() -> Option<Bytes> + 'static,
    exiting: tokio::sync::watch::Receiver<bool>,
) -> Response<Body> {
    let next_or_keep_alive = async move || {
        tokio::select! {
            chunk = next() => chunk,
            () = tokio::time::sleep(KEEP_ALIVE) => Some(Bytes::from_static(KEEP_ALIVE_COMMENT)),
        }
    };
    let res = tail_response(head, next_or_keep_alive, exiting);
    super::api::typed(res, "text/event-stream", "no-cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_one_data_line_of_json() {
        let text = serde_json::json!({ "text": "two\nlines\n" });
        assert_eq!(
            event("log", &text),
            Bytes::from_static(b"event: log\ndata: {\"text\":\"two\\nlines\\n\"}\n\n")
        );
        assert_eq!(
            skipped(3),
            Bytes::from_static(b"event: skipped\ndata: {\"skipped\":3}\n\n")
        );
    }
}
