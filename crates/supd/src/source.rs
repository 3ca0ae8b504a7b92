//! The config supd runs: a supd TOML file, or a supervisord file converted on the fly.
//!
//! This module owns the choice between the two (a `.toml` file is always TOML, whatever it
//! holds: supervisord's `[program:x]` in it is a mistake the config crate explains; other
//! files are converted when they look like supervisord's) and how a converted config's
//! problems and warnings are shown; reading and validating is the config crate's ([`supd_config`]), converting
//! (with a supervisord file's `[include]`s) the converter's ([`supd_import`]). `supd run`,
//! `supd check` and every reload go through [`load`], so they accept exactly the same
//! configs.

use std::path::{Path, PathBuf};

use supd_config::{Config, Diagnostic, LoadOptions};

/// Added to the file name of problems found in a converted config, whose lines are
/// those of the TOML `supd import` prints.
pub const CONVERTED: &str = " (converted)";

/// A config ready to run.
pub struct Loaded {
    pub config: Config,
    /// `Some(number of notes)` when it was converted from a supervisord file.
    pub converted: Option<usize>,
}

/// Reads, validates and preflights the config at `path` (converting a supervisord file
/// first); every problem when there are any.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Loaded, Vec<Diagnostic>> {
    let loaded = read(path, options)?;
    let problems = crate::preflight::check(&loaded.config);
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(loaded.shown(problems))
    }
}

impl Loaded {
    /// `problems` found about this config, as they are shown: for a converted config, the
    /// lines are those of the converted TOML, and say so.
    pub fn shown(&self, problems: Vec<Diagnostic>) -> Vec<Diagnostic> {
        if self.converted.is_none() {
            return problems;
        }
        let path = &self.config.path;
        problems
            .into_iter()
            .map(|p| as_converted(path, p))
            .collect()
    }
}

/// Reads and validates the config at `path` (converting a supervisord file first),
/// without looking at the machine; every problem when there are any.
pub fn read(path: &Path, options: &LoadOptions) -> Result<Loaded, Vec<Diagnostic>> {
    let (result, converted) = if !is_toml(path) && supd_import::is_supervisord(path) {
        let env = |name: &str| std::env::var(name).ok();
        let conversion = supd_import::convert_file(path, &env).map_err(|e| {
            vec![Diagnostic {
                file: e.file,
                line: (e.line > 0).then_some(e.line),
                key: None,
                message: e.message,
            }]
        })?;
        // What supervisord itself ignores, or could not be read now: said every time the
        // file is read, since nobody sees the converted TOML's comments.
        for warning in &conversion.warnings {
            eprintln!("supd: warning: {warning}");
        }
        let env = |name: &str| std::env::var(name).ok();
        let result = supd_config::parse_str_with(&conversion.toml, path, &env, options)
            .map_err(|d| d.0.into_iter().map(|p| as_converted(path, p)).collect());
        (result, Some(conversion.notes.len()))
    } else {
        let result = supd_config::load_with(path, options).map_err(|d| d.0);
        (result, None)
    };
    Ok(Loaded {
        config: result?,
        converted,
    })
}

/// True for a file named `*.toml`.
fn is_toml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// A problem about the TOML converted from the supervisord file at `path`, shown as such:
/// its lines are those `supd import` prints, not those of the file.
fn as_converted(path: &Path, problem: Diagnostic) -> Diagnostic {
    if problem.file != path {
        return problem;
    }
    Diagnostic {
        file: PathBuf::from(format!("{}{CONVERTED}", path.display())),
        ..problem
    }
}

/// The one line `supd run`/`check` print for a supervisord file.
pub fn suggest_import(path: &Path, notes: usize) -> String {
    let notes = match notes {
        0 => String::new(),
        1 => " (1 setting changed or has no equivalent)".to_string(),
        n => format!(" ({n} settings changed or have no equivalent)"),
    };
    format!(
        "supd: {p} is a supervisord config, converted on the fly{notes}; to keep a supd \
         config, run: supd import {p} > supd.toml",
        p = path.display()
    )
}
