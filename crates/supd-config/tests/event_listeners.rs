//! `[eventlistener.NAME]` (issue 15): supervisord's event listeners as programs, and the
//! program keys that feed them (`stdin`, `stdout_events`, `stderr_events`).

mod common;

use common::{ok, problem, problems, program};
use supd_config::event_types::EventType;
use supd_config::{OutputTarget, StdinMode};

#[test]
fn a_listener_is_a_program_with_its_events_and_buffer() {
    let config = ok(r#"[program.web]
command = "sleep 100"
[eventlistener.crashmail]
command = "crashmail -a -m ops@example.com"
events = ["PROCESS_STATE_EXITED", "TICK", "PROCESS_STATE_EXITED"]
buffer_size = 3
instances = 2
"#);
    let names: Vec<&str> = config.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["web", "crashmail:0", "crashmail:1"]);
    let spec = &config.programs[2];
    let listener = spec.listener.as_ref().expect("a listener");
    assert_eq!(listener.pool, "crashmail");
    assert_eq!(listener.buffer_size, 3);
    assert_eq!(
        listener.events,
        [
            EventType::ProcessStateExited,
            EventType::Tick5,
            EventType::Tick60,
            EventType::Tick3600
        ]
    );
    assert_eq!(spec.stdin, StdinMode::Pipe);
    assert_eq!(spec.stdout, OutputTarget::Null);
    assert!(config.programs[0].listener.is_none());
}

#[test]
fn buffer_size_defaults_to_supervisords() {
    let config = ok("[eventlistener.l]\ncommand = \"x\"\nevents = [\"PROCESS_STATE\"]\n");
    let listener = config.programs[0].listener.as_ref().expect("a listener");
    assert_eq!(listener.buffer_size, 10);
    assert_eq!(listener.events.len(), 8);
}

#[test]
fn unknown_event_types_name_the_nearest() {
    assert_eq!(
        problem("[eventlistener.l]\ncommand = \"x\"\nevents = [\"PROCESS_STATE_EXITTED\"]\n"),
        "3: eventlistener.l.events: unknown event type \"PROCESS_STATE_EXITTED\" (did you mean \"PROCESS_STATE_EXITED\"?)"
    );
    assert_eq!(
        problem("[eventlistener.l]\ncommand = \"x\"\n"),
        "1: eventlistener.l: missing required key \"events\""
    );
}

#[test]
fn the_protocol_streams_cannot_be_configured() {
    assert_eq!(
        problem(
            "[eventlistener.l]\ncommand = \"x\"\nevents = [\"TICK_5\"]\nstdout = \"out.log\"\n"
        ),
        "4: eventlistener.l.stdout: unknown key \"stdout\" (an event listener's stdout carries the listener protocol and is not logged)"
    );
    assert_eq!(
        problem("[eventlistener.l]\ncommand = \"x\"\nevents = [\"TICK_5\"]\nstderr = \"stdout\"\n"),
        "4: eventlistener.l.stderr: an event listener's stdout carries the listener protocol: its stderr cannot go there"
    );
}

#[test]
fn programs_and_listeners_share_one_set_of_names() {
    let all = problems(
        "[program.a]\ncommand = \"x\"\n[eventlistener.a]\ncommand = \"x\"\nevents = [\"TICK_5\"]\n",
    );
    assert_eq!(
        all,
        [
            "3: eventlistener.a: eventlistener \"a\" has the name of the program defined in /etc/supd/supd.toml:1 (programs and event listeners share one set of names)"
        ]
    );
}

#[test]
fn stdin_pipes_and_log_events_are_program_keys() {
    let spec = program("stdin = \"pipe\"\nstdout_events = true\nstderr_events = true\n");
    assert_eq!(spec.stdin, StdinMode::Pipe);
    assert!(spec.stdout_events && spec.stderr_events);
    let spec = program("");
    assert_eq!(spec.stdin, StdinMode::Null);
    assert!(!spec.stdout_events && !spec.stderr_events);
    assert_eq!(
        problem(&common::with_program("stdin = \"tty\"\n")),
        "3: program.p.stdin: expected one of \"null\", \"pipe\", found \"tty\""
    );
}
