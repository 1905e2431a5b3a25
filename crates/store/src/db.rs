//! Opening, unlocking and transacting on the encrypted store.
//!
//! One writer connection behind a fair mutex (SQLite allows one writer at a time anyway, and serialising
//! in process avoids SQLITE_BUSY; fair, so a long job that writes transaction after transaction, such as
//! a first sync download, lets a waiting app write in between instead of starving it) and a small pool of
//! read-only connections; WAL lets readers proceed while
//! the writer commits. Every connection gets the raw key first, then `foreign_keys`, a busy timeout and
//! in-memory temp storage (temp files would otherwise hold plaintext).
//!
//! Checkpoints (copying the WAL back into the database file) do not run inside a commit, as SQLite's
//! automatic checkpoint would, holding the writer for tens of milliseconds at random and charging them to
//! whichever write happened to cross the threshold: the writer's WAL hook only records the WAL's length,
//! and a write that leaves it past [`CHECKPOINT_FRAMES`] wakes the store's checkpoint thread, which runs a
//! PASSIVE checkpoint on a connection of its own (WAL checkpoints and writes proceed side by side).
//!
//! Writes go through [`Store::write`]: an IMMEDIATE transaction plus one clock reading, committed only if
//! the closure succeeds, so a failed command leaves the store exactly as it was.
//!
//! Opening never creates or migrates over a file that exists but is not a sound store: an interrupted
//! restore is finished first ([`crate::restore`]), leftovers of crashed backups and restores are removed,
//! and an empty, cut-short or unreadable file is reported as damaged ([`crate::damage`]). A store known to
//! be damaged opens for reading only; [`Store::write`] and migrations refuse.

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use std::cell::RefCell;
use uuid::Uuid;

use crate::clock::{fmt_ts, Hlc};
use crate::damage;
use crate::error::{Result, StoreError};
use crate::fsutil;
use crate::key::{self, KeyInfo, KeySource, RecoveryKey, StoreKey};
use crate::migrations;
use crate::trade_list::TradeList;
use crate::trades::{PageQuery, Trade};

const DB_FILE: &str = "trenddojo.db";
const KEYINFO_FILE: &str = "keyinfo.json";
const MAX_IDLE_READERS: usize = 4;

/// Where a store's files live inside its home folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorePaths {
    pub home: PathBuf,
    pub db: PathBuf,
    pub keyinfo: PathBuf,
    pub backups: PathBuf,
}

impl StorePaths {
    pub fn new(home: impl Into<PathBuf>) -> Self {
        let home = home.into();
        StorePaths { db: home.join(DB_FILE), keyinfo: home.join(KEYINFO_FILE), backups: home.join("backups"), home }
    }

    /// True when a store has been initialised here.
    pub fn exists(&self) -> bool {
        self.keyinfo.exists() || self.db.exists()
    }

    /// Private scratch space for backups and restores in progress; emptied at every open.
    pub fn tmp_dir(&self) -> PathBuf {
        self.home.join(".tmp")
    }

    /// Remove what crashed backups and restores left behind (never anything an unfinished restore still
    /// needs: [`crate::restore::finish_pending`] runs first).
    /// Files another process is still writing (its backup in progress) are left alone: see
    /// [`fsutil::InUse`].
    pub(crate) fn clean_leftovers(&self) {
        fsutil::remove_leftovers(&self.tmp_dir(), |_| true);
        fsutil::remove_leftovers(&self.backups, |name| {
            name.starts_with('.') && (name.contains(".partial-") || name.contains(".tmp-"))
        });
    }
}

/// Whether [`Store::open`] applies pending migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrateOnOpen {
    /// Bring the schema up to date (backing up first); the normal mode for commands.
    Yes,
    /// Leave the schema as found (for `db status`, `db migrate`, `db rollback`).
    No,
}

/// WAL frames (pages) past which a write is followed by a checkpoint: SQLite's default for its automatic
/// checkpoint.
pub const CHECKPOINT_FRAMES: i64 = 1000;

/// The store's checkpoint thread: waits for a wake-up, runs a PASSIVE checkpoint on its own connection
/// (opened on first need). Best effort, like SQLite's own: a checkpoint that cannot finish (a reader still
/// needs old frames) is tried again after a later write. Dropping it stops and joins the thread.
#[derive(Debug)]
struct Checkpointer {
    /// The WAL's length in frames after the writer's last commit (set by the writer's WAL hook).
    frames: std::sync::Arc<std::sync::atomic::AtomicI64>,
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    /// Start the thread and make `writer` report the WAL's length to it, in place of SQLite's automatic
    /// checkpoint (which is itself a WAL hook).
    fn start(db: &Path, key: &StoreKey, writer: &mut Connection) -> Result<Checkpointer> {
        let frames = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
        let reported = frames.clone();
        writer.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: std::ffi::c_int| {
            reported.store(i64::from(pages), std::sync::atomic::Ordering::Relaxed);
            Ok(())
        }))?;
        // One pending wake-up is enough: a checkpoint covers every commit before it.
        let (wake, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let checkpointed = frames.clone();
        let (path, key) = (db.to_path_buf(), key.clone());
        let thread = std::thread::Builder::new()
            .name("trenddojo-checkpoint".into())
            .spawn(move || {
                let mut conn = None;
                while rx.recv().is_ok() {
                    if conn.is_none() {
                        conn = connect(&path, &key, false, false).ok();
                    }
                    if let Some(c) = &conn {
                        if c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).is_ok() {
                            checkpointed.store(0, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }
            })
            .map_err(|e| StoreError::io(db, e))?;
        Ok(Checkpointer { frames, wake: Some(wake), thread: Some(thread) })
    }

    /// After a commit: have the WAL checkpointed if it is past [`CHECKPOINT_FRAMES`].
    fn after_commit(&self) {
        if self.frames.load(std::sync::atomic::Ordering::Relaxed) < CHECKPOINT_FRAMES {
            return;
        }
        if let Some(w) = &self.wake {
            let _ = w.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.wake = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An open, unlocked store.
#[derive(Debug)]
pub struct Store {
    paths: StorePaths,
    info: parking_lot::RwLock<KeyInfo>,
    key: StoreKey,
    /// Damage was found (here or recorded in `damaged.json`): writes are refused.
    damaged: AtomicBool,
    // Readers are declared (and so dropped) before the writer: the last connection to close checkpoints
    // the WAL into the database file, and only the read-write one can.
    readers: Mutex<Vec<Connection>>,
    /// The app's trade list: its own read connection and in-memory index (see [`crate::trade_list`]).
    list: Mutex<TradeList>,
    /// Checkpoints the WAL (see the module docs).
    checkpointer: Checkpointer,
    writer: parking_lot::Mutex<Connection>,
    hlc: Hlc,
    device_id: String,
}

/// A write transaction with the instant and clock value every row it touches is stamped with.
#[derive(Debug)]
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
    /// The transaction's instant as stored text.
    pub now: String,
    /// The same instant as a value.
    pub at: DateTime<Utc>,
    /// The hybrid logical clock value for every row this transaction writes.
    pub hlc: String,
    ids: RefCell<Option<StdRng>>,
}

impl Tx<'_> {
    /// A new UUIDv7 row id: random normally, from a seeded generator in [`Store::write_seeded`] so that
    /// seed states produce the same ids on every run.
    pub fn new_id(&self) -> Uuid {
        match self.ids.borrow_mut().as_mut() {
            Some(rng) => {
                let mut bytes = [0u8; 10];
                rng.fill_bytes(&mut bytes);
                let ms = u64::try_from(self.at.timestamp_millis()).unwrap_or(0);
                uuid::Builder::from_unix_timestamp_millis(ms, &bytes).into_uuid()
            }
            None => Uuid::now_v7(),
        }
    }
}

impl Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.tx
    }
}

/// Let the process's first connection finish initializing SQLCipher before any other opens.
///
/// SQLite marks itself initialized and only then runs SQLCipher's own set-up (`SQLITE_EXTRA_INIT`), outside
/// its init mutex. A second thread opening a connection in between sees SQLite ready, keys its connection
/// before SQLCipher is, and fails with "PRAGMA key requires a key". Opening one in-memory connection under a
/// `OnceLock` makes every other opener wait until that first initialization is complete. Its outcome is
/// kept for the life of the process: a library that could not start once will not start on a retry
/// either (it fails only when this build of SQLite lacks SQLCipher).
fn sqlcipher_initialized() -> Result<()> {
    static READY: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            let conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
            let version: Option<String> =
                conn.query_row("PRAGMA cipher_version", [], |r| r.get(0)).optional().map_err(|e| e.to_string())?;
            match version {
                Some(v) if !v.is_empty() => Ok(()),
                _ => Err("this build's SQLite has no SQLCipher: refusing to open an unencrypted store".to_string()),
            }
        })
        .clone()
        .map_err(StoreError::Encryption)
}

pub(crate) fn connect(path: &Path, key: &StoreKey, create: bool, read_only: bool) -> Result<Connection> {
    sqlcipher_initialized()?;
    let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    flags |= if read_only { OpenFlags::SQLITE_OPEN_READ_ONLY } else { OpenFlags::SQLITE_OPEN_READ_WRITE };
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::CannotOpen => {
            StoreError::NotInitialized(path.parent().unwrap_or(path).to_path_buf())
        }
        other => StoreError::Sqlite(other),
    })?;
    // Every repository function uses cached statements; with triggers, re-preparing one costs far more
    // than running it, so the cache must hold them all.
    conn.set_prepared_statement_cache_capacity(256);
    // SQLCipher logs decryption failures to stderr by default; a wrong key is reported by us instead.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    conn.execute_batch(&key.pragma())?;
    crate::sql::register(&conn)?;
    // The first read is where a wrong key shows: the page does not decrypt.
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == ErrorCode::NotADatabase => {
            return Err(StoreError::WrongKey(path.parent().unwrap_or(path).to_path_buf()));
        }
        Err(e) => return Err(e.into()),
    }
    // The writer's page cache (32 MiB) holds a typical transaction's pages without spilling them into the
    // WAL; the largest ones (a 100,000-fill import writes a few hundred MiB) spill whatever the size, and
    // 64 MiB bought them nothing measurable (commit 15.0 s vs 13.9 s, noise) while adding 34 MiB to the
    // import's peak memory (docs/benchmarks.md). Readers only answer queries, whose working set (the
    // indexes a page of trades or a statistic touches) fits in 16 MiB, and each reader's cache is memory
    // the app keeps.
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA temp_store = MEMORY;")?;
    conn.execute_batch(if read_only { "PRAGMA cache_size = -16384;" } else { "PRAGMA cache_size = -32768;" })?;
    if read_only {
        conn.execute_batch("PRAGMA query_only = ON;")?;
    } else {
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::corrupt(format!("could not switch to WAL (got {mode})")));
        }
        // The WAL is truncated back to 64 MiB after checkpoints instead of keeping its largest size.
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 67108864;")?;
    }
    Ok(conn)
}

pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM store_meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub(crate) fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO store_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

impl Drop for Store {
    /// Let SQLite refresh its planner statistics where they are stale (bounded work), as its documentation
    /// recommends before closing a connection.
    fn drop(&mut self) {
        let _ = self.writer.lock().execute_batch("PRAGMA analysis_limit = 1000; PRAGMA optimize;");
    }
}

impl Store {
    /// Create a new encrypted store in `home`, migrated to the latest schema, with a random key protected
    /// by `source` and a recovery key (shown with [`Store::pending_recovery_key`] until confirmed).
    pub fn init(home: &Path, source: &KeySource) -> Result<Store> {
        let paths = StorePaths::new(home);
        if paths.exists() {
            return Err(StoreError::AlreadyExists(paths.home));
        }
        fsutil::private_dir(&paths.home)?;
        let (key, info, _recovery) = key::create_key(source)?;
        let result = (|| {
            let mut conn = connect(&paths.db, &key, true, false)?;
            fsutil::restrict(&paths.db, 0o600)?;
            migrations::migrate(&mut conn, None)?;
            let device_id = uuid::Uuid::now_v7().simple().to_string();
            meta_set(&conn, "store_id", &info.store_id.to_string())?;
            meta_set(&conn, "device_id", &device_id)?;
            meta_set(&conn, "sealing_key", &hex::encode(StoreKey::random().bytes()))?;
            meta_set(&conn, "created_at", &fmt_ts(Utc::now()))?;
            info.save(&paths.keyinfo)?;
            Ok::<_, StoreError>(conn)
        })();
        match result {
            Ok(conn) => {
                drop(conn);
                let store =
                    Store::open_with_key(paths, info, key::Unlocked { key, verified: true }, MigrateOnOpen::No)?;
                Ok(store)
            }
            Err(e) => {
                // Leave nothing half-made behind.
                let _ = key::forget_key(&info);
                for f in [&paths.db, &paths.keyinfo] {
                    let _ = std::fs::remove_file(f);
                }
                let _ = std::fs::remove_file(paths.db.with_extension("db-wal"));
                let _ = std::fs::remove_file(paths.db.with_extension("db-shm"));
                Err(e)
            }
        }
    }

    /// Open and unlock an existing store.
    pub fn open(home: &Path, source: &KeySource, migrate: MigrateOnOpen) -> Result<Store> {
        let paths = StorePaths::new(home);
        crate::restore::finish_pending(&paths)?;
        match (paths.keyinfo.exists(), paths.db.exists()) {
            (true, true) => {}
            (false, false) => return Err(StoreError::NotInitialized(paths.home)),
            (false, true) => {
                return Err(damage::damaged(
                    &paths,
                    format!("{} is missing, so the store's key cannot be found", paths.keyinfo.display()),
                ))
            }
            (true, false) => {
                return Err(damage::damaged(&paths, format!("{} is missing", paths.db.display())));
            }
        }
        let info = KeyInfo::load(&paths.keyinfo).map_err(|e| match e {
            StoreError::Corrupt(what) => damage::damaged(&paths, what),
            other => other,
        })?;
        let unlocked = key::load_key(&info, source, &paths.home)?;
        paths.clean_leftovers();
        damage::precheck(&paths)?;
        Self::open_with_key(paths, info, unlocked, migrate)
    }

    pub(crate) fn open_with_key(
        paths: StorePaths,
        mut info: KeyInfo,
        unlocked: key::Unlocked,
        migrate: MigrateOnOpen,
    ) -> Result<Store> {
        let key::Unlocked { key, verified } = unlocked;
        let (writer, corrupt) = damage::watch(|| connect(&paths.db, &key, false, false));
        let mut writer = match writer {
            Ok(w) => w,
            // Page 1 does not decrypt. With a key proven right, that is damage, not a wrong passphrase.
            Err(StoreError::WrongKey(_)) if verified => {
                return Err(damage::damaged(
                    &paths,
                    format!(
                        "page 1 of {} does not authenticate although the key is right (its header bytes are damaged)",
                        paths.db.display()
                    ),
                ))
            }
            Err(StoreError::WrongKey(_)) => return Err(StoreError::WrongKey(paths.home)),
            Err(e) if corrupt => {
                return Err(damage::damaged(&paths, format!("{} cannot be read: {e}", paths.db.display())))
            }
            Err(e) => return Err(e),
        };
        let (checked, corrupt) = damage::watch(|| damage::check_open(&paths, &writer));
        match checked {
            Ok(()) => {}
            Err(e @ StoreError::Damaged { .. }) => return Err(e),
            Err(e) if corrupt => {
                return Err(damage::damaged(&paths, format!("{} cannot be read: {e}", paths.db.display())))
            }
            Err(e) => return Err(e),
        }
        let version = migrations::ensure_not_newer(&writer)?;
        let store_id = meta_get(&writer, "store_id")?;
        if let Some(id) = &store_id {
            if *id != info.store_id.to_string() {
                return Err(StoreError::corrupt("keyinfo.json belongs to a different store"));
            }
        }
        // A store from before key check values: the key just opened it, so record its check value.
        if info.key_check.is_none() {
            info.key_check = Some(key.check_value());
            info.save(&paths.keyinfo)?;
        }
        let damaged = damage::marker(&paths).is_some();
        if migrate == MigrateOnOpen::Yes && version < migrations::latest_version() {
            if damaged {
                return Err(StoreError::Damaged {
                    advice: damage::advice(&paths),
                    what: damage::marker(&paths).map(|m| m.what).unwrap_or_default(),
                    home: paths.home,
                });
            }
            let store = Store::assemble(paths.clone(), info.clone(), key.clone(), writer)?;
            store.backup_before("migrate", version)?;
            drop(store);
            writer = connect(&paths.db, &key, false, false)?;
            migrations::migrate(&mut writer, None)?;
        }
        let store = Store::assemble(paths, info, key, writer)?;
        store.damaged.store(damaged, Ordering::Relaxed);
        Ok(store)
    }

    fn assemble(paths: StorePaths, info: KeyInfo, key: StoreKey, mut writer: Connection) -> Result<Store> {
        let has_meta = migrations::current_version(&writer)? > 0;
        let device_id =
            if has_meta { meta_get(&writer, "device_id")? } else { None }.unwrap_or_else(|| "unmigrated".to_string());
        let last_hlc = if has_meta { meta_get(&writer, "hlc")? } else { None };
        let hlc = Hlc::new(&device_id, last_hlc.as_deref());
        let checkpointer = Checkpointer::start(&paths.db, &key, &mut writer)?;
        Ok(Store {
            paths,
            info: parking_lot::RwLock::new(info),
            key,
            damaged: AtomicBool::new(false),
            writer: parking_lot::Mutex::new(writer),
            checkpointer,
            readers: Mutex::new(Vec::new()),
            list: Mutex::new(TradeList::default()),
            hlc,
            device_id,
        })
    }

    pub fn paths(&self) -> &StorePaths {
        &self.paths
    }

    /// The store's key metadata (what `keyinfo.json` holds; no secret).
    pub fn key_info(&self) -> KeyInfo {
        self.info.read().clone()
    }

    /// Replace `keyinfo.json` (atomically) and the copy held here.
    pub(crate) fn save_key_info(&self, info: KeyInfo) -> Result<()> {
        let mut held = self.info.write();
        info.save(&self.paths.keyinfo)?;
        *held = info;
        Ok(())
    }

    /// The recovery key created with the store, until the user confirms having written it down.
    pub fn pending_recovery_key(&self) -> Result<Option<RecoveryKey>> {
        key::pending_recovery(&self.info.read(), &self.key)
    }

    /// Is the store known to be damaged (writes refused)?
    pub fn is_damaged(&self) -> bool {
        self.damaged.load(Ordering::Relaxed)
    }

    pub(crate) fn set_damaged(&self) {
        self.damaged.store(true, Ordering::Relaxed);
    }

    pub(crate) fn clear_damaged(&self) {
        self.damaged.store(false, Ordering::Relaxed);
    }

    /// The error for a store known to be damaged.
    fn damaged_error(&self) -> StoreError {
        StoreError::Damaged {
            home: self.paths.home.clone(),
            what: damage::marker(&self.paths).map(|m| m.what).unwrap_or_else(|| "damage was found earlier".into()),
            advice: format!("Writes are refused until it is repaired. {}", damage::advice(&self.paths)),
        }
    }

    /// After `f` failed: if a corruption error passed by meanwhile, report (and record) the damage instead.
    fn on_damage<T, E: From<StoreError>>(&self, out: Result<T, E>, corrupt: bool) -> Result<T, E> {
        match out {
            Err(_) if corrupt => {
                self.set_damaged();
                Err(E::from(damage::damaged(
                    &self.paths,
                    format!("a page of {} does not authenticate or its structure is broken", self.paths.db.display()),
                )))
            }
            other => other,
        }
    }

    /// Move this device's clock past a stamp seen from another device (sync pulls call this).
    pub fn observe_clock(&self, remote: &str) {
        self.hlc.observe(remote);
    }

    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    pub(crate) fn key(&self) -> &StoreKey {
        &self.key
    }

    /// Run `f` in one write transaction stamped with the current time.
    pub fn write<T, E: From<StoreError>>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E> {
        self.write_at(Utc::now(), f)
    }

    /// Run `f` in one write transaction stamped with `at` (seeds use a fixed instant to be deterministic).
    pub fn write_at<T, E: From<StoreError>>(
        &self,
        at: DateTime<Utc>,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.write_inner(at, None, f)
    }

    /// A write transaction at a fixed instant whose new ids come from `seed`: the same calls give the same
    /// rows on every run (seed states).
    pub fn write_seeded<T, E: From<StoreError>>(
        &self,
        at: DateTime<Utc>,
        seed: u64,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.write_inner(at, Some(StdRng::seed_from_u64(seed)), f)
    }

    fn write_inner<T, E: From<StoreError>>(
        &self,
        at: DateTime<Utc>,
        ids: Option<StdRng>,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.is_damaged() {
            return Err(E::from(self.damaged_error()));
        }
        let mut conn = self.writer.lock();
        let (out, corrupt) = damage::watch(|| Self::transact(&mut conn, &self.hlc, at, ids, f));
        let out = self.on_damage(out, corrupt);
        // Handed straight to a waiting writer, if any, before this thread can take it again.
        parking_lot::MutexGuard::unlock_fair(conn);
        self.checkpointer.after_commit();
        out
    }

    fn transact<T, E: From<StoreError>>(
        conn: &mut Connection,
        clock: &Hlc,
        at: DateTime<Utc>,
        ids: Option<StdRng>,
        f: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx =
            conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(|e| E::from(StoreError::from(e)))?;
        // Seeded writes are authored by a fixed virtual device at a fixed instant, so seed states are the
        // same on every machine; they do not move this device's clock.
        let seeded = ids.is_some();
        let hlc = if seeded { format!("{:013}.{:05}.seed", at.timestamp_millis(), 0) } else { clock.tick(at) };
        let tx = Tx { tx, now: fmt_ts(at), at, hlc, ids: RefCell::new(ids) };
        let out = f(&tx)?;
        // The statistics aggregates of the days this transaction changed (marked by triggers), folded
        // before the commit so they are never a transaction behind the trades (see crate::stats).
        crate::stats::flush(&tx).map_err(E::from)?;
        if !seeded {
            meta_set(&tx, "hlc", &tx.hlc).map_err(E::from)?;
        }
        tx.tx.commit().map_err(|e| E::from(StoreError::from(e)))?;
        Ok(out)
    }

    /// Run `f` on a read-only connection (a consistent snapshot for the duration of each statement;
    /// wrap multi-statement reads in `BEGIN`/`COMMIT` via [`Store::read_snapshot`] when they must agree).
    pub fn read<T, E: From<StoreError>>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
        let (out, corrupt) = damage::watch(|| self.read_inner(f));
        self.on_damage(out, corrupt)
    }

    fn read_inner<T, E: From<StoreError>>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
        let conn = {
            let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
            pool.pop()
        };
        let conn = match conn {
            Some(c) => c,
            None => connect(&self.paths.db, &self.key, false, true).map_err(E::from)?,
        };
        let out = f(&conn);
        let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < MAX_IDLE_READERS {
            pool.push(conn);
        }
        out
    }

    /// One page of the app's trade list and how many trades match in all (see [`crate::trade_list`]: an
    /// index kept in memory while the database is unchanged, so filter changes and pages do not grow with
    /// the journal).
    pub fn trade_page(&self, user_id: Uuid, q: &PageQuery) -> Result<(u64, Vec<Trade>)> {
        let (out, corrupt) = damage::watch(|| {
            let mut list = self.list.lock().unwrap_or_else(|p| p.into_inner());
            let out = list.page(|| connect(&self.paths.db, &self.key, false, true), user_id, q);
            if out.is_err() {
                // Whatever failed (a busy file, damage), the next request starts from a new connection.
                list.reset();
            }
            out
        });
        self.on_damage(out, corrupt)
    }

    /// Like [`Store::read`], inside one read transaction so every statement sees the same snapshot.
    pub fn read_snapshot<T, E: From<StoreError>>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
        self.read(|c| {
            c.execute_batch("BEGIN").map_err(|e| E::from(e.into()))?;
            let out = f(c);
            c.execute_batch("COMMIT").map_err(|e| E::from(e.into()))?;
            out
        })
    }

    /// Direct access to the writer connection for schema work (migrate, rollback, restore).
    pub fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock();
        // Readers may hold schema caches from before the change: drop them.
        self.readers.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.list.lock().unwrap_or_else(|p| p.into_inner()).reset();
        let (out, corrupt) = damage::watch(|| f(&mut conn));
        drop(conn);
        self.on_damage(out, corrupt)
    }

    /// Drop the whole schema and build it again at the newest version (the data is gone; `db reset` backs
    /// up first). The store keeps its identity (the keyring entry and `keyinfo.json` point at its id, and
    /// sync knows the device by its id) and gets a fresh sealing key (the sealed secrets went with their
    /// rows). Returns the versions rolled back and applied.
    pub fn rebuild_schema(&self) -> Result<(Vec<u32>, Vec<u32>)> {
        let store_id = self.key_info().store_id.to_string();
        let device_id = self.device_id().to_string();
        self.with_writer(|c| {
            let down = migrations::rollback(c, 0)?;
            let up = migrations::migrate(c, None)?;
            meta_set(c, "store_id", &store_id)?;
            meta_set(c, "device_id", &device_id)?;
            meta_set(c, "sealing_key", &hex::encode(StoreKey::random().bytes()))?;
            Ok((down, up))
        })
    }

    /// Whether the store holds any account or trade (seeding is only for an empty store).
    pub fn holds_trading_data(&self) -> Result<bool> {
        self.read(|c| {
            let n: i64 =
                c.query_row("SELECT EXISTS (SELECT 1 FROM accounts) OR EXISTS (SELECT 1 FROM trades)", [], |r| {
                    r.get(0)
                })?;
            Ok(n != 0)
        })
    }

    /// Refuse schema changes and other writes outside [`Store::write`] on a store known to be damaged.
    pub fn ensure_writable(&self) -> Result<()> {
        if self.is_damaged() {
            return Err(self.damaged_error());
        }
        Ok(())
    }

    /// Size of the database file and its WAL, in bytes.
    pub fn file_size(&self) -> u64 {
        let wal = self.paths.db.with_extension("db-wal");
        [&self.paths.db, &wal].iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
    }

    /// Delete this store's files and its keyring entry. Used by `db reset`-style tooling and tests.
    pub fn destroy(self) -> Result<()> {
        let paths = self.paths.clone();
        let info = self.key_info();
        drop(self);
        key::forget_key(&info)?;
        for p in [paths.db.clone(), paths.db.with_extension("db-wal"), paths.db.with_extension("db-shm"), paths.keyinfo]
        {
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io(p, e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::{KeySource, Passphrase};

    /// Set in the child processes of `first_connections_on_many_threads_at_once_all_unlock`.
    const OPEN_RACE_CHILD: &str = "TRENDDOJO_TEST_OPEN_RACE_CHILD";

    /// SQLCipher finishes its own set-up after SQLite marks itself initialized, so a thread opening the
    /// process's first connection while another was still inside that window failed with "PRAGMA key
    /// requires a key" (seen in CI when the convergence test set up its first devices on two threads). The
    /// window exists once per process, so the test re-runs itself in fresh child processes, each opening
    /// encrypted connections on several threads released at the same instant.
    #[test]
    fn first_connections_on_many_threads_at_once_all_unlock() {
        const THREADS: usize = 4;
        if std::env::var_os(OPEN_RACE_CHILD).is_some() {
            let dir = tempfile::tempdir().expect("dir");
            let start = std::sync::Barrier::new(THREADS);
            std::thread::scope(|s| {
                for i in 0..THREADS {
                    let (path, start) = (dir.path().join(format!("{i}.db")), &start);
                    s.spawn(move || {
                        let key = StoreKey::random();
                        start.wait();
                        connect(&path, &key, true, false)
                            .unwrap_or_else(|e| panic!("connection {i}, opened on its own thread: {e}"));
                    });
                }
            });
            return;
        }
        let me = std::env::current_exe().expect("the test binary");
        for round in 0..400 {
            let out = std::process::Command::new(&me)
                .args(["--exact", "db::tests::first_connections_on_many_threads_at_once_all_unlock", "--nocapture"])
                .env(OPEN_RACE_CHILD, "1")
                .output()
                .expect("run the child");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "child process {round} could not open {THREADS} connections at once:\n{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            // A renamed test would match nothing in the child and pass without checking anything.
            assert!(stdout.contains("1 passed"), "child process {round} ran exactly this test: {stdout}");
        }
    }

    #[test]
    fn the_checkpoint_thread_copies_the_wal_into_the_database_file() {
        let dir = tempfile::tempdir().expect("dir");
        let store =
            Store::init(dir.path(), &KeySource::Passphrase(Passphrase::new("checkpoint test").expect("passphrase")))
                .expect("init");
        let before = std::fs::metadata(&store.paths.db).expect("db file").len();
        // About 6 MB of new pages in one commit: past CHECKPOINT_FRAMES.
        store
            .write(|tx| {
                tx.execute_batch("CREATE TABLE checkpoint_test (b BLOB)")?;
                for _ in 0..1500 {
                    tx.execute("INSERT INTO checkpoint_test VALUES (zeroblob(4000))", [])?;
                }
                Ok::<_, StoreError>(())
            })
            .expect("write");
        // The writer's commit leaves the pages in the WAL; the thread copies them over shortly after.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut grown = 0;
        while std::time::Instant::now() < deadline {
            grown = std::fs::metadata(&store.paths.db).expect("db file").len();
            if grown > before + 5_000_000 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(grown > before + 5_000_000, "the database file took the pages: {before} -> {grown} bytes");
        let n: i64 = store
            .read(|c| Ok::<_, StoreError>(c.query_row("SELECT count(*) FROM checkpoint_test", [], |r| r.get(0))?))
            .expect("read");
        assert_eq!(n, 1500, "every row is there after the checkpoint");
        drop(store);
    }
}
