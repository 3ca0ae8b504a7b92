//! Include patterns -> the files they name: `[supd] include` (and the `[include]` of a
//! supervisord file, for `supd import`).
//!
//! This module owns the pattern rules, the same for both:
//! - A pattern without glob characters (`*`, `?`, `[`, `{`) is a plain path: it must be an
//!   existing file, else it is an error naming it.
//! - A pattern with glob characters may use them in any component (`conf.d/*.toml`,
//!   `apps/*/supd.toml`); each component matches one directory level (`**` is refused).
//!   Matching nothing is fine. Hidden files (names starting with `.`, such as editor lock
//!   files) match only a component that starts with `.` itself, as in a shell. Only files
//!   match, not directories.
//! - The matches of one pattern come back sorted by path, each once.
//!
//! It reads directories and file metadata, nothing else; the caller reads the files.

use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

/// The files `pattern` names (already resolved against the including file's directory), in
/// sorted order, or one sentence saying why it cannot be used.
pub fn glob_files(pattern: &Path) -> Result<Vec<PathBuf>, String> {
    if !is_glob(pattern) {
        return match std::fs::metadata(pattern) {
            Ok(meta) if meta.is_dir() => Err(format!(
                "{} is a directory (include the files in it with {})",
                pattern.display(),
                pattern.join("*.toml").display()
            )),
            Ok(_) => Ok(vec![pattern.to_path_buf()]),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(format!("{} does not exist", pattern.display()))
            }
            Err(e) => Err(format!(
                "cannot read {}: {}",
                pattern.display(),
                crate::diagnostic::io_reason(&e)
            )),
        };
    }
    let mut candidates = vec![PathBuf::new()];
    for component in pattern.components() {
        let text = component.as_os_str().to_string_lossy();
        let is_pattern = matches!(component, Component::Normal(_)) && has_glob_chars(&text);
        if !is_pattern {
            for c in &mut candidates {
                c.push(component.as_os_str());
            }
            continue;
        }
        let matcher = matcher(&text)?;
        let hidden_ok = text.starts_with('.');
        let mut next = Vec::new();
        for dir in &candidates {
            let listing = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir.as_path()
            };
            let Ok(entries) = std::fs::read_dir(listing) else {
                continue; // a directory that does not exist matches nothing
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let hidden = name.as_encoded_bytes().first() == Some(&b'.');
                if (hidden_ok || !hidden) && matcher.is_match(Path::new(&name)) {
                    next.push(dir.join(&name));
                }
            }
        }
        candidates = next;
    }
    let mut files: Vec<PathBuf> = candidates.into_iter().filter(|p| p.is_file()).collect();
    files.sort();
    files.dedup();
    Ok(files)
}

/// True when some component of `pattern` has a glob character.
pub(crate) fn is_glob(pattern: &Path) -> bool {
    pattern
        .components()
        .any(|c| matches!(c, Component::Normal(s) if has_glob_chars(&s.to_string_lossy())))
}

fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// One component's pattern.
fn matcher(component: &str) -> Result<GlobMatcher, String> {
    if component.contains("**") {
        return Err(format!(
            "\"**\" is not supported in {component:?} (use one \"*\" per directory level, \
             like conf.d/*/*.toml)"
        ));
    }
    GlobBuilder::new(component)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("invalid glob {component:?}: {}", glob_reason(&e)))
}

/// globset's error without the glob repeated.
fn glob_reason(e: &globset::Error) -> String {
    e.kind().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, rel: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "").unwrap();
    }

    #[test]
    fn globs_match_sorted_files_and_skip_hidden_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for f in [
            "conf.d/b.toml",
            "conf.d/a.toml",
            "conf.d/.#a.toml",
            "conf.d/c.txt",
            "apps/x/supd.toml",
            "apps/y/supd.toml",
        ] {
            touch(d, f);
        }
        std::fs::create_dir_all(d.join("conf.d/dir.toml")).unwrap();
        assert_eq!(
            glob_files(&d.join("conf.d/*.toml")).unwrap(),
            [d.join("conf.d/a.toml"), d.join("conf.d/b.toml")]
        );
        assert_eq!(
            glob_files(&d.join("apps/*/supd.toml")).unwrap(),
            [d.join("apps/x/supd.toml"), d.join("apps/y/supd.toml")]
        );
        assert_eq!(
            glob_files(&d.join("conf.d/.*.toml")).unwrap(),
            [d.join("conf.d/.#a.toml")]
        );
        assert!(glob_files(&d.join("none/*.toml")).unwrap().is_empty());
        assert_eq!(
            glob_files(&d.join("conf.d/a.toml")).unwrap(),
            [d.join("conf.d/a.toml")]
        );
    }

    #[test]
    fn plain_paths_must_be_files() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope.toml");
        assert_eq!(
            glob_files(&missing).unwrap_err(),
            format!("{} does not exist", missing.display())
        );
        assert!(
            glob_files(tmp.path())
                .unwrap_err()
                .contains("is a directory")
        );
    }

    #[test]
    fn bad_globs_are_refused() {
        assert!(
            glob_files(Path::new("/x/**/*.toml"))
                .unwrap_err()
                .contains("\"**\"")
        );
        assert!(
            glob_files(Path::new("/x/[a.toml"))
                .unwrap_err()
                .starts_with("invalid glob \"[a.toml\"")
        );
    }
}
