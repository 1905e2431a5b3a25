//! The API error: a small, serializable value with a stable code, so the CLI can pick an exit code and
//! the desktop UI can react without matching on message text.

use serde::Serialize;
use trenddojo_domain::DomainError;
use trenddojo_store::StoreError;

/// Stable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A value the user typed is malformed or out of range.
    InvalidInput,
    NotFound,
    Ambiguous,
    /// The request contradicts the data (closing more than is open, a duplicate name...).
    Conflict,
    /// A risk rule with enforcement `block` refused the trade.
    RiskBlocked,
    /// The subscription tier's limit is reached.
    LimitReached,
    NotInitialized,
    AlreadyExists,
    WrongKey,
    KeyUnavailable,
    /// The store was written by a newer TrendDojo.
    NewerSchema,
    Corrupt,
    /// The server refused: permissions, row-level security, the append-only audit log.
    Refused,
    /// The server could not be reached or refused the login.
    Unreachable,
    /// A production change needs an explicit confirmation.
    ConfirmationRequired,
    /// The server refused the login itself (a wrong password, a removed user): retrying cannot help until
    /// the user signs in again.
    LoginRefused,
    /// The server's audit hash chain no longer holds a head a device saw: it was rewritten (and re-hashed)
    /// by someone able to bypass the server's triggers. Nothing the device can repair; report it.
    AuditRewritten,
    /// The user stopped the operation (Ctrl-C, closing the window) before it finished.
    Interrupted,
    Io,
    Internal,
}

/// An error as the shells see it: code, one-line message, and the input field it concerns, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What the user can do about it, in words that name the thing (never a CLI flag or a button).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The same as something a shell can offer: the CLI prints the command to type, the app shows the
    /// button or screen that does it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

/// Something the user can do about an error, named as a thing to do rather than as one shell's command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Create a new store (there is none in this data folder yet).
    CreateStore,
    /// Unlock with the store's passphrase (it has one; none was given).
    GivePassphrase,
    /// Keep the key behind a passphrase (there is no OS keyring here).
    UsePassphraseInstead,
    /// Unlock the OS keyring.
    UnlockKeyring,
    /// Make a new recovery key.
    CreateRecoveryKey,
    /// Restore a backup (this file when known).
    RestoreBackup { file: Option<String> },
    /// Restore the newest good backup (when there is one) or salvage what is still readable.
    RestoreOrSalvage { newest_backup: Option<String> },
    /// Install a newer TrendDojo.
    UpgradeApp,
    /// Add a user to this store (or load a seed state, which has users).
    AddUser,
    /// Add a trading account.
    AddAccount,
    /// Apply the store's pending migrations (up to `to`, else all).
    MigrateStore { to: Option<u32> },
    /// Roll the store's schema back to `to`.
    RollbackStore { to: u32 },
    /// Replace everything with a seed state (after a backup).
    ResetStore { state: Option<String> },
    /// Bring the server's schema up to date.
    MigrateServer,
    /// Add a server environment profile of this name.
    AddServerEnvironment { name: String },
    /// Install PostgreSQL's server programs.
    InstallPostgres,
    /// Sign in to the sync server again.
    SignIn,
}

impl From<trenddojo_store::Remedy> for Action {
    fn from(r: trenddojo_store::Remedy) -> Self {
        use trenddojo_store::Remedy as R;
        let text = |p: std::path::PathBuf| p.display().to_string();
        match r {
            R::CreateStore => Action::CreateStore,
            R::GivePassphrase => Action::GivePassphrase,
            R::UsePassphraseInstead => Action::UsePassphraseInstead,
            R::UnlockKeyring => Action::UnlockKeyring,
            R::CreateRecoveryKey => Action::CreateRecoveryKey,
            R::RestoreBackup { file } => Action::RestoreBackup { file: file.map(text) },
            R::RestoreOrSalvage { newest_backup } => {
                Action::RestoreOrSalvage { newest_backup: newest_backup.map(text) }
            }
            R::UpgradeApp => Action::UpgradeApp,
        }
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into(), field: None, hint: None, action: None }
    }

    /// The same error, with something the user can do about it.
    pub fn with_action(mut self, action: Action) -> Self {
        self.action = Some(action);
        self
    }

    /// The same error, naming the input field it concerns.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The same error, with advice on what to do.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// An invalid-input error whose message starts with the field's name.
    pub fn invalid(field: &str, message: impl std::fmt::Display) -> Self {
        ApiError {
            code: ErrorCode::InvalidInput,
            message: format!("{field}: {message}"),
            field: Some(field.to_string()),
            hint: None,
            action: None,
        }
    }

    pub fn conflict(field: &str, message: impl std::fmt::Display) -> Self {
        ApiError {
            code: ErrorCode::Conflict,
            message: format!("{field}: {message}"),
            field: Some(field.to_string()),
            hint: None,
            action: None,
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The field name a domain error concerns (its message always starts with it).
fn field_of(message: &str) -> Option<String> {
    message.split_once(':').map(|(f, _)| f.trim().to_string()).filter(|f| !f.contains(' ') && !f.is_empty())
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let message = e.to_string();
        let code = match e {
            DomainError::OverClose { .. } => ErrorCode::Conflict,
            _ => ErrorCode::InvalidInput,
        };
        ApiError { code, field: field_of(&message), message, hint: None, action: None }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::NotInitialized(_) => ErrorCode::NotInitialized,
            StoreError::AlreadyExists(_) => ErrorCode::AlreadyExists,
            StoreError::WrongKey(_) | StoreError::WrongSecret { .. } => ErrorCode::WrongKey,
            StoreError::Damaged { .. } | StoreError::BadBackup { .. } => ErrorCode::Corrupt,
            StoreError::DiskFull { .. } => ErrorCode::Io,
            StoreError::Conflict { .. } => ErrorCode::Conflict,
            // A damaged page met outside the store's own guards (`Store::read`/`write` report it as Damaged).
            StoreError::Sqlite(_) if e.is_corruption() => ErrorCode::Corrupt,
            StoreError::KeyUnavailable { .. } | StoreError::Keyring(_) => ErrorCode::KeyUnavailable,
            StoreError::NewerSchema { .. } | StoreError::NewerFormat { .. } => ErrorCode::NewerSchema,
            StoreError::Invalid { .. } => ErrorCode::InvalidInput,
            StoreError::NotFound { .. } => ErrorCode::NotFound,
            StoreError::Ambiguous { .. } => ErrorCode::Ambiguous,
            StoreError::LimitReached(_) => ErrorCode::LimitReached,
            StoreError::Domain(d) => return ApiError::from(d.clone()),
            StoreError::Corrupt(_) | StoreError::Crypto(_) => ErrorCode::Corrupt,
            StoreError::Io { .. } => ErrorCode::Io,
            StoreError::Migration(_) | StoreError::Sqlite(_) | StoreError::Encryption(_) => ErrorCode::Internal,
        };
        let field = match &e {
            StoreError::Invalid { field, .. } | StoreError::Conflict { field, .. } => Some((*field).to_string()),
            _ => None,
        };
        ApiError { code, message: e.to_string(), field, hint: None, action: e.remedy().map(Action::from) }
    }
}

impl From<trenddojo_server::ServerError> for ApiError {
    fn from(e: trenddojo_server::ServerError) -> Self {
        use trenddojo_server::ServerError as S;
        let (code, field) = match &e {
            S::Invalid { field, .. } => (ErrorCode::InvalidInput, Some((*field).to_string())),
            S::LimitReached(_) => (ErrorCode::LimitReached, None),
            S::Refused(_) => (ErrorCode::Refused, None),
            S::Connect(_) => (ErrorCode::Unreachable, None),
            S::LoginRefused(_) => (ErrorCode::LoginRefused, Some("password".to_string())),
            S::NewerSchema { .. } => (ErrorCode::NewerSchema, None),
            S::NeedsConfirmation(_) => (ErrorCode::ConfirmationRequired, None),
            S::Environment(_) => (ErrorCode::NotFound, Some("env".to_string())),
            S::UnknownEnvironment { .. } => (ErrorCode::NotFound, Some("env".to_string())),
            S::NoPostgres => (ErrorCode::NotFound, None),
            S::Io(_) => (ErrorCode::Io, None),
            S::Db(_) | S::Migration(_) | S::Cluster(_) => (ErrorCode::Internal, None),
        };
        let action = match &e {
            S::UnknownEnvironment { name, .. } => Some(Action::AddServerEnvironment { name: name.clone() }),
            S::NoPostgres => Some(Action::InstallPostgres),
            S::NewerSchema { .. } => Some(Action::UpgradeApp),
            S::LoginRefused(_) => Some(Action::SignIn),
            _ => None,
        };
        ApiError { code, message: e.to_string(), field, hint: None, action }
    }
}

impl From<trenddojo_sync::SyncError> for ApiError {
    fn from(e: trenddojo_sync::SyncError) -> Self {
        use trenddojo_sync::SyncError as S;
        match e {
            S::Server(s) => ApiError::from(s),
            S::Store(s) => ApiError::from(s),
            S::Invalid { field, message } => ApiError {
                code: ErrorCode::InvalidInput,
                message: format!("{field}: {message}"),
                field: Some(field),
                hint: None,
                action: None,
            },
            S::Conflict { field, message } => ApiError {
                code: ErrorCode::Conflict,
                message: format!("{field}: {message}"),
                field: Some(field),
                hint: None,
                action: None,
            },
            S::Gap { .. } => ApiError::new(ErrorCode::Conflict, e.to_string()),
            S::ForeignDevice => ApiError::new(ErrorCode::Refused, e.to_string()),
            S::NewerServer { .. } => {
                ApiError::new(ErrorCode::NewerSchema, e.to_string()).with_action(Action::UpgradeApp)
            }
            S::OlderServer { .. } => {
                ApiError::new(ErrorCode::Conflict, e.to_string()).with_action(Action::MigrateServer)
            }
            S::BadHlc(_) => ApiError::new(ErrorCode::Corrupt, e.to_string()),
            S::LoginRefused(_) => ApiError::new(ErrorCode::LoginRefused, e.to_string())
                .with_field("password")
                .with_action(Action::SignIn)
                .with_hint("sign in again with the right password; if the user was removed, ask the server's admin"),
            S::Stalled { .. } => ApiError::new(ErrorCode::Unreachable, e.to_string())
                .with_hint("check the network; background sync tries again on its own"),
            S::DeviceBusy => ApiError::new(ErrorCode::Unreachable, e.to_string()),
            S::Rejected { .. } => ApiError::new(ErrorCode::Refused, e.to_string()),
            S::AuditRewritten(_) => ApiError::new(ErrorCode::AuditRewritten, e.to_string())
                .with_hint("export this device's chain heads and give them to the server's operator"),
        }
    }
}

/// An API error describing a sync error seen but not owned (background sync reports each failure and
/// keeps going): the same code as the owned conversion gives, the same message.
pub(crate) fn of_sync_error(e: &trenddojo_sync::SyncError) -> ApiError {
    use trenddojo_server::ServerError as V;
    use trenddojo_sync::SyncError as S;
    let code = match e {
        S::BadHlc(_) => ErrorCode::Corrupt,
        S::Invalid { .. } => ErrorCode::InvalidInput,
        S::Conflict { .. } | S::Gap { .. } | S::OlderServer { .. } => ErrorCode::Conflict,
        S::NewerServer { .. } => ErrorCode::NewerSchema,
        S::ForeignDevice | S::Rejected { .. } => ErrorCode::Refused,
        S::AuditRewritten(_) => ErrorCode::AuditRewritten,
        S::LoginRefused(_) | S::Server(V::LoginRefused(_)) => ErrorCode::LoginRefused,
        S::Stalled { .. } | S::DeviceBusy | S::Server(V::Connect(_)) => ErrorCode::Unreachable,
        S::Server(V::Refused(_)) => ErrorCode::Refused,
        S::Server(V::LimitReached(_)) => ErrorCode::LimitReached,
        S::Server(V::NewerSchema { .. }) => ErrorCode::NewerSchema,
        S::Store(s) if s.is_corruption() || matches!(s, trenddojo_store::StoreError::Damaged { .. }) => {
            ErrorCode::Corrupt
        }
        S::Server(V::Io(_)) => ErrorCode::Io,
        S::Server(_) | S::Store(_) => ErrorCode::Internal,
    };
    let action = match e {
        S::LoginRefused(_) | S::Server(V::LoginRefused(_)) => Some(Action::SignIn),
        S::NewerServer { .. } | S::Server(V::NewerSchema { .. }) => Some(Action::UpgradeApp),
        S::OlderServer { .. } => Some(Action::MigrateServer),
        S::Store(s) => s.remedy().map(Action::from),
        _ => None,
    };
    ApiError { code, message: e.to_string(), field: None, hint: None, action }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_snake_case() {
        let e = ApiError::invalid("quantity", "must be positive");
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json, r#"{"code":"invalid_input","message":"quantity: must be positive","field":"quantity"}"#,
            "the UI and scripts rely on this shape"
        );
    }
}
