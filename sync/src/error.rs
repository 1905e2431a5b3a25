//! The sync engine's errors, and what each means for a round and for background sync.
//!
//! Three families, told apart here once so every caller (a one-shot round, the watch loop, the shells)
//! treats them the same way:
//! - *fatal*: retrying cannot help until something outside the engine changes (the login, the build, the
//!   server's data): [`SyncError::is_fatal`]. The watch loop stops on them.
//! - *row-level*: the server refused one row of a push (a constraint, a tier limit). Never returned from a
//!   round: the push keeps such a row aside and carries on ([`SyncError::Rejected`]).
//! - everything else is *transient* (the network, a stalled server, a busy device lock): retried with
//!   backoff.

use std::time::Duration;

/// Errors of the sync engine.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A clock stamp that does not have the form `<ms:13>.<counter:5>.<device>`.
    #[error("hlc: {0:?} is not a clock stamp (<13-digit ms>.<5-digit counter>.<device>)")]
    BadHlc(String),
    /// A value the engine cannot apply as given (unknown table or field, bad value), naming it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A request that contradicts the data (restoring a conflict twice, or onto a deleted row).
    #[error("{field}: {message}")]
    Conflict { field: String, message: String },
    /// The server has fewer of this device's changes than it acknowledged before: something was lost.
    #[error("sync: the server has this device's changes up to {server_last}, but had acknowledged more (the push follows {}); the server lost data: reset this device's copy from the server", batch_first - 1)]
    Gap { server_last: i64, batch_first: i64 },
    /// The server's schema is newer than this build knows: stop before writing anything.
    #[error("sync: the server schema is at version {found}, newer than this TrendDojo knows ({known}); upgrade TrendDojo before syncing")]
    NewerServer { found: u32, known: u32 },
    /// The server's schema predates what sync needs.
    #[error("sync: the server schema is at version {found}; sync needs at least {needed}: migrate the server")]
    OlderServer { found: u32, needed: u32 },
    /// The device id is registered to another user.
    #[error("sync: this device id belongs to another user")]
    ForeignDevice,
    /// The server refused the login itself: a wrong password, a removed user, or a login that is not a
    /// TrendDojo user. Retrying with the same login cannot help.
    #[error("the server refused this login: {0} (wrong password, or the user was removed); sign in again")]
    LoginRefused(String),
    /// An exchange with the server got no answer within the limit (a stalled network or server).
    #[error("the server stopped answering: no reply to {what} within {} s", after.as_secs())]
    Stalled { what: &'static str, after: Duration },
    /// Another sync of this device still holds its lock on the server (a second process, or a stalled
    /// session the server has not ended yet).
    #[error("another sync of this device is still running on the server; try again in a minute")]
    DeviceBusy,
    /// The server refused one or more rows of a push (SQLSTATE `code`): a constraint or a tier limit.
    #[error("the server refused the row: {message}")]
    Rejected { code: String, message: String },
    /// The server's audit hash chain no longer holds a head this device saw at an earlier sync: someone
    /// able to bypass the server's triggers rewrote (or cut) it. Nothing the device can repair.
    #[error(
        "audit: {0}; report this to the server's operator (`verify-audit --witness` with this device's heads shows it)"
    )]
    AuditRewritten(String),
    #[error("{0}")]
    Server(#[from] trenddojo_server::ServerError),
    /// The local store failed.
    #[error("{0}")]
    Store(#[from] trenddojo_store::StoreError),
}

impl SyncError {
    /// Errors no retry can fix until something changes outside the engine (the login, this build, the
    /// server's data): background sync stops on them instead of retrying forever.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            SyncError::NewerServer { .. }
                | SyncError::OlderServer { .. }
                | SyncError::Gap { .. }
                | SyncError::ForeignDevice
                | SyncError::LoginRefused(_)
                | SyncError::AuditRewritten(_)
        )
    }

    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> SyncError {
        SyncError::Invalid { field: field.into(), message: message.into() }
    }
}

/// SQLSTATE classes and codes a server raises for one row of a push rather than for the whole exchange:
/// data exceptions (class 22: a value out of range), integrity constraints (class 23: a check, a foreign
/// key, a unique index), and the schema's tier limit (TD001).
pub(crate) fn row_level(code: &str) -> bool {
    code.starts_with("22") || code.starts_with("23") || code == "TD001"
}

impl From<tokio_postgres::Error> for SyncError {
    fn from(e: tokio_postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            let code = db.code().code();
            match code {
                // invalid_authorization_specification, invalid_password
                "28000" | "28P01" => return SyncError::LoginRefused(db.message().to_string()),
                c if row_level(c) => {
                    return SyncError::Rejected { code: c.to_string(), message: db.message().to_string() }
                }
                _ => {}
            }
        }
        SyncError::Server(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fatal_errors_are_the_ones_no_retry_fixes() {
        assert!(SyncError::LoginRefused("password authentication failed".into()).is_fatal(), "a refused login");
        assert!(SyncError::ForeignDevice.is_fatal(), "a foreign device");
        assert!(!SyncError::DeviceBusy.is_fatal(), "a busy lock clears");
        assert!(!SyncError::Stalled { what: "push", after: Duration::from_secs(30) }.is_fatal(), "a stall clears");
        assert!(row_level("23505") && row_level("22003") && row_level("TD001"), "constraints, data, limits");
        assert!(!row_level("42501") && !row_level("57014"), "permissions and cancels are not one row's fault");
        let msg = SyncError::Stalled { what: "the push", after: Duration::from_secs(30) }.to_string();
        assert_eq!(msg, "the server stopped answering: no reply to the push within 30 s", "says what stalled");
    }
}
