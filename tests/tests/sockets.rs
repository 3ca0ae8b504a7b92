//! Issue 16, `sockets`: supd binds a program's sockets, holds them for the program's whole
//! life and passes them to every run as descriptors 3, 4, ... with systemd's `LISTEN_FDS`,
//! `LISTEN_PID` and `LISTEN_FDNAMES`; `${SOCKET_FD_<NAME>}` names them in the command; a
//! reload rebinds only what changed. The server is `tests/helpers/listen_fds.py`, which
//! answers each connection with `NAME PID`. (The restarts under load are other files'.)

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use supd_tests::{DEADLINE, StartOptions, Supd, free_port, is_root, run_supd, wait_until};

fn helper() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("helpers/listen_fds.py")
}

/// A python3 every user can run (the one on root's PATH may live under /root).
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// The helper as a `command` array, with `args` after it.
fn server(args: &[&str]) -> String {
    let mut argv = vec![python().to_string(), helper().display().to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let quoted: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The `listen ...` line of program `name`'s run `pid`, split in words.
fn listen_line(supd: &Supd, name: &str, pid: u64) -> Vec<String> {
    wait_until(&format!("{name} ({pid}) to say listen"), DEADLINE, || {
        supd.stdout.lines().into_iter().find_map(|l| {
            let (who, what) = l.split_once(" | ")?;
            let words: Vec<String> = what.split(' ').map(str::to_string).collect();
            (who.trim_end() == name && words[0] == "listen" && words[3] == pid.to_string())
                .then_some(words)
        })
    })
}

/// One answer of the server behind `stream`: `NAME PID`.
fn answer(stream: impl std::io::Read) -> String {
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .expect("read answer");
    line.trim_end().to_string()
}

fn ask_tcp(port: u16) -> String {
    answer(TcpStream::connect(("127.0.0.1", port)).expect("connect"))
}

fn ask_unix(path: &Path) -> String {
    answer(UnixStream::connect(path).expect("connect"))
}

/// `socket:[INODE]` of descriptor `fd` of `pid`.
fn socket_of(pid: u64, fd: i32) -> String {
    std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

#[test]
fn a_program_gets_its_sockets_as_fds_3_and_up_with_the_listen_variables() {
    let port = free_port();
    let supd = Supd::start(&format!(
        r#"[program.web]
command = {}
sockets = ["tcp://127.0.0.1:{port}", {{ address = "unix://web.sock", name = "admin" }}]
"#,
        server(&["${SOCKET_FD_WEB}", "${SOCKET_FD_ADMIN}", "${LISTEN_FD}"])
    ));
    let pid = supd.wait_state("web", "running")["pid"].as_u64().unwrap();
    let words = listen_line(&supd, "web", pid);
    // listen N LISTEN_PID PID LISTEN_FDNAMES, then the interpolated arguments.
    assert_eq!(words[1], "2");
    assert_eq!(
        words[2],
        pid.to_string(),
        "LISTEN_PID is the program's own pid"
    );
    assert_eq!(words[4], "web:admin");
    assert_eq!(words[5..], ["3", "4", "3"]);
    assert_eq!(ask_tcp(port), format!("web {pid}"));
    assert_eq!(ask_unix(&supd.path("web.sock")), format!("admin {pid}"));

    // Held across a crash: the next run serves the very same socket.
    let before = socket_of(pid, 3);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let next = supd.wait_new_pid("web", Some(pid));
    listen_line(&supd, "web", next);
    assert_eq!(socket_of(next, 3), before);
    assert_eq!(ask_tcp(port), format!("web {next}"));
}

#[test]
fn health_checks_get_no_sockets() {
    let port = free_port();
    let supd = Supd::start(&format!(
        r#"[program.web]
command = {}
sockets = ["tcp://127.0.0.1:{port}"]
[program.web.health]
command = "sh -c 'test -z \"$LISTEN_FDS\" && ! test -e /proc/self/fd/3 || exit 1' "
interval = "100ms"
"#,
        server(&[])
    ));
    // A check that saw a socket would fail, and web would never be running.
    wait_until("web to be running and healthy", DEADLINE, || {
        let p = supd.program("web");
        (p["health"] == "healthy" && p["state"] == "running").then_some(())
    });
}

#[test]
fn a_bind_error_names_the_program_the_address_and_why_and_exits_2() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut supd = Supd::start_with(
        &format!("[program.web]\ncommand = \"sleep 60\"\nsockets = [\"tcp://127.0.0.1:{port}\"]\n"),
        StartOptions {
            no_wait: true,
            ..StartOptions::default()
        },
    );
    let status = supd.wait_exit(DEADLINE);
    assert_eq!(status.code(), Some(2), "{}", supd.stderr.text());
    assert_eq!(
        supd.stderr.text().trim_end(),
        format!(
            "supd: cannot bind tcp://127.0.0.1:{port} for program web: the address is already \
             in use"
        )
    );
}

#[test]
fn a_user_program_serves_a_port_below_1024() {
    if !is_root() {
        eprintln!("skipped: needs root, to bind a port below 1024 for a nobody program");
        return;
    }
    let Some(port) = (700..1000).find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok()) else {
        eprintln!("skipped: no free port below 1024");
        return;
    };
    let supd = Supd::start(&format!(
        "[program.web]\ncommand = {}\nuser = \"nobody\"\nsockets = [\"tcp://127.0.0.1:{port}\"]\n",
        server(&[])
    ));
    let pid = supd.wait_state("web", "running")["pid"].as_u64().unwrap();
    listen_line(&supd, "web", pid);
    let uid = std::fs::metadata(format!("/proc/{pid}")).unwrap().uid();
    assert_ne!(uid, 0, "the program runs as nobody");
    assert_eq!(ask_tcp(port), format!("web {pid}"));
}

#[test]
fn a_reload_rebinds_only_the_socket_that_changed() {
    let (kept, old, new) = (free_port(), free_port(), free_port());
    let table = |second: u16| {
        format!(
            "[program.web]\ncommand = {}\nsockets = [\"tcp://127.0.0.1:{kept}\", \
             \"tcp://127.0.0.1:{second}\"]\n",
            server(&[])
        )
    };
    let supd = Supd::start(&table(old));
    let pid = supd.wait_state("web", "running")["pid"].as_u64().unwrap();
    listen_line(&supd, "web", pid);
    let (first, second) = (socket_of(pid, 3), socket_of(pid, 4));

    let text = std::fs::read_to_string(&supd.config).unwrap();
    std::fs::write(&supd.config, text.replace(&table(old), &table(new))).unwrap();
    let out = supd.ctl(&["reload"]);
    assert_eq!(out.code, 0, "{out:?}");
    let next = supd.wait_new_pid("web", Some(pid));
    listen_line(&supd, "web", next);
    assert_eq!(
        socket_of(next, 3),
        first,
        "the unchanged address keeps its socket"
    );
    assert_ne!(
        socket_of(next, 4),
        second,
        "the changed one is a new socket"
    );
    assert_eq!(ask_tcp(new), format!("web {next}"));
    wait_until("the old port to be let go", DEADLINE, || {
        TcpStream::connect(("127.0.0.1", old))
            .is_err()
            .then_some(())
    });
}

#[test]
fn a_reload_that_cannot_bind_changes_nothing() {
    let (port, taken) = (free_port(), TcpListener::bind("127.0.0.1:0").unwrap());
    let busy = taken.local_addr().unwrap().port();
    let table = |extra: &str| {
        format!(
            "[program.web]\ncommand = {}\nsockets = [\"tcp://127.0.0.1:{port}\"{extra}]\n",
            server(&[])
        )
    };
    let supd = Supd::start(&table(""));
    let pid = supd.wait_state("web", "running")["pid"].as_u64().unwrap();
    listen_line(&supd, "web", pid);

    let text = std::fs::read_to_string(&supd.config).unwrap();
    let busy_entry = format!(", \"tcp://127.0.0.1:{busy}\"");
    std::fs::write(&supd.config, text.replace(&table(""), &table(&busy_entry))).unwrap();
    let out = supd.ctl(&["reload"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "cannot bind tcp://127.0.0.1:{busy} for program web: the address is already in use"
        )),
        "{out:?}"
    );
    assert_eq!(supd.program("web")["pid"].as_u64(), Some(pid));
    assert_eq!(ask_tcp(port), format!("web {pid}"));
}

#[test]
fn a_unix_socket_has_its_mode_and_owner_and_goes_at_exit() {
    let owner = if is_root() {
        ", owner = \"nobody\""
    } else {
        eprintln!("not checking the owner: needs root");
        ""
    };
    let mut supd = Supd::start(&format!(
        "[program.web]\ncommand = {}\nsockets = [{{ address = \"unix://web.sock\", mode = \
         \"0640\"{owner} }}]\n",
        server(&[])
    ));
    let path = supd.path("web.sock");
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o640);
    if is_root() {
        assert_ne!(meta.uid(), 0, "given to nobody");
    }
    let pid = supd.wait_state("web", "running")["pid"].as_u64().unwrap();
    assert_eq!(ask_unix(&path), format!("web {pid}"));
    supd.terminate();
    assert!(!path.exists(), "the socket file is removed at exit");
}

#[test]
fn a_stale_unix_socket_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let supd = Supd::start(&format!(
        "[program.web]\ncommand = {}\nsockets = [\"unix://{}\"]\n",
        server(&[]),
        path.display()
    ));
    let pid = supd.wait_state("web", "running")["pid"].as_u64().unwrap();
    assert_eq!(ask_unix(&path), format!("web {pid}"));
}

#[test]
fn supd_check_reports_the_sockets_it_would_bind() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port();
    let free = free_port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("supd.toml"),
        format!(
            "[program.web]\ncommand = \"sleep 1\"\nsockets = [\"tcp://127.0.0.1:{free}\", \
             \"tcp://127.0.0.1:{busy}\"]\n"
        ),
    )
    .unwrap();
    let out = run_supd(dir.path(), &["check", "--config", "supd.toml"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("web: tcp://127.0.0.1:{free} is free")),
        "{out:?}"
    );
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains(&format!(
            "tcp://127.0.0.1:{busy} cannot be bound: the address is already in use"
        )),
        "{out:?}"
    );
}
