//! Who may do what to a path, judged from its permission bits the way the kernel judges a
//! process; and what stops someone from executing a program: a directory on the way, the
//! file's execute bits, and for a script, reading it and running its `#!` interpreter
//! (through `env` too).
//!
//! The rules: root may do anything, except execute a file that has no execute bit at all;
//! anyone else gets the owner bits of a file they own, else the group bits when the file's
//! group is their group or one of their supplementary groups, else the other bits.
//! Searching a directory takes its execute bit, so reaching a path takes that bit on every
//! directory from `/` down. ACLs, capabilities and mount options (`noexec`) are not looked
//! at. Everything here only reads metadata and the first bytes of scripts.

use std::ffi::OsStr;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use supd_sys::users::UserDb;

const READ: u32 = 0o4;
const WRITE: u32 = 0o2;
const EXECUTE: u32 = 0o1;

/// How many `#!` interpreters deep a script is followed (Linux stops at a few, too).
const MAX_INTERPRETERS: usize = 4;

/// A uid with its groups, as a process has them.
pub struct Who {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// For messages, as the subject of a sentence: `user "nobody"`, `root`.
    pub shown: String,
}

impl Who {
    /// supd's own process: its effective ids and supplementary groups.
    pub fn supd() -> Who {
        let uid = nix::unistd::geteuid().as_raw();
        Who {
            uid,
            gid: nix::unistd::getegid().as_raw(),
            groups: nix::unistd::getgroups()
                .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
                .unwrap_or_default(),
            shown: if uid == 0 {
                "root".to_string()
            } else {
                format!("uid {uid} (supd's own user)")
            },
        }
    }

    fn may(&self, meta: &Metadata, want: u32) -> bool {
        let mode = meta.mode();
        if self.uid == 0 {
            return want & EXECUTE == 0 || meta.is_dir() || mode & 0o111 != 0;
        }
        let bits = if meta.uid() == self.uid {
            mode >> 6
        } else if meta.gid() == self.gid || self.groups.contains(&meta.gid()) {
            mode >> 3
        } else {
            mode
        };
        bits & want == want
    }

    /// Why `path` cannot be reached: the first directory on the way, from `/` down, that
    /// cannot be searched (`it cannot enter /root (mode 0700, owner root)`). `path` is
    /// absolute; its ancestors are judged as given and as they really are (symbolic links
    /// resolved), since the kernel walks both.
    pub fn cannot_reach(&self, path: &Path, db: &UserDb) -> Option<String> {
        self.first_closed(path, 1, db)
    }

    /// Why the directory `dir` (absolute) cannot be entered: reached and searched.
    pub fn cannot_enter(&self, dir: &Path, db: &UserDb) -> Option<String> {
        self.first_closed(dir, 0, db)
    }

    /// The first directory of the ancestors of `path` (after skipping `skip` of them, from
    /// `path` up) that this user cannot search, from `/` down.
    fn first_closed(&self, path: &Path, skip: usize, db: &UserDb) -> Option<String> {
        let real = std::fs::canonicalize(path).ok();
        for p in std::iter::once(path).chain(real.as_deref()) {
            let dirs: Vec<&Path> = p.ancestors().skip(skip).collect();
            for dir in dirs.into_iter().rev() {
                let Ok(meta) = std::fs::metadata(dir) else {
                    continue;
                };
                if meta.is_dir() && !self.may(&meta, EXECUTE) {
                    return Some(format!(
                        "no permission to enter {} ({})",
                        dir.display(),
                        permissions(&meta, db)
                    ));
                }
            }
        }
        None
    }

    /// Why a file cannot be created or written at `path` (absolute): its directory is
    /// missing, cannot be reached or written, or the file exists and cannot be written.
    /// Devices and pipes (`/dev/stdout`) only need to be writable.
    pub fn cannot_write(&self, path: &Path, db: &UserDb) -> Option<String> {
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.is_dir() {
                return Some(format!("{} is a directory", path.display()));
            }
            if let Some(why) = self.cannot_reach(path, db) {
                return Some(why);
            }
            if !self.may(&meta, WRITE) {
                return Some(format!(
                    "no permission to write it ({})",
                    permissions(&meta, db)
                ));
            }
            if !meta.is_file() {
                return None;
            }
            if read_only(path) {
                return Some(format!("{} is on a read-only file system", path.display()));
            }
        }
        let dir = path.parent().unwrap_or(Path::new("/"));
        match std::fs::metadata(dir) {
            Err(_) => Some(format!("directory {} does not exist", dir.display())),
            Ok(meta) if !meta.is_dir() => Some(format!("{} is not a directory", dir.display())),
            Ok(meta) => {
                if let Some(why) = self.cannot_enter(dir, db) {
                    return Some(why);
                }
                if read_only(dir) {
                    return Some(format!("{} is on a read-only file system", dir.display()));
                }
                (!self.may(&meta, WRITE)).then(|| {
                    format!(
                        "no permission to create files in {} ({})",
                        dir.display(),
                        permissions(&meta, db)
                    )
                })
            }
        }
    }

    /// Why the file `file` (absolute, existing) cannot be executed: one clause, e.g.
    /// `it cannot enter /root (mode 0700, owner root)`. `path` and `cwd` are what its
    /// `#!` interpreter's `env` would look names up with.
    pub fn cannot_execute(
        &self,
        file: &Path,
        path: &OsStr,
        cwd: &Path,
        db: &UserDb,
    ) -> Option<String> {
        self.cannot_execute_at(file, path, cwd, db, 0)
    }

    fn cannot_execute_at(
        &self,
        file: &Path,
        path: &OsStr,
        cwd: &Path,
        db: &UserDb,
        depth: usize,
    ) -> Option<String> {
        if let Some(why) = self.cannot_reach(file, db) {
            return Some(why);
        }
        let meta = std::fs::metadata(file).ok()?;
        // The file the caller asked about is "it" in the sentence it builds.
        let it = if depth == 0 {
            "it".to_string()
        } else {
            file.display().to_string()
        };
        if meta.is_dir() {
            return Some(format!("{it} is a directory"));
        }
        if !self.may(&meta, EXECUTE) {
            return Some(format!(
                "no permission to execute {it} ({})",
                permissions(&meta, db)
            ));
        }
        let interpreter = shebang(file)?;
        // The interpreter opens the script by its path: it must be readable too.
        if !self.may(&meta, READ) {
            return Some(format!(
                "{it} is a script, and there is no permission to read it ({})",
                permissions(&meta, db)
            ));
        }
        if depth >= MAX_INTERPRETERS {
            return None;
        }
        let program = absolute(&interpreter.program, cwd);
        if exists(&program) == Some(false) {
            return Some(format!(
                "its #! interpreter {} does not exist",
                interpreter.program.display()
            ));
        }
        if let Some(why) = self.cannot_execute_at(&program, path, cwd, db, depth + 1) {
            return Some(format!(
                "{why}, for its #! interpreter {}",
                interpreter.program.display()
            ));
        }
        let name = interpreter.env_program()?;
        let through = interpreter.program.display();
        let shown = name.to_string_lossy();
        self.cannot_run_from_path(&name, path, cwd, db, depth + 1)
            .map(|why| match why {
                FromPath::NotFound => format!(
                    "its #! line runs {shown:?} through {through}, and {shown:?} is not on \
                     PATH ({})",
                    Path::new(path).display()
                ),
                FromPath::Denied(why) => {
                    format!("{why}, for {shown:?}, which its #! line runs through {through}")
                }
            })
    }

    /// Why `name` cannot be run through `PATH` lookup (as `env` and `execvp` do it: the
    /// first match this user can execute wins; a match it cannot execute is remembered).
    fn cannot_run_from_path(
        &self,
        name: &OsStr,
        path: &OsStr,
        cwd: &Path,
        db: &UserDb,
        depth: usize,
    ) -> Option<FromPath> {
        let mut denied = None;
        for dir in std::env::split_paths(path) {
            let candidate = absolute(&dir.join(name), cwd);
            if exists(&candidate) == Some(false) || candidate.is_dir() {
                continue;
            }
            match self.cannot_execute_at(&candidate, path, cwd, db, depth) {
                None => return None,
                Some(why) if denied.is_none() => denied = Some(why),
                Some(_) => {}
            }
        }
        Some(denied.map_or(FromPath::NotFound, FromPath::Denied))
    }
}

/// Why a name cannot be run through `PATH`.
enum FromPath {
    NotFound,
    /// Why the first match cannot be executed.
    Denied(String),
}

/// A script's `#!` line: the interpreter and its one optional argument (Linux passes the
/// rest of the line as a single argument).
struct Shebang {
    program: PathBuf,
    argument: Option<String>,
}

impl Shebang {
    /// The program `env` is asked to find, for `#!/usr/bin/env NAME` (and `env -S NAME
    /// ARGS`); `None` for other interpreters and other `env` options.
    fn env_program(&self) -> Option<std::ffi::OsString> {
        if self.program.file_name() != Some(OsStr::new("env")) {
            return None;
        }
        let argument = self.argument.as_deref()?;
        let words = argument
            .strip_prefix("-S")
            .map_or(argument, str::trim_start)
            .split_whitespace()
            .next()?;
        (!words.starts_with('-') && !words.contains('=')).then(|| words.into())
    }
}

/// The `#!` line of `file`, when it is a script supd can read.
fn shebang(file: &Path) -> Option<Shebang> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let mut f = std::fs::File::open(file).ok()?;
    let n = f.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = line.split(|&b| b == b'\n').next()?;
    let line = String::from_utf8_lossy(line);
    let line = line.trim();
    let (program, argument) = match line.split_once([' ', '\t']) {
        Some((p, rest)) => (p, Some(rest.trim().to_string()).filter(|a| !a.is_empty())),
        None => (line, None),
    };
    (!program.is_empty()).then(|| Shebang {
        program: PathBuf::from(program),
        argument,
    })
}

/// `p` made absolute against `cwd`, without `.` components.
pub fn absolute(p: &Path, cwd: &Path) -> PathBuf {
    cwd.join(p)
        .components()
        .filter(|c| *c != std::path::Component::CurDir)
        .collect()
}

/// Whether `p` exists as supd sees it: `None` when supd itself may not look.
fn exists(p: &Path) -> Option<bool> {
    match std::fs::metadata(p) {
        Ok(_) => Some(true),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => None,
        Err(_) => Some(false),
    }
}

/// True when `p` is on a file system mounted read-only.
fn read_only(p: &Path) -> bool {
    use nix::sys::statvfs::{FsFlags, statvfs};
    statvfs(p).is_ok_and(|s| s.flags().contains(FsFlags::ST_RDONLY))
}

/// `mode 0700, owner root`.
fn permissions(meta: &Metadata, db: &UserDb) -> String {
    let owner = db
        .user_by_uid(meta.uid())
        .map_or_else(|| format!("uid {}", meta.uid()), |e| e.name.clone());
    format!("mode {:04o}, owner {owner}", meta.mode() & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;

    fn bytes(s: &OsStr) -> &[u8] {
        s.as_bytes()
    }

    fn who(uid: u32, gid: u32, groups: &[u32]) -> Who {
        Who {
            uid,
            gid,
            groups: groups.to_vec(),
            shown: format!("uid {uid}"),
        }
    }

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn owner_group_and_other_bits_apply_in_that_order() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, "").unwrap();
        let meta = |mode| {
            chmod(&file, mode);
            std::fs::metadata(&file).unwrap()
        };
        let me = nix::unistd::geteuid().as_raw();
        let my_gid = std::fs::metadata(&file).unwrap().gid();
        let stranger = who(me.wrapping_add(4242), my_gid.wrapping_add(4242), &[]);
        // Owner bits only, even when other bits would allow more.
        let owner = who(me, 0, &[]);
        if me != 0 {
            assert!(!owner.may(&meta(0o007), EXECUTE));
        }
        assert!(owner.may(&meta(0o100), EXECUTE));
        // Group bits through a supplementary group.
        let member = who(me.wrapping_add(4242), 4242, &[my_gid]);
        assert!(member.may(&meta(0o010), EXECUTE));
        assert!(!member.may(&meta(0o001), EXECUTE));
        assert!(stranger.may(&meta(0o001), EXECUTE));
        assert!(!stranger.may(&meta(0o770), READ));
    }

    #[test]
    fn root_needs_only_some_execute_bit() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, "").unwrap();
        let root = who(0, 0, &[]);
        chmod(&file, 0o000);
        let meta = std::fs::metadata(&file).unwrap();
        assert!(root.may(&meta, READ | WRITE));
        assert!(!root.may(&meta, EXECUTE));
        chmod(&file, 0o001);
        assert!(root.may(&std::fs::metadata(&file).unwrap(), EXECUTE));
        chmod(tmp.path(), 0o000);
        assert!(root.may(&std::fs::metadata(tmp.path()).unwrap(), EXECUTE));
        chmod(tmp.path(), 0o700);
    }

    #[test]
    fn shebang_lines_and_env_programs() {
        let tmp = tempfile::tempdir().unwrap();
        let script = |text: &str| {
            let f = tmp.path().join("s");
            std::fs::write(&f, text).unwrap();
            shebang(&f)
        };
        let s = script("#!/bin/sh\necho\n").unwrap();
        assert_eq!(s.program, Path::new("/bin/sh"));
        assert!(s.argument.is_none() && s.env_program().is_none());
        let s = script("#! /usr/bin/env python3 \n").unwrap();
        assert_eq!(bytes(&s.env_program().unwrap()), b"python3");
        let s = script("#!/usr/bin/env -S node --inspect\n").unwrap();
        assert_eq!(bytes(&s.env_program().unwrap()), b"node");
        let s = script("#!/usr/bin/env -i sh\n").unwrap();
        assert!(s.env_program().is_none());
        assert!(script("\x7fELF....").is_none());
        assert!(script("#!\n").is_none());
    }
}
