//! The two systems under test, behind one interface: write a config for a list of
//! [`Program`]s, start the supervisor (optionally as PID 1 of a new PID namespace), talk to
//! it with its client, find its processes, stop it.
//!
//! Configs follow what a user would write. supervisord gets the container-style setup of the
//! seeds (`nodaemon`, program output to `/dev/stdout` and `/dev/stderr` with
//! `*_logfile_maxbytes=0`, `autorestart=true` to match supd's `restart = "always"`) plus
//! `silent=true` so that only program output reaches its stdout. Anything a scenario sets on
//! top is written at the call site with [`Program::supd`] and [`Program::ini`].
//!
//! An [`Instance`] owns its processes: dropping it SIGKILLs everything carrying its token
//! (see [`crate::guard`]) and reaps the supervisor.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;

use crate::setup::Tools;
use crate::{Res, guard, mono_ns, procfs};

/// The supervisors compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sys {
    Supd,
    Supervisord,
}

impl Sys {
    pub fn name(self) -> &'static str {
        match self {
            Sys::Supd => "supd",
            Sys::Supervisord => "supervisord",
        }
    }

    /// The two systems in the order of repetition `i`: alternating which goes first, so that
    /// machine drift (and whatever the previous one left in caches) hits both alike.
    pub fn order(i: usize) -> [Sys; 2] {
        if i.is_multiple_of(2) {
            [Sys::Supd, Sys::Supervisord]
        } else {
            [Sys::Supervisord, Sys::Supd]
        }
    }
}

/// One program of a config.
#[derive(Clone, Debug)]
pub struct Program {
    pub name: String,
    pub argv: Vec<String>,
    /// Extra `key = value` lines for supd's `[program.NAME]`.
    pub supd_keys: Vec<String>,
    /// Body of supd's `[program.NAME.watch]` table, if any.
    pub supd_watch: Option<String>,
    /// Extra `key=value` lines for supervisord's `[program:NAME]`.
    pub ini_keys: Vec<String>,
}

impl Program {
    pub fn new(name: impl Into<String>, argv: &[&str]) -> Program {
        Program {
            name: name.into(),
            argv: argv.iter().map(|a| a.to_string()).collect(),
            supd_keys: Vec::new(),
            supd_watch: None,
            ini_keys: Vec::new(),
        }
    }

    /// `sleep 100000`, named `name`.
    pub fn sleeper(name: impl Into<String>) -> Program {
        Program::new(name, &["sleep", "100000"])
    }

    /// Adds a line to supd's program table.
    pub fn supd(mut self, line: &str) -> Program {
        self.supd_keys.push(line.to_string());
        self
    }

    /// Adds a line to supervisord's program section.
    pub fn ini(mut self, line: &str) -> Program {
        self.ini_keys.push(line.to_string());
        self
    }

    /// Sets supd's watch table.
    pub fn watch(mut self, body: &str) -> Program {
        self.supd_watch = Some(body.to_string());
        self
    }
}

/// Quiet time before an "idle" measurement: no client request for this long.
pub const IDLE_QUIET: Duration = Duration::from_secs(3);
/// Quiet time before scenarios that only need the programs up.
pub const SHORT_QUIET: Duration = Duration::from_millis(200);

/// How to start an instance.
#[derive(Default)]
pub struct Options {
    /// Run the supervisor as PID 1 of a new PID namespace (`unshare`).
    pub pid1: bool,
    /// Where the supervisor's stdout goes (default: `/dev/null`).
    pub stdout: Option<PathBuf>,
    /// Serve supervisord's XML-RPC on a unix socket for the real `supervisorctl`: supd gets
    /// `[supd.http]` (supervisord always has its `[unix_http_server]`); see
    /// [`Instance::supervisorctl_conf`].
    pub http: bool,
}

/// A running supervisor.
pub struct Instance {
    pub sys: Sys,
    pub dir: PathBuf,
    pub conf: PathBuf,
    pub token: String,
    /// The supervisor process itself (supd, or supervisord's python).
    pub pid: i32,
    /// CLOCK_MONOTONIC just before the supervisor was spawned.
    pub spawned_ns: u64,
    child: Child,
    pub client: PathBuf,
    exit: Option<ExitStatus>,
}

impl Instance {
    /// Writes the config into `dir` (created) and starts the supervisor on it. Returns once
    /// the process is spawned: nothing is known to run yet.
    pub fn start(
        tools: &Tools,
        sys: Sys,
        dir: &Path,
        programs: &[Program],
        opts: Options,
    ) -> Res<Instance> {
        std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let token = guard::new_token();
        let (conf, mut cmd, client) = match sys {
            Sys::Supd => {
                let conf = dir.join("supd.toml");
                let mut text = supd_config(dir, programs);
                if opts.http {
                    let socket = dir.join("http.sock").display().to_string();
                    text.push_str(&format!(
                        "\n[supd.http]\nlisten = [{}]\n",
                        toml_str(&format!("unix:{socket}"))
                    ));
                    write(
                        &dir.join("supervisorctl.conf"),
                        &format!("[supervisorctl]\nserverurl=unix://{socket}\n"),
                    )?;
                }
                write(&conf, &text)?;
                let mut cmd = supervisor_command(tools.supd(), opts.pid1);
                cmd.arg("--config").arg(&conf);
                (conf, cmd, tools.supctl())
            }
            Sys::Supervisord => {
                let bin = tools.supervisor.clone()?;
                let conf = dir.join("supervisord.conf");
                write(&conf, &supervisord_config(dir, programs))?;
                let mut cmd = supervisor_command(bin.join("supervisord"), opts.pid1);
                cmd.arg("-n").arg("-c").arg(&conf);
                (conf, cmd, bin.join("supervisorctl"))
            }
        };
        let stdout = match &opts.stdout {
            Some(path) => Stdio::from(create(path)?),
            None => Stdio::null(),
        };
        let stderr = Stdio::from(create(&dir.join("supervisor.stderr"))?);
        cmd.current_dir(dir)
            .env(guard::TOKEN_VAR, &token)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0);
        let spawned_ns = mono_ns();
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", sys.name()))?;
        let mut inst = Instance {
            sys,
            dir: dir.to_path_buf(),
            conf,
            token,
            pid: child.id() as i32,
            spawned_ns,
            child,
            client,
            exit: None,
        };
        if opts.pid1 {
            // The child is unshare; the supervisor is its only child.
            let unshare = inst.pid;
            inst.pid = inst.wait_for(
                "unshare to start the supervisor",
                Duration::from_secs(10),
                |_| procfs::children(unshare).first().map(|(pid, _)| *pid),
            )?;
        }
        Ok(inst)
    }

    /// Polls `cond` every millisecond or so until it returns `Some`; fails after `limit`
    /// or when the supervisor has exited.
    pub fn wait_for<T>(
        &mut self,
        what: &str,
        limit: Duration,
        mut cond: impl FnMut(&Instance) -> Option<T>,
    ) -> Res<T> {
        let end = Instant::now() + limit;
        loop {
            if let Some(v) = cond(self) {
                return Ok(v);
            }
            if let Some(status) = self.try_exit() {
                return Err(format!(
                    "{} exited ({status}) while waiting for {what}{}",
                    self.sys.name(),
                    self.stderr_tail()
                ));
            }
            if Instant::now() > end {
                return Err(format!(
                    "{}: timed out after {limit:?} waiting for {what}{}",
                    self.sys.name(),
                    self.stderr_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// The supervisor's live children (zombies excluded), its programs: supd's keeper is
    /// not one of them.
    pub fn children(&self) -> Vec<(i32, procfs::Stat)> {
        let keeper = self.keeper();
        procfs::children(self.pid)
            .into_iter()
            .filter(|(pid, s)| s.state != 'Z' && s.state != 'X' && Some(*pid) != keeper)
            .collect()
    }

    /// supd's keeper process (`supd keeper`, started when supd is not PID 1), if any.
    pub fn keeper(&self) -> Option<i32> {
        procfs::children(self.pid).into_iter().find_map(|(pid, _)| {
            let argv = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            argv.starts_with(b"supd\0keeper\0").then_some(pid)
        })
    }

    /// The supervisor's PSS: supd's with its keeper's, which is part of its cost.
    pub fn pss_kib(&self) -> Option<u64> {
        let keeper = self.keeper().map_or(Some(0), procfs::pss_kib)?;
        Some(procfs::pss_kib(self.pid)? + keeper)
    }

    /// Waits until the supervisor has `n` live children, then past its 1 s readiness time
    /// (supd's `min_uptime`, supervisord's `startsecs`), then checks with its client that all
    /// of them are running, then lets `quiet` pass without any request: the supervisor is
    /// settled (and, with a quiet time of a few seconds, idle: whatever a request armed,
    /// such as supd giving memory back 2 s after the last one, is over).
    pub fn settle(&mut self, n: usize, quiet: Duration) -> Res<()> {
        let limit = Duration::from_secs(30 + n as u64 / 2);
        self.wait_for(&format!("{n} programs to be started"), limit, |i| {
            (i.children().len() >= n).then_some(())
        })?;
        std::thread::sleep(Duration::from_millis(1500));
        self.wait_for("every program to be running", limit, |i| {
            i.all_running().then_some(())
        })?;
        std::thread::sleep(quiet);
        Ok(())
    }

    /// Asks the client whether every program is running.
    pub fn all_running(&self) -> bool {
        let Ok(out) = self.ctl(&["status"]) else {
            return false;
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        match self.sys {
            // NAME STATE PID ... under a header line.
            Sys::Supd => {
                lines.next();
                lines.all(|l| l.split_whitespace().nth(1) == Some("running"))
            }
            Sys::Supervisord => lines.all(|l| l.split_whitespace().nth(1) == Some("RUNNING")),
        }
    }

    /// The client command for this instance (`supctl -c CONF ...` or
    /// `supervisorctl -c CONF ...`), not yet run.
    pub fn ctl_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.client);
        cmd.arg("-c").arg(&self.conf).args(args);
        cmd.env(guard::TOKEN_VAR, &self.token)
            .env_remove("SUPD_SOCKET")
            .env_remove("SUPD_CONFIG")
            .stdin(Stdio::null());
        cmd
    }

    /// The file for `supervisorctl -c` (supd started with [`Options::http`]: a
    /// `[supervisorctl]` section naming its HTTP socket; supervisord: its own config).
    pub fn supervisorctl_conf(&self) -> PathBuf {
        match self.sys {
            Sys::Supd => self.dir.join("supervisorctl.conf"),
            Sys::Supervisord => self.conf.clone(),
        }
    }

    /// Runs the client to completion.
    pub fn ctl(&self, args: &[&str]) -> Res<Output> {
        self.ctl_command(args)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.client.display()))
    }

    /// utime+stime of the supervisor process, in clock ticks.
    pub fn cpu_ticks(&self) -> Res<u64> {
        procfs::stat(self.pid)
            .map(|s| s.cpu_ticks)
            .ok_or_else(|| format!("{} is gone", self.sys.name()))
    }

    pub fn signal(&self, sig: Signal) -> Res<()> {
        nix::sys::signal::kill(Pid::from_raw(self.pid), sig)
            .map_err(|e| format!("cannot signal {}: {e}", self.sys.name()))
    }

    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = self.child.try_wait().ok().flatten();
        }
        self.exit
    }

    /// Blocks until the supervisor (or `unshare`) has exited.
    pub fn wait_exit(&mut self) -> Res<ExitStatus> {
        if let Some(status) = self.exit {
            return Ok(status);
        }
        let status = self
            .child
            .wait()
            .map_err(|e| format!("waiting for {}: {e}", self.sys.name()))?;
        self.exit = Some(status);
        Ok(status)
    }

    /// Live processes of this instance other than the supervisor (and `unshare`).
    pub fn leftovers(&self) -> Vec<i32> {
        let child = self.child.id() as i32;
        guard::marked(&self.token)
            .into_iter()
            .filter(|&p| p != self.pid && p != child && procfs::alive(p))
            .collect()
    }

    /// The last lines of the supervisor's stderr, for error messages.
    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("supervisor.stderr")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        if lines.is_empty() {
            return String::new();
        }
        format!(
            "; its stderr ends with:\n    {}",
            lines[lines.len().saturating_sub(5)..].join("\n    ")
        )
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        guard::sweep(&self.token);
        if self.try_exit().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn supervisor_command(bin: PathBuf, pid1: bool) -> Command {
    if pid1 {
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
            .arg(bin);
        cmd
    } else {
        Command::new(bin)
    }
}

fn write(path: &Path, text: &str) -> Res<()> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn create(path: &Path) -> Res<File> {
    File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
}

/// A TOML basic string (JSON string syntax is a subset of it).
fn toml_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// supd's config for `programs`; the control socket lives in `dir`.
pub fn supd_config(dir: &Path, programs: &[Program]) -> String {
    let mut text = format!(
        "[supd]\nsocket = {}\n",
        toml_str(&dir.join("supd.sock").display().to_string())
    );
    for p in programs {
        let argv: Vec<String> = p.argv.iter().map(|a| toml_str(a)).collect();
        text.push_str(&format!(
            "\n[program.{}]\ncommand = [{}]\n",
            p.name,
            argv.join(", ")
        ));
        for line in &p.supd_keys {
            text.push_str(line);
            text.push('\n');
        }
        if let Some(watch) = &p.supd_watch {
            text.push_str(&format!("\n[program.{}.watch]\n{watch}\n", p.name));
        }
    }
    text
}

/// supervisord's config for `programs`, the way the seeds run it in a container.
pub fn supervisord_config(dir: &Path, programs: &[Program]) -> String {
    let d = dir.display();
    let mut text = format!(
        "[unix_http_server]\nfile={d}/supervisor.sock\n\n\
         [supervisord]\nnodaemon=true\nsilent=true\nlogfile={d}/supervisord.log\n\
         logfile_maxbytes=0\npidfile={d}/supervisord.pid\nchildlogdir={d}\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [supervisorctl]\nserverurl=unix://{d}/supervisor.sock\n"
    );
    for p in programs {
        let command: Vec<String> = p.argv.iter().map(|a| shell_quote(a)).collect();
        text.push_str(&format!(
            "\n[program:{}]\n\
             # supervisord expands %(name)s in `command`: a literal % is %%.\n\
             command={}\n",
            p.name,
            command.join(" ").replace('%', "%%")
        ));
        let defaults = [
            "autorestart=true",
            "stdout_logfile=/dev/stdout",
            "stdout_logfile_maxbytes=0",
            "stderr_logfile=/dev/stderr",
            "stderr_logfile_maxbytes=0",
        ];
        let set_here = |line: &str| {
            let key = line.split('=').next().unwrap_or_default();
            p.ini_keys.iter().any(|l| l.split('=').next() == Some(key))
        };
        for line in defaults.iter().filter(|l| !set_here(l)) {
            text.push_str(line);
            text.push('\n');
        }
        for line in &p.ini_keys {
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

/// Quotes `arg` for a POSIX shell (supervisord splits `command` with `shlex`).
pub fn shell_quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:,+@".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r#"'"'"'"#))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("sleep"), "sleep");
        assert_eq!(shell_quote("trap \"\" TERM"), "'trap \"\" TERM'");
        assert_eq!(shell_quote("it's"), r#"'it'"'"'s'"#);
    }

    #[test]
    fn a_program_key_replaces_the_default() {
        let p = Program::sleeper("a").ini("autorestart=false");
        let text = supervisord_config(Path::new("/d"), &[p]);
        assert!(text.contains("autorestart=false"));
        assert!(!text.contains("autorestart=true"));
        assert!(text.contains("stdout_logfile=/dev/stdout"));
    }
}
