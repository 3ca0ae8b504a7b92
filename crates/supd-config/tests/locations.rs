//! Problems found after reading (on the machine, by `supd check`) keep the file and line of
//! the key they are about (issue 12).

mod common;

use common::{Tree, ok};

#[test]
fn program_problems_are_placed_at_the_key_else_the_table() {
    let config = ok(r#"[supd]
socket = "/run/x.sock"

[program.web]
command = "daphne"
user = "app"
[program.web.watch]
include = [
  "*.py",
  "*.html",
]
[program.worker]
command = "celery"
instances = 2
"#);
    let at = |d: supd_config::Diagnostic| d.to_string();
    assert_eq!(
        at(config.program_problem("web", "user", "unknown user")),
        "/etc/supd/supd.toml:6: program.web.user: unknown user"
    );
    assert_eq!(
        at(config.program_item_problem("web", "watch.include", 1, "matches nothing")),
        "/etc/supd/supd.toml:10: program.web.watch.include: matches nothing"
    );
    assert_eq!(
        at(config.program_problem("web", "directory", "x")),
        "/etc/supd/supd.toml:4: program.web.directory: x"
    );
    assert_eq!(
        at(config.program_problem("worker:1", "command", "not found")),
        "/etc/supd/supd.toml:13: program.worker.command: not found"
    );
    assert_eq!(
        at(config.supd_problem("socket", "no directory")),
        "/etc/supd/supd.toml:2: supd.socket: no directory"
    );
}

#[test]
fn problems_of_included_programs_name_the_included_file() {
    let tree = Tree::new(&[
        ("supd.toml", "[supd]\ninclude = [\"conf.d/*.toml\"]\n"),
        (
            "conf.d/web.toml",
            "\n[program.\"my.web\"]\ncommand = \"w\"\nstdout = \"logs/web.log\"\n",
        ),
    ]);
    let config = tree.ok(&[]);
    let d = config.program_problem("my.web", "stdout", "no such directory");
    assert_eq!(d.file, tree.dir.path().join("conf.d/web.toml"));
    assert_eq!(d.line, Some(4));
    assert_eq!(d.key.as_deref(), Some("program.\"my.web\".stdout"));
    let d = config.supd_problem("socket", "cannot bind");
    assert_eq!((d.file, d.line), (tree.main(), Some(1)));
}
