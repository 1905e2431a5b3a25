//! Conversions between stored text and domain values, and the `decimal` collation.
//!
//! Money, prices and quantities are canonical decimal TEXT. SQLite cannot order such text numerically,
//! so every connection registers a `decimal` collation that compares canonical decimal strings exactly
//! (sign, then integer digits by length, then digit by digit): `ORDER BY net_pnl COLLATE decimal` sorts
//! by value without ever converting to a float, and indexes can be built on it.

use std::cmp::Ordering;
use std::str::FromStr;

use chrono::{DateTime, Utc};
pub use rusqlite::params;
use rusqlite::types::Type;
pub use rusqlite::types::Value;
use rusqlite::{Connection, Row};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::clock::parse_ts;
use trenddojo_domain::DomainError;

/// Register the collations every connection needs (before any statement that uses them).
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_collation("decimal", cmp_decimal_text)
}

/// Compare two decimal strings by value. Non-canonical input ("01", "1.0", "+1") compares by value too;
/// text that is not a decimal sorts after every decimal, bytewise among itself.
pub fn cmp_decimal_text(a: &str, b: &str) -> Ordering {
    match (split(a), split(b)) {
        (Some(x), Some(y)) => cmp_parts(&x, &y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

struct Parts<'a> {
    negative: bool,
    int: &'a str,
    frac: &'a str,
}

fn split(s: &str) -> Option<Parts<'_>> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = rest.split_once('.').unwrap_or((rest, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|c| c.is_ascii_digit()) || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let zero = int.is_empty() && frac.is_empty();
    Some(Parts { negative: negative && !zero, int, frac })
}

fn cmp_magnitude(a: &Parts<'_>, b: &Parts<'_>) -> Ordering {
    a.int.len().cmp(&b.int.len()).then_with(|| a.int.cmp(b.int)).then_with(|| a.frac.cmp(b.frac))
}

fn cmp_parts(a: &Parts<'_>, b: &Parts<'_>) -> Ordering {
    match (a.negative, b.negative) {
        (false, false) => cmp_magnitude(a, b),
        (true, true) => cmp_magnitude(b, a),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    }
}

fn conv_err(i: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e))
}

/// A stored value parsed with a domain parser; failures surface as corrupt data, naming the column.
pub(crate) fn col<T>(
    r: &Row<'_>,
    i: usize,
    parse: fn(&'static str, &str) -> Result<T, DomainError>,
) -> rusqlite::Result<T> {
    let s: String = r.get(i)?;
    parse("stored value", &s).map_err(|e| conv_err(i, e))
}

pub(crate) fn col_opt<T>(
    r: &Row<'_>,
    i: usize,
    parse: fn(&'static str, &str) -> Result<T, DomainError>,
) -> rusqlite::Result<Option<T>> {
    let s: Option<String> = r.get(i)?;
    s.map(|s| parse("stored value", &s).map_err(|e| conv_err(i, e))).transpose()
}

pub(crate) fn col_dec(r: &Row<'_>, i: usize) -> rusqlite::Result<Decimal> {
    let s: String = r.get(i)?;
    Decimal::from_str_exact(&s).map_err(|e| conv_err(i, e))
}

pub(crate) fn col_dec_opt(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<Decimal>> {
    let s: Option<String> = r.get(i)?;
    s.map(|s| Decimal::from_str_exact(&s).map_err(|e| conv_err(i, e))).transpose()
}

pub(crate) fn col_enum<T: FromStr>(r: &Row<'_>, i: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let s: String = r.get(i)?;
    T::from_str(&s).map_err(|e| conv_err(i, e))
}

pub(crate) fn col_uuid(r: &Row<'_>, i: usize) -> rusqlite::Result<Uuid> {
    let s: String = r.get(i)?;
    Uuid::parse_str(&s).map_err(|e| conv_err(i, e))
}

pub(crate) fn col_uuid_opt(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<Uuid>> {
    let s: Option<String> = r.get(i)?;
    s.map(|s| Uuid::parse_str(&s).map_err(|e| conv_err(i, e))).transpose()
}

pub(crate) fn col_ts(r: &Row<'_>, i: usize) -> rusqlite::Result<DateTime<Utc>> {
    let s: String = r.get(i)?;
    parse_ts(&s).map_err(|e| conv_err(i, e))
}

pub(crate) fn col_ts_opt(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let s: Option<String> = r.get(i)?;
    s.map(|s| parse_ts(&s).map_err(|e| conv_err(i, e))).transpose()
}

/// Canonical text of a plain decimal (quantities that may be zero, multipliers, ratios).
pub fn dec_text(d: Decimal) -> String {
    let n = d.normalize();
    if n.is_zero() {
        "0".to_string()
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimal_collation_orders_by_value() {
        let mut v = vec!["10", "9.99", "-1", "-10.5", "0", "100", "-0.001", "2", "0.5"];
        v.sort_by(|a, b| cmp_decimal_text(a, b));
        assert_eq!(v, ["-10.5", "-1", "-0.001", "0", "0.5", "2", "9.99", "10", "100"], "numeric order");
        assert_eq!(cmp_decimal_text("1.50", "1.5"), Ordering::Equal, "trailing zeros do not matter");
        assert_eq!(cmp_decimal_text("-0", "0"), Ordering::Equal, "negative zero is zero");
    }

    proptest! {
        #[test]
        fn collation_agrees_with_decimal_ordering(a in any::<i64>(), sa in 0u32..10, b in any::<i64>(), sb in 0u32..10) {
            let x = Decimal::new(a, sa);
            let y = Decimal::new(b, sb);
            prop_assert_eq!(cmp_decimal_text(&dec_text(x), &dec_text(y)), x.cmp(&y), "{} vs {}", x, y);
        }
    }
}
