//! supd's configuration: a TOML file in, a validated [`Config`] out.
//!
//! This crate owns the config contract of DESIGN.md: which keys exist, their defaults, their
//! types, and the error messages a user sees. It is pure: no process, no socket, no clock; the
//! only I/O is reading the files the config names — the file itself, the files of
//! `[supd] include` (listing the directories of their globs) and `env_file`s — and `$VAR`s
//! through an injected lookup.
//!
//! One config can be several files: `[supd] include = ["conf.d/*.toml"]` adds the
//! `[program.*]` tables of other files ([`include`] owns the pattern rules), and `env_file`
//! (in `[supd]` and per program) reads variables in docker compose's `.env` syntax. Which
//! programs run depends on the active profiles ([`LoadOptions`]), and `instances = N` turns
//! one table into `N` programs `NAME:0` .. `NAME:N-1`. `[group.NAME] programs = [...]`
//! names several programs at once for the command line ([`GroupSpec`]).
//!
//! Reading happens in two stages:
//! 1. **Syntax**: the TOML text is parsed into a spanned document tree (every key and value
//!    keeps its byte range, so every message can name its line).
//! 2. **Schema**: the tree is walked against the schema of DESIGN.md. Unknown keys (with the
//!    supd spelling of a supervisord key, else the nearest known key), wrong types, bad
//!    durations, signals, modes, missing `command`, unknown `depends_on` and group members,
//!    dependency cycles and unset `${VAR}`s are all collected; the walk never stops at the
//!    first problem.
//!
//! Either stage's problems come back together as [`Diagnostics`], one [`Diagnostic`] each,
//! sorted by line. A caller prints them, one per line, and exits 2. A file is always TOML:
//! supervisord's `[program:x]` headers are syntax errors that say how to write them.
//!
//! A valid [`Config`] keeps where each key was written ([`Locations`]), so the problems a
//! caller finds later on the machine (an unknown user, a missing directory) name a file
//! and line too ([`Config::program_problem`]).

mod diagnostic;
pub mod duration;
mod envfile;
pub mod event_types;
pub mod include;
mod interpolate;
mod parse;
pub mod signal;
mod spec;

pub use diagnostic::{Diagnostic, Diagnostics, io_reason, shorten};
pub use spec::*;

use std::path::Path;

/// The keys each table accepts (DESIGN.md's schema), for tools and tests that write configs.
pub mod keys {
    pub use crate::parse::SUPD_KEYS;
    pub use crate::parse::group::GROUP_KEYS;
    pub use crate::parse::health::HEALTH_KEYS;
    pub use crate::parse::http::{HTTP_KEYS, LISTEN_KEYS};
    pub use crate::parse::program::{LISTENER_KEYS, PROGRAM_KEYS};
    pub use crate::parse::sockets::SOCKET_KEYS;
    pub use crate::parse::watch::WATCH_KEYS;
}

/// Reads and validates the config file at `path` (and the files it names), interpolating
/// `${VAR}` from supd's own environment, with no active profile.
pub fn load(path: &Path) -> Result<Config, Diagnostics> {
    load_with(path, &LoadOptions::default())
}

/// Like [`load`], with `options` (the active profiles).
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Config, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| Diagnostics::io(path, &e))?;
    parse_str_with(&text, path, &|name| std::env::var(name).ok(), options)
}

/// Validates config `text` as if read from `path` (used for messages and to resolve relative
/// paths, including those of includes and env files, which are read from disk), with
/// `${VAR}` looked up through `env` and no active profile.
pub fn parse_str(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Diagnostics> {
    parse_str_with(text, path, env, &LoadOptions::default())
}

/// Like [`parse_str`], with `options` (the active profiles).
pub fn parse_str_with(
    text: &str,
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    options: &LoadOptions,
) -> Result<Config, Diagnostics> {
    parse::parse(text, path, env, options)
}

/// Only the `[supd] socket` key of the file at `path` (default [`DEFAULT_SOCKET`]), resolved
/// like [`load`] resolves it. Problems elsewhere in the file are ignored: `supctl` must find
/// the socket even when someone is halfway through editing a program.
pub fn socket_path(path: &Path) -> Result<std::path::PathBuf, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| Diagnostics::io(path, &e))?;
    socket_path_in(&text, path)
}

/// [`socket_path`] of config `text` as if read from `path` (a supervisord file converted in
/// memory, for instance).
pub fn socket_path_in(text: &str, path: &Path) -> Result<std::path::PathBuf, Diagnostics> {
    parse::socket_only(text, path, &|name| std::env::var(name).ok())
}

/// The candidate nearest to `word` when it is a plausible typo of it (for "did you mean"
/// messages about program names and keys alike).
pub fn closest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    parse::suggest::nearest(word, &candidates)
}

impl std::str::FromStr for UserSpec {
    type Err = String;

    /// `"name"`, `"uid"`, `"name:group"` or `"uid:gid"`, as the `user` key reads them (used by
    /// `supd exec --user`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse::program::parse_user(s)
    }
}
