//! Sync use cases: one round against the server, the device's sync status, and the conflict log.
//!
//! The server connection is the user's own login (`TRENDDOJO_SERVER_URL`, a postgres URL with the user's
//! role and password), never a service credential, so row-level security bounds what a sync can read or
//! write. Derived data that arrives by sync (a trade's summary, an account's realized total) is
//! recomputed here, inside the pull's transaction, from the merged executions.

use std::future::Future;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use trenddojo_server::envs::{self, Target};
use trenddojo_store::accounts as account_repo;
use trenddojo_store::trades as trade_repo;
use trenddojo_store::Tx;
use trenddojo_sync::engine::{self, Refresh, Report};
use trenddojo_sync::tables;
use trenddojo_sync::watch::{self, WatchEvent, WatchOptions};
use trenddojo_sync::SyncError;
use uuid::Uuid;

use super::trades::refresh_trade;
use super::Journal;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// The device's sync bookkeeping for the active user.
#[derive(Debug, Clone, Serialize)]
pub struct SyncStatus {
    pub device: String,
    /// Local changes not yet acknowledged by the server.
    pub pending: i64,
    pub acknowledged: i64,
    pub cursor: i64,
    pub conflicts: i64,
    /// Where this device syncs (`role@host:port/db`, never a password), if set up.
    pub server: Option<String>,
    /// When the last round succeeded (UTC, RFC 3339).
    pub last_success: Option<String>,
    /// When the last round failed, and why.
    pub last_error_at: Option<String>,
    pub last_error: Option<String>,
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
#[derive(Debug, Clone, Serialize)]
pub struct LoginOutcome {
    /// `role@host:port/db`.
    pub server: String,
    /// The server user the login signs in as.
    pub user_id: Uuid,
    /// The user is already in this store (else the first sync brings it).
    pub known_here: bool,
    /// The password was saved in the OS keyring (else set TRENDDOJO_SYNC_PASSWORD for each sync).
    pub keyring: bool,
}

/// One entry of the conflict log.
#[derive(Debug, Clone, Serialize)]
pub struct ConflictEntry {
    pub seq: i64,
    pub seen_at: String,
    pub table: String,
    pub row_id: String,
    pub field: String,
    pub kept_value: String,
    pub kept_hlc: String,
    pub lost_value: String,
    pub lost_hlc: String,
    /// When the user put the lost value back, if they did.
    pub restored_at: Option<String>,
}

fn sql(e: trenddojo_store::sql::Value) -> String {
    match e {
        trenddojo_store::sql::Value::Text(t) => t,
        trenddojo_store::sql::Value::Integer(i) => i.to_string(),
        _ => String::new(),
    }
}

/// Recompute the derived data of trades whose rows or executions arrived; returns their accounts.
fn refresh_trades(tx: &Tx<'_>, trades: &[Uuid]) -> Result<Vec<Uuid>, SyncError> {
    let mut accounts = Vec::new();
    for &id in trades {
        let found: Option<(String, String, bool)> = tx
            .prepare_cached("SELECT user_id, account_id, deleted FROM trades WHERE id = ?1")
            .and_then(|mut st| st.query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0))))
            .ok();
        let Some((user, account, deleted)) = found else { continue };
        let (Ok(user), Ok(account)) = (Uuid::parse_str(&user), Uuid::parse_str(&account)) else { continue };
        accounts.push(account);
        // A deleted trade has no summary to keep; its account's total is still rebuilt.
        if deleted {
            continue;
        }
        let acc = account_repo::get(tx, user, account)?;
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

fn runtime() -> ApiResult<tokio::runtime::Runtime> {
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

impl Journal {
    /// The server this device syncs with, as the user's own login: `TRENDDOJO_SERVER_URL` (a connection
    /// string with the role's password) if set, else the login saved by `sync login` with its password
    /// from `TRENDDOJO_SYNC_PASSWORD` or the OS keyring.
    pub fn sync_target(&self) -> ApiResult<Target> {
        if let Ok(url) = std::env::var("TRENDDOJO_SERVER_URL") {
            return Ok(envs::resolve_url_in(self.home(), &url)?);
        }
        let login = read_login(self.home())?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                "server: this device has no sync server: run `trenddojo sync login --server postgresql://ROLE@HOST:PORT/DB` \
                 (or `--env ENV --role ROLE`), or set TRENDDOJO_SERVER_URL",
            )
        })?;
        let mut target = envs::resolve_url_in(self.home(), &login.server)?;
        if login.ca_file.is_some() {
            target.ca_file = login.ca_file;
        }
        match envs::login_password(&target.config)? {
            Some(p) => {
                target.config.password(p.as_bytes());
            }
            None => {
                return Err(ApiError::new(
                    ErrorCode::KeyUnavailable,
                    format!(
                        "server: no password for {} (not in the OS keyring): run `trenddojo sync login` again or set \
                         TRENDDOJO_SYNC_PASSWORD",
                        envs::describe(&target.config)
                    ),
                ))
            }
        }
        Ok(target)
    }

    /// Save where this device syncs: checks the login works (and is a TrendDojo user) first, then keeps
    /// the password in the OS keyring and the rest in `<home>/sync.json`.
    pub fn sync_login(&self, server: &LoginServer, password: &str) -> ApiResult<LoginOutcome> {
        let (conn, ca_file) = match server {
            LoginServer::Url(u) => (u.clone(), None),
            LoginServer::Env { env, role } => envs::role_connection(self.home(), env, role)?,
        };
        let mut target = envs::resolve_url_in(self.home(), &conn)?;
        if target.config.get_password().is_some() {
            return Err(ApiError::invalid(
                "server",
                "the connection string holds a password; give it on the prompt or with --password-stdin, never in a URL",
            ));
        }
        if ca_file.is_some() {
            target.ca_file = ca_file.clone();
        }
        let mut with_password = target.clone();
        with_password.config.password(password.as_bytes());
        let user_id = runtime()?.block_on(async {
            let client = with_password.connect().await?;
            engine::check_server_schema(&client).await?;
            Ok::<_, ApiError>(engine::server_user(&client).await?)
        })?;
        let known_here = self.store.read(|c| {
            Ok::<_, trenddojo_store::StoreError>(
                c.query_row("SELECT count(*) FROM users WHERE id = ?1", [user_id.to_string()], |r| r.get::<_, i64>(0))?
                    > 0,
            )
        })?;
        let keyring = envs::store_login_password(&target.config, password).is_ok();
        let login = SyncLogin { server: conn, ca_file: target.ca_file.clone() };
        let json = serde_json::to_vec_pretty(&login).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        let tmp = login_path(self.home()).with_extension("json.tmp");
        std::fs::write(&tmp, json)
            .and_then(|()| std::fs::rename(&tmp, login_path(self.home())))
            .map_err(|e| ApiError::new(ErrorCode::Io, format!("{}: {e}", login_path(self.home()).display())))?;
        Ok(LoginOutcome { server: envs::describe(&target.config), user_id, known_here, keyring })
    }

    /// One sync round (push, then pull) with the server at `url` as the user it signs in as.
    pub fn sync_once(&self, url: &str) -> ApiResult<Report> {
        let target = envs::resolve_url_in(self.home(), url)?;
        self.sync_once_with(&target)
    }

    /// One sync round against a resolved server ([`Journal::sync_target`]); the outcome is recorded for
    /// `sync status`.
    pub fn sync_once_with(&self, target: &Target) -> ApiResult<Report> {
        let store = &self.store;
        let result = runtime()?.block_on(async {
            let mut client = target.connect().await?;
            engine::sync_once(store, &mut client, &REFRESH).await
        });
        if let Some(user) = result.as_ref().ok().map(|r| r.user).or(self.user.as_ref().map(|u| u.id)) {
            // Best effort: a store that cannot record this fails visibly on its next write.
            let _ = engine::record_outcome(store, user, result.as_ref());
        }
        Ok(result?)
    }

    /// Background sync until `stop` completes: see [`trenddojo_sync::watch`]. `on_event` hears every
    /// round, failure and change of the notification connection.
    pub fn sync_watch(
        &self,
        target: &Target,
        opts: &WatchOptions,
        on_event: impl FnMut(WatchEvent<'_>),
        stop: impl Future<Output = ()>,
    ) -> ApiResult<()> {
        let user = self.user.as_ref().map(|u| u.id);
        Ok(runtime()?.block_on(watch::watch(&self.store, user, target, &REFRESH, opts, on_event, stop))?)
    }

    /// Replace this device's copy of the user's data with the server's. Refuses while local changes are
    /// not on the server yet, unless `discard_local` (then they are lost: the caller confirmed).
    pub fn sync_reset(&self, target: &Target, discard_local: bool) -> ApiResult<Report> {
        let store = &self.store;
        let report = runtime()?.block_on(async {
            let mut client = target.connect().await?;
            let user = engine::server_user(&client).await?;
            let pending = engine::pending(store, user)?;
            if pending > 0 && !discard_local {
                return Err(ApiError::conflict(
                    "reset",
                    format!(
                        "{pending} local change(s) are not on the server yet and a reset would drop them: run \
                         `trenddojo sync` first, or add --discard-local"
                    ),
                ));
            }
            Ok(engine::reset(store, &mut client, &REFRESH).await?)
        })?;
        let _ = engine::record_outcome(store, report.user, Ok(&report));
        Ok(report)
    }

    /// Put a logged conflict's overridden value back, as a new edit on this device (so it wins on every
    /// device at the next sync). The entry is marked restored; restoring it twice is refused.
    pub fn sync_restore(&self, seq: i64) -> ApiResult<ConflictEntry> {
        let entry = self
            .sync_conflicts()?
            .into_iter()
            .find(|c| c.seq == seq)
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("conflict: no conflict {seq} in the log")))?;
        let table = tables::table(&entry.table).ok_or_else(|| {
            ApiError::invalid("conflict", format!("table {} is not synced by this version", entry.table))
        })?;
        // Identity and the tombstone are never put back by hand (a delete wins over edits).
        let column = tables::edited_column(&entry.table, &entry.field)
            .filter(|c| !matches!(c.name, "id" | "user_id" | "deleted"))
            .ok_or_else(|| {
                ApiError::invalid(
                    "conflict",
                    format!(
                        "{}.{} is bookkeeping or derived data; it cannot be restored by hand",
                        entry.table, entry.field
                    ),
                )
            })?;
        let lost: serde_json::Value = serde_json::from_str(&entry.lost_value)
            .map_err(|_| ApiError::new(ErrorCode::Corrupt, format!("conflict {seq}: the logged value is not JSON")))?;
        let value = engine::to_local(&lost, column.kind);
        self.store.write(|tx| {
            let done: i64 = tx
                .query_row("SELECT count(*) FROM sync_conflict_restores WHERE seq = ?1", [seq], |r| r.get(0))
                .map_err(trenddojo_store::StoreError::from)?;
            if done > 0 {
                return Err(ApiError::conflict("conflict", format!("conflict {seq} was already restored")));
            }
            let deleted: Option<i64> = tx
                .query_row(&format!("SELECT deleted FROM {} WHERE id = ?1", table.name), [&entry.row_id], |r| r.get(0))
                .ok();
            match deleted {
                None => return Err(ApiError::new(ErrorCode::NotFound, format!("conflict {seq}: the row is gone"))),
                Some(1) => {
                    return Err(ApiError::conflict(
                        "conflict",
                        format!("conflict {seq}: the row was deleted, and a delete wins over edits"),
                    ))
                }
                Some(_) => {}
            }
            tx.execute(
                &format!(
                    "UPDATE {} SET {} = ?1, updated_at = ?2, updated_hlc = ?3 WHERE id = ?4",
                    table.name, column.name
                ),
                trenddojo_store::sql::params![value, tx.now, tx.hlc, entry.row_id],
            )
            .map_err(trenddojo_store::StoreError::from)?;
            tx.execute(
                "INSERT INTO sync_conflict_restores (seq, restored_at, hlc) VALUES (?1, ?2, ?3)",
                trenddojo_store::sql::params![seq, tx.now, tx.hlc],
            )
            .map_err(trenddojo_store::StoreError::from)?;
            // A restored fill changes its trade's summary, like any edit of a fill.
            let trade = match table.name {
                "trades" => Uuid::parse_str(&entry.row_id).ok(),
                "executions" => tx
                    .query_row("SELECT trade_id FROM executions WHERE id = ?1", [&entry.row_id], |r| {
                        r.get::<_, String>(0)
                    })
                    .ok()
                    .and_then(|t| Uuid::parse_str(&t).ok()),
                _ => None,
            };
            if let Some(t) = trade {
                refresh_accounts(tx, &refresh_trades(tx, &[t])?)?;
            }
            Ok::<_, ApiError>(())
        })?;
        Ok(entry)
    }

    pub fn sync_status(&self) -> ApiResult<SyncStatus> {
        let user = self.user()?.id;
        let pending = i64::try_from(engine::pending(&self.store, user)?).unwrap_or(i64::MAX);
        let server = match std::env::var("TRENDDOJO_SERVER_URL") {
            Ok(url) => envs::resolve_url(&url).ok().map(|t| envs::describe(&t.config)),
            Err(_) => read_login(self.home())?
                .and_then(|l| envs::resolve_url(&l.server).ok())
                .map(|t| envs::describe(&t.config)),
        };
        Ok(self.store.read(|c| {
            let get = |k: &str| -> Result<i64, trenddojo_store::StoreError> {
                Ok(c.query_row("SELECT value FROM sync_state WHERE key = ?1", [format!("{user}.{k}")], |r| {
                    r.get::<_, String>(0)
                })
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0))
            };
            let text = |k: &str| -> Option<String> {
                c.query_row("SELECT value FROM sync_state WHERE key = ?1", [format!("{user}.{k}")], |r| r.get(0)).ok()
            };
            let acknowledged = get("acknowledged")?;
            let cursor = get("cursor")?;
            let conflicts: i64 = c.query_row(
                "SELECT count(*) FROM sync_conflicts WHERE seq NOT IN (SELECT seq FROM sync_conflict_restores)",
                [],
                |r| r.get(0),
            )?;
            Ok::<_, trenddojo_store::StoreError>(SyncStatus {
                device: self.store.device_id().to_string(),
                pending,
                acknowledged,
                cursor,
                conflicts,
                server,
                last_success: text("last_success"),
                last_error_at: text("last_error_at"),
                last_error: text("last_error"),
            })
        })?)
    }

    pub fn sync_conflicts(&self) -> ApiResult<Vec<ConflictEntry>> {
        Ok(self.store.read(|c| {
            let mut st = c.prepare(
                "SELECT c.seq, c.seen_at, c.table_name, c.row_id, c.field, c.kept_value, c.kept_hlc, c.lost_value,
                        c.lost_hlc, r.restored_at
                 FROM sync_conflicts c LEFT JOIN sync_conflict_restores r ON r.seq = c.seq ORDER BY c.seq",
            )?;
            let rows = st.query_map([], |r| {
                Ok(ConflictEntry {
                    seq: r.get(0)?,
                    seen_at: r.get(1)?,
                    table: r.get(2)?,
                    row_id: r.get(3)?,
                    field: r.get(4)?,
                    kept_value: sql(r.get(5)?),
                    kept_hlc: r.get(6)?,
                    lost_value: sql(r.get(7)?),
                    lost_hlc: r.get(8)?,
                    restored_at: r.get(9)?,
                })
            })?;
            Ok::<_, trenddojo_store::StoreError>(rows.collect::<Result<Vec<_>, _>>()?)
        })?)
    }
}
