//! The app's state: the data folder, the open journal, how it was unlocked, and the background sync task.
//!
//! The journal is shared as an `Arc<Journal>`: the store inside serialises its own writes (one writer
//! behind a fair lock, a pool of readers), so commands and the sync loop use it side by side without a
//! lock of ours around every call. The `RwLock` only guards *which* journal is open (none before unlock;
//! swapped when demo data is loaded or a backup restored). Every call into the core runs on a blocking
//! thread ([`AppState::run`]): SQLCipher work and the OS keyring (Secret Service deadlocks on a Tokio
//! thread) must not block the async runtime or the window's event loop.
//!
//! Closing the store cleanly: [`AppState::shutdown`] stops the sync loop (it ends its round at once and
//! keeps the outbox), pushes what is still pending with a short deadline, and drops the last reference to
//! the journal, which checkpoints the WAL into the database file.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use trenddojo_core::{ApiError, ApiResult, ErrorCode, Journal, KeySource};

use crate::sync_task::SyncTask;

/// Everything the commands share.
#[derive(Debug)]
pub struct AppState {
    pub home: PathBuf,
    journal: RwLock<Option<Arc<Journal>>>,
    /// How the open journal was unlocked (maintenance reopens the store with it).
    key: Mutex<Option<KeySource>>,
    sync: Mutex<Option<SyncTask>>,
    /// The daily backup taken after an unlock, on a thread of its own; closing the journal waits for it, so
    /// the store is closed (and a restore may replace it) only once nothing else holds it.
    backup: Mutex<Option<std::thread::JoinHandle<()>>>,
}

fn poisoned() -> ApiError {
    ApiError::new(ErrorCode::Internal, "app: a previous command failed while holding the journal; restart the app")
}

/// An error for a blocking task that could not finish (it panicked or the runtime is shutting down).
pub fn join_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, format!("app: the background task stopped: {e}"))
}

impl AppState {
    pub fn new(home: PathBuf) -> AppState {
        AppState {
            home,
            journal: RwLock::new(None),
            key: Mutex::new(None),
            sync: Mutex::new(None),
            backup: Mutex::new(None),
        }
    }

    /// The open journal, or the error the UI answers with the unlock screen.
    pub fn journal(&self) -> ApiResult<Arc<Journal>> {
        self.journal.read().map_err(|_| poisoned())?.clone().ok_or_else(|| {
            ApiError::new(ErrorCode::NotInitialized, "journal: it is locked").with_hint("unlock it first")
        })
    }

    pub fn is_open(&self) -> bool {
        self.journal.read().map(|j| j.is_some()).unwrap_or(false)
    }

    /// Make `journal` the open one (unlocked with `key`), closing the one before.
    pub fn set(&self, journal: Journal, key: KeySource) -> ApiResult<Arc<Journal>> {
        let j = Arc::new(journal);
        *self.journal.write().map_err(|_| poisoned())? = Some(j.clone());
        *self.key.lock().map_err(|_| poisoned())? = Some(key);
        Ok(j)
    }

    /// Take the daily backup of the open journal, if due, on a thread of its own (see
    /// `trenddojo_core::Journal::open_deferring_backup`).
    pub fn backup_in_background(&self) {
        let Ok(j) = self.journal() else { return };
        let Ok(mut slot) = self.backup.lock() else { return };
        if let Some(done) = slot.take() {
            let _ = done.join();
        }
        let spawned = std::thread::Builder::new().name("daily-backup".into()).spawn(move || {
            j.daily_backup_if_due();
        });
        *slot = spawned.ok();
    }

    /// Close the open journal (after stopping sync and waiting for a backup in progress); returns how it
    /// was unlocked.
    pub fn close(&self) -> ApiResult<Option<KeySource>> {
        self.stop_sync();
        if let Some(backup) = self.backup.lock().map_err(|_| poisoned())?.take() {
            let _ = backup.join();
        }
        let j = self.journal.write().map_err(|_| poisoned())?.take();
        drop(j);
        Ok(self.key.lock().map_err(|_| poisoned())?.take())
    }

    /// The key the journal was unlocked with.
    pub fn key(&self) -> ApiResult<KeySource> {
        self.key.lock().map_err(|_| poisoned())?.clone().ok_or_else(|| {
            ApiError::new(ErrorCode::NotInitialized, "journal: it is locked").with_hint("unlock it first")
        })
    }

    /// Run `f` with the open journal on a blocking thread.
    pub async fn run<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Journal) -> ApiResult<T> + Send + 'static,
    {
        let j = self.journal()?;
        tauri::async_runtime::spawn_blocking(move || f(&j)).await.map_err(join_error)?
    }

    pub fn set_sync(&self, task: SyncTask) {
        let old = match self.sync.lock() {
            Ok(mut s) => s.replace(task),
            Err(_) => None,
        };
        if let Some(old) = old {
            old.stop();
        }
    }

    /// Stop background sync, if it runs, and wait for its loop to end.
    pub fn stop_sync(&self) {
        let task = self.sync.lock().ok().and_then(|mut s| s.take());
        if let Some(t) = task {
            t.stop();
        }
    }

    pub fn sync_running(&self) -> bool {
        self.sync.lock().map(|s| s.as_ref().is_some_and(SyncTask::is_running)).unwrap_or(false)
    }

    /// Quit: stop sync, push what is pending (bounded), and close the store.
    pub fn shutdown(&self) {
        self.stop_sync();
        if let Ok(j) = self.journal() {
            crate::sync_task::flush_pending(&j);
        }
        let _ = self.close();
    }
}
