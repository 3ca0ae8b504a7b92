//! Who a program runs as: the config's `user` resolved against `/etc/passwd` and
//! `/etc/group` (gosu semantics, see `supd_sys::users`), turned into the credentials the
//! child switches to and the `HOME`/`USER`/`LOGNAME` it sees.

use supd_config::{IdRef, UserSpec};
use supd_sys::spawn::Credentials;
use supd_sys::users::{Identity, UserDb, Who};

/// What a program needs to run as its configured user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    /// `None` when supd already is that user (a non-root supd running its own user).
    pub credentials: Option<Credentials>,
    /// Identity variables: set (`Some`) or removed (`None`), before the program's own
    /// `environment`, which may override them.
    pub env: Vec<(String, Option<String>)>,
}

fn who(id: &IdRef) -> Who {
    match id {
        IdRef::Name(n) => Who::Name(n.clone()),
        IdRef::Id(i) => Who::Id(*i),
    }
}

/// Resolves `spec` and checks that supd may switch to it; the error is one sentence.
pub fn run_as(spec: &UserSpec, db: &UserDb) -> Result<RunAs, String> {
    let identity = db
        .resolve(&who(&spec.user), spec.group.as_ref().map(who).as_ref())
        .map_err(|e| e.to_string())?;
    let euid = nix::unistd::geteuid();
    let credentials = if euid.is_root() {
        Some(Credentials {
            uid: identity.uid,
            gid: identity.gid,
            groups: identity.groups.clone(),
        })
    } else if identity.uid == euid.as_raw() && spec.group.is_none() {
        None
    } else {
        return Err(format!(
            "supd runs as uid {}, not root, so it cannot switch to {} (run supd as root, or remove this key)",
            euid.as_raw(),
            describe(spec)
        ));
    };
    Ok(RunAs {
        credentials,
        env: identity_env(&identity),
    })
}

/// `HOME` from the passwd entry (`/` without one); `USER` and `LOGNAME` its name, or removed
/// when there is no entry (so a program never sees supd's own `USER=root`).
fn identity_env(id: &Identity) -> Vec<(String, Option<String>)> {
    vec![
        ("HOME".into(), Some(id.home.clone())),
        ("USER".into(), id.name.clone()),
        ("LOGNAME".into(), id.name.clone()),
    ]
}

/// `"appuser"`, `"1000:1000"`, as the user wrote it.
pub fn describe(spec: &UserSpec) -> String {
    let part = |id: &IdRef| match id {
        IdRef::Name(n) => n.clone(),
        IdRef::Id(i) => i.to_string(),
    };
    match &spec.group {
        Some(g) => format!("{}:{}", part(&spec.user), part(g)),
        None => part(&spec.user),
    }
}
