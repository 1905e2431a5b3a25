//! TrendDojo's core API: one method per use case, shared by every shell.
//!
//! The CLI and the desktop app are thin: they turn flags or IPC calls into the input structs here (plain
//! strings, exactly what a user typed, so money never passes through a float) and print or render what
//! comes back. Everything in between, validation, risk rules, tier limits, recomputing a trade from its
//! executions, happens here, inside one store transaction per use case, so a failure leaves no partial
//! write. Errors are [`ApiError`]s with stable codes.

pub mod bindings;
pub mod dto;
mod error;
pub mod format;
pub mod notices;
pub mod parse;
pub mod seed;
mod service;

pub use error::{Action, ApiError, ApiResult, ErrorCode};
pub use service::*;
pub use trenddojo_store::{KeySource, Passphrase, RecoveryKey};

/// The store's own reports that maintenance use cases return as they are (no trading data in them).
pub mod maintenance_types {
    pub use trenddojo_store::restore::UnlockedWith;
    pub use trenddojo_store::{BackupEntry, BackupOutcome, RecoveryState, RestoreOutcome};
    pub use trenddojo_store::{DbStatus, IntegrityReport};
}

/// Sync configuration and events the shells pass in or hear (plain values, no connection or store inside).
pub mod sync_types {
    pub use trenddojo_sync::watch::WatchOptions;
    pub use trenddojo_sync::Limits;
}

/// Server administration results (the CLI's `server` commands; the app does not administer servers).
pub mod server_types {
    pub use trenddojo_server::admin::{AuditReport, Provisioned, STANDARD_PASSWORD, STANDARD_USERS};
    pub use trenddojo_server::envs::{Environments, Profile};
    pub use trenddojo_server::migrations::{Applied, Pending};
}
