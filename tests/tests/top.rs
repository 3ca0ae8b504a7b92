//! `supctl top` on a real terminal (issue 17): under tmux, driven with `send-keys` and read
//! with `capture-pane`, it lists the programs busiest first with real figures, sorts on
//! `m`/`n`/`c`, and `q` (or supd going away) ends it with the terminal as it was; piped, it
//! prints one snapshot. Also `supctl status`'s CPU and MEM columns.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use supd_tests::{DEADLINE, Supd, bin, ensure_tools, wait_until};

/// One busy program, one holding about 40 MB, one asleep; in name order the sleeper comes
/// first, so each sort key puts another program on top.
const PROGRAMS: &str = r#"
[program.busy]
command = ["sh", "-c", "while :; do :; done"]
min_uptime = "0s"

[program.hoard]
command = ["sh", "-c", '''hoard=$(head -c 40000000 /dev/zero | tr '\0' a); while :; do sleep 1000; done''']
min_uptime = "0s"

[program.asleep]
command = "sleep 1000"
min_uptime = "0s"
"#;

/// A tmux server of the test's own (its socket in the test's temp dir, no config file), so
/// tests running side by side and the developer's sessions never meet.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// Starts the server with a detached 120x30 session `top` running `command` in `dir`;
    /// the pane stays after the command exits, so its end can be looked at.
    fn start(dir: &Path, command: &str) -> Tmux {
        let tmux = Tmux {
            socket: dir.join("tmux.sock"),
        };
        let out = tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "120",
            "-y",
            "30",
            "-c",
            &dir.display().to_string(),
            command,
            ";",
            "set-option",
            "-g",
            "remain-on-exit",
            "on",
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        tmux
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-f")
            .arg("/dev/null")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    /// What the pane shows, as text.
    fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", "top"]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        let out = self.run(&["send-keys", "-t", "top", keys]);
        assert!(out.status.success(), "tmux send-keys {keys}: {out:?}");
    }

    /// A tmux format about the pane, such as `#{pane_dead}`.
    fn pane(&self, format: &str) -> String {
        let out = self.run(&["display-message", "-p", "-t", "top", format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until the pane's command has exited; its exit status.
    fn wait_exit(&self, screen: impl Fn() -> String) -> String {
        wait_until("the pane's command to exit", DEADLINE, || {
            (self.pane("#{pane_dead}") == "1").then_some(())
        });
        let status = self.pane("#{pane_dead_status}");
        assert!(!status.is_empty(), "no exit status:\n{}", screen());
        status
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The rows of top's table on `screen`: the cells of each line below the `NAME` header.
fn rows(screen: &str) -> Vec<Vec<String>> {
    screen
        .lines()
        .skip_while(|l| !l.starts_with("NAME"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

/// `12.5%` as 12.5.
fn percent(cell: &str) -> Option<f64> {
    cell.strip_suffix('%')?.parse().ok()
}

/// `812K`, `12.4M`, `1.2G` in bytes.
fn size(cell: &str) -> Option<f64> {
    let (number, unit) = cell.split_at(cell.len().checked_sub(1)?);
    let scale = match unit {
        "B" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(number.parse::<f64>().ok()? * scale)
}

/// Waits until the table on the pane satisfies `good`; the screen then. At the deadline,
/// fails showing the pane.
fn wait_screen(tmux: &Tmux, what: &str, good: impl Fn(&[Vec<String>]) -> bool) -> String {
    let end = Instant::now() + DEADLINE;
    wait_until(what, DEADLINE + DEADLINE, || {
        let screen = tmux.screen();
        if good(&rows(&screen)) {
            return Some(screen);
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}; the pane shows:\n{screen}"
        );
        None
    })
}

/// The cell at `column` of the `row`th row, or "".
fn cell(rows: &[Vec<String>], row: usize, column: usize) -> &str {
    rows.get(row)
        .and_then(|r| r.get(column))
        .map_or("", String::as_str)
}

fn first(rows: &[Vec<String>]) -> &str {
    cell(rows, 0, 0)
}

fn start_programs() -> Supd {
    let supd = Supd::start(PROGRAMS);
    for name in ["busy", "hoard", "asleep"] {
        supd.wait_state(name, "running");
    }
    supd
}

/// `sh -c` text: records the terminal's settings, runs `supctl top`, then records its exit
/// code and the settings again, so the test can see the terminal was restored.
fn top_in_shell(supd: &Supd) -> String {
    format!(
        "stty -g > stty.before; {} --socket {} top; echo $? > top.exit; stty -g > stty.after",
        bin("supctl").display(),
        supd.socket.display()
    )
}

#[test]
fn top_lists_the_busiest_first_sorts_on_keys_and_q_restores_the_terminal() {
    if let Err(why) = ensure_tools(&["tmux"], &["tmux"]) {
        eprintln!("skipped: {why}");
        return;
    }
    let supd = start_programs();
    let dir = supd.dir.path();
    let tmux = Tmux::start(dir, &top_in_shell(&supd));

    let screen = wait_screen(&tmux, "busy on top with CPU in use", |rows| {
        rows.len() == 3
            && first(rows) == "busy"
            && percent(cell(rows, 0, 3)).is_some_and(|c| c > 0.0)
    });
    assert!(tmux.pane("#{alternate_on}") == "1", "{screen}");
    let summary = screen.lines().next().unwrap_or("");
    assert!(
        summary.contains("3 programs: 3 running")
            && summary.contains("CPU ")
            && summary.contains("MEM "),
        "{screen}"
    );
    for row in rows(&screen) {
        assert_eq!(
            row.len(),
            7,
            "NAME STATE PID CPU MEM RESTARTS UPTIME: {row:?}\n{screen}"
        );
        assert_eq!(row[1], "running", "{screen}");
        assert_eq!(row[2], supd.program(&row[0])["pid"].to_string(), "{screen}");
        assert!(size(&row[4]).is_some_and(|m| m > 0.0), "{row:?}\n{screen}");
    }

    tmux.keys("m");
    let screen = wait_screen(&tmux, "hoard on top by memory", |rows| {
        first(rows) == "hoard" && size(cell(rows, 0, 4)).is_some_and(|m| m >= 30e6)
    });
    assert!(screen.contains("sorted by memory"), "{screen}");

    tmux.keys("n");
    let screen = wait_screen(&tmux, "name order", |rows| {
        let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        names == ["asleep", "busy", "hoard"]
    });
    assert!(screen.contains("sorted by name"), "{screen}");

    tmux.keys("c");
    wait_screen(&tmux, "busy on top again", |rows| first(rows) == "busy");

    tmux.keys("q");
    assert_eq!(tmux.wait_exit(|| tmux.screen()), "0");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    assert_eq!(read("top.exit").trim(), "0");
    assert!(!read("stty.before").is_empty());
    assert_eq!(
        read("stty.after"),
        read("stty.before"),
        "the terminal's settings are back"
    );
    assert_eq!(
        tmux.pane("#{alternate_on}"),
        "0",
        "back on the normal screen"
    );
    assert_eq!(tmux.pane("#{cursor_flag}"), "1", "the cursor shows again");
}

#[test]
fn top_ends_restoring_the_terminal_when_supd_goes_away_and_on_ctrl_c() {
    if let Err(why) = ensure_tools(&["tmux"], &["tmux"]) {
        eprintln!("skipped: {why}");
        return;
    }
    let mut supd = start_programs();
    let dir = supd.dir.path().to_path_buf();

    // Ctrl-C quits like q: the terminal does not turn it into a signal while top runs.
    let ctrl_c = Tmux::start(&dir, &top_in_shell(&supd));
    wait_screen(&ctrl_c, "the table", |rows| rows.len() == 3);
    ctrl_c.keys("C-c");
    assert_eq!(ctrl_c.wait_exit(|| ctrl_c.screen()), "0");
    drop(ctrl_c);

    let tmux = Tmux::start(
        &dir,
        &format!(
            "{} --socket {} top 2> top.err; echo $? > top.exit",
            bin("supctl").display(),
            supd.socket.display()
        ),
    );
    wait_screen(&tmux, "the table", |rows| rows.len() == 3);
    assert_eq!(supd.ctl(&["shutdown"]).code, 0);
    supd.wait_exit(DEADLINE);
    tmux.wait_exit(|| tmux.screen());
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    assert_eq!(
        read("top.exit").trim(),
        "4",
        "the exit code of 'cannot reach supd'"
    );
    let err = read("top.err");
    assert!(err.starts_with("supctl: supd went away: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(
        tmux.pane("#{alternate_on}"),
        "0",
        "back on the normal screen"
    );
}

#[test]
fn piped_top_prints_one_snapshot() {
    let supd = start_programs();
    let out = supd.ctl(&["top"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        !out.stdout.contains('\x1b'),
        "plain text when piped: {out:?}"
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].contains("3 programs: 3 running"), "{}", out.stdout);
    assert_eq!(lines[1], "sorted by CPU", "{}", out.stdout);
    let table = rows(&out.stdout);
    let mut names: Vec<&str> = table.iter().map(|r| r[0].as_str()).collect();
    names.sort();
    assert_eq!(names, ["asleep", "busy", "hoard"], "{}", out.stdout);
    assert_eq!(
        supd.ctl(&["top", "wbe"]).code,
        2,
        "an unknown name is a usage error"
    );
}

#[test]
fn status_shows_cpu_and_memory_of_programs_with_a_process() {
    let supd = Supd::start(&format!(
        "{PROGRAMS}\n[program.off]\ncommand = \"sleep 1000\"\nautostart = false\n"
    ));
    for name in ["busy", "hoard", "asleep"] {
        supd.wait_state(name, "running");
    }
    let table = wait_until("busy to have used CPU", DEADLINE, || {
        let out = supd.ctl(&["status"]);
        let (_, busy) = status_row(&out.stdout, "busy");
        percent(busy[5])
            .is_some_and(|c| c > 0.0)
            .then_some(out.stdout)
    });
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME", "STATE", "PID", "UPTIME", "RESTARTS", "CPU", "MEM", "INFO"
        ],
        "{table}"
    );
    for name in ["busy", "hoard", "asleep"] {
        let (line, cells) = status_row(&table, name);
        assert!(percent(cells[5]).is_some(), "{line}");
        assert!(size(cells[6]).is_some_and(|m| m > 0.0), "{line}");
    }
    let (line, hoard) = status_row(&table, "hoard");
    assert!(size(hoard[6]).is_some_and(|m| m >= 30e6), "{line}");
    let (line, off) = status_row(&table, "off");
    assert_eq!(off[1..7], ["stopped", "-", "-", "0", "-", "-"], "{line}");

    let hoard = supd.program("hoard");
    let usage = &hoard["usage"];
    assert!(
        usage["rss_bytes"].as_u64().is_some_and(|m| m >= 30_000_000),
        "{hoard}"
    );
    assert!(
        usage["processes"].as_u64().is_some_and(|n| n >= 2),
        "sh and its sleep: {hoard}"
    );
    assert!(supd.program("off").get("usage").is_none());
}

/// The line of `name` in a status table, and its cells.
fn status_row<'a>(table: &'a str, name: &str) -> (&'a str, Vec<&'a str>) {
    let line = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row for {name}:\n{table}"));
    (line, line.split_whitespace().collect())
}
