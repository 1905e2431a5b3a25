//! Connections, with TLS when the server offers it.
//!
//! Every connection goes through an OpenSSL connector that verifies the server's certificate and host
//! name. With `sslmode=prefer` (tokio-postgres' default) a server without TLS, such as the local development
//! cluster on loopback, is reached in plain text; `sslmode=require` in the connection string refuses that.
//! Supabase signs its database certificates with its own CA: give that file as the profile's `ca_file`
//! (or `PGSSLROOTCERT`, as with libpq); otherwise the system's CA bundle is trusted. Errors never echo
//! the connection string: it may hold a password.

use std::path::{Path, PathBuf};

use openssl::ssl::{SslConnector, SslMethod, SslVersion};
use postgres_openssl::MakeTlsConnector;
use tokio_postgres::config::SslMode;
pub use tokio_postgres::{Client, Config};

use crate::error::{Result, ServerError};

/// Where Linux distributions and macOS keep the system CA bundle.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

fn tls_error(what: &str, e: impl std::fmt::Display) -> ServerError {
    ServerError::Connect(format!("TLS setup: {what}: {e}"))
}

/// The TLS connector: trust `ca_file` only if given (else `PGSSLROOTCERT`, else the system bundle),
/// TLS 1.2 at least, certificate and host name verified.
pub fn tls_connector(ca_file: Option<&Path>) -> Result<MakeTlsConnector> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(|e| tls_error("OpenSSL", e))?;
    b.set_min_proto_version(Some(SslVersion::TLS1_2)).map_err(|e| tls_error("OpenSSL", e))?;
    let explicit: Option<PathBuf> =
        ca_file.map(Path::to_path_buf).or_else(|| std::env::var_os("PGSSLROOTCERT").map(PathBuf::from));
    match explicit {
        Some(path) => {
            if !path.is_file() {
                return Err(ServerError::invalid("ca-file", format!("{} is not a readable file", path.display())));
            }
            b.set_ca_file(&path)
                .map_err(|_| ServerError::invalid("ca-file", format!("{} holds no PEM certificate", path.display())))?;
        }
        None => {
            b.set_default_verify_paths().map_err(|e| tls_error("default CA paths", e))?;
            if let Some(bundle) = SYSTEM_BUNDLES.iter().map(Path::new).find(|p| p.is_file()) {
                b.set_ca_file(bundle).map_err(|e| tls_error("system CA bundle", e))?;
            }
        }
    }
    Ok(MakeTlsConnector::new(b.build()))
}

/// Parse a connection string (URL or key-value form) and connect; the connection task runs on the current
/// Tokio runtime until the client is dropped.
pub async fn connect(conn: &str) -> Result<Client> {
    let config: Config = conn.parse().map_err(|_| {
        ServerError::invalid("url", "not a PostgreSQL connection string (postgresql://user@host:port/db)")
    })?;
    connect_config(&config).await
}

/// Connect trusting `PGSSLROOTCERT` or the system CA bundle.
pub async fn connect_config(config: &Config) -> Result<Client> {
    connect_with(config, None).await
}

/// Is every host of `config` this machine (a Unix socket or a loopback address)?
fn local_only(config: &Config) -> bool {
    config.get_hosts().iter().all(|h| match h {
        tokio_postgres::config::Host::Tcp(name) => {
            name == "localhost" || name.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
        }
        #[cfg(unix)]
        tokio_postgres::config::Host::Unix(_) => true,
    })
}

/// The TLS policy: a server on another machine is always reached over TLS (`prefer`, the default, becomes
/// `require`, so a man in the middle cannot strip it); `sslmode=disable` is refused for such a server.
pub fn with_tls_policy(config: &Config) -> Result<Config> {
    let mut config = config.clone();
    if !local_only(&config) {
        match config.get_ssl_mode() {
            SslMode::Disable => {
                return Err(ServerError::invalid(
                    "server",
                    "sslmode=disable is refused for a server on another machine: credentials would travel in clear",
                ))
            }
            SslMode::Prefer => {
                config.ssl_mode(SslMode::Require);
            }
            _ => {}
        }
    }
    Ok(config)
}

/// Why a connection failed, without the connection string: a refused login (SQLSTATE 28000 invalid
/// authorization, 28P01 wrong password) is told apart from a server that cannot be reached, because
/// retrying the first cannot help.
fn connect_error(e: tokio_postgres::Error) -> ServerError {
    match e.as_db_error() {
        Some(db) if matches!(db.code().code(), "28000" | "28P01") => {
            ServerError::LoginRefused(db.message().to_string())
        }
        Some(db) => ServerError::Connect(db.message().to_string()),
        None => ServerError::Connect(e.to_string()),
    }
}

/// Connect trusting `ca_file` (if given) for the server's certificate.
pub async fn connect_with(config: &Config, ca_file: Option<&Path>) -> Result<Client> {
    let config = &with_tls_policy(config)?;
    let tls = tls_connector(ca_file)?;
    let (client, connection) = config.connect(tls).await.map_err(connect_error)?;
    tokio::spawn(async move {
        // The connection ends when the client is dropped; errors surface on the client's next call.
        let _ = connection.await;
    });
    Ok(client)
}

/// A notification a listening connection received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub channel: String,
    pub payload: String,
}

/// Connect for notifications: the client, and a receiver that yields each notification the connection
/// gets and closes when the connection ends (so the caller learns it was cut off).
pub async fn connect_listener(
    config: &Config,
    ca_file: Option<&Path>,
) -> Result<(Client, tokio::sync::mpsc::UnboundedReceiver<Notice>)> {
    let config = &with_tls_policy(config)?;
    let tls = tls_connector(ca_file)?;
    let (client, mut connection) = config.connect(tls).await.map_err(connect_error)?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => {
                    let notice = Notice { channel: n.channel().to_string(), payload: n.payload().to_string() };
                    if tx.send(notice).is_err() {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            }
        }
    });
    Ok((client, rx))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url: &str) -> Result<SslMode> {
        let c: Config = url.parse().expect("url");
        with_tls_policy(&c).map(|c| c.get_ssl_mode())
    }

    #[test]
    fn remote_servers_always_get_tls() {
        assert!(
            matches!(mode("postgresql://u@db.example.com/postgres"), Ok(SslMode::Require)),
            "prefer becomes require"
        );
        assert!(mode("postgresql://u@db.example.com/postgres?sslmode=disable").is_err(), "disable is refused remotely");
        assert!(matches!(mode("postgresql://u@127.0.0.1:5432/x"), Ok(SslMode::Prefer)), "loopback keeps prefer");
        assert!(
            matches!(mode("host=/tmp/run port=5432 user=postgres"), Ok(SslMode::Prefer)),
            "a Unix socket keeps prefer"
        );
        assert!(
            matches!(mode("postgresql://u@localhost/x?sslmode=disable"), Ok(SslMode::Disable)),
            "local disable is allowed"
        );
    }
}
