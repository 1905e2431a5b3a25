//! TrendDojo's encrypted local store.
//!
//! Everything a trader records lives in one SQLCipher database in the data folder, unlocked with a
//! 256-bit key from the OS keyring or derived from a passphrase ([`key`]). The schema comes from the
//! migration files in `migrations/local/` ([`migrations`]). Each module owns one group of tables and
//! keeps its SQL next to the function that runs it; no ORM. Writes happen inside [`Store::write`]
//! transactions, and triggers in the schema append an audit row and a sync outbox entry for every change
//! in the same transaction.
//!
//! Nothing a trader committed is ever silently lost: backups are self-contained files that open with the
//! passphrase or the recovery key on any machine ([`backup`], [`restore`]); damage is found and reported,
//! never replaced by an empty store ([`damage`]); every file replacement survives kill -9.
//!
//! This crate knows nothing of the CLI or the desktop shell; use cases live in `trenddojo-core`.

pub mod accounts;
pub mod backup;
pub mod brokers;
pub mod clock;
pub mod damage;
mod db;
mod error;
mod fsutil;
pub mod journal;
pub mod key;
pub mod market;
pub mod migrations;
pub mod portable;
mod rekey;
pub mod restore;
pub mod salvage;
pub mod sql;
mod status;
pub mod trades;
pub mod users;

pub use backup::{BackupEntry, BackupOutcome, IntegrityReport};
pub use db::{MigrateOnOpen, Store, StorePaths, Tx};
pub use error::{Result, StoreError};
pub use fsutil::write_new_file;
pub use key::{KeySource, Passphrase, RecoveryKey, RecoveryState};
pub use restore::RestoreOutcome;
pub use status::{DbStatus, TableCount, TABLES};

/// The SQLite connection type repository functions take (re-exported so callers need no rusqlite).
pub use rusqlite::Connection;

use uuid::Uuid;

/// Resolve a full id or a unique id prefix (at least 4 characters) of a user's row in `table`.
pub(crate) fn resolve_id(
    conn: &Connection,
    table: &str,
    what: &'static str,
    user_id: Uuid,
    input: &str,
) -> Result<Uuid> {
    let input = input.trim().to_ascii_lowercase();
    if let Ok(id) = Uuid::parse_str(&input) {
        return Ok(id);
    }
    if input.len() < 4 || !input.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(StoreError::NotFound { what, id: input });
    }
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id FROM {table} WHERE user_id = ?1 AND deleted = 0 AND id >= ?2 AND id < ?2 || 'g' LIMIT 2"
    ))?;
    let ids: Vec<String> =
        stmt.query_map(rusqlite::params![user_id.to_string(), input], |r| r.get(0))?.collect::<Result<_, _>>()?;
    match ids.as_slice() {
        [one] => Uuid::parse_str(one).map_err(|_| StoreError::corrupt(format!("bad id in {table}"))),
        [] => Err(StoreError::NotFound { what, id: input }),
        _ => Err(StoreError::Ambiguous { what, id: input, count: ids.len() }),
    }
}
