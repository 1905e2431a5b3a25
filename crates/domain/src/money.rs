//! Exact money, prices, quantities, fees and percentages.
//!
//! A float cannot represent 0.1, and a journal that shows `6.359999999999999` loses its users' trust, so
//! every amount here is a `rust_decimal::Decimal` wrapped in a type that states what it may hold: a
//! `Price` or `Quantity` is strictly positive, a `Fee` is never negative, a `Percent` lies in 0..=100.
//! Text is the only way in and out: `parse` accepts plain decimal notation only (no exponents, no
//! separators, no NaN), `to_canonical` gives one spelling per value (no trailing zeros, never `-0`), which is
//! what the store keeps in SQLite TEXT columns, and serde writes and reads JSON strings, refusing JSON
//! numbers so that no float ever sits between a user and their balance.
//!
//! Two ways in, two rules. What a user types or a device stores is *input*: it is taken exactly or
//! refused (`parse`, `new`: more than [`MAX_SCALE`] places is an error, because silently changing what
//! someone typed is worse than asking again). What TrendDojo computes from accepted input is *derived*
//! (a product of a 12-place quantity and a 12-place price has up to 24 places): it is rounded to
//! [`MAX_SCALE`] places with banker's rounding ([`Money::derived`], [`round_derived`]) and never refused
//! for its scale, so every input that is accepted can be computed with. Only a result too large for 28
//! digits is an error ([`checked`]), naming the field it would have been.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::DomainError;

/// Largest number of decimal places accepted (covers crypto quantities and sub-penny prices).
pub const MAX_SCALE: u32 = 12;
/// Largest number of significant digits accepted (what `Decimal` holds exactly).
pub const MAX_DIGITS: usize = 28;

/// How every derived amount is rounded: half to even ("banker's rounding"), so ties do not drift one
/// way over many trades (2.345 -> 2.34, 2.355 -> 2.36). `Decimal::round_dp` uses the same strategy; this
/// names it where it matters.
pub const ROUNDING: RoundingStrategy = RoundingStrategy::MidpointNearestEven;

/// Number of decimal digits of `n` (0 for 0).
fn digit_count(n: u128) -> usize {
    n.checked_ilog10().map_or(0, |l| l as usize + 1)
}

/// Significant digits of a value as its canonical text spells them (the normalized mantissa's digits).
fn significant_digits(d: Decimal) -> usize {
    digit_count(d.normalize().mantissa().unsigned_abs())
}

/// A derived value rounded by [`ROUNDING`] to [`MAX_SCALE`] places, or to fewer when its integer part is
/// so long that 12 places would exceed [`MAX_DIGITS`] significant digits (what canonical text may hold),
/// normalized. Rounded once, from the exact value (never 12 places first and then fewer, which could
/// round a value twice). A value of 10^28 or more does not fit at all: see [`Money::derived`].
pub fn round_derived(d: Decimal) -> Decimal {
    let int_digits = digit_count(d.trunc().mantissa().unsigned_abs());
    let room = u32::try_from(MAX_DIGITS.saturating_sub(int_digits)).unwrap_or(0);
    d.round_dp_with_strategy(MAX_SCALE.min(room), ROUNDING).normalize()
}

/// The result of a checked operation, or an overflow error naming `field` (the value that could not be
/// computed within 28 digits).
pub fn checked(field: &'static str, v: Option<Decimal>) -> Result<Decimal, DomainError> {
    v.ok_or(DomainError::Overflow { field })
}

/// Parse plain decimal text: optional `-` (when `allow_negative`), digits, optional `.` and digits.
pub(crate) fn parse_plain(
    field: &'static str,
    s: &str,
    allow_negative: bool,
    expected: &'static str,
) -> Result<Decimal, DomainError> {
    let bad = || DomainError::InvalidDecimal { field, input: s.to_string(), expected };
    let body = match s.strip_prefix('-') {
        Some(rest) if allow_negative => rest,
        Some(_) => return Err(bad()),
        None => s,
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if body.ends_with('.') {
        return Err(bad());
    }
    let scale = frac.len();
    if scale > MAX_SCALE as usize {
        return Err(DomainError::OutOfRange {
            field,
            reason: format!("{s:?} has {scale} decimal places; at most {MAX_SCALE} are kept"),
        });
    }
    let int_digits = int.trim_start_matches('0').len();
    let significant = if int_digits > 0 { int_digits + frac.len() } else { frac.trim_start_matches('0').len() };
    if significant > MAX_DIGITS {
        return Err(DomainError::OutOfRange {
            field,
            reason: format!("{s:?} has more than {MAX_DIGITS} significant digits"),
        });
    }
    Decimal::from_str_exact(s).map_err(|_| bad())
}

/// One spelling per value: normalized, no exponent, `0` for zero.
pub fn canonical(d: Decimal) -> String {
    let n = d.normalize();
    if n.is_zero() {
        "0".to_string()
    } else {
        n.to_string()
    }
}

/// What `parse` accepts, for values that did not come from text: at most [`MAX_SCALE`] places and
/// [`MAX_DIGITS`] significant digits, so that every value held in these types has canonical text that
/// parses back (a 29-digit value would be written to the store and then refused when read).
fn check_scale(field: &'static str, d: Decimal) -> Result<Decimal, DomainError> {
    let n = d.normalize();
    if n.scale() > MAX_SCALE {
        return Err(DomainError::OutOfRange { field, reason: format!("{d} has more than {MAX_SCALE} decimal places") });
    }
    if significant_digits(n) > MAX_DIGITS {
        return Err(DomainError::OutOfRange {
            field,
            reason: format!("{n} has more than {MAX_DIGITS} significant digits"),
        });
    }
    Ok(n)
}

/// `Some(Money)` when `d` fits what money may hold (see [`check_scale`]), else `None` (an overflow to the
/// checked operations below).
fn fits(d: Decimal) -> Option<Money> {
    check_scale("amount", d).ok().map(Money)
}

macro_rules! decimal_type {
    ($(#[$doc:meta])* $name:ident, negative: $neg:expr, expected: $expected:literal, check: $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Decimal);

        impl $name {
            /// Parse user or stored text; the error names `field`.
            pub fn parse(field: &'static str, s: &str) -> Result<Self, DomainError> {
                let d = parse_plain(field, s, $neg, $expected)?;
                Self::new(field, d).map_err(|e| match e {
                    DomainError::OutOfRange { .. } | DomainError::Overflow { .. } => e,
                    _ => DomainError::InvalidDecimal { field, input: s.to_string(), expected: $expected },
                })
            }

            /// Validate a computed value.
            pub fn new(field: &'static str, d: Decimal) -> Result<Self, DomainError> {
                let d = check_scale(field, d)?;
                let check: fn(Decimal) -> bool = $check;
                if !check(d) {
                    return Err(DomainError::InvalidDecimal { field, input: canonical(d), expected: $expected });
                }
                Ok($name(d))
            }

            pub fn value(self) -> Decimal {
                self.0
            }

            /// The canonical text stored in SQLite and shown to users.
            pub fn to_canonical(&self) -> String {
                canonical(self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_canonical())
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, DomainError> {
                Self::parse("value", s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_canonical())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "{} as a decimal string (JSON numbers are refused: they may be floats)", $expected)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::parse(stringify!($name), v).map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

decimal_type!(
    /// A signed amount of money in the account's currency.
    Money, negative: true, expected: "a decimal amount such as 1250.50 or -30", check: |_| true
);
decimal_type!(
    /// A price: strictly positive.
    Price, negative: false, expected: "a positive decimal price such as 187.25", check: |d| d > Decimal::ZERO
);
decimal_type!(
    /// A quantity of shares, contracts or coins: strictly positive.
    Quantity, negative: false, expected: "a positive decimal such as 100 or 0.5", check: |d| d > Decimal::ZERO
);
decimal_type!(
    /// Commission and fees: zero or positive.
    Fee, negative: false, expected: "a decimal amount of zero or more such as 1.25", check: |d| d >= Decimal::ZERO
);
decimal_type!(
    /// A percentage between 0 and 100.
    Percent, negative: false, expected: "a percentage from 0 to 100 such as 1.5", check: |d| d >= Decimal::ZERO && d <= Decimal::ONE_HUNDRED
);

impl Money {
    pub fn zero() -> Money {
        Money(Decimal::ZERO)
    }

    /// A computed amount (P&L, fees allocated, risk, averages, statistics): rounded to [`MAX_SCALE`]
    /// places with banker's rounding ([`ROUNDING`]) instead of refused for its scale. Use [`Money::new`]
    /// for values a user typed or a device stored, which must be kept exactly.
    ///
    /// When the integer part is long, fewer places are kept so that at most [`MAX_DIGITS`] significant
    /// digits remain (see [`round_derived`]). The only error is an amount of 10^28 or more, which no
    /// canonical text holds: [`DomainError::Overflow`] naming `field`.
    pub fn derived(field: &'static str, d: Decimal) -> Result<Money, DomainError> {
        fits(round_derived(d)).ok_or(DomainError::Overflow { field })
    }

    pub fn is_negative(self) -> bool {
        self.0 < Decimal::ZERO
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn abs(self) -> Money {
        Money(self.0.abs())
    }

    /// The sum, or `None` when it does not fit in money (more than 28 digits).
    pub fn checked_add(self, o: Money) -> Option<Money> {
        self.0.checked_add(o.0).and_then(fits)
    }

    /// The difference, or `None` when it does not fit in money (more than 28 digits).
    pub fn checked_sub(self, o: Money) -> Option<Money> {
        self.0.checked_sub(o.0).and_then(fits)
    }

    /// The product, or `None` when it does not fit in money (more than 28 digits or 12 places).
    pub fn checked_mul(self, by: Decimal) -> Option<Money> {
        self.0.checked_mul(by).and_then(fits)
    }

    pub fn checked_neg(self) -> Money {
        Money(-self.0)
    }
}

impl Fee {
    pub fn zero() -> Fee {
        Fee(Decimal::ZERO)
    }

    pub fn as_money(self) -> Money {
        Money(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_text_has_one_spelling_per_value() {
        let cases =
            [("1.50", "1.5"), ("100", "100"), ("-0", "0"), ("0.000", "0"), ("-12.3400", "-12.34"), ("007", "7")];
        for (input, want) in cases {
            assert_eq!(Money::parse("amount", input).unwrap().to_canonical(), want, "canonical form of {input}");
        }
    }

    #[test]
    fn malformed_text_is_refused_with_the_field_name() {
        for bad in ["", " 1", "1 ", "+1", "1e5", "1E5", "NaN", "inf", "1,000", "1.", ".5", "--1", "1.2.3", "0x10"] {
            let err = Money::parse("balance", bad).unwrap_err().to_string();
            assert!(err.starts_with("balance:"), "{bad:?} must be refused naming the field: {err}");
        }
        assert!(Price::parse("price", "0").unwrap_err().to_string().starts_with("price:"), "zero price refused");
        assert!(
            Quantity::parse("quantity", "-3").unwrap_err().to_string().contains("positive"),
            "negative quantity refused"
        );
        assert!(Fee::parse("fees", "-0.01").is_err(), "negative fee refused");
        assert!(Fee::parse("fees", "0").is_ok(), "zero fee allowed");
        assert!(Percent::parse("pct", "100.01").is_err(), "over 100% refused");
        let long = Price::parse("price", "1.0000000000001").unwrap_err().to_string();
        assert!(long.contains("decimal places"), "too many places explained: {long}");
        let huge = Money::parse("amount", "12345678901234567890123456789").unwrap_err().to_string();
        assert!(huge.contains("significant digits"), "too many digits explained: {huge}");
    }

    #[test]
    fn json_is_a_string_and_numbers_are_refused() {
        let m = Money::parse("x", "-1234.5").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"-1234.5\"", "money serializes as a JSON string");
        let back: Money = serde_json::from_str("\"-1234.50\"").unwrap();
        assert_eq!(back, m, "a string deserializes to the same value");
        let err = serde_json::from_str::<Money>("1234.5").unwrap_err().to_string();
        assert!(err.contains("string"), "a JSON number is refused: {err}");
        assert!(serde_json::from_str::<Price>("\"0\"").is_err(), "validation applies to JSON too");
    }

    #[test]
    fn derived_amounts_round_half_to_even_at_12_places_instead_of_failing() {
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        // The gross of 123.456789 x (0.00001301 - 0.00001234): 14 places, refused as input, rounded as derived.
        let gross = d("123.456789") * (d("0.00001301") - d("0.00001234"));
        assert_eq!(gross, d("0.00008271604863"), "the exact product has 14 places");
        assert!(Money::new("gross", gross).is_err(), "as input it would be refused");
        assert_eq!(Money::derived("gross", gross).unwrap().to_canonical(), "0.000082716049", "derived: rounded");
        for (input, want) in [
            ("0.0000000000005", "0"),                // tie: to the even 0
            ("0.0000000000015", "0.000000000002"),   // tie: to the even 2
            ("0.0000000000025", "0.000000000002"),   // tie: to the even 2
            ("-0.0000000000025", "-0.000000000002"), // ties are symmetric around zero
            ("-0.0000000000004", "0"),               // never "-0"
            ("0.00000000000051", "0.000000000001"),  // above the tie
            ("1.25", "1.25"),                        // 12 places or fewer: unchanged
            ("9999999999999999999999999999", "9999999999999999999999999999"),
        ] {
            assert_eq!(Money::derived("x", d(input)).unwrap().to_canonical(), want, "derived({input})");
        }
        assert_eq!(round_derived(d("2.0000000000005")), d("2"), "round_derived follows the same rule");
        // A long integer part keeps fewer places: canonical text holds at most 28 significant digits.
        assert_eq!(
            Money::derived("gross", d("4999999999999999999999999999.5")).unwrap().to_canonical(),
            "5000000000000000000000000000",
            "half of a 28-digit quantity: rounded to 28 digits (the tie goes to the even 0 after a 9)"
        );
        assert_eq!(
            Money::derived("x", d("1234567890123456789.1234567891")).unwrap().to_canonical(),
            "1234567890123456789.123456789",
            "19 integer digits leave 9 places"
        );
        assert_eq!(
            Money::derived("x", d("999999999999999.9999999999995")).unwrap().to_canonical(),
            "1000000000000000",
            "rounded once from the exact value, carrying into the integer part"
        );
        let big = Money::derived("gross", d("10000000000000000000000000000")).unwrap_err();
        assert_eq!(big.to_string(), "gross: the amount is too large to compute exactly", "10^28 does not fit");
        assert!(
            Money::new("x", d("4999999999999999999999999999.5")).unwrap_err().to_string().contains("significant"),
            "as input (or anything else written to the store), 29 digits are refused: they would not parse back"
        );
        let max = Money::parse("x", "9999999999999999999999999999").unwrap();
        assert_eq!(max.checked_add(Money::parse("x", "1").unwrap()), None, "a sum of 29 digits is an overflow");
        assert!(max.checked_sub(Money::parse("x", "1").unwrap()).is_some(), "28 digits fit");
        assert_eq!(
            checked("price", d("79228162514264337593543950335").checked_mul(d("2"))).unwrap_err().to_string(),
            "price: the amount is too large to compute exactly",
            "overflow names the field"
        );
    }

    fn accepted() -> impl Strategy<Value = Decimal> {
        (any::<i64>(), 0u32..=MAX_SCALE).prop_map(|(m, s)| Decimal::new(m, s))
    }

    proptest! {
        #[test]
        fn money_round_trips_exactly(d in accepted()) {
            let m = Money::new("x", d).unwrap();
            let text = m.to_canonical();
            let back = Money::parse("x", &text).unwrap();
            prop_assert_eq!(back.value(), d, "text round trip keeps the value");
            prop_assert_eq!(back.to_canonical(), text.clone(), "and the spelling");
            let json = serde_json::to_string(&m).unwrap();
            let from_json: Money = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(from_json, m, "JSON round trip keeps the value");
        }

        #[test]
        fn derived_keeps_12_places_exactly_and_is_within_half_a_unit_otherwise(m in any::<i64>(), scale in 0u32..=28) {
            let d = Decimal::new(m, scale);
            let r = Money::derived("x", d).unwrap().value();
            let unit = Decimal::new(1, MAX_SCALE);
            if scale <= MAX_SCALE {
                prop_assert_eq!(r, d, "a value with at most 12 places is kept as is");
            }
            prop_assert!(r.scale() <= MAX_SCALE, "at most 12 places: {}", r);
            let text = Money::derived("x", d).unwrap().to_canonical();
            prop_assert_eq!(Money::parse("x", &text).unwrap().value(), r, "a derived amount's text parses back");
            prop_assert!((r - d).abs() * Decimal::TWO <= unit, "within half a unit of the 12th place: {} vs {}", r, d);
        }

        #[test]
        fn positive_types_round_trip(d in accepted()) {
            let d = d.abs();
            prop_assume!(!d.is_zero());
            let p = Price::new("price", d).unwrap();
            prop_assert_eq!(Price::parse("price", &p.to_canonical()).unwrap(), p, "price round trip");
            let q = Quantity::new("quantity", d).unwrap();
            prop_assert_eq!(Quantity::parse("quantity", &q.to_canonical()).unwrap(), q, "quantity round trip");
            prop_assert!(Price::parse("price", &format!("-{}", p.to_canonical())).is_err(), "negative price refused");
        }

        #[test]
        fn garbage_is_refused_naming_the_field(s in "[^0-9]{1,8}|[0-9]{0,4}[eE+, ][0-9]{0,4}") {
            let r = Money::parse("amount", &s);
            prop_assert!(r.is_err(), "{:?} must be refused", s);
            prop_assert!(r.unwrap_err().to_string().starts_with("amount:"), "the message names the field");
        }
    }
}
