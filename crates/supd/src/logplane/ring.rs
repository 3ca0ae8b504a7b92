//! Recent output of one program, for `supctl logs`.
//!
//! Output is kept as records (the whole lines of one read, one stream) up to a byte budget;
//! the oldest records go first. A global sequence number on each record lets the output of
//! several programs be merged in arrival order.

use std::collections::VecDeque;
use std::sync::Arc;

use memchr::memchr_iter;
use supd_core::ProgId;
use supd_proto::Stream;

/// Bytes of memory the recent output of one program may take (records included).
pub const RING_BYTES: usize = 1 << 20;

/// What one record costs besides its bytes: the record and its data's `Vec` behind their
/// `Arc`s (two counters each) and the ring's slot. A program that writes one short line per
/// read makes records of a few dozen bytes; counting only the bytes let its ring take six
/// times its budget (the soak of supd-bench: 50 such programs, RSS +4 MB per 10 s).
const RECORD_OVERHEAD: usize = std::mem::size_of::<Record>()
    + std::mem::size_of::<Vec<u8>>()
    + 4 * std::mem::size_of::<usize>()
    + std::mem::size_of::<Arc<Record>>();

/// The memory `record` holds, as the ring counts it.
fn cost(record: &Record) -> usize {
    record.data.capacity() + RECORD_OVERHEAD
}

/// Whole lines one program wrote to one stream in one read.
#[derive(Debug)]
pub struct Record {
    /// Arrival order across all programs.
    pub seq: u64,
    pub prog: ProgId,
    pub stream: Stream,
    /// One or more lines, each ending in `\n` and starting with `strip` bytes that are not
    /// the program's (the console prefix: the buffer is the one written to the console).
    pub data: Arc<Vec<u8>>,
    pub strip: usize,
    /// When they were read.
    pub at: std::time::SystemTime,
    /// How many bytes the program had written to this stream by the end of this record
    /// (prefixes not counted): the offsets of supervisord's log-reading calls.
    pub end: u64,
}

impl Record {
    pub fn lines(&self) -> usize {
        memchr_iter(b'\n', &self.data).count()
    }

    /// The last `n` lines of this record, as the program wrote them.
    pub fn last_lines(&self, n: usize) -> Vec<u8> {
        if n == 0 {
            return Vec::new();
        }
        // Walk back over n line ends; the byte after the (n+1)th-from-last `\n` starts them.
        let ends: Vec<usize> = memchr_iter(b'\n', &self.data).collect();
        let from = if ends.len() <= n {
            0
        } else {
            ends[ends.len() - n - 1] + 1
        };
        self.program_text(&self.data[from..])
    }

    /// Every line of this record, as the program wrote them.
    pub fn text(&self) -> Vec<u8> {
        self.program_text(&self.data)
    }

    /// How many of the program's bytes this record holds.
    pub fn text_len(&self) -> usize {
        self.data.len() - self.strip * if self.strip == 0 { 0 } else { self.lines() }
    }

    /// `lines` (whole lines of `data`) without their `strip`-byte prefixes.
    fn program_text(&self, lines: &[u8]) -> Vec<u8> {
        if self.strip == 0 {
            return lines.to_vec();
        }
        let mut out = Vec::with_capacity(lines.len());
        for line in lines.split_inclusive(|&b| b == b'\n') {
            out.extend_from_slice(line.get(self.strip..).unwrap_or(b"\n"));
        }
        out
    }
}

#[derive(Debug, Default)]
pub struct Ring {
    records: VecDeque<Arc<Record>>,
    bytes: usize,
}

impl Ring {
    pub fn push(&mut self, record: Arc<Record>) {
        self.bytes += cost(&record);
        self.records.push_back(record);
        while self.bytes > RING_BYTES && self.records.len() > 1 {
            if let Some(old) = self.records.pop_front() {
                self.bytes -= cost(&old);
            }
        }
    }

    /// Forgets every record.
    pub fn clear(&mut self) {
        self.records.clear();
        self.bytes = 0;
    }

    /// Every record of `stream`, oldest first.
    pub fn of_stream(&self, stream: Stream) -> Vec<Arc<Record>> {
        self.records
            .iter()
            .filter(|r| r.stream == stream)
            .cloned()
            .collect()
    }

    /// Newest records that `keep` accepts holding at least `n` lines (fewer if the ring has
    /// fewer), oldest first.
    pub fn tail_where(&self, n: usize, keep: impl Fn(&Record) -> bool) -> Vec<Arc<Record>> {
        let mut lines = 0;
        let mut out = Vec::new();
        for r in self.records.iter().rev().filter(|r| keep(r)) {
            if lines >= n {
                break;
            }
            lines += r.lines();
            out.push(r.clone());
        }
        out.reverse();
        out
    }
}

/// The last `n` lines across `records` (merged by arrival), as `(record, bytes)` pieces in
/// arrival order.
pub fn last_lines(mut records: Vec<Arc<Record>>, n: usize) -> Vec<(Arc<Record>, Vec<u8>)> {
    records.sort_by_key(|r| r.seq);
    let mut left = n;
    let mut out = Vec::new();
    for r in records.into_iter().rev() {
        if left == 0 {
            break;
        }
        let count = r.lines();
        let take = count.min(left);
        let bytes = r.last_lines(take);
        left -= take;
        out.push((r, bytes));
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: u64, prog: ProgId, data: &str) -> Arc<Record> {
        Arc::new(Record {
            seq,
            prog,
            stream: Stream::Stdout,
            data: Arc::new(data.as_bytes().to_vec()),
            strip: 0,
            at: std::time::SystemTime::UNIX_EPOCH,
            end: 0,
        })
    }

    #[test]
    fn tail_takes_the_last_lines_across_records() {
        let mut ring = Ring::default();
        ring.push(rec(1, 0, "1\n2\n"));
        ring.push(rec(2, 0, "3\n"));
        ring.push(rec(3, 0, "4\n5\n"));
        let got = last_lines(ring.tail_where(3, |_| true), 3);
        let text: Vec<u8> = got.iter().flat_map(|(_, b)| b.clone()).collect();
        assert_eq!(text, b"3\n4\n5\n");
        let all = last_lines(ring.tail_where(100, |_| true), 100);
        let text: Vec<u8> = all.iter().flat_map(|(_, b)| b.clone()).collect();
        assert_eq!(text, b"1\n2\n3\n4\n5\n");
    }

    #[test]
    fn console_prefixes_are_stripped_for_logs() {
        let r = Record {
            seq: 1,
            prog: 0,
            stream: Stream::Stdout,
            data: Arc::new(b"web | one\nweb | \nweb | three\n".to_vec()),
            strip: 6,
            at: std::time::SystemTime::UNIX_EPOCH,
            end: 0,
        };
        assert_eq!(r.text(), b"one\n\nthree\n");
        assert_eq!(r.text_len(), r.text().len());
        assert_eq!(r.last_lines(2), b"\nthree\n");
    }

    #[test]
    fn programs_merge_in_arrival_order() {
        let got = last_lines(
            vec![rec(3, 1, "b2\n"), rec(1, 0, "a1\n"), rec(2, 1, "b1\n")],
            2,
        );
        let text: Vec<u8> = got.iter().flat_map(|(_, b)| b.clone()).collect();
        assert_eq!(text, b"b1\nb2\n");
    }

    #[test]
    fn ring_forgets_the_oldest_output_beyond_its_budget() {
        let mut ring = Ring::default();
        let line = "x".repeat(1023) + "\n";
        for i in 0..2048 {
            ring.push(rec(i, 0, &line));
        }
        assert!(ring.bytes <= RING_BYTES);
        assert_eq!(
            ring.tail_where(usize::MAX, |_| true).len(),
            RING_BYTES / (1024 + RECORD_OVERHEAD)
        );
    }

    #[test]
    fn tiny_records_count_what_they_cost_not_just_their_bytes() {
        let mut ring = Ring::default();
        for i in 0..200_000 {
            ring.push(rec(i, 0, "short line\n"));
        }
        let kept = ring.tail_where(usize::MAX, |_| true).len();
        assert!(kept * (11 + RECORD_OVERHEAD) <= RING_BYTES);
        assert!(kept > RING_BYTES / (2 * (16 + RECORD_OVERHEAD)));
    }
}
