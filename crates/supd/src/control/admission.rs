//! How many conversations the control socket holds at once, and who makes room.
//!
//! Each connection holds a [`Ticket`] for as long as its task runs. At most
//! [`MAX_CONNECTIONS`] are open; when one more arrives, the oldest connection that has not
//! made its request yet (an idle or silent client: it has said nothing that supd owes an
//! answer to) is closed to make room, so a flood of idle connections cannot lock out a
//! `supctl status`. When every open connection is busy (a request in flight, a stream
//! followed), the newcomer is refused instead.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use tokio::sync::oneshot;

/// Open conversations at most. Each costs two fds at most (the socket; a log file is never
/// opened for a client) and a few kB, so this bounds supd's fds and memory under attack.
pub const MAX_CONNECTIONS: usize = 512;

#[derive(Default)]
pub struct Admission {
    inner: RefCell<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    open: usize,
    /// Connections that have not made their request, oldest first (ids grow), and how to
    /// tell each to close.
    silent: BTreeMap<u64, oneshot::Sender<()>>,
}

/// What [`Admission::admit`] did to let a connection in.
pub enum Admitted {
    /// There was room.
    Room(Ticket),
    /// The oldest silent connection was closed to make room.
    Evicted(Ticket),
}

/// Every open connection is busy: the newcomer is refused.
pub struct Full;

/// A connection's place, given back when it is dropped (its task ended). A new ticket is
/// silent: it may be told to close (see [`Ticket::evicted`]) until [`Ticket::spoke`].
pub struct Ticket {
    admission: Rc<Admission>,
    id: u64,
    evicted: Option<oneshot::Receiver<()>>,
}

impl Admission {
    pub fn new() -> Rc<Admission> {
        Rc::new(Admission::default())
    }

    /// A place for a new connection, making room when needed.
    pub fn admit(self: &Rc<Self>) -> Result<Admitted, Full> {
        let evicted = {
            let mut inner = self.inner.borrow_mut();
            let evicted = if inner.open >= MAX_CONNECTIONS {
                let Some((_, oldest)) = inner.silent.pop_first() else {
                    return Err(Full);
                };
                Some(oldest)
            } else {
                None
            };
            inner.open += 1;
            evicted
        };
        let ticket = self.ticket();
        Ok(match evicted {
            Some(oldest) => {
                // Its task closes the connection and gives its place back when it runs next.
                let _ = oldest.send(());
                Admitted::Evicted(ticket)
            }
            None => Admitted::Room(ticket),
        })
    }

    fn ticket(self: &Rc<Self>) -> Ticket {
        let (tell, evicted) = oneshot::channel();
        let mut inner = self.inner.borrow_mut();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.silent.insert(id, tell);
        Ticket {
            admission: self.clone(),
            id,
            evicted: Some(evicted),
        }
    }
}

impl Ticket {
    /// Resolves when this silent connection is to be closed to make room; never once it has
    /// spoken.
    pub async fn evicted(&mut self) {
        if let Some(evicted) = self.evicted.as_mut() {
            if evicted.await.is_ok() {
                return;
            }
            self.evicted = None;
        }
        std::future::pending().await
    }

    /// The connection made its request: it is owed an answer and is not closed for room.
    pub fn spoke(&mut self) {
        self.evicted = None;
        self.admission.inner.borrow_mut().silent.remove(&self.id);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut inner = self.admission.inner.borrow_mut();
        inner.silent.remove(&self.id);
        inner.open -= 1;
    }
}
