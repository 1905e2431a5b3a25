//! Time stamps and the hybrid logical clock.
//!
//! Instants are stored as fixed-width RFC 3339 UTC text with microseconds so that text order is time
//! order (SQLite compares TEXT bytewise). Every write transaction also takes one hybrid logical clock
//! value (`<unix ms:13>.<counter:5>.<device>`): it never goes backwards even if the wall clock does, and
//! the device id breaks ties, which is what per-field conflict resolution in the sync engine needs.

use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::{Result, StoreError};

/// Format an instant the way every table stores it.
pub fn fmt_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parse a stored instant; anything else is corrupt data.
pub fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::corrupt(format!("bad timestamp {s:?}: {e}")))
}

/// The device part of this store's clock stamps: the last 12 hex digits of the device id. The id is a
/// UUIDv7, whose leading digits are its creation time in milliseconds (two devices set up in the same
/// millisecond would share them); its trailing digits are random.
pub fn stamp_device(device_id: &str) -> String {
    let hex: Vec<char> = device_id.chars().filter(char::is_ascii_hexdigit).collect();
    hex[hex.len().saturating_sub(12)..].iter().collect()
}

/// A hybrid logical clock for one device.
#[derive(Debug)]
pub struct Hlc {
    device: String,
    state: Mutex<(i64, u32)>,
}

impl Hlc {
    /// `last` is the highest clock value this device has issued before (from the store), if any.
    pub fn new(device: &str, last: Option<&str>) -> Self {
        let state = last.and_then(parse_hlc).unwrap_or((0, 0));
        Hlc { device: stamp_device(device), state: Mutex::new(state) }
    }

    /// The next clock value: strictly greater than every value issued before.
    pub fn tick(&self, now: DateTime<Utc>) -> String {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let ms = now.timestamp_millis();
        if ms > st.0 {
            *st = (ms, 0);
        } else {
            st.1 += 1;
        }
        format!("{:013}.{:05}.{}", st.0, st.1, self.device)
    }
}

impl Hlc {
    /// Move the clock past a stamp received from another device, so this device's next write orders
    /// after everything it has seen even if its wall clock is behind.
    pub fn observe(&self, remote: &str) {
        if let Some(seen) = parse_hlc(remote) {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if seen > *st {
                *st = seen;
            }
        }
    }
}

fn parse_hlc(s: &str) -> Option<(i64, u32)> {
    let mut it = s.splitn(3, '.');
    let ms = it.next()?.parse().ok()?;
    let counter = it.next()?.parse().ok()?;
    Some((ms, counter))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stamp_device_takes_the_random_end_of_the_device_id() {
        // Two UUIDv7 ids made in the same millisecond share their first 12 digits, not their last.
        let a = "01a2278c703775b89803d5dc7242584f";
        let b = "01a2278c7037700000000000000000ff";
        assert_eq!(stamp_device(a), "d5dc7242584f", "the last 12 hex digits");
        assert_ne!(stamp_device(a), stamp_device(b), "same-millisecond devices differ");
        assert_eq!(stamp_device("01a2278c-7037-75b8-9803-d5dc7242584f"), "d5dc7242584f", "dashes are ignored");
    }

    #[test]
    fn timestamps_are_fixed_width_and_round_trip() {
        let t = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let s = fmt_ts(t);
        assert_eq!(s, "2026-01-02T03:04:05.000000Z", "microsecond precision, Z suffix");
        assert_eq!(parse_ts(&s).unwrap(), t, "stored instants parse back to the same instant");
    }

    #[test]
    fn observing_a_remote_stamp_moves_the_clock_past_it() {
        let clock = Hlc::new("slow", None);
        let t = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let remote = format!("{:013}.{:05}.fast", t.timestamp_millis() + 60_000, 7);
        clock.observe(&remote);
        let next = clock.tick(t);
        assert!(next > remote, "a write after seeing {remote} orders after it: {next}");
    }

    #[test]
    fn hlc_is_monotonic_even_when_the_wall_clock_goes_back() {
        let clock = Hlc::new("dev1", None);
        let t1 = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let a = clock.tick(t1);
        let b = clock.tick(t1 - chrono::Duration::seconds(10));
        let c = clock.tick(t1 + chrono::Duration::seconds(1));
        assert!(a < b && b < c, "clock values must strictly increase: {a} {b} {c}");
        let resumed = Hlc::new("dev1", Some(&c));
        let d = resumed.tick(t1);
        assert!(d > c, "a clock resumed from a stored value continues after it: {c} then {d}");
    }
}
