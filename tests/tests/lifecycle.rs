//! Programs come up, are listed with their pids, and come back at once when killed after a
//! successful start (issue 2, acceptance items 1 and 2).

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use serde_json::Value;
use supd_tests::{Supd, alive, process_group};

/// The row of `name` in `supctl status`'s table, split into cells (the last column, INFO,
/// is split too; callers look at the first five cells and at the whole line).
fn table_row(table: &str, name: &str) -> (Vec<String>, String) {
    let line = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row for {name} in the status table:\n{table}"));
    (
        line.split_whitespace().map(str::to_string).collect(),
        line.to_string(),
    )
}

#[test]
fn three_programs_reach_running_and_status_lists_them_with_pids() {
    let mut supd = Supd::start(
        r#"
[program.alpha]
command = "sleep 1000"
min_uptime = "200ms"

[program.beta]
command = ["sh", "-c", "exec sleep 1000"]
min_uptime = "200ms"

[program.gamma-long-name]
command = "sleep 1000"
min_uptime = "0s"
"#,
    );
    let names = ["alpha", "beta", "gamma-long-name"];
    for name in names {
        supd.wait_state(name, "running");
    }

    // JSON: every program, with the contract's keys.
    let status = supd.status();
    assert_eq!(status.len(), 3, "{status:#?}");
    for name in names {
        let p = status
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing from status --json: {status:#?}"));
        for key in ["name", "state", "pid", "restarts", "exit_code"] {
            assert!(p.get(key).is_some(), "{name} has no {key:?} in {p}");
        }
        assert_eq!(p["state"], "running", "{p}");
        assert_eq!(p["restarts"], 0, "{p}");
        assert_eq!(p["exit_code"], Value::Null, "{p}");
        let pid = p["pid"].as_u64().expect("a running program has a pid") as i32;
        assert!(alive(pid), "{name}'s pid {pid} is not a live process");
    }

    // Table: a header, then one row per program with its state and the same pid.
    let table = supd.ctl(&["status"]);
    assert_eq!(table.code, 0, "every program is up: {table:?}");
    let header: Vec<&str> = table
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        header[..5],
        ["NAME", "STATE", "PID", "UPTIME", "RESTARTS"],
        "{}",
        table.stdout
    );
    for p in &status {
        let name = p["name"].as_str().unwrap();
        let (cells, line) = table_row(&table.stdout, name);
        assert_eq!(cells[1], "running", "{line}");
        assert_eq!(cells[2], p["pid"].to_string(), "{line}");
        assert_eq!(cells[4], "0", "{line}");
    }

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn every_program_leads_its_own_process_group() {
    let mut supd = Supd::start(
        r#"
[program.one]
command = "sleep 1000"
min_uptime = "0s"

[program.two]
command = ["sh", "-c", "sleep 1000; true"]
min_uptime = "0s"
"#,
    );
    for name in ["one", "two"] {
        let pid = supd.wait_new_pid(name, None) as i32;
        assert_eq!(process_group(pid), Some(pid), "{name} (pid {pid})");
    }
    assert_ne!(
        process_group(supd.pid() as i32),
        process_group(supd.program("one")["pid"].as_u64().unwrap() as i32),
        "a program shares supd's process group"
    );
    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn kill_9_after_min_uptime_restarts_at_once_and_status_says_killed_by_sigkill() {
    let mut supd = Supd::start(
        r#"
[program.victim]
command = "sleep 1000"
min_uptime = "200ms"
restart_delay = "10s"
"#,
    );
    // `running` is only reached once the run has lasted min_uptime.
    let before = supd.wait_state("victim", "running");
    let old_pid = before["pid"].as_u64().unwrap();
    let old_restarts = before["restarts"].as_u64().unwrap();

    nix::sys::signal::kill(Pid::from_raw(old_pid as i32), Signal::SIGKILL).unwrap();

    let new_pid = supd.wait_new_pid("victim", Some(old_pid));
    assert!(alive(new_pid as i32), "new pid {new_pid} is not alive");
    let after = supd.wait_state("victim", "running");
    assert_eq!(after["pid"].as_u64(), Some(new_pid), "{after}");
    assert_eq!(
        after["restarts"].as_u64(),
        Some(old_restarts + 1),
        "{after}"
    );
    assert_eq!(after["last_exit"], "killed by SIGKILL", "{after}");
    assert_eq!(after["signal"], "SIGKILL", "{after}");
    assert_eq!(after["exit_code"], Value::Null, "{after}");

    // Restarted at once, not after a backoff: a restart_delay of 10s would have been
    // announced as "retrying in 10s" and the new pid would not be here yet.
    let said = supd.messages_about("victim");
    assert!(
        said.iter()
            .any(|m| m.starts_with("killed by SIGKILL") && m.ends_with("restarting")),
        "supd did not announce the restart: {said:#?}"
    );
    assert!(
        !said.iter().any(|m| m.contains("retrying in")),
        "a run longer than min_uptime was treated as a failed start: {said:#?}"
    );

    let table = supd.ctl(&["status", "victim"]);
    let (cells, line) = table_row(&table.stdout, "victim");
    assert_eq!(cells[2], new_pid.to_string(), "{line}");
    assert_eq!(cells[4], (old_restarts + 1).to_string(), "{line}");
    assert!(line.contains("killed by SIGKILL"), "{line}");

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(!alive(old_pid as i32) && !alive(new_pid as i32));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn null_output_and_command_checks_can_write() {
    // Regression: /dev/null was opened read-only, so writing to a `null` output failed
    // (EBADF) and every `command` health check that printed anything "failed".
    let supd = Supd::start(
        r#"
[program.quiet]
command = ["sh", "-c", "echo to-nowhere && echo to-nowhere >&2 && exec sleep 1000"]
stdout = "null"
stderr = "null"
min_uptime = "300ms"

[program.checked]
command = "sleep 1000"
min_uptime = "0s"

[program.checked.health]
command = ["sh", "-c", "echo checking; echo more >&2"]
interval = "200ms"
"#,
    );
    supd.wait_state("quiet", "running");
    let checked = supd.wait_state("checked", "running");
    assert_eq!(checked["health"], "healthy");
    assert_eq!(supd.program("quiet")["restarts"], 0);
}

#[test]
fn descriptors_leaked_to_supd_do_not_reach_programs() {
    use std::os::fd::AsRawFd;
    // A descriptor without close-on-exec in supd's parent, as a careless parent leaks it.
    let file = std::fs::File::open("/dev/null").unwrap();
    let leaked = nix::unistd::dup(&file).unwrap();
    let number = leaked.as_raw_fd();
    nix::fcntl::fcntl(
        &leaked,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .unwrap();
    let supd = Supd::start(
        "[program.lister]\ncommand = [\"sh\", \"-c\", \"ls /proc/self/fd; exec sleep 1000\"]\nmin_uptime = \"0s\"\n",
    );
    drop(leaked);
    supd.wait_stdout_prefix("lister | 2");
    let fds: Vec<String> = supd
        .stdout
        .lines()
        .iter()
        .filter_map(|l| l.strip_prefix("lister | ").map(str::to_string))
        .collect();
    assert!(
        !fds.contains(&number.to_string()),
        "fd {number} reached the program: {fds:?}"
    );
}

#[test]
fn supctl_restart_says_restarted() {
    let mut supd = Supd::start(
        r#"
[program.web]
command = "sleep 1000"
min_uptime = "0s"
"#,
    );
    supd.wait_state("web", "running");
    let out = supd.ctl(&["restart", "web"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "web: restarted\n");
    assert_eq!(supd.terminate().code(), Some(0));
}
