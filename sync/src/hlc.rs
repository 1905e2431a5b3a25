//! Hybrid-logical-clock stamps: `<unix ms:13>.<counter:5>.<device>`.
//!
//! The store issues one per write transaction (see `trenddojo_store::clock`). Fixed widths make text order
//! equal to (time, counter, device) order, so SQLite and PostgreSQL can compare stamps as text and so can
//! we; the device id at the end breaks ties between two devices that wrote in the same millisecond with
//! the same counter, so every device picks the same winner.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::SyncError;

/// A validated clock stamp. Ordering is the text order, which is (ms, counter, device) order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Hlc(String);

impl Hlc {
    /// The stamp older than every real write: for values whose write stamp is unknown.
    pub fn zero() -> Hlc {
        Hlc("0000000000000.00000.0".to_string())
    }

    /// Build a stamp from its parts (device ids are at most 12 characters, no dots).
    pub fn new(ms: u64, counter: u32, device: &str) -> Result<Hlc, SyncError> {
        Hlc::parse(&format!("{ms:013}.{counter:05}.{device}"))
    }

    pub fn parse(s: &str) -> Result<Hlc, SyncError> {
        let bad = || SyncError::BadHlc(s.to_string());
        let mut it = s.splitn(3, '.');
        let (ms, counter, device) =
            (it.next().ok_or_else(bad)?, it.next().ok_or_else(bad)?, it.next().ok_or_else(bad)?);
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        let device_ok = !device.is_empty()
            && device.len() <= 12
            && device.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if digits(ms, 13) && digits(counter, 5) && device_ok {
            Ok(Hlc(s.to_string()))
        } else {
            Err(bad())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The device that issued the stamp.
    pub fn device(&self) -> &str {
        self.0.splitn(3, '.').nth(2).unwrap_or_default()
    }
}

impl TryFrom<String> for Hlc {
    type Error = SyncError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Hlc::parse(&s)
    }
}

impl From<Hlc> for String {
    fn from(h: Hlc) -> String {
        h.0
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_order_by_time_then_counter_then_device() {
        let a = Hlc::new(1_767_225_600_000, 0, "laptop").expect("valid");
        let b = Hlc::new(1_767_225_600_000, 1, "desktop").expect("valid");
        let c = Hlc::new(1_767_225_600_001, 0, "aaa").expect("valid");
        let d = Hlc::new(1_767_225_600_001, 0, "bbb").expect("valid");
        assert!(a < b && b < c && c < d, "time, then counter, then device id: {a} {b} {c} {d}");
        assert_eq!(d.device(), "bbb", "the device is the last part");
    }

    #[test]
    fn malformed_stamps_are_refused() {
        for s in [
            "",
            "1.2.3",
            "1767225600000.00000.",
            "1767225600000.0000.dev",
            "1767225600000.00000.has.dot",
            "x767225600000.00000.dev",
        ] {
            assert!(matches!(Hlc::parse(s), Err(SyncError::BadHlc(ref b)) if b == s), "{s:?} is refused");
        }
        let json: Result<Hlc, _> = serde_json::from_str("\"nope\"");
        assert!(json.is_err(), "deserializing validates too");
    }
}
