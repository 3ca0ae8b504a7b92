//! Conversions the fixtures do not cover: includes, groups, numprocs as instances, log
//! rotation, expansions, the `[supervisord]` settings programs inherit, and commands that need
//! an argv array.

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
fn groups_become_group_tables_and_group_name_expands() {
    let conversion = import(
        "[group:web]\nprograms=app,static\npriority=10\n\n[program:app]\ncommand=app --group %(group_name)s\n\n[program:static]\ncommand=nginx\n",
    )
    .unwrap();
    let (config, groups) = common::load_groups_apart(&conversion.toml);
    assert_eq!(names(&config), ["app", "static"]);
    assert_eq!(
        config.program("app").unwrap().command,
        strings(&["app", "--group", "web"])
    );
    assert_eq!(
        groups,
        "[group.web]\n\
         # priority=10: orders the start of its programs among the others (see their \
         depends_on)\n\
         programs = [\"app\", \"static\"]\n"
    );
    // the TOML is well formed, with the programs as an array of strings
    let table = toml::de::DeTable::parse(&conversion.toml).unwrap();
    let group = &table.get_ref()["group"];
    assert!(format!("{group:?}").contains("\"static\""), "{group:?}");
}

#[test]
fn group_members_map_to_supd_names_and_missing_ones_are_left_out() {
    // a group name with a space is refused, like supervisord refuses it
    let error = import("[group:back end]\nprograms=a\n\n[program:a]\ncommand=a\n").unwrap_err();
    assert_eq!(error.line, 1);
    assert!(
        error.message.contains("invalid group name \"back end\""),
        "{error}"
    );

    let conversion = import(
        "[group:back+end]\nprograms=workers,api+v2,legacy,watcher,gone\n\n\
         [program:workers]\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)s\ncommand=w %(process_num)d\n\n\
         [program:api+v2]\ncommand=api\n\n\
         [program:legacy]\nnumprocs=2\nnumprocs_start=1\nprocess_name=l%(process_num)s\ncommand=l --slot %(process_num)d\n\n\
         [program:watcher]\ncommand=bash -c 'find /src | entr -r supervisorctl restart back+end:api+v2'\n\n\
         [group:empty]\nprograms=gone\n",
    )
    .unwrap();
    let (config, groups) = common::load_groups_apart(&conversion.toml);
    assert_eq!(
        names(&config),
        ["workers_0", "workers_1", "api-v2", "l1", "l2"]
    );
    assert!(config.program("api-v2").unwrap().watch.is_some());
    assert_eq!(
        groups,
        "[group.back-end]\n\
         # renamed to \"back-end\": supd group names use only letters, digits, \"_\", \".\" and \"-\"\n\
         # names the program \"watcher\", which became a watch section; left out\n\
         # names the program \"gone\", which is not defined in the converted files; left out\n\
         programs = [\"workers_0\", \"workers_1\", \"api-v2\", \"l1\", \"l2\"]\n"
    );
    // a group with no converted program is not written; its notes stay under [supd]
    assert!(!conversion.toml.contains("[group.empty]"));
    assert!(conversion.toml.contains(
        "# [group:empty] not converted: none of its programs is in the converted config\n"
    ));
}

#[test]
fn numprocs_becomes_programs_named_as_supervisord_names_them_in_their_group() {
    let (conversion, config) = import_and_load(
        "[program:queue-worker]\nprocess_name=%(program_name)s_%(process_num)02d\nnumprocs=%(ENV_WORKERS)s\ncommand=celery worker -n worker%(process_num)d@%(host_node_name)s\nenvironment=SLOT=\"%(process_num)02d\"\n",
    );
    assert_eq!(names(&config), ["queue-worker_00", "queue-worker_01"]);
    let w1 = config.program("queue-worker_01").unwrap();
    assert_eq!(
        w1.command,
        strings(&["celery", "worker", "-n", "worker1@box"])
    );
    assert!(
        w1.environment
            .contains(&("SLOT".to_string(), "01".to_string())),
        "{:?}",
        w1.environment
    );
    // supervisord's group:process names mean the same programs
    let group = &config.groups[0];
    assert_eq!(group.name, "queue-worker");
    assert_eq!(group.programs, ["queue-worker_00", "queue-worker_01"]);
    assert!(
        conversion.notes.iter().any(|n| n.contains(
            "numprocs=2: became the 2 programs queue-worker_00, queue-worker_01 (supervisord's \
             process names), in the group \"queue-worker\""
        )),
        "{:#?}",
        conversion.notes
    );
    assert!(
        conversion
            .notes
            .iter()
            .any(|n| n.contains("${WORKERS} read at import time"))
    );
    assert!(conversion.toml.contains("see the notes of queue-worker_00"));
}

#[test]
fn numprocs_start_numbers_the_programs() {
    let (_, config) = import_and_load(
        "[program:web]\nprocess_name=web%(process_num)s\nnumprocs=2\nnumprocs_start=1\ncommand=uvicorn app:main --port 80%(process_num)02d\n",
    );
    assert_eq!(names(&config), ["web1", "web2"]);
    assert_eq!(
        config.program("web2").unwrap().command,
        strings(&["uvicorn", "app:main", "--port", "8002"])
    );
}

#[test]
fn entr_watcher_of_a_group_watches_each_process() {
    let (conversion, config) = import_and_load(
        "[program:worker]\nnumprocs=2\nprocess_name=w%(process_num)s\ncommand=celery worker\ndirectory=/app\n\n\
         [program:reload]\ndirectory=/app\ncommand=bash -c 'find . -name \"*.py\" | entr -r supervisorctl restart worker:*'\n",
    );
    assert_eq!(names(&config), ["w0", "w1"]);
    for name in ["w0", "w1"] {
        let watch = config.program(name).unwrap().watch.as_ref().unwrap();
        assert_eq!(watch.include, ["**/*.py"]);
    }
    assert!(
        conversion.toml.contains(
            "# [program:reload] (line 9) dropped; its entr watcher became [program.w0.watch], \
             [program.w1.watch]\n"
        ),
        "{}",
        conversion.toml
    );

    // one process of several: only its program watches
    let (_, config) = import_and_load(
        "[program:worker]\nnumprocs=2\nprocess_name=w%(process_num)s\ncommand=celery worker\n\n\
         [program:reload]\ncommand=bash -c 'find /app | entr -r supervisorctl restart worker:w1'\n",
    );
    assert_eq!(names(&config), ["w0", "w1"]);
    assert!(config.program("w0").unwrap().watch.is_none());
    assert!(config.program("w1").unwrap().watch.is_some());
}

#[test]
fn redirect_stderr_and_log_rotation_reach_supd() {
    let (conversion, config) = import_and_load(
        "[program:a]\ncommand=a\nstdout_logfile=/var/log/a.log\nstdout_logfile_maxbytes=10MB\nstdout_logfile_backups=3\nredirect_stderr=true\n\n\
         [program:b]\ncommand=b\nstdout_logfile=/var/log/b.out\nstderr_logfile=/var/log/b.err\nstderr_logfile_maxbytes=0\n",
    );
    let a = config.program("a").unwrap();
    assert_eq!(
        a.stdout,
        OutputTarget::File(PathBuf::from("/var/log/a.log"))
    );
    assert_eq!(a.stderr, OutputTarget::Stdout);
    assert_eq!((a.log_max_size, a.log_backups), (10 << 20, 3));
    assert!(
        conversion
            .toml
            .contains("stderr = \"stdout\"\nlog_max_size = \"10MiB\"\nlog_backups = 3\n"),
        "{}",
        conversion.toml
    );
    // supervisord's defaults (50MB of 1024 x 1024 bytes, 10 backups) are not supd's
    let b = config.program("b").unwrap();
    assert_eq!((b.log_max_size, b.log_backups), (50 << 20, 10));
    assert!(
        conversion.toml.contains(
            "stderr = \"/var/log/b.err\"\n\
         log_max_size = \"50MiB\"\n\
         log_backups = 10  # supervisord's default backups\n"
        ),
        "{}",
        conversion.toml
    );
    assert!(
        conversion.notes.iter().any(|n| {
            n.contains(
        "stderr_logfile_maxbytes=0: supervisord never rotated /var/log/b.err; supd rotates every \
         log file, this one at log_max_size = \"50MiB\""
    )
        }),
        "{:#?}",
        conversion.notes
    );
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
    let conversion = import(
        "[program:watch]\ndirectory=/srv/app\ncommand=sh -c \"find . -name '*.conf' | entr -p supervisorctl signal HUP web:*\"\n\n[group:web]\nprograms=nginx\n\n[program:nginx]\ncommand=nginx\ndirectory=/etc/nginx\n",
    )
    .unwrap();
    let (config, groups) = common::load_groups_apart(&conversion.toml);
    assert_eq!(groups, "[group.web]\nprograms = [\"nginx\"]\n");
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
    let e = import("[program:a]\ncommand=x\nautostart=bogus\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert_eq!(e.file, Path::new("/etc/supervisor/supervisord.conf"));
    assert!(!e.to_string().contains('\n'));
}
