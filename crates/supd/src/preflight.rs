//! Checks of a valid config against the machine it will run on (the config crate is pure
//! and cannot look): working directories exist. `supd check` and `supd run` both refuse a
//! config that fails them, so a config that checks clean also starts.

use supd_config::{Config, Diagnostic};

pub fn check(config: &Config) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for p in &config.programs {
        if let Some(dir) = &p.directory
            && !dir.is_dir()
        {
            let what = if dir.exists() {
                "is not a directory"
            } else {
                "does not exist"
            };
            problems.push(Diagnostic {
                file: config.path.clone(),
                line: None,
                key: Some(format!("program.{}.directory", p.name)),
                message: format!("{} {what}", dir.display()),
            });
        }
    }
    problems
}
