//! What the user sees of sync on this device: its status, the conflict log and restoring a logged value.
//! (The SQL of the device's sync bookkeeping lives here, next to the engine that writes it.)

use rusqlite::OptionalExtension;
use serde::Serialize;
use trenddojo_store::{Connection, Store, StoreError, Tx};
use uuid::Uuid;

use crate::apply::Refresh;
use crate::convert::to_local;
use crate::local::{get_i64, get_state, sql_err, state_key};
use crate::merge::Overridden;
use crate::tables;
use crate::SyncError;

/// The device's sync bookkeeping for one user.
#[derive(Debug, Clone, Serialize)]
pub struct SyncState {
    /// Local changes not yet acknowledged by the server.
    pub pending: i64,
    pub acknowledged: i64,
    pub cursor: i64,
    /// Logged conflicts not restored.
    pub conflicts: i64,
    /// Rows kept aside (see the review list).
    pub kept_aside: i64,
    /// Trades whose summaries wait for a download to finish (an interrupted first sync).
    pub awaiting_download: i64,
    /// When the last round succeeded (UTC, RFC 3339).
    pub last_success: Option<String>,
    /// When the last round failed, and why.
    pub last_error_at: Option<String>,
    pub last_error: Option<String>,
    /// A round succeeded after the last error (the error is history, not the current state).
    pub last_error_resolved: bool,
}

/// The sync status of `user` on this device.
pub fn state(store: &Store, user: Uuid) -> Result<SyncState, SyncError> {
    let pending = i64::try_from(crate::outbox::pending(store, user)?).unwrap_or(i64::MAX);
    store.read(|c| {
        let text = |k: &str| get_state(c, &state_key(user, k));
        let (last_success, last_error_at) = (text("last_success")?, text("last_error_at")?);
        let conflicts: i64 = c
            .query_row(
                "SELECT count(*) FROM sync_conflicts WHERE seq NOT IN (SELECT seq FROM sync_conflict_restores)",
                [],
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        let awaiting_download: i64 =
            c.query_row("SELECT count(*) FROM sync_pending_trades", [], |r| r.get(0)).map_err(sql_err)?;
        // Stamps are fixed-width RFC 3339 UTC: text order is time order.
        let last_error_resolved = matches!((&last_success, &last_error_at), (Some(s), Some(e)) if s > e);
        Ok(SyncState {
            pending,
            acknowledged: get_i64(c, &state_key(user, "acknowledged"))?,
            cursor: get_i64(c, &state_key(user, "cursor"))?,
            conflicts,
            kept_aside: crate::quarantine::count(c, user)?,
            awaiting_download,
            last_success,
            last_error_at,
            last_error: text("last_error")?,
            last_error_resolved,
        })
    })
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
    /// The values in words where the stored value is an id (a trade's target list: its prices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_shown: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_shown: Option<String>,
    /// When the user put the lost value back, if they did.
    pub restored_at: Option<String>,
}

/// Log one overridden value, once: the same loss can be seen by the push (the server's merge) and again by
/// the pull that brings the winner down. Bookkeeping and derived fields are never logged.
pub(crate) fn log_conflict(tx: &Tx<'_>, table: &str, id: Uuid, o: &Overridden) -> Result<bool, SyncError> {
    if tables::edited_column(table, &o.field).is_none() {
        return Ok(false);
    }
    let n = tx
        .prepare_cached(
            "INSERT INTO sync_conflicts (seen_at, table_name, row_id, field, kept_value, kept_hlc, lost_value, lost_hlc)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
             WHERE NOT EXISTS (SELECT 1 FROM sync_conflicts WHERE table_name = ?2 AND row_id = ?3 AND field = ?4
                               AND kept_hlc = ?6 AND lost_hlc = ?8)",
        )
        .map_err(sql_err)?
        .execute(rusqlite::params![
            tx.now,
            table,
            id.to_string(),
            o.field,
            o.kept.value.to_string(),
            o.kept.hlc.to_string(),
            o.lost.value.to_string(),
            o.lost.hlc.to_string()
        ])
        .map_err(sql_err)?;
    Ok(n > 0)
}

fn text(v: trenddojo_store::sql::Value) -> String {
    match v {
        trenddojo_store::sql::Value::Text(t) => t,
        trenddojo_store::sql::Value::Integer(i) => i.to_string(),
        _ => String::new(),
    }
}

/// A target set's prices, for the log ("60, 61"); `None` for other fields.
fn shown(c: &Connection, field: &str, value: &str) -> Option<String> {
    if field != "targets_set" {
        return None;
    }
    let id = serde_json::from_str::<serde_json::Value>(value).ok()?.as_str().and_then(|s| Uuid::parse_str(s).ok())?;
    let prices = trenddojo_store::trades::target_set(c, id).ok()?;
    Some(if prices.is_empty() {
        "no targets".into()
    } else {
        prices.iter().map(|p| p.to_canonical()).collect::<Vec<_>>().join(", ")
    })
}

/// The whole conflict log, oldest first.
pub fn conflicts(store: &Store) -> Result<Vec<ConflictEntry>, SyncError> {
    store.read(|c| {
        let mut st = c
            .prepare(
                "SELECT c.seq, c.seen_at, c.table_name, c.row_id, c.field, c.kept_value, c.kept_hlc, c.lost_value,
                        c.lost_hlc, r.restored_at
                 FROM sync_conflicts c LEFT JOIN sync_conflict_restores r ON r.seq = c.seq ORDER BY c.seq",
            )
            .map_err(sql_err)?;
        let rows = st
            .query_map([], |r| {
                Ok(ConflictEntry {
                    seq: r.get(0)?,
                    seen_at: r.get(1)?,
                    table: r.get(2)?,
                    row_id: r.get(3)?,
                    field: r.get(4)?,
                    kept_value: text(r.get(5)?),
                    kept_hlc: r.get(6)?,
                    lost_value: text(r.get(7)?),
                    lost_hlc: r.get(8)?,
                    kept_shown: None,
                    lost_shown: None,
                    restored_at: r.get(9)?,
                })
            })
            .map_err(sql_err)?;
        let mut out: Vec<ConflictEntry> = rows.collect::<Result<_, _>>().map_err(sql_err)?;
        for e in &mut out {
            e.kept_shown = shown(c, &e.field, &e.kept_value);
            e.lost_shown = shown(c, &e.field, &e.lost_value);
        }
        Ok(out)
    })
}

/// Put a logged conflict's overridden value back, as a new edit on this device (so it wins on every
/// device at the next sync). The entry is marked restored; restoring it twice, a field of a deleted row,
/// or bookkeeping is refused. A restored stop goes into the trade's stop history like any stop change.
pub fn restore(store: &Store, seq: i64, refresh: &Refresh<'_>) -> Result<ConflictEntry, SyncError> {
    let entry = conflicts(store)?
        .into_iter()
        .find(|c| c.seq == seq)
        .ok_or_else(|| SyncError::Store(StoreError::NotFound { what: "conflict", id: seq.to_string() }))?;
    let table = tables::table(&entry.table).ok_or_else(|| {
        SyncError::invalid("conflict", format!("table {} is not synced by this version", entry.table))
    })?;
    // Identity and the tombstone are never put back by hand (a delete wins over edits).
    let column = tables::edited_column(&entry.table, &entry.field)
        .filter(|c| !matches!(c.name, "id" | "user_id" | "deleted"))
        .ok_or_else(|| {
            SyncError::invalid(
                "conflict",
                format!(
                    "{}.{} is bookkeeping or derived data; it cannot be restored by hand",
                    entry.table, entry.field
                ),
            )
        })?;
    let lost: serde_json::Value = serde_json::from_str(&entry.lost_value)
        .map_err(|_| SyncError::invalid("conflict", format!("conflict {seq}: the logged value is not JSON")))?;
    let value = to_local(table.name, &column, &lost)?;
    store.write(|tx| {
        let done: i64 = tx
            .query_row("SELECT count(*) FROM sync_conflict_restores WHERE seq = ?1", [seq], |r| r.get(0))
            .map_err(sql_err)?;
        if done > 0 {
            return Err(SyncError::Conflict {
                field: "conflict".into(),
                message: format!("conflict {seq} was already restored"),
            });
        }
        let deleted: Option<i64> = tx
            .query_row(&format!("SELECT deleted FROM {} WHERE id = ?1", table.name), [&entry.row_id], |r| r.get(0))
            .optional()
            .map_err(sql_err)?;
        match deleted {
            None => {
                return Err(SyncError::Store(StoreError::NotFound {
                    what: "conflict",
                    id: format!("{seq} (the row is gone)"),
                }))
            }
            Some(1) => {
                return Err(SyncError::Conflict {
                    field: "conflict".into(),
                    message: format!("conflict {seq}: the row was deleted, and a delete wins over edits"),
                })
            }
            Some(_) => {}
        }
        tx.execute(
            &format!("UPDATE {} SET {} = ?1, updated_at = ?2, updated_hlc = ?3 WHERE id = ?4", table.name, column.name),
            trenddojo_store::sql::params![value, tx.now, tx.hlc, entry.row_id],
        )
        .map_err(sql_err)?;
        tx.execute(
            "INSERT INTO sync_conflict_restores (seq, restored_at, hlc) VALUES (?1, ?2, ?3)",
            rusqlite::params![seq, tx.now, tx.hlc],
        )
        .map_err(sql_err)?;
        let trade = match table.name {
            "trades" => Uuid::parse_str(&entry.row_id).ok(),
            "executions" | "trade_stop_adjustments" | "trade_targets" => tx
                .query_row(&format!("SELECT trade_id FROM {} WHERE id = ?1", table.name), [&entry.row_id], |r| {
                    r.get::<_, String>(0)
                })
                .ok()
                .and_then(|t| Uuid::parse_str(&t).ok()),
            _ => None,
        };
        if table.name == "trades" && column.name == "current_stop" {
            if let (Some(id), trenddojo_store::sql::Value::Text(price)) = (trade, &value) {
                trenddojo_store::trades::record_stop(tx, id, price, &format!("restored from conflict {seq}"))?;
            }
        }
        if let Some(t) = trade {
            let accounts = (refresh.trades)(tx, &[t])?;
            (refresh.accounts)(tx, &accounts)?;
        }
        Ok(())
    })?;
    Ok(entry)
}
