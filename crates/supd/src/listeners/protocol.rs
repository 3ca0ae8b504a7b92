//! supervisord's event listener protocol, as supd reads it from a listener's stdout: what
//! the bytes say (`READY\n`, `RESULT N\n` then N bytes of result), and when they break the
//! protocol. Pure: bytes in, what they mean out; [`super`] acts on it.
//!
//! A listener starts acknowledged (supd waits for `READY`); `READY` makes it ready; supd
//! sends an event and it is busy until its result. Anything else — text while ready, a
//! first line that is not `READY`, a result line without a length, a result other than `OK`
//! or `FAIL` — is a protocol violation, after which supervisord (and supd) sends it nothing
//! more (its `UNKNOWN` state).

/// Where a listener is in the protocol, as its output tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for `READY\n` (after start, and after each result).
    Acknowledged,
    /// Said `READY`: may be sent an event.
    Ready,
    /// Was sent an event; its result is due.
    Busy,
    /// Broke the protocol: nothing is read from it any more.
    Unknown,
}

/// What a listener's output meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    Ready,
    /// `RESULT 2\nOK`: the event was handled.
    Ok,
    /// `RESULT 4\nFAIL`: the event was not handled and is sent again later.
    Fail,
    /// The protocol was broken, and how (for the log line).
    Violation(String),
}

const READY: &[u8] = b"READY\n";
const RESULT: &[u8] = b"RESULT ";
/// A result line longer than this without its `\n` is not one.
const MAX_RESULT_LINE: usize = 64;

/// Reads one listener's stdout.
#[derive(Debug)]
pub struct Reader {
    phase: Phase,
    pending: Vec<u8>,
    /// While busy: the length of the result body, once its line was read.
    result_len: Option<usize>,
}

impl Default for Reader {
    fn default() -> Self {
        Reader {
            phase: Phase::Acknowledged,
            pending: Vec::new(),
            result_len: None,
        }
    }
}

impl Reader {
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// supd sent it an event (only while ready).
    pub fn sent(&mut self) {
        debug_assert_eq!(self.phase, Phase::Ready);
        self.phase = Phase::Busy;
        self.result_len = None;
        // Output that arrived before the event (none, in a correct listener) is its answer.
    }

    /// Reads `data`, returning what it said, in order.
    pub fn feed(&mut self, data: &[u8]) -> Vec<Said> {
        if self.phase == Phase::Unknown {
            return Vec::new();
        }
        self.pending.extend_from_slice(data);
        let mut said = Vec::new();
        while let Some(s) = self.step() {
            let broke = matches!(s, Said::Violation(_));
            said.push(s);
            if broke {
                self.phase = Phase::Unknown;
                self.pending.clear();
                break;
            }
        }
        said
    }

    /// One thing said from the pending bytes, or `None` until more arrive.
    fn step(&mut self) -> Option<Said> {
        if self.pending.is_empty() {
            return None;
        }
        match self.phase {
            Phase::Unknown => None,
            Phase::Acknowledged => {
                if self.pending.len() < READY.len() && READY.starts_with(&self.pending) {
                    return None; // not decided yet
                }
                if self.pending.starts_with(READY) {
                    self.pending.drain(..READY.len());
                    self.phase = Phase::Ready;
                    Some(Said::Ready)
                } else {
                    Some(self.violation("instead of READY"))
                }
            }
            Phase::Ready => Some(self.violation("while ready, before any event was sent")),
            Phase::Busy => self.result(),
        }
    }

    /// The result line, then its body.
    fn result(&mut self) -> Option<Said> {
        let len = match self.result_len {
            Some(len) => len,
            None => {
                let Some(end) = self.pending.iter().position(|&b| b == b'\n') else {
                    return (self.pending.len() > MAX_RESULT_LINE)
                        .then(|| self.violation("instead of a RESULT line"));
                };
                let line = self.pending[..end].to_vec();
                let len = line
                    .strip_prefix(RESULT)
                    .and_then(|n| std::str::from_utf8(n).ok())
                    .and_then(|n| n.trim().parse::<usize>().ok());
                let Some(len) = len else {
                    return Some(Said::Violation(format!(
                        "bad result line {:?}",
                        String::from_utf8_lossy(&line)
                    )));
                };
                self.pending.drain(..=end);
                self.result_len = Some(len);
                len
            }
        };
        if self.pending.len() < len {
            return None;
        }
        let body: Vec<u8> = self.pending.drain(..len).collect();
        self.result_len = None;
        self.phase = Phase::Acknowledged;
        match &body[..] {
            b"OK" => Some(Said::Ok),
            b"FAIL" => Some(Said::Fail),
            other => Some(Said::Violation(format!(
                "result {:?} is neither OK nor FAIL",
                String::from_utf8_lossy(other)
            ))),
        }
    }

    fn violation(&self, when: &str) -> Said {
        let shown: Vec<u8> = self.pending.iter().copied().take(80).collect();
        Said::Violation(format!(
            "wrote {:?} {when}",
            String::from_utf8_lossy(&shown)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_then_results_in_pieces() {
        let mut r = Reader::default();
        assert_eq!(r.feed(b"REA"), []);
        assert_eq!(r.feed(b"DY\n"), [Said::Ready]);
        r.sent();
        assert_eq!(r.feed(b"RESULT 2"), []);
        assert_eq!(r.feed(b"\nO"), []);
        assert_eq!(r.feed(b"KREADY\n"), [Said::Ok, Said::Ready]);
        r.sent();
        assert_eq!(r.feed(b"RESULT 4\nFAIL"), [Said::Fail]);
        assert_eq!(r.phase(), Phase::Acknowledged);
    }

    #[test]
    fn garbage_is_a_violation_and_then_ignored() {
        let mut r = Reader::default();
        let said = r.feed(b"hello\n");
        assert!(matches!(&said[..], [Said::Violation(m)] if m.contains("hello")));
        assert_eq!(r.phase(), Phase::Unknown);
        assert_eq!(r.feed(b"READY\n"), []);

        let mut r = Reader::default();
        r.feed(b"READY\n");
        assert!(matches!(&r.feed(b"x")[..], [Said::Violation(_)]));

        let mut r = Reader::default();
        r.feed(b"READY\n");
        r.sent();
        assert!(matches!(&r.feed(b"RESULT two\n")[..], [Said::Violation(_)]));

        let mut r = Reader::default();
        r.feed(b"READY\n");
        r.sent();
        assert!(matches!(
            &r.feed(b"RESULT 3\nYES")[..],
            [Said::Violation(_)]
        ));
    }
}
