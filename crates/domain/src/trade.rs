//! The trade lifecycle and realized P&L.
//!
//! A trade is a position in one symbol and direction built from fills (executions). Fills on the entry
//! side (buy for a long, sell for a short) add lots; fills on the exit side are matched against open lots
//! by the account's method (FIFO by default, LIFO, or average cost). Realized gross P&L is the matched
//! price difference times quantity times the contract multiplier, negated for shorts. Every fill's fee is
//! a cost: an exit carries its own fee plus its share of the entry fees of the lots it consumes, allocated
//! by quantity and rounded to 10 places, with the exit that consumes the last piece of a lot taking the
//! remainder; so for a closed trade the per-exit net amounts add up to the trade's net P&L exactly.
//!
//! Recomputing a trade from its fills is a *total* function ([`summarize`], [`derive()`]): it never fails.
//! Fills are facts that happened at a broker, and the fills of one trade can arrive from several devices
//! that recorded them while apart (two devices both closing the same 10 shares). The rule "you cannot
//! close more than is open" guards what a user types on one device (the core API refuses such an input);
//! it never guards what a merge produces. A merged history that breaks a rule gets a state every device
//! computes identically: status [`TradeStatus::NeedsReview`] with the reasons ([`Review`]) and the numbers
//! still computed (an exit's quantity beyond what was open realizes nothing and is reported as
//! `excess_quantity`). Such a trade is left out of the statistics until the user resolves it by editing or
//! deleting a fill.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::money::{checked, Fee, Money, Price, Quantity};

/// Places kept when allocating entry fees and removing average cost.
const ALLOC_DP: u32 = 10;
/// Places kept in displayed average prices.
const AVG_DP: u32 = 8;

macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal, { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
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
        NeedsReview => "needs_review",
    }
);
str_enum!(
    /// Why a trade needs the user's review. Each is derived from the trade's own data, so every device
    /// computes the same reasons from the same rows.
    Review, "review", {
        /// Exits add up to more than the entries before them (two devices closed the same position, or an
        /// entry was deleted on one device while an exit was added on another).
        OverClosed => "over_closed",
        /// The initial stop is not on the losing side of the first entry (an entry's price was edited on
        /// one device while the stop was set on another): the trade's risk and R mean nothing.
        StopWrongSide => "stop_wrong_side",
        /// The trade lives in an account that was deleted on another device.
        AccountDeleted => "account_deleted",
        /// The fills' amounts are too large to compute exactly (or the multiplier is not positive).
        Overflow => "overflow",
    }
);

impl Review {
    /// What the user can do about it, in one sentence.
    pub fn advice(self) -> &'static str {
        match self {
            Review::OverClosed => "more was exited than entered: edit or delete the extra exit fill",
            Review::StopWrongSide => {
                "the initial stop is on the wrong side of the entry: edit the stop or the entry fill's price"
            }
            Review::AccountDeleted => "its account was deleted: move the trade to another account or delete it",
            Review::Overflow => "its amounts are too large to compute: edit or delete the fill that is wrong",
        }
    }
}
str_enum!(
    /// How exits are matched against entry lots.
    MatchingMethod, "matching", { Fifo => "fifo", Lifo => "lifo", AverageCost => "average_cost" }
);

#[allow(clippy::derivable_impls, reason = "the enum is generated by str_enum!, which has no #[default]")]
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
    /// Exit quantity that found nothing open to close (zero for a history one device could record).
    #[serde(with = "rust_decimal::serde::str")]
    pub excess_quantity: Decimal,
    /// The price of the first entry fill (in processing order): the reference the initial stop must sit
    /// beyond.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub first_entry_price: Option<Decimal>,
    /// Why the fills need review (empty for a consistent history).
    pub review: Vec<Review>,
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

/// Places kept in every derived money amount (an exit's gross, the trade's totals): the store's limit.
/// Amounts are rounded to it half-to-even (banker's rounding) instead of being refused: inputs that were
/// accepted must always be closable.
pub const DERIVED_DP: u32 = crate::money::MAX_SCALE;

/// Round a derived amount by the money rule: [`DERIVED_DP`] places half to even, fewer when the integer
/// part is long (see `money::round_derived`).
fn derived(d: Decimal) -> Decimal {
    crate::money::round_derived(d)
}

/// Derive a trade's state from its fills (taken in order of time, entries first at a tie, then by id).
///
/// Total: whatever the fills, a summary comes back. Exits beyond the open quantity realize nothing for
/// the excess and mark the trade [`Review::OverClosed`]; amounts too large to compute exactly give a
/// summary with zero money, the quantities that can be added, and [`Review::Overflow`]. Either way the
/// status is [`TradeStatus::NeedsReview`].
pub fn summarize(direction: Direction, multiplier: Decimal, method: MatchingMethod, fills: &[Fill]) -> PositionSummary {
    match try_summarize(direction, multiplier, method, fills) {
        Ok(s) => s,
        Err(_) => overflowed(direction, fills),
    }
}

/// The summary of fills whose amounts cannot be computed exactly: quantities where they add up, no
/// money, and the reason.
fn overflowed(direction: Direction, fills: &[Fill]) -> PositionSummary {
    let sum = |side: Side| {
        fills
            .iter()
            .filter(|f| f.side == side)
            .try_fold(Decimal::ZERO, |a, f| a.checked_add(f.quantity.value()))
            .unwrap_or(Decimal::ZERO)
    };
    let (entered, exited) = (sum(direction.entry_side()), sum(direction.exit_side()));
    let open = entered.checked_sub(exited).unwrap_or(Decimal::ZERO).max(Decimal::ZERO);
    PositionSummary {
        status: TradeStatus::NeedsReview,
        entered_quantity: entered.normalize(),
        exited_quantity: exited.min(entered).normalize(),
        open_quantity: open.normalize(),
        entry_notional: Decimal::ZERO,
        avg_entry_price: None,
        avg_exit_price: None,
        gross_realized: Money::zero(),
        fees: Money::zero(),
        net_realized: Money::zero(),
        opened_at: fills.iter().filter(|f| f.side == direction.entry_side()).map(|f| f.executed_at).min(),
        closed_at: None,
        exits: Vec::new(),
        excess_quantity: exited.checked_sub(entered).unwrap_or(Decimal::ZERO).max(Decimal::ZERO).normalize(),
        first_entry_price: None,
        review: vec![Review::Overflow],
    }
}

fn try_summarize(
    direction: Direction,
    multiplier: Decimal,
    method: MatchingMethod,
    fills: &[Fill],
) -> Result<PositionSummary, DomainError> {
    if multiplier <= Decimal::ZERO {
        return Err(DomainError::OutOfRange {
            field: "multiplier",
            reason: format!("must be positive, got {multiplier}"),
        });
    }
    // Fills in time order; at the same instant entries before exits (a position opens before it can
    // close), then by id. The order depends on the fills alone, never on the order they were stored in,
    // so every device computes the same summary from the same fills (devices store synced fills in
    // different orders, and times entered to the minute tie often).
    let entry = direction.entry_side();
    let mut order: Vec<&Fill> = fills.iter().collect();
    order.sort_by_key(|f| (f.executed_at, f.side != entry, f.id));
    let sign = direction.sign();
    let mut lots: VecDeque<Lot> = VecDeque::new();
    // Average-cost pool: open quantity, its cost and its unallocated entry fees.
    let (mut pool_qty, mut pool_cost, mut pool_fee) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    // `exited` counts matched exit quantity only; `excess` what found nothing open.
    let (mut entered, mut exited, mut excess) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    let (mut entry_notional, mut exit_notional, mut exit_fill_qty) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    let (mut gross, mut fees) = (Decimal::ZERO, Decimal::ZERO);
    let mut exits = Vec::new();
    let (mut opened_at, mut closed_at, mut first_entry_price) = (None, None, None);

    for f in order {
        let q = f.quantity.value();
        let p = f.price.value();
        let notional = of("price", p.checked_mul(q))?;
        fees = of("fees", fees.checked_add(f.fees.value()))?;
        if f.side == entry {
            opened_at.get_or_insert(f.executed_at);
            first_entry_price.get_or_insert(p);
            entered = of("quantity", entered.checked_add(q))?;
            entry_notional = of("price", entry_notional.checked_add(notional))?;
            match method {
                MatchingMethod::AverageCost => {
                    pool_qty = of("quantity", pool_qty.checked_add(q))?;
                    pool_cost = of("price", pool_cost.checked_add(notional))?;
                    pool_fee = of("fees", pool_fee.checked_add(f.fees.value()))?;
                }
                _ => lots.push_back(Lot {
                    remaining: q,
                    original: q,
                    price: p,
                    fee: f.fees.value(),
                    fee_allocated: Decimal::ZERO,
                }),
            }
            continue;
        }
        exit_fill_qty = of("quantity", exit_fill_qty.checked_add(q))?;
        exit_notional = of("price", exit_notional.checked_add(notional))?;
        // What this exit can close; the rest is excess (a merge of two devices' exits, never a user's input).
        let open = entered - exited;
        let matched = q.min(open);
        excess = of("quantity", excess.checked_add(q - matched))?;
        let (mut exit_gross, mut fee_share) = (Decimal::ZERO, Decimal::ZERO);
        if matched > Decimal::ZERO {
            match method {
                MatchingMethod::AverageCost => {
                    let last = matched == pool_qty;
                    let cost = if last {
                        pool_cost
                    } else {
                        of("price", pool_cost.checked_mul(matched))?
                            .checked_div(pool_qty)
                            .map(|d| d.round_dp(ALLOC_DP))
                            .ok_or(DomainError::Overflow { field: "price" })?
                    };
                    let share = if last {
                        pool_fee
                    } else {
                        of("fees", pool_fee.checked_mul(matched))?
                            .checked_div(pool_qty)
                            .map(|d| d.round_dp(ALLOC_DP))
                            .ok_or(DomainError::Overflow { field: "fees" })?
                    };
                    exit_gross = of("price", of("price", p.checked_mul(matched))?.checked_sub(cost))?;
                    fee_share = share;
                    pool_qty -= matched;
                    pool_cost -= cost;
                    pool_fee -= share;
                }
                _ => {
                    let mut left = matched;
                    while left > Decimal::ZERO {
                        let lot = match method {
                            MatchingMethod::Lifo => lots.back_mut(),
                            _ => lots.front_mut(),
                        }
                        .ok_or(DomainError::Overflow { field: "quantity" })?;
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
        }
        let exit_gross = derived(of("price", of("price", exit_gross.checked_mul(multiplier))?.checked_mul(sign))?);
        gross = of("price", gross.checked_add(exit_gross))?;
        exited += matched;
        let allocated = of("fees", f.fees.value().checked_add(fee_share))?;
        exits.push(ExitRealization {
            fill_id: f.id,
            executed_at: f.executed_at,
            quantity: matched.normalize(),
            gross: Money::new("gross", exit_gross)?,
            fees_allocated: Money::new("fees", derived(allocated))?,
            net: Money::new("net", derived(of("fees", exit_gross.checked_sub(allocated))?))?,
        });
        if entered == exited && matched > Decimal::ZERO {
            closed_at = Some(f.executed_at);
        }
    }

    let open_quantity = entered - exited;
    let mut review = Vec::new();
    if excess > Decimal::ZERO {
        review.push(Review::OverClosed);
    }
    let status = if !review.is_empty() {
        TradeStatus::NeedsReview
    } else if fills.is_empty() {
        TradeStatus::Planned
    } else if open_quantity.is_zero() {
        TradeStatus::Closed
    } else if exited.is_zero() {
        TradeStatus::Open
    } else {
        TradeStatus::PartiallyClosed
    };
    let avg = |notional: Decimal, qty: Decimal| {
        (!qty.is_zero()).then(|| notional.checked_div(qty).map(|a| a.round_dp(AVG_DP).normalize())).flatten()
    };
    Ok(PositionSummary {
        status,
        entered_quantity: entered.normalize(),
        exited_quantity: exited.normalize(),
        open_quantity: open_quantity.normalize(),
        entry_notional: entry_notional.normalize(),
        avg_entry_price: avg(entry_notional, entered),
        avg_exit_price: avg(exit_notional, exit_fill_qty),
        gross_realized: Money::new("gross", gross)?,
        fees: Money::new("fees", derived(fees))?,
        net_realized: Money::new("net", derived(of("fees", gross.checked_sub(fees))?))?,
        opened_at,
        closed_at: if open_quantity.is_zero() && !entered.is_zero() { closed_at } else { None },
        exits,
        excess_quantity: excess.normalize(),
        first_entry_price,
        review,
    })
}

/// Everything derived from a trade's fills and its own fields: the summary, initial risk, R, and why it
/// needs review (if it does).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Derived {
    pub summary: PositionSummary,
    pub initial_risk: Option<Money>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub r_multiple: Option<Decimal>,
}

/// What a trade's derived data depends on besides its fills.
#[derive(Clone, Copy, Debug)]
pub struct TradeFacts {
    pub direction: Direction,
    pub multiplier: Decimal,
    pub method: MatchingMethod,
    pub initial_stop: Option<Price>,
    /// The trade's account was deleted (a merge can leave live trades in a deleted account).
    pub account_deleted: bool,
}

/// Derive a trade completely: [`summarize`], then the review reasons that depend on more than the fills
/// (the initial stop against the first entry, a deleted account), then initial risk and R. Total, like
/// `summarize`: this is what every device runs after a merge.
pub fn derive(facts: &TradeFacts, fills: &[Fill]) -> Derived {
    let mut summary = summarize(facts.direction, facts.multiplier, facts.method, fills);
    if let (Some(stop), Some(entry)) = (facts.initial_stop, summary.first_entry_price) {
        let wrong = match facts.direction {
            Direction::Long => stop.value() >= entry,
            Direction::Short => stop.value() <= entry,
        };
        if wrong {
            summary.review.push(Review::StopWrongSide);
        }
    }
    if facts.account_deleted {
        summary.review.push(Review::AccountDeleted);
    }
    let stop = facts.initial_stop.filter(|_| !summary.review.contains(&Review::StopWrongSide));
    // Computed before the status is settled: R of a closed trade. Too large to compute exactly: no risk,
    // no R, and the trade needs review like any amount that overflows.
    let (initial_risk, r_multiple) = match risk_and_r(&summary, stop, facts.multiplier) {
        Ok(rr) => rr,
        Err(_) => {
            if !summary.review.contains(&Review::Overflow) {
                summary.review.push(Review::Overflow);
            }
            (None, None)
        }
    };
    if !summary.review.is_empty() {
        summary.status = TradeStatus::NeedsReview;
    }
    let r_multiple = r_multiple.filter(|_| summary.status == TradeStatus::Closed);
    Derived { summary, initial_risk, r_multiple }
}

/// The review reasons as stored: their codes joined by commas (`None` when there are none).
pub fn review_text(review: &[Review]) -> Option<String> {
    (!review.is_empty()).then(|| review.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","))
}

/// Parse stored review codes (unknown codes from a newer version are skipped).
pub fn parse_review(text: Option<&str>) -> Vec<Review> {
    text.map(|t| t.split(',').filter_map(|c| c.parse().ok()).collect()).unwrap_or_default()
}

/// Initial risk: |entry notional − initial stop × entered quantity| × multiplier, which equals
/// |volume-weighted average entry − stop| × quantity × multiplier without rounding the average. The exact
/// value can have up to 24 places (a 12-place stop times a 12-place quantity); it is a derived amount,
/// rounded to 12 places by [`Money::derived`], never dropped. `Ok(None)` when nothing was entered or the
/// risk is zero at 12 places (a stop at the entry: there is no risk to measure R against). Too large for
/// 28 digits is an error naming `stop`, the input that makes it so.
pub fn initial_risk(
    summary: &PositionSummary,
    initial_stop: Decimal,
    multiplier: Decimal,
) -> Result<Option<Money>, DomainError> {
    let at_stop = checked("stop", initial_stop.checked_mul(summary.entered_quantity))?;
    let diff = checked("stop", summary.entry_notional.checked_sub(at_stop))?;
    let risk = Money::derived("initial_risk", checked("stop", diff.abs().checked_mul(multiplier))?)?;
    Ok((!risk.is_zero()).then_some(risk))
}

/// A trade's initial risk (from its initial stop) and, once it is closed, its R-multiple.
pub fn risk_and_r(
    summary: &PositionSummary,
    initial_stop: Option<Price>,
    multiplier: Decimal,
) -> Result<(Option<Money>, Option<Decimal>), DomainError> {
    let risk = match initial_stop {
        Some(stop) => initial_risk(summary, stop.value(), multiplier)?,
        None => None,
    };
    let r = if summary.status == TradeStatus::Closed { r_multiple(summary.net_realized, risk)? } else { None };
    Ok((risk, r))
}

/// A trade's initial stop must be on the losing side of its entry: below it for a long, above it for a
/// short. Later stops are not held to this (see [`check_stop_move`]).
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

/// A new stop for an existing trade. The first stop ever set becomes the initial stop, which defines the
/// trade's risk and R, so it must sit on the losing side of the entry ([`validate_stop`]). Once a trade
/// has its initial stop, moving the stop is trade management: to breakeven, or past the entry to lock in
/// profit once the trade runs, so any positive price is accepted. `entry` is the average entry (or the
/// planned entry before the first fill); without one there is nothing to check against.
pub fn check_stop_move(
    direction: Direction,
    entry: Option<Price>,
    initial_stop: Option<Price>,
    stop: Price,
) -> Result<(), DomainError> {
    match (initial_stop, entry) {
        (None, Some(entry)) => validate_stop(direction, entry, stop),
        _ => Ok(()),
    }
}

/// R-multiple: net P&L over initial risk, rounded to 4 places (half to even); `Ok(None)` without a risk.
/// A ratio too large for 28 digits (a huge P&L over a risk of a few 1e-12) is an error naming
/// `r_multiple`, never a silent `None`.
pub fn r_multiple(net: Money, initial_risk: Option<Money>) -> Result<Option<Decimal>, DomainError> {
    let Some(risk) = initial_risk else { return Ok(None) };
    if risk.is_zero() {
        return Ok(None);
    }
    let r = checked("r_multiple", net.value().checked_div(risk.value()))?;
    Ok(Some(r.round_dp_with_strategy(4, crate::money::ROUNDING).normalize()))
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

    proptest! {
        /// Devices store synced fills in different orders: the summary must not depend on it, even when
        /// fills share a time (entered to the minute), and an exit at the entry's own minute is not an
        /// over-close.
        #[test]
        fn the_summary_does_not_depend_on_the_order_fills_are_given_in(
            seed in any::<u64>(),
            method in prop_oneof![Just(MatchingMethod::Fifo), Just(MatchingMethod::Lifo), Just(MatchingMethod::AverageCost)],
        ) {
            use Side::*;
            let mut fills = vec![
                fill(Buy, "10", "100", "1", 0),
                fill(Buy, "10", "102", "1", 0),
                fill(Sell, "5", "105", "1", 0),
                fill(Buy, "5", "99", "0", 1),
                fill(Sell, "10", "101", "1", 1),
            ];
            for (i, f) in fills.iter_mut().enumerate() {
                f.id = Uuid::from_u128(u128::from(seed.rotate_left(i as u32 * 7)) ^ i as u128);
            }
            let first = summarize(Direction::Long, Decimal::ONE, method, &fills);
            prop_assert_eq!(first.status, TradeStatus::PartiallyClosed, "entries come first at a tie: no over-close");
            let mut shuffled = fills.clone();
            let n = shuffled.len();
            for i in 0..n {
                shuffled.swap(i, (seed as usize).wrapping_mul(31).wrapping_add(i * 17) % n);
            }
            let second = summarize(Direction::Long, Decimal::ONE, method, &shuffled);
            prop_assert_eq!(first, second, "the same fills in another order give the same summary");
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
        let s = summarize(Direction::Long, Decimal::ONE, MatchingMethod::Fifo, &fills);
        // 75 x (55-50) = 375; 25 x (53-50) = 75; 50 x (53-52) = 50.
        assert_eq!(s.gross_realized.to_canonical(), "500", "gross");
        assert_eq!(s.fees.to_canonical(), "4", "fees");
        assert_eq!(s.net_realized.to_canonical(), "496", "net");
        assert_eq!(s.status, TradeStatus::Closed, "closed");
        // Exit 1: 375 - 1 - 0.75 = 373.25; exit 2: 125 - 1 - 0.25 - 1 = 122.75.
        let nets: Vec<String> = s.exits.iter().map(|x| x.net.to_canonical()).collect();
        assert_eq!(nets, ["373.25", "122.75"], "per-exit net with fee allocation");
        assert_eq!(initial_risk(&s, d("49"), Decimal::ONE).unwrap().unwrap().to_canonical(), "250", "|7600 - 7350|");
        assert_eq!(s.avg_entry_price, Some(d("50.66666667")), "average entry rounded to 8 places for display");
    }

    #[test]
    fn lifo_and_average_cost_differ_mid_trade_but_agree_when_closed() {
        use Side::*;
        let partial = [fill(Buy, "100", "50", "0", 0), fill(Buy, "100", "60", "0", 1), fill(Sell, "100", "70", "0", 2)];
        let fifo = summarize(Direction::Long, Decimal::ONE, MatchingMethod::Fifo, &partial);
        let lifo = summarize(Direction::Long, Decimal::ONE, MatchingMethod::Lifo, &partial);
        let avg = summarize(Direction::Long, Decimal::ONE, MatchingMethod::AverageCost, &partial);
        assert_eq!(fifo.gross_realized.to_canonical(), "2000", "FIFO sells the 50s");
        assert_eq!(lifo.gross_realized.to_canonical(), "1000", "LIFO sells the 60s");
        assert_eq!(avg.gross_realized.to_canonical(), "1500", "average cost 55");
        assert_eq!(fifo.status, TradeStatus::PartiallyClosed, "100 still open");
    }

    #[test]
    fn shorts_and_multipliers() {
        use Side::*;
        let s = summarize(
            Direction::Short,
            d("50"),
            MatchingMethod::Fifo,
            &[fill(Sell, "2", "6000.25", "4.5", 0), fill(Buy, "2", "5990", "4.5", 1)],
        );
        // 2 x 10.25 x 50 = 1025 for a short that fell; minus 9 fees.
        assert_eq!(s.net_realized.to_canonical(), "1016", "short futures");
        assert_eq!(s.status, TradeStatus::Closed, "flat");
        assert!(s.review.is_empty(), "nothing to review: {:?}", s.review);
        let planned = summarize(Direction::Long, Decimal::ONE, MatchingMethod::Fifo, &[]);
        assert_eq!(planned.status, TradeStatus::Planned, "no fills: planned");
    }

    /// Two devices closed the same 10 shares while apart (A sold 10, B sold 4): the merged fills must
    /// still summarize, identically everywhere, as a trade that needs review, with the numbers of what
    /// did match and the excess named.
    #[test]
    fn an_over_closed_merge_needs_review_and_keeps_its_numbers() {
        use Side::*;
        for method in [MatchingMethod::Fifo, MatchingMethod::Lifo, MatchingMethod::AverageCost] {
            let fills =
                [fill(Buy, "10", "100", "1", 0), fill(Sell, "10", "110", "1", 1), fill(Sell, "4", "105", "1", 2)];
            let s = summarize(Direction::Long, Decimal::ONE, method, &fills);
            assert_eq!(s.status, TradeStatus::NeedsReview, "{method}: over-closed");
            assert_eq!(s.review, vec![Review::OverClosed], "{method}: the reason");
            assert_eq!(s.excess_quantity, d("4"), "{method}: 4 shares found nothing open");
            assert_eq!(s.open_quantity, Decimal::ZERO, "{method}: nothing open");
            assert_eq!(s.exited_quantity, d("10"), "{method}: 10 matched");
            // 10 x 10 = 100 gross from the first exit; the second realizes nothing but its fee.
            assert_eq!(s.gross_realized.to_canonical(), "100", "{method}: gross of the matched part");
            assert_eq!(s.net_realized.to_canonical(), "97", "{method}: 100 - 3 fees");
            assert_eq!(s.exits.len(), 2, "{method}: both exits are listed");
            assert_eq!(s.exits[1].net.to_canonical(), "-1", "{method}: the excess exit costs its fee");
            assert_eq!(s.avg_exit_price, Some(d("108.57142857")), "{method}: over every exit fill: 1520 / 14");
        }
        let both_closed = summarize(
            Direction::Long,
            Decimal::ONE,
            MatchingMethod::Fifo,
            &[fill(Buy, "10", "100", "0", 0), fill(Sell, "10", "110", "0", 1), fill(Sell, "10", "111", "0", 1)],
        );
        assert_eq!(both_closed.excess_quantity, d("10"), "closing on both devices: 10 in excess");
        assert_eq!(both_closed.status, TradeStatus::NeedsReview, "needs review");
        // An exit before any entry (the entry was deleted on one device, an exit added on another, and a
        // later re-entry): the exit is excess, the later entry stays open.
        let early = summarize(
            Direction::Long,
            Decimal::ONE,
            MatchingMethod::Fifo,
            &[fill(Sell, "1", "1", "0", 0), fill(Buy, "1", "1", "0", 1)],
        );
        assert_eq!((early.excess_quantity, early.open_quantity), (d("1"), d("1")), "exit before entry");
        assert_eq!(early.status, TradeStatus::NeedsReview, "an exit before any entry needs review");
    }

    #[test]
    fn amounts_too_large_or_a_bad_multiplier_give_a_summary_not_an_error() {
        use Side::*;
        let huge =
            Fill { price: Price::parse("p", "9999999999999999999999999999").unwrap(), ..fill(Buy, "1", "1", "0", 0) };
        let mut big = huge.clone();
        big.quantity = Quantity::parse("q", "9999999999999999999999999999").unwrap();
        let s = summarize(Direction::Long, Decimal::ONE, MatchingMethod::Fifo, &[big]);
        assert_eq!(s.status, TradeStatus::NeedsReview, "overflow needs review");
        assert_eq!(s.review, vec![Review::Overflow], "named as overflow");
        assert_eq!(s.net_realized, Money::zero(), "no money invented");
        let zero = summarize(Direction::Long, Decimal::ZERO, MatchingMethod::Fifo, &[huge]);
        assert_eq!(zero.review, vec![Review::Overflow], "a non-positive multiplier is not computable either");
    }

    #[test]
    fn derive_flags_a_stop_on_the_wrong_side_of_the_first_entry_and_a_deleted_account() {
        use Side::*;
        let fills = [fill(Buy, "10", "100", "0", 0), fill(Buy, "10", "90", "0", 1)];
        let facts = |stop: &str, deleted| TradeFacts {
            direction: Direction::Long,
            multiplier: Decimal::ONE,
            method: MatchingMethod::Fifo,
            initial_stop: Some(Price::parse("stop", stop).unwrap()),
            account_deleted: deleted,
        };
        let ok = derive(&facts("99", false), &fills);
        assert!(ok.summary.review.is_empty(), "a stop below the first entry is fine, even above a later scale-in");
        assert_eq!(ok.summary.status, TradeStatus::Open, "open");
        assert_eq!(ok.initial_risk.map(|m| m.to_canonical()), Some("80".into()), "|1900 - 99 x 20|");
        let wrong = derive(&facts("101", false), &fills);
        assert_eq!(wrong.summary.review, vec![Review::StopWrongSide], "stop above a long's first entry");
        assert_eq!(wrong.summary.status, TradeStatus::NeedsReview, "needs review");
        assert_eq!(wrong.initial_risk, None, "no risk from a stop on the wrong side");
        let orphan = derive(&facts("99", true), &fills);
        assert_eq!(orphan.summary.review, vec![Review::AccountDeleted], "deleted account");
        assert_eq!(
            review_text(&[Review::OverClosed, Review::AccountDeleted]).as_deref(),
            Some("over_closed,account_deleted"),
            "stored form"
        );
        assert_eq!(
            parse_review(Some("over_closed,from_the_future")),
            vec![Review::OverClosed],
            "unknown codes skipped"
        );
    }

    #[test]
    fn stops_must_be_on_the_losing_side() {
        let p = |s| Price::parse("p", s).unwrap();
        assert!(validate_stop(Direction::Long, p("10"), p("9")).is_ok(), "long stop below");
        assert!(validate_stop(Direction::Long, p("10"), p("10")).is_err(), "long stop at entry refused");
        assert!(validate_stop(Direction::Short, p("10"), p("11")).is_ok(), "short stop above");
        assert!(
            validate_stop(Direction::Short, p("10"), p("9")).unwrap_err().to_string().starts_with("stop:"),
            "names the field"
        );
        assert_eq!(
            r_multiple(Money::parse("x", "-50").unwrap(), Money::parse("x", "100").ok()).unwrap(),
            Some(d("-0.5")),
            "R"
        );
        assert_eq!(r_multiple(Money::parse("x", "50").unwrap(), None).unwrap(), None, "no risk, no R");
    }

    #[test]
    fn only_the_initial_stop_is_bound_to_the_entry_side() {
        let p = |s| Price::parse("p", s).unwrap();
        // The README's example: a long entered at 187.50 with its initial stop at 183.20, stop moved to breakeven.
        assert!(
            check_stop_move(Direction::Long, Some(p("187.5")), Some(p("183.2")), p("187.5")).is_ok(),
            "a long's stop moves to breakeven"
        );
        assert!(
            check_stop_move(Direction::Long, Some(p("187.5")), Some(p("183.2")), p("190")).is_ok(),
            "and past the entry to lock in profit"
        );
        assert!(
            check_stop_move(Direction::Short, Some(p("50")), Some(p("52")), p("45")).is_ok(),
            "a short's stop moves below its entry"
        );
        let first = check_stop_move(Direction::Long, Some(p("187.5")), None, p("190")).unwrap_err();
        assert_eq!(
            first.to_string(),
            "stop: a long stop must be below the entry 187.5, got 190",
            "the first stop ever set becomes the initial stop and must be on the losing side"
        );
        assert!(check_stop_move(Direction::Long, None, None, p("190")).is_ok(), "no entry yet: nothing to check");
    }

    #[test]
    fn initial_risk_and_r_are_rounded_not_dropped() {
        use Side::*;
        // 0.00012345 @ 98765.4321, stop 90000.1234567: the exact risk has 19 places.
        let s = summarize(
            Direction::Long,
            Decimal::ONE,
            MatchingMethod::Fifo,
            &[fill(Buy, "0.00012345", "98765.4321", "0", 0)],
        );
        let exact = d("12.192592592745") - d("90000.1234567") * d("0.00012345");
        assert_eq!(exact, d("1.082077352015385"), "|notional - stop x quantity| exactly");
        let risk = initial_risk(&s, d("90000.1234567"), Decimal::ONE).unwrap();
        assert_eq!(risk.map(|r| r.to_canonical()), Some("1.082077352015".to_string()), "rounded to 12 places");
        // 123.456789 @ 0.00001234, stop 0.00001: risk 0.00028888888626 (14 places) -> 0.000288888886.
        let penny = summarize(
            Direction::Long,
            Decimal::ONE,
            MatchingMethod::Fifo,
            &[fill(Buy, "123.456789", "0.00001234", "0", 0)],
        );
        let (risk, r) = risk_and_r(&penny, Some(Price::parse("stop", "0.00001").unwrap()), Decimal::ONE).unwrap();
        assert_eq!(risk.map(|r| r.to_canonical()), Some("0.000288888886".to_string()), "banker's rounding at 12");
        assert_eq!(r, None, "no R while the trade is open");
        // A risk below half a unit of the 12th place is zero: no risk, no R (never a division by zero).
        let tiny = summarize(
            Direction::Long,
            Decimal::ONE,
            MatchingMethod::Fifo,
            &[fill(Buy, "0.000000000001", "0.000000000002", "0", 0)],
        );
        assert_eq!(initial_risk(&tiny, d("0.000000000001"), Decimal::ONE).unwrap(), None, "1e-24 rounds to 0");
        let huge = Money::parse("x", "9999999999999999999999999999").unwrap();
        let err = r_multiple(huge, Money::parse("x", "0.000000000001").ok()).unwrap_err();
        assert!(err.to_string().starts_with("r_multiple:"), "an R too large to compute is an error: {err}");
        assert_eq!(
            r_multiple(Money::parse("x", "1").unwrap(), Money::parse("x", "0.3").ok()).unwrap(),
            Some(d("3.3333")),
            "4 places"
        );
        assert_eq!(
            r_multiple(Money::parse("x", "0.00125").unwrap(), Money::parse("x", "0.1").ok()).unwrap(),
            Some(d("0.0125")),
            "exact at 4 places"
        );
        assert_eq!(
            r_multiple(Money::parse("x", "0.000125").unwrap(), Money::parse("x", "0.1").ok()).unwrap(),
            Some(d("0.0012")),
            "0.00125 is a tie: half to even"
        );
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
        (
            prop_oneof![Just(Direction::Long), Just(Direction::Short)],
            proptest::collection::vec((any::<bool>(), 1u32..500, 1u32..100_000, 0u32..500), 1..12),
        )
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
            let f = summarize(direction, mult, MatchingMethod::Fifo, &fills);
            prop_assert_eq!(f.status, TradeStatus::Closed, "the sequence ends flat");
            let sum: Decimal = f.exits.iter().map(|x| x.net.value()).sum();
            prop_assert_eq!(sum, f.net_realized.value(), "per-exit nets add up to the trade's net");
            let entry: Decimal = fills.iter().filter(|x| x.side == direction.entry_side()).map(|x| x.price.value() * x.quantity.value()).sum();
            let exit: Decimal = fills.iter().filter(|x| x.side == direction.exit_side()).map(|x| x.price.value() * x.quantity.value()).sum();
            let sign = if direction == Direction::Long { Decimal::ONE } else { Decimal::NEGATIVE_ONE };
            prop_assert_eq!(f.gross_realized.value(), (exit - entry) * mult * sign, "gross is the notional difference");
            for m in [MatchingMethod::Lifo, MatchingMethod::AverageCost] {
                let other = summarize(direction, mult, m, &fills);
                prop_assert_eq!(other.net_realized, f.net_realized, "{} agrees with FIFO once closed", m);
                let s: Decimal = other.exits.iter().map(|x| x.net.value()).sum();
                prop_assert_eq!(s, other.net_realized.value(), "{} allocates fees exactly", m);
            }
        }
    }
    proptest! {
        /// Any fills at all, as a merge of several devices' histories can produce (exits before entries,
        /// more exits than entries, ties): the summary always comes back, does not depend on the order
        /// the fills are given in, and keeps its own books straight.
        #[test]
        fn summarize_is_total_and_order_free_on_any_merged_history(
            direction in prop_oneof![Just(Direction::Long), Just(Direction::Short)],
            method in prop_oneof![Just(MatchingMethod::Fifo), Just(MatchingMethod::Lifo), Just(MatchingMethod::AverageCost)],
            raw in proptest::collection::vec((any::<bool>(), 1u32..50, 1u32..10_000, 0u32..300, 0i64..4), 0..14),
            rotate in 0usize..14,
        ) {
            let fills: Vec<Fill> = raw.iter().enumerate().map(|(i, (buy, q, p, fee, minute))| Fill {
                id: Uuid::from_u128(i as u128 + 1),
                side: if *buy { Side::Buy } else { Side::Sell },
                quantity: Quantity::new("q", Decimal::from(*q)).unwrap(),
                price: Price::new("p", Decimal::new(i64::from(*p), 2)).unwrap(),
                fees: Fee::new("f", Decimal::new(i64::from(*fee), 2)).unwrap(),
                executed_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(*minute),
            }).collect();
            let s = summarize(direction, Decimal::from(2), method, &fills);
            let mut rotated = fills.clone();
            if !rotated.is_empty() {
                let n = rotated.len();
                rotated.rotate_left(rotate % n);
            }
            prop_assert_eq!(&summarize(direction, Decimal::from(2), method, &rotated), &s, "order of the fills does not matter");
            let entries: Decimal = fills.iter().filter(|f| f.side == direction.entry_side()).map(|f| f.quantity.value()).sum();
            let exits: Decimal = fills.iter().filter(|f| f.side == direction.exit_side()).map(|f| f.quantity.value()).sum();
            prop_assert_eq!(s.entered_quantity, entries, "every entry counts");
            prop_assert_eq!(s.exited_quantity + s.excess_quantity, exits, "every exit is matched or excess");
            prop_assert_eq!(s.open_quantity, s.entered_quantity - s.exited_quantity, "open = entered - matched exits");
            prop_assert!(s.open_quantity >= Decimal::ZERO && s.excess_quantity >= Decimal::ZERO, "never negative");
            prop_assert_eq!(s.net_realized.value(), s.gross_realized.value() - s.fees.value(), "net = gross - fees");
            prop_assert_eq!(s.status == TradeStatus::NeedsReview, s.excess_quantity > Decimal::ZERO, "needs review exactly when over-closed");
            if s.status == TradeStatus::Closed {
                let sum: Decimal = s.exits.iter().map(|x| x.net.value()).sum();
                prop_assert_eq!(sum, s.net_realized.value(), "a closed trade's exits add up to its net");
            }
        }
    }
}
