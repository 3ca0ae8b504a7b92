//! Turning a program's spec into a running process: environment, working directory,
//! output wiring, then `supd_sys::spawn::spawn`.

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::rc::Rc;

use supd_config::{OutputTarget, ProgramSpec};
use supd_core::ProgId;
use supd_proto::Stream;
use supd_sys::describe;
use supd_sys::spawn::{Announce, Output, SpawnError, SpawnRequest, spawn};
use supd_sys::users::UserDb;

use crate::identity::{RunAs, run_as};
use crate::sockets::Sockets;

use crate::logplane::LogPlane;
use crate::logplane::output::Target;

/// Everything a launch needs that is the same for every program.
pub struct Launcher {
    /// supd's own environment, which programs inherit.
    base_env: Vec<(OsString, OsString)>,
    plane: Rc<LogPlane>,
    /// `NOTIFY_SOCKET` for programs with `ready = "notify"`.
    notify_socket: Option<String>,
    /// `SUPERVISOR_SERVER_URL` and its credentials, for every program.
    server_env: Vec<(String, String)>,
    /// The sockets held for programs; every run of a program gets its own.
    pub sockets: Sockets,
}

/// A process just started, and supd's ends of the pipes that are not output.
pub struct Launched {
    pub pid: u32,
    /// The write end of its stdin (`stdin = "pipe"`, event listeners).
    pub stdin: Option<OwnedFd>,
    /// The read end of an event listener's stdout (the listener protocol).
    pub protocol: Option<OwnedFd>,
}

impl Launcher {
    pub fn new(
        plane: Rc<LogPlane>,
        notify_socket: Option<String>,
        server_env: Vec<(String, String)>,
        sockets: Sockets,
    ) -> Self {
        Launcher {
            base_env: std::env::vars_os().collect(),
            plane,
            notify_socket,
            server_env,
            sockets,
        }
    }

    /// Starts one run of `spec`; its output pipes are handed to the log plane. The child
    /// writes `announce` (its pid to the keeper) before anything else. `names` is what
    /// supervisord would call it, `(process, group)`, for its `SUPERVISOR_*` variables.
    /// `beside`: the previous run keeps running beside this one (a start-first restart).
    ///
    /// The user is resolved again at every start, so an entrypoint that creates users
    /// before supd — or a reload — is always seen.
    pub fn launch(
        &self,
        prog: ProgId,
        spec: &ProgramSpec,
        announce: Option<Announce>,
        names: &(String, String),
        beside: bool,
    ) -> Result<Launched, SpawnError> {
        let run_as = Self::run_as(spec)?;
        let (stdout, stdout_pipe, protocol) = if spec.listener.is_some() {
            let (read, write) = Self::pipe("stdout")?;
            (Output::Fd(write), None, Some(read))
        } else {
            let (stdout, pipe) = self.output(spec, Stream::Stdout, None)?;
            (stdout, pipe, None)
        };
        let (stderr, stderr_pipe) = self.output(spec, Stream::Stderr, Some(&stdout))?;
        let (stdin_read, stdin_write) = match spec.stdin {
            supd_config::StdinMode::Pipe => {
                let (read, write) = Self::pipe("stdin")?;
                (Some(read), Some(write))
            }
            supd_config::StdinMode::Null => (None, None),
        };
        let mut env = self.environment(spec, run_as.as_ref());
        let supervisor = [
            ("SUPERVISOR_ENABLED", "1"),
            ("SUPERVISOR_PROCESS_NAME", names.0.as_str()),
            ("SUPERVISOR_GROUP_NAME", names.1.as_str()),
        ];
        let server = self
            .server_env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()));
        for (k, v) in supervisor.into_iter().chain(server) {
            // The program's own environment wins, as in supervisord.
            if !spec.environment.iter().any(|(own, _)| own == k) {
                env.retain(|(name, _)| name != k);
                env.push((OsString::from(k), OsString::from(v)));
            }
        }
        let req = SpawnRequest {
            argv: spec.command.iter().map(OsString::from).collect(),
            executable: None,
            env,
            cwd: spec.directory.clone(),
            credentials: run_as.and_then(|r| r.credentials),
            umask: spec.umask,
            stdin: stdin_read,
            announce,
            stdout,
            stderr,
            sockets: self.sockets.passed(spec)?,
        };
        let pid = spawn(req)?;
        for (stream, pipe) in [(Stream::Stdout, stdout_pipe), (Stream::Stderr, stderr_pipe)] {
            if let Some((fd, target)) = pipe {
                self.plane.attach(prog, stream, fd, target, beside);
            }
        }
        Ok(Launched {
            pid,
            stdin: stdin_write,
            protocol,
        })
    }

    /// A new pipe `(read end, write end)` for the child's `which` stream.
    fn pipe(which: &str) -> Result<(OwnedFd, OwnedFd), SpawnError> {
        supd_sys::pipe::new_pipe().map_err(|e| {
            SpawnError::new(format!("cannot create the {which} pipe: {}", describe(&e)))
        })
    }

    /// The child's side of one output stream, and supd's side (pipe and destination) when
    /// supd carries it: always, except for `null`. `stdout_fd` is the child's stdout, for
    /// `stderr = "stdout"`.
    fn output(
        &self,
        spec: &ProgramSpec,
        stream: Stream,
        stdout_fd: Option<&Output>,
    ) -> Result<(Output, Option<(OwnedFd, Target)>), SpawnError> {
        let which = match stream {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        };
        let wanted = match stream {
            Stream::Stdout => &spec.stdout,
            Stream::Stderr => &spec.stderr,
        };
        let target = match wanted {
            OutputTarget::Null => return Ok((Output::Null, None)),
            OutputTarget::Stdout => {
                // The very same pipe (or /dev/null): both streams interleave exactly as
                // the program wrote them.
                let same = match stdout_fd {
                    Some(Output::Fd(fd)) => Output::Fd(fd.try_clone().map_err(|e| {
                        SpawnError::new(format!(
                            "cannot share stdout with stderr: {}",
                            describe(&e)
                        ))
                    })?),
                    _ => Output::Null,
                };
                return Ok((same, None));
            }
            OutputTarget::Console => self.plane.console_target(stream),
            OutputTarget::File(path) => self
                .plane
                .file_target(path, spec.log_max_size, spec.log_backups)
                .map_err(|e| {
                    SpawnError::new(format!(
                        "cannot open {which} log file {} of {}: {}",
                        path.display(),
                        spec.name,
                        describe(&e)
                    ))
                })?,
        };
        let (read, write) = Self::pipe(which)?;
        Ok((Output::Fd(write), Some((read, target))))
    }

    /// Starts a `command` health check of `spec`: same user, directory and environment as
    /// the program, plus `MAINPID` (as systemd names it) = `checked`, the program's process
    /// being checked (during a start-first restart, the new one); output discarded. Its exit
    /// is collected by supd's reaper like any other.
    pub fn launch_check(
        &self,
        spec: &ProgramSpec,
        argv: &[String],
        checked: Option<i32>,
        announce: Option<Announce>,
    ) -> Result<u32, SpawnError> {
        let run_as = Self::run_as(spec)?;
        let mut env = self.environment(spec, run_as.as_ref());
        if let Some(pid) = checked {
            env.retain(|(name, _)| name != "MAINPID");
            env.push(("MAINPID".into(), pid.to_string().into()));
        }
        spawn(SpawnRequest {
            argv: argv.iter().map(OsString::from).collect(),
            executable: None,
            env,
            cwd: spec.directory.clone(),
            credentials: run_as.and_then(|r| r.credentials),
            umask: spec.umask,
            stdin: None,
            announce,
            stdout: Output::Null,
            stderr: Output::Null,
            // A check is not the program: it gets none of its sockets.
            sockets: Vec::new(),
        })
    }

    /// The program's user, resolved now (an entrypoint may have created it just before).
    fn run_as(spec: &ProgramSpec) -> Result<Option<RunAs>, SpawnError> {
        spec.user
            .as_ref()
            .map(|user| run_as(user, &UserDb::system()).map_err(SpawnError::new))
            .transpose()
    }

    /// supd's environment, then `NOTIFY_SOCKET` (for `ready = "notify"`), then the identity
    /// variables of the program's user, then the program's own `environment`, later entries
    /// replacing earlier ones.
    fn environment(&self, spec: &ProgramSpec, run_as: Option<&RunAs>) -> Vec<(OsString, OsString)> {
        let mut env = self.base_env.clone();
        let notify = match (&self.notify_socket, spec.ready) {
            (Some(socket), supd_config::Readiness::Notify) => {
                vec![("NOTIFY_SOCKET".to_string(), Some(socket.clone()))]
            }
            _ => Vec::new(),
        };
        let identity = run_as.map_or(&[][..], |r| &r.env[..]);
        let own = spec.environment.iter().map(|(k, v)| (k, Some(v)));
        let set = notify.iter().chain(identity).map(|(k, v)| (k, v.as_ref()));
        for (k, v) in set.chain(own) {
            let k = OsString::from(k);
            env.retain(|(name, _)| *name != k);
            if let Some(v) = v {
                env.push((k, OsString::from(v)));
            }
        }
        env
    }
}
