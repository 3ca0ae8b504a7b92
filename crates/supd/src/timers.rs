//! The owner's timer queue: the core asks for timers as effects; the owner loop sleeps until
//! the earliest one. Timers are never cancelled — a stale one is ignored by the core — so an
//! idle supd has an empty queue and sleeps without waking.

use std::collections::BTreeMap;
use std::time::Duration;

use supd_core::Timer;

#[derive(Default)]
pub struct Timers {
    /// Ordered by due time, then by insertion.
    queue: BTreeMap<(Duration, u64), Timer>,
    seq: u64,
}

impl Timers {
    pub fn insert(&mut self, at: Duration, timer: Timer) {
        self.seq += 1;
        self.queue.insert((at, self.seq), timer);
    }

    /// When the next timer is due.
    pub fn next(&self) -> Option<Duration> {
        self.queue.keys().next().map(|&(at, _)| at)
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    pub fn pop_due(&mut self, now: Duration) -> Option<Timer> {
        let entry = self.queue.first_entry()?;
        if entry.key().0 <= now {
            Some(entry.remove())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_timers_come_out_in_time_order() {
        let mut t = Timers::default();
        let a = Timer::DescendantsKill;
        let b = Timer::ShutdownDeadline;
        t.insert(Duration::from_millis(20), b);
        t.insert(Duration::from_millis(10), a);
        assert_eq!(t.next(), Some(Duration::from_millis(10)));
        assert_eq!(t.pop_due(Duration::from_millis(5)), None);
        assert_eq!(t.pop_due(Duration::from_millis(25)), Some(a));
        assert_eq!(t.pop_due(Duration::from_millis(25)), Some(b));
        assert_eq!(t.next(), None);
    }
}
