//! `reloadConfig`, `addProcessGroup` and `removeProcessGroup`: supervisord's two-step
//! reload (`supervisorctl reread`, then `update`) over supd's one-step reload (see the
//! parent module's docs for how the two meet).

use std::rc::Rc;

use supd_proto::Request;

use super::super::xmlrpc::Value;
use super::faults::{Fault, FaultCode};
use super::{Answer, Proc, Rpc, names_value, supervisor_names, take};
use crate::event::ProgramDiff;

/// Groups a `reloadConfig` reported that `update` has not acted on yet.
#[derive(Default)]
pub(super) struct Pending {
    added: Vec<String>,
    changed: Vec<String>,
    removed: Vec<String>,
    /// supd's reload of that config was carried out (by the first `addProcessGroup`, or
    /// the last `removeProcessGroup` when nothing is to be added).
    applied: bool,
    /// Removed groups gone since: `stopProcessGroup` of one is an empty success.
    gone: Vec<String>,
    /// Groups `removeProcessGroup` took out of the running config while the config file
    /// still has them (`supervisorctl remove`): invisible to supervisord's clients until
    /// `addProcessGroup` (or `update`) brings them back. supctl still sees them.
    pub(super) hidden: Vec<String>,
}

/// The groups a reload would add (new groups), remove (every member gone) or change (any
/// member added, changed or removed), in config order.
pub(super) fn group_diff(
    before: &[Proc],
    diff: &ProgramDiff,
    groups: &[supd_config::GroupSpec],
) -> Pending {
    let mut pending = Pending::default();
    let exists = |g: &str| before.iter().any(|p| p.group == g);
    let group_of = |name: &str| {
        before
            .iter()
            .find(|p| p.status.name == name)
            .map_or_else(|| supervisor_names(name, groups).0, |p| p.group.clone())
    };
    let note = |list: &mut Vec<String>, g: String| {
        if !list.contains(&g) {
            list.push(g);
        }
    };
    for name in &diff.added {
        let g = group_of(name);
        if exists(&g) {
            note(&mut pending.changed, g);
        } else {
            note(&mut pending.added, g);
        }
    }
    for name in &diff.changed {
        note(&mut pending.changed, group_of(name));
    }
    for name in &diff.removed {
        let g = group_of(name);
        let all_gone = before
            .iter()
            .filter(|p| p.group == g)
            .all(|p| diff.removed.contains(&p.status.name));
        if all_gone {
            note(&mut pending.removed, g);
        } else {
            note(&mut pending.changed, g);
        }
    }
    let changed = std::mem::take(&mut pending.changed);
    pending.changed = changed
        .into_iter()
        .filter(|g| !pending.removed.contains(g))
        .collect();
    pending
}

impl Rpc {
    /// Whether group `name` went away in a reload that `update` carried out.
    pub(super) fn removed_by_reload(&self, name: &str) -> bool {
        self.pending.borrow().gone.iter().any(|g| g == name)
    }

    pub(super) async fn reload_config(&self) -> Answer {
        let diff = match self.served.reread().await {
            Some(Ok(diff)) => diff,
            Some(Err(problems)) => return Err(Fault::new(FaultCode::CantReread, problems)),
            None => return Err(Fault::bare(FaultCode::ShutdownState)),
        };
        let before = self.procs().await?;
        let groups = self.served.names.groups();
        let mut pending = group_diff(&before, &diff, &groups);
        // A group `remove` took out comes back with `update`, as supervisord's does (unless
        // the file no longer has it).
        let hidden = std::mem::take(&mut self.pending.borrow_mut().hidden);
        let all = self.all_procs().await?;
        for g in hidden {
            let members: Vec<&Proc> = all.iter().filter(|p| p.group == g).collect();
            if members
                .iter()
                .any(|p| !diff.removed.contains(&p.status.name))
            {
                if !pending.added.contains(&g) {
                    pending.added.push(g.clone());
                }
                pending.hidden.push(g);
            }
        }
        let answer = Value::Array(vec![Value::Array(vec![
            names_value(&pending.added),
            names_value(&pending.changed),
            names_value(&pending.removed),
        ])]);
        *self.pending.borrow_mut() = pending;
        Ok(answer)
    }

    /// Carries out the reload `reloadConfig` reported, once.
    pub(super) async fn apply_pending(&self) -> Result<(), Fault> {
        if std::mem::replace(&mut self.pending.borrow_mut().applied, true) {
            return Ok(());
        }
        if let Err(fault) = self.ask(Request::Reload).await {
            self.pending.borrow_mut().applied = false;
            return Err(fault);
        }
        let mut pending = self.pending.borrow_mut();
        let removed = std::mem::take(&mut pending.removed);
        pending.gone.extend(removed);
        Ok(())
    }

    pub(super) async fn add_group(self: &Rc<Self>, name: &str) -> Answer {
        let (added, changed, was_hidden) = {
            let mut pending = self.pending.borrow_mut();
            (
                take(&mut pending.added, name),
                take(&mut pending.changed, name),
                take(&mut pending.hidden, name),
            )
        };
        if was_hidden {
            if added {
                // Brought back by `update`: the rest of what it reported applies too.
                self.apply_pending().await?;
            }
            self.start_autostart(name).await?;
            return Ok(Value::Bool(true));
        }
        if !added && !changed {
            let procs = self.procs().await?;
            return Err(if procs.iter().any(|p| p.group == name) {
                Fault::new(FaultCode::AlreadyAdded, name)
            } else {
                Fault::new(FaultCode::BadName, name)
            });
        }
        self.apply_pending().await?;
        if changed {
            // Stopped by `update` before the reload: started again, as supervisord's
            // addProcessGroup starts a group's autostart programs. (Added ones were started
            // by the reload itself.)
            self.start_autostart(name).await?;
        }
        Ok(Value::Bool(true))
    }

    /// Starts the autostart programs of group `name` that are not running, without waiting.
    async fn start_autostart(self: &Rc<Self>, name: &str) -> Result<(), Fault> {
        let procs = self.procs().await?;
        let start: Vec<String> = procs
            .iter()
            .filter(|p| p.group == name && p.spec.autostart && !p.running())
            .map(Proc::supd_name)
            .collect();
        if !start.is_empty() {
            self.fire(Request::Start { names: start });
        }
        Ok(())
    }

    pub(super) async fn remove_group(&self, name: &str) -> Answer {
        let procs = self.procs().await?;
        let members: Vec<&Proc> = procs.iter().filter(|p| p.group == name).collect();
        let (removed, changed) = {
            let pending = self.pending.borrow();
            (
                pending.removed.iter().any(|g| g == name),
                pending.changed.iter().any(|g| g == name),
            )
        };
        if members.is_empty() {
            return Err(Fault::new(FaultCode::BadName, name));
        }
        if members.iter().any(|p| p.running()) {
            return Err(Fault::new(FaultCode::StillRunning, name));
        }
        if removed {
            let last = {
                let mut pending = self.pending.borrow_mut();
                take(&mut pending.removed, name);
                pending.gone.push(name.to_string());
                pending.removed.is_empty() && pending.added.is_empty() && pending.changed.is_empty()
            };
            if last {
                self.apply_pending().await?;
            }
            return Ok(Value::Bool(true));
        }
        if changed {
            // `update` of a changed group: its addProcessGroup follows.
            return Ok(Value::Bool(true));
        }
        // `supervisorctl remove` of a stopped group: out of the running config until it is
        // added again.
        self.pending.borrow_mut().hidden.push(name.to_string());
        Ok(Value::Bool(true))
    }
}
