//! The `entr` watcher pattern: a program whose only job is to restart another one when
//! files change, e.g.
//!
//! ```text
//! bash -c 'find /app/app -name "*.py" | entr -n -r supervisorctl -s unix:///tmp/s.sock restart celery-worker'
//! ```
//!
//! This module owns recognising it, and nothing about the programs involved: [`detect`]
//! reads an argv and says whether it is such a watcher and, if so, which files it watches
//! and what it does to which supervisorctl names. The caller attaches the watch section to
//! the target programs and drops the watcher.
//!
//! Recognised: `sh|bash|dash|ash|zsh|ksh [-opts] -c SCRIPT` where SCRIPT is exactly
//! `LISTER | entr [-acdnprxz...] supervisorctl [options] restart NAME...` (or
//! `signal SIG NAME...`, or `entr -s 'supervisorctl ...'`), and LISTER is
//! - `find ROOT... [-type f] [-name P | -iname P] [-o ...] [-not -name P | ! -path P]`: the
//!   roots become `paths`, `-name P` becomes the include glob `**/P`, negated ones excludes;
//! - `ls [-1d] DIR/GLOB...`: `DIR` becomes a path and `GLOB` an include glob.
//!
//! Anything else that uses entr is reported as [`Detect::Unrecognized`] with the reason, so
//! the caller keeps the program and says why.

/// What a command turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Detect {
    /// It does not use entr.
    NotEntr,
    Watcher(Watcher),
    /// It uses entr in a way this module does not convert; the reason is a phrase.
    Unrecognized(String),
}

/// A recognised watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Watcher {
    /// Watch roots, as written (relative ones are relative to the watcher's directory).
    pub paths: Vec<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub action: Action,
    /// supervisorctl names: `name`, `group:*`, `group:name`.
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Restart,
    /// A signal name without `SIG`, e.g. `HUP`.
    Signal(String),
}

const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh"];

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Whether any word of `argv` (or of a shell script in it) runs `entr`.
fn uses_entr(argv: &[String]) -> bool {
    argv.iter().any(|arg| {
        arg.split(|c: char| c.is_whitespace() || "|;&()'\"`".contains(c))
            .any(|w| basename(w) == "entr")
    })
}

/// Reads `argv` (the program's final command).
pub(crate) fn detect(argv: &[String]) -> Detect {
    if !uses_entr(argv) {
        return Detect::NotEntr;
    }
    match recognise(argv) {
        Ok(w) => Detect::Watcher(w),
        Err(reason) => Detect::Unrecognized(reason),
    }
}

fn recognise(argv: &[String]) -> Result<Watcher, String> {
    let first = argv.first().map(|s| basename(s)).unwrap_or_default();
    if first == "entr" {
        return Err(
            "entr reads the files to watch from its standard input, which supervisord does not \
             provide"
                .to_string(),
        );
    }
    if !SHELLS.contains(&first) {
        return Err(format!(
            "the command runs {first:?}, not a shell running entr"
        ));
    }
    // Options up to the one that holds `c` (`-c`, `-ec`, `-lc`), then the script.
    let mut script = None;
    for (i, arg) in argv.iter().enumerate().skip(1) {
        let Some(flags) = arg.strip_prefix('-') else {
            break;
        };
        if flags.contains('c') && flags.chars().all(|c| c.is_ascii_alphabetic()) {
            script = argv.get(i + 1);
            break;
        }
    }
    let script = script.ok_or("the shell is not given a script with -c")?;
    let stages = lex_script(script)?;
    let [lister, watcher] = stages.as_slice() else {
        return Err(format!(
            "the script is a pipeline of {} commands, not \"LIST-FILES | entr ...\"",
            stages.len()
        ));
    };
    let (paths, include, exclude) = files(lister)?;
    let (action, targets) = entr_stage(watcher)?;
    Ok(Watcher {
        paths,
        include,
        exclude,
        action,
        targets,
    })
}

/// Splits a shell script into the words of each `|`-separated command. Only quoting,
/// backslashes and `|` are understood; anything that needs a real shell (`;`, `&&`, `$`,
/// redirections, subshells, several lines) is refused with the reason.
fn lex_script(script: &str) -> Result<Vec<Vec<String>>, String> {
    let script = script.trim();
    let mut stages: Vec<Vec<String>> = Vec::new();
    let mut stage: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = script.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                stage.extend(word.take());
            }
            '|' => {
                stage.extend(word.take());
                stages.push(std::mem::take(&mut stage));
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("the script has an unclosed quote".to_string()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => w.push(e),
                            Some('\n') => {}
                            Some(other) => {
                                w.push('\\');
                                w.push(other);
                            }
                            None => return Err("the script has an unclosed quote".to_string()),
                        },
                        Some(c @ ('$' | '`')) => {
                            return Err(format!("the script expands {c:?} at run time"));
                        }
                        Some(c) => w.push(c),
                        None => return Err("the script has an unclosed quote".to_string()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(e) => word.get_or_insert_with(String::new).push(e),
                None => return Err("the script ends with a backslash".to_string()),
            },
            ';' | '&' | '<' | '>' | '(' | ')' | '$' | '`' | '\n' | '\r' => {
                return Err(format!(
                    "the script uses {c:?}, which needs a shell (only \"LIST-FILES | entr ...\" \
                     is converted)"
                ));
            }
            _ => word.get_or_insert_with(String::new).push(c),
        }
    }
    stage.extend(word.take());
    stages.push(stage);
    for stage in &mut stages {
        if stage.first().is_some_and(|w| w == "exec") {
            stage.remove(0);
        }
        if stage.is_empty() {
            return Err("the script has an empty command in its pipeline".to_string());
        }
    }
    Ok(stages)
}

type Files = (Vec<String>, Vec<String>, Vec<String>);

/// The lister: `find ...` or `ls ...` -> (paths, include, exclude).
fn files(words: &[String]) -> Result<Files, String> {
    let (name, args) = words.split_first().ok_or("the file list is empty")?;
    match basename(name) {
        "find" => find(args),
        "ls" => ls(args),
        other => Err(format!(
            "the list of files comes from {other:?} (only find and ls are converted)"
        )),
    }
}

fn find(args: &[String]) -> Result<Files, String> {
    let mut i = 0;
    while args
        .get(i)
        .is_some_and(|a| matches!(a.as_str(), "-H" | "-L" | "-P"))
    {
        i += 1;
    }
    let mut roots = Vec::new();
    while let Some(a) = args.get(i) {
        if a.starts_with('-') || a == "(" || a == "!" {
            break;
        }
        roots.push(a.clone());
        i += 1;
    }
    if roots.is_empty() {
        roots.push(".".to_string());
    }
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    while let Some(a) = args.get(i) {
        let value = |n: usize| {
            args.get(i + n)
                .ok_or_else(|| format!("find's {a} has no value"))
        };
        match a.as_str() {
            "-name" | "-iname" => {
                include.push(name_glob(value(1)?, a == "-iname")?);
                i += 2;
            }
            "-type" => {
                if value(1)? != "f" {
                    return Err(format!("find selects -type {}, not files", value(1)?));
                }
                i += 2;
            }
            "-o" | "-or" | "(" | ")" | "-print" => i += 1,
            "-not" | "!" => {
                let what = value(1)?;
                let pattern = value(2)?;
                match what.as_str() {
                    "-name" | "-iname" => exclude.push(name_glob(pattern, what == "-iname")?),
                    "-path" | "-ipath" => exclude.push(path_glob(pattern, &roots)?),
                    _ => return Err(format!("find's {a} {what} has no watch equivalent")),
                }
                i += 3;
            }
            other => return Err(format!("find's {other} has no watch equivalent")),
        }
    }
    Ok((roots, include, exclude))
}

/// `-name P` matches the last path component anywhere below the roots: `**/P`.
fn name_glob(pattern: &str, case_insensitive: bool) -> Result<String, String> {
    if pattern.is_empty() || pattern.contains('/') {
        return Err(format!("find's -name {pattern:?} matches no file name"));
    }
    let pattern = if case_insensitive {
        any_case(pattern)
    } else {
        pattern.to_string()
    };
    Ok(format!("**/{pattern}"))
}

/// `-path P` matches the whole path as find prints it: `*/x/*` -> `**/x/**`,
/// `ROOT/x/*` -> `x/**`.
fn path_glob(pattern: &str, roots: &[String]) -> Result<String, String> {
    let relative = if let Some(rest) = pattern.strip_prefix("*/") {
        format!("**/{rest}")
    } else if let Some(rest) = roots
        .iter()
        .find_map(|r| pattern.strip_prefix(&format!("{}/", r.trim_end_matches('/'))))
    {
        rest.to_string()
    } else {
        return Err(format!(
            "find's -path {pattern:?} is not relative to the watched roots"
        ));
    };
    let glob = match relative.strip_suffix("/*") {
        Some(dir) => format!("{dir}/**"),
        None => relative,
    };
    if glob.is_empty() {
        return Err(format!("find's -path {pattern:?} matches nothing"));
    }
    Ok(glob)
}

/// `*.py` -> `*.[pP][yY]` (letters outside `[...]` only).
fn any_case(glob: &str) -> String {
    let mut out = String::new();
    let mut in_class = false;
    for c in glob.chars() {
        match c {
            '[' => in_class = true,
            ']' => in_class = false,
            _ => {}
        }
        if !in_class && c.is_alphabetic() && c.to_lowercase().ne(c.to_uppercase()) {
            out.push('[');
            out.extend(c.to_lowercase());
            out.extend(c.to_uppercase());
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}

fn ls(args: &[String]) -> Result<Files, String> {
    let mut paths: Vec<String> = Vec::new();
    let mut include: Vec<String> = Vec::new();
    let mut plain = false;
    for arg in args {
        if let Some(flags) = arg.strip_prefix('-') {
            if !flags.is_empty() && flags.chars().all(|c| c == '1' || c == 'd') {
                continue;
            }
            return Err(format!("ls {arg} has no watch equivalent"));
        }
        match arg.find(['*', '?', '[']) {
            Some(glob_at) => {
                let (dir, glob) = match arg[..glob_at].rfind('/') {
                    Some(0) => ("/", &arg[1..]),
                    Some(slash) => (&arg[..slash], &arg[slash + 1..]),
                    None => (".", arg.as_str()),
                };
                if !paths.iter().any(|p| p == dir) {
                    paths.push(dir.to_string());
                }
                if !include.iter().any(|g| g == glob) {
                    include.push(glob.to_string());
                }
            }
            None => {
                plain = true;
                paths.push(arg.clone());
            }
        }
    }
    if plain && !include.is_empty() {
        return Err("ls mixes plain paths and globs".to_string());
    }
    if paths.is_empty() {
        paths.push(".".to_string());
    }
    Ok((paths, include, Vec::new()))
}

/// `entr [flags] supervisorctl [options] restart NAME...`.
fn entr_stage(words: &[String]) -> Result<(Action, Vec<String>), String> {
    let (name, args) = words.split_first().ok_or("the watcher command is empty")?;
    if basename(name) != "entr" {
        return Err(format!(
            "the files are piped to {:?}, not entr",
            basename(name)
        ));
    }
    let mut i = 0;
    let mut shell = false;
    while let Some(flags) = args.get(i).and_then(|a| a.strip_prefix('-')) {
        if flags.is_empty() || !flags.chars().all(|c| "acdnprsxz".contains(c)) {
            return Err(format!("entr's option -{flags} is not understood"));
        }
        shell |= flags.contains('s');
        i += 1;
    }
    let utility: Vec<String> = if shell {
        let [script] = &args[i..] else {
            return Err("entr -s takes one shell command".to_string());
        };
        let stages = lex_script(script)?;
        let [stage] = stages.as_slice() else {
            return Err("entr -s runs a pipeline".to_string());
        };
        stage.clone()
    } else {
        args[i..].to_vec()
    };
    supervisorctl(&utility)
}

fn supervisorctl(words: &[String]) -> Result<(Action, Vec<String>), String> {
    let (name, args) = words.split_first().ok_or("entr is given no command")?;
    if basename(name) != "supervisorctl" {
        return Err(format!("entr runs {:?}, not supervisorctl", basename(name)));
    }
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if !arg.starts_with('-') {
            break;
        }
        let takes_value = ["-c", "-s", "-u", "-p", "-r"].contains(&arg.as_str())
            || [
                "--configuration",
                "--serverurl",
                "--username",
                "--password",
                "--history-file",
            ]
            .contains(&arg.as_str());
        let attached = (arg.len() > 2
            && ["-c", "-s", "-u", "-p", "-r"]
                .iter()
                .any(|o| arg.starts_with(o)))
            || (arg.starts_with("--") && arg.contains('='));
        if takes_value {
            i += 2;
        } else if attached || arg == "-i" || arg == "--interactive" {
            i += 1;
        } else {
            return Err(format!("supervisorctl's option {arg} is not understood"));
        }
    }
    let rest = args.get(i..).unwrap_or_default();
    let (action, names) = match rest.split_first() {
        Some((verb, names)) if verb == "restart" => (Action::Restart, names),
        Some((verb, rest)) if verb == "signal" => {
            let (sig, names) = rest
                .split_first()
                .ok_or("supervisorctl signal has no signal")?;
            let sig = supd_config::signal::parse(sig)?;
            let name = supd_config::signal::name(sig);
            let name = name.strip_prefix("SIG").unwrap_or(name);
            (Action::Signal(name.to_string()), names)
        }
        Some((verb, _)) => {
            return Err(format!("supervisorctl {verb} is not a restart or a signal"));
        }
        None => return Err("supervisorctl is given no command".to_string()),
    };
    if names.is_empty() {
        return Err("supervisorctl is given no program name".to_string());
    }
    if names.iter().any(|n| n == "all") {
        return Err("supervisorctl acts on all programs".to_string());
    }
    Ok((action, names.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn watcher(script: &str) -> Watcher {
        match detect(&argv(&["bash", "-c", script])) {
            Detect::Watcher(w) => w,
            other => panic!("{script}: {other:?}"),
        }
    }

    fn unrecognized(script: &str) -> String {
        match detect(&argv(&["bash", "-c", script])) {
            Detect::Unrecognized(why) => why,
            other => panic!("{script}: {other:?}"),
        }
    }

    #[test]
    fn the_celery_seed_pattern() {
        let w = watcher(
            "find /app/app -name \"*.py\" | entr -n -r supervisorctl -s unix:///tmp/supervisor.sock restart celery-worker",
        );
        assert_eq!(
            w,
            Watcher {
                paths: vec!["/app/app".into()],
                include: vec!["**/*.py".into()],
                exclude: vec![],
                action: Action::Restart,
                targets: vec!["celery-worker".into()],
            }
        );
    }

    #[test]
    fn entr_and_supervisorctl_option_variants() {
        for script in [
            "find . -name '*.py' | entr supervisorctl restart web",
            "find . -name '*.py' | entr -rn -d supervisorctl -c /etc/s.conf restart web",
            "find . -name '*.py' | entr -p supervisorctl -sunix:///s restart web",
            "find . -name '*.py' | entr supervisorctl --serverurl=unix:///s restart web",
            "find . -name '*.py' | exec entr -n /usr/bin/supervisorctl restart web",
            "find . -name '*.py' | entr -s 'supervisorctl restart web'",
        ] {
            let w = watcher(script);
            assert_eq!(w.targets, ["web"], "{script}");
            assert_eq!(w.action, Action::Restart, "{script}");
        }
        let w = watcher(
            "find src -type f -name '*.js' -o -name '*.ts' | entr supervisorctl restart a b:*",
        );
        assert_eq!(w.paths, ["src"]);
        assert_eq!(w.include, ["**/*.js", "**/*.ts"]);
        assert_eq!(w.targets, ["a", "b:*"]);
    }

    #[test]
    fn signals_excludes_and_case_insensitive_names() {
        let w = watcher(
            "find /etc/nginx -iname '*.conf' ! -path '*/old/*' -not -name 'x*' | entr supervisorctl signal sighup nginx",
        );
        assert_eq!(w.action, Action::Signal("HUP".into()));
        assert_eq!(w.include, ["**/*.[cC][oO][nN][fF]"]);
        assert_eq!(w.exclude, ["**/old/**", "**/x*"]);
    }

    #[test]
    fn ls_globs() {
        let w = watcher("ls /app/*.py /lib/*.py | entr supervisorctl restart web");
        assert_eq!(w.paths, ["/app", "/lib"]);
        assert_eq!(w.include, ["*.py"]);
        let w = watcher("ls -d src | entr supervisorctl restart web");
        assert_eq!(w.paths, ["src"]);
        assert!(w.include.is_empty());
    }

    #[test]
    fn other_entr_uses_are_unrecognized_with_a_reason() {
        assert!(unrecognized("find . | entr -r python app.py").contains("not supervisorctl"));
        assert!(unrecognized("find . | entr supervisorctl restart all").contains("all"));
        assert!(unrecognized("find . | entr supervisorctl status").contains("status"));
        assert!(unrecognized("find $DIR | entr supervisorctl restart x").contains("'$'"));
        assert!(unrecognized("cd /app; find . | entr supervisorctl restart x").contains("';'"));
        assert!(unrecognized("find . -mtime 1 | entr supervisorctl restart x").contains("-mtime"));
        assert!(unrecognized("git ls-files | entr supervisorctl restart x").contains("git"));
        assert!(unrecognized("find . | sort | entr supervisorctl restart x").contains("3"));
        assert!(unrecognized("find . | entr supervisorctl signal BOGUS x").contains("BOGUS"));
        match detect(&argv(&["entr", "-r", "supervisorctl", "restart", "x"])) {
            Detect::Unrecognized(why) => assert!(why.contains("standard input")),
            other => panic!("{other:?}"),
        }
        match detect(&argv(&["python", "-c", "print('entr')"])) {
            Detect::Unrecognized(why) => assert!(why.contains("python")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn commands_without_entr_are_not_watchers() {
        assert_eq!(detect(&argv(&["daphne", "-p", "8000"])), Detect::NotEntr);
        assert_eq!(
            detect(&argv(&["bash", "-c", "sentry-cli x"])),
            Detect::NotEntr
        );
        assert_eq!(detect(&[]), Detect::NotEntr);
    }
}
