//! `supd check` says `ok` only for a config whose run will not fail on the machine: what a
//! new user hits in the first hour, each reported as `FILE:LINE: KEY: sentence` with exit
//! 2 (warnings exit 0), and the run behaving the same (issue 12).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use supd_tests::{
    CtlOutput, DEADLINE, StartOptions, Supd, assert_clear_message, is_root, run_supd,
};

/// A temporary directory others may enter (tempfile makes them 0700), holding
/// `supd.toml` = `[supd] socket` + `programs`.
fn project(programs: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("supd-e2e-check-")
        .tempdir()
        .unwrap();
    chmod(dir.path(), 0o755);
    write_config(dir.path(), programs);
    dir
}

fn write_config(dir: &Path, programs: &str) {
    let text = format!("[supd]\nsocket = \"supd.sock\"\n{programs}");
    std::fs::write(dir.join("supd.toml"), text).unwrap();
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// An executable file at `path` with `text`.
fn executable(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    chmod(path, 0o755);
}

fn check(dir: &Path) -> CtlOutput {
    run_supd(dir, &["check", "--config", "supd.toml"])
}

/// The problem lines of a failed check (without the summary line), after asserting exit 2.
#[track_caller]
fn refused(out: &CtlOutput) -> Vec<String> {
    assert_eq!(out.code, 2, "{out:?}");
    assert_clear_message(&out.stderr);
    let lines: Vec<String> = out.stderr.lines().map(str::to_string).collect();
    let (summary, problems) = lines.split_last().expect("a summary line");
    assert!(summary.starts_with("supd: "), "{summary}");
    problems.to_vec()
}

#[test]
fn check_reports_a_command_not_on_the_programs_path_with_file_and_line() {
    let dir = project(
        r#"
[program.web]
command = "daphne -b 0.0.0.0 -p 8000 app.asgi:application"
environment = { PATH = "/nonexistent/venv/bin" }

[program.worker]
command = "no-such-program-supd-e2e --flag"

[program.fine]
command = "sleep 1000"

[program.words]
command = ["sleep 1000"]
"#,
    );
    let path = std::env::var("PATH").unwrap();
    assert_eq!(
        refused(&check(dir.path())),
        [
            r#"supd.toml:5: program.web.command: "daphne" is not on PATH (/nonexistent/venv/bin, from the program's environment)"#.to_string(),
            format!(
                r#"supd.toml:9: program.worker.command: "no-such-program-supd-e2e" is not on PATH ({path}, supd's own)"#,
            ),
            format!(
                r#"supd.toml:15: program.words.command: "sleep 1000" is not on PATH ({path}, supd's own); that name has a space in it: give each word separately"#,
            ),
        ]
    );
}

#[test]
fn check_reports_a_script_without_execute_permission_and_a_missing_interpreter() {
    let dir = project(
        r#"
[program.tool]
command = "./tool.sh"
directory = "bin"

[program.py]
command = "bin/serve.py"
"#,
    );
    std::fs::create_dir(dir.path().join("bin")).unwrap();
    std::fs::write(dir.path().join("bin/tool.sh"), "#!/bin/sh\necho hi\n").unwrap();
    chmod(&dir.path().join("bin/tool.sh"), 0o644);
    executable(
        &dir.path().join("bin/serve.py"),
        "#!/usr/bin/env no-such-python-supd-e2e\nprint(1)\n",
    );
    let problems = refused(&check(dir.path()));
    assert_eq!(problems.len(), 2, "{problems:#?}");
    let tool = dir.path().join("bin/tool.sh");
    assert!(
        problems[0].starts_with(&format!(
            "supd.toml:5: program.tool.command: {} cannot run {}: no permission to execute it (mode 0644, owner ",
            if is_root() { "root".to_string() } else { format!("uid {} (supd's own user)", nix::unistd::geteuid()) },
            tool.display()
        )),
        "{problems:#?}"
    );
    assert!(
        problems[1].starts_with("supd.toml:9: program.py.command: ")
            && problems[1].contains(
                "its #! line runs \"no-such-python-supd-e2e\" through /usr/bin/env, and \
                 \"no-such-python-supd-e2e\" is not on PATH"
            ),
        "{problems:#?}"
    );

    // Fixed, the same config checks clean.
    chmod(&tool, 0o755);
    executable(
        &dir.path().join("bin/serve.py"),
        "#!/bin/sh\nexec sleep 1\n",
    );
    let out = check(dir.path());
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn check_reports_a_command_its_user_cannot_reach_like_a_pyenv_shim_under_root() {
    if !is_root() {
        eprintln!("skipped: needs root, to check a program that runs as nobody");
        return;
    }
    let dir = project(
        r#"
[program.shim]
command = "python app.py"
user = "nobody"
environment = { PATH = "${HOME_DIR}/.pyenv/shims:/usr/bin:/bin" }

[program.script]
command = "bin/manage.py runserver"
user = "nobody"

[program.workdir]
command = "sleep 1000"
user = "nobody"
directory = "private-home"
"#,
    );
    // Like /root (mode 0700) with a pyenv shim in it, and a script whose interpreter is
    // a pyenv python.
    let home = dir.path().join("private-home");
    executable(
        &home.join(".pyenv/shims/python"),
        "#!/usr/bin/env bash\nexec python3 \"$@\"\n",
    );
    executable(&home.join(".pyenv/versions/3.12/bin/python"), "");
    chmod(&home, 0o700);
    let interpreter = home.join(".pyenv/versions/3.12/bin/python");
    executable(
        &dir.path().join("bin/manage.py"),
        &format!("#!{}\nprint(1)\n", interpreter.display()),
    );
    // The config interpolates ${HOME_DIR}: give it through supd's environment.
    let out = std::process::Command::new(supd_tests::bin("supd"))
        .args(["check", "--config", "supd.toml"])
        .current_dir(dir.path())
        .env("HOME_DIR", &home)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let out = CtlOutput {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let closed = format!(
        "no permission to enter {} (mode 0700, owner root)",
        home.display()
    );
    assert_eq!(
        refused(&out),
        [
            format!(
                "supd.toml:5: program.shim.command: user \"nobody\" cannot run {}: {closed}",
                home.join(".pyenv/shims/python").display()
            ),
            format!(
                "supd.toml:10: program.script.command: user \"nobody\" cannot run {}: {closed}, \
                 for its #! interpreter {}",
                dir.path().join("bin/manage.py").display(),
                interpreter.display()
            ),
            format!(
                "supd.toml:16: program.workdir.directory: user \"nobody\" cannot enter the \
                 working directory {}: {closed}",
                home.display()
            ),
        ]
    );
}

#[test]
fn check_reports_log_files_and_a_socket_supd_cannot_create() {
    let dir = project(
        r#"
[program.web]
command = "sleep 1000"
stdout = "logs/web.log"
stderr = "/nonexistent-supd-e2e/web.err"
"#,
    );
    let text = std::fs::read_to_string(dir.path().join("supd.toml")).unwrap();
    std::fs::write(
        dir.path().join("supd.toml"),
        text.replace("socket = \"supd.sock\"", "socket = \"run/supd.sock\""),
    )
    .unwrap();
    assert_eq!(
        refused(&check(dir.path())),
        [
            format!(
                "supd.toml:2: supd.socket: supd cannot create the control socket {}: directory {} does not exist",
                dir.path().join("run/supd.sock").display(),
                dir.path().join("run").display()
            ),
            format!(
                "supd.toml:6: program.web.stdout: supd cannot write log file {}: directory {} does not exist",
                dir.path().join("logs/web.log").display(),
                dir.path().join("logs").display()
            ),
            "supd.toml:7: program.web.stderr: supd cannot write log file \
             /nonexistent-supd-e2e/web.err: directory /nonexistent-supd-e2e does not exist"
                .to_string(),
        ]
    );
}

#[test]
fn a_toml_file_with_supervisord_sections_is_refused_by_check_and_run_alike() {
    let supervisord = "[program:web]\ncommand=\"sleep 1000\"\n";
    let dir = project("");
    std::fs::write(dir.path().join("supd.toml"), supervisord).unwrap();
    let expected = "supd.toml:1: program.web: [program:web] is supervisord's syntax: in TOML \
                    write [program.web] (a .toml file is always read as TOML; name a \
                    supervisord file .conf to have supd convert it)";
    assert_eq!(refused(&check(dir.path())), [expected]);

    let mut supd = Supd::start_with(
        "",
        StartOptions {
            config_file: Some(("supd.toml".into(), supervisord.into())),
            no_wait: true,
            ..StartOptions::default()
        },
    );
    assert_eq!(supd.wait_exit(DEADLINE).code(), Some(2));
    let stderr = supd.stderr.text();
    assert!(
        stderr
            .contains(&expected.replace("supd.toml:1:", &format!("{}:1:", supd.config.display()))),
        "{stderr}"
    );
    assert!(supd.leftovers().is_empty());

    // A .conf file is a supervisord file, converted as before.
    std::fs::write(
        dir.path().join("supervisord.conf"),
        "[program:web]\ncommand=sleep 1000\n",
    )
    .unwrap();
    let out = run_supd(dir.path(), &["check", "--config", "supervisord.conf"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("ok (1 program: web"), "{out:?}");
}

#[test]
fn supervisord_keys_get_the_supd_key_in_one_short_sentence() {
    let dir = project(
        r#"
[program.web]
command = "sleep 1000"
autorestart = true
numprocs = 2
stopasgroup = true
frobnicate = 1
"#,
    );
    assert_eq!(
        refused(&check(dir.path())),
        [
            r#"supd.toml:6: program.web.autorestart: unknown key "autorestart" (supd's key is "restart")"#,
            r#"supd.toml:7: program.web.numprocs: unknown key "numprocs" (supd's key is "instances")"#,
            r#"supd.toml:8: program.web.stopasgroup: unknown key "stopasgroup" (not needed: supd always stops the whole process group)"#,
            r#"supd.toml:9: program.web.frobnicate: unknown key "frobnicate""#,
        ]
    );
}

#[test]
fn problems_found_on_the_machine_name_the_file_and_line() {
    let dir = project(
        r#"include = ["conf.d/*.toml"]

[program.web]
command = "sleep 1000"
user = "no-such-user-supd-e2e"
"#,
    );
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    std::fs::write(
        dir.path().join("conf.d/worker.toml"),
        "# the worker\n[program.worker]\ncommand = \"sleep 1000\"\ndirectory = \"/nonexistent-supd-e2e\"\n",
    )
    .unwrap();
    let problems = refused(&check(dir.path()));
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0]
            .starts_with("supd.toml:7: program.web.user: unknown user \"no-such-user-supd-e2e\""),
        "{problems:#?}"
    );
    assert_eq!(
        problems[1],
        format!(
            "conf.d/worker.toml:4: program.worker.directory: /nonexistent-supd-e2e does not exist"
        )
    );

    // The run refuses them with the same lines.
    let mut supd = Supd::start_with(
        "",
        StartOptions {
            config_file: Some((
                "supd.toml".into(),
                std::fs::read_to_string(dir.path().join("supd.toml"))
                    .unwrap()
                    .replace("conf.d/", &format!("{}/conf.d/", dir.path().display())),
            )),
            no_wait: true,
            ..StartOptions::default()
        },
    );
    assert_eq!(supd.wait_exit(DEADLINE).code(), Some(2));
    let stderr = supd.stderr.text();
    assert!(
        stderr.contains(":7: program.web.user: unknown user"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{}/{}", dir.path().display(), problems[1])),
        "{stderr}"
    );
}

#[test]
fn check_warns_about_a_watch_glob_that_matches_no_file_and_still_says_ok() {
    let dir = project(
        r#"
[program.web]
command = "sleep 1000"
[program.web.watch]
include = [
  "*.py",
  "templates/*.html",
]
"#,
    );
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/views.py"), "").unwrap();
    let out = check(dir.path());
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "supd.toml:9: warning: program.web.watch.include: \"templates/*.html\" matches no \
             file under {} right now\n",
            dir.path().display()
        )
    );
    assert_eq!(out.stdout, "supd.toml: ok (1 program: web); 1 warning\n");

    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::write(dir.path().join("templates/index.html"), "").unwrap();
    let out = check(dir.path());
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
}

#[test]
fn check_warns_about_a_config_with_no_programs() {
    let dir = project("");
    let out = check(dir.path());
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stderr,
        "supd.toml: warning: the config has no programs (add a [program.NAME] table with a command)\n"
    );
    assert_eq!(out.stdout, "supd.toml: ok (0 programs); 1 warning\n");
}

#[test]
fn check_warns_about_start_first_without_a_held_socket() {
    let dir = project(
        r#"
[program.web]
command = "sleep 1000"
restart_mode = "start-first"

[program.api]
command = "sleep 1000"
restart_mode = "start-first"
sockets = ["tcp://127.0.0.1:0"]
"#,
    );
    let out = check(dir.path());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.starts_with(
            "supd.toml:6: warning: program.web.restart_mode: start-first runs the new process \
             beside the old one: without `sockets`"
        ),
        "{out:?}"
    );
    assert!(!out.stderr.contains("program.api"), "{out:?}");
}

#[test]
fn group_mistakes_are_refused_with_file_and_line() {
    let dir = project(
        r#"
[program.web]
command = "sleep 1000"

[group.web]
programs = ["web"]

[group.celery]
programs = ["worker"]

[group.none]
programs = []
"#,
    );
    assert_eq!(
        refused(&check(dir.path())),
        [
            r#"supd.toml:11: group.celery.programs: unknown program "worker" (known programs: web)"#,
            r#"supd.toml:14: group.none.programs: expected at least one program name, found an empty array"#,
        ]
    );
}
