//! Per-account, per-day statistics aggregates (`stats_days`, migration V11): what makes `stats` read
//! O(days) rows instead of O(trades).
//!
//! Each row is a [`DaySummary`]: the fold of one day's closed trades (account time zone, days cut as
//! docs/metrics.md cuts them) in close order. Days chain associatively into the statistics of any range
//! of whole days (`trenddojo_domain::stats::compute_from_days`), exactly equal to the computation over
//! the trades as long as the amounts stay below `stats::exact_bound` (checked by the reader).
//!
//! Why marks and a fold at commit rather than SQL arithmetic in triggers: amounts are exact decimal text
//! that SQLite cannot add without floats, and a day's drawdown and streak path depends on the order of its
//! trades, so removing one trade from a day needs the day folded again. The triggers of V11 therefore
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

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;
use uuid::Uuid;

use trenddojo_domain::money::Money;
use trenddojo_domain::stats::{day_of, day_start, ClosedTrade, DaySummary};

use crate::error::{Result, StoreError};
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
                // A store not yet migrated to V11 (schema work, restore) has nothing to maintain.
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
            Err(e) if engine_error(&e) => return Err(e),
            // A data problem (an unreadable stored value, a sum past 28 digits): left marked, the account
            // is computed from its trades (which reports the problem) until a change makes it foldable.
            Err(_) => {}
        }
    }
    Ok(())
}

/// An error of SQLite itself (I/O, a full disk, damage): the write must fail. A stored value that does not
/// convert is a data problem, not one of these.
fn engine_error(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Sqlite(inner) if !matches!(
            inner,
            rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::IntegralValueOutOfRange(..)
        )
    )
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
        let Ok(d) = date.parse::<NaiveDate>() else {
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

fn bin(d: Decimal) -> [u8; 16] {
    d.serialize()
}

fn encode_exits(exits: &[(NaiveDate, Decimal, u32)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(exits.len() * 24);
    for (d, v, n) in exits {
        out.extend_from_slice(&d.num_days_from_ce().to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&v.serialize());
    }
    out
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
        bin(d.net),
        bin(d.gross_profit),
        bin(d.gross_loss),
        bin(d.fees),
        d.largest_win.map(bin),
        d.largest_loss.map(bin),
        d.r_trades,
        bin(d.total_r),
        bin(d.high),
        bin(d.low),
        d.low_at,
        bin(d.fall),
        d.fall_at,
        bin(d.fall_peak),
        d.first_run,
        d.last_run,
        d.best_win_run,
        d.best_loss_run,
        encode_exits(&d.exits),
        bin(d.magnitude),
    ])?;
    Ok(())
}

/// A stored amount: exactly the 16 bytes `Decimal::serialize` writes, with a scale a `Decimal` can have.
fn dec(field: &str, b: &[u8]) -> Result<Decimal> {
    let bad = || StoreError::corrupt(format!("stats_days.{field}: not a stored decimal"));
    let bytes: [u8; 16] = b.try_into().map_err(|_| bad())?;
    let d = Decimal::deserialize(bytes);
    if d.scale() > 28 || d.serialize() != bytes {
        return Err(bad());
    }
    Ok(d)
}

fn decode_exits(b: &[u8]) -> Result<Vec<(NaiveDate, Decimal, u32)>> {
    let bad = || StoreError::corrupt("stats_days.exits: not a list of exit days");
    if !b.len().is_multiple_of(24) {
        return Err(bad());
    }
    b.chunks_exact(24)
        .map(|c| {
            let day = i32::from_le_bytes(c[0..4].try_into().map_err(|_| bad())?);
            let n = u32::from_le_bytes(c[4..8].try_into().map_err(|_| bad())?);
            let d = NaiveDate::from_num_days_from_ce_opt(day).ok_or_else(bad)?;
            Ok((d, dec("exits", &c[8..24])?, n))
        })
        .collect()
}

fn row_summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<DaySummary>> {
    let day: String = r.get(0)?;
    let blob = |i: usize| r.get_ref(i).and_then(|v| v.as_blob().map_err(Into::into));
    let opt = |i: usize| r.get_ref(i).and_then(|v| v.as_blob_or_null().map_err(Into::into));
    let (net, gp, gl, fees, lw, ll, tr, high, low, fall, fall_peak, exits, mag) = (
        blob(5)?,
        blob(6)?,
        blob(7)?,
        blob(8)?,
        opt(9)?,
        opt(10)?,
        blob(12)?,
        blob(13)?,
        blob(14)?,
        blob(16)?,
        blob(18)?,
        blob(23)?,
        blob(24)?,
    );
    let counts = (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(11)?, r.get(15)?, r.get(17)?);
    let runs = (r.get(19)?, r.get(20)?, r.get(21)?, r.get(22)?);
    Ok((|| {
        Ok(DaySummary {
            day: day.parse::<NaiveDate>().map_err(|_| StoreError::corrupt(format!("stats_days.day: {day:?}")))?,
            trades: counts.0,
            wins: counts.1,
            losses: counts.2,
            breakevens: counts.3,
            net: dec("net", net)?,
            gross_profit: dec("gross_profit", gp)?,
            gross_loss: dec("gross_loss", gl)?,
            fees: dec("fees", fees)?,
            largest_win: lw.map(|b| dec("largest_win", b)).transpose()?,
            largest_loss: ll.map(|b| dec("largest_loss", b)).transpose()?,
            r_trades: counts.4,
            total_r: dec("total_r", tr)?,
            high: dec("high", high)?,
            low: dec("low", low)?,
            low_at: counts.5,
            fall: dec("fall", fall)?,
            fall_at: counts.6,
            fall_peak: dec("fall_peak", fall_peak)?,
            first_run: runs.0,
            last_run: runs.1,
            best_win_run: runs.2,
            best_loss_run: runs.3,
            exits: decode_exits(exits)?,
            magnitude: dec("magnitude", mag)?,
        })
    })())
}

/// The stored days of `account`, ascending; `None` when some of its changes are not folded yet (then the
/// statistics must be computed from the trades).
pub fn days(conn: &Connection, account: Uuid) -> Result<Option<Vec<DaySummary>>> {
    match read_days(conn, account) {
        // A stored row that does not decode is derived data gone bad: computed from the trades instead
        // (`db check` reports it).
        Err(e) if !engine_error(&e) => Ok(None),
        other => other,
    }
}

fn read_days(conn: &Connection, account: Uuid) -> Result<Option<Vec<DaySummary>>> {
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
    let stored = match read_days(conn, account) {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(Verdict::Pending),
        Err(e) if engine_error(&e) => return Err(e),
        Err(_) => {
            // Some stored row does not decode: every day of the account is suspect.
            let mut stmt = conn.prepare_cached("SELECT day FROM stats_days WHERE account_id = ?1 ORDER BY day")?;
            let days = stmt.query_map([account.to_string()], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for d in days {
                out.extend(d?.parse::<NaiveDate>().ok());
            }
            return Ok(Verdict::Differs(out));
        }
    };
    let Some(facts) = account_facts(conn, &account.to_string())? else { return Ok(Verdict::Agrees) };
    let fresh = match fold_all(conn, account, &facts) {
        Ok(f) => f,
        Err(e) if engine_error(&e) => return Err(e),
        // The trades cannot be folded now (a value changed behind the store's back): no stored day holds.
        Err(_) => return Ok(Verdict::Differs(stored.into_iter().map(|d| d.day).collect())),
    };
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    const ACCOUNT: &str = "0190b6a0-0000-7000-8000-000000000001";

    /// The columns V11 reads of `accounts` and `trades`, then V11 itself (the rest of the schema, with its
    /// audit and outbox triggers, plays no part in the aggregates).
    fn schema() -> Connection {
        let c = Connection::open_in_memory().expect("memory");
        c.execute_batch(
            "CREATE TABLE accounts (id TEXT PRIMARY KEY, time_zone TEXT NOT NULL, breakeven_tolerance TEXT NOT NULL);
             CREATE TABLE trades (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, status TEXT NOT NULL,
                 deleted INTEGER NOT NULL DEFAULT 0, closed_at TEXT, net_pnl TEXT NOT NULL DEFAULT '0',
                 fees TEXT NOT NULL DEFAULT '0', initial_risk TEXT, exit_days TEXT, setup TEXT);",
        )
        .expect("tables");
        c.execute("INSERT INTO accounts VALUES (?1, 'America/New_York', '0')", [ACCOUNT]).expect("account");
        let v11 = crate::migrations::MIGRATIONS.iter().find(|m| m.name == "stats_aggregates").expect("V11");
        c.execute_batch(v11.up).expect("V11 up");
        c
    }

    fn marks(c: &Connection) -> Vec<String> {
        let mut s = c.prepare("SELECT utc_date FROM stats_dirty ORDER BY utc_date").expect("prepare");
        s.query_map([], |r| r.get(0)).expect("query").collect::<std::result::Result<_, _>>().expect("rows")
    }

    #[test]
    fn triggers_mark_only_changes_statistics_see_and_flush_folds_them() {
        let c = schema();
        assert_eq!(marks(&c), [""], "the migration marks existing accounts for a full fold");
        flush(&c).expect("flush");
        assert!(marks(&c).is_empty(), "folded: nothing left marked");

        let id = "0190b6a0-0000-7000-8000-00000000000a";
        c.execute("INSERT INTO trades (id, account_id, status) VALUES (?1, ?2, 'planned')", [id, ACCOUNT])
            .expect("planned");
        assert!(marks(&c).is_empty(), "a planned trade is no statistic");
        // Closed at 23:30 New York on March 8 = 03:30 UTC on March 9.
        c.execute(
            "UPDATE trades SET status = 'closed', closed_at = '2026-03-09T03:30:00.000000Z', net_pnl = '12.5', \
             fees = '1', initial_risk = '10', exit_days = '2026-03-08' WHERE id = ?1",
            [id],
        )
        .expect("close");
        assert_eq!(marks(&c), ["2026-03-09"], "the UTC date of the close is marked");
        flush(&c).expect("flush");
        let account = Uuid::parse_str(ACCOUNT).expect("uuid");
        let stored = days(&c, account).expect("days").expect("folded");
        let closed_at = Utc.with_ymd_and_hms(2026, 3, 9, 3, 30, 0).single().expect("instant");
        let d8 = NaiveDate::from_ymd_opt(2026, 3, 8).expect("day");
        let money = |s: &str| Money::parse("x", s).expect("money");
        let expected = DaySummary::of(
            d8,
            &[ClosedTrade {
                trade_id: Uuid::parse_str(id).expect("uuid"),
                closed_at,
                net_pnl: money("12.5"),
                fees: money("1"),
                initial_risk: Some(money("10")),
                exit_days: vec![(d8, money("12.5"))],
            }],
            money("0"),
        )
        .expect("summary");
        assert_eq!(stored, [expected], "one New York day, March 8, stored exactly as the fold gives it");
        assert_eq!(check(&c, account).expect("check"), Verdict::Agrees, "db check agrees");

        c.execute("UPDATE trades SET setup = 'breakout' WHERE id = ?1", [id]).expect("edit");
        c.execute("UPDATE trades SET net_pnl = '12.5' WHERE id = ?1", [id]).expect("same value");
        assert!(marks(&c).is_empty(), "edits that change nothing statistics read mark nothing");
        assert_eq!(days(&c, account).expect("days").map(|d| d.len()), Some(1), "served while nothing is marked");

        c.execute("UPDATE stats_days SET fees = high", []).expect("corrupt");
        assert_eq!(check(&c, account).expect("check"), Verdict::Differs(vec![d8]), "a corrupted day is found");
        rebuild(&c).expect("rebuild");
        assert_eq!(check(&c, account).expect("check"), Verdict::Agrees, "rebuilt from the trades");

        c.execute("UPDATE accounts SET time_zone = 'Asia/Tokyo'", []).expect("tz");
        assert_eq!(marks(&c), [""], "a new time zone marks the whole account");
        assert_eq!(days(&c, account).expect("days"), None, "and nothing stored is served until folded");
        flush(&c).expect("flush");
        let tokyo = days(&c, account).expect("days").expect("folded");
        assert_eq!(tokyo.iter().map(|d| d.day.to_string()).collect::<Vec<_>>(), ["2026-03-09"], "12:30 in Tokyo");

        c.execute("UPDATE trades SET deleted = 1 WHERE id = ?1", [id]).expect("delete");
        flush(&c).expect("flush");
        assert_eq!(days(&c, account).expect("days"), Some(Vec::new()), "a deleted trade leaves no day behind");
    }

    #[test]
    fn a_day_that_cannot_be_folded_stays_marked_and_is_not_served() {
        let c = schema();
        flush(&c).expect("flush");
        c.execute(
            "INSERT INTO trades (id, account_id, status, closed_at, net_pnl) \
             VALUES ('0190b6a0-0000-7000-8000-00000000000b', ?1, 'closed', '2026-03-09T15:00:00.000000Z', 'oops')",
            [ACCOUNT],
        )
        .expect("insert");
        flush(&c).expect("a data problem is not a failed write");
        assert_eq!(marks(&c), ["2026-03-09"], "left marked");
        let account = Uuid::parse_str(ACCOUNT).expect("uuid");
        assert_eq!(days(&c, account).expect("days"), None, "stats computes this account from its trades");
    }

    #[test]
    fn a_store_without_the_aggregates_has_nothing_to_flush() {
        let c = Connection::open_in_memory().expect("memory");
        flush(&c).expect("no stats_dirty table: nothing to do");
        assert_eq!(days(&c, Uuid::nil()).expect("days"), None, "and nothing to serve");
    }

    #[test]
    fn stored_amounts_round_trip_exactly_and_garbage_is_corrupt() {
        let exits = vec![
            (NaiveDate::from_ymd_opt(2026, 3, 8).expect("day"), Decimal::new(-125, 1), 2),
            (NaiveDate::from_ymd_opt(2026, 3, 9).expect("day"), Decimal::new(1, 12), 1),
        ];
        let bytes = encode_exits(&exits);
        assert_eq!(bytes.len(), 48, "24 bytes per exit day");
        assert_eq!(decode_exits(&bytes).expect("decode"), exits, "decodes to the same");
        assert_eq!(decode_exits(&[]).expect("empty"), Vec::new(), "no exits");
        assert!(decode_exits(&bytes[..30]).is_err(), "a cut list is corrupt");
        let max = Decimal::from_str_exact("-9999999999999999999999999999").expect("max");
        let tiny = Decimal::from_str_exact("0.000000000001").expect("tiny");
        for d in [max, tiny, Decimal::ZERO, Decimal::new(12_500, 3)] {
            assert_eq!(dec("x", &bin(d)).expect("decode").to_string(), d.to_string(), "{d} round trips with its scale");
        }
        let mut bad = bin(tiny);
        bad[2] = 200; // scale 200
        assert!(dec("net", &bad).is_err(), "an impossible scale is corrupt");
        assert!(dec("net", b"13").is_err(), "text is not a stored decimal");
    }
}
