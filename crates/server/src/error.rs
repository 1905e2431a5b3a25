//! Errors of the server crate. Database errors keep their SQLSTATE so the core API can map the schema's
//! own codes (`TD001` tier limit, ...) to stable API codes; connection strings never appear in messages.

/// Result of server operations.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Input the caller got wrong, naming the field.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// A subscription-tier limit enforced by the database (SQLSTATE TD001).
    #[error("{0}")]
    LimitReached(String),
    /// The server refused the operation (permissions, row-level security, append-only audit, ...).
    #[error("the server refused: {0}")]
    Refused(String),
    #[error("could not reach the server: {0}")]
    Connect(String),
    /// The server refused the login itself (SQLSTATE 28000 or 28P01): a wrong password or a removed role.
    #[error("the server refused this login: {0}")]
    LoginRefused(String),
    #[error("database error: {0}")]
    Db(String),
    #[error("server migration failed: {0}")]
    Migration(String),
    /// The schema on the server is newer than this build knows.
    #[error("the server schema is at version {found}, newer than this build knows ({known})")]
    NewerSchema { found: u32, known: u32 },
    /// A production change without the explicit confirmation.
    #[error("{0}")]
    NeedsConfirmation(String),
    /// The local development cluster could not be started.
    #[error("development PostgreSQL: {0}")]
    Cluster(String),
    #[error("environment: {0}")]
    Environment(String),
    /// No profile of that name in the environments file.
    #[error("environment: no environment {name:?} in {}", file.display())]
    UnknownEnvironment { name: String, file: std::path::PathBuf },
    /// PostgreSQL's server programs (`initdb`, `pg_ctl`) are not installed where they are looked for.
    #[error("development PostgreSQL: the PostgreSQL server programs (initdb, pg_ctl) were not found")]
    NoPostgres,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl ServerError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ServerError::Invalid { field, message: message.into() }
    }
}

impl From<tokio_postgres::Error> for ServerError {
    fn from(e: tokio_postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            let msg = db.message().to_string();
            return match db.code().code() {
                "TD001" => ServerError::LimitReached(msg),
                // insufficient_privilege, RLS violations, append-only audit, immutable owner
                "42501" | "TD002" | "TD004" => ServerError::Refused(msg),
                code => ServerError::Db(format!("{msg} (SQLSTATE {code})")),
            };
        }
        if e.is_closed() {
            return ServerError::Connect("the connection was closed".into());
        }
        // Display of a non-database error never includes the connection string or password.
        ServerError::Connect(e.to_string())
    }
}

impl From<refinery::Error> for ServerError {
    fn from(e: refinery::Error) -> Self {
        ServerError::Migration(e.to_string())
    }
}
