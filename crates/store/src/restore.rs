//! Restoring a backup, on this machine or on one that has never seen the store, and installing a new
//! database file (restore and salvage) so that a crash at any instant leaves the old store or the new one,
//! never half of each.
//!
//! # Opening the backup
//! The key is found in this order: the current store's own key (same store id, same key check value: no
//! secret needed, even when the backup was made under an older passphrase), the recovery key, the
//! passphrase (against the wrap recorded in the backup, i.e. the passphrase in use when it was made), and
//! finally the OS keyring entry of the backup's store id (a machine whose data folder was lost but whose
//! keyring was not). The header MAC and the database's SHA-256 are verified before SQLite sees a page;
//! the database is then written to `.tmp/` in the data folder, opened with the key, checked
//! (`integrity_check`, `cipher_integrity_check`), refused if its schema is newer than this build,
//! migrated if older, and only then installed. Until the install, the current store is untouched.
//!
//! A backup of *another* store is refused while this data folder holds a store: replacing one store by
//! another is not a restore (restore it into an empty data folder instead). Plain SQLCipher backups made
//! before the container existed still restore, with the current store's key.
//!
//! # Installing
//! [`install`] never deletes anything: it moves the current files (`trenddojo.db`, its WAL and shared
//! memory, `damaged.json`, and a copy of `keyinfo.json`) into a new `replaced-<time>/` folder, itself a
//! complete data folder that opens with `--home`, then renames the new database into place. The steps
//! are driven by an intent file, `restore-pending.json`, written (and flushed) before the first move:
//! [`finish_pending`], run at every open, completes an interrupted install. So after a kill -9 the store
//! opens either as it was (the intent was not written yet; the new file in `.tmp/` is removed) or as
//! restored (the intent rolls forward); there is no instant at which `trenddojo.db` is half of each.
//! On a fresh machine the intent also carries the new `keyinfo.json` (the keyring entry, if any, is
//! written before the intent).

use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::backup::{check_copy, keyinfo_from_header, root_pages, Container};
use crate::db::{connect, MigrateOnOpen, Store, StorePaths};
use crate::error::{Remedy, Result, StoreError};
use crate::fsutil;
use crate::key::{self, KeyInfo, KeySource, RecoveryKey, StoreKey, UnlockError, Unlocked};
use crate::migrations;

const INTENT_FILE: &str = "restore-pending.json";

/// What an install will do; written before its first step so a crash can be rolled forward.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Intent {
    /// The new database, by file name inside `.tmp/`.
    new_db: String,
    /// The folder (by name, inside the data folder) that receives the replaced files.
    aside: String,
    /// A `keyinfo.json` to write (restores onto a machine without one).
    #[serde(default)]
    keyinfo: Option<KeyInfo>,
}

fn intent_path(paths: &StorePaths) -> PathBuf {
    paths.home.join(INTENT_FILE)
}

/// Complete an install that a crash interrupted (see the module docs). Safe to call at any time.
pub(crate) fn finish_pending(paths: &StorePaths) -> Result<()> {
    let p = intent_path(paths);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::io(&p, e)),
    };
    let intent: Intent = serde_json::from_str(&text).map_err(|e| {
        StoreError::corrupt(format!("{}: an interrupted restore left it unreadable ({e})", p.display()))
    })?;
    // Names only, never paths: a tampered intent cannot move files outside the data folder.
    let safe = |n: &str| !n.is_empty() && !n.contains(['/', '\\']) && n != "." && n != "..";
    if !safe(&intent.new_db) || !safe(&intent.aside) {
        return Err(StoreError::corrupt(format!("{}: names a file outside the data folder", p.display())));
    }
    roll_forward(paths, &intent)
}

fn roll_forward(paths: &StorePaths, intent: &Intent) -> Result<()> {
    let new_db = paths.tmp_dir().join(&intent.new_db);
    let aside = paths.home.join(&intent.aside);
    if new_db.exists() {
        fsutil::private_dir(&aside)?;
        let wal = paths.db.with_extension("db-wal");
        let shm = paths.db.with_extension("db-shm");
        let marker = crate::damage::marker_path(paths);
        for f in [&wal, &shm, &paths.db, &marker] {
            if f.exists() {
                if let Some(name) = f.file_name() {
                    std::fs::rename(f, aside.join(name)).map_err(|e| StoreError::io(f, e))?;
                }
            }
        }
        let aside_keyinfo = aside.join("keyinfo.json");
        if paths.keyinfo.exists() && !aside_keyinfo.exists() {
            let bytes = std::fs::read(&paths.keyinfo).map_err(|e| StoreError::io(&paths.keyinfo, e))?;
            fsutil::write_atomic(&aside_keyinfo, &bytes)?;
        }
        fsutil::sync_dir(&aside)?;
        fsutil::rename_durable(&new_db, &paths.db)?;
    }
    if let Some(info) = &intent.keyinfo {
        info.save(&paths.keyinfo)?;
    }
    // A fresh data folder had nothing to move aside.
    if std::fs::read_dir(&aside).map(|mut d| d.next().is_none()).unwrap_or(false) {
        let _ = std::fs::remove_dir(&aside);
    }
    fsutil::remove_if_exists(&intent_path(paths))?;
    fsutil::sync_dir(&paths.home)
}

/// Install `new_db` (a complete, flushed database inside `.tmp/`) as the store, moving the current files
/// aside; returns the folder they went to, if there was anything to move.
pub(crate) fn install(
    paths: &StorePaths,
    new_db: &Path,
    keyinfo: Option<KeyInfo>,
    what: &str,
) -> Result<Option<PathBuf>> {
    let new_name = new_db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| StoreError::corrupt("install: the new database has no file name"))?;
    let aside = format!("replaced-by-{what}-{}", Utc::now().format("%Y%m%dT%H%M%S%.6fZ"));
    let had_files = paths.db.exists() || paths.db.with_extension("db-wal").exists();
    let intent = Intent { new_db: new_name, aside: aside.clone(), keyinfo };
    let text = serde_json::to_vec_pretty(&intent).map_err(|e| StoreError::corrupt(e.to_string()))?;
    fsutil::write_atomic(&intent_path(paths), &text)?;
    roll_forward(paths, &intent)?;
    Ok(had_files.then(|| paths.home.join(aside)))
}

/// How the backup's key was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlockedWith {
    /// The current store's key (same store).
    StoreKey,
    RecoveryKey,
    Passphrase,
    /// The OS keyring entry of the backup's store.
    Keyring,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreOutcome {
    pub restored_from: PathBuf,
    pub store_id: Uuid,
    pub created_at: Option<String>,
    pub backup_schema_version: u32,
    pub schema_version: u32,
    pub unlocked_with: UnlockedWith,
    /// Where the replaced files went (a complete data folder), if there were any.
    pub previous_data_saved_to: Option<PathBuf>,
    /// The replaced store was known to be damaged, or could not be opened at all.
    pub previous_was_damaged: bool,
    /// `keyinfo.json` was written anew (a machine without the store).
    pub keyinfo_created: bool,
    pub key_method: String,
    /// The restored store's integrity check, summarised.
    pub check: String,
}

/// The data folder as found before a restore.
struct Current {
    info: Option<KeyInfo>,
    key: Option<StoreKey>,
    /// The store did not open cleanly (damaged, or its key could not be used).
    damaged: bool,
}

fn inspect(paths: &StorePaths, source: &KeySource) -> Current {
    let info = KeyInfo::load(&paths.keyinfo).ok();
    let key = info.as_ref().and_then(|i| key::load_key(i, source, &paths.home).ok()).map(|u| u.key);
    let damaged = crate::damage::marker(paths).is_some()
        || (paths.db.exists() && (key.is_none() || crate::damage::precheck_quiet(paths)));
    Current { info, key, damaged }
}

/// The wording of "this secret does not open that file".
fn unlock_error(e: UnlockError, file: &Path) -> StoreError {
    match e {
        UnlockError::Wrong(what) => StoreError::WrongSecret { what, target: format!("the backup {}", file.display()) },
        UnlockError::NotApplicable(why) => {
            StoreError::key_unavailable(format!("the backup {} cannot be opened that way: {why}", file.display()))
        }
        UnlockError::Other(e) => e,
    }
}

/// Restore the backup `file` into the data folder `home` (which may be empty). `source` unlocks the
/// current store and, if it is a passphrase, is also tried on the backup and protects a store restored
/// onto a fresh machine; `recovery` is tried on the backup too.
pub fn restore(home: &Path, file: &Path, source: &KeySource, recovery: Option<&RecoveryKey>) -> Result<RestoreOutcome> {
    let paths = StorePaths::new(home);
    finish_pending(&paths)?;
    if !file.is_file() {
        return Err(StoreError::Invalid { field: "file", message: format!("{} is not a file", file.display()) });
    }
    let current = inspect(&paths, source);
    let container = Container::open(file)?;
    let passphrase = match source {
        KeySource::Passphrase(p) => Some(p),
        _ => None,
    };
    let recovery = recovery.or(match source {
        KeySource::Recovery(r) => Some(r),
        _ => None,
    });
    let tmp_dir = paths.tmp_dir();
    let tmp_db = tmp_dir.join(format!("restore-{}.db", Uuid::now_v7().simple()));
    let guard = std::cell::RefCell::new(None);
    // The data folder is created only once the backup is known to open: a refused restore leaves nothing.
    let make_dirs = || -> Result<()> {
        fsutil::private_dir(&paths.home)?;
        fsutil::private_dir(&tmp_dir)?;
        *guard.borrow_mut() = Some(fsutil::mark_in_use(&tmp_db)?);
        Ok(())
    };
    let result = (|| {
        let (key, unlocked_with, new_keyinfo, header_time, store_id) = match &container {
            Some(c) => {
                let h = &c.header;
                if h.schema_version > migrations::latest_version() {
                    return Err(StoreError::NewerSchema {
                        found: h.schema_version,
                        known: migrations::latest_version(),
                    });
                }
                if let Some(info) = &current.info {
                    if info.store_id != h.store_id {
                        return Err(StoreError::Invalid {
                            field: "file",
                            message: format!(
                                "{} is not a backup of this store (it is a backup of store {}, this data folder holds \
                                 store {}); restore it into an empty data folder instead",
                                file.display(),
                                h.store_id,
                                info.store_id
                            ),
                        });
                    }
                }
                let (key, with) = unlock_backup(c, &current, passphrase, recovery)?;
                c.verify_mac(&key)?;
                make_dirs()?;
                let mut out = fsutil::create_private(&tmp_db)?;
                c.copy_body(Some(&mut out), &tmp_db)?;
                out.sync_all().map_err(|e| fsutil::write_error(&tmp_db, e))?;
                drop(out);
                let new_keyinfo = match &current.info {
                    Some(_) => None,
                    None => Some(protect(keyinfo_from_header(h), &key, passphrase)?),
                };
                (key, with, new_keyinfo, Some(h.created_at.clone()), h.store_id)
            }
            None => {
                if let (Some(info), None) = (&current.info, &current.key) {
                    // Say why this store's key is not at hand (wrong passphrase, locked keyring...).
                    key::load_key(info, source, &paths.home)?;
                }
                let (Some(info), Some(key)) = (&current.info, &current.key) else {
                    return Err(StoreError::Invalid {
                        field: "file",
                        message: format!(
                            "{} is a plain backup from an older TrendDojo: it opens only with the key of the store it \
                             came from, which this data folder does not have (restore it into that store's folder)",
                            file.display()
                        ),
                    });
                };
                make_dirs()?;
                std::fs::copy(file, &tmp_db).map_err(|e| fsutil::write_error(&tmp_db, e))?;
                fsutil::restrict(&tmp_db, 0o600)?;
                (key.clone(), UnlockedWith::StoreKey, None, None, info.store_id)
            }
        };
        let (backup_version, check) = prepare(&tmp_db, &key, file, store_id)?;
        let aside = install(&paths, &tmp_db, new_keyinfo.clone(), "restore")?;
        // The file installed is the one just checked (renamed, not copied): opening it proves it is in place.
        let info = KeyInfo::load(&paths.keyinfo)?;
        let store =
            Store::open_with_unlocked(paths.clone(), info, Unlocked { key, verified: true }, MigrateOnOpen::No)?;
        Ok(RestoreOutcome {
            restored_from: file.to_path_buf(),
            store_id,
            created_at: header_time,
            backup_schema_version: backup_version,
            schema_version: store.with_writer(|c| migrations::current_version(c))?,
            unlocked_with,
            previous_data_saved_to: aside,
            previous_was_damaged: current.damaged,
            keyinfo_created: new_keyinfo.is_some(),
            key_method: store.key_info().method,
            check,
        })
    })();
    let _ = fsutil::remove_if_exists(&tmp_db);
    for ext in ["db-wal", "db-shm", "db-journal"] {
        let _ = fsutil::remove_if_exists(&tmp_db.with_extension(ext));
    }
    drop(guard);
    result
}

/// Find the backup's key (see the module docs for the order).
fn unlock_backup(
    c: &Container,
    current: &Current,
    passphrase: Option<&key::Passphrase>,
    recovery: Option<&RecoveryKey>,
) -> Result<(StoreKey, UnlockedWith)> {
    let h = &c.header;
    if let (Some(info), Some(k)) = (&current.info, &current.key) {
        if info.store_id == h.store_id && k.matches_check(&h.key_check) {
            return Ok((k.clone(), UnlockedWith::StoreKey));
        }
    }
    if let Some(r) = recovery {
        let u = key::unwrap_with(&h.wraps(), &KeySource::Recovery(r.clone())).map_err(|e| unlock_error(e, &c.path))?;
        return Ok((u.key, UnlockedWith::RecoveryKey));
    }
    if let Some(p) = passphrase {
        let u = key::unwrap_with(&h.wraps(), &KeySource::Passphrase(p.clone())).map_err(|e| match e {
            UnlockError::Wrong(what) => StoreError::WrongSecret {
                what,
                target: format!(
                    "the backup {} (it opens with the passphrase in use when it was made, or with the recovery key)",
                    c.path.display()
                ),
            },
            other => unlock_error(other, &c.path),
        })?;
        return Ok((u.key, UnlockedWith::Passphrase));
    }
    if key::keyring_available() {
        if let Ok(u) = key::keyring_key(h.store_id, Some(&h.key_check)) {
            return Ok((u.key, UnlockedWith::Keyring));
        }
    }
    Err(StoreError::key_unavailable(format!(
        "the backup {} needs the passphrase in use when it was made, or the store's recovery key",
        c.path.display()
    )))
}

/// `keyinfo.json` for a store restored onto a machine without one: the passphrase given protects it,
/// else the OS keyring does.
fn protect(base: KeyInfo, key: &StoreKey, passphrase: Option<&key::Passphrase>) -> Result<KeyInfo> {
    match passphrase {
        Some(p) => key::with_passphrase(&base, key, p),
        None if key::keyring_available() => {
            key::keyring_store(base.store_id, key)?;
            Ok(key::with_keyring(&base, key))
        }
        None => Err(StoreError::key_unavailable(
            "there is no OS keyring here to keep the restored store's key, and no passphrase was given to protect it",
        )
        .with_remedy(Remedy::UsePassphraseInstead)),
    }
}

/// Open the extracted database with its key, check it, refuse a newer schema, migrate an older one, and
/// leave it as one flushed file. Returns the schema version the backup had and the check's summary.
fn prepare(db: &Path, key: &StoreKey, file: &Path, store_id: Uuid) -> Result<(u32, String)> {
    let mut conn = connect(db, key, false, false).map_err(|e| match e {
        StoreError::WrongKey(_) => StoreError::Invalid {
            field: "file",
            message: format!(
                "{} is not a backup of this store (it does not open with this store's key)",
                file.display()
            ),
        },
        StoreError::Sqlite(e) if crate::damage::is_corruption(&e) => {
            StoreError::BadBackup { path: file.to_path_buf(), what: format!("its database cannot be read: {e}") }
        }
        other => other,
    })?;
    let version = migrations::ensure_not_newer(&conn)?;
    if version == 0 {
        return Err(StoreError::BadBackup { path: file.to_path_buf(), what: "it holds no TrendDojo schema".into() });
    }
    let report = check_copy(&conn);
    let summary = report.summary(&root_pages(&conn));
    if report.pages_damaged() {
        return Err(StoreError::BadBackup {
            path: file.to_path_buf(),
            what: format!("it failed its integrity check: {}", report.summary(&root_pages(&conn))),
        });
    }
    let id: Option<String> = crate::db::meta_get(&conn, "store_id")?;
    if id.as_deref() != Some(store_id.to_string().as_str()) {
        return Err(StoreError::BadBackup {
            path: file.to_path_buf(),
            what: "its database belongs to another store than its header says".into(),
        });
    }
    if version < migrations::latest_version() {
        migrations::migrate(&mut conn, None)?;
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    drop(conn);
    for ext in ["db-wal", "db-shm"] {
        let side = db.with_extension(ext);
        if std::fs::metadata(&side).is_ok_and(|m| m.len() > 0) && ext == "db-wal" {
            return Err(StoreError::corrupt(format!("{} was not checkpointed", side.display())));
        }
        fsutil::remove_if_exists(&side)?;
    }
    fsutil::sync_file(db)?;
    Ok((version, summary))
}

impl Store {
    /// Open with a key already in hand (restore and salvage, which found it themselves).
    pub(crate) fn open_with_unlocked(
        paths: StorePaths,
        info: KeyInfo,
        unlocked: Unlocked,
        migrate: MigrateOnOpen,
    ) -> Result<Store> {
        paths.clean_leftovers();
        crate::damage::precheck(&paths)?;
        Store::open_with_key(paths, info, unlocked, migrate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(dir: &Path) -> (StorePaths, Intent) {
        let paths = StorePaths::new(dir.join("home"));
        fsutil::private_dir(&paths.tmp_dir()).expect("dirs");
        std::fs::write(&paths.db, b"old database").expect("db");
        std::fs::write(paths.db.with_extension("db-wal"), b"old wal").expect("wal");
        std::fs::write(&paths.keyinfo, b"{\"old\": true}").expect("keyinfo");
        std::fs::write(paths.tmp_dir().join("new.db"), b"new database").expect("new");
        let intent = Intent { new_db: "new.db".into(), aside: "replaced-test".into(), keyinfo: None };
        (paths, intent)
    }

    /// The install's steps, in order; a crash may stop after any of them.
    fn steps(paths: &StorePaths, intent: &Intent, upto: usize) {
        let aside = paths.home.join(&intent.aside);
        let text = serde_json::to_vec(intent).expect("json");
        let all: Vec<Box<dyn Fn()>> = vec![
            Box::new(|| fsutil::write_atomic(&intent_path(paths), &text).expect("intent")),
            Box::new(|| fsutil::private_dir(&aside).expect("aside")),
            Box::new(|| {
                std::fs::rename(paths.db.with_extension("db-wal"), aside.join("trenddojo.db-wal")).expect("wal")
            }),
            Box::new(|| std::fs::rename(&paths.db, aside.join("trenddojo.db")).expect("db aside")),
            Box::new(|| {
                std::fs::copy(&paths.keyinfo, aside.join("keyinfo.json")).expect("keyinfo copy");
            }),
            Box::new(|| std::fs::rename(paths.tmp_dir().join("new.db"), &paths.db).expect("install")),
        ];
        for s in all.iter().take(upto) {
            s();
        }
    }

    #[test]
    fn an_install_interrupted_after_any_step_completes_at_the_next_open() {
        for upto in 1..=6 {
            let dir = tempfile::tempdir().expect("dir");
            let (paths, intent) = setup(dir.path());
            steps(&paths, &intent, upto);
            finish_pending(&paths).expect("roll forward");
            assert_eq!(
                std::fs::read(&paths.db).expect("db"),
                b"new database",
                "after step {upto}: the new store is in place"
            );
            let aside = paths.home.join("replaced-test");
            assert_eq!(
                std::fs::read(aside.join("trenddojo.db")).expect("old"),
                b"old database",
                "after step {upto}: the old one is kept"
            );
            assert_eq!(
                std::fs::read(aside.join("trenddojo.db-wal")).expect("old wal"),
                b"old wal",
                "after step {upto}: with its WAL"
            );
            assert!(aside.join("keyinfo.json").exists(), "after step {upto}: and a copy of keyinfo.json");
            assert!(!paths.db.with_extension("db-wal").exists(), "after step {upto}: no old WAL beside the new store");
            assert!(!intent_path(&paths).exists(), "after step {upto}: the intent is done");
            finish_pending(&paths).expect("idempotent");
            assert_eq!(
                std::fs::read(&paths.db).expect("db"),
                b"new database",
                "after step {upto}: a second run changes nothing"
            );
        }
    }

    #[test]
    fn without_an_intent_nothing_moves() {
        let dir = tempfile::tempdir().expect("dir");
        let (paths, _) = setup(dir.path());
        finish_pending(&paths).expect("nothing to do");
        assert_eq!(
            std::fs::read(&paths.db).expect("db"),
            b"old database",
            "a crash before the intent keeps the old store"
        );
    }

    #[test]
    fn an_intent_naming_files_outside_the_data_folder_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let (paths, _) = setup(dir.path());
        for bad in [
            Intent { new_db: "../../etc/passwd".into(), aside: "a".into(), keyinfo: None },
            Intent { new_db: "new.db".into(), aside: "..".into(), keyinfo: None },
        ] {
            std::fs::write(intent_path(&paths), serde_json::to_vec(&bad).expect("json")).expect("intent");
            assert!(finish_pending(&paths).is_err(), "refused: {bad:?}");
            assert_eq!(std::fs::read(&paths.db).expect("db"), b"old database", "nothing moved");
        }
    }
}
