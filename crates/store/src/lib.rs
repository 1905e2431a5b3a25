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
pub mod imports;
pub mod journal;
pub mod key;
pub mod market;
pub mod migrations;
pub mod portable;
mod rekey;
pub mod restore;
pub mod salvage;
pub mod sql;
pub mod stats;
mod status;
mod trade_list;
pub mod trades;
pub mod users;

pub use backup::{BackupEntry, BackupOutcome, IntegrityReport};
pub use db::{MigrateOnOpen, Store, StorePaths, Tx};
pub use error::{Remedy, Result, StoreError};
pub use fsutil::write_new_file;
pub use key::{KeySource, Passphrase, RecoveryKey, RecoveryState};
pub use restore::RestoreOutcome;
pub use status::{DbStatus, TableCount, TABLES};

/// The SQLite connection type repository functions take (re-exported so callers need no rusqlite).
pub use rusqlite::Connection;

use uuid::Uuid;

/// The namespace of ids derived from other ids (UUIDv5): a row that must exist at most once per parent
/// (an account's risk settings, a trade's answer to a checklist item) gets the same id on every device,
/// so two devices creating it while apart make one row whose fields merge, instead of two rows that break
/// the one-per-parent rule when they meet.
const DERIVED_ID_NAMESPACE: Uuid = Uuid::from_u128(0x7d0a_8f3e_52c1_4b6a_9e2d_31f0_c4a7_b915);

/// The id of the one row of its kind that hangs off `parents` (see [`DERIVED_ID_NAMESPACE`]).
pub fn derived_id(kind: &str, parents: &[Uuid]) -> Uuid {
    let mut name = kind.as_bytes().to_vec();
    for p in parents {
        name.push(b':');
        name.extend_from_slice(p.as_bytes());
    }
    Uuid::new_v5(&DERIVED_ID_NAMESPACE, &name)
}

/// How many matching rows an ambiguous id prefix lists in its error.
const AMBIGUOUS_EXAMPLES: usize = 3;

/// Resolve a full id or a unique id prefix (at least 4 characters) of a user's row in `table`. A prefix
/// matching several rows is an error that says how many and shows a few (id and `label`, a column that
/// names the row, such as a trade's symbol), oldest first.
pub(crate) fn resolve_id(
    conn: &Connection,
    table: &str,
    what: &'static str,
    label: &str,
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
    let matching = format!("FROM {table} WHERE user_id = ?1 AND deleted = 0 AND id >= ?2 AND id < ?2 || 'g'");
    let user = user_id.to_string();
    let args = rusqlite::params![user, input];
    let ids: Vec<(String, String)> = conn
        .prepare_cached(&format!("SELECT id, {label} {matching} ORDER BY id LIMIT {}", AMBIGUOUS_EXAMPLES + 1))?
        .query_map(args, |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    match ids.as_slice() {
        [(one, _)] => Uuid::parse_str(one).map_err(|_| StoreError::corrupt(format!("bad id in {table}"))),
        [] => Err(StoreError::NotFound { what, id: input }),
        _ => {
            let count: i64 =
                conn.prepare_cached(&format!("SELECT count(*) {matching}"))?.query_row(args, |r| r.get(0))?;
            let count = usize::try_from(count).map_err(|_| StoreError::corrupt(format!("count of {table}")))?;
            let examples = ids.iter().take(AMBIGUOUS_EXAMPLES).map(|(id, label)| format!("{id} ({label})")).collect();
            Err(StoreError::Ambiguous { what, id: input, count, examples })
        }
    }
}
