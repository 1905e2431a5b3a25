//! Read models of the desktop app's screens: the dashboard (statistics, equity curve, open positions with
//! their open risk) and the trade list (filters, sorts and a total for a virtualized list).
//!
//! Why here and not in the app: every number on these screens is money, and money is computed in exact
//! decimals in one place. The app's shell only forwards the input and the UI only formats the text; the
//! equity curve's running sum, each position's open risk and the percentages are computed here, the same way
//! the statistics are (one read snapshot, so the curve, the statistics and the positions agree).
//!
//! The trade list pages with LIMIT/OFFSET over the store's indexes and returns the number of matching
//! trades, so the UI can size its scrollbar for 100k trades and fetch only the rows on screen.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use trenddojo_domain::exposure;
use trenddojo_domain::money::{canonical, Money};
use trenddojo_domain::trade::{self as dtrade, Direction, TradeStatus};
use trenddojo_store::accounts as account_repo;
use trenddojo_store::trades::{self as trade_repo, PageQuery, PageSort};

use super::accounts::account_view;
use super::stats::{account_stats, AccountStats, Source};
use super::trades::tz_of;
use super::Journal;
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::parse;

/// Input of the dashboard: one account (name or id prefix; the only one when omitted) and a date range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct DashboardInput {
    pub account: Option<String>,
    /// First day (`YYYY-MM-DD`, account time zone).
    pub from: Option<String>,
    /// Last day included.
    pub to: Option<String>,
}

/// Everything the dashboard shows for one account and range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Dashboard {
    pub account: dto::AccountSummary,
    /// The statistics (exactly those `trenddojo stats` prints for the same account and range).
    pub stats: AccountStats,
    /// Starting equity, then the equity after each closed trade in the range, in close order.
    pub equity_curve: Vec<dto::EquityPoint>,
    /// The statistics' daily P&L with a colour step for the heat map.
    pub calendar: Vec<dto::CalendarDay>,
    pub open_positions: Vec<dto::OpenPosition>,
    /// Σ open risk of the positions that have a stop.
    pub open_risk: String,
    /// Open positions without a stop (their risk is not bounded and not in `open_risk`).
    pub unbounded_positions: u32,
}

/// Filters and sort of the app's trade list; every given filter must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct TradePageInput {
    pub account: Option<String>,
    /// Any of these statuses (planned, open, partially_closed, closed, cancelled, needs_review).
    pub statuses: Vec<String>,
    /// Symbols starting with this text (case-insensitive).
    pub symbol: Option<String>,
    /// long or short.
    pub side: Option<String>,
    /// The setup the trade was tagged with.
    pub setup: Option<String>,
    /// Opened on or after this day (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Opened on or before this day.
    pub to: Option<String>,
    /// newest (default), oldest, pnl, -pnl, r, -r, symbol.
    pub sort: Option<String>,
    /// 1 to 1000 (default 50).
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// One page of the trade list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct TradePage {
    /// How many trades match the filters in all.
    pub total: u32,
    pub offset: u32,
    pub trades: Vec<dto::Trade>,
}

/// `value` in minor units of `currency` as an integer (half to even), saturating at what a chart can place.
fn plot_units(value: Decimal, currency: &str) -> i64 {
    const LIMIT: i64 = (1 << 53) - 1;
    let places = crate::format::minor_units(currency);
    let scaled = value
        .round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven)
        .checked_mul(Decimal::from(10u64.pow(places.min(18))));
    match scaled {
        Some(v) => {
            let whole = v.trunc();
            if whole > Decimal::from(LIMIT) {
                LIMIT
            } else if whole < Decimal::from(-LIMIT) {
                -LIMIT
            } else {
                rust_decimal::prelude::ToPrimitive::to_i64(&whole).unwrap_or(0)
            }
        }
        None if value.is_sign_negative() => -LIMIT,
        None => LIMIT,
    }
}

/// The heat map's colour step of `net` against the largest |net| of the range: `ceil(4 × |net| / max)`,
/// signed, in exact decimals (0 for a flat day or a flat range).
fn heat_level(net: Decimal, max_abs: Decimal) -> i8 {
    if net.is_zero() || max_abs <= Decimal::ZERO {
        return 0;
    }
    let step = net
        .abs()
        .checked_mul(Decimal::from(4))
        .and_then(|v| v.checked_div(max_abs))
        .map(|v| v.ceil())
        .unwrap_or(Decimal::from(4))
        .min(Decimal::from(4))
        .max(Decimal::ONE);
    let level = rust_decimal::prelude::ToPrimitive::to_i8(&step).unwrap_or(4);
    if net.is_sign_negative() {
        -level
    } else {
        level
    }
}

/// The calendar of the statistics' daily P&L.
fn calendar(days: &[dto::DayPnl]) -> ApiResult<Vec<dto::CalendarDay>> {
    let nets =
        days.iter().map(|d| Money::parse("net_pnl", &d.net_pnl).map(|m| m.value())).collect::<Result<Vec<_>, _>>()?;
    let max_abs = nets.iter().map(|n| n.abs()).max().unwrap_or(Decimal::ZERO);
    Ok(days
        .iter()
        .zip(nets)
        .map(|(d, n)| dto::CalendarDay {
            date: d.date.clone(),
            net_pnl: d.net_pnl.clone(),
            trades: d.trades,
            level: heat_level(n, max_abs),
        })
        .collect())
}

/// Up to this many closed trades the equity curve has a point per trade; beyond, a point per day (a chart
/// cannot show more points than it has pixels, and 100 000 points cost seconds to send and draw).
const CURVE_TRADES_MAX: usize = 2_000;

/// The equity curve (docs/metrics.md): the starting equity, then the equity after each closed trade in close
/// order; with more than `per_trade_max` trades, the equity after the last trade of each calendar day (in
/// `tz`), which is the same curve sampled at the day's last close, with the day's net P&L and no trade.
fn equity_curve(
    start: Money,
    first_time: Option<DateTime<Utc>>,
    first_day: Option<String>,
    rows: &[trade_repo::ClosedTradeRow],
    tz: chrono_tz::Tz,
    currency: &str,
    per_trade_max: usize,
) -> ApiResult<Vec<dto::EquityPoint>> {
    let rfc = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let daily = rows.len() > per_trade_max;
    let mut curve = Vec::with_capacity(if daily { 1 } else { rows.len() + 1 });
    curve.push(dto::EquityPoint {
        time: first_time.map(rfc),
        day: first_day,
        equity: start.to_canonical(),
        plot: plot_units(start.value(), currency),
        trade_id: None,
        net_pnl: None,
    });
    let mut equity = start;
    let mut day_net: Option<Money> = None;
    for (i, r) in rows.iter().enumerate() {
        equity = equity
            .checked_add(r.net_pnl)
            .ok_or_else(|| ApiError::from(trenddojo_domain::DomainError::Overflow { field: "equity" }))?;
        let day = r.closed_at.with_timezone(&tz).date_naive();
        if daily {
            let net = match day_net {
                Some(n) => n.checked_add(r.net_pnl),
                None => Some(r.net_pnl),
            };
            day_net =
                Some(net.ok_or_else(|| ApiError::from(trenddojo_domain::DomainError::Overflow { field: "net_pnl" }))?);
            let last_of_day = rows.get(i + 1).is_none_or(|n| n.closed_at.with_timezone(&tz).date_naive() != day);
            if !last_of_day {
                continue;
            }
        }
        curve.push(dto::EquityPoint {
            time: Some(rfc(r.closed_at)),
            day: Some(day.to_string()),
            equity: equity.to_canonical(),
            plot: plot_units(equity.value(), currency),
            trade_id: (!daily).then(|| r.id.into()),
            net_pnl: Some(day_net.take().unwrap_or(r.net_pnl).to_canonical()),
        });
    }
    Ok(curve)
}

/// `part / whole × 100` to 2 places, half to even; none when `whole` is not positive.
fn pct_of(part: Money, whole: Money) -> Option<String> {
    if whole.value() <= Decimal::ZERO {
        return None;
    }
    part.value()
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|v| v.checked_div(whole.value()))
        .map(|v| canonical(v.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)))
}

fn page_sort(s: Option<&str>) -> ApiResult<PageSort> {
    Ok(match s.unwrap_or("newest") {
        "newest" => PageSort::Newest,
        "oldest" => PageSort::Oldest,
        "pnl" => PageSort::PnlDesc,
        "-pnl" => PageSort::PnlAsc,
        "r" => PageSort::RDesc,
        "-r" => PageSort::RAsc,
        "symbol" => PageSort::Symbol,
        other => {
            return Err(ApiError::invalid(
                "sort",
                format!("expected one of newest, oldest, pnl, -pnl, r, -r, symbol, got {other:?}"),
            ))
        }
    })
}

impl Journal {
    /// The dashboard of one account over a date range, from one read snapshot.
    pub fn dashboard(&self, input: &DashboardInput) -> ApiResult<Dashboard> {
        self.store.read_snapshot(|c| {
            let account = self.pick_account(c, input.account.as_deref())?;
            let stats = account_stats(c, &account, input.from.as_deref(), input.to.as_deref(), Source::Aggregates)?;
            let tz = tz_of(&account)?;
            let from_t = stats.from.as_deref().map(|d| parse::date("from", d)).transpose()?;
            let to_t = stats.to.as_deref().map(|d| parse::date("to", d)).transpose()?;
            let rows = trade_repo::closed_trades(
                c,
                account.id,
                from_t.map(|d| parse::start_of_day(d, tz)),
                to_t.map(|d| parse::start_of_day(d + Duration::days(1), tz)),
            )?;
            let start = Money::parse("starting_equity", &stats.starting_equity)?;
            let first_time = from_t.map(|d| parse::start_of_day(d, tz));
            let curve =
                equity_curve(start, first_time, stats.from.clone(), &rows, tz, &account.currency, CURVE_TRADES_MAX)?;
            let view = account_view(c, account.clone())?;
            let mut positions = Vec::new();
            let mut risks = Vec::new();
            for t in trade_repo::open_trades(c, account.id)? {
                let fills: Vec<_> =
                    trade_repo::executions(c, t.id)?.iter().map(trade_repo::Execution::to_fill).collect();
                let s = dtrade::summarize(t.direction, t.multiplier, account.matching_method, &fills);
                let risk = exposure::open_risk(
                    t.direction,
                    s.entry_notional,
                    s.entered_quantity,
                    t.open_quantity,
                    t.current_stop,
                    t.multiplier,
                )?;
                risks.push(risk);
                positions.push(dto::OpenPosition {
                    open_risk_pct: risk.and_then(|r| pct_of(r, view.equity)),
                    open_risk: risk.map(|r| r.to_canonical()),
                    trade: (&t).into(),
                });
            }
            let (total, unbounded) = exposure::total_open_risk(&risks)?;
            Ok(Dashboard {
                account: (&view).into(),
                calendar: calendar(&stats.stats.pnl_by_day)?,
                stats,
                equity_curve: curve,
                open_positions: positions,
                open_risk: total.to_canonical(),
                unbounded_positions: unbounded,
            })
        })
    }

    /// One page of the trade list with the number of trades matching the filters.
    pub fn trade_page(&self, input: &TradePageInput) -> ApiResult<TradePage> {
        let user_id = self.user_id()?;
        let statuses =
            input.statuses.iter().map(|s| parse::choice::<TradeStatus>("status", s)).collect::<ApiResult<Vec<_>>>()?;
        let direction = input.side.as_deref().map(|s| parse::choice::<Direction>("side", s)).transpose()?;
        let symbol = match input.symbol.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(parse::symbol("symbol", s)?),
            None => None,
        };
        let setup = match input.setup.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(parse::text("setup", s, 100)?),
            None => None,
        };
        let sort = page_sort(input.sort.as_deref())?;
        let limit = input.limit.unwrap_or(50);
        if limit == 0 || limit > 1000 {
            return Err(ApiError::invalid("limit", format!("must be between 1 and 1000, got {limit}")));
        }
        let offset = input.offset.unwrap_or(0);
        let q = self.store.read(|c| {
            let account = input.account.as_deref().map(|a| account_repo::resolve(c, user_id, a)).transpose()?;
            let tz = match &account {
                Some(a) => tz_of(a)?,
                None => chrono_tz::Tz::UTC,
            };
            let from = input.from.as_deref().filter(|s| !s.is_empty()).map(|d| parse::date("from", d)).transpose()?;
            let to = input.to.as_deref().filter(|s| !s.is_empty()).map(|d| parse::date("to", d)).transpose()?;
            if let (Some(f), Some(t)) = (from, to) {
                if f > t {
                    return Err(ApiError::invalid("to", format!("{t} is before the first day {f}")));
                }
            }
            Ok::<_, ApiError>(PageQuery {
                account_id: account.map(|a| a.id),
                statuses,
                symbol_prefix: symbol,
                direction,
                setup,
                from: from.map(|d| parse::start_of_day(d, tz)),
                to: to.map(|d| parse::start_of_day(d + Duration::days(1), tz)),
                sort,
                limit,
                offset,
            })
        })?;
        let (total, trades) = self.store.trade_page(user_id, &q)?;
        Ok(TradePage {
            total: u32::try_from(total).unwrap_or(u32::MAX),
            offset,
            trades: trades.iter().map(Into::into).collect(),
        })
    }

    /// The setups (tags) trades were given, for the trade list's filter.
    pub fn trade_setups(&self) -> ApiResult<Vec<String>> {
        let user_id = self.user_id()?;
        Ok(self.store.read(|c| trade_repo::setups(c, user_id))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn a_long_equity_curve_is_the_same_curve_sampled_at_each_days_last_close() {
        use chrono::TimeZone;
        let m = |s: &str| Money::parse("x", s).expect("money");
        let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).single().expect("instant");
        // New York: 03:00 UTC on the 3rd is still the 2nd there.
        let rows: Vec<trade_repo::ClosedTradeRow> =
            [(at(2, 15), "10"), (at(3, 3), "-2.5"), (at(3, 15), "4"), (at(4, 15), "1")]
                .iter()
                .enumerate()
                .map(|(i, (t, n))| trade_repo::ClosedTradeRow {
                    id: uuid::Uuid::from_u128(i as u128 + 1),
                    closed_at: *t,
                    net_pnl: m(n),
                    fees: m("0"),
                    initial_risk: None,
                    exit_days: Vec::new(),
                })
                .collect();
        let tz = chrono_tz::America::New_York;
        let per_trade = equity_curve(m("100"), None, None, &rows, tz, "USD", 10).expect("curve");
        let daily = equity_curve(m("100"), None, None, &rows, tz, "USD", 3).expect("curve");
        let eq = |c: &[dto::EquityPoint]| c.iter().map(|p| p.equity.clone()).collect::<Vec<_>>();
        assert_eq!(eq(&per_trade), ["100", "110", "107.5", "111.5", "112.5"], "a point per trade");
        assert_eq!(eq(&daily), ["100", "107.5", "111.5", "112.5"], "a point per New York day, its last close");
        let days = daily.iter().map(|p| p.day.clone().unwrap_or_default()).collect::<Vec<_>>();
        assert_eq!(days, ["", "2026-03-02", "2026-03-03", "2026-03-04"], "days in the account's time zone");
        let nets = daily.iter().map(|p| p.net_pnl.clone().unwrap_or_default()).collect::<Vec<_>>();
        assert_eq!(nets, ["", "7.5", "4", "1"], "each day's point carries the day's net P&L");
        assert!(daily.iter().all(|p| p.trade_id.is_none()), "a day's point is no one trade");
        assert_eq!(daily[1].time, per_trade[2].time, "a day's point sits at its last close");
        assert!(per_trade[1..].iter().all(|p| p.trade_id.is_some()), "per-trade points name their trade");
    }

    #[test]
    fn plot_units_are_exact_minor_units_half_to_even() {
        assert_eq!(plot_units(d("1234.565"), "USD"), 123_456, "half to even at cents");
        assert_eq!(plot_units(d("1234.575"), "USD"), 123_458, "half to even at cents");
        assert_eq!(plot_units(d("-67.9"), "USD"), -6_790, "negative");
        assert_eq!(plot_units(d("1234.5"), "JPY"), 1_234, "yen have no minor unit");
        assert_eq!(plot_units(d("1.2345"), "KWD"), 1_234, "fils: 3 places");
        assert_eq!(plot_units(Decimal::MAX, "USD"), (1 << 53) - 1, "saturates");
        assert_eq!(plot_units(Decimal::MIN, "USD"), -((1 << 53) - 1), "saturates below");
    }

    #[test]
    fn heat_levels_scale_to_the_largest_day_with_their_sign() {
        assert_eq!(heat_level(d("100"), d("100")), 4, "the best day is the top step");
        assert_eq!(heat_level(d("-100"), d("100")), -4, "the worst loss is the bottom step");
        assert_eq!(heat_level(d("0.01"), d("100")), 1, "any gain shows");
        assert_eq!(heat_level(d("50"), d("100")), 2, "half is step 2");
        assert_eq!(heat_level(d("50.01"), d("100")), 3, "just over half rounds up");
        assert_eq!(heat_level(d("0"), d("100")), 0, "a flat day");
        assert_eq!(heat_level(d("5"), d("0")), 0, "a flat range");
    }

    #[test]
    fn percentages_of_nothing_are_none() {
        let m = |s: &str| Money::parse("x", s).unwrap();
        assert_eq!(pct_of(m("25"), m("1000")).as_deref(), Some("2.5"), "25 of 1000");
        assert_eq!(pct_of(m("1"), m("3")).as_deref(), Some("33.33"), "2 places");
        assert_eq!(pct_of(m("1"), m("0")), None, "no equity: no percentage");
        assert_eq!(pct_of(m("1"), m("-5")), None, "negative equity: no percentage");
    }

    #[test]
    fn sorts_are_named_in_the_error() {
        let e = page_sort(Some("best")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sort"), "the field");
        assert!(e.message.contains("-r"), "lists the choices: {}", e.message);
        assert_eq!(page_sort(None).unwrap(), PageSort::Newest, "default");
    }
}
