//! `supd exec --user USER -- CMD ARGS...`: gosu's job. Resolve USER, drop privileges,
//! set `HOME`/`USER`/`LOGNAME`, find CMD on `PATH`, and `execve` in place: same pid, so
//! signals reach CMD directly and its exit code is the exit code.

use std::ffi::{OsStr, OsString};
use std::io;

use supd_config::UserSpec;
use supd_sys::users::UserDb;

/// Never returns on success; otherwise prints why and returns the exit code.
pub fn exec(user: &str, command: &[OsString]) -> i32 {
    let spec: UserSpec = match user.parse() {
        Ok(spec) => spec,
        Err(why) => return fail(crate::exit::USAGE, &format!("--user: {why}")),
    };
    let run_as = match crate::identity::run_as(&spec, &UserDb::system()) {
        Ok(r) => r,
        Err(why) => return fail(crate::exit::USAGE, &why),
    };
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    for (k, v) in &run_as.env {
        env.retain(|(name, _)| name != OsStr::new(k));
        if let Some(v) = v {
            env.push((k.into(), v.into()));
        }
    }
    let program = &command[0];
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_os_str());
    let file = match supd_sys::spawn::find_executable(program, path, None) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            let name = program.to_string_lossy();
            return fail(
                crate::exit::CANNOT_EXECUTE,
                &format!("{name}: permission denied"),
            );
        }
        Err(_) => {
            let name = program.to_string_lossy();
            return fail(
                crate::exit::NOT_FOUND,
                &format!("{name}: command not found"),
            );
        }
    };
    if let Some(c) = &run_as.credentials
        && let Err(e) = supd_sys::exec::drop_privileges(c)
    {
        return fail(
            2,
            &format!("cannot switch to user {user}: {}", supd_sys::describe(&e)),
        );
    }
    let e = supd_sys::exec::exec(&file, command, &env);
    let code = match e.kind() {
        io::ErrorKind::NotFound => crate::exit::NOT_FOUND,
        _ => crate::exit::CANNOT_EXECUTE,
    };
    fail(
        code,
        &format!("cannot run {}: {}", file.display(), supd_sys::describe(&e)),
    )
}

fn fail(code: i32, message: &str) -> i32 {
    eprintln!("supd exec: {message}");
    code
}
