//! supervisord's `%(name)s` expansions, turned into supd strings.
//!
//! This module owns two things:
//! - [`expand`]: Python `%`-formatting with a mapping, as supervisord applies it to option
//!   values: `%(name)` followed by optional flags, width, precision and a conversion type
//!   (`%(process_num)02d`), and `%%` for a literal `%`. A name that the [`Ctx`] does not know
//!   is an error, and so is a lone `%` (Python would either fail or format the whole mapping
//!   into the text).
//! - [`Text`]: the result, literal text plus `${VAR}` references. `%(ENV_X)s` becomes
//!   `${X}` (supd interpolates its own environment at load time) unless `X` is set by the
//!   program's or `[supervisord]`'s `environment`, whose value is substituted instead
//!   (supervisord adds those to its `ENV_` names too, but supd's `${X}` would not see them).
//!   [`Text::render`] writes it as a supd string, doubling every literal `$` that supd would
//!   otherwise read as the start of `${...}` or `$$`.
//! - `%(process_num)`: the number of one process of a `numprocs` section (each process
//!   becomes a program of its own, named by its `process_name`).
//!
//! Values that supd does not interpolate (booleans, integers, program names, include globs)
//! go through [`Text::resolve`], which looks `${X}` up at import time instead.

use std::fmt::Write as _;

/// What a `%(name)s` stands for while one value is expanded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ctx<'a> {
    /// `%(here)s`: the directory of the file the value comes from.
    pub here: &'a str,
    pub program_name: Option<&'a str>,
    pub group_name: Option<&'a str>,
    pub process_num: Option<ProcessNum>,
    pub numprocs: Option<i64>,
    /// `ENV_X` names whose value is known now (program and `[supervisord]` environment),
    /// first match wins.
    pub env: Vec<&'a [(String, Text)]>,
}

/// What `%(process_num)` stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProcessNum {
    /// One process: its number.
    Fixed(i64),
}

/// One piece of a converted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Lit(String),
    /// A variable of supd's environment, written `${NAME}`.
    Var(String),
}

/// A value after expansion: literal text and `${VAR}` references, adjacent literals merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Text(pub Vec<Piece>);

impl Text {
    pub fn lit(s: &str) -> Self {
        let mut t = Text::default();
        t.push_lit(s);
        t
    }

    pub fn push_lit(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(Piece::Lit(last)) = self.0.last_mut() {
            last.push_str(s);
        } else {
            self.0.push(Piece::Lit(s.to_string()));
        }
    }

    pub fn push_var(&mut self, name: &str) {
        self.0.push(Piece::Var(name.to_string()));
    }

    pub fn append(&mut self, other: &Text) {
        for piece in &other.0 {
            match piece {
                Piece::Lit(s) => self.push_lit(s),
                Piece::Var(v) => self.push_var(v),
            }
        }
    }

    /// The text when it has no `${VAR}`.
    pub fn literal(&self) -> Option<String> {
        match self.0.as_slice() {
            [] => Some(String::new()),
            [Piece::Lit(s)] => Some(s.clone()),
            _ => None,
        }
    }

    pub fn has_vars(&self) -> bool {
        self.0.iter().any(|p| matches!(p, Piece::Var(_)))
    }

    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            Piece::Var(v) => Some(v.as_str()),
            Piece::Lit(_) => None,
        })
    }

    /// As a supd string: `${NAME}` for variables, and a literal `$` doubled when the next
    /// character is `{` or `$` (so supd reads it back as the same literal).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (i, piece) in self.0.iter().enumerate() {
            match piece {
                Piece::Var(name) => {
                    let _ = write!(out, "${{{name}}}");
                }
                Piece::Lit(s) => {
                    let next_piece_starts_with = match self.0.get(i + 1) {
                        Some(Piece::Var(_)) => Some('$'),
                        Some(Piece::Lit(next)) => next.chars().next(),
                        None => None,
                    };
                    let mut chars = s.chars().peekable();
                    while let Some(c) = chars.next() {
                        out.push(c);
                        if c == '$' {
                            let next = chars.peek().copied().or(next_piece_starts_with);
                            if matches!(next, Some('{' | '$')) {
                                out.push('$');
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// As text for messages and notes: variables as `${NAME}`, no escaping.
    pub fn display(&self) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Lit(s) => out.push_str(s),
                Piece::Var(v) => {
                    let _ = write!(out, "${{{v}}}");
                }
            }
        }
        out
    }

    /// The plain text with every variable looked up in `env` now. Errors name the first
    /// unset variable.
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Lit(s) => out.push_str(s),
                Piece::Var(v) => match env(v) {
                    Some(value) => out.push_str(&value),
                    None => {
                        return Err(format!(
                            "environment variable {v} is not set, and supd import needs its \
                             value now"
                        ));
                    }
                },
            }
        }
        Ok(out)
    }
}

/// Names supd can interpolate: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What one `%(...)` refers to.
enum Value {
    Text(Text),
    Number(i64),
}

/// The format after `%(name)`: flags, width, precision, conversion type.
#[derive(Debug, Default)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    width: Option<usize>,
    precision: Option<usize>,
    kind: char,
}

impl Spec {
    fn is_plain(&self) -> bool {
        !self.left
            && !self.zero
            && !self.plus
            && !self.space
            && !self.alt
            && self.width.is_none()
            && self.precision.is_none()
    }
}

/// Widths and precisions above this are refused (they would only build huge strings).
const MAX_WIDTH: usize = 256;

/// Expands every `%(name)...` and `%%` of `raw`. The error is one sentence naming the
/// offending expansion.
pub(crate) fn expand(raw: &str, ctx: &Ctx) -> Result<Text, String> {
    let mut out = Text::default();
    let mut rest = raw;
    while let Some(pct) = rest.find('%') {
        out.push_lit(&rest[..pct]);
        let after = &rest[pct + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push_lit("%");
            rest = tail;
            continue;
        }
        let Some(inner) = after.strip_prefix('(') else {
            return Err(format!(
                "a lone \"%\" in {:?} (write \"%%\" for a literal \"%\", or \"%(name)s\" for an \
                 expansion)",
                crate::shorten(raw)
            ));
        };
        // The name ends at the matching ")", nested parentheses included (like Python).
        let mut depth = 1usize;
        let mut close = None;
        for (i, c) in inner.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            return Err(format!(
                "unclosed \"%(\" in {:?} (expected \"%(name)s\")",
                crate::shorten(raw)
            ));
        };
        let name = &inner[..close];
        let (spec, used) = parse_spec(&inner[close + 1..]).ok_or_else(|| {
            format!(
                "incomplete expansion \"%({name})\" (expected a type such as \"s\" or \"d\" \
                 after it, as in \"%({name})s\")"
            )
        })?;
        let whole = format!("%({name}){}", &inner[close + 1..close + 1 + used]);
        let value = lookup(name, ctx).ok_or_else(|| unknown_name(name, ctx))?;
        format_value(&mut out, value, &spec, &whole)?;
        rest = &inner[close + 1 + used..];
    }
    out.push_lit(rest);
    Ok(out)
}

/// Parses `[flags][width][.precision][hlL]type`; returns the spec and the bytes used.
fn parse_spec(s: &str) -> Option<(Spec, usize)> {
    let mut spec = Spec::default();
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'-' => spec.left = true,
            b'0' => spec.zero = true,
            b'+' => spec.plus = true,
            b' ' => spec.space = true,
            b'#' => spec.alt = true,
            _ => break,
        }
        i += 1;
    }
    let digits = |i: &mut usize| -> Option<usize> {
        let start = *i;
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        // At most a few digits are meaningful; longer runs are clamped (and then refused).
        (start < *i).then(|| s[start..*i].parse::<usize>().unwrap_or(usize::MAX))
    };
    spec.width = digits(&mut i);
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        spec.precision = Some(digits(&mut i).unwrap_or(0));
    }
    if matches!(bytes.get(i), Some(b'h' | b'l' | b'L')) {
        i += 1;
    }
    let kind = s[i..].chars().next()?;
    spec.kind = kind;
    Some((spec, i + kind.len_utf8()))
}

fn lookup(name: &str, ctx: &Ctx) -> Option<Value> {
    if let Some(var) = name.strip_prefix("ENV_") {
        for layer in &ctx.env {
            if let Some((_, value)) = layer.iter().find(|(k, _)| k == var) {
                return Some(Value::Text(value.clone()));
            }
        }
        if !is_var_name(var) {
            return None;
        }
        let mut t = Text::default();
        t.push_var(var);
        return Some(Value::Text(t));
    }
    match name {
        "here" => Some(Value::Text(Text::lit(ctx.here))),
        "host_node_name" => {
            let mut t = Text::default();
            t.push_var("HOSTNAME");
            Some(Value::Text(t))
        }
        "program_name" => ctx.program_name.map(|s| Value::Text(Text::lit(s))),
        "group_name" => ctx.group_name.map(|s| Value::Text(Text::lit(s))),
        "process_num" => ctx.process_num.map(|ProcessNum::Fixed(n)| Value::Number(n)),
        "numprocs" => ctx.numprocs.map(Value::Number),
        _ => None,
    }
}

fn unknown_name(name: &str, ctx: &Ctx) -> String {
    if let Some(var) = name.strip_prefix("ENV_") {
        return format!(
            "\"%({name})s\" names the environment variable {var:?}, which supd cannot \
             interpolate (use letters, digits and _)"
        );
    }
    let mut known = vec!["ENV_*", "here", "host_node_name"];
    if ctx.program_name.is_some() {
        known.extend(["program_name", "group_name", "process_num", "numprocs"]);
    }
    let program_only = ["program_name", "group_name", "process_num", "numprocs"];
    if program_only.contains(&name) {
        return format!(
            "\"%({name})s\" is only available inside a [program:x] section (here: {})",
            known.join(", ")
        );
    }
    format!(
        "unknown expansion \"%({name})s\" (known names: {})",
        known.join(", ")
    )
}

fn format_value(out: &mut Text, value: Value, spec: &Spec, whole: &str) -> Result<(), String> {
    if spec.width.is_some_and(|w| w > MAX_WIDTH) || spec.precision.is_some_and(|p| p > MAX_WIDTH) {
        return Err(format!("the width or precision of {whole:?} is too large"));
    }
    match (value, spec.kind) {
        (Value::Text(t), 's') if spec.is_plain() => {
            out.append(&t);
            Ok(())
        }
        (Value::Text(t), 's') => match t.literal() {
            Some(s) => {
                let s: String = match spec.precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                };
                out.push_lit(&pad(s, spec));
                Ok(())
            }
            None => Err(format!(
                "{whole:?} applies a width or precision to an environment variable, which supd \
                 cannot do (write \"%(NAME)s\")"
            )),
        },
        (Value::Text(_), 'd' | 'i' | 'u' | 'x' | 'X' | 'o' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G') => {
            Err(format!(
                "{whole:?} formats text as a number (write it with \"s\", as in \"%(name)s\")"
            ))
        }
        (Value::Number(n), 's' | 'd' | 'i' | 'u' | 'x' | 'X' | 'o') => {
            out.push_lit(&format_number(n, spec));
            Ok(())
        }
        (_, kind) => Err(format!(
            "{whole:?} uses the conversion type {kind:?}, which supd import does not support \
             (use \"s\" or \"d\")"
        )),
    }
}

/// Python's `%s`, `%d`, `%x` or `%o` of an integer.
fn format_number(n: i64, spec: &Spec) -> String {
    if spec.kind == 's' {
        let s = n.to_string();
        let s: String = match spec.precision {
            Some(p) => s.chars().take(p).collect(),
            None => s,
        };
        pad(s, spec)
    } else {
        format_int(n, spec)
    }
}

/// Python's `%d`/`%x`/`%o` of an integer.
fn format_int(n: i64, spec: &Spec) -> String {
    let magnitude = n.unsigned_abs();
    let mut digits = match spec.kind {
        'x' => format!("{magnitude:x}"),
        'X' => format!("{magnitude:X}"),
        'o' => format!("{magnitude:o}"),
        _ => magnitude.to_string(),
    };
    if let Some(p) = spec.precision {
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let prefix = match (spec.alt, spec.kind) {
        (true, 'x') => "0x",
        (true, 'X') => "0X",
        (true, 'o') => "0o",
        _ => "",
    };
    let sign = if n < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let body = format!("{prefix}{digits}");
    let width = spec.width.unwrap_or(0);
    let len = sign.len() + body.len();
    if spec.zero && !spec.left && len < width {
        format!("{sign}{}{body}", "0".repeat(width - len))
    } else {
        pad(format!("{sign}{body}"), spec)
    }
}

/// Pads `s` with spaces to the spec's width (left-justified with `-`).
fn pad(s: String, spec: &Spec) -> String {
    let width = spec.width.unwrap_or(0);
    let len = s.chars().count();
    if len >= width {
        return s;
    }
    let fill = " ".repeat(width - len);
    if spec.left {
        format!("{s}{fill}")
    } else {
        format!("{fill}{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program_ctx() -> Ctx<'static> {
        Ctx {
            here: "/etc/supervisor",
            program_name: Some("worker"),
            group_name: Some("workers"),
            process_num: Some(ProcessNum::Fixed(7)),
            numprocs: Some(3),
            env: Vec::new(),
        }
    }

    fn run(raw: &str) -> Result<String, String> {
        expand(raw, &program_ctx()).map(|t| t.render())
    }

    #[test]
    fn env_becomes_supd_interpolation() {
        assert_eq!(
            run("/app/.venv/bin:%(ENV_PATH)s").as_deref(),
            Ok("/app/.venv/bin:${PATH}")
        );
        assert_eq!(
            run("%(ENV_HOME)s%(ENV_X_1)s").as_deref(),
            Ok("${HOME}${X_1}")
        );
    }

    #[test]
    fn env_set_by_an_environment_key_is_substituted() {
        let layer = vec![("PATH".to_string(), Text::lit("/opt/bin"))];
        let mut ctx = program_ctx();
        ctx.env.push(&layer);
        let t = expand("%(ENV_PATH)s:%(ENV_HOME)s", &ctx).unwrap();
        assert_eq!(t.render(), "/opt/bin:${HOME}");
    }

    #[test]
    fn here_program_group_and_numbers() {
        assert_eq!(
            run("%(here)s/app.sock").as_deref(),
            Ok("/etc/supervisor/app.sock")
        );
        assert_eq!(run("%(program_name)s").as_deref(), Ok("worker"));
        assert_eq!(run("%(group_name)s").as_deref(), Ok("workers"));
        assert_eq!(run("%(process_num)s").as_deref(), Ok("7"));
        assert_eq!(run("%(process_num)d").as_deref(), Ok("7"));
        assert_eq!(run("w%(process_num)02d").as_deref(), Ok("w07"));
        assert_eq!(
            run("%(process_num)03d/%(numprocs)d").as_deref(),
            Ok("007/3")
        );
        assert_eq!(run("[%(process_num)-3d]").as_deref(), Ok("[7  ]"));
        assert_eq!(
            run("%(process_num)+d %(process_num)#x").as_deref(),
            Ok("+7 0x7")
        );
        assert_eq!(run("%(process_num)05.3d").as_deref(), Ok("00007"));
        assert_eq!(
            run("[%(program_name)8s|%(program_name).2s]").as_deref(),
            Ok("[  worker|wo]")
        );
        assert_eq!(run("%(host_node_name)s").as_deref(), Ok("${HOSTNAME}"));
    }

    #[test]
    fn double_percent_is_a_literal_percent() {
        assert_eq!(run("date +%%Y-%%m").as_deref(), Ok("date +%Y-%m"));
        assert_eq!(run("100%%").as_deref(), Ok("100%"));
    }

    #[test]
    fn literal_dollars_are_escaped_only_where_supd_would_read_them() {
        assert_eq!(
            run("sh -c 'echo $HOME'").as_deref(),
            Ok("sh -c 'echo $HOME'")
        );
        // "$$" reads back as "$" + "$": the last one needs no doubling.
        assert_eq!(run("echo ${HOME} $$").as_deref(), Ok("echo $${HOME} $$$"));
        assert_eq!(run("a$%(ENV_X)s").as_deref(), Ok("a$$${X}"));
        assert_eq!(run("cost: $5$").as_deref(), Ok("cost: $5$"));
    }

    #[test]
    fn unknown_names_and_bad_formats_are_errors() {
        let e = run("%(nope)s").unwrap_err();
        assert!(e.starts_with("unknown expansion \"%(nope)s\""), "{e}");
        assert!(run("%(ENV_A B)s").unwrap_err().contains("\"A B\""));
        assert!(run("50% off").unwrap_err().contains("lone"));
        assert!(run("trailing %").unwrap_err().contains("lone"));
        assert!(run("%(here").unwrap_err().contains("unclosed"));
        assert!(run("%(here)").unwrap_err().contains("incomplete"));
        assert!(run("%(program_name)d").unwrap_err().contains("as a number"));
        assert!(
            run("%(process_num)f")
                .unwrap_err()
                .contains("conversion type")
        );
        assert!(
            run("%(process_num)99999999999999999999d")
                .unwrap_err()
                .contains("too large")
        );
        assert!(run("%(ENV_X)5s").unwrap_err().contains("width"));
    }

    #[test]
    fn program_names_outside_programs_say_where_they_work() {
        let ctx = Ctx {
            here: "/etc",
            ..Ctx::default()
        };
        let e = expand("%(program_name)s", &ctx).unwrap_err();
        assert!(e.contains("only available inside a [program:x]"), "{e}");
    }

    #[test]
    fn resolve_looks_variables_up_now() {
        let t = expand("%(ENV_N)s", &program_ctx()).unwrap();
        let env = |k: &str| (k == "N").then(|| "4".to_string());
        assert_eq!(t.resolve(&env).as_deref(), Ok("4"));
        let none = |_: &str| None;
        assert!(t.resolve(&none).unwrap_err().contains("N is not set"));
    }
}
