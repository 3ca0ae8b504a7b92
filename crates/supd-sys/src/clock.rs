//! The local wall-clock time of an instant, as the C library sees it (`TZ`, `/etc/localtime`).
//!
//! supd's own messages are in UTC; this is for the interfaces that promise local time, such as
//! supervisord's `Dec 07 01:23 PM` in a stopped program's description.

/// A broken-down local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i32,
    /// 1-12.
    pub month: u32,
    /// 1-31.
    pub day: u32,
    /// 0-23.
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// The local time at `secs` seconds since the Unix epoch; `None` when the C library cannot
/// represent it.
pub fn local_time(secs: libc::time_t) -> Option<LocalTime> {
    let t = secs;
    // SAFETY: `tm` is plain data, zero is a valid value for each field.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the thread-safe variant
    // and writes only to `tm`.
    let filled = unsafe { libc::localtime_r(&t, &mut tm) };
    if filled.is_null() {
        return None;
    }
    Some(LocalTime {
        year: tm.tm_year + 1900,
        month: u32::try_from(tm.tm_mon + 1).ok()?,
        day: u32::try_from(tm.tm_mday).ok()?,
        hour: u32::try_from(tm.tm_hour).ok()?,
        minute: u32::try_from(tm.tm_min).ok()?,
        second: u32::try_from(tm.tm_sec).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_instant() {
        // Whatever the zone, the day and minute are within a day of UTC's.
        let t = local_time(1_700_000_000).unwrap();
        assert_eq!(t.year, 2023);
        assert_eq!(t.month, 11);
        assert!((13..=15).contains(&t.day));
        assert!(t.minute < 60 && t.hour < 24);
    }
}
