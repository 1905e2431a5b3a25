//! Server use cases: the development cluster, environment profiles, provisioning, audit verification and
//! the server schema's migrations. The server crate is async; the shells are not, so [`ServerAdmin`] owns
//! a small current-thread Tokio runtime and blocks on each call (one short connection per call, which is
//! also what Supabase's pooler prefers).
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

use crate::error::{ApiError, ApiResult, ErrorCode};
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
pub struct ServerAdmin {
    home: PathBuf,
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for ServerAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerAdmin").field("home", &self.home).finish()
    }
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string())
}

impl ServerAdmin {
    pub fn new(home: &Path) -> ApiResult<ServerAdmin> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(internal)?;
        Ok(ServerAdmin { home: home.to_path_buf(), rt })
    }

    fn cluster_dir(&self) -> PathBuf {
        cluster::dir_for_home(&self.home)
    }

    fn resolve(&self, target: &ServerTarget) -> ApiResult<Target> {
        Ok(match target {
            ServerTarget::Url(u) => envs::resolve_url_in(&self.home, u)?,
            ServerTarget::Env(e) => envs::resolve_env(&self.home, e)?,
        })
    }

    async fn connect(t: &Target) -> Result<db::Client, ServerError> {
        t.connect().await.map_err(|e| match e {
            ServerError::Connect(m) => ServerError::Connect(format!("{}: {m}", t.label)),
            other => other,
        })
    }

    /// Start (or reuse) the development cluster in `<home>/postgres`, create the database, apply the
    /// server migrations and save the `development` profile.
    pub fn dev(&self) -> ApiResult<DevServer> {
        let dir = self.cluster_dir();
        let info = cluster::start_or_reuse(&dir)?;
        let service = info.admin_conn_string(cluster::DATABASE);
        let applied = self.rt.block_on(async {
            db::ensure_database(&info.admin_conn_string("postgres"), cluster::DATABASE).await?;
            let mut c = db::connect(&service).await?;
            migrations::migrate(&mut c, None).await
        })?;
        envs::set(&self.home, "development", &service, false, None)?;
        let login_updated = match info.moved_from {
            Some(old) => super::sync::move_login_port(&self.home, old, info.port)?,
            None => false,
        };
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
    pub fn stop_dev(&self) -> ApiResult<bool> {
        Ok(cluster::stop(&self.cluster_dir())?)
    }

    /// Save an environment profile; a password given here goes to the OS keyring, never to the file.
    pub fn set_env(
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
        let profile = envs::set(&self.home, name, service, production, ca_file)?;
        if let Some(p) = password {
            envs::store_password(name, p)?;
        }
        Ok(profile)
    }

    pub fn list_envs(&self) -> ApiResult<Environments> {
        Ok(envs::load(&self.home)?)
    }

    /// Create or update a user and its login role (idempotent).
    pub fn add_user(
        &self,
        target: &ServerTarget,
        email: &str,
        tier: &str,
        name: Option<&str>,
        user_id: Option<uuid::Uuid>,
        password: &str,
    ) -> ApiResult<Provisioned> {
        let t = self.resolve(target)?;
        let password = Zeroizing::new(password.to_string());
        let id = user_id.unwrap_or_else(uuid::Uuid::now_v7);
        Ok(self.rt.block_on(async {
            let c = Self::connect(&t).await?;
            admin::add_user_with_id(&c, &t.config, id, email, tier, name, &password).await
        })?)
    }

    pub fn remove_user(&self, target: &ServerTarget, email: &str) -> ApiResult<bool> {
        let t = self.resolve(target)?;
        Ok(self.rt.block_on(async {
            let c = Self::connect(&t).await?;
            admin::remove_user(&c, email).await
        })?)
    }

    /// Check every audit hash chain (or one user's). A broken chain is an error with code `corrupt`.
    pub fn verify_audit(&self, target: &ServerTarget, email: Option<&str>) -> ApiResult<AuditReport> {
        let t = self.resolve(target)?;
        let report = self.rt.block_on(async {
            let c = Self::connect(&t).await?;
            admin::verify_audit(&c, email).await
        })?;
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

    pub fn maintain(&self, target: &ServerTarget) -> ApiResult<i32> {
        let t = self.resolve(target)?;
        Ok(self.rt.block_on(async {
            let c = Self::connect(&t).await?;
            admin::maintain(&c).await
        })?)
    }

    pub fn status(&self, target: &ServerTarget) -> ApiResult<ServerStatus> {
        let t = self.resolve(target)?;
        Ok(self.rt.block_on(async {
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
        })?)
    }

    fn confirm(t: &Target, confirm: Option<&str>, plan: &[Pending]) -> ApiResult<bool> {
        if !t.production || plan.is_empty() {
            return Ok(true);
        }
        match confirm {
            Some(PRODUCTION_CONFIRMATION) => Ok(true),
            Some(other) => Err(ApiError::invalid(
                "confirm",
                format!("{other:?} does not confirm; production changes need --confirm {PRODUCTION_CONFIRMATION}"),
            )),
            None => Ok(false),
        }
    }

    /// Show the plan and apply it. On production, without the confirmation, nothing is applied and the
    /// result says so (`applied: false`); the CLI turns that into exit code 13.
    pub fn migrate(&self, target: &ServerTarget, to: Option<u32>, confirm: Option<&str>) -> ApiResult<ServerMigration> {
        let t = self.resolve(target)?;
        self.rt.block_on(async {
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
        })
    }

    /// Roll back to version `to` (default: one step), with the same production guard as [`Self::migrate`].
    pub fn rollback(
        &self,
        target: &ServerTarget,
        to: Option<u32>,
        confirm: Option<&str>,
    ) -> ApiResult<ServerMigration> {
        let t = self.resolve(target)?;
        self.rt.block_on(async {
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
        })
    }

    /// Seed a server: `empty` adds nothing beyond the tier limits the migrations define; `dev`, `demo`
    /// and `test` provision the standard accounts (password `demo123`). Production is refused.
    pub fn seed(&self, target: &ServerTarget, state: SeedState) -> ApiResult<Vec<Provisioned>> {
        let t = self.resolve(target)?;
        if t.production {
            return Err(ApiError::new(
                ErrorCode::Refused,
                format!("seed: {} is production; seed data never goes there", t.label),
            ));
        }
        Ok(self.rt.block_on(async {
            let c = Self::connect(&t).await?;
            if migrations::current_version(&c).await? < migrations::latest_version() {
                return Err(ServerError::Migration(
                    "the server schema is not up to date; run `trenddojo db migrate` for it first".into(),
                ));
            }
            match state {
                SeedState::Empty => Ok(Vec::new()),
                SeedState::Dev | SeedState::Demo | SeedState::Test => admin::seed_standard_users(&c, &t.config).await,
            }
        })?)
    }
}
