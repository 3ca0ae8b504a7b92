//! Program names as users type them: `all`, several names, typos, the instances of a
//! program with `instances = N` (`worker` means `worker:0` .. `worker:N-1` when no program is
//! named `worker` itself; `worker:1` is one of them), the groups of `[group.NAME]`
//! (`group:NAME`), and shell-style globs over the names (`web*`, `worker:*`).
//!
//! One resolution rule for every command that names programs: each word stands for its
//! programs — a glob's in program order, a group's in config order — the words' in the
//! order given, and each program once. A word that stands for nothing (an unknown name or
//! group, a glob that matches no program) is an error naming it.

use std::cell::RefCell;

use globset::GlobBuilder;
use supd_config::GroupSpec;
use supd_core::ProgId;

/// What `group:NAME` starts with on the command line.
const GROUP_PREFIX: &str = "group:";

/// The programs' names, by program id, and the groups. A reload adds names and retires
/// others (the id stays taken, with its name for messages, but the name no longer resolves
/// to it), and replaces the groups.
pub struct Names {
    names: RefCell<Vec<Option<String>>>,
    retired: RefCell<Vec<String>>,
    groups: RefCell<Vec<GroupSpec>>,
}

impl Names {
    pub fn new(names: Vec<String>, groups: Vec<GroupSpec>) -> Self {
        Names {
            retired: RefCell::new(vec![String::new(); names.len()]),
            names: RefCell::new(names.into_iter().map(Some).collect()),
            groups: RefCell::new(groups),
        }
    }

    /// Replaces the table (after a reload): every id's name, and which ids are retired.
    pub fn set(&self, names: Vec<String>, retired: Vec<bool>) {
        let mut active = Vec::with_capacity(names.len());
        let mut old = Vec::with_capacity(names.len());
        for (name, gone) in names.into_iter().zip(retired) {
            if gone {
                active.push(None);
                old.push(name);
            } else {
                active.push(Some(name));
                old.push(String::new());
            }
        }
        *self.names.borrow_mut() = active;
        *self.retired.borrow_mut() = old;
    }

    /// Replaces the groups (after a reload).
    pub fn set_groups(&self, groups: Vec<GroupSpec>) {
        *self.groups.borrow_mut() = groups;
    }

    /// The groups (`[group.NAME]`), as the config has them now.
    pub fn groups(&self) -> Vec<GroupSpec> {
        self.groups.borrow().clone()
    }

    /// The name of `prog`, retired or not (`#N` for an id this table has not heard of).
    pub fn name(&self, prog: ProgId) -> String {
        match self.names.borrow().get(prog) {
            Some(Some(name)) => name.clone(),
            Some(None) => self.retired.borrow().get(prog).cloned().unwrap_or_default(),
            None => format!("#{prog}"),
        }
    }

    /// Resolves what a client named (see the module docs): names, `all`, `group:NAME` and
    /// globs, in the order given, each program once. With no names, `empty_means_all`
    /// decides between every program and an error.
    ///
    /// The error names every word that stands for nothing, with the closest known name,
    /// e.g. `no program named "wbe" (did you mean "web"?)`.
    pub fn resolve(
        &self,
        requested: &[String],
        empty_means_all: bool,
    ) -> Result<Vec<ProgId>, String> {
        let names = self.names.borrow();
        let all = || {
            names
                .iter()
                .enumerate()
                .filter(|(_, n)| n.is_some())
                .map(|(p, _)| p)
        };
        if requested.is_empty() {
            return if empty_means_all {
                Ok(all().collect())
            } else {
                Err("name at least one program, or all".into())
            };
        }
        let id = |name: &str| names.iter().position(|n| n.as_deref() == Some(name));
        let mut progs = Vec::new();
        let mut unknown = Vec::new();
        for word in requested {
            if word == "all" {
                progs.extend(all());
            } else if let Some(group) = word.strip_prefix(GROUP_PREFIX) {
                match self.group(group) {
                    Ok(members) => progs.extend(members.iter().filter_map(|m| id(m))),
                    Err(e) => unknown.push(e),
                }
            } else if let Some(p) = id(word) {
                progs.push(p);
            } else if is_glob(word) {
                match glob_matches(&names, word) {
                    Ok(matched) => progs.extend(matched),
                    Err(e) => unknown.push(e),
                }
            } else if let Some(group) = instances_of(&names, word) {
                progs.extend(group);
            } else {
                unknown.push(unknown_name(&names, word));
            }
        }
        if !unknown.is_empty() {
            return Err(unknown.join("; "));
        }
        let mut seen = vec![false; names.len()];
        progs.retain(|&p| !std::mem::replace(&mut seen[p], true));
        Ok(progs)
    }

    /// The programs of group `name`, or why there are none.
    fn group(&self, name: &str) -> Result<Vec<String>, String> {
        let groups = self.groups.borrow();
        let Some(group) = groups.iter().find(|g| g.name == name) else {
            let known: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
            return Err(match supd_config::closest(name, known.iter().copied()) {
                Some(near) => format!("no group named {name:?} (did you mean \"group:{near}\"?)"),
                None if known.is_empty() => {
                    format!("no group named {name:?} (the config has no [group.NAME] tables)")
                }
                None => format!("no group named {name:?} (groups: {})", known.join(", ")),
            });
        };
        if group.programs.is_empty() {
            return Err(format!(
                "group {name:?} has no program that runs (the active profiles leave them all out)"
            ));
        }
        Ok(group.programs.clone())
    }
}

/// True when `word` has a shell glob character: `*`, `?`, `[` or `{`.
fn is_glob(word: &str) -> bool {
    word.contains(['*', '?', '[', '{'])
}

/// The ids of the programs whose name `pattern` matches, in id order; an error when it is
/// not a valid glob or matches none.
fn glob_matches(names: &[Option<String>], pattern: &str) -> Result<Vec<ProgId>, String> {
    let glob = GlobBuilder::new(pattern)
        .backslash_escape(true)
        .build()
        .map_err(|e| format!("invalid pattern {pattern:?}: {}", e.kind()))?
        .compile_matcher();
    let matched: Vec<ProgId> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.as_deref().is_some_and(|n| glob.is_match(n)))
        .map(|(p, _)| p)
        .collect();
    if matched.is_empty() {
        let known: Vec<&str> = names.iter().flatten().map(String::as_str).collect();
        return Err(if known.is_empty() {
            format!("no program matches {pattern:?} (the config has no programs)")
        } else {
            format!(
                "no program matches {pattern:?} (programs: {})",
                known.join(", ")
            )
        });
    }
    Ok(matched)
}

/// The ids of the instances of `base` (`base:0`, `base:1`, ...), by instance number; `None`
/// when there are none.
fn instances_of(names: &[Option<String>], base: &str) -> Option<Vec<ProgId>> {
    let mut group: Vec<(u32, ProgId)> = names
        .iter()
        .enumerate()
        .filter_map(|(p, n)| {
            let (b, i) = supd_config::split_instance(n.as_deref()?)?;
            (b == base).then_some((i, p))
        })
        .collect();
    if group.is_empty() {
        return None;
    }
    group.sort_unstable();
    Some(group.into_iter().map(|(_, p)| p).collect())
}

fn unknown_name(names: &[Option<String>], name: &str) -> String {
    let known: Vec<&str> = names.iter().flatten().map(String::as_str).collect();
    // The base names of instances are names too (`worker` for `worker:0` ...).
    let mut candidates = known.clone();
    for n in &known {
        if let Some((base, _)) = supd_config::split_instance(n)
            && !candidates.contains(&base)
        {
            candidates.push(base);
        }
    }
    match supd_config::closest(name, candidates.iter().copied()) {
        Some(near) => format!("no program named {name:?} (did you mean {near:?}?)"),
        None if known.is_empty() => {
            format!("no program named {name:?} (the config has no programs)")
        }
        None => format!("no program named {name:?} (programs: {})", known.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names::new(
            vec!["web".into(), "worker".into(), "vite".into()],
            Vec::new(),
        )
    }

    #[test]
    fn all_and_names_resolve_in_order_once_each() {
        assert_eq!(
            names()
                .resolve(&["vite".into(), "all".into()], false)
                .unwrap(),
            [2, 0, 1]
        );
        assert_eq!(names().resolve(&[], true).unwrap(), [0, 1, 2]);
        assert!(names().resolve(&[], false).is_err());
    }

    #[test]
    fn unknown_names_suggest_the_closest() {
        assert_eq!(
            names().resolve(&["wbe".into()], false).unwrap_err(),
            "no program named \"wbe\" (did you mean \"web\"?)"
        );
        assert_eq!(
            names().resolve(&["nginx".into()], false).unwrap_err(),
            "no program named \"nginx\" (programs: web, worker, vite)"
        );
    }

    fn with_instances() -> Names {
        Names::new(
            ["web", "celery:0", "celery:1", "celery:2", "celery-beat"]
                .map(String::from)
                .to_vec(),
            vec![GroupSpec {
                name: "celery".into(),
                programs: ["celery-beat", "celery:0", "celery:1", "celery:2"]
                    .map(String::from)
                    .to_vec(),
            }],
        )
    }

    #[test]
    fn a_base_name_means_all_its_instances_in_order() {
        let n = with_instances();
        assert_eq!(n.resolve(&["celery".into()], false).unwrap(), [1, 2, 3]);
        assert_eq!(n.resolve(&["celery:1".into()], false).unwrap(), [2]);
        assert_eq!(
            n.resolve(&["celery:2".into(), "celery".into()], false)
                .unwrap(),
            [3, 1, 2]
        );
        assert_eq!(n.resolve(&["celery-beat".into()], false).unwrap(), [4]);
        assert!(n.resolve(&["celery:3".into()], false).is_err());
    }

    #[test]
    fn retired_instances_do_not_resolve_and_suggestions_know_base_names() {
        let n = with_instances();
        n.set(
            ["web", "celery:0", "celery:1", "celery:2", "celery-beat"]
                .map(String::from)
                .to_vec(),
            vec![false, false, false, true, false],
        );
        assert_eq!(n.resolve(&["celery".into()], false).unwrap(), [1, 2]);
        assert_eq!(
            n.resolve(&["celry".into()], false).unwrap_err(),
            "no program named \"celry\" (did you mean \"celery\"?)"
        );
        assert_eq!(
            n.resolve(&["celery:5".into()], false).unwrap_err(),
            "no program named \"celery:5\" (did you mean \"celery:0\"?)"
        );
    }

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn globs_match_names_and_instances_in_program_order() {
        let n = with_instances();
        assert_eq!(n.resolve(&words(&["celery:*"]), false).unwrap(), [1, 2, 3]);
        assert_eq!(
            n.resolve(&words(&["celery*"]), false).unwrap(),
            [1, 2, 3, 4]
        );
        assert_eq!(n.resolve(&words(&["*b*"]), false).unwrap(), [0, 4]);
        assert_eq!(
            n.resolve(&words(&["celery:[12]", "web"]), false).unwrap(),
            [2, 3, 0]
        );
        assert_eq!(
            n.resolve(&words(&["ng*"]), false).unwrap_err(),
            "no program matches \"ng*\" (programs: web, celery:0, celery:1, celery:2, celery-beat)"
        );
        assert!(
            n.resolve(&words(&["[web"]), false)
                .unwrap_err()
                .starts_with("invalid pattern \"[web\": ")
        );
    }

    #[test]
    fn a_group_means_its_programs_in_config_order_each_once() {
        let n = with_instances();
        assert_eq!(
            n.resolve(&words(&["group:celery"]), false).unwrap(),
            [4, 1, 2, 3]
        );
        assert_eq!(
            n.resolve(&words(&["celery:2", "group:celery", "web"]), false)
                .unwrap(),
            [3, 4, 1, 2, 0]
        );
        assert_eq!(
            n.resolve(&words(&["group:celry"]), false).unwrap_err(),
            "no group named \"celry\" (did you mean \"group:celery\"?)"
        );
        assert_eq!(
            names().resolve(&words(&["group:x"]), false).unwrap_err(),
            "no group named \"x\" (the config has no [group.NAME] tables)"
        );
    }

    #[test]
    fn groups_follow_a_reload() {
        let n = with_instances();
        n.set_groups(vec![
            GroupSpec {
                name: "front".into(),
                programs: vec!["web".into()],
            },
            GroupSpec {
                name: "later".into(),
                programs: Vec::new(),
            },
        ]);
        assert_eq!(n.resolve(&words(&["group:front"]), false).unwrap(), [0]);
        assert!(n.resolve(&words(&["group:celery"]), false).is_err());
        assert_eq!(
            n.resolve(&words(&["group:later"]), false).unwrap_err(),
            "group \"later\" has no program that runs (the active profiles leave them all out)"
        );
    }
}
