//! Reading broker times into UTC instants.
//!
//! Most exports write naive wall-clock times ("2024-03-15 09:31:05") in a zone they do not name: the
//! *statement time zone*. Storing such a time as UTC puts evening trades on the next day, so every import has
//! a statement zone (a per-format default, or the user's setting; formats whose zone is unknowable have no
//! default and the import stops, naming the setting). A time that names its own zone or offset (`Z`,
//! `-0400`, ` EDT`) is read in that instead: an abbreviation fixes the offset, so it also settles which of two
//! repeated wall-clock hours is meant.
//!
//! ## The DST rule (deterministic; each case adds a warning to the fill)
//! * **Gap** (spring forward: 02:30 does not exist on that day in America/New_York): the time is read with
//!   the offset in force *before* the change. 02:30 at -05:00 is 07:30 UTC, which the new clock shows as
//!   03:30: the wall time moves forward by the gap's length, exactly as a clock that was not yet adjusted
//!   would have written it.
//! * **Overlap** (fall back: 01:30 happens twice): the *first* occurrence is taken (the earlier instant, still
//!   at the summer offset). Exports that write the zone abbreviation (`EDT`/`EST`) are not ambiguous and never
//!   reach this rule.

use chrono::{DateTime, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// A time read from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadTime {
    pub utc: DateTime<Utc>,
    /// IANA name, `UTC`, or `+hh:mm`.
    pub zone: String,
    pub warning: Option<String>,
}

/// Read a naive local time in `tz` by the module's DST rule.
pub fn resolve_local(naive: NaiveDateTime, tz: Tz) -> ReadTime {
    let zone = tz.name().to_string();
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => ReadTime { utc: t.with_timezone(&Utc), zone, warning: None },
        LocalResult::Ambiguous(first, second) => {
            let (a, b) = if first <= second { (first, second) } else { (second, first) };
            ReadTime {
                utc: a.with_timezone(&Utc),
                warning: Some(format!(
                    "executed_at: {naive} occurs twice in {zone} (the clocks went back); the first occurrence ({}) was taken, not the second ({})",
                    a.to_rfc3339(),
                    b.to_rfc3339()
                )),
                zone,
            }
        }
        LocalResult::None => {
            // The offset before the gap: the offset of the latest earlier wall time that exists.
            let before = (1..=48)
                .map(|k| naive - Duration::minutes(15 * k))
                .find_map(|t| tz.from_local_datetime(&t).earliest())
                .map(|t| t.offset().fix())
                .unwrap_or_else(|| tz.offset_from_utc_datetime(&naive).fix());
            let utc = Utc.from_utc_datetime(&(naive - Duration::seconds(i64::from(before.local_minus_utc()))));
            let shown = utc.with_timezone(&tz);
            ReadTime {
                utc,
                warning: Some(format!(
                    "executed_at: {naive} does not exist in {zone} (the clocks went forward); read with the offset before the change ({before}) as {}, which the new clock shows as {}",
                    utc.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    shown.format("%H:%M:%S %Z")
                )),
                zone,
            }
        }
    }
}

/// A fixed offset for a zone abbreviation exports write after a time.
fn abbreviation(abbr: &str) -> Option<FixedOffset> {
    let hours = match abbr {
        "UTC" | "GMT" | "Z" | "UT" => 0,
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        "AKST" => -9,
        "AKDT" => -8,
        "HST" => -10,
        "WET" => 0,
        "WEST" | "BST" | "CET" => 1,
        "CEST" | "EET" | "SAST" => 2,
        "EEST" | "MSK" => 3,
        "IST" => return FixedOffset::east_opt(5 * 3600 + 1800),
        "SGT" | "HKT" | "AWST" => 8,
        "JST" | "KST" => 9,
        "AEST" => 10,
        "AEDT" => 11,
        _ => return None,
    };
    FixedOffset::east_opt(hours * 3600)
}

fn offset_text(o: FixedOffset) -> String {
    if o.local_minus_utc() == 0 {
        "UTC".to_string()
    } else {
        o.to_string()
    }
}

/// Where a time's text says which zone it is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    Fixed(FixedOffset),
    Zone(Tz),
}

/// Split a trailing zone mark off a time text: ` EST`, ` US/Eastern`, `Z`, `+0200`, `-04:00`.
fn split_mark(s: &str) -> Result<(&str, Option<Mark>), String> {
    let t = s.trim();
    if let Some((head, tail)) = t.rsplit_once(' ') {
        let tail = tail.trim();
        if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_uppercase()) && tail != "AM" && tail != "PM" {
            return match abbreviation(tail) {
                Some(o) => Ok((head.trim_end(), Some(Mark::Fixed(o)))),
                None => Err(format!("unknown time zone abbreviation {tail:?}")),
            };
        }
        if tail.contains('/') && tail.bytes().any(|b| b.is_ascii_alphabetic()) {
            let tz: Tz = tail.parse().map_err(|_| format!("unknown time zone {tail:?}"))?;
            return Ok((head.trim_end(), Some(Mark::Zone(tz))));
        }
    }
    if let Some(head) = t.strip_suffix('Z').or_else(|| t.strip_suffix('z')) {
        if head.ends_with(|c: char| c.is_ascii_digit()) {
            return Ok((head, Some(Mark::Fixed(FixedOffset::east_opt(0).ok_or("offset")?))));
        }
    }
    // A numeric offset after the seconds: the last '+' or '-' past the time part.
    if let Some(pos) = t.rfind(['+', '-']) {
        let (head, off) = t.split_at(pos);
        let has_time = head.contains(':') || head.contains('T');
        let digits: String = off[1..].chars().filter(|c| *c != ':').collect();
        if has_time
            && head.len() >= 8
            && (digits.len() == 4 || digits.len() == 2)
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            let h: i32 = digits[..2].parse().map_err(|_| "offset")?;
            let m: i32 = if digits.len() == 4 { digits[2..].parse().map_err(|_| "offset")? } else { 0 };
            let secs = (h * 3600 + m * 60) * if off.starts_with('-') { -1 } else { 1 };
            let o = FixedOffset::east_opt(secs).ok_or_else(|| format!("offset {off:?} out of range"))?;
            return Ok((head.trim_end(), Some(Mark::Fixed(o))));
        }
    }
    Ok((t, None))
}

/// Parse `raw` with the first of `formats` that fits, then place it in time: by the zone mark the text
/// carries, otherwise in `tz` by the DST rule. The error says what was expected.
pub fn read_time(raw: &str, formats: &[&str], tz: Tz) -> Result<ReadTime, String> {
    let (body, mark) = split_mark(raw).map_err(|e| format!("executed_at: {raw:?}: {e}"))?;
    let naive = parse_naive(body, formats).ok_or_else(|| {
        format!("executed_at: {raw:?} is not a time in the expected format ({})", formats.join(" or "))
    })?;
    Ok(match mark {
        Some(Mark::Fixed(o)) => match o.from_local_datetime(&naive) {
            LocalResult::Single(t) => ReadTime { utc: t.with_timezone(&Utc), zone: offset_text(o), warning: None },
            _ => return Err(format!("executed_at: {raw:?} is out of range")),
        },
        Some(Mark::Zone(z)) => resolve_local(naive, z),
        None => resolve_local(naive, tz),
    })
}

/// The first format that parses `s` (date-only formats give midnight).
pub fn parse_naive(s: &str, formats: &[&str]) -> Option<NaiveDateTime> {
    let s = s.trim();
    formats.iter().find_map(|f| {
        NaiveDateTime::parse_from_str(s, f)
            .ok()
            .or_else(|| NaiveDate::parse_from_str(s, f).ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
    })
}

/// The first candidate format that reads every sample (blank samples ignored); `None` if none does.
/// Candidates are listed in order of preference, so a file whose days are all 12 or less is read month-first
/// unless the list says otherwise.
pub fn detect_format<'a>(samples: &[String], candidates: &[&'a str]) -> Option<&'a str> {
    let samples: Vec<&str> = samples.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    if samples.is_empty() {
        return None;
    }
    candidates.iter().copied().find(|f| {
        samples.iter().all(|s| match split_mark(s) {
            Ok((body, _)) => parse_naive(body, &[f]).is_some(),
            Err(_) => false,
        })
    })
}

/// Four-digit year for a futures month code's year digits, the contract being traded on `trade_date`: the
/// first year not before the trade's previous year that ends in these digits.
pub fn contract_year(digits: &str, trade_year: i32) -> Option<i32> {
    let n: i32 = digits.parse().ok()?;
    match digits.len() {
        1 => (trade_year - 1..trade_year + 10).find(|y| y.rem_euclid(10) == n),
        2 => (trade_year - 1..trade_year + 100).find(|y| y.rem_euclid(100) == n),
        4 => Some(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;

    fn nd(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn gap_times_use_the_offset_before_the_change() {
        let r = resolve_local(nd("2026-03-08 02:30:00"), New_York);
        assert_eq!(r.utc.to_rfc3339(), "2026-03-08T07:30:00+00:00", "02:30 read at -05:00");
        let w = r.warning.expect("a gap time warns");
        assert!(w.contains("does not exist") && w.contains("03:30:00 EDT"), "the warning explains: {w}");
    }

    #[test]
    fn overlap_times_take_the_first_occurrence() {
        let r = resolve_local(nd("2026-11-01 01:30:00"), New_York);
        assert_eq!(r.utc.to_rfc3339(), "2026-11-01T05:30:00+00:00", "01:30 EDT (-04:00) is the first");
        assert!(r.warning.expect("warns").contains("occurs twice"), "overlap warning");
        let plain = resolve_local(nd("2026-11-01 03:30:00"), New_York);
        assert_eq!(plain.warning, None, "an ordinary time does not warn");
    }

    #[test]
    fn a_zone_mark_in_the_text_wins_and_settles_the_overlap() {
        let f = ["%m/%d/%Y %H:%M:%S"];
        let est = read_time("11/01/2026 01:30:00 EST", &f, New_York).unwrap();
        assert_eq!(est.utc.to_rfc3339(), "2026-11-01T06:30:00+00:00", "EST names the second 01:30");
        assert_eq!(est.warning, None, "not ambiguous with an abbreviation");
        let z = read_time("2026-06-17 13:29:32.166Z", &["%Y-%m-%d %H:%M:%S%.f"], New_York).unwrap();
        assert_eq!(z.utc.to_rfc3339(), "2026-06-17T13:29:32.166+00:00", "Z is UTC");
        let off = read_time("2024-03-15T10:30:45-0400", &["%Y-%m-%dT%H:%M:%S"], chrono_tz::UTC).unwrap();
        assert_eq!(off.utc.to_rfc3339(), "2024-03-15T14:30:45+00:00", "numeric offset");
        assert_eq!(off.zone, "-04:00", "the zone says the offset");
        let colon = read_time("2024-03-15 10:30:45+02:00", &["%Y-%m-%d %H:%M:%S"], chrono_tz::UTC).unwrap();
        assert_eq!(colon.utc.to_rfc3339(), "2024-03-15T08:30:45+00:00", "offset with a colon");
        assert!(read_time("2024-03-15 10:30:45 XYZ", &["%Y-%m-%d %H:%M:%S"], New_York).is_err(), "unknown abbr");
        let date_neg = read_time("2024-03-15", &["%Y-%m-%d"], chrono_tz::UTC).unwrap();
        assert_eq!(date_neg.utc.to_rfc3339(), "2024-03-15T00:00:00+00:00", "a date alone is not an offset");
    }

    #[test]
    fn date_formats_are_detected_from_samples() {
        let c = ["%m/%d/%Y", "%d/%m/%Y"];
        let us = vec!["03/04/2024".to_string(), "12/11/2024".to_string()];
        assert_eq!(detect_format(&us, &c), Some("%m/%d/%Y"), "month first when nothing says otherwise");
        let eu = vec!["03/04/2024".to_string(), "15/03/2024".to_string()];
        assert_eq!(detect_format(&eu, &c), Some("%d/%m/%Y"), "a day over 12 settles it");
        assert_eq!(detect_format(&["junk".to_string()], &c), None, "nothing fits");
    }

    #[test]
    fn futures_years_from_one_or_two_digits() {
        assert_eq!(contract_year("6", 2026), Some(2026), "same year");
        assert_eq!(contract_year("7", 2026), Some(2027), "next year");
        assert_eq!(contract_year("5", 2026), Some(2025), "previous year allowed");
        assert_eq!(contract_year("4", 2026), Some(2034), "a digit further back is the next decade");
        assert_eq!(contract_year("24", 2024), Some(2024), "two digits");
    }
}
