//! The [`Journal`]: an open store plus the user it acts for, and every use case as a method.

pub(crate) mod accounts;
pub(crate) mod dashboard;
pub(crate) mod desktop;
pub(crate) mod imports;
pub(crate) mod maintenance;
pub(crate) mod portable;
pub(crate) mod server;
pub(crate) mod stats;
pub(crate) mod sync;
pub(crate) mod trades;
pub(crate) mod users;

use std::path::{Path, PathBuf};

use trenddojo_store::users::{self as user_repo, User};
use trenddojo_store::{KeySource, MigrateOnOpen, Store};

use crate::error::{ApiError, ApiResult, ErrorCode};

pub use accounts::*;
pub use dashboard::*;
pub use desktop::*;
pub use imports::*;
pub use maintenance::*;
pub use portable::*;
pub use server::*;
pub use stats::*;
pub use sync::*;
pub use trades::*;
pub use users::*;

/// How to open a journal: its data folder, how to unlock it, and optionally which user to act as.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    pub home: PathBuf,
    pub key: KeySource,
    /// Act as this user (email); default: the store's active user.
    pub user: Option<String>,
}

/// Who hears how far a long job has come (see [`Journal::set_progress`]).
pub type ProgressSink = std::sync::Arc<dyn Fn(crate::dto::Progress) + Send + Sync>;

/// An open journal.
pub struct Journal {
    store: Store,
    user: Option<User>,
    progress: Option<ProgressSink>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("store", &self.store)
            .field("user", &self.user.as_ref().map(|u| u.id))
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Journal {
    /// Open an existing journal, applying pending migrations (after an automatic backup), and take the
    /// daily backup if it is due (a failure is a notice, not an error: the trader's work goes on).
    pub fn open(opts: &OpenOptions) -> ApiResult<Journal> {
        let j = Journal::open_deferring_backup(opts)?;
        j.daily_backup_if_due();
        Ok(j)
    }

    /// [`Journal::open`] without the daily backup: a shell that stays open (the app) calls
    /// [`Journal::daily_backup_if_due`] on a thread of its own afterwards, because copying and checking a
    /// large journal takes seconds (14 s at 100 000 trades) and the trader should not wait for it to unlock.
    /// A short-lived process (the CLI) uses `open`: a backup cut off by the process's exit would be wasted.
    pub fn open_deferring_backup(opts: &OpenOptions) -> ApiResult<Journal> {
        let store = Store::open(&opts.home, &opts.key, MigrateOnOpen::Yes)?;
        Journal::with_store(store, opts.user.as_deref())
    }

    /// Take the daily backup if it is due (the newest is a day old or more) and prune to the newest N. A
    /// failure is a notice, not an error: the trader's work goes on. Safe beside any other use of the
    /// journal (the copy is of one read snapshot). Returns the new backup's path, if one was taken.
    pub fn daily_backup_if_due(&self) -> Option<PathBuf> {
        match self.store.daily_backup_if_due() {
            Ok(p) => p,
            Err(e) => {
                crate::notices::push(format!("the automatic daily backup failed: {e}"));
                None
            }
        }
    }

    fn with_store(store: Store, email: Option<&str>) -> ApiResult<Journal> {
        let user = store.read(|c| match email {
            Some(e) => user_repo::find_by_email(c, e)?
                .map(Some)
                .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("user: no user {e:?} in this store"))),
            None => Ok(user_repo::active_user(c)?),
        })?;
        Ok(Journal { store, user, progress: None })
    }

    /// Report the progress of long jobs (sync uploads and downloads, broker file reading) to `sink`: the
    /// CLI draws a bar, the app sends an event to its window. One sink for the journal's life.
    pub fn set_progress(&mut self, sink: ProgressSink) {
        self.progress = Some(sink);
    }

    /// Tell the sink, if any.
    pub(crate) fn report(&self, p: crate::dto::Progress) {
        if let Some(s) = &self.progress {
            s(p);
        }
    }

    /// The sink as the sync engine's callback.
    pub(crate) fn sync_progress(&self) -> Option<trenddojo_sync::progress::OnProgress> {
        let sink = self.progress.clone()?;
        Some(std::sync::Arc::new(move |step: trenddojo_sync::progress::Step| sink(step.into())))
    }

    /// The underlying store (benchmarks and tests).
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn home(&self) -> &Path {
        &self.store.paths().home
    }

    /// The user this journal acts for, or a clear error when there is none yet.
    pub fn user(&self) -> ApiResult<crate::dto::User> {
        Ok(self.current_user()?.into())
    }

    /// The id of the user this journal acts for.
    pub(crate) fn user_id(&self) -> ApiResult<uuid::Uuid> {
        Ok(self.current_user()?.id)
    }

    pub(crate) fn current_user(&self) -> ApiResult<&User> {
        self.user.as_ref().ok_or_else(|| {
            ApiError::new(ErrorCode::NotFound, "user: this store has no active user")
                .with_field("user")
                .with_action(crate::error::Action::AddUser)
        })
    }
}
