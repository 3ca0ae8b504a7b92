//! A program's `sockets`: the addresses supd binds and holds for it, passed to every run
//! as descriptors 3, 4, ... (systemd's `LISTEN_FDS` protocol).
//!
//! An element is an address (`"tcp://HOST:PORT"`, `"unix:///PATH"`, spelled as
//! [`super::listen`] reads them) or a table with `address` and `name`, `backlog`, and for a
//! unix socket `mode` and `owner`. This module also owns the checks across programs: two
//! programs cannot bind one address, nor can a program bind an address of `[supd]`'s own
//! (its control socket, `[supd.http] listen`).

use toml::de::DeValue;

use super::listen::{self, Form};
use super::walker::{Field, Walker};
use crate::diagnostic::Diagnostic;
use crate::spec::{Config, DEFAULT_SOCKET_BACKLOG, DEFAULT_SOCKET_MODE, ListenAddress, SocketSpec};

/// The keys of a table in a program's `sockets`.
pub const SOCKET_KEYS: &[&str] = &["address", "name", "backlog", "mode", "owner"];

/// The largest `backlog` (the kernel caps it at `net.core.somaxconn` anyway).
const MAX_BACKLOG: i64 = 65535;

/// `sockets` of the program whose table is named `program` (the default socket name).
/// `None` when an element has a problem (reported).
pub(super) fn sockets(w: &mut Walker, field: &Field, program: &str) -> Option<Vec<SocketSpec>> {
    let DeValue::Array(items) = field.value.get_ref() else {
        w.bad(
            field,
            "expected an array of addresses like [\"tcp://127.0.0.1:8000\"]",
        );
        return None;
    };
    let mut out: Vec<SocketSpec> = Vec::with_capacity(items.len());
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let field = Field {
            key: format!("{}[{i}]", field.key),
            value: item,
        };
        let Some(spec) = socket(w, &field, program) else {
            ok = false;
            continue;
        };
        if let Some(j) = out.iter().position(|s| s.address == spec.address) {
            let message = format!(
                "{} is already {}[{j}] (a program binds each address once)",
                spec.address.url(),
                field.key.rsplit_once('[').map_or("", |(k, _)| k)
            );
            w.bad(&field, message);
            ok = false;
            continue;
        }
        out.push(spec);
    }
    ok.then_some(out)
}

/// One element: an address, or a table with `address`.
fn socket(w: &mut Walker, field: &Field, program: &str) -> Option<SocketSpec> {
    if !listen::entry_is_table(w, field, Form::Url)? {
        let address = listen::address(w, field, Form::Url)?;
        return Some(SocketSpec {
            address,
            name: program.to_string(),
            backlog: DEFAULT_SOCKET_BACKLOG,
            mode: DEFAULT_SOCKET_MODE,
            owner: None,
        });
    }
    let sec = w.table(field.reborrow(), "a table with \"address\"")?;
    w.check_keys(&sec, SOCKET_KEYS, &[]);
    let name = sec.get("name").map(|f| socket_name(w, &f));
    let backlog = sec.get("backlog").map(|f| {
        let n = w.integer(&f, 1..=MAX_BACKLOG, "a backlog from 1 to 65535")?;
        u32::try_from(n).ok()
    });
    let endpoint = listen::endpoint(w, &sec, Form::Url)?;
    Some(SocketSpec {
        address: endpoint.address,
        name: name.unwrap_or_else(|| Some(program.to_string()))?,
        backlog: backlog.unwrap_or(Some(DEFAULT_SOCKET_BACKLOG))?,
        mode: endpoint.mode.unwrap_or(DEFAULT_SOCKET_MODE),
        owner: endpoint.owner,
    })
}

/// `name`: `[A-Za-z0-9_.-]+` (`LISTEN_FDNAMES` separates names with `:`).
fn socket_name(w: &mut Walker, field: &Field) -> Option<String> {
    let name = w.nonempty_string(field, "a socket name")?;
    let valid = name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid {
        let message = format!(
            "invalid socket name {name:?} (use letters, digits, \"_\", \".\" and \"-\", at \
             most 255)"
        );
        w.bad(field, message);
        return None;
    }
    Some(name)
}

/// Every address bound twice in `config`: by two programs, or by a program and `[supd]`
/// (the control socket, `[supd.http] listen`); one problem at the second one, naming the
/// first.
pub(super) fn shared_addresses(config: &Config) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    // (address, who holds it, where)
    let mut taken: Vec<(ListenAddress, String, String)> = Vec::new();
    let place = |d: &Diagnostic| match d.line {
        Some(line) => format!("{}:{line}", d.file.display()),
        None => d.file.display().to_string(),
    };
    let control = ListenAddress::Unix(config.supd.socket.clone());
    let at = config.supd_problem("socket", String::new());
    taken.push((control, "supd's control socket".to_string(), place(&at)));
    for (i, l) in config
        .supd
        .http
        .iter()
        .flat_map(|h| h.listen.iter())
        .enumerate()
    {
        let at = config.supd_problem(&format!("http.listen[{i}]"), String::new());
        taken.push((
            l.address.clone(),
            "[supd.http] listen".to_string(),
            place(&at),
        ));
    }
    for p in &config.programs {
        for (i, s) in p.sockets.iter().enumerate() {
            let here = || {
                let mut d = config.program_item_problem(&p.name, "sockets", i, String::new());
                d.key = d.key.map(|k| format!("{k}[{i}]"));
                d
            };
            match taken.iter().find(|(a, _, _)| *a == s.address) {
                Some((_, holder, first)) => {
                    let mut d = here();
                    d.message = match crate::spec::split_instance(&p.name) {
                        Some(_) => format!(
                            "{} of {:?} is also bound by {holder} ({first}): each instance \
                             needs an address of its own (put ${{INSTANCE}} in it)",
                            s.address.url(),
                            p.name
                        ),
                        None => format!(
                            "{} is also bound by {holder} ({first}): two cannot hold one \
                             address",
                            s.address.url()
                        ),
                    };
                    problems.push(d);
                }
                None => {
                    let first = place(&here());
                    taken.push((s.address.clone(), format!("program {:?}", p.name), first));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::spec::{FIRST_SOCKET_FD, IdRef, ListenAddress, SocketSpec, UserSpec};

    fn parse(text: &str) -> Result<crate::Config, String> {
        let env = |name: &str| (name == "PORT").then(|| "8001".to_string());
        crate::parse_str(text, Path::new("/etc/supd/supd.toml"), &env).map_err(|d| d.to_string())
    }

    fn error(text: &str) -> String {
        parse(text).expect_err("should be refused")
    }

    fn sockets_of(text: &str) -> Vec<SocketSpec> {
        let config = parse(text).unwrap();
        config.programs[0].sockets.clone()
    }

    #[test]
    fn strings_and_tables() {
        let sockets = sockets_of(
            r#"[program.web]
command = "srv"
sockets = ["tcp://127.0.0.1:${PORT}", { address = "unix:///run/web.sock", name = "api", backlog = 16, mode = "0660", owner = "www-data:www-data" }, "unix://rel.sock"]
"#,
        );
        assert_eq!(
            sockets,
            vec![
                SocketSpec {
                    address: ListenAddress::Tcp("127.0.0.1:8001".parse().unwrap()),
                    name: "web".into(),
                    backlog: 1024,
                    mode: 0o666,
                    owner: None,
                },
                SocketSpec {
                    address: ListenAddress::Unix("/run/web.sock".into()),
                    name: "api".into(),
                    backlog: 16,
                    mode: 0o660,
                    owner: Some(UserSpec {
                        user: IdRef::Name("www-data".into()),
                        group: Some(IdRef::Name("www-data".into())),
                    }),
                },
                SocketSpec {
                    address: ListenAddress::Unix(PathBuf::from("/etc/supd/rel.sock")),
                    name: "web".into(),
                    backlog: 1024,
                    mode: 0o666,
                    owner: None,
                },
            ]
        );
        assert_eq!(sockets[0].address.url(), "tcp://127.0.0.1:8001");
        assert_eq!(sockets[1].address.url(), "unix:///run/web.sock");
    }

    #[test]
    fn socket_fds_are_interpolated_in_command_and_environment() {
        let config = parse(
            r#"[program.my-web]
command = "srv --fd ${SOCKET_FD_MY_WEB} --admin ${SOCKET_FD_ADMIN_1} --first ${LISTEN_FD}"
environment = { ADMIN_FD = "${SOCKET_FD_ADMIN_1}" }
sockets = ["tcp://127.0.0.1:8000", { address = "tcp://127.0.0.1:8001", name = "admin.1" }]
"#,
        )
        .unwrap();
        let p = &config.programs[0];
        assert_eq!(
            p.command,
            ["srv", "--fd", "3", "--admin", "4", "--first", "3"]
        );
        assert_eq!(FIRST_SOCKET_FD, 3);
        assert_eq!(
            p.environment,
            vec![("ADMIN_FD".to_string(), "4".to_string())]
        );
    }

    #[test]
    fn every_instance_has_its_own_address() {
        let config = parse(
            r#"[program.web]
command = "srv --fd ${SOCKET_FD_WEB}"
instances = 2
sockets = ["tcp://127.0.0.1:800${INSTANCE}"]
"#,
        )
        .unwrap();
        let urls: Vec<String> = config
            .programs
            .iter()
            .map(|p| p.sockets[0].address.url())
            .collect();
        assert_eq!(urls, ["tcp://127.0.0.1:8000", "tcp://127.0.0.1:8001"]);
        assert_eq!(config.programs[1].sockets[0].name, "web");
    }

    #[test]
    fn an_unknown_socket_name_names_the_known_ones() {
        assert_eq!(
            error(
                r#"[program.web]
command = "srv --fd ${SOCKET_FD_HTTP}"
sockets = ["tcp://127.0.0.1:8000", { address = "tcp://127.0.0.1:8001", name = "admin" }]
"#
            ),
            "/etc/supd/supd.toml:2: program.web.command: no socket of this program is named \
             \"HTTP\" (its sockets are ${SOCKET_FD_WEB}, ${SOCKET_FD_ADMIN}, and ${LISTEN_FD} \
             is the first)"
        );
    }

    #[test]
    fn socket_variables_without_sockets_or_elsewhere_are_refused() {
        assert_eq!(
            error("[program.web]\ncommand = \"srv --fd ${LISTEN_FD}\"\n"),
            "/etc/supd/supd.toml:2: program.web.command: ${LISTEN_FD} names a socket of this \
             program, and it has none (add sockets = [\"tcp://127.0.0.1:8000\"])"
        );
        assert_eq!(
            error(
                "[program.web]\ncommand = \"srv\"\ndirectory = \"/srv/${SOCKET_FD_WEB}\"\n\
                 sockets = [\"tcp://127.0.0.1:8000\"]\n"
            ),
            "/etc/supd/supd.toml:3: program.web.directory: ${SOCKET_FD_WEB} is only set in a \
             program's command and environment"
        );
    }

    #[test]
    fn bad_addresses_are_one_sentence_with_the_accepted_forms() {
        let cases = [
            (
                r#"sockets = ["127.0.0.1:8000"]"#,
                "program.web.sockets[0]: expected \"tcp://HOST:PORT\" or \"unix:///PATH\" like \
                 \"tcp://127.0.0.1:8000\", found \"127.0.0.1:8000\"",
            ),
            (
                r#"sockets = ["udp://127.0.0.1:53"]"#,
                "program.web.sockets[0]: expected \"tcp://HOST:PORT\" or \"unix:///PATH\" like \
                 \"tcp://127.0.0.1:8000\", found \"udp://127.0.0.1:53\"",
            ),
            (
                r#"sockets = ["tcp://127.0.0.1:99999"]"#,
                "program.web.sockets[0]: expected \"tcp://HOST:PORT\" or \"unix:///PATH\" like \
                 \"tcp://127.0.0.1:8000\", found \"tcp://127.0.0.1:99999\"",
            ),
            (
                r#"sockets = ["unix://"]"#,
                "program.web.sockets[0]: expected a socket path after \"unix:\"",
            ),
            (
                r#"sockets = [""]"#,
                "program.web.sockets[0]: expected an address, found an empty string",
            ),
            (
                r#"sockets = "tcp://127.0.0.1:8000""#,
                "program.web.sockets: expected an array of addresses like \
                 [\"tcp://127.0.0.1:8000\"]",
            ),
            (
                r#"sockets = [8000]"#,
                "program.web.sockets[0]: expected an address (\"tcp://HOST:PORT\" or \
                 \"unix:///PATH\") or a table with \"address\"",
            ),
            (
                r#"sockets = [{ name = "x" }]"#,
                "program.web.sockets[0]: missing key \"address\" (\"tcp://HOST:PORT\" or \
                 \"unix:///PATH\")",
            ),
        ];
        for (line, expected) in cases {
            let text = format!("[program.web]\ncommand = \"srv\"\n{line}\n");
            assert_eq!(
                error(&text),
                format!("/etc/supd/supd.toml:3: {expected}"),
                "{line}"
            );
        }
    }

    #[test]
    fn bad_table_keys_are_one_sentence_each() {
        let cases = [
            (
                r#"{ address = "tcp://127.0.0.1:8000", mode = "0600" }"#,
                "program.web.sockets[0].mode: only a unix socket has a mode and an owner",
            ),
            (
                r#"{ address = "tcp://127.0.0.1:8000", owner = "www-data" }"#,
                "program.web.sockets[0].owner: only a unix socket has a mode and an owner",
            ),
            (
                r#"{ address = "unix:///run/a.sock", mode = "999" }"#,
                "program.web.sockets[0].mode: expected an octal mode like \"0600\" or 0o600, \
                 found \"999\"",
            ),
            (
                r#"{ address = "unix:///run/a.sock", owner = "a:b:c" }"#,
                "program.web.sockets[0].owner: expected \"name\", \"uid\", \"name:group\" or \
                 \"uid:gid\", found \"a:b:c\"",
            ),
            (
                r#"{ address = "tcp://127.0.0.1:8000", backlog = 0 }"#,
                "program.web.sockets[0].backlog: expected a backlog from 1 to 65535, found \
                 integer 0",
            ),
            (
                r#"{ address = "tcp://127.0.0.1:8000", name = "a:b" }"#,
                "program.web.sockets[0].name: invalid socket name \"a:b\" (use letters, digits, \
                 \"_\", \".\" and \"-\", at most 255)",
            ),
            (
                r#"{ address = "tcp://127.0.0.1:8000", name = "" }"#,
                "program.web.sockets[0].name: expected a socket name, found an empty string",
            ),
            (
                r#"{ address = "tcp://127.0.0.1:8000", port = 1 }"#,
                "program.web.sockets[0].port: unknown key \"port\"",
            ),
        ];
        for (table, expected) in cases {
            let text = format!("[program.web]\ncommand = \"srv\"\nsockets = [{table}]\n");
            let got = error(&text);
            assert!(
                got.starts_with(&format!("/etc/supd/supd.toml:3: {expected}")),
                "{table}: {got}"
            );
            assert_eq!(got.lines().count(), 1, "{got}");
        }
    }

    #[test]
    fn one_program_binds_an_address_once() {
        assert_eq!(
            error(
                "[program.web]\ncommand = \"srv\"\nsockets = [\"tcp://127.0.0.1:8000\", \
                 \"tcp://127.0.0.1:8000\"]\n"
            ),
            "/etc/supd/supd.toml:3: program.web.sockets[1]: tcp://127.0.0.1:8000 is already \
             program.web.sockets[0] (a program binds each address once)"
        );
    }

    #[test]
    fn two_programs_binding_one_address_are_named_both() {
        assert_eq!(
            error(
                "[program.web]\ncommand = \"srv\"\nsockets = [\"tcp://127.0.0.1:8000\"]\n\
                 [program.api]\ncommand = \"srv\"\nsockets = [\"tcp://127.0.0.1:8000\"]\n"
            ),
            "/etc/supd/supd.toml:6: program.api.sockets[0]: tcp://127.0.0.1:8000 is also \
             bound by program \"web\" (/etc/supd/supd.toml:3): two cannot hold one address"
        );
        assert_eq!(
            error(
                "[program.web]\ncommand = \"srv\"\ninstances = 2\n\
                 sockets = [\"tcp://127.0.0.1:8000\"]\n"
            ),
            "/etc/supd/supd.toml:4: program.web.sockets[0]: tcp://127.0.0.1:8000 of \"web:1\" \
             is also bound by program \"web:0\" (/etc/supd/supd.toml:4): each instance needs \
             an address of its own (put ${INSTANCE} in it)"
        );
    }

    #[test]
    fn a_program_cannot_bind_supds_own_addresses() {
        assert_eq!(
            error(
                "[supd]\nsocket = \"/run/s.sock\"\nhttp = { listen = [\"127.0.0.1:9001\"] }\n\
                 [program.web]\ncommand = \"srv\"\n\
                 sockets = [\"unix:///run/s.sock\", \"tcp://127.0.0.1:9001\"]\n"
            ),
            "/etc/supd/supd.toml:6: program.web.sockets[0]: unix:///run/s.sock is also bound \
             by supd's control socket (/etc/supd/supd.toml:2): two cannot hold one address\n\
             /etc/supd/supd.toml:6: program.web.sockets[1]: tcp://127.0.0.1:9001 is also \
             bound by [supd.http] listen (/etc/supd/supd.toml:3): two cannot hold one address"
        );
    }
}
