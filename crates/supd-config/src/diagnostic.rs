//! One problem in a config file, the list of all of them, and how keys, values and I/O
//! errors are shown in them.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

/// One problem, located as precisely as the input allows.
///
/// Displays as `FILE:LINE: KEY: MESSAGE` (parts that are unknown are left out), for example
/// `supd.toml:12: program.web.restart: expected one of "always", "on-failure", "never", found "sometimes"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// Dotted key path, e.g. `program.web.stop_timeout`.
    pub key: Option<String>,
    /// One sentence, no trailing period needed.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found, sorted by file (the main config file first, then the files it pulls
/// in, in the order it names them) and by line. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The file could not be read at all.
    pub fn io(path: &Path, err: &std::io::Error) -> Self {
        Diagnostics(vec![Diagnostic {
            file: path.to_path_buf(),
            line: None,
            key: None,
            message: format!("cannot read config file: {}", io_reason(err)),
        }])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// Why a file could not be read, in a few words: `no such file`, `permission denied`, ...
pub fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        std::io::ErrorKind::InvalidData => "it is not UTF-8 text".to_string(),
        _ => supd_sys::describe(err),
    }
}

/// A key as it appears in a dotted path: bare when TOML allows it bare, else quoted.
pub(crate) fn key_segment(key: &str) -> Cow<'_, str> {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        Cow::Borrowed(key)
    } else {
        Cow::Owned(format!("{key:?}"))
    }
}

/// At most 60 characters of `s`, for messages (supd import's too).
pub fn shorten(s: &str) -> Cow<'_, str> {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        Cow::Borrowed(s)
    } else {
        let head: String = s.chars().take(MAX - 3).collect();
        Cow::Owned(format!("{head}..."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_segments_are_quoted_when_not_bare() {
        assert_eq!(key_segment("web"), "web");
        assert_eq!(key_segment("my-app_2"), "my-app_2");
        assert_eq!(key_segment("my.app"), "\"my.app\"");
        assert_eq!(key_segment(""), "\"\"");
    }
}
