//! TrendDojo's sync engine (issue 4), built bottom-up. What exists so far:
//!
//! - [`hlc`]: the hybrid-logical-clock stamps every change carries, as a validated, totally ordered type.
//! - [`merge`](mod@merge): the per-field merge both sides of a sync apply: last writer wins per field by HLC (device id
//!   breaks ties), a delete wins over any edit, and every overridden value is reported for the conflict
//!   log. The merge is a join of a semilattice (commutative, associative, idempotent), which is what makes
//!   devices converge whatever order batches arrive in, however often they are retried.
//!
//! Push, pull and the background worker build on these (see ARCHITECTURE.md, "Sync protocol").

pub mod convert;
pub mod engine;
pub mod hlc;
pub mod merge;
pub mod push;
pub mod tables;
pub mod watch;

pub use hlc::Hlc;
pub use merge::{merge, Field, Merged, Overridden, RowState};
pub use push::{push_batch, Mutation, PushOutcome, RowConflict};

/// Errors of the sync engine.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A clock stamp that does not have the form `<ms:13>.<counter:5>.<device>`.
    #[error("hlc: {0:?} is not a clock stamp (<13-digit ms>.<5-digit counter>.<device>)")]
    BadHlc(String),
    /// A mutation the engine cannot apply as given (unknown table or field, bad value), naming it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The server has fewer of this device's changes than it acknowledged before: something was lost.
    #[error("sync: the server has this device's changes up to {server_last}, but had acknowledged more (the push follows {}); the server lost data: run `trenddojo sync reset`", batch_first - 1)]
    Gap { server_last: i64, batch_first: i64 },
    /// The server's schema is newer than this build knows: stop before writing anything.
    #[error("sync: the server schema is at version {found}, newer than this TrendDojo knows ({known}); upgrade TrendDojo before syncing")]
    NewerServer { found: u32, known: u32 },
    /// The server's schema predates what sync needs.
    #[error("sync: the server schema is at version {found}; sync needs at least {needed}: migrate the server (`trenddojo db migrate --env ...`)")]
    OlderServer { found: u32, needed: u32 },
    /// The device id is registered to another user.
    #[error("sync: this device id belongs to another user")]
    ForeignDevice,
    #[error("{0}")]
    Server(#[from] trenddojo_server::ServerError),
    /// The local store failed.
    #[error("{0}")]
    Store(#[from] trenddojo_store::StoreError),
}

impl From<tokio_postgres::Error> for SyncError {
    fn from(e: tokio_postgres::Error) -> Self {
        SyncError::Server(e.into())
    }
}
