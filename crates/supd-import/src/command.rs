//! `command`: supervisord's splitting, the gosu/su-exec prefix, and string-or-array output.
//!
//! supervisord runs `command` without a shell: it splits the (expanded) value with Python's
//! `shlex.split` (POSIX rules, no comments) and execs the result. supd splits a string
//! command with `shell-words`, which differs in corners (`#` starts a comment, `\$` in
//! double quotes). [`convert`] keeps the string when both splits agree, else writes the
//! argv supervisord would have run as an array, so the program runs with the same argv.
//!
//! A leading `gosu USER` or `su-exec USER` (any path to them) is removed and returned as the
//! program's user: supd drops privileges itself, the way gosu does.

/// A token of the POSIX split, with the byte offset where it starts in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub text: String,
    pub start: usize,
}

/// Python's `shlex.split(s)` (POSIX mode, no comment characters).
pub(crate) fn posix_split(s: &str) -> Result<Vec<Token>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Space,
        Word,
        Quote(char),
        Escape { in_double: bool },
    }
    let mut tokens = Vec::new();
    let mut state = State::Space;
    let mut token = String::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match state {
            State::Space | State::Word if matches!(c, ' ' | '\t' | '\r' | '\n') => {
                if state == State::Word {
                    tokens.push(Token {
                        text: std::mem::take(&mut token),
                        start,
                    });
                }
                state = State::Space;
            }
            State::Space | State::Word => {
                if state == State::Space {
                    start = i;
                }
                match c {
                    '\'' | '"' => state = State::Quote(c),
                    '\\' => state = State::Escape { in_double: false },
                    _ => {
                        token.push(c);
                        state = State::Word;
                    }
                }
            }
            State::Quote(q) => {
                if c == q {
                    state = State::Word;
                } else if c == '\\' && q == '"' {
                    state = State::Escape { in_double: true };
                } else {
                    token.push(c);
                }
            }
            State::Escape { in_double } => {
                // Inside double quotes a backslash escapes only `"` and itself.
                if in_double && c != '"' && c != '\\' {
                    token.push('\\');
                }
                token.push(c);
                state = if in_double {
                    State::Quote('"')
                } else {
                    State::Word
                };
            }
        }
    }
    match state {
        State::Quote(_) => Err("it has no closing quotation mark".to_string()),
        State::Escape { .. } => Err("it ends with a lone backslash".to_string()),
        State::Word => {
            tokens.push(Token { text: token, start });
            Ok(tokens)
        }
        State::Space => Ok(tokens),
    }
}

/// How the command is written in the TOML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// A string supd splits into the same argv.
    Str(String),
    /// The argv, when no string would split the same way.
    Argv(Vec<String>),
}

impl Command {
    pub fn argv(&self) -> Vec<String> {
        match self {
            Command::Str(s) => shell_words::split(s).unwrap_or_default(),
            Command::Argv(argv) => argv.clone(),
        }
    }
}

/// A converted command, with the user of a stripped `gosu USER` / `su-exec USER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Converted {
    pub command: Command,
    /// `(wrapper as written, user)`.
    pub privilege_drop: Option<(String, String)>,
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Converts `rendered`, a command already expanded and escaped as a supd string.
pub(crate) fn convert(rendered: &str) -> Result<Converted, String> {
    let tokens =
        posix_split(rendered).map_err(|e| format!("cannot split the command into words: {e}"))?;
    let mut rest = tokens.as_slice();
    let mut offset = 0;
    let mut privilege_drop = None;
    if let [wrapper, user, command, ..] = rest
        && matches!(basename(&wrapper.text), "gosu" | "su-exec")
        && !user.text.is_empty()
    {
        privilege_drop = Some((wrapper.text.clone(), user.text.clone()));
        offset = command.start;
        rest = &rest[2..];
    }
    let argv: Vec<String> = rest.iter().map(|t| t.text.clone()).collect();
    match argv.first() {
        None => return Err("the command is empty".to_string()),
        Some(first) if first.is_empty() => {
            return Err("the program to run (the first word of the command) is empty".to_string());
        }
        Some(_) => {}
    }
    let text = rendered[offset..].trim();
    let command = match shell_words::split(text) {
        Ok(words) if words == argv => Command::Str(text.to_string()),
        _ => Command::Argv(argv),
    };
    Ok(Converted {
        command,
        privilege_drop,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        posix_split(s)
            .unwrap()
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn posix_split_matches_python_shlex() {
        assert_eq!(split("a 'b c' \"d e\""), ["a", "b c", "d e"]);
        assert_eq!(split("a\\ b c\\\\"), ["a b", "c\\"]);
        assert_eq!(split(r#""a\$b" "q\"q" 'x\y'"#), [r"a\$b", "q\"q", r"x\y"]);
        assert_eq!(split("x'' ''"), ["x", ""]);
        assert_eq!(split("echo #not-a-comment"), ["echo", "#not-a-comment"]);
        assert_eq!(split("  "), Vec::<String>::new());
        assert!(posix_split("a 'b").is_err());
        assert!(posix_split("a\\").is_err());
    }

    #[test]
    fn token_offsets() {
        let t = posix_split("gosu  app 'run x'").unwrap();
        assert_eq!(t.iter().map(|t| t.start).collect::<Vec<_>>(), [0, 6, 10]);
    }

    #[test]
    fn strings_that_split_the_same_stay_strings() {
        let c = convert("/usr/sbin/nginx -g \"daemon off;\"").unwrap();
        assert_eq!(
            c.command,
            Command::Str("/usr/sbin/nginx -g \"daemon off;\"".into())
        );
        assert_eq!(c.privilege_drop, None);
    }

    #[test]
    fn strings_that_split_differently_become_arrays() {
        let c = convert("echo #hash").unwrap();
        assert_eq!(
            c.command,
            Command::Argv(vec!["echo".into(), "#hash".into()])
        );
        let c = convert(r#"printf "a\$b""#).unwrap();
        assert_eq!(
            c.command,
            Command::Argv(vec!["printf".into(), r"a\$b".into()])
        );
    }

    #[test]
    fn gosu_and_su_exec_become_the_user() {
        let c = convert("gosu appuser daphne -b 0.0.0.0 -p 8000 config.asgi:application").unwrap();
        assert_eq!(
            c.command,
            Command::Str("daphne -b 0.0.0.0 -p 8000 config.asgi:application".into())
        );
        assert_eq!(c.privilege_drop, Some(("gosu".into(), "appuser".into())));
        let c = convert("/sbin/su-exec 1000:1000 'my prog' --flag").unwrap();
        assert_eq!(c.command, Command::Str("'my prog' --flag".into()));
        assert_eq!(
            c.privilege_drop,
            Some(("/sbin/su-exec".into(), "1000:1000".into()))
        );
        // gosu with nothing to run is left alone
        let c = convert("gosu appuser").unwrap();
        assert_eq!(c.privilege_drop, None);
        assert_eq!(c.command, Command::Str("gosu appuser".into()));
    }

    #[test]
    fn empty_commands_are_errors() {
        assert!(convert("").unwrap_err().contains("empty"));
        assert!(convert("''").unwrap_err().contains("empty"));
        assert!(convert("a 'b").unwrap_err().contains("closing quotation"));
    }
}
