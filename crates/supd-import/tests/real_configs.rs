//! supervisord configs from public repositories (`tests/fixtures/supervisord/NN-name.conf`
//! at the workspace root, each opened by a comment naming its source) import, pass
//! supd-config's validation, and give the same programs when supd runs the `.conf`
//! directly (issue 15 §5).
//!
//! The import runs where nothing of the image's environment is set (a developer's
//! machine: only `PATH` and `HOME`); the direct run sees the image's environment, here
//! every variable set. supd-config's validation reads no machine state, so "problems of
//! this machine" (an unknown user, a missing directory or binary, which `supd check`
//! reports) do not show here; what does is a problem of the conversion.

use std::path::{Path, PathBuf};

use supd_config::{Config, LoadOptions};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/supervisord")
}

/// The `NN-name.conf` files, in order.
fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "conf")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.as_bytes().first().is_some_and(u8::is_ascii_digit))
        })
        .collect();
    files.sort();
    files
}

/// A developer's machine: nothing of the image's environment.
fn import_env(name: &str) -> Option<String> {
    match name {
        "PATH" => Some("/usr/local/bin:/usr/bin:/bin".to_string()),
        "HOME" => Some("/root".to_string()),
        _ => None,
    }
}

/// The image the file runs in: every variable set (to a value every key takes).
fn image_env(name: &str) -> Option<String> {
    import_env(name).or_else(|| Some("1".to_string()))
}

/// The converted TOML validated by supd-config, as supd loads it.
#[track_caller]
fn validated(path: &Path, toml: &str) -> Config {
    let as_toml = path.with_extension("toml");
    match supd_config::parse_str_with(toml, &as_toml, &image_env, &LoadOptions::default()) {
        Ok(config) => config,
        Err(problems) => panic!(
            "{}: supd rejects the converted config:\n{problems}\n---\n{toml}",
            path.display()
        ),
    }
}

fn program_names(config: &Config) -> Vec<String> {
    let mut names: Vec<String> = config.programs.iter().map(|p| p.name.clone()).collect();
    names.extend(config.inactive.iter().cloned());
    names
}

#[test]
fn at_least_forty_real_configs_each_naming_its_source() {
    let files = fixtures();
    assert!(files.len() >= 40, "{} fixtures", files.len());
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let first = text.lines().next().unwrap_or("");
        assert!(
            first.starts_with("; source: https://github.com/"),
            "{}: the first line names the source: {first}",
            path.display()
        );
    }
}

#[test]
fn every_real_config_imports_and_passes_validation() {
    for path in fixtures() {
        let conversion = supd_import::convert_file(&path, &import_env)
            .unwrap_or_else(|e| panic!("{}: import failed: {e}", path.display()));
        validated(&path, &conversion.toml);
        // every warning is a note, and every note a comment of the TOML
        for warning in &conversion.warnings {
            assert!(conversion.notes.contains(warning), "{warning}");
        }
    }
}

#[test]
fn running_a_real_config_directly_gives_the_programs_of_its_import() {
    for path in fixtures() {
        let imported = supd_import::convert_file(&path, &import_env).unwrap();
        let direct = supd_import::convert_file(&path, &image_env)
            .unwrap_or_else(|e| panic!("{}: direct conversion failed: {e}", path.display()));
        assert_eq!(
            program_names(&validated(&path, &imported.toml)),
            program_names(&validated(&path, &direct.toml)),
            "{}",
            path.display()
        );
    }
}

/// What the fixtures exercise, so that losing one of them shows.
#[test]
fn the_fixtures_cover_what_issue_15_names() {
    let all: Vec<(PathBuf, String)> = fixtures()
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect();
    for needle in [
        "[eventlistener:",
        "priority",
        "numprocs",
        "process_name",
        "%(ENV_",
        "[include]",
        "[inet_http_server]",
        "[unix_http_server]",
        "[group:",
    ] {
        assert!(
            all.iter().any(|(_, text)| text.contains(needle)),
            "no fixture has {needle}"
        );
    }
}

#[test]
fn what_real_configs_become() {
    let convert = |name: &str| {
        let path = fixtures_dir().join(name);
        let c = supd_import::convert_file(&path, &import_env).unwrap();
        let config = validated(&path, &c.toml);
        (c, config)
    };
    // numprocs with supervisord's process names, in their group
    let (_, config) = convert("30-invoiceninja.conf");
    let names = program_names(&config);
    assert!(
        names.contains(&"queue-worker_00".to_string())
            && names.contains(&"queue-worker_01".to_string()),
        "{names:?}"
    );
    let group = config
        .groups
        .iter()
        .find(|g| g.name == "queue-worker")
        .unwrap();
    assert_eq!(group.programs, ["queue-worker_00", "queue-worker_01"]);

    // options supervisord ignores: warnings, not errors
    let (c, _) = convert("34-zabbix-web-programs.conf");
    assert!(
        c.warnings.iter().any(|w| w.contains(
            "[program:nginx] auto_start=true: ignored, as supervisord ignores options it does \
             not know in this section (did you mean \"autostart\"?)"
        )),
        "{:#?}",
        c.warnings
    );
    let (c, _) = convert("33-zabbix-web.conf");
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("[supervisord] critical=critical: ignored")),
        "{:#?}",
        c.warnings
    );

    // %(ENV_X)s in autostart, not set at import: supervisord's default, with a warning
    let (c, _) = convert("36-hypothesis.conf");
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("autostart=%(ENV_ENABLE_NGINX)s: ENABLE_NGINX is not set here")),
        "{:#?}",
        c.warnings
    );

    // priority: X server before the window manager
    let (_, config) = convert("05-selenium-node.conf");
    let vnc = config.program("vnc").unwrap();
    assert_eq!(vnc.depends_on, ["xvfb"], "{vnc:?}");
}
