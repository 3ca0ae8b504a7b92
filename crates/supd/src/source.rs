//! The config supd runs: a supd TOML file, or a supervisord file converted on the fly.
//!
//! This module owns the choice between the two and how a converted config's problems are
//! shown; reading and validating is the config crate's ([`supd_config`]), converting
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
    let (result, converted) = if supd_import::is_supervisord(path) {
        let env = |name: &str| std::env::var(name).ok();
        let conversion = supd_import::convert_file(path, &env).map_err(|e| {
            vec![Diagnostic {
                file: e.file,
                line: (e.line > 0).then_some(e.line),
                key: None,
                message: e.message,
            }]
        })?;
        let env = |name: &str| std::env::var(name).ok();
        let result =
            supd_config::parse_str_with(&conversion.toml, path, &env, options).map_err(|d| {
                // Lines of the converted TOML, not of the .conf file: say so.
                let shown = PathBuf::from(format!("{}{CONVERTED}", path.display()));
                d.0.into_iter()
                    .map(|p| Diagnostic {
                        file: shown.clone(),
                        ..p
                    })
                    .collect::<Vec<_>>()
            });
        (result, Some(conversion.notes.len()))
    } else {
        let result = supd_config::load_with(path, options).map_err(|d| d.0);
        (result, None)
    };
    let config = result?;
    let problems = crate::preflight::check(&config);
    if problems.is_empty() {
        Ok(Loaded { config, converted })
    } else {
        Err(problems)
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
