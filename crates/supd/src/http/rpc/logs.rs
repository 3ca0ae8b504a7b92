//! supervisord's log offsets over what supd keeps: `readProcessStdoutLog`/`readLog`
//! (supervisord's `readFile`) and `tailProcessStdoutLog` (its `tailFile`) read a
//! [`StreamLog`] as if it were the log file, offsets counted from supd's start.

use super::super::xmlrpc::Value;
use super::Answer;
use super::faults::{Fault, FaultCode};
use crate::logplane::StreamLog;

/// supervisord's `readFile` over what the ring holds: a negative `offset` reads that many
/// bytes from the end (then `length` must be 0); otherwise `length` bytes from `offset`
/// (0: to the end). Bytes the ring no longer holds read as if they were never written.
pub(super) fn read_log(log: &StreamLog, offset: i64, length: i64) -> Answer {
    let end = log.end as i64;
    let (from, to) = if offset < 0 {
        if length != 0 {
            return Err(Fault::bare(FaultCode::BadArguments));
        }
        ((end + offset).max(0), end)
    } else {
        if length < 0 {
            return Err(Fault::bare(FaultCode::BadArguments));
        }
        let to = if length == 0 {
            end
        } else {
            (offset + length).min(end)
        };
        (offset, to)
    };
    Ok(Value::str(slice(log, from, to)))
}

/// supervisord's `tailFile` over what the ring holds: `[bytes, new offset, overflow]`.
pub(super) fn tail_log(log: &StreamLog, offset: i64, length: i64) -> Value {
    let size = log.end as i64;
    let (mut offset, mut length) = (offset, length);
    let mut overflow = false;
    if size > offset + length {
        overflow = true;
        offset = size - 1;
    }
    if offset + length > size {
        if offset > size - 1 {
            length = 0;
        }
        offset = size - length;
    }
    offset = offset.max(0);
    length = length.max(0);
    let text = if length == 0 {
        String::new()
    } else {
        slice(log, offset, offset + length)
    };
    Value::Array(vec![
        Value::str(text),
        Value::Int(size),
        Value::Bool(overflow),
    ])
}

/// The text between stream offsets `from` and `to`, as far as the ring holds it.
pub(super) fn slice(log: &StreamLog, from: i64, to: i64) -> String {
    let start = log.start() as i64;
    let lo = (from.max(start) - start) as usize;
    let hi = ((to.max(start) - start) as usize).min(log.text.len());
    String::from_utf8_lossy(log.text.get(lo..hi.max(lo)).unwrap_or_default()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn log(text: &str, end: u64) -> StreamLog {
        StreamLog {
            text: text.as_bytes().to_vec(),
            end,
        }
    }

    #[test]
    pub(super) fn read_log_follows_supervisords_read_file() {
        let l = log("hello world\n", 12);
        assert_eq!(read_log(&l, -6, 0), Ok(Value::str("world\n")));
        assert_eq!(read_log(&l, -100, 0), Ok(Value::str("hello world\n")));
        assert_eq!(read_log(&l, 6, 0), Ok(Value::str("world\n")));
        assert_eq!(read_log(&l, 0, 5), Ok(Value::str("hello")));
        assert_eq!(
            read_log(&l, -1, 1),
            Err(Fault::bare(FaultCode::BadArguments))
        );
        assert_eq!(
            read_log(&l, 1, -1),
            Err(Fault::bare(FaultCode::BadArguments))
        );
        // The ring forgot the first 100 bytes: offsets stay those of the whole stream.
        let l = log("tail\n", 105);
        assert_eq!(read_log(&l, 0, 0), Ok(Value::str("tail\n")));
        assert_eq!(read_log(&l, 103, 0), Ok(Value::str("l\n")));
    }

    #[test]
    pub(super) fn tail_log_follows_supervisords_tail_file() {
        let l = log("0123456789", 10);
        // supervisorctl tail -f's first call: offset 0, length 1600.
        assert_eq!(
            tail_log(&l, 0, 1600),
            Value::Array(vec![
                Value::str("0123456789"),
                Value::Int(10),
                Value::Bool(false)
            ])
        );
        // Caught up: nothing new.
        assert_eq!(
            tail_log(&l, 10, 1600),
            Value::Array(vec![Value::str(""), Value::Int(10), Value::Bool(false)])
        );
        // More was written than asked for: the last `length` bytes, and overflow.
        assert_eq!(
            tail_log(&l, 0, 4),
            Value::Array(vec![Value::str("6789"), Value::Int(10), Value::Bool(true)])
        );
    }
}
