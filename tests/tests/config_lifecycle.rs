//! Config lifecycle with the real binaries (issue 6, acceptance 3 to 6): profiles choose what
//! runs, `instances = N` runs N numbered copies that supctl can address one by one or all
//! together, `supd import` turns the seeds' supervisord configs into TOML that supd checks
//! and runs (the celery watcher really restarts the worker), supd runs a supervisord file
//! directly (`numprocs` as instances), and bad supervisord input is one clear line naming its
//! line.

use std::path::{Path, PathBuf};

use supd_tests::{
    CtlOutput, DEADLINE, StartOptions, Supd, assert_clear_message, run_supd, wait_until,
};

/// The names in `supctl status --json`, in order.
fn status_names(supd: &Supd) -> Vec<String> {
    supd.status()
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn running_pid(supd: &Supd, name: &str) -> u64 {
    supd.wait_state(name, "running")["pid"]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} has no pid"))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

// ----- 3. profiles ------------------------------------------------------------------------

const PROFILED: &str = r#"
[program.web]
command = "sleep 1000"
min_uptime = "0s"

[program.vite]
command = "sleep 1001"
profiles = ["dev"]
min_uptime = "0s"

[program.nginx]
command = "sleep 1002"
profiles = ["prod"]
depends_on = ["web"]
min_uptime = "0s"

[program.toolbar]
command = "sleep 1003"
profiles = ["dev", "debug"]
min_uptime = "0s"
"#;

#[test]
fn profile_dev_and_profile_prod_start_the_right_sets_from_one_file() {
    // (supd's arguments, its environment, the programs that run)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: [Case; 5] = [
        (&["--profile", "dev"], &[], &["web", "vite", "toolbar"]),
        (&["--profile", "prod"], &[], &["web", "nginx"]),
        (
            &["--profile", "prod,debug"],
            &[],
            &["web", "nginx", "toolbar"],
        ),
        (&[], &[("SUPD_PROFILE", "prod")], &["web", "nginx"]),
        (&[], &[], &["web"]),
    ];
    for (args, env, expected) in cases {
        let mut supd = Supd::start_with(
            PROFILED,
            StartOptions {
                args: strings(args),
                env: env
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..Default::default()
            },
        );
        assert_eq!(status_names(&supd), expected, "{args:?} {env:?}");
        for name in expected {
            running_pid(&supd, name);
        }
        // A reload keeps the profiles supd was started with: nothing to add or remove.
        let out = supd.ctl(&["reload"]);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, "no program changed\n"),
            "{args:?}: {out:?}"
        );
        assert_eq!(status_names(&supd), expected);
        assert_eq!(supd.terminate().code(), Some(0));
        assert!(supd.leftovers().is_empty());
    }
}

#[test]
fn supd_check_takes_profiles_and_refuses_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("supd.toml"), PROFILED).unwrap();
    let out = run_supd(
        dir.path(),
        &["check", "--config", "supd.toml", "--profile", "prod"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "supd.toml: ok (2 programs: web, nginx); left out by profiles: vite, toolbar \
         (active profiles: prod)\n"
    );

    let out = run_supd(dir.path(), &["check", "--config", "supd.toml", "-p", "prd"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.starts_with(
            "supd.toml: unknown profile \"prd\" (did you mean \"prod\"? known profiles: dev, prod, debug)\n"
        ),
        "{}",
        out.stderr
    );

    // Running refuses it the same way, before starting anything.
    let out = run_supd(
        dir.path(),
        &["--config", "supd.toml", "--profile", "staging"],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("unknown profile \"staging\""),
        "{}",
        out.stderr
    );
    assert_clear_message(&out.stderr);
}

// ----- 4. instances -----------------------------------------------------------------------

const WORKERS: &str = r#"
[program.worker]
command = ["sh", "-c", "echo worker ${INSTANCE} sees INSTANCE=$INSTANCE; exec sleep 1000"]
instances = 3
min_uptime = "0s"
stop_timeout = "5s"
"#;

fn worker_pids(supd: &Supd) -> Vec<u64> {
    (0..3)
        .map(|i| running_pid(supd, &format!("worker:{i}")))
        .collect()
}

#[test]
fn three_instances_each_see_their_own_instance_and_restart_one_by_one_or_all() {
    let mut supd = Supd::start(WORKERS);
    assert_eq!(status_names(&supd), ["worker:0", "worker:1", "worker:2"]);
    for i in 0..3 {
        supd.wait_stdout_line(&format!("worker:{i} | worker {i} sees INSTANCE={i}"));
    }
    let before = worker_pids(&supd);

    // One instance: only its pid changes.
    let out = supd.ctl(&["restart", "worker:1"]);
    assert_eq!(out.code, 0, "{out:?}");
    let new1 = supd.wait_new_pid("worker:1", Some(before[1]));
    assert_eq!(worker_pids(&supd), [before[0], new1, before[2]]);

    // The base name: every instance restarts.
    let out = supd.ctl(&["restart", "worker"]);
    assert_eq!(out.code, 0, "{out:?}");
    let after = worker_pids(&supd);
    for (i, pid) in after.iter().enumerate() {
        let old = if i == 1 { new1 } else { before[i] };
        assert_ne!(*pid, old, "worker:{i} was restarted");
    }

    // status and typos speak the same names.
    let out = supd.ctl(&["status", "worker", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let listed: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(listed.len(), 3);
    let out = supd.ctl(&["restart", "wroker"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("no program named \"wroker\" (did you mean \"worker\"?)"),
        "{}",
        out.stderr
    );
    let out = supd.ctl(&["restart", "worker:3"]);
    assert_eq!(out.code, 2, "{out:?}");

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty());
}

// ----- 5. supd import of the seed configs -------------------------------------------------

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/supd-import/tests/fixtures")
        .join(name)
}

/// `supd import FILE`, which must succeed.
fn import(file: &Path) -> CtlOutput {
    let dir = tempfile::tempdir().unwrap();
    let out = run_supd(dir.path(), &["import", file.to_str().unwrap()]);
    assert_eq!(out.code, 0, "supd import {}: {out:?}", file.display());
    out
}

/// The converted TOML with stand-ins for what this machine does not have: every command
/// `sleep`, directories and watched paths in the test's temp dirs, no `user` (appuser does
/// not exist here), and no `[supd]` or `[supd.http]` table (the harness writes its own
/// socket; the seeds' HTTP sockets are fixed paths that parallel tests would share).
fn with_stand_ins(toml: &str, dir: &Path, watched: &Path) -> String {
    let mut out = String::new();
    let mut in_supd = false;
    for line in toml.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            in_supd = trimmed == "[supd]" || trimmed.starts_with("[supd.");
        }
        if in_supd {
            continue;
        }
        let key = trimmed.split('=').next().unwrap_or_default().trim();
        let line = match key {
            "command" => "command = \"sleep 1000\"".to_string(),
            "directory" => format!("directory = \"{}\"", dir.display()),
            "paths" => format!("paths = [\"{}\"]", watched.display()),
            "user" => continue,
            _ => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// `supd check` of `programs` (with a socket), which must pass.
fn check_accepts(programs: &str) -> CtlOutput {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("[supd]\nsocket = \"supd.sock\"\n\n{programs}");
    std::fs::write(dir.path().join("supd.toml"), text).unwrap();
    let out = run_supd(dir.path(), &["check", "--config", "supd.toml"]);
    assert_eq!(out.code, 0, "{out:?}\n{programs}");
    out
}

#[test]
fn every_seed_config_imports_to_toml_that_supd_checks_and_runs() {
    let seeds: [(&str, &[&str]); 4] = [
        ("supervisord.dev.conf", &["daphne", "vite"]),
        ("supervisord.prod.conf", &["nginx", "daphne"]),
        ("supervisord-celery.conf", &["celery-worker"]),
        ("sample.conf", &[]),
    ];
    for (seed, programs) in seeds {
        let out = import(&fixture(seed));
        assert!(!out.stdout.is_empty());
        // Notes go to stderr, one line each, naming the seed file and a line.
        for note in out.stderr.lines() {
            assert!(note.contains(&format!("{seed}:")), "{note}");
        }
        let work = tempfile::tempdir().unwrap();
        let converted = with_stand_ins(&out.stdout, work.path(), work.path());
        let checked = check_accepts(&converted);
        assert!(
            checked
                .stdout
                .contains(&format!("ok ({} program", programs.len())),
            "{seed}: {}",
            checked.stdout
        );

        let mut supd = Supd::start(&converted);
        assert_eq!(status_names(&supd), *programs, "{seed}");
        for name in programs {
            running_pid(&supd, name);
        }
        assert_eq!(supd.terminate().code(), Some(0), "{seed}");
        assert!(supd.leftovers().is_empty(), "{seed}");
    }
}

#[test]
fn the_celery_seeds_entr_watcher_becomes_a_watch_rule_that_restarts_the_worker() {
    let out = import(&fixture("supervisord-celery.conf"));
    assert!(out.stdout.contains("[program.celery-worker.watch]"));
    assert!(!out.stdout.contains("[program.hot-reload-watcher]"));
    let app = tempfile::Builder::new()
        .prefix("supd-celery-app-")
        .tempdir()
        .unwrap();
    let converted = with_stand_ins(&out.stdout, app.path(), app.path());
    let mut supd = Supd::start(&converted);
    assert_eq!(status_names(&supd), ["celery-worker"]);
    let before = running_pid(&supd, "celery-worker");

    std::fs::write(app.path().join("notes.txt"), "not python").unwrap();
    std::fs::write(
        app.path().join("tasks.py"),
        "def add(a, b):\n    return a + b\n",
    )
    .unwrap();
    let after = supd.wait_new_pid("celery-worker", Some(before));
    assert_ne!(after, before);
    let restarted = supd.wait_state("celery-worker", "running");
    assert_eq!(restarted["restarts"], 1, "{restarted}");
    let why: Vec<String> = supd
        .messages_about("celery-worker")
        .into_iter()
        .filter(|m| m.starts_with("restarting:"))
        .collect();
    assert_eq!(why.len(), 1, "{why:?}");
    assert!(why[0].contains("tasks.py"), "{why:?}");

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty());
}

// supd's control socket goes beside the HTTP socket of [unix_http_server]: supd.sock.
const SUPERVISORD_FILE: &str = r#"[supervisord]
nodaemon=true

[unix_http_server]
file=%(here)s/supervisor.sock

[program:web]
command=sh -c 'echo web runs in %(here)s; exec sleep 1000'
startsecs=0
"#;

#[test]
fn supd_runs_a_supervisord_file_directly_and_reload_converts_it_again() {
    let mut supd = Supd::start_with(
        "",
        StartOptions {
            config_file: Some(("supervisord.conf".into(), SUPERVISORD_FILE.into())),
            ..Default::default()
        },
    );
    let dir = supd.dir.path().to_path_buf();
    running_pid(&supd, "web");
    // %(here)s is the directory of the supervisord file.
    let line = supd.wait_stdout_prefix("web ");
    assert!(
        line.ends_with(&format!("| web runs in {}", dir.display())),
        "{line}"
    );
    let suggestion = format!("supd import {} > supd.toml", supd.config.display());
    let lines: Vec<String> = supd
        .stderr
        .lines()
        .into_iter()
        .filter(|l| l.contains(&suggestion))
        .collect();
    assert_eq!(lines.len(), 1, "{}", supd.stderr.text());

    // Reload reads and converts the supervisord file again.
    let more = format!("{SUPERVISORD_FILE}\n[program:worker]\ncommand=sleep 1001\nstartsecs=0\n");
    std::fs::write(&supd.config, more).unwrap();
    let out = supd.ctl(&["reload"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "added: worker\n");
    running_pid(&supd, "worker");

    // supctl finds the socket in it too.
    let out = std::process::Command::new(supd_tests::bin("supctl"))
        .args(["--config", "supervisord.conf", "status", "web"])
        .current_dir(&dir)
        .env_remove("SUPD_SOCKET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // `supd check` on it checks the converted config.
    let out = run_supd(&dir, &["check", "--config", "supervisord.conf"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "supervisord.conf: ok (2 programs: web, worker)\n"
    );

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty());
}

const NUMPROCS_FILE: &str = r#"[unix_http_server]
file=%(here)s/supervisor.sock

[program:worker]
command=sh -c 'echo worker %(process_num)d; echo oops from %(process_num)d >&2; exec sleep 1000'
process_name=%(program_name)s_%(process_num)02d
numprocs=2
startsecs=0
redirect_stderr=true
stdout_logfile=%(here)s/worker-%(process_num)s.log
stdout_logfile_maxbytes=1MB
"#;

#[test]
fn a_supervisord_numprocs_program_runs_as_its_processes_with_stderr_in_their_stdout_logs() {
    let mut supd = Supd::start_with(
        "",
        StartOptions {
            config_file: Some(("supervisord.conf".into(), NUMPROCS_FILE.into())),
            ..Default::default()
        },
    );
    // named as supervisord names the processes
    assert_eq!(status_names(&supd), ["worker_00", "worker_01"]);
    let dir = supd.dir.path().to_path_buf();
    for i in 0..2 {
        running_pid(&supd, &format!("worker_0{i}"));
        // redirect_stderr=true: both streams in the one log file of each process
        let log = dir.join(format!("worker-{i}.log"));
        wait_until(
            &format!("both lines in {}", log.display()),
            DEADLINE,
            || {
                let text = std::fs::read_to_string(&log).ok()?;
                let both = text.contains(&format!("worker {i}\n"))
                    && text.contains(&format!("oops from {i}\n"));
                both.then_some(())
            },
        );
    }
    // supervisorctl's `restart worker:*` is supctl's `restart group:worker`: the section's
    // processes are its group.
    let before: Vec<u64> = (0..2)
        .map(|i| running_pid(&supd, &format!("worker_0{i}")))
        .collect();
    let out = supd.ctl(&["restart", "group:worker"]);
    assert_eq!(out.code, 0, "{out:?}");
    for (i, old) in before.iter().enumerate() {
        assert_ne!(running_pid(&supd, &format!("worker_0{i}")), *old);
    }

    // What `supd import` says about it, and what it writes.
    let out = run_supd(&dir, &["import", "supervisord.conf"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("[group.worker]\n")
            && out
                .stdout
                .contains("stderr = \"stdout\"\nlog_max_size = \"1MiB\"\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(
            "supervisord.conf:7: [program:worker] numprocs=2: became the 2 programs worker_00, \
             worker_01 (supervisord's process names), in the group \"worker\""
        ),
        "{}",
        out.stderr
    );

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty());
}

#[test]
fn a_supervisord_file_is_recognised_by_its_sections_whatever_its_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("supervisor-config"),
        "[program:web]\ncommand=sleep 1000\n",
    )
    .unwrap();
    let out = run_supd(dir.path(), &["check", "--config", "supervisor-config"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "supervisor-config: ok (1 program: web)\n");
    assert!(
        out.stderr
            .contains("supd import supervisor-config > supd.toml")
    );
}

#[test]
fn what_supervisord_ignores_runs_with_a_warning_naming_the_line_and_the_nearest_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("typo.conf"),
        "[program:web]\ncommand=sleep 1000\nauto_start=true\n\n[progam:worker]\ncommand=sleep 1\n",
    )
    .unwrap();
    let out = run_supd(dir.path(), &["check", "--config", "typo.conf"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "typo.conf: ok (1 program: web)\n");
    for warning in [
        "supd: warning: typo.conf:3: [program:web] auto_start=true: ignored, as supervisord \
         ignores options it does not know in this section (did you mean \"autostart\"?)\n",
        "supd: warning: typo.conf:5: [progam:worker] ignored, as supervisord ignores sections \
         it does not know (did you mean [program:...]?)\n",
    ] {
        assert!(out.stderr.contains(warning), "{}", out.stderr);
    }
    // `supd import` prints them with the other notes, and writes them as comments.
    let out = run_supd(dir.path(), &["import", "typo.conf"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("# auto_start=true: ignored"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("typo.conf:3: [program:web] auto_start=true: ignored"),
        "{}",
        out.stderr
    );
}

// ----- 6. bad supervisord input -----------------------------------------------------------

#[test]
fn bad_supervisord_input_is_one_clear_line_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "bad-value.conf",
            "[program:web]\ncommand=sleep 1000\nautostart=perhaps\n",
            "bad-value.conf:3: ",
            "autostart",
        ),
        (
            "bad-expansion.conf",
            "[program:web]\ncommand=sleep %(proces_num)s\n",
            "bad-expansion.conf:2: ",
            "%(proces_num)s",
        ),
    ];
    for (name, text, head, names) in cases {
        std::fs::write(dir.path().join(name), text).unwrap();
        let out = run_supd(dir.path(), &["import", name]);
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "one line: {}", out.stderr);
        assert!(out.stderr.starts_with(head), "{}", out.stderr);
        assert!(out.stderr.contains(names), "{}", out.stderr);
        assert_clear_message(&out.stderr);

        // Running it directly says the same, and starts nothing.
        let out = run_supd(dir.path(), &["--config", name]);
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.starts_with(head), "{}", out.stderr);
    }

    let out = run_supd(dir.path(), &["import", "missing.conf"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        "missing.conf: cannot read the file: no such file\n"
    );
}
