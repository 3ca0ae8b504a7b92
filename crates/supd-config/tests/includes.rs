//! `[supd] include`: more files of `[program.*]` tables, merged into one config (issue 6).

mod common;

use common::{Tree, names};

const MAIN: &str = r#"[supd]
include = ["conf.d/*.toml", "extra.toml"]

[program.main]
command = "main"
"#;

#[test]
fn globs_are_sorted_and_programs_come_in_file_order() {
    let tree = Tree::new(&[
        ("supd.toml", MAIN),
        ("conf.d/b.toml", "[program.from_b]\ncommand = \"b\"\n"),
        (
            "conf.d/a.toml",
            "[program.from_a1]\ncommand = \"a\"\n[program.from_a2]\ncommand = \"a\"\n",
        ),
        ("conf.d/notes.txt", "not toml"),
        ("conf.d/.#b.toml", "editor lock file"),
        ("extra.toml", "[program.extra]\ncommand = \"e\"\n"),
    ]);
    let config = tree.ok(&[]);
    assert_eq!(
        names(&config),
        ["main", "from_a1", "from_a2", "from_b", "extra"]
    );
}

#[test]
fn relative_paths_resolve_against_the_included_file() {
    let tree = Tree::new(&[
        ("supd.toml", "[supd]\ninclude = [\"apps/*/supd.toml\"]\n"),
        (
            "apps/web/supd.toml",
            "[program.web]\ncommand = \"w\"\ndirectory = \".\"\nstdout = \"logs/web.log\"\n",
        ),
    ]);
    let config = tree.ok(&[]);
    let web = config.program("web").unwrap();
    let dir = tree.dir.path().join("apps/web");
    assert_eq!(web.directory, Some(dir.clone()));
    assert_eq!(
        web.stdout,
        supd_config::OutputTarget::File(dir.join("logs/web.log"))
    );
}

#[test]
fn a_glob_that_matches_nothing_is_fine() {
    let tree = Tree::new(&[(
        "supd.toml",
        "[supd]\ninclude = [\"conf.d/*.toml\", \"none/*/x.toml\"]\n[program.a]\ncommand = \"a\"\n",
    )]);
    assert_eq!(names(&tree.ok(&[])), ["a"]);
}

#[test]
fn a_missing_plain_include_is_an_error_naming_it() {
    let tree = Tree::new(&[(
        "supd.toml",
        "[supd]\ninclude = [\n  \"conf.d/*.toml\",\n  \"extra.toml\",\n]\n",
    )]);
    assert_eq!(
        tree.problems(&[]),
        [r#"supd.toml:4: supd.include: cannot include "extra.toml": extra.toml does not exist"#]
    );
}

#[test]
fn a_directory_and_a_bad_glob_are_errors() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[supd]\ninclude = [\"conf.d\", \"conf.d/**/*.toml\", \"conf.d/[x.toml\"]\n",
        ),
        ("conf.d/a.toml", ""),
    ]);
    let problems = tree.problems(&[]);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems[0].contains("conf.d is a directory (include the files in it with conf.d/*.toml)"),
        "{}",
        problems[0]
    );
    assert!(problems[1].contains("\"**\" is not supported"));
    assert!(problems[2].contains("invalid glob \"[x.toml\""));
}

#[test]
fn a_program_defined_in_two_files_names_both() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[supd]\ninclude = [\"conf.d/*.toml\"]\n\n[program.web]\ncommand = \"a\"\n",
        ),
        (
            "conf.d/web.toml",
            "# the same name again\n[program.web]\ncommand = \"b\"\n",
        ),
    ]);
    assert_eq!(
        tree.problems(&[]),
        [
            "conf.d/web.toml:2: program.web: program \"web\" is already defined in supd.toml:4 \
             (a program may be defined only once in a config file and the files it includes)"
        ]
    );
}

#[test]
fn a_program_defined_in_two_included_files_names_both() {
    let tree = Tree::new(&[
        ("supd.toml", "[supd]\ninclude = [\"conf.d/*.toml\"]\n"),
        ("conf.d/1.toml", "[program.w]\ncommand = \"a\"\n"),
        ("conf.d/2.toml", "\n[program.w]\ncommand = \"b\"\n"),
    ]);
    let problems = tree.problems(&[]);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].starts_with(
            "conf.d/2.toml:2: program.w: program \"w\" is already defined in conf.d/1.toml:1"
        ),
        "{}",
        problems[0]
    );
}

#[test]
fn a_program_defined_twice_in_one_file_names_both_lines() {
    let tree = Tree::new(&[(
        "supd.toml",
        "[program.web]\ncommand = \"a\"\n\n[program.web]\ncommand = \"b\"\nrestart = \"never\"\n",
    )]);
    let problems = tree.problems(&[]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with(
            "supd.toml:4: program.web: program \"web\" is already defined in supd.toml:1"
        ),
        "{}",
        problems[0]
    );
}

#[test]
fn supd_table_in_an_included_file_is_an_error_naming_file_and_line() {
    let tree = Tree::new(&[
        ("supd.toml", "[supd]\ninclude = [\"more.toml\"]\n"),
        (
            "more.toml",
            "[program.a]\ncommand = \"a\"\n\n[supd]\nsocket = \"x.sock\"\n",
        ),
    ]);
    let problems = tree.problems(&[]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0]
            .starts_with("more.toml:4: supd: [supd] is only allowed in the main config file"),
        "{}",
        problems[0]
    );
}

#[test]
fn problems_in_included_files_name_their_file_and_come_after_the_main_file() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[supd]\ninclude = [\"conf.d/*.toml\"]\n[program.a]\ncommand = \"a\"\nrestart = \"no\"\n",
        ),
        (
            "conf.d/b.toml",
            "[program.b]\ncommand = \"b\"\ncomand = \"c\"\n",
        ),
        ("conf.d/c.toml", "[program.c\ncommand = \"c\"\n"),
        ("conf.d/d.toml", "[programs.d]\ncommand = \"d\"\n"),
    ]);
    let problems = tree.problems(&[]);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].starts_with("supd.toml:5: program.a.restart:"));
    assert_eq!(
        problems[1],
        r#"conf.d/b.toml:3: program.b.comand: unknown key "comand" (did you mean "command"?)"#
    );
    assert!(
        problems[2].starts_with("conf.d/c.toml:1: invalid TOML"),
        "{}",
        problems[2]
    );
    assert_eq!(
        problems[3],
        r#"conf.d/d.toml:1: programs: unknown key "programs" (did you mean "program"?)"#
    );
}

#[test]
fn depends_on_crosses_files() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[supd]\ninclude = [\"conf.d/*.toml\"]\n[program.web]\ncommand = \"w\"\ndepends_on = [\"migrate\"]\n",
        ),
        (
            "conf.d/db.toml",
            "[program.migrate]\ncommand = \"m\"\noneshot = true\n",
        ),
    ]);
    let config = tree.ok(&[]);
    assert_eq!(config.program("web").unwrap().depends_on, ["migrate"]);
}

#[test]
fn cycles_across_files_are_found_and_unknown_names_suggest_programs_of_every_file() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[supd]\ninclude = [\"conf.d/*.toml\"]\n[program.a]\ncommand = \"a\"\ndepends_on = [\"b\"]\n",
        ),
        (
            "conf.d/b.toml",
            "[program.b]\ncommand = \"b\"\ndepends_on = [\"c\"]\n[program.c]\ncommand = \"c\"\ndepends_on = [\"a\", \"bb\"]\n",
        ),
    ]);
    assert_eq!(
        tree.problems(&[]),
        [
            "supd.toml:5: program.a.depends_on: dependency cycle: a -> b -> c -> a",
            r#"conf.d/b.toml:6: program.c.depends_on: unknown program "bb" (did you mean "b"?)"#,
        ]
    );
}

#[test]
fn a_glob_that_matches_the_main_file_skips_it_and_a_file_is_read_once() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[supd]\ninclude = [\"*.toml\", \"other.toml\"]\n[program.a]\ncommand = \"a\"\n",
        ),
        ("other.toml", "[program.b]\ncommand = \"b\"\n"),
    ]);
    assert_eq!(names(&tree.ok(&[])), ["a", "b"]);

    let tree = Tree::new(&[("supd.toml", "[supd]\ninclude = [\"supd.toml\"]\n")]);
    assert_eq!(
        tree.problems(&[]),
        [r#"supd.toml:2: supd.include: "supd.toml" is this config file itself"#]
    );
}

#[test]
fn include_must_be_an_array_of_strings() {
    let tree = Tree::new(&[("supd.toml", "[supd]\ninclude = \"conf.d/*.toml\"\n")]);
    assert_eq!(
        tree.problems(&[]),
        [
            r#"supd.toml:2: supd.include: expected an array of paths or globs like ["conf.d/*.toml"], found "conf.d/*.toml""#
        ]
    );
}

#[test]
fn include_patterns_use_variables() {
    let tree = Tree::new(&[
        ("supd.toml", "[supd]\ninclude = [\"${APP}/*.toml\"]\n"),
        ("app/a.toml", "[program.a]\ncommand = \"a\"\n"),
    ]);
    let app = tree.dir.path().join("app");
    let env = move |name: &str| (name == "APP").then(|| app.display().to_string());
    let config = tree.load_env(&[], &env).unwrap();
    assert_eq!(names(&config), ["a"]);
    assert_eq!(config.path, tree.main());
}
