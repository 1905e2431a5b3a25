//! Users, subscription tiers and their limits, and which user the local store acts as.

use std::str::FromStr;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;

use crate::db::{meta_set, Tx};
use crate::error::{Result, StoreError};
use crate::sql::{col_enum, col_uuid};

/// A subscription tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Free,
    Basic,
    Pro,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Free, Tier::Basic, Tier::Pro];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Basic => "basic",
            Tier::Pro => "pro",
        }
    }
}

/// The error for a tier name that is not one of free, basic, pro.
#[derive(Debug, thiserror::Error)]
#[error("tier: expected one of free, basic, pro, got {0:?}")]
pub struct BadTier(String);

impl FromStr for Tier {
    type Err = BadTier;
    fn from_str(s: &str) -> Result<Self, BadTier> {
        match s {
            "free" => Ok(Tier::Free),
            "basic" => Ok(Tier::Basic),
            "pro" => Ok(Tier::Pro),
            other => Err(BadTier(other.to_string())),
        }
    }
}

/// A user of this store.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub subscription_tier: Tier,
    pub created_at: String,
}

/// What a tier allows.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TierLimits {
    pub tier: Tier,
    pub max_accounts: u32,
    pub max_trades_per_month: u32,
    pub max_broker_connections: u32,
    pub max_checklist_templates: u32,
    pub market_data: bool,
}

/// The limits every store starts with (and the server enforces in its own schema).
pub fn default_limits() -> Vec<TierLimits> {
    vec![
        TierLimits {
            tier: Tier::Free,
            max_accounts: 1,
            max_trades_per_month: 100,
            max_broker_connections: 0,
            max_checklist_templates: 1,
            market_data: false,
        },
        TierLimits {
            tier: Tier::Basic,
            max_accounts: 3,
            max_trades_per_month: 1_000,
            max_broker_connections: 1,
            max_checklist_templates: 5,
            market_data: true,
        },
        TierLimits {
            tier: Tier::Pro,
            max_accounts: 25,
            max_trades_per_month: 1_000_000,
            max_broker_connections: 10,
            max_checklist_templates: 50,
            market_data: true,
        },
    ]
}

/// Write the tier limits (insert or replace).
pub fn upsert_limits(tx: &Tx<'_>, limits: &[TierLimits]) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO subscription_limits (tier, max_accounts, max_trades_per_month, max_broker_connections, \
         max_checklist_templates, market_data, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (tier) DO UPDATE SET max_accounts = excluded.max_accounts, \
         max_trades_per_month = excluded.max_trades_per_month, max_broker_connections = excluded.max_broker_connections, \
         max_checklist_templates = excluded.max_checklist_templates, market_data = excluded.market_data, \
         updated_at = excluded.updated_at",
    )?;
    for l in limits {
        stmt.execute(params![
            l.tier.as_str(),
            l.max_accounts,
            l.max_trades_per_month,
            l.max_broker_connections,
            l.max_checklist_templates,
            l.market_data,
            tx.now
        ])?;
    }
    Ok(())
}

/// The limits of one tier (falls back to the built-in defaults when the table has no row).
pub fn limits(conn: &Connection, tier: Tier) -> Result<TierLimits> {
    let found = conn
        .query_row(
            "SELECT max_accounts, max_trades_per_month, max_broker_connections, max_checklist_templates, market_data \
             FROM subscription_limits WHERE tier = ?1",
            [tier.as_str()],
            |r| {
                Ok(TierLimits {
                    tier,
                    max_accounts: r.get(0)?,
                    max_trades_per_month: r.get(1)?,
                    max_broker_connections: r.get(2)?,
                    max_checklist_templates: r.get(3)?,
                    market_data: r.get(4)?,
                })
            },
        )
        .optional()?;
    Ok(found.unwrap_or_else(|| {
        default_limits().into_iter().find(|l| l.tier == tier).expect("every tier has default limits")
    }))
}

/// A new user. `password_hash` is a PHC string (Argon2id), never a password.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub tier: Tier,
}

pub fn insert_user(tx: &Tx<'_>, u: &NewUser) -> Result<User> {
    if find_by_email(tx, &u.email)?.is_some() {
        return Err(StoreError::Invalid { field: "email", message: format!("{} is already a user here", u.email) });
    }
    let id = tx.new_id();
    tx.execute(
        "INSERT INTO users (id, email, display_name, password_hash, subscription_tier, created_at, updated_at, updated_hlc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
        params![id.to_string(), u.email, u.display_name, u.password_hash, u.tier.as_str(), tx.now, tx.hlc],
    )?;
    get(tx, id)
}

const USER_COLS: &str = "id, email, display_name, subscription_tier, created_at";

fn map_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: col_uuid(r, 0)?,
        email: r.get(1)?,
        display_name: r.get(2)?,
        subscription_tier: col_enum(r, 3)?,
        created_at: r.get(4)?,
    })
}

pub fn get(conn: &Connection, id: Uuid) -> Result<User> {
    conn.query_row(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1 AND deleted = 0"), [id.to_string()], map_user)
        .optional()?
        .ok_or_else(|| StoreError::NotFound { what: "user", id: id.to_string() })
}

pub fn find_by_email(conn: &Connection, email: &str) -> Result<Option<User>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLS} FROM users WHERE lower(email) = lower(?1) AND deleted = 0"),
            [email],
            map_user,
        )
        .optional()?)
}

/// The stored password hash of a user, for verification.
pub fn password_hash(conn: &Connection, id: Uuid) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT password_hash FROM users WHERE id = ?1", [id.to_string()], |r| r.get(0))
        .optional()?
        .flatten())
}

pub fn list(conn: &Connection) -> Result<Vec<User>> {
    let mut stmt = conn.prepare(&format!("SELECT {USER_COLS} FROM users WHERE deleted = 0 ORDER BY email"))?;
    let rows = stmt.query_map([], map_user)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The user this store acts as, if one has been chosen.
pub fn active_user(conn: &Connection) -> Result<Option<User>> {
    let id: Option<String> =
        conn.query_row("SELECT value FROM store_meta WHERE key = 'active_user'", [], |r| r.get(0)).optional()?;
    match id {
        Some(id) => {
            let id = Uuid::parse_str(&id).map_err(|_| StoreError::corrupt("store_meta.active_user is not a UUID"))?;
            Ok(Some(get(conn, id)?))
        }
        None => Ok(None),
    }
}

pub fn set_active_user(tx: &Tx<'_>, id: Uuid) -> Result<()> {
    get(tx, id)?;
    meta_set(tx, "active_user", &id.to_string())
}
