//! `profiles = [...]` and the active profiles of `supd --profile` (issue 6).

mod common;

use common::{Tree, names};

const DEV_AND_PROD: &str = r#"[program.migrate]
command = "migrate"
oneshot = true

[program.web]
command = "daphne"
depends_on = ["migrate"]

[program.vite]
command = "npm run dev"
profiles = ["dev"]

[program.nginx]
command = "nginx"
profiles = ["prod"]
depends_on = ["web"]

[program.debug-toolbar]
command = "toolbar"
profiles = ["dev", "debug"]
"#;

fn tree() -> Tree {
    Tree::new(&[("supd.toml", DEV_AND_PROD)])
}

#[test]
fn no_profile_runs_only_programs_without_profiles() {
    let config = tree().ok(&[]);
    assert_eq!(names(&config), ["migrate", "web"]);
    assert_eq!(config.inactive, ["vite", "nginx", "debug-toolbar"]);
    assert!(config.options.profiles.is_empty());
}

#[test]
fn a_profile_adds_its_programs_to_those_without_profiles() {
    assert_eq!(
        names(&tree().ok(&["dev"])),
        ["migrate", "web", "vite", "debug-toolbar"]
    );
    assert_eq!(names(&tree().ok(&["prod"])), ["migrate", "web", "nginx"]);
    assert_eq!(
        names(&tree().ok(&["debug"])),
        ["migrate", "web", "debug-toolbar"]
    );
    let both = tree().ok(&["prod", "dev", "prod", ""]);
    assert_eq!(
        names(&both),
        ["migrate", "web", "vite", "nginx", "debug-toolbar"]
    );
    assert_eq!(
        both.options.profiles,
        ["prod", "dev"],
        "each once, no empty"
    );
}

#[test]
fn an_unknown_profile_is_an_error_listing_the_known_ones() {
    assert_eq!(
        tree().problems(&["prd"]),
        [
            r#"supd.toml: unknown profile "prd" (did you mean "prod"? known profiles: dev, prod, debug)"#
        ]
    );
    assert_eq!(
        tree().problems(&["staging"]),
        [r#"supd.toml: unknown profile "staging" (known profiles: dev, prod, debug)"#]
    );
    let plain = Tree::new(&[("supd.toml", "[program.a]\ncommand = \"a\"\n")]);
    assert_eq!(
        plain.problems(&["dev"]),
        [r#"supd.toml: unknown profile "dev": no program has profiles"#]
    );
}

#[test]
fn an_active_program_cannot_depend_on_an_inactive_one() {
    let text = "[program.web]\ncommand = \"w\"\ndepends_on = [\"vite\"]\n\
                [program.vite]\ncommand = \"v\"\nprofiles = [\"dev\"]\n\
                [program.nginx]\ncommand = \"n\"\nprofiles = [\"prod\"]\n";
    let tree = Tree::new(&[("supd.toml", text)]);
    assert_eq!(
        tree.problems(&["prod"]),
        [
            r#"supd.toml:3: program.web.depends_on: "web" depends on "vite", which does not run with the active profiles ("vite" has profiles = ["dev"]; active profiles: prod)"#
        ]
    );
    assert_eq!(
        tree.problems(&[]),
        [
            r#"supd.toml:3: program.web.depends_on: "web" depends on "vite", which does not run with the active profiles ("vite" has profiles = ["dev"]; no profile is active (start supd with --profile dev))"#
        ]
    );
    assert_eq!(names(&tree.ok(&["dev"])), ["web", "vite"]);
}

#[test]
fn an_inactive_program_may_depend_on_anything_that_exists() {
    // nginx (prod) depends on web (always): fine with and without prod.
    assert!(tree().load(&[]).is_ok());
    let text = "[program.a]\ncommand = \"a\"\nprofiles = [\"x\"]\ndepends_on = [\"nope\"]\n";
    let tree = Tree::new(&[("supd.toml", text)]);
    assert_eq!(
        tree.problems(&[]),
        [r#"supd.toml:4: program.a.depends_on: unknown program "nope" (known programs: a)"#],
        "names are still checked"
    );
}

#[test]
fn inactive_programs_are_checked_but_not_against_the_machine() {
    let text = r#"[program.a]
command = "a ${PROD_ONLY_SECRET}"
profiles = ["prod"]
env_file = "prod.env"

[program.b]
command = "b"
profiles = ["prod"]
restrat = "always"
"#;
    let tree = Tree::new(&[("supd.toml", text)]);
    // Unset variables and missing env files of programs that do not run are no problem;
    // mistakes in the file itself still are.
    assert_eq!(
        tree.problems(&[]),
        [r#"supd.toml:9: program.b.restrat: unknown key "restrat" (did you mean "restart"?)"#]
    );
}

#[test]
fn profile_values_are_checked() {
    let text = "[program.a]\ncommand = \"a\"\nprofiles = []\n\
                [program.b]\ncommand = \"b\"\nprofiles = [\"dev\", 3]\n\
                [program.c]\ncommand = \"c\"\nprofiles = \"dev\"\n\
                [program.d]\ncommand = \"d\"\nprofiles = [\"bad name\"]\n";
    let tree = Tree::new(&[("supd.toml", text)]);
    assert_eq!(
        tree.problems(&[]),
        [
            "supd.toml:3: program.a.profiles: expected at least one profile name (leave profiles out to run the program in every profile)",
            r#"supd.toml:6: program.b.profiles: expected a string, found integer 3"#,
            r#"supd.toml:9: program.c.profiles: expected an array of profile names like ["dev"], found "dev""#,
            r#"supd.toml:12: program.d.profiles: invalid profile name "bad name" (use letters, digits, "_", "." and "-")"#,
        ]
    );
}

#[test]
fn profiles_work_across_included_files() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[supd]\ninclude = [\"dev.toml\"]\n[program.web]\ncommand = \"w\"\n",
        ),
        (
            "dev.toml",
            "[program.vite]\ncommand = \"v\"\nprofiles = [\"dev\"]\ndepends_on = [\"web\"]\n",
        ),
    ]);
    assert_eq!(names(&tree.ok(&["dev"])), ["web", "vite"]);
    assert_eq!(names(&tree.ok(&[])), ["web"]);
}
