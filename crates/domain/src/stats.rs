//! Performance statistics over closed trades, exactly as defined in docs/metrics.md.
//!
//! Everything is computed in one pass over the closed trades in close order, in exact decimals; ratios
//! are rounded only at the end (half to even) and serialized as strings. Every operation is checked: a
//! sum or ratio that does not fit in 28 digits is an error naming the statistic, never a panic or a
//! silently missing value. A value that has no meaning is `None` (JSON null), never a made-up 0: a win
//! rate without wins or losses, a drawdown percentage from a peak at or below zero.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use uuid::Uuid;

use crate::error::DomainError;
use crate::money::{checked, Money};

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
    /// The requested range's first and last calendar day (account time zone), if limited: `pnl_by_day`
    /// (and so the best and worst day) only shows days inside it, even when a trade closed in the range
    /// had exits before it.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
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
    /// `None` when the fall started from a peak at or below zero (an account that starts at 0 and
    /// loses): a percentage of nothing is undefined, and 0% would say nothing was lost.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub max_drawdown_pct: Option<Decimal>,
    pub peak_equity: Money,
    pub ending_equity: Money,
    pub longest_win_streak: u32,
    pub longest_loss_streak: u32,
    pub current_streak: i64,
    pub pnl_by_day: Vec<DayPnl>,
    pub best_day: Option<DayPnl>,
    pub worst_day: Option<DayPnl>,
}

fn add(field: &'static str, a: Decimal, b: Decimal) -> Result<Decimal, DomainError> {
    checked(field, a.checked_add(b))
}

fn money(field: &'static str, d: Decimal) -> Result<Money, DomainError> {
    Money::derived(field, d)
}

/// `x` rounded to `dp` places, half to even, normalized.
fn round(x: Decimal, dp: u32) -> Decimal {
    x.round_dp_with_strategy(dp, crate::money::ROUNDING).normalize()
}

/// `total / n` to `dp` places; `None` for `n = 0` (a mean of nothing is undefined, not 0).
fn mean(total: Decimal, n: u32, dp: u32) -> Option<Decimal> {
    (n > 0).then(|| round(total / Decimal::from(n), dp))
}

/// `part / whole × 100` to 2 places; the caller guarantees `whole > 0`. Multiplies first (exact) unless
/// that overflows (a 28-digit part), then divides first.
fn percent_of(field: &'static str, part: Decimal, whole: Decimal) -> Result<Decimal, DomainError> {
    let v = match part.checked_mul(Decimal::ONE_HUNDRED) {
        Some(scaled) => scaled.checked_div(whole),
        None => part.checked_div(whole).and_then(|q| q.checked_mul(Decimal::ONE_HUNDRED)),
    };
    Ok(round(checked(field, v)?, 2))
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
    let (mut max_dd, mut max_dd_pct) = (Decimal::ZERO, Some(Decimal::ZERO));
    let (mut win_streak, mut loss_streak, mut best_win_streak, mut best_loss_streak) = (0u32, 0u32, 0u32, 0u32);
    let mut days: BTreeMap<NaiveDate, (Decimal, u32)> = BTreeMap::new();

    for t in &order {
        let v = t.net_pnl.value();
        net = add("net_pnl", net, v)?;
        fees = add("total_fees", fees, t.fees.value())?;
        if v.abs() <= tol {
            breakevens += 1;
            win_streak = 0;
            loss_streak = 0;
        } else if v > Decimal::ZERO {
            wins += 1;
            gross_profit = add("gross_profit", gross_profit, v)?;
            largest_win = Some(largest_win.map_or(v, |w| w.max(v)));
            win_streak += 1;
            loss_streak = 0;
            best_win_streak = best_win_streak.max(win_streak);
        } else {
            losses += 1;
            gross_loss = add("gross_loss", gross_loss, v)?;
            largest_loss = Some(largest_loss.map_or(v, |l| l.min(v)));
            loss_streak += 1;
            win_streak = 0;
            best_loss_streak = best_loss_streak.max(loss_streak);
        }
        if let Some(r) = crate::trade::r_multiple(t.net_pnl, t.initial_risk)? {
            r_trades += 1;
            total_r = add("total_r", total_r, r)?;
        }
        equity = add("ending_equity", equity, v)?;
        if equity > peak {
            peak = equity;
        }
        let dd = checked("max_drawdown", peak.checked_sub(equity))?;
        // Strictly larger: of equal falls, the earliest is reported (with its own percentage).
        if dd > max_dd {
            max_dd = dd;
            max_dd_pct = if peak > Decimal::ZERO { Some(percent_of("max_drawdown_pct", dd, peak)?) } else { None };
        }
        for (day, amount) in &t.exit_days {
            if opts.from.is_some_and(|f| *day < f) || opts.to.is_some_and(|l| *day > l) {
                continue;
            }
            let slot = days.entry(*day).or_insert((Decimal::ZERO, 0));
            slot.0 = add("pnl_by_day", slot.0, amount.value())?;
            slot.1 += 1;
        }
    }

    let pnl_by_day = days
        .into_iter()
        .map(|(date, (v, n))| Ok(DayPnl { date, net_pnl: money("pnl_by_day", v)?, trades: n }))
        .collect::<Result<Vec<_>, DomainError>>()?;
    let best_day = pnl_by_day.iter().max_by(|a, b| a.net_pnl.cmp(&b.net_pnl).then(b.date.cmp(&a.date))).cloned();
    let worst_day = pnl_by_day.iter().min_by(|a, b| a.net_pnl.cmp(&b.net_pnl).then(a.date.cmp(&b.date))).cloned();
    let count = u32::try_from(order.len()).map_err(|_| DomainError::Overflow { field: "trades" })?;
    let profit_factor = match (wins, losses) {
        (0, 0) => ProfitFactor::NoTrades,
        (_, 0) => ProfitFactor::NoLosses,
        _ => ProfitFactor::Ratio(round(checked("profit_factor", gross_profit.checked_div(gross_loss.abs()))?, 2)),
    };
    Ok(Stats {
        trades: count,
        wins,
        losses,
        breakevens,
        win_rate: match wins + losses {
            0 => None,
            decided => Some(percent_of("win_rate", Decimal::from(wins), Decimal::from(decided))?),
        },
        net_pnl: money("net_pnl", net)?,
        gross_profit: money("gross_profit", gross_profit)?,
        gross_loss: money("gross_loss", gross_loss)?,
        total_fees: money("total_fees", fees)?,
        avg_win: mean(gross_profit, wins, 8).map(|m| money("avg_win", m)).transpose()?,
        avg_loss: mean(gross_loss, losses, 8).map(|m| money("avg_loss", m)).transpose()?,
        largest_win: largest_win.map(|m| money("largest_win", m)).transpose()?,
        largest_loss: largest_loss.map(|m| money("largest_loss", m)).transpose()?,
        profit_factor,
        expectancy: mean(net, count, 8).map(|m| money("expectancy", m)).transpose()?,
        expectancy_r: mean(total_r, r_trades, 4),
        r_trades,
        total_r: total_r.normalize(),
        max_drawdown: money("max_drawdown", max_dd)?,
        max_drawdown_pct: max_dd_pct,
        peak_equity: money("peak_equity", peak)?,
        ending_equity: money("ending_equity", equity)?,
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
        StatsOptions { starting_balance: m(start), breakeven_tolerance: m("0"), from: None, to: None }
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
        assert_eq!(s.max_drawdown_pct, Some(d("1.94")), "200 / 10300 = 1.9417%");
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
        let tol = StatsOptions { breakeven_tolerance: m("1"), ..opts("100") };
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
        assert_eq!(s.max_drawdown_pct, Some(d("5.71")), "600 / 10500, from the same peak");
    }

    #[test]
    fn a_drawdown_from_a_peak_at_or_below_zero_has_no_percentage() {
        // An account starting at 0 that loses 10: the money fall is real, a percentage of 0 is not.
        let s = compute(&[t(1, 2, "-10", None)], &opts("0")).unwrap();
        assert_eq!(s.max_drawdown, m("10"), "fell 10 from 0");
        assert_eq!(s.max_drawdown_pct, None, "no percentage of a zero peak, never a false 0");
        assert_eq!(serde_json::to_value(&s).unwrap()["max_drawdown_pct"], serde_json::Value::Null, "JSON null");
        let below = compute(&[t(1, 2, "-10", None), t(2, 3, "-5", None)], &opts("-100")).unwrap();
        assert_eq!((below.max_drawdown, below.max_drawdown_pct), (m("15"), None), "a negative peak: n/a too");
        let flat = compute(&[t(1, 2, "10", None)], &opts("0")).unwrap();
        assert_eq!(flat.max_drawdown_pct, Some(Decimal::ZERO), "no fall at all is a true 0%");
        // 3.125% is a tie at 2 places: half to even gives 3.12.
        let tie = compute(&[t(1, 2, "-3.125", None)], &opts("100")).unwrap();
        assert_eq!(tie.max_drawdown_pct, Some(d("3.12")), "banker's rounding: 3.125 -> 3.12");
    }

    #[test]
    fn ties_report_the_earliest_day_and_the_earliest_drawdown() {
        let trades = [t(1, 2, "50", None), t(2, 3, "-20", None), t(3, 4, "50", None), t(4, 5, "-20", None)];
        let s = compute(&trades, &opts("1000")).unwrap();
        assert_eq!(s.best_day.as_ref().map(|b| b.date.to_string()), Some("2026-03-02".into()), "earliest best day");
        assert_eq!(s.worst_day.as_ref().map(|w| w.date.to_string()), Some("2026-03-03".into()), "earliest worst day");
        // Falls of 20 from 1050 and from 1080: equal money, the earliest (20 / 1050 = 1.90%) is reported.
        assert_eq!((s.max_drawdown, s.max_drawdown_pct), (m("20"), Some(d("1.9"))), "earliest equal drawdown");
    }

    #[test]
    fn days_outside_the_range_are_left_out_of_pnl_by_day() {
        // Closed on March 10 (in the range), with a partial exit of +250 on March 3 (before it).
        let closed_at = Utc.with_ymd_and_hms(2026, 3, 10, 15, 0, 0).unwrap();
        let trade = ClosedTrade {
            trade_id: Uuid::from_u128(1),
            closed_at,
            net_pnl: m("200"),
            fees: m("0"),
            initial_risk: None,
            exit_days: vec![
                (NaiveDate::from_ymd_opt(2026, 3, 3).unwrap(), m("250")),
                (NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(), m("-50")),
            ],
        };
        let range = StatsOptions {
            from: NaiveDate::from_ymd_opt(2026, 3, 5),
            to: NaiveDate::from_ymd_opt(2026, 3, 31),
            ..opts("10000")
        };
        let s = compute(std::slice::from_ref(&trade), &range).unwrap();
        let days: Vec<String> = s.pnl_by_day.iter().map(|d| format!("{} {}", d.date, d.net_pnl)).collect();
        assert_eq!(days, ["2026-03-10 -50"], "only days inside the range");
        assert_eq!(s.best_day.map(|b| b.date.to_string()), Some("2026-03-10".into()), "the best day is in the range");
        assert_eq!(s.net_pnl, m("200"), "the trade's whole net still counts: it closed in the range");
        let all = compute(&[trade], &opts("10000")).unwrap();
        assert_eq!(all.pnl_by_day.len(), 2, "without a range both days show");
    }

    #[test]
    fn extreme_values_are_errors_naming_the_statistic_never_panics() {
        let max = "9999999999999999999999999999";
        let eight: Vec<ClosedTrade> = (1..=8).map(|i| t(i, 2 + i as u32, max, None)).collect();
        let err = compute(&eight, &opts("0")).unwrap_err();
        assert!(err.to_string().starts_with("net_pnl:"), "a sum past 28 digits names it: {err}");
        let pf = compute(&[t(1, 2, max, None), t(2, 3, "-0.000000000001", None)], &opts("0")).unwrap_err();
        assert!(pf.to_string().starts_with("profit_factor:"), "a ratio past 28 digits names it: {pf}");
        let r = compute(&[t(1, 2, max, Some("0.000000000001"))], &opts("0")).unwrap_err();
        assert!(r.to_string().starts_with("r_multiple:"), "an R past 28 digits names it: {r}");
        let dd = compute(&[t(1, 2, "-9999999999999999999999999999", None)], &opts(max)).unwrap();
        assert_eq!(dd.max_drawdown_pct, Some(d("100")), "a fall to zero is 100%");
        let tiny = compute(&[t(1, 2, "0.000000000001", Some("0.000000000003"))], &opts("0.000000000001")).unwrap();
        assert_eq!(tiny.expectancy_r, Some(d("0.3333")), "12-place amounts");
        assert_eq!(tiny.ending_equity, m("0.000000000002"), "exact");
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
