//! Sync use cases: one round against the server, the device's sync status, and the conflict log.
//!
//! The server connection is the user's own login (`TRENDDOJO_SERVER_URL`, a postgres URL with the user's
//! role and password), never a service credential, so row-level security bounds what a sync can read or
//! write. Derived data that arrives by sync (a trade's summary, an account's realized total) is
//! recomputed here, inside the pull's transaction, from the merged executions.

use serde::Serialize;
use trenddojo_store::accounts as account_repo;
use trenddojo_store::trades as trade_repo;
use trenddojo_store::Tx;
use trenddojo_sync::engine::{self, Report};
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
}

fn sql(e: trenddojo_store::sql::Value) -> String {
    match e {
        trenddojo_store::sql::Value::Text(t) => t,
        trenddojo_store::sql::Value::Integer(i) => i.to_string(),
        _ => String::new(),
    }
}

/// Recompute trades (and their accounts' totals) whose rows or executions arrived.
fn refresh(tx: &Tx<'_>, trades: &[Uuid]) -> Result<(), SyncError> {
    let mut accounts = Vec::new();
    for &id in trades {
        let found: Option<(String, String)> = tx
            .query_row("SELECT user_id, account_id FROM trades WHERE id = ?1 AND deleted = 0", [id.to_string()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .ok();
        // A deleted trade has no summary to keep; its account's total is still recomputed below.
        let Some((user, account)) = found else {
            if let Ok(a) =
                tx.query_row("SELECT account_id FROM trades WHERE id = ?1", [id.to_string()], |r| r.get::<_, String>(0))
            {
                if let Ok(a) = Uuid::parse_str(&a) {
                    accounts.push(a);
                }
            }
            continue;
        };
        let (Ok(user), Ok(account)) = (Uuid::parse_str(&user), Uuid::parse_str(&account)) else { continue };
        let acc = account_repo::get(tx, user, account)?;
        refresh_trade(tx, &acc, id).map_err(|e| SyncError::Invalid { field: "trade".into(), message: e.message })?;
        accounts.push(account);
    }
    accounts.sort();
    accounts.dedup();
    for a in accounts {
        trade_repo::reset_account_realized(tx, a)?;
    }
    Ok(())
}

impl Journal {
    /// One sync round (push, then pull) with the server at `url` as the user it signs in as.
    pub fn sync_once(&self, url: &str) -> ApiResult<Report> {
        let config: trenddojo_server::db::Config = url.parse().map_err(|_| {
            ApiError::invalid(
                "server",
                "TRENDDOJO_SERVER_URL is not a postgres URL (postgresql://role:password@host/db)",
            )
        })?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        let store = &self.store;
        rt.block_on(async {
            let mut client = trenddojo_server::db::connect_config(&config).await?;
            Ok::<_, ApiError>(engine::sync_once(store, &mut client, &refresh).await?)
        })
    }

    pub fn sync_status(&self) -> ApiResult<SyncStatus> {
        let user = self.user()?.id;
        let pending = i64::try_from(engine::pending(&self.store, user)?).unwrap_or(i64::MAX);
        Ok(self.store.read(|c| {
            let get = |k: &str| -> Result<i64, trenddojo_store::StoreError> {
                Ok(c.query_row("SELECT value FROM sync_state WHERE key = ?1", [format!("{user}.{k}")], |r| {
                    r.get::<_, String>(0)
                })
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0))
            };
            let acknowledged = get("acknowledged")?;
            let cursor = get("cursor")?;
            let conflicts: i64 = c.query_row("SELECT count(*) FROM sync_conflicts", [], |r| r.get(0))?;
            Ok::<_, trenddojo_store::StoreError>(SyncStatus {
                device: self.store.device_id().to_string(),
                pending,
                acknowledged,
                cursor,
                conflicts,
            })
        })?)
    }

    pub fn sync_conflicts(&self) -> ApiResult<Vec<ConflictEntry>> {
        Ok(self.store.read(|c| {
            let mut st = c.prepare(
                "SELECT seq, seen_at, table_name, row_id, field, kept_value, kept_hlc, lost_value, lost_hlc
                 FROM sync_conflicts ORDER BY seq",
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
                })
            })?;
            Ok::<_, trenddojo_store::StoreError>(rows.collect::<Result<Vec<_>, _>>()?)
        })?)
    }
}
