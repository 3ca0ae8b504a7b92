//! Who may use the control socket: the rule, decided from the kernel's credentials of the
//! peer (`SO_PEERCRED`), never from anything the client says.
//!
//! - root, and the user supd runs as, may do everything;
//! - members of `[supd] socket_group` (the group the socket file is given to) too;
//! - members of `[supd] socket_readonly_group` may use what changes nothing (`status`,
//!   `logs`, `events`, `wait`);
//! - anyone else who can reach the socket is refused.
//!
//! Membership is the peer's effective gid at `connect` and, when the kernel tells its pid,
//! the supplementary groups of that process (`Groups:` in `/proc/PID/status`). A peer in
//! another pid namespace has no pid here; only its gid counts then.

use std::fmt;

use supd_config::{IdRef, SupdSpec};
use supd_proto::Request;
use supd_sys::users::UserDb;

/// What a peer may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Everything,
    ReadOnly,
    Nothing,
}

/// A connected client as the kernel describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    /// `None` when the peer is in another pid namespace.
    pub pid: Option<i32>,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uid {}", self.uid)?;
        match self.pid {
            Some(pid) => write!(f, " (pid {pid})"),
            None => Ok(()),
        }
    }
}

/// A group named in the config, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    gid: u32,
    /// As the config wrote it, for messages.
    shown: String,
}

/// A group the config names that `/etc/group` does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownGroup {
    /// `socket_group` or `socket_readonly_group`.
    pub key: &'static str,
    pub name: String,
}

impl fmt::Display for UnknownGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[supd] {} = {:?}: no such group in /etc/group",
            self.key, self.name
        )
    }
}

/// The rule for one supd.
#[derive(Debug, Clone)]
pub struct Access {
    own_uid: u32,
    full: Option<Group>,
    read_only: Option<Group>,
}

impl Access {
    /// The rule of `spec`, with group names looked up in `/etc/group`.
    pub fn from_spec(spec: &SupdSpec, db: &UserDb) -> Result<Access, UnknownGroup> {
        let resolve =
            |key: &'static str, id: &Option<IdRef>| -> Result<Option<Group>, UnknownGroup> {
                Ok(match id {
                    None => None,
                    Some(IdRef::Id(gid)) => Some(Group {
                        gid: *gid,
                        shown: gid.to_string(),
                    }),
                    Some(IdRef::Name(name)) => match db.group_by_name(name) {
                        Some(entry) => Some(Group {
                            gid: entry.gid,
                            shown: format!("{name:?}"),
                        }),
                        None => {
                            return Err(UnknownGroup {
                                key,
                                name: name.clone(),
                            });
                        }
                    },
                })
            };
        Ok(Access {
            own_uid: nix::unistd::geteuid().as_raw(),
            full: resolve("socket_group", &spec.socket_group)?,
            read_only: resolve("socket_readonly_group", &spec.socket_readonly_group)?,
        })
    }

    /// The gid the socket file is given to, if any.
    pub fn socket_gid(&self) -> Option<u32> {
        self.full.as_ref().map(|g| g.gid)
    }

    /// What `peer` may do.
    pub fn level(&self, peer: &Peer) -> Level {
        if peer.uid == 0 || peer.uid == self.own_uid {
            return Level::Everything;
        }
        let groups = peer.pid.map(supplementary_groups).unwrap_or_default();
        let member = |g: &Option<Group>| {
            g.as_ref()
                .is_some_and(|g| peer.gid == g.gid || groups.contains(&g.gid))
        };
        if member(&self.full) {
            Level::Everything
        } else if member(&self.read_only) {
            Level::ReadOnly
        } else {
            Level::Nothing
        }
    }

    /// Why a peer that may do nothing is refused: the rule, and how to change it.
    pub fn refusal(&self, peer: &Peer) -> String {
        let own = if self.own_uid == 0 {
            String::new()
        } else {
            format!(", supd's own user (uid {})", self.own_uid)
        };
        let mut allowed = format!("root{own}");
        let hint = match (&self.full, &self.read_only) {
            (None, None) => " (set [supd] socket_group to let a group in)".to_string(),
            (Some(full), None) => {
                allowed.push_str(&format!(" and members of socket_group {}", full.shown));
                String::new()
            }
            (None, Some(ro)) => {
                allowed.push_str(&format!(
                    ", and read-only members of socket_readonly_group {}",
                    ro.shown
                ));
                String::new()
            }
            (Some(full), Some(ro)) => {
                allowed.push_str(&format!(
                    ", members of socket_group {} and, read-only, of socket_readonly_group {}",
                    full.shown, ro.shown
                ));
                String::new()
            }
        };
        format!("permission denied: {peer} may not use this supd; only {allowed} may{hint}")
    }

    /// Why a read-only peer may not make `request`.
    pub fn read_only_refusal(&self, peer: &Peer, request: &Request) -> String {
        let group = self.read_only.as_ref().map_or("?", |g| g.shown.as_str());
        format!(
            "permission denied: {peer} is in socket_readonly_group {group}, which may use \
             status, logs, events and wait only, not {}",
            command_name(request)
        )
    }
}

/// Whether `request` only looks (what a read-only peer may make).
pub fn only_looks(request: &Request) -> bool {
    match request {
        Request::Status { .. }
        | Request::Logs { .. }
        | Request::Events { .. }
        | Request::Wait { .. } => true,
        Request::Start { .. }
        | Request::Stop { .. }
        | Request::Restart { .. }
        | Request::Upgrade { .. }
        | Request::Signal { .. }
        | Request::Shutdown
        | Request::Reload => false,
    }
}

/// The supctl command of `request`, for messages.
fn command_name(request: &Request) -> &'static str {
    match request {
        Request::Status { .. } => "status",
        Request::Start { .. } => "start",
        Request::Stop { .. } => "stop",
        Request::Restart { .. } => "restart",
        Request::Upgrade { .. } => "upgrade",
        Request::Signal { .. } => "signal",
        Request::Logs { .. } => "logs",
        Request::Events { .. } => "events",
        Request::Shutdown => "shutdown",
        Request::Reload => "reload",
        Request::Wait { .. } => "wait",
    }
}

/// The supplementary groups of process `pid` (empty when it cannot be read: the peer
/// exited, or `/proc` is not this namespace's).
fn supplementary_groups(pid: i32) -> Vec<u32> {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Vec::new();
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|groups| {
            groups
                .split_whitespace()
                .filter_map(|g| g.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(full: Option<u32>, ro: Option<u32>) -> Access {
        let group = |gid: u32| Group {
            gid,
            shown: format!("\"g{gid}\""),
        };
        Access {
            own_uid: 1000,
            full: full.map(group),
            read_only: ro.map(group),
        }
    }

    fn peer(uid: u32, gid: u32) -> Peer {
        Peer {
            uid,
            gid,
            pid: None,
        }
    }

    #[test]
    fn root_and_own_user_may_do_everything() {
        let a = access(None, None);
        assert_eq!(a.level(&peer(0, 5)), Level::Everything);
        assert_eq!(a.level(&peer(1000, 5)), Level::Everything);
        assert_eq!(a.level(&peer(1001, 5)), Level::Nothing);
    }

    #[test]
    fn groups_by_primary_gid() {
        let a = access(Some(100), Some(200));
        assert_eq!(a.level(&peer(1001, 100)), Level::Everything);
        assert_eq!(a.level(&peer(1001, 200)), Level::ReadOnly);
        assert_eq!(a.level(&peer(1001, 300)), Level::Nothing);
    }

    #[test]
    fn supplementary_groups_of_a_live_process_count() {
        // This very process: its own supplementary groups are what /proc says.
        let own = supplementary_groups(std::process::id() as i32);
        let Some(&gid) = own.first() else {
            eprintln!("skipped: this process has no supplementary group to test with");
            return;
        };
        let a = access(Some(gid), None);
        let me = Peer {
            uid: 4242,
            gid: 4242,
            pid: Some(std::process::id() as i32),
        };
        assert_eq!(a.level(&me), Level::Everything);
    }

    #[test]
    fn refusals_name_the_rule() {
        let p = Peer {
            uid: 65534,
            gid: 65534,
            pid: Some(77),
        };
        assert_eq!(
            access(None, None).refusal(&p),
            "permission denied: uid 65534 (pid 77) may not use this supd; only root, supd's own \
             user (uid 1000) may (set [supd] socket_group to let a group in)"
        );
        assert_eq!(
            access(Some(100), None).refusal(&p),
            "permission denied: uid 65534 (pid 77) may not use this supd; only root, supd's own \
             user (uid 1000) and members of socket_group \"g100\" may"
        );
        assert_eq!(
            access(Some(100), Some(200)).read_only_refusal(&p, &Request::Shutdown),
            "permission denied: uid 65534 (pid 77) is in socket_readonly_group \"g200\", which \
             may use status, logs, events and wait only, not shutdown"
        );
    }
}
