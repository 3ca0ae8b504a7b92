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
/// tests running side by side, the developer's sessions and a server still exiting never
/// meet.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// Starts a server named `name` (its socket `dir/NAME.tmux`) with a detached 120x30
    /// session `top` running `command` in `dir`.
    fn start(dir: &Path, name: &str, command: &str) -> Tmux {
        let tmux = Tmux {
            socket: dir.join(format!("{name}.tmux")),
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

/// `sh -c` text for the pane: records the terminal's settings, runs `supctl top` (its
/// stderr into `top.err`), records the settings again and then top's exit code (in
/// `top.exit`, last), and keeps the shell there so the pane can be looked at.
fn top_in_shell(supd: &Supd) -> String {
    format!(
        "stty -g > stty.before; {} --socket {} top 2> top.err; code=$?; \
         stty -g > stty.after; echo $code > top.exit; exec sleep 1000",
        bin("supctl").display(),
        supd.socket.display()
    )
}

/// Waits until top has exited in the pane; what it left: its exit code, its stderr, and
/// whether the terminal's settings are as before.
fn top_ended(dir: &Path) -> (String, String, bool) {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    let code = wait_until("supctl top to exit in the pane", DEADLINE, || {
        let code = read("top.exit");
        code.ends_with('\n').then(|| code.trim().to_string())
    });
    let before = read("stty.before");
    assert!(!before.is_empty(), "stty -g printed nothing");
    (code, read("top.err"), read("stty.after") == before)
}

/// The pane shows the normal screen again, with the cursor.
fn assert_screen_restored(tmux: &Tmux) {
    assert_eq!(
        tmux.pane("#{alternate_on}"),
        "0",
        "back on the normal screen"
    );
    assert_eq!(tmux.pane("#{cursor_flag}"), "1", "the cursor shows again");
}

#[test]
fn top_lists_the_busiest_first_sorts_on_keys_and_q_restores_the_terminal() {
    if let Err(why) = ensure_tools(&["tmux"], &["tmux"]) {
        eprintln!("skipped: {why}");
        return;
    }
    let supd = start_programs();
    let dir = supd.dir.path();
    let tmux = Tmux::start(dir, "keys", &top_in_shell(&supd));

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
    let (code, err, settings_back) = top_ended(dir);
    assert_eq!((code.as_str(), err.as_str()), ("0", ""));
    assert!(settings_back, "the terminal's settings are as before");
    assert_screen_restored(&tmux);
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
    let ctrl_c = Tmux::start(&dir, "ctrl-c", &top_in_shell(&supd));
    wait_screen(&ctrl_c, "the table", |rows| rows.len() == 3);
    ctrl_c.keys("C-c");
    let (code, err, settings_back) = top_ended(&dir);
    assert_eq!((code.as_str(), err.as_str()), ("0", ""));
    assert!(settings_back, "the terminal's settings are as before");
    assert_screen_restored(&ctrl_c);
    drop(ctrl_c);
    std::fs::remove_file(dir.join("top.exit")).unwrap();

    let tmux = Tmux::start(&dir, "gone", &top_in_shell(&supd));
    wait_screen(&tmux, "the table", |rows| rows.len() == 3);
    assert_eq!(supd.ctl(&["shutdown"]).code, 0);
    supd.wait_exit(DEADLINE);
    let (code, err, settings_back) = top_ended(&dir);
    assert_eq!(code, "4", "the exit code of 'cannot reach supd'");
    assert!(err.starts_with("supctl: supd went away: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(settings_back, "the terminal's settings are as before");
    assert_screen_restored(&tmux);
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
    let table = wait_until("busy to use CPU and hoard its memory", DEADLINE, || {
        let out = supd.ctl(&["status"]);
        let (_, busy) = status_row(&out.stdout, "busy");
        let (_, hoard) = status_row(&out.stdout, "hoard");
        let busy = percent(busy[5]).is_some_and(|c| c > 0.0);
        let hoarded = size(hoard[6]).is_some_and(|m| m >= 30e6);
        (busy && hoarded).then_some(out.stdout)
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

    // --json has the figures; the whole process group counts (sh, and its sleep once the
    // memory is hoarded).
    let hoard = wait_until("hoard's sleep to be counted", DEADLINE, || {
        let hoard = supd.program("hoard");
        (hoard["usage"]["processes"] == 2).then_some(hoard)
    });
    let usage = &hoard["usage"];
    assert!(
        usage["rss_bytes"].as_u64().is_some_and(|m| m >= 30_000_000),
        "{hoard}"
    );
    assert!(usage["cpu_percent"].as_f64().is_some(), "{hoard}");
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
