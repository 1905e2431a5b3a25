//! Backups a trader can actually restore, and integrity checks.
//!
//! # The backup file
//! A backup is one self-contained file: everything needed to open it travels inside it, so it restores on
//! a machine that has never seen the store (empty data folder, no keyring entry), with the passphrase in
//! use when it was made or with the recovery key.
//!
//! ```text
//! "TRENDDOJO-BACKUP\0"   17 bytes, magic
//! format                 u16 big-endian (1)
//! header length          u32 big-endian
//! header                 JSON: store id, schema version, created-at, app version, kind, key method,
//!                        Argon2id parameters + salt + passphrase wrap (or "direct" for old stores),
//!                        recovery wrap, key check value, database length and SHA-256
//! header MAC             32 bytes: HMAC-SHA256 under HKDF(K, "trenddojo backup header mac v1") over
//!                        everything before it
//! database               the SQLCipher file, still encrypted with K (every page carries its own HMAC)
//! ```
//!
//! Why this shape: the wraps must be readable *before* the key is known, so the header is plaintext JSON
//! (it holds no secret: wraps are AES-256-GCM ciphertext, the check value a MAC). Once a wrap yields `K`,
//! the header MAC proves the rest of the header (schema version, lengths, the SHA-256) came with that key
//! unaltered, and the SHA-256 in it proves the database bytes are whole, before a single page is handed to
//! SQLite. The SHA-256 alone (no key needed) is what lets [`newest_good_backup`] find an intact backup for
//! a store whose key cannot be used right now.
//!
//! # Making one
//! SQLite's online backup API copies the store (through its own key, so a page that does not authenticate
//! fails the copy) into a temporary database in the data folder's `.tmp/`, which must then pass
//! `integrity_check` (every page it reads is decrypted and authenticated) before it counts. The container is written beside the
//! destination under a hidden temporary name, flushed, renamed into place and the folder flushed: a crash
//! or a full disk leaves no file that looks like a backup. Files are created 0600; `backups/` is 0700.
//!
//! # Automatic backups
//! Before every schema change (`pre-migrate-…`, `pre-rollback-…`, `pre-reset-…`), and once a day on open:
//! the store keeps the newest N `daily-…` backups (N in `store_meta.daily_backups_keep`, default 7, 0
//! turns them off), pruning the oldest only after a new one has passed its checks. The time in the file
//! name is what counts as the backup's age.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::backup::Backup;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::{connect, Store, StorePaths};
use crate::error::{Result, StoreError};
use crate::fsutil;
use crate::key::{KdfParams, KeyInfo, StoreKey, Wrapped};
use crate::migrations;

/// The first bytes of every backup file.
pub const BACKUP_MAGIC: &[u8; 17] = b"TRENDDOJO-BACKUP\0";
/// The container format this build writes (and the newest it reads).
pub const BACKUP_FORMAT: u16 = 1;
/// The file name extension of backups the store makes itself.
pub const BACKUP_EXT: &str = "tdbackup";
/// Daily backups kept when the store does not say otherwise.
pub const DEFAULT_DAILY_KEEP: u32 = 7;
const MAX_HEADER: u32 = 1 << 20;
const HEADER_MAC_INFO: &[u8] = b"trenddojo backup header mac v1";
const NAME_TIME: &str = "%Y%m%dT%H%M%S%.6fZ";

/// The header of a backup file (plaintext; authenticated by the MAC that follows it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupHeader {
    pub store_id: Uuid,
    pub schema_version: u32,
    pub created_at: String,
    pub app_version: String,
    /// manual, daily, pre-migrate, pre-rollback, pre-reset, pre-recover...
    pub kind: String,
    /// How the store was unlocked when the backup was made: passphrase or keyring.
    pub key_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdf: Option<KdfParams>,
    /// K wrapped under the passphrase (absent for keyring stores and for old passphrase stores, whose key
    /// is the Argon2id output itself: then `passphrase_direct` is true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_wrap: Option<Wrapped>,
    #[serde(default)]
    pub passphrase_direct: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_wrap: Option<Wrapped>,
    pub key_check: String,
    pub db_bytes: u64,
    pub db_sha256: String,
}

impl BackupHeader {
    /// The key material view used to unwrap K.
    pub(crate) fn wraps(&self) -> crate::key::Wraps<'_> {
        crate::key::Wraps {
            store_id: self.store_id,
            method: if self.passphrase_direct { "passphrase" } else { &self.key_method },
            kdf: self.kdf.as_ref(),
            passphrase_wrap: self.passphrase_wrap.as_ref(),
            recovery_wrap: self.recovery_wrap.as_ref(),
            key_check: Some(&self.key_check),
        }
    }
}

/// An opened backup container: its header, where the database bytes start, and what the MAC covers.
#[derive(Debug, Clone)]
pub(crate) struct Container {
    pub path: PathBuf,
    pub header: BackupHeader,
    signed: Vec<u8>,
    mac: [u8; 32],
    pub body_offset: u64,
}

fn bad(path: &Path, what: impl Into<String>) -> StoreError {
    StoreError::BadBackup { path: path.to_path_buf(), what: what.into() }
}

impl Container {
    /// Read a backup's header. `Ok(None)` for a file without the magic (a plain SQLCipher backup from
    /// before the container existed).
    pub(crate) fn open(path: &Path) -> Result<Option<Container>> {
        let mut f = std::fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
        let len = f.metadata().map_err(|e| StoreError::io(path, e))?.len();
        let mut magic = [0u8; 17];
        if len < 17 {
            return if len == 0 { Err(bad(path, "the file is empty (0 bytes)")) } else { Ok(None) };
        }
        f.read_exact(&mut magic).map_err(|e| StoreError::io(path, e))?;
        if &magic != BACKUP_MAGIC {
            // A SQLCipher file starts with 16 random salt bytes: all zeros is a zeroed file, not a backup.
            let mut head = vec![0u8; 4096.min(len as usize)];
            std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0)).map_err(|e| StoreError::io(path, e))?;
            f.read_exact(&mut head).map_err(|e| StoreError::io(path, e))?;
            if head.iter().all(|b| *b == 0) {
                return Err(bad(path, "the file is all zero bytes: it was zeroed"));
            }
            return Ok(None);
        }
        let mut fixed = [0u8; 6];
        f.read_exact(&mut fixed).map_err(|_| bad(path, "the backup is cut short inside its header"))?;
        let format = u16::from_be_bytes([fixed[0], fixed[1]]);
        if format > BACKUP_FORMAT {
            return Err(StoreError::NewerFormat {
                file: path.to_path_buf(),
                found: u32::from(format),
                known: u32::from(BACKUP_FORMAT),
            });
        }
        if format == 0 {
            return Err(bad(path, "the format field is 0: the header is damaged"));
        }
        let hlen = u32::from_be_bytes([fixed[2], fixed[3], fixed[4], fixed[5]]);
        if hlen == 0 || hlen > MAX_HEADER || u64::from(hlen) + 17 + 6 + 32 > len {
            return Err(bad(
                path,
                format!("the header length {hlen} does not fit the file: it is damaged or cut short"),
            ));
        }
        let mut json = vec![0u8; hlen as usize];
        f.read_exact(&mut json).map_err(|_| bad(path, "the backup is cut short inside its header"))?;
        let mut mac = [0u8; 32];
        f.read_exact(&mut mac).map_err(|_| bad(path, "the backup is cut short inside its header"))?;
        let header: BackupHeader = serde_json::from_slice(&json)
            .map_err(|e| bad(path, format!("the header is damaged (not the JSON this build writes: {e})")))?;
        let mut signed = Vec::with_capacity(23 + json.len());
        signed.extend_from_slice(&magic);
        signed.extend_from_slice(&fixed);
        signed.extend_from_slice(&json);
        let body_offset = 17 + 6 + u64::from(hlen) + 32;
        Ok(Some(Container { path: path.to_path_buf(), header, signed, mac, body_offset }))
    }

    /// Does the header MAC verify under `key`? (Run after a wrap yielded the key.)
    pub(crate) fn verify_mac(&self, key: &StoreKey) -> Result<()> {
        let mac_key = key.subkey(HEADER_MAC_INFO)?;
        let k = StoreKey::from_bytes(mac_key.as_ref())?;
        if k.verify_mac(&[&self.signed], &self.mac) {
            Ok(())
        } else {
            Err(bad(&self.path, "the header was altered or damaged (its MAC does not verify)"))
        }
    }

    /// Stream the database bytes to `out` (or nowhere), checking length and SHA-256 against the header.
    pub(crate) fn copy_body(&self, out: Option<&mut std::fs::File>, out_path: &Path) -> Result<()> {
        let mut f = std::fs::File::open(&self.path).map_err(|e| StoreError::io(&self.path, e))?;
        let len = f.metadata().map_err(|e| StoreError::io(&self.path, e))?.len();
        let have = len.saturating_sub(self.body_offset);
        if have != self.header.db_bytes {
            return Err(bad(
                &self.path,
                format!(
                    "the backup is {} ({} of {} database bytes)",
                    if have < self.header.db_bytes { "cut short" } else { "longer than it was written" },
                    have,
                    self.header.db_bytes
                ),
            ));
        }
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(self.body_offset))
            .map_err(|e| StoreError::io(&self.path, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut out = out;
        loop {
            let n = f.read(&mut buf).map_err(|e| StoreError::io(&self.path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            if let Some(o) = out.as_deref_mut() {
                o.write_all(&buf[..n]).map_err(|e| fsutil::write_error(out_path, e))?;
            }
        }
        if hex::encode(hasher.finalize()) != self.header.db_sha256 {
            return Err(bad(&self.path, "the database bytes are damaged (their SHA-256 does not match the header)"));
        }
        Ok(())
    }
}

/// A backup found in the store's `backups/` folder.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BackupEntry {
    pub path: PathBuf,
    pub kind: String,
    pub created_at: String,
    pub schema_version: Option<u32>,
    pub bytes: u64,
    /// Whole and unaltered (length and SHA-256 as recorded); `None` for old plain backups, which can only
    /// be checked with the store's key.
    pub intact: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The backups in `backups/`, newest first, each checked for completeness (no key needed).
pub fn list_backups(paths: &StorePaths) -> Vec<BackupEntry> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(&paths.backups) else { return out };
    for e in rd.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !path.is_file() {
            continue;
        }
        let bytes = e.metadata().map(|m| m.len()).unwrap_or(0);
        let entry = match Container::open(&path) {
            Ok(Some(c)) => {
                let check = c.copy_body(None, &path);
                BackupEntry {
                    kind: c.header.kind.clone(),
                    created_at: c.header.created_at.clone(),
                    schema_version: Some(c.header.schema_version),
                    bytes,
                    intact: Some(check.is_ok()),
                    problem: check.err().map(|e| e.to_string()),
                    path,
                }
            }
            Ok(None) => BackupEntry {
                kind: "plain".into(),
                created_at: name_time(&name).map(crate::clock::fmt_ts).unwrap_or_default(),
                schema_version: None,
                bytes,
                intact: None,
                problem: None,
                path,
            },
            Err(err) => BackupEntry {
                kind: name.split('-').next().unwrap_or("unknown").to_string(),
                created_at: name_time(&name).map(crate::clock::fmt_ts).unwrap_or_default(),
                schema_version: None,
                bytes,
                intact: Some(false),
                problem: Some(err.to_string()),
                path,
            },
        };
        out.push(entry);
    }
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.path.cmp(&a.path)));
    out
}

/// The newest backup in `backups/` that is whole and unaltered.
pub fn newest_good_backup(paths: &StorePaths) -> Option<BackupEntry> {
    list_backups(paths).into_iter().find(|b| b.intact == Some(true))
}

/// The time a store-made backup's name carries (`daily-20260309T134500.000000Z.tdbackup`).
fn name_time(name: &str) -> Option<DateTime<Utc>> {
    let stem = name.strip_suffix(&format!(".{BACKUP_EXT}")).or_else(|| name.strip_suffix(".db"))?;
    let t = stem.rsplit('-').next()?;
    NaiveDateTime::parse_from_str(t, NAME_TIME).ok().map(|n| n.and_utc())
}

/// The result of `db check`'s SQLite part.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct IntegrityReport {
    /// `PRAGMA integrity_check`: b-tree and index consistency ("ok" when sound).
    pub integrity: Vec<String>,
    /// `PRAGMA cipher_integrity_check`: HMAC verification of every page (empty when sound).
    pub cipher_integrity: Vec<String>,
    /// `PRAGMA foreign_key_check` violations as "table rowid -> parent".
    pub foreign_keys: Vec<String>,
    /// Checks that could not run at all (the damage stopped them), with SQLite's error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_checks: Vec<String>,
}

impl IntegrityReport {
    pub fn is_ok(&self) -> bool {
        self.integrity == ["ok"]
            && self.cipher_integrity.is_empty()
            && self.foreign_keys.is_empty()
            && self.failed_checks.is_empty()
    }

    /// Is the file itself damaged (as opposed to only logical foreign-key problems)?
    pub fn pages_damaged(&self) -> bool {
        self.integrity != ["ok"] || !self.cipher_integrity.is_empty() || !self.failed_checks.is_empty()
    }

    /// One line: how many problems of which kind, and which tables and indexes they touch.
    pub fn summary(&self, objects: &[(i64, String)]) -> String {
        if self.is_ok() {
            return "integrity, page authentication and foreign keys pass".into();
        }
        let mut parts = Vec::new();
        let problems: Vec<&String> =
            self.integrity.iter().filter(|l| l.as_str() != "ok" && !l.starts_with("***")).collect();
        if !problems.is_empty() {
            let mut touched: Vec<String> = Vec::new();
            for l in &problems {
                for w in l.split_whitespace().collect::<Vec<_>>().windows(2) {
                    if w[0] == "Tree" || w[0] == "page" {
                        if let Ok(n) = w[1].trim_end_matches(':').parse::<i64>() {
                            if let Some((_, name)) = objects.iter().find(|(root, _)| *root == n) {
                                if !touched.contains(name) {
                                    touched.push(name.clone());
                                }
                            }
                        }
                    }
                }
            }
            parts.push(format!(
                "integrity_check: {} problem(s){}",
                problems.len(),
                if touched.is_empty() { String::new() } else { format!(" in {}", touched.join(", ")) }
            ));
        }
        if !self.cipher_integrity.is_empty() {
            let pages: Vec<String> = self
                .cipher_integrity
                .iter()
                .filter_map(|l| l.rsplit(' ').next().map(str::to_string))
                .take(10)
                .collect();
            parts.push(format!(
                "{} page(s) fail authentication (page {}{})",
                self.cipher_integrity.len(),
                pages.join(", "),
                if self.cipher_integrity.len() > pages.len() { ", ..." } else { "" }
            ));
        }
        if !self.foreign_keys.is_empty() {
            parts.push(format!("{} foreign-key violation(s)", self.foreign_keys.len()));
        }
        for f in &self.failed_checks {
            parts.push(f.clone());
        }
        parts.join("; ")
    }
}

fn strings(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
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
    let mut out = Vec::new();
    for r in rows {
        // integrity_check returns its findings as lines, sometimes several in one row.
        out.extend(r?.lines().map(str::to_string));
    }
    Ok(out)
}

/// Run the checks, recording a check that could not run instead of failing: damage must be reported,
/// not turned into "database disk image is malformed".
pub(crate) fn check_conn(conn: &rusqlite::Connection) -> IntegrityReport {
    check_with(conn, true)
}

/// The checks a fresh copy gets before it counts (a backup, a restore before it is installed, a salvaged
/// store): `integrity_check` and the foreign keys. `cipher_integrity_check` is left out: every page
/// `integrity_check` reads is decrypted and its HMAC verified on the way, so it would read the file a
/// second time to check only the free pages (measured: a backup of a 316 MiB store took a third less).
pub(crate) fn check_copy(conn: &rusqlite::Connection) -> IntegrityReport {
    check_with(conn, false)
}

fn check_with(conn: &rusqlite::Connection, cipher: bool) -> IntegrityReport {
    let mut failed = Vec::new();
    let mut run = |name: &str, sql: &str| match strings(conn, sql) {
        Ok(v) => v,
        Err(e) => {
            failed.push(format!("{name} could not finish: {e}"));
            Vec::new()
        }
    };
    let integrity = run("integrity_check", "PRAGMA integrity_check(100)");
    let cipher_integrity =
        if cipher { run("cipher_integrity_check", "PRAGMA cipher_integrity_check") } else { Vec::new() };
    let foreign_keys = run("foreign_key_check", "PRAGMA foreign_key_check");
    IntegrityReport { integrity, cipher_integrity, foreign_keys, failed_checks: failed }
}

/// Root pages of tables and indexes, to name what integrity_check's "Tree N" lines touch.
pub(crate) fn root_pages(conn: &rusqlite::Connection) -> Vec<(i64, String)> {
    let Ok(mut stmt) = conn.prepare("SELECT rootpage, name FROM sqlite_master WHERE rootpage > 0") else {
        return Vec::new();
    };
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map(|rows| rows.filter_map(std::result::Result::ok).collect())
        .unwrap_or_default()
}

/// What a finished backup is.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BackupOutcome {
    pub path: PathBuf,
    pub bytes: u64,
    pub schema_version: u32,
    pub created_at: String,
    pub kind: String,
    /// The backup opens with the recovery key too.
    pub recovery_key: bool,
    /// The backup opens with the passphrase in use now.
    pub passphrase: bool,
}

impl Store {
    /// Back the store up to `dest` (which must not exist; its folder must). See the module docs.
    pub fn backup_to(&self, dest: &Path) -> Result<u64> {
        Ok(self.backup_as(dest, "manual")?.bytes)
    }

    /// [`Store::backup_to`], saying what kind of backup it is and returning everything about it.
    pub fn backup_as(&self, dest: &Path, kind: &str) -> Result<BackupOutcome> {
        if dest.exists() {
            return Err(StoreError::Invalid {
                field: "file",
                message: format!("{} already exists; choose a new file name", dest.display()),
            });
        }
        let folder = fsutil::parent_of(dest);
        if !folder.is_dir() {
            return Err(StoreError::Invalid {
                field: "file",
                message: format!("the folder {} does not exist; create it first", folder.display()),
            });
        }
        let tmp_dir = self.paths().tmp_dir();
        fsutil::private_dir(&tmp_dir)?;
        let tmp_db = tmp_dir.join(format!("backup-{}.db", Uuid::now_v7().simple()));
        remove_stale_partials(dest);
        let partial = fsutil::temp_beside(dest, "partial");
        let guards = (fsutil::mark_in_use(&tmp_db)?, fsutil::mark_in_use(&partial)?);
        let result = self.write_backup(dest, &partial, &tmp_db, kind);
        for p in [&tmp_db, &partial] {
            let _ = fsutil::remove_if_exists(p);
        }
        let _ = fsutil::remove_if_exists(&tmp_db.with_extension("db-journal"));
        drop(guards);
        result
    }

    fn write_backup(&self, dest: &Path, partial: &Path, tmp_db: &Path, kind: &str) -> Result<BackupOutcome> {
        let schema_version = {
            let mut dst = connect(tmp_db, self.key(), true, false).map_err(disk_full_as(tmp_db))?;
            fsutil::restrict(tmp_db, 0o600)?;
            // The copy must be one file: no WAL beside it.
            dst.execute_batch("PRAGMA journal_mode = DELETE;").map_err(|e| disk_full_as(tmp_db)(e.into()))?;
            let version = self.read(|src| {
                let version = migrations::current_version(src)?;
                let backup = Backup::new(src, &mut dst)?;
                backup.step(-1)?;
                Ok::<_, StoreError>(version)
            });
            let version = version.map_err(disk_full_as(tmp_db))?;
            let report = check_copy(&dst);
            if report.pages_damaged() {
                let what = format!("a backup copy failed its integrity check: {}", report.summary(&root_pages(&dst)));
                return Err(crate::damage::damaged(self.paths(), what));
            }
            version
        };
        fsutil::sync_file(tmp_db)?;
        let (db_bytes, db_sha256) = hash_file(tmp_db)?;
        let info = self.key_info();
        let header = BackupHeader {
            store_id: info.store_id,
            schema_version,
            created_at: crate::clock::fmt_ts(Utc::now()),
            app_version: env!("CARGO_PKG_VERSION").to_string(),
            kind: kind.to_string(),
            key_method: info.method.clone(),
            kdf: info.kdf.clone(),
            passphrase_wrap: info.passphrase_wrap.clone(),
            passphrase_direct: info.passphrase_is_direct(),
            recovery_wrap: info.recovery_wrap.clone(),
            key_check: self.key().check_value(),
            db_bytes,
            db_sha256,
        };
        write_container(self.key(), &header, tmp_db, partial)?;
        fsutil::rename_durable(partial, dest)?;
        let bytes = std::fs::metadata(dest).map_err(|e| StoreError::io(dest, e))?.len();
        Ok(BackupOutcome {
            path: dest.to_path_buf(),
            bytes,
            schema_version,
            created_at: header.created_at,
            kind: header.kind,
            recovery_key: header.recovery_wrap.is_some(),
            passphrase: header.kdf.is_some(),
        })
    }

    /// The automatic backup taken before a schema change; returns where it went.
    pub fn backup_before(&self, what: &str, version: u32) -> Result<PathBuf> {
        let dest = self.auto_backup_path(&format!("pre-{what}-v{version}"))?;
        self.backup_as(&dest, &format!("pre-{what}"))?;
        Ok(dest)
    }

    fn auto_backup_path(&self, prefix: &str) -> Result<PathBuf> {
        fsutil::private_dir(&self.paths().backups)?;
        let name = format!("{prefix}-{}.{BACKUP_EXT}", Utc::now().format(NAME_TIME));
        Ok(self.paths().backups.join(name))
    }

    /// How many daily backups the store keeps (0: none).
    pub fn daily_backups_keep(&self) -> Result<u32> {
        let v = self.read(|c| crate::db::meta_get(c, "daily_backups_keep"))?;
        Ok(v.and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_DAILY_KEEP))
    }

    /// Keep `n` daily backups from now on (0 turns them off; existing ones are pruned at the next one).
    pub fn set_daily_backups_keep(&self, n: u32) -> Result<()> {
        self.write(|tx| crate::db::meta_set(tx, "daily_backups_keep", &n.to_string()))
    }

    /// Take today's backup if the newest daily one is a day old or more, then prune to the newest N.
    /// Returns the new backup, if one was taken. A damaged store takes none (it would fail its check).
    pub fn daily_backup_if_due(&self) -> Result<Option<PathBuf>> {
        if self.is_damaged() {
            return Ok(None);
        }
        let keep = self.daily_backups_keep()?;
        if keep == 0 {
            return Ok(None);
        }
        let now = Utc::now();
        let mut daily = daily_backups(self.paths());
        if daily.first().is_some_and(|(t, _)| now.signed_duration_since(*t) < chrono::Duration::days(1)) {
            return Ok(None);
        }
        let dest = self.auto_backup_path("daily")?;
        self.backup_as(&dest, "daily")?;
        daily.insert(0, (now, dest.clone()));
        for (_, old) in daily.iter().skip(keep as usize) {
            fsutil::remove_if_exists(old)?;
        }
        fsutil::sync_dir(&self.paths().backups)?;
        Ok(Some(dest))
    }

    /// Run SQLite's, SQLCipher's and the foreign-key integrity checks. Damage found is recorded (the
    /// store then refuses writes); a clean result clears an earlier record.
    pub fn check(&self) -> Result<IntegrityReport> {
        let report = self.with_writer(|c| Ok(check_conn(c)))?;
        if report.pages_damaged() {
            let objects = self.with_writer(|c| Ok(root_pages(c)))?;
            crate::damage::mark(self.paths(), &report.summary(&objects));
            self.set_damaged();
        } else if report.is_ok() {
            crate::damage::clear(self.paths())?;
            self.clear_damaged();
        }
        Ok(report)
    }

    /// [`IntegrityReport::summary`] with this store's table and index names.
    pub fn check_summary(&self, report: &IntegrityReport) -> String {
        let objects = self.with_writer(|c| Ok(root_pages(c))).unwrap_or_default();
        report.summary(&objects)
    }
}

/// Remove what a crashed backup to `dest` left beside it (`.<name>.partial-*`): the folder may be the
/// user's own, which no open of the store cleans.
fn remove_stale_partials(dest: &Path) {
    let Some(name) = dest.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
    let prefix = format!(".{name}.partial-");
    fsutil::remove_leftovers(&fsutil::parent_of(dest), |n| n.starts_with(&prefix));
}

/// Daily backups, newest first, with the time in their names.
fn daily_backups(paths: &StorePaths) -> Vec<(DateTime<Utc>, PathBuf)> {
    let mut out: Vec<(DateTime<Utc>, PathBuf)> = std::fs::read_dir(&paths.backups)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if !name.starts_with("daily-") {
                        return None;
                    }
                    name_time(&name).map(|t| (t, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|b| std::cmp::Reverse(b.0));
    out
}

/// SQLite reports a full disk (or a file-size limit) as SQLITE_FULL or an I/O error: say it plainly.
fn disk_full_as(path: &Path) -> impl Fn(StoreError) -> StoreError + '_ {
    move |e| match &e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
            if matches!(f.code, rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::SystemIoFailure) =>
        {
            StoreError::DiskFull {
                path: path.to_path_buf(),
                reason: format!("{e} (the disk is full, or a file-size limit was reached)"),
            }
        }
        _ => e,
    }
}

fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut f = std::fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n_total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| StoreError::io(path, e))?;
        if n == 0 {
            break;
        }
        n_total += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((n_total, hex::encode(hasher.finalize())))
}

/// Write header, MAC and the database at `db` into a new file `out` (0600), flushed.
pub(crate) fn write_container(key: &StoreKey, header: &BackupHeader, db: &Path, out: &Path) -> Result<()> {
    let json = serde_json::to_vec(header).map_err(|e| StoreError::corrupt(e.to_string()))?;
    let hlen = u32::try_from(json.len()).map_err(|_| StoreError::corrupt("backup header too large"))?;
    let mut signed = Vec::with_capacity(23 + json.len());
    signed.extend_from_slice(BACKUP_MAGIC);
    signed.extend_from_slice(&BACKUP_FORMAT.to_be_bytes());
    signed.extend_from_slice(&hlen.to_be_bytes());
    signed.extend_from_slice(&json);
    let mac_key = StoreKey::from_bytes(key.subkey(HEADER_MAC_INFO)?.as_ref())?;
    let mac = mac_key.mac(&[&signed]);
    let mut f = fsutil::create_private(out)?;
    let w = |f: &mut std::fs::File, b: &[u8]| f.write_all(b).map_err(|e| fsutil::write_error(out, e));
    w(&mut f, &signed)?;
    w(&mut f, &mac)?;
    let mut src = std::fs::File::open(db).map_err(|e| StoreError::io(db, e))?;
    std::io::copy(&mut src, &mut f).map_err(|e| fsutil::write_error(out, e))?;
    f.sync_all().map_err(|e| fsutil::write_error(out, e))?;
    Ok(())
}

/// The store's key info as a backup header would record it (used by restore to rebuild keyinfo.json).
pub(crate) fn keyinfo_from_header(h: &BackupHeader) -> KeyInfo {
    KeyInfo {
        format: crate::key::KEYINFO_FORMAT,
        store_id: h.store_id,
        method: h.key_method.clone(),
        kdf: h.kdf.clone(),
        passphrase_wrap: h.passphrase_wrap.clone(),
        recovery_wrap: h.recovery_wrap.clone(),
        recovery_pending: None,
        key_check: Some(h.key_check.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// A backup file is untrusted input: whatever its bytes, reading its header never panics.
        #[test]
        fn any_bytes_after_the_magic_are_refused_or_read_never_a_panic(
            rest in proptest::collection::vec(any::<u8>(), 0..400),
            hlen in any::<u32>(),
            use_len in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().expect("dir");
            let p = dir.path().join("x.tdbackup");
            let mut b = BACKUP_MAGIC.to_vec();
            b.extend_from_slice(&1u16.to_be_bytes());
            if use_len {
                b.extend_from_slice(&(hlen % 300).to_be_bytes());
            }
            b.extend_from_slice(&rest);
            std::fs::write(&p, &b).expect("write");
            if let Ok(Some(c)) = Container::open(&p) {
                let _ = c.copy_body(None, &p);
            }
        }
    }

    #[test]
    fn store_made_backup_names_carry_their_time() {
        let t = name_time("daily-20260309T134500.123456Z.tdbackup").expect("parses");
        assert_eq!(crate::clock::fmt_ts(t), "2026-03-09T13:45:00.123456Z", "time from the name");
        assert!(name_time("pre-migrate-v3-20260309T134500.000000Z.db").is_some(), "old plain names too");
        assert_eq!(name_time("mine.tdbackup"), None, "a name without a time has none");
    }

    #[test]
    fn a_report_summary_names_the_damaged_tables() {
        let r = IntegrityReport {
            integrity: vec![
                "*** in database main ***".into(),
                "Tree 5 page 7: btreeInitPage() returns error code 11".into(),
            ],
            cipher_integrity: vec!["HMAC verification failed for page 7".into()],
            foreign_keys: vec![],
            failed_checks: vec![],
        };
        let s = r.summary(&[(5, "executions".into()), (9, "trades".into())]);
        assert!(s.contains("in executions") && !s.contains("trades"), "names the tree's table: {s}");
        assert!(s.contains("1 page(s) fail authentication (page 7)"), "counts bad pages: {s}");
        assert!(!r.is_ok() && r.pages_damaged(), "damage is not ok");
    }
}
