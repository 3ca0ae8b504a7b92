//! supervisord config (INI) -> supd config (TOML), for `supd import FILE.conf` and
//! `supd --config FILE.conf`.
//!
//! This crate owns the migration contract: how each supervisord setting maps to supd, and
//! what the user is told when it does not. It is pure: no processes and no I/O; the caller
//! passes the text of each file and an environment lookup.
//!
//! # Theory of operation
//!
//! 1. [`ini`] reads each file the way supervisord's parser (Python `configparser`) does.
//! 2. [`convert`](mod@convert) walks the sections: `[supervisord]` first (its `user`,
//!    `directory`, `umask`, `environment` apply to every program), `[unix_http_server]`
//!    and `[inet_http_server]` into `[supd.http]` (with [`http`]), `[group:x]` into
//!    `[group.x]`, `[include]`/ignored sections into notes, and each `[program:x]` and
//!    `[eventlistener:x]` through [`program`], which uses [`expand`] for `%(name)s`,
//!    [`values`] for supervisord's value types and [`command`] for splitting, gosu and
//!    su-exec. Then [`entr`] recognises watcher programs, which become watch sections of
//!    the programs they restart; [`order`] turns `priority` into `depends_on`; and
//!    [`listener`] recognises the listeners that stop supervisord, which become
//!    `critical = true` on the programs they watched.
//! 3. [`render`] writes the TOML: a header, `[supd]` and `[supd.http]`, the programs and
//!    listeners in file order, each with comments for every setting that changed or has no
//!    equivalent, then the groups. The same notes come back as [`Conversion::notes`], one
//!    line each, for the caller to print; those about what supervisord ignores also as
//!    [`Conversion::warnings`].
//!
//! Unknown sections and options are ignored, as supervisord ignores them, each with a
//! note that is also a warning ([`Conversion::warnings`]) naming the nearest known key:
//! supervisord runs such files, so supd must too, and the warning surfaces the typos
//! supervisord silently dropped. Bad values and unknown `%(name)s` are errors, each one
//! [`ImportError`] naming the file and line, and so is what supd cannot run at all
//! (`[fcgi-program:x]`, whose held socket supd does not have yet).
//!
//! # Includes
//!
//! [`convert`] converts one file and does not follow `[include]`; it lists the include
//! patterns in [`Conversion::includes`], resolved against the file's directory. To merge
//! them, the caller globs each pattern (sorting the matches of each, as supervisord does),
//! reads the files, and calls [`convert_files`] with the main file first:
//!
//! ```
//! use std::path::Path;
//! use supd_import::{SourceFile, convert, convert_files};
//!
//! let main = "[include]\nfiles = conf.d/*.conf\n";
//! let env = |_: &str| None;
//! let first = convert(main, Path::new("/etc/supervisor/supervisord.conf"), &env).unwrap();
//! assert_eq!(first.includes, [Path::new("/etc/supervisor/conf.d/*.conf")]);
//! // ... glob and read; here one file matched:
//! let web = "[program:web]\ncommand = python -m http.server\n";
//! let merged = convert_files(
//!     &[
//!         SourceFile { path: Path::new("/etc/supervisor/supervisord.conf"), text: main },
//!         SourceFile { path: Path::new("/etc/supervisor/conf.d/web.conf"), text: web },
//!     ],
//!     &env,
//! )
//! .unwrap();
//! assert!(merged.toml.contains("[program.web]"));
//! ```
//!
//! `%(here)s` is the directory of the file that contains it, as given: pass absolute paths
//! to get absolute results.

mod command;
mod convert;
mod entr;
mod expand;
mod file;
mod http;
mod ini;
mod listener;
mod order;
mod program;
mod render;
mod values;

use std::fmt;
use std::path::{Path, PathBuf};

/// The result of a conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    /// The supd config.
    pub toml: String,
    /// One line per setting that had no equivalent or changed meaning, as
    /// `FILE:LINE: [section] key=value: what happened`. Each is also a comment in `toml`.
    pub notes: Vec<String>,
    /// The notes about what supervisord itself ignores (options and sections it does not
    /// know) and values that could not be read now: what `supd` prints as warnings when it
    /// runs the file directly (`supd import` prints every note).
    pub warnings: Vec<String>,
    /// The `[include] files` patterns of the main file, resolved against its directory and
    /// not yet globbed (see the crate docs).
    pub includes: Vec<PathBuf>,
}

/// One supervisord file: where it was read from (for messages and `%(here)s`) and its text.
#[derive(Debug, Clone, Copy)]
pub struct SourceFile<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

/// Why a conversion failed: one sentence about one line.
///
/// Displays as `FILE:LINE: message` (`FILE: message` when `line` is 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem is not on a line.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ImportError {}

pub use file::{convert_file, is_supervisord};
pub use program::PROGRAM_KEYS;

/// Converts supervisord INI text, read from `source`, to supd TOML text. `env` looks up
/// variables whose value is needed now (where supd cannot interpolate `${VAR}` itself, e.g.
/// `numprocs=%(ENV_N)s`); every other `%(ENV_X)s` becomes `${X}` for supd to interpolate
/// when it loads the file.
///
/// `[include]` is not followed: see [`Conversion::includes`] and [`convert_files`].
pub fn convert(
    ini: &str,
    source: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Conversion, ImportError> {
    convert_files(
        &[SourceFile {
            path: source,
            text: ini,
        }],
        env,
    )
}

/// Converts a main file (first) together with the files its `[include]` matched (in
/// supervisord's order) into one supd TOML text. A program defined in two files is an error
/// naming both. Event listener scripts are not read (only [`convert_file`] reads them), so
/// a listener is recognised as one that stops supervisord by its command or script name.
pub fn convert_files(
    files: &[SourceFile<'_>],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Conversion, ImportError> {
    convert::convert_files(files, env, &|_| None)
}

pub(crate) use supd_config::shorten;

/// The note about an option supervisord does not know in its section, which it ignores:
/// `KEY=VALUE: ignored, ...`, with the nearest known key.
pub(crate) fn ignored_option(key: &str, value: &str, known: &[&str]) -> String {
    let hint = supd_config::closest(key, known.iter().copied())
        .map(|k| format!(" (did you mean {k:?}?)"))
        .unwrap_or_default();
    format!(
        "{key}={}: ignored, as supervisord ignores options it does not know in this \
         section{hint}",
        shorten(value)
    )
}
