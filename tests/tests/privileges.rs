//! Per-program `user`, gosu-style, and `supd exec` (issue 3, acceptance 3, 4 and 5).
//! Needs root (to switch users and create the test user); skips, saying why, otherwise.
//! Where gosu is installed, every identity is compared with gosu's for the same spec.

use std::process::Command;
use std::sync::OnceLock;

use supd_tests::{Supd, bin, is_root, run_supd};

const USER: &str = "supdtest";
const EXTRA: &str = "supdtestx";
const MORE: &str = "supdtesty";

/// Creates the test user (home /home/supdtest) with two supplementary groups, once.
fn test_user() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        if !is_root() {
            eprintln!("skipped: switching users needs root; CI runs as root");
            return false;
        }
        let run = |args: &[&str]| {
            let ok = Command::new(args[0])
                .args(&args[1..])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "{args:?} failed");
        };
        let exists = |db: &str, name: &str| {
            std::fs::read_to_string(db)
                .unwrap_or_default()
                .lines()
                .any(|l| l.split(':').next() == Some(name))
        };
        for group in [EXTRA, MORE] {
            if !exists("/etc/group", group) {
                run(&["groupadd", group]);
            }
        }
        if !exists("/etc/passwd", USER) {
            run(&[
                "useradd",
                "--create-home",
                "--groups",
                &format!("{EXTRA},{MORE}"),
                USER,
            ]);
        }
        true
    })
}

/// `id` and the identity variables, as a program sees them.
const PROBE: &str =
    "id; echo HOME=$HOME USER=$USER LOGNAME=$LOGNAME; grep Groups /proc/self/status";

fn gosu(spec: &str) -> Option<String> {
    if let Err(why) = supd_tests::ensure_tools(&["gosu"], &["gosu"]) {
        eprintln!("{why}: not comparing with gosu");
        return None;
    }
    let out = Command::new("gosu")
        .args([spec, "sh", "-c", "id; grep Groups /proc/self/status"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn programs_run_with_exactly_the_identity_gosu_gives() {
    if !test_user() {
        return;
    }
    let specs = ["nobody", "65534:65534", USER, &format!("{USER}:{EXTRA}")];
    let programs: String = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            format!(
                "[program.prog{i}]\ncommand = [\"sh\", \"-c\", \"{PROBE}; exec sleep 1000\"]\nuser = \"{spec}\"\nmin_uptime = \"0s\"\n"
            )
        })
        .collect();
    let mut supd = Supd::start(&programs);
    for i in 0..specs.len() {
        supd.wait_stdout_prefix(&format!("prog{i} | Groups"));
    }
    let out = supd.stdout.lines();
    let seen = |i: usize| -> Vec<String> {
        out.iter()
            .filter_map(|l| l.strip_prefix(&format!("prog{i} | ")))
            .map(str::to_string)
            .collect()
    };
    let home = format!("/home/{USER}");
    let expected_env = [
        "HOME=/nonexistent USER=nobody LOGNAME=nobody".to_string(),
        "HOME=/nonexistent USER=nobody LOGNAME=nobody".to_string(),
        format!("HOME={home} USER={USER} LOGNAME={USER}"),
        format!("HOME={home} USER={USER} LOGNAME={USER}"),
    ];
    for (i, spec) in specs.iter().enumerate() {
        let lines = seen(i);
        assert_eq!(lines.len(), 3, "{spec}: {lines:?}");
        assert_eq!(lines[1], expected_env[i], "{spec}");
        match gosu(spec) {
            Some(gosu) => {
                let gosu: Vec<&str> = gosu.lines().collect();
                assert_eq!(lines[0], gosu[0], "{spec}: id differs from gosu's");
                assert_eq!(
                    lines[2].trim_end(),
                    gosu[1].trim_end(),
                    "{spec}: groups differ from gosu's"
                );
            }
            None => eprintln!("gosu is not installed: checking {spec} without comparing to it"),
        }
    }
    // Without gosu, the facts: supplementary groups only for the plain user name.
    assert!(
        seen(2)[0].contains(&format!("({EXTRA})")) && seen(2)[0].contains(&format!("({MORE})"))
    );
    assert!(!seen(3)[0].contains(&format!("({MORE})")));
    let gid_is_extra = seen(3)[0]
        .split_whitespace()
        .nth(1)
        .is_some_and(|g| g.contains(EXTRA));
    assert!(gid_is_extra, "{:?}", seen(3));
    supd.terminate();
}

#[test]
fn the_program_environment_overrides_identity_variables() {
    if !test_user() {
        return;
    }
    let mut supd = Supd::start(&format!(
        "[program.probe]\ncommand = [\"sh\", \"-c\", \"echo HOME=$HOME; exec sleep 1000\"]\nuser = \"{USER}\"\nenvironment = {{ HOME = \"/tmp\" }}\nmin_uptime = \"0s\"\n"
    ));
    supd.wait_stdout_line("probe | HOME=/tmp");
    supd.terminate();
}

fn check(config: &str) -> supd_tests::CtlOutput {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("supd.toml"), config).unwrap();
    run_supd(dir.path(), &["check", "--config", "supd.toml"])
}

#[test]
fn a_bare_uid_without_passwd_entry_is_refused_with_advice() {
    let out = check("[program.p]\ncommand = \"sleep 1\"\nuser = \"12345\"\n");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("program.p.user:"), "{}", out.stderr);
    assert!(out.stderr.contains("write \"12345:GID\""), "{}", out.stderr);
}

#[test]
fn an_unknown_user_or_group_is_refused_naming_it() {
    let out = check("[program.p]\ncommand = \"sleep 1\"\nuser = \"no-such-user\"\n");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("unknown user \"no-such-user\""),
        "{}",
        out.stderr
    );
    let out = check("[program.p]\ncommand = \"sleep 1\"\nuser = \"nobody:no-such-group\"\n");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("unknown group \"no-such-group\""),
        "{}",
        out.stderr
    );
}

#[test]
fn a_supd_that_is_not_root_refuses_to_switch_users_saying_why() {
    if !is_root() {
        // Already not root: check directly.
        let out = check("[program.p]\ncommand = \"sleep 1\"\nuser = \"nobody\"\n");
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains("not root"), "{}", out.stderr);
        return;
    }
    // As root: run `supd check` itself as nobody, through `supd exec`.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("supd.toml");
    std::fs::write(
        &config,
        "[program.p]\ncommand = \"sleep 1\"\nuser = \"root\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(bin("supd"))
        .args(["exec", "--user", "nobody", "--"])
        .arg(bin("supd"))
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "program.p.user: supd runs as uid 65534, not root, so it cannot switch to root"
        ),
        "{err}"
    );
}

#[test]
fn supd_exec_replaces_itself_keeping_the_pid_and_the_exit_code() {
    if !test_user() {
        return;
    }
    let child = Command::new(bin("supd"))
        .args([
            "exec",
            "--user",
            USER,
            "--",
            "sh",
            "-c",
            "echo $$; id -u; exit 7",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        pid.to_string(),
        "same pid: exec in place, no fork"
    );
    let uid = std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find(|l| l.starts_with(&format!("{USER}:")))
        .and_then(|l| l.split(':').nth(2).map(str::to_string))
        .unwrap();
    assert_eq!(lines[1], uid);
    assert_eq!(out.status.code(), Some(7), "the command's own exit code");
}

#[test]
fn supd_exec_of_a_missing_command_exits_127_saying_so() {
    let user = if is_root() { "nobody" } else { "0" };
    if !is_root() {
        eprintln!("note: not root, exec as a different user is refused before the lookup");
    }
    let out = Command::new(bin("supd"))
        .args(["exec", "--user", user, "--", "no-such-command-anywhere"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    if is_root() {
        assert_eq!(out.status.code(), Some(127), "{err}");
        assert_eq!(
            err.trim(),
            "supd exec: no-such-command-anywhere: command not found"
        );
    } else {
        assert_eq!(out.status.code(), Some(2), "{err}");
    }
}

#[test]
fn supd_exec_does_not_pass_on_an_ignored_sigpipe() {
    // Regression: the Rust runtime ignores SIGPIPE and `supd exec` handed that on, so
    // `yes | head -1` complained about a broken pipe instead of dying quietly.
    let user = if is_root() { "0:0" } else { "" };
    if user.is_empty() {
        eprintln!("skipped: supd exec to a uid:gid needs root");
        return;
    }
    let out = Command::new(bin("supd"))
        .args([
            "exec",
            "--user",
            user,
            "--",
            "sh",
            "-c",
            "yes | head -1; grep SigIgn /proc/self/status",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ignored = stdout.lines().find(|l| l.starts_with("SigIgn")).unwrap();
    let mask = u64::from_str_radix(ignored.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(
        mask & (1 << (13 - 1)),
        0,
        "SIGPIPE (13) is not ignored: {ignored}"
    );
}
