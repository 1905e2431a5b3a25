//! Parsing of user input into domain values, each failure naming the field as the shells name it.
//!
//! Both shells hand the core strings (the CLI from flags, the desktop UI from JSON where money is always a
//! string), so there is exactly one place where text becomes a price, a time or a time zone.

use std::str::FromStr;

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use trenddojo_domain::money::{Fee, Money, Percent, Price, Quantity};

use crate::error::{ApiError, ApiResult};

/// Earliest and latest instants accepted for executions and filters.
const MIN_YEAR: i32 = 1970;
const MAX_YEAR: i32 = 2100;

pub fn money(field: &'static str, s: &str) -> ApiResult<Money> {
    Ok(Money::parse(field, s)?)
}
pub fn price(field: &'static str, s: &str) -> ApiResult<Price> {
    Ok(Price::parse(field, s)?)
}
pub fn quantity(field: &'static str, s: &str) -> ApiResult<Quantity> {
    Ok(Quantity::parse(field, s)?)
}
pub fn fee(field: &'static str, s: &str) -> ApiResult<Fee> {
    Ok(Fee::parse(field, s)?)
}
pub fn percent(field: &'static str, s: &str) -> ApiResult<Percent> {
    Ok(Percent::parse(field, s)?)
}

pub fn opt<T>(field: &'static str, s: Option<&str>, f: fn(&'static str, &str) -> ApiResult<T>) -> ApiResult<Option<T>> {
    s.map(|s| f(field, s)).transpose()
}

/// A strictly positive plain decimal (contract multiplier, quantity step).
pub fn positive_decimal(field: &'static str, s: &str) -> ApiResult<Decimal> {
    Ok(Quantity::parse(field, s)?.value())
}

/// A count typed as text (a limit, an offset, an item number, a number of positions): plain digits, no
/// sign. Shells hand these over as text so that `-1` reaches this check and gets the field's own message
/// instead of being taken for a flag or failing a shell's own number parsing.
pub fn whole(field: &'static str, s: &str) -> ApiResult<u32> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid(field, format!("expected a whole number of 0 or more, got {s:?}")));
    }
    t.parse::<u32>().map_err(|_| ApiError::invalid(field, format!("{t} is larger than {}", u32::MAX)))
}

/// Any enum with a `FromStr` whose error message names its field.
pub fn choice<T: FromStr>(field: &'static str, s: &str) -> ApiResult<T>
where
    T::Err: std::fmt::Display,
{
    T::from_str(s.trim()).map_err(|e| {
        let msg = e.to_string();
        if msg.starts_with(&format!("{field}:")) {
            ApiError::invalid(field, msg.split_once(':').map_or(msg.as_str(), |(_, m)| m).trim())
        } else {
            ApiError::invalid(field, msg)
        }
    })
}

/// A ticker: 1–32 characters of letters, digits and `.-/_:`; stored upper-case.
pub fn symbol(field: &'static str, s: &str) -> ApiResult<String> {
    let t = s.trim().to_ascii_uppercase();
    if t.is_empty() || t.len() > 32 || !t.chars().all(|c| c.is_ascii_alphanumeric() || ".-/_:".contains(c)) {
        return Err(ApiError::invalid(
            field,
            format!("expected a ticker of 1 to 32 letters, digits or . - / _ :, got {s:?}"),
        ));
    }
    Ok(t)
}

/// A three-letter ISO 4217 currency code, upper-cased.
pub fn currency(field: &'static str, s: &str) -> ApiResult<String> {
    let c = s.trim().to_ascii_uppercase();
    if c.len() != 3 || !c.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(ApiError::invalid(field, format!("expected a three-letter currency code such as USD, got {s:?}")));
    }
    Ok(c)
}

/// An IANA time zone name such as `America/New_York`.
pub fn time_zone(field: &'static str, s: &str) -> ApiResult<Tz> {
    Tz::from_str(s.trim()).map_err(|_| {
        ApiError::invalid(field, format!("unknown time zone {s:?}; use an IANA name such as America/New_York"))
    })
}

/// A non-empty text of at most `max` characters, trimmed.
pub fn text(field: &'static str, s: &str, max: usize) -> ApiResult<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if t.chars().count() > max {
        return Err(ApiError::invalid(field, format!("is longer than {max} characters")));
    }
    Ok(t.to_string())
}

fn check_range(field: &'static str, t: DateTime<Utc>, now: DateTime<Utc>) -> ApiResult<DateTime<Utc>> {
    use chrono::Datelike;
    if t.year() < MIN_YEAR || t.year() > MAX_YEAR {
        return Err(ApiError::invalid(field, format!("{t} is outside {MIN_YEAR}..{MAX_YEAR}")));
    }
    if t > now + Duration::days(1) {
        return Err(ApiError::invalid(field, format!("{} is in the future", t.format("%Y-%m-%d %H:%M UTC"))));
    }
    Ok(t)
}

/// An execution time: RFC 3339 with an offset (`2026-03-09T14:30:00Z`, `...-05:00`), or a local
/// `YYYY-MM-DD HH:MM[:SS]` / `YYYY-MM-DDTHH:MM[:SS]` in the account's time zone. Local times that do not
/// exist or are ambiguous (daylight-saving changes) are refused rather than guessed.
pub fn instant(field: &'static str, s: &str, tz: Tz, now: DateTime<Utc>) -> ApiResult<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return check_range(field, t.with_timezone(&Utc), now);
    }
    let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .ok_or_else(|| {
            ApiError::invalid(
                field,
                format!("expected a time like 2026-03-09T14:30:00Z or 2026-03-09 09:30, got {s:?}"),
            )
        })?;
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => check_range(field, t.with_timezone(&Utc), now),
        LocalResult::Ambiguous(a, b) => Err(ApiError::invalid(
            field,
            format!("{s} happens twice in {tz} ({} and {}); give an offset", a.to_rfc3339(), b.to_rfc3339()),
        )),
        LocalResult::None => Err(ApiError::invalid(field, format!("{s} does not exist in {tz} (clocks skip it)"))),
    }
}

/// A calendar date `YYYY-MM-DD`.
pub fn date(field: &'static str, s: &str) -> ApiResult<NaiveDate> {
    use chrono::Datelike;
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::invalid(field, format!("expected a date like 2026-03-09, got {s:?}")))?;
    if d.year() < MIN_YEAR || d.year() > MAX_YEAR {
        return Err(ApiError::invalid(field, format!("{d} is outside {MIN_YEAR}..{MAX_YEAR}")));
    }
    Ok(d)
}

/// The UTC instant at which calendar day `d` starts in `tz` (midnight, or the first instant after a gap).
/// One definition with the day boundaries of the statistics' stored per-day summaries
/// ([`trenddojo_domain::stats::day_start`]), so a range and the days it covers always agree.
pub fn start_of_day(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    trenddojo_domain::stats::day_start(d, tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
    }

    #[test]
    fn local_times_are_read_in_the_account_time_zone() {
        let t = instant("at", "2026-03-08 23:30", chrono_tz::America::New_York, now()).unwrap();
        assert_eq!(t, Utc.with_ymd_and_hms(2026, 3, 9, 3, 30, 0).unwrap(), "EDT is UTC-4 after the change");
        let z = instant("at", "2026-03-09T14:30:00Z", chrono_tz::Asia::Tokyo, now()).unwrap();
        assert_eq!(z, Utc.with_ymd_and_hms(2026, 3, 9, 14, 30, 0).unwrap(), "an explicit offset wins");
    }

    #[test]
    fn impossible_ambiguous_and_out_of_range_times_are_refused() {
        let ny = chrono_tz::America::New_York;
        let gap = instant("at", "2026-03-08 02:30", ny, now()).unwrap_err();
        assert!(gap.message.starts_with("at:") && gap.message.contains("does not exist"), "{}", gap.message);
        let twice = instant("at", "2026-11-01 01:30", ny, now()).unwrap_err();
        assert!(twice.message.contains("twice"), "{}", twice.message);
        let future = instant("at", "2030-01-01T00:00:00Z", ny, now()).unwrap_err();
        assert!(future.message.contains("future"), "{}", future.message);
        let old = instant("at", "1900-01-01T00:00:00Z", ny, now()).unwrap_err();
        assert!(old.message.contains("outside"), "{}", old.message);
        assert_eq!(old.field.as_deref(), Some("at"), "the field is reported");
    }

    #[test]
    fn symbols_currencies_and_zones_are_validated() {
        assert_eq!(symbol("symbol", " aapl ").unwrap(), "AAPL", "upper-cased and trimmed");
        assert!(symbol("symbol", "AA PL").is_err(), "spaces are not part of a ticker");
        assert_eq!(currency("currency", "usd").unwrap(), "USD", "upper-cased");
        assert!(currency("currency", "US").is_err(), "three letters");
        assert!(time_zone("timezone", "Mars/Olympus").is_err(), "unknown zone");
    }

    #[test]
    fn counts_are_plain_digits_and_name_the_field() {
        assert_eq!(whole("limit", " 50 ").unwrap(), 50, "trimmed digits");
        assert_eq!(whole("limit", "0").unwrap(), 0, "zero is a count; range checks belong to the use case");
        for bad in ["-1", "+1", "1.5", "", "ten", "1e3"] {
            let e = whole("limit", bad).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("limit"), "{bad:?} names the field");
            assert!(e.message.starts_with("limit: expected a whole number"), "{bad:?}: {}", e.message);
        }
        assert!(whole("limit", "4294967296").unwrap_err().message.contains("larger than"), "above u32");
    }

    #[test]
    fn start_of_day_handles_zones() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        assert_eq!(
            start_of_day(d, chrono_tz::America::New_York),
            Utc.with_ymd_and_hms(2026, 3, 8, 5, 0, 0).unwrap(),
            "EST midnight is 05:00 UTC"
        );
    }
}
