//! Conversions the fixtures do not cover: includes, groups, numprocs, expansions, the
//! `[supervisord]` settings programs inherit, and commands that need an argv array.

mod common;

use std::path::{Path, PathBuf};

use common::{import, import_and_load, load, names, strings};
use supd_config::{IdRef, OutputTarget, RestartPolicy, UserSpec, WatchAction};
use supd_import::{SourceFile, convert, convert_files};

#[test]
fn includes_are_listed_then_merged() {
    let main_text = "[supervisord]\nenvironment=STAGE=\"prod\"\n\n[include]\nfiles = conf.d/*.conf /opt/extra.ini\n\n[program:web]\ncommand=web --stage %(ENV_STAGE)s\n";
    let main_path = Path::new("/etc/supervisor/supervisord.conf");
    let one = convert(main_text, main_path, &common::env).unwrap();
    assert_eq!(
        one.includes,
        [
            PathBuf::from("/etc/supervisor/conf.d/*.conf"),
            PathBuf::from("/opt/extra.ini")
        ]
    );
    assert!(
        one.notes
            .iter()
            .any(|n| n.contains("not part of this conversion"))
    );

    let worker_path = Path::new("/etc/supervisor/conf.d/worker.conf");
    let worker_text =
        "[program:worker]\ncommand=%(here)s/worker.sh --stage %(ENV_STAGE)s\n[include]\nfiles=x\n";
    let merged = convert_files(
        &[
            SourceFile {
                path: main_path,
                text: main_text,
            },
            SourceFile {
                path: worker_path,
                text: worker_text,
            },
        ],
        &common::env,
    )
    .unwrap();
    assert!(
        merged
            .toml
            .contains("# Included files merged in: /etc/supervisor/conf.d/worker.conf.")
    );
    assert!(
        merged
            .notes
            .iter()
            .any(|n| n.contains("merged into this file"))
    );
    assert!(
        merged
            .notes
            .iter()
            .any(|n| n.starts_with("/etc/supervisor/conf.d/worker.conf:3: [include] ignored"))
    );
    let config = load(&merged.toml);
    assert_eq!(names(&config), ["web", "worker"]);
    let worker = config.program("worker").unwrap();
    // %(here)s is the included file's directory; [supervisord] environment reaches it.
    assert_eq!(
        worker.command,
        strings(&["/etc/supervisor/conf.d/worker.sh", "--stage", "prod"])
    );
    assert_eq!(
        worker.environment,
        [("STAGE".to_string(), "prod".to_string())]
    );
}

#[test]
fn groups_become_notes_and_group_name_expands() {
    let (conversion, config) = import_and_load(
        "[group:web]\nprograms=app,static\npriority=10\n\n[program:app]\ncommand=app --group %(group_name)s\n\n[program:static]\ncommand=nginx\n",
    );
    assert_eq!(names(&config), ["app", "static"]);
    assert_eq!(
        config.program("app").unwrap().command,
        strings(&["app", "--group", "web"])
    );
    assert!(conversion.toml.contains(
        "# [group:web] programs=app,static: supd has no groups; give supctl the program names \
         instead (supctl restart app static)"
    ));
}

#[test]
fn numprocs_expands_into_separate_programs() {
    let (conversion, config) = import_and_load(
        "[program:worker]\nprocess_name=%(program_name)s_%(process_num)02d\nnumprocs=%(ENV_WORKERS)s\ncommand=celery worker -n worker%(process_num)d@%(host_node_name)s\nenvironment=SLOT=\"%(process_num)02d\"\n",
    );
    assert_eq!(names(&config), ["worker-0", "worker-1"]);
    let w1 = config.program("worker-1").unwrap();
    assert_eq!(
        w1.command,
        strings(&["celery", "worker", "-n", "worker1@box"])
    );
    assert_eq!(w1.environment, [("SLOT".to_string(), "01".to_string())]);
    assert!(conversion.notes.iter().any(|n| n.contains(
        "numprocs=2: expanded into the programs worker-0, worker-1 (supd's coming `instances` key will replace this)"
    )));
    assert!(
        conversion
            .notes
            .iter()
            .any(|n| n.contains("${WORKERS} read at import time"))
    );
    assert!(conversion.toml.contains("see the notes of worker-0"));
}

#[test]
fn supervisord_settings_reach_every_program() {
    let (conversion, config) = import_and_load(
        "[supervisord]\nuser=app\ndirectory=/srv\numask=027\nenvironment=A=\"1\"\n\n[program:x]\ncommand=x %(ENV_A)s\n\n[program:y]\ncommand=y\nuser=root\ndirectory=/\numask=022\nenvironment=A=\"2\"\n",
    );
    let x = config.program("x").unwrap();
    assert_eq!(
        x.user,
        Some(UserSpec {
            user: IdRef::Name("app".into()),
            group: None
        })
    );
    assert_eq!(x.directory, Some(PathBuf::from("/srv")));
    assert_eq!(x.umask, Some(0o027));
    assert_eq!(x.command, strings(&["x", "1"]));
    let y = config.program("y").unwrap();
    assert_eq!(y.user.as_ref().unwrap().user, IdRef::Name("root".into()));
    assert_eq!(y.umask, Some(0o022));
    assert_eq!(y.environment, [("A".to_string(), "2".to_string())]);
    assert!(
        conversion
            .notes
            .iter()
            .any(|n| n.contains("[supervisord] user=app"))
    );
}

#[test]
fn commands_that_shell_words_splits_differently_become_arrays() {
    let (conversion, config) = import_and_load("[program:a]\ncommand=printf \"%%s\\$x\\n\"\n");
    let a = config.program("a").unwrap();
    // shlex keeps the backslash before `$` inside double quotes; shell-words would not
    assert_eq!(a.command, strings(&["printf", "%s\\$x\\n"]));
    assert!(
        conversion.toml.contains("command = ["),
        "{}",
        conversion.toml
    );
}

#[test]
fn literal_dollars_survive_supd_interpolation() {
    let (_, config) = import_and_load(
        "[program:a]\ncommand=sh -c 'echo ${HOME} $$ $1'\nenvironment=P=\"$${x}\"\n",
    );
    let a = config.program("a").unwrap();
    assert_eq!(a.command, strings(&["sh", "-c", "echo ${HOME} $$ $1"]));
    assert_eq!(a.environment, [("P".to_string(), "$${x}".to_string())]);
}

#[test]
fn backslashes_and_quotes_survive() {
    let (_, config) = import_and_load(
        "[program:win]\ncommand=run C:\\\\Apps\\\\x.exe \"a b\"\nstdout_logfile=C:\\logs\\out.log\n",
    );
    let w = config.program("win").unwrap();
    assert_eq!(w.command, strings(&["run", "C:\\Apps\\x.exe", "a b"]));
    // a relative path for supd: resolved against the TOML file's directory
    assert_eq!(
        w.stdout,
        OutputTarget::File(PathBuf::from("/etc/supd/C:\\logs\\out.log"))
    );
}

#[test]
fn entr_watcher_variants() {
    let (conversion, config) = import_and_load(
        "[program:watch]\ndirectory=/srv/app\ncommand=sh -c \"find . -name '*.conf' | entr -p supervisorctl signal HUP web:*\"\n\n[group:web]\nprograms=nginx\n\n[program:nginx]\ncommand=nginx\ndirectory=/etc/nginx\n",
    );
    assert_eq!(names(&config), ["nginx"]);
    let watch = config.program("nginx").unwrap().watch.as_ref().unwrap();
    assert_eq!(watch.paths, [PathBuf::from("/srv/app")]);
    assert_eq!(
        watch.action,
        WatchAction::Signal(supd_config::Signal::SIGHUP)
    );
    assert!(
        conversion
            .notes
            .iter()
            .any(|n| n.contains("supervisorctl signal HUP web:*"))
    );

    // entr used some other way: the program stays, with a note.
    let (conversion, config) =
        import_and_load("[program:tests]\ncommand=bash -c 'ls *.py | entr -c pytest'\n");
    assert_eq!(names(&config), ["tests"]);
    assert!(
        conversion
            .notes
            .iter()
            .any(|n| n.contains("uses entr, but entr runs \"pytest\""))
    );

    // the target is not in the converted files
    let (conversion, config) = import_and_load(
        "[program:w]\ncommand=bash -c 'find /a | entr supervisorctl restart elsewhere'\n",
    );
    assert_eq!(names(&config), ["w"]);
    assert!(
        conversion
            .notes
            .iter()
            .any(|n| n.contains("\"elsewhere\" is not a program"))
    );
}

#[test]
fn output_targets() {
    let (conversion, config) = import_and_load(
        "[program:a]\ncommand=a\nstdout_logfile=/dev/stdout\nstderr_logfile=NONE\n\n[program:b]\ncommand=b\nstdout_logfile=AUTO\nstderr_logfile=~/b.err\nstopasgroup=true\nkillasgroup=true\n",
    );
    let a = config.program("a").unwrap();
    assert_eq!(
        (&a.stdout, &a.stderr),
        (&OutputTarget::Console, &OutputTarget::Null)
    );
    let b = config.program("b").unwrap();
    assert_eq!(b.stdout, OutputTarget::Console);
    assert_eq!(b.stderr, OutputTarget::File(PathBuf::from("/root/b.err")));
    assert!(conversion.notes.iter().any(|n| {
        n.contains("stopasgroup=true: dropped; supd always signals the whole process group")
    }));
    assert!(
        conversion
            .notes
            .iter()
            .any(|n| n.contains("stdout_logfile=AUTO"))
    );
}

#[test]
fn autorestart_and_defaults() {
    let (_, config) = import_and_load(
        "[program:a]\ncommand=a\n[program:b]\ncommand=b\nautorestart=true\nstartretries=7\n[program:c]\ncommand=c\nautorestart=false\nautostart=false\n",
    );
    let [a, b, c] = config.programs.as_slice() else {
        panic!()
    };
    assert_eq!(
        (a.restart, a.start_retries),
        (RestartPolicy::OnFailure, Some(3))
    );
    assert_eq!(
        (b.restart, b.start_retries),
        (RestartPolicy::Always, Some(7))
    );
    assert_eq!((c.restart, c.autostart), (RestartPolicy::Never, false));
}

#[test]
fn import_error_is_one_line_with_the_file() {
    let e = import("[program:a]\ncommand=x\nbogus=1\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert_eq!(e.file, Path::new("/etc/supervisor/supervisord.conf"));
    assert!(!e.to_string().contains('\n'));
}
