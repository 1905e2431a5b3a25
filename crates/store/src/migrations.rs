//! Schema migrations for the local store: refinery applies the `up` scripts, we apply the `down` ones.
//!
//! The SQL lives in `migrations/local/{up,down}/V<n>__<name>.sql` at the repository root and is compiled
//! into the binary, so a store can always be brought to any version this build knows. refinery has no
//! notion of rollback, so [`rollback`] runs the matching `down` script and removes refinery's history row
//! in one transaction. A test migrates up to every N, down to N-1, and checks the schema equals a fresh
//! N-1 ([`schema_fingerprint`]).

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::error::{Result, StoreError};

/// One migration known to this build.
#[derive(Debug, Clone, Copy)]
pub struct MigrationDef {
    pub version: u32,
    pub name: &'static str,
    pub up: &'static str,
    pub down: &'static str,
}

macro_rules! migration {
    ($v:literal, $name:literal) => {
        MigrationDef {
            version: $v,
            name: $name,
            up: include_str!(concat!("../../../migrations/local/up/V", $v, "__", $name, ".sql")),
            down: include_str!(concat!("../../../migrations/local/down/V", $v, "__", $name, ".sql")),
        }
    };
}

/// Every local migration, in order. A test checks this list matches the files on disk.
pub const MIGRATIONS: &[MigrationDef] = &[
    migration!(1, "identity_and_accounts"),
    migration!(2, "trades_and_executions"),
    migration!(3, "journal_and_checklists"),
    migration!(4, "market_data_and_brokers"),
    migration!(5, "audit_and_outbox"),
    migration!(6, "sync_state"),
    migration!(7, "sync_apply_guard"),
    migration!(8, "merge_states_and_quarantine"),
    migration!(9, "broker_imports"),
    migration!(10, "one_change_log"),
    migration!(11, "stats_aggregates"),
    migration!(12, "trade_list_epoch"),
    migration!(13, "drop_executions_created_index"),
    migration!(14, "lazy_field_clock"),
];

/// The newest schema version this build knows.
pub fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// An applied migration as recorded in refinery's history table.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppliedMigration {
    pub version: u32,
    pub name: String,
    pub applied_on: String,
}

/// A migration this build knows but the store has not applied.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PendingMigration {
    pub version: u32,
    pub name: String,
}

fn has_history(conn: &Connection) -> Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'refinery_schema_history'", [], |_| {
            Ok(())
        })
        .optional()?
        .is_some())
}

/// Migrations applied to this store, oldest first.
pub fn applied(conn: &Connection) -> Result<Vec<AppliedMigration>> {
    if !has_history(conn)? {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare("SELECT version, name, applied_on FROM refinery_schema_history ORDER BY version")?;
    let rows = stmt.query_map([], |r| {
        Ok(AppliedMigration { version: r.get::<_, u32>(0)?, name: r.get(1)?, applied_on: r.get(2)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The store's schema version (0 for a store with nothing applied).
pub fn current_version(conn: &Connection) -> Result<u32> {
    Ok(applied(conn)?.last().map_or(0, |m| m.version))
}

/// Refuse to touch a store written by a newer build.
pub fn ensure_not_newer(conn: &Connection) -> Result<u32> {
    let found = current_version(conn)?;
    let known = latest_version();
    if found > known {
        return Err(StoreError::NewerSchema { found, known });
    }
    Ok(found)
}

/// Migrations not yet applied, oldest first.
pub fn pending(conn: &Connection) -> Result<Vec<PendingMigration>> {
    let current = ensure_not_newer(conn)?;
    Ok(MIGRATIONS
        .iter()
        .filter(|m| m.version > current)
        .map(|m| PendingMigration { version: m.version, name: m.name.to_string() })
        .collect())
}

fn refinery_set() -> Result<Vec<refinery::Migration>> {
    MIGRATIONS
        .iter()
        .map(|m| {
            refinery::Migration::unapplied(&format!("V{}__{}", m.version, m.name), m.up)
                .map_err(|e| StoreError::Migration(e.to_string()))
        })
        .collect()
}

/// Apply migrations up to `target` (default: latest). Each runs in one transaction together with its
/// history row, so a crash (kill -9, power loss) leaves the store at a whole version: refinery's own
/// non-grouped mode commits a migration's SQL and its history row in two transactions, and a crash
/// between the two left a schema that no later run could migrate ("table ... already exists"). Running
/// refinery grouped, one target version at a time, gives one transaction per migration. Returns the
/// versions applied.
pub fn migrate(conn: &mut Connection, target: Option<u32>) -> Result<Vec<u32>> {
    let current = ensure_not_newer(conn)?;
    let target = target.unwrap_or_else(latest_version);
    if target > latest_version() {
        return Err(StoreError::Invalid {
            field: "to",
            message: format!("no migration {target}; the newest is {}", latest_version()),
        });
    }
    // Foreign keys are off around each run (see `without_foreign_keys`).
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| m.version > current && m.version <= target) {
        let version = i32::try_from(m.version).map_err(|_| StoreError::Migration("version out of range".into()))?;
        let runner =
            refinery::Runner::new(&refinery_set()?).set_grouped(true).set_target(refinery::Target::Version(version));
        let report =
            without_foreign_keys(conn, |conn| runner.run(conn).map_err(|e| StoreError::Migration(e.to_string())))?;
        applied.extend(report.applied_migrations().iter().map(|m| m.version() as u32));
    }
    Ok(applied)
}

/// Run `f` with foreign-key enforcement off, as SQLite's procedure for rebuilding a table requires (a
/// table that others reference cannot be dropped and recreated otherwise; the pragma has no effect inside a
/// transaction, so it is set around the migrations' transactions). A migration that rebuilds a table ends
/// by proving `pragma_foreign_key_check` is empty, inside its own transaction. Enforcement is back on
/// afterwards whatever happened.
fn without_foreign_keys<T>(conn: &mut Connection, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let out = f(conn);
    let back = conn.execute_batch("PRAGMA foreign_keys = ON");
    let out = out?;
    back?;
    Ok(out)
}

/// Undo migrations down to version `to` (0 = empty), newest first, each in one transaction with the
/// removal of its history row. Returns the versions rolled back.
pub fn rollback(conn: &mut Connection, to: u32) -> Result<Vec<u32>> {
    let current = ensure_not_newer(conn)?;
    if to >= current {
        return Ok(Vec::new());
    }
    let mut done = Vec::new();
    without_foreign_keys(conn, |conn| {
        for m in MIGRATIONS.iter().rev().filter(|m| m.version > to && m.version <= current) {
            let tx = conn.transaction()?;
            tx.execute_batch(m.down)
                .map_err(|e| StoreError::Migration(format!("rolling back V{} {}: {e}", m.version, m.name)))?;
            tx.execute("DELETE FROM refinery_schema_history WHERE version = ?1", [m.version])?;
            tx.commit()?;
            done.push(m.version);
        }
        Ok(())
    })?;
    if to == 0 {
        conn.execute_batch("DROP TABLE IF EXISTS refinery_schema_history")?;
    }
    Ok(done)
}

/// A canonical description of the schema (tables with their columns, indexes, foreign keys, triggers),
/// used to prove that a rollback restores exactly the previous schema. refinery's own table is left out.
pub fn schema_fingerprint(conn: &Connection) -> Result<String> {
    let mut out = String::new();
    let mut objects = conn.prepare(
        "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master \
         WHERE name NOT LIKE 'sqlite_%' AND tbl_name <> 'refinery_schema_history' ORDER BY type, name",
    )?;
    let rows: Vec<(String, String, String, String)> =
        objects.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?;
    for (kind, name, table, sql) in rows {
        match kind.as_str() {
            "table" => {
                out.push_str(&format!("table {name}\n"));
                let mut cols = conn.prepare(&format!("PRAGMA table_xinfo(\"{name}\")"))?;
                let cols = cols.query_map([], |r| {
                    Ok(format!(
                        "  col {} {} notnull={} default={:?} pk={} hidden={}\n",
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, i64>(6)?
                    ))
                })?;
                for c in cols {
                    out.push_str(&c?);
                }
                let mut fks = conn.prepare(&format!("PRAGMA foreign_key_list(\"{name}\")"))?;
                let fks = fks.query_map([], |r| {
                    Ok(format!(
                        "  fk {} -> {}.{:?}\n",
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(4)?
                    ))
                })?;
                for f in fks {
                    out.push_str(&f?);
                }
                let strict_or_rowid = sql.to_uppercase();
                out.push_str(&format!(
                    "  strict={} without_rowid={}\n",
                    strict_or_rowid.contains("STRICT"),
                    strict_or_rowid.contains("WITHOUT ROWID")
                ));
            }
            _ => out.push_str(&format!("{kind} {name} on {table}: {}\n", normalize_sql(&sql))),
        }
    }
    Ok(out)
}

fn normalize_sql(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}
