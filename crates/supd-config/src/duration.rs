//! Durations as people write and read them, for the whole workspace: config values
//! (`"250ms"`, `"10s"`, `"1h 30m"`), supctl's `--since` and `--timeout`, and every message
//! supd prints (`retrying in 200ms`, `after 1.5s`). One parser, one formatter.

use std::fmt;
use std::time::Duration;

/// The longest duration accepted: far beyond any real use, and small enough that no clock
/// arithmetic with it can overflow.
pub const MAX: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    /// Not a number followed by a unit (`ms`, `s`, `m`, `h`, `d`...).
    Invalid,
    /// Longer than [`MAX`].
    TooLong,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Invalid => {
                f.write_str("expected a duration like \"250ms\", \"10s\" or \"1m\"")
            }
            DurationError::TooLong => f.write_str("too long (at most 100 years)"),
        }
    }
}

impl std::error::Error for DurationError {}

/// `"250ms"`, `"10s"`, `"1m"`, `"1h 30m"` (humantime's syntax), surrounding spaces ignored.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d > MAX => Err(DurationError::TooLong),
        Ok(d) => Ok(d),
        Err(_) => Err(DurationError::Invalid),
    }
}

/// A short form that reads naturally: `12ms`, `1.5s`, `10s`, `2m5s`, `2m`, `1h30m`, `3d`.
/// Below a minute, tenths of a second are kept; above, whole seconds.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if ms < 60_000 {
        let tenths = ms / 100;
        return if tenths.is_multiple_of(10) {
            format!("{}s", tenths / 10)
        } else {
            format!("{}.{}s", tenths / 10, tenths % 10)
        };
    }
    let mut rest = d.as_secs();
    let mut text = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if rest >= size {
            text.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let ms = Duration::from_millis;
        assert_eq!(format(ms(12)), "12ms");
        assert_eq!(format(ms(1500)), "1.5s");
        assert_eq!(format(ms(1549)), "1.5s");
        assert_eq!(format(Duration::from_secs(10)), "10s");
        assert_eq!(format(Duration::from_secs(125)), "2m5s");
        assert_eq!(format(Duration::from_secs(120)), "2m");
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format(Duration::from_secs(3 * 86_400 + 5)), "3d5s");
    }

    #[test]
    fn what_is_formatted_parses_back() {
        for d in [250, 1000, 10_000, 125_000, 5_400_000] {
            let d = Duration::from_millis(d);
            assert_eq!(parse(&format(d)), Ok(d));
        }
    }

    #[test]
    fn bad_and_huge_durations_are_refused() {
        assert_eq!(parse(" 1h 30m "), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("10"), Err(DurationError::Invalid));
        assert_eq!(parse("soon"), Err(DurationError::Invalid));
        assert_eq!(parse("1000years"), Err(DurationError::TooLong));
    }
}
