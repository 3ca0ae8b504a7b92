//! supervisord configs as files: telling one from a supd TOML file, and converting one
//! together with the files its `[include]` names (which the pure [`crate::convert`] leaves
//! to its caller), reading the scripts its event listeners run.

use std::path::{Path, PathBuf};

use crate::{Conversion, ImportError, SourceFile};

/// A supervisord file: named `*.conf`/`*.ini`, or with a `[supervisord]` or
/// `[program:...]` section (which TOML cannot have).
pub fn is_supervisord(path: &Path) -> bool {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("conf") || e.eq_ignore_ascii_case("ini"))
    {
        return true;
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    text.lines().any(|line| {
        let line = line.trim();
        line == "[supervisord]" || line.starts_with("[program:")
    })
}

/// The text of a script an event listener runs, when it is a small text file.
fn read_script(path: &Path) -> Option<String> {
    const MAX_SCRIPT: u64 = 256 * 1024;
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_SCRIPT {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// Converts the supervisord file at `path` and the files its `[include]` names; or why
/// not, one sentence about one file and line. The scripts event listeners run are read,
/// to recognise those that stop supervisord.
pub fn convert_file(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Conversion, ImportError> {
    let error = |message: String| ImportError {
        file: path.to_path_buf(),
        line: 0,
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        error(format!(
            "cannot read the file: {}",
            supd_config::io_reason(&e)
        ))
    })?;
    // `%(here)s` is the file's directory as given: make it absolute, so the converted
    // paths mean the same wherever the TOML ends up. Messages keep the path as given.
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let as_given = |mut e: ImportError| {
        if e.file == absolute {
            e.file = path.to_path_buf();
        }
        e
    };
    let main = SourceFile {
        path: &absolute,
        text: &text,
    };
    let first = crate::convert::convert_files(&[main], env, &read_script).map_err(as_given)?;
    let mut included: Vec<(PathBuf, String)> = Vec::new();
    for pattern in &first.includes {
        let files = supd_config::include::glob_files(pattern)
            .map_err(|why| error(format!("[include] files: {why}")))?;
        for file in files {
            if file == absolute || included.iter().any(|(p, _)| *p == file) {
                continue;
            }
            let text = std::fs::read_to_string(&file).map_err(|e| {
                error(format!(
                    "[include] files: cannot read {}: {}",
                    file.display(),
                    supd_config::io_reason(&e)
                ))
            })?;
            included.push((file, text));
        }
    }
    let mut conversion = if included.is_empty() {
        first
    } else {
        let mut sources = vec![main];
        sources.extend(
            included
                .iter()
                .map(|(path, text)| SourceFile { path, text }),
        );
        crate::convert::convert_files(&sources, env, &read_script).map_err(as_given)?
    };
    let (from, to) = (absolute.display().to_string(), path.display().to_string());
    for note in conversion.notes.iter_mut().chain(&mut conversion.warnings) {
        if let Some(rest) = note.strip_prefix(&from) {
            *note = format!("{to}{rest}");
        }
    }
    Ok(conversion)
}
