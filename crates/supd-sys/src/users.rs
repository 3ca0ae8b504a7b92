//! Users and groups, gosu-style: `/etc/passwd` and `/etc/group` read directly (no NSS, so
//! it works in images without libc's name services), resolved to numbers before any fork.
//!
//! Semantics, as gosu (runc's `GetExecUser`) has them:
//! - `name` / `uid`: the passwd entry gives uid, primary gid and home; the supplementary
//!   groups are the `/etc/group` entries that list the user's name as a member.
//! - `name:group` / `uid:gid`: the primary gid is that group, and there are no
//!   supplementary groups (exactly what gosu does; `id` shows the primary group only).
//! - A numeric uid with a passwd entry uses the entry; without one, `uid:gid` is required:
//!   gosu would silently run it in group root, supd refuses and says to add `:gid`.

use std::fmt;
use std::path::{Path, PathBuf};

/// One `/etc/passwd` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// One `/etc/group` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// A user or group as written: a name, or a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Name(String),
    Id(u32),
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Who::Name(n) => f.write_str(n),
            Who::Id(id) => write!(f, "{id}"),
        }
    }
}

/// Who a program runs as, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// Set with `setgroups` before `setgid`/`setuid`.
    pub groups: Vec<u32>,
    /// The passwd name, when there is an entry (for `USER`/`LOGNAME`).
    pub name: Option<String>,
    /// The passwd home directory, or `/` when there is no entry (for `HOME`).
    pub home: String,
}

/// The two databases, read once.
#[derive(Debug, Clone, Default)]
pub struct UserDb {
    passwd: Vec<PasswdEntry>,
    groups: Vec<GroupEntry>,
    passwd_path: PathBuf,
    group_path: PathBuf,
}

impl UserDb {
    /// Reads `/etc/passwd` and `/etc/group`. A missing file is an empty database (minimal
    /// images may have no `/etc/group`); numeric `uid:gid` works without either.
    pub fn system() -> UserDb {
        Self::load(Path::new("/etc/passwd"), Path::new("/etc/group"))
    }

    pub fn load(passwd: &Path, group: &Path) -> UserDb {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        UserDb {
            passwd: parse_passwd(&read(passwd)),
            groups: parse_group(&read(group)),
            passwd_path: passwd.to_path_buf(),
            group_path: group.to_path_buf(),
        }
    }

    pub fn user_by_name(&self, name: &str) -> Option<&PasswdEntry> {
        self.passwd.iter().find(|e| e.name == name)
    }

    pub fn user_by_uid(&self, uid: u32) -> Option<&PasswdEntry> {
        self.passwd.iter().find(|e| e.uid == uid)
    }

    pub fn group_by_name(&self, name: &str) -> Option<&GroupEntry> {
        self.groups.iter().find(|e| e.name == name)
    }

    /// Resolves `user[:group]` to numbers, or says why it cannot.
    pub fn resolve(&self, user: &Who, group: Option<&Who>) -> Result<Identity, UserError> {
        let (uid, entry) = match user {
            Who::Name(name) => {
                let e = self
                    .user_by_name(name)
                    .ok_or_else(|| UserError::UnknownUser {
                        name: name.clone(),
                        passwd: self.passwd_path.clone(),
                    })?;
                (e.uid, Some(e))
            }
            Who::Id(uid) => (*uid, self.user_by_uid(*uid)),
        };
        let (gid, groups) = match group {
            Some(Who::Name(name)) => {
                let g = self
                    .group_by_name(name)
                    .ok_or_else(|| UserError::UnknownGroup {
                        name: name.clone(),
                        group: self.group_path.clone(),
                    })?;
                (g.gid, Vec::new())
            }
            Some(Who::Id(gid)) => (*gid, Vec::new()),
            None => match entry {
                Some(e) => {
                    let groups = self
                        .groups
                        .iter()
                        .filter(|g| g.members.contains(&e.name))
                        .map(|g| g.gid)
                        .collect();
                    (e.gid, groups)
                }
                None => {
                    return Err(UserError::UidWithoutEntry {
                        uid,
                        passwd: self.passwd_path.clone(),
                    });
                }
            },
        };
        Ok(Identity {
            uid,
            gid,
            groups,
            name: entry.map(|e| e.name.clone()),
            home: entry.map_or_else(|| "/".to_string(), |e| e.home.clone()),
        })
    }
}

/// Why a `user` cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserError {
    UnknownUser {
        name: String,
        passwd: PathBuf,
    },
    UnknownGroup {
        name: String,
        group: PathBuf,
    },
    /// A bare uid with no passwd entry: its group would be a guess (gosu uses root).
    UidWithoutEntry {
        uid: u32,
        passwd: PathBuf,
    },
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserError::UnknownUser { name, passwd } => write!(
                f,
                "unknown user {name:?} (no such entry in {})",
                passwd.display()
            ),
            UserError::UnknownGroup { name, group } => write!(
                f,
                "unknown group {name:?} (no such entry in {})",
                group.display()
            ),
            UserError::UidWithoutEntry { uid, passwd } => write!(
                f,
                "uid {uid} has no entry in {}, so its group is unknown: write \"{uid}:GID\" \
                 with the group id to run it as (gosu would silently use group root)",
                passwd.display()
            ),
        }
    }
}

impl std::error::Error for UserError {}

/// An id as the files write it: a number below 4294967295, which is -1 to `setuid` and
/// `setgid` ("leave unchanged": a process would silently keep supd's own id, root).
fn parse_id(field: &str) -> Option<u32> {
    field.parse().ok().filter(|&id| id != u32::MAX)
}

/// `name:password:uid:gid:gecos:home:shell` lines; malformed lines (an id that is not a
/// number below 4294967295 among them) are skipped, as libc does.
pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 || f[0].is_empty() {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: parse_id(f[2])?,
                gid: parse_id(f[3])?,
                home: f[5].to_string(),
            })
        })
        .collect()
}

/// `name:password:gid:member,member` lines; malformed lines (a gid that is not a number
/// below 4294967295 among them) are skipped.
pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 || f[0].is_empty() {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: parse_id(f[2])?,
                members: f[3]
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
        appuser:x:1000:1000::/home/appuser:/bin/sh\n\
        broken line\n";
    const GROUP: &str = "root:x:0:\n\
        nogroup:x:65534:\n\
        appuser:x:1000:\n\
        extra:x:2000:appuser,other\n\
        more:x:2001:other, appuser\n";

    fn db() -> UserDb {
        UserDb {
            passwd: parse_passwd(PASSWD),
            groups: parse_group(GROUP),
            passwd_path: "/etc/passwd".into(),
            group_path: "/etc/group".into(),
        }
    }

    #[test]
    fn a_name_gets_its_entry_and_its_member_groups() {
        let id = db().resolve(&Who::Name("appuser".into()), None).unwrap();
        assert_eq!((id.uid, id.gid), (1000, 1000));
        assert_eq!(id.groups, [2000, 2001]);
        assert_eq!(id.home, "/home/appuser");
        assert_eq!(id.name.as_deref(), Some("appuser"));
    }

    #[test]
    fn an_explicit_group_is_the_only_group() {
        let id = db()
            .resolve(
                &Who::Name("appuser".into()),
                Some(&Who::Name("extra".into())),
            )
            .unwrap();
        assert_eq!((id.uid, id.gid, id.groups), (1000, 2000, vec![]));
    }

    #[test]
    fn numeric_ids_need_no_entries_when_both_are_given() {
        let id = db().resolve(&Who::Id(4321), Some(&Who::Id(8765))).unwrap();
        assert_eq!((id.uid, id.gid, id.groups), (4321, 8765, vec![]));
        assert_eq!(id.home, "/");
        assert_eq!(id.name, None);
        let nobody = db().resolve(&Who::Id(65534), None).unwrap();
        assert_eq!(nobody.name.as_deref(), Some("nobody"));
    }

    #[test]
    fn a_bare_unknown_uid_is_refused_with_advice() {
        let err = db().resolve(&Who::Id(12345), None).unwrap_err();
        assert!(matches!(err, UserError::UidWithoutEntry { uid: 12345, .. }));
        assert!(err.to_string().contains("\"12345:GID\""), "{err}");
    }

    #[test]
    fn unknown_names_are_named() {
        let err = db().resolve(&Who::Name("ghost".into()), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown user \"ghost\" (no such entry in /etc/passwd)"
        );
        let err = db()
            .resolve(
                &Who::Name("appuser".into()),
                Some(&Who::Name("nope".into())),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown group \"nope\" (no such entry in /etc/group)"
        );
    }
}
