//! Rows kept aside: a pulled or pushed row that cannot be applied never blocks the others.
//!
//! Sync must never stop for good because of one row. When the server refuses a pushed row (a tier limit
//! two offline devices reached together, a constraint) or the store refuses a pulled one (a parent that is
//! itself kept aside), the row is recorded in `sync_quarantine` with its reason, and everything else goes
//! on. Nothing is dropped:
//! - a pushed row stays in the store as the user wrote it; it is tried again at the next change to it (a
//!   new outbox entry), and after any round that moved data (the obstacle may be gone: an upgraded tier, a
//!   parent that went through), by queueing it again;
//! - a pulled row keeps its received state (fields and stamps) here; it is applied again after the next
//!   pull that brought anything, and a newer version of it, when it arrives and applies, supersedes it.
//!
//! The user sees them (`sync status`, the review list, the app's sync screen) with the reason and what to
//! do about it.

use rusqlite::OptionalExtension;
use serde::Serialize;
use trenddojo_store::{Connection, Tx};
use uuid::Uuid;

use crate::local::sql_err;
use crate::merge::RowState;
use crate::SyncError;

/// Which way a kept-aside row was travelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Push,
    Pull,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Push => "push",
            Direction::Pull => "pull",
        }
    }
}

/// One row kept aside, as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptAside {
    pub table: String,
    pub row_id: String,
    pub direction: Direction,
    /// What went wrong: a SQLSTATE for a push the server refused (`TD001`: a tier limit), `constraint` for
    /// a pulled row the store refused, `recompute` for a trade whose summary could not be computed.
    pub code: String,
    pub reason: String,
    pub first_seen: String,
    pub last_tried: String,
    pub attempts: i64,
    /// What the user can do about it.
    pub advice: String,
}

fn advice(direction: &str, code: &str, table: &str) -> String {
    match (direction, code) {
        ("push", "TD001") => format!(
            "your subscription tier's limit was reached by your devices together; this {} stays on this device \
             until you upgrade or delete others, and is sent again after the next change",
            singular(table)
        ),
        ("push", _) => format!(
            "the server refused this {}; it stays on this device as you wrote it and is sent again after the next \
             change to it (edit or delete it to resolve)",
            singular(table)
        ),
        (_, "recompute") => "edit or delete the fill that makes the trade impossible to compute".into(),
        _ => format!(
            "this {} from another device could not be stored here; it is applied again after the next sync",
            singular(table)
        ),
    }
}

fn singular(table: &str) -> &str {
    match table {
        "accounts" => "account",
        "trades" => "trade",
        "executions" => "fill",
        "import_batches" => "import",
        "trade_notes" => "note",
        "trade_stop_adjustments" => "stop change",
        "trade_targets" => "target",
        "trade_checklist_templates" => "checklist",
        "trade_checklist_items" => "checklist item",
        "trade_checklist_responses" => "checklist answer",
        "risk_settings" => "risk setting",
        "broker_connections" => "broker connection",
        "users" => "user",
        other => other,
    }
}

/// A row to keep aside: where it was going, whose it is, and why.
struct Entry<'a> {
    table: &'a str,
    id: &'a str,
    direction: Direction,
    user: &'a str,
    code: &'a str,
    reason: &'a str,
    state: Option<&'a str>,
}

fn upsert(tx: &Tx<'_>, e: &Entry<'_>) -> Result<(), SyncError> {
    tx.prepare_cached(
        "INSERT INTO sync_quarantine (table_name, row_id, direction, user_id, code, reason, state, first_seen, last_tried) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) \
         ON CONFLICT (table_name, row_id, direction) DO UPDATE SET code = excluded.code, reason = excluded.reason, \
         state = coalesce(excluded.state, sync_quarantine.state), last_tried = excluded.last_tried, \
         attempts = sync_quarantine.attempts + 1",
    )
    .map_err(sql_err)?
    .execute(rusqlite::params![e.table, e.id, e.direction.as_str(), e.user, e.code, e.reason, e.state, tx.now])
    .map_err(sql_err)?;
    Ok(())
}

/// Keep a pulled row aside with its received state.
pub(crate) fn keep_pulled(tx: &Tx<'_>, table: &str, id: Uuid, state: &RowState, reason: &str) -> Result<(), SyncError> {
    let owner = if table == "users" { "id" } else { "user_id" };
    let user = state.fields.get(owner).and_then(|f| f.value.as_str()).unwrap_or_default().to_string();
    let json = serde_json::to_string(state).map_err(|e| SyncError::invalid("quarantine", e.to_string()))?;
    let id = id.to_string();
    upsert(
        tx,
        &Entry {
            table,
            id: &id,
            direction: Direction::Pull,
            user: &user,
            code: "constraint",
            reason,
            state: Some(&json),
        },
    )
}

/// Keep aside a trade whose derived data could not be computed (its rows are in; its summary is stale).
pub(crate) fn keep_recompute(tx: &Tx<'_>, trade: Uuid, reason: &str) -> Result<(), SyncError> {
    let user: String = tx
        .query_row("SELECT user_id FROM trades WHERE id = ?1", [trade.to_string()], |r| r.get(0))
        .optional()
        .map_err(sql_err)?
        .unwrap_or_default();
    let id = trade.to_string();
    upsert(
        tx,
        &Entry {
            table: "trades",
            id: &id,
            direction: Direction::Pull,
            user: &user,
            code: "recompute",
            reason,
            state: None,
        },
    )
}

/// Keep aside a row the server refused; its outbox entries are taken out (the row itself stays).
pub(crate) fn keep_pushed(
    tx: &Tx<'_>,
    table: &str,
    id: Uuid,
    user: Uuid,
    code: &str,
    reason: &str,
) -> Result<(), SyncError> {
    let (id, user) = (id.to_string(), user.to_string());
    upsert(tx, &Entry { table, id: &id, direction: Direction::Push, user: &user, code, reason, state: None })
}

/// The row went through: it is no longer kept aside.
pub(crate) fn clear(tx: &Tx<'_>, table: &str, id: Uuid, direction: Direction) -> Result<(), SyncError> {
    tx.prepare_cached("DELETE FROM sync_quarantine WHERE table_name = ?1 AND row_id = ?2 AND direction = ?3")
        .map_err(sql_err)?
        .execute(rusqlite::params![table, id.to_string(), direction.as_str()])
        .map_err(sql_err)?;
    Ok(())
}

/// Whether a row (by table and id text) is kept aside in either direction.
pub(crate) fn is_kept_aside(c: &Connection, table: &str, id: &str) -> Result<bool, SyncError> {
    Ok(c.prepare_cached("SELECT 1 FROM sync_quarantine WHERE table_name = ?1 AND row_id = ?2 LIMIT 1")
        .map_err(sql_err)?
        .query_row([table, id], |_| Ok(()))
        .optional()
        .map_err(sql_err)?
        .is_some())
}

/// Whether anything is kept aside for pushing (so a push bothers clearing entries).
pub(crate) fn any_pushed(c: &Connection) -> Result<bool, SyncError> {
    c.query_row("SELECT EXISTS (SELECT 1 FROM sync_quarantine WHERE direction = 'push')", [], |r| r.get(0))
        .map_err(sql_err)
}

/// Every row kept aside for `user`, oldest first.
pub fn list(c: &Connection, user: Uuid) -> Result<Vec<KeptAside>, SyncError> {
    let mut st = c
        .prepare_cached(
            "SELECT table_name, row_id, direction, code, reason, first_seen, last_tried, attempts FROM sync_quarantine \
             WHERE user_id = ?1 ORDER BY first_seen, table_name, row_id",
        )
        .map_err(sql_err)?;
    let rows = st
        .query_map([user.to_string()], |r| {
            let (table, direction, code): (String, String, String) = (r.get(0)?, r.get(2)?, r.get(3)?);
            Ok(KeptAside {
                advice: advice(&direction, &code, &table),
                direction: if direction == "push" { Direction::Push } else { Direction::Pull },
                table,
                row_id: r.get(1)?,
                code,
                reason: r.get(4)?,
                first_seen: r.get(5)?,
                last_tried: r.get(6)?,
                attempts: r.get(7)?,
            })
        })
        .map_err(sql_err)?;
    rows.collect::<Result<_, _>>().map_err(sql_err)
}

/// How many rows are kept aside for `user`.
pub fn count(c: &Connection, user: Uuid) -> Result<i64, SyncError> {
    c.query_row("SELECT count(*) FROM sync_quarantine WHERE user_id = ?1", [user.to_string()], |r| r.get(0))
        .map_err(sql_err)
}

/// The pulled rows kept aside for `user`, with their saved states, to apply again.
pub(crate) fn pulled_states(c: &Connection, user: Uuid) -> Result<Vec<(String, Uuid, RowState)>, SyncError> {
    let mut st = c
        .prepare_cached(
            "SELECT table_name, row_id, state FROM sync_quarantine WHERE user_id = ?1 AND direction = 'pull' \
             AND state IS NOT NULL",
        )
        .map_err(sql_err)?;
    let rows = st
        .query_map([user.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for r in rows {
        let (table, id, state) = r.map_err(sql_err)?;
        // A saved state that no longer reads (it cannot happen short of damage) stays where it is.
        if let (Ok(id), Ok(state)) = (Uuid::parse_str(&id), serde_json::from_str::<RowState>(&state)) {
            out.push((table, id, state));
        }
    }
    // Parents first, as a pull applies them.
    out.sort_by_key(|(t, id, _)| (crate::tables::TABLES.iter().position(|x| x.name == t).unwrap_or(usize::MAX), *id));
    Ok(out)
}

/// Trades kept aside because their summaries could not be computed (to try again).
pub(crate) fn recompute_trades(c: &Connection, user: Uuid) -> Result<Vec<Uuid>, SyncError> {
    let mut st = c
        .prepare_cached(
            "SELECT row_id FROM sync_quarantine WHERE user_id = ?1 AND direction = 'pull' AND code = 'recompute'",
        )
        .map_err(sql_err)?;
    let ids = st.query_map([user.to_string()], |r| r.get::<_, String>(0)).map_err(sql_err)?;
    let mut out = Vec::new();
    for id in ids {
        if let Ok(id) = Uuid::parse_str(&id.map_err(sql_err)?) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Queue every pushed row kept aside for `user` again (a `requeue` change-log entry each, parents first),
/// to be tried by the push that follows. Returns how many.
pub(crate) fn requeue_pushed(tx: &Tx<'_>, user: Uuid) -> Result<usize, SyncError> {
    let order: String =
        crate::tables::TABLES.iter().enumerate().map(|(i, t)| format!("WHEN '{}' THEN {i} ", t.name)).collect();
    let n = tx
        .execute(
            &format!(
                "INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes) \
                 SELECT ?3, user_id, table_name, row_id, 'requeue', 1, ?2, NULL FROM sync_quarantine \
                 WHERE user_id = ?1 AND direction = 'push' ORDER BY CASE table_name {order}ELSE 99 END, row_id"
            ),
            rusqlite::params![user.to_string(), tx.hlc, tx.now],
        )
        .map_err(sql_err)?;
    Ok(n)
}
