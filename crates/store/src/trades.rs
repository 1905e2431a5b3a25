//! Trades, executions, stop history and targets.
//!
//! A trade's summary columns are derived from its executions: after every execution change the caller
//! recomputes [`trenddojo_domain::trade::summarize`] and hands the result to [`apply_summary`] in the same
//! transaction, which also records each exit's realized P&L on the execution row and the per-day split.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use trenddojo_domain::money::{Fee, Money, Price, Quantity};
use trenddojo_domain::trade::{self as dtrade, Derived, Direction, Fill, PositionSummary, Review, Side, TradeStatus};
use trenddojo_domain::DomainError;

use crate::clock::fmt_ts;
use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::sql::{col, col_dec, col_dec_opt, col_enum, col_opt, col_ts, col_ts_opt, col_uuid, dec_text};

/// A trade with its derived summary.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Trade {
    pub id: Uuid,
    pub user_id: Uuid,
    pub account_id: Uuid,
    pub symbol: String,
    pub direction: Direction,
    pub status: TradeStatus,
    #[serde(with = "rust_decimal::serde::str")]
    pub multiplier: Decimal,
    pub planned_entry: Option<Price>,
    pub planned_quantity: Option<Quantity>,
    pub initial_stop: Option<Price>,
    pub current_stop: Option<Price>,
    pub setup: Option<String>,
    pub correlation_group: Option<String>,
    #[serde(with = "rust_decimal::serde::str")]
    pub entered_quantity: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub open_quantity: Decimal,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub avg_entry_price: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub avg_exit_price: Option<Decimal>,
    pub gross_pnl: Money,
    pub fees: Money,
    pub net_pnl: Money,
    pub initial_risk: Option<Money>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub r_multiple: Option<Decimal>,
    pub opened_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub created_at: String,
    pub updated_at: String,
    /// Exit quantity that found nothing open to close (a merge of two devices' exits); zero otherwise.
    #[serde(with = "rust_decimal::serde::str")]
    pub excess_quantity: Decimal,
    /// Why the trade needs review (empty unless its status is `needs_review`).
    pub review: Vec<Review>,
}

/// One execution (fill) of a trade.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Execution {
    pub id: Uuid,
    pub trade_id: Uuid,
    pub side: Side,
    pub quantity: Quantity,
    pub price: Price,
    pub fees: Fee,
    pub executed_at: DateTime<Utc>,
    pub time_zone: String,
    pub realized_gross: Option<Money>,
    pub realized_net: Option<Money>,
}

impl Execution {
    pub fn to_fill(&self) -> Fill {
        Fill {
            id: self.id,
            side: self.side,
            quantity: self.quantity,
            price: self.price,
            fees: self.fees,
            executed_at: self.executed_at,
        }
    }
}

/// A stop level set on a trade; the first is the initial stop.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StopAdjustment {
    pub id: Uuid,
    pub price: Price,
    pub adjusted_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// A profit target.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Target {
    pub id: Uuid,
    pub price: Price,
    pub quantity: Option<Quantity>,
    pub label: Option<String>,
}

/// A validated new trade (starts `planned`; executions move it along).
#[derive(Debug, Clone)]
pub struct NewTrade {
    pub user_id: Uuid,
    pub account_id: Uuid,
    pub symbol: String,
    pub direction: Direction,
    pub multiplier: Decimal,
    pub planned_entry: Option<Price>,
    pub planned_quantity: Option<Quantity>,
    pub initial_stop: Option<Price>,
    pub setup: Option<String>,
    pub correlation_group: Option<String>,
}

/// A validated new execution.
#[derive(Debug, Clone)]
pub struct NewExecution {
    pub user_id: Uuid,
    pub account_id: Uuid,
    pub trade_id: Uuid,
    pub side: Side,
    pub quantity: Quantity,
    pub price: Price,
    pub fees: Fee,
    pub executed_at: DateTime<Utc>,
    pub time_zone: String,
}

pub(crate) const TRADE_COLS: &str = "id, user_id, account_id, symbol, direction, status, multiplier, planned_entry, \
    planned_quantity, initial_stop, current_stop, setup, correlation_group, entered_quantity, open_quantity, \
    avg_entry_price, avg_exit_price, gross_pnl, fees, net_pnl, initial_risk, r_multiple, opened_at, closed_at, \
    cancelled_at, created_at, updated_at, excess_quantity, review";

pub(crate) fn map_trade(r: &rusqlite::Row<'_>) -> rusqlite::Result<Trade> {
    Ok(Trade {
        id: col_uuid(r, 0)?,
        user_id: col_uuid(r, 1)?,
        account_id: col_uuid(r, 2)?,
        symbol: r.get(3)?,
        direction: col_enum(r, 4)?,
        status: col_enum(r, 5)?,
        multiplier: col_dec(r, 6)?,
        planned_entry: col_opt(r, 7, Price::parse)?,
        planned_quantity: col_opt(r, 8, Quantity::parse)?,
        initial_stop: col_opt(r, 9, Price::parse)?,
        current_stop: col_opt(r, 10, Price::parse)?,
        setup: r.get(11)?,
        correlation_group: r.get(12)?,
        entered_quantity: col_dec(r, 13)?,
        open_quantity: col_dec(r, 14)?,
        avg_entry_price: col_dec_opt(r, 15)?,
        avg_exit_price: col_dec_opt(r, 16)?,
        gross_pnl: col(r, 17, Money::parse)?,
        fees: col(r, 18, Money::parse)?,
        net_pnl: col(r, 19, Money::parse)?,
        initial_risk: col_opt(r, 20, Money::parse)?,
        r_multiple: col_dec_opt(r, 21)?,
        opened_at: col_ts_opt(r, 22)?,
        closed_at: col_ts_opt(r, 23)?,
        cancelled_at: col_ts_opt(r, 24)?,
        created_at: r.get(25)?,
        updated_at: r.get(26)?,
        excess_quantity: col_dec_opt(r, 27)?.unwrap_or(Decimal::ZERO),
        review: dtrade::parse_review(r.get::<_, Option<String>>(28)?.as_deref()),
    })
}

pub fn insert_trade(tx: &Tx<'_>, t: &NewTrade) -> Result<Uuid> {
    let id = tx.new_id();
    tx.prepare_cached(
        "INSERT INTO trades (id, user_id, account_id, symbol, direction, status, multiplier, planned_entry, \
         planned_quantity, initial_stop, current_stop, setup, correlation_group, created_at, updated_at, updated_hlc) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'planned', ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?12, ?13)",
    )?
    .execute(params![
        id.to_string(),
        t.user_id.to_string(),
        t.account_id.to_string(),
        t.symbol,
        t.direction.as_str(),
        dec_text(t.multiplier),
        t.planned_entry.map(|p| p.to_canonical()),
        t.planned_quantity.map(|q| q.to_canonical()),
        t.initial_stop.map(|p| p.to_canonical()),
        t.setup,
        t.correlation_group,
        tx.now,
        tx.hlc
    ])?;
    if let Some(stop) = t.initial_stop {
        insert_stop_row(tx, t.user_id, id, stop, tx.at, Some("initial stop"))?;
    }
    Ok(id)
}

pub fn insert_execution(tx: &Tx<'_>, e: &NewExecution) -> Result<Uuid> {
    let id = tx.new_id();
    tx.prepare_cached(
        "INSERT INTO executions (id, user_id, account_id, trade_id, side, quantity, price, fees, executed_at, time_zone, \
         created_at, updated_at, updated_hlc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12)",
    )?
    .execute(params![
        id.to_string(),
        e.user_id.to_string(),
        e.account_id.to_string(),
        e.trade_id.to_string(),
        e.side.as_str(),
        e.quantity.to_canonical(),
        e.price.to_canonical(),
        e.fees.to_canonical(),
        fmt_ts(e.executed_at),
        e.time_zone,
        tx.now,
        tx.hlc
    ])?;
    Ok(id)
}

/// A trade's live executions in execution order; ties by id (UUIDv7: creation order), the same on every
/// device whatever order sync stored them in.
pub fn executions(conn: &Connection, trade_id: Uuid) -> Result<Vec<Execution>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, trade_id, side, quantity, price, fees, executed_at, time_zone, realized_gross, realized_net \
         FROM executions WHERE trade_id = ?1 AND deleted = 0 ORDER BY executed_at, id",
    )?;
    let rows = stmt.query_map([trade_id.to_string()], map_execution)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn map_execution(r: &rusqlite::Row<'_>) -> rusqlite::Result<Execution> {
    Ok(Execution {
        id: col_uuid(r, 0)?,
        trade_id: col_uuid(r, 1)?,
        side: col_enum(r, 2)?,
        quantity: col(r, 3, Quantity::parse)?,
        price: col(r, 4, Price::parse)?,
        fees: col(r, 5, Fee::parse)?,
        executed_at: col_ts(r, 6)?,
        time_zone: r.get(7)?,
        realized_gross: col_opt(r, 8, Money::parse)?,
        realized_net: col_opt(r, 9, Money::parse)?,
    })
}

/// Encode per-day net P&L as `YYYY-MM-DD=amount;...` (ascending days), or just `YYYY-MM-DD` when all of
/// it fell on one day (the common case; the amount is then the trade's net P&L).
pub fn encode_exit_days(days: &BTreeMap<NaiveDate, Money>) -> String {
    if days.len() == 1 {
        if let Some(d) = days.keys().next() {
            return d.format("%Y-%m-%d").to_string();
        }
    }
    let mut out = String::new();
    for (i, (d, m)) in days.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        let _ = write!(out, "{}={}", d.format("%Y-%m-%d"), m.to_canonical());
    }
    out
}

/// Decode [`encode_exit_days`] output; `net` is the trade's net P&L (the amount of a single-day split).
pub fn decode_exit_days(s: &str, net: Money) -> Result<Vec<(NaiveDate, Money)>> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    if !s.contains('=') {
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| StoreError::corrupt(format!("bad exit_days {s:?}")))?;
        return Ok(vec![(d, net)]);
    }
    s.split(';')
        .map(|part| {
            let (d, m) = part.split_once('=').ok_or_else(|| StoreError::corrupt(format!("bad exit_days {s:?}")))?;
            let d = NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| StoreError::corrupt(format!("bad exit_days {s:?}")))?;
            Ok((d, Money::parse("exit_days", m)?))
        })
        .collect()
}

/// Write a recomputed summary onto the trade and each exit's realization onto its execution. A summary
/// that did not change writes nothing (no new clock stamp, audit row or outbox entry). While the sync
/// engine applies pulled rows (`sync_apply_guard` holds a row), the change bookkeeping (`updated_at`,
/// `updated_hlc`) is left as merged: the recomputation is not an edit, every device derives the same
/// values from the same executions, and a local time written here would differ on each device.
pub fn apply_summary(tx: &Tx<'_>, trade_id: Uuid, derived: &Derived, tz: Tz) -> Result<()> {
    let Derived { summary, initial_risk, r_multiple } = derived;
    let (initial_risk, r_multiple) = (*initial_risk, *r_multiple);
    let days = trenddojo_domain::trade::exit_days(&summary.exits, tz)?;
    let (account_id, old_net): (String, String) = tx
        .prepare_cached("SELECT account_id, net_pnl FROM trades WHERE id = ?1")?
        .query_row([trade_id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let old_net = Money::parse("net_pnl", &old_net)?;
    // The change can overflow where both values fit (a huge gain replacing a huge loss): that is the user's
    // input being too large to compute exactly, refused like an account total that would overflow.
    let delta = summary.net_realized.checked_sub(old_net).ok_or_else(|| StoreError::Invalid {
        field: "net_pnl",
        message: "the trade's P&L change would be too large to compute exactly".into(),
    })?;
    adjust_realized(tx, &account_id, delta)?;
    let closed = summary.status == TradeStatus::Closed;
    tx.prepare_cached(
        "UPDATE trades SET status = CASE WHEN status = 'cancelled' THEN status ELSE ?2 END, entered_quantity = ?3, \
         open_quantity = ?4, avg_entry_price = ?5, avg_exit_price = ?6, gross_pnl = ?7, fees = ?8, net_pnl = ?9, \
         initial_risk = ?10, r_multiple = ?11, opened_at = ?12, closed_at = ?13, exit_days = ?14, \
         excess_quantity = ?17, review = ?18, \
         updated_at = CASE WHEN EXISTS (SELECT 1 FROM sync_apply_guard) THEN updated_at ELSE ?15 END, \
         updated_hlc = CASE WHEN EXISTS (SELECT 1 FROM sync_apply_guard) THEN updated_hlc ELSE ?16 END WHERE id = ?1 AND (status IS NOT CASE WHEN status = 'cancelled' THEN status ELSE ?2 END \
         OR entered_quantity IS NOT ?3 OR open_quantity IS NOT ?4 OR avg_entry_price IS NOT ?5 \
         OR avg_exit_price IS NOT ?6 OR gross_pnl IS NOT ?7 OR fees IS NOT ?8 OR net_pnl IS NOT ?9 \
         OR initial_risk IS NOT ?10 OR r_multiple IS NOT ?11 OR opened_at IS NOT ?12 OR closed_at IS NOT ?13 \
         OR exit_days IS NOT ?14 OR excess_quantity IS NOT ?17 OR review IS NOT ?18)",
    )?
    .execute(params![
        trade_id.to_string(),
        summary.status.as_str(),
        dec_text(summary.entered_quantity),
        dec_text(summary.open_quantity),
        summary.avg_entry_price.map(dec_text),
        summary.avg_exit_price.map(dec_text),
        summary.gross_realized.to_canonical(),
        summary.fees.to_canonical(),
        summary.net_realized.to_canonical(),
        initial_risk.map(|m| m.to_canonical()),
        r_multiple.map(dec_text),
        summary.opened_at.map(fmt_ts),
        summary.closed_at.filter(|_| closed).map(fmt_ts),
        if closed { Some(encode_exit_days(&days)) } else { None },
        tx.now,
        tx.hlc,
        excess_text(summary),
        dtrade::review_text(&summary.review),
    ])?;
    // Realized amounts on executions: only touch rows whose values change (each write is audited).
    let current = executions(tx, trade_id)?;
    let mut update = tx.prepare_cached(
        "UPDATE executions SET realized_gross = ?2, realized_net = ?3, \
         updated_at = CASE WHEN EXISTS (SELECT 1 FROM sync_apply_guard) THEN updated_at ELSE ?4 END, \
         updated_hlc = CASE WHEN EXISTS (SELECT 1 FROM sync_apply_guard) THEN updated_hlc ELSE ?5 END WHERE id = ?1",
    )?;
    for e in current {
        let x = summary.exits.iter().find(|x| x.fill_id == e.id);
        let (gross, net) = (x.map(|x| x.gross), x.map(|x| x.net));
        if gross != e.realized_gross || net != e.realized_net {
            update.execute(params![
                e.id.to_string(),
                gross.map(|m| m.to_canonical()),
                net.map(|m| m.to_canonical()),
                tx.now,
                tx.hlc
            ])?;
        }
    }
    Ok(())
}

/// The stored form of a summary's excess quantity: none when nothing was over-closed.
fn excess_text(s: &PositionSummary) -> Option<String> {
    (!s.excess_quantity.is_zero()).then(|| dec_text(s.excess_quantity))
}

/// Add `delta` to an account's running realized net P&L (the `account_summaries` row).
fn adjust_realized(tx: &Tx<'_>, account_id: &str, delta: Money) -> Result<()> {
    if delta.is_zero() {
        return Ok(());
    }
    let current: Option<String> = tx
        .prepare_cached("SELECT realized_net FROM account_summaries WHERE account_id = ?1")?
        .query_row([account_id], |r| r.get(0))
        .optional()?;
    let current = match current {
        Some(c) => Money::parse("realized_net", &c)?,
        None => Money::zero(),
    };
    let next = current.checked_add(delta).ok_or_else(|| StoreError::Invalid {
        field: "net_pnl",
        message: "the account's realized P&L would be too large to compute exactly".into(),
    })?;
    tx.prepare_cached(
        "INSERT INTO account_summaries (account_id, realized_net, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (account_id) DO UPDATE SET realized_net = excluded.realized_net, updated_at = excluded.updated_at",
    )?
    .execute(params![account_id, next.to_canonical(), tx.now])?;
    Ok(())
}

/// An account's realized net P&L over all its live trades (entries' and exits' fees included).
pub fn account_realized(conn: &Connection, account_id: Uuid) -> Result<Money> {
    let v: Option<String> = conn
        .prepare_cached("SELECT realized_net FROM account_summaries WHERE account_id = ?1")?
        .query_row([account_id.to_string()], |r| r.get(0))
        .optional()?;
    Ok(match v {
        Some(v) => Money::parse("realized_net", &v)?,
        None => Money::zero(),
    })
}

/// Set an account's running total to what its trades say (after trades arrived by sync, which writes
/// their summaries directly instead of through [`apply_summary`]).
pub fn reset_account_realized(tx: &Tx<'_>, account_id: Uuid) -> Result<()> {
    let total = recompute_account_realized(tx, account_id)?;
    tx.prepare_cached(
        "INSERT INTO account_summaries (account_id, realized_net, updated_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (account_id) DO UPDATE SET realized_net = excluded.realized_net, updated_at = excluded.updated_at",
    )?
    .execute(params![account_id.to_string(), total.to_canonical(), tx.now])?;
    Ok(())
}

/// Recompute an account's realized net P&L from its trades (what `account_summaries` must hold).
pub fn recompute_account_realized(conn: &Connection, account_id: Uuid) -> Result<Money> {
    let mut stmt = conn.prepare_cached("SELECT net_pnl FROM trades WHERE account_id = ?1 AND deleted = 0")?;
    let rows = stmt.query_map([account_id.to_string()], |r| col(r, 0, Money::parse))?;
    let mut total = Money::zero();
    for m in rows {
        total = total.checked_add(m?).ok_or_else(|| StoreError::corrupt("realized P&L overflows"))?;
    }
    Ok(total)
}

/// A complete trade whose fills are all known (imports): the summary is computed once by the caller and
/// every row is inserted in its final form, with no updates afterwards.
#[derive(Debug, Clone)]
pub struct ImportedTrade<'a> {
    pub trade: &'a NewTrade,
    /// Fills with the ids the summary was computed with.
    pub fills: &'a [Fill],
    pub summary: &'a PositionSummary,
    pub initial_risk: Option<Money>,
    pub r_multiple: Option<Decimal>,
    pub time_zone: &'a str,
}

/// Insert a trade, its initial stop and its executions in final form. Returns the trade id.
pub fn insert_imported(tx: &Tx<'_>, t: &ImportedTrade<'_>, tz: Tz) -> Result<Uuid> {
    let id = tx.new_id();
    insert_imported_as(tx, id, t, tz, None)?;
    Ok(id)
}

/// [`insert_imported`] with the trade's id given and, for broker imports, each fill's provenance
/// (`provenance[i]` describes `t.fills[i]`; fill ids are the row ids).
pub fn insert_imported_as(
    tx: &Tx<'_>,
    id: Uuid,
    t: &ImportedTrade<'_>,
    tz: Tz,
    provenance: Option<&[crate::imports::Provenance]>,
) -> Result<()> {
    if provenance.is_some_and(|p| p.len() != t.fills.len()) {
        return Err(StoreError::corrupt("imported trade: one provenance per fill"));
    }
    let s = t.summary;
    let closed = s.status == TradeStatus::Closed;
    let days = trenddojo_domain::trade::exit_days(&s.exits, tz)?;
    tx.prepare_cached(
        "INSERT INTO trades (id, user_id, account_id, symbol, direction, status, multiplier, planned_entry, \
         planned_quantity, initial_stop, current_stop, setup, correlation_group, entered_quantity, open_quantity, \
         avg_entry_price, avg_exit_price, gross_pnl, fees, net_pnl, initial_risk, r_multiple, opened_at, closed_at, \
         exit_days, created_at, updated_at, updated_hlc, excess_quantity, review) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
         ?9, ?10, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?25, ?26, ?27, ?28)",
    )?
    .execute(params![
        id.to_string(),
        t.trade.user_id.to_string(),
        t.trade.account_id.to_string(),
        t.trade.symbol,
        t.trade.direction.as_str(),
        s.status.as_str(),
        dec_text(t.trade.multiplier),
        t.trade.planned_entry.map(|p| p.to_canonical()),
        t.trade.planned_quantity.map(|q| q.to_canonical()),
        t.trade.initial_stop.map(|p| p.to_canonical()),
        t.trade.setup,
        t.trade.correlation_group,
        dec_text(s.entered_quantity),
        dec_text(s.open_quantity),
        s.avg_entry_price.map(dec_text),
        s.avg_exit_price.map(dec_text),
        s.gross_realized.to_canonical(),
        s.fees.to_canonical(),
        s.net_realized.to_canonical(),
        t.initial_risk.map(|m| m.to_canonical()),
        t.r_multiple.map(dec_text),
        s.opened_at.map(fmt_ts),
        s.closed_at.filter(|_| closed).map(fmt_ts),
        if closed { Some(encode_exit_days(&days)) } else { None },
        tx.now,
        tx.hlc,
        excess_text(s),
        dtrade::review_text(&s.review),
    ])?;
    if let Some(stop) = t.trade.initial_stop {
        insert_stop_row(tx, t.trade.user_id, id, stop, s.opened_at.unwrap_or(tx.at), Some("initial stop"))?;
    }
    let mut stmt = tx.prepare_cached(
        "INSERT INTO executions (id, user_id, account_id, trade_id, side, quantity, price, fees, executed_at, time_zone, \
         realized_gross, realized_net, created_at, updated_at, updated_hlc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14)",
    )?;
    let (user, account, trade) = (t.trade.user_id.to_string(), t.trade.account_id.to_string(), id.to_string());
    if let Some(provenance) = provenance {
        let owner = crate::imports::RowOwner {
            user_id: t.trade.user_id,
            account_id: t.trade.account_id,
            trade_id: id,
            time_zone: t.time_zone,
        };
        for (f, p) in t.fills.iter().zip(provenance) {
            let x = s.exits.iter().find(|x| x.fill_id == f.id);
            let row = crate::imports::ImportRow { fill: f.clone(), provenance: p.clone() };
            crate::imports::insert_row(tx, owner, &row, x.map(|x| (&x.gross, &x.net)))?;
        }
        adjust_realized(tx, &account, s.net_realized)?;
        return Ok(());
    }
    for f in t.fills {
        let x = s.exits.iter().find(|x| x.fill_id == f.id);
        stmt.execute(params![
            f.id.to_string(),
            user,
            account,
            trade,
            f.side.as_str(),
            f.quantity.to_canonical(),
            f.price.to_canonical(),
            f.fees.to_canonical(),
            fmt_ts(f.executed_at),
            t.time_zone,
            x.map(|x| x.gross.to_canonical()),
            x.map(|x| x.net.to_canonical()),
            tx.now,
            tx.hlc
        ])?;
    }
    adjust_realized(tx, &account, s.net_realized)?;
    Ok(())
}

fn insert_stop_row(
    tx: &Tx<'_>,
    user_id: Uuid,
    trade_id: Uuid,
    price: Price,
    at: DateTime<Utc>,
    reason: Option<&str>,
) -> Result<Uuid> {
    let id = tx.new_id();
    tx.prepare_cached(
        "INSERT INTO trade_stop_adjustments (id, user_id, trade_id, price, adjusted_at, reason, created_at, updated_at, \
         updated_hlc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
    )?
    .execute(params![
        id.to_string(),
        user_id.to_string(),
        trade_id.to_string(),
        price.to_canonical(),
        fmt_ts(at),
        reason,
        tx.now,
        tx.hlc
    ])?;
    Ok(id)
}

/// Move a trade's stop, keeping the history. The first stop ever set becomes the initial stop.
pub fn set_stop(tx: &Tx<'_>, trade: &Trade, price: Price, reason: Option<&str>) -> Result<()> {
    insert_stop_row(tx, trade.user_id, trade.id, price, tx.at, reason)?;
    tx.execute(
        "UPDATE trades SET current_stop = ?2, initial_stop = coalesce(initial_stop, ?2), updated_at = ?3, \
         updated_hlc = ?4 WHERE id = ?1",
        params![trade.id.to_string(), price.to_canonical(), tx.now, tx.hlc],
    )?;
    Ok(())
}

/// Correct a trade's initial stop (what its initial risk and R are measured from), keeping the history.
/// The current stop follows when it was still the initial one.
pub fn set_initial_stop(tx: &Tx<'_>, trade: &Trade, price: Price, reason: Option<&str>) -> Result<()> {
    insert_stop_row(tx, trade.user_id, trade.id, price, tx.at, Some(reason.unwrap_or("initial stop corrected")))?;
    tx.execute(
        "UPDATE trades SET initial_stop = ?2, current_stop = CASE WHEN current_stop IS initial_stop THEN ?2 \
         ELSE current_stop END, updated_at = ?3, updated_hlc = ?4 WHERE id = ?1",
        params![trade.id.to_string(), price.to_canonical(), tx.now, tx.hlc],
    )?;
    Ok(())
}

pub fn stop_history(conn: &Connection, trade_id: Uuid) -> Result<Vec<StopAdjustment>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, price, adjusted_at, reason FROM trade_stop_adjustments WHERE trade_id = ?1 AND deleted = 0 \
         ORDER BY adjusted_at, id",
    )?;
    let rows = stmt.query_map([trade_id.to_string()], |r| {
        Ok(StopAdjustment {
            id: col_uuid(r, 0)?,
            price: col(r, 1, Price::parse)?,
            adjusted_at: col_ts(r, 2)?,
            reason: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A new target for a trade: its price, and optionally the quantity to take there and a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTarget {
    pub price: Price,
    pub quantity: Option<Quantity>,
    pub label: Option<String>,
}

/// Replace a trade's targets with `targets`, as one edit: the new rows form a new set and the trade names
/// it (`targets_set`); the rows of the set it replaces are tombstoned. Two devices replacing the targets
/// while apart each make a set; the merge of `trades.targets_set` picks one (and logs the other, which can
/// be restored), instead of showing the union of both lists.
pub fn replace_targets(tx: &Tx<'_>, trade: &Trade, targets: &[NewTarget]) -> Result<Uuid> {
    let trade_id = trade.id.to_string();
    tx.prepare_cached(
        "UPDATE trade_targets SET deleted = 1, updated_at = ?2, updated_hlc = ?3 WHERE trade_id = ?1 AND deleted = 0 \
         AND set_id IS (SELECT targets_set FROM trades WHERE id = ?1)",
    )?
    .execute(params![trade_id, tx.now, tx.hlc])?;
    let set = tx.new_id();
    let mut insert = tx.prepare_cached(
        "INSERT INTO trade_targets (id, user_id, trade_id, price, quantity, label, created_at, updated_at, updated_hlc, \
         set_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)",
    )?;
    for t in targets {
        insert.execute(params![
            tx.new_id().to_string(),
            trade.user_id.to_string(),
            trade_id,
            t.price.to_canonical(),
            t.quantity.map(|q| q.to_canonical()),
            t.label,
            tx.now,
            tx.hlc,
            set.to_string()
        ])?;
    }
    tx.prepare_cached("UPDATE trades SET targets_set = ?2, updated_at = ?3, updated_hlc = ?4 WHERE id = ?1")?
        .execute(params![trade_id, set.to_string(), tx.now, tx.hlc])?;
    Ok(set)
}

/// A trade's current targets: the live rows of the set the trade names (rows written before sets existed
/// have none, and neither had their trades).
pub fn targets(conn: &Connection, trade_id: Uuid) -> Result<Vec<Target>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, price, quantity, label FROM trade_targets WHERE trade_id = ?1 AND deleted = 0 \
         AND set_id IS (SELECT targets_set FROM trades WHERE id = ?1) ORDER BY id",
    )?;
    let rows = stmt.query_map([trade_id.to_string()], |r| {
        Ok(Target {
            id: col_uuid(r, 0)?,
            price: col(r, 1, Price::parse)?,
            quantity: col_opt(r, 2, Quantity::parse)?,
            label: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The targets of a set, live or not (the conflict log shows what a replaced set held).
pub fn target_set(conn: &Connection, set_id: Uuid) -> Result<Vec<Price>> {
    let mut stmt =
        conn.prepare_cached("SELECT price FROM trade_targets WHERE set_id = ?1 ORDER BY price COLLATE decimal, id")?;
    let rows = stmt.query_map([set_id.to_string()], |r| col(r, 0, Price::parse))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Change descriptive fields. `None` leaves a field as it is.
pub fn update_details(
    tx: &Tx<'_>,
    trade_id: Uuid,
    symbol: Option<&str>,
    setup: Option<&str>,
    correlation_group: Option<&str>,
) -> Result<()> {
    tx.execute(
        "UPDATE trades SET symbol = coalesce(?2, symbol), setup = coalesce(?3, setup), \
         correlation_group = coalesce(?4, correlation_group), updated_at = ?5, updated_hlc = ?6 WHERE id = ?1",
        params![trade_id.to_string(), symbol, setup, correlation_group, tx.now, tx.hlc],
    )?;
    Ok(())
}

/// Cancel a planned trade.
pub fn cancel(tx: &Tx<'_>, trade_id: Uuid) -> Result<()> {
    tx.execute(
        "UPDATE trades SET status = 'cancelled', cancelled_at = ?2, updated_at = ?2, updated_hlc = ?3 WHERE id = ?1",
        params![trade_id.to_string(), tx.now, tx.hlc],
    )?;
    Ok(())
}

/// Tombstone a trade and everything that hangs off it.
pub fn soft_delete(tx: &Tx<'_>, trade_id: Uuid) -> Result<()> {
    let id = trade_id.to_string();
    let (account_id, net): (String, String) = tx
        .prepare_cached("SELECT account_id, net_pnl FROM trades WHERE id = ?1 AND deleted = 0")?
        .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    adjust_realized(tx, &account_id, Money::parse("net_pnl", &net)?.checked_neg())?;
    for table in ["executions", "trade_stop_adjustments", "trade_targets", "trade_notes", "trade_checklist_responses"] {
        tx.execute(
            &format!(
                "UPDATE {table} SET deleted = 1, updated_at = ?2, updated_hlc = ?3 WHERE trade_id = ?1 AND deleted = 0"
            ),
            params![id, tx.now, tx.hlc],
        )?;
    }
    tx.execute(
        "UPDATE trades SET deleted = 1, updated_at = ?2, updated_hlc = ?3 WHERE id = ?1",
        params![id, tx.now, tx.hlc],
    )?;
    Ok(())
}

/// Change an execution's recorded fields (`None` keeps a field). The caller recomputes its trade.
#[derive(Debug, Clone, Default)]
pub struct ExecutionChange {
    pub side: Option<Side>,
    pub quantity: Option<Quantity>,
    pub price: Option<Price>,
    pub fees: Option<Fee>,
    pub executed_at: Option<DateTime<Utc>>,
}

impl ExecutionChange {
    pub fn is_empty(&self) -> bool {
        self.side.is_none()
            && self.quantity.is_none()
            && self.price.is_none()
            && self.fees.is_none()
            && self.executed_at.is_none()
    }
}

pub fn update_execution(tx: &Tx<'_>, execution_id: Uuid, c: &ExecutionChange) -> Result<()> {
    tx.execute(
        "UPDATE executions SET side = coalesce(?2, side), quantity = coalesce(?3, quantity), price = coalesce(?4, price), \
         fees = coalesce(?5, fees), executed_at = coalesce(?6, executed_at), updated_at = ?7, updated_hlc = ?8 \
         WHERE id = ?1 AND deleted = 0",
        params![
            execution_id.to_string(),
            c.side.map(|s| s.as_str()),
            c.quantity.map(|q| q.to_canonical()),
            c.price.map(|p| p.to_canonical()),
            c.fees.map(|f| f.to_canonical()),
            c.executed_at.map(fmt_ts),
            tx.now,
            tx.hlc
        ],
    )?;
    Ok(())
}

/// Tombstone one execution. The caller recomputes its trade.
pub fn delete_execution(tx: &Tx<'_>, execution_id: Uuid) -> Result<()> {
    tx.execute(
        "UPDATE executions SET deleted = 1, updated_at = ?2, updated_hlc = ?3 WHERE id = ?1 AND deleted = 0",
        params![execution_id.to_string(), tx.now, tx.hlc],
    )?;
    Ok(())
}

/// An execution of `user_id` by full id or unique id prefix, with the trade it belongs to (which may be
/// deleted: a merge can add a fill to a trade another device deleted).
pub fn resolve_execution(conn: &Connection, user_id: Uuid, input: &str) -> Result<(Execution, Uuid, bool)> {
    let id = crate::resolve_id(
        conn,
        "executions",
        "execution",
        "side || ' ' || quantity || ' @ ' || price",
        user_id,
        input,
    )?;
    conn.prepare_cached(
        "SELECT e.id, e.trade_id, e.side, e.quantity, e.price, e.fees, e.executed_at, e.time_zone, e.realized_gross, \
         e.realized_net, t.deleted FROM executions e JOIN trades t ON t.id = e.trade_id \
         WHERE e.id = ?1 AND e.user_id = ?2 AND e.deleted = 0",
    )?
    .query_row(params![id.to_string(), user_id.to_string()], |r| {
        Ok((map_execution(r)?, col_uuid(r, 1)?, r.get::<_, i64>(10)? != 0))
    })
    .optional()?
    .ok_or_else(|| StoreError::NotFound { what: "execution", id: input.to_string() })
}

/// Move a trade (with its executions and notes) to another account of the same user.
pub fn move_to_account(tx: &Tx<'_>, trade_id: Uuid, account_id: Uuid) -> Result<()> {
    let (id, account) = (trade_id.to_string(), account_id.to_string());
    for table in ["executions", "trade_notes"] {
        tx.execute(
            &format!("UPDATE {table} SET account_id = ?2, updated_at = ?3, updated_hlc = ?4 WHERE trade_id = ?1 AND deleted = 0"),
            params![id, account, tx.now, tx.hlc],
        )?;
    }
    tx.execute(
        "UPDATE trades SET account_id = ?2, updated_at = ?3, updated_hlc = ?4 WHERE id = ?1",
        params![id, account, tx.now, tx.hlc],
    )?;
    Ok(())
}

/// List trades whose rows arrived before their executions (a download that continues in a later
/// transaction): their summaries are the server's until the download's last transaction recomputes them.
pub fn mark_awaiting_download(tx: &Tx<'_>, trades: &[Uuid]) -> Result<()> {
    let mut st = tx.prepare_cached("INSERT OR IGNORE INTO sync_pending_trades (trade_id) VALUES (?1)")?;
    for t in trades {
        st.execute([t.to_string()])?;
    }
    Ok(())
}

/// The download finished and every trade it touched was recomputed.
pub fn clear_awaiting_download(tx: &Tx<'_>) -> Result<()> {
    tx.prepare_cached("DELETE FROM sync_pending_trades")?.execute([])?;
    Ok(())
}

/// Live trades of an account (to recompute them when the account was deleted on another device).
pub fn live_trade_ids(conn: &Connection, account_id: Uuid) -> Result<Vec<Uuid>> {
    let mut stmt = conn.prepare_cached("SELECT id FROM trades WHERE account_id = ?1 AND deleted = 0")?;
    let rows = stmt.query_map([account_id.to_string()], |r| col_uuid(r, 0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Add to an account's running realized total (rows a pull applied directly, without [`apply_summary`]).
pub fn add_realized(tx: &Tx<'_>, account_id: Uuid, delta: Money) -> Result<()> {
    adjust_realized(tx, &account_id.to_string(), delta)
}

/// Record a stop level in a trade's stop history without changing the trade (the trade's stop was set by
/// other means: a restored conflict).
pub fn record_stop(tx: &Tx<'_>, trade_id: Uuid, price: &str, reason: &str) -> Result<()> {
    let user: String = tx
        .prepare_cached("SELECT user_id FROM trades WHERE id = ?1")?
        .query_row([trade_id.to_string()], |r| r.get(0))?;
    let user = Uuid::parse_str(&user).map_err(|_| StoreError::corrupt("bad user id"))?;
    insert_stop_row(tx, user, trade_id, Price::parse("price", price)?, tx.at, Some(reason))?;
    Ok(())
}

/// Trades whose rows arrived in a download that was cut off before it finished: their executions are
/// still on the server, so their summaries are the server's until the next sync completes the download.
pub fn awaiting_download(conn: &Connection) -> Result<std::collections::HashSet<Uuid>> {
    let mut stmt = conn.prepare_cached("SELECT trade_id FROM sync_pending_trades")?;
    let ids = stmt.query_map([], |r| col_uuid(r, 0))?;
    Ok(ids.collect::<std::result::Result<_, _>>()?)
}

/// Live trades of a user that need review, newest first.
pub fn needing_review(conn: &Connection, user_id: Uuid) -> Result<Vec<Trade>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TRADE_COLS} FROM trades WHERE user_id = ?1 AND status = 'needs_review' AND deleted = 0 \
         ORDER BY opened_at DESC, id"
    ))?;
    let rows = stmt.query_map([user_id.to_string()], map_trade)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Live executions of a user whose trade was deleted (one device deleted the trade while another added
/// a fill to it): hidden with the trade, listed so the user can see them and delete them.
pub fn orphan_executions(conn: &Connection, user_id: Uuid) -> Result<Vec<Execution>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, e.trade_id, e.side, e.quantity, e.price, e.fees, e.executed_at, e.time_zone, e.realized_gross, \
         e.realized_net FROM executions e JOIN trades t ON t.id = e.trade_id \
         WHERE e.user_id = ?1 AND e.deleted = 0 AND t.deleted = 1 ORDER BY e.executed_at, e.id",
    )?;
    let rows = stmt.query_map([user_id.to_string()], map_execution)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn get(conn: &Connection, user_id: Uuid, id: Uuid) -> Result<Trade> {
    conn.prepare_cached(&format!("SELECT {TRADE_COLS} FROM trades WHERE id = ?1 AND user_id = ?2 AND deleted = 0"))?
        .query_row(params![id.to_string(), user_id.to_string()], map_trade)
        .optional()?
        .ok_or_else(|| StoreError::NotFound { what: "trade", id: id.to_string() })
}

/// Find a trade by full id or unique id prefix.
pub fn resolve(conn: &Connection, user_id: Uuid, input: &str) -> Result<Trade> {
    let id = crate::resolve_id(conn, "trades", "trade", "symbol", user_id, input)?;
    get(conn, user_id, id)
}

/// Sort orders for the trade list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TradeSort {
    /// Most recently opened first (planned trades, not yet opened, last).
    #[default]
    Newest,
    Oldest,
    /// Best net P&L first (exact decimal order).
    PnlDesc,
    PnlAsc,
    Symbol,
}

/// A filtered, sorted page of trades.
#[derive(Debug, Clone, Default)]
pub struct TradeQuery {
    pub account_id: Option<Uuid>,
    pub status: Option<TradeStatus>,
    pub symbol: Option<String>,
    /// Opened at or after.
    pub from: Option<DateTime<Utc>>,
    /// Opened before.
    pub to: Option<DateTime<Utc>>,
    pub sort: TradeSort,
    pub limit: u32,
    pub offset: u32,
}

pub fn list(conn: &Connection, user_id: Uuid, q: &TradeQuery) -> Result<Vec<Trade>> {
    let mut sql = format!("SELECT {TRADE_COLS} FROM trades WHERE user_id = ?1 AND deleted = 0");
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(user_id.to_string())];
    if let Some(a) = q.account_id {
        args.push(Box::new(a.to_string()));
        let _ = write!(sql, " AND account_id = ?{}", args.len());
    }
    if let Some(s) = q.status {
        args.push(Box::new(s.as_str()));
        let _ = write!(sql, " AND status = ?{}", args.len());
    }
    if let Some(s) = &q.symbol {
        args.push(Box::new(s.clone()));
        let _ = write!(sql, " AND symbol = ?{}", args.len());
    }
    if let Some(t) = q.from {
        args.push(Box::new(fmt_ts(t)));
        let _ = write!(sql, " AND opened_at >= ?{}", args.len());
    }
    if let Some(t) = q.to {
        args.push(Box::new(fmt_ts(t)));
        let _ = write!(sql, " AND opened_at < ?{}", args.len());
    }
    sql.push_str(match q.sort {
        TradeSort::Newest => " ORDER BY opened_at DESC, id DESC",
        TradeSort::Oldest => " ORDER BY opened_at, id",
        TradeSort::PnlDesc => " ORDER BY net_pnl COLLATE decimal DESC, id",
        TradeSort::PnlAsc => " ORDER BY net_pnl COLLATE decimal, id",
        TradeSort::Symbol => " ORDER BY symbol, opened_at DESC, id",
    });
    args.push(Box::new(q.limit));
    let _ = write!(sql, " LIMIT ?{}", args.len());
    args.push(Box::new(q.offset));
    let _ = write!(sql, " OFFSET ?{}", args.len());
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), map_trade)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Trades a user created in `[from, to)` (for the monthly tier limit).
pub fn count_created_between(conn: &Connection, user_id: Uuid, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<u32> {
    Ok(conn.query_row(
        "SELECT count(*) FROM trades WHERE user_id = ?1 AND deleted = 0 AND created_at >= ?2 AND created_at < ?3",
        params![user_id.to_string(), fmt_ts(from), fmt_ts(to)],
        |r| r.get(0),
    )?)
}

/// Open positions of an account as (symbol, correlation group).
pub fn open_positions(conn: &Connection, account_id: Uuid) -> Result<Vec<(String, Option<String>)>> {
    let mut stmt = conn.prepare_cached(
        // Two halves so the common one is answered from the covering `trades_account_open_idx` alone (an OR
        // would scan the table, and so fail on a damaged trades page that no open position lives on).
        "SELECT symbol, correlation_group FROM trades WHERE account_id = ?1 AND deleted = 0 \
         AND status IN ('open', 'partially_closed') \
         UNION ALL SELECT symbol, correlation_group FROM trades WHERE account_id = ?1 AND deleted = 0 \
         AND status = 'needs_review' AND open_quantity <> '0'",
    )?;
    let rows = stmt.query_map([account_id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The account a trade (live or deleted) belongs to, and whether the trade is deleted; `None` when no
/// such trade exists here.
pub fn account_of(conn: &Connection, trade_id: Uuid) -> Result<Option<(Uuid, bool)>> {
    let found: Option<(Uuid, i64)> = conn
        .prepare_cached("SELECT account_id, deleted FROM trades WHERE id = ?1")?
        .query_row([trade_id.to_string()], |r| Ok((col_uuid(r, 0)?, r.get(1)?)))
        .optional()?;
    Ok(found.map(|(a, d)| (a, d != 0)))
}

/// Sum of realized net P&L of an account's exits executed in `[from, to)` (`to: None` = no upper bound).
pub fn realized_between(
    conn: &Connection,
    account_id: Uuid,
    from: DateTime<Utc>,
    to: Option<DateTime<Utc>>,
) -> Result<Money> {
    let mut stmt = conn.prepare_cached(
        "SELECT realized_net FROM executions WHERE account_id = ?1 AND deleted = 0 AND realized_net IS NOT NULL \
         AND executed_at >= ?2 AND executed_at < ?3",
    )?;
    // Stored instants are fixed-width text starting with the year; "9" sorts after all of them.
    let to = to.map_or_else(|| "9".to_string(), fmt_ts);
    let rows = stmt.query_map(params![account_id.to_string(), fmt_ts(from), to], |r| col(r, 0, Money::parse))?;
    // Exits of different trades can add up past 28 digits even when every trade and the account's total
    // fit (entry fees of open trades are in the total but in no exit): that is an amount too large to
    // evaluate a rule with, not damaged data.
    let too_large = || StoreError::Domain(DomainError::Overflow { field: "realized" });
    let mut total = Money::zero();
    for m in rows {
        total = total.checked_add(m?).ok_or_else(too_large)?;
    }
    Ok(total)
}

/// What the statistics need of one closed trade.
#[derive(Debug, Clone)]
pub struct ClosedTradeRow {
    pub id: Uuid,
    pub closed_at: DateTime<Utc>,
    pub net_pnl: Money,
    pub fees: Money,
    pub initial_risk: Option<Money>,
    pub exit_days: Vec<(NaiveDate, Money)>,
}

/// Closed trades of an account with `closed_at` in `[from, to)`, in close order.
pub fn closed_trades(
    conn: &Connection,
    account_id: Uuid,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<ClosedTradeRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, closed_at, net_pnl, fees, initial_risk, exit_days FROM trades \
         WHERE account_id = ?1 AND status = 'closed' AND deleted = 0 AND closed_at >= ?2 AND closed_at < ?3 \
         ORDER BY closed_at, id",
    )?;
    let from = from.map(fmt_ts).unwrap_or_default();
    let to = to.map(fmt_ts).unwrap_or_else(|| "9".to_string());
    let rows = stmt.query_map(params![account_id.to_string(), from, to], |r| {
        Ok((
            ClosedTradeRow {
                id: col_uuid(r, 0)?,
                closed_at: col_ts(r, 1)?,
                net_pnl: col(r, 2, Money::parse)?,
                fees: col(r, 3, Money::parse)?,
                initial_risk: col_opt(r, 4, Money::parse)?,
                exit_days: Vec::new(),
            },
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (mut t, days) = row?;
        t.exit_days = decode_exit_days(days.as_deref().unwrap_or(""), t.net_pnl)?;
        out.push(t);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------------
// The desktop app's trade list: more filters and sorts than `list`, and the number of matching trades (the
// virtualized list needs it to size its scrollbar). Added for the app; `list` above stays the CLI's.
// ---------------------------------------------------------------------------------------------------------

/// Sort orders of the app's trade list (ties broken by id, so pages never overlap or skip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PageSort {
    /// Most recently opened first (planned trades last).
    #[default]
    Newest,
    Oldest,
    /// Best net P&L first (exact decimal order).
    PnlDesc,
    PnlAsc,
    /// Highest R-multiple first; trades without an R last.
    RDesc,
    RAsc,
    Symbol,
}

/// Filters of the app's trade list; every given filter must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageQuery {
    pub account_id: Option<Uuid>,
    /// Any of these statuses (all when empty).
    pub statuses: Vec<TradeStatus>,
    /// Symbols starting with this text.
    pub symbol_prefix: Option<String>,
    pub direction: Option<Direction>,
    /// The setup (the trade's tag), exactly.
    pub setup: Option<String>,
    /// Opened at or after.
    pub from: Option<DateTime<Utc>>,
    /// Opened before.
    pub to: Option<DateTime<Utc>>,
    pub sort: PageSort,
    pub limit: u32,
    pub offset: u32,
}

/// One page of the app's trade list and how many trades match in all, computed in SQL. The app reads the
/// list through `Store::trade_page` (an in-memory index, see the `trade_list` module); this form is the
/// reference its tests compare it with, query by query, and the floor its benchmark measures against.
pub fn page(conn: &Connection, user_id: Uuid, q: &PageQuery) -> Result<(u64, Vec<Trade>)> {
    let mut filter = String::from(" WHERE user_id = ?1 AND deleted = 0");
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(user_id.to_string())];
    if let Some(a) = q.account_id {
        args.push(Box::new(a.to_string()));
        let _ = write!(filter, " AND account_id = ?{}", args.len());
    }
    if !q.statuses.is_empty() {
        let mut marks = Vec::new();
        for s in &q.statuses {
            args.push(Box::new(s.as_str()));
            marks.push(format!("?{}", args.len()));
        }
        let _ = write!(filter, " AND status IN ({})", marks.join(", "));
    }
    if let Some(p) = q.symbol_prefix.as_ref().filter(|p| !p.is_empty()) {
        // A range on the symbol (binary order) is the prefix match, with no escaping of LIKE wildcards.
        args.push(Box::new(p.clone()));
        let _ = write!(filter, " AND symbol >= ?{}", args.len());
        args.push(Box::new(format!("{p}\u{10FFFF}")));
        let _ = write!(filter, " AND symbol < ?{}", args.len());
    }
    if let Some(d) = q.direction {
        args.push(Box::new(d.as_str()));
        let _ = write!(filter, " AND direction = ?{}", args.len());
    }
    if let Some(s) = &q.setup {
        args.push(Box::new(s.clone()));
        let _ = write!(filter, " AND setup = ?{}", args.len());
    }
    if let Some(t) = q.from {
        args.push(Box::new(fmt_ts(t)));
        let _ = write!(filter, " AND opened_at >= ?{}", args.len());
    }
    if let Some(t) = q.to {
        args.push(Box::new(fmt_ts(t)));
        let _ = write!(filter, " AND opened_at < ?{}", args.len());
    }
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM trades{filter}"))?
        .query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
    let order = match q.sort {
        PageSort::Newest => " ORDER BY opened_at DESC, id DESC",
        PageSort::Oldest => " ORDER BY opened_at IS NULL, opened_at, id",
        PageSort::PnlDesc => " ORDER BY net_pnl COLLATE decimal DESC, id",
        PageSort::PnlAsc => " ORDER BY net_pnl COLLATE decimal, id",
        PageSort::RDesc => " ORDER BY r_multiple IS NULL, r_multiple COLLATE decimal DESC, id",
        PageSort::RAsc => " ORDER BY r_multiple IS NULL, r_multiple COLLATE decimal, id",
        PageSort::Symbol => " ORDER BY symbol, opened_at DESC, id",
    };
    args.push(Box::new(q.limit));
    let limit_at = args.len();
    args.push(Box::new(q.offset));
    let sql = format!("SELECT {TRADE_COLS} FROM trades{filter}{order} LIMIT ?{limit_at} OFFSET ?{}", args.len());
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), map_trade)?;
    Ok((u64::try_from(total).unwrap_or(0), rows.collect::<Result<_, _>>()?))
}

/// The distinct setups (tags) of a user's live trades, for the trade list's filter.
pub fn setups(conn: &Connection, user_id: Uuid) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT setup FROM trades WHERE user_id = ?1 AND deleted = 0 AND setup IS NOT NULL ORDER BY setup",
    )?;
    let rows = stmt.query_map([user_id.to_string()], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Trades of an account that hold an open position (open, partially closed, or in review with quantity
/// still open), oldest first.
pub fn open_trades(conn: &Connection, account_id: Uuid) -> Result<Vec<Trade>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TRADE_COLS} FROM trades WHERE account_id = ?1 AND deleted = 0 \
         AND (status IN ('open', 'partially_closed') OR (status = 'needs_review' AND open_quantity <> '0')) \
         ORDER BY opened_at, id"
    ))?;
    let rows = stmt.query_map([account_id.to_string()], map_trade)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_days_round_trip() {
        let mut days = BTreeMap::new();
        days.insert(NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(), Money::parse("x", "-12.5").unwrap());
        days.insert(NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(), Money::parse("x", "100").unwrap());
        let s = encode_exit_days(&days);
        assert_eq!(s, "2026-03-08=-12.5;2026-03-09=100", "compact, ascending, canonical amounts");
        let back = decode_exit_days(&s, Money::parse("x", "87.5").unwrap()).unwrap();
        assert_eq!(back, days.into_iter().collect::<Vec<_>>(), "decoding gives the same pairs");
        let mut one = BTreeMap::new();
        one.insert(NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(), Money::parse("x", "-3").unwrap());
        assert_eq!(encode_exit_days(&one), "2026-03-08", "a single day needs no amount");
        assert_eq!(
            decode_exit_days("2026-03-08", Money::parse("x", "-3").unwrap()).unwrap(),
            one.into_iter().collect::<Vec<_>>(),
            "the single day's amount is the trade's net"
        );
    }
}
