//! How numbers look on a screen: one rule for every human-readable view, the CLI's tables today and the
//! desktop app (which implements the same rule in TypeScript and tests it against the same golden cases,
//! `format_cases.json` next to this file).
//!
//! Why a separate rule: stored and JSON values are exact canonical decimals (`177.33970588`, `-67.9`),
//! which is right for scripts and sync but hard to read in a table. A person reads money in the
//! currency's minor unit with thousands separators (`177.34`, `-67.90`), and percentages and R-multiples
//! to 2 places. Only the display rounds; nothing is ever computed from a formatted string, and `--json`
//! output stays exact.
//!
//! The rule, fixed and locale-independent so the CLI and the app agree character for character:
//! - **Rounding**: half to even ("banker's rounding", like every derived value in TrendDojo):
//!   `2.345 -> 2.34`, `2.355 -> 2.36`, `3.125% -> 3.12%`. Done in exact decimals, never through a float.
//! - **Money**: rounded to the currency's minor unit from the ISO 4217 table below (JPY and KRW 0 places,
//!   BHD and KWD 3, most 2, unknown codes 2) and always shown with exactly that many places.
//! - **Percent and R**: exactly 2 places, no unit sign (the caller writes `%` or `R` where it fits).
//! - **Quantity and price**: exact, never rounded (a 12-place crypto quantity is shown in full); a price
//!   has at least its currency's minor-unit places (`187.5 USD -> 187.50`).
//! - **Grouping**: the integer part in groups of three with `,`; the fraction is never grouped.
//! - **Sign**: a leading `-` (`-1,234.57`; with a symbol `-$67.90`). A value that rounds to zero is shown
//!   without a sign (`-0.001 -> 0.00`): "-0.00" would claim a loss that the shown precision cannot see.
//! - **Symbol** (the app's variant): a prefix from a short table (`$`, `€`, `£`, `¥`, ...); other codes are
//!   written as the code and a space (`CHF 1,234.57`).

use rust_decimal::{Decimal, RoundingStrategy};

/// The one rounding rule of the display (the same as `trenddojo_domain::money::ROUNDING`).
const ROUNDING: RoundingStrategy = RoundingStrategy::MidpointNearestEven;

/// ISO 4217 currencies whose minor unit is not 2 places.
const MINOR_UNITS: &[(&str, u32)] = &[
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("CLF", 4),
    ("UYW", 4),
];

/// Currency symbols for the app's variant (English-language forms, so that `$` is only ever USD).
const SYMBOLS: &[(&str, &str)] = &[
    ("USD", "$"),
    ("EUR", "€"),
    ("GBP", "£"),
    ("JPY", "¥"),
    ("CNY", "CN¥"),
    ("KRW", "₩"),
    ("INR", "₹"),
    ("CAD", "CA$"),
    ("AUD", "A$"),
    ("NZD", "NZ$"),
    ("HKD", "HK$"),
    ("MXN", "MX$"),
    ("BRL", "R$"),
    ("ILS", "₪"),
    ("TWD", "NT$"),
    ("VND", "₫"),
    ("PHP", "₱"),
];

fn code(currency: &str) -> String {
    currency.trim().to_ascii_uppercase()
}

/// Places of the currency's minor unit (ISO 4217): 2 unless the table says otherwise, 2 for unknown codes.
pub fn minor_units(currency: &str) -> u32 {
    let c = code(currency);
    MINOR_UNITS.iter().find(|(k, _)| *k == c).map_or(2, |(_, n)| *n)
}

/// `1234567` -> `1,234,567` (digits only).
fn group(int: &str) -> String {
    let mut out = String::with_capacity(int.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Sign, grouped integer part and a fraction of at least `min_places` digits, from a value already rounded
/// as it is to be shown. Zero never carries a sign.
fn render(value: Decimal, min_places: u32, prefix: &str) -> String {
    let negative = value.is_sign_negative() && !value.is_zero();
    let digits = value.abs().to_string();
    let (int, frac) = digits.split_once('.').unwrap_or((digits.as_str(), ""));
    let mut frac = frac.to_string();
    while frac.len() < min_places as usize {
        frac.push('0');
    }
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(prefix);
    out.push_str(&group(int));
    if !frac.is_empty() {
        out.push('.');
        out.push_str(&frac);
    }
    out
}

/// `value` rounded half to even to exactly `places` places.
fn fixed(value: Decimal, places: u32, prefix: &str) -> String {
    render(value.round_dp_with_strategy(places, ROUNDING), places, prefix)
}

/// Money in the currency's minor unit with thousands separators: `-1234.567 USD -> -1,234.57`.
pub fn money(amount: Decimal, currency: &str) -> String {
    fixed(amount, minor_units(currency), "")
}

/// [`money`] with the currency's symbol (or code) in front, for the app: `$1,234.57`, `-$67.90`,
/// `CHF 1,234.57`.
pub fn money_with_symbol(amount: Decimal, currency: &str) -> String {
    let c = code(currency);
    let prefix = SYMBOLS.iter().find(|(k, _)| *k == c).map_or_else(|| format!("{c} "), |(_, s)| (*s).to_string());
    fixed(amount, minor_units(&c), &prefix)
}

/// A percentage to exactly 2 places, without the `%` sign: `3.125 -> 3.12`.
pub fn percent(value: Decimal) -> String {
    fixed(value, 2, "")
}

/// An R-multiple (or another ratio shown to 2 places, such as the profit factor) to exactly 2 places,
/// without the `R`: `0.7072 -> 0.71`.
pub fn r(value: Decimal) -> String {
    fixed(value, 2, "")
}

/// A quantity exactly as it is (never rounded), grouped: `1234567.00012345 -> 1,234,567.00012345`.
pub fn quantity(value: Decimal) -> String {
    render(value.normalize(), 0, "")
}

/// A price exactly as it is (never rounded), grouped, with at least the currency's minor-unit places:
/// `187.5 USD -> 187.50`, `0.00001234 USD -> 0.00001234`.
pub fn price(value: Decimal, currency: &str) -> String {
    render(value.normalize(), minor_units(currency), "")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The golden cases shared with the desktop app's TypeScript implementation.
    const CASES: &str = include_str!("format_cases.json");

    #[test]
    fn golden_cases_shared_with_the_app() {
        let file: serde_json::Value = serde_json::from_str(CASES).expect("format_cases.json is JSON");
        let cases = file["cases"].as_array().expect("a cases array");
        assert!(cases.len() >= 40, "the golden file covers the rule broadly ({} cases)", cases.len());
        let mut kinds = std::collections::BTreeSet::new();
        for c in cases {
            let kind = c["kind"].as_str().expect("kind");
            let input = c["input"].as_str().expect("input is canonical decimal text");
            let currency = c["currency"].as_str().unwrap_or("");
            let expected = c["expected"].as_str().expect("expected");
            let d = Decimal::from_str_exact(input).unwrap_or_else(|e| panic!("input {input:?}: {e}"));
            let got = match kind {
                "money" => money(d, currency),
                "money_with_symbol" => money_with_symbol(d, currency),
                "percent" => percent(d),
                "r" => r(d),
                "quantity" => quantity(d),
                "price" => price(d, currency),
                other => panic!("unknown kind {other:?}"),
            };
            assert_eq!(got, expected, "{kind}({input}, {currency:?}): {}", c["why"].as_str().unwrap_or(""));
            kinds.insert(kind.to_string());
        }
        assert_eq!(kinds.len(), 6, "every kind has golden cases: {kinds:?}");
    }

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(minor_units("USD"), 2, "dollars have cents");
        assert_eq!(minor_units("jpy"), 0, "yen have none; codes are case-insensitive");
        assert_eq!(minor_units("KWD"), 3, "Kuwaiti dinar: fils");
        assert_eq!(minor_units("ZZZ"), 2, "unknown codes: 2");
    }

    #[test]
    fn extreme_values_never_panic() {
        for d in [Decimal::MAX, Decimal::MIN, Decimal::new(1, 28), Decimal::new(-1, 28), Decimal::ZERO] {
            for c in ["USD", "JPY", "KWD", "CLF", ""] {
                let m = money(d, c);
                assert!(!m.is_empty() && !m.contains('e'), "money({d}, {c}) is plain text: {m}");
                let _ = (money_with_symbol(d, c), price(d, c));
            }
            assert!(!percent(d).is_empty() && !r(d).is_empty() && !quantity(d).is_empty(), "all kinds render {d}");
        }
        assert_eq!(money(Decimal::MAX, "USD"), "79,228,162,514,264,337,593,543,950,335.00", "the largest Decimal");
    }
}
