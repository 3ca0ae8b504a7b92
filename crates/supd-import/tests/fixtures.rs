//! The supervisord configs of the seed documents and supervisord's sample config convert to
//! TOML that supd's own config reader accepts, with the programs and values they meant.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{fixture, fixture_path, import_and_load, load, names, strings};
use supd_config::{IdRef, OutputTarget, RestartPolicy, UserSpec, WatchAction};

fn user(name: &str) -> Option<UserSpec> {
    Some(UserSpec {
        user: IdRef::Name(name.to_string()),
        group: None,
    })
}

#[test]
fn dev_seed_runs_daphne_and_vite_as_appuser() {
    let (conversion, config) = import_and_load(&fixture("supervisord.dev.conf"));
    assert_eq!(names(&config), ["daphne", "vite"]);

    let daphne = config.program("daphne").unwrap();
    assert_eq!(
        daphne.command,
        strings(&[
            "daphne",
            "-b",
            "0.0.0.0",
            "-p",
            "8000",
            "config.asgi:application"
        ])
    );
    assert_eq!(daphne.user, user("appuser"));
    assert_eq!(daphne.directory, Some(PathBuf::from("/app/backend")));
    assert_eq!(daphne.restart, RestartPolicy::Always);
    assert_eq!(daphne.stdout, OutputTarget::Console);
    assert_eq!(daphne.stderr, OutputTarget::Console);
    assert_eq!(daphne.start_retries, Some(3));

    let vite = config.program("vite").unwrap();
    assert_eq!(
        vite.command,
        strings(&[
            "npm", "run", "dev", "--", "--host", "0.0.0.0", "--port", "3000"
        ])
    );
    assert_eq!(vite.user, user("appuser"));
    assert_eq!(vite.directory, Some(PathBuf::from("/app/frontend")));
    assert_eq!(
        vite.environment,
        [
            ("HOME".to_string(), "/home/appuser".to_string()),
            (
                "NPM_CONFIG_CACHE".to_string(),
                "/home/appuser/.npm".to_string()
            ),
        ]
    );

    // [supervisord] nodaemon and logfile have no equivalent: said in the notes and the TOML.
    assert!(conversion.notes.iter().any(|n| n.contains("nodaemon=true")));
    assert!(conversion.toml.contains("# [supervisord] nodaemon=true"));
    assert!(
        conversion
            .toml
            .contains("\"gosu appuser\" became user = \"appuser\"")
    );
}

#[test]
fn prod_seed_keeps_nginx_daemon_off_as_one_argument() {
    let (_, config) = import_and_load(&fixture("supervisord.prod.conf"));
    assert_eq!(names(&config), ["nginx", "daphne"]);
    let nginx = config.program("nginx").unwrap();
    assert_eq!(
        nginx.command,
        strings(&["/usr/sbin/nginx", "-g", "daemon off;"])
    );
    assert_eq!(nginx.user, None);
    assert_eq!(nginx.restart, RestartPolicy::Always);
    let daphne = config.program("daphne").unwrap();
    assert_eq!(daphne.command[2], "127.0.0.1");
    assert_eq!(daphne.user, user("appuser"));
}

#[test]
fn celery_seed_entr_watcher_becomes_a_watch_section() {
    let (conversion, config) = import_and_load(&fixture("supervisord-celery.conf"));
    assert_eq!(
        names(&config),
        ["celery-worker"],
        "the watcher program is gone"
    );

    let worker = config.program("celery-worker").unwrap();
    let watch = worker
        .watch
        .as_ref()
        .expect("celery-worker has a watch section");
    assert_eq!(watch.paths, [PathBuf::from("/app/app")]);
    assert_eq!(watch.include, ["**/*.py"]);
    assert_eq!(watch.action, WatchAction::Restart);

    assert_eq!(
        worker.command,
        strings(&[
            "uv",
            "run",
            "celery",
            "-A",
            "app.tasks",
            "worker",
            "--loglevel=info",
            "--pool=solo"
        ])
    );
    assert_eq!(worker.user, user("appuser"));
    assert_eq!(worker.directory, Some(PathBuf::from("/app")));
    assert_eq!(worker.restart, RestartPolicy::Never, "autorestart=false");
    // %(ENV_PATH)s became ${PATH}, interpolated by supd at load time.
    assert_eq!(
        worker.environment,
        [
            (
                "PATH".to_string(),
                "/app/.venv/bin:/usr/local/bin:/usr/bin:/bin".to_string()
            ),
            (
                "UV_CACHE_DIR".to_string(),
                "/home/appuser/.cache/uv".to_string()
            ),
            ("HOME".to_string(), "/home/appuser".to_string()),
        ]
    );
    assert!(
        conversion
            .toml
            .contains("PATH = \"/app/.venv/bin:${PATH}\"")
    );

    // [unix_http_server] -> [supd.http] listen, and supd's own socket beside it
    assert_eq!(config.supd.socket, PathBuf::from("/tmp/supd.sock"));
    assert_eq!(config.supd.socket_mode, 0o777);
    let http = config.supd.http.as_ref().unwrap();
    assert_eq!(
        http.listen[0].address,
        supd_config::ListenAddress::Unix(PathBuf::from("/tmp/supervisor.sock"))
    );
    assert_eq!(http.listen[0].mode, 0o777);

    let dropped: Vec<&String> = conversion
        .notes
        .iter()
        .filter(|n| n.contains("[program:hot-reload-watcher] dropped"))
        .collect();
    assert_eq!(dropped.len(), 1, "{:#?}", conversion.notes);
    assert!(dropped[0].contains("[program.celery-worker.watch]"));
    assert!(
        conversion
            .notes
            .iter()
            .any(|n| n.contains("[supervisorctl] ignored: supervisorctl reads it itself"))
    );
    assert!(
        conversion
            .notes
            .iter()
            .any(|n| n.contains("[rpcinterface:supervisor] ignored"))
    );
}

#[test]
fn sample_config_has_no_programs_and_keeps_the_socket() {
    let (conversion, config) = import_and_load(&fixture("sample.conf"));
    assert!(config.programs.is_empty());
    assert_eq!(config.supd.socket, PathBuf::from("/tmp/supd.sock"));
    for key in ["logfile=", "pidfile=", "minfds=", "nodaemon=false"] {
        assert!(
            conversion.notes.iter().any(|n| n.contains(key)),
            "{key}: {:#?}",
            conversion.notes
        );
    }
}

/// The sample with its commented-out sections switched on: every program option at once.
fn sample_uncommented() -> String {
    let mut out = String::new();
    let mut active = false;
    for line in fixture("sample.conf").lines() {
        if line.starts_with(";[") {
            active = true;
        }
        if line.trim().is_empty() {
            active = false;
        }
        let uncommented = line.strip_prefix(';').filter(|_| active);
        let line = uncommented.unwrap_or(line);
        // the sample's inline comments start with white space, so they stay comments
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn sample_with_every_section_enabled() {
    let text = sample_uncommented();
    assert!(text.contains("\n[program:theprogramname]\n"), "{text}");
    let (conversion, config) = import_and_load(&text);
    assert_eq!(names(&config), ["theprogramname", "theeventlistenername"]);
    let p = config.program("theprogramname").unwrap();
    assert_eq!(p.command, strings(&["/bin/cat"]));
    assert_eq!(p.directory, Some(PathBuf::from("/tmp")));
    assert_eq!(p.umask, Some(0o022));
    assert_eq!(p.min_uptime, Duration::from_secs(1));
    assert_eq!(p.start_retries, Some(3));
    assert_eq!(
        p.restart,
        RestartPolicy::OnFailure,
        "autorestart=unexpected"
    );
    assert_eq!(p.exit_codes, [0]);
    assert_eq!(p.stop_signal, supd_config::Signal::SIGQUIT);
    assert_eq!(p.stop_timeout, Duration::from_secs(10));
    assert_eq!(p.user, user("chrism"));
    assert_eq!(p.stdout, OutputTarget::File(PathBuf::from("/a/path")));
    assert_eq!(p.stderr, OutputTarget::Stdout, "redirect_stderr=true");
    // stdout_logfile_maxbytes=1MB of 1024 x 1024 bytes, stdout_logfile_backups=10
    assert_eq!((p.log_max_size, p.log_backups), (1 << 20, 10));
    assert_eq!(
        p.environment,
        [
            ("A".to_string(), "1".to_string()),
            ("B".to_string(), "2".to_string())
        ]
    );
    // both HTTP servers listen, each with its credentials
    let http = config.supd.http.as_ref().unwrap();
    assert_eq!(http.listen.len(), 2);
    assert_eq!(
        http.listen[1].address,
        supd_config::ListenAddress::Tcp("127.0.0.1:9001".parse().unwrap())
    );
    assert!(
        conversion.toml.contains("username = "),
        "{}",
        conversion.toml
    );
    // [eventlistener:x] stays a listener
    assert!(
        conversion.toml.contains(
            "\ncommand = \"/bin/eventlistener\"\nevents = [\"EVENT\"]\nbuffer_size = 10\n"
        ) && conversion
            .toml
            .contains("\n[eventlistener.theeventlistenername]\n"),
        "{}",
        conversion.toml
    );
    // [include] and the [group:x], whose programs are not in the sample, become notes; the
    // include pattern is handed back for the caller to glob.
    for what in [
        "[group:thegroupname] not converted: none of its programs is in the converted config",
        "[group:thegroupname] names the program \"progname1\", which is not defined",
        "[group:thegroupname] priority=999: orders the start",
        "[include] files=relative/directory/*.ini",
        "[program:theprogramname] stopasgroup=false: dropped; supd always signals the whole \
         process group",
        "[program:theprogramname] killasgroup=false: dropped",
        "[program:theprogramname] stderr_syslog=false: dropped",
        "[program:theprogramname] stderr_logfile=/a/path: ignored because redirect_stderr=true",
        "[program:theprogramname] stderr_logfile_maxbytes=1MB: ignored because \
         redirect_stderr=true",
        "[program:theprogramname] stderr_logfile_backups=10: ignored because \
         redirect_stderr=true",
        "[program:theprogramname] serverurl=AUTO: dropped",
        "[supervisord] umask=022",
    ] {
        let hits = conversion.notes.iter().filter(|n| n.contains(what)).count();
        // `[supervisord] umask` stays commented out in the sample: the program has its own.
        if what.starts_with("[supervisord] umask") {
            assert_eq!(hits, 0, "{what}");
        } else {
            assert_eq!(hits, 1, "{what}: {:#?}", conversion.notes);
        }
    }
    assert_eq!(
        conversion.includes,
        [Path::new("/etc/supervisor/relative/directory/*.ini")]
    );
}

#[test]
fn every_note_is_also_a_comment_in_the_toml() {
    for name in [
        "supervisord.dev.conf",
        "supervisord.prod.conf",
        "supervisord-celery.conf",
        "sample.conf",
    ] {
        let conversion =
            supd_import::convert(&fixture(name), &fixture_path(name), &common::env).unwrap();
        assert!(
            conversion
                .toml
                .starts_with("# Generated by `supd import` from ")
        );
        assert!(conversion.toml.contains(name));
        let first_table = conversion.toml.find("\n[").unwrap();
        assert!(
            conversion.toml[first_table..].starts_with("\n[supd]\n"),
            "[supd] first"
        );
        assert!(!conversion.notes.is_empty());
        for note in &conversion.notes {
            // "FILE:LINE: [section] text"; the text (after the section) is in a comment.
            let (_, text) = note.split_once("] ").unwrap();
            assert!(
                conversion
                    .toml
                    .lines()
                    .any(|l| l.starts_with('#') && l.contains(text)),
                "{name}: note not in the TOML: {note}"
            );
        }
        load(&conversion.toml);
    }
}
