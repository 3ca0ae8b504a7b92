//! `[group.NAME] programs = [...]`: supervisord's groups, for the command line (issue 12).

mod common;

use common::{Tree, ok, problem, problems};

fn group_programs(config: &supd_config::Config, name: &str) -> Vec<String> {
    config.group(name).expect("group").programs.clone()
}

#[test]
fn a_group_lists_its_programs_in_config_order_with_every_instance() {
    let config = ok(r#"[program.beat]
command = "celery beat"
[program.worker]
command = "celery worker"
instances = 2
[program.web]
command = "daphne"

[group.celery]
programs = ["worker", "beat", "worker"]
"#);
    assert_eq!(
        group_programs(&config, "celery"),
        ["beat", "worker:0", "worker:1"]
    );
    assert_eq!(config.groups.len(), 1);
}

#[test]
fn group_mistakes_are_named_with_their_line() {
    let text = r#"[program.web]
command = "x"
[group.web]
programs = ["web"]
[group.empty]
programs = []
[group.typo]
programs = ["wbe", "nginx"]
[group.nolist]
[group.text]
programs = "web,worker"
[group.old]
programs = ["web"]
priority = 10
"#;
    assert_eq!(
        problems(text),
        [
            r#"6: group.empty.programs: expected at least one program name, found an empty array"#,
            r#"8: group.typo.programs: unknown program "wbe" (did you mean "web"?)"#,
            r#"8: group.typo.programs: unknown program "nginx" (known programs: web)"#,
            r#"9: group.nolist: missing required key "programs""#,
            r#"11: group.text.programs: expected an array of program names like ["web", "worker"], found "web,worker""#,
            r#"14: group.old.priority: unknown key "priority" (supd orders programs with depends_on = ["..."])"#,
        ]
    );
}

#[test]
fn a_group_names_whole_programs_not_instances() {
    assert_eq!(
        problem(
            "[program.worker]\ncommand = \"x\"\ninstances = 2\n[group.g]\nprograms = [\"worker:1\"]\n"
        ),
        r#"5: group.g.programs: a group names whole programs: write "worker" (all of its instances), not "worker:1""#
    );
}

#[test]
fn invalid_and_repeated_group_names_are_refused() {
    assert_eq!(
        problem("[program.a]\ncommand = \"x\"\n[group.\"a b\"]\nprograms = [\"a\"]\n"),
        r#"3: group."a b": invalid group name "a b" (use letters, digits, "_", "." and "-")"#
    );
    assert_eq!(
        problem(
            "[program.a]\ncommand = \"x\"\n[group.g]\nprograms = [\"a\"]\n[group.g]\nprograms = [\"a\"]\n"
        ),
        r#"5: group.g: group "g" is already defined in /etc/supd/supd.toml:3 (a group may be defined only once in a config file and the files it includes)"#
    );
}

#[test]
fn groups_may_live_in_included_files_and_name_programs_of_any_file() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[supd]\ninclude = [\"conf.d/*.toml\"]\n[program.web]\ncommand = \"w\"\n",
        ),
        (
            "conf.d/celery.toml",
            "[program.worker]\ncommand = \"c\"\n[group.all-apps]\nprograms = [\"worker\", \"web\"]\n",
        ),
        (
            "conf.d/dup.toml",
            "[group.all-apps]\nprograms = [\"web\"]\n[supervisord]\n",
        ),
    ]);
    assert_eq!(
        tree.problems(&[]),
        [
            "conf.d/dup.toml:1: group.all-apps: group \"all-apps\" is already defined in \
             conf.d/celery.toml:3 (a group may be defined only once in a config file and the \
             files it includes)",
            "conf.d/dup.toml:3: supervisord: unknown key \"supervisord\" (supd's own settings \
             go in [supd])",
        ]
    );
    std::fs::remove_file(tree.dir.path().join("conf.d/dup.toml")).unwrap();
    let config = tree.ok(&[]);
    assert_eq!(group_programs(&config, "all-apps"), ["web", "worker"]);
}

#[test]
fn a_group_keeps_only_the_programs_of_the_active_profiles() {
    let tree = Tree::new(&[(
        "supd.toml",
        r#"[program.web]
command = "w"
[program.vite]
command = "v"
profiles = ["dev"]
[group.front]
programs = ["vite", "web"]
[group.dev-only]
programs = ["vite"]
"#,
    )]);
    let config = tree.ok(&[]);
    assert_eq!(group_programs(&config, "front"), ["web"]);
    assert!(group_programs(&config, "dev-only").is_empty());
    let config = tree.ok(&["dev"]);
    assert_eq!(group_programs(&config, "front"), ["web", "vite"]);
}
