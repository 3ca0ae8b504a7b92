//! How one line looks on supd's console, in each `[supd] log_format`:
//!
//! - `prefix`: `web    | line` (names padded so the bars line up; with `log_timestamps`,
//!   `2026-11-23T16:01:02.123Z web    | line`);
//! - `raw`: the line as the program wrote it;
//! - `json`: `{"ts":"<RFC 3339 UTC>","program":"web","stream":"stderr","line":"..."}`, valid
//!   JSON whatever the bytes: invalid UTF-8 is written as `\xNN` escapes in the string,
//!   never dropped; a piece of a line longer than 64 KiB that does not end the line has
//!   `"partial":true`.
//!
//! supd's own messages use the same shapes (program `supd`), so a JSON stream stays pure.

use std::time::SystemTime;

use supd_config::LogFormat;
use supd_proto::Stream;

/// The console format, chosen once at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleFormat {
    pub kind: LogFormat,
    pub timestamps: bool,
}

/// `2026-11-23T16:01:02.123Z`.
pub fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// One line of a program, as `fmt` wants it on the console, appended to `out` with its
/// `\n`. `ts` is the arrival time of the read the line came in (formatted once per read).
#[allow(clippy::too_many_arguments)]
pub fn console_line(
    out: &mut Vec<u8>,
    fmt: ConsoleFormat,
    ts: &str,
    prefix: &[u8],
    program: &str,
    stream: Stream,
    line: &[u8],
    complete: bool,
) {
    match fmt.kind {
        LogFormat::Prefix => {
            if fmt.timestamps {
                out.extend_from_slice(ts.as_bytes());
                out.push(b' ');
            }
            out.extend_from_slice(prefix);
            out.extend_from_slice(line);
        }
        LogFormat::Raw => out.extend_from_slice(line),
        LogFormat::Json => json_line(out, ts, program, stream_name(stream), None, line, complete),
    }
    out.push(b'\n');
}

pub fn stream_name(stream: Stream) -> &'static str {
    match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    }
}

/// `{"ts":..,"program":..,"stream":..[,"level":..],"line":..[,"partial":true]}` (no `\n`).
pub fn json_line(
    out: &mut Vec<u8>,
    ts: &str,
    program: &str,
    stream: &str,
    level: Option<&str>,
    line: &[u8],
    complete: bool,
) {
    out.extend_from_slice(b"{\"ts\":\"");
    out.extend_from_slice(ts.as_bytes());
    out.extend_from_slice(b"\",\"program\":");
    json_string(out, program.as_bytes());
    out.extend_from_slice(b",\"stream\":\"");
    out.extend_from_slice(stream.as_bytes());
    out.push(b'"');
    if let Some(level) = level {
        out.extend_from_slice(b",\"level\":\"");
        out.extend_from_slice(level.as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b",\"line\":");
    json_string(out, line);
    if !complete {
        out.extend_from_slice(b",\"partial\":true");
    }
    out.push(b'}');
}

/// `bytes` as a JSON string: UTF-8 as is (escaped where JSON requires), every byte that is
/// not valid UTF-8 as the six characters `\\xNN` would read (a literal backslash, `x`, two hex
/// digits), so nothing is lost and the result is always valid JSON.
pub fn json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        // Valid UTF-8 is copied in runs; only `"`, `\` and ASCII control characters need
        // escaping (bytes of multi-byte characters are all >= 0x80 and copied as they are).
        let valid = chunk.valid().as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < valid.len() {
            // Skip eight plain bytes at a time.
            if i + 8 <= valid.len() {
                let word = u64::from_le_bytes(valid[i..i + 8].try_into().unwrap_or([0; 8]));
                if !may_need_escape(word) {
                    i += 8;
                    continue;
                }
            }
            let b = valid[i];
            i += 1;
            let escape: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0..0x20 | 0x7f => b"",
                _ => continue,
            };
            out.extend_from_slice(&valid[start..i - 1]);
            if escape.is_empty() {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
            } else {
                out.extend_from_slice(escape);
            }
            start = i;
        }
        out.extend_from_slice(&valid[start..]);
        for &b in chunk.invalid() {
            out.extend_from_slice(b"\\\\x");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 15) as usize]);
        }
    }
    out.push(b'"');
}

/// Whether any byte of `word` may be `"`, `\\`, DEL or an ASCII control character (a
/// cheap test, eight bytes at a time; it may say yes for nothing, never no for something).
fn may_need_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    below_space
        | zero_byte(word ^ (ONES * u64::from(b'"')))
        | zero_byte(word ^ (ONES * u64::from(b'\\')))
        | zero_byte(word ^ (ONES * 0x7f))
        != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        json_string(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_strings_are_valid_for_any_bytes() {
        assert_eq!(json(b"plain"), "\"plain\"");
        assert_eq!(json(b"a\"b\\c\td\x01"), r#""a\"b\\c\td\u0001""#);
        assert_eq!(json("héllo ✓".as_bytes()), "\"héllo ✓\"");
        assert_eq!(json(b"bad \xff\xfe end"), r#""bad \\xff\\xfe end""#);
        for sample in [&b"\xc3"[..], b"\xed\xa0\x80", b"\x00\x7f", b"\xf0\x9f\x98"] {
            let text = json(sample);
            let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(parsed.is_string(), "{text}");
        }
    }

    #[test]
    fn the_fast_scan_never_misses_a_byte_to_escape() {
        for b in 0u8..=255 {
            for pos in 0..8 {
                let mut bytes = *b"abcdefgh";
                bytes[pos] = b;
                let word = u64::from_le_bytes(bytes);
                if b < 0x20 || b == b'"' || b == b'\\' || b == 0x7f {
                    assert!(may_need_escape(word), "byte {b:#x} at {pos}");
                }
            }
        }
        assert!(!may_need_escape(u64::from_le_bytes(*b"plain ok")));
        // Long lines with escapes at every offset come out like the simple loop's.
        for pos in 0..20 {
            let mut line = vec![b'x'; 20];
            line[pos] = b'"';
            let text = json(&line);
            let back: String = serde_json::from_str(&text).unwrap();
            assert_eq!(back.as_bytes(), &line[..]);
        }
    }

    #[test]
    fn each_format_shapes_a_line() {
        let mut out = Vec::new();
        let prefix = ConsoleFormat {
            kind: LogFormat::Prefix,
            timestamps: false,
        };
        console_line(
            &mut out,
            prefix,
            "T",
            b"web | ",
            "web",
            Stream::Stdout,
            b"hi",
            true,
        );
        let stamped = ConsoleFormat {
            timestamps: true,
            ..prefix
        };
        console_line(
            &mut out,
            stamped,
            "T",
            b"web | ",
            "web",
            Stream::Stdout,
            b"hi",
            true,
        );
        let raw = ConsoleFormat {
            kind: LogFormat::Raw,
            timestamps: true,
        };
        console_line(
            &mut out,
            raw,
            "T",
            b"web | ",
            "web",
            Stream::Stdout,
            b"hi",
            true,
        );
        let json = ConsoleFormat {
            kind: LogFormat::Json,
            timestamps: false,
        };
        console_line(
            &mut out,
            json,
            "T",
            b"web | ",
            "web",
            Stream::Stderr,
            b"hi",
            false,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "web | hi\nT web | hi\nhi\n{\"ts\":\"T\",\"program\":\"web\",\"stream\":\"stderr\",\"line\":\"hi\",\"partial\":true}\n"
        );
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        assert_eq!(timestamp(t), "2023-11-14T22:13:20.123Z");
    }
}
