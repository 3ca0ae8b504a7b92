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
use supd_sys::spawn::{Credentials, Output, SpawnError, SpawnRequest, describe, spawn};

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
    pub fn launch(
        &self,
        prog: ProgId,
        spec: &ProgramSpec,
        credentials: Option<Credentials>,
        extra_env: &[(String, String)],
    ) -> Result<u32, SpawnError> {
        let (stdout, stdout_pipe) = output(&spec.stdout, &spec.name, "stdout")?;
        let (stderr, stderr_pipe) = output(&spec.stderr, &spec.name, "stderr")?;
        let req = SpawnRequest {
            argv: spec.command.iter().map(OsString::from).collect(),
            env: self.environment(spec, extra_env),
            cwd: spec.directory.clone(),
            credentials,
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

    /// supd's environment, then `extra` (identity variables), then the program's own
    /// `environment`, later entries replacing earlier ones.
    fn environment(
        &self,
        spec: &ProgramSpec,
        extra: &[(String, String)],
    ) -> Vec<(OsString, OsString)> {
        let mut env = self.base_env.clone();
        let own = spec.environment.iter();
        for (k, v) in extra.iter().chain(own) {
            let (k, v) = (OsString::from(k), OsString::from(v));
            match env.iter_mut().find(|(name, _)| *name == k) {
                Some(slot) => slot.1 = v,
                None => env.push((k, v)),
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
