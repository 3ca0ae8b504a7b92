//! Fuzz tests of the `/etc/passwd` and `/etc/group` parsers and of resolving a `user`
//! against them: arbitrary text never panics and gives only entries its lines spell out;
//! generated entries, among comments, malformed lines and CRLF line ends, come back
//! exactly; resolving a name, a uid, `uid:gid` or `name:group` on a generated database
//! gives what gosu would (the entry, its member groups, the named group) or a
//! [`UserError`] naming what is missing and the file it is missing from; no resolution
//! ever yields id 4294967295, which `setuid`/`setgid` read as "leave unchanged".
//!
//! The default run, for CI, is 4,000 cases of each parser target and 1,000 resolutions
//! (each writes a database to files). For a longer hunt set `PROPTEST_CASES`,
//! e.g. `PROPTEST_CASES=1000000 cargo test --release --locked -p supd-sys --test fuzz`.

use std::path::Path;

use proptest::prelude::*;
use supd_sys::users::{GroupEntry, PasswdEntry, UserDb, UserError, Who, parse_group, parse_passwd};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4_000)
}

/// Names as they appear in the files: a small pool, so that lookups hit and collide.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(&["root", "app", "www-data", "1000", "é", "a.b", "_x"][..])
            .prop_map(str::to_string),
        1 => "[^:,\n\r#\\s][^:,\n\r\\s]{0,6}",
    ]
}

fn id() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => prop::sample::select(&[0u32, 1, 1000, 1001, 65534][..]),
        1 => any::<u32>(),
        1 => Just(u32::MAX),
    ]
}

fn passwd_entry() -> impl Strategy<Value = PasswdEntry> {
    (name(), id(), id(), "(/[a-z0-9é ]{0,5}){0,3}").prop_map(|(name, uid, gid, home)| PasswdEntry {
        name,
        uid,
        gid,
        home,
    })
}

fn group_entry() -> impl Strategy<Value = GroupEntry> {
    (name(), id(), prop::collection::vec(name(), 0..4))
        .prop_map(|(name, gid, members)| GroupEntry { name, gid, members })
}

/// Lines the parsers must skip.
fn junk_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("# root:x:0:0:root:/root:/bin/sh".to_string()),
        Just("broken line".to_string()),
        Just(":x:0:0::/:/bin/sh".to_string()),
        Just("x:x:-1:0::/:/bin/sh".to_string()),
        Just("x:x:4294967296:0::/:/bin/sh".to_string()),
        Just("x:x:abc:0:".to_string()),
        "[^\n:]{0,10}",
    ]
}

/// Which entries are good, and what is expected of them.
fn usable_id(id: u32) -> bool {
    id != u32::MAX
}

fn render_passwd(e: &PasswdEntry) -> String {
    format!(
        "{}:x:{}:{}:gecos, here:{}:/bin/sh",
        e.name, e.uid, e.gid, e.home
    )
}

fn render_group(e: &GroupEntry, spaced: bool) -> String {
    let sep = if spaced { ", " } else { "," };
    format!("{}:x:{}:{}", e.name, e.gid, e.members.join(sep))
}

/// Entries and junk lines interleaved, joined by `\n` or `\r\n`.
fn file_of<T: Clone + std::fmt::Debug>(
    entries: impl Strategy<Value = T>,
) -> impl Strategy<Value = (Vec<T>, Vec<(usize, String)>, bool)> {
    (
        prop::collection::vec(entries, 0..6),
        prop::collection::vec((0usize..8, junk_line()), 0..4),
        any::<bool>(),
    )
}

fn assemble(mut lines: Vec<String>, junk: &[(usize, String)], crlf: bool) -> String {
    for (at, line) in junk {
        lines.insert((*at).min(lines.len()), line.clone());
    }
    let end = if crlf { "\r\n" } else { "\n" };
    lines.iter().map(|l| format!("{l}{end}")).collect()
}

/// A database in files under `dir`, as `UserDb::load` reads them.
fn write_db(dir: &Path, passwd: &[PasswdEntry], groups: &[GroupEntry]) -> UserDb {
    let passwd_path = dir.join("passwd");
    let group_path = dir.join("group");
    let passwd_text: String = passwd.iter().map(|e| render_passwd(e) + "\n").collect();
    let group_text: String = groups
        .iter()
        .map(|e| render_group(e, false) + "\n")
        .collect();
    std::fs::write(&passwd_path, passwd_text).expect("write passwd");
    std::fs::write(&group_path, group_text).expect("write group");
    UserDb::load(&passwd_path, &group_path)
}

/// A `user` as written: a name or a uid, perhaps with a group name or gid.
fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        name().prop_map(Who::Name),
        // supd-config refuses 4294967295 in `user`, so resolution never sees it.
        id().prop_filter("not -1", |i| usable_id(*i))
            .prop_map(Who::Id),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_gives_only_entries_its_lines_spell(text in any::<String>()) {
        for e in parse_passwd(&text) {
            prop_assert!(!e.name.is_empty());
            prop_assert!(usable_id(e.uid) && usable_id(e.gid), "{e:?}");
            let head = format!("{}:", e.name);
            prop_assert!(text.lines().any(|l| l.starts_with(&head)), "{e:?}");
        }
        for e in parse_group(&text) {
            prop_assert!(!e.name.is_empty());
            prop_assert!(usable_id(e.gid), "{e:?}");
            prop_assert!(e.members.iter().all(|m| !m.is_empty() && m.trim() == m));
        }
    }

    #[test]
    fn passwd_entries_round_trip((entries, junk, crlf) in file_of(passwd_entry())) {
        let text = assemble(entries.iter().map(render_passwd).collect(), &junk, crlf);
        let expected: Vec<PasswdEntry> = entries
            .into_iter()
            .filter(|e| usable_id(e.uid) && usable_id(e.gid))
            .collect();
        prop_assert_eq!(parse_passwd(&text), expected, "{:?}", text);
    }

    #[test]
    fn group_entries_round_trip(
        (entries, junk, crlf) in file_of(group_entry()),
        spaced in any::<bool>(),
    ) {
        let text = assemble(entries.iter().map(|e| render_group(e, spaced)).collect(), &junk, crlf);
        let expected: Vec<GroupEntry> =
            entries.into_iter().filter(|e| usable_id(e.gid)).collect();
        prop_assert_eq!(parse_group(&text), expected, "{:?}", text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases() / 4,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn resolution_is_gosus_or_names_what_is_missing(
        passwd in prop::collection::vec(passwd_entry(), 0..5),
        groups in prop::collection::vec(group_entry(), 0..5),
        user in who(),
        group in prop::option::of(who()),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = write_db(dir.path(), &passwd, &groups);
        let passwd: Vec<&PasswdEntry> =
            passwd.iter().filter(|e| usable_id(e.uid) && usable_id(e.gid)).collect();
        let groups: Vec<&GroupEntry> = groups.iter().filter(|e| usable_id(e.gid)).collect();
        let entry = match &user {
            Who::Name(n) => passwd.iter().find(|e| &e.name == n).copied(),
            Who::Id(u) => passwd.iter().find(|e| e.uid == *u).copied(),
        };
        let result = db.resolve(&user, group.as_ref());
        let shown = result.as_ref().map_err(ToString::to_string);
        let passwd_file = dir.path().join("passwd").display().to_string();
        let group_file = dir.path().join("group").display().to_string();
        match (&user, entry, &group) {
            (Who::Name(n), None, _) => {
                let message = shown.clone().err().unwrap_or_default();
                prop_assert!(matches!(result, Err(UserError::UnknownUser { .. })), "{shown:?}");
                prop_assert!(message.contains(&format!("{n:?}")), "{message}");
                prop_assert!(message.contains(&passwd_file), "{message}");
            }
            (_, _, Some(Who::Name(g))) if !groups.iter().any(|e| &e.name == g) => {
                let message = shown.clone().err().unwrap_or_default();
                prop_assert!(matches!(result, Err(UserError::UnknownGroup { .. })), "{shown:?}");
                prop_assert!(message.contains(&format!("{g:?}")), "{message}");
                prop_assert!(message.contains(&group_file), "{message}");
            }
            (Who::Id(u), None, None) => {
                let message = shown.clone().err().unwrap_or_default();
                prop_assert!(matches!(result, Err(UserError::UidWithoutEntry { .. })), "{shown:?}");
                prop_assert!(message.contains(&format!("\"{u}:GID\"")), "{message}");
                prop_assert!(message.contains(&passwd_file), "{message}");
            }
            (_, entry, group) => {
                let id = result.map_err(|e| TestCaseError::fail(e.to_string()))?;
                let uid = match &user {
                    Who::Id(u) => *u,
                    Who::Name(_) => entry.map_or(u32::MAX, |e| e.uid),
                };
                prop_assert_eq!(id.uid, uid);
                prop_assert_eq!(id.name.as_deref(), entry.map(|e| e.name.as_str()));
                prop_assert_eq!(&id.home, entry.map_or("/", |e| e.home.as_str()));
                match group {
                    Some(Who::Id(g)) => {
                        prop_assert_eq!(id.gid, *g);
                        prop_assert!(id.groups.is_empty());
                    }
                    Some(Who::Name(g)) => {
                        let named = groups.iter().find(|e| &e.name == g).map(|e| e.gid);
                        prop_assert_eq!(Some(id.gid), named);
                        prop_assert!(id.groups.is_empty());
                    }
                    None => {
                        let e = entry.ok_or_else(|| TestCaseError::fail("no entry"))?;
                        prop_assert_eq!(id.gid, e.gid);
                        let member_of: Vec<u32> = groups
                            .iter()
                            .filter(|g| g.members.contains(&e.name))
                            .map(|g| g.gid)
                            .collect();
                        prop_assert_eq!(&id.groups, &member_of);
                    }
                }
                prop_assert!(usable_id(id.uid) && usable_id(id.gid), "{id:?}");
                prop_assert!(id.groups.iter().all(|g| usable_id(*g)), "{id:?}");
            }
        }
    }
}

/// An entry with id 4294967295 (-1, "leave unchanged" to `setuid`/`setgid`) used to be
/// read as any other: `user = "ghost"` then silently kept supd's own uid, root.
#[test]
fn an_id_of_minus_one_makes_an_entry_malformed() {
    assert_eq!(parse_passwd("ghost:x:4294967295:0::/:/bin/sh\n"), []);
    assert_eq!(parse_passwd("ghost:x:0:4294967295::/:/bin/sh\n"), []);
    assert_eq!(parse_group("ghosts:x:4294967295:app\n"), []);
}
