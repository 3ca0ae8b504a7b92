//! Signal names as users write them: in the config (`stop_signal`, `watch.action`) and on
//! the `supctl signal` command line.
//!
//! This module owns the one accepted spelling set: a name with or without the `SIG` prefix,
//! in any case (`HUP`, `sighup`, `SIGHUP`), or a signal number (`1`). It never panics and
//! its error is one sentence that can be shown as is.

use crate::spec::Signal;
use std::str::FromStr;

/// Parses `"HUP"`, `"SIGHUP"`, `"hup"` or `"1"` into a [`Signal`].
///
/// Leading and trailing whitespace is ignored. The error is a sentence such as
/// `unknown signal "FOO" (expected a name such as TERM, HUP, INT, QUIT, USR1, or a number)`.
pub fn parse(s: &str) -> Result<Signal, String> {
    let trimmed = s.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return from_number(trimmed);
    }
    let upper = trimmed.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&full).map_err(|_| unknown(s))
}

/// The conventional name of `sig`, with the `SIG` prefix: `"SIGHUP"`.
pub fn name(sig: Signal) -> &'static str {
    sig.as_str()
}

fn from_number(digits: &str) -> Result<Signal, String> {
    digits
        .parse::<i32>()
        .ok()
        .and_then(|n| Signal::try_from(n).ok())
        .ok_or_else(|| format!("unknown signal number {digits}"))
}

fn unknown(s: &str) -> String {
    format!(
        "unknown signal {s:?} (expected a name such as TERM, HUP, INT, QUIT, USR1, or a number)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_short_long_and_lowercase_names() {
        assert_eq!(parse("HUP"), Ok(Signal::SIGHUP));
        assert_eq!(parse("SIGHUP"), Ok(Signal::SIGHUP));
        assert_eq!(parse("hup"), Ok(Signal::SIGHUP));
        assert_eq!(parse("SigTerm"), Ok(Signal::SIGTERM));
        assert_eq!(parse(" USR1 "), Ok(Signal::SIGUSR1));
        assert_eq!(parse("KILL"), Ok(Signal::SIGKILL));
    }

    #[test]
    fn accepts_numbers() {
        assert_eq!(parse("1"), Ok(Signal::SIGHUP));
        assert_eq!(parse("15"), Ok(Signal::SIGTERM));
        assert_eq!(parse("9"), Ok(Signal::SIGKILL));
    }

    #[test]
    fn rejects_unknown_names_with_a_sentence() {
        assert_eq!(
            parse("FOO"),
            Err(
                r#"unknown signal "FOO" (expected a name such as TERM, HUP, INT, QUIT, USR1, or a number)"#
                    .to_string()
            )
        );
        assert!(parse("").is_err());
        assert!(parse("SIG").is_err());
        assert!(parse("-1").is_err());
        assert!(parse("HUP!").is_err());
    }

    #[test]
    fn rejects_numbers_that_are_not_signals() {
        assert_eq!(parse("0"), Err("unknown signal number 0".to_string()));
        assert_eq!(parse("999"), Err("unknown signal number 999".to_string()));
        assert!(parse("99999999999999999999").is_err());
    }

    #[test]
    fn name_has_the_sig_prefix() {
        assert_eq!(name(Signal::SIGHUP), "SIGHUP");
        assert_eq!(name(Signal::SIGTERM), "SIGTERM");
        assert_eq!(name(parse("usr2").unwrap_or(Signal::SIGHUP)), "SIGUSR2");
    }
}
