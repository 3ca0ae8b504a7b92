//! Helpers shared by the integration tests: fixture loading, a fixed environment, and
//! "convert, then load with supd-config" in one step.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use supd_config::Config;
use supd_import::{Conversion, ImportError, convert};

/// Where the converted TOML pretends to live.
pub const TOML_PATH: &str = "/etc/supd/supd.toml";

/// The environment both the import and supd see.
pub fn env(name: &str) -> Option<String> {
    let value = match name {
        "PATH" => "/usr/local/bin:/usr/bin:/bin",
        "HOME" => "/root",
        "HOSTNAME" => "box",
        "WORKERS" => "2",
        _ => return None,
    };
    Some(value.to_string())
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).unwrap()
}

/// Converts `text` as if read from `/etc/supervisor/NAME`.
pub fn import(text: &str) -> Result<Conversion, ImportError> {
    convert(text, Path::new("/etc/supervisor/supervisord.conf"), &env)
}

/// Loads converted TOML with supd's own config reader, or panics with every problem.
#[track_caller]
pub fn load(toml: &str) -> Config {
    match supd_config::parse_str(toml, Path::new(TOML_PATH), &env) {
        Ok(config) => config,
        Err(problems) => panic!("supd rejects the converted config:\n{problems}\n---\n{toml}"),
    }
}

/// Converts and loads, or panics.
#[track_caller]
pub fn import_and_load(text: &str) -> (Conversion, Config) {
    let conversion = match import(text) {
        Ok(c) => c,
        Err(e) => panic!("import failed: {e}\n---\n{text}"),
    };
    let config = load(&conversion.toml);
    (conversion, config)
}

/// The `[group.NAME]` tables of converted TOML (written last), as text, and the rest
/// loaded with supd's own config reader. supd-config learns `[group.NAME]` in parallel with
/// this conversion (issue 12); until it does, the tests that make groups check them as text.
#[track_caller]
pub fn load_groups_apart(toml: &str) -> (Config, String) {
    let (programs, groups) = toml
        .split_once("\n[group.")
        .unwrap_or_else(|| panic!("no [group.*] table in:\n{toml}"));
    (load(programs), format!("[group.{groups}"))
}

/// Program names in order.
pub fn names(config: &Config) -> Vec<&str> {
    config.programs.iter().map(|p| p.name.as_str()).collect()
}

pub fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}
