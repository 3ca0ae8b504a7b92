//! Cutting a program's byte stream into lines.
//!
//! Guarantees: every byte fed comes out exactly once, in order; a line is emitted only when
//! its `\n` arrived, at end of stream, or when it reaches [`MAX_LINE`] bytes (then it is
//! emitted in `MAX_LINE` pieces, so memory stays bounded whatever a program writes). Each
//! emitted piece says whether it ends its line (`complete`), so a consumer can mark the
//! pieces of an over-long line.

use memchr::memchr_iter;

/// Longest line kept whole; longer lines are emitted in pieces of this size.
pub const MAX_LINE: usize = 64 * 1024;

/// Line state of one stream: the bytes of a line whose end has not arrived yet.
#[derive(Debug, Default)]
pub struct Framer {
    partial: Vec<u8>,
}

impl Framer {
    /// Calls `line(piece, complete)` for each line (or `MAX_LINE` piece of one) that `data`
    /// completes, without its `\n`; `complete` is false for a piece its line goes on after.
    pub fn feed(&mut self, data: &[u8], line: &mut impl FnMut(&[u8], bool)) {
        let mut start = 0;
        for nl in memchr_iter(b'\n', data) {
            if self.partial.is_empty() {
                emit_pieces(&data[start..nl], line);
            } else {
                self.partial.extend_from_slice(&data[start..nl]);
                emit_pieces(&self.partial, line);
                self.clear();
            }
            start = nl + 1;
        }
        let mut rest = &data[start..];
        if self.partial.is_empty() {
            while rest.len() >= MAX_LINE {
                line(&rest[..MAX_LINE], false);
                rest = &rest[MAX_LINE..];
            }
            self.partial.extend_from_slice(rest);
        } else {
            self.partial.extend_from_slice(rest);
            if self.partial.len() >= MAX_LINE {
                let whole = self.partial.len() / MAX_LINE * MAX_LINE;
                for piece in self.partial[..whole].chunks(MAX_LINE) {
                    line(piece, false);
                }
                self.partial.drain(..whole);
            }
        }
    }

    /// End of stream: a last line without `\n` is emitted as a (complete) line.
    pub fn finish(&mut self, line: &mut impl FnMut(&[u8], bool)) {
        if !self.partial.is_empty() {
            line(&self.partial, true);
            self.clear();
        }
    }

    /// Bytes held back, waiting for their line end.
    pub fn pending(&self) -> usize {
        self.partial.len()
    }

    fn clear(&mut self) {
        self.partial.clear();
        // A long line once should not pin its buffer for the program's lifetime.
        if self.partial.capacity() > 4096 {
            self.partial = Vec::new();
        }
    }
}

/// A complete line, in `MAX_LINE` pieces when longer (an empty line is one empty piece).
fn emit_pieces(s: &[u8], line: &mut impl FnMut(&[u8], bool)) {
    if s.len() <= MAX_LINE {
        line(s, true);
    } else {
        let pieces = s.len().div_ceil(MAX_LINE);
        for (i, piece) in s.chunks(MAX_LINE).enumerate() {
            line(piece, i + 1 == pieces);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut f = Framer::default();
        let mut out = Vec::new();
        for c in chunks {
            f.feed(c, &mut |l, _| out.push(l.to_vec()));
        }
        f.finish(&mut |l, _| out.push(l.to_vec()));
        out
    }

    #[test]
    fn whole_lines_and_empty_lines() {
        assert_eq!(run(&[b"a\n\nbc\n"]), [&b"a"[..], b"", b"bc"]);
    }

    #[test]
    fn lines_split_across_reads_are_joined() {
        assert_eq!(
            run(&[b"hel", b"lo\nwor", b"ld\n"]),
            [&b"hello"[..], b"world"]
        );
    }

    #[test]
    fn a_last_line_without_newline_is_kept() {
        assert_eq!(run(&[b"a\nno end"]), [&b"a"[..], b"no end"]);
    }

    #[test]
    fn long_lines_come_out_in_max_line_pieces_with_no_byte_lost() {
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        let mut input = long.clone();
        input.extend_from_slice(b"\nnext\n");
        // Fed in odd-sized reads, so pieces straddle read boundaries.
        let chunks: Vec<&[u8]> = input.chunks(7000).collect();
        let out = run(&chunks);
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].len(), MAX_LINE);
        assert_eq!(out[1].len(), MAX_LINE);
        assert_eq!(out[2].len(), 10);
        assert_eq!(out[3], b"next");
        let total: usize = out[..3].iter().map(Vec::len).sum();
        assert_eq!(total, long.len());
    }

    #[test]
    fn only_the_last_piece_of_a_long_line_is_complete() {
        let mut f = Framer::default();
        let mut flags = Vec::new();
        let mut input = vec![b'z'; MAX_LINE * 2 + 1];
        input.push(b'\n');
        f.feed(&input, &mut |_, complete| flags.push(complete));
        assert_eq!(flags, [false, false, true]);
    }

    #[test]
    fn partial_memory_is_bounded() {
        let mut f = Framer::default();
        let mut n = 0;
        for _ in 0..100 {
            f.feed(&[b'y'; 10_000], &mut |_, complete| {
                assert!(!complete);
                n += 1
            });
            assert!(f.pending() < MAX_LINE);
        }
        assert_eq!(n, 1_000_000 / MAX_LINE);
    }
}
