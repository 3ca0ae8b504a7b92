//! `env_file`: docker compose `.env` files, supd-wide and per program (issue 6).

mod common;

use common::Tree;

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn compose_syntax() {
    let dotenv = r#"# database
export DB_HOST=db.internal
DB_PORT = 5432   # the default port
PASSWORD='p#ss $word \n'
GREETING="hello\n\"world\""
URL=http://x/#anchor
NOTHING=

MULTI="line one
line two"
"#;
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[supd]\nenv_file = \".env\"\n[program.p]\ncommand = \"x\"\n",
        ),
        (".env", dotenv),
    ]);
    let config = tree.ok(&[]);
    assert_eq!(
        config.programs[0].environment,
        vars(&[
            ("DB_HOST", "db.internal"),
            ("DB_PORT", "5432"),
            ("PASSWORD", r"p#ss $word \n"),
            ("GREETING", "hello\n\"world\""),
            ("URL", "http://x/#anchor"),
            ("NOTHING", ""),
            ("MULTI", "line one\nline two"),
        ])
    );
}

#[test]
fn supd_env_file_feeds_interpolation_of_every_file_and_every_program_environment() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            r#"[supd]
env_file = ".env"
socket = "${RUN}/supd.sock"
include = ["conf.d/*.toml"]

[program.web]
command = "serve --port ${WEB_PORT}"
environment = { MODE = "web" }
"#,
        ),
        (".env", "RUN=/run/app\nWEB_PORT=8000\nWORKER_ARGS=-c 4\n"),
        (
            "conf.d/worker.toml",
            "[program.worker]\ncommand = \"work ${WORKER_ARGS}\"\n",
        ),
    ]);
    let config = tree.ok(&[]);
    assert_eq!(
        config.supd.socket,
        std::path::PathBuf::from("/run/app/supd.sock")
    );
    let web = config.program("web").unwrap();
    assert_eq!(web.command, ["serve", "--port", "8000"]);
    assert_eq!(
        web.environment,
        vars(&[
            ("RUN", "/run/app"),
            ("WEB_PORT", "8000"),
            ("WORKER_ARGS", "-c 4"),
            ("MODE", "web"),
        ])
    );
    let worker = config.program("worker").unwrap();
    assert_eq!(worker.command, ["work", "-c", "4"]);
    assert_eq!(worker.environment.len(), 3);
}

#[test]
fn supds_own_environment_overrides_the_supd_env_file() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[supd]\nenv_file = \".env\"\n[program.p]\ncommand = \"serve ${PORT} ${OTHER}\"\n",
        ),
        // PORT is 8000 in supd's environment (tests/common).
        (".env", "PORT=9999\nOTHER=from-file\n"),
    ]);
    let p = &tree.ok(&[]).programs[0];
    assert_eq!(p.command, ["serve", "8000", "from-file"]);
    // PORT is not added: the program inherits supd's own, the same value it was read with.
    assert_eq!(p.environment, vars(&[("OTHER", "from-file")]));
}

#[test]
fn a_program_env_file_is_added_to_its_environment_and_visible_to_its_table_only() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            r#"[supd]
env_file = "common.env"

[program.worker]
env_file = "worker.env"
command = "celery -c ${CONCURRENCY} --port ${PORT}"
environment = { LEVEL = "debug", SHARED = "from-environment" }

[program.other]
command = "other ${CONCURRENCY:-none}"
"#,
        ),
        ("common.env", "SHARED=common\nLEVEL=info\nKEEP=1\n"),
        ("worker.env", "CONCURRENCY=4\nPORT=7000\nLEVEL=warning\n"),
    ]);
    let config = tree.ok(&[]);
    let worker = config.program("worker").unwrap();
    // The program's env_file wins over supd's own environment (PORT=8000) in its table.
    assert_eq!(
        worker.command,
        ["celery", "-c", "4", "--port", "7000"],
        "a program's env_file feeds its own table"
    );
    // [supd] env_file < the program's env_file < environment.
    assert_eq!(
        worker.environment,
        vars(&[
            ("SHARED", "from-environment"),
            ("LEVEL", "debug"),
            ("KEEP", "1"),
            ("CONCURRENCY", "4"),
            ("PORT", "7000"),
        ])
    );
    let other = config.program("other").unwrap();
    assert_eq!(
        other.command,
        ["other", "none"],
        "not visible to other programs"
    );
    assert_eq!(
        other.environment,
        vars(&[("SHARED", "common"), ("LEVEL", "info"), ("KEEP", "1")])
    );
}

#[test]
fn several_env_files_later_ones_win() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[program.p]\ncommand = \"x\"\nenv_file = [\"a.env\", \"b.env\"]\n",
        ),
        ("a.env", "A=1\nB=1\n"),
        ("b.env", "B=2\n"),
    ]);
    assert_eq!(
        tree.ok(&[]).programs[0].environment,
        vars(&[("A", "1"), ("B", "2")])
    );
}

#[test]
fn env_file_paths_are_relative_to_the_file_that_names_them() {
    let tree = Tree::new(&[
        ("supd.toml", "[supd]\ninclude = [\"conf.d/*.toml\"]\n"),
        (
            "conf.d/w.toml",
            "[program.w]\ncommand = \"w ${X}\"\nenv_file = \"w.env\"\n",
        ),
        ("conf.d/w.env", "X=here\n"),
    ]);
    assert_eq!(tree.ok(&[]).programs[0].command, ["w", "here"]);
}

#[test]
fn a_missing_env_file_is_an_error_naming_it() {
    let tree = Tree::new(&[(
        "supd.toml",
        "[supd]\nenv_file = \".env\"\n[program.p]\ncommand = \"x\"\nenv_file = \"p.env\"\n",
    )]);
    let root = tree.dir.path().display().to_string();
    let problems = tree.problems(&[]);
    assert_eq!(
        problems,
        [
            "supd.toml:2: supd.env_file: cannot read env file .env: no such file".to_string(),
            "supd.toml:5: program.p.env_file: cannot read env file p.env: no such file".to_string(),
        ],
        "(paths shown relative to {root})"
    );
}

#[test]
fn bad_lines_are_errors_with_the_env_files_path_and_line() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[supd]\nenv_file = \".env\"\n[program.p]\ncommand = \"x\"\nrestart = \"no\"\n",
        ),
        (
            ".env",
            "# fine\nA=1\nthis line has no equals sign\nB=\"never closed\nC=3\n",
        ),
    ]);
    let problems = tree.problems(&[]);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].starts_with("supd.toml:5: program.p.restart:"));
    assert_eq!(
        problems[1],
        r#".env:3: expected KEY=VALUE, found "this line has no equals sign""#
    );
    assert_eq!(
        problems[2],
        ".env:4: B: the double quote of this value is never closed"
    );
}

#[test]
fn an_env_file_named_by_many_programs_is_reported_once() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[program.a]\ncommand = \"a\"\nenv_file = \"x.env\"\n[program.b]\ncommand = \"b\"\nenv_file = \"x.env\"\n",
        ),
        ("x.env", "1BAD=1\n"),
    ]);
    let problems = tree.problems(&[]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].starts_with("x.env:1: invalid variable name \"1BAD\""));
}

#[test]
fn the_supd_env_file_path_uses_supds_own_environment() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[supd]\nenv_file = \"${APP}.env\"\n[program.p]\ncommand = \"x ${FROM_FILE}\"\n",
        ),
        ("app.env", "FROM_FILE=yes\n"),
    ]);
    let env = |name: &str| (name == "APP").then(|| "app".to_string());
    let config = tree.load_env(&[], &env).unwrap();
    assert_eq!(config.programs[0].command, ["x", "yes"]);
}

#[test]
fn env_file_must_be_a_path_or_paths() {
    let tree = Tree::new(&[("supd.toml", "[supd]\nenv_file = 1\n")]);
    assert_eq!(
        tree.problems(&[]),
        [
            r#"supd.toml:2: supd.env_file: expected a path like ".env" or an array of paths, found integer 1"#
        ]
    );
}

#[test]
fn supctl_finds_a_socket_named_through_the_supd_env_file() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[supd]\nenv_file = \".env\"\nsocket = \"${SOCKET_DIR}/supd.sock\"\n[program.p]\ncomand = \"broken elsewhere\"\n",
        ),
        (".env", "SOCKET_DIR=/run/app\n"),
    ]);
    assert_eq!(
        supd_config::socket_path(&tree.main()).unwrap(),
        std::path::PathBuf::from("/run/app/supd.sock")
    );
}
