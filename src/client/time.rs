//! Wall-clock formatting without a calendar crate: the chat only needs
//! `HH:MM` and a date for day separators, in one fixed UTC offset that the
//! caller supplies (so tests and snapshots are deterministic).

/// A calendar day, for detecting day changes between messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

/// Days since 1970-01-01 of a timestamp shifted by `offset_secs`.
fn local_days_and_secs(ts_ms: i64, offset_secs: i32) -> (i64, i64) {
    let secs = ts_ms.div_euclid(1000) + i64::from(offset_secs);
    (secs.div_euclid(86_400), secs.rem_euclid(86_400))
}

/// The day a timestamp falls on at the given UTC offset.
pub fn day_of(ts_ms: i64, offset_secs: i32) -> Day {
    let (days, _) = local_days_and_secs(ts_ms, offset_secs);
    civil_from_days(days)
}

/// `HH:MM` (24 h) or `h:MMam` (12 h) for a timestamp.
pub fn clock(ts_ms: i64, offset_secs: i32, twelve_hour: bool) -> String {
    let (_, secs) = local_days_and_secs(ts_ms, offset_secs);
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    if twelve_hour {
        let suffix = if h < 12 { "a" } else { "p" };
        let h12 = if h % 12 == 0 { 12 } else { h % 12 };
        format!("{h12:>2}:{m:02}{suffix}")
    } else {
        format!("{h:02}:{m:02}")
    }
}

/// Width in cells of what [`clock`] returns.
pub fn clock_width(twelve_hour: bool) -> u16 {
    if twelve_hour {
        6
    } else {
        5
    }
}

impl Day {
    /// `2025-11-21 Friday`
    pub fn label(&self) -> String {
        let names = [
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
        ];
        let days = days_from_civil(self.year, self.month, self.day);
        let weekday = names[days.rem_euclid(7) as usize];
        format!(
            "{:04}-{:02}-{:02} {}",
            self.year, self.month, self.day, weekday
        )
    }
}

/// A short "how long ago" for the inbox: `now`, `5m`, `3h`, `2d`.
pub fn ago(then_ms: i64, now_ms: i64) -> String {
    // `then_ms` comes from the network: any i64 must work.
    let secs = now_ms.saturating_sub(then_ms).max(0) / 1000;
    match secs {
        0..=59 => "just now".to_owned(),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

// Howard Hinnant's civil-from-days algorithm.
fn civil_from_days(z: i64) -> Day {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    Day {
        year: if m <= 2 { y + 1 } else { y },
        month: m,
        day: d,
    }
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The local UTC offset in seconds, as the C library sees it right now.
/// Read once at start-up (before any thread exists) because `localtime_r`
/// consults the environment.
pub fn local_offset_secs() -> i32 {
    #[cfg(unix)]
    {
        // SAFETY: `localtime_r` only writes into the `tm` we own; `time(NULL)`
        // has no preconditions.
        unsafe {
            let now = libc::time(std::ptr::null_mut());
            let mut tm: libc::tm = std::mem::zeroed();
            if libc::localtime_r(&now, &mut tm).is_null() {
                return 0;
            }
            i32::try_from(tm.tm_gmtoff).unwrap_or(0)
        }
    }
    #[cfg(not(unix))]
    {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        // 2025-11-21 23:13:20 UTC
        let ts = 1_763_766_800_000;
        assert_eq!(clock(ts, 0, false), "23:13");
        assert_eq!(clock(ts, 3600, false), "00:13");
        assert_eq!(clock(ts, 0, true), "11:13p");
        assert_eq!(day_of(ts, 0).label(), "2025-11-21 Friday");
        assert_eq!(day_of(ts, 3600).label(), "2025-11-22 Saturday");
        assert_eq!(day_of(0, 0).label(), "1970-01-01 Thursday");
    }

    #[test]
    fn ago_is_coarse() {
        assert_eq!(ago(0, 30_000), "just now");
        assert_eq!(ago(0, 300_000), "5m ago");
        assert_eq!(ago(0, 7_200_000), "2h ago");
        assert_eq!(
            ago(i64::MIN, i64::MAX),
            format!("{}d ago", i64::MAX / 86_400_000)
        );
        assert_eq!(ago(i64::MAX, 0), "just now");
        for ts in [i64::MIN, i64::MAX, -1] {
            let _ = (clock(ts, -86_400, true), day_of(ts, 86_400).label());
        }
    }
}
