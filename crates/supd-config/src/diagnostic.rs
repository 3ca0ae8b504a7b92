//! One problem in a config file, and the list of all of them.

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
