//! What `db status` reports: schema version, migrations, encryption, size and row counts.

use rusqlite::Connection;
use serde::Serialize;

use crate::db::Store;
use crate::error::Result;
use crate::migrations::{self, AppliedMigration, PendingMigration};

/// Every table whose rows `db status` counts.
pub const TABLES: &[&str] = &[
    "users",
    "subscription_limits",
    "accounts",
    "risk_settings",
    "trades",
    "executions",
    "trade_stop_adjustments",
    "trade_targets",
    "trade_notes",
    "trade_checklist_templates",
    "trade_checklist_items",
    "trade_checklist_responses",
    "broker_connections",
    "market_data_cache",
    "stock_fundamentals",
    "change_log",
];

#[derive(Debug, Clone, Serialize)]
pub struct TableCount {
    pub table: String,
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Encryption {
    pub cipher: String,
    pub cipher_version: String,
    pub key_method: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DbStatus {
    pub path: String,
    pub schema_version: u32,
    pub latest_version: u32,
    pub applied: Vec<AppliedMigration>,
    pub pending: Vec<PendingMigration>,
    pub encryption: Encryption,
    pub file_size_bytes: u64,
    pub row_counts: Vec<TableCount>,
}

fn table_exists(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| {
        r.get::<_, i64>(0)
    })? > 0)
}

/// Row counts of the tables that exist at the store's schema version.
pub fn row_counts(conn: &Connection) -> Result<Vec<TableCount>> {
    let mut out = Vec::new();
    for t in TABLES {
        if table_exists(conn, t)? {
            let rows: i64 = conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
            out.push(TableCount { table: (*t).to_string(), rows: u64::try_from(rows).unwrap_or(0) });
        }
    }
    Ok(out)
}

impl Store {
    pub fn status(&self) -> Result<DbStatus> {
        let file_size_bytes = self.file_size();
        let key_method = self.key_info().method.clone();
        let path = self.paths().db.display().to_string();
        self.with_writer(|c| {
            let cipher_version: String = c.query_row("PRAGMA cipher_version", [], |r| r.get(0))?;
            Ok(DbStatus {
                path,
                schema_version: migrations::current_version(c)?,
                latest_version: migrations::latest_version(),
                applied: migrations::applied(c)?,
                pending: migrations::pending(c)?,
                encryption: Encryption { cipher: "SQLCipher (AES-256)".into(), cipher_version, key_method },
                file_size_bytes,
                row_counts: row_counts(c)?,
            })
        })
    }
}
