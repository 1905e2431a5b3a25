//! Server use cases: the development cluster, environment profiles, provisioning, audit verification and
//! the server schema's migrations. Async like the server crate: see [`ServerAdmin`].
//!
//! Production is guarded here, once for every shell: a profile marked production applies or rolls back
//! migrations only with the confirmation `production`, and is never seeded.

use std::path::{Path, PathBuf};

use serde::Serialize;
use trenddojo_server::admin::{self, AuditReport, Provisioned};
use trenddojo_server::envs::{self, Environments, Profile, Target};
use trenddojo_server::migrations::{self, Applied, Pending};
use trenddojo_server::{cluster, db, ServerError};
use zeroize::Zeroizing;

use crate::error::{Action, ApiError, ApiResult, ErrorCode};
use crate::seed::SeedState;

/// Which server a command acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerTarget {
    /// An explicit service connection string (`--server`, `--admin-url`, `TRENDDOJO_ADMIN_URL`).
    Url(String),
    /// A named environment profile (`--env`).
    Env(String),
}

/// What `server dev` started or found.
#[derive(Debug, Clone, Serialize)]
pub struct DevServer {
    /// The service (superuser) connection, over the cluster's private socket.
    pub service: String,
    pub port: u16,
    pub data_dir: PathBuf,
    /// False when an already running cluster was reused.
    pub started: bool,
    /// Migrations applied by this call.
    pub applied: Vec<u32>,
    /// How a provisioned user's role connects (with its own role name and password).
    pub user_url_template: String,
    /// The port the cluster used before, when something else had taken it and a new one was chosen (the
    /// development profile and this data folder's sync login were moved to the new port).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<u16>,
    /// This data folder's sync login pointed at the old port and was updated.
    pub login_updated: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerStatus {
    pub target: String,
    pub production: bool,
    pub schema_version: u32,
    pub latest_version: u32,
    pub applied: Vec<Applied>,
    pub pending: Vec<Pending>,
    /// Lines of the live schema that differ from what the migrations defined (`-` missing, `+` extra);
    /// `None` when no fingerprint was recorded for the current version.
    pub drift: Option<Vec<String>>,
    /// Violations of the schema's security rules (see `trenddojo_server::checks`); empty when all hold.
    pub security: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerMigration {
    pub target: String,
    pub from_version: u32,
    pub to_version: u32,
    /// What was (or, without confirmation, would be) applied or rolled back, in order.
    pub plan: Vec<Pending>,
    pub applied: bool,
}

/// The confirmation word production changes need.
pub const PRODUCTION_CONFIRMATION: &str = "production";

/// Server administration from a data folder (which holds `environments.json` and the dev cluster).
///
/// Every use case that talks to a server is `async` (one short connection per call, which is also what
/// Supabase's pooler prefers), so the app calls it from its own runtime and the CLI blocks on it with the
/// one runtime it keeps for the process. Work that blocks a thread (the OS keyring, starting PostgreSQL)
/// runs on Tokio's blocking pool: Secret Service calls can deadlock on a runtime thread.
#[derive(Debug, Clone)]
pub struct ServerAdmin {
    home: PathBuf,
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string())
}

/// Run blocking work (keyring, processes, files) off the runtime's threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> ApiResult<T> + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(internal)?
}

impl ServerAdmin {
    pub fn new(home: &Path) -> ServerAdmin {
        ServerAdmin { home: home.to_path_buf() }
    }

    fn cluster_dir(&self) -> PathBuf {
        cluster::dir_for_home(&self.home)
    }

    /// The target's connection (an environment's password comes from the OS keyring: off the runtime).
    async fn resolve(&self, target: &ServerTarget) -> ApiResult<Target> {
        let (home, target) = (self.home.clone(), target.clone());
        blocking(move || {
            Ok(match &target {
                ServerTarget::Url(u) => envs::resolve_url_in(&home, u)?,
                ServerTarget::Env(e) => envs::resolve_env(&home, e)?,
            })
        })
        .await
    }

    async fn connect(t: &Target) -> Result<db::Client, ServerError> {
        t.connect().await.map_err(|e| match e {
            ServerError::Connect(m) => ServerError::Connect(format!("{}: {m}", t.label)),
            other => other,
        })
    }

    /// Start (or reuse) the development cluster in `<home>/postgres`, create the database, apply the
    /// server migrations and save the `development` profile.
    pub async fn dev(&self) -> ApiResult<DevServer> {
        let dir = self.cluster_dir();
        let info = blocking(move || Ok(cluster::start_or_reuse(&dir)?)).await?;
        let service = info.admin_conn_string(cluster::DATABASE);
        let applied = async {
            db::ensure_database(&info.admin_conn_string("postgres"), cluster::DATABASE).await?;
            let mut c = db::connect(&service).await?;
            migrations::migrate(&mut c, None).await
        }
        .await?;
        let (home, svc, moved_from, port) = (self.home.clone(), service.clone(), info.moved_from, info.port);
        let login_updated = blocking(move || {
            envs::set(&home, "development", &svc, false, None)?;
            match moved_from {
                Some(old) => super::sync::move_login_port(&home, old, port),
                None => Ok(false),
            }
        })
        .await?;
        Ok(DevServer {
            moved_from: info.moved_from,
            login_updated,
            service,
            port: info.port,
            data_dir: info.data_dir.clone(),
            started: info.started,
            applied,
            user_url_template: info.user_url("<role>"),
        })
    }

    /// Stop the development cluster. False if it was not running.
    pub async fn stop_dev(&self) -> ApiResult<bool> {
        let dir = self.cluster_dir();
        blocking(move || Ok(cluster::stop(&dir)?)).await
    }

    /// Save an environment profile; a password given here goes to the OS keyring, never to the file.
    pub async fn set_env(
        &self,
        name: &str,
        service: &str,
        production: bool,
        ca_file: Option<&Path>,
        password: Option<&str>,
    ) -> ApiResult<Profile> {
        envs::check_name(name)?;
        // Validate everything before the keyring is touched: a refused profile stores nothing.
        envs::resolve_url(service)?;
        let (home, name, service) = (self.home.clone(), name.to_string(), service.to_string());
        let ca_file = ca_file.map(Path::to_path_buf);
        let password = password.map(|p| Zeroizing::new(p.to_string()));
        blocking(move || {
            let profile = envs::set(&home, &name, &service, production, ca_file.as_deref())?;
            if let Some(p) = password {
                envs::store_password(&name, &p)?;
            }
            Ok(profile)
        })
        .await
    }

    pub fn list_envs(&self) -> ApiResult<Environments> {
        Ok(envs::load(&self.home)?)
    }

    /// Create or update a user and its login role (idempotent).
    pub async fn add_user(
        &self,
        target: &ServerTarget,
        email: &str,
        tier: &str,
        name: Option<&str>,
        user_id: Option<uuid::Uuid>,
        password: &str,
    ) -> ApiResult<Provisioned> {
        let t = self.resolve(target).await?;
        let password = Zeroizing::new(password.to_string());
        let id = user_id.unwrap_or_else(uuid::Uuid::now_v7);
        let c = Self::connect(&t).await?;
        Ok(admin::add_user_with_id(&c, &t.config, id, email, tier, name, &password).await?)
    }

    pub async fn remove_user(&self, target: &ServerTarget, email: &str) -> ApiResult<bool> {
        let t = self.resolve(target).await?;
        let c = Self::connect(&t).await?;
        Ok(admin::remove_user(&c, email).await?)
    }

    /// Check every audit hash chain (or one user's), and that the chain still holds every head in `witness`
    /// (a file written by a device's `export_witness`, if given). A broken chain is an error with code
    /// `corrupt`; a chain that no longer holds a witnessed head (rewritten and re-hashed) is
    /// `audit_rewritten`.
    pub async fn verify_audit(
        &self,
        target: &ServerTarget,
        email: Option<&str>,
        witness: Option<&std::path::Path>,
    ) -> ApiResult<AuditReport> {
        let heads = match witness {
            None => Vec::new(),
            Some(path) => read_witness_file(path)?,
        };
        let t = self.resolve(target).await?;
        let c = Self::connect(&t).await?;
        let report = admin::verify_audit(&c, email, &heads).await?;
        if report.problems.iter().any(|p| p.contains(admin::WITNESS_MISMATCH)) {
            let shown: Vec<&str> = report.problems.iter().take(5).map(String::as_str).collect();
            return Err(ApiError::new(
                ErrorCode::AuditRewritten,
                format!(
                    "audit: the server's hash chain no longer holds what a device saw ({} problem(s) in {} rows): {}",
                    report.problems.len(),
                    report.rows,
                    shown.join("; ")
                ),
            ));
        }
        if !report.ok() {
            let shown: Vec<&str> = report.problems.iter().take(5).map(String::as_str).collect();
            return Err(ApiError::new(
                ErrorCode::Corrupt,
                format!(
                    "audit: the hash chain is broken ({} problem(s) in {} rows): {}",
                    report.problems.len(),
                    report.rows,
                    shown.join("; ")
                ),
            ));
        }
        Ok(report)
    }

    pub async fn maintain(&self, target: &ServerTarget) -> ApiResult<i32> {
        let t = self.resolve(target).await?;
        let c = Self::connect(&t).await?;
        Ok(admin::maintain(&c).await?)
    }

    pub async fn status(&self, target: &ServerTarget) -> ApiResult<ServerStatus> {
        let t = self.resolve(target).await?;
        Ok(async {
            let c = Self::connect(&t).await?;
            let applied = migrations::applied(&c).await?;
            let pending = migrations::pending(&c).await?;
            let drift = migrations::drift(&c).await?;
            let security = if migrations::current_version(&c).await? > 0 {
                trenddojo_server::checks::catalog_violations(&c).await?
            } else {
                Vec::new()
            };
            Ok::<_, ServerError>(ServerStatus {
                target: t.label.clone(),
                production: t.production,
                schema_version: migrations::current_version(&c).await?,
                latest_version: migrations::latest_version(),
                applied,
                pending,
                drift,
                security,
            })
        }
        .await?)
    }

    fn confirm(t: &Target, confirm: Option<&str>, plan: &[Pending]) -> ApiResult<bool> {
        if !t.production || plan.is_empty() {
            return Ok(true);
        }
        match confirm {
            Some(PRODUCTION_CONFIRMATION) => Ok(true),
            Some(other) => Err(ApiError::invalid(
                "confirm",
                format!(
                    "{other:?} does not confirm; production changes need the confirmation {PRODUCTION_CONFIRMATION:?}"
                ),
            )),
            None => Ok(false),
        }
    }

    /// Show the plan and apply it. On production, without the confirmation, nothing is applied and the
    /// result says so (`applied: false`); the CLI turns that into exit code 13.
    pub async fn migrate(
        &self,
        target: &ServerTarget,
        to: Option<u32>,
        confirm: Option<&str>,
    ) -> ApiResult<ServerMigration> {
        let t = self.resolve(target).await?;
        {
            let mut c = Self::connect(&t).await?;
            let from = migrations::current_version(&c).await?;
            let to_version = to.unwrap_or_else(migrations::latest_version);
            if to_version > migrations::latest_version() {
                return Err(ServerError::invalid(
                    "to",
                    format!("no server migration {to_version}; the newest is {}", migrations::latest_version()),
                )
                .into());
            }
            let plan: Vec<Pending> =
                migrations::pending(&c).await?.into_iter().filter(|p| p.version <= to_version).collect();
            if !Self::confirm(&t, confirm, &plan)? {
                return Ok(ServerMigration {
                    target: t.label.clone(),
                    from_version: from,
                    to_version: from,
                    plan,
                    applied: false,
                });
            }
            migrations::migrate(&mut c, Some(to_version.max(from))).await?;
            let now = migrations::current_version(&c).await?;
            Ok::<_, ApiError>(ServerMigration {
                target: t.label.clone(),
                from_version: from,
                to_version: now,
                plan,
                applied: true,
            })
        }
    }

    /// Roll back to version `to` (default: one step), with the same production guard as [`Self::migrate`].
    pub async fn rollback(
        &self,
        target: &ServerTarget,
        to: Option<u32>,
        confirm: Option<&str>,
    ) -> ApiResult<ServerMigration> {
        let t = self.resolve(target).await?;
        {
            let mut c = Self::connect(&t).await?;
            let from = migrations::current_version(&c).await?;
            let to = to.unwrap_or(from.saturating_sub(1));
            if to > from {
                return Err(ApiError::invalid(
                    "to",
                    format!("the server is at version {from}; cannot roll back to {to}"),
                ));
            }
            let plan: Vec<Pending> = migrations::MIGRATIONS
                .iter()
                .rev()
                .filter(|m| m.version > to && m.version <= from)
                .map(|m| Pending { version: m.version, name: m.name.to_string() })
                .collect();
            if !Self::confirm(&t, confirm, &plan)? {
                return Ok(ServerMigration {
                    target: t.label.clone(),
                    from_version: from,
                    to_version: from,
                    plan,
                    applied: false,
                });
            }
            migrations::rollback(&mut c, to).await?;
            Ok(ServerMigration { target: t.label.clone(), from_version: from, to_version: to, plan, applied: true })
        }
    }

    /// Seed a server: `empty` adds nothing beyond the tier limits the migrations define; `dev`, `demo`
    /// and `test` provision the standard accounts (password `demo123`). Production is refused.
    pub async fn seed(&self, target: &ServerTarget, state: SeedState) -> ApiResult<Vec<Provisioned>> {
        let t = self.resolve(target).await?;
        if t.production {
            return Err(ApiError::new(
                ErrorCode::Refused,
                format!("seed: {} is production; seed data never goes there", t.label),
            ));
        }
        let c = Self::connect(&t).await?;
        if migrations::current_version(&c).await? < migrations::latest_version() {
            return Err(ApiError::new(ErrorCode::Conflict, "seed: the server schema is not up to date")
                .with_field("seed")
                .with_action(Action::MigrateServer));
        }
        Ok(match state {
            SeedState::Empty => Vec::new(),
            SeedState::Dev | SeedState::Demo | SeedState::Test => admin::seed_standard_users(&c, &t.config).await?,
        })
    }
}

/// The chain heads in a witness file written by a device (`Journal::export_witness`).
pub fn read_witness_file(path: &std::path::Path) -> ApiResult<Vec<admin::WitnessHead>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ApiError::new(ErrorCode::Io, format!("witness: cannot read {}: {e}", path.display())))?;
    let file: WitnessFile = serde_json::from_str(&text).map_err(|e| {
        ApiError::new(ErrorCode::InvalidInput, format!("witness: {} is not a witness file: {e}", path.display()))
            .with_field("witness")
    })?;
    if file.format != WITNESS_FORMAT {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            format!("witness: format {} is not known (this build reads {WITNESS_FORMAT})", file.format),
        )
        .with_field("witness"));
    }
    for h in &file.heads {
        if h.pos < 1 || h.hash.len() != 64 || !h.hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::new(
                ErrorCode::InvalidInput,
                format!("witness: head at position {} is malformed (position >= 1, 64 hex digits)", h.pos),
            )
            .with_field("witness"));
        }
    }
    Ok(file.heads)
}

/// The format of witness files.
pub const WITNESS_FORMAT: u32 = 1;

/// A witness file: the audit chain heads one device saw, for `verify_audit` on the server.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WitnessFile {
    pub format: u32,
    pub heads: Vec<admin::WitnessHead>,
}
