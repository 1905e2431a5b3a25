//! TrendDojo's sync engine (issue 4), built bottom-up. What exists so far:
//!
//! - [`hlc`]: the hybrid-logical-clock stamps every change carries, as a validated, totally ordered type.
//! - [`merge`]: the per-field merge both sides of a sync apply: last writer wins per field by HLC (device id
//!   breaks ties), a delete wins over any edit, and every overridden value is reported for the conflict
//!   log. The merge is a join of a semilattice (commutative, associative, idempotent), which is what makes
//!   devices converge whatever order batches arrive in, however often they are retried.
//!
//! Push, pull and the background worker build on these (see ARCHITECTURE.md, "Sync protocol").

pub mod hlc;
pub mod merge;
pub mod tables;

pub use hlc::Hlc;
pub use merge::{merge, Field, Merged, Overridden, RowState};

/// Errors of the sync engine.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SyncError {
    /// A clock stamp that does not have the form `<ms:13>.<counter:5>.<device>`.
    #[error("hlc: {0:?} is not a clock stamp (<13-digit ms>.<5-digit counter>.<device>)")]
    BadHlc(String),
}
