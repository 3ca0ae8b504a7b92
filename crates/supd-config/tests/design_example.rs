//! The example of DESIGN.md's "Config (TOML)" section is a valid config, read as documented.
//!
//! `tests/fixtures/design-example.toml` is a verbatim copy of that block. The example's web
//! program has `depends_on = ["migrate"]` without defining `migrate`, so the test appends a
//! `migrate` oneshot before parsing.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use supd_config::{
    HealthCheck, HealthSpec, IdRef, LogFormat, OutputTarget, PollMode, RestartPolicy, Signal,
    SupdSpec, UserSpec, WatchAction, WatchSpec, parse_str,
};

const EXAMPLE: &str = include_str!("fixtures/design-example.toml");
const MIGRATE: &str =
    "\n[program.migrate]\ncommand = \"python manage.py migrate\"\noneshot = true\n";

fn env(name: &str) -> Option<String> {
    (name == "PATH").then(|| "/usr/local/bin:/usr/bin:/bin".to_string())
}

#[test]
fn design_example_parses_with_the_documented_values() {
    let text = format!("{EXAMPLE}{MIGRATE}");
    let config = parse_str(&text, Path::new("/etc/supd/supd.toml"), &env)
        .unwrap_or_else(|e| panic!("the DESIGN.md example should be valid:\n{e}"));

    assert_eq!(
        config.supd,
        SupdSpec {
            socket: PathBuf::from("/run/supd.sock"),
            socket_mode: 0o600,
            socket_group: Some(IdRef::Name("ops".into())),
            socket_readonly_group: None,
            shutdown_timeout: Duration::from_secs(30),
            log_format: LogFormat::Prefix,
            log_timestamps: false,
            http: None,
        }
    );

    let names: Vec<&str> = config.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["web", "migrate"]);

    let web = config.program("web").expect("web");
    assert_eq!(
        web.command,
        [
            "daphne",
            "-b",
            "0.0.0.0",
            "-p",
            "8000",
            "config.asgi:application"
        ]
    );
    assert_eq!(web.directory, Some(PathBuf::from("/app/backend")));
    assert_eq!(
        web.user,
        Some(UserSpec {
            user: IdRef::Name("appuser".into()),
            group: None
        })
    );
    assert_eq!(
        web.environment,
        [
            ("HOME".to_string(), "/home/appuser".to_string()),
            (
                "PATH".to_string(),
                "/app/.venv/bin:/usr/local/bin:/usr/bin:/bin".to_string()
            ),
        ]
    );
    assert_eq!(web.umask, Some(0o022));
    assert!(web.autostart);
    assert_eq!(web.restart, RestartPolicy::Always);
    assert_eq!(web.exit_codes, [0]);
    assert_eq!(web.min_uptime, Duration::from_secs(1));
    assert_eq!(web.restart_delay, Duration::from_millis(100));
    assert_eq!(web.max_restart_delay, Duration::from_secs(30));
    assert_eq!(web.start_retries, Some(5));
    assert_eq!(web.stop_signal, Signal::SIGTERM);
    assert_eq!(web.stop_timeout, Duration::from_secs(10));
    assert_eq!(web.depends_on, ["migrate"]);
    assert!(!web.oneshot);
    assert!(!web.critical);
    assert_eq!(web.stdout, OutputTarget::Console);
    assert_eq!(web.stderr, OutputTarget::Console);
    assert_eq!(
        web.watch,
        Some(WatchSpec {
            paths: vec![PathBuf::from("/app/backend")],
            include: vec!["**/*.py".into()],
            exclude: vec!["**/migrations/**".into()],
            debounce: Duration::from_millis(200),
            action: WatchAction::Restart,
            poll: PollMode::Auto,
        })
    );
    assert_eq!(
        web.health,
        Some(HealthSpec {
            check: HealthCheck::Http("http://127.0.0.1:8000/healthz".into()),
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
            retries: 3,
            start_period: Duration::ZERO,
        })
    );

    let migrate = config.program("migrate").expect("migrate");
    assert!(migrate.oneshot);
    assert_eq!(migrate.command, ["python", "manage.py", "migrate"]);
}

#[test]
fn design_example_alone_only_lacks_the_migrate_program() {
    let err = parse_str(EXAMPLE, Path::new("/etc/supd/supd.toml"), &env).unwrap_err();
    let messages: Vec<String> = err.iter().map(|d| d.message.clone()).collect();
    assert_eq!(
        messages,
        [r#"unknown program "migrate" (known programs: web)"#]
    );
}

#[test]
fn design_example_without_path_in_the_environment_names_the_variable() {
    let text = format!("{EXAMPLE}{MIGRATE}");
    let err = parse_str(&text, Path::new("/etc/supd/supd.toml"), &|_| None).unwrap_err();
    let shown: Vec<String> = err.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        shown,
        [
            "/etc/supd/supd.toml:13: program.web.environment.PATH: environment variable PATH is not set (give a default with ${PATH:-value})"
        ]
    );
}

#[test]
fn fixture_is_the_block_of_design_md() {
    // Guards against the fixture drifting from the contract, when DESIGN.md is reachable.
    let design = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/DESIGN.md");
    let Ok(text) = std::fs::read_to_string(design) else {
        return;
    };
    let Some(start) = text.find("### Config (TOML)") else {
        return;
    };
    let after = &text[start..];
    let block = after
        .split_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(block, _)| block);
    assert_eq!(block, Some(EXAMPLE));
}
