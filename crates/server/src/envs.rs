//! Environment profiles: development (the local cluster), staging and production (Supabase).
//!
//! Profiles live in `<home>/environments.json` and hold the service connection string *without* its
//! password: saving one that carries a password is refused. The secret comes from the environment
//! variable `TRENDDOJO_<ENV>_PASSWORD` or from the OS keyring (service `trenddojo-server`, user = the
//! environment's name), in that order. Production is marked so every schema change needs an explicit
//! confirmation and seeding is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio_postgres::config::SslMode;
use tokio_postgres::Config;
use zeroize::Zeroizing;

use crate::error::{Result, ServerError};

const FILE: &str = "environments.json";
const KEYRING_SERVICE: &str = "trenddojo-server";

/// One environment's profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Profile {
    /// Service connection string (URL or key-value form), never with a password.
    pub service: String,
    /// Production: schema changes need `--confirm production`, seeding is refused.
    #[serde(default)]
    pub production: bool,
    /// The CA certificate (PEM) that signs the server's TLS certificate (Supabase's own CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Environments {
    pub environments: BTreeMap<String, Profile>,
}

fn path(home: &Path) -> PathBuf {
    home.join(FILE)
}

/// Environment names are simple identifiers (they become part of an environment variable's name).
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ServerError::invalid(
            "env",
            format!("{name:?} is not an environment name (lowercase letters, digits, - and _)"),
        ))
    }
}

fn parse(conn: &str) -> Result<Config> {
    conn.parse::<Config>().map_err(|_| {
        ServerError::invalid("server", "not a PostgreSQL connection string (postgresql://user@host:port/db)")
    })
}

pub fn load(home: &Path) -> Result<Environments> {
    match std::fs::read(path(home)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| ServerError::Environment(format!("{} is not valid: {e}", path(home).display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Environments::default()),
        Err(e) => Err(e.into()),
    }
}

/// Save (or replace) a profile. Refuses a connection string that carries a password.
pub fn set(home: &Path, name: &str, service: &str, production: bool, ca_file: Option<&Path>) -> Result<Profile> {
    check_name(name)?;
    let config = parse(service)?;
    if config.get_password().is_some() {
        return Err(ServerError::invalid(
            "server",
            "the connection string holds a password; profiles never store secrets: remove it (the password is kept \
             in the OS keyring, or given when connecting)",
        ));
    }
    if let Some(ca) = ca_file {
        // Fail now, not at the first connection.
        crate::db::tls_connector(Some(ca))?;
    }
    let ca_file = ca_file.map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()));
    let mut all = load(home)?;
    let profile = Profile { service: service.to_string(), production: production || name == "production", ca_file };
    all.environments.insert(name.to_string(), profile.clone());
    std::fs::create_dir_all(home)?;
    let json = serde_json::to_vec_pretty(&all).map_err(|e| ServerError::Environment(e.to_string()))?;
    let tmp = path(home).with_extension("json.tmp");
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path(home))?;
    Ok(profile)
}

pub fn get(home: &Path, name: &str) -> Result<Profile> {
    check_name(name)?;
    load(home)?
        .environments
        .remove(name)
        .ok_or_else(|| ServerError::UnknownEnvironment { name: name.to_string(), file: path(home) })
}

fn env_var(name: &str) -> String {
    format!("TRENDDOJO_{}_PASSWORD", name.to_ascii_uppercase().replace('-', "_"))
}

/// Keep an environment's password in the OS keyring.
pub fn store_password(name: &str, password: &str) -> Result<()> {
    check_name(name)?;
    let entry = keyring::Entry::new(KEYRING_SERVICE, name).map_err(keyring_error)?;
    entry.set_password(password).map_err(keyring_error)
}

fn keyring_error(e: keyring::Error) -> ServerError {
    let why = match e {
        keyring::Error::NoDefaultStore => "no OS keyring is available".to_string(),
        keyring::Error::NoStorageAccess(_) => "the OS keyring is locked".to_string(),
        keyring::Error::PlatformFailure(p) => format!("keyring failure: {p}"),
        _ => "the OS keyring failed".to_string(),
    };
    ServerError::Environment(why)
}

/// The password for an environment: `TRENDDOJO_<ENV>_PASSWORD`, else the keyring, else none.
fn password(name: &str) -> Result<Option<Zeroizing<String>>> {
    if let Ok(p) = std::env::var(env_var(name)) {
        return Ok(Some(Zeroizing::new(p)));
    }
    if keyring::Entry::store_status().is_err() {
        return Ok(None);
    }
    let entry = keyring::Entry::new(KEYRING_SERVICE, name).map_err(keyring_error)?;
    match entry.get_password() {
        Ok(p) => Ok(Some(Zeroizing::new(p))),
        Err(keyring::Error::NoEntry) | Err(keyring::Error::NoStorageAccess(_)) => Ok(None),
        Err(e) => Err(keyring_error(e)),
    }
}

/// The keyring service of users' own sync logins (one entry per `role@host:port/db`).
const SYNC_KEYRING_SERVICE: &str = "trenddojo-sync";

/// Keep a user's sync password in the OS keyring under the login's place (`role@host:port/db`).
pub fn store_login_password(config: &Config, password: &str) -> Result<()> {
    let entry = keyring::Entry::new(SYNC_KEYRING_SERVICE, &describe(config)).map_err(keyring_error)?;
    entry.set_password(password).map_err(keyring_error)
}

/// A user's sync password from the OS keyring entry of the login, if there is one (a shell may give the
/// password some other way: this crate reads no environment variable for it).
pub fn keyring_login_password(config: &Config) -> Result<Option<Zeroizing<String>>> {
    if keyring::Entry::store_status().is_err() {
        return Ok(None);
    }
    let entry = keyring::Entry::new(SYNC_KEYRING_SERVICE, &describe(config)).map_err(keyring_error)?;
    match entry.get_password() {
        Ok(p) => Ok(Some(Zeroizing::new(p))),
        Err(keyring::Error::NoEntry) | Err(keyring::Error::NoStorageAccess(_)) => Ok(None),
        Err(e) => Err(keyring_error(e)),
    }
}

/// A resolved connection: its config (with the password filled in) and whether it is production.
#[derive(Clone)]
pub struct Target {
    pub label: String,
    pub config: Config,
    pub production: bool,
    pub ca_file: Option<PathBuf>,
}

impl Target {
    /// Connect to where this points, trusting its CA file if it has one.
    pub async fn connect(&self) -> Result<tokio_postgres::Client> {
        crate::db::connect_with(&self.config, self.ca_file.as_deref()).await
    }
}

/// Supabase's shared pooler: transaction mode on port 6543, session mode on port 5432 of the same host.
const SUPABASE_POOLER_SUFFIX: &str = ".pooler.supabase.com";
const SUPABASE_TRANSACTION_PORT: u16 = 6543;
const SUPABASE_SESSION_PORT: u16 = 5432;

impl Target {
    /// Where a connection that LISTENs should go. A pooler in transaction mode cannot carry LISTEN (the
    /// session that listens goes back to the pool when the statement ends), so a target on Supabase's
    /// shared pooler in transaction mode (`*.pooler.supabase.com:6543`) listens through the same pooler's
    /// session mode (port 5432); any other target listens where it syncs. Same login, same TLS policy.
    pub fn for_notifications(&self) -> Target {
        let hosts = self.config.get_hosts();
        let supabase_transaction = !hosts.is_empty()
            && hosts.iter().all(|h| {
                matches!(h, tokio_postgres::config::Host::Tcp(name) if name.to_ascii_lowercase().ends_with(SUPABASE_POOLER_SUFFIX))
            })
            && self.config.get_ports().iter().all(|p| *p == SUPABASE_TRANSACTION_PORT);
        if !supabase_transaction {
            return self.clone();
        }
        Target { config: with_port(&self.config, SUPABASE_SESSION_PORT), ..self.clone() }
    }
}

/// `config` with every host on `port` (tokio-postgres can add ports but not replace them, so the config is
/// rebuilt field by field).
fn with_port(config: &Config, port: u16) -> Config {
    let mut c = Config::new();
    if let Some(v) = config.get_user() {
        c.user(v);
    }
    if let Some(v) = config.get_password() {
        c.password(v);
    }
    if let Some(v) = config.get_dbname() {
        c.dbname(v);
    }
    if let Some(v) = config.get_options() {
        c.options(v);
    }
    if let Some(v) = config.get_application_name() {
        c.application_name(v);
    }
    for h in config.get_hosts() {
        match h {
            tokio_postgres::config::Host::Tcp(name) => c.host(name),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => c.host_path(path),
        };
        c.port(port);
    }
    for a in config.get_hostaddrs() {
        c.hostaddr(*a);
    }
    if let Some(v) = config.get_connect_timeout() {
        c.connect_timeout(*v);
    }
    if let Some(v) = config.get_tcp_user_timeout() {
        c.tcp_user_timeout(*v);
    }
    c.ssl_mode(config.get_ssl_mode())
        .ssl_negotiation(config.get_ssl_negotiation())
        .keepalives(config.get_keepalives())
        .keepalives_idle(config.get_keepalives_idle())
        .target_session_attrs(config.get_target_session_attrs())
        .channel_binding(config.get_channel_binding())
        .load_balance_hosts(config.get_load_balance_hosts());
    if let Some(v) = config.get_keepalives_interval() {
        c.keepalives_interval(v);
    }
    if let Some(v) = config.get_keepalives_retries() {
        c.keepalives_retries(v);
    }
    c
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Config's own Debug redacts the password; we print only where it points.
        f.debug_struct("Target").field("label", &self.label).field("production", &self.production).finish()
    }
}

/// Resolve an environment profile into a connection.
pub fn resolve_env(home: &Path, name: &str) -> Result<Target> {
    let profile = get(home, name)?;
    let mut config = parse(&profile.service)?;
    if let Some(p) = password(name)? {
        config.password(p.as_bytes());
    }
    Ok(Target {
        label: format!("environment {name}"),
        config,
        production: profile.production,
        ca_file: profile.ca_file,
    })
}

/// Resolve an explicit connection string (`--server`, `TRENDDOJO_ADMIN_URL`). Without a data folder to
/// compare against, it is not production; see [`resolve_url_in`].
pub fn resolve_url(conn: &str) -> Result<Target> {
    let config = parse(conn)?;
    Ok(Target { label: describe(&config), config, production: false, ca_file: None })
}

/// Resolve an explicit connection string, treating it as production when it points where a production
/// profile points (same host, port and database), so `--server` cannot sidestep the confirmation.
pub fn resolve_url_in(home: &Path, conn: &str) -> Result<Target> {
    let mut t = resolve_url(conn)?;
    let here = place(&t.config);
    for (name, p) in load(home)?.environments {
        if let Ok(c) = parse(&p.service) {
            if place(&c) == here {
                t.production |= p.production;
                if t.ca_file.is_none() {
                    t.ca_file = p.ca_file.clone();
                }
                if p.production {
                    t.label = format!("{} (the {name} environment)", t.label);
                }
            }
        }
    }
    Ok(t)
}

/// Host, port and database of a config (not the user): what identifies a server.
fn place(config: &Config) -> String {
    let d = describe(config);
    d.split_once('@').map(|(_, p)| p.to_string()).unwrap_or(d)
}

/// The first host of a config (a name, an address or a socket folder) and its port.
fn host_port(config: &Config) -> (String, u16) {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    (host, config.get_ports().first().copied().unwrap_or(5432))
}

/// The connection string of an environment's server (host, port, database, TLS mode) for another role,
/// without a password, and the environment's CA file: how a user's own login reaches that server.
pub fn role_connection(home: &Path, env: &str, role: &str) -> Result<(String, Option<PathBuf>)> {
    if role.is_empty() || !role.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(ServerError::invalid("role", format!("{role:?} is not a role name (letters, digits and _)")));
    }
    let profile = get(home, env)?;
    let config: Config = profile.service.parse().map_err(|_| {
        ServerError::invalid("env", format!("environment {env:?} holds a connection string that does not parse"))
    })?;
    let (host, port) = host_port(&config);
    let db = config.get_dbname().unwrap_or("postgres");
    let ssl = match config.get_ssl_mode() {
        SslMode::Require => " sslmode=require",
        SslMode::Disable => " sslmode=disable",
        _ => "",
    };
    Ok((format!("host={host} port={port} dbname={db} user={role}{ssl}"), profile.ca_file))
}

/// Where a config points, for messages: `user@host:port/db`, never the password.
/// A connection string to this machine on port `old`, rewritten to port `new` (the development cluster
/// moved); `None` when `conn` is not such a string (another host, another port, not a URL).
pub fn moved_local_port(conn: &str, old: u16, new: u16) -> Option<String> {
    let config = parse(conn).ok()?;
    let local = config
        .get_hosts()
        .iter()
        .all(|h| matches!(h, tokio_postgres::config::Host::Tcp(name) if name == "127.0.0.1" || name == "localhost"));
    if !local || config.get_ports() != [old] || config.get_password().is_some() {
        return None;
    }
    let (user, db) = (config.get_user()?, config.get_dbname()?);
    Some(format!("postgresql://{user}@127.0.0.1:{new}/{db}"))
}

pub fn describe(config: &Config) -> String {
    let (host, port) = host_port(config);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or("?"),
        config.get_dbname().unwrap_or(config.get_user().unwrap_or("?"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_leave_supabase_transaction_mode_for_session_mode() {
        let pooled = resolve_url(
            "postgresql://td_abc.projectref:s3cret@aws-0-eu-central-1.pooler.supabase.com:6543/postgres?sslmode=require&connect_timeout=7&application_name=trenddojo&keepalives_idle=30",
        )
        .expect("url");
        let listen = pooled.for_notifications();
        assert_eq!(listen.config.get_ports(), &[5432], "LISTEN goes to the session port");
        assert_eq!(listen.config.get_hosts(), pooled.config.get_hosts(), "on the same host");
        assert_eq!(listen.config.get_user(), Some("td_abc.projectref"), "as the same login");
        assert_eq!(listen.config.get_password(), Some(&b"s3cret"[..]), "with the same password");
        assert_eq!(listen.config.get_application_name(), Some("trenddojo"), "under the same name");
        assert_eq!(listen.config.get_keepalives_idle(), std::time::Duration::from_secs(30), "with the same keepalives");
        assert_eq!(listen.config.get_dbname(), Some("postgres"), "to the same database");
        assert_eq!(listen.config.get_ssl_mode(), SslMode::Require, "with the same TLS policy");
        assert_eq!(listen.config.get_connect_timeout(), Some(&std::time::Duration::from_secs(7)), "and timeouts");
        for other in [
            "postgresql://td_abc.projectref@aws-0-eu-central-1.pooler.supabase.com:5432/postgres",
            "postgresql://td_abc@db.projectref.supabase.co:6543/postgres",
            "postgresql://td_abc@127.0.0.1:6543/trenddojo",
        ] {
            let t = resolve_url(other).expect("url");
            assert_eq!(
                t.for_notifications().config.get_ports(),
                t.config.get_ports(),
                "{other} listens where it syncs"
            );
        }
    }

    #[test]
    fn profiles_never_store_passwords_and_production_is_marked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = set(dir.path(), "staging", "postgresql://svc:hunter2@db.example.com:5432/postgres", false, None)
            .expect_err("a password in the URL is refused");
        assert!(!err.to_string().contains("hunter2"), "the message never echoes the secret: {err}");
        assert!(!path(dir.path()).exists(), "nothing was written");
        set(dir.path(), "production", "postgresql://svc@db.example.com:5432/postgres", false, None).expect("saved");
        let bad = set(
            dir.path(),
            "staging",
            "postgresql://svc@db.example.com/postgres",
            false,
            Some(Path::new("/nonexistent/ca.pem")),
        );
        assert!(bad.is_err_and(|e| e.to_string().starts_with("ca-file:")), "an unreadable CA file is refused up front");
        let p = get(dir.path(), "production").expect("read back");
        assert!(p.production, "the production profile is always marked production");
        assert!(get(dir.path(), "staging").is_err(), "an unknown environment is an error");
        assert!(check_name("Prod!").is_err(), "names are simple identifiers");
    }

    #[test]
    fn describe_names_the_target_without_secrets() {
        let t = resolve_url("postgresql://svc:s3cret@db.example.com:6543/postgres").expect("parses");
        assert_eq!(describe(&t.config), "svc@db.example.com:6543/postgres", "user, host, port and db only");
        assert!(!format!("{t:?}").contains("s3cret"), "Debug hides the password");
    }
}
