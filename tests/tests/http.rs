//! `[supd.http]`, the listener itself: the config errors people make, the credentials every
//! request needs (a password or a token), `readonly`, the refusal of writes sent by another
//! site's page, the socket file's mode and its removal, and a client that sends garbage.
//! (What supervisord's own clients do through it is `supervisor_clients.rs`'s.)

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use supd_tests::*;

/// One HTTP/1.1 request on `stream`, the whole response back.
fn exchange(mut stream: impl Read + Write, request: &str) -> String {
    stream.write_all(request.as_bytes()).expect("send request");
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out
}

fn rpc_request(body: &str, auth: Option<&str>) -> String {
    let auth = auth
        .map(|a| format!("Authorization: Basic {a}\r\n"))
        .unwrap_or_default();
    post("/RPC2", body, &auth)
}

/// A POST of `body` to `path` with `headers` (each ending in CRLF) added.
fn post(path: &str, body: &str, headers: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n{headers}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// `web` is running still, as process `pid`: a refused request changed nothing.
fn assert_still_running(supd: &Supd, pid: &serde_json::Value) {
    let p = supd.program("web");
    assert_eq!(
        (&p["state"], &p["pid"]),
        (&"running".into(), pid),
        "nothing changed: {p}"
    );
}

/// `supervisor.stopProcess(name)`: a call that changes something.
fn stop_process(name: &str) -> String {
    format!(
        "<?xml version='1.0'?><methodCall><methodName>supervisor.stopProcess</methodName>\
         <params><param><value><string>{name}</string></value></param></params></methodCall>"
    )
}

const GET_STATE: &str = "<?xml version='1.0'?><methodCall><methodName>supervisor.getState</methodName><params></params></methodCall>";

fn tcp(port: u16) -> std::net::TcpStream {
    let s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    s
}

#[test]
fn credentials_are_required_on_every_request_when_set() {
    let port = free_port();
    let supd = Supd::start_with(
        "[program.web]\ncommand = \"sleep 1000\"\n",
        StartOptions {
            supd_table: format!(
                "[supd.http]\nlisten = [\"127.0.0.1:{port}\", \"unix:http.sock\"]\n\
                 username = \"user\"\npassword = \"{{SHA}}40bd001563085fc35165329ea1ff5c5ecbdbbeef\"\n"
            ),
            ..Default::default()
        },
    );
    // user:123 and user:124, base64.
    let (good, bad) = ("dXNlcjoxMjM=", "dXNlcjoxMjQ=");
    let none = exchange(tcp(port), &rpc_request(GET_STATE, None));
    assert!(none.starts_with("HTTP/1.1 401"), "{none}");
    assert!(
        none.contains("www-authenticate: Basic realm=\"default\""),
        "{none}"
    );
    let wrong = exchange(tcp(port), &rpc_request(GET_STATE, Some(bad)));
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let right = exchange(tcp(port), &rpc_request(GET_STATE, Some(good)));
    assert!(right.starts_with("HTTP/1.1 200"), "{right}");
    assert!(
        right.contains("<name>statename</name>\n<value><string>RUNNING</string>"),
        "{right}"
    );
    // The unix socket asks for them too, and is owner-only, as supervisord's chmod default.
    let sock = supd.dir.path().join("http.sock");
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let unix = |auth| {
        let s = UnixStream::connect(&sock).expect("connect to the HTTP socket");
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        exchange(s, &rpc_request(GET_STATE, auth))
    };
    assert!(unix(None).starts_with("HTTP/1.1 401"));
    assert!(unix(Some(good)).starts_with("HTTP/1.1 200"));
    drop(supd);
}

#[test]
fn garbage_gets_an_answer_not_a_crash() {
    let port = free_port();
    let supd = Supd::start_with(
        "[program.web]\ncommand = \"sleep 1000\"\n",
        StartOptions {
            supd_table: format!("[supd.http]\nlisten = [\"127.0.0.1:{port}\"]\n"),
            ..Default::default()
        },
    );
    let bad_xml = exchange(tcp(port), &rpc_request("<methodCall><nope", None));
    assert!(bad_xml.starts_with("HTTP/1.1 400"), "{bad_xml}");
    let unknown = exchange(
        tcp(port),
        &rpc_request(
            "<methodCall><methodName>supervisor.nope</methodName></methodCall>",
            None,
        ),
    );
    assert!(
        unknown.contains("<int>1</int>") && unknown.contains("UNKNOWN_METHOD"),
        "{unknown}"
    );
    let get = exchange(
        tcp(port),
        "GET /RPC2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(get.starts_with("HTTP/1.1 405"), "{get}");
    let missing = exchange(
        tcp(port),
        "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    let tail = exchange(
        tcp(port),
        "GET /logtail/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(tail.starts_with("HTTP/1.1 404"), "{tail}");
    let not_http = exchange(tcp(port), "\x00\x01garbage\r\n\r\n");
    assert!(!not_http.contains("panic"), "{not_http}");
    // Still serving.
    let ok = exchange(tcp(port), &rpc_request(GET_STATE, None));
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    drop(supd);
}

#[test]
fn the_mistakes_people_make_are_one_sentence_each() {
    let dir = tempfile::tempdir().unwrap();
    let write = |text: &str| {
        let path = dir.path().join("supd.toml");
        std::fs::write(
            &path,
            format!("[supd]\nsocket = \"supd.sock\"\n{text}\n[program.a]\ncommand = \"sleep 1\"\n"),
        )
        .unwrap();
    };
    let cases: &[(&str, &str)] = &[
        (
            "[supd.http]\nlisten = [\"0.0.0.0:9001\"]\n",
            "supd.toml:4: supd.http.listen[0]: 0.0.0.0:9001 can be reached from other machines",
        ),
        (
            "[supd.http]\nlisten = [\"*:9001\"]\nusername = \"u\"\n",
            "supd.http.username: a username needs a password",
        ),
        (
            "[supd.http]\nport = \"127.0.0.1:9001\"\n",
            "supd's key is \"listen\"",
        ),
        (
            "[supd.http]\nlisten = [\"9001\"]\n",
            "expected \"unix:PATH\" or \"HOST:PORT\"",
        ),
        (
            "[supd.http]\nlisten = [\"127.0.0.1:9001\"]\nusername = \"u\"\npassword = \"{SHA}abc\"\n",
            "expected 40 hexadecimal digits after {SHA}",
        ),
        (
            "[supd.http]\nlisten = [\"0.0.0.0:9001\"]\ntoken_file = \"no-such-token\"\n",
            "supd.http.token_file: cannot use [supd.http] token_file ",
        ),
        (
            "[supd.http]\nlisten = [\"127.0.0.1:9001\"]\nreadonly = \"yes\"\n",
            "supd.http.readonly: expected true or false",
        ),
    ];
    for (table, expected) in cases {
        write(table);
        let out = run_supd(dir.path(), &["check", "--config", "supd.toml"]);
        assert_eq!(out.code, 2, "{table}: {}", out.stderr);
        assert!(out.stderr.contains(expected), "{table}: {}", out.stderr);
        assert_clear_message(&out.stderr);
    }
}

#[test]
fn a_port_in_use_stops_the_start_with_one_sentence() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("supd.toml"),
        format!(
            "[supd]\nsocket = \"supd.sock\"\n[supd.http]\nlisten = [\"127.0.0.1:{port}\"]\n\
             [program.a]\ncommand = \"sleep 1000\"\n"
        ),
    )
    .unwrap();
    let out = run_supd(dir.path(), &["--config", "supd.toml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "cannot listen on 127.0.0.1:{port} ([supd.http] listen): the address is already in use"
        )),
        "{}",
        out.stderr
    );
    assert_clear_message(&out.stderr);
    // Nothing was started, and the control socket is gone again.
    assert!(!dir.path().join("supd.sock").exists());
}

#[test]
fn the_socket_file_goes_with_supd_and_a_stale_one_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    // A socket file left by a supd that died.
    let stale = std::os::unix::net::UnixListener::bind(dir.path().join("http.sock")).unwrap();
    drop(stale);
    let mut supd = Supd::start_with(
        "[program.web]\ncommand = \"sleep 1000\"\n",
        StartOptions {
            supd_table: format!(
                "[supd.http]\nlisten = [{{ address = \"unix:{}/http.sock\", mode = \"0660\" }}]\n",
                dir.path().display()
            ),
            ..Default::default()
        },
    );
    let sock = dir.path().join("http.sock");
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
    let s = UnixStream::connect(&sock).expect("connect");
    s.set_read_timeout(Some(DEADLINE)).unwrap();
    assert!(exchange(s, &rpc_request(GET_STATE, None)).starts_with("HTTP/1.1 200"));
    supd.ctl(&["shutdown"]);
    wait_until("supd exits", DEADLINE, || supd.try_exit());
    wait_until(
        "the HTTP socket file is removed",
        Duration::from_secs(5),
        || (!sock.exists()).then_some(()),
    );
}

#[test]
fn a_token_guards_every_request_and_a_request_without_it_changes_nothing() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-token\n").unwrap();
    let supd = Supd::start_with(
        "[program.web]\ncommand = \"sleep 1000\"\n",
        StartOptions {
            // Every interface: a token is enough to make that allowed.
            supd_table: format!(
                "[supd.http]\nlisten = [\"0.0.0.0:{port}\"]\ntoken_file = \"{}\"\n",
                token_file.display()
            ),
            ..Default::default()
        },
    );
    let pid = supd.wait_state("web", "running")["pid"].clone();
    let stop = stop_process("web");
    let none = exchange(tcp(port), &post("/RPC2", &stop, ""));
    assert!(none.starts_with("HTTP/1.1 401"), "{none}");
    assert!(none.contains("www-authenticate: Bearer"), "{none}");
    let wrong = exchange(
        tcp(port),
        &post("/RPC2", &stop, "Authorization: Bearer s3cret\r\n"),
    );
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    // The JSON API's stop, too.
    let api = exchange(tcp(port), &post("/api/programs/web/stop", "", ""));
    assert!(api.starts_with("HTTP/1.1 401"), "{api}");
    assert_still_running(&supd, &pid);

    // The token, in the header or (as a browser's EventSource must) in the query.
    let state = exchange(
        tcp(port),
        &post("/RPC2", GET_STATE, "Authorization: Bearer s3cret-token\r\n"),
    );
    assert!(state.starts_with("HTTP/1.1 200"), "{state}");
    let stopped = exchange(tcp(port), &post("/RPC2?token=s3cret-token", &stop, ""));
    assert!(stopped.starts_with("HTTP/1.1 200"), "{stopped}");
    supd.wait_state("web", "stopped");
    drop(supd);
}

#[test]
fn a_write_from_another_sites_page_is_refused_and_readonly_serves_only_reads() {
    let (port, readonly) = (free_port(), free_port());
    let supd = Supd::start_with(
        "[program.web]\ncommand = \"sleep 1000\"\n",
        StartOptions {
            supd_table: format!(
                "[supd.http]\nlisten = [\"127.0.0.1:{port}\", \
                 {{ address = \"127.0.0.1:{readonly}\", readonly = true }}]\n"
            ),
            ..Default::default()
        },
    );
    let pid = supd.wait_state("web", "running")["pid"].clone();
    let stop = stop_process("web");

    // What a page on the internet can make a developer's browser send to 127.0.0.1.
    let evil = "Origin: https://evil.example\r\n";
    let refused = exchange(tcp(port), &post("/RPC2", &stop, evil));
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert!(
        refused.contains("another site (https://evil.example)"),
        "{refused}"
    );
    let fetched = exchange(
        tcp(port),
        &post("/RPC2", &stop, "Sec-Fetch-Site: cross-site\r\n"),
    );
    assert!(fetched.starts_with("HTTP/1.1 403"), "{fetched}");
    let api = exchange(tcp(port), &post("/api/programs/web/stop", "", evil));
    assert!(api.starts_with("HTTP/1.1 403"), "{api}");
    // A read from anywhere is not a write.
    let read = exchange(tcp(port), &post("/RPC2", GET_STATE, evil));
    assert!(read.starts_with("HTTP/1.1 200"), "{read}");

    // The readonly address answers reads, and refuses the stop naming it.
    let read = exchange(tcp(readonly), &rpc_request(GET_STATE, None));
    assert!(read.starts_with("HTTP/1.1 200"), "{read}");
    let refused = exchange(tcp(readonly), &rpc_request(&stop, None));
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    assert!(
        refused.contains(
            "supervisor.stopProcess() would change something, and this address is readonly"
        ),
        "{refused}"
    );
    let api = exchange(tcp(readonly), &post("/api/programs/web/stop", "", ""));
    assert!(api.starts_with("HTTP/1.1 403"), "{api}");
    assert_still_running(&supd, &pid);

    // The page of this very address may (the Host is what the browser connected to).
    let own = "Origin: http://localhost\r\n";
    let stopped = exchange(tcp(port), &post("/RPC2", &stop, own));
    assert!(stopped.starts_with("HTTP/1.1 200"), "{stopped}");
    supd.wait_state("web", "stopped");
    drop(supd);
}
