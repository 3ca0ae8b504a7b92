//! Program names as users type them: `all`, several names, typos, and the instances of a
//! program with `instances = N` (`worker` means `worker:0` .. `worker:N-1` when no program is
//! named `worker` itself; `worker:1` is one of them).

use std::cell::RefCell;

use supd_core::ProgId;

/// The programs' names, by program id. A reload adds names and retires others (the id
/// stays taken, with its name for messages, but the name no longer resolves to it).
pub struct Names {
    names: RefCell<Vec<Option<String>>>,
    retired: RefCell<Vec<String>>,
}

impl Names {
    pub fn new(names: Vec<String>) -> Self {
        Names {
            retired: RefCell::new(vec![String::new(); names.len()]),
            names: RefCell::new(names.into_iter().map(Some).collect()),
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

    /// The name of `prog`, retired or not (`#N` for an id this table has not heard of).
    pub fn name(&self, prog: ProgId) -> String {
        match self.names.borrow().get(prog) {
            Some(Some(name)) => name.clone(),
            Some(None) => self.retired.borrow().get(prog).cloned().unwrap_or_default(),
            None => format!("#{prog}"),
        }
    }

    /// Resolves what a client named: program names or `all`, in the order given, each once.
    /// A name that matches no program but is the base name of instances (`worker` for
    /// `worker:0`, `worker:1`, ...) stands for all of them, in order.
    /// With no names, `empty_means_all` decides between every program and an error.
    ///
    /// The error names every unknown name and the closest known one, e.g.
    /// `no program named "wbe" (did you mean "web"?)`.
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
        let mut progs = Vec::new();
        let mut unknown = Vec::new();
        for name in requested {
            if name == "all" {
                progs.extend(all());
            } else if let Some(p) = names.iter().position(|n| n.as_deref() == Some(name)) {
                progs.push(p);
            } else if let Some(group) = instances_of(&names, name) {
                progs.extend(group);
            } else {
                unknown.push(unknown_name(&names, name));
            }
        }
        if !unknown.is_empty() {
            return Err(unknown.join("; "));
        }
        let mut seen = vec![false; names.len()];
        progs.retain(|&p| !std::mem::replace(&mut seen[p], true));
        Ok(progs)
    }
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
        Names::new(vec!["web".into(), "worker".into(), "vite".into()])
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
}
