//! supervisord's own clients against supd, side by side with supervisord itself (issue 15
//! §4): each test runs a REAL supervisord and supd on the same programs, drives both with
//! the same unmodified client — `supervisorctl -c FILE ...` over the unix socket and over
//! TCP with a username and password, Python's `xmlrpc.client` (tests/helpers/
//! xmlrpc_probe.py), the string matching of Ansible's `community.general.supervisorctl` —
//! and compares what they print and how they exit, after normalising what must differ
//! (pids, uptimes, dates, version numbers, temp directories, ports).
//!
//! Each test collects every difference and fails once at its end with the whole list, so
//! one run tells everything supd still does differently.
//!
//! The program set (the same on both sides, in this order, deliberately not alphabetical:
//! supervisorctl prints what `getAllProcessInfo` returns, which supervisord sorts):
//! - `web`: runs;
//! - `idle`: `autostart=false`, stays stopped (so `status` exits 3);
//! - `talker`: prints `hello` and `world`, then runs (for `tail`);
//! - `a` and `b` in the group `pool` (`pool:a`, `pool:b`; `start pool:*`).
//!
//! Tests skip, saying why, when the supervisor virtualenv cannot be had (no network for
//! pip).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use supd_tests::{
    CtlOutput, DEADLINE, StartOptions, Supd, Supervisord, free_port, supervisor_clients,
    supervisorctl, wait_until,
};

/// The HTTP Basic credentials of both TCP listeners.
const USER: &str = "user";
const PASSWORD: &str = "123";

/// One program of the shared set.
struct Program {
    name: &'static str,
    command: &'static str,
    autostart: bool,
}

const PROGRAMS: &[Program] = &[
    Program {
        name: "web",
        command: "sleep 100000",
        autostart: true,
    },
    Program {
        name: "idle",
        command: "sleep 100001",
        autostart: false,
    },
    Program {
        name: "talker",
        command: "sh -c 'echo hello; echo world; exec sleep 100002'",
        autostart: true,
    },
    Program {
        name: "a",
        command: "sleep 100003",
        autostart: true,
    },
    Program {
        name: "b",
        command: "sleep 100004",
        autostart: true,
    },
];

/// The programs of the group `pool`.
const POOL: &[&str] = &["a", "b"];

/// supervisord's config: both servers, the programs, `pool`; `extra` adds programs.
fn supervisord_conf(port: u16, programs: &[&Program]) -> String {
    let mut text = format!(
        "[unix_http_server]\nfile=%(here)s/supervisor.sock\n\n\
         [inet_http_server]\nport=127.0.0.1:{port}\nusername={USER}\npassword={PASSWORD}\n\n\
         [supervisord]\nnodaemon=true\nlogfile=%(here)s/supervisord.log\n\
         pidfile=%(here)s/supervisord.pid\nchildlogdir=%(here)s\n\n\
         [rpcinterface:supervisor]\n\
         supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [supervisorctl]\nserverurl=unix://%(here)s/supervisor.sock\n"
    );
    for p in programs {
        // startsecs=0 is supd's min_uptime = "0s": both say RUNNING at once.
        text.push_str(&format!(
            "\n[program:{}]\ncommand={}\nstartsecs=0\nautostart={}\n",
            p.name, p.command, p.autostart
        ));
    }
    let pool: Vec<&str> = POOL
        .iter()
        .copied()
        .filter(|n| programs.iter().any(|p| p.name == *n))
        .collect();
    if !pool.is_empty() {
        text.push_str(&format!("\n[group:pool]\nprograms={}\n", pool.join(",")));
    }
    text
}

/// The supd TOML equivalent, its HTTP listeners in `side` (a directory of the test's, so
/// the path is known before supd's temp dir exists).
fn supd_toml(side: &Path, port: u16, programs: &[&Program]) -> String {
    let mut text = format!(
        "[supd]\nsocket = \"supd.sock\"\n\n[supd.http]\nlisten = [\"unix:{}\", \
         {{ address = \"127.0.0.1:{port}\", username = \"{USER}\", password = \"{PASSWORD}\" }}]\n",
        side.join("supervisor.sock").display()
    );
    for p in programs {
        text.push_str(&format!(
            "\n[program.{}]\ncommand = {}\nmin_uptime = \"0s\"\nautostart = {}\n",
            p.name,
            serde_json::Value::String(p.command.to_string()),
            p.autostart
        ));
    }
    let pool: Vec<String> = POOL
        .iter()
        .filter(|n| programs.iter().any(|p| p.name == **n))
        .map(|n| format!("\"{n}\""))
        .collect();
    if !pool.is_empty() {
        text.push_str(&format!(
            "\n[group.pool]\nprograms = [{}]\n",
            pool.join(", ")
        ));
    }
    text
}

/// Which server a client talks to.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Transport {
    /// The unix socket of `[supervisorctl] serverurl`.
    Unix,
    /// `-s http://127.0.0.1:PORT -u user -p 123`.
    Tcp,
}

/// The server compared with supervisord: supd, or — with `SUPD_CLIENTS_PEER=supervisord`,
/// to check these tests themselves (every one must then pass) — a second supervisord.
enum Peer {
    Supd {
        supd: Supd,
        /// supd's HTTP socket and the client config pointing at it.
        side: tempfile::TempDir,
    },
    Supervisord(Supervisord),
}

impl Peer {
    fn start(clients: &Path, port: u16) -> Peer {
        let all: Vec<&Program> = PROGRAMS.iter().collect();
        if std::env::var("SUPD_CLIENTS_PEER").as_deref() == Ok("supervisord") {
            eprintln!("SUPD_CLIENTS_PEER=supervisord: comparing supervisord with itself");
            return Peer::Supervisord(Supervisord::start(clients, &supervisord_conf(port, &all)));
        }
        let side = tempfile::Builder::new()
            .prefix("supd-http-")
            .tempdir()
            .expect("temp dir");
        std::fs::write(
            side.path().join("supervisorctl.conf"),
            format!(
                "[supervisorctl]\nserverurl=unix://{}\n",
                side.path().join("supervisor.sock").display()
            ),
        )
        .expect("write supervisorctl.conf");
        let supd = Supd::start_with(
            "",
            StartOptions {
                config_file: Some(("supd.toml".into(), supd_toml(side.path(), port, &all))),
                ..StartOptions::default()
            },
        );
        Peer::Supd { supd, side }
    }

    /// The directory holding its HTTP socket (and, for supervisord, everything).
    fn dir(&self) -> &Path {
        match self {
            Peer::Supd { side, .. } => side.path(),
            Peer::Supervisord(sv) => sv.dir.path(),
        }
    }

    /// The file `supervisorctl -c` reads.
    fn client_conf(&self) -> PathBuf {
        match self {
            Peer::Supd { side, .. } => side.path().join("supervisorctl.conf"),
            Peer::Supervisord(sv) => sv.config.clone(),
        }
    }

    /// Rewrites its config for `programs` (for reread/update).
    fn rewrite_config(&self, port: u16, programs: &[&Program]) {
        let (path, text) = match self {
            Peer::Supd { supd, side } => (&supd.config, supd_toml(side.path(), port, programs)),
            Peer::Supervisord(sv) => (&sv.config, supervisord_conf(port, programs)),
        };
        std::fs::write(path, text).expect("rewrite the config");
    }

    /// Waits until it runs every autostart program (asking supd with supctl, so that a
    /// supd whose HTTP side is wrong still gets compared).
    fn wait_started(&self) {
        match self {
            Peer::Supd { supd, .. } => {
                for p in PROGRAMS.iter().filter(|p| p.autostart) {
                    supd.wait_state(p.name, "running");
                }
            }
            Peer::Supervisord(sv) => wait_all_running(sv),
        }
    }

    fn try_exit(&mut self) -> Option<std::process::ExitStatus> {
        match self {
            Peer::Supd { supd, .. } => supd.try_exit(),
            Peer::Supervisord(sv) => sv.try_exit(),
        }
    }

    fn leftovers(&self) -> Vec<i32> {
        match self {
            Peer::Supd { supd, .. } => supd.leftovers(),
            Peer::Supervisord(sv) => sv.leftovers(),
        }
    }

    /// What it printed (supd's stderr), for failure messages.
    fn printed(&self) -> String {
        match self {
            Peer::Supd { supd, .. } => supd.stderr.text(),
            Peer::Supervisord(sv) => sv.output.text(),
        }
    }
}

/// Waits until supervisord says every autostart program is RUNNING.
fn wait_all_running(sv: &Supervisord) {
    let want = PROGRAMS.iter().filter(|p| p.autostart).count();
    wait_until("every autostart program to be RUNNING", DEADLINE, || {
        let out = sv.ctl(&["status"]);
        (out.stdout.matches(" RUNNING ").count() == want).then_some(())
    });
}

/// supervisord and supd on the same programs.
struct Pair {
    clients: PathBuf,
    supervisord: Supervisord,
    peer: Peer,
    ports: [u16; 2],
}

impl Pair {
    /// Both running the whole program set; `None` (having said why) when the clients
    /// cannot be had.
    fn start() -> Option<Pair> {
        let clients = match supervisor_clients() {
            Ok(bin) => bin,
            Err(why) => {
                eprintln!("skipping: {why}");
                return None;
            }
        };
        let all: Vec<&Program> = PROGRAMS.iter().collect();
        let ports = [free_port(), free_port()];
        let supervisord = Supervisord::start(&clients, &supervisord_conf(ports[0], &all));
        let peer = Peer::start(&clients, ports[1]);
        wait_all_running(&supervisord);
        peer.wait_started();
        Some(Pair {
            clients,
            supervisord,
            peer,
            ports,
        })
    }

    /// The config file supervisorctl reads for side `k` (0 supervisord, 1 supd).
    fn client_conf(&self, k: usize) -> PathBuf {
        match k {
            0 => self.supervisord.config.clone(),
            _ => self.peer.client_conf(),
        }
    }

    /// The HTTP unix socket of side `k`.
    fn socket(&self, k: usize) -> PathBuf {
        let dir = match k {
            0 => self.supervisord.dir.path(),
            _ => self.peer.dir(),
        };
        dir.join("supervisor.sock")
    }

    /// [`Pair::compare`] for each command in turn.
    fn compare_each(&self, diffs: &mut Diffs, transport: Transport, commands: &[&[&str]]) {
        for args in commands {
            self.compare(diffs, transport, args);
        }
    }

    /// After a shutdown request (`what`): records a difference unless both daemons exit
    /// with status 0.
    fn expect_both_exited(&mut self, diffs: &mut Diffs, what: &str) {
        let sv = self.supervisord.wait_exit(DEADLINE);
        diffs.expect(
            sv.success(),
            format!("supervisord exited with {sv} after {what}"),
        );
        let exited = poll(DEADLINE, || self.peer.try_exit());
        diffs.expect(
            exited.is_some_and(|s| s.success()),
            format!(
                "supd after {what}: {}; its stderr:\n{}",
                exited.map_or("still running".to_string(), |s| s.to_string()),
                self.peer.printed()
            ),
        );
    }

    /// Rewrites both configs for `programs`.
    fn rewrite_configs(&self, programs: &[&Program]) {
        std::fs::write(
            &self.supervisord.config,
            supervisord_conf(self.ports[0], programs),
        )
        .expect("rewrite supervisord.conf");
        self.peer.rewrite_config(self.ports[1], programs);
    }

    /// `supervisorctl -c FILE [-s URL -u -p] ARGS` against side `k`.
    fn ctl_on(&self, k: usize, transport: Transport, args: &[&str]) -> CtlOutput {
        let conf = self.client_conf(k).display().to_string();
        let url = format!("http://127.0.0.1:{}", self.ports[k]);
        let mut all = vec!["-c", conf.as_str()];
        if transport == Transport::Tcp {
            all.extend(["-s", url.as_str(), "-u", USER, "-p", PASSWORD]);
        }
        all.extend_from_slice(args);
        supervisorctl(&self.clients, &all)
    }

    /// What the side's output must lose to compare: its directories and its port.
    fn normalise(&self, k: usize, text: &str) -> String {
        let dir = match k {
            0 => self.supervisord.dir.path(),
            _ => self.peer.dir(),
        };
        let text = text
            .replace(&dir.display().to_string(), "DIR")
            .replace(&format!(":{}", self.ports[k]), ":PORT");
        normalise_output(&text)
    }

    /// Runs `args` on supervisord, then on supd, and records any difference in the
    /// normalised output or the exit code. Returns both raw outputs.
    fn compare(&self, diffs: &mut Diffs, transport: Transport, args: &[&str]) -> [CtlOutput; 2] {
        let outs = [
            self.ctl_on(0, transport, args),
            self.ctl_on(1, transport, args),
        ];
        // On several processes at once (`all`, `group:*`), supervisord acts on processes of
        // equal priority in the order of a Python dict, which changes from run to run:
        // compare those lines as a set.
        let many = args.iter().any(|a| *a == "all" || a.ends_with(":*"));
        let seen: Vec<(i32, String)> = outs
            .iter()
            .enumerate()
            .map(|(k, o)| {
                let text = self.normalise(k, &format!("{}{}", o.stdout, o.stderr));
                if many {
                    let mut lines: Vec<&str> = text.lines().collect();
                    lines.sort_unstable();
                    (o.code, lines.join("\n"))
                } else {
                    (o.code, text)
                }
            })
            .collect();
        diffs.check_output(
            &format!("{transport:?} `{}`", args.join(" ")),
            &seen[0],
            &seen[1],
        );
        outs
    }
}

/// Differences between supervisord (first) and supd (second), collected over a test.
#[derive(Default)]
struct Diffs(Vec<String>);

impl Diffs {
    fn check<T: std::fmt::Debug + PartialEq>(&mut self, what: &str, supervisord: &T, supd: &T) {
        if supervisord != supd {
            self.0.push(format!(
                "{what}:\n  supervisord: {supervisord:?}\n  supd:        {supd:?}"
            ));
        }
    }

    /// [`Diffs::check`] for what a client printed and its exit code, shown line by line.
    fn check_output(&mut self, what: &str, supervisord: &(i32, String), supd: &(i32, String)) {
        if supervisord != supd {
            let show = |(code, text): &(i32, String)| {
                format!("exit {code}:\n      {}", text.replace('\n', "\n      "))
            };
            self.0.push(format!(
                "{what}:\n  supervisord, {}\n  supd, {}",
                show(supervisord),
                show(supd)
            ));
        }
    }

    /// [`Diffs::check`] for JSON values, shown as JSON.
    fn check_json(
        &mut self,
        what: &str,
        supervisord: &serde_json::Value,
        supd: &serde_json::Value,
    ) {
        if supervisord != supd {
            self.0.push(format!(
                "{what}:\n  supervisord: {supervisord}\n  supd:        {supd}"
            ));
        }
    }

    /// Records `what` when `ok` is false.
    fn expect(&mut self, ok: bool, what: String) {
        if !ok {
            self.0.push(what);
        }
    }

    /// Fails the test with every difference seen.
    fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} difference(s) between supervisord and supd:\n\n{}",
            self.0.len(),
            self.0.join("\n\n")
        );
    }
}

/// Replaces what differs between two runs of the same thing: pids, uptimes, dates.
fn normalise_output(text: &str) -> String {
    text.lines()
        .map(|line| {
            if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) {
                return "PID".to_string();
            }
            let line = replace_after(line, "pid ", "PID", |c| c.is_ascii_digit());
            let line = replace_after(&line, "uptime ", "H:MM:SS", |c| {
                c.is_ascii_digit() || c == ':'
            });
            replace_dates(&line)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `line` with each run of `keep` characters right after `prefix` replaced by `with`.
fn replace_after(line: &str, prefix: &str, with: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(prefix) {
        let after = &rest[at + prefix.len()..];
        let run = after.find(|c: char| !keep(c)).unwrap_or(after.len());
        out.push_str(&rest[..at + prefix.len()]);
        out.push_str(if run > 0 { with } else { "" });
        rest = &after[run..];
    }
    out.push_str(rest);
    out
}

/// supervisord's stop dates (`Dec 07 01:04 PM`) replaced by `DATE`.
fn replace_dates(line: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan ", "Feb ", "Mar ", "Apr ", "May ", "Jun ", "Jul ", "Aug ", "Sep ", "Oct ", "Nov ",
        "Dec ",
    ];
    // "Mmm dd hh:mm AM": 15 characters.
    let is_date = |s: &str| {
        let b = s.as_bytes();
        s.len() >= 15
            && MONTHS.iter().any(|m| s.starts_with(m))
            && [4, 5, 7, 8, 10, 11].iter().all(|&i| b[i].is_ascii_digit())
            && b[9] == b':'
            && (s[13..].starts_with("AM") || s[13..].starts_with("PM"))
    };
    let mut out = String::new();
    let mut i = 0;
    while i < line.len() {
        if line.is_char_boundary(i) && is_date(&line[i..]) {
            out.push_str("DATE");
            i += 15;
        } else {
            let c = line[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Dotted version numbers (`4.3.0`, `0.9.1`, `4.3.0+supd.0.1.0`) replaced by `VERSION`.
fn replace_versions(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            line.split(' ')
                .map(|w| {
                    // A PEP 440 local part ("4.3.0+supd.0.1.0") still parses as 4.3.0.
                    let number = w.split('+').next().unwrap_or_default();
                    let dotted = number.contains('.')
                        && number
                            .split('.')
                            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
                    if dotted { "VERSION" } else { w }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn normalising_hides_pids_uptimes_and_dates_only() {
    assert_eq!(
        normalise_output(
            "web   RUNNING   pid 23902, uptime 0:00:01\n23897\nidle STOPPED Dec 07 01:04 PM"
        ),
        "web   RUNNING   pid PID, uptime H:MM:SS\nPID\nidle STOPPED DATE"
    );
    assert_eq!(normalise_output("pid web: ERROR"), "pid web: ERROR");
    assert_eq!(
        replace_versions("4.3.0\nsupd 0.1\n4.3.0+supd.0.1.0"),
        "VERSION\nsupd VERSION\nVERSION"
    );
}

/// Commands that change nothing.
const READ_ONLY: &[&[&str]] = &[
    &["status"],
    &["status", "web"],
    &["status", "pool:*"],
    &["status", "pool:a", "idle"],
    &["status", "nope"],
    &["status", "web", "nope"],
    &["pid"],
    &["pid", "web"],
    &["pid", "pool:a"],
    &["pid", "all"],
    &["pid", "nope"],
    &["avail"],
];

/// The status-like commands that change nothing, over both transports.
#[test]
fn read_only_commands_print_what_supervisord_prints() {
    let Some(pair) = Pair::start() else { return };
    let mut diffs = Diffs::default();
    for transport in [Transport::Unix, Transport::Tcp] {
        pair.compare_each(&mut diffs, transport, READ_ONLY);
        // The version numbers differ by nature; both must print one dotted number.
        let outs = [
            pair.ctl_on(0, transport, &["version"]),
            pair.ctl_on(1, transport, &["version"]),
        ];
        let seen: Vec<(i32, String)> = outs
            .iter()
            .enumerate()
            .map(|(k, o)| {
                (
                    o.code,
                    replace_versions(&pair.normalise(k, o.stdout.trim())),
                )
            })
            .collect();
        diffs.check_output(&format!("{transport:?} `version`"), &seen[0], &seen[1]);
    }
    diffs.assert_none();
}

/// Commands that start, stop and signal, in an order that goes through every case:
/// already started, not running, groups, unknown names, no name at all.
const CONTROL: &[&[&str]] = &[
    &["start", "web"],
    &["start", "idle"],
    &["status", "idle"],
    &["stop", "idle"],
    &["stop", "idle"],
    &["status", "idle"],
    &["restart", "web"],
    &["restart", "idle"],
    &["stop", "idle"],
    &["signal", "CONT", "web"],
    &["signal", "CONT", "idle"],
    &["signal", "NOPE", "web"],
    &["signal", "CONT", "pool:*"],
    &["stop", "pool:*"],
    &["status", "pool:*"],
    &["start", "pool:*"],
    &["stop", "pool:a"],
    &["start", "pool:a", "pool:b"],
    &["restart", "pool:*"],
    &["start", "nope"],
    &["stop", "nope"],
    &["restart", "nope"],
    &["signal", "CONT", "nope"],
    &["start", "nope:*"],
    &["start"],
    &["stop"],
    &["stop", "all"],
    &["status"],
    &["start", "all"],
    &["stop", "idle"],
    &["status"],
];

/// start, stop, restart, signal, groups and unknown names, in lockstep on both.
#[test]
fn control_commands_print_what_supervisord_prints() {
    let Some(pair) = Pair::start() else { return };
    let mut diffs = Diffs::default();
    for transport in [Transport::Unix, Transport::Tcp] {
        pair.compare_each(&mut diffs, transport, CONTROL);
    }
    diffs.assert_none();
}

/// tail, tail -f, clear, maintail.
#[test]
fn tail_and_clear_print_what_supervisord_prints() {
    let Some(pair) = Pair::start() else { return };
    let mut diffs = Diffs::default();
    for k in 0..2 {
        // Output reaches the log asynchronously on both.
        let seen = poll(DEADLINE, || {
            let out = pair.ctl_on(k, Transport::Unix, &["tail", "talker"]);
            out.stdout.starts_with("hello\nworld\n").then_some(())
        });
        diffs.expect(
            seen.is_some(),
            format!("side {k}: `tail talker` never showed talker's two lines"),
        );
    }
    for transport in [Transport::Unix, Transport::Tcp] {
        pair.compare_each(
            &mut diffs,
            transport,
            &[
                &["tail", "talker"][..],
                &["tail", "talker", "stdout"],
                &["tail", "talker", "stderr"],
                &["tail", "-6", "talker"],
                &["tail", "talker:talker"],
                &["tail", "nope"],
                &["tail", "pool:*"],
                &["tail"],
            ],
        );
        let followed: Vec<Vec<String>> = (0..2)
            .map(|k| follow(&pair, k, transport, "world"))
            .collect();
        diffs.check(
            &format!("{transport:?} `tail -f talker` (first lines)"),
            &followed[0],
            &followed[1],
        );
    }
    pair.compare_each(
        &mut diffs,
        Transport::Unix,
        &[
            &["clear", "talker"][..],
            &["tail", "talker"],
            &["clear", "nope"],
            &["clear", "pool:*"],
            &["clear", "all"],
        ],
    );
    // maintail: supervisord prints its own log; supd has no main log file in supervisord's
    // sense, so it may answer readLog with NO_FILE, which supervisorctl prints as
    // "supervisord: ERROR (no log file)". Either way, supervisorctl must understand it.
    for transport in [Transport::Unix, Transport::Tcp] {
        let sv = pair.ctl_on(0, transport, &["maintail"]);
        diffs.expect(
            sv.code == 0 && sv.stdout.contains("supervisord started"),
            format!("{transport:?} `maintail` on supervisord: {sv:?}"),
        );
        let supd = pair.ctl_on(1, transport, &["maintail"]);
        let understood = (supd.code == 0 && !supd.stdout.contains("error: <class"))
            || supd.stdout.trim() == "supervisord: ERROR (no log file)";
        diffs.expect(
            understood,
            format!(
                "{transport:?} `maintail` on supd: neither a log nor supervisord's NO_FILE answer: {supd:?}"
            ),
        );
    }
    diffs.assert_none();
}

/// `supervisorctl tail -f NAME` on side `k`, read until a line `until`, then killed; the
/// lines it printed.
fn follow(pair: &Pair, k: usize, transport: Transport, until: &str) -> Vec<String> {
    let conf = pair.client_conf(k);
    let mut cmd = Command::new(pair.clients.join("supervisorctl"));
    cmd.arg("-c").arg(&conf);
    if transport == Transport::Tcp {
        cmd.arg("-s")
            .arg(format!("http://127.0.0.1:{}", pair.ports[k]))
            .args(["-u", USER, "-p", PASSWORD]);
    }
    let mut child = cmd
        .args(["tail", "-f", "talker"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run supervisorctl tail -f");
    let lines = supd_tests::line_channel(child.stdout.take().expect("piped stdout"));
    let mut seen = Vec::new();
    let end = std::time::Instant::now() + DEADLINE;
    while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) => {
                let done = line == until;
                seen.push(line);
                if done {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    if !seen.iter().any(|l| l == until) {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        seen.push(format!("(no {until:?} line; stderr: {})", err.trim()));
    }
    seen
}

/// Groups removed and added back by hand, the config unchanged.
const ADD_REMOVE: &[&[&str]] = &[
    &["reread"],
    &["update"],
    &["remove", "idle"],
    &["status"],
    &["remove", "idle"],
    &["add", "idle"],
    &["add", "idle"],
    &["remove", "web"],
    &["remove", "nope"],
    &["add", "nope"],
    &["stop", "pool:*"],
    &["remove", "pool"],
    &["add", "pool"],
    &["status"],
];

/// `remove` and `add` of groups, the config unchanged.
#[test]
fn add_and_remove_print_what_supervisord_prints() {
    let Some(pair) = Pair::start() else { return };
    let mut diffs = Diffs::default();
    pair.compare_each(&mut diffs, Transport::Unix, ADD_REMOVE);
    diffs.assert_none();
}

/// reread, update and avail as the config changes: a program added, one removed.
#[test]
fn reread_and_update_apply_config_changes_like_supervisord() {
    let Some(pair) = Pair::start() else { return };
    let mut diffs = Diffs::default();
    pair.compare_each(&mut diffs, Transport::Unix, &[&["reread"], &["update"]]);
    // Add `extra`, remove `idle`, in both configs.
    let extra = Program {
        name: "extra",
        command: "sleep 100005",
        autostart: true,
    };
    let mut changed: Vec<&Program> = PROGRAMS.iter().filter(|p| p.name != "idle").collect();
    changed.push(&extra);
    pair.rewrite_configs(&changed);
    // Not compared: `update extra` alone, and `avail` between `reread` and `update`. supd
    // reloads a config as a whole (updating one group applies every change `reread`
    // reported), and its config info is the running config's, not the file's until the
    // update (docs/supervisord.md says so).
    pair.compare_each(
        &mut diffs,
        Transport::Unix,
        &[
            &["reread"][..],
            &["update"],
            &["avail"],
            &["status"],
            &["reread"],
            &["update"],
        ],
    );
    // Put `idle` back and remove `extra` over TCP.
    let all: Vec<&Program> = PROGRAMS.iter().collect();
    pair.rewrite_configs(&all);
    pair.compare_each(
        &mut diffs,
        Transport::Tcp,
        &[&["reread"][..], &["update"], &["status"]],
    );
    diffs.assert_none();
}

/// Wrong credentials over TCP, then `shutdown`: both daemons exit.
#[test]
fn authentication_and_shutdown_behave_like_supervisord() {
    let Some(mut pair) = Pair::start() else {
        return;
    };
    let mut diffs = Diffs::default();
    let wrong: Vec<CtlOutput> = (0..2)
        .map(|k| {
            let conf = pair.client_conf(k).display().to_string();
            let url = format!("http://127.0.0.1:{}", pair.ports[k]);
            supervisorctl(
                &pair.clients,
                &["-c", &conf, "-s", &url, "-u", USER, "-p", "wrong", "status"],
            )
        })
        .collect();
    // supervisorctl prints the traceback location of its own xmlrpc.py: compare the first
    // line and the exit code.
    let first = |o: &CtlOutput| {
        (
            o.code,
            format!("{}{}", o.stdout, o.stderr)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        )
    };
    diffs.check_output(
        "Tcp wrong password `status`",
        &first(&wrong[0]),
        &first(&wrong[1]),
    );
    pair.compare(&mut diffs, Transport::Tcp, &["shutdown"]);
    pair.expect_both_exited(&mut diffs, "`supervisorctl shutdown`");
    diffs.check(
        "what supervisord and supd left running",
        &pair.supervisord.leftovers(),
        &pair.peer.leftovers(),
    );
    pair.compare(&mut diffs, Transport::Unix, &["status"]);
    diffs.assert_none();
}

/// Polls `cond` until it returns `Some` or `deadline` passes (`None`): for what a test
/// reports as a difference rather than failing on at once.
fn poll<T>(deadline: Duration, mut cond: impl FnMut() -> Option<T>) -> Option<T> {
    let end = std::time::Instant::now() + deadline;
    loop {
        if let Some(v) = cond() {
            return Some(v);
        }
        if std::time::Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ----- Ansible's community.general.supervisorctl, its matching reproduced ---------------

/// What the module answers: `changed` and the processes acted on, or its failure message.
#[derive(Debug, PartialEq)]
struct AnsibleOutcome {
    changed: bool,
    affected: Vec<String>,
}

/// The module's `main()` for `name` and `state` (plugins/modules/supervisorctl.py of
/// ansible-collections/community.general, read for this test): it runs `supervisorctl -c
/// FILE CMD [NAME]` with `LANGUAGE=C LC_ALL=C`, parses `status` by splitting each line on
/// spaces (field 0 the name, field 1 the state), and takes an action as done when its
/// output contains `NAME: started` / `stopped` / `signalled`. `check_rc=True` calls fail
/// on a non-zero exit. Not check mode.
fn ansible(
    run: &dyn Fn(&[&str]) -> CtlOutput,
    name: &str,
    state: &str,
    signal: Option<&str>,
) -> Result<AnsibleOutcome, String> {
    let (name, is_group) = match name.strip_suffix(':') {
        Some(group) => (group, true),
        None => (name, false),
    };
    let checked = |args: &[&str]| -> Result<CtlOutput, String> {
        let out = run(args);
        if out.code != 0 {
            return Err(format!(
                "`{}` exited {} (check_rc): {}{}",
                args.join(" "),
                out.code,
                out.stdout,
                out.stderr
            ));
        }
        Ok(out)
    };
    let matched = || -> Result<Vec<(String, String)>, String> {
        let out = run(&["status"]);
        let mut found = Vec::new();
        for line in out.stdout.lines() {
            let fields: Vec<&str> = line.split(' ').filter(|f| !f.is_empty()).collect();
            let (Some(process), Some(status)) = (fields.first(), fields.get(1)) else {
                return Err(format!("IndexError on status line {line:?}"));
            };
            let keep = if is_group {
                process.split_once(':').is_some_and(|(g, _)| g == name)
            } else {
                *process == name || name == "all"
            };
            if keep {
                found.push((process.to_string(), status.to_string()));
            }
        }
        Ok(found)
    };
    let active = |s: &str| s == "RUNNING" || s == "STARTING";
    let take_action = |processes: Vec<(String, String)>,
                       filter: &dyn Fn(&str) -> bool,
                       action: &str,
                       expected: &str|
     -> Result<AnsibleOutcome, String> {
        let targets: Vec<String> = processes
            .into_iter()
            .filter(|(_, s)| filter(s))
            .map(|(p, _)| p)
            .collect();
        for process in &targets {
            // The module appends the action as ONE argument ("signal HUP"); supervisorctl
            // joins its arguments with spaces, so it is the same command.
            let out = checked(&[action, process])?;
            if !out.stdout.contains(&format!("{process}: {expected}")) {
                return Err(out.stdout);
            }
        }
        Ok(AnsibleOutcome {
            changed: !targets.is_empty(),
            affected: targets,
        })
    };
    if name == "all" && ["started", "stopped", "restarted"].contains(&state) {
        if state == "restarted" {
            checked(&["update"])?;
        }
        let to_act_on: Vec<String> = matched()?
            .into_iter()
            .filter(|(_, s)| match state {
                "started" => !active(s),
                "stopped" => active(s),
                _ => true,
            })
            .map(|(p, _)| p)
            .collect();
        if !to_act_on.is_empty() {
            let verb = match state {
                "started" => "start",
                "stopped" => "stop",
                _ => "restart",
            };
            checked(&[verb, "all"])?;
        }
        return Ok(AnsibleOutcome {
            changed: !to_act_on.is_empty(),
            affected: to_act_on,
        });
    }
    if state == "restarted" {
        checked(&["update"])?;
        let processes = matched()?;
        if processes.is_empty() {
            return Err("ERROR (no such process)".into());
        }
        return take_action(processes, &|_| true, "restart", "started");
    }
    let processes = matched()?;
    // `absent` and `present` (no stop_before_removing): reread, then remove / add, matched
    // on "NAME: removed process group" / "NAME: added process group".
    for (wanted, done_when_none, verb, said) in [
        ("absent", true, "remove", "removed process group"),
        ("present", false, "add", "added process group"),
    ] {
        if state != wanted {
            continue;
        }
        if processes.is_empty() == done_when_none {
            return Ok(AnsibleOutcome {
                changed: false,
                affected: Vec::new(),
            });
        }
        checked(&["reread"])?;
        let out = run(&[verb, name]);
        if !out.stdout.contains(&format!("{name}: {said}")) {
            return Err(out.stdout);
        }
        return Ok(AnsibleOutcome {
            changed: true,
            affected: Vec::new(),
        });
    }
    if processes.is_empty() && name != "all" {
        return Err("ERROR (no such process)".into());
    }
    let signal_action = format!("signal {}", signal.unwrap_or("HUP"));
    match state {
        "started" => take_action(processes, &|s| !active(s), "start", "started"),
        "stopped" => take_action(processes, &active, "stop", "stopped"),
        "signalled" => take_action(processes, &|s| s == "RUNNING", &signal_action, "signalled"),
        other => Err(format!("state {other} is not reproduced here")),
    }
}

#[test]
fn ansible_supervisorctl_module_matching_works_on_both() {
    let Some(pair) = Pair::start() else { return };
    let mut diffs = Diffs::default();
    for transport in [Transport::Unix, Transport::Tcp] {
        for (name, state, signal) in [
            ("web", "restarted", None),
            ("idle", "started", None),
            ("idle", "started", None),
            ("idle", "stopped", None),
            ("idle", "stopped", None),
            ("pool:", "restarted", None),
            ("pool:", "stopped", None),
            ("pool:", "started", None),
            ("web", "signalled", Some("CONT")),
            ("nope", "restarted", None),
            ("nope", "started", None),
            ("all", "restarted", None),
            ("all", "stopped", None),
            ("all", "started", None),
            ("idle", "stopped", None),
            ("idle", "absent", None),
            ("idle", "absent", None),
            ("idle", "present", None),
            ("idle", "present", None),
            ("web", "absent", None),
        ] {
            let outcomes: Vec<Result<AnsibleOutcome, String>> = (0..2)
                .map(|k| {
                    let run = |args: &[&str]| pair.ctl_on(k, transport, args);
                    ansible(&run, name, state, signal).map_err(|e| pair.normalise(k, &e))
                })
                .collect();
            diffs.check(
                &format!("{transport:?} ansible name={name} state={state}"),
                &outcomes[0],
                &outcomes[1],
            );
        }
    }
    // The module's own expectations, on supervisord (so that the reproduction is right).
    let run = |args: &[&str]| pair.ctl_on(0, Transport::Unix, args);
    let changed = |affected: &[&str]| {
        Ok(AnsibleOutcome {
            changed: true,
            affected: affected.iter().map(|a| a.to_string()).collect(),
        })
    };
    assert_eq!(ansible(&run, "web", "restarted", None), changed(&["web"]));
    assert_eq!(
        ansible(&run, "pool:", "restarted", None),
        changed(&["pool:a", "pool:b"])
    );
    assert_eq!(ansible(&run, "idle", "absent", None), changed(&[]));
    assert_eq!(ansible(&run, "idle", "present", None), changed(&[]));
    assert_eq!(
        ansible(&run, "nope", "started", None),
        Err("ERROR (no such process)".into())
    );
    diffs.assert_none();
}

// ----- Python's xmlrpc.client -----------------------------------------------------------

/// tests/helpers/xmlrpc_probe.py
fn probe_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("helpers")
        .join("xmlrpc_probe.py")
}

/// Runs the probe with `args` using the virtualenv's python; its `(call, value)` lines.
fn probe(clients: &Path, args: &[String]) -> Vec<(String, serde_json::Value)> {
    let out = Command::new(clients.join("python"))
        .arg(probe_script())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "xmlrpc_probe.py {args:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            (
                v["call"].as_str().unwrap_or_default().to_string(),
                v["value"].clone(),
            )
        })
        .collect()
}

/// Compares the probe's lines call by call (a call only one side made is a difference).
/// Why supd's answer to `call` may differ from supervisord's, when it differs in the one
/// way accepted for that call; `None` when it must be the same. Each case is checked
/// precisely (supd's answer must be supervisord's with exactly that change).
fn accepted_difference(
    call: &str,
    supervisord: &serde_json::Value,
    supd: &serde_json::Value,
) -> Option<&'static str> {
    if without_log_files(supervisord) == *supd {
        return Some(
            "the programs here write to supd's console, not to files, so supd names no log \
             file (\"\") where supervisord names its AUTO files",
        );
    }
    let no_file = supd["fault"] == 20;
    if no_file && (call.starts_with("readLog") || call == "clearLog") {
        return Some(
            "supd has no main log file (it logs to its stderr); NO_FILE is supervisord's own \
             answer when its log file is missing (supervisorctl maintail prints it as \
             `ERROR (no log file)`)",
        );
    }
    if no_file && call == "sendProcessStdin web" {
        return Some(
            "supd does not keep a program's stdin open; NO_FILE is supervisord's answer when \
             that pipe is closed",
        );
    }
    if call == "getAllConfigInfo" && config_keys_cover(supervisord, supd) {
        return Some("supd sends keys of its own too; every key supervisord sends is there");
    }
    None
}

/// `value` with every log file name (`"PATH"` after normalising) made `""`.
fn without_log_files(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Array(items) => Value::Array(items.iter().map(without_log_files).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let file =
                        ["logfile", "stdout_logfile", "stderr_logfile"].contains(&k.as_str());
                    let v = if file && v == "PATH" {
                        Value::String(String::new())
                    } else {
                        without_log_files(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// True when the probe's `getAllConfigInfo` summaries name the same programs alike and
/// supd's keys include every key of supervisord's.
fn config_keys_cover(supervisord: &serde_json::Value, supd: &serde_json::Value) -> bool {
    let (Some(sv), Some(ours)) = (supervisord.as_array(), supd.as_array()) else {
        return false;
    };
    sv.len() == ours.len()
        && sv.iter().zip(ours).all(|(a, b)| {
            let same = ["name", "group", "autostart", "inuse"]
                .iter()
                .all(|k| a[k] == b[k]);
            let keys = |v: &serde_json::Value| -> Vec<serde_json::Value> {
                v["fields"].as_array().cloned().unwrap_or_default()
            };
            same && keys(a).iter().all(|k| keys(b).contains(k))
        })
}

fn compare_probes(
    diffs: &mut Diffs,
    transport: &str,
    sv: &[(String, serde_json::Value)],
    supd: &[(String, serde_json::Value)],
) {
    for (call, value) in sv {
        let theirs = supd
            .iter()
            .find(|(c, _)| c == call)
            .map(|(_, v)| v.clone())
            .unwrap_or(serde_json::Value::String(
                "(not called: the probe stopped)".into(),
            ));
        if value != &theirs
            && let Some(why) = accepted_difference(call, value, &theirs)
        {
            eprintln!("{transport} {call}: supd differs on purpose: {why}");
            continue;
        }
        diffs.check_json(&format!("{transport} {call}"), value, &theirs);
    }
    for (call, value) in supd {
        if !sv.iter().any(|(c, _)| c == call) {
            diffs.check(
                &format!("{transport} {call}"),
                &serde_json::Value::Null,
                value,
            );
        }
    }
}

#[test]
fn xmlrpc_client_gets_the_same_answers_from_both() {
    let Some(mut pair) = Pair::start() else {
        return;
    };
    let mut diffs = Diffs::default();
    // (The probe waits for talker's lines itself.)
    // Over the unix socket with supervisor's own transport (what supervisorctl and
    // superlance use), read-only calls.
    let unix: Vec<Vec<(String, serde_json::Value)>> = [pair.socket(0), pair.socket(1)]
        .iter()
        .map(|sock| {
            probe(
                &pair.clients,
                &[
                    "--unix".into(),
                    sock.display().to_string(),
                    "--short".into(),
                ],
            )
        })
        .collect();
    compare_probes(&mut diffs, "unix", &unix[0], &unix[1]);
    // Over TCP with credentials in the URL, every method, ending with shutdown.
    let tcp: Vec<Vec<(String, serde_json::Value)>> = pair
        .ports
        .iter()
        .map(|port| {
            probe(
                &pair.clients,
                &[
                    "--url".into(),
                    format!("http://{USER}:{PASSWORD}@127.0.0.1:{port}/RPC2"),
                    "--password-check".into(),
                    format!("http://{USER}:wrong@127.0.0.1:{port}/RPC2"),
                ],
            )
        })
        .collect();
    compare_probes(&mut diffs, "tcp", &tcp[0], &tcp[1]);
    pair.expect_both_exited(&mut diffs, "supervisor.shutdown()");
    diffs.assert_none();
}
