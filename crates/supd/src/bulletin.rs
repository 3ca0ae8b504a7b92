//! State changes for `supctl events`: the owner publishes every transition, each
//! connection that asked for events subscribes. Nothing is built or kept while nobody
//! listens; a subscriber that falls too far behind is cut off, never waited for.

use std::cell::RefCell;
use std::sync::Arc;

use supd_proto::StateEvent;
use tokio::sync::broadcast;

/// Events a subscriber may lag behind before it is cut off.
const BACKLOG: usize = 1024;

#[derive(Default)]
pub struct Bulletin {
    tx: RefCell<Option<broadcast::Sender<Arc<StateEvent>>>>,
}

impl Bulletin {
    /// Publishes the event `make` builds, if anyone listens.
    pub fn publish(&self, make: impl FnOnce() -> StateEvent) {
        if let Some(tx) = self.tx.borrow().as_ref()
            && tx.receiver_count() > 0
        {
            let _ = tx.send(Arc::new(make()));
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StateEvent>> {
        self.tx
            .borrow_mut()
            .get_or_insert_with(|| broadcast::channel(BACKLOG).0)
            .subscribe()
    }
}
