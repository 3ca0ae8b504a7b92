//! Hostile and broken clients of the control socket (issue 14, "Limits on hostile
//! clients"): an over-long request line, a thousand idle connections, a client that never
//! speaks, one that never reads its answer, a flood of requests. In each case a concurrent
//! `supctl status` is answered, supd's fds come back down, and supd stays up.
//!
//! Latency under attack is measured in `supd-bench` (`--only hostile`), not here.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use supd_proto::{ClientMessage, Hello, PROTOCOL_VERSION, Request, encode};
use supd_tests::{DEADLINE, Supd, wait_until};

/// The hello and one request, as supctl sends them.
fn conversation(request: Request) -> Vec<u8> {
    let mut bytes = encode(&ClientMessage::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        software: "hostile test".into(),
        pid: None,
    }));
    bytes.extend(encode(&ClientMessage::Request { id: 7, request }));
    bytes
}

fn fds_of(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// `supctl status` answers, with `a` in it.
fn status_answers(supd: &Supd) {
    let out = supd.ctl(&["status", "a"]);
    assert_eq!(out.code, 0, "supctl status under attack: {out:?}");
    assert!(out.stdout.contains("running"), "{out:?}");
}

fn start() -> Supd {
    let supd = Supd::start("[program.a]\ncommand = \"sleep 1000\"\n");
    supd.wait_state("a", "running");
    supd
}

/// Raises this process's soft fd limit to `want` (or the hard limit), for tests that hold
/// many connections open.
fn raise_fd_limit(want: u64) -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let new = want.min(hard).max(soft);
    setrlimit(Resource::RLIMIT_NOFILE, new, hard).unwrap();
    new
}

#[test]
fn a_request_line_over_the_limit_is_refused_and_nothing_else_suffers() {
    let mut supd = start();
    let before = fds_of(supd.pid());
    let mut huge = UnixStream::connect(&supd.socket).unwrap();
    // 2 MiB with no newline: supd stops reading at its limit, answers and hangs up.
    let line = vec![b'x'; 2 << 20];
    let writer = {
        let mut huge = huge.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = huge.write_all(&line);
        })
    };
    status_answers(&supd);
    let mut answer = String::new();
    let _ = BufReader::new(&mut huge).read_line(&mut answer);
    assert!(
        answer.contains("request longer than 65536 bytes") || answer.is_empty(),
        "either the error line, or a reset because supd closed with unread bytes: {answer}"
    );
    writer.join().unwrap();
    drop(huge);
    // The same over a well-formed hello with a huge program name.
    let mut named = UnixStream::connect(&supd.socket).unwrap();
    let big_name = "n".repeat(100_000);
    let _ = named.write_all(&conversation(Request::Status {
        names: vec![big_name],
        resources: false,
    }));
    status_answers(&supd);
    drop(named);
    wait_until("supd's fds are back down", DEADLINE, || {
        (fds_of(supd.pid()) <= before).then_some(())
    });
    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn a_thousand_idle_connections_do_not_lock_out_supctl() {
    let limit = raise_fd_limit(4096);
    if limit < 1100 {
        eprintln!("skipped: the fd limit is {limit}; 1,000 connections need more");
        return;
    }
    let mut supd = start();
    let idle: Vec<UnixStream> = (0..1000)
        .map(|_| UnixStream::connect(&supd.socket).expect("connect"))
        .collect();
    // supd has accepted them all (the oldest were closed to make room): fds bounded.
    wait_until("supd has taken every connection", DEADLINE, || {
        let closed = idle
            .iter()
            .filter(|s| {
                s.set_nonblocking(true).unwrap();
                let mut b = [0u8; 1];
                matches!((&**s).read(&mut b), Ok(0))
            })
            .count();
        (closed >= 1000 - 512).then_some(())
    });
    status_answers(&supd);
    let fds = fds_of(supd.pid());
    assert!(fds < 600, "supd holds {fds} fds with 1,000 idle clients");
    assert!(
        supd.supd_messages()
            .iter()
            .any(|m| m.contains("closed the oldest that had not made a request")),
        "{:?}",
        supd.supd_messages()
    );
    drop(idle);
    status_answers(&supd);
    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn a_client_that_never_speaks_is_hung_up_on() {
    let mut supd = start();
    let silent = UnixStream::connect(&supd.socket).unwrap();
    status_answers(&supd);
    // supd says why and hangs up after its request timeout (10 s).
    let mut answer = String::new();
    silent
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    BufReader::new(&silent).read_line(&mut answer).unwrap();
    assert!(answer.contains("no request within 10s"), "{answer}");
    let mut rest = Vec::new();
    (&silent).read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "then end of file");
    status_answers(&supd);
    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn a_client_that_never_reads_its_answer_is_let_go() {
    // About 900 kB of output in `a`'s backlog: far more than a socket buffer holds.
    let mut supd = Supd::start(
        "[program.a]\ncommand = [\"sh\", \"-c\", \"i=0; while [ $i -lt 9000 ]; do echo line-$i-................................................................................; i=$((i+1)); done; echo done; exec sleep 1000\"]\n",
    );
    supd.wait_state("a", "running");
    wait_until("a has written everything", DEADLINE, || {
        supd.ctl(&["logs", "-n", "1", "a"])
            .stdout
            .contains("done")
            .then_some(())
    });
    let before = fds_of(supd.pid());
    let mut readers = Vec::new();
    for follow in [false, true] {
        let mut s = UnixStream::connect(&supd.socket).unwrap();
        s.write_all(&conversation(Request::Logs {
            names: vec!["a".into()],
            lines: Some(100_000),
            follow,
            since_ms: None,
            stream: None,
        }))
        .unwrap();
        readers.push(s);
    }
    let mut never = UnixStream::connect(&supd.socket).unwrap();
    never
        .write_all(&conversation(Request::Status {
            names: vec![],
            resources: false,
        }))
        .unwrap();
    readers.push(never);
    status_answers(&supd);
    // supd gives up on them (a stream's patience, then a grace to read the error) and
    // closes their sockets: its fd count comes back down while they still never read.
    wait_until(
        "supd closed the connections nobody reads",
        Duration::from_secs(60),
        || (fds_of(supd.pid()) <= before + 1).then_some(()),
    );
    status_answers(&supd);
    drop(readers);
    assert_eq!(supd.terminate().code(), Some(0));
}

#[test]
fn a_flood_of_requests_leaves_room_for_supctl() {
    let mut supd = start();
    let stop = Arc::new(AtomicBool::new(false));
    let flooders: Vec<_> = (0..4)
        .map(|_| {
            let (socket, stop) = (supd.socket.clone(), stop.clone());
            std::thread::spawn(move || {
                let request = conversation(Request::Status {
                    names: vec![],
                    resources: false,
                });
                let mut answered = 0u64;
                // Bounded: at most 20,000 requests per thread, and only until told to stop.
                while !stop.load(Ordering::Relaxed) && answered < 20_000 {
                    let Ok(mut s) = UnixStream::connect(&socket) else {
                        continue;
                    };
                    if s.write_all(&request).is_err() {
                        continue;
                    }
                    let mut reply = Vec::new();
                    let _ = s.read_to_end(&mut reply);
                    answered += 1;
                }
                answered
            })
        })
        .collect();
    // While the flood runs: supctl is answered every time.
    for _ in 0..20 {
        status_answers(&supd);
    }
    stop.store(true, Ordering::Relaxed);
    let answered: u64 = flooders.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(answered > 0);
    status_answers(&supd);
    assert_eq!(supd.terminate().code(), Some(0));
}
