//! Resource use per program (issue 17): a status that asks for `resources` gets each
//! running program's CPU and memory, summed over its whole process group; one that does not
//! ask gets none (and costs no `/proc` reading).

use supd_proto::{ProgramStatus, Reply, Request, ServerMessage, Usage};
use supd_tests::{DEADLINE, Supd, wait_until};

const PROGRAMS: &str = r#"
[program.busy]
command = ["sh", "-c", "while :; do :; done"]

[program.family]
command = ["sh", "-c", "sleep 1000 & sleep 1000 & wait"]

[program.idle]
command = ["sleep", "1000"]
autostart = false
"#;

fn statuses(supd: &Supd, resources: bool) -> Vec<ProgramStatus> {
    match supd.ask(Request::Status {
        names: Vec::new(),
        resources,
    }) {
        ServerMessage::Reply {
            reply: Reply::Status { programs },
            ..
        } => programs,
        other => panic!("status answered {other:?}"),
    }
}

fn usage_of(programs: &[ProgramStatus], name: &str) -> Option<Usage> {
    programs.iter().find(|p| p.name == name).expect(name).usage
}

#[test]
fn a_status_asking_for_resources_gets_cpu_and_memory_of_each_process_group() {
    let mut supd = Supd::start(PROGRAMS);
    supd.wait_state("busy", "running");
    supd.wait_state("family", "running");

    assert!(
        statuses(&supd, false).iter().all(|p| p.usage.is_none()),
        "nothing is sampled unless asked"
    );

    let family = wait_until("the family's three processes", DEADLINE, || {
        usage_of(&statuses(&supd, true), "family").filter(|u| u.processes == 3)
    });
    assert!(family.rss_bytes > 0, "{family:?}");
    assert!(usage_of(&statuses(&supd, true), "idle").is_none(), "idle never started");

    // The busy loop burns a core: its CPU time grows, and the interval since the previous
    // sample shows it.
    let first = usage_of(&statuses(&supd, true), "busy").expect("busy has usage");
    let later = wait_until("busy's CPU time to grow", DEADLINE, || {
        usage_of(&statuses(&supd, true), "busy").filter(|u| u.cpu_ms > first.cpu_ms + 100)
    });
    assert!(later.cpu_percent.0 > 0.0, "{later:?}");
    assert_eq!(later.processes, 1, "{later:?}");

    assert!(supd.terminate().success());
    assert_eq!(supd.leftovers(), Vec::<i32>::new());
}
