//! Broker imports: where each imported fill came from, the batches that brought them, saved mappings.
//!
//! An imported fill is an ordinary `executions` row plus provenance columns ([`Provenance`]), so every
//! computation (summaries, statistics, sync) treats it like a typed fill, and a trade may mix both. The
//! use case (`trenddojo-core`'s imports service) decides what is new, duplicate, corrected or cancelled
//! and how fills group into trades; this module only reads and writes rows, each function with its SQL.
//!
//! Undo goes through sync, where a tombstone is final, so it never revives a row: a correction keeps the
//! values it replaced in `replaced` (JSON) and undo writes them back; a cancelled fill is brought back as a
//! new row. See `migrations/local/up/V9__broker_imports.sql`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use trenddojo_domain::money::{Fee, Price, Quantity};
use trenddojo_domain::trade::{Fill, Side};

use crate::clock::fmt_ts;
use crate::db::Tx;
use std::sync::Arc;

use crate::error::{Result, StoreError};
use crate::sql::{col, col_dec_opt, col_enum, col_ts, col_ts_opt, col_uuid, dec_text};

/// What an imported fill keeps about where it came from (see the module docs). The values that repeat
/// across a statement's fills (broker, account, instrument, currency, zone) are shared `Arc<str>`: an
/// import plan holds one of these per new fill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub import_batch_id: Uuid,
    pub broker: Arc<str>,
    pub broker_account: Arc<str>,
    pub broker_exec_id: Option<String>,
    pub order_id: Option<String>,
    pub asset_class: Arc<str>,
    pub instrument_key: Arc<str>,
    pub underlying: Option<Arc<str>>,
    /// `YYYY-MM-DD`.
    pub expiry: Option<Arc<str>>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub strike: Option<Decimal>,
    /// `C` or `P`.
    pub option_right: Option<Arc<str>>,
    pub future_root: Option<Arc<str>>,
    /// `YYYY-MM`.
    pub contract_month: Option<Arc<str>>,
    #[serde(with = "rust_decimal::serde::str")]
    pub multiplier: Decimal,
    pub currency: Arc<str>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub commission: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub exchange_fee: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub regulatory_fee: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub other_fee: Option<Decimal>,
    /// The time as the file wrote it.
    pub raw_time: String,
    /// The zone `raw_time` was read in.
    pub statement_tz: Arc<str>,
    pub source_line: u64,
    pub fingerprint: String,
    pub dedupe_key: String,
}

/// One row to insert: the fill (its id is the row id) and where it came from.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub fill: Fill,
    pub provenance: Provenance,
}

const INSERT_ROW: &str = "INSERT INTO executions (id, user_id, account_id, trade_id, side, quantity, price, fees, \
    executed_at, time_zone, realized_gross, realized_net, created_at, updated_at, updated_hlc, import_batch_id, broker, \
    broker_account, broker_exec_id, order_id, asset_class, instrument_key, underlying, expiry, strike, option_right, \
    future_root, contract_month, multiplier, currency, commission, exchange_fee, regulatory_fee, other_fee, raw_time, \
    statement_tz, source_line, fingerprint, dedupe_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
    ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, \
    ?36, ?37, ?38)";

/// The account-level facts every inserted row carries.
#[derive(Debug, Clone, Copy)]
pub struct RowOwner<'a> {
    pub user_id: Uuid,
    pub account_id: Uuid,
    pub trade_id: Uuid,
    /// The account's zone (what `executions.time_zone` holds for every fill of the account).
    pub time_zone: &'a str,
}

/// Insert one imported fill, with its realized amounts when it is an exit whose summary is known. A fill
/// typed by hand (empty `dedupe_key`: a regrouping moved it) is written without provenance.
pub fn insert_row(
    tx: &Tx<'_>,
    owner: RowOwner<'_>,
    row: &ImportRow,
    realized: Option<(&trenddojo_domain::money::Money, &trenddojo_domain::money::Money)>,
) -> Result<()> {
    let (f, p) = (&row.fill, &row.provenance);
    if p.dedupe_key.is_empty() {
        // A fill typed by hand (moved between trades by a regrouping): no provenance to write.
        tx.prepare_cached(
            "INSERT INTO executions (id, user_id, account_id, trade_id, side, quantity, price, fees, executed_at, \
             time_zone, realized_gross, realized_net, created_at, updated_at, updated_hlc) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14)",
        )?
        .execute(params![
            f.id.to_string(),
            owner.user_id.to_string(),
            owner.account_id.to_string(),
            owner.trade_id.to_string(),
            f.side.as_str(),
            f.quantity.to_canonical(),
            f.price.to_canonical(),
            f.fees.to_canonical(),
            fmt_ts(f.executed_at),
            owner.time_zone,
            realized.map(|(g, _)| g.to_canonical()),
            realized.map(|(_, n)| n.to_canonical()),
            tx.now,
            tx.hlc,
        ])?;
        return Ok(());
    }
    tx.prepare_cached(INSERT_ROW)?.execute(params![
        f.id.to_string(),
        owner.user_id.to_string(),
        owner.account_id.to_string(),
        owner.trade_id.to_string(),
        f.side.as_str(),
        f.quantity.to_canonical(),
        f.price.to_canonical(),
        f.fees.to_canonical(),
        fmt_ts(f.executed_at),
        owner.time_zone,
        realized.map(|(g, _)| g.to_canonical()),
        realized.map(|(_, n)| n.to_canonical()),
        tx.now,
        tx.hlc,
        p.import_batch_id.to_string(),
        p.broker,
        p.broker_account,
        p.broker_exec_id,
        p.order_id,
        p.asset_class,
        p.instrument_key,
        p.underlying,
        p.expiry,
        p.strike.map(dec_text),
        p.option_right,
        p.future_root,
        p.contract_month,
        dec_text(p.multiplier),
        p.currency,
        p.commission.map(dec_text),
        p.exchange_fee.map(dec_text),
        p.regulatory_fee.map(dec_text),
        p.other_fee.map(dec_text),
        p.raw_time,
        p.statement_tz,
        i64::try_from(p.source_line).unwrap_or(i64::MAX),
        p.fingerprint,
        p.dedupe_key,
    ])?;
    Ok(())
}

const PROVENANCE_COLS: &str = "e.import_batch_id, e.broker, e.broker_account, e.broker_exec_id, e.order_id, \
    e.asset_class, e.instrument_key, e.underlying, e.expiry, e.strike, e.option_right, e.future_root, \
    e.contract_month, e.multiplier, e.currency, e.commission, e.exchange_fee, e.regulatory_fee, e.other_fee, \
    e.raw_time, e.statement_tz, e.source_line, e.fingerprint, e.dedupe_key";

/// One copy of each repeated text read with a batch of fills (broker, account, instrument, currency, zone):
/// an undo or a regrouping reads every fill of the trades it touches, 100,000 of them for a large import.
#[derive(Default)]
struct SharedText(std::collections::HashSet<Arc<str>>);

impl SharedText {
    fn get(&mut self, s: Option<String>) -> Option<Arc<str>> {
        let s = s?;
        if let Some(x) = self.0.get(s.as_str()) {
            return Some(x.clone());
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(a.clone());
        Some(a)
    }

    fn get_or_empty(&mut self, s: Option<String>) -> Arc<str> {
        self.get(Some(s.unwrap_or_default())).unwrap_or_else(|| Arc::from(""))
    }
}

/// Read the provenance columns starting at `at` (see [`PROVENANCE_COLS`]); `None` for a typed fill.
fn map_provenance(r: &rusqlite::Row<'_>, at: usize, shared: &mut SharedText) -> rusqlite::Result<Option<Provenance>> {
    let Some(batch) = r.get::<_, Option<String>>(at)? else { return Ok(None) };
    let bad = |what: &str| {
        rusqlite::Error::FromSqlConversionFailure(at, rusqlite::types::Type::Text, format!("bad {what}").into())
    };
    Ok(Some(Provenance {
        import_batch_id: Uuid::parse_str(&batch).map_err(|_| bad("import_batch_id"))?,
        broker: shared.get_or_empty(r.get(at + 1)?),
        broker_account: shared.get_or_empty(r.get(at + 2)?),
        broker_exec_id: r.get(at + 3)?,
        order_id: r.get(at + 4)?,
        asset_class: shared.get_or_empty(r.get(at + 5)?),
        instrument_key: shared.get_or_empty(r.get(at + 6)?),
        underlying: shared.get(r.get(at + 7)?),
        expiry: shared.get(r.get(at + 8)?),
        strike: col_dec_opt(r, at + 9)?,
        option_right: shared.get(r.get(at + 10)?),
        future_root: shared.get(r.get(at + 11)?),
        contract_month: shared.get(r.get(at + 12)?),
        multiplier: col_dec_opt(r, at + 13)?.unwrap_or(Decimal::ONE),
        currency: shared.get_or_empty(r.get(at + 14)?),
        commission: col_dec_opt(r, at + 15)?,
        exchange_fee: col_dec_opt(r, at + 16)?,
        regulatory_fee: col_dec_opt(r, at + 17)?,
        other_fee: col_dec_opt(r, at + 18)?,
        raw_time: r.get::<_, Option<String>>(at + 19)?.unwrap_or_default(),
        statement_tz: shared.get_or_empty(r.get(at + 20)?),
        source_line: u64::try_from(r.get::<_, Option<i64>>(at + 21)?.unwrap_or(0)).unwrap_or(0),
        fingerprint: r.get::<_, Option<String>>(at + 22)?.unwrap_or_default(),
        dedupe_key: r.get::<_, Option<String>>(at + 23)?.unwrap_or_default(),
    }))
}

/// A live fill as regrouping sees it: the fill, its trade, and its provenance (`None` when typed by hand).
#[derive(Debug, Clone)]
pub struct StoredFill {
    pub fill: Fill,
    pub trade_id: Uuid,
    pub provenance: Option<Provenance>,
    /// The batch that corrected it and the values it replaced (JSON), if any.
    pub corrected_by_batch: Option<Uuid>,
    pub replaced: Option<String>,
}

fn map_stored(r: &rusqlite::Row<'_>, shared: &mut SharedText) -> rusqlite::Result<StoredFill> {
    Ok(StoredFill {
        fill: Fill {
            id: col_uuid(r, 0)?,
            side: col_enum(r, 1)?,
            quantity: col(r, 2, Quantity::parse)?,
            price: col(r, 3, Price::parse)?,
            fees: col(r, 4, Fee::parse)?,
            executed_at: col_ts(r, 5)?,
        },
        trade_id: col_uuid(r, 6)?,
        corrected_by_batch: r.get::<_, Option<String>>(7)?.and_then(|s| Uuid::parse_str(&s).ok()),
        replaced: r.get(8)?,
        provenance: map_provenance(r, 9, shared)?,
    })
}

/// Every live fill of `trades` (imported or typed), in execution order.
pub fn fills_of_trades(conn: &Connection, trades: &[Uuid]) -> Result<Vec<StoredFill>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT e.id, e.side, e.quantity, e.price, e.fees, e.executed_at, e.trade_id, e.corrected_by_batch, e.replaced, \
         {PROVENANCE_COLS} FROM executions e WHERE e.trade_id = ?1 AND e.deleted = 0 ORDER BY e.executed_at, e.id"
    ))?;
    let mut out = Vec::new();
    let mut shared = SharedText::default();
    for t in trades {
        for row in stmt.query_map([t.to_string()], |r| map_stored(r, &mut shared))? {
            out.push(row?);
        }
    }
    out.sort_by_key(|a| (a.fill.executed_at, a.fill.id));
    Ok(out)
}

/// Where each imported fill of a trade came from, by execution id (fills typed by hand are left out).
pub fn sources_of_trade(conn: &Connection, trade_id: Uuid) -> Result<std::collections::BTreeMap<Uuid, Provenance>> {
    let mut out = std::collections::BTreeMap::new();
    for f in fills_of_trades(conn, &[trade_id])? {
        if let Some(p) = f.provenance {
            out.insert(f.fill.id, p);
        }
    }
    Ok(out)
}

/// Live trades of an account holding imported fills of one broker account and instrument that are still
/// open, or closed at or after `from`: the trades a new fill at `from` can change. Fills restored from
/// TrendDojo's own export keep the grouping they were exported with and are never regrouped.
pub fn trades_touching(
    conn: &Connection,
    account_id: Uuid,
    broker_account: &str,
    instrument_key: &str,
    from: DateTime<Utc>,
) -> Result<Vec<Uuid>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT e.trade_id FROM executions e JOIN trades t ON t.id = e.trade_id \
         WHERE e.account_id = ?1 AND e.instrument_key = ?2 AND e.deleted = 0 AND e.broker_account = ?3 \
         AND e.broker <> 'trenddojo' AND t.deleted = 0 AND (t.closed_at IS NULL OR t.closed_at >= ?4) \
         ORDER BY e.trade_id",
    )?;
    let rows = stmt
        .query_map(params![account_id.to_string(), instrument_key, broker_account, fmt_ts(from)], |r| col_uuid(r, 0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What the store holds under one dedupe key.
#[derive(Debug, Clone, Default)]
pub struct KeyRows {
    /// Live rows (a fill that flipped a position is two rows, one per trade), oldest part first.
    pub live: Vec<LiveKeyRow>,
    /// Tombstoned rows under the key (their ids are taken).
    pub dead: u32,
}

#[derive(Debug, Clone)]
pub struct LiveKeyRow {
    pub id: Uuid,
    pub trade_id: Uuid,
    pub broker_exec_id: Option<String>,
    pub executed_at: DateTime<Utc>,
    pub side: Side,
    pub quantity: Quantity,
}

/// Every dedupe key of an account with its rows (one pass over the account's imported fills).
pub fn keys_of_account(conn: &Connection, account_id: Uuid) -> Result<HashMap<String, KeyRows>> {
    let mut stmt = conn.prepare_cached(
        "SELECT dedupe_key, id, deleted, trade_id, broker_exec_id, executed_at, side, quantity FROM executions \
         WHERE account_id = ?1 AND dedupe_key IS NOT NULL ORDER BY dedupe_key, id",
    )?;
    let mut rows = stmt.query([account_id.to_string()])?;
    let mut out: HashMap<String, KeyRows> = HashMap::new();
    while let Some(r) = rows.next()? {
        let key: String = r.get(0)?;
        let entry = out.entry(key).or_default();
        if r.get::<_, i64>(2)? != 0 {
            entry.dead = entry.dead.saturating_add(1);
            continue;
        }
        entry.live.push(LiveKeyRow {
            id: col_uuid(r, 1)?,
            trade_id: col_uuid(r, 3)?,
            broker_exec_id: r.get(4)?,
            executed_at: col_ts(r, 5)?,
            side: col_enum(r, 6)?,
            quantity: col(r, 7, Quantity::parse)?,
        });
    }
    Ok(out)
}

/// Whether an execution row with this id exists (live or not): ids derived from a key must be free.
pub fn execution_exists(conn: &Connection, id: Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM executions WHERE id = ?1")?
        .query_row([id.to_string()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Whether a live execution with this id belongs to `account_id` (TrendDojo files carry the exporting
/// store's ids: re-importing an export into the same store finds its fills here).
pub fn live_execution_in(conn: &Connection, account_id: Uuid, id: Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM executions WHERE id = ?1 AND account_id = ?2 AND deleted = 0")?
        .query_row(params![id.to_string(), account_id.to_string()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Whether a trade row with this id exists (live or not).
pub fn trade_exists(conn: &Connection, id: Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM trades WHERE id = ?1")?
        .query_row([id.to_string()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Move a fill to another trade.
pub fn set_trade(tx: &Tx<'_>, execution_id: Uuid, trade_id: Uuid) -> Result<()> {
    tx.prepare_cached("UPDATE executions SET trade_id = ?2, updated_at = ?3, updated_hlc = ?4 WHERE id = ?1")?
        .execute(params![execution_id.to_string(), trade_id.to_string(), tx.now, tx.hlc])?;
    Ok(())
}

/// The values of a fill a correction changes (what `replaced` keeps, and what undo writes back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Corrected {
    pub side: Side,
    pub quantity: Quantity,
    pub price: Price,
    pub fees: Fee,
    pub executed_at: DateTime<Utc>,
    pub provenance: Provenance,
}

/// Write a corrected version over a fill. `replaced` is what it held before (JSON of [`Corrected`]) and
/// `batch` the batch that corrected it; `None` for both when undo writes the old values back. A fill typed
/// by hand (empty `dedupe_key`) only has its values written.
pub fn write_correction(
    tx: &Tx<'_>,
    execution_id: Uuid,
    c: &Corrected,
    batch: Option<Uuid>,
    replaced: Option<&str>,
) -> Result<()> {
    let p = &c.provenance;
    if p.dedupe_key.is_empty() {
        // A fill typed by hand: only its values change.
        tx.prepare_cached(
            "UPDATE executions SET side = ?2, quantity = ?3, price = ?4, fees = ?5, executed_at = ?6, updated_at = ?7, \
             updated_hlc = ?8 WHERE id = ?1",
        )?
        .execute(params![
            execution_id.to_string(),
            c.side.as_str(),
            c.quantity.to_canonical(),
            c.price.to_canonical(),
            c.fees.to_canonical(),
            fmt_ts(c.executed_at),
            tx.now,
            tx.hlc,
        ])?;
        return Ok(());
    }
    tx.prepare_cached(
        "UPDATE executions SET side = ?2, quantity = ?3, price = ?4, fees = ?5, executed_at = ?6, import_batch_id = ?7, \
         broker_exec_id = ?8, order_id = ?9, commission = ?10, exchange_fee = ?11, regulatory_fee = ?12, other_fee = ?13, \
         raw_time = ?14, statement_tz = ?15, source_line = ?16, fingerprint = ?17, corrected_by_batch = ?18, \
         replaced = ?19, updated_at = ?20, updated_hlc = ?21 WHERE id = ?1",
    )?
    .execute(params![
        execution_id.to_string(),
        c.side.as_str(),
        c.quantity.to_canonical(),
        c.price.to_canonical(),
        c.fees.to_canonical(),
        fmt_ts(c.executed_at),
        p.import_batch_id.to_string(),
        p.broker_exec_id,
        p.order_id,
        p.commission.map(dec_text),
        p.exchange_fee.map(dec_text),
        p.regulatory_fee.map(dec_text),
        p.other_fee.map(dec_text),
        p.raw_time,
        p.statement_tz,
        i64::try_from(p.source_line).unwrap_or(i64::MAX),
        p.fingerprint,
        batch.map(|b| b.to_string()),
        replaced,
        tx.now,
        tx.hlc,
    ])?;
    Ok(())
}

/// Tombstone a fill; `removed_by` names the batch that cancelled it (so undo can bring it back).
pub fn remove_fill(tx: &Tx<'_>, execution_id: Uuid, removed_by: Option<Uuid>) -> Result<()> {
    tx.prepare_cached(
        "UPDATE executions SET deleted = 1, removed_by_batch = coalesce(?2, removed_by_batch), updated_at = ?3, \
         updated_hlc = ?4 WHERE id = ?1 AND deleted = 0",
    )?
    .execute(params![execution_id.to_string(), removed_by.map(|b| b.to_string()), tx.now, tx.hlc])?;
    Ok(())
}

/// Fills a batch inserted that are still live.
pub fn live_fills_of_batch(conn: &Connection, batch: Uuid) -> Result<Vec<StoredFill>> {
    fills_where(conn, "e.import_batch_id = ?1 AND e.deleted = 0 AND e.corrected_by_batch IS NOT ?1", batch)
}

/// Live fills a batch corrected (their `replaced` holds the values before).
pub fn fills_corrected_by(conn: &Connection, batch: Uuid) -> Result<Vec<StoredFill>> {
    fills_where(conn, "e.corrected_by_batch = ?1 AND e.deleted = 0", batch)
}

/// Fills a batch cancelled (tombstoned).
pub fn fills_removed_by(conn: &Connection, batch: Uuid) -> Result<Vec<StoredFill>> {
    fills_where(conn, "e.removed_by_batch = ?1", batch)
}

fn fills_where(conn: &Connection, filter: &str, batch: Uuid) -> Result<Vec<StoredFill>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT e.id, e.side, e.quantity, e.price, e.fees, e.executed_at, e.trade_id, e.corrected_by_batch, e.replaced, \
         {PROVENANCE_COLS} FROM executions e WHERE {filter} ORDER BY e.executed_at, e.id"
    ))?;
    let mut shared = SharedText::default();
    let rows = stmt.query_map([batch.to_string()], |r| map_stored(r, &mut shared))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Move a trade's notes to another trade (two trades an import merged into one keep their notes).
pub fn move_notes(tx: &Tx<'_>, from: Uuid, to: Uuid) -> Result<()> {
    tx.prepare_cached(
        "UPDATE trade_notes SET trade_id = ?2, updated_at = ?3, updated_hlc = ?4 WHERE trade_id = ?1 AND deleted = 0",
    )?
    .execute(params![from.to_string(), to.to_string(), tx.now, tx.hlc])?;
    Ok(())
}

/// Set what regrouping decided about a reused trade: its direction, symbol and multiplier.
pub fn reshape_trade(tx: &Tx<'_>, trade_id: Uuid, direction: &str, symbol: &str, multiplier: Decimal) -> Result<()> {
    tx.prepare_cached(
        "UPDATE trades SET direction = ?2, symbol = ?3, multiplier = ?4, updated_at = ?5, updated_hlc = ?6 \
         WHERE id = ?1 AND (direction IS NOT ?2 OR symbol IS NOT ?3 OR multiplier IS NOT ?4)",
    )?
    .execute(params![trade_id.to_string(), direction, symbol, dec_text(multiplier), tx.now, tx.hlc])?;
    Ok(())
}

/// A confirmed import.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportBatch {
    pub id: Uuid,
    pub account_id: Uuid,
    pub file_name: String,
    pub file_sha256: String,
    pub format: String,
    pub parser_version: u32,
    pub statement_tz: String,
    pub new_count: u64,
    pub duplicate_count: u64,
    pub corrected_count: u64,
    pub cancelled_count: u64,
    pub rejected_count: u64,
    pub skipped_count: u64,
    pub trades_created: u64,
    pub trades_changed: u64,
    pub confirmed_by: String,
    pub confirmed_at: DateTime<Utc>,
    pub undone_by: Option<String>,
    pub undone_at: Option<DateTime<Utc>>,
}

/// A new batch row (its counts are known before any fill is written: the plan comes first).
#[derive(Debug, Clone)]
pub struct NewBatch<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub batch: &'a ImportBatch,
}

pub fn insert_batch(tx: &Tx<'_>, b: &NewBatch<'_>) -> Result<()> {
    let x = b.batch;
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "INSERT INTO import_batches (id, user_id, account_id, file_name, file_sha256, format, parser_version, \
         statement_tz, new_count, duplicate_count, corrected_count, cancelled_count, rejected_count, skipped_count, \
         trades_created, trades_changed, confirmed_by, confirmed_at, created_at, updated_at, updated_hlc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18, ?18, ?19)",
    )?
    .execute(params![
        b.id.to_string(),
        b.user_id.to_string(),
        x.account_id.to_string(),
        x.file_name,
        x.file_sha256,
        x.format,
        x.parser_version,
        x.statement_tz,
        n(x.new_count),
        n(x.duplicate_count),
        n(x.corrected_count),
        n(x.cancelled_count),
        n(x.rejected_count),
        n(x.skipped_count),
        n(x.trades_created),
        n(x.trades_changed),
        x.confirmed_by,
        tx.now,
        tx.hlc,
    ])?;
    Ok(())
}

const BATCH_COLS: &str = "id, account_id, file_name, file_sha256, format, parser_version, statement_tz, new_count, \
    duplicate_count, corrected_count, cancelled_count, rejected_count, skipped_count, trades_created, trades_changed, \
    confirmed_by, confirmed_at, undone_by, undone_at";

fn map_batch(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImportBatch> {
    let count = |i: usize| -> rusqlite::Result<u64> { Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0)) };
    Ok(ImportBatch {
        id: col_uuid(r, 0)?,
        account_id: col_uuid(r, 1)?,
        file_name: r.get(2)?,
        file_sha256: r.get(3)?,
        format: r.get(4)?,
        parser_version: u32::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
        statement_tz: r.get(6)?,
        new_count: count(7)?,
        duplicate_count: count(8)?,
        corrected_count: count(9)?,
        cancelled_count: count(10)?,
        rejected_count: count(11)?,
        skipped_count: count(12)?,
        trades_created: count(13)?,
        trades_changed: count(14)?,
        confirmed_by: r.get(15)?,
        confirmed_at: col_ts(r, 16)?,
        undone_by: r.get(17)?,
        undone_at: col_ts_opt(r, 18)?,
    })
}

/// A user's imports, newest first (optionally of one account).
pub fn list_batches(conn: &Connection, user_id: Uuid, account_id: Option<Uuid>) -> Result<Vec<ImportBatch>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {BATCH_COLS} FROM import_batches WHERE user_id = ?1 AND deleted = 0 \
         AND (?2 IS NULL OR account_id = ?2) ORDER BY confirmed_at DESC, id DESC"
    ))?;
    let rows = stmt.query_map(params![user_id.to_string(), account_id.map(|a| a.to_string())], map_batch)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A batch by full id or unique id prefix.
pub fn resolve_batch(conn: &Connection, user_id: Uuid, input: &str) -> Result<ImportBatch> {
    let id = crate::resolve_id(conn, "import_batches", "import", "file_name", user_id, input)?;
    conn.prepare_cached(&format!(
        "SELECT {BATCH_COLS} FROM import_batches WHERE id = ?1 AND user_id = ?2 AND deleted = 0"
    ))?
    .query_row(params![id.to_string(), user_id.to_string()], map_batch)
    .optional()?
    .ok_or_else(|| StoreError::NotFound { what: "import", id: input.to_string() })
}

/// Earlier live imports of the same file into an account (same sha256), newest first.
pub fn batches_of_file(conn: &Connection, account_id: Uuid, sha256: &str) -> Result<Vec<ImportBatch>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {BATCH_COLS} FROM import_batches WHERE account_id = ?1 AND file_sha256 = ?2 AND deleted = 0 \
         ORDER BY confirmed_at DESC"
    ))?;
    let rows = stmt.query_map(params![account_id.to_string(), sha256], map_batch)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Record that a batch was undone, and by whom.
pub fn mark_undone(tx: &Tx<'_>, batch: Uuid, by: &str) -> Result<()> {
    tx.prepare_cached(
        "UPDATE import_batches SET undone_by = ?2, undone_at = ?3, updated_at = ?3, updated_hlc = ?4 \
         WHERE id = ?1 AND undone_at IS NULL",
    )?
    .execute(params![batch.to_string(), by, tx.now, tx.hlc])?;
    Ok(())
}

/// Save (or replace) a named column mapping for generic files.
pub fn save_mapping(tx: &Tx<'_>, user_id: Uuid, name: &str, mapping_json: &str) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO import_mappings (user_id, name, mapping, updated_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (user_id, name) DO UPDATE SET mapping = excluded.mapping, updated_at = excluded.updated_at",
    )?
    .execute(params![user_id.to_string(), name, mapping_json, tx.now])?;
    Ok(())
}

/// A saved mapping's JSON by name.
pub fn mapping(conn: &Connection, user_id: Uuid, name: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT mapping FROM import_mappings WHERE user_id = ?1 AND name = ?2")?
        .query_row(params![user_id.to_string(), name], |r| r.get(0))
        .optional()?)
}
