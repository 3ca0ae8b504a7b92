//! Which paths under a watched root matter: the `include` and `exclude` globs, the built-in
//! ignores, `.gitignore` files and supd's own log files.
//!
//! Owns the compiled globs and the `.gitignore` matchers of one program's watch. It never
//! touches the file system except in [`Matcher::refresh_gitignore`], and never panics on
//! any path: a path outside every root is simply not relevant.
//!
//! Semantics, all on the path relative to the watched root (`app/views.py`):
//! - A glob without `/` matches a name at any depth (`*.py` is `**/*.py`); one with `/` is
//!   anchored at the root (`app/*.py` does not match `app/sub/x.py`); `*` never crosses `/`.
//!   A leading `/` or `./` is dropped, a trailing `/` too.
//! - A glob matches a path when it matches the path or one of its parent directories, like
//!   `.gitignore`: `exclude = ["build"]` leaves out everything under any `build/`, and
//!   `exclude = ["docs/**"]` prunes the `docs` directory itself.
//! - Ignored, whatever `include` says: a path with a component in [`IGNORED_DIRS`], a file
//!   name matching [`IGNORED_NAMES`], a path `exclude` matches, a path a `.gitignore` under
//!   the root ignores, and supd's log files (and their rotated copies `x.log.1`...).
//! - Relevant: not ignored, and `include` is empty or matches it.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// Directory names never watched, at any depth: version control, dependency trees, caches.
pub const IGNORED_DIRS: &[&str] = &[".git", ".hg", ".svn", "node_modules", "__pycache__"];

/// File names never counted as changes: compiled Python, and the scratch files editors write
/// while saving (vim's swap files and `4913` probe, Emacs backups and locks, JetBrains'
/// safe-write temporaries, macOS Finder metadata).
pub const IGNORED_NAMES: &[&str] = &[
    "*.pyc",
    "*.pyo",
    "*.swp",
    "*.swx",
    ".*.sw?",
    "*~",
    ".#*",
    "#*#",
    "4913",
    ".DS_Store",
    "*___jb_tmp___",
    "*___jb_old___",
];

/// One `.gitignore` file, read into a matcher.
struct GitignoreFile {
    matcher: Gitignore,
    /// (modified, size, inode) when it was read: a change means read it again.
    stamp: (SystemTime, u64, u64),
}

pub struct Matcher {
    /// `None`: everything is included.
    include: Option<GlobSet>,
    exclude: GlobSet,
    names: GlobSet,
    /// supd's log files (absolute): they and their rotated copies are never changes.
    log_files: Vec<PathBuf>,
    /// By directory: the `.gitignore` file in it.
    gitignores: BTreeMap<PathBuf, GitignoreFile>,
}

impl Matcher {
    /// Compiles the globs; the error is one sentence naming the bad glob.
    pub fn new(
        include: &[String],
        exclude: &[String],
        log_files: Vec<PathBuf>,
    ) -> Result<Matcher, String> {
        let include = if include.is_empty() {
            None
        } else {
            Some(compile(include, "include")?)
        };
        let exclude = compile(exclude, "exclude")?;
        let mut names = GlobSetBuilder::new();
        for name in IGNORED_NAMES {
            // The built-in list is known to be valid; a failure would only drop one entry.
            if let Ok(glob) = GlobBuilder::new(name).literal_separator(true).build() {
                names.add(glob);
            }
        }
        let names = names.build().unwrap_or_else(|_| GlobSet::empty());
        Ok(Matcher {
            include,
            exclude,
            names,
            log_files,
            gitignores: BTreeMap::new(),
        })
    }

    /// True when `path` (under `root`) must be left out: never a change, and, for a
    /// directory, never descended into.
    pub fn is_ignored(&self, root: &Path, path: &Path, is_dir: bool) -> bool {
        let Ok(rel) = path.strip_prefix(root) else {
            return true;
        };
        if rel.as_os_str().is_empty() {
            // The root itself is watched because the config says so.
            return false;
        }
        for part in rel.components() {
            let part = part.as_os_str();
            if IGNORED_DIRS.iter().any(|d| part == *d) {
                return true;
            }
        }
        if let Some(name) = rel.file_name()
            && self.names.is_match(name)
        {
            return true;
        }
        if matches_or_parent(&self.exclude, rel) {
            return true;
        }
        if self.is_log_file(path) {
            return true;
        }
        self.gitignored(root, path, is_dir)
    }

    /// True when a change of `path` (under `root`) counts.
    pub fn is_relevant(&self, root: &Path, path: &Path, is_dir: bool) -> bool {
        if self.is_ignored(root, path, is_dir) {
            return false;
        }
        match (&self.include, path.strip_prefix(root)) {
            (None, _) => true,
            (Some(include), Ok(rel)) => matches_or_parent(include, rel),
            (Some(_), Err(_)) => false,
        }
    }

    /// True when `include` is empty (then directories count as changes too).
    pub fn includes_everything(&self) -> bool {
        self.include.is_none()
    }

    fn is_log_file(&self, path: &Path) -> bool {
        self.log_files.iter().any(|log| {
            path == log
                || (path.parent() == log.parent()
                    && match (path.file_name(), log.file_name()) {
                        // Rotated copies: `web.log.1`, `web.log.2.gz`, `web.log-20250101`.
                        (Some(name), Some(log)) => name
                            .as_encoded_bytes()
                            .strip_prefix(log.as_encoded_bytes())
                            .is_some_and(|rest| rest.starts_with(b".") || rest.starts_with(b"-")),
                        _ => false,
                    })
        })
    }

    /// Asks the `.gitignore` files between `root` and `path`, nearest first; the first one
    /// with an opinion decides.
    fn gitignored(&self, root: &Path, path: &Path, is_dir: bool) -> bool {
        if self.gitignores.is_empty() {
            return false;
        }
        let mut dir = path.parent();
        while let Some(d) = dir {
            if let Some(file) = self.gitignores.get(d) {
                // `d` is an ancestor of `path`, so the matcher's precondition holds.
                let m = file.matcher.matched_path_or_any_parents(path, is_dir);
                if m.is_ignore() {
                    return true;
                }
                if m.is_whitelist() {
                    return false;
                }
            }
            if d == root {
                break;
            }
            dir = d.parent();
        }
        false
    }

    /// (Re)reads `dir/.gitignore` if it appeared, changed or vanished since last time.
    /// Returns a warning to log when the file has lines that are not valid globs or cannot
    /// be read.
    pub fn refresh_gitignore(&mut self, dir: &Path) -> Option<String> {
        let file = dir.join(".gitignore");
        let stamp = std::fs::metadata(&file)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| {
                (
                    m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    m.len(),
                    m.ino(),
                )
            });
        let Some(stamp) = stamp else {
            self.gitignores.remove(dir);
            return None;
        };
        if self.gitignores.get(dir).is_some_and(|g| g.stamp == stamp) {
            return None;
        }
        let mut builder = GitignoreBuilder::new(dir);
        let partial = builder.add(&file);
        let (matcher, warning) = match builder.build() {
            Ok(matcher) => (
                matcher,
                partial.map(|e| format!("{}: some lines were skipped: {e}", file.display())),
            ),
            Err(e) => (
                Gitignore::empty(),
                Some(format!("{} cannot be used: {e}", file.display())),
            ),
        };
        self.gitignores
            .insert(dir.to_path_buf(), GitignoreFile { matcher, stamp });
        warning
    }
}

/// True when `set` matches `rel` or one of its parent directories.
fn matches_or_parent(set: &GlobSet, rel: &Path) -> bool {
    if set.is_empty() {
        return false;
    }
    let mut at = Some(rel);
    while let Some(p) = at {
        if p.as_os_str().is_empty() {
            break;
        }
        if set.is_match(p) {
            return true;
        }
        at = p.parent();
    }
    false
}

/// The globset forms of one configured glob (see the module docs).
fn normalize(glob: &str) -> Vec<String> {
    let g = glob.strip_prefix("./").unwrap_or(glob);
    let anchored = g.starts_with('/');
    let g = g.trim_start_matches('/');
    let g = g.strip_suffix('/').unwrap_or(g);
    let base = if !anchored && !g.contains('/') {
        format!("**/{g}")
    } else {
        g.to_string()
    };
    let mut forms = vec![base.clone()];
    if let Some(dir) = base.strip_suffix("/**")
        && !dir.is_empty()
        && dir != "**"
    {
        forms.push(dir.to_string());
    }
    forms
}

fn compile(globs: &[String], key: &str) -> Result<GlobSet, String> {
    let mut set = GlobSetBuilder::new();
    for glob in globs {
        for form in normalize(glob) {
            let compiled = GlobBuilder::new(&form)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("invalid {key} glob {glob:?}: {}", e.kind()))?;
            set.add(compiled);
        }
    }
    set.build()
        .map_err(|e| format!("invalid {key} globs: {}", e.kind()))
}

/// The problems of `include` / `exclude` as `(key, sentence)`, for `supd check`.
pub fn check_globs(include: &[String], exclude: &[String]) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if let Err(e) = compile(include, "include") {
        problems.push(("include", e));
    }
    if let Err(e) = compile(exclude, "exclude") {
        problems.push(("exclude", e));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(include: &[&str], exclude: &[&str]) -> Matcher {
        let s = |v: &[&str]| v.iter().map(|g| g.to_string()).collect::<Vec<_>>();
        Matcher::new(&s(include), &s(exclude), Vec::new()).unwrap()
    }

    const ROOT: &str = "/w";

    fn relevant(m: &Matcher, rel: &str) -> bool {
        m.is_relevant(Path::new(ROOT), &Path::new(ROOT).join(rel), false)
    }

    #[test]
    fn empty_include_means_everything() {
        let m = matcher(&[], &[]);
        for p in ["x.py", "a/b/c.txt", "Makefile", "deep/er/still.rs"] {
            assert!(relevant(&m, p), "{p}");
        }
    }

    #[test]
    fn a_glob_without_a_slash_matches_the_name_at_any_depth() {
        let m = matcher(&["*.py"], &[]);
        for p in ["x.py", "app/views.py", "a/b/c/d.py"] {
            assert!(relevant(&m, p), "{p}");
        }
        for p in ["x.pyx", "app/views.txt", "py", "a.py/readme"] {
            // `a.py/readme`: the parent matches, which counts (like .gitignore).
            assert_eq!(relevant(&m, p), p == "a.py/readme", "{p}");
        }
    }

    #[test]
    fn a_glob_with_a_slash_is_anchored_and_star_does_not_cross_directories() {
        let m = matcher(&["app/*.py"], &[]);
        assert!(relevant(&m, "app/x.py"));
        assert!(!relevant(&m, "app/sub/x.py"));
        assert!(!relevant(&m, "other/app/x.py"));
        let m = matcher(&["app/**/*.py"], &[]);
        assert!(relevant(&m, "app/x.py"));
        assert!(relevant(&m, "app/sub/x.py"));
        let m = matcher(&["/top.py", "./src/**"], &[]);
        assert!(relevant(&m, "top.py"));
        assert!(!relevant(&m, "sub/top.py"));
        assert!(relevant(&m, "src/a/b.c"));
    }

    #[test]
    fn exclude_wins_over_include_and_covers_whole_directories() {
        let m = matcher(
            &["**/*.py"],
            &["**/migrations/**", "build", "settings_local.py"],
        );
        assert!(relevant(&m, "app/models.py"));
        assert!(!relevant(&m, "app/migrations/0001_initial.py"));
        assert!(!relevant(&m, "build/lib/x.py"));
        assert!(!relevant(&m, "a/build/x.py"));
        assert!(!relevant(&m, "conf/settings_local.py"));
        // The directories themselves are pruned.
        let root = Path::new(ROOT);
        assert!(m.is_ignored(root, &root.join("app/migrations"), true));
        assert!(m.is_ignored(root, &root.join("build"), true));
        assert!(!m.is_ignored(root, &root.join("app"), true));
    }

    #[test]
    fn built_in_ignores_always_apply() {
        let m = matcher(&[], &[]);
        for p in [
            ".git/config",
            ".git/objects/ab/cdef",
            "x/.hg/store",
            ".svn/entries",
            "node_modules/react/index.js",
            "web/node_modules/x.py",
            "app/__pycache__/views.cpython-312.pyc",
            "app/__pycache__/whatever.py",
            "app/views.pyc",
            "app/views.pyo",
            "app/x.py.swp",
            "app/.x.py.swp",
            "app/.x.py.swo",
            "app/.x.py.swx",
            "x.swx",
            "app/x.py~",
            "app/.#x.py",
            "app/#x.py#",
            "app/4913",
            "4913",
            ".DS_Store",
            "app/x.py___jb_tmp___",
            "app/x.py___jb_old___",
        ] {
            assert!(!relevant(&m, p), "{p} should be ignored");
        }
        for p in [
            "app/x.py",
            "app/49130",
            "app/git/x",
            "app/.gitignore",
            "a.swpx",
        ] {
            assert!(relevant(&m, p), "{p} should count");
        }
    }

    #[test]
    fn log_files_and_their_rotations_are_ignored() {
        let m = Matcher::new(&[], &[], vec![PathBuf::from("/w/logs/web.log")]).unwrap();
        assert!(!relevant(&m, "logs/web.log"));
        assert!(!relevant(&m, "logs/web.log.1"));
        assert!(!relevant(&m, "logs/web.log-20250101.gz"));
        assert!(relevant(&m, "logs/web.logger.py"));
        assert!(relevant(&m, "logs/other.log"));
        assert!(relevant(&m, "web.log"));
    }

    #[test]
    fn paths_outside_the_root_are_never_relevant() {
        let m = matcher(&[], &[]);
        assert!(!m.is_relevant(Path::new("/w"), Path::new("/other/x.py"), false));
        assert!(!m.is_relevant(Path::new("/w"), Path::new("/wx/x.py"), false));
    }

    #[test]
    fn gitignore_files_under_the_root_are_honoured_nearest_first() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("sub/keep")).unwrap();
        std::fs::write(
            root.join(".gitignore"),
            "*.log\nbuild/\nsecret.py\n/local.py\n",
        )
        .unwrap();
        std::fs::write(root.join("sub/.gitignore"), "!important.log\n").unwrap();
        let mut m = matcher(&[], &[]);
        assert_eq!(m.refresh_gitignore(&root), None);
        assert_eq!(m.refresh_gitignore(&root.join("sub")), None);
        let rel = |m: &Matcher, p: &str, dir: bool| m.is_relevant(&root, &root.join(p), dir);
        assert!(!rel(&m, "x.log", false));
        assert!(!rel(&m, "a/b/x.log", false));
        assert!(rel(&m, "sub/important.log", false));
        assert!(!rel(&m, "build", true));
        assert!(!rel(&m, "build/x.py", false));
        assert!(!rel(&m, "deep/build/x.py", false));
        // `build/` only matches directories.
        assert!(rel(&m, "build", false));
        assert!(!rel(&m, "secret.py", false));
        assert!(!rel(&m, "sub/secret.py", false));
        assert!(!rel(&m, "local.py", false));
        assert!(rel(&m, "sub/local.py", false));
        assert!(rel(&m, "app.py", false));

        // Edited: read again; removed: forgotten.
        std::fs::write(root.join(".gitignore"), "*.txt\n").unwrap();
        let _ = m.refresh_gitignore(&root);
        assert!(rel(&m, "x.log", false));
        assert!(!rel(&m, "notes.txt", false));
        std::fs::remove_file(root.join(".gitignore")).unwrap();
        let _ = m.refresh_gitignore(&root);
        assert!(rel(&m, "notes.txt", false));
    }

    #[test]
    fn bad_globs_are_one_sentence_naming_them() {
        let e = Matcher::new(&["a[".into()], &[], Vec::new()).err().unwrap();
        assert!(e.contains("include glob \"a[\""), "{e}");
        let problems = check_globs(&[], &["{a,b".into()]);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].1.contains("\"{a,b\""), "{:?}", problems);
    }
}
