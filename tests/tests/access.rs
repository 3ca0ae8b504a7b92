//! Who may use the control socket (issue 14, "Control socket access"): the kernel's peer
//! credentials decide. Root and supd's own user may do everything, members of
//! `socket_group` too, members of `socket_readonly_group` only look; anyone else who can
//! reach the socket is refused with one line and exit 4, and supd logs it.
//!
//! supctl runs as other users through util-linux's `setpriv` (as root: the tests need to
//! change uid, so they skip otherwise).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use supd_tests::{
    CtlOutput, DEADLINE, StartOptions, Supd, alive, bin, ctl_through, ensure_tools, is_root,
    run_supd, wait_until,
};

/// nobody/nogroup, and Debian's `users` group (gid 100).
const NOBODY: u32 = 65534;
const USERS: u32 = 100;

/// Root is needed to run supctl as another user; `setpriv` to do it.
fn can_switch_users(test: &str) -> bool {
    if !is_root() {
        eprintln!("skipped {test}: needs root to run supctl as other users");
        return false;
    }
    if let Err(why) = ensure_tools(&["setpriv"], &["util-linux"]) {
        eprintln!("skipped {test}: {why}");
        return false;
    }
    true
}

/// supd with a program `a`, its socket reachable by everyone at the file level (mode 0666
/// in a directory others may enter), so that only supd's own check keeps strangers out.
fn open_supd(groups: &str) -> Supd {
    let supd = Supd::start_with(
        "[program.a]\ncommand = \"sleep 1000\"\n",
        StartOptions {
            supd_table: format!("socket_mode = \"0666\"\n{groups}"),
            ..Default::default()
        },
    );
    std::fs::set_permissions(supd.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    supd.wait_state("a", "running");
    supd
}

/// `supctl ARGS` run as `uid`, with primary group `gid` and supplementary `groups`.
fn ctl_as(socket: &Path, uid: u32, gid: u32, groups: &[u32], args: &[&str]) -> CtlOutput {
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"));
    if groups.is_empty() {
        cmd.arg("--clear-groups");
    } else {
        let list: Vec<String> = groups.iter().map(u32::to_string).collect();
        cmd.arg(format!("--groups={}", list.join(",")));
    }
    cmd.arg(bin("supctl"));
    ctl_through(cmd, socket, args)
}

#[test]
fn a_stranger_is_refused_with_exit_4_and_a_socket_group_member_is_served() {
    if !can_switch_users("a_stranger_is_refused...") {
        return;
    }
    let mut supd = open_supd("socket_group = \"users\"");
    let meta = std::fs::metadata(&supd.socket).unwrap();
    assert_eq!(
        meta.gid(),
        USERS,
        "the socket file is given to socket_group"
    );

    let stranger = ctl_as(&supd.socket, NOBODY, NOBODY, &[], &["status"]);
    assert_eq!(stranger.code, 4, "{stranger:?}");
    assert!(stranger.stdout.is_empty(), "{stranger:?}");
    let line = stranger.stderr.trim_end();
    assert_eq!(line.lines().count(), 1, "one line: {line}");
    assert!(line.contains("permission denied"), "{line}");
    assert!(line.contains("uid 65534"), "names the user: {line}");
    assert!(
        line.contains("socket_group \"users\""),
        "names the rule: {line}"
    );
    let logged = wait_until("supd logs the refusal", DEADLINE, || {
        supd.supd_messages()
            .into_iter()
            .find(|m| m.contains("refused: permission denied: uid 65534 (pid "))
    });
    assert!(logged.contains("permission denied"), "{logged}");

    // A stranger may not stop anything either; `a` keeps running.
    let pid = supd.program("a")["pid"].as_u64().unwrap() as i32;
    let stop = ctl_as(&supd.socket, NOBODY, NOBODY, &[], &["stop", "a"]);
    assert_eq!(stop.code, 4, "{stop:?}");
    assert!(alive(pid));

    // A member by a supplementary group, and one by the primary group: served in full.
    let member = ctl_as(&supd.socket, NOBODY, NOBODY, &[USERS], &["status", "a"]);
    assert_eq!(member.code, 0, "{member:?}");
    assert!(member.stdout.contains("running"), "{member:?}");
    let stopped = ctl_as(&supd.socket, NOBODY, USERS, &[], &["stop", "a"]);
    assert_eq!(stopped.code, 0, "{stopped:?}");
    supd.wait_state("a", "stopped");
    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn without_socket_group_only_root_and_supds_user_are_served() {
    if !can_switch_users("without_socket_group...") {
        return;
    }
    let mut supd = open_supd("");
    let refused = ctl_as(&supd.socket, NOBODY, USERS, &[USERS], &["status"]);
    assert_eq!(refused.code, 4, "{refused:?}");
    assert!(
        refused.stderr.contains("set [supd] socket_group"),
        "says how to let a group in: {}",
        refused.stderr
    );
    // supd runs as root here: root is its own user.
    assert_eq!(supd.ctl(&["status"]).code, 0);
    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn a_read_only_group_may_look_but_not_touch() {
    if !can_switch_users("a_read_only_group...") {
        return;
    }
    let mut supd = open_supd("socket_readonly_group = \"users\"");
    let viewer = |args: &[&str]| ctl_as(&supd.socket, NOBODY, USERS, &[], args);
    let status = viewer(&["status"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert_eq!(viewer(&["logs", "a"]).code, 0);
    assert_eq!(viewer(&["wait", "a"]).code, 0);

    let pid = supd.program("a")["pid"].as_u64().unwrap() as i32;
    for args in [
        &["stop", "a"][..],
        &["restart", "a"],
        &["shutdown"],
        &["reload"],
    ] {
        let out = viewer(args);
        assert_eq!(out.code, 4, "{args:?}: {out:?}");
        let line = out.stderr.trim_end();
        assert!(
            line.contains("permission denied") && line.contains("socket_readonly_group"),
            "{args:?}: {line}"
        );
    }
    assert!(alive(pid), "nothing a viewer asked was done");
    assert_eq!(supd.program("a")["pid"].as_u64().unwrap() as i32, pid);
    // Without a group at all, not even status.
    assert_eq!(
        ctl_as(&supd.socket, NOBODY, NOBODY, &[], &["status"]).code,
        4
    );
    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn the_socket_mode_follows_the_groups_unless_given() {
    let mode_of = |groups: &str| {
        let mut supd = Supd::start_with(
            "[program.a]\ncommand = \"sleep 1000\"\n",
            StartOptions {
                supd_table: groups.into(),
                ..Default::default()
            },
        );
        let mode = std::fs::metadata(&supd.socket).unwrap().mode() & 0o777;
        supd.terminate();
        mode
    };
    // The test runs as root or not; the group supd is in is always allowed.
    let gid = nix::unistd::getegid().as_raw();
    assert_eq!(mode_of(&format!("socket_group = \"{gid}\"")), 0o660);
    assert_eq!(
        mode_of(&format!("socket_readonly_group = \"{gid}\"")),
        0o666
    );
}

#[test]
fn unknown_groups_are_config_errors_and_a_mode_that_shuts_the_group_out_is_warned() {
    let dir = tempfile::tempdir().unwrap();
    let write = |supd_table: &str| {
        let path = dir.path().join("supd.toml");
        std::fs::write(
            &path,
            format!(
                "[supd]\nsocket = \"{}\"\n{supd_table}\n\n[program.a]\ncommand = \"sleep 1000\"\n",
                dir.path().join("s.sock").display()
            ),
        )
        .unwrap();
        path
    };
    let check = |supd_table: &str| {
        let path = write(supd_table);
        run_supd(dir.path(), &["check", "--config", path.to_str().unwrap()])
    };
    // Only for configs supd refuses: it exits at once.
    let run = |supd_table: &str| {
        let path = write(supd_table);
        run_supd(dir.path(), &["--config", path.to_str().unwrap()])
    };
    for key in ["socket_group", "socket_readonly_group"] {
        let table = format!("{key} = \"no-such-group\"");
        let (checked, ran) = (check(&table), run(&table));
        assert_eq!(checked.code, 2, "{checked:?}");
        assert!(
            checked.stderr.contains(&format!(
                "supd.{key}: no group named \"no-such-group\" in /etc/group"
            )),
            "{}",
            checked.stderr
        );
        assert_eq!(ran.code, 2, "{ran:?}");
        assert!(
            ran.stderr.contains("no-such-group") && ran.stderr.contains("/etc/group"),
            "{}",
            ran.stderr
        );
    }
    let checked = check("socket_group = \"users\"\nsocket_mode = \"0600\"");
    assert_eq!(checked.code, 0, "a warning: {checked:?}");
    assert!(
        checked
            .stderr
            .contains("does not let socket_group read and write the socket"),
        "{}",
        checked.stderr
    );
}
