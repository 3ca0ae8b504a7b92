//! `instances = N` and `${INSTANCE}` (issue 6).

mod common;

use std::path::PathBuf;

use common::{Tree, names, ok, problem, problems};
use supd_config::{HealthCheck, split_instance};

const WORKERS: &str = r#"[program.worker]
command = "celery worker -n worker${INSTANCE}@%h --port 90${INSTANCE}"
instances = 3
directory = "/srv/w${INSTANCE}"
environment = { QUEUE = "q${INSTANCE}", PATH = "${PATH}" }
stdout = "logs/worker-${INSTANCE}.log"

[program.worker.health]
tcp = "127.0.0.1:90${INSTANCE}"

[program.web]
command = "web"
depends_on = ["worker"]
"#;

#[test]
fn instances_are_programs_named_name_colon_i() {
    let config = ok(WORKERS);
    assert_eq!(
        names_of(&config),
        ["worker:0", "worker:1", "worker:2", "web"]
    );
}

fn names_of(config: &supd_config::Config) -> Vec<&str> {
    names(config)
}

#[test]
fn instance_is_interpolated_in_every_string_of_the_table() {
    let config = ok(WORKERS);
    for i in 0..3 {
        let w = config.program(&format!("worker:{i}")).unwrap();
        assert_eq!(
            w.command,
            [
                "celery".to_string(),
                "worker".to_string(),
                "-n".to_string(),
                format!("worker{i}@%h"),
                "--port".to_string(),
                format!("90{i}"),
            ]
        );
        assert_eq!(w.directory, Some(PathBuf::from(format!("/srv/w{i}"))));
        assert_eq!(
            w.stdout,
            supd_config::OutputTarget::File(PathBuf::from(format!(
                "/etc/supd/logs/worker-{i}.log"
            )))
        );
        assert_eq!(
            w.health.as_ref().unwrap().check,
            HealthCheck::Tcp(format!("127.0.0.1:90{i}"))
        );
        // INSTANCE is in the environment, before the program's own variables.
        assert_eq!(
            w.environment,
            [
                ("INSTANCE".to_string(), i.to_string()),
                ("QUEUE".to_string(), format!("q{i}")),
                ("PATH".to_string(), "/usr/bin:/bin".to_string()),
            ]
        );
    }
}

#[test]
fn depends_on_a_program_with_instances_means_all_of_them() {
    let config = ok(WORKERS);
    assert_eq!(
        config.program("web").unwrap().depends_on,
        ["worker:0", "worker:1", "worker:2"]
    );
}

#[test]
fn depends_on_from_inside_instances_works_normally() {
    let text = "[program.migrate]\ncommand = \"m\"\noneshot = true\n\
                [program.worker]\ncommand = \"w\"\ninstances = 2\ndepends_on = [\"migrate\"]\n";
    let config = ok(text);
    for name in ["worker:0", "worker:1"] {
        assert_eq!(config.program(name).unwrap().depends_on, ["migrate"]);
    }
}

#[test]
fn depends_on_one_instance_is_refused_with_the_way_to_say_it() {
    let text = "[program.worker]\ncommand = \"w\"\ninstances = 2\n\
                [program.web]\ncommand = \"x\"\ndepends_on = [\"worker:1\"]\n";
    assert_eq!(
        problem(text),
        r#"6: program.web.depends_on: depends_on names whole programs: write "worker" (all of its instances), not "worker:1""#
    );
}

#[test]
fn cycles_through_instanced_programs_are_found() {
    let text = "[program.a]\ncommand = \"a\"\ninstances = 2\ndepends_on = [\"b\"]\n\
                [program.b]\ncommand = \"b\"\ndepends_on = [\"a\"]\n";
    assert_eq!(
        problems(text),
        ["4: program.a.depends_on: dependency cycle: a -> b -> a"]
    );
}

#[test]
fn instance_outside_a_program_with_instances_is_an_error_saying_so() {
    assert_eq!(
        problem("[program.p]\ncommand = \"run ${INSTANCE}\"\n"),
        "2: program.p.command: ${INSTANCE} is only set in a program with instances = N (add instances, or remove ${INSTANCE})"
    );
    assert_eq!(
        problem("[program.p]\ncommand = \"x\"\nenvironment = { N = \"${INSTANCE:-0}\" }\n"),
        "3: program.p.environment.N: ${INSTANCE} is only set in a program with instances = N (add instances, or remove ${INSTANCE})"
    );
}

#[test]
fn instance_problems_are_reported_once_not_per_instance() {
    let text = "[program.w]\ncommand = \"w\"\ninstances = 50\nrestart = \"sometimes\"\n";
    assert_eq!(problems(text).len(), 1);
}

#[test]
fn instances_must_be_from_1_to_1000() {
    for bad in ["0", "1001", "-1", "\"3\""] {
        let text = format!("[program.w]\ncommand = \"w\"\ninstances = {bad}\n");
        let p = problem(&text);
        assert!(
            p.starts_with(
                "3: program.w.instances: expected a number of instances from 1 to 1000, found"
            ),
            "{p}"
        );
    }
    assert_eq!(
        names(&ok("[program.w]\ncommand = \"w\"\ninstances = 1000\n")).len(),
        1000
    );
}

#[test]
fn colons_stay_reserved_in_program_names() {
    assert!(
        problem("[program.\"w:1\"]\ncommand = \"w\"\n")
            .contains("\":\" is reserved for the instances of a program with instances = N")
    );
}

#[test]
fn instances_combine_with_env_files_and_profiles() {
    let tree = Tree::new(&[
        (
            "supd.toml",
            "[program.w]\ncommand = \"w ${PORT}\"\ninstances = 2\nenv_file = \"w${INSTANCE}.env\"\nprofiles = [\"workers\"]\n",
        ),
        ("w0.env", "PORT=7000\n"),
        ("w1.env", "PORT=7001\n"),
    ]);
    let config = tree.ok(&["workers"]);
    assert_eq!(config.programs[0].command, ["w", "7000"]);
    assert_eq!(config.programs[1].command, ["w", "7001"]);
    assert!(tree.ok(&[]).programs.is_empty());
    assert_eq!(tree.ok(&[]).inactive, ["w"]);
}

#[test]
fn instance_names_split_back() {
    assert_eq!(split_instance("worker:12"), Some(("worker", 12)));
    assert_eq!(split_instance("worker"), None);
    assert_eq!(split_instance("worker:"), None);
    assert_eq!(split_instance(":1"), None);
    assert_eq!(split_instance("worker:x"), None);
    assert_eq!(supd_config::instance_name("worker", 3), "worker:3");
}
