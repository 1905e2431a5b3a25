//! The device's side of sync bookkeeping: a row's state with its field stamps, and `sync_state`.
//!
//! A row's state is its synced columns as canonical JSON, each with the clock stamp of the write that set
//! it (`sync_field_clock`: one entry per field that has its own stamp, else the row's `*` entry), plus
//! each field's *base*: `None` when the field's value is one the server has (it was pulled, or pushed and
//! acknowledged), otherwise the field holds an edit made here and not yet acknowledged, and the base is
//! the synced stamp that edit replaced (empty for a row created here). The local V8 triggers maintain the
//! base; the merge uses it to tell a real conflict (an unsynced edit meeting a concurrent one) from an
//! ordinary update (an edit made after pulling the other device's value).

use std::collections::BTreeMap;

use rusqlite::OptionalExtension;
use serde_json::Value;
use trenddojo_store::sql::Value as Sql;
use trenddojo_store::{Connection, StoreError, Tx};
use uuid::Uuid;

use crate::convert::from_local;
use crate::hlc::Hlc;
use crate::merge::{Field, RowState};
use crate::plan::plan;
use crate::tables::Table;
use crate::SyncError;

pub(crate) fn sql_err(e: rusqlite::Error) -> SyncError {
    SyncError::Store(StoreError::from(e))
}

/// A row as this device has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRow {
    pub state: RowState,
    /// The user the row belongs to.
    pub owner: Option<Uuid>,
    /// Per field: `None` if synced, else the stamp the unsynced local edit replaced ("" for none).
    pub bases: BTreeMap<String, Option<String>>,
}

impl LocalRow {
    /// The base of `field` (`None`: the field's value is synced).
    pub fn base(&self, field: &str) -> Option<&str> {
        self.bases.get(field).and_then(|b| b.as_deref())
    }
}

/// The local state of a row, or `None` if the row does not exist here.
pub fn local_row(c: &Connection, t: &Table, id: Uuid) -> Result<Option<LocalRow>, SyncError> {
    let plan = plan(t);
    let cols = &plan.cols;
    let row: Option<(Vec<Sql>, bool)> = c
        .prepare_cached(&plan.select)
        .map_err(sql_err)?
        .query_row([id.to_string()], |r| {
            let mut vals = Vec::with_capacity(cols.len());
            for i in 0..cols.len() {
                vals.push(r.get::<_, Sql>(i)?);
            }
            Ok((vals, r.get::<_, i64>(cols.len())? != 0))
        })
        .optional()
        .map_err(sql_err)?;
    let Some((vals, deleted)) = row else { return Ok(None) };
    let mut stamps: BTreeMap<String, (Hlc, Option<String>)> = BTreeMap::new();
    let mut st = c
        .prepare_cached("SELECT field, hlc, base FROM sync_field_clock WHERE table_name = ?1 AND row_id = ?2")
        .map_err(sql_err)?;
    let rows = st
        .query_map([t.name.to_string(), id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<String>>(2)?))
        })
        .map_err(sql_err)?;
    let mut entries = 0usize;
    for r in rows {
        let (f, h, base) = r.map_err(sql_err)?;
        entries += 1;
        if let Ok(h) = Hlc::parse(&h) {
            stamps.insert(f, (h, base));
        }
    }
    let whole = match stamps.get("*") {
        Some(w) => w.clone(),
        // No entry at all: a row created here and neither changed nor acknowledged since (the lazy clock,
        // local V14): every field carries the row's own stamp, unsynced, replacing nothing.
        None if entries == 0 => match row_stamp(cols, &vals) {
            Some(h) => (h, Some(String::new())),
            None => (Hlc::zero(), None),
        },
        None => (Hlc::zero(), None),
    };
    let stamp = |f: &str| stamps.get(f).cloned().unwrap_or_else(|| whole.clone());
    let mut out = LocalRow { state: RowState::default(), owner: None, bases: BTreeMap::new() };
    for (col, v) in cols.iter().zip(vals) {
        let value = from_local(v, col.kind);
        if col.name == "user_id" || (t.name == "users" && col.name == "id") {
            out.owner = value.as_str().and_then(|s| Uuid::parse_str(s).ok());
        }
        let (hlc, base) = stamp(col.name);
        // An unsynced edit carries the stamp it replaced to the server (empty: a row created here).
        let sent_base = base.as_deref().filter(|b| !b.is_empty()).and_then(|b| Hlc::parse(b).ok());
        out.bases.insert(col.name.to_string(), base);
        out.state.fields.insert(col.name.to_string(), Field { value, hlc, base: sent_base });
    }
    if deleted {
        let (hlc, base) = stamp("deleted");
        out.bases.insert("deleted".to_string(), base);
        out.state.deleted = Some(hlc);
    }
    Ok(Some(out))
}

/// The row's `updated_hlc` among its selected values, if it is a valid stamp.
fn row_stamp(cols: &[crate::tables::Column], vals: &[Sql]) -> Option<Hlc> {
    let i = cols.iter().position(|c| c.name == "updated_hlc")?;
    match vals.get(i)? {
        Sql::Text(s) => Hlc::parse(s).ok(),
        _ => None,
    }
}

/// Write the `*` entry a row with no clock entry at all implicitly has (local V14's lazy clock: created
/// here and unchanged since): the row's `updated_hlc` with base '' (unsynced), before a caller adds an
/// entry for one field (with one field's entry and no `*`, every other field would read as stamped zero
/// and synced); or, with `acknowledged` (the newest stamp a push the server confirmed carried), with base
/// NULL (synced) when the row's stamp is no newer.
pub(crate) fn materialize_stamp(tx: &Tx<'_>, t: &Table, id: &str, acknowledged: Option<&Hlc>) -> Result<(), SyncError> {
    let table = t.name;
    tx.prepare_cached(&format!(
        "INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base) \
         SELECT ?1, x.id, '*', x.updated_hlc, CASE WHEN ?3 IS NULL THEN '' END FROM {table} x \
         WHERE x.id = ?2 AND (?3 IS NULL OR x.updated_hlc <= ?3) \
         AND NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = ?1 AND c.row_id = ?2)"
    ))
    .map_err(sql_err)?
    .execute(rusqlite::params![table, id, acknowledged.map(Hlc::as_str)])
    .map_err(sql_err)?;
    Ok(())
}

/// Set the stamp of one field of a row (`*`: every field without one of its own) with its base (`None`:
/// the value is synced).
pub(crate) fn put_stamp(
    tx: &Tx<'_>,
    table: &str,
    id: &str,
    field: &str,
    hlc: &str,
    base: Option<&str>,
) -> Result<(), SyncError> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .map_err(sql_err)?
    .execute(rusqlite::params![table, id, field, hlc, base])
    .map_err(sql_err)?;
    Ok(())
}

/// A field's stamp to write: the field, its stamp and its base.
pub(crate) type StampEntry<'a> = (&'a str, &'a Hlc, Option<&'a str>);

/// Write the field stamps of a row: one `*` entry when every field shares one stamp and base, else one
/// entry per field.
pub(crate) fn write_stamps(tx: &Tx<'_>, table: &str, id: &str, stamps: &[StampEntry<'_>]) -> Result<(), SyncError> {
    let uniform = stamps.windows(2).all(|w| w[0].1 == w[1].1 && w[0].2 == w[1].2);
    match stamps.first() {
        Some((_, h, base)) if uniform => put_stamp(tx, table, id, "*", h.as_str(), *base),
        _ => stamps.iter().try_for_each(|(f, h, base)| put_stamp(tx, table, id, f, h.as_str(), *base)),
    }
}

/// Mark a pushed row's fields synced: the server has them now. Only stamps no newer than what was pushed
/// (an edit made while the push was on the wire stays unsynced).
pub(crate) fn mark_synced(tx: &Tx<'_>, t: &Table, id: Uuid, pushed_up_to: &Hlc) -> Result<(), SyncError> {
    // A row without clock entries (created here, unchanged since) gets its `*` entry now, synced.
    materialize_stamp(tx, t, &id.to_string(), Some(pushed_up_to))?;
    tx.prepare_cached(
        "UPDATE sync_field_clock SET base = NULL WHERE table_name = ?1 AND row_id = ?2 AND base IS NOT NULL \
         AND hlc <= ?3",
    )
    .map_err(sql_err)?
    .execute(rusqlite::params![t.name, id.to_string(), pushed_up_to.as_str()])
    .map_err(sql_err)?;
    Ok(())
}

/// Record something sync did to the user's data as one change-log entry (not a row change, not uploaded):
/// a pull's applied batch, a reset. Returns the entry's number.
pub(crate) fn log_entry(tx: &Tx<'_>, user: Uuid, action: &str, details: &serde_json::Value) -> Result<i64, SyncError> {
    tx.prepare_cached(
        "INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes) \
         VALUES (?1, ?2, '*', '', ?3, 0, ?4, ?5)",
    )
    .map_err(sql_err)?
    .execute(rusqlite::params![tx.now, user.to_string(), action, tx.hlc, details.to_string()])
    .map_err(sql_err)?;
    Ok(tx.last_insert_rowid())
}

// ---- sync_state: one key per user and item ----

pub(crate) fn state_key(user: Uuid, what: &str) -> String {
    format!("{user}.{what}")
}

pub(crate) fn get_state(c: &Connection, key: &str) -> Result<Option<String>, SyncError> {
    c.query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| r.get(0)).optional().map_err(sql_err)
}

pub(crate) fn set_state(c: &Connection, key: &str, value: &str) -> Result<(), SyncError> {
    c.execute(
        "INSERT INTO sync_state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub(crate) fn clear_state(c: &Connection, key: &str) -> Result<(), SyncError> {
    c.execute("DELETE FROM sync_state WHERE key = ?1", [key]).map_err(sql_err)?;
    Ok(())
}

pub(crate) fn get_i64(c: &Connection, key: &str) -> Result<i64, SyncError> {
    Ok(get_state(c, key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// The ranges `(after, up_to]` of server versions above the pull cursor that hold only rows this device
/// pushed as they are here (see the push), ascending. The pull leaves them out.
pub(crate) fn own_versions(c: &Connection, user: Uuid) -> Result<Vec<(i64, i64)>, SyncError> {
    Ok(get_state(c, &state_key(user, "own_versions"))?
        .and_then(|v| serde_json::from_str::<Vec<(i64, i64)>>(&v).ok())
        .unwrap_or_default())
}

pub(crate) fn set_own_versions(tx: &Tx<'_>, user: Uuid, ranges: &[(i64, i64)]) -> Result<(), SyncError> {
    let key = state_key(user, "own_versions");
    if ranges.is_empty() {
        return clear_state(tx, &key);
    }
    let text = serde_json::to_string(ranges).map_err(|e| SyncError::invalid("own_versions", e.to_string()))?;
    set_state(tx, &key, &text)
}

/// Record that versions `(after, up_to]` hold only this device's own rows (see
/// [`crate::decide::absorb_own_range`]).
pub(crate) fn skip_own_versions(tx: &Tx<'_>, user: Uuid, after: i64, up_to: i64) -> Result<(), SyncError> {
    let cursor_key = state_key(user, "cursor");
    let (cursor, rest) =
        crate::decide::absorb_own_range(get_i64(tx, &cursor_key)?, own_versions(tx, user)?, (after, up_to));
    set_state(tx, &cursor_key, &cursor.to_string())?;
    set_own_versions(tx, user, &rest)
}

/// A local value as canonical JSON, for callers outside the engine (the conflict log's restore).
pub fn json_of(v: Sql, kind: crate::tables::Kind) -> Value {
    from_local(v, kind)
}
