//! The `.env` file syntax of docker compose, for `env_file`.
//!
//! This module owns the syntax and nothing else (reading the file and deciding what the
//! variables are used for belong to [`crate::parse`]). One variable per line:
//!
//! - `KEY=VALUE`; white space around `KEY` and `=` is ignored; an optional `export ` prefix
//!   is ignored too, so a file written for `source` works.
//! - Blank lines and lines starting with `#` are skipped.
//! - Unquoted values are trimmed, and end at a `#` that follows white space
//!   (`KEY=a #note` is `a`, `KEY=a#b` is `a#b`).
//! - `'single quotes'` are literal: no escapes.
//! - `"double quotes"` understand `\n`, `\r`, `\t`, `\"` and `\\`; any other backslash is
//!   kept as written.
//! - A quoted value may span lines; after its closing quote only white space or a
//!   `# comment` may follow.
//! - A key set twice keeps its last value.
//!
//! Values are taken literally: `${VAR}` inside an env file is not expanded. A value may
//! not contain a NUL character (no program could be given it).
//!
//! Every bad line is reported (not only the first), each with its 1-based line number.

/// One bad line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// 1-based.
    pub line: usize,
    /// The variable the line sets, when that much could be read.
    pub key: Option<String>,
    /// One sentence.
    pub message: String,
}

/// The variables of an env file in file order (a key set twice appears once, at its first
/// place, with its last value), and every bad line.
pub(crate) fn parse(text: &str) -> (Vec<(String, String)>, Vec<Problem>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut problems = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let number = i + 1;
        let (result, used) = entry(&lines[i..]);
        i += used.max(1);
        match result {
            Ok(None) => {}
            Ok(Some((key, value))) => match vars.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => vars.push((key, value)),
            },
            Err((key, message)) => problems.push(Problem {
                line: number,
                key,
                message,
            }),
        }
    }
    (vars, problems)
}

type Entry = Result<Option<(String, String)>, (Option<String>, String)>;

/// The entry starting at `lines[0]`, and how many lines it used.
fn entry(lines: &[&str]) -> (Entry, usize) {
    let line = lines[0].trim_start();
    if line.is_empty() || line.starts_with('#') {
        return (Ok(None), 1);
    }
    let line = strip_export(line);
    let Some((key, rest)) = line.split_once('=') else {
        let message = format!(
            "expected KEY=VALUE, found {:?}",
            crate::diagnostic::shorten(line.trim_end())
        );
        return (Err((None, message)), 1);
    };
    let key = key.trim();
    if !is_key(key) {
        let message = format!(
            "invalid variable name {:?} (expected letters, digits, \"_\", \".\" and \"-\", \
             not starting with a digit)",
            crate::diagnostic::shorten(key)
        );
        return (Err((None, message)), 1);
    }
    let named = |message: String| Err((Some(key.to_string()), message));
    let trimmed = rest.trim_start();
    let (value, used) = match trimmed.chars().next() {
        Some(quote @ ('\'' | '"')) => {
            let mut tail_lines = vec![&trimmed[1..]];
            tail_lines.extend_from_slice(&lines[1..]);
            match quoted(&tail_lines, quote) {
                Some((value, used, after)) => {
                    let after = after.trim_start();
                    if !(after.is_empty() || after.starts_with('#')) {
                        let message = format!(
                            "unexpected text {:?} after the closing quote (put the whole \
                             value in the quotes)",
                            crate::diagnostic::shorten(after.trim_end())
                        );
                        return (named(message), used);
                    }
                    (value, used)
                }
                None => {
                    let which = if quote == '"' { "double" } else { "single" };
                    let message = format!("the {which} quote of this value is never closed");
                    return (named(message), 1);
                }
            }
        }
        _ => (unquoted(rest), 1),
    };
    if value.contains('\0') {
        let message = "the value contains a NUL character, which is not allowed".to_string();
        return (named(message), used);
    }
    (Ok(Some((key.to_string(), value))), used)
}

/// `export KEY=...` -> `KEY=...`.
fn strip_export(line: &str) -> &str {
    match line.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
        _ => line,
    }
}

/// `[A-Za-z_][A-Za-z0-9_.-]*`.
fn is_key(key: &str) -> bool {
    let mut chars = key.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        }
        _ => false,
    }
}

/// An unquoted value: up to a `#` that follows white space, trimmed.
fn unquoted(rest: &str) -> String {
    let mut end = rest.len();
    let mut previous_blank = false;
    for (i, c) in rest.char_indices() {
        if c == '#' && previous_blank {
            end = i;
            break;
        }
        previous_blank = c == ' ' || c == '\t';
    }
    rest[..end].trim().to_string()
}

/// A quoted value whose text starts at `lines[0]` (just after the opening quote): the value,
/// how many lines it used, and the text after the closing quote. `None` when it never
/// closes.
fn quoted<'l>(lines: &[&'l str], quote: char) -> Option<(String, usize, &'l str)> {
    let mut value = String::new();
    for (n, line) in lines.iter().enumerate() {
        if n > 0 {
            value.push('\n');
        }
        let mut chars = line.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                return Some((value, n + 1, &line[i + 1..]));
            }
            if c == '\\' && quote == '"' {
                match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, 'r')) => value.push('\r'),
                    Some((_, 't')) => value.push('\t'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, other)) => {
                        value.push('\\');
                        value.push(other);
                    }
                    None => value.push('\\'),
                }
            } else {
                value.push(c);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &str) -> Vec<(String, String)> {
        let (vars, problems) = parse(text);
        assert!(problems.is_empty(), "{problems:?}");
        vars
    }

    fn one(text: &str) -> String {
        let all = vars(text);
        assert_eq!(all.len(), 1, "{all:?}");
        all[0].1.clone()
    }

    #[test]
    fn unquoted_values_are_trimmed_and_end_at_a_comment() {
        assert_eq!(one("A=b"), "b");
        assert_eq!(one("  A =  b c  "), "b c");
        assert_eq!(one("A=b # note"), "b");
        assert_eq!(one("A=b#c"), "b#c");
        assert_eq!(one("A=#c"), "#c");
        assert_eq!(one("A= #c"), "");
        assert_eq!(one("A="), "");
        assert_eq!(one("A=x=y"), "x=y");
        assert_eq!(one("A=\"b\"\r\n"), "b");
    }

    #[test]
    fn quotes() {
        assert_eq!(one(r"A='b \n # c'"), r"b \n # c");
        assert_eq!(one(r#"A="b\n\"c\"\\ \x""#), "b\n\"c\"\\ \\x");
        assert_eq!(one("A=\"two\nlines\""), "two\nlines");
        assert_eq!(one("A='x' # note"), "x");
        assert_eq!(one("A=\"\""), "");
    }

    #[test]
    fn comments_blank_lines_and_export() {
        let text = "\u{feff}# top\n\nexport A=1\n   # indented\nexported=2\nA=3\n";
        assert_eq!(
            vars(text),
            [
                ("A".to_string(), "3".to_string()),
                ("exported".to_string(), "2".to_string())
            ]
        );
    }

    #[test]
    fn bad_lines_are_all_reported_with_their_numbers() {
        let (vars, problems) = parse("A=1\nno equals\n1X=2\nB=\"open\nC='x' y\nD=4\n");
        assert_eq!(
            vars,
            [
                ("A".to_string(), "1".to_string()),
                ("D".to_string(), "4".to_string())
            ]
        );
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [2, 3, 4, 5], "{problems:?}");
        assert!(problems[0].message.starts_with("expected KEY=VALUE"));
        assert!(
            problems[1]
                .message
                .starts_with("invalid variable name \"1X\"")
        );
        assert_eq!(
            problems[2].message,
            "the double quote of this value is never closed"
        );
        assert_eq!(problems[3].key.as_deref(), Some("C"));
        assert!(problems[3].message.contains("after the closing quote"));
    }

    #[test]
    fn no_input_panics() {
        const ALPHABET: &[&str] = &[
            "A", "=", "'", "\"", "\\", "#", " ", "\t", "\n", "\r", "export ", "x", "1", "é",
            "\u{feff}",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let mut text = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 24) as usize;
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(ALPHABET[(seed % ALPHABET.len() as u64) as usize]);
            }
            let (_, problems) = parse(&text);
            let lines = text.split('\n').count();
            assert!(
                problems.iter().all(|p| p.line >= 1 && p.line <= lines),
                "{text:?}"
            );
        }
    }
}
