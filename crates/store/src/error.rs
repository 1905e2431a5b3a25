//! The store's error type. Messages are one line, name what went wrong and never contain key material.

use std::path::PathBuf;

use trenddojo_domain::DomainError;

/// What the user can do about an error, named as a thing to do rather than a command of one shell: the CLI
/// turns it into the command to type, the app into a button or a screen. See [`StoreError::remedy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// Create a new store (there is none here yet).
    CreateStore,
    /// Unlock with the store's passphrase (it has one; none was given).
    GivePassphrase,
    /// Keep the key behind a passphrase instead (there is no OS keyring here).
    UsePassphraseInstead,
    /// Unlock the OS keyring (it is locked).
    UnlockKeyring,
    /// Make a new recovery key.
    CreateRecoveryKey,
    /// Restore a backup (this one when known).
    RestoreBackup { file: Option<PathBuf> },
    /// Restore the newest good backup, when there is one, or salvage what is still readable.
    RestoreOrSalvage { newest_backup: Option<PathBuf> },
    /// Install a newer TrendDojo.
    UpgradeApp,
}

/// Everything the local store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no TrendDojo store in {0}")]
    NotInitialized(PathBuf),
    #[error("a TrendDojo store already exists in {0}")]
    AlreadyExists(PathBuf),
    #[error("wrong key or passphrase for the store in {0}")]
    WrongKey(PathBuf),
    /// A passphrase or recovery key that does not unlock a backup or a store (never names the secret).
    #[error("the {what} does not unlock {target}")]
    WrongSecret { what: &'static str, target: String },
    /// The store file (or its WAL, or keyinfo.json) is damaged: never migrated, overwritten or written to.
    /// `advice` names the newest good backup and how to get the data back.
    #[error("the store in {home} is damaged: {what}. {advice}")]
    Damaged { home: PathBuf, what: String, advice: String },
    /// A backup file that is not whole: truncated, altered, or not a backup at all.
    #[error("{path}: {what}")]
    BadBackup { path: PathBuf, what: String },
    /// The request contradicts the store's state (showing a recovery key that was already confirmed...).
    #[error("{field}: {message}")]
    Conflict { field: &'static str, message: String, remedy: Option<Remedy> },
    #[error("{path}: could not write: {reason}; nothing was kept")]
    DiskFull { path: PathBuf, reason: String },
    #[error("no key to unlock the store: {reason}")]
    KeyUnavailable { reason: String, remedy: Option<Remedy> },
    #[error("the OS keyring failed: {0}")]
    Keyring(String),
    #[error("this store has schema version {found}, newer than this TrendDojo knows ({known})")]
    NewerSchema { found: u32, known: u32 },
    /// A file (keyinfo.json, a backup) written by a newer TrendDojo.
    #[error("{file} is format {found}, newer than this TrendDojo reads ({known})")]
    NewerFormat { file: PathBuf, found: u32, known: u32 },
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("{what}: no {what} matches {id:?}")]
    NotFound { what: &'static str, id: String },
    /// An id prefix that matches several rows: how many, and a few of them (`examples`, already written
    /// as `id (label)`) so the user can pick one.
    #[error("{what}: {id:?} matches {count} {what}s, such as {}{}; give more characters", examples.join(", "), if *count > examples.len() { format!(" and {} more", count - examples.len()) } else { String::new() })]
    Ambiguous { what: &'static str, id: String, count: usize, examples: Vec<String> },
    #[error("{0}")]
    LimitReached(String),
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("store data is corrupt: {0}")]
    Corrupt(String),
    #[error("could not seal or open a secret: {0}")]
    Crypto(&'static str),
    #[error("the encryption library (SQLCipher) could not start: {0}")]
    Encryption(String),
}

impl From<rusqlite::Error> for StoreError {
    /// Every SQLite error passes through here, so this is where a damaged page is first seen: the
    /// thread notes it (see [`crate::damage`]) and the store that ran the statement reports the damage.
    fn from(e: rusqlite::Error) -> Self {
        if crate::damage::is_corruption(&e) {
            crate::damage::note_corruption();
        }
        StoreError::Sqlite(e)
    }
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io { path: path.into(), source }
    }

    /// An SQLite error saying the file is damaged (`SQLITE_CORRUPT`, `SQLITE_NOTADB`).
    pub fn is_corruption(&self) -> bool {
        matches!(self, StoreError::Sqlite(e) if crate::damage::is_corruption(e))
    }

    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }

    /// No key to unlock with, for `reason` (no remedy attached yet: see [`StoreError::with_remedy`]).
    pub(crate) fn key_unavailable(reason: impl Into<String>) -> Self {
        StoreError::KeyUnavailable { reason: reason.into(), remedy: None }
    }

    /// A request that contradicts the store's state.
    pub(crate) fn conflict(field: &'static str, message: impl Into<String>) -> Self {
        StoreError::Conflict { field, message: message.into(), remedy: None }
    }

    /// The same error with what the user can do about it (for the variants that carry one).
    pub(crate) fn with_remedy(mut self, r: Remedy) -> Self {
        if let StoreError::KeyUnavailable { remedy, .. } | StoreError::Conflict { remedy, .. } = &mut self {
            *remedy = Some(r);
        }
        self
    }

    /// What the user can do about this error, if anything specific.
    pub fn remedy(&self) -> Option<Remedy> {
        match self {
            StoreError::NotInitialized(_) => Some(Remedy::CreateStore),
            StoreError::KeyUnavailable { remedy, .. } | StoreError::Conflict { remedy, .. } => remedy.clone(),
            StoreError::Damaged { home, .. } => Some(Remedy::RestoreOrSalvage {
                newest_backup: crate::backup::newest_good_backup(&crate::StorePaths::new(home)).map(|b| b.path),
            }),
            StoreError::NewerSchema { .. } | StoreError::NewerFormat { .. } => Some(Remedy::UpgradeApp),
            _ => None,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
