//! The trade lifecycle and realized P&L.
//!
//! A trade is a position in one symbol and direction built from fills (executions). Fills on the entry
//! side (buy for a long, sell for a short) add lots; fills on the exit side are matched against open lots
//! by the account's method (FIFO by default, LIFO, or average cost). Realized gross P&L is the matched
//! price difference times quantity times the contract multiplier, negated for shorts. Every fill's fee is
//! a cost: an exit carries its own fee plus its share of the entry fees of the lots it consumes, allocated
//! by quantity and rounded to 10 places, with the exit that consumes the last piece of a lot taking the
//! remainder; so for a closed trade the per-exit net amounts add up to the trade's net P&L exactly.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::money::{Fee, Money, Price, Quantity};

/// Places kept when allocating entry fees and removing average cost.
const ALLOC_DP: u32 = 10;
/// Places kept in displayed average prices.
const AVG_DP: u32 = 8;

macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::DomainError;
            fn from_str(s: &str) -> Result<Self, $crate::DomainError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::DomainError::InvalidChoice {
                        field: $field,
                        input: other.to_string(),
                        allowed: $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    }),
                }
            }
        }
    };
}
pub(crate) use str_enum;

str_enum!(
    /// Long (profit when the price rises) or short.
    Direction, "side", { Long => "long", Short => "short" }
);
str_enum!(
    /// The side of one fill.
    Side, "side", { Buy => "buy", Sell => "sell" }
);
str_enum!(
    /// Where a trade is in its life.
    TradeStatus, "status", {
        Planned => "planned",
        Open => "open",
        PartiallyClosed => "partially_closed",
        Closed => "closed",
        Cancelled => "cancelled",
    }
);
str_enum!(
    /// How exits are matched against entry lots.
    MatchingMethod, "matching", { Fifo => "fifo", Lifo => "lifo", AverageCost => "average_cost" }
);

impl Default for MatchingMethod {
    fn default() -> Self {
        MatchingMethod::Fifo
    }
}

impl Direction {
    pub fn entry_side(self) -> Side {
        match self {
            Direction::Long => Side::Buy,
            Direction::Short => Side::Sell,
        }
    }

    pub fn exit_side(self) -> Side {
        match self {
            Direction::Long => Side::Sell,
            Direction::Short => Side::Buy,
        }
    }

    fn sign(self) -> Decimal {
        match self {
            Direction::Long => Decimal::ONE,
            Direction::Short => Decimal::NEGATIVE_ONE,
        }
    }
}

/// One execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    pub id: Uuid,
    pub side: Side,
    pub quantity: Quantity,
    pub price: Price,
    pub fees: Fee,
    pub executed_at: DateTime<Utc>,
}

/// What one exit fill realized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExitRealization {
    pub fill_id: Uuid,
    pub executed_at: DateTime<Utc>,
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    pub gross: Money,
    /// The exit's own fee plus its share of the entry fees of the lots it closed.
    pub fees_allocated: Money,
    pub net: Money,
}

/// A trade's state derived from its fills.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PositionSummary {
    pub status: TradeStatus,
    #[serde(with = "rust_decimal::serde::str")]
    pub entered_quantity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub exited_quantity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub open_quantity: Decimal,
    /// Sum of quantity x price over entry fills (exact; the average price is this over the quantity).
    #[serde(with = "rust_decimal::serde::str")]
    pub entry_notional: Decimal,
    /// Volume-weighted average entry price, rounded to 8 places for display.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub avg_entry_price: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub avg_exit_price: Option<Decimal>,
    pub gross_realized: Money,
    /// Every fee paid so far (entries and exits).
    pub fees: Money,
    /// `gross_realized - fees`: for a trade that is not closed yet, entry fees of open lots are already
    /// subtracted here but not yet allocated to any exit.
    pub net_realized: Money,
    pub opened_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub exits: Vec<ExitRealization>,
}

struct Lot {
    remaining: Decimal,
    original: Decimal,
    price: Decimal,
    fee: Decimal,
    fee_allocated: Decimal,
}

fn of(field: &'static str, v: Option<Decimal>) -> Result<Decimal, DomainError> {
    v.ok_or(DomainError::Overflow { field })
}

/// Derive a trade's state from its fills (taken in order of time, ties in slice order).
pub fn summarize(
    direction: Direction,
    multiplier: Decimal,
    method: MatchingMethod,
    fills: &[Fill],
) -> Result<PositionSummary, DomainError> {
    if multiplier <= Decimal::ZERO {
        return Err(DomainError::OutOfRange { field: "multiplier", reason: format!("must be positive, got {multiplier}") });
    }
    let mut order: Vec<&Fill> = fills.iter().collect();
    order.sort_by_key(|f| f.executed_at); // stable: ties keep their order
    let sign = direction.sign();
    let mut lots: VecDeque<Lot> = VecDeque::new();
    // Average-cost pool: open quantity, its cost and its unallocated entry fees.
    let (mut pool_qty, mut pool_cost, mut pool_fee) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    let (mut entered, mut exited) = (Decimal::ZERO, Decimal::ZERO);
    let (mut entry_notional, mut exit_notional) = (Decimal::ZERO, Decimal::ZERO);
    let (mut gross, mut fees) = (Decimal::ZERO, Decimal::ZERO);
    let mut exits = Vec::new();
    let (mut opened_at, mut closed_at) = (None, None);

    for f in order {
        let q = f.quantity.value();
        let p = f.price.value();
        let notional = of("price", p.checked_mul(q))?;
        fees = of("fees", fees.checked_add(f.fees.value()))?;
        if f.side == direction.entry_side() {
            opened_at.get_or_insert(f.executed_at);
            entered = of("quantity", entered.checked_add(q))?;
            entry_notional = of("price", entry_notional.checked_add(notional))?;
            match method {
                MatchingMethod::AverageCost => {
                    pool_qty += q;
                    pool_cost = of("price", pool_cost.checked_add(notional))?;
                    pool_fee = of("fees", pool_fee.checked_add(f.fees.value()))?;
                }
                _ => lots.push_back(Lot { remaining: q, original: q, price: p, fee: f.fees.value(), fee_allocated: Decimal::ZERO }),
            }
            continue;
        }
        let open = entered - exited;
        if q > open {
            return Err(DomainError::OverClose { field: "quantity", requested: q.normalize(), open: open.normalize() });
        }
        let (mut exit_gross, mut fee_share) = (Decimal::ZERO, Decimal::ZERO);
        match method {
            MatchingMethod::AverageCost => {
                let last = q == pool_qty;
                let cost = if last { pool_cost } else { of("price", pool_cost.checked_mul(q))?.checked_div(pool_qty).map(|d| d.round_dp(ALLOC_DP)).ok_or(DomainError::Overflow { field: "price" })? };
                let share = if last { pool_fee } else { (pool_fee * q / pool_qty).round_dp(ALLOC_DP) };
                exit_gross = of("price", notional.checked_sub(cost))?;
                fee_share = share;
                pool_qty -= q;
                pool_cost -= cost;
                pool_fee -= share;
            }
            _ => {
                let mut left = q;
                while left > Decimal::ZERO {
                    let lot = match method {
                        MatchingMethod::Lifo => lots.back_mut(),
                        _ => lots.front_mut(),
                    }
                    .ok_or(DomainError::OverClose { field: "quantity", requested: q, open })?;
                    let take = left.min(lot.remaining);
                    let diff = of("price", p.checked_sub(lot.price))?;
                    exit_gross = of("price", exit_gross.checked_add(of("price", diff.checked_mul(take))?))?;
                    let share = if take == lot.remaining {
                        lot.fee - lot.fee_allocated
                    } else {
                        (of("fees", lot.fee.checked_mul(take))? / lot.original).round_dp(ALLOC_DP)
                    };
                    lot.fee_allocated += share;
                    fee_share += share;
                    lot.remaining -= take;
                    left -= take;
                    if lot.remaining.is_zero() {
                        match method {
                            MatchingMethod::Lifo => lots.pop_back(),
                            _ => lots.pop_front(),
                        };
                    }
                }
            }
        }
        let exit_gross = of("price", of("price", exit_gross.checked_mul(multiplier))?.checked_mul(sign))?;
        gross = of("price", gross.checked_add(exit_gross))?;
        exited += q;
        exit_notional = of("price", exit_notional.checked_add(notional))?;
        let allocated = f.fees.value() + fee_share;
        exits.push(ExitRealization {
            fill_id: f.id,
            executed_at: f.executed_at,
            quantity: q.normalize(),
            gross: Money::new("gross", exit_gross)?,
            fees_allocated: Money::new("fees", allocated)?,
            net: Money::new("net", of("fees", exit_gross.checked_sub(allocated))?)?,
        });
        if entered == exited {
            closed_at = Some(f.executed_at);
        }
    }

    let open_quantity = entered - exited;
    let status = if fills.is_empty() {
        TradeStatus::Planned
    } else if open_quantity.is_zero() {
        TradeStatus::Closed
    } else if exited.is_zero() {
        TradeStatus::Open
    } else {
        TradeStatus::PartiallyClosed
    };
    let avg = |notional: Decimal, qty: Decimal| (!qty.is_zero()).then(|| (notional / qty).round_dp(AVG_DP).normalize());
    Ok(PositionSummary {
        status,
        entered_quantity: entered.normalize(),
        exited_quantity: exited.normalize(),
        open_quantity: open_quantity.normalize(),
        entry_notional: entry_notional.normalize(),
        avg_entry_price: avg(entry_notional, entered),
        avg_exit_price: avg(exit_notional, exited),
        gross_realized: Money::new("gross", gross)?,
        fees: Money::new("fees", fees)?,
        net_realized: Money::new("net", of("fees", gross.checked_sub(fees))?)?,
        opened_at,
        closed_at: if status == TradeStatus::Closed { closed_at } else { None },
        exits,
    })
}

/// Initial risk: |entry notional − initial stop × entered quantity| × multiplier, which equals
/// |volume-weighted average entry − stop| × quantity × multiplier without rounding the average.
/// `None` when nothing was entered or the stop sits at the entry.
pub fn initial_risk(summary: &PositionSummary, initial_stop: Decimal, multiplier: Decimal) -> Option<Money> {
    let at_stop = initial_stop.checked_mul(summary.entered_quantity)?;
    let risk = summary.entry_notional.checked_sub(at_stop)?.abs().checked_mul(multiplier)?;
    if risk.is_zero() {
        return None;
    }
    Money::new("initial_risk", risk).ok()
}

/// A long's stop must be below its entry, a short's above.
pub fn validate_stop(direction: Direction, entry: Price, stop: Price) -> Result<(), DomainError> {
    let ok = match direction {
        Direction::Long => stop.value() < entry.value(),
        Direction::Short => stop.value() > entry.value(),
    };
    if ok {
        Ok(())
    } else {
        Err(DomainError::Rule {
            field: "stop",
            reason: format!(
                "a {direction} stop must be {} the entry {entry}, got {stop}",
                if direction == Direction::Long { "below" } else { "above" }
            ),
        })
    }
}

/// R-multiple: net P&L over initial risk, 4 places; `None` without a risk.
pub fn r_multiple(net: Money, initial_risk: Option<Money>) -> Option<Decimal> {
    let risk = initial_risk?.value();
    net.value().checked_div(risk).map(|r| r.round_dp(4).normalize())
}

/// Each exit's net P&L attributed to the calendar date of its fill in the account's time zone.
pub fn exit_days(exits: &[ExitRealization], tz: Tz) -> Result<BTreeMap<NaiveDate, Money>, DomainError> {
    let mut days: BTreeMap<NaiveDate, Money> = BTreeMap::new();
    for x in exits {
        let day = x.executed_at.with_timezone(&tz).date_naive();
        let slot = days.entry(day).or_insert_with(Money::zero);
        *slot = slot.checked_add(x.net).ok_or(DomainError::Overflow { field: "net" })?;
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    fn fill(side: Side, q: &str, p: &str, fee: &str, minute: i64) -> Fill {
        Fill {
            id: Uuid::from_u128(minute as u128 + 1),
            side,
            quantity: Quantity::parse("q", q).unwrap(),
            price: Price::parse("p", p).unwrap(),
            fees: Fee::parse("f", fee).unwrap(),
            executed_at: Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap() + chrono::Duration::minutes(minute),
        }
    }

    #[test]
    fn fifo_scale_in_and_out_hand_computed() {
        use Side::*;
        let fills = [
            fill(Buy, "100", "50", "1", 0),
            fill(Buy, "50", "52", "1", 1),
            fill(Sell, "75", "55", "1", 2),
            fill(Sell, "75", "53", "1", 3),
        ];
        let s = summarize(Direction::Long, Decimal::ONE, MatchingMethod::Fifo, &fills).unwrap();
        // 75 x (55-50) = 375; 25 x (53-50) = 75; 50 x (53-52) = 50.
        assert_eq!(s.gross_realized.to_canonical(), "500", "gross");
        assert_eq!(s.fees.to_canonical(), "4", "fees");
        assert_eq!(s.net_realized.to_canonical(), "496", "net");
        assert_eq!(s.status, TradeStatus::Closed, "closed");
        // Exit 1: 375 - 1 - 0.75 = 373.25; exit 2: 125 - 1 - 0.25 - 1 = 122.75.
        let nets: Vec<String> = s.exits.iter().map(|x| x.net.to_canonical()).collect();
        assert_eq!(nets, ["373.25", "122.75"], "per-exit net with fee allocation");
        assert_eq!(initial_risk(&s, d("49"), Decimal::ONE).unwrap().to_canonical(), "250", "|7600 - 7350|");
        assert_eq!(s.avg_entry_price, Some(d("50.66666667")), "average entry rounded to 8 places for display");
    }

    #[test]
    fn lifo_and_average_cost_differ_mid_trade_but_agree_when_closed() {
        use Side::*;
        let partial = [fill(Buy, "100", "50", "0", 0), fill(Buy, "100", "60", "0", 1), fill(Sell, "100", "70", "0", 2)];
        let fifo = summarize(Direction::Long, Decimal::ONE, MatchingMethod::Fifo, &partial).unwrap();
        let lifo = summarize(Direction::Long, Decimal::ONE, MatchingMethod::Lifo, &partial).unwrap();
        let avg = summarize(Direction::Long, Decimal::ONE, MatchingMethod::AverageCost, &partial).unwrap();
        assert_eq!(fifo.gross_realized.to_canonical(), "2000", "FIFO sells the 50s");
        assert_eq!(lifo.gross_realized.to_canonical(), "1000", "LIFO sells the 60s");
        assert_eq!(avg.gross_realized.to_canonical(), "1500", "average cost 55");
        assert_eq!(fifo.status, TradeStatus::PartiallyClosed, "100 still open");
    }

    #[test]
    fn shorts_multipliers_and_over_close() {
        use Side::*;
        let s = summarize(Direction::Short, d("50"), MatchingMethod::Fifo, &[fill(Sell, "2", "6000.25", "4.5", 0), fill(Buy, "2", "5990", "4.5", 1)]).unwrap();
        // 2 x 10.25 x 50 = 1025 for a short that fell; minus 9 fees.
        assert_eq!(s.net_realized.to_canonical(), "1016", "short futures");
        let err = summarize(Direction::Long, Decimal::ONE, MatchingMethod::Fifo, &[fill(Buy, "100", "1", "0", 0), fill(Sell, "150", "1", "0", 1)]).unwrap_err();
        assert_eq!(err.to_string(), "quantity: cannot close 150, only 100 is open", "over-close message");
        let early = summarize(Direction::Long, Decimal::ONE, MatchingMethod::Fifo, &[fill(Sell, "1", "1", "0", 0), fill(Buy, "1", "1", "0", 1)]);
        assert!(early.is_err(), "an exit before any entry is refused");
        assert!(summarize(Direction::Long, Decimal::ZERO, MatchingMethod::Fifo, &[]).is_err(), "zero multiplier refused");
        let planned = summarize(Direction::Long, Decimal::ONE, MatchingMethod::Fifo, &[]).unwrap();
        assert_eq!(planned.status, TradeStatus::Planned, "no fills: planned");
    }

    #[test]
    fn stops_must_be_on_the_losing_side() {
        let p = |s| Price::parse("p", s).unwrap();
        assert!(validate_stop(Direction::Long, p("10"), p("9")).is_ok(), "long stop below");
        assert!(validate_stop(Direction::Long, p("10"), p("10")).is_err(), "long stop at entry refused");
        assert!(validate_stop(Direction::Short, p("10"), p("11")).is_ok(), "short stop above");
        assert!(validate_stop(Direction::Short, p("10"), p("9")).unwrap_err().to_string().starts_with("stop:"), "names the field");
        assert_eq!(r_multiple(Money::parse("x", "-50").unwrap(), Money::parse("x", "100").ok()), Some(d("-0.5")), "R");
        assert_eq!(r_multiple(Money::parse("x", "50").unwrap(), None), None, "no risk, no R");
    }

    #[test]
    fn exit_days_follow_the_account_time_zone() {
        let x = ExitRealization {
            fill_id: Uuid::nil(),
            executed_at: Utc.with_ymd_and_hms(2026, 3, 9, 3, 30, 0).unwrap(),
            quantity: Decimal::ONE,
            gross: Money::parse("x", "10").unwrap(),
            fees_allocated: Money::zero(),
            net: Money::parse("x", "10").unwrap(),
        };
        let days = exit_days(&[x], chrono_tz::America::New_York).unwrap();
        assert_eq!(days.keys().next().copied(), NaiveDate::from_ymd_opt(2026, 3, 8), "23:30 EDT on 03-08 is 03-09 UTC");
    }

    fn fills_strategy() -> impl Strategy<Value = (Direction, Vec<(bool, u32, u32, u32)>)> {
        (prop_oneof![Just(Direction::Long), Just(Direction::Short)],
         proptest::collection::vec((any::<bool>(), 1u32..500, 1u32..100_000, 0u32..500), 1..12))
    }

    proptest! {
        #[test]
        fn closed_trades_allocate_fees_exactly_and_methods_agree((direction, steps) in fills_strategy()) {
            // Build a valid sequence: entries, exits never exceeding the open quantity, then close the rest.
            let mut fills = Vec::new();
            let mut open = 0u32;
            for (i, (is_exit, q, p, fee)) in steps.iter().enumerate() {
                let (side, q) = if *is_exit && open > 0 { (direction.exit_side(), (*q).min(open)) } else { (direction.entry_side(), *q) };
                if side == direction.exit_side() { open -= q } else { open += q }
                fills.push(Fill { id: Uuid::from_u128(i as u128), side, quantity: Quantity::new("q", Decimal::from(q)).unwrap(),
                    price: Price::new("p", Decimal::new(i64::from(*p), 3)).unwrap(), fees: Fee::new("f", Decimal::new(i64::from(*fee), 2)).unwrap(),
                    executed_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(i as i64) });
            }
            if open > 0 {
                fills.push(Fill { id: Uuid::from_u128(999), side: direction.exit_side(), quantity: Quantity::new("q", Decimal::from(open)).unwrap(),
                    price: Price::new("p", Decimal::new(12345, 3)).unwrap(), fees: Fee::new("f", Decimal::new(7, 1)).unwrap(),
                    executed_at: Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap() });
            }
            let mult = Decimal::from(3);
            let f = summarize(direction, mult, MatchingMethod::Fifo, &fills).unwrap();
            prop_assert_eq!(f.status, TradeStatus::Closed, "the sequence ends flat");
            let sum: Decimal = f.exits.iter().map(|x| x.net.value()).sum();
            prop_assert_eq!(sum, f.net_realized.value(), "per-exit nets add up to the trade's net");
            let entry: Decimal = fills.iter().filter(|x| x.side == direction.entry_side()).map(|x| x.price.value() * x.quantity.value()).sum();
            let exit: Decimal = fills.iter().filter(|x| x.side == direction.exit_side()).map(|x| x.price.value() * x.quantity.value()).sum();
            let sign = if direction == Direction::Long { Decimal::ONE } else { Decimal::NEGATIVE_ONE };
            prop_assert_eq!(f.gross_realized.value(), (exit - entry) * mult * sign, "gross is the notional difference");
            for m in [MatchingMethod::Lifo, MatchingMethod::AverageCost] {
                let other = summarize(direction, mult, m, &fills).unwrap();
                prop_assert_eq!(other.net_realized, f.net_realized, "{} agrees with FIFO once closed", m);
                let s: Decimal = other.exits.iter().map(|x| x.net.value()).sum();
                prop_assert_eq!(s, other.net_realized.value(), "{} allocates fees exactly", m);
            }
        }
    }
}
