//! Fuzz tests of the wire protocol: every message a strategy can build (every variant of
//! [`ClientMessage`] and [`ServerMessage`], with unicode, control characters and extreme
//! numbers) round-trips through `encode`/`decode` as one line with no other newline;
//! `decode` on arbitrary bytes, and on JSON shaped like messages, never panics and fails
//! with [`FrameError::Invalid`]; [`LineReader`] over any chunking of a stream gives the
//! lines of splitting it at `\n` (reads interrupted by a signal included), and a line over
//! [`MAX_LINE`] gives
//! [`FrameError::TooLong`] having buffered at most one line.
//!
//! The default run, for CI, is 4,000 cases of each target but the over-long line, which
//! reads a megabyte a case and runs 1/400 of that (10). For a longer hunt set
//! `PROPTEST_CASES`, e.g.
//! `PROPTEST_CASES=1000000 cargo test --release --locked -p supd-proto --test fuzz`.

use std::io::{self, BufRead, Read};

use proptest::prelude::*;
use supd_proto::{
    ActionOutcome, ClientMessage, ErrorKind, ErrorReply, FrameError, Hello, LineReader, LogChunk,
    MAX_LINE, Percent, ProgramState, ProgramStatus, Reply, Request, ServerMessage, StateEvent,
    Stream, Usage, decode, encode,
};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4_000)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z:*._-]{0,8}",
        1 => any::<String>(),
        1 => "[\n\r\t\"\\\\\u{0}\u{7f}\u{2028}\u{feff}é]{0,6}",
    ]
}

fn names() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(text(), 0..4)
}

fn stream() -> impl Strategy<Value = Stream> {
    prop_oneof![Just(Stream::Stdout), Just(Stream::Stderr)]
}

fn state() -> impl Strategy<Value = ProgramState> {
    prop::sample::select(&ProgramState::ALL[..])
}

fn hello() -> impl Strategy<Value = Hello> {
    (any::<u32>(), text(), any::<Option<u32>>()).prop_map(|(protocol, software, pid)| Hello {
        protocol,
        software,
        pid,
    })
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (names(), any::<bool>())
            .prop_map(|(names, resources)| Request::Status { names, resources }),
        names().prop_map(|names| Request::Start { names }),
        names().prop_map(|names| Request::Stop { names }),
        names().prop_map(|names| Request::Restart { names }),
        names().prop_map(|names| Request::Upgrade { names }),
        (text(), names()).prop_map(|(signal, names)| Request::Signal { signal, names }),
        (
            names(),
            any::<Option<usize>>(),
            any::<bool>(),
            any::<Option<u64>>(),
            prop::option::of(stream())
        )
            .prop_map(|(names, lines, follow, since_ms, stream)| Request::Logs {
                names,
                lines,
                follow,
                since_ms,
                stream,
            }),
        names().prop_map(|names| Request::Events { names }),
        Just(Request::Shutdown),
        Just(Request::Reload),
        (names(), any::<Option<u64>>())
            .prop_map(|(names, timeout_ms)| Request::Wait { names, timeout_ms }),
    ]
}

fn client_message() -> impl Strategy<Value = ClientMessage> {
    prop_oneof![
        hello().prop_map(ClientMessage::Hello),
        (any::<u64>(), request()).prop_map(|(id, request)| ClientMessage::Request { id, request }),
    ]
}

fn status() -> impl Strategy<Value = ProgramStatus> {
    (
        (
            text(),
            state(),
            any::<bool>(),
            any::<Option<u32>>(),
            any::<u32>(),
        ),
        (
            any::<Option<i32>>(),
            prop::option::of(text()),
            prop::option::of(text()),
            any::<Option<u64>>(),
        ),
        (
            prop::option::of(text()),
            prop::option::of(text()),
            any::<bool>(),
            prop::option::of(text()),
            prop::option::of(text()),
        ),
        (
            any::<Option<u64>>(),
            any::<Option<u64>>(),
            any::<Option<u32>>(),
            names(),
        ),
        (names(), prop::option::of(usage())),
    )
        .prop_map(
            |(
                (name, state, up, pid, restarts),
                (exit_code, signal, last_exit, uptime_ms),
                (reason, reason_kind, autostart, health, notify_status),
                (started_ms, stopped_ms, previous_pid, sockets),
                (depends_on, usage),
            )| ProgramStatus {
                name,
                state,
                up,
                pid,
                restarts,
                exit_code,
                signal,
                last_exit,
                uptime_ms,
                reason,
                reason_kind,
                autostart,
                health,
                notify_status,
                started_ms,
                stopped_ms,
                previous_pid,
                sockets,
                depends_on,
                usage,
            },
        )
}

fn usage() -> impl Strategy<Value = Usage> {
    // Quarters are exact in binary and in the shortest decimal: they survive JSON.
    (0u32..400_000, any::<u64>(), any::<u64>(), any::<u32>()).prop_map(
        |(quarters, cpu_ms, rss_bytes, processes)| Usage {
            cpu_percent: Percent(f64::from(quarters) / 4.0),
            cpu_ms,
            rss_bytes,
            processes,
        },
    )
}

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        prop::collection::vec(status(), 0..3).prop_map(|programs| Reply::Status { programs }),
        prop::collection::vec(
            (text(), any::<bool>(), text()).prop_map(|(name, ok, message)| ActionOutcome {
                name,
                ok,
                message,
                code: ok.then_some(supd_proto::OutcomeCode::Done),
            }),
            0..3
        )
        .prop_map(|outcomes| Reply::Actions { outcomes }),
        Just(Reply::ShuttingDown),
        (names(), names(), names()).prop_map(|(added, changed, removed)| Reply::Reloaded {
            added,
            changed,
            removed
        }),
    ]
}

fn error_reply() -> impl Strategy<Value = ErrorReply> {
    (
        prop::sample::select(
            &[
                ErrorKind::Protocol,
                ErrorKind::BadRequest,
                ErrorKind::UnknownProgram,
                ErrorKind::Refused,
                ErrorKind::InvalidConfig,
                ErrorKind::PermissionDenied,
            ][..],
        ),
        text(),
    )
        .prop_map(|(kind, message)| ErrorReply { kind, message })
}

fn event() -> impl Strategy<Value = StateEvent> {
    (
        (any::<u64>(), text(), state(), state(), any::<Option<u32>>()),
        (
            any::<Option<i32>>(),
            prop::option::of(text()),
            prop::option::of(text()),
            prop::option::of(text()),
        ),
    )
        .prop_map(
            |((ts_ms, program, from, to, pid), (exit_code, signal, reason, reason_kind))| {
                StateEvent {
                    ts_ms,
                    program,
                    from,
                    to,
                    pid,
                    exit_code,
                    signal,
                    reason,
                    reason_kind,
                }
            },
        )
}

fn server_message() -> impl Strategy<Value = ServerMessage> {
    prop_oneof![
        hello().prop_map(ServerMessage::Hello),
        (any::<u64>(), reply()).prop_map(|(id, reply)| ServerMessage::Reply { id, reply }),
        (any::<Option<u64>>(), error_reply())
            .prop_map(|(id, error)| ServerMessage::Error { id, error }),
        (any::<u64>(), text(), stream(), any::<u64>(), text()).prop_map(
            |(id, program, stream, ts_ms, text)| ServerMessage::Log {
                id,
                chunk: LogChunk {
                    program,
                    stream,
                    ts_ms,
                    text
                },
            }
        ),
        (any::<u64>(), event()).prop_map(|(id, event)| ServerMessage::Event { id, event }),
        any::<u64>().prop_map(|id| ServerMessage::End { id }),
    ]
}

/// One line that ends in its only newline.
fn is_one_line(line: &[u8]) -> bool {
    line.last() == Some(&b'\n') && line.iter().filter(|&&b| b == b'\n').count() == 1
}

/// `json` is refused as invalid, or decodes to a message that encodes as one line and
/// decodes back to itself.
fn decodes_to_a_fixed_point<T>(json: &str) -> Result<(), TestCaseError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    match decode::<T>(json.as_bytes()) {
        Ok(msg) => {
            let line = encode(&msg);
            prop_assert!(is_one_line(&line));
            let back: T = decode(&line).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back, msg);
        }
        Err(e) => prop_assert!(matches!(e, FrameError::Invalid(_)), "{e:?}"),
    }
    Ok(())
}

/// JSON text shaped like messages: the real tags and fields, with values of any type.
fn json_like() -> impl Strategy<Value = String> {
    let word = prop::sample::select(
        &[
            "hello",
            "request",
            "reply",
            "error",
            "log",
            "event",
            "end",
            "id",
            "cmd",
            "status",
            "start",
            "signal",
            "logs",
            "wait",
            "names",
            "lines",
            "follow",
            "since_ms",
            "stream",
            "stdout",
            "protocol",
            "software",
            "pid",
            "timeout_ms",
            "shutting_down",
            "x",
        ][..],
    );
    let leaf = prop_oneof![
        word.clone().prop_map(|w| format!("{w:?}")),
        prop::sample::select(
            &[
                "null",
                "true",
                "0",
                "-1",
                "1e400",
                "18446744073709551616",
                "1.5",
                "\"\\ud800\"",
                "[]",
                "{}",
            ][..]
        )
        .prop_map(str::to_string),
        any::<i64>().prop_map(|n| n.to_string()),
    ];
    leaf.prop_recursive(4, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec((word.clone(), inner), 0..4).prop_map(|kv| {
                let items: Vec<String> = kv.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                format!("{{{}}}", items.join(","))
            }),
        ]
    })
}

/// A real message's JSON with a few bytes deleted, doubled or replaced by JSON
/// punctuation, digits or letters.
fn mutated_message() -> impl Strategy<Value = String> {
    let edit = (
        any::<prop::sample::Index>(),
        0u8..3,
        prop::sample::select(&b"{}[]\",:0-9e.ntfx "[..]),
    );
    (
        prop_oneof![
            client_message().prop_map(|m| encode(&m)),
            server_message().prop_map(|m| encode(&m))
        ],
        prop::collection::vec(edit, 1..4),
    )
        .prop_map(|(mut line, edits)| {
            line.pop();
            for (at, kind, byte) in edits {
                if line.is_empty() {
                    break;
                }
                let at = at.index(line.len());
                match kind {
                    0 => drop(line.remove(at)),
                    1 => line.insert(at, line[at]),
                    _ => line[at] = byte,
                }
            }
            String::from_utf8_lossy(&line).into_owned()
        })
}

/// A reader that hands out `data` in chunks of the given sizes (then the rest at once),
/// a size of 0 being a read interrupted by a signal (`EINTR`), and counts what was
/// consumed.
struct Chunked {
    data: Vec<u8>,
    at: usize,
    sizes: Vec<usize>,
    next: usize,
    /// How far the current chunk goes.
    end: usize,
}

impl Chunked {
    fn new(data: Vec<u8>, sizes: Vec<usize>) -> Self {
        Chunked {
            data,
            at: 0,
            sizes,
            next: 0,
            end: 0,
        }
    }
}

impl Read for Chunked {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Chunked {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at == self.end {
            let size = self.sizes.get(self.next).copied().unwrap_or(usize::MAX);
            self.next += 1;
            if size == 0 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            self.end = self.at.saturating_add(size).min(self.data.len());
        }
        Ok(&self.data[self.at..self.end])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.end);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn client_messages_round_trip_as_one_line(msg in client_message()) {
        let line = encode(&msg);
        prop_assert!(is_one_line(&line), "{:?}", String::from_utf8_lossy(&line));
        let back: ClientMessage = decode(&line).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, msg);
    }

    #[test]
    fn server_messages_round_trip_as_one_line(msg in server_message()) {
        let line = encode(&msg);
        prop_assert!(is_one_line(&line), "{:?}", String::from_utf8_lossy(&line));
        let back: ServerMessage = decode(&line).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, msg);
    }

    #[test]
    fn arbitrary_bytes_are_refused_as_invalid(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let errors = [decode::<ClientMessage>(&bytes).err(), decode::<ServerMessage>(&bytes).err()];
        for e in errors.into_iter().flatten() {
            prop_assert!(matches!(e, FrameError::Invalid(ref why) if !why.is_empty()), "{e:?}");
        }
    }

    #[test]
    fn json_shaped_like_messages_decodes_or_is_invalid(json in prop_oneof![json_like(), mutated_message()]) {
        decodes_to_a_fixed_point::<ClientMessage>(&json)?;
        decodes_to_a_fixed_point::<ServerMessage>(&json)?;
    }

    #[test]
    fn any_chunking_reads_the_same_lines(
        msgs in prop::collection::vec(client_message(), 0..6),
        garbage in prop::collection::vec((any::<prop::sample::Index>(), "[^\n]{0,8}\n"), 0..3),
        sizes in prop::collection::vec(0usize..40, 0..40),
        unterminated in "[a-z{}\"]{0,5}",
    ) {
        let mut lines: Vec<Vec<u8>> = msgs.iter().map(encode).collect();
        for (at, junk) in &garbage {
            let at = at.index(lines.len() + 1);
            lines.insert(at, junk.as_bytes().to_vec());
        }
        let mut stream: Vec<u8> = lines.concat();
        stream.extend_from_slice(unterminated.as_bytes());
        let mut reader = LineReader::new(Chunked::new(stream, sizes));
        for line in &lines {
            let expected = decode::<ClientMessage>(line);
            let got = reader.read::<ClientMessage>();
            match (expected, got) {
                (Ok(e), Ok(g)) => prop_assert_eq!(e, g),
                (Err(FrameError::Invalid(e)), Err(FrameError::Invalid(g))) => prop_assert_eq!(e, g),
                (e, g) => prop_assert!(false, "line {:?}: {e:?} vs {g:?}", String::from_utf8_lossy(line)),
            }
        }
        // Bytes after the last newline are no message: the stream just ends.
        let end = reader.read::<ClientMessage>();
        prop_assert!(matches!(end, Err(FrameError::Closed)), "{end:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: (cases() / 400).max(4),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A megabyte per case: few cases.
    #[test]
    fn an_overlong_line_is_refused_having_buffered_one_line(
        over in 1usize..64,
        sizes in prop::collection::vec(1usize..200_000, 1..20),
        newline in any::<bool>(),
    ) {
        let mut stream = vec![b' '; MAX_LINE + over];
        if newline {
            stream.push(b'\n');
        }
        stream.extend_from_slice(&encode(&ClientMessage::Request { id: 1, request: Request::Reload }));
        let mut reader = LineReader::new(Chunked::new(stream, sizes.clone()));
        let got = reader.read::<ClientMessage>();
        prop_assert!(matches!(got, Err(FrameError::TooLong)), "{got:?}");
        // It stopped within a chunk of the limit instead of reading on.
        let consumed = reader.into_inner().at;
        let biggest = sizes.iter().copied().max().unwrap_or(0);
        prop_assert!(consumed <= MAX_LINE + 1 + biggest, "read {consumed} bytes");
    }
}

/// A line of exactly [`MAX_LINE`] bytes (plus its newline) is still read.
#[test]
fn a_line_of_max_line_bytes_is_read() {
    let mut line = encode(&ClientMessage::Request {
        id: 1,
        request: Request::Signal {
            signal: String::new(),
            names: vec![],
        },
    });
    line.pop();
    let pad = MAX_LINE - line.len();
    let mut stream = vec![b' '; pad];
    stream.extend_from_slice(&line);
    stream.push(b'\n');
    assert_eq!(stream.len(), MAX_LINE + 1);
    let mut reader = LineReader::new(Chunked::new(stream, vec![4096; 1000]));
    let got = reader.read::<ClientMessage>();
    assert!(got.is_ok(), "{got:?}");
}

/// A read interrupted by a signal (`EINTR`) in the middle of a line used to end
/// `LineReader::read` with `FrameError::Io`, and the part of the line already read was
/// lost, so the next read started mid-message. It is now tried again.
#[test]
fn a_read_interrupted_mid_line_is_tried_again() {
    let msg = ClientMessage::Request {
        id: 3,
        request: Request::Reload,
    };
    let mut reader = LineReader::new(Chunked::new(encode(&msg), vec![5, 0, 0, 7, 0]));
    let got = reader.read::<ClientMessage>();
    assert_eq!(got.ok(), Some(msg));
}
