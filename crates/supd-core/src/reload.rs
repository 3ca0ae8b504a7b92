//! Applying a re-read config as a difference: programs are matched by name; unchanged ones
//! are not touched (same process, same pid), changed ones restart with their new settings
//! (when they were running, backing off, fatal with `autostart`, or — a oneshot with
//! `autostart` — completed), removed
//! ones are stopped and retired, added ones start (when `autostart`).
//!
//! Guarantees: a retired program keeps its id (timers and output in flight stay valid) and
//! never starts again; dependencies are relinked by name, so a dependent follows a program
//! that was removed and added again; a changed oneshot runs before the dependents started
//! in the same reload, which wait for it.

use std::time::Duration;

use supd_config::{ProgramSpec, RestartMode};

use crate::machine::Cx;
use crate::state::{Life, Program};
use crate::types::{Effect, ProgId, ReqId};
use crate::why::{Notice, Why};

impl Cx<'_> {
    pub(crate) fn reload(
        &mut self,
        req: Option<ReqId>,
        specs: Vec<ProgramSpec>,
        shutdown_timeout: Duration,
    ) {
        if self.st.shutdown.is_some() {
            self.notice(Notice::ReloadIgnored);
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
                    // New settings begin a new series of tries (`start_retries` again).
                    let prog = &mut self.st.programs[p];
                    prog.spec = spec;
                    prog.failed_starts = 0;
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
            self.stop(p, Why::RemovedFromConfig);
        }
        // Oneshots first: a dependent started below then finds its migration running again
        // and waits for it, instead of starting against the old one's result.
        let (oneshots, others): (Vec<ProgId>, Vec<ProgId>) = changed
            .iter()
            .partition(|&&p| self.st.programs[p].spec.oneshot);
        for p in oneshots.into_iter().chain(others) {
            let prog = &self.st.programs[p];
            let (autostart, oneshot) = (prog.spec.autostart, prog.spec.oneshot);
            match prog.life {
                // Running: restart with the new settings.
                _ if prog.has_process() => {
                    let start_first = prog.spec.restart_mode == RestartMode::StartFirst;
                    self.restart(p, Why::ConfigChanged, start_first);
                }
                // Failing: the new settings deserve a fresh try (a fatal one only if supd
                // starts it by itself; one backing off is being tried anyway).
                Life::Backoff { .. } => self.start(p, Why::ConfigChanged),
                Life::Fatal { .. } if autostart => self.start(p, Why::ConfigChanged),
                // A completed oneshot (a migration) runs again with its new settings; its
                // dependents that start meanwhile wait for it, as at boot.
                Life::Exited { .. } if oneshot && autostart => self.start(p, Why::ConfigChanged),
                // Stopped by someone, exited, or waiting for its dependencies: the new
                // settings apply to its next start.
                _ => {}
            }
        }
        for &p in &added {
            if self.st.programs[p].spec.autostart {
                self.start(p, Why::AddedToConfig);
            }
        }
        self.notice(Notice::Reloaded {
            added: added.clone(),
            changed: changed.clone(),
            removed: removed.clone(),
        });
        self.effects.push(Effect::Reloaded {
            req,
            added,
            changed,
            removed,
        });
    }
}
