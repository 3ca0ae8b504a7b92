//! Turning a program's spec into a running process: environment, working directory,
//! output wiring, then `supd_sys::spawn::spawn`.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::rc::Rc;

use supd_config::{OutputTarget, ProgramSpec};
use supd_core::ProgId;
use supd_proto::Stream;
use supd_sys::spawn::{Output, SpawnError, SpawnRequest, describe, spawn};
use supd_sys::users::UserDb;

use crate::identity::{RunAs, run_as};

use crate::logplane::LogPlane;

/// Everything a launch needs that is the same for every program.
pub struct Launcher {
    /// supd's own environment, which programs inherit.
    base_env: Vec<(OsString, OsString)>,
    plane: Rc<LogPlane>,
}

impl Launcher {
    pub fn new(plane: Rc<LogPlane>) -> Self {
        Launcher {
            base_env: std::env::vars_os().collect(),
            plane,
        }
    }

    /// Starts one run of `spec`; its output pipes are handed to the log plane.
    ///
    /// The user is resolved again at every start, so an entrypoint that creates users
    /// before supd — or a reload — is always seen.
    pub fn launch(&self, prog: ProgId, spec: &ProgramSpec) -> Result<u32, SpawnError> {
        let run_as = match &spec.user {
            Some(user) => Some(run_as(user, &UserDb::system()).map_err(SpawnError)?),
            None => None,
        };
        let (stdout, stdout_pipe) = output(&spec.stdout, &spec.name, "stdout")?;
        let (stderr, stderr_pipe) = output(&spec.stderr, &spec.name, "stderr")?;
        let req = SpawnRequest {
            argv: spec.command.iter().map(OsString::from).collect(),
            env: self.environment(spec, run_as.as_ref()),
            cwd: spec.directory.clone(),
            credentials: run_as.and_then(|r| r.credentials),
            umask: spec.umask,
            stdout,
            stderr,
        };
        let pid = spawn(req)?;
        if let Some(fd) = stdout_pipe {
            self.plane.attach(prog, Stream::Stdout, fd);
        }
        if let Some(fd) = stderr_pipe {
            self.plane.attach(prog, Stream::Stderr, fd);
        }
        Ok(pid)
    }

    /// supd's environment, then the identity variables of the program's user, then the
    /// program's own `environment`, later entries replacing earlier ones.
    fn environment(&self, spec: &ProgramSpec, run_as: Option<&RunAs>) -> Vec<(OsString, OsString)> {
        let mut env = self.base_env.clone();
        let identity = run_as.map_or(&[][..], |r| &r.env[..]);
        let own = spec.environment.iter().map(|(k, v)| (k, Some(v)));
        for (k, v) in identity.iter().map(|(k, v)| (k, v.as_ref())).chain(own) {
            let k = OsString::from(k);
            env.retain(|(name, _)| *name != k);
            if let Some(v) = v {
                env.push((k, OsString::from(v)));
            }
        }
        env
    }
}

/// The child's side of one output stream, and supd's side when supd reads it.
fn output(
    target: &OutputTarget,
    name: &str,
    stream: &str,
) -> Result<(Output, Option<OwnedFd>), SpawnError> {
    match target {
        OutputTarget::Console => {
            let (read, write) = supd_sys::pipe::new_pipe().map_err(|e| {
                SpawnError(format!("cannot create the {stream} pipe: {}", describe(&e)))
            })?;
            Ok((Output::Fd(write), Some(read)))
        }
        OutputTarget::Null => Ok((Output::Null, None)),
        OutputTarget::File(path) => {
            let file = OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o644)
                .open(path)
                .map_err(|e| {
                    SpawnError(format!(
                        "cannot open {stream} log file {} of {name}: {}",
                        path.display(),
                        describe(&e)
                    ))
                })?;
            Ok((Output::Fd(file.into()), None))
        }
    }
}
