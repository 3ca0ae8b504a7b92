//! Program names as users type them: `all`, several names, typos.

use supd_core::ProgId;

/// The programs' names, in program order.
pub struct Names {
    names: Vec<String>,
}

impl Names {
    pub fn new(names: Vec<String>) -> Self {
        Names { names }
    }

    pub fn name(&self, prog: ProgId) -> &str {
        &self.names[prog]
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
        if requested.is_empty() {
            return if empty_means_all {
                Ok((0..self.names.len()).collect())
            } else {
                Err("name at least one program, or all".into())
            };
        }
        let mut progs = Vec::new();
        let mut unknown = Vec::new();
        for name in requested {
            if name == "all" {
                progs.extend(0..self.names.len());
            } else if let Some(p) = self.names.iter().position(|n| n == name) {
                progs.push(p);
            } else {
                unknown.push(self.unknown(name));
            }
        }
        if !unknown.is_empty() {
            return Err(unknown.join("; "));
        }
        let mut seen = vec![false; self.names.len()];
        progs.retain(|&p| !std::mem::replace(&mut seen[p], true));
        Ok(progs)
    }

    fn unknown(&self, name: &str) -> String {
        match supd_config::closest(name, self.names.iter().map(String::as_str)) {
            Some(near) => format!("no program named {name:?} (did you mean {near:?}?)"),
            None if self.names.is_empty() => {
                format!("no program named {name:?} (the config has no programs)")
            }
            None => format!(
                "no program named {name:?} (programs: {})",
                self.names.join(", ")
            ),
        }
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
