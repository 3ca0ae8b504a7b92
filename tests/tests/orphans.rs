//! No orphans after `kill -9 supd`: supd's keeper (`supd keeper`, a child in a session of
//! its own) stops every program group when supd dies without doing it itself; it is
//! replaced when it dies, leaves nothing after a normal shutdown, and does not exist when
//! supd is PID 1.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
use supd_tests::{
    DEADLINE, StartOptions, Supd, alive, all_pids, is_root, pid_namespaces_unavailable, proc_stat,
    process_group, wait_until,
};

/// After `kill -9`, how long the programs may take to be gone (the keeper gives them 1 s).
const GONE_DEADLINE: Duration = Duration::from_secs(5);

/// The live keepers whose parent is `supd`: processes whose command line is `supd keeper`.
fn keepers_of(supd: u32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|&pid| {
            alive(pid)
                && proc_stat(pid).is_some_and(|f| f[1] == supd.to_string())
                && std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|cmdline| cmdline == b"supd\0keeper\0")
        })
        .collect()
}

/// supd's one keeper, once it runs.
fn keeper_of(supd: &Supd) -> i32 {
    wait_until("supd's keeper to run", DEADLINE, || {
        match keepers_of(supd.pid()).as_slice() {
            [keeper] => Some(*keeper),
            _ => None,
        }
    })
}

/// The keeper's line on supd's stderr (it shares supd's stderr).
fn keeper_line(supd: &Supd) -> Option<String> {
    supd.stderr
        .lines()
        .into_iter()
        .find(|l| l.starts_with("supd keeper: "))
}

/// `kill -9` supd; waits until it is gone and its stderr is closed — by the keeper too,
/// so the keeper has exited — then until no process supd started is alive. Returns the
/// keeper's line.
fn kill_supd_and_wait_for_the_programs(supd: &mut Supd) -> String {
    supd.signal(Signal::SIGKILL);
    supd.wait_exit(DEADLINE);
    wait_until(
        "every process of the programs to be gone",
        GONE_DEADLINE,
        || supd.leftovers().is_empty().then_some(()),
    );
    keeper_line(supd).unwrap_or_else(|| {
        panic!(
            "the keeper said nothing; supd's stderr:\n{}",
            supd.stderr.text()
        )
    })
}

fn programs() -> String {
    let mut programs = String::from(
        r#"
[program.grandchild]
command = ["sh", "-c", "sleep 1000 & exec sleep 1000"]
min_uptime = "0s"

[program.deaf]
command = ["sh", "-c", "trap '' TERM; echo deaf; while :; do sleep 0.1; done"]
min_uptime = "0s"
"#,
    );
    if is_root() {
        programs.push_str(
            r#"
[program.nobody]
command = "sleep 1000"
user = "nobody"
min_uptime = "0s"
"#,
        );
    } else {
        eprintln!("not root: no program runs as nobody in this test");
    }
    programs
}

fn wait_all_running(supd: &Supd) -> Vec<i32> {
    let names: &[&str] = if is_root() {
        &["grandchild", "deaf", "nobody"]
    } else {
        &["grandchild", "deaf"]
    };
    for name in names {
        supd.wait_state(name, "running");
    }
    // Its trap is set once it said so (names are padded to the longest one).
    wait_until("deaf to ignore TERM", DEADLINE, || {
        supd.stdout
            .lines()
            .iter()
            .any(|l| l.starts_with("deaf ") && l.ends_with("| deaf"))
            .then_some(())
    });
    let groups = supd.program_pids();
    assert_eq!(groups.len(), names.len());
    // The grandchild of `grandchild`, in its group.
    wait_until("the grandchild to run", DEADLINE, || {
        (supd.leftovers().len() > groups.len()).then_some(())
    });
    groups
}

#[test]
fn kill_9_of_supd_stops_every_program_group_grandchildren_and_deaf_ones_included() {
    let mut supd = Supd::start(&programs());
    let groups = wait_all_running(&supd);
    let keeper = keeper_of(&supd);
    let before = supd.leftovers();
    for &pid in &before {
        let group = process_group(pid);
        assert!(
            group.is_some_and(|g| groups.contains(&g)),
            "{pid} is in group {group:?}, not one of the programs' {groups:?}"
        );
    }

    let line = kill_supd_and_wait_for_the_programs(&mut supd);
    for pid in &before {
        assert!(!alive(*pid), "process {pid} outlived supd");
    }
    // Its stderr is closed; its exit may take a moment more to be seen in /proc.
    wait_until("the keeper to be gone", GONE_DEADLINE, || {
        (!alive(keeper)).then_some(())
    });
    eprintln!("{line}");
    let count = groups.len();
    assert_eq!(
        line,
        format!(
            "supd keeper: supd (pid {}) is gone; stopped {count} program groups (1 with SIGKILL)",
            supd.pid()
        )
    );
}

#[test]
fn a_killed_keeper_is_replaced_and_the_new_one_does_the_job() {
    let mut supd = Supd::start(&programs());
    let groups = wait_all_running(&supd);
    let first = keeper_of(&supd);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(first), Signal::SIGKILL).unwrap();
    let second = wait_until("a new keeper", DEADLINE, || {
        keepers_of(supd.pid()).into_iter().find(|&k| k != first)
    });
    assert!(
        supd.supd_messages().iter().any(|m| m.starts_with(&format!(
            "warning: the keeper (pid {first}) that stops the programs if supd is killed ended (killed by SIGKILL); starting a new one"
        ))),
        "{:#?}",
        supd.supd_messages()
    );
    assert_eq!(process_group(second), Some(second), "in a group of its own");

    let line = kill_supd_and_wait_for_the_programs(&mut supd);
    wait_until("the second keeper to be gone", GONE_DEADLINE, || {
        (!alive(second)).then_some(())
    });
    assert!(
        line.contains(&format!("stopped {} program groups", groups.len())),
        "{line}"
    );
}

#[test]
fn a_normal_shutdown_leaves_no_keeper_and_nothing_else() {
    let mut supd = Supd::start(
        r#"
[program.a]
command = ["sh", "-c", "sleep 1000 & exec sleep 1000"]
min_uptime = "0s"
"#,
    );
    supd.wait_state("a", "running");
    let keeper = keeper_of(&supd);
    let status = supd.terminate();
    assert_eq!(status.code(), Some(0), "{}", supd.stderr.text());
    wait_until("the keeper to be gone", GONE_DEADLINE, || {
        (!alive(keeper)).then_some(())
    });
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
    // It had nothing to stop, so it said nothing; supd did not count it as a leftover.
    assert_eq!(keeper_line(&supd), None, "{}", supd.stderr.text());
    assert!(
        !supd
            .supd_messages()
            .iter()
            .any(|m| m.contains("leftover") || m.contains("keeper")),
        "{:#?}",
        supd.supd_messages()
    );
}

#[test]
fn groups_of_past_runs_are_forgotten_and_nothing_else_is_signalled() {
    // A process of the test's own, in a group of its own: nobody should ever signal it.
    // (A pid cannot be made to be reused on purpose; what is checked is that the keeper
    // stops only the group that lives, after a crashing program's many runs.)
    let mut bystander = Command::new("sleep")
        .arg("1000")
        .process_group(0)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let bystander_pid = bystander.id() as i32;
    let mut supd = Supd::start(
        r#"
[program.crasher]
command = ["sh", "-c", "exit 1"]
min_uptime = "1s"
restart_delay = "10ms"
max_restart_delay = "10ms"
start_retries = 20

[program.steady]
command = "sleep 1000"
min_uptime = "0s"
"#,
    );
    let fatal = supd.wait_state("crasher", "fatal");
    assert_eq!(fatal["restarts"], 20, "{fatal}");
    supd.wait_state("steady", "running");

    let line = kill_supd_and_wait_for_the_programs(&mut supd);
    assert_eq!(
        line,
        format!(
            "supd keeper: supd (pid {}) is gone; stopped 1 program group",
            supd.pid()
        )
    );
    assert!(alive(bystander_pid), "the bystander was signalled");
    let _ = bystander.kill();
    let _ = bystander.wait();
}

#[test]
fn as_pid1_there_is_no_keeper() {
    if let Some(why) = pid_namespaces_unavailable() {
        eprintln!("skipped: {why}");
        return;
    }
    let mut supd = Supd::start_with(
        r#"
[program.a]
command = "sleep 1000"
min_uptime = "0s"
"#,
        StartOptions {
            pid1: true,
            ..Default::default()
        },
    );
    supd.wait_state("a", "running");
    // supd's children, seen from the test: the program only.
    let children = supd_sys::process::descendants(supd.pid() as i32);
    let commands: Vec<Vec<u8>> = children
        .iter()
        .filter_map(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).ok())
        .collect();
    assert_eq!(commands, [b"sleep\x001000\x00".to_vec()], "{children:?}");
    assert!(keepers_of(supd.pid()).is_empty());
    let status = supd.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}
