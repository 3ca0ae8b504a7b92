//! `${VAR}` interpolation of config string values.
//!
//! This module owns the interpolation syntax of DESIGN.md and nothing else (it does not know
//! about keys or lines; the caller adds those):
//! - `${VAR}` is replaced by the value of `VAR`; unset is an error naming `VAR`.
//! - `${VAR:-default}` uses `default` when `VAR` is unset or empty (shell semantics).
//! - `$$` is a literal `$`, so `$${X}` gives the literal text `${X}`.
//! - A `$` followed by anything else is left alone, so `sh -c 'echo $HOME'` passes through
//!   untouched for the shell of the program to expand.
//!
//! Names are `[A-Za-z_][A-Za-z0-9_]*`. Defaults are literal text up to the first `}`.
//!
//! Where a variable's value comes from is the caller's business: it passes a lookup that
//! says, per name, [`Var::Set`], [`Var::Unset`] or [`Var::Refused`] (a name that may not be
//! used here at all, such as `INSTANCE` outside a program with instances).

use std::fmt;

/// Why a string could not be interpolated. Displays as one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Error {
    /// `${NAME}` with `NAME` unset and no default.
    Unset(String),
    /// A `${` with no closing `}`.
    Unterminated,
    /// `${...}` whose name is not `[A-Za-z_][A-Za-z0-9_]*`.
    BadName(String),
    /// A variable the lookup refused, with its one-sentence reason.
    Refused(String),
}

/// What a lookup knows about one variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Var {
    Set(String),
    Unset,
    /// The name may not be used here; the sentence says why.
    Refused(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unset(name) => write!(
                f,
                "environment variable {name} is not set (give a default with ${{{name}:-value}})"
            ),
            Error::Unterminated => f.write_str(
                "unterminated \"${\" (close it with \"}\", or write \"$${\" for a literal \"${\")",
            ),
            Error::BadName(name) => write!(
                f,
                "invalid variable name {name:?} in \"${{{name}}}\" (expected letters, digits \
                 and _, not starting with a digit, optionally followed by \":-default\")"
            ),
            Error::Refused(why) => f.write_str(why),
        }
    }
}

/// Replaces every `${VAR}` / `${VAR:-default}` in `s`, looking variables up with `env`.
pub(crate) fn interpolate(s: &str, env: &dyn Fn(&str) -> Var) -> Result<String, Error> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body_and_tail) = after.strip_prefix('{') {
            let close = body_and_tail.find('}').ok_or(Error::Unterminated)?;
            out.push_str(&expand(&body_and_tail[..close], env)?);
            rest = &body_and_tail[close + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of one `${...}` body: `NAME` or `NAME:-default`.
fn expand(body: &str, env: &dyn Fn(&str) -> Var) -> Result<String, Error> {
    let (name, default) = match body.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (body, None),
    };
    if !is_valid_name(name) {
        return Err(Error::BadName(name.to_string()));
    }
    match (env(name), default) {
        (Var::Refused(why), _) => Err(Error::Refused(why)),
        (Var::Set(value), Some(default)) if value.is_empty() => Ok(default.to_string()),
        (Var::Set(value), _) => Ok(value),
        (Var::Unset, Some(default)) => Ok(default.to_string()),
        (Var::Unset, None) => Err(Error::Unset(name.to_string())),
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/app".to_string()),
            "PATH" => Some("/usr/bin:/bin".to_string()),
            "EMPTY" => Some(String::new()),
            "_X1" => Some("x".to_string()),
            _ => None,
        }
    }

    fn run(s: &str) -> Result<String, Error> {
        interpolate(s, &|name| match name {
            "NOPE_REFUSED" => Var::Refused("not here".to_string()),
            _ => env(name).map_or(Var::Unset, Var::Set),
        })
    }

    #[test]
    fn refused_names_are_errors_even_with_a_default() {
        assert_eq!(
            run("${NOPE_REFUSED:-x}"),
            Err(Error::Refused("not here".to_string()))
        );
    }

    #[test]
    fn replaces_set_variables() {
        assert_eq!(run("${HOME}/.cache").as_deref(), Ok("/home/app/.cache"));
        assert_eq!(
            run("/app/.venv/bin:${PATH}").as_deref(),
            Ok("/app/.venv/bin:/usr/bin:/bin")
        );
        assert_eq!(run("${HOME}${_X1}").as_deref(), Ok("/home/appx"));
    }

    #[test]
    fn text_without_dollars_is_unchanged() {
        assert_eq!(run("").as_deref(), Ok(""));
        assert_eq!(run("plain text ü").as_deref(), Ok("plain text ü"));
    }

    #[test]
    fn default_is_used_when_unset_or_empty() {
        assert_eq!(run("${NOPE:-8000}").as_deref(), Ok("8000"));
        assert_eq!(run("${EMPTY:-dflt}").as_deref(), Ok("dflt"));
        assert_eq!(run("${HOME:-dflt}").as_deref(), Ok("/home/app"));
        assert_eq!(run("${NOPE:-}").as_deref(), Ok(""));
        assert_eq!(run("${NOPE:-a:-b}").as_deref(), Ok("a:-b"));
    }

    #[test]
    fn set_but_empty_without_default_is_empty() {
        assert_eq!(run("[${EMPTY}]").as_deref(), Ok("[]"));
    }

    #[test]
    fn double_dollar_is_a_literal_dollar() {
        assert_eq!(run("$${HOME}").as_deref(), Ok("${HOME}"));
        assert_eq!(run("cost: $$5").as_deref(), Ok("cost: $5"));
        assert_eq!(run("$$$$").as_deref(), Ok("$$"));
        assert_eq!(run("$$${HOME}").as_deref(), Ok("$/home/app"));
    }

    #[test]
    fn lone_dollar_is_left_alone() {
        assert_eq!(
            run("sh -c 'echo $HOME'").as_deref(),
            Ok("sh -c 'echo $HOME'")
        );
        assert_eq!(run("trailing $").as_deref(), Ok("trailing $"));
        assert_eq!(run("$1 $@ $(x)").as_deref(), Ok("$1 $@ $(x)"));
    }

    #[test]
    fn unset_without_default_names_the_variable() {
        let err = run("${FOO}").unwrap_err();
        assert_eq!(err, Error::Unset("FOO".to_string()));
        assert_eq!(
            err.to_string(),
            "environment variable FOO is not set (give a default with ${FOO:-value})"
        );
    }

    #[test]
    fn unterminated_is_an_error() {
        assert_eq!(run("${HOME"), Err(Error::Unterminated));
        assert_eq!(run("a ${"), Err(Error::Unterminated));
        assert!(run("${").unwrap_err().to_string().contains("unterminated"));
    }

    #[test]
    fn bad_names_are_errors() {
        assert_eq!(run("${}"), Err(Error::BadName(String::new())));
        assert_eq!(run("${1X}"), Err(Error::BadName("1X".to_string())));
        assert_eq!(run("${A B}"), Err(Error::BadName("A B".to_string())));
        assert_eq!(run("${A-b}"), Err(Error::BadName("A-b".to_string())));
        assert_eq!(run("${ü}"), Err(Error::BadName("ü".to_string())));
        assert!(
            run("${A B}")
                .unwrap_err()
                .to_string()
                .starts_with("invalid variable name \"A B\"")
        );
    }
}
