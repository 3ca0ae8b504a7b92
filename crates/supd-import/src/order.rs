//! supervisord's `priority` as supd's start order: `depends_on` chains between priority
//! levels.
//!
//! supervisord starts its groups in ascending group priority (a `[group:g]`'s `priority`, or
//! a lone program's own) and the processes of a group in ascending program priority; it does
//! not wait between them. supd has no priorities, only `depends_on` (start after these are
//! up), so each started program of a level depends on the started programs of the nearest
//! lower level that has any. Programs of one level stay parallel. Only programs that start
//! with supd and keep running (`autostart`, a restart policy other than `never`) are waited
//! for: a one-off script that exits, or a program started by hand, would block its
//! dependents forever.
//!
//! This module owns the ranking and the chaining; it works on positions and leaves names
//! and notes to [`crate::convert`].

/// One program as ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ranked {
    /// supervisord's order: (group priority, program priority), lowest first.
    pub key: (i64, i64),
    /// It starts with supd (`autostart`).
    pub autostart: bool,
    /// Others may wait for it: it starts with supd and keeps running.
    pub awaitable: bool,
}

/// supervisord's default priority of programs and groups.
pub(crate) const DEFAULT_PRIORITY: i64 = 999;

/// For each program (by position in `ranked`), the positions of the programs it waits for:
/// the awaitable programs of the nearest lower level that has any. Programs that do not
/// start with supd wait for nothing.
pub(crate) fn chains(ranked: &[Ranked]) -> Vec<Vec<usize>> {
    let mut levels: Vec<(i64, i64)> = ranked.iter().map(|r| r.key).collect();
    levels.sort_unstable();
    levels.dedup();
    ranked
        .iter()
        .map(|r| {
            if !r.autostart {
                return Vec::new();
            }
            let below = levels.iter().rev().filter(|level| **level < r.key);
            for level in below {
                let waited: Vec<usize> = ranked
                    .iter()
                    .enumerate()
                    .filter(|(_, other)| other.key == *level && other.awaitable)
                    .map(|(i, _)| i)
                    .collect();
                if !waited.is_empty() {
                    return waited;
                }
            }
            Vec::new()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(priority: i64) -> Ranked {
        Ranked {
            key: (priority, priority),
            autostart: true,
            awaitable: true,
        }
    }

    #[test]
    fn each_level_waits_for_the_one_below() {
        // X server 10, window manager 15 and a second one at 15, then a VNC server at 20
        let ranked = [up(15), up(10), up(20), up(15)];
        assert_eq!(
            chains(&ranked),
            [vec![1], vec![], vec![0, 3], vec![1]],
            "programs of one level stay parallel"
        );
    }

    #[test]
    fn levels_with_nothing_to_wait_for_are_skipped() {
        let one_off = Ranked {
            awaitable: false,
            ..up(5)
        };
        let by_hand = Ranked {
            autostart: false,
            awaitable: false,
            ..up(7)
        };
        let ranked = [up(1), one_off, by_hand, up(9)];
        assert_eq!(chains(&ranked), [vec![], vec![0], vec![], vec![0]]);
    }

    #[test]
    fn group_priority_comes_first() {
        let in_group = |group, program| Ranked {
            key: (group, program),
            ..up(0)
        };
        let ranked = [in_group(1, 50), in_group(1, 10), in_group(2, 0)];
        assert_eq!(chains(&ranked), [vec![1], vec![], vec![0]]);
    }
}
