//! Connections. Plain TCP or the Unix socket for now (development and tests); a TLS connector for Supabase
//! is the next step (see the issue note). Errors never echo the connection string: it may hold a password.

pub use tokio_postgres::Client;
use tokio_postgres::{Config, NoTls};

use crate::error::{Result, ServerError};

/// Parse a connection string (URL or key-value form) and connect; the connection task runs on the current
/// Tokio runtime until the client is dropped.
pub async fn connect(conn: &str) -> Result<Client> {
    let config: Config = conn.parse().map_err(|_| {
        ServerError::invalid("url", "not a PostgreSQL connection string (postgresql://user@host:port/db)")
    })?;
    connect_config(&config).await
}

pub async fn connect_config(config: &Config) -> Result<Client> {
    let (client, connection) = config.connect(NoTls).await.map_err(|e| match e.as_db_error() {
        Some(db) => ServerError::Connect(db.message().to_string()),
        None => ServerError::Connect(e.to_string()),
    })?;
    tokio::spawn(async move {
        // The connection ends when the client is dropped; errors surface on the client's next call.
        let _ = connection.await;
    });
    Ok(client)
}

/// Create the `trenddojo` database on a cluster if it does not exist (needs a role with CREATEDB).
pub async fn ensure_database(maintenance_conn: &str, name: &str) -> Result<bool> {
    let client = connect(maintenance_conn).await?;
    let exists = client.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await?.is_some();
    if exists {
        return Ok(false);
    }
    let ident = name.replace('"', "\"\"");
    client.batch_execute(&format!("CREATE DATABASE \"{ident}\"")).await?;
    Ok(true)
}
