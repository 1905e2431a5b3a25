//! Open risk: what an open position loses if its current stop is hit now.
//!
//! The desktop app's dashboard shows it beside each open position and summed per account. Definition
//! (docs/metrics.md, *Open risk*): `open quantity × multiplier × (average entry − current stop)` for a long,
//! `(current stop − average entry)` for a short, where the average entry is the exact volume-weighted
//! entry price (entry notional / entered quantity, not the 8-place display average). It is the position's
//! risk as average-cost matching sees it; FIFO and LIFO give the same total once the trade is closed,
//! and a per-lot figure would need the lots, which the trade row does not keep. A stop that has moved past
//! the average entry (profit locked in) risks nothing: 0, never a negative "risk". No stop: no figure
//! (the loss is not bounded), which the screen says in words.
//!
//! Everything is exact decimal arithmetic, checked, and divided once at the end ([`Money::derived`]).

use rust_decimal::Decimal;

use crate::error::DomainError;
use crate::money::{checked, Money, Price};
use crate::trade::Direction;

/// The open risk of a position, or `None` without a stop. `entry_notional` is Σ entry quantity × price and
/// `entered` Σ entry quantity (both over every entry fill); `open` is what is still open.
pub fn open_risk(
    direction: Direction,
    entry_notional: Decimal,
    entered: Decimal,
    open: Decimal,
    stop: Option<Price>,
    multiplier: Decimal,
) -> Result<Option<Money>, DomainError> {
    let Some(stop) = stop else { return Ok(None) };
    if open <= Decimal::ZERO || entered <= Decimal::ZERO {
        return Ok(Some(Money::zero()));
    }
    // (entry notional − stop × entered) / entered is the per-unit distance without rounding the average.
    let at_stop = checked("stop", stop.value().checked_mul(entered))?;
    let distance_times_entered = checked("stop", entry_notional.checked_sub(at_stop))?;
    let signed = match direction {
        Direction::Long => distance_times_entered,
        Direction::Short => -distance_times_entered,
    };
    if signed <= Decimal::ZERO {
        return Ok(Some(Money::zero()));
    }
    let scaled = checked("quantity", signed.checked_mul(open).and_then(|v| v.checked_mul(multiplier)))?;
    let risk = checked("quantity", scaled.checked_div(entered))?;
    Ok(Some(Money::derived("open_risk", risk)?))
}

/// The sum of open risks (positions without a stop are counted in `unbounded` instead).
pub fn total_open_risk(risks: &[Option<Money>]) -> Result<(Money, u32), DomainError> {
    let mut total = Money::zero();
    let mut unbounded = 0u32;
    for r in risks {
        match r {
            Some(m) => total = total.checked_add(*m).ok_or(DomainError::Overflow { field: "open_risk" })?,
            None => unbounded = unbounded.saturating_add(1),
        }
    }
    Ok((total, unbounded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    fn p(s: &str) -> Option<Price> {
        Some(Price::parse("stop", s).unwrap())
    }

    #[test]
    fn long_and_short_by_hand() {
        // 58 AAPL at 187.50, stop 183.20: 4.30 × 58 = 249.40.
        let long = open_risk(Direction::Long, d("10875"), d("58"), d("58"), p("183.20"), Decimal::ONE).unwrap();
        assert_eq!(long.unwrap().to_canonical(), "249.4", "long: (entry − stop) × quantity");
        // Short 10 at 50 and 10 at 52 (average 51), stop 53, 5 still open, multiplier 2: 2 × 5 × 2 = 20.
        let short = open_risk(Direction::Short, d("1020"), d("20"), d("5"), p("53"), d("2")).unwrap();
        assert_eq!(short.unwrap().to_canonical(), "20", "short: (stop − average entry) × open × multiplier");
    }

    #[test]
    fn a_stop_past_the_entry_risks_nothing_and_no_stop_is_no_figure() {
        let locked = open_risk(Direction::Long, d("100"), d("1"), d("1"), p("101"), Decimal::ONE).unwrap();
        assert_eq!(locked, Some(Money::zero()), "profit locked in: 0, not negative");
        let none = open_risk(Direction::Long, d("100"), d("1"), d("1"), None, Decimal::ONE).unwrap();
        assert_eq!(none, None, "no stop: unbounded, no number");
        let flat = open_risk(Direction::Long, d("100"), d("1"), d("0"), p("90"), Decimal::ONE).unwrap();
        assert_eq!(flat, Some(Money::zero()), "nothing open: nothing at risk");
    }

    #[test]
    fn a_repeating_average_is_divided_once_and_rounded_half_to_even() {
        // Entries 1 @ 10 and 2 @ 11: average 32/3; stop 10; open 3: (32 − 30) / 3 × 3 = 2 exactly.
        let r = open_risk(Direction::Long, d("32"), d("3"), d("3"), p("10"), Decimal::ONE).unwrap();
        assert_eq!(r.unwrap().to_canonical(), "2", "no rounding error from the average");
        // Open 1 of 3: 2/3 = 0.666666666667 at 12 places.
        let r = open_risk(Direction::Long, d("32"), d("3"), d("1"), p("10"), Decimal::ONE).unwrap();
        assert_eq!(r.unwrap().to_canonical(), "0.666666666667", "one division, rounded at 12 places");
    }

    #[test]
    fn huge_values_are_an_error_naming_the_field_never_a_panic() {
        let e = open_risk(Direction::Long, Decimal::MAX, d("1"), Decimal::MAX, p("1"), Decimal::MAX).unwrap_err();
        assert!(e.to_string().starts_with("quantity:") || e.to_string().starts_with("stop:"), "named: {e}");
    }

    #[test]
    fn totals_count_unbounded_positions_apart() {
        let (t, n) = total_open_risk(&[Some(Money::parse("a", "1.5").unwrap()), None, Some(Money::zero())]).unwrap();
        assert_eq!((t.to_canonical().as_str(), n), ("1.5", 1), "sum of the bounded, count of the unbounded");
    }

    proptest! {
        #[test]
        fn risk_never_negative_and_never_more_than_the_whole_position(
            entry in 1u32..100_000, stop in 1u32..100_000, qty in 1u32..10_000, open_part in 0u32..=100,
        ) {
            let entered = Decimal::from(qty);
            let open = entered * Decimal::from(open_part) / Decimal::from(100);
            let notional = Decimal::from(entry) * entered;
            let r = open_risk(Direction::Long, notional, entered, open, p(&stop.to_string()), Decimal::ONE).unwrap().unwrap();
            prop_assert!(!r.is_negative(), "risk is never negative");
            let whole = (Decimal::from(entry) - Decimal::from(stop)).max(Decimal::ZERO) * entered;
            prop_assert!(r.value() <= whole, "the open part risks no more than the whole position");
        }
    }
}
