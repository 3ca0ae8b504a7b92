//! NDJSON framing: one message per line, bounded line length.

use std::io::{self, BufRead};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::MAX_LINE;

/// One message as a line (JSON text plus `\n`).
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    // Serializing these plain data types cannot fail: no maps with non-string keys, no
    // custom Serialize impls that error.
    let mut line = serde_json::to_vec(msg).unwrap_or_else(|_| b"{}".to_vec());
    line.push(b'\n');
    line
}

/// Parses one line (with or without its `\n`) into a message.
pub fn decode<T: DeserializeOwned>(line: &[u8]) -> Result<T, FrameError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    serde_json::from_slice(line).map_err(|e| FrameError::Invalid(e.to_string()))
}

#[derive(Debug)]
pub enum FrameError {
    /// The peer closed the connection.
    Closed,
    /// A line longer than [`MAX_LINE`].
    TooLong,
    /// Not a valid message; the text says why.
    Invalid(String),
    Io(io::Error),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Closed => f.write_str("connection closed"),
            FrameError::TooLong => write!(f, "message longer than {MAX_LINE} bytes"),
            FrameError::Invalid(why) => write!(f, "invalid message: {why}"),
            FrameError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Reads messages from a blocking byte stream, one per line, refusing lines longer than
/// [`MAX_LINE`] instead of buffering without bound.
pub struct LineReader<R> {
    inner: R,
    line: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R) -> Self {
        LineReader {
            inner,
            line: Vec::new(),
        }
    }

    /// The underlying reader (any buffered bytes stay in it).
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The next message; [`FrameError::Closed`] at a clean end of stream. A read
    /// interrupted by a signal is tried again (as `BufRead::read_until` does), keeping the
    /// part of the line already read.
    pub fn read<T: DeserializeOwned>(&mut self) -> Result<T, FrameError> {
        self.line.clear();
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FrameError::Io(e)),
            };
            if buf.is_empty() {
                return Err(FrameError::Closed);
            }
            let (take, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            if self.line.len() + take > MAX_LINE + 1 {
                return Err(FrameError::TooLong);
            }
            self.line.extend_from_slice(&buf[..take]);
            self.inner.consume(take);
            if done {
                return decode(&self.line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    #[test]
    fn request_round_trips_through_a_line() {
        let msg = ClientMessage::Request {
            id: 7,
            request: Request::Restart {
                names: vec!["web".into()],
            },
        };
        let line = encode(&msg);
        assert_eq!(line.last(), Some(&b'\n'));
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        let back: ClientMessage = decode(&line).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn wire_shape_is_stable() {
        let line = encode(&ClientMessage::Request {
            id: 1,
            request: Request::Status {
                names: vec![],
                resources: false,
            },
        });
        assert_eq!(
            std::str::from_utf8(&line).unwrap(),
            "{\"request\":{\"id\":1,\"request\":{\"cmd\":\"status\",\"names\":[]}}}\n"
        );
        let status = ProgramStatus {
            name: "web".into(),
            state: ProgramState::Running,
            up: true,
            pid: Some(42),
            restarts: 0,
            exit_code: None,
            signal: None,
            last_exit: None,
            uptime_ms: Some(5),
            reason: None,
            reason_kind: None,
            autostart: true,
            health: None,
            notify_status: None,
            started_ms: None,
            stopped_ms: None,
            previous_pid: None,
            sockets: Vec::new(),
            depends_on: Vec::new(),
            usage: None,
        };
        let json: serde_json::Value = serde_json::to_value(&status).unwrap();
        assert_eq!(json["state"], "running");
        assert_eq!(json["pid"], 42);
        assert!(json["exit_code"].is_null());
        assert!(json["reason_kind"].is_null());
    }

    #[test]
    fn records_of_an_older_supd_without_reason_kind_still_decode() {
        let status: ProgramStatus = serde_json::from_str(
            r#"{"name":"web","state":"running","up":true,"pid":42,"restarts":0,
                "exit_code":null,"signal":null,"last_exit":null,"uptime_ms":5,
                "reason":"autostart"}"#,
        )
        .unwrap();
        assert_eq!(status.reason.as_deref(), Some("autostart"));
        assert_eq!(status.reason_kind, None);
        let event: StateEvent = serde_json::from_str(
            r#"{"ts_ms":1,"program":"web","from":"starting","to":"running","pid":42,
                "exit_code":null,"signal":null,"reason":"healthy"}"#,
        )
        .unwrap();
        assert_eq!(event.reason_kind, None);
    }

    #[test]
    fn events_without_names_keep_the_old_wire_shape_and_names_are_optional() {
        let bare = encode(&ClientMessage::Request {
            id: 1,
            request: Request::Events { names: vec![] },
        });
        assert_eq!(
            std::str::from_utf8(&bare).unwrap(),
            "{\"request\":{\"id\":1,\"request\":{\"cmd\":\"events\"}}}\n"
        );
        let named: ClientMessage =
            decode(br#"{"request":{"id":2,"request":{"cmd":"events","names":["web"]}}}"#).unwrap();
        assert_eq!(
            named,
            ClientMessage::Request {
                id: 2,
                request: Request::Events {
                    names: vec!["web".into()]
                },
            }
        );
    }

    #[test]
    fn reader_splits_lines_and_reports_garbage_and_eof() {
        let input = b"{\"hello\":{\"protocol\":1,\"software\":\"t\"}}\nnot json\n";
        let mut r = LineReader::new(&input[..]);
        let hello: ClientMessage = r.read().unwrap();
        assert!(matches!(hello, ClientMessage::Hello(_)));
        assert!(matches!(
            r.read::<ClientMessage>(),
            Err(FrameError::Invalid(_))
        ));
        assert!(matches!(r.read::<ClientMessage>(), Err(FrameError::Closed)));
    }

    #[test]
    fn reader_refuses_endless_lines() {
        let input = vec![b'x'; MAX_LINE + 10];
        let mut r = LineReader::new(&input[..]);
        assert!(matches!(
            r.read::<ClientMessage>(),
            Err(FrameError::TooLong)
        ));
    }
}
