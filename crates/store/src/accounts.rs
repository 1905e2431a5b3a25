//! Trading accounts and their risk settings.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

use trenddojo_domain::money::{Money, Percent, Quantity};
use trenddojo_domain::risk::{Enforcement, RiskSettings, SizingMethod};
use trenddojo_domain::trade::MatchingMethod;

use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::sql::{col, col_enum, col_opt, col_uuid};

/// A trading account.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Account {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub currency: String,
    pub starting_balance: Money,
    pub time_zone: String,
    pub broker: Option<String>,
    pub matching_method: MatchingMethod,
    pub breakeven_tolerance: Money,
    pub created_at: String,
}

/// A validated new account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub user_id: Uuid,
    pub name: String,
    pub currency: String,
    pub starting_balance: Money,
    pub time_zone: String,
    pub broker: Option<String>,
    pub matching_method: MatchingMethod,
    pub breakeven_tolerance: Money,
}

const COLS: &str =
    "id, user_id, name, currency, starting_balance, time_zone, broker, matching_method, breakeven_tolerance, created_at";

fn map(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: col_uuid(r, 0)?,
        user_id: col_uuid(r, 1)?,
        name: r.get(2)?,
        currency: r.get(3)?,
        starting_balance: col(r, 4, Money::parse)?,
        time_zone: r.get(5)?,
        broker: r.get(6)?,
        matching_method: col_enum(r, 7)?,
        breakeven_tolerance: col(r, 8, Money::parse)?,
        created_at: r.get(9)?,
    })
}

pub fn insert(tx: &Tx<'_>, a: &NewAccount) -> Result<Account> {
    let clash: Option<String> = tx
        .query_row(
            "SELECT id FROM accounts WHERE user_id = ?1 AND name = ?2 AND deleted = 0",
            params![a.user_id.to_string(), a.name],
            |r| r.get(0),
        )
        .optional()?;
    if clash.is_some() {
        return Err(StoreError::Invalid {
            field: "name",
            message: format!("an account named {:?} already exists", a.name),
        });
    }
    let id = tx.new_id();
    tx.execute(
        &format!(
            "INSERT INTO accounts ({COLS}, updated_at, updated_hlc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)"
        ),
        params![
            id.to_string(),
            a.user_id.to_string(),
            a.name,
            a.currency,
            a.starting_balance.to_canonical(),
            a.time_zone,
            a.broker,
            a.matching_method.as_str(),
            a.breakeven_tolerance.to_canonical(),
            tx.now,
            tx.hlc
        ],
    )?;
    get(tx, a.user_id, id)
}

pub fn get(conn: &Connection, user_id: Uuid, id: Uuid) -> Result<Account> {
    conn.query_row(
        &format!("SELECT {COLS} FROM accounts WHERE id = ?1 AND user_id = ?2 AND deleted = 0"),
        params![id.to_string(), user_id.to_string()],
        map,
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound { what: "account", id: id.to_string() })
}

pub fn list(conn: &Connection, user_id: Uuid) -> Result<Vec<Account>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLS} FROM accounts WHERE user_id = ?1 AND deleted = 0 ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([user_id.to_string()], map)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn count(conn: &Connection, user_id: Uuid) -> Result<u32> {
    Ok(conn.query_row(
        "SELECT count(*) FROM accounts WHERE user_id = ?1 AND deleted = 0",
        [user_id.to_string()],
        |r| r.get(0),
    )?)
}

/// Find an account by full id, unique id prefix, or exact name.
pub fn resolve(conn: &Connection, user_id: Uuid, input: &str) -> Result<Account> {
    let by_name: Vec<Account> = {
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {COLS} FROM accounts WHERE user_id = ?1 AND deleted = 0 AND name = ?2"))?;
        let rows = stmt.query_map(params![user_id.to_string(), input], map)?;
        rows.collect::<Result<_, _>>()?
    };
    match by_name.as_slice() {
        [one] => return Ok(one.clone()),
        // Two devices may each have created an account with this name while apart.
        [_, _, ..] => {
            return Err(StoreError::Ambiguous {
                what: "account",
                id: input.to_string(),
                count: by_name.len(),
                examples: by_name.iter().take(3).map(|a| format!("{} ({})", a.id, a.name)).collect(),
            })
        }
        [] => {}
    }
    let id = crate::resolve_id(conn, "accounts", "account", "name", user_id, input)?;
    get(conn, user_id, id)
}

/// The risk settings of an account, or the defaults when none were saved.
pub fn risk_settings(conn: &Connection, account_id: Uuid) -> Result<RiskSettings> {
    let found = conn
        .query_row(
            "SELECT max_risk_per_trade_pct, max_daily_loss_pct, max_weekly_loss_pct, max_open_positions, \
             max_correlated_positions, sizing_method, fixed_amount, fixed_quantity, enforcement \
             FROM risk_settings WHERE account_id = ?1 AND deleted = 0",
            [account_id.to_string()],
            |r| {
                Ok(RiskSettings {
                    max_risk_per_trade_pct: col(r, 0, Percent::parse)?,
                    max_daily_loss_pct: col(r, 1, Percent::parse)?,
                    max_weekly_loss_pct: col(r, 2, Percent::parse)?,
                    max_open_positions: r.get(3)?,
                    max_correlated_positions: r.get(4)?,
                    sizing_method: col_enum::<SizingMethod>(r, 5)?,
                    fixed_amount: col_opt(r, 6, Money::parse)?,
                    fixed_quantity: col_opt(r, 7, Quantity::parse)?,
                    enforcement: col_enum::<Enforcement>(r, 8)?,
                })
            },
        )
        .optional()?;
    Ok(found.unwrap_or_default())
}

/// Save an account's risk settings (insert or update the one live row).
pub fn save_risk_settings(tx: &Tx<'_>, user_id: Uuid, account_id: Uuid, s: &RiskSettings) -> Result<()> {
    let existing: Option<String> = tx
        .query_row(
            "SELECT id FROM risk_settings WHERE account_id = ?1 AND deleted = 0",
            [account_id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    let values = params![
        s.max_risk_per_trade_pct.to_canonical(),
        s.max_daily_loss_pct.to_canonical(),
        s.max_weekly_loss_pct.to_canonical(),
        s.max_open_positions,
        s.max_correlated_positions,
        s.sizing_method.as_str(),
        s.fixed_amount.map(|m| m.to_canonical()),
        s.fixed_quantity.map(|q| q.to_canonical()),
        s.enforcement.as_str(),
        tx.now,
        tx.hlc,
    ];
    match existing {
        Some(id) => {
            let mut stmt = tx.prepare(
                "UPDATE risk_settings SET max_risk_per_trade_pct = ?1, max_daily_loss_pct = ?2, max_weekly_loss_pct = ?3, \
                 max_open_positions = ?4, max_correlated_positions = ?5, sizing_method = ?6, fixed_amount = ?7, \
                 fixed_quantity = ?8, enforcement = ?9, updated_at = ?10, updated_hlc = ?11 WHERE id = ?12",
            )?;
            let mut all: Vec<&dyn rusqlite::ToSql> = values.to_vec();
            all.push(&id);
            stmt.execute(all.as_slice())?;
        }
        None => {
            // One row per account, with the same id on every device (see `derived_id`).
            let id = crate::derived_id("risk_settings", &[account_id]).to_string();
            let account = account_id.to_string();
            let user = user_id.to_string();
            let mut stmt = tx.prepare(
                "INSERT INTO risk_settings (max_risk_per_trade_pct, max_daily_loss_pct, max_weekly_loss_pct, \
                 max_open_positions, max_correlated_positions, sizing_method, fixed_amount, fixed_quantity, enforcement, \
                 updated_at, updated_hlc, created_at, id, user_id, account_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?10, ?12, ?13, ?14)",
            )?;
            let mut all: Vec<&dyn rusqlite::ToSql> = values.to_vec();
            all.push(&id);
            all.push(&user);
            all.push(&account);
            stmt.execute(all.as_slice())?;
        }
    }
    Ok(())
}

/// Tombstone an account with everything that belongs to it: its trades (each with its executions, stops,
/// targets, notes and answers), its risk settings, its account notes and broker connections, and its
/// running total.
pub fn soft_delete(tx: &Tx<'_>, account_id: Uuid) -> Result<()> {
    let id = account_id.to_string();
    let trades: Vec<String> = tx
        .prepare_cached("SELECT id FROM trades WHERE account_id = ?1 AND deleted = 0")?
        .query_map([&id], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    for t in trades {
        let t = Uuid::parse_str(&t).map_err(|_| StoreError::corrupt("bad trade id"))?;
        crate::trades::soft_delete(tx, t)?;
    }
    for table in ["risk_settings", "trade_notes", "broker_connections"] {
        tx.execute(
            &format!(
                "UPDATE {table} SET deleted = 1, updated_at = ?2, updated_hlc = ?3 WHERE account_id = ?1 AND deleted = 0"
            ),
            params![id, tx.now, tx.hlc],
        )?;
    }
    tx.execute(
        "UPDATE accounts SET deleted = 1, updated_at = ?2, updated_hlc = ?3 WHERE id = ?1",
        params![id, tx.now, tx.hlc],
    )?;
    tx.execute("DELETE FROM account_summaries WHERE account_id = ?1", [&id])?;
    Ok(())
}

/// Whether an account row exists here and is deleted (a merge can leave live trades in such an account).
pub fn is_deleted(conn: &Connection, account_id: Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT deleted FROM accounts WHERE id = ?1")?
        .query_row([account_id.to_string()], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some_and(|d| d != 0))
}

/// An account row whether deleted or not (to recompute trades a merge left in a deleted account).
pub fn get_any(conn: &Connection, id: Uuid) -> Result<Account> {
    conn.query_row(&format!("SELECT {COLS} FROM accounts WHERE id = ?1"), params![id.to_string()], map)
        .optional()?
        .ok_or_else(|| StoreError::NotFound { what: "account", id: id.to_string() })
}

/// Change an account's time zone (the desktop app's settings). The caller recomputes what depends on it
/// (each trade's per-day split) in the same transaction.
pub fn set_time_zone(tx: &Tx<'_>, account_id: Uuid, time_zone: &str) -> Result<()> {
    tx.execute(
        "UPDATE accounts SET time_zone = ?2, updated_at = ?3, updated_hlc = ?4 WHERE id = ?1 AND deleted = 0",
        params![account_id.to_string(), time_zone, tx.now, tx.hlc],
    )?;
    Ok(())
}
