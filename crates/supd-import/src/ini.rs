//! supervisord's INI dialect: text -> sections of `key = value` options, with line numbers.
//!
//! This module owns the syntax and nothing else (it does not know which sections or keys
//! exist). It reads the text the way supervisord's parser does, which is Python's
//! `configparser.RawConfigParser` with `inline_comment_prefixes = (";", "#")` and
//! `strict = False`:
//! - `[header]` opens a section; the header is everything between the first `[` and the
//!   last `]` of the line. Section names are case-sensitive.
//! - `key = value` or `key: value` (whichever delimiter comes first); keys are lowercased,
//!   keys and values are trimmed.
//! - A line whose first non-blank character is `;` or `#` is a comment. Inside a line, `;`
//!   or `#` starts a comment only at the start of the line or after whitespace, so
//!   `a=b;c` keeps `b;c` (supervisord's documented rule); the search for that comment start
//!   follows configparser's loop exactly.
//! - A line indented deeper than its key line continues the value (joined with `\n`); blank
//!   lines inside a value are kept, trailing ones dropped.
//! - A section header seen twice merges into the first; a key set twice keeps its place
//!   and takes the later value. Both are recorded so the caller can report them.
//!
//! It never panics; the first line it cannot read is the error.

/// A parsed file: its sections in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ini {
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    /// The text between the brackets, as written.
    pub name: String,
    /// 1-based line of the first header.
    pub line: usize,
    /// Lines of later headers with the same name (merged into this section).
    pub repeated_at: Vec<usize>,
    pub options: Vec<Opt>,
}

impl Section {
    pub fn get(&self, key: &str) -> Option<&Opt> {
        self.options.iter().find(|o| o.key == key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opt {
    /// Lowercased.
    pub key: String,
    /// Trimmed; continuation lines joined with `\n`.
    pub value: String,
    /// 1-based line of the key (of the last definition when the key was set twice).
    pub line: usize,
    /// Line of the earlier definition this one replaced, if any.
    pub replaced: Option<usize>,
}

/// Why a line could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// Python's `str.isspace`: Unicode white space plus the ASCII separators 0x1c..=0x1f.
pub(crate) fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

/// Parses a whole file.
pub(crate) fn parse(text: &str) -> Result<Ini, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sections: Vec<Section> = Vec::new();
    // Value lines of every option, parallel to `sections[i].options[j]`.
    let mut lines_of: Vec<Vec<Vec<String>>> = Vec::new();
    let mut current: Option<usize> = None;
    let mut option: Option<usize> = None;
    let mut indent_level = 0usize;

    for (index, raw) in text.split('\n').enumerate() {
        let lineno = index + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.contains('\0') {
            return Err(SyntaxError {
                line: lineno,
                message: "the line contains a NUL character".to_string(),
            });
        }
        let comment = comment_start(raw);
        let value = py_strip(&raw[..comment.unwrap_or(raw.len())]);
        if value.is_empty() {
            // configparser keeps blank lines inside a value (not comment lines).
            if comment.is_none()
                && let (Some(s), Some(o)) = (current, option)
            {
                lines_of[s][o].push(String::new());
            }
            continue;
        }
        let indent = raw.chars().take_while(|c| py_isspace(*c)).count();
        if let (Some(s), Some(o)) = (current, option)
            && indent > indent_level
        {
            lines_of[s][o].push(value.to_string());
            continue;
        }
        indent_level = indent;
        if let Some(name) = section_header(value) {
            option = None;
            match sections.iter().position(|s| s.name == name) {
                Some(s) => {
                    sections[s].repeated_at.push(lineno);
                    current = Some(s);
                }
                None => {
                    sections.push(Section {
                        name: name.to_string(),
                        line: lineno,
                        repeated_at: Vec::new(),
                        options: Vec::new(),
                    });
                    lines_of.push(Vec::new());
                    current = Some(sections.len() - 1);
                }
            }
            continue;
        }
        let Some(s) = current else {
            return Err(SyntaxError {
                line: lineno,
                message: format!(
                    "expected a [section] header before {:?}",
                    crate::shorten(value)
                ),
            });
        };
        let Some(delim) = value.find(['=', ':']) else {
            return Err(SyntaxError {
                line: lineno,
                message: format!(
                    "expected \"key = value\", a [section] header or a comment, found {:?}",
                    crate::shorten(value)
                ),
            });
        };
        let key = py_strip(&value[..delim]).to_lowercase();
        if key.is_empty() {
            return Err(SyntaxError {
                line: lineno,
                message: format!(
                    "missing key before {:?} in {:?}",
                    &value[delim..=delim],
                    crate::shorten(value)
                ),
            });
        }
        let val = py_strip(&value[delim + 1..]).to_string();
        let section = &mut sections[s];
        match section.options.iter().position(|o| o.key == key) {
            Some(o) => {
                let old = &mut section.options[o];
                old.replaced = Some(old.line);
                old.line = lineno;
                lines_of[s][o] = vec![val];
                option = Some(o);
            }
            None => {
                section.options.push(Opt {
                    key,
                    value: String::new(),
                    line: lineno,
                    replaced: None,
                });
                lines_of[s].push(vec![val]);
                option = Some(section.options.len() - 1);
            }
        }
    }

    for (section, lines) in sections.iter_mut().zip(lines_of) {
        for (opt, value_lines) in section.options.iter_mut().zip(lines) {
            opt.value = value_lines
                .join("\n")
                .trim_end_matches(py_isspace)
                .to_string();
        }
    }
    Ok(Ini { sections })
}

/// `[header]` -> `header` (first `[` to last `]`, at least one character), like
/// configparser's `\[(?P<header>.+)\]` matched at the start of the trimmed line.
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    (close > 0).then(|| &rest[..close])
}

/// Where the comment of `line` starts, if it has one: configparser's loop over the inline
/// prefixes `;` and `#` (an occurrence counts at the start of the line or after white
/// space), then the full-line rule (first non-blank character is `;` or `#`).
fn comment_start(line: &str) -> Option<usize> {
    let mut start = usize::MAX;
    // (prefix, index of its last occurrence looked at); None is Python's -1.
    let mut prefixes: Vec<(char, Option<usize>)> = vec![(';', None), ('#', None)];
    while start == usize::MAX && !prefixes.is_empty() {
        let mut next = Vec::new();
        for (prefix, last) in prefixes {
            let from = last.map_or(0, |i| i + 1);
            let Some(found) = line.get(from..).and_then(|s| s.find(prefix)) else {
                continue;
            };
            let found = found + from;
            next.push((prefix, Some(found)));
            let after_space = line[..found].chars().next_back().is_some_and(py_isspace);
            if found == 0 || after_space {
                start = start.min(found);
            }
        }
        prefixes = next;
    }
    if py_strip(line).starts_with([';', '#']) {
        start = 0;
    }
    (start != usize::MAX).then_some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(text: &str) -> Vec<(String, String, String, usize)> {
        let ini = parse(text).unwrap();
        ini.sections
            .iter()
            .flat_map(|s| {
                s.options
                    .iter()
                    .map(|o| (s.name.clone(), o.key.clone(), o.value.clone(), o.line))
            })
            .collect()
    }

    fn one(text: &str) -> String {
        let all = opts(text);
        assert_eq!(all.len(), 1, "{all:?}");
        all[0].2.clone()
    }

    #[test]
    fn sections_keys_and_both_delimiters() {
        let got =
            opts("[program:web]\ncommand = run it\nDirectory: /app\n\n[group:g]\nprograms=web");
        assert_eq!(
            got,
            vec![
                ("program:web".into(), "command".into(), "run it".into(), 2),
                ("program:web".into(), "directory".into(), "/app".into(), 3),
                ("group:g".into(), "programs".into(), "web".into(), 6),
            ]
        );
    }

    #[test]
    fn the_first_delimiter_splits_key_and_value() {
        assert_eq!(one("[a]\nx: y=z"), "y=z");
        assert_eq!(one("[a]\nx = unix:///tmp/s.sock"), "unix:///tmp/s.sock");
        let ini = parse("[r]\nsupervisor.rpcinterface_factory = a.b:c").unwrap();
        assert_eq!(
            ini.sections[0].options[0].key,
            "supervisor.rpcinterface_factory"
        );
        assert_eq!(ini.sections[0].options[0].value, "a.b:c");
    }

    #[test]
    fn comments_need_white_space_before_them() {
        assert_eq!(one("[a]\nk=b;c"), "b;c");
        assert_eq!(one("[a]\nk=b ;c"), "b");
        assert_eq!(one("[a]\nk=b\t# c"), "b");
        assert_eq!(one("[a]\nk=b#c"), "b#c");
        assert_eq!(one("; top\n# top\n[a]\n  ; indented comment\nk=v"), "v");
        assert_eq!(
            one("[a]\ncommand=bash -c 'foo ; bar'"),
            "bash -c 'foo",
            "supervisord truncates like this"
        );
    }

    #[test]
    fn comment_search_follows_configparser_loop() {
        // Second `;` (after space) is found in the second round before the third `#`.
        // Python: line.find per prefix per round; min of qualifying ones in that round.
        assert_eq!(one("[a]\nk=x;y#z#w ;q #r"), "x;y#z#w");
    }

    #[test]
    fn continuation_lines_join_with_newlines() {
        let text = "[program:x]\nenvironment=\n    A=\"1\",\n\n    B=\"2\" ; comment\n  ; comment line\nautostart=true\n";
        let got = opts(text);
        assert_eq!(got[0].2, "\nA=\"1\",\n\nB=\"2\"");
        assert_eq!(got[1].1, "autostart");
        assert_eq!(got[1].3, 7);
    }

    #[test]
    fn trailing_blank_lines_are_dropped_from_values() {
        assert_eq!(one("[a]\nk=v\n  more\n\n\n"), "v\nmore");
    }

    #[test]
    fn indented_first_key_sets_the_indent_level() {
        let got = opts("[a]\n  k=v\n  j=w\n    cont");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].2, "w\ncont");
    }

    #[test]
    fn repeated_sections_merge_and_later_keys_win() {
        let ini = parse("[a]\nk=1\nj=2\n[b]\n[a]\nk=3\n").unwrap();
        assert_eq!(ini.sections.len(), 2);
        let a = &ini.sections[0];
        assert_eq!(a.repeated_at, vec![5]);
        assert_eq!(a.options[0].value, "3");
        assert_eq!(a.options[0].line, 6);
        assert_eq!(a.options[0].replaced, Some(2));
        assert_eq!(a.options[1].key, "j");
    }

    #[test]
    fn headers_take_first_to_last_bracket() {
        let ini = parse("[program:x] ; comment\n[a]b]junk\n").unwrap();
        assert_eq!(ini.sections[0].name, "program:x");
        assert_eq!(ini.sections[1].name, "a]b");
    }

    #[test]
    fn crlf_and_bom_are_accepted() {
        let ini = parse("\u{feff}[a]\r\nk = v \r\n").unwrap();
        assert_eq!(ini.sections[0].options[0].value, "v");
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("k=v\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("[section]"), "{}", e.message);
        let e = parse("[a]\nk=v\njust words\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("\"just words\""), "{}", e.message);
        let e = parse("[a]\n = v\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.starts_with("missing key"), "{}", e.message);
        assert_eq!(parse("[]\n").unwrap_err().line, 1);
        assert_eq!(parse("[a]\nk=\0\n").unwrap_err().line, 2);
    }
}
