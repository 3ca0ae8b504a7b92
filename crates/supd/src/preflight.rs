//! Checks of a valid config against the machine it will run on (the config crate is pure
//! and cannot look): users and groups exist and supd may switch to them, working
//! directories and watched paths exist (and can be read), watch globs compile, and no key
//! asks for something this build cannot do. `supd check` and `supd run` both refuse a
//! config that fails them, so a config that checks clean also starts.

use supd_config::{Config, Diagnostic};
use supd_sys::users::UserDb;

pub fn check(config: &Config) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let mut problem = |program: &str, key: &str, message: String| {
        problems.push(Diagnostic {
            file: config.path.clone(),
            line: None,
            key: Some(format!("program.{program}.{key}")),
            message,
        })
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
        // Accepted by the config schema, not carried out by this build yet: refuse rather
        // than silently ignore it.
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
