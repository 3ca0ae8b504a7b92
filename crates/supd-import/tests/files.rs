//! Converting supervisord files as supd runs them ([`supd_import::convert_file`]):
//! `[include]` globs relative to the including file, and the scripts event listeners run,
//! read to recognise those that stop supervisord.

use std::path::Path;

fn env(name: &str) -> Option<String> {
    (name == "PATH").then(|| "/usr/bin:/bin".to_string())
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn includes_are_relative_to_the_including_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "etc/supervisord.conf",
        "[supervisord]\nnodaemon=true\n\n[include]\nfiles = conf.d/*.conf\n",
    );
    write(
        dir.path(),
        "etc/conf.d/b.conf",
        "[program:b]\ncommand=%(here)s/run-b\n",
    );
    write(
        dir.path(),
        "etc/conf.d/a.conf",
        "[program:a]\ncommand=run-a\n",
    );
    let c = supd_import::convert_file(&dir.path().join("etc/supervisord.conf"), &env).unwrap();
    let a = c.toml.find("[program.a]").unwrap();
    let b = c.toml.find("[program.b]").unwrap();
    assert!(a < b, "the matches of a glob in order: {}", c.toml);
    let here = dir.path().join("etc/conf.d");
    assert!(
        c.toml
            .contains(&format!("command = \"{}/run-b\"", here.display())),
        "{}",
        c.toml
    );
}

#[test]
fn a_listener_script_that_kills_supervisord_makes_the_programs_it_names_critical() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "kill-on-fatal.sh",
        "#!/bin/sh\nprintf 'READY\\n'\nwhile read line; do\n  case \"$line\" in *processname:web*)\n    kill -s SIGTERM $(cat /run/supervisord.pid);;\n  esac\n  printf 'RESULT 2\\nOK'\ndone\n",
    );
    write(
        dir.path(),
        "supervisord.conf",
        "[program:web]\ncommand=nginx\n\n[program:cron]\ncommand=cron -f\n\n\
         [eventlistener:watchdog]\ncommand=sh %(here)s/kill-on-fatal.sh\nevents=PROCESS_STATE_FATAL\n",
    );
    let c = supd_import::convert_file(&dir.path().join("supervisord.conf"), &env).unwrap();
    let web =
        &c.toml[c.toml.find("[program.web]").unwrap()..c.toml.find("[program.cron]").unwrap()];
    assert!(web.contains("critical = true"), "{}", c.toml);
    let cron = &c.toml[c.toml.find("[program.cron]").unwrap()..];
    let cron = &cron[..cron.find("\n\n").unwrap()];
    assert!(!cron.contains("critical = true"), "{}", c.toml);
    assert!(!c.toml.contains("[eventlistener.watchdog]"), "{}", c.toml);
    assert!(
        c.notes.iter().any(|n| n.contains(
            "[eventlistener:watchdog] dropped: it stops supervisord when a program dies (its \
             script kills the pid of supervisord.pid, on PROCESS_STATE_FATAL)"
        ) && n.ends_with("critical = true on web")),
        "{:#?}",
        c.notes
    );

    // the same listener through convert, which reads no file: judged by the script's name,
    // which does not say it
    let text = std::fs::read_to_string(dir.path().join("supervisord.conf")).unwrap();
    let c = supd_import::convert(&text, &dir.path().join("supervisord.conf"), &env).unwrap();
    assert!(c.toml.contains("[eventlistener.watchdog]"), "{}", c.toml);
}

#[test]
fn other_listeners_stay_listeners() {
    let c = supd_import::convert(
        "[program:web]\ncommand=nginx\n\n[eventlistener:crashmail]\ncommand=crashmail -a -m ops@example.com\nevents=PROCESS_STATE_EXITED, TICK_60\nbuffer_size=20\nstdout_logfile=/var/log/l.log\n",
        Path::new("/etc/supervisord.conf"),
        &env,
    )
    .unwrap();
    assert!(
        c.toml.contains(
            "[eventlistener.crashmail]\n# stdout_logfile: dropped; a listener's standard output \
             is the listener protocol\ncommand = \"crashmail -a -m ops@example.com\"\nevents = \
             [\"PROCESS_STATE_EXITED\", \"TICK_60\"]\nbuffer_size = 20\n"
        ),
        "{}",
        c.toml
    );
    let listener = &c.toml[c.toml.find("[eventlistener.crashmail]").unwrap()..];
    assert!(
        !listener.contains("stdout ="),
        "stdout is the protocol: {listener}"
    );
    assert!(!c.toml.contains("critical"), "{}", c.toml);

    // a pool stays one listener table: each event goes to one of its listeners
    let c = supd_import::convert(
        "[eventlistener:mem]\ncommand=memmon -a 200MB\nevents=TICK_60\nnumprocs=3\nprocess_name=%(program_name)s_%(process_num)s\n",
        Path::new("/etc/supervisord.conf"),
        &env,
    )
    .unwrap();
    assert!(
        c.toml.contains("events = [\"TICK_60\"]\ninstances = 3\n"),
        "{}",
        c.toml
    );
    let tables = c.toml.lines().filter(|l| l.starts_with("[eventlistener."));
    assert_eq!(tables.count(), 1, "{}", c.toml);
}

#[test]
fn http_servers_become_supd_http() {
    let c = supd_import::convert(
        "[unix_http_server]\nfile=/run/supervisor/supervisor.sock\nchmod=0770\nchown=app:ops\nusername=u\npassword={SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d\n\n\
         [inet_http_server]\nport=*:9001\nusername=admin\npassword=secret\n",
        Path::new("/etc/supervisord.conf"),
        &env,
    )
    .unwrap();
    assert!(
        c.toml.contains(
            "[supd]\n# [unix_http_server] file=/run/supervisor/supervisor.sock: supervisord's \
             HTTP socket"
        ) || c.toml.contains("socket = \"/run/supervisor/supd.sock\""),
        "{}",
        c.toml
    );
    assert!(c.toml.contains("socket = \"/run/supervisor/supd.sock\"\n"));
    assert!(
        c.toml.contains(
            "[supd.http]\nlisten = [{ address = \"unix:/run/supervisor/supervisor.sock\", mode = \
             \"0770\", owner = \"app:ops\", username = \"u\", password = \
             \"{SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d\" }, { address = \"0.0.0.0:9001\", \
             username = \"admin\", password = \"secret\" }]\n"
        ),
        "{}",
        c.toml
    );
    let config = supd_config::parse_str(&c.toml, Path::new("/etc/supd.toml"), &env).unwrap();
    assert_eq!(config.supd.http.unwrap().listen.len(), 2);

    // no password: loopback only, with a warning
    let c = supd_import::convert(
        "[inet_http_server]\nport=9001\n",
        Path::new("/etc/supervisord.conf"),
        &env,
    )
    .unwrap();
    assert!(
        c.toml.contains("listen = [\"127.0.0.1:9001\"]"),
        "{}",
        c.toml
    );
    assert_eq!(c.warnings.len(), 1, "{:#?}", c.warnings);
    assert!(c.warnings[0].contains("listens on 127.0.0.1:9001, not 0.0.0.0:9001"));
    // the same credentials on both: shared
    let c = supd_import::convert(
        "[unix_http_server]\nfile=/tmp/s.sock\nusername=u\npassword=p\n[inet_http_server]\nport=127.0.0.1:9001\nusername=u\npassword=p\n",
        Path::new("/etc/supervisord.conf"),
        &env,
    )
    .unwrap();
    assert!(
        c.toml.contains(
            "listen = [\"unix:/tmp/s.sock\", \"127.0.0.1:9001\"]\nusername = \"u\"\npassword = \"p\"\n"
        ),
        "{}",
        c.toml
    );
}

#[test]
fn priorities_become_start_order() {
    let c = supd_import::convert(
        "[program:wm]\ncommand=openbox\npriority=15\n\n[program:x]\ncommand=Xvfb :1\npriority=10\n\n\
         [program:panel]\ncommand=tint2\npriority=15\n\n[program:vnc]\ncommand=x11vnc\npriority=20\n\n\
         [program:setup]\ncommand=/setup.sh\npriority=1\nautorestart=false\nstartsecs=0\n",
        Path::new("/etc/supervisord.conf"),
        &env,
    )
    .unwrap();
    let config = supd_config::parse_str(&c.toml, Path::new("/etc/supd.toml"), &env).unwrap();
    let deps = |n: &str| config.program(n).unwrap().depends_on.clone();
    assert_eq!(
        deps("x"),
        Vec::<String>::new(),
        "a one-off script is not waited for"
    );
    assert_eq!(deps("wm"), ["x"]);
    assert_eq!(
        deps("panel"),
        ["x"],
        "programs of one priority stay parallel"
    );
    assert_eq!(deps("vnc"), ["wm", "panel"]);
    assert!(
        c.notes.iter().any(|n| n
            .contains("[program:vnc] priority 20: depends_on = [\"wm\", \"panel\"] (priority 15)")),
        "{:#?}",
        c.notes
    );
}
