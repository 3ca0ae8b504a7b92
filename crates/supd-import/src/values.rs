//! supervisord's value types, read as supervisord reads them (its `datatypes.py`): booleans,
//! `autorestart`, integers, octal modes, exit-code lists, log file names, and the
//! `environment` syntax `KEY="value",KEY2=value2`.
//!
//! Every reader takes the text after `%(...)s` expansion (or, for `environment`, before it:
//! see [`environment`]) and returns a value or one sentence saying what was expected.

/// supervisord's `boolean`: yes/true/on/1 and no/false/off/0, any case.
pub(crate) fn boolean(s: &str) -> Result<bool, String> {
    match s.to_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!(
            "expected true or false, found {:?}",
            crate::shorten(s)
        )),
    }
}

/// `autorestart` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AutoRestart {
    Always,
    Never,
    Unexpected,
}

pub(crate) fn auto_restart(s: &str) -> Result<AutoRestart, String> {
    if s.eq_ignore_ascii_case("unexpected") {
        return Ok(AutoRestart::Unexpected);
    }
    match boolean(s) {
        Ok(true) => Ok(AutoRestart::Always),
        Ok(false) => Ok(AutoRestart::Never),
        Err(_) => Err(format!(
            "expected true, false or unexpected, found {:?}",
            crate::shorten(s)
        )),
    }
}

/// Python's `int()` of a decimal string: surrounding blanks, an optional sign, digits with
/// single `_` between them.
pub(crate) fn integer(s: &str) -> Result<i64, String> {
    parse_int(s, 10).ok_or_else(|| format!("expected an integer, found {:?}", crate::shorten(s)))
}

/// Python's `int(s, 8)`: octal digits, optionally `0o`-prefixed.
pub(crate) fn octal(s: &str) -> Result<u32, String> {
    let n = parse_int(s, 8).ok_or_else(|| {
        format!(
            "expected an octal number like 022, found {:?}",
            crate::shorten(s)
        )
    })?;
    u32::try_from(n).map_err(|_| format!("expected an octal number like 022, found {s:?}"))
}

fn parse_int(s: &str, radix: u32) -> Option<i64> {
    let t = crate::ini::py_strip(s);
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let t = if radix == 8 {
        t.strip_prefix("0o")
            .or_else(|| t.strip_prefix("0O"))
            .unwrap_or(t)
    } else {
        t
    };
    if t.is_empty() || t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return None;
    }
    let digits: String = t.chars().filter(|c| *c != '_').collect();
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let n = i64::from_str_radix(&digits, radix).ok()?;
    Some(if negative { -n } else { n })
}

/// supervisord's `byte_size` (`*_logfile_maxbytes`): an integer with an optional `KB`, `MB`
/// or `GB` suffix in any case, in units of 1024 bytes, 1024 × 1024 bytes and so on.
pub(crate) fn byte_size(s: &str) -> Result<u64, String> {
    let lower = s.to_lowercase();
    let units = [("kb", 1u64 << 10), ("mb", 1 << 20), ("gb", 1 << 30)];
    let (digits, unit) = units
        .iter()
        .find_map(|(suffix, unit)| lower.strip_suffix(suffix).map(|d| (d, *unit)))
        .unwrap_or((lower.as_str(), 1));
    parse_int(digits, 10)
        .and_then(|n| u64::try_from(n).ok())
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| {
            format!(
                "expected a size like 50MB, 512KB or 0, found {:?}",
                crate::shorten(s)
            )
        })
}

/// `exitcodes`: comma-separated integers from 0 to 255.
pub(crate) fn exit_codes(s: &str) -> Result<Vec<i32>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|part| match parse_int(part, 10) {
            Some(n @ 0..=255) => Ok(n as i32),
            _ => Err(format!(
                "expected exit codes from 0 to 255 separated by commas, found {:?}",
                crate::shorten(s)
            )),
        })
        .collect()
}

/// What a `stdout_logfile`/`stderr_logfile` value means to supervisord.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LogFile {
    /// `NONE` / `OFF`: no log file.
    None,
    /// `AUTO`: a file supervisord names itself in `childlogdir`.
    Auto,
    /// `syslog` (deprecated spelling of `*_syslog = true`).
    Syslog,
    Path(String),
}

pub(crate) fn log_file(s: &str) -> LogFile {
    match s.to_lowercase().as_str() {
        "none" | "off" => LogFile::None,
        "auto" => LogFile::Auto,
        "syslog" => LogFile::Syslog,
        _ => LogFile::Path(s.to_string()),
    }
}

/// One `KEY=value` pair of an `environment` value: the value is still raw (its `%(...)s`
/// not yet expanded) and already stripped of its quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvPair {
    pub key: String,
    pub raw_value: String,
}

/// A token of supervisord's `environment` lexer (Python `shlex` in non-POSIX mode, with
/// `/.+-():` added to the word characters).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Punct(char),
}

/// Parses `KEY="value",KEY2=value2` (quotes allow commas and spaces in values; continuation
/// lines are just more white space).
///
/// Tokens are read like supervisord's lexer; `%(...)s` expansions count as word characters,
/// which is what supervisord sees once they are expanded (it expands before lexing). The
/// grammar is stricter than supervisord's, which silently skips whatever token follows a
/// value: here that must be a comma, and each value must be a word or a quoted string, so
/// `PATH=$HOME` (which supervisord reads as `PATH="$"`) is an error that says to quote it.
pub(crate) fn environment(s: &str) -> Result<Vec<EnvPair>, String> {
    let tokens = env_tokens(s)?;
    let mut pairs: Vec<EnvPair> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let key = match &tokens[i] {
            Token::Word(w) => w.clone(),
            other => return Err(env_error(s, "a variable name", other)),
        };
        match tokens.get(i + 1) {
            Some(Token::Punct('=')) => {}
            Some(other) => return Err(env_error(s, &format!("\"=\" after {key}"), other)),
            None => return Err(format!("environment: {key} has no \"=value\"")),
        }
        let raw_value = match tokens.get(i + 2) {
            Some(Token::Word(w) | Token::Quoted(w)) => w.trim_matches(['\'', '"']).to_string(),
            Some(Token::Punct(c)) => {
                return Err(format!(
                    "environment: the value of {key} starts with {c:?}; put it in quotes, as in \
                     {key}=\"...\""
                ));
            }
            None => {
                return Err(format!(
                    "environment: {key}= has no value (write {key}=\"\" for an empty one)"
                ));
            }
        };
        match tokens.get(i + 3) {
            None | Some(Token::Punct(',')) => {}
            Some(Token::Punct(c)) => {
                return Err(format!(
                    "environment: the value of {key} is followed by {c:?}; put values with \
                     special characters in quotes, as in {key}=\"...\", and separate pairs with \
                     commas"
                ));
            }
            Some(_) => {
                return Err(format!(
                    "environment: expected a comma after the value of {key}; put values with \
                     spaces in quotes, as in {key}=\"...\""
                ));
            }
        }
        match pairs.iter_mut().find(|p| p.key == key) {
            Some(p) => p.raw_value = raw_value,
            None => pairs.push(EnvPair { key, raw_value }),
        }
        i += 4;
    }
    Ok(pairs)
}

fn env_error(s: &str, expected: &str, found: &Token) -> String {
    let found = match found {
        Token::Word(w) => format!("{w:?}"),
        Token::Quoted(q) => q.clone(),
        Token::Punct(c) => format!("{c:?}"),
    };
    format!(
        "environment: expected {expected}, found {found} in {:?} (the syntax is \
         KEY=\"value\",KEY2=\"value2\")",
        crate::shorten(s)
    )
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_/.+-():".contains(c)
}

/// The length in bytes of a `%(...)x` or `%%` at the start of `s`, if there is one.
fn expansion_len(s: &str) -> Option<usize> {
    if s.starts_with("%%") {
        return Some(2);
    }
    let inner = s.strip_prefix("%(")?;
    let close = inner.find(')')?;
    // flags, width, precision, then one type letter
    let spec_len = inner[close + 1..]
        .find(|c: char| c.is_ascii_alphabetic())
        .filter(|n| {
            inner[close + 1..close + 1 + n]
                .chars()
                .all(|c| c.is_ascii_digit() || "-+ #.".contains(c))
        })?;
    Some(2 + close + 1 + spec_len + 1)
}

fn env_tokens(s: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
            rest = &rest[1..];
        } else if c == '#' {
            return Err(
                "environment: an unquoted \"#\" starts a comment for supervisord; put the value \
                 in quotes"
                    .to_string(),
            );
        } else if c == '"' || c == '\'' {
            let body = &rest[1..];
            let Some(end) = body.find(c) else {
                return Err(format!(
                    "environment: no closing quotation mark in {:?}",
                    crate::shorten(s)
                ));
            };
            tokens.push(Token::Quoted(rest[..end + 2].to_string()));
            rest = &body[end + 1..];
        } else if is_word_char(c) || expansion_len(rest).is_some() {
            // A word: word characters, expansions, and (as in non-POSIX shlex) quote
            // characters after the first character.
            let mut end = 0;
            loop {
                let tail = &rest[end..];
                let Some(next) = tail.chars().next() else {
                    break;
                };
                if let Some(n) = expansion_len(tail) {
                    end += n;
                } else if is_word_char(next) || next == '"' || next == '\'' {
                    end += next.len_utf8();
                } else {
                    break;
                }
            }
            tokens.push(Token::Word(rest[..end].to_string()));
            rest = &rest[end..];
        } else {
            tokens.push(Token::Punct(c));
            rest = &rest[c.len_utf8()..];
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(s: &str) -> Vec<(String, String)> {
        environment(s)
            .unwrap()
            .into_iter()
            .map(|p| (p.key, p.raw_value))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn byte_sizes_are_read_like_supervisord_in_units_of_1024() {
        assert_eq!(byte_size("0"), Ok(0));
        assert_eq!(byte_size("1000"), Ok(1000));
        assert_eq!(byte_size("1KB"), Ok(1024));
        assert_eq!(byte_size("50MB"), Ok(50 << 20));
        assert_eq!(byte_size("2gb"), Ok(2 << 30));
        assert_eq!(byte_size(" 10 mB"), Ok(10 << 20));
        for bad in ["", "MB", "-1", "1.5MB", "1TB", "9999999999999GB", "1é"] {
            assert!(byte_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn environment_quoted_and_bare_values() {
        assert_eq!(
            env("HOME=\"/home/appuser\",NPM_CONFIG_CACHE=\"/home/appuser/.npm\""),
            pairs(&[
                ("HOME", "/home/appuser"),
                ("NPM_CONFIG_CACHE", "/home/appuser/.npm")
            ])
        );
        assert_eq!(
            env("A=1,B=/x/y.z-w+(v):u"),
            pairs(&[("A", "1"), ("B", "/x/y.z-w+(v):u")])
        );
        assert_eq!(env("A='single'"), pairs(&[("A", "single")]));
        assert_eq!(env(""), pairs(&[]));
        assert_eq!(env("A=1,"), pairs(&[("A", "1")]));
    }

    #[test]
    fn environment_commas_and_spaces_inside_quotes() {
        assert_eq!(
            env("OPTS=\"-a, -b c\",X=\"a=b;c\""),
            pairs(&[("OPTS", "-a, -b c"), ("X", "a=b;c")])
        );
    }

    #[test]
    fn environment_continuation_lines_and_blanks() {
        assert_eq!(
            env("\nA = \"1\",\n  B=\"2\",\nC=3"),
            pairs(&[("A", "1"), ("B", "2"), ("C", "3")])
        );
    }

    #[test]
    fn environment_expansions_are_word_characters() {
        assert_eq!(
            env("PATH=/app/.venv/bin:%(ENV_PATH)s,N=w%(process_num)02d,P=100%%"),
            pairs(&[
                ("PATH", "/app/.venv/bin:%(ENV_PATH)s"),
                ("N", "w%(process_num)02d"),
                ("P", "100%%")
            ])
        );
        assert_eq!(
            env("PATH=\"/usr/bin:%(ENV_PATH)s\""),
            pairs(&[("PATH", "/usr/bin:%(ENV_PATH)s")])
        );
    }

    #[test]
    fn environment_later_keys_win() {
        assert_eq!(env("A=1,B=2,A=3"), pairs(&[("A", "3"), ("B", "2")]));
    }

    #[test]
    fn environment_errors_say_to_quote() {
        for bad in [
            "PATH=$HOME",
            "A=1 B=2",
            "A",
            "A=",
            "=1",
            "A=\"unclosed",
            "A=x#y",
            "URL=postgres://u:p@host/db",
            "A=1;B=2",
        ] {
            let e = environment(bad).unwrap_err();
            assert!(e.starts_with("environment: "), "{bad}: {e}");
        }
        assert!(environment("PATH=$HOME").unwrap_err().contains("quotes"));
    }

    #[test]
    fn booleans_and_autorestart() {
        for t in ["true", "TRUE", "yes", "on", "1"] {
            assert_eq!(boolean(t), Ok(true));
        }
        for f in ["false", "No", "off", "0"] {
            assert_eq!(boolean(f), Ok(false));
        }
        assert!(boolean("maybe").is_err());
        assert_eq!(auto_restart("true"), Ok(AutoRestart::Always));
        assert_eq!(auto_restart("false"), Ok(AutoRestart::Never));
        assert_eq!(auto_restart("Unexpected"), Ok(AutoRestart::Unexpected));
        assert!(auto_restart("sometimes").is_err());
    }

    #[test]
    fn integers_octals_exit_codes() {
        assert_eq!(integer(" 10 "), Ok(10));
        assert_eq!(integer("-2"), Ok(-2));
        assert_eq!(integer("1_000"), Ok(1000));
        assert!(integer("1.5").is_err());
        assert!(integer("").is_err());
        assert!(integer("99999999999999999999999").is_err());
        assert_eq!(octal("022"), Ok(0o22));
        assert_eq!(octal("0777"), Ok(0o777));
        assert_eq!(octal("0o700"), Ok(0o700));
        assert!(octal("089").is_err());
        assert_eq!(exit_codes("0,2"), Ok(vec![0, 2]));
        assert_eq!(exit_codes(" 0 , 3 "), Ok(vec![0, 3]));
        assert_eq!(exit_codes(""), Ok(vec![]));
        assert!(exit_codes("0,256").is_err());
        assert!(exit_codes("0,").is_err());
    }

    #[test]
    fn log_file_names() {
        assert_eq!(log_file("NONE"), LogFile::None);
        assert_eq!(log_file("off"), LogFile::None);
        assert_eq!(log_file("AUTO"), LogFile::Auto);
        assert_eq!(log_file("syslog"), LogFile::Syslog);
        assert_eq!(
            log_file("/var/log/x.log"),
            LogFile::Path("/var/log/x.log".into())
        );
    }
}
