//! Backups, restores and integrity checks.
//!
//! Backups use SQLite's online backup API into a file keyed with the store's own key, so a backup is as
//! encrypted as the store and can be taken while the app is running. A backup is written to a temporary
//! name and renamed into place only when complete. Restore first opens and checks the backup (right key,
//! intact pages, a schema this build understands), keeps a safety copy of the current store, then copies
//! the backup over the live database in one step.

use std::path::{Path, PathBuf};

use chrono::Utc;
use rusqlite::backup::Backup;
use serde::Serialize;

use crate::db::{connect, Store};
use crate::error::{Result, StoreError};
use crate::migrations;

/// The result of `db check`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IntegrityReport {
    /// `PRAGMA integrity_check`: b-tree and index consistency ("ok" when sound).
    pub integrity: Vec<String>,
    /// `PRAGMA cipher_integrity_check`: HMAC verification of every page (empty when sound).
    pub cipher_integrity: Vec<String>,
    /// `PRAGMA foreign_key_check` violations as "table rowid -> parent".
    pub foreign_keys: Vec<String>,
}

impl IntegrityReport {
    pub fn is_ok(&self) -> bool {
        self.integrity == ["ok"] && self.cipher_integrity.is_empty() && self.foreign_keys.is_empty()
    }
}

fn strings(conn: &rusqlite::Connection, sql: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(sql)?;
    let n = stmt.column_count();
    let rows = stmt.query_map([], |r| {
        let mut parts = Vec::with_capacity(n);
        for i in 0..n {
            let v: rusqlite::types::Value = r.get(i)?;
            parts.push(match v {
                rusqlite::types::Value::Null => "null".to_string(),
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                rusqlite::types::Value::Real(_) | rusqlite::types::Value::Blob(_) => "?".to_string(),
            });
        }
        Ok(parts.join(" "))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn check_conn(conn: &rusqlite::Connection) -> Result<IntegrityReport> {
    Ok(IntegrityReport {
        integrity: strings(conn, "PRAGMA integrity_check")?,
        cipher_integrity: strings(conn, "PRAGMA cipher_integrity_check")?,
        foreign_keys: strings(conn, "PRAGMA foreign_key_check")?,
    })
}

impl Store {
    /// Copy the whole store, still encrypted with its key, to `dest` (which must not exist yet).
    pub fn backup_to(&self, dest: &Path) -> Result<u64> {
        if dest.exists() {
            return Err(StoreError::Invalid {
                field: "file",
                message: format!("{} already exists; choose a new file name", dest.display()),
            });
        }
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
        }
        let tmp = dest.with_extension("partial");
        let _ = std::fs::remove_file(&tmp);
        let result = (|| {
            let mut dst = connect(&tmp, self.key(), true, false)?;
            // The backup must not be left in WAL mode or the copy would live partly in a -wal file.
            dst.execute_batch("PRAGMA journal_mode = DELETE;")?;
            self.read(|src| {
                let backup = Backup::new(src, &mut dst)?;
                backup.step(-1)?;
                Ok::<_, StoreError>(())
            })?;
            drop(dst);
            std::fs::rename(&tmp, dest).map_err(|e| StoreError::io(dest, e))?;
            Ok(std::fs::metadata(dest).map_err(|e| StoreError::io(dest, e))?.len())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// The automatic backup taken before a schema change; returns where it went.
    pub fn backup_before(&self, what: &str, version: u32) -> Result<PathBuf> {
        let name = format!("pre-{what}-v{version}-{}.db", Utc::now().format("%Y%m%dT%H%M%S%.6fZ"));
        let dest = self.paths().backups.join(name);
        self.backup_to(&dest)?;
        Ok(dest)
    }

    /// Replace the store's contents with the backup at `src`. The current contents are saved to the
    /// backups folder first. Returns the safety copy's path.
    pub fn restore_from(&self, src: &Path) -> Result<PathBuf> {
        if !src.is_file() {
            return Err(StoreError::Invalid { field: "file", message: format!("{} is not a file", src.display()) });
        }
        let backup = connect(src, self.key(), false, true).map_err(|e| match e {
            StoreError::WrongKey(_) => StoreError::Invalid {
                field: "file",
                message: format!(
                    "{} is not a backup of this store (it does not open with this store's key)",
                    src.display()
                ),
            },
            other => other,
        })?;
        let version = migrations::ensure_not_newer(&backup)?;
        if version == 0 {
            return Err(StoreError::Invalid {
                field: "file",
                message: format!("{} holds no TrendDojo schema", src.display()),
            });
        }
        let report = check_conn(&backup)?;
        if !report.is_ok() {
            return Err(StoreError::Invalid {
                field: "file",
                message: format!("{} failed its integrity check: {:?}", src.display(), report),
            });
        }
        let current = self.with_writer(|c| migrations::current_version(c))?;
        let safety = self.backup_before("restore", current)?;
        self.with_writer(|dst| {
            let backup_op = Backup::new(&backup, dst)?;
            backup_op.step(-1)?;
            Ok(())
        })?;
        Ok(safety)
    }

    /// Run SQLite's, SQLCipher's and the foreign-key integrity checks.
    pub fn check(&self) -> Result<IntegrityReport> {
        self.with_writer(|c| check_conn(c))
    }
}
