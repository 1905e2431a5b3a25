//! Background sync: the core's watch loop (`Journal::sync_watch`) on a thread of its own, reporting to the
//! window as `sync-activity` events.
//!
//! Why a dedicated thread with its own single-threaded runtime instead of a task on Tauri's runtime: the
//! login's password comes from the OS keyring, and Secret Service calls can deadlock on a Tokio worker; the
//! loop also borrows the journal for as long as it runs. On its own thread both are simple, and stopping is
//! one message: the loop watches its stop signal even mid-round, ends cleanly (each local transaction
//! committed or not, the server rolls its side back) and the thread is joined.
//!
//! A write made in the window is picked up by the loop's outbox check and pushed after its debounce; a
//! change another device makes arrives by the server's notification and is announced with `pulled > 0`,
//! which makes the screens reload without a click.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tauri::{AppHandle, Emitter, Runtime};
use trenddojo_core::dto::{Progress, SyncActivity, SyncEvent, SyncState};
use trenddojo_core::sync_types::{Limits, WatchOptions};
use trenddojo_core::{sync_failure_state, ApiError, Journal, ProgressSink, SyncSettings};

/// The event the window listens to.
pub const SYNC_EVENT: &str = "sync-activity";

/// The event that carries how far a long job has come (`dto::Progress`: sync upload and download, reading
/// a broker file), drawn as a progress bar.
pub const PROGRESS_EVENT: &str = "progress";

/// The journal's progress sink: each report becomes a [`PROGRESS_EVENT`] to the window. Reports come a
/// chunk at a time (sync rows by the thousand, file reading by the mebibyte), so no throttling is needed.
pub fn progress_sink<R: Runtime>(app: AppHandle<R>) -> ProgressSink {
    Arc::new(move |p: Progress| {
        let _ = app.emit(PROGRESS_EVENT, p);
    })
}

/// How long quitting waits to push changes still pending.
const FLUSH_DEADLINE: Duration = Duration::from_secs(3);

/// A running sync loop.
#[derive(Debug)]
pub struct SyncTask {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    running: Arc<AtomicBool>,
}

/// The settings the app syncs with: the saved login; its password from the OS keyring, or
/// `TRENDDOJO_SYNC_PASSWORD` where there is none (a headless machine), as for the CLI.
pub fn settings() -> SyncSettings {
    SyncSettings { server_url: None, password: std::env::var("TRENDDOJO_SYNC_PASSWORD").ok(), limits: None }
}

fn activity(state: SyncState, j: &Journal) -> SyncActivity {
    SyncActivity {
        state,
        message: None,
        pulled: 0,
        pushed: 0,
        listening: None,
        status: j.sync_status(None).ok(),
        action: None,
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ApiError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ApiError::new(trenddojo_core::ErrorCode::Internal, format!("sync: runtime: {e}")))
}

impl SyncTask {
    /// Start the loop for the journal's saved login.
    pub fn start<R: Runtime>(app: AppHandle<R>, journal: Arc<Journal>) -> SyncTask {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let running = Arc::new(AtomicBool::new(true));
        let flag = running.clone();
        let thread = std::thread::Builder::new()
            .name("trenddojo-sync".into())
            .spawn(move || {
                let emit = |a: SyncActivity| {
                    let _ = app.emit(SYNC_EVENT, a);
                };
                let fail = |state: SyncState, e: &ApiError| {
                    let mut a = activity(state, &journal);
                    a.message = Some(e.message.clone());
                    a.action = e.action.clone();
                    emit(a);
                };
                let target = match journal.sync_target(&settings()) {
                    Ok(t) => t,
                    Err(e) => {
                        fail(sync_failure_state(&e), &e);
                        flag.store(false, Ordering::SeqCst);
                        return;
                    }
                };
                let rt = match runtime() {
                    Ok(rt) => rt,
                    Err(e) => {
                        fail(SyncState::Error, &e);
                        flag.store(false, Ordering::SeqCst);
                        return;
                    }
                };
                emit(activity(SyncState::Syncing, &journal));
                let on_event = |e: SyncEvent| match e {
                    SyncEvent::Round { report, .. } => {
                        let mut a = activity(SyncState::UpToDate, &journal);
                        if a.status.as_ref().is_some_and(|s| s.pending > 0) {
                            a.state = SyncState::Syncing;
                        }
                        a.pulled = report.pulled;
                        a.pushed = report.pushed;
                        emit(a);
                    }
                    SyncEvent::Failed { error, retry_in_ms, .. } => {
                        let mut a = activity(sync_failure_state(&error), &journal);
                        a.message =
                            Some(format!("{}; trying again in {} s", error.message, (retry_in_ms / 1000).max(1)));
                        a.action = error.action;
                        emit(a);
                    }
                    SyncEvent::Listening { on, reason } => {
                        let mut a = activity(SyncState::UpToDate, &journal);
                        if a.status.as_ref().is_some_and(|s| s.pending > 0) {
                            a.state = SyncState::Syncing;
                        }
                        a.listening = Some(on);
                        a.message = reason;
                        emit(a);
                    }
                };
                let opts = WatchOptions::default();
                let stop = async {
                    let _ = stop_rx.await;
                };
                if let Err(e) = rt.block_on(journal.sync_watch(&target, &opts, on_event, stop)) {
                    fail(sync_failure_state(&e), &e);
                }
                flag.store(false, Ordering::SeqCst);
            })
            .ok();
        SyncTask { stop: Some(stop_tx), thread, running }
    }

    /// The loop is still running (it ends by itself only on an error no retry can fix).
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Stop the loop and wait for its thread.
    pub fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// On quit: push local changes that are still pending, within [`FLUSH_DEADLINE`] (nothing is lost
/// either way: the outbox keeps them for the next start).
pub fn flush_pending(j: &Journal) {
    let pending = j.sync_status(None).map(|s| s.server.is_some() && s.pending > 0).unwrap_or(false);
    if !pending {
        return;
    }
    let Ok(target) = j.sync_target(&settings()) else { return };
    let Ok(rt) = runtime() else { return };
    let _ = rt.block_on(async {
        tokio::time::timeout(FLUSH_DEADLINE, j.sync_round(&target, Limits::with_exchange(FLUSH_DEADLINE))).await
    });
}
