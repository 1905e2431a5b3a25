//! Per-account, per-day statistics aggregates (`stats_days`, migration V10): what makes `stats` read
//! O(days) rows instead of O(trades).
//!
//! Each row is a [`DaySummary`]: the fold of one day's closed trades (account time zone, days cut as
//! docs/metrics.md cuts them) in close order. Days chain associatively into the statistics of any range
//! of whole days (`trenddojo_domain::stats::compute_from_days`), exactly equal to the computation over
//! the trades as long as the amounts stay below `stats::exact_bound` (checked by the reader).
//!
//! Why marks and a fold at commit rather than SQL arithmetic in triggers: amounts are exact decimal text
//! that SQLite cannot add without floats, and a day's drawdown and streak path depends on the order of its
//! trades, so removing one trade from a day needs the day folded again. The triggers of V10 therefore
//! only record *which* UTC dates (or whole accounts) changed, in the same transaction as the change and
//! whoever the writer is (local edits, imports, trade recomputation, sync pulls); [`flush`] runs before
//! every commit of the store's write transactions and folds the marked days again from `trades` (one
//! indexed range read per day). A UTC date covers at most two or three local days, so a mark is cheap to
//! write (one tiny row per date, a no-op when repeated) and cheap to resolve.
//!
//! Correctness never depends on the fold having run: an account with marks left (a day that cannot be
//! folded because a sum overflows 28 digits, or a writer outside [`crate::Store::write`]) is read as
//! "no aggregates" ([`days`] returns `None`) and `stats` computes from its trades. `db check` compares
//! the rows with a fresh fold ([`check`]); [`rebuild`] folds every account again.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;
use uuid::Uuid;

use trenddojo_domain::money::Money;
use trenddojo_domain::stats::{day_of, day_start, ClosedTrade, DaySummary};

use crate::error::{Result, StoreError};
use crate::sql::dec_text;
use crate::trades::{closed_trades, ClosedTradeRow};

/// A closed trade as the statistics see it.
pub fn to_closed(r: ClosedTradeRow) -> ClosedTrade {
    ClosedTrade {
        trade_id: r.id,
        closed_at: r.closed_at,
        net_pnl: r.net_pnl,
        fees: r.fees,
        initial_risk: r.initial_risk,
        exit_days: r.exit_days,
    }
}

/// What the fold of an account needs of it.
struct AccountFacts {
    tz: Tz,
    tolerance: Money,
}

fn account_facts(conn: &Connection, account_id: &str) -> Result<Option<AccountFacts>> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT time_zone, breakeven_tolerance FROM accounts WHERE id = ?1")?
        .query_row([account_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((tz, tol)) = row else { return Ok(None) };
    let tz: Tz = tz.parse().map_err(|_| StoreError::corrupt(format!("account {account_id}: time_zone {tz:?}")))?;
    let tolerance = Money::parse("breakeven_tolerance", &tol)?;
    Ok(Some(AccountFacts { tz, tolerance }))
}

fn no_such_table(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(_, Some(m)) if m.starts_with("no such table"))
}

/// Fold again every day marked since the last flush, in the caller's transaction (the store calls this
/// before each commit). Nothing marked costs one indexed probe. A day that cannot be folded (an amount
/// past 28 digits, a corrupt row) keeps its account's marks: `stats` then computes that account from its
/// trades and reports the problem as it always did. Only SQLite errors are returned.
pub fn flush(conn: &Connection) -> Result<()> {
    let marks: Vec<(String, String)> = {
        let mut stmt =
            match conn.prepare_cached("SELECT account_id, utc_date FROM stats_dirty ORDER BY account_id, utc_date") {
                Ok(s) => s,
                // A store not yet migrated to V10 (schema work, restore) has nothing to maintain.
                Err(e) if no_such_table(&e) => return Ok(()),
                Err(e) => return Err(e.into()),
            };
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    if marks.is_empty() {
        return Ok(());
    }
    let mut by_account: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (a, d) in marks {
        by_account.entry(a).or_default().push(d);
    }
    for (account, dates) in by_account {
        match fold_marked(conn, &account, &dates) {
            Ok(()) => {
                conn.prepare_cached("DELETE FROM stats_dirty WHERE account_id = ?1")?.execute([&account])?;
            }
            Err(e @ StoreError::Sqlite(_)) => return Err(e),
            // Left marked: read from the trades until a later change makes the day foldable.
            Err(_) => {}
        }
    }
    Ok(())
}

fn fold_marked(conn: &Connection, account: &str, dates: &[String]) -> Result<()> {
    let Some(facts) = account_facts(conn, account)? else {
        // The account is gone (a reset deleted it): so are its days.
        conn.prepare_cached("DELETE FROM stats_days WHERE account_id = ?1")?.execute([account])?;
        return Ok(());
    };
    let id = Uuid::parse_str(account).map_err(|_| StoreError::corrupt(format!("account id {account:?}")))?;
    let mut days = BTreeSet::new();
    for date in dates {
        let Ok(d) = NaiveDate::parse_from_str(date, "%Y-%m-%d") else {
            // The whole account ('' after a change of time zone or tolerance, or an unreadable date).
            return fold_account(conn, id, &facts);
        };
        // The local days that instants of this UTC date fall in.
        let first = d.and_time(NaiveTime::MIN).and_utc();
        let last = first + Duration::days(1) - Duration::microseconds(1);
        let (mut day, end) = (day_of(first, facts.tz), day_of(last, facts.tz));
        while day <= end {
            days.insert(day);
            match day.succ_opt() {
                Some(n) => day = n,
                None => break,
            }
        }
    }
    for day in days {
        fold_day(conn, id, day, &facts)?;
    }
    Ok(())
}

fn fold_day(conn: &Connection, account: Uuid, day: NaiveDate, facts: &AccountFacts) -> Result<()> {
    let next = day.succ_opt().ok_or_else(|| StoreError::corrupt(format!("day {day}")))?;
    let rows = closed_trades(conn, account, Some(day_start(day, facts.tz)), Some(day_start(next, facts.tz)))?;
    if rows.is_empty() {
        conn.prepare_cached("DELETE FROM stats_days WHERE account_id = ?1 AND day = ?2")?
            .execute(params![account.to_string(), day.to_string()])?;
        return Ok(());
    }
    let trades: Vec<ClosedTrade> = rows.into_iter().map(to_closed).collect();
    let summary = DaySummary::of(day, &trades, facts.tolerance)?;
    put(conn, account, &summary)
}

/// Every day of `account` folded from its trades, ascending (what `stats_days` must hold).
fn fold_all(conn: &Connection, account: Uuid, facts: &AccountFacts) -> Result<Vec<DaySummary>> {
    let mut groups: BTreeMap<NaiveDate, Vec<ClosedTrade>> = BTreeMap::new();
    for r in closed_trades(conn, account, None, None)? {
        groups.entry(day_of(r.closed_at, facts.tz)).or_default().push(to_closed(r));
    }
    groups.into_iter().map(|(d, ts)| Ok(DaySummary::of(d, &ts, facts.tolerance)?)).collect()
}

fn fold_account(conn: &Connection, account: Uuid, facts: &AccountFacts) -> Result<()> {
    let days = fold_all(conn, account, facts)?;
    conn.prepare_cached("DELETE FROM stats_days WHERE account_id = ?1")?.execute([account.to_string()])?;
    for d in &days {
        put(conn, account, d)?;
    }
    Ok(())
}

fn opt_text(d: Option<Decimal>) -> Option<String> {
    d.map(dec_text)
}

fn encode_exits(exits: &[(NaiveDate, Decimal, u32)]) -> String {
    let parts: Vec<String> = exits.iter().map(|(d, v, n)| format!("{d}={}={n}", dec_text(*v))).collect();
    parts.join(";")
}

fn put(conn: &Connection, account: Uuid, d: &DaySummary) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO stats_days (account_id, day, trades, wins, losses, breakevens, net, gross_profit, \
         gross_loss, fees, largest_win, largest_loss, r_trades, total_r, high, low, low_at, fall, fall_at, fall_peak, \
         first_run, last_run, best_win_run, best_loss_run, exits, magnitude) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, \
         ?23, ?24, ?25, ?26)",
    )?
    .execute(params![
        account.to_string(),
        d.day.to_string(),
        d.trades,
        d.wins,
        d.losses,
        d.breakevens,
        dec_text(d.net),
        dec_text(d.gross_profit),
        dec_text(d.gross_loss),
        dec_text(d.fees),
        opt_text(d.largest_win),
        opt_text(d.largest_loss),
        d.r_trades,
        dec_text(d.total_r),
        dec_text(d.high),
        dec_text(d.low),
        d.low_at,
        dec_text(d.fall),
        d.fall_at,
        dec_text(d.fall_peak),
        d.first_run,
        d.last_run,
        d.best_win_run,
        d.best_loss_run,
        encode_exits(&d.exits),
        dec_text(d.magnitude),
    ])?;
    Ok(())
}

fn dec(field: &str, s: &str) -> Result<Decimal> {
    Decimal::from_str_exact(s).map_err(|_| StoreError::corrupt(format!("stats_days.{field}: {s:?} is not a decimal")))
}

fn decode_exits(s: &str) -> Result<Vec<(NaiveDate, Decimal, u32)>> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(';')
        .map(|part| {
            let bad = || StoreError::corrupt(format!("stats_days.exits: {part:?}"));
            let mut it = part.splitn(3, '=');
            let (Some(d), Some(v), Some(n)) = (it.next(), it.next(), it.next()) else { return Err(bad()) };
            let d = NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| bad())?;
            let n: u32 = n.parse().map_err(|_| bad())?;
            Ok((d, dec("exits", v)?, n))
        })
        .collect()
}

fn row_summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<DaySummary>> {
    let text = |i: usize| r.get::<_, String>(i);
    let opt = |i: usize| r.get::<_, Option<String>>(i);
    let (day, net, gp, gl, fees, lw, ll, tr, high, low, fall, fall_peak, exits, mag) = (
        text(0)?,
        text(5)?,
        text(6)?,
        text(7)?,
        text(8)?,
        opt(9)?,
        opt(10)?,
        text(12)?,
        text(13)?,
        text(14)?,
        text(16)?,
        text(18)?,
        text(23)?,
        text(24)?,
    );
    let counts = (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(11)?, r.get(15)?, r.get(17)?);
    let runs = (r.get(19)?, r.get(20)?, r.get(21)?, r.get(22)?);
    Ok((|| {
        Ok(DaySummary {
            day: NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                .map_err(|_| StoreError::corrupt(format!("stats_days.day: {day:?}")))?,
            trades: counts.0,
            wins: counts.1,
            losses: counts.2,
            breakevens: counts.3,
            net: dec("net", &net)?,
            gross_profit: dec("gross_profit", &gp)?,
            gross_loss: dec("gross_loss", &gl)?,
            fees: dec("fees", &fees)?,
            largest_win: lw.map(|s| dec("largest_win", &s)).transpose()?,
            largest_loss: ll.map(|s| dec("largest_loss", &s)).transpose()?,
            r_trades: counts.4,
            total_r: dec("total_r", &tr)?,
            high: dec("high", &high)?,
            low: dec("low", &low)?,
            low_at: counts.5,
            fall: dec("fall", &fall)?,
            fall_at: counts.6,
            fall_peak: dec("fall_peak", &fall_peak)?,
            first_run: runs.0,
            last_run: runs.1,
            best_win_run: runs.2,
            best_loss_run: runs.3,
            exits: decode_exits(&exits)?,
            magnitude: dec("magnitude", &mag)?,
        })
    })())
}

/// The stored days of `account`, ascending; `None` when some of its changes are not folded yet (then the
/// statistics must be computed from the trades).
pub fn days(conn: &Connection, account: Uuid) -> Result<Option<Vec<DaySummary>>> {
    let id = account.to_string();
    let pending: bool = match conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM stats_dirty WHERE account_id = ?1)") {
        Ok(mut s) => s.query_row([&id], |r| r.get(0))?,
        Err(e) if no_such_table(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if pending {
        return Ok(None);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT day, trades, wins, losses, breakevens, net, gross_profit, gross_loss, fees, largest_win, largest_loss, \
         r_trades, total_r, high, low, low_at, fall, fall_at, fall_peak, first_run, last_run, best_win_run, \
         best_loss_run, exits, magnitude FROM stats_days WHERE account_id = ?1 ORDER BY day",
    )?;
    let rows = stmt.query_map([&id], row_summary)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r??);
    }
    Ok(Some(out))
}

/// How the stored aggregates of an account compare with a fresh fold of its trades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every stored day equals its fold.
    Agrees,
    /// Changes are marked and not folded yet (nothing stored is trusted until they are).
    Pending,
    /// The days whose stored row differs from the fold, is missing, or should not exist.
    Differs(Vec<NaiveDate>),
}

/// Compare the stored days of `account` with the days folded from its trades (`db check`).
pub fn check(conn: &Connection, account: Uuid) -> Result<Verdict> {
    let Some(stored) = days(conn, account)? else { return Ok(Verdict::Pending) };
    let Some(facts) = account_facts(conn, &account.to_string())? else { return Ok(Verdict::Agrees) };
    let fresh = fold_all(conn, account, &facts)?;
    let stored: BTreeMap<NaiveDate, DaySummary> = stored.into_iter().map(|d| (d.day, d)).collect();
    let fresh: BTreeMap<NaiveDate, DaySummary> = fresh.into_iter().map(|d| (d.day, d)).collect();
    let mut bad: BTreeSet<NaiveDate> = BTreeSet::new();
    for (day, s) in &stored {
        if fresh.get(day) != Some(s) {
            bad.insert(*day);
        }
    }
    bad.extend(fresh.keys().filter(|d| !stored.contains_key(d)));
    Ok(if bad.is_empty() { Verdict::Agrees } else { Verdict::Differs(bad.into_iter().collect()) })
}

/// Fold every account's days again from its trades, in the caller's transaction (repair after `db check`
/// found a difference).
pub fn rebuild(conn: &Connection) -> Result<()> {
    conn.execute("INSERT OR IGNORE INTO stats_dirty (account_id, utc_date) SELECT id, '' FROM accounts", [])?;
    flush(conn)
}
