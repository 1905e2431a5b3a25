//! Sync use cases: one round against the server, background sync, reset, login, status, the conflict log
//! and what merges left for the user to review.
//!
//! The server connection is the user's own login, never a service credential, so row-level security
//! bounds what a sync can read or write. Derived data that arrives by sync (a trade's summary, an
//! account's realized total) is recomputed here, inside the pull's transaction, from the merged executions:
//! the summary rules live in this crate. The sync engine's SQL stays in the sync crate.
//!
//! Every use case that talks to the server is `async` and runs on the caller's runtime (the desktop app's,
//! or the one the CLI keeps for the process). The blocking conveniences (`sync_once`) refuse to run
//! inside a runtime instead of panicking.

use std::future::Future;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use trenddojo_server::admin;
use trenddojo_server::envs::{self, Target};
use trenddojo_store::accounts as account_repo;
use trenddojo_store::trades as trade_repo;
use trenddojo_store::Tx;
use trenddojo_sync::quarantine;
use trenddojo_sync::round;
use trenddojo_sync::status as sync_status;
use trenddojo_sync::watch::{self, WatchEvent, WatchOptions};
use trenddojo_sync::witness;
use trenddojo_sync::{Limits, Refresh, Server, SyncError};
use uuid::Uuid;

use super::trades::{refresh_trade, ReviewItems};
use super::Journal;
use crate::dto;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// Where and how this device syncs, as the shell gives it (the core reads no environment variables).
#[derive(Clone, Default)]
pub struct SyncSettings {
    /// A full connection string (with the role's password) that overrides the saved login: scripts,
    /// tests (the CLI takes it from `TRENDDOJO_SERVER_URL`).
    pub server_url: Option<String>,
    /// The saved login's password when the OS keyring is not available (the CLI: `TRENDDOJO_SYNC_PASSWORD`).
    pub password: Option<String>,
    /// Deadlines of the exchanges with the server (default: 30 s each).
    pub limits: Option<Limits>,
}

impl std::fmt::Debug for SyncSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncSettings")
            .field("server_url", &self.server_url.as_ref().map(|_| "<set>"))
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("limits", &self.limits)
            .finish()
    }
}

impl SyncSettings {
    pub fn limits(&self) -> Limits {
        self.limits.unwrap_or_default()
    }
}

/// Where this device syncs, written by `sync login` to `<home>/sync.json`: the user's own login without
/// its password (that stays in the OS keyring).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SyncLogin {
    server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ca_file: Option<PathBuf>,
}

const LOGIN_FILE: &str = "sync.json";

/// How `sync login` names the server: a connection string of the user's own role, or an environment
/// profile (its host, port, database and CA) with the user's role.
#[derive(Debug, Clone)]
pub enum LoginServer {
    Url(String),
    Env { env: String, role: String },
}

/// What `sync login` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct LoginOutcome {
    /// `role@host:port/db`.
    pub server: String,
    /// The server user the login signs in as.
    pub user_id: dto::UserId,
    /// The user is already in this store (else the first sync brings it).
    pub known_here: bool,
    /// The password was saved in the OS keyring (else it must be given for each sync).
    pub keyring: bool,
}

/// Everything a merge left for the user to resolve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SyncReview {
    #[serde(flatten)]
    pub items: ReviewItems,
    /// Rows kept aside, with why and what to do.
    pub kept_aside: Vec<dto::KeptAside>,
}

/// Recompute the derived data of trades whose rows or executions arrived; returns their accounts. A trade
/// in a deleted account (a merge can leave one) is recomputed too: it needs review.
fn refresh_trades(tx: &Tx<'_>, trades: &[Uuid]) -> Result<Vec<Uuid>, SyncError> {
    let mut accounts = Vec::new();
    for &id in trades {
        let Some((account, deleted)) = trade_repo::account_of(tx, id)? else { continue };
        accounts.push(account);
        // A deleted trade has no summary to keep; its account's total is still rebuilt.
        if deleted {
            continue;
        }
        let acc = account_repo::get_any(tx, account)?;
        refresh_trade(tx, &acc, id).map_err(|e| SyncError::Invalid { field: "trade".into(), message: e.message })?;
    }
    accounts.sort();
    accounts.dedup();
    Ok(accounts)
}

/// Rebuild the running totals of accounts whose trades a pull brought or recomputed.
fn refresh_accounts(tx: &Tx<'_>, accounts: &[Uuid]) -> Result<(), SyncError> {
    for &a in accounts {
        trade_repo::reset_account_realized(tx, a)?;
    }
    Ok(())
}

/// What a pull recomputes, from the trade summary rules that live in this crate.
const REFRESH: Refresh<'static> = Refresh { trades: &refresh_trades, accounts: &refresh_accounts };

/// A runtime for the blocking conveniences, refused inside a running runtime (where blocking would
/// panic or stall it): async callers use the async use cases.
fn blocking_runtime() -> ApiResult<tokio::runtime::Runtime> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(ApiError::new(
            ErrorCode::Internal,
            "sync: the blocking sync was called from inside an async runtime; use the async use case",
        ));
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
}

fn login_path(home: &std::path::Path) -> PathBuf {
    home.join(LOGIN_FILE)
}

fn read_login(home: &std::path::Path) -> ApiResult<Option<SyncLogin>> {
    match std::fs::read(login_path(home)) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            ApiError::new(ErrorCode::Corrupt, format!("{} is not valid: {e}", login_path(home).display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ApiError::new(ErrorCode::Io, format!("{}: {e}", login_path(home).display()))),
    }
}

/// The development server moved from port `old` to `new` (its old port was taken): a saved login of this
/// data folder that named the old port on this machine names the new one. Returns whether it changed.
pub(crate) fn move_login_port(home: &std::path::Path, old: u16, new: u16) -> ApiResult<bool> {
    let Some(mut login) = read_login(home)? else { return Ok(false) };
    let Some(moved) = envs::moved_local_port(&login.server, old, new) else { return Ok(false) };
    login.server = moved;
    let json = serde_json::to_vec_pretty(&login).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let tmp = login_path(home).with_extension("json.tmp");
    std::fs::write(&tmp, json)
        .and_then(|()| std::fs::rename(&tmp, login_path(home)))
        .map_err(|e| ApiError::new(ErrorCode::Io, format!("{}: {e}", login_path(home).display())))?;
    Ok(true)
}

impl Journal {
    /// The server this device syncs with, as the user's own login: `settings.server_url` (a connection
    /// string with the role's password) if given, else the login saved by `sync login` with its password
    /// from `settings.password` or the OS keyring.
    pub fn sync_target(&self, settings: &SyncSettings) -> ApiResult<Target> {
        if let Some(url) = &settings.server_url {
            return Ok(envs::resolve_url_in(self.home(), url)?);
        }
        let login = read_login(self.home())?.ok_or_else(|| {
            ApiError::new(ErrorCode::NotFound, "server: this device has no sync server yet")
                .with_field("server")
                .with_hint("sign in to your sync server with your own login (a connection string without the password)")
        })?;
        let mut target = envs::resolve_url_in(self.home(), &login.server)?;
        if login.ca_file.is_some() {
            target.ca_file = login.ca_file;
        }
        let password = match &settings.password {
            Some(p) => Some(zeroize::Zeroizing::new(p.clone())),
            None => envs::keyring_login_password(&target.config)?,
        };
        match password {
            Some(p) => {
                target.config.password(p.as_bytes());
            }
            None => {
                return Err(ApiError::new(
                    ErrorCode::KeyUnavailable,
                    format!("server: no password for {} in the OS keyring", envs::describe(&target.config)),
                )
                .with_field("password")
                .with_hint("sign in again, or give the sync password for this session"))
            }
        }
        Ok(target)
    }

    /// Save where this device syncs: checks the login works (and is a TrendDojo user) first, then keeps
    /// the password in the OS keyring and the rest in `<home>/sync.json`.
    pub async fn sync_login(&self, server: &LoginServer, password: &str, limits: Limits) -> ApiResult<LoginOutcome> {
        let (conn, ca_file) = match server {
            LoginServer::Url(u) => (u.clone(), None),
            LoginServer::Env { env, role } => envs::role_connection(self.home(), env, role)?,
        };
        let mut target = envs::resolve_url_in(self.home(), &conn)?;
        if target.config.get_password().is_some() {
            return Err(ApiError::invalid(
                "server",
                "the connection string holds a password; give the password separately, never in a URL",
            ));
        }
        if ca_file.is_some() {
            target.ca_file = ca_file.clone();
        }
        let mut with_password = target.clone();
        with_password.config.password(password.as_bytes());
        let server = Server::connect(&with_password, limits).await?;
        round::check_server_schema(&server.client, &limits).await?;
        let user_id = round::server_user(&server.client, &limits).await?;
        drop(server);
        let known_here = self.store.read(|c| Ok::<_, ApiError>(trenddojo_store::users::get(c, user_id).is_ok()))?;
        // The keyring (Secret Service) must not be called on a runtime thread (it can deadlock there).
        let config = target.config.clone();
        let pw = zeroize::Zeroizing::new(password.to_string());
        let keyring = tokio::task::spawn_blocking(move || envs::store_login_password(&config, &pw).is_ok())
            .await
            .unwrap_or(false);
        let login = SyncLogin { server: conn, ca_file: target.ca_file.clone() };
        let json = serde_json::to_vec_pretty(&login).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        let tmp = login_path(self.home()).with_extension("json.tmp");
        std::fs::write(&tmp, json)
            .and_then(|()| std::fs::rename(&tmp, login_path(self.home())))
            .map_err(|e| ApiError::new(ErrorCode::Io, format!("{}: {e}", login_path(self.home()).display())))?;
        Ok(LoginOutcome { server: envs::describe(&target.config), user_id: user_id.into(), known_here, keyring })
    }

    /// One sync round (push, then pull) against a resolved server ([`Journal::sync_target`]); the outcome
    /// is recorded for the sync status.
    pub async fn sync_round(&self, target: &Target, limits: Limits) -> ApiResult<dto::SyncReport> {
        let store = &self.store;
        let result = round::connect_and_sync(store, target, limits, &REFRESH, self.sync_progress()).await;
        if let Some(user) = result.as_ref().ok().map(|r| r.user).or(self.user.as_ref().map(|u| u.id)) {
            // Best effort: a store that cannot record this fails visibly on its next write.
            let _ = round::record_outcome(store, user, result.as_ref());
        }
        Ok((&result?).into())
    }

    /// One round with the server at `url` (a connection string with the password), blocking: for
    /// scripts, tests and benchmarks outside any async runtime.
    pub fn sync_once(&self, url: &str) -> ApiResult<dto::SyncReport> {
        let target = envs::resolve_url_in(self.home(), url)?;
        blocking_runtime()?.block_on(self.sync_round(&target, Limits::DEFAULT))
    }

    /// Background sync until `stop` completes: see [`trenddojo_sync::watch`]. `on_event` hears every
    /// round, failure and change of the notification connection. Ends with an error only for failures
    /// no retry can fix (a refused login among them).
    pub async fn sync_watch(
        &self,
        target: &Target,
        opts: &WatchOptions,
        mut on_event: impl FnMut(dto::SyncEvent),
        stop: impl Future<Output = ()>,
    ) -> ApiResult<()> {
        let user = self.user.as_ref().map(|u| u.id);
        let events = |e: WatchEvent<'_>| on_event(e.into());
        let opts = WatchOptions { progress: opts.progress.clone().or_else(|| self.sync_progress()), ..opts.clone() };
        Ok(watch::watch(&self.store, user, target, &REFRESH, &opts, events, stop).await?)
    }

    /// Replace this device's copy of the user's data with the server's. Refuses while local changes are
    /// not on the server yet, unless `discard_local` (then they are lost: the caller confirmed).
    pub async fn sync_reset(&self, target: &Target, discard_local: bool, limits: Limits) -> ApiResult<dto::SyncReport> {
        let store = &self.store;
        let mut server = Server::connect(target, limits).await?.with_progress(self.sync_progress());
        let user = trenddojo_sync::reset::signed_in_user(&server).await?;
        let pending = trenddojo_sync::outbox::pending(store, user)?;
        if pending > 0 && !discard_local {
            return Err(ApiError::conflict(
                "reset",
                format!("{pending} local change(s) are not on the server yet and a reset would drop them"),
            )
            .with_hint("sync first, or confirm that these local changes may be discarded"));
        }
        let report = trenddojo_sync::reset::reset(store, &mut server, &REFRESH).await?;
        let _ = round::record_outcome(store, report.user, Ok(&report));
        Ok((&report).into())
    }

    /// Put a logged conflict's overridden value back, as a new edit on this device (so it wins on every
    /// device at the next sync). The entry is marked restored; restoring it twice is refused.
    pub fn sync_restore(&self, seq: i64) -> ApiResult<dto::ConflictEntry> {
        Ok((&sync_status::restore(&self.store, seq, &REFRESH)?).into())
    }

    /// The sync status. `server_url` is the connection string the shell would sync with instead of the
    /// saved login, if any (only its `role@host:port/db` is shown).
    pub fn sync_status(&self, server_url: Option<&str>) -> ApiResult<dto::SyncStatus> {
        let user = self.user_id()?;
        let server = match server_url {
            Some(url) => envs::resolve_url(url).ok().map(|t| envs::describe(&t.config)),
            None => read_login(self.home())?
                .and_then(|l| envs::resolve_url(&l.server).ok())
                .map(|t| envs::describe(&t.config)),
        };
        let st = sync_status::state(&self.store, user)?;
        let needs_review = self.store.read(|c| Ok::<_, ApiError>(trade_repo::needing_review(c, user)?.len()))?;
        Ok(dto::SyncStatus {
            device: self.store.device_id().to_string(),
            server,
            pending: st.pending,
            acknowledged: st.acknowledged,
            cursor: st.cursor,
            conflicts: st.conflicts,
            kept_aside: st.kept_aside,
            awaiting_download: st.awaiting_download,
            needs_review: u32::try_from(needs_review).unwrap_or(u32::MAX),
            last_success: st.last_success,
            last_error_at: st.last_error_at,
            last_error: st.last_error,
            last_error_resolved: st.last_error_resolved,
            audit_rewritten: witness::finding(&self.store, user)?,
            audit_head: witness::heads(&self.store, user)?.last().map(|h| format!("{}:{}", h.pos, h.hash)),
        })
    }

    /// Write the server audit chain heads this device saw (for the active user) to `path`, for
    /// `ServerAdmin::verify_audit` with a witness file. Returns how many heads were written.
    pub fn export_witness(&self, path: &std::path::Path) -> ApiResult<usize> {
        let user = self.user_id()?;
        let heads: Vec<admin::WitnessHead> = witness::heads(&self.store, user)?
            .into_iter()
            .map(|h| admin::WitnessHead { user, pos: h.pos, hash: h.hash })
            .collect();
        if heads.is_empty() {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                "witness: this device has not seen the server's audit chain yet (sync first)",
            ));
        }
        let file = crate::service::server::WitnessFile { format: crate::service::server::WITNESS_FORMAT, heads };
        let text =
            serde_json::to_string_pretty(&file).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| ApiError::new(ErrorCode::Io, format!("witness: cannot write {}: {e}", path.display())))?;
        Ok(file.heads.len())
    }

    /// The conflict log, oldest first.
    pub fn sync_conflicts(&self) -> ApiResult<Vec<dto::ConflictEntry>> {
        Ok(sync_status::conflicts(&self.store)?.iter().map(Into::into).collect())
    }

    /// Everything a merge left to resolve: trades that need review, fills of deleted trades, rows kept aside.
    pub fn sync_review(&self) -> ApiResult<SyncReview> {
        let user = self.user_id()?;
        let items = self.review_items()?;
        let kept_aside =
            self.store.read(|c| Ok::<_, ApiError>(quarantine::list(c, user)?))?.iter().map(Into::into).collect();
        Ok(SyncReview { items, kept_aside })
    }
}
