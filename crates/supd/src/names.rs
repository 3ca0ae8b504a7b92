//! Program names as users type them: `all`, several names, typos.

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

    /// The name of `prog`, retired or not.
    pub fn name(&self, prog: ProgId) -> String {
        match &self.names.borrow()[prog] {
            Some(name) => name.clone(),
            None => self.retired.borrow()[prog].clone(),
        }
    }

    /// Resolves what a client named: program names or `all`, in the order given, each once.
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

fn unknown_name(names: &[Option<String>], name: &str) -> String {
    let known: Vec<&str> = names.iter().flatten().map(String::as_str).collect();
    match supd_config::closest(name, known.iter().copied()) {
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
}
