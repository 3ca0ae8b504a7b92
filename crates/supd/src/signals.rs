//! Signal sources: each handled signal becomes an [`Event::Signal`].
//!
//! Handlers are installed by [`install`] before any child exists, so no SIGCHLD is missed.
//! Installing a handler matters doubly as PID 1: the kernel drops signals that PID 1 has no
//! handler for, so `docker stop` would otherwise do nothing until its SIGKILL.

use std::io;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::event::{Event, Sig};

/// Installs the handlers now and forwards their deliveries from tasks on the current
/// `LocalSet`.
pub fn install(events: &mpsc::UnboundedSender<Event>) -> io::Result<()> {
    let kinds = [
        (SignalKind::terminate(), Sig::Term),
        (SignalKind::interrupt(), Sig::Int),
        (SignalKind::quit(), Sig::Quit),
        (SignalKind::hangup(), Sig::Hup),
        (SignalKind::user_defined1(), Sig::Usr1),
        (SignalKind::child(), Sig::Chld),
    ];
    for (kind, sig) in kinds {
        let mut stream = signal(kind)?;
        let events = events.clone();
        tokio::task::spawn_local(async move {
            while stream.recv().await.is_some() {
                if events.send(Event::Signal(sig)).is_err() {
                    break;
                }
            }
        });
    }
    Ok(())
}
