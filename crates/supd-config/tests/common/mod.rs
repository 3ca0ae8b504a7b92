//! Helpers shared by the integration tests: a fixed environment, and problems rendered as
//! `LINE: KEY: MESSAGE` so tests can compare whole messages.

#![allow(dead_code)]

use std::path::Path;

use supd_config::{Config, Diagnostics, ProgramSpec, parse_str};

/// Where the test configs pretend to live.
pub const PATH: &str = "/etc/supd/supd.toml";

/// The environment the test configs are interpolated with.
pub fn env(name: &str) -> Option<String> {
    let value = match name {
        "PATH" => "/usr/bin:/bin",
        "HOME" => "/root",
        "PORT" => "8000",
        "APP" => "/app",
        "EMPTY" => "",
        "RUN_DIR" => "/run/supd",
        _ => return None,
    };
    Some(value.to_string())
}

pub fn parse(text: &str) -> Result<Config, Diagnostics> {
    parse_str(text, Path::new(PATH), &env)
}

/// The config, or a panic listing every problem.
#[track_caller]
pub fn ok(text: &str) -> Config {
    match parse(text) {
        Ok(config) => config,
        Err(problems) => panic!("expected a valid config, got:\n{problems}"),
    }
}

/// Every problem as `LINE: KEY: MESSAGE`.
#[track_caller]
pub fn problems(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("expected problems, the config is valid:\n{text}"),
        Err(problems) => problems
            .iter()
            .map(|d| {
                assert_eq!(d.file, Path::new(PATH));
                format!(
                    "{}: {}: {}",
                    d.line.map_or("-".to_string(), |l| l.to_string()),
                    d.key.as_deref().unwrap_or("-"),
                    d.message
                )
            })
            .collect(),
    }
}

/// The one problem of `text`.
#[track_caller]
pub fn problem(text: &str) -> String {
    let all = problems(text);
    assert_eq!(all.len(), 1, "expected exactly one problem, got {all:#?}");
    all.into_iter().next().unwrap_or_default()
}

/// `[program.p]` with `command = "x"` (lines 1 and 2), then `body` from line 3.
pub fn with_program(body: &str) -> String {
    format!("[program.p]\ncommand = \"x\"\n{body}")
}

/// Program `p` of `with_program(body)`.
#[track_caller]
pub fn program(body: &str) -> ProgramSpec {
    let config = ok(&with_program(body));
    config.programs.into_iter().next().expect("program p")
}

/// The one problem of `with_program(body)`.
#[track_caller]
pub fn program_problem(body: &str) -> String {
    problem(&with_program(body))
}

/// A config made of several files in a temporary directory.
pub struct Tree {
    pub dir: tempfile::TempDir,
}

impl Tree {
    /// Files as `(relative path, text)`; the main file is `supd.toml`.
    pub fn new(files: &[(&str, &str)]) -> Tree {
        let dir = tempfile::tempdir().expect("temp dir");
        for (rel, text) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Tree { dir }
    }

    pub fn main(&self) -> std::path::PathBuf {
        self.dir.path().join("supd.toml")
    }

    pub fn load(&self, profiles: &[&str]) -> Result<Config, Diagnostics> {
        self.load_env(profiles, &env)
    }

    pub fn load_env(
        &self,
        profiles: &[&str],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, Diagnostics> {
        let text = std::fs::read_to_string(self.main()).unwrap();
        let options = supd_config::LoadOptions {
            profiles: profiles.iter().map(|p| p.to_string()).collect(),
        };
        supd_config::parse_str_with(&text, &self.main(), env, &options)
    }

    /// The config, or a panic listing every problem.
    #[track_caller]
    pub fn ok(&self, profiles: &[&str]) -> Config {
        match self.load(profiles) {
            Ok(config) => config,
            Err(problems) => panic!("expected a valid config, got:\n{problems}"),
        }
    }

    /// Every problem as `FILE:LINE: KEY: MESSAGE`, with FILE relative to the tree.
    #[track_caller]
    pub fn problems(&self, profiles: &[&str]) -> Vec<String> {
        match self.load(profiles) {
            Ok(_) => panic!("expected problems, the config is valid"),
            Err(problems) => problems.iter().map(|d| self.show(&d.to_string())).collect(),
        }
    }

    /// `text` with the tree's directory taken out of the paths in it.
    pub fn show(&self, text: &str) -> String {
        text.replace(&format!("{}/", self.dir.path().display()), "")
    }
}

/// The names of the programs of `config`.
pub fn names(config: &Config) -> Vec<&str> {
    config.programs.iter().map(|p| p.name.as_str()).collect()
}
