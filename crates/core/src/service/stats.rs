//! Statistics for an account over a date range (definitions in docs/metrics.md).
//!
//! Served from the per-day aggregates the store maintains with every trade change
//! (`trenddojo_store::stats`, issue 15): O(days) instead of O(trades), and exactly the same numbers
//! (Decimal, same rounding) as the full computation over the trades, which a property test checks over
//! random histories. The only filters are the account and a range of whole days, which always map onto
//! stored days. The full computation is still used, transparently, when the aggregates cannot give the
//! exact answer: an account with changes not folded yet (after the migration until the first write, or
//! a day whose sums overflow), or amounts so large (`stats::exact_bound`, 10^16) that a different order
//! of additions could round a digit differently.

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use trenddojo_domain::money::Money;
use trenddojo_domain::stats::{self, ClosedTrade, StatsOptions};
use trenddojo_store::accounts::{self as account_repo, Account};
use trenddojo_store::stats as stats_repo;
use trenddojo_store::trades as trade_repo;
use trenddojo_store::Connection;

use super::Journal;
use crate::dto;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::parse;

/// Statistics of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct AccountStats {
    pub account_id: dto::AccountId,
    pub account: String,
    pub currency: String,
    pub time_zone: String,
    /// First day included (in the account's time zone), if limited.
    pub from: Option<String>,
    /// Last day included, if limited.
    pub to: Option<String>,
    /// Equity at the start of the range: starting balance plus trades closed before it.
    pub starting_equity: String,
    pub stats: dto::Stats,
}

/// Where statistics come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The stored per-day aggregates when they can serve the request, else the trades.
    Aggregates,
    /// Always the trades (the full computation the aggregates are checked against).
    Trades,
}

pub(crate) fn account_stats(
    conn: &Connection,
    account: &Account,
    from: Option<&str>,
    to: Option<&str>,
    source: Source,
) -> ApiResult<AccountStats> {
    let tz: chrono_tz::Tz =
        account.time_zone.parse().map_err(|_| ApiError::new(ErrorCode::Corrupt, "account time zone"))?;
    let from_d = from.map(|d| parse::date("from", d)).transpose()?;
    let to_d = to.map(|d| parse::date("to", d)).transpose()?;
    if let (Some(f), Some(t)) = (from_d, to_d) {
        if f > t {
            return Err(ApiError::invalid("to", format!("{t} is before the first day {f}")));
        }
    }
    let aggregated = match source {
        Source::Aggregates => from_days(conn, account, from_d, to_d)?,
        Source::Trades => None,
    };
    let (starting_equity, computed) = match aggregated {
        Some(done) => done,
        None => from_trades(conn, account, tz, from_d, to_d)?,
    };
    Ok(AccountStats {
        account_id: account.id.into(),
        account: account.name.clone(),
        currency: account.currency.clone(),
        time_zone: account.time_zone.clone(),
        from: from_d.map(|d| d.to_string()),
        to: to_d.map(|d| d.to_string()),
        starting_equity: starting_equity.to_canonical(),
        stats: (&computed).into(),
    })
}

fn overflow(field: &'static str) -> ApiError {
    ApiError::from(trenddojo_domain::DomainError::Overflow { field })
}

/// The full computation: every closed trade of the account up to the range's end, O(trades).
fn from_trades(
    conn: &Connection,
    account: &Account,
    tz: chrono_tz::Tz,
    from_d: Option<NaiveDate>,
    to_d: Option<NaiveDate>,
) -> ApiResult<(Money, stats::Stats)> {
    let from_t = from_d.map(|d| parse::start_of_day(d, tz));
    let to_t = to_d.map(|d| parse::start_of_day(d + Duration::days(1), tz));
    let mut starting_equity = account.starting_balance;
    if let Some(f) = from_t {
        for t in trade_repo::closed_trades(conn, account.id, None, Some(f))? {
            starting_equity = starting_equity.checked_add(t.net_pnl).ok_or_else(|| overflow("starting_equity"))?;
        }
    }
    let closed: Vec<ClosedTrade> =
        trade_repo::closed_trades(conn, account.id, from_t, to_t)?.into_iter().map(stats_repo::to_closed).collect();
    let opts = StatsOptions {
        starting_balance: starting_equity,
        breakeven_tolerance: account.breakeven_tolerance,
        from: from_d,
        to: to_d,
    };
    Ok((starting_equity, stats::compute(&closed, &opts)?))
}

/// The same statistics from the stored per-day aggregates, O(days); `None` when they cannot serve the
/// request exactly: changes not folded yet, or amounts past `stats::exact_bound` (where the order of
/// additions could change a rounded digit). A range is whole days, so it always maps onto stored days.
fn from_days(
    conn: &Connection,
    account: &Account,
    from_d: Option<NaiveDate>,
    to_d: Option<NaiveDate>,
) -> ApiResult<Option<(Money, stats::Stats)>> {
    let Some(days) = stats_repo::days(conn, account.id)? else { return Ok(None) };
    let mut magnitude = Decimal::ZERO;
    for d in &days {
        match magnitude.checked_add(d.magnitude) {
            Some(m) => magnitude = m,
            None => return Ok(None),
        }
    }
    if !stats::composes_exactly(account.starting_balance, magnitude) {
        return Ok(None);
    }
    let mut starting_equity = account.starting_balance;
    let mut chosen = Vec::with_capacity(days.len());
    for d in days {
        if from_d.is_some_and(|f| d.day < f) {
            let net = Money::derived("starting_equity", d.net)?;
            starting_equity = starting_equity.checked_add(net).ok_or_else(|| overflow("starting_equity"))?;
        } else if to_d.is_none_or(|t| d.day <= t) {
            chosen.push(d);
        }
    }
    let opts = StatsOptions {
        starting_balance: starting_equity,
        breakeven_tolerance: account.breakeven_tolerance,
        from: from_d,
        to: to_d,
    };
    Ok(Some((starting_equity, stats::compute_from_days(&chosen, &opts)?)))
}

impl Journal {
    /// Statistics for one account (`--account`), or for each account when none is given.
    pub fn stats(&self, account: Option<&str>, from: Option<&str>, to: Option<&str>) -> ApiResult<Vec<AccountStats>> {
        let user_id = self.user_id()?;
        self.store.read_snapshot(|c| {
            let accounts = match account {
                Some(a) => vec![account_repo::resolve(c, user_id, a)?],
                None => account_repo::list(c, user_id)?,
            };
            accounts.iter().map(|a| account_stats(c, a, from, to, Source::Aggregates)).collect()
        })
    }

    /// The same statistics computed from every closed trade, bypassing the per-day aggregates: what the
    /// aggregates are checked against (`db check`, tests) and the benchmark's baseline.
    pub fn stats_from_trades(
        &self,
        account: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> ApiResult<Vec<AccountStats>> {
        let user_id = self.user_id()?;
        self.store.read_snapshot(|c| {
            let accounts = match account {
                Some(a) => vec![account_repo::resolve(c, user_id, a)?],
                None => account_repo::list(c, user_id)?,
            };
            accounts.iter().map(|a| account_stats(c, a, from, to, Source::Trades)).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountInput, ExecutionEditInput, ExecutionInput, ImportFill, ImportTrade, UserInput};
    use proptest::prelude::*;
    use trenddojo_domain::money::{Fee, Price, Quantity};
    use trenddojo_domain::trade::Direction;
    use trenddojo_store::{KeySource, Passphrase};

    fn journal(home: &std::path::Path) -> Journal {
        let key = KeySource::Passphrase(Passphrase::new("stats aggregates").expect("passphrase"));
        let user = UserInput { email: "agg@example.com".into(), tier: Some("pro".into()), ..Default::default() };
        let j = Journal::init(home, &key, &user).expect("init");
        j.add_account(&AccountInput {
            name: "Main".into(),
            currency: "USD".into(),
            balance: "10000".into(),
            timezone: Some("America/New_York".into()),
            ..Default::default()
        })
        .expect("account");
        j
    }

    /// 2026-03-06 00:00 UTC: the days around New York's switch to daylight time (March 8).
    const BASE: i64 = 1_772_755_200;

    /// A trade of one or two entries and up to two exits (closed when they take everything), its fills
    /// within a few hours starting anywhere in eight days, so days hold several trades and fills cross
    /// midnight in New York and in UTC.
    fn trade() -> impl Strategy<Value = ImportTrade> {
        (
            any::<bool>(),
            1u32..4,
            0i64..(8 * 24 * 60),
            1i64..400,
            prop::collection::vec(-300i64..300, 1..3),
            prop_oneof![1 => Just(0usize), 1 => Just(1usize), 5 => Just(2usize)],
        )
            .prop_map(|(long, qty, start, risk, moves, exits)| {
                let direction = if long { Direction::Long } else { Direction::Short };
                let at = |m: i64| chrono::DateTime::from_timestamp(BASE + (start + m) * 60, 0).expect("instant");
                let price = |p: i64| Price::parse("price", &Decimal::new(p, 2).to_string()).expect("price");
                let q = |n: u32| Quantity::parse("quantity", &n.to_string()).expect("quantity");
                let fee = Fee::parse("fees", "0.5").expect("fee");
                let entry = 10_000i64;
                let mut fills = vec![ImportFill {
                    side: direction.entry_side(),
                    quantity: q(qty * 2),
                    price: price(entry),
                    fees: fee,
                    at: at(0),
                }];
                // 0 exits leave the trade open, 1 exits half of it, 2 exit all of it in two halves.
                for i in 0..exits.min(2) {
                    fills.push(ImportFill {
                        side: direction.exit_side(),
                        quantity: q(qty),
                        price: price(entry + moves[i % moves.len()]),
                        fees: fee,
                        at: at(90 + 200 * i as i64),
                    });
                }
                ImportTrade {
                    symbol: "AGG".into(),
                    direction,
                    multiplier: Decimal::ONE,
                    initial_stop: Some(price(if long { entry - risk } else { entry + risk })),
                    target: None,
                    setup: None,
                    correlation_group: None,
                    fills,
                }
            })
    }

    #[derive(Debug, Clone)]
    enum Op {
        Import(Vec<ImportTrade>),
        DeleteTrade(usize),
        /// Delete a trade's last execution (a closed trade reopens).
        DeleteLastFill(usize),
        /// Close whatever is open of a trade, `minutes` after the first fill of the history.
        Close(usize, i64, i64),
        /// Change the price of a trade's first fill.
        EditFirstFill(usize, i64),
        /// What a merge can leave: a closed trade needing review (written as a pull writes it).
        NeedsReview(usize),
        /// The account's time zone changes (as a pulled account row would change it).
        TimeZone(&'static str),
        BreakevenTolerance(&'static str),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => prop::collection::vec(trade(), 1..12).prop_map(Op::Import),
            1 => any::<usize>().prop_map(Op::DeleteTrade),
            2 => any::<usize>().prop_map(Op::DeleteLastFill),
            2 => (any::<usize>(), 0i64..(9 * 24 * 60), -300i64..300).prop_map(|(t, m, p)| Op::Close(t, m, p)),
            1 => (any::<usize>(), -50i64..50).prop_map(|(t, p)| Op::EditFirstFill(t, p)),
            1 => any::<usize>().prop_map(Op::NeedsReview),
            1 => prop::sample::select(vec!["UTC", "Asia/Tokyo", "America/New_York", "Pacific/Apia"]).prop_map(Op::TimeZone),
            1 => prop::sample::select(vec!["0", "1", "2.5"]).prop_map(Op::BreakevenTolerance),
        ]
    }

    fn trade_ids(j: &Journal) -> Vec<String> {
        j.store()
            .read(|c| {
                let mut s = c.prepare("SELECT id FROM trades WHERE deleted = 0 ORDER BY created_at, id")?;
                let ids = s.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
                Ok::<_, trenddojo_store::StoreError>(ids)
            })
            .expect("ids")
    }

    fn pick(ids: &[String], i: usize) -> Option<&String> {
        (!ids.is_empty()).then(|| &ids[i % ids.len()])
    }

    fn sql(j: &Journal, statement: &str, p: &str) {
        j.store()
            .write(|tx| {
                tx.execute(statement, [p])?;
                Ok::<_, trenddojo_store::StoreError>(())
            })
            .expect("raw write");
    }

    /// Apply `op`; edits the API refuses (closing a closed trade, an edit breaking a rule) are skipped.
    fn apply(j: &Journal, op: &Op) {
        let ids = trade_ids(j);
        match op {
            Op::Import(ts) => {
                j.import_trades("Main", ts).expect("import");
            }
            Op::DeleteTrade(i) => {
                if let Some(id) = pick(&ids, *i) {
                    let _ = j.delete_trade(id);
                }
            }
            Op::DeleteLastFill(i) => {
                if let Some(id) = pick(&ids, *i) {
                    if let Some(e) = j.show_trade(id).expect("show").executions.last() {
                        let _ = j.delete_execution(&e.id.to_string());
                    }
                }
            }
            Op::Close(i, minutes, mv) => {
                if let Some(id) = pick(&ids, *i) {
                    let t = j.show_trade(id).expect("show").trade;
                    if t.open_quantity != "0" {
                        let side = if t.direction == crate::dto::Direction::Long { "sell" } else { "buy" };
                        let at = chrono::DateTime::from_timestamp(BASE + minutes * 60, 0).expect("instant");
                        let _ = j.add_execution(
                            id,
                            &ExecutionInput {
                                side: side.into(),
                                quantity: t.open_quantity.clone(),
                                price: Decimal::new(10_000 + mv, 2).to_string(),
                                fees: Some("0.25".into()),
                                at: Some(at.to_rfc3339()),
                            },
                        );
                    }
                }
            }
            Op::EditFirstFill(i, mv) => {
                if let Some(id) = pick(&ids, *i) {
                    if let Some(e) = j.show_trade(id).expect("show").executions.first() {
                        let price = Decimal::new(10_000 + mv, 2).to_string();
                        let _ = j.edit_execution(
                            &e.id.to_string(),
                            &ExecutionEditInput { price: Some(price), ..Default::default() },
                        );
                    }
                }
            }
            Op::NeedsReview(i) => {
                if let Some(id) = pick(&ids, *i) {
                    sql(j, "UPDATE trades SET status = 'needs_review' WHERE id = ?1 AND status = 'closed'", id);
                }
            }
            Op::TimeZone(tz) => sql(j, "UPDATE accounts SET time_zone = ?1", tz),
            Op::BreakevenTolerance(t) => sql(j, "UPDATE accounts SET breakeven_tolerance = ?1", t),
        }
    }

    fn day(n: u32) -> String {
        (NaiveDate::from_ymd_opt(2026, 3, 5).expect("day") + Duration::days(i64::from(n))).to_string()
    }

    fn json(s: ApiResult<Vec<AccountStats>>) -> serde_json::Value {
        match s {
            Ok(v) => serde_json::to_value(v).expect("json"),
            Err(e) => serde_json::json!({ "error": e.message }),
        }
    }

    /// The aggregates serve the statistics (not the fallback) and are what a fresh fold gives.
    fn aggregates_in_use(j: &Journal) -> bool {
        j.store()
            .read(|c| {
                let a = account_repo::resolve(c, j.user_id()?, "Main")?;
                Ok::<_, ApiError>(
                    stats_repo::days(c, a.id)?.is_some() && stats_repo::check(c, a.id)? == stats_repo::Verdict::Agrees,
                )
            })
            .expect("aggregates")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Statistics served from the per-day aggregates equal the full computation over the trades (JSON
        /// of the whole result: every number, exact decimals) after any history of imports, closes,
        /// reopenings, fill edits, deletes, trades needing review and changes of the account's time zone
        /// and tolerance, for every date range, including ranges that cut days with partial exits.
        #[test]
        fn aggregated_statistics_equal_the_full_computation(
            ops in prop::collection::vec(op(), 1..10),
            ranges in prop::collection::vec((prop::option::of(0u32..10), prop::option::of(0u32..10)), 3),
        ) {
            let dir = tempfile::tempdir().expect("dir");
            let j = journal(&dir.path().join("s"));
            for op in &ops {
                apply(&j, op);
                prop_assert!(aggregates_in_use(&j), "after {:?} the aggregates are folded and agree with the trades", op);
                let all = (None, None);
                for (from, to) in ranges.iter().chain(std::iter::once(&all)) {
                    let (from, to) = (from.map(day), to.map(day));
                    prop_assert_eq!(
                        json(j.stats(Some("Main"), from.as_deref(), to.as_deref())),
                        json(j.stats_from_trades(Some("Main"), from.as_deref(), to.as_deref())),
                        "from {:?} to {:?} after {:?}", from, to, op
                    );
                }
            }
        }
    }

    #[test]
    fn a_corrupted_aggregate_is_found_by_db_check_and_rebuilt() {
        let dir = tempfile::tempdir().expect("dir");
        let home = dir.path().join("c");
        let j = journal(&home);
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let trades: Vec<ImportTrade> = (0..20)
            .map(|_| proptest::strategy::ValueTree::current(&trade().new_tree(&mut runner).expect("tree")))
            .collect();
        j.import_trades("Main", &trades).expect("import");
        let closed = j.stats(Some("Main"), None, None).expect("stats")[0].stats.trades;
        assert!(closed > 0, "some trades are closed: {closed}");
        assert!(aggregates_in_use(&j), "folded by the import's commit");
        drop(j);
        let key = KeySource::Passphrase(Passphrase::new("stats aggregates").expect("passphrase"));
        let m = crate::Maintenance::open(&home, &key).expect("maintenance");
        assert!(m.check().expect("check").ok, "a fresh store checks clean");
        // Corrupt one day's net, as a bug or a stray write would, without marking it.
        m.store()
            .with_writer(|c| {
                c.execute(
                    "UPDATE stats_days SET trades = trades + 1 WHERE day = (SELECT min(day) FROM stats_days)",
                    [],
                )?;
                Ok(())
            })
            .expect("corrupt");
        let report = m.check().expect("check");
        assert!(!report.ok, "db check finds the corrupted aggregate: {}", report.summary);
        assert!(
            report.inconsistent_trades.iter().any(|p| p.contains("statistics aggregates of 1 day(s)")),
            "the problem names the aggregates: {:?}",
            report.inconsistent_trades
        );
        m.rebuild_statistics().expect("rebuild");
        assert!(m.check().expect("check").ok, "rebuilt from the trades, the aggregates check clean again");
    }
}
