//! Lines that are not ordinary: without a final newline, longer than 64 KiB, or arriving
//! in pieces (issue 2: "partial lines and lines longer than 64 KiB are handled").

use supd_tests::Supd;

#[test]
fn a_last_line_without_newline_is_written_when_the_program_exits() {
    let mut supd = Supd::start(
        r#"
[program.tail]
command = ["sh", "-c", "printf 'complete\nno newline at the end'"]
restart = "never"
min_uptime = "0s"
"#,
    );
    supd.wait_state("tail", "exited");
    supd.terminate();
    let out = supd.stdout.lines();
    assert_eq!(out, ["tail | complete", "tail | no newline at the end"]);
}

#[test]
fn a_line_written_in_pieces_comes_out_whole() {
    let mut supd = Supd::start(
        r#"
[program.slow]
command = ["sh", "-c", "printf 'hel'; sleep 0.2; printf 'lo wor'; sleep 0.2; printf 'ld\n'; exec sleep 1000"]
min_uptime = "0s"
"#,
    );
    supd.wait_stdout_line("slow | hello world");
    supd.terminate();
    assert_eq!(supd.stdout.lines(), ["slow | hello world"]);
}

#[test]
fn a_line_longer_than_64k_arrives_in_64k_pieces_with_no_byte_lost() {
    // 200,000 'x' then a newline, then a short line.
    let mut supd = Supd::start(
        r#"
[program.long]
command = ["python3", "-c", "import sys; sys.stdout.write('x' * 200000 + '\\nafter\\n')"]
restart = "never"
min_uptime = "0s"
"#,
    );
    supd.wait_state("long", "exited");
    let logs = supd.ctl(&["logs", "long", "-n", "1"]);
    assert_eq!(logs.stdout, "after\n");
    supd.terminate();
    let out = supd.stdout.lines();
    let pieces: Vec<usize> = out
        .iter()
        .map(|l| {
            let body = l.strip_prefix("long | ").expect("prefixed");
            assert!(
                body.bytes().all(|b| b == b'x') || body == "after",
                "{l:.40}"
            );
            body.len()
        })
        .collect();
    assert_eq!(pieces, [65536, 65536, 65536, 200000 - 3 * 65536, 5]);
}
