//! Checks of a valid config against the machine it will run on (the config crate is pure
//! and cannot look): users and groups exist and supd may switch to them, working
//! directories and watched paths exist (and can be read), and watch globs compile.
//! `supd check` and `supd run` both refuse a config that fails them, so a config that checks
//! clean also starts. Every problem names the file and line of the key it is about.
//!
//! What only `supd check` looks at (commands, permissions, log files: a run still starts
//! with those, and the program alone fails) is [`crate::check`]'s.

use supd_config::{Config, Diagnostic};
use supd_sys::users::UserDb;

/// The problems that stop `supd run` (and `supd check`), each once.
pub fn check(config: &Config) -> Vec<Diagnostic> {
    let mut problems: Vec<Diagnostic> = Vec::new();
    let mut problem = |program: &str, key: &str, message: String| {
        let d = config.program_problem(program, key, message);
        // The instances of a program share its table: one problem, not one per instance.
        if !problems.contains(&d) {
            problems.push(d);
        }
    };
    let users = UserDb::system();
    for p in &config.programs {
        if let Some(user) = &p.user
            && let Err(why) = crate::identity::run_as(user, &users)
        {
            problem(&p.name, "user", why);
        }
        if let Some(watch) = &p.watch {
            for (key, message) in crate::watch::check(watch) {
                problem(&p.name, key, message);
            }
        }
        if let Some(dir) = &p.directory
            && !dir.is_dir()
        {
            let what = if dir.exists() {
                "is not a directory"
            } else {
                "does not exist"
            };
            problem(&p.name, "directory", format!("{} {what}", dir.display()));
        }
    }
    problems
}
