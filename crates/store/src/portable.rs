//! The open export formats: the full-fidelity JSON export (`trenddojo export --format json`, read back
//! by `trenddojo import-backup`) and the rows of the executions CSV (`trenddojo-v1`).
//!
//! This module owns the SQL: reading every live row of the trader's tables, and inserting rows in final
//! form with the ids and creation times they had. Parsing and validating an export file, and recomputing
//! the derived trade data from the executions, is the core's job (`Journal::import_backup`); what it hands
//! here is already validated.
//!
//! The JSON is versioned (`"format": "trenddojo-export", "version": 1`) and documented in
//! docs/backups.md. Every number is canonical decimal text, every instant fixed-width RFC 3339 UTC with
//! microseconds, exactly as stored: nothing passes through a float. A trade's summary is included for
//! readers of the file but is derived data: an import recomputes it from the executions. Deleted rows,
//! broker connections (their secrets are sealed to this device's key) and market data (a public cache)
//! are not exported.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::Tx;
use crate::error::Result;

/// The name in every export file's `format` field.
pub const EXPORT_FORMAT: &str = "trenddojo-export";
/// The export version this build writes (and the newest it reads).
pub const EXPORT_VERSION: u32 = 1;

/// A whole export file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportFile {
    pub format: String,
    pub version: u32,
    pub exported_at: String,
    pub app_version: String,
    pub schema_version: u32,
    pub users: Vec<ExportUser>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportUser {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub subscription_tier: String,
    pub created_at: String,
    pub accounts: Vec<ExportAccount>,
    pub checklists: Vec<ExportChecklist>,
    pub notes: Vec<ExportNote>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportAccount {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub starting_balance: String,
    pub time_zone: String,
    pub broker: Option<String>,
    pub matching_method: String,
    pub breakeven_tolerance: String,
    pub created_at: String,
    pub risk_settings: Option<ExportRisk>,
    pub trades: Vec<ExportTrade>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportRisk {
    pub max_risk_per_trade_pct: String,
    pub max_daily_loss_pct: String,
    pub max_weekly_loss_pct: String,
    pub max_open_positions: u32,
    pub max_correlated_positions: u32,
    pub sizing_method: String,
    pub fixed_amount: Option<String>,
    pub fixed_quantity: Option<String>,
    pub enforcement: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportTrade {
    pub id: String,
    pub symbol: String,
    pub direction: String,
    /// `planned`/`cancelled` are kept as such; any other status is derived from the executions.
    pub status: String,
    pub multiplier: String,
    pub planned_entry: Option<String>,
    pub planned_quantity: Option<String>,
    pub initial_stop: Option<String>,
    pub current_stop: Option<String>,
    pub setup: Option<String>,
    pub correlation_group: Option<String>,
    pub cancelled_at: Option<String>,
    pub created_at: String,
    /// Derived from the executions; informational (an import recomputes it).
    pub summary: ExportSummary,
    pub executions: Vec<ExportExecution>,
    pub stop_adjustments: Vec<ExportStop>,
    pub targets: Vec<ExportTarget>,
    pub checklist_answers: Vec<ExportAnswer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportSummary {
    pub entered_quantity: String,
    pub open_quantity: String,
    pub avg_entry_price: Option<String>,
    pub avg_exit_price: Option<String>,
    pub gross_pnl: String,
    pub fees: String,
    pub net_pnl: String,
    pub initial_risk: Option<String>,
    pub r_multiple: Option<String>,
    pub opened_at: Option<String>,
    pub closed_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportExecution {
    pub id: String,
    pub side: String,
    pub quantity: String,
    pub price: String,
    pub fees: String,
    pub executed_at: String,
    pub time_zone: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportStop {
    pub id: String,
    pub price: String,
    pub adjusted_at: String,
    pub reason: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportTarget {
    pub id: String,
    pub price: String,
    pub quantity: Option<String>,
    pub label: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportAnswer {
    pub id: String,
    pub item_id: String,
    pub checked: bool,
    pub comment: Option<String>,
    pub answered_at: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportChecklist {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub created_at: String,
    pub items: Vec<ExportItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportItem {
    pub id: String,
    pub position: u32,
    pub prompt: String,
    pub required: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExportNote {
    pub id: String,
    pub account_id: Option<String>,
    pub trade_id: Option<String>,
    pub kind: String,
    pub body: String,
    pub created_at: String,
}

fn collect<T>(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(p, f)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Every live row of every user's accounts, trades (with executions, stops, targets, checklist answers),
/// checklists and notes. Read inside one snapshot by the caller.
pub fn read_export(conn: &Connection, exported_at: &str) -> Result<ExportFile> {
    let schema_version = crate::migrations::current_version(conn)?;
    let users = collect(
        conn,
        "SELECT id, email, display_name, subscription_tier, created_at FROM users WHERE deleted = 0 ORDER BY email",
        [],
        |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let mut out = Vec::new();
    for (id, email, display_name, subscription_tier, created_at) in users {
        out.push(ExportUser {
            accounts: accounts(conn, &id)?,
            checklists: checklists(conn, &id)?,
            notes: collect(
                conn,
                "SELECT id, account_id, trade_id, kind, body, created_at FROM trade_notes \
                 WHERE user_id = ?1 AND deleted = 0 ORDER BY created_at, id",
                [&id],
                |r| {
                    Ok(ExportNote {
                        id: r.get(0)?,
                        account_id: r.get(1)?,
                        trade_id: r.get(2)?,
                        kind: r.get(3)?,
                        body: r.get(4)?,
                        created_at: r.get(5)?,
                    })
                },
            )?,
            id,
            email,
            display_name,
            subscription_tier,
            created_at,
        });
    }
    Ok(ExportFile {
        format: EXPORT_FORMAT.into(),
        version: EXPORT_VERSION,
        exported_at: exported_at.into(),
        app_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        users: out,
    })
}

fn accounts(conn: &Connection, user: &str) -> Result<Vec<ExportAccount>> {
    let rows = collect(
        conn,
        "SELECT id, name, currency, starting_balance, time_zone, broker, matching_method, breakeven_tolerance, \
         created_at FROM accounts WHERE user_id = ?1 AND deleted = 0 ORDER BY created_at, id",
        [user],
        |r| {
            Ok(ExportAccount {
                id: r.get(0)?,
                name: r.get(1)?,
                currency: r.get(2)?,
                starting_balance: r.get(3)?,
                time_zone: r.get(4)?,
                broker: r.get(5)?,
                matching_method: r.get(6)?,
                breakeven_tolerance: r.get(7)?,
                created_at: r.get(8)?,
                risk_settings: None,
                trades: Vec::new(),
            })
        },
    )?;
    let mut out = Vec::new();
    for mut a in rows {
        a.risk_settings = conn
            .prepare_cached(
                "SELECT max_risk_per_trade_pct, max_daily_loss_pct, max_weekly_loss_pct, max_open_positions, \
                 max_correlated_positions, sizing_method, fixed_amount, fixed_quantity, enforcement \
                 FROM risk_settings WHERE account_id = ?1 AND deleted = 0",
            )?
            .query_row([&a.id], |r| {
                Ok(ExportRisk {
                    max_risk_per_trade_pct: r.get(0)?,
                    max_daily_loss_pct: r.get(1)?,
                    max_weekly_loss_pct: r.get(2)?,
                    max_open_positions: r.get(3)?,
                    max_correlated_positions: r.get(4)?,
                    sizing_method: r.get(5)?,
                    fixed_amount: r.get(6)?,
                    fixed_quantity: r.get(7)?,
                    enforcement: r.get(8)?,
                })
            })
            .optional()?;
        a.trades = trades(conn, &a.id)?;
        out.push(a);
    }
    Ok(out)
}

fn trades(conn: &Connection, account: &str) -> Result<Vec<ExportTrade>> {
    let rows = collect(
        conn,
        "SELECT id, symbol, direction, status, multiplier, planned_entry, planned_quantity, initial_stop, current_stop, \
         setup, correlation_group, cancelled_at, created_at, entered_quantity, open_quantity, avg_entry_price, \
         avg_exit_price, gross_pnl, fees, net_pnl, initial_risk, r_multiple, opened_at, closed_at \
         FROM trades WHERE account_id = ?1 AND deleted = 0 ORDER BY coalesce(opened_at, created_at), id",
        [account],
        |r| {
            Ok(ExportTrade {
                id: r.get(0)?,
                symbol: r.get(1)?,
                direction: r.get(2)?,
                status: r.get(3)?,
                multiplier: r.get(4)?,
                planned_entry: r.get(5)?,
                planned_quantity: r.get(6)?,
                initial_stop: r.get(7)?,
                current_stop: r.get(8)?,
                setup: r.get(9)?,
                correlation_group: r.get(10)?,
                cancelled_at: r.get(11)?,
                created_at: r.get(12)?,
                summary: ExportSummary {
                    entered_quantity: r.get(13)?,
                    open_quantity: r.get(14)?,
                    avg_entry_price: r.get(15)?,
                    avg_exit_price: r.get(16)?,
                    gross_pnl: r.get(17)?,
                    fees: r.get(18)?,
                    net_pnl: r.get(19)?,
                    initial_risk: r.get(20)?,
                    r_multiple: r.get(21)?,
                    opened_at: r.get(22)?,
                    closed_at: r.get(23)?,
                },
                executions: Vec::new(),
                stop_adjustments: Vec::new(),
                targets: Vec::new(),
                checklist_answers: Vec::new(),
            })
        },
    )?;
    let mut out = Vec::new();
    for mut t in rows {
        t.executions = collect(
            conn,
            "SELECT id, side, quantity, price, fees, executed_at, time_zone, created_at FROM executions \
             WHERE trade_id = ?1 AND deleted = 0 ORDER BY executed_at, id",
            [&t.id],
            |r| {
                Ok(ExportExecution {
                    id: r.get(0)?,
                    side: r.get(1)?,
                    quantity: r.get(2)?,
                    price: r.get(3)?,
                    fees: r.get(4)?,
                    executed_at: r.get(5)?,
                    time_zone: r.get(6)?,
                    created_at: r.get(7)?,
                })
            },
        )?;
        t.stop_adjustments = collect(
            conn,
            "SELECT id, price, adjusted_at, reason, created_at FROM trade_stop_adjustments \
             WHERE trade_id = ?1 AND deleted = 0 ORDER BY adjusted_at, id",
            [&t.id],
            |r| {
                Ok(ExportStop {
                    id: r.get(0)?,
                    price: r.get(1)?,
                    adjusted_at: r.get(2)?,
                    reason: r.get(3)?,
                    created_at: r.get(4)?,
                })
            },
        )?;
        t.targets = collect(
            conn,
            "SELECT id, price, quantity, label, created_at FROM trade_targets WHERE trade_id = ?1 AND deleted = 0 \
             ORDER BY created_at, id",
            [&t.id],
            |r| {
                Ok(ExportTarget {
                    id: r.get(0)?,
                    price: r.get(1)?,
                    quantity: r.get(2)?,
                    label: r.get(3)?,
                    created_at: r.get(4)?,
                })
            },
        )?;
        t.checklist_answers = collect(
            conn,
            "SELECT id, item_id, checked, comment, answered_at, created_at FROM trade_checklist_responses \
             WHERE trade_id = ?1 AND deleted = 0 ORDER BY answered_at, id",
            [&t.id],
            |r| {
                Ok(ExportAnswer {
                    id: r.get(0)?,
                    item_id: r.get(1)?,
                    checked: r.get::<_, i64>(2)? != 0,
                    comment: r.get(3)?,
                    answered_at: r.get(4)?,
                    created_at: r.get(5)?,
                })
            },
        )?;
        out.push(t);
    }
    Ok(out)
}

fn checklists(conn: &Connection, user: &str) -> Result<Vec<ExportChecklist>> {
    let rows = collect(
        conn,
        "SELECT id, name, description, active, created_at FROM trade_checklist_templates \
         WHERE user_id = ?1 AND deleted = 0 ORDER BY created_at, id",
        [user],
        |r| {
            Ok(ExportChecklist {
                id: r.get(0)?,
                name: r.get(1)?,
                description: r.get(2)?,
                active: r.get::<_, i64>(3)? != 0,
                created_at: r.get(4)?,
                items: Vec::new(),
            })
        },
    )?;
    let mut out = Vec::new();
    for mut c in rows {
        c.items = collect(
            conn,
            "SELECT id, position, prompt, required, created_at FROM trade_checklist_items \
             WHERE template_id = ?1 AND deleted = 0 ORDER BY position, id",
            [&c.id],
            |r| {
                Ok(ExportItem {
                    id: r.get(0)?,
                    position: r.get(1)?,
                    prompt: r.get(2)?,
                    required: r.get::<_, i64>(3)? != 0,
                    created_at: r.get(4)?,
                })
            },
        )?;
        out.push(c);
    }
    Ok(out)
}

/// One row of the executions CSV (`trenddojo-v1`), in the spec's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRow {
    pub account: String,
    pub currency: String,
    pub time_zone: String,
    pub trade_id: String,
    pub symbol: String,
    pub direction: String,
    pub multiplier: String,
    pub initial_stop: Option<String>,
    pub setup: Option<String>,
    pub execution_id: String,
    pub side: String,
    pub quantity: String,
    pub price: String,
    pub fees: String,
    pub executed_at: String,
}

/// Every live execution of `user`, ordered by account (name), trade (opened time), then execution time.
pub fn csv_rows(conn: &Connection, user: Uuid) -> Result<Vec<CsvRow>> {
    collect(
        conn,
        "SELECT a.name, a.currency, a.time_zone, t.id, t.symbol, t.direction, t.multiplier, t.initial_stop, t.setup, \
         e.id, e.side, e.quantity, e.price, e.fees, e.executed_at \
         FROM executions e JOIN trades t ON t.id = e.trade_id JOIN accounts a ON a.id = t.account_id \
         WHERE a.user_id = ?1 AND a.deleted = 0 AND t.deleted = 0 AND e.deleted = 0 \
         ORDER BY a.name, a.id, coalesce(t.opened_at, t.created_at), t.id, e.executed_at, e.id",
        [user.to_string()],
        |r| {
            Ok(CsvRow {
                account: r.get(0)?,
                currency: r.get(1)?,
                time_zone: r.get(2)?,
                trade_id: r.get(3)?,
                symbol: r.get(4)?,
                direction: r.get(5)?,
                multiplier: r.get(6)?,
                initial_stop: r.get(7)?,
                setup: r.get(8)?,
                execution_id: r.get(9)?,
                side: r.get(10)?,
                quantity: r.get(11)?,
                price: r.get(12)?,
                fees: r.get(13)?,
                executed_at: r.get(14)?,
            })
        },
    )
}

/// Does the store hold any account or trade (of any user)?
pub fn holds_data(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM accounts) OR EXISTS (SELECT 1 FROM trades)", [], |r| r.get(0))?)
}

/// Is this id taken in `table`?
pub fn id_taken(conn: &Connection, table: ImportTable, id: &str) -> Result<bool> {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM {} WHERE id = ?1)", table.name());
    Ok(conn.query_row(&sql, [id], |r| r.get(0))?)
}

/// The tables an import writes (so `id_taken` never formats arbitrary text into SQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportTable {
    Accounts,
    Trades,
    Executions,
    Stops,
    Targets,
    Templates,
    Items,
    Answers,
    Notes,
}

impl ImportTable {
    fn name(self) -> &'static str {
        match self {
            ImportTable::Accounts => "accounts",
            ImportTable::Trades => "trades",
            ImportTable::Executions => "executions",
            ImportTable::Stops => "trade_stop_adjustments",
            ImportTable::Targets => "trade_targets",
            ImportTable::Templates => "trade_checklist_templates",
            ImportTable::Items => "trade_checklist_items",
            ImportTable::Answers => "trade_checklist_responses",
            ImportTable::Notes => "trade_notes",
        }
    }
}

/// A validated account row to insert as it was (id and creation time kept).
#[derive(Debug, Clone)]
pub struct AccountRow<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: &'a str,
    pub currency: &'a str,
    pub starting_balance: String,
    pub time_zone: &'a str,
    pub broker: Option<&'a str>,
    pub matching_method: &'a str,
    pub breakeven_tolerance: String,
    pub created_at: &'a str,
}

pub fn insert_account(tx: &Tx<'_>, a: &AccountRow<'_>) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO accounts (id, user_id, name, currency, starting_balance, time_zone, broker, matching_method, \
         breakeven_tolerance, created_at, updated_at, updated_hlc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        a.id.to_string(),
        a.user_id.to_string(),
        a.name,
        a.currency,
        a.starting_balance,
        a.time_zone,
        a.broker,
        a.matching_method,
        a.breakeven_tolerance,
        a.created_at,
        tx.now,
        tx.hlc
    ])?;
    Ok(())
}

/// A validated trade row in final form (its summary recomputed from its executions by the caller).
#[derive(Debug, Clone)]
pub struct TradeRow<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub account_id: Uuid,
    pub symbol: &'a str,
    pub direction: &'a str,
    pub status: &'a str,
    pub multiplier: String,
    pub planned_entry: Option<String>,
    pub planned_quantity: Option<String>,
    pub initial_stop: Option<String>,
    pub current_stop: Option<String>,
    pub setup: Option<&'a str>,
    pub correlation_group: Option<&'a str>,
    pub entered_quantity: String,
    pub open_quantity: String,
    pub avg_entry_price: Option<String>,
    pub avg_exit_price: Option<String>,
    pub gross_pnl: String,
    pub fees: String,
    pub net_pnl: String,
    pub initial_risk: Option<String>,
    pub r_multiple: Option<String>,
    pub exit_days: Option<String>,
    /// Quantity closed beyond what was open (a merge of two exits), canonical text; `None` when zero.
    pub excess_quantity: Option<String>,
    /// Why the trade needs review (`domain::trade::review_text`), `None` when it does not.
    pub review: Option<String>,
    pub opened_at: Option<String>,
    pub closed_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub created_at: &'a str,
}

pub fn insert_trade(tx: &Tx<'_>, t: &TradeRow<'_>) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO trades (id, user_id, account_id, symbol, direction, status, multiplier, planned_entry, \
         planned_quantity, initial_stop, current_stop, setup, correlation_group, entered_quantity, open_quantity, \
         avg_entry_price, avg_exit_price, gross_pnl, fees, net_pnl, initial_risk, r_multiple, exit_days, opened_at, \
         closed_at, cancelled_at, created_at, updated_at, updated_hlc, excess_quantity, review) VALUES (?1, ?2, ?3, ?4, \
         ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, \
         ?28, ?29, ?30, ?31)",
    )?
    .execute(params![
        t.id.to_string(),
        t.user_id.to_string(),
        t.account_id.to_string(),
        t.symbol,
        t.direction,
        t.status,
        t.multiplier,
        t.planned_entry,
        t.planned_quantity,
        t.initial_stop,
        t.current_stop,
        t.setup,
        t.correlation_group,
        t.entered_quantity,
        t.open_quantity,
        t.avg_entry_price,
        t.avg_exit_price,
        t.gross_pnl,
        t.fees,
        t.net_pnl,
        t.initial_risk,
        t.r_multiple,
        t.exit_days,
        t.opened_at,
        t.closed_at,
        t.cancelled_at,
        t.created_at,
        tx.now,
        tx.hlc,
        t.excess_quantity,
        t.review
    ])?;
    Ok(())
}

/// A validated execution with its realization (from the trade's recomputed summary).
#[derive(Debug, Clone)]
pub struct ExecutionRow<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub account_id: Uuid,
    pub trade_id: Uuid,
    pub side: &'a str,
    pub quantity: String,
    pub price: String,
    pub fees: String,
    pub executed_at: String,
    pub time_zone: &'a str,
    pub realized_gross: Option<String>,
    pub realized_net: Option<String>,
    pub created_at: &'a str,
}

pub fn insert_execution(tx: &Tx<'_>, e: &ExecutionRow<'_>) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO executions (id, user_id, account_id, trade_id, side, quantity, price, fees, executed_at, time_zone, \
         realized_gross, realized_net, created_at, updated_at, updated_hlc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        e.id.to_string(),
        e.user_id.to_string(),
        e.account_id.to_string(),
        e.trade_id.to_string(),
        e.side,
        e.quantity,
        e.price,
        e.fees,
        e.executed_at,
        e.time_zone,
        e.realized_gross,
        e.realized_net,
        e.created_at,
        tx.now,
        tx.hlc
    ])?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn insert_stop(
    tx: &Tx<'_>,
    id: Uuid,
    user_id: Uuid,
    trade_id: Uuid,
    price: &str,
    adjusted_at: &str,
    reason: Option<&str>,
    created_at: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO trade_stop_adjustments (id, user_id, trade_id, price, adjusted_at, reason, created_at, updated_at, \
         updated_hlc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        id.to_string(),
        user_id.to_string(),
        trade_id.to_string(),
        price,
        adjusted_at,
        reason,
        created_at,
        tx.now,
        tx.hlc
    ])?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn insert_target(
    tx: &Tx<'_>,
    id: Uuid,
    user_id: Uuid,
    trade_id: Uuid,
    price: &str,
    quantity: Option<&str>,
    label: Option<&str>,
    created_at: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO trade_targets (id, user_id, trade_id, price, quantity, label, created_at, updated_at, updated_hlc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        id.to_string(),
        user_id.to_string(),
        trade_id.to_string(),
        price,
        quantity,
        label,
        created_at,
        tx.now,
        tx.hlc
    ])?;
    Ok(())
}

pub fn insert_template(
    tx: &Tx<'_>,
    id: Uuid,
    user_id: Uuid,
    name: &str,
    description: Option<&str>,
    active: bool,
    created_at: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO trade_checklist_templates (id, user_id, name, description, active, created_at, updated_at, \
         updated_hlc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id.to_string(),
        user_id.to_string(),
        name,
        description,
        active,
        created_at,
        tx.now,
        tx.hlc
    ])?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn insert_item(
    tx: &Tx<'_>,
    id: Uuid,
    user_id: Uuid,
    template_id: Uuid,
    position: u32,
    prompt: &str,
    required: bool,
    created_at: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO trade_checklist_items (id, user_id, template_id, position, prompt, required, created_at, \
         updated_at, updated_hlc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        id.to_string(),
        user_id.to_string(),
        template_id.to_string(),
        position,
        prompt,
        required,
        created_at,
        tx.now,
        tx.hlc
    ])?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn insert_answer(
    tx: &Tx<'_>,
    id: Uuid,
    user_id: Uuid,
    trade_id: Uuid,
    item_id: Uuid,
    checked: bool,
    comment: Option<&str>,
    answered_at: &str,
    created_at: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO trade_checklist_responses (id, user_id, trade_id, item_id, checked, comment, answered_at, \
         created_at, updated_at, updated_hlc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        id.to_string(),
        user_id.to_string(),
        trade_id.to_string(),
        item_id.to_string(),
        checked,
        comment,
        answered_at,
        created_at,
        tx.now,
        tx.hlc
    ])?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub fn insert_note(
    tx: &Tx<'_>,
    id: Uuid,
    user_id: Uuid,
    account_id: Option<Uuid>,
    trade_id: Option<Uuid>,
    kind: &str,
    body: &str,
    created_at: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO trade_notes (id, user_id, account_id, trade_id, kind, body, created_at, updated_at, updated_hlc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        id.to_string(),
        user_id.to_string(),
        account_id.map(|a| a.to_string()),
        trade_id.map(|t| t.to_string()),
        kind,
        body,
        created_at,
        tx.now,
        tx.hlc
    ])?;
    Ok(())
}
