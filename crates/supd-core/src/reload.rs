//! Applying a re-read config as a difference: programs are matched by name; unchanged ones
//! are not touched (same process, same pid), changed ones restart with their new settings
//! (when they were running, failing, or — a oneshot with `autostart` — completed), removed
//! ones are stopped and retired, added ones start (when `autostart`).

use std::time::Duration;

use supd_config::ProgramSpec;
use supd_proto::ProgramState;

use crate::machine::Cx;
use crate::state::Program;
use crate::types::{Effect, ProgId, ReqId};

impl Cx<'_> {
    pub(crate) fn reload(
        &mut self,
        req: Option<ReqId>,
        specs: Vec<ProgramSpec>,
        shutdown_timeout: Duration,
    ) {
        if self.st.shutdown.is_some() {
            self.notice("reload ignored: supd is shutting down".into());
            self.effects.push(Effect::Reloaded {
                req,
                added: Vec::new(),
                changed: Vec::new(),
                removed: Vec::new(),
            });
            return;
        }
        self.st.shutdown_timeout = shutdown_timeout;
        let (mut added, mut changed, mut removed) = (Vec::new(), Vec::new(), Vec::new());

        let current: Vec<(ProgId, String)> = self
            .st
            .current()
            .map(|(p, prog)| (p, prog.spec.name.clone()))
            .collect();
        for (p, name) in &current {
            if !specs.iter().any(|s| s.name == *name) {
                removed.push(*p);
            }
        }
        for spec in specs {
            match current.iter().find(|(_, name)| *name == spec.name) {
                Some(&(p, _)) if self.st.programs[p].spec == spec => {}
                Some(&(p, _)) => {
                    self.st.programs[p].spec = spec;
                    changed.push(p);
                }
                None => {
                    self.st.programs.push(Program::new(spec));
                    added.push(self.st.programs.len() - 1);
                }
            }
        }
        for &p in &removed {
            self.st.programs[p].retired = true;
        }
        self.st.link_dependencies();

        for &p in &removed {
            self.stop(p, "removed from the config");
        }
        // Oneshots first: a dependent started below then finds its migration running again
        // and waits for it, instead of starting against the old one's result.
        let (oneshots, others): (Vec<ProgId>, Vec<ProgId>) = changed
            .iter()
            .partition(|&&p| self.st.programs[p].spec.oneshot);
        for p in oneshots.into_iter().chain(others) {
            let prog = &mut self.st.programs[p];
            match prog.state {
                // Running: restart with the new settings.
                _ if prog.has_process() => {
                    self.stop(p, "config changed");
                    self.start(p, "config changed");
                }
                // Failing: the new settings deserve a fresh try.
                ProgramState::Backoff | ProgramState::Fatal if prog.spec.autostart => {
                    prog.failures = 0;
                    self.start(p, "config changed");
                }
                // A completed oneshot (a migration) runs again with its new settings; its
                // dependents that start meanwhile wait for it, as at boot.
                ProgramState::Exited if prog.spec.oneshot && prog.spec.autostart => {
                    prog.failures = 0;
                    self.start(p, "config changed");
                }
                // Stopped by someone, exited, or waiting for dependencies: the new
                // settings apply to its next start.
                _ => {}
            }
        }
        for &p in &added {
            if self.st.programs[p].spec.autostart {
                self.start(p, "added to the config");
            }
        }
        let names = |ids: &[ProgId]| -> String {
            ids.iter()
                .map(|&p| self.st.programs[p].spec.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let summary = match (added.is_empty(), changed.is_empty(), removed.is_empty()) {
            (true, true, true) => "config reloaded: no program changed".to_string(),
            _ => format!(
                "config reloaded: added [{}], changed [{}], removed [{}]",
                names(&added),
                names(&changed),
                names(&removed)
            ),
        };
        self.notice(summary);
        self.effects.push(Effect::Reloaded {
            req,
            added,
            changed,
            removed,
        });
    }
}
