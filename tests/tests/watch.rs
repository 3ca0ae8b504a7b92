//! Hot reload: `[program.NAME.watch]` restarts (or signals) a program when files it watches
//! change (issue 4, acceptance items 1 to 9).
//!
//! How "exactly one restart" and "no restart" are proven without sleeping blindly: every
//! change supd acts on is logged as `NAME: restarting: <what changed>`, and one program's
//! changes reach its restart decision in the order they happened. So after the writes under
//! test, a test writes a distinct *sentinel* file and waits for the restart it causes; if an
//! ignored write had counted, or a burst had been split in two, that shows up as an extra
//! `restarting:` line or as another path in a line, before or instead of the sentinel's.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::Value;
use supd_tests::{DEADLINE, StartOptions, Supd, assert_clear_message, run_supd, wait_until};

/// A tree of files to watch, outside supd's own directory (which must exist before supd
/// starts, and which supd writes its socket into).
fn tree() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("supd-watch-")
        .tempdir()
        .expect("temp dir")
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

/// `touch`: only the modification time changes.
fn touch(path: &Path) {
    std::fs::File::options()
        .append(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now())
        .unwrap();
}

/// A `sleep` program named `name` in `dir`, watching it with `watch` (TOML lines).
fn sleeper(name: &str, dir: &Path, watch: &str) -> String {
    format!(
        r#"
[program.{name}]
command = "sleep 1000"
directory = "{}"
min_uptime = "0s"
stop_timeout = "5s"

[program.{name}.watch]
{watch}
"#,
        dir.display()
    )
}

/// What supd logged about `name`'s restarts caused by changes (`restarting: ...`).
fn restarts_logged(supd: &Supd, name: &str) -> Vec<String> {
    supd.messages_about(name)
        .into_iter()
        .filter_map(|m| m.strip_prefix("restarting: ").map(str::to_string))
        .collect()
}

/// Waits until `name` has been restarted `n` times and runs again with a new pid; returns
/// the `restarting:` lines, which then must be exactly `n`.
fn wait_restarts(supd: &Supd, name: &str, n: u64, old_pid: u64) -> (u64, Vec<String>) {
    let p: Value = wait_until(
        &format!("{name} to be restarted {n} time(s) and run again"),
        DEADLINE,
        || {
            let p = supd.program(name);
            (p["restarts"].as_u64() >= Some(n)
                && p["pid"].as_u64().is_some_and(|pid| pid != old_pid))
            .then_some(p)
        },
    );
    assert_eq!(p["restarts"], n, "{name} restarted too often: {p}");
    let lines = wait_until(
        &format!("{n} `restarting:` line(s) about {name}"),
        DEADLINE,
        || {
            let lines = restarts_logged(supd, name);
            (lines.len() as u64 >= n).then_some(lines)
        },
    );
    assert_eq!(lines.len() as u64, n, "{lines:#?}");
    (p["pid"].as_u64().unwrap(), lines)
}

fn pid_of(supd: &Supd, name: &str) -> u64 {
    supd.wait_state(name, "running");
    supd.wait_new_pid(name, None)
}

#[test]
fn touching_a_matching_file_restarts_the_program_and_ignored_files_do_not() {
    let t = tree();
    let root = t.path();
    write(root, "app.py", "print('v1')\n");
    write(root, ".gitignore", "build/\nsecret.py\n");
    for dir in [".git", "node_modules/pkg", "__pycache__", "build", "deep"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    let mut supd = Supd::start(&sleeper(
        "web",
        root,
        r#"include = ["*.py"]
debounce = "100ms""#,
    ));
    let pid = pid_of(&supd, "web");

    // Nothing here counts: not matching `*.py`, VCS, dependencies, caches, .gitignore'd.
    write(root, "notes.txt", "x");
    write(root, "deep/readme.md", "x");
    write(root, ".git/hooks/post-commit.py", "x");
    write(root, "node_modules/pkg/index.py", "x");
    write(root, "__pycache__/app.py", "x");
    write(root, "__pycache__/app.cpython-312.pyc", "x");
    write(root, "build/generated.py", "x");
    write(root, "build/sub/more.py", "x");
    write(root, "secret.py", "x");
    write(root, "deep/secret.py", "x");
    // The change that does count: it must be the only thing supd saw.
    touch(&root.join("app.py"));

    let (new_pid, lines) = wait_restarts(&supd, "web", 1, pid);
    assert_ne!(new_pid, pid);
    assert_eq!(lines, ["app.py changed"]);
    let web = supd.program("web");
    assert_eq!(web["reason"], "app.py changed", "{web}");

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

#[test]
fn writing_200_matching_files_in_one_burst_restarts_once() {
    let t = tree();
    let root = t.path();
    let mut supd = Supd::start(&sleeper(
        "worker",
        root,
        r#"include = ["*.py"]
debounce = "300ms""#,
    ));
    let pid = pid_of(&supd, "worker");

    for i in 0..200 {
        write(root, &format!("pkg/f{i:03}.py"), "x = 1\n");
    }
    let (pid, lines) = wait_restarts(&supd, "worker", 1, pid);
    assert_eq!(
        lines,
        ["200 files changed (pkg/f000.py, pkg/f001.py, ...)"],
        "the burst was not reported as one change of 200 files"
    );

    // Nothing of the burst is left pending: the next change is a restart of its own.
    write(root, "sentinel.py", "");
    let (_, lines) = wait_restarts(&supd, "worker", 2, pid);
    assert_eq!(lines[1], "sentinel.py changed", "{lines:#?}");

    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn editor_saves_by_rename_restart_once_each() {
    let t = tree();
    let root = t.path();
    write(root, "x.py", "v = 0\n");
    let mut supd = Supd::start(&sleeper(
        "app",
        root,
        r#"include = ["*.py"]
debounce = "300ms""#,
    ));
    let mut pid = pid_of(&supd, "app");
    let p = |name: &str| root.join(name);

    // vim (writebackup): swap file, the `4913` probe, the new text in a temporary that is
    // renamed over the file.
    write(root, ".x.py.swp", "swap");
    write(root, "4913", "");
    std::fs::remove_file(p("4913")).unwrap();
    write(root, "x.py~", "v = 1\n");
    std::fs::rename(p("x.py~"), p("x.py")).unwrap();
    std::fs::remove_file(p(".x.py.swp")).unwrap();
    (pid, _) = wait_restarts(&supd, "app", 1, pid);

    // vim with a backup by rename: the file becomes `x.py~`, the new text is written to
    // a new `x.py`, the backup is deleted.
    write(root, ".x.py.swp", "swap");
    write(root, "4913", "");
    std::fs::remove_file(p("4913")).unwrap();
    std::fs::rename(p("x.py"), p("x.py~")).unwrap();
    write(root, "x.py", "v = 2\n");
    std::fs::remove_file(p("x.py~")).unwrap();
    std::fs::remove_file(p(".x.py.swp")).unwrap();
    (pid, _) = wait_restarts(&supd, "app", 2, pid);

    // JetBrains "safe write": temporary, old file moved aside, temporary renamed in place.
    write(root, "x.py___jb_tmp___", "v = 3\n");
    std::fs::rename(p("x.py"), p("x.py___jb_old___")).unwrap();
    std::fs::rename(p("x.py___jb_tmp___"), p("x.py")).unwrap();
    std::fs::remove_file(p("x.py___jb_old___")).unwrap();
    (pid, _) = wait_restarts(&supd, "app", 3, pid);

    write(root, "sentinel.py", "");
    let (_, lines) = wait_restarts(&supd, "app", 4, pid);
    assert_eq!(
        lines,
        [
            "x.py changed",
            "x.py changed",
            "x.py changed",
            "sentinel.py changed"
        ]
    );

    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn a_file_in_a_directory_created_after_start_restarts_the_program() {
    let t = tree();
    let root = t.path();
    let mut supd = Supd::start(&sleeper(
        "api",
        root,
        r#"include = ["*.py"]
debounce = "100ms""#,
    ));
    let pid = pid_of(&supd, "api");

    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    write(root, "sub/deeper/new.py", "x");
    let (pid, lines) = wait_restarts(&supd, "api", 1, pid);
    assert_eq!(lines, ["sub/deeper/new.py changed"]);

    // The new directories are watched from now on.
    write(root, "sub/deeper/second.py", "x");
    let (pid, lines) = wait_restarts(&supd, "api", 2, pid);
    assert_eq!(lines[1], "sub/deeper/second.py changed");
    write(root, "sub/third.py", "x");
    let (_, lines) = wait_restarts(&supd, "api", 3, pid);
    assert_eq!(lines[2], "sub/third.py changed");

    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn with_poll_500ms_a_change_on_tmpfs_is_seen() {
    // /dev/shm is a tmpfs on Linux; anywhere will do, polling is what is forced.
    let shm = Path::new("/dev/shm");
    let t = if shm.is_dir() && tempfile::tempdir_in(shm).is_ok() {
        tempfile::Builder::new()
            .prefix("supd-watch-")
            .tempdir_in(shm)
            .unwrap()
    } else {
        tree()
    };
    let root = t.path();
    write(root, "app.py", "v = 0\n");
    let mut supd = Supd::start(&sleeper(
        "polled",
        root,
        r#"include = ["*.py"]
debounce = "100ms"
poll = "500ms""#,
    ));
    let pid = pid_of(&supd, "polled");
    let messages = supd.messages_about("polled");
    assert!(
        messages.iter().any(|m| m.contains("polling every 500ms")),
        "supd does not say it polls: {messages:#?}"
    );

    write(root, "app.py", "v = 1\n");
    let (pid, lines) = wait_restarts(&supd, "polled", 1, pid);
    assert_eq!(lines, ["app.py changed"]);
    write(root, "pkg/new.py", "");
    let (_, lines) = wait_restarts(&supd, "polled", 2, pid);
    assert_eq!(lines[1], "pkg/new.py changed");

    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn action_hup_signals_the_program_which_keeps_its_pid() {
    let t = tree();
    let root = t.path();
    let mut supd = Supd::start(&format!(
        r#"
[program.nginx]
command = ["sh", "-c", "trap 'echo got-hup' HUP; echo ready; while :; do sleep 1000 & wait $!; done"]
directory = "{}"
min_uptime = "0s"

[program.nginx.watch]
include = ["*.conf"]
debounce = "100ms"
action = "HUP"
"#,
        root.display()
    ));
    supd.wait_state("nginx", "running");
    // The trap is set once `ready` is out.
    wait_until("the program to be ready", DEADLINE, || {
        supd.stdout
            .lines()
            .iter()
            .any(|l| l.ends_with("| ready"))
            .then_some(())
    });
    let pid = supd.program("nginx")["pid"].as_u64().unwrap();

    write(root, "site.conf", "server {}\n");
    wait_until("the program to print got-hup", DEADLINE, || {
        supd.stdout
            .lines()
            .iter()
            .any(|l| l.ends_with("| got-hup"))
            .then_some(())
    });
    let p = supd.program("nginx");
    assert_eq!(p["pid"], pid, "{p}");
    assert_eq!(p["restarts"], 0, "{p}");
    assert_eq!(p["state"], "running", "{p}");
    let messages = supd.messages_about("nginx");
    assert!(
        messages
            .iter()
            .any(|m| m == "site.conf changed; sending SIGHUP"),
        "{messages:#?}"
    );

    assert_eq!(supd.terminate().code(), Some(0));
    assert!(supd.leftovers().is_empty(), "{:?}", supd.leftovers());
}

/// A program that fails at once unless `ok.py` exists, with a backoff far longer than the
/// test's patience: only the change can bring it up in time.
fn crash_looper(root: &Path, start_retries: Option<u32>) -> String {
    format!(
        r#"
[program.broken]
command = ["sh", "-c", "test -f ok.py || exit 1; exec sleep 1000"]
directory = "{}"
min_uptime = "1s"
restart_delay = "60s"
max_restart_delay = "60s"
{}

[program.broken.watch]
include = ["*.py"]
debounce = "100ms"
"#,
        root.display(),
        start_retries
            .map(|n| format!("start_retries = {n}"))
            .unwrap_or_default()
    )
}

#[test]
fn a_change_revives_a_program_in_backoff_at_once() {
    let t = tree();
    let root = t.path();
    let mut supd = Supd::start(&crash_looper(root, None));
    supd.wait_state("broken", "backoff");

    write(root, "ok.py", "");
    let p = wait_until("broken to run", DEADLINE, || {
        let p = supd.program("broken");
        (p["state"] == "running").then_some(p)
    });
    assert!(p["pid"].as_u64().is_some(), "{p}");
    assert!(
        supd.messages_about("broken")
            .iter()
            .any(|m| m == "starting: ok.py changed"),
        "{:#?}",
        supd.messages_about("broken")
    );

    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn a_change_revives_a_fatal_program_at_once() {
    let t = tree();
    let root = t.path();
    let mut supd = Supd::start(&crash_looper(root, Some(0)));
    supd.wait_state("broken", "fatal");

    write(root, "ok.py", "");
    supd.wait_state("broken", "running");

    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn a_change_in_one_tree_restarts_only_the_program_watching_it() {
    let (ta, tb) = (tree(), tree());
    let (a, b) = (ta.path(), tb.path());
    let watch = "include = [\"*.py\"]\ndebounce = \"100ms\"";
    let mut supd = Supd::start(&format!(
        "{}{}",
        sleeper("alpha", a, watch),
        sleeper("beta", b, watch)
    ));
    let pa = pid_of(&supd, "alpha");
    let pb = pid_of(&supd, "beta");

    write(a, "a.py", "");
    let (_, lines) = wait_restarts(&supd, "alpha", 1, pa);
    assert_eq!(lines, ["a.py changed"]);

    // beta's own change, as its sentinel: its only restart, caused by b.py alone.
    write(b, "b.py", "");
    let (_, lines) = wait_restarts(&supd, "beta", 1, pb);
    assert_eq!(lines, ["b.py changed"]);
    assert_eq!(supd.program("alpha")["restarts"], 1);
    assert_eq!(restarts_logged(&supd, "alpha"), ["a.py changed"]);

    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn a_watch_path_that_does_not_exist_is_a_config_error_naming_it() {
    let dir = tree();
    let missing: PathBuf = dir.path().join("no-such-dir");
    let config = dir.path().join("supd.toml");
    std::fs::write(
        &config,
        r#"
[supd]
socket = "supd.sock"

[program.web]
command = "sleep 1000"

[program.web.watch]
paths = ["no-such-dir"]
"#,
    )
    .unwrap();
    let config = config.to_str().unwrap();

    let out = run_supd(dir.path(), &["check", "--config", config]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_clear_message(&out.stderr);
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("program.web.watch.paths"))
        .unwrap_or_else(|| panic!("no problem about program.web.watch.paths:\n{}", out.stderr));
    assert!(
        line.contains(&format!("{} does not exist", missing.display())),
        "{line}"
    );

    // `supd run` refuses it the same way, before starting anything.
    let out = run_supd(dir.path(), &["--config", config]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("program.web.watch.paths"), "{out:?}");
}

#[test]
fn a_program_logging_into_its_own_watched_tree_does_not_restart_itself() {
    let t = tree();
    let root = t.path();
    std::fs::create_dir(root.join("logs")).unwrap();
    let mut supd = Supd::start_with(
        &format!(
            r#"
[program.chatty]
command = ["sh", "-c", "echo ready; while :; do echo tick; echo oops >&2; sleep 0.02; done"]
directory = "{root}"
min_uptime = "0s"
stdout = "{root}/logs/chatty.log"
stderr = "{root}/chatty.err"

[program.chatty.watch]
debounce = "100ms"
"#,
            root = root.display()
        ),
        StartOptions::default(),
    );
    let pid = pid_of(&supd, "chatty");
    wait_until("the program to log", DEADLINE, || {
        std::fs::read_to_string(root.join("logs/chatty.log"))
            .is_ok_and(|t| t.lines().count() > 10)
            .then_some(())
    });

    write(root, "sentinel", "");
    let (_, lines) = wait_restarts(&supd, "chatty", 1, pid);
    assert_eq!(lines, ["sentinel changed"]);

    assert_eq!(supd.terminate().code(), Some(0));
}
