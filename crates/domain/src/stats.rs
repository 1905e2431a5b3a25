//! Performance statistics over closed trades, exactly as defined in docs/metrics.md.
//!
//! Everything is computed in one pass over the closed trades in close order, in exact decimals; ratios
//! are rounded only at the end and serialized as strings.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::error::DomainError;
use crate::money::Money;

/// What the statistics need of one closed trade.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedTrade {
    pub trade_id: Uuid,
    pub closed_at: DateTime<Utc>,
    pub net_pnl: Money,
    pub fees: Money,
    pub initial_risk: Option<Money>,
    /// The trade's net P&L split by the calendar day (account time zone) of each exit; sums to `net_pnl`.
    /// See `trade::exit_days`.
    pub exit_days: Vec<(NaiveDate, Money)>,
}

/// Options for [`compute`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatsOptions {
    /// Equity before the first trade in the range.
    pub starting_balance: Money,
    /// A trade with |net P&L| at or below this is a breakeven, neither win nor loss.
    pub breakeven_tolerance: Money,
}

/// Profit factor, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProfitFactor {
    /// Gross profit / |gross loss|, 2 places.
    Ratio(Decimal),
    /// Wins but no losses: the ratio would be infinite.
    NoLosses,
    /// Neither wins nor losses.
    NoTrades,
}

impl Serialize for ProfitFactor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ProfitFactor::Ratio(r) => s.serialize_str(&crate::money::canonical(*r)),
            ProfitFactor::NoLosses => s.serialize_str("no_losses"),
            ProfitFactor::NoTrades => s.serialize_str("no_trades"),
        }
    }
}

/// Net P&L of one calendar day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayPnl {
    pub date: NaiveDate,
    pub net_pnl: Money,
    /// Closed trades with an exit that day.
    pub trades: u32,
}

/// The statistics of a set of closed trades.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub trades: u32,
    pub wins: u32,
    pub losses: u32,
    pub breakevens: u32,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub win_rate: Option<Decimal>,
    pub net_pnl: Money,
    pub gross_profit: Money,
    pub gross_loss: Money,
    pub total_fees: Money,
    pub avg_win: Option<Money>,
    pub avg_loss: Option<Money>,
    pub largest_win: Option<Money>,
    pub largest_loss: Option<Money>,
    pub profit_factor: ProfitFactor,
    pub expectancy: Option<Money>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub expectancy_r: Option<Decimal>,
    pub r_trades: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub total_r: Decimal,
    pub max_drawdown: Money,
    #[serde(with = "rust_decimal::serde::str")]
    pub max_drawdown_pct: Decimal,
    pub peak_equity: Money,
    pub ending_equity: Money,
    pub longest_win_streak: u32,
    pub longest_loss_streak: u32,
    pub current_streak: i64,
    pub pnl_by_day: Vec<DayPnl>,
    pub best_day: Option<DayPnl>,
    pub worst_day: Option<DayPnl>,
}

fn overflow() -> DomainError {
    DomainError::Overflow { field: "net_pnl" }
}

fn add(a: Decimal, b: Decimal) -> Result<Decimal, DomainError> {
    a.checked_add(b).ok_or_else(overflow)
}

fn money(d: Decimal) -> Result<Money, DomainError> {
    Money::new("stats", d.round_dp(crate::money::MAX_SCALE))
}

fn mean(total: Decimal, n: u32, dp: u32) -> Option<Decimal> {
    (n > 0).then(|| (total / Decimal::from(n)).round_dp(dp).normalize())
}

/// Compute the statistics. Trades are ordered by (close time, id) here; callers need not sort.
pub fn compute(trades: &[ClosedTrade], opts: &StatsOptions) -> Result<Stats, DomainError> {
    let mut order: Vec<&ClosedTrade> = trades.iter().collect();
    order.sort_by_key(|t| (t.closed_at, t.trade_id));
    let tol = opts.breakeven_tolerance.value().abs();
    let (mut wins, mut losses, mut breakevens) = (0u32, 0u32, 0u32);
    let (mut gross_profit, mut gross_loss, mut net, mut fees) =
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    let (mut largest_win, mut largest_loss): (Option<Decimal>, Option<Decimal>) = (None, None);
    let (mut r_trades, mut total_r) = (0u32, Decimal::ZERO);
    let mut equity = opts.starting_balance.value();
    let mut peak = equity;
    let (mut max_dd, mut max_dd_pct) = (Decimal::ZERO, Decimal::ZERO);
    let (mut win_streak, mut loss_streak, mut best_win_streak, mut best_loss_streak) = (0u32, 0u32, 0u32, 0u32);
    let mut days: BTreeMap<NaiveDate, (Decimal, u32)> = BTreeMap::new();

    for t in &order {
        let v = t.net_pnl.value();
        net = add(net, v)?;
        fees = add(fees, t.fees.value())?;
        if v.abs() <= tol {
            breakevens += 1;
            win_streak = 0;
            loss_streak = 0;
        } else if v > Decimal::ZERO {
            wins += 1;
            gross_profit = add(gross_profit, v)?;
            largest_win = Some(largest_win.map_or(v, |w| w.max(v)));
            win_streak += 1;
            loss_streak = 0;
            best_win_streak = best_win_streak.max(win_streak);
        } else {
            losses += 1;
            gross_loss = add(gross_loss, v)?;
            largest_loss = Some(largest_loss.map_or(v, |l| l.min(v)));
            loss_streak += 1;
            win_streak = 0;
            best_loss_streak = best_loss_streak.max(loss_streak);
        }
        if let Some(r) = crate::trade::r_multiple(t.net_pnl, t.initial_risk) {
            r_trades += 1;
            total_r = add(total_r, r)?;
        }
        equity = add(equity, v)?;
        if equity > peak {
            peak = equity;
        }
        let dd = peak - equity;
        if dd > max_dd {
            max_dd = dd;
            max_dd_pct = if peak > Decimal::ZERO {
                (dd * Decimal::ONE_HUNDRED / peak).round_dp(2).normalize()
            } else {
                Decimal::ZERO
            };
        }
        for (day, amount) in &t.exit_days {
            let slot = days.entry(*day).or_insert((Decimal::ZERO, 0));
            slot.0 = add(slot.0, amount.value())?;
            slot.1 += 1;
        }
    }

    let pnl_by_day = days
        .into_iter()
        .map(|(date, (v, n))| Ok(DayPnl { date, net_pnl: money(v)?, trades: n }))
        .collect::<Result<Vec<_>, DomainError>>()?;
    let best_day = pnl_by_day.iter().max_by(|a, b| a.net_pnl.cmp(&b.net_pnl).then(b.date.cmp(&a.date))).cloned();
    let worst_day = pnl_by_day.iter().min_by(|a, b| a.net_pnl.cmp(&b.net_pnl).then(a.date.cmp(&b.date))).cloned();
    let count = u32::try_from(order.len()).map_err(|_| overflow())?;
    let profit_factor = match (wins, losses) {
        (0, 0) => ProfitFactor::NoTrades,
        (_, 0) => ProfitFactor::NoLosses,
        _ => ProfitFactor::Ratio((gross_profit / gross_loss.abs()).round_dp(2).normalize()),
    };
    Ok(Stats {
        trades: count,
        wins,
        losses,
        breakevens,
        win_rate: (wins + losses > 0).then(|| {
            (Decimal::from(wins) * Decimal::ONE_HUNDRED / Decimal::from(wins + losses)).round_dp(2).normalize()
        }),
        net_pnl: money(net)?,
        gross_profit: money(gross_profit)?,
        gross_loss: money(gross_loss)?,
        total_fees: money(fees)?,
        avg_win: mean(gross_profit, wins, 8).map(money).transpose()?,
        avg_loss: mean(gross_loss, losses, 8).map(money).transpose()?,
        largest_win: largest_win.map(money).transpose()?,
        largest_loss: largest_loss.map(money).transpose()?,
        profit_factor,
        expectancy: mean(net, count, 8).map(money).transpose()?,
        expectancy_r: mean(total_r, r_trades, 4),
        r_trades,
        total_r: total_r.normalize(),
        max_drawdown: money(max_dd)?,
        max_drawdown_pct: max_dd_pct,
        peak_equity: money(peak)?,
        ending_equity: money(equity)?,
        longest_win_streak: best_win_streak,
        longest_loss_streak: best_loss_streak,
        current_streak: if win_streak > 0 { i64::from(win_streak) } else { -i64::from(loss_streak) },
        pnl_by_day,
        best_day,
        worst_day,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn m(s: &str) -> Money {
        Money::parse("x", s).unwrap()
    }
    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    /// A closed trade on day `day` of March 2026 with net `net` and initial risk `risk`.
    fn t(i: u128, day: u32, net: &str, risk: Option<&str>) -> ClosedTrade {
        let closed_at = Utc.with_ymd_and_hms(2026, 3, day, 20, 0, 0).unwrap();
        ClosedTrade {
            trade_id: Uuid::from_u128(i),
            closed_at,
            net_pnl: m(net),
            fees: m("1"),
            initial_risk: risk.map(m),
            exit_days: vec![(closed_at.date_naive(), m(net))],
        }
    }

    fn opts(start: &str) -> StatsOptions {
        StatsOptions { starting_balance: m(start), breakeven_tolerance: m("0") }
    }

    /// The worked example of docs/metrics.md.
    #[test]
    fn worked_example_from_the_docs() {
        let trades = [
            t(1, 2, "300", Some("100")),  // +3R
            t(2, 3, "-100", Some("100")), // -1R
            t(3, 4, "-50", Some("100")),  // -0.5R
            t(4, 5, "0", None),           // breakeven, no R
            t(5, 6, "150", Some("50")),   // +3R
            t(6, 6, "-200", Some("100")), // -2R
        ];
        let s = compute(&trades, &opts("10000")).unwrap();
        assert_eq!((s.trades, s.wins, s.losses, s.breakevens), (6, 2, 3, 1), "classification");
        assert_eq!(s.win_rate, Some(d("40")), "2 / (2 + 3) = 40%, breakevens excluded");
        assert_eq!(s.net_pnl, m("100"), "300 - 100 - 50 + 0 + 150 - 200");
        assert_eq!(s.gross_profit, m("450"), "300 + 150");
        assert_eq!(s.gross_loss, m("-350"), "-100 - 50 - 200");
        assert_eq!(s.avg_win, Some(m("225")), "450 / 2");
        assert_eq!(s.avg_loss, Some(m("-116.66666667")), "-350 / 3, 8 places");
        assert_eq!(s.profit_factor, ProfitFactor::Ratio(d("1.29")), "450 / 350 = 1.2857 -> 1.29");
        assert_eq!(s.expectancy, Some(m("16.66666667")), "100 / 6");
        assert_eq!((s.r_trades, s.total_r), (5, d("2.5")), "3 - 1 - 0.5 + 3 - 2");
        assert_eq!(s.expectancy_r, Some(d("0.5")), "2.5 / 5");
        // Equity: 10300 (peak), 10200, 10150, 10150, 10300, 10100. Largest drop 200 from 10300.
        assert_eq!(s.max_drawdown, m("200"), "peak 10300 to 10100");
        assert_eq!(s.max_drawdown_pct, d("1.94"), "200 / 10300 = 1.9417%");
        assert_eq!((s.peak_equity, s.ending_equity), (m("10300"), m("10100")), "equity curve ends");
        assert_eq!(
            (s.longest_win_streak, s.longest_loss_streak, s.current_streak),
            (1, 2, -1),
            "streaks; the breakeven broke none here but resets both"
        );
        assert_eq!(s.pnl_by_day.len(), 5, "five distinct days");
        assert_eq!(s.pnl_by_day[4].net_pnl, m("-50"), "March 6: 150 - 200");
        assert_eq!(s.pnl_by_day[4].trades, 2, "two trades that day");
        assert_eq!(s.best_day.as_ref().map(|b| b.net_pnl), Some(m("300")), "best day");
        assert_eq!(s.worst_day.as_ref().map(|w| w.net_pnl), Some(m("-100")), "worst day");
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["profit_factor"], "1.29", "ratios are JSON strings");
        assert_eq!(json["win_rate"], "40", "win rate as a string");
    }

    #[test]
    fn no_trades_no_losses_and_all_breakevens() {
        let empty = compute(&[], &opts("5000")).unwrap();
        assert_eq!(empty.profit_factor, ProfitFactor::NoTrades, "no trades");
        assert_eq!((empty.win_rate, empty.expectancy), (None, None), "undefined, not zero");
        assert_eq!(empty.ending_equity, m("5000"), "equity unchanged");
        let winners = compute(&[t(1, 2, "10", None), t(2, 3, "20", None)], &opts("100")).unwrap();
        assert_eq!(winners.profit_factor, ProfitFactor::NoLosses, "wins without losses");
        assert_eq!(serde_json::to_value(&winners).unwrap()["profit_factor"], "no_losses", "reported as such");
        assert_eq!(winners.win_rate, Some(d("100")), "100%");
        let tol = StatsOptions { starting_balance: m("100"), breakeven_tolerance: m("1") };
        let flat = compute(&[t(1, 2, "0.5", None), t(2, 3, "-1", None)], &tol).unwrap();
        assert_eq!((flat.breakevens, flat.win_rate), (2, None), "within the tolerance both are breakevens");
        let losers = compute(&[t(1, 2, "-10", None)], &opts("100")).unwrap();
        assert_eq!(losers.profit_factor, ProfitFactor::Ratio(Decimal::ZERO), "losses only: 0");
    }

    #[test]
    fn largest_percent_drop_may_differ_from_largest_money_drop() {
        // 1000 -> 500 (-50%, 500), -> 10500 -> 9900 (-600, 5.7%). The money drop (600) is reported with its
        // own percentage, not the 50% of the earlier, smaller drop.
        let s =
            compute(&[t(1, 2, "-500", None), t(2, 3, "10000", None), t(3, 4, "-600", None)], &opts("1000")).unwrap();
        assert_eq!(s.max_drawdown, m("600"), "largest money drop");
        assert_eq!(s.max_drawdown_pct, d("5.71"), "600 / 10500, from the same peak");
    }

    #[test]
    fn order_does_not_depend_on_the_caller() {
        let a = [t(1, 2, "-500", None), t(2, 3, "10000", None), t(3, 4, "-600", None)];
        let mut b = a.clone();
        b.reverse();
        assert_eq!(
            compute(&a, &opts("1000")).unwrap(),
            compute(&b, &opts("1000")).unwrap(),
            "sorted by close time inside"
        );
    }
}
