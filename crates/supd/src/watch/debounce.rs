//! One program's debounce: many changes in a burst become one `Event::FilesChanged`.
//!
//! A task on the event loop (`spawn_local`) waits for the first change of a burst, then
//! collects changes until `debounce` has passed without a new one (trailing edge), and sends
//! one event with every changed path once, in the order first seen. While nothing changes
//! it waits on its channel with no timer armed, so it costs nothing when idle. It ends when
//! its watch thread is gone (the channel closes) or when the event queue is closed.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use super::Change;
use crate::event::Event;

/// The paths of one burst: each once, in the order first seen.
#[derive(Default)]
pub struct Burst {
    seen: HashSet<PathBuf>,
    shown: Vec<String>,
}

impl Burst {
    pub fn add(&mut self, changes: Vec<Change>) {
        for change in changes {
            if self.seen.insert(change.path) {
                self.shown.push(change.shown);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }

    pub fn into_paths(self) -> Vec<String> {
        self.shown
    }
}

/// The task: see the module docs.
pub async fn run(
    prog: supd_core::ProgId,
    window: Duration,
    mut changes: UnboundedReceiver<Vec<Change>>,
    events: UnboundedSender<Event>,
) {
    loop {
        let Some(first) = changes.recv().await else {
            return;
        };
        let mut burst = Burst::default();
        burst.add(first);
        let quiet = tokio::time::sleep(window);
        tokio::pin!(quiet);
        let closed = loop {
            tokio::select! {
                more = changes.recv() => match more {
                    Some(more) => {
                        burst.add(more);
                        quiet.as_mut().reset(Instant::now() + window);
                    }
                    None => break true,
                },
                () = &mut quiet => break false,
            }
        };
        if closed {
            // The watch was dropped mid-burst (stopped or replaced): nothing to report.
            return;
        }
        if burst.is_empty() {
            continue;
        }
        let paths = burst.into_paths();
        if events.send(Event::FilesChanged { prog, paths }).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc::unbounded_channel;

    fn change(p: &str) -> Change {
        Change {
            path: PathBuf::from("/w").join(p),
            shown: p.to_string(),
        }
    }

    fn paths(event: Event) -> Vec<String> {
        match event {
            Event::FilesChanged { prog, paths } => {
                assert_eq!(prog, 7);
                paths
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_one_event_with_each_path_once_in_first_seen_order() {
        let (tx, rx) = unbounded_channel();
        let (events_tx, mut events) = unbounded_channel();
        let task = tokio::spawn(run(7, Duration::from_millis(100), rx, events_tx));

        tx.send(vec![change("b.py"), change("a.py")]).unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        tx.send(vec![change("a.py"), change("c.py")]).unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        // 120 ms after the first change, but only 60 ms after the last: still collecting.
        assert!(events.try_recv().is_err());
        tx.send(vec![change("b.py")]).unwrap();
        tokio::time::sleep(Duration::from_millis(99)).await;
        assert!(events.try_recv().is_err());
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert_eq!(paths(events.try_recv().unwrap()), ["b.py", "a.py", "c.py"]);

        // Quiet, then a new burst: a new event.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(events.try_recv().is_err());
        tx.send(vec![change("d.py")]).unwrap();
        tokio::time::sleep(Duration::from_millis(101)).await;
        assert_eq!(paths(events.try_recv().unwrap()), ["d.py"]);

        drop(tx);
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_watch_reports_nothing_more() {
        let (tx, rx) = unbounded_channel();
        let (events_tx, mut events) = unbounded_channel();
        let task = tokio::spawn(run(7, Duration::from_millis(100), rx, events_tx));
        tx.send(vec![change("a.py")]).unwrap();
        drop(tx);
        task.await.unwrap();
        assert!(events.try_recv().is_err());
    }
}
