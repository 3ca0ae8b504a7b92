//! `[group.NAME]`: several programs under one name for the command line
//! (`supctl restart group:celery`), as supervisord's `[group:x]`.
//!
//! This module owns the group rules:
//! - A group's name follows the rules of program names. It may be the name of a program,
//!   as in supervisord: `group:web` and `web` are told apart on the command line.
//! - `programs` is required: a non-empty array naming programs of any file; a program with
//!   `instances` stands for all of them. A name listed twice counts once.
//! - The group's programs are those that run with the active profiles, in config order (not
//!   the order of the list), each once.
//!
//! Groups may be defined in any file of a config, each once (see [`super`]).

use super::select::Universe;
use super::suggest::Hints;
use super::walker::{Section, Walker};
use crate::spec::GroupSpec;

/// The keys of `[group.NAME]`.
pub const GROUP_KEYS: &[&str] = &["programs"];

/// supervisord's `[group:x]` keys.
const GROUP_HINTS: Hints = &[(
    "priority",
    "supd orders programs with depends_on = [\"...\"]",
)];

/// Reads `[group.NAME]` against the programs of every file.
pub(super) fn group(w: &mut Walker, name: &str, sec: &Section, universe: &Universe) -> GroupSpec {
    w.check_keys(sec, GROUP_KEYS, GROUP_HINTS);
    let mut group = GroupSpec {
        name: name.to_string(),
        programs: Vec::new(),
    };
    let Some(field) = sec.get("programs") else {
        w.error(sec.at, &sec.path, "missing required key \"programs\"");
        return group;
    };
    let Some(items) = w.string_items(
        &field,
        "an array of program names like [\"web\", \"worker\"]",
    ) else {
        return group;
    };
    if items.is_empty() {
        w.bad(
            &field,
            "expected at least one program name, found an empty array",
        );
        return group;
    }
    let mut members: Vec<&str> = Vec::with_capacity(items.len());
    for (program, at) in &items {
        match universe.get(program) {
            Some(known) => members.push(&known.name),
            None => w.error(*at, &field.key, universe.unknown(program, "a group")),
        }
    }
    group.programs = universe
        .programs
        .iter()
        .filter(|p| p.active && members.contains(&p.name.as_str()))
        .flat_map(|p| p.run_names())
        .collect();
    group
}

/// Group names are `[A-Za-z0-9_.-]+`, like program names.
pub(super) fn group_name_problem(name: &str) -> Option<String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    (!valid).then(|| {
        format!("invalid group name {name:?} (use letters, digits, \"_\", \".\" and \"-\")")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_follow_program_name_rules() {
        assert_eq!(group_name_problem("celery"), None);
        assert_eq!(group_name_problem("web-2.a_b"), None);
        assert!(group_name_problem("").is_some());
        assert!(group_name_problem("a:b").is_some());
        assert!(group_name_problem("a b").is_some());
    }
}
