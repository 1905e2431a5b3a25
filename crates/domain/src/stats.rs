//! Performance statistics over closed trades, exactly as defined in docs/metrics.md.
//!
//! Everything is computed in one pass over the closed trades in close order, in exact decimals; ratios
//! are rounded only at the end (half to even) and serialized as strings. Every operation is checked: a
//! sum or ratio that does not fit in 28 digits is an error naming the statistic, never a panic or a
//! silently missing value. A value that has no meaning is `None` (JSON null), never a made-up 0: a win
//! rate without wins or losses, a drawdown percentage from a peak at or below zero.
//!
//! The same pass can be cut at day boundaries: [`DaySummary`] folds one day's trades (sums, counts,
//! extremes, and the day's path: its high and low relative to its start, its own largest fall, its first,
//! last and longest runs), and [`compute_from_days`] chains days in O(1) each into exactly the state
//! [`compute`] reaches after those trades. The store keeps one summary per account and day so that
//! statistics cost O(days), not O(trades) (issue 15). Exactness: every amount has at most 12 places, so
//! below [`exact_bound`] no addition is rounded and the grouping of additions cannot change a digit; the
//! ratios are rounded once, at the end, from the same sums. Ties keep their meaning across the cut: of
//! equal falls the one reached first is reported, whether it lies inside a day or runs from an earlier
//! peak into the day's low. A property test compares both ways over random trades, tolerances, balances,
//! ranges and a daylight-saving change.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
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
    let mut f = Fold::starting_at(opts.starting_balance.value());
    let mut days: BTreeMap<NaiveDate, (Decimal, u32)> = BTreeMap::new();

    for t in &order {
        let v = t.net_pnl.value();
        f.net = add("net_pnl", f.net, v)?;
        f.fees = add("total_fees", f.fees, t.fees.value())?;
        match Outcome::of(v, tol) {
            Outcome::Breakeven => {
                f.breakevens += 1;
                f.win_streak = 0;
                f.loss_streak = 0;
            }
            Outcome::Win => {
                f.wins += 1;
                f.gross_profit = add("gross_profit", f.gross_profit, v)?;
                f.largest_win = Some(f.largest_win.map_or(v, |w| w.max(v)));
                f.win_streak += 1;
                f.loss_streak = 0;
                f.best_win_streak = f.best_win_streak.max(f.win_streak);
            }
            Outcome::Loss => {
                f.losses += 1;
                f.gross_loss = add("gross_loss", f.gross_loss, v)?;
                f.largest_loss = Some(f.largest_loss.map_or(v, |l| l.min(v)));
                f.loss_streak += 1;
                f.win_streak = 0;
                f.best_loss_streak = f.best_loss_streak.max(f.loss_streak);
            }
        }
        if let Some(r) = crate::trade::r_multiple(t.net_pnl, t.initial_risk)? {
            f.r_trades += 1;
            f.total_r = add("total_r", f.total_r, r)?;
        }
        f.equity = add("ending_equity", f.equity, v)?;
        if f.equity > f.peak {
            f.peak = f.equity;
        }
        let dd = checked("max_drawdown", f.peak.checked_sub(f.equity))?;
        // Strictly larger: of equal falls, the earliest is reported (with its own percentage).
        f.record_fall(dd, f.peak)?;
        for (day, amount) in &t.exit_days {
            if opts.from.is_some_and(|from| *day < from) || opts.to.is_some_and(|l| *day > l) {
                continue;
            }
            let slot = days.entry(*day).or_insert((Decimal::ZERO, 0));
            slot.0 = add("pnl_by_day", slot.0, amount.value())?;
            slot.1 += 1;
        }
    }
    f.trades = u32::try_from(order.len()).map_err(|_| DomainError::Overflow { field: "trades" })?;
    f.finish(days)
}

/// How a closed trade counts: |net| at or below the tolerance is a breakeven, otherwise its sign decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Win,
    Loss,
    Breakeven,
}

impl Outcome {
    fn of(net: Decimal, tolerance: Decimal) -> Outcome {
        if net.abs() <= tolerance {
            Outcome::Breakeven
        } else if net > Decimal::ZERO {
            Outcome::Win
        } else {
            Outcome::Loss
        }
    }
}

/// The running state of one pass over closed trades in close order (or over days of them, see
/// [`compute_from_days`]): everything [`Fold::finish`] turns into [`Stats`].
#[derive(Clone, Debug)]
struct Fold {
    trades: u32,
    wins: u32,
    losses: u32,
    breakevens: u32,
    gross_profit: Decimal,
    gross_loss: Decimal,
    net: Decimal,
    fees: Decimal,
    largest_win: Option<Decimal>,
    largest_loss: Option<Decimal>,
    r_trades: u32,
    total_r: Decimal,
    equity: Decimal,
    peak: Decimal,
    max_dd: Decimal,
    max_dd_pct: Option<Decimal>,
    win_streak: u32,
    loss_streak: u32,
    best_win_streak: u32,
    best_loss_streak: u32,
}

impl Fold {
    fn starting_at(equity: Decimal) -> Fold {
        Fold {
            trades: 0,
            wins: 0,
            losses: 0,
            breakevens: 0,
            gross_profit: Decimal::ZERO,
            gross_loss: Decimal::ZERO,
            net: Decimal::ZERO,
            fees: Decimal::ZERO,
            largest_win: None,
            largest_loss: None,
            r_trades: 0,
            total_r: Decimal::ZERO,
            equity,
            peak: equity,
            max_dd: Decimal::ZERO,
            max_dd_pct: Some(Decimal::ZERO),
            win_streak: 0,
            loss_streak: 0,
            best_win_streak: 0,
            best_loss_streak: 0,
        }
    }

    /// A fall of `dd` from `peak`: it becomes the maximum drawdown only when strictly larger (of equal
    /// falls the earliest is reported, with its own percentage).
    fn record_fall(&mut self, dd: Decimal, peak: Decimal) -> Result<(), DomainError> {
        if dd > self.max_dd {
            self.max_dd = dd;
            self.max_dd_pct = if peak > Decimal::ZERO { Some(percent_of("max_drawdown_pct", dd, peak)?) } else { None };
        }
        Ok(())
    }

    /// The statistics, with `days` (per calendar day inside the range: net and trades with an exit) as
    /// `pnl_by_day`.
    fn finish(self, days: BTreeMap<NaiveDate, (Decimal, u32)>) -> Result<Stats, DomainError> {
        let pnl_by_day = days
            .into_iter()
            .map(|(date, (v, n))| Ok(DayPnl { date, net_pnl: money("pnl_by_day", v)?, trades: n }))
            .collect::<Result<Vec<_>, DomainError>>()?;
        let best_day = pnl_by_day.iter().max_by(|a, b| a.net_pnl.cmp(&b.net_pnl).then(b.date.cmp(&a.date))).cloned();
        let worst_day = pnl_by_day.iter().min_by(|a, b| a.net_pnl.cmp(&b.net_pnl).then(a.date.cmp(&b.date))).cloned();
        let profit_factor = match (self.wins, self.losses) {
            (0, 0) => ProfitFactor::NoTrades,
            (_, 0) => ProfitFactor::NoLosses,
            _ => ProfitFactor::Ratio(round(
                checked("profit_factor", self.gross_profit.checked_div(self.gross_loss.abs()))?,
                2,
            )),
        };
        let decided = self.wins.checked_add(self.losses).ok_or(DomainError::Overflow { field: "win_rate" })?;
        Ok(Stats {
            trades: self.trades,
            wins: self.wins,
            losses: self.losses,
            breakevens: self.breakevens,
            win_rate: match decided {
                0 => None,
                decided => Some(percent_of("win_rate", Decimal::from(self.wins), Decimal::from(decided))?),
            },
            net_pnl: money("net_pnl", self.net)?,
            gross_profit: money("gross_profit", self.gross_profit)?,
            gross_loss: money("gross_loss", self.gross_loss)?,
            total_fees: money("total_fees", self.fees)?,
            avg_win: mean(self.gross_profit, self.wins, 8).map(|m| money("avg_win", m)).transpose()?,
            avg_loss: mean(self.gross_loss, self.losses, 8).map(|m| money("avg_loss", m)).transpose()?,
            largest_win: self.largest_win.map(|m| money("largest_win", m)).transpose()?,
            largest_loss: self.largest_loss.map(|m| money("largest_loss", m)).transpose()?,
            profit_factor,
            expectancy: mean(self.net, self.trades, 8).map(|m| money("expectancy", m)).transpose()?,
            expectancy_r: mean(self.total_r, self.r_trades, 4),
            r_trades: self.r_trades,
            total_r: self.total_r.normalize(),
            max_drawdown: money("max_drawdown", self.max_dd)?,
            max_drawdown_pct: self.max_dd_pct,
            peak_equity: money("peak_equity", self.peak)?,
            ending_equity: money("ending_equity", self.equity)?,
            longest_win_streak: self.best_win_streak,
            longest_loss_streak: self.best_loss_streak,
            current_streak: if self.win_streak > 0 { i64::from(self.win_streak) } else { -i64::from(self.loss_streak) },
            pnl_by_day,
            best_day,
            worst_day,
        })
    }
}

/// The sum of absolute amounts below which statistics composed from [`DaySummary`]s are exactly the
/// statistics of the trades: 10^16. Every amount has at most 12 places and every partial sum either
/// computation forms (running net and equity, gross profit and loss, fees, total R, a day's P&L, a fall
/// from a peak) is bounded by |starting balance| + the magnitudes of the days, so below 10^16 each sum
/// fits `Decimal`'s 96-bit mantissa at 12 places (up to 7.9 x 10^16) and no addition is ever rounded:
/// the order of additions (trade by trade, or day by day) cannot change a digit. Above it a sum may be
/// rounded to 28 digits, differently in each order, so callers compute from the trades instead.
pub fn exact_bound() -> Decimal {
    Decimal::from(10_000_000_000_000_000_i64)
}

/// Whether statistics can be composed from days whose magnitudes add up to `magnitude` for an account
/// starting at `starting_balance` (see [`exact_bound`]).
pub fn composes_exactly(starting_balance: Money, magnitude: Decimal) -> bool {
    starting_balance.value().abs().checked_add(magnitude).is_some_and(|m| m < exact_bound())
}

/// The first instant of calendar day `d` in `tz`: local midnight, or the first minute of the day that
/// exists when a clock change skips midnight. Ranges of statistics are `[day_start(from),
/// day_start(to + 1))`, and the days of [`DaySummary`] are cut at the same instants.
pub fn day_start(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = d.and_time(NaiveTime::MIN);
    for minutes in 0..=180 {
        match tz.from_local_datetime(&(midnight + Duration::minutes(minutes))) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
            LocalResult::None => continue,
        }
    }
    Utc.from_utc_datetime(&midnight)
}

/// The calendar day (in `tz`) whose range `[day_start(d), day_start(d + 1))` holds `t`: the local date
/// of `t`, moved when a zone's clock change put `t` before its date's first instant or after the next.
pub fn day_of(t: DateTime<Utc>, tz: Tz) -> NaiveDate {
    let mut d = t.with_timezone(&tz).date_naive();
    // A zone that skipped a whole day (Pacific/Apia, 2011-12-30) moves a date by one at most; four steps
    // bound the search whatever a time-zone database says.
    for _ in 0..4 {
        if t < day_start(d, tz) {
            match d.pred_opt() {
                Some(p) => d = p,
                None => break,
            }
        } else if d.succ_opt().is_some_and(|n| t >= day_start(n, tz)) {
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        } else {
            break;
        }
    }
    d
}

/// What the statistics need of the closed trades of one day (those whose close time falls in the day, in
/// the account's time zone), folded in close order: sums, counts and extremes, and the path of the day
/// (its equity relative to the day's start, its runs of wins and losses), so that days can be chained in
/// O(1) each into the statistics of any range of days: see [`compute_from_days`]. Stored per account and
/// day and maintained with every trade change, this makes statistics cost O(days), not O(trades).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaySummary {
    pub day: NaiveDate,
    pub trades: u32,
    pub wins: u32,
    pub losses: u32,
    pub breakevens: u32,
    pub net: Decimal,
    pub gross_profit: Decimal,
    pub gross_loss: Decimal,
    pub fees: Decimal,
    pub largest_win: Option<Decimal>,
    pub largest_loss: Option<Decimal>,
    pub r_trades: u32,
    pub total_r: Decimal,
    /// Highest equity of the day relative to its start (the start included, so never below 0).
    pub high: Decimal,
    /// Lowest equity of the day relative to its start, after its trades (the start excluded), and the
    /// 1-based position of the first trade that reached it.
    pub low: Decimal,
    pub low_at: u32,
    /// The day's largest fall from a peak inside the day (its start included), the position of the first
    /// trade that reached it (0 when the day never fell) and the peak it fell from, relative to the start.
    pub fall: Decimal,
    pub fall_at: u32,
    pub fall_peak: Decimal,
    /// The run the day starts with: +n for n wins, -n for n losses, 0 when it starts with a breakeven.
    pub first_run: i64,
    /// The run the day ends with, likewise.
    pub last_run: i64,
    /// The longest runs of wins and losses inside the day.
    pub best_win_run: u32,
    pub best_loss_run: u32,
    /// P&L per calendar day of the exits of these trades (their `exit_days`): (day, net, trades with an
    /// exit that day), ascending. Usually the day itself only; a trade that exited in part earlier adds
    /// earlier days.
    pub exits: Vec<(NaiveDate, Decimal, u32)>,
    /// Σ |net| + Σ |fees| + Σ |R| + Σ |exit amounts|: bounds every partial sum (see [`exact_bound`]).
    pub magnitude: Decimal,
}

impl DaySummary {
    /// Fold the closed trades of `day` (any order: they are sorted by close time and id here). An amount
    /// that does not fit (a sum past 28 digits, an R that cannot be computed) is an error naming it, as
    /// [`compute`] reports it.
    pub fn of(day: NaiveDate, trades: &[ClosedTrade], breakeven_tolerance: Money) -> Result<DaySummary, DomainError> {
        let mut order: Vec<&ClosedTrade> = trades.iter().collect();
        order.sort_by_key(|t| (t.closed_at, t.trade_id));
        let tol = breakeven_tolerance.value().abs();
        let mut s = DaySummary {
            day,
            trades: u32::try_from(order.len()).map_err(|_| DomainError::Overflow { field: "trades" })?,
            wins: 0,
            losses: 0,
            breakevens: 0,
            net: Decimal::ZERO,
            gross_profit: Decimal::ZERO,
            gross_loss: Decimal::ZERO,
            fees: Decimal::ZERO,
            largest_win: None,
            largest_loss: None,
            r_trades: 0,
            total_r: Decimal::ZERO,
            high: Decimal::ZERO,
            low: Decimal::ZERO,
            low_at: 0,
            fall: Decimal::ZERO,
            fall_at: 0,
            fall_peak: Decimal::ZERO,
            first_run: 0,
            last_run: 0,
            best_win_run: 0,
            best_loss_run: 0,
            exits: Vec::new(),
            magnitude: Decimal::ZERO,
        };
        let mut exits: BTreeMap<NaiveDate, (Decimal, u32)> = BTreeMap::new();
        let (mut wins_run, mut losses_run, mut first_open) = (0u32, 0u32, true);
        // Saturates: past the bound it only has to say "too large to compose", and the sums that overflow
        // are reported by their own names.
        let magnitude = |s: &mut DaySummary, v: Decimal| -> Result<(), DomainError> {
            s.magnitude = s.magnitude.checked_add(v.abs()).unwrap_or(Decimal::MAX);
            Ok(())
        };
        for (i, t) in order.iter().enumerate() {
            let at = u32::try_from(i + 1).map_err(|_| DomainError::Overflow { field: "trades" })?;
            let v = t.net_pnl.value();
            s.net = add("net_pnl", s.net, v)?;
            s.fees = add("total_fees", s.fees, t.fees.value())?;
            magnitude(&mut s, v)?;
            magnitude(&mut s, t.fees.value())?;
            let outcome = Outcome::of(v, tol);
            match outcome {
                Outcome::Breakeven => {
                    s.breakevens += 1;
                    wins_run = 0;
                    losses_run = 0;
                }
                Outcome::Win => {
                    s.wins += 1;
                    s.gross_profit = add("gross_profit", s.gross_profit, v)?;
                    s.largest_win = Some(s.largest_win.map_or(v, |w| w.max(v)));
                    wins_run += 1;
                    losses_run = 0;
                    s.best_win_run = s.best_win_run.max(wins_run);
                }
                Outcome::Loss => {
                    s.losses += 1;
                    s.gross_loss = add("gross_loss", s.gross_loss, v)?;
                    s.largest_loss = Some(s.largest_loss.map_or(v, |l| l.min(v)));
                    losses_run += 1;
                    wins_run = 0;
                    s.best_loss_run = s.best_loss_run.max(losses_run);
                }
            }
            if first_open {
                match (outcome, s.first_run.signum()) {
                    (Outcome::Win, 0 | 1) => s.first_run += 1,
                    (Outcome::Loss, 0 | -1) => s.first_run -= 1,
                    _ => first_open = false,
                }
            }
            if let Some(r) = crate::trade::r_multiple(t.net_pnl, t.initial_risk)? {
                s.r_trades += 1;
                s.total_r = add("total_r", s.total_r, r)?;
                magnitude(&mut s, r)?;
            }
            // The day's equity path, relative to its start (`s.net` is the running sum here).
            if s.net > s.high {
                s.high = s.net;
            }
            if at == 1 || s.net < s.low {
                s.low = s.net;
                s.low_at = at;
            }
            let fall = checked("max_drawdown", s.high.checked_sub(s.net))?;
            if fall > s.fall {
                s.fall = fall;
                s.fall_at = at;
                s.fall_peak = s.high;
            }
            for (d, amount) in &t.exit_days {
                let slot = exits.entry(*d).or_insert((Decimal::ZERO, 0));
                slot.0 = add("pnl_by_day", slot.0, amount.value())?;
                slot.1 += 1;
                magnitude(&mut s, amount.value())?;
            }
        }
        s.last_run = if wins_run > 0 { i64::from(wins_run) } else { -i64::from(losses_run) };
        s.exits = exits.into_iter().map(|(d, (v, n))| (d, v, n)).collect();
        Ok(s)
    }

    /// Whether the day is one unbroken run of wins or of losses (it then extends the run before it).
    fn one_run(&self) -> bool {
        self.first_run.unsigned_abs() == u64::from(self.trades)
    }
}

fn count(field: &'static str, a: u32, b: u32) -> Result<u32, DomainError> {
    a.checked_add(b).ok_or(DomainError::Overflow { field })
}

impl Fold {
    /// Continue the pass with a whole day: the same state [`compute`] reaches after that day's trades.
    fn absorb(&mut self, d: &DaySummary) -> Result<(), DomainError> {
        self.trades = count("trades", self.trades, d.trades)?;
        self.wins = count("wins", self.wins, d.wins)?;
        self.losses = count("losses", self.losses, d.losses)?;
        self.breakevens = count("breakevens", self.breakevens, d.breakevens)?;
        self.net = add("net_pnl", self.net, d.net)?;
        self.fees = add("total_fees", self.fees, d.fees)?;
        self.gross_profit = add("gross_profit", self.gross_profit, d.gross_profit)?;
        self.gross_loss = add("gross_loss", self.gross_loss, d.gross_loss)?;
        if let Some(w) = d.largest_win {
            self.largest_win = Some(self.largest_win.map_or(w, |x| x.max(w)));
        }
        if let Some(l) = d.largest_loss {
            self.largest_loss = Some(self.largest_loss.map_or(l, |x| x.min(l)));
        }
        self.r_trades = count("r_trades", self.r_trades, d.r_trades)?;
        self.total_r = add("total_r", self.total_r, d.total_r)?;

        // Drawdown. At the day's j-th trade the equity is E + p_j and the running peak is max(P, E + h_j)
        // (P the peak before the day, E the equity, p_j and h_j the day's running sum and high), so the
        // fall there is the larger of P - (E + p_j) and h_j - p_j. Over the day the largest fall is the
        // larger of P - (E + low) (at the first trade reaching the day's low, from the peak P) and the
        // day's own fall (at its first trade, from E + its peak, which then lies above P). On a tie both
        // are the same fall; the one reached first is reported, with the peak it fell from.
        let (equity, peak) = (self.equity, self.peak);
        let from_peak = checked("max_drawdown", peak.checked_sub(add("ending_equity", equity, d.low)?))?;
        let (dd, dd_peak) = if from_peak > d.fall || (from_peak == d.fall && d.low_at <= d.fall_at) {
            (from_peak, peak)
        } else {
            (d.fall, add("peak_equity", equity, d.fall_peak)?)
        };
        self.record_fall(dd, dd_peak)?;
        let high = add("peak_equity", equity, d.high)?;
        if high > self.peak {
            self.peak = high;
        }
        self.equity = add("ending_equity", equity, d.net)?;

        // Streaks: a day of one unbroken run extends the current one; otherwise its first run ends the
        // current one, its inner runs count as they are, and its last run is the current one after it.
        let extend = |run: u32, by: i64| -> Result<u32, DomainError> {
            count(
                "streak",
                run,
                u32::try_from(by.unsigned_abs()).map_err(|_| DomainError::Overflow { field: "streak" })?,
            )
        };
        if d.trades > 0 && d.one_run() {
            if d.first_run > 0 {
                self.win_streak = extend(self.win_streak, d.first_run)?;
                self.loss_streak = 0;
                self.best_win_streak = self.best_win_streak.max(self.win_streak);
            } else {
                self.loss_streak = extend(self.loss_streak, d.first_run)?;
                self.win_streak = 0;
                self.best_loss_streak = self.best_loss_streak.max(self.loss_streak);
            }
        } else {
            if d.first_run > 0 {
                self.best_win_streak = self.best_win_streak.max(extend(self.win_streak, d.first_run)?);
            } else if d.first_run < 0 {
                self.best_loss_streak = self.best_loss_streak.max(extend(self.loss_streak, d.first_run)?);
            }
            self.best_win_streak = self.best_win_streak.max(d.best_win_run);
            self.best_loss_streak = self.best_loss_streak.max(d.best_loss_run);
            self.win_streak = extend(0, d.last_run.max(0))?;
            self.loss_streak = extend(0, d.last_run.min(0))?;
        }
        Ok(())
    }
}

/// The statistics of the trades closed in `days` (one summary per day with closes, any order: sorted
/// here), exactly as [`compute`] gives them for those trades, provided [`composes_exactly`] holds for
/// the starting balance and the days' magnitudes (the caller checks it; above the bound the result may
/// differ in the last digit of a rounded sum). `opts.from`/`opts.to` limit `pnl_by_day` as in [`compute`].
pub fn compute_from_days(days: &[DaySummary], opts: &StatsOptions) -> Result<Stats, DomainError> {
    let mut order: Vec<&DaySummary> = days.iter().collect();
    order.sort_by_key(|d| d.day);
    let mut f = Fold::starting_at(opts.starting_balance.value());
    let mut pnl: BTreeMap<NaiveDate, (Decimal, u32)> = BTreeMap::new();
    for d in order {
        f.absorb(d)?;
        for (day, amount, n) in &d.exits {
            if opts.from.is_some_and(|from| *day < from) || opts.to.is_some_and(|l| *day > l) {
                continue;
            }
            let slot = pnl.entry(*day).or_insert((Decimal::ZERO, 0));
            slot.0 = add("pnl_by_day", slot.0, *amount)?;
            slot.1 = count("pnl_by_day", slot.1, *n)?;
        }
    }
    f.finish(pnl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    /// Group `trades` by the day they closed (in `tz`) into day summaries.
    fn days_of(trades: &[ClosedTrade], tol: &str, tz: Tz) -> Vec<DaySummary> {
        let mut by_day: BTreeMap<NaiveDate, Vec<ClosedTrade>> = BTreeMap::new();
        for t in trades {
            by_day.entry(day_of(t.closed_at, tz)).or_default().push(t.clone());
        }
        by_day.into_iter().map(|(d, ts)| DaySummary::of(d, &ts, m(tol)).unwrap()).collect()
    }

    #[test]
    fn the_worked_example_composes_from_days() {
        let trades = [
            t(1, 2, "300", Some("100")),
            t(2, 3, "-100", Some("100")),
            t(3, 4, "-50", Some("100")),
            t(4, 5, "0", None),
            t(5, 6, "150", Some("50")),
            t(6, 6, "-200", Some("100")),
        ];
        let days = days_of(&trades, "0", Tz::UTC);
        assert_eq!(days.len(), 5, "five days with closes");
        let last = &days[4];
        assert_eq!(
            (last.trades, last.net, last.high, last.low, last.low_at),
            (2, d("-50"), d("150"), d("-50"), 2),
            "March 6"
        );
        assert_eq!((last.fall, last.fall_at, last.fall_peak), (d("200"), 2, d("150")), "the day fell 200 from +150");
        assert_eq!((last.first_run, last.last_run), (1, -1), "a win, then a loss");
        assert!(composes_exactly(m("10000"), days.iter().map(|d| d.magnitude).sum()), "small amounts compose");
        assert_eq!(
            compute_from_days(&days, &opts("10000")).unwrap(),
            compute(&trades, &opts("10000")).unwrap(),
            "the same statistics from days as from trades"
        );
    }

    #[test]
    fn a_fall_inside_a_day_and_a_fall_from_an_earlier_peak_tie_by_position() {
        // Equity 1000 -> 1100 (peak, day 1). Day 2: -100 (fall 100 from the earlier peak at trade 1),
        // +300 (new peak 1300), -100 (fall 100 inside the day, later). Equal falls: the first, from 1100.
        let trades = [t(1, 2, "100", None), t(2, 3, "-100", None), t(3, 3, "300", None), t(4, 3, "-100", None)];
        let days = days_of(&trades, "0", Tz::UTC);
        let s = compute_from_days(&days, &opts("1000")).unwrap();
        assert_eq!(s, compute(&trades, &opts("1000")).unwrap(), "composition agrees");
        assert_eq!((s.max_drawdown, s.max_drawdown_pct), (m("100"), Some(d("9.09"))), "100 / 1100, the earlier fall");
        // The other order inside the day: the fall inside the day comes first (from 1200).
        let trades = [t(1, 2, "100", None), t(2, 3, "100", None), t(3, 3, "-100", None), t(4, 3, "-100", None)];
        let days = days_of(&trades, "0", Tz::UTC);
        let s = compute_from_days(&days, &opts("1000")).unwrap();
        assert_eq!(s, compute(&trades, &opts("1000")).unwrap(), "composition agrees");
        assert_eq!((s.max_drawdown, s.max_drawdown_pct), (m("200"), Some(d("16.67"))), "200 / 1200");
    }

    #[test]
    fn streaks_run_across_days() {
        // W W | W | L W L L | L | E | W
        let nets = [
            ("10", 2),
            ("10", 2),
            ("10", 3),
            ("-1", 4),
            ("10", 4),
            ("-1", 4),
            ("-1", 4),
            ("-1", 5),
            ("0", 6),
            ("5", 7),
        ];
        let trades: Vec<ClosedTrade> =
            nets.iter().enumerate().map(|(i, (n, day))| t(i as u128 + 1, *day, n, None)).collect();
        let s = compute_from_days(&days_of(&trades, "0", Tz::UTC), &opts("100")).unwrap();
        assert_eq!(s, compute(&trades, &opts("100")).unwrap(), "composition agrees");
        assert_eq!(
            (s.longest_win_streak, s.longest_loss_streak, s.current_streak),
            (3, 3, 1),
            "W W | W and L L | L run across days; the W inside day 4 is a run of its own"
        );
    }

    #[test]
    fn days_are_cut_where_ranges_are() {
        let ny = chrono_tz::America::New_York;
        let d8 = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        assert_eq!(day_start(d8, ny), Utc.with_ymd_and_hms(2026, 3, 8, 5, 0, 0).unwrap(), "EST midnight is 05:00 UTC");
        let late = Utc.with_ymd_and_hms(2026, 3, 9, 3, 30, 0).unwrap(); // 23:30 EDT on March 8
        assert_eq!(day_of(late, ny), d8, "a close at 23:30 New York time belongs to that day");
        assert_eq!(
            day_of(Utc.with_ymd_and_hms(2026, 3, 9, 4, 0, 0).unwrap(), ny),
            d8.succ_opt().unwrap(),
            "midnight EDT"
        );
        // Pacific/Apia skipped 2011-12-30: its instants fall in the range of the 30th that day_start defines.
        let apia = chrono_tz::Pacific::Apia;
        for h in 0..48 {
            let t = Utc.with_ymd_and_hms(2011, 12, 29, 0, 0, 0).unwrap() + Duration::hours(h);
            let day = day_of(t, apia);
            assert!(
                day_start(day, apia) <= t && t < day_start(day.succ_opt().unwrap(), apia),
                "{t} lies in the range of {day}"
            );
        }
    }

    #[test]
    fn huge_days_are_errors_naming_the_amount_and_do_not_compose() {
        let max = "9999999999999999999999999999";
        let eight: Vec<ClosedTrade> = (1..=8).map(|i| t(i, 2, max, None)).collect();
        let err = DaySummary::of(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(), &eight, m("0")).unwrap_err();
        assert!(err.to_string().starts_with("net_pnl:"), "a day's sum past 28 digits names it: {err}");
        let r = DaySummary::of(
            NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            &[t(1, 2, max, Some("0.000000000001"))],
            m("0"),
        )
        .unwrap_err();
        assert!(r.to_string().starts_with("r_multiple:"), "an R past 28 digits names it: {r}");
        let big = days_of(&[t(1, 2, "10000000000000000", None)], "0", Tz::UTC);
        assert!(!composes_exactly(m("0"), big[0].magnitude), "10^16 is past the bound");
        // |net| + |fee 1| + |the exit day's amount| = 9999999999999997.
        let below = days_of(&[t(1, 2, "4999999999999998", None)], "0", Tz::UTC);
        assert_eq!(below[0].magnitude, d("9999999999999997"), "the magnitude counts net, fees and exits");
        assert!(composes_exactly(m("2"), below[0].magnitude), "just below the bound composes");
        assert!(!composes_exactly(m("3"), below[0].magnitude), "the starting balance counts towards it");
        assert!(!composes_exactly(m("9999999999999999999999999999"), Decimal::MAX), "no overflow on the check itself");
    }

    fn amount() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => (-4i64..=6).prop_map(|n| (n * 50).to_string()),
            2 => (-30_000i64..30_000, 0u32..=3).prop_map(|(n, dp)| Decimal::new(n, dp).to_string()),
            1 => prop::sample::select(vec!["0.000000000001", "-0.000000000001", "1234567.123456789012", "-2.5"])
                .prop_map(str::to_string),
        ]
    }

    fn closed_trade() -> impl Strategy<Value = (u32, u32, String, String, Option<&'static str>, bool)> {
        (
            0u32..6,
            0u32..1440,
            amount(),
            prop::sample::select(vec!["0", "1", "0.35", "2"]).prop_map(str::to_string),
            prop::option::of(prop::sample::select(vec!["100", "50", "0.000000000001", "3"])),
            any::<bool>(),
        )
    }

    proptest! {
        /// Statistics composed from per-day summaries equal the statistics of the trades, for any trades
        /// (ties, breakevens within the tolerance, trades exiting over two days), any tolerance, any
        /// starting balance and any range of days, in a zone with a clock change inside the days.
        #[test]
        fn days_compose_into_the_statistics_of_their_trades(
            raw in prop::collection::vec(closed_trade(), 0..40),
            tol in prop::sample::select(vec!["0", "1", "50", "0.000000000001"]),
            balance in prop::sample::select(vec!["10000", "0", "-100", "0.5"]),
            range in (prop::option::of(0u32..7), prop::option::of(0u32..7)),
        ) {
            let tz = chrono_tz::America::New_York;
            // March 6-11 2026 around the switch to daylight time (March 8).
            let base = Utc.with_ymd_and_hms(2026, 3, 6, 5, 0, 0).unwrap();
            let trades: Vec<ClosedTrade> = raw
                .iter()
                .enumerate()
                .map(|(i, (day, minute, net, fees, risk, split))| {
                    let closed_at = base + Duration::days(i64::from(*day)) + Duration::minutes(i64::from(*minute));
                    let close_day = closed_at.with_timezone(&tz).date_naive();
                    let net = m(net);
                    let exit_days = if *split {
                        // Half exited the day before (as a partial exit), the rest at the close.
                        let half = Money::derived("x", net.value() / Decimal::TWO).unwrap();
                        let rest = net.checked_sub(half).unwrap();
                        vec![(close_day.pred_opt().unwrap(), half), (close_day, rest)]
                    } else {
                        vec![(close_day, net)]
                    };
                    ClosedTrade {
                        // Ids out of creation order, so that ties in close time sort by id.
                        trade_id: Uuid::from_u128(((i as u128) * 7919) % 101),
                        closed_at,
                        net_pnl: net,
                        fees: m(fees),
                        initial_risk: risk.map(m),
                        exit_days,
                    }
                })
                .collect();
            let day0 = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
            let from = range.0.map(|n| day0 + Duration::days(i64::from(n)));
            let to = range.1.map(|n| day0 + Duration::days(i64::from(n)));
            prop_assume!(!matches!((from, to), (Some(f), Some(t)) if f > t));
            let days = days_of(&trades, tol, tz);
            let in_range = |d: NaiveDate| from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t);
            // The oracle: the trades closed in the range, from the equity the earlier ones left.
            let mut start = m(balance).value();
            for t in &trades {
                if from.is_some_and(|f| day_of(t.closed_at, tz) < f) {
                    start += t.net_pnl.value();
                }
            }
            let population: Vec<ClosedTrade> =
                trades.iter().filter(|t| in_range(day_of(t.closed_at, tz))).cloned().collect();
            let opts = StatsOptions { starting_balance: m(&start.to_string()), breakeven_tolerance: m(tol), from, to };
            let chosen: Vec<DaySummary> = days.iter().filter(|d| in_range(d.day)).cloned().collect();
            let magnitude: Decimal = days.iter().map(|d| d.magnitude).sum();
            // An R of 10^18 (a 1e-12 risk) is past the bound: the reader computes such accounts from trades.
            prop_assume!(composes_exactly(m(balance), magnitude));
            prop_assert_eq!(
                compute_from_days(&chosen, &opts).unwrap(),
                compute(&population, &opts).unwrap(),
                "days compose into the trades' statistics"
            );
        }
    }
}
