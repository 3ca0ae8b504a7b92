//! `[program.NAME.watch]`: which files to watch and what a change does.
//!
//! Paths are resolved here (against the program's `directory`, else the config file's
//! directory); globs get only the checks every glob dialect agrees on, the rest is left to the
//! daemon's matcher.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::walker::{Field, Walker, resolve, set};
use crate::spec::{PollMode, WatchAction, WatchSpec};

/// The keys of `[program.NAME.watch]`.
pub const WATCH_KEYS: &[&str] = &["paths", "include", "exclude", "debounce", "action", "poll"];

/// `[program.NAME.watch]`; relative paths resolve against `base`.
pub(super) fn watch(w: &mut Walker, field: Field, base: &Path) -> Option<WatchSpec> {
    let sec = w.table(field, "a table like [program.web.watch]")?;
    w.check_keys(&sec, WATCH_KEYS, &[]);
    let mut spec = WatchSpec {
        paths: vec![resolve(base, ".")],
        include: Vec::new(),
        exclude: Vec::new(),
        debounce: Duration::from_millis(200),
        action: WatchAction::Restart,
        poll: PollMode::Auto,
    };
    set(
        &mut spec.paths,
        sec.get("paths").and_then(|f| watch_paths(w, &f, base)),
    );
    set(
        &mut spec.include,
        sec.get("include").and_then(|f| globs(w, &f)),
    );
    set(
        &mut spec.exclude,
        sec.get("exclude").and_then(|f| globs(w, &f)),
    );
    set(
        &mut spec.debounce,
        sec.get("debounce").and_then(|f| w.duration(&f)),
    );
    set(
        &mut spec.action,
        sec.get("action").and_then(|f| watch_action(w, &f)),
    );
    set(&mut spec.poll, sec.get("poll").and_then(|f| poll(w, &f)));
    Some(spec)
}

fn watch_paths(w: &mut Walker, field: &Field, base: &Path) -> Option<Vec<PathBuf>> {
    let items = w.string_items(field, "an array of paths like [\".\"]")?;
    if items.is_empty() {
        w.bad(field, "expected at least one path, found an empty array");
        return None;
    }
    let mut paths = Vec::with_capacity(items.len());
    for (p, at) in items {
        if p.is_empty() {
            w.error(at, &field.key, "expected a path, found an empty string");
        } else {
            paths.push(resolve(base, &p));
        }
    }
    Some(paths)
}

fn globs(w: &mut Walker, field: &Field) -> Option<Vec<String>> {
    let items = w.string_items(field, "an array of globs like [\"**/*.py\"]")?;
    let mut globs = Vec::with_capacity(items.len());
    for (glob, at) in items {
        match glob_problem(&glob) {
            Some(problem) => w.error(at, &field.key, format!("invalid glob {glob:?}: {problem}")),
            None => globs.push(glob),
        }
    }
    Some(globs)
}

/// The problems every glob dialect agrees on: empty, or an unclosed `[` or `{`.
/// Anything subtler is left to the daemon's glob matcher.
fn glob_problem(glob: &str) -> Option<&'static str> {
    if glob.is_empty() {
        return Some("a glob must not be empty");
    }
    let mut in_class = false;
    let mut braces = 0usize;
    let mut chars = glob.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if !in_class => {
                chars.next();
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '{' if !in_class => braces += 1,
            '}' if !in_class => braces = braces.saturating_sub(1),
            _ => {}
        }
    }
    if in_class {
        Some("\"[\" is never closed")
    } else if braces > 0 {
        Some("\"{\" is never closed")
    } else {
        None
    }
}

/// `"restart"` or a signal name.
fn watch_action(w: &mut Walker, field: &Field) -> Option<WatchAction> {
    let s = w.string(field)?;
    if s == "restart" {
        return Some(WatchAction::Restart);
    }
    match crate::signal::parse(&s) {
        Ok(sig) => Some(WatchAction::Signal(sig)),
        Err(_) => {
            let message =
                format!("expected \"restart\" or a signal name like \"HUP\", found {s:?}");
            w.bad(field, message);
            None
        }
    }
}

/// `"auto"`, `"off"` or an interval greater than zero.
fn poll(w: &mut Walker, field: &Field) -> Option<PollMode> {
    let s = w.string(field)?;
    match s.as_str() {
        "auto" => return Some(PollMode::Auto),
        "off" => return Some(PollMode::Off),
        _ => {}
    }
    match crate::duration::parse(&s) {
        Ok(d) if d.is_zero() => {
            let message = format!("expected a poll interval greater than zero, found {s:?}");
            w.bad(field, message);
            None
        }
        Ok(d) => Some(PollMode::Interval(d)),
        Err(_) => {
            let message =
                format!("expected \"auto\", \"off\" or an interval like \"1s\", found {s:?}");
            w.bad(field, message);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_problems() {
        assert_eq!(glob_problem("**/*.py"), None);
        assert_eq!(glob_problem("*.{js,ts}"), None);
        assert_eq!(glob_problem("[abc]*"), None);
        assert_eq!(glob_problem("[\\]"), None);
        assert_eq!(glob_problem("\\[literal"), None);
        assert!(glob_problem("").is_some());
        assert!(glob_problem("src/[a").is_some());
        assert!(glob_problem("*.{js,ts").is_some());
    }
}
