//! Which programs run, and under which names: `profiles` and `instances`.
//!
//! This module owns the selection rules:
//! - A program without `profiles` is always active; a program with `profiles` is active when
//!   one of them is among the active profiles ([`crate::LoadOptions::profiles`]). With no
//!   active profile, only programs without `profiles` run (as in docker compose).
//! - An active profile that no program names is an error listing the known ones.
//! - `instances = N` makes programs `NAME:0` .. `NAME:N-1`; `depends_on = ["NAME"]` means
//!   all of them.
//! - An active program may not depend on an inactive one.
//!
//! Both keys are read here, before the rest of the program, because every `depends_on` of
//! every file needs them.

use super::suggest;
use super::walker::{Field, InstanceVar, Section, Walker};
use crate::spec::instance_name;

/// The most instances one program may have.
pub(super) const MAX_INSTANCES: i64 = 1000;

/// What every program's `depends_on` may refer to: the programs of every file.
pub(super) struct Universe {
    pub programs: Vec<Known>,
    /// The active profiles, as given.
    pub active_profiles: Vec<String>,
}

/// One program as far as the others need to know it.
pub(super) struct Known {
    pub name: String,
    /// Empty: runs in every profile.
    pub profiles: Vec<String>,
    /// `None`: no `instances` key (one program, named `name`).
    pub instances: Option<u32>,
    pub active: bool,
}

impl Known {
    /// The names this program runs under: `name`, or `name:0` .. `name:N-1`.
    pub fn run_names(&self) -> Vec<String> {
        match self.instances {
            None => vec![self.name.clone()],
            Some(n) => (0..n).map(|i| instance_name(&self.name, i)).collect(),
        }
    }
}

impl Universe {
    pub fn get(&self, name: &str) -> Option<&Known> {
        self.programs.iter().find(|p| p.name == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.programs.iter().map(|p| p.name.as_str()).collect()
    }

    /// The names `dep` runs under (every instance), or why `from` may not depend on it:
    /// it does not exist, or it does not run while `from` does.
    pub fn dependency(&self, from: &str, dep: &str) -> Result<Vec<String>, String> {
        let Some(known) = self.get(dep) else {
            return Err(self.unknown(dep, "depends_on"));
        };
        let from_active = self.get(from).is_none_or(|p| p.active);
        if from_active && !known.active {
            let profiles = quoted_list(&known.profiles);
            let active = if self.active_profiles.is_empty() {
                format!(
                    "no profile is active (start supd with --profile {})",
                    known.profiles.first().map_or("", String::as_str)
                )
            } else {
                format!("active profiles: {}", self.active_profiles.join(", "))
            };
            return Err(format!(
                "{from:?} depends on {dep:?}, which does not run with the active profiles \
                 ({dep:?} has profiles = [{profiles}]; {active})"
            ));
        }
        Ok(known.run_names())
    }

    /// Why `dep` is not a program; `naming` says what names it (`depends_on`, `a group`).
    pub fn unknown(&self, dep: &str, naming: &str) -> String {
        if let Some((base, _)) = dep.split_once(':')
            && self.get(base).is_some_and(|p| p.instances.is_some())
        {
            return format!(
                "{naming} names whole programs: write {base:?} (all of its instances), \
                 not {dep:?}"
            );
        }
        let names = self.names();
        match suggest::nearest(dep, &names) {
            Some(s) => format!("unknown program {dep:?} (did you mean {s:?}?)"),
            None if names.is_empty() => format!("unknown program {dep:?}"),
            None => format!(
                "unknown program {dep:?} (known programs: {})",
                names.join(", ")
            ),
        }
    }

    /// Every profile some program names, in order of first appearance.
    pub fn known_profiles(&self) -> Vec<&str> {
        let mut known: Vec<&str> = Vec::new();
        for p in self.programs.iter().flat_map(|p| &p.profiles) {
            if !known.contains(&p.as_str()) {
                known.push(p);
            }
        }
        known
    }

    /// One sentence per active profile that no program names.
    pub fn unknown_profiles(&self) -> Vec<String> {
        let known = self.known_profiles();
        self.active_profiles
            .iter()
            .filter(|p| !known.contains(&p.as_str()))
            .map(|p| match (known.is_empty(), suggest::nearest(p, &known)) {
                (true, _) => format!("unknown profile {p:?}: no program has profiles"),
                (false, Some(near)) => format!(
                    "unknown profile {p:?} (did you mean {near:?}? known profiles: {})",
                    known.join(", ")
                ),
                (false, None) => format!(
                    "unknown profile {p:?} (known profiles: {})",
                    known.join(", ")
                ),
            })
            .collect()
    }
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a program with `profiles` runs with `active` profiles.
pub(super) fn is_active(profiles: &[String], active: &[String]) -> bool {
    profiles.is_empty() || profiles.iter().any(|p| active.contains(p))
}

/// The `profiles` key of a program table (empty when absent).
pub(super) fn profiles(w: &mut Walker, sec: &Section) -> Vec<String> {
    let Some(field) = sec.get("profiles") else {
        return Vec::new();
    };
    let saved = std::mem::replace(&mut w.vars.instance, InstanceVar::NotYet);
    let items = w.string_items(&field, "an array of profile names like [\"dev\"]");
    w.vars.instance = saved;
    let items = items.unwrap_or_default();
    if matches!(field.value.get_ref(), toml::de::DeValue::Array(a) if a.is_empty()) {
        w.bad(
            &field,
            "expected at least one profile name (leave profiles out to run the program in \
             every profile)",
        );
    }
    let mut out = Vec::with_capacity(items.len());
    for (name, at) in items {
        if let Some(problem) = profile_name_problem(&name) {
            w.error(at, &field.key, problem);
        } else if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Profile names are `[A-Za-z0-9_.-]+`, like program names.
pub(super) fn profile_name_problem(name: &str) -> Option<String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    (!valid).then(|| {
        format!("invalid profile name {name:?} (use letters, digits, \"_\", \".\" and \"-\")")
    })
}

/// The `instances` key of a program table.
pub(super) fn instances(w: &mut Walker, sec: &Section) -> Option<u32> {
    let field: Field = sec.get("instances")?;
    let n = w.integer(
        &field,
        1..=MAX_INSTANCES,
        &format!("a number of instances from 1 to {MAX_INSTANCES}"),
    )?;
    u32::try_from(n).ok()
}
