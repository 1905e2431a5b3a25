//! The device half of a sync round: push the outbox, then pull what changed, against the server as the
//! signed-in user.
//!
//! Push: the outbox entries after the acknowledged mark that belong to the user become mutations (the
//! row's current values with each field's stamp from `sync_field_clock`), numbered by outbox `seq`, sent in
//! batches of [`BATCH`]. After the server commits a batch, one local transaction deletes those entries and
//! records the new mark. A crash in between leaves the entries; the next push is recognised as a
//! duplicate by the server and acknowledged without being applied twice.
//!
//! Pull: every synced table's rows with `server_seq` above the cursor, parents first, read in one server
//! snapshot and applied in local transactions of [`PULL_CHUNK`] rows, the last of which moves the cursor:
//! each row is merged field by field with the local copy (a local edit not yet pushed keeps its value if
//! its stamp is newer), the field stamps are set to the merged ones, the outbox and clock triggers are
//! held off by the `sync_apply_guard` row (a pulled row is not a local edit), and every replaced value
//! that involved one of this device's own edits is logged in `sync_conflicts`. The device's clock then
//! observes the newest stamp it received.

use std::collections::BTreeMap;

use rusqlite::OptionalExtension;
use serde_json::Value;
use tokio_postgres::Client;
use trenddojo_store::sql::Value as Sql;
use trenddojo_store::{Connection, Store, StoreError, Tx};
use uuid::Uuid;

use crate::convert::server_state;
use crate::hlc::Hlc;
use crate::merge::{merge, Field, RowState};
use crate::push::{push_batch, Mutation, RowConflict};
use crate::tables::{Column, Kind, Table, TABLES};
use crate::SyncError;

/// Recomputes derived data for the trades whose rows or executions a pull brought, inside the pull's
/// transaction (the core API supplies it: the summary rules live there).
pub type Refresh = dyn Fn(&Tx<'_>, &[Uuid]) -> Result<(), SyncError>;

/// Fault injection for the crash tests: when `TRENDDOJO_SYNC_CRASH_AT` names this point, the process
/// aborts on the spot (no destructors, no rollback by us: as close to `kill -9` as a process can do to
/// itself). Unset in normal use, where this is one environment lookup per step.
fn crash_point(name: &str) {
    if std::env::var("TRENDDOJO_SYNC_CRASH_AT").is_ok_and(|v| v == name) {
        eprintln!("sync: simulated crash at {name}");
        std::process::abort();
    }
}

/// Rows per pushed batch.
pub const BATCH: usize = 500;

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// The server user the round ran as.
    pub user: Uuid,
    pub pushed: usize,
    pub duplicates: usize,
    pub pulled: usize,
    pub conflicts: usize,
    pub acknowledged: i64,
    pub cursor: i64,
}

fn store_err(e: StoreError) -> SyncError {
    SyncError::Store(e)
}

fn sql_err(e: rusqlite::Error) -> SyncError {
    store_err(StoreError::from(e))
}

fn state_key(user: Uuid, what: &str) -> String {
    format!("{user}.{what}")
}

fn get_state(c: &Connection, key: &str) -> Result<Option<String>, SyncError> {
    c.query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| r.get(0)).optional().map_err(sql_err)
}

fn set_state(c: &Connection, key: &str, value: &str) -> Result<(), SyncError> {
    c.execute(
        "INSERT INTO sync_state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
    .map_err(sql_err)?;
    Ok(())
}

fn get_i64(c: &Connection, key: &str) -> Result<i64, SyncError> {
    Ok(get_state(c, key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// This device's sync id: the store's device id (a UUID), stable for the life of the store.
pub fn device_uuid(store: &Store) -> Result<Uuid, SyncError> {
    Uuid::parse_str(store.device_id())
        .map_err(|_| SyncError::Invalid { field: "device".into(), message: "the store has no device id".into() })
}

/// The device part of this device's clock stamps (to tell its own edits from others').
fn stamp_device(store: &Store) -> String {
    trenddojo_store::clock::stamp_device(store.device_id())
}

/// A local column as canonical JSON.
fn from_local(v: Sql, kind: Kind) -> Value {
    match (v, kind) {
        (Sql::Null, _) => Value::Null,
        (Sql::Integer(i), Kind::Bool) => Value::Bool(i != 0),
        (Sql::Integer(i), _) => Value::from(i),
        (Sql::Blob(b), _) => Value::String(hex_encode(&b)),
        (Sql::Text(t), _) => Value::String(t),
        (Sql::Real(_), _) => Value::Null, // no synced column is REAL (floats are banned on money paths)
    }
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Canonical JSON as a local column value.
pub fn to_local(v: &Value, kind: Kind) -> Sql {
    match (v, kind) {
        (Value::Null, _) => Sql::Null,
        (Value::Bool(b), _) => Sql::Integer(i64::from(*b)),
        (Value::Number(n), _) => n.as_i64().map_or(Sql::Null, Sql::Integer),
        (Value::String(s), Kind::Bytes) => {
            Sql::Blob((0..s.len() / 2).filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()).collect())
        }
        (Value::String(s), _) => Sql::Text(s.clone()),
        (other, _) => Sql::Text(other.to_string()),
    }
}

fn columns(t: &Table) -> Vec<Column> {
    t.all_columns().into_iter().filter(|c| c.name != "deleted").collect()
}

/// The local state of a row: values and field stamps. `None` if the row does not exist here.
fn local_state(c: &Connection, t: &Table, id: Uuid) -> Result<Option<(RowState, Option<Uuid>)>, SyncError> {
    let cols = columns(t);
    let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
    let sql = format!("SELECT {}, deleted FROM {} WHERE id = ?1", names.join(", "), t.name);
    let row: Option<(Vec<Sql>, bool)> = c
        .prepare_cached(&sql)
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
    let mut stamps: BTreeMap<String, Hlc> = BTreeMap::new();
    let mut st = c
        .prepare_cached("SELECT field, hlc FROM sync_field_clock WHERE table_name = ?1 AND row_id = ?2")
        .map_err(sql_err)?;
    let rows = st
        .query_map([t.name.to_string(), id.to_string()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(sql_err)?;
    for r in rows {
        let (f, h) = r.map_err(sql_err)?;
        if let Ok(h) = Hlc::parse(&h) {
            stamps.insert(f, h);
        }
    }
    let whole = stamps.get("*").cloned().unwrap_or_else(Hlc::zero);
    let stamp = |f: &str| stamps.get(f).cloned().unwrap_or_else(|| whole.clone());
    let mut state = RowState::default();
    let mut owner = None;
    for (col, v) in cols.iter().zip(vals) {
        let value = from_local(v, col.kind);
        if col.name == "user_id" || (t.name == "users" && col.name == "id") {
            owner = value.as_str().and_then(|s| Uuid::parse_str(s).ok());
        }
        state.fields.insert(col.name.to_string(), Field { value, hlc: stamp(col.name) });
    }
    if deleted {
        state.deleted = Some(stamp("deleted"));
    }
    Ok(Some((state, owner)))
}

/// How many local changes of `user` wait to be pushed (entries of other local users are not counted:
/// they go out when that user syncs).
pub fn pending(store: &Store, user: Uuid) -> Result<usize, SyncError> {
    store.read(|c| {
        let after = get_i64(c, &state_key(user, "acknowledged"))?;
        let mut st = c.prepare("SELECT table_name, row_id FROM sync_outbox WHERE seq > ?1").map_err(sql_err)?;
        let entries: Vec<(String, String)> = st
            .query_map([after], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(sql_err)?
            .collect::<Result<_, _>>()
            .map_err(sql_err)?;
        let mut n = 0;
        for (table, row) in entries {
            let (Some(t), Ok(id)) = (TABLES.iter().find(|t| t.name == table), Uuid::parse_str(&row)) else { continue };
            if local_state(c, t, id)?.is_some_and(|(_, owner)| owner == Some(user)) {
                n += 1;
            }
        }
        Ok(n)
    })
}

/// Push every pending local change of `user`, in batches.
async fn push(store: &Store, client: &mut Client, user: Uuid, report: &mut Report) -> Result<(), SyncError> {
    let device = device_uuid(store)?;
    let acked_key = state_key(user, "acknowledged");
    loop {
        let (after, read, seqs, mutations) = store.read(|c| {
            let after = get_i64(c, &acked_key)?;
            let mut st = c
                .prepare("SELECT seq, table_name, row_id FROM sync_outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                .map_err(sql_err)?;
            let entries: Vec<(i64, String, String)> = st
                .query_map(rusqlite::params![after, BATCH as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(sql_err)?
                .collect::<Result<_, _>>()
                .map_err(sql_err)?;
            // One mutation per row, numbered by the row's newest entry (a mutation carries the row's
            // current state, so older entries of the same row add nothing); every entry of the user's
            // rows is acknowledged with it.
            let read = entries.len();
            let mut newest: BTreeMap<(String, Uuid), i64> = BTreeMap::new();
            let mut known = Vec::new();
            for (seq, table, row) in entries {
                let (Some(_), Ok(id)) = (TABLES.iter().find(|t| t.name == table), Uuid::parse_str(&row)) else {
                    continue;
                };
                newest.insert((table.clone(), id), seq);
                known.push((seq, table, id));
            }
            let mut mutations = Vec::new();
            for ((table, id), seq) in newest {
                let t = TABLES.iter().find(|t| t.name == table).expect("checked above");
                if let Some((state, owner)) = local_state(c, t, id)? {
                    if owner == Some(user) {
                        mutations.push(Mutation { number: seq, table, id, row: state });
                    }
                }
            }
            mutations.sort_by_key(|m| m.number);
            let pushed: std::collections::HashSet<(&str, Uuid)> =
                mutations.iter().map(|m| (m.table.as_str(), m.id)).collect();
            // Only the entries read above: a change made since then has an entry of its own that stays.
            let seqs: Vec<i64> = known
                .iter()
                .filter(|(_, table, id)| pushed.contains(&(table.as_str(), *id)))
                .map(|(seq, _, _)| *seq)
                .collect();
            Ok::<_, SyncError>((after, read, seqs, mutations))
        })?;
        if mutations.is_empty() {
            report.acknowledged = after;
            return Ok(());
        }
        // Entries of this round that were skipped (other users' rows) stay; the mark moves past the last
        // pushed one only.
        let last = mutations.last().map(|m| m.number).unwrap_or(after);
        crash_point("push:before-send");
        let out = push_batch(client, device, after, &mutations).await?;
        crash_point("push:after-server-commit");
        let mine = stamp_device(store);
        let logged = store.write(|tx| {
            let mut delete = tx.prepare_cached("DELETE FROM sync_outbox WHERE seq = ?1").map_err(sql_err)?;
            for seq in &seqs {
                delete.execute([seq]).map_err(sql_err)?;
            }
            set_state(tx, &acked_key, &last.to_string())?;
            // Nobody else wrote between our last pull and this batch: what the batch wrote is what we
            // have, so the pull cursor moves past it instead of downloading it back.
            let cursor_key = state_key(user, "cursor");
            if get_i64(tx, &cursor_key)? == out.version_before
                && u64::try_from(out.version_after - out.version_before).ok() == Some(out.written)
            {
                set_state(tx, &cursor_key, &out.version_after.to_string())?;
            }
            log_conflicts(tx, &out.conflicts, &mine)
        })?;
        crash_point("push:after-local-ack");
        report.pushed += out.applied;
        report.duplicates += out.duplicates;
        report.conflicts += logged;
        report.acknowledged = last;
        if read < BATCH {
            return Ok(());
        }
    }
}

fn involves(o: &crate::merge::Overridden, mine: &str) -> bool {
    o.lost.hlc.device() == mine || o.kept.hlc.device() == mine
}

/// Log one overridden value, once: the same loss is seen by the push (the server's merge) and again by
/// the pull that brings the winner down.
fn log_conflict(tx: &Tx<'_>, table: &str, id: Uuid, o: &crate::merge::Overridden) -> Result<bool, SyncError> {
    if crate::tables::edited_column(table, &o.field).is_none() {
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

fn log_conflicts(tx: &Tx<'_>, conflicts: &[RowConflict], mine: &str) -> Result<usize, SyncError> {
    let mut n = 0;
    for c in conflicts.iter().filter(|c| involves(&c.overridden, mine)) {
        n += usize::from(log_conflict(tx, &c.table, c.id, &c.overridden)?);
    }
    Ok(n)
}

/// A pulled row: its table, id and state.
struct Pulled {
    table: &'static Table,
    id: Uuid,
    state: RowState,
}

/// The SELECT that reads a table's changed rows: the synced columns, the tombstone and the field stamps,
/// in version order.
fn pull_sql(t: &Table) -> String {
    let names: Vec<&str> = columns(t).iter().map(|c| c.name).collect();
    format!(
        "SELECT {}, deleted, field_hlcs FROM trenddojo.{} WHERE server_seq > $1 ORDER BY server_seq",
        names.join(", "),
        t.name
    )
}

fn pulled(t: &'static Table, cols: &[Column], row: &tokio_postgres::Row) -> Result<Pulled, SyncError> {
    let (id, state) = server_state(row, cols)?;
    let id = id.ok_or_else(|| SyncError::Invalid { field: format!("{}.id", t.name), message: "missing".into() })?;
    Ok(Pulled { table: t, id, state })
}

fn apply_pulled(tx: &Tx<'_>, p: &Pulled, mine: &str, conflicts: &mut usize) -> Result<(), SyncError> {
    let t = p.table;
    let cols = columns(t);
    let local = local_state(tx, t, p.id)?.map(|(s, _)| s);
    let merged = match &local {
        Some(l) => merge(l, &p.state),
        None => merge(&RowState::default(), &p.state),
    };
    for o in merged.overridden.iter().filter(|o| involves(o, mine)) {
        *conflicts += usize::from(log_conflict(tx, t.name, p.id, o)?);
    }
    let row = merged.row;
    if local.as_ref() == Some(&row) {
        // Already here, value for value and stamp for stamp (typically this device's own push coming back).
        return Ok(());
    }
    let value = |c: &Column| to_local(row.fields.get(c.name).map(|f| &f.value).unwrap_or(&Value::Null), c.kind);
    let deleted = Sql::Integer(i64::from(row.deleted.is_some()));
    match &local {
        None => {
            let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
            let mut vals: Vec<Sql> = cols.iter().map(value).collect();
            vals.push(deleted);
            let marks: Vec<String> = (1..=vals.len()).map(|i| format!("?{i}")).collect();
            let sql = format!("INSERT INTO {} ({}, deleted) VALUES ({})", t.name, names.join(", "), marks.join(", "));
            tx.prepare_cached(&sql).map_err(sql_err)?.execute(rusqlite::params_from_iter(vals)).map_err(sql_err)?;
        }
        Some(_) => {
            let mut sets = Vec::new();
            let mut vals: Vec<Sql> = vec![Sql::Text(p.id.to_string())];
            for c in cols.iter().filter(|c| c.name != "id") {
                vals.push(value(c));
                sets.push(format!("{} = ?{}", c.name, vals.len()));
            }
            vals.push(deleted);
            sets.push(format!("deleted = ?{}", vals.len()));
            let sql = format!("UPDATE {} SET {} WHERE id = ?1", t.name, sets.join(", "));
            tx.prepare_cached(&sql).map_err(sql_err)?.execute(rusqlite::params_from_iter(vals)).map_err(sql_err)?;
        }
    }
    // The stamps are the merged ones: one '*' entry when every field has the same stamp (a row written in
    // one go, the usual case), else one entry per field.
    if local.is_some() {
        tx.prepare_cached("DELETE FROM sync_field_clock WHERE table_name = ?1 AND row_id = ?2")
            .map_err(sql_err)?
            .execute([t.name.to_string(), p.id.to_string()])
            .map_err(sql_err)?;
    }
    let mut stamps: Vec<(String, String)> = row.fields.iter().map(|(f, v)| (f.clone(), v.hlc.to_string())).collect();
    if let Some(d) = &row.deleted {
        stamps.push(("deleted".into(), d.to_string()));
    }
    let uniform = stamps.windows(2).all(|w| w[0].1 == w[1].1);
    if uniform {
        if let Some((_, h)) = stamps.first().cloned() {
            stamps = vec![("*".to_string(), h)];
        }
    }
    let mut insert = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(sql_err)?;
    for (f, h) in stamps {
        insert.execute(rusqlite::params![t.name, p.id.to_string(), f, h]).map_err(sql_err)?;
    }
    Ok(())
}

/// Rows per local transaction of a pull. Small enough that one chunk (merge, write, recompute the trades
/// it touched) holds the store's writer well under 100 ms, so the app's own writes never wait longer
/// (measured: 2,000-row chunks held it up to ~280 ms); large enough that the per-transaction cost (a WAL
/// commit) stays small.
pub const PULL_CHUNK: usize = 500;

/// Apply pulled rows in one local transaction, with the outbox and clock triggers off (the guard row).
/// `finish` (cursor key and the version the pull reached) is given for the last chunk only: it moves the
/// cursor in the same transaction. `refresh` recomputes the trades whose rows or executions arrived.
/// Apply pulled rows inside `tx` with the outbox and clock triggers held off (the guard row), then
/// recompute the trades whose rows or executions arrived.
fn apply_rows(
    tx: &Tx<'_>,
    rows: &[Pulled],
    mine: &str,
    refresh: &Refresh,
    conflicts: &mut usize,
) -> Result<(), SyncError> {
    tx.execute("INSERT INTO sync_apply_guard (one) VALUES (1)", []).map_err(sql_err)?;
    let mut trades = Vec::new();
    for p in rows {
        apply_pulled(tx, p, mine, conflicts)?;
        match p.table.name {
            "trades" => trades.push(p.id),
            "executions" => {
                if let Some(t) =
                    p.state.fields.get("trade_id").and_then(|f| f.value.as_str()).and_then(|s| Uuid::parse_str(s).ok())
                {
                    trades.push(t);
                }
            }
            _ => {}
        }
    }
    trades.sort();
    trades.dedup();
    refresh(tx, &trades)?;
    tx.execute("DELETE FROM sync_apply_guard", []).map_err(sql_err)?;
    Ok(())
}

/// Let the device's clock see the newest stamp among pulled rows.
fn observe_newest(store: &Store, rows: &[Pulled]) {
    if let Some(h) = rows.iter().flat_map(|r| r.state.fields.values().map(|f| &f.hlc)).max() {
        store.observe_clock(h.as_str());
    }
}

/// Apply pulled rows in one local transaction ([`apply_rows`]). `finish` (cursor key and the version the
/// pull reached) is given for the last chunk only: it moves the cursor in the same transaction.
fn apply_chunk(
    store: &Store,
    rows: &[Pulled],
    finish: Option<(&str, i64)>,
    refresh: &Refresh,
    conflicts: &mut usize,
) -> Result<(), SyncError> {
    let mine = stamp_device(store);
    store.write(|tx| {
        apply_rows(tx, rows, &mine, refresh, conflicts)?;
        if let Some((key, version)) = finish {
            set_state(tx, key, &version.to_string())?;
            crash_point("pull:before-local-commit");
        }
        Ok::<_, SyncError>(())
    })?;
    observe_newest(store, rows);
    Ok(())
}

/// A read-only REPEATABLE READ transaction on the server and the user's change version in its snapshot:
/// the snapshot holds exactly the user's versions up to that one (writers of one user commit in version
/// order, see server V5).
async fn snapshot(client: &mut Client) -> Result<(tokio_postgres::Transaction<'_>, i64), SyncError> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let version: i64 = tx.query_one("SELECT coalesce(max(version), 0) FROM trenddojo.user_versions", &[]).await?.get(0);
    Ok((tx, version))
}

/// Pull everything after the cursor. The server side is one read-only REPEATABLE READ transaction: its
/// snapshot holds exactly the user's versions up to the counter it shows (writers of one user commit in
/// version order, see server V5), so the pull reaches that version with no gap. Tables are read parents
/// first through portals, [`PULL_CHUNK`] rows at a time, and applied a chunk per local transaction; the
/// last one also moves the cursor. A pull that fits in one chunk (the usual case) is one local
/// transaction. A larger one (a first download) shows its progress chunk by chunk; if it is cut off, the
/// cursor has not moved and the next pull applies the same rows again, which the per-field merge makes a
/// no-op for the chunks already in.
async fn pull(
    store: &Store,
    client: &mut Client,
    user: Uuid,
    refresh: &Refresh,
    report: &mut Report,
) -> Result<(), SyncError> {
    let cursor_key = state_key(user, "cursor");
    let cursor = store.read(|c| get_i64(c, &cursor_key))?;
    let (tx, target) = snapshot(client).await?;
    let mut conflicts = 0;
    let mut chunk: Vec<Pulled> = Vec::new();
    let mut pulled_rows = 0;
    if target > cursor {
        for t in TABLES {
            let cols = columns(t);
            let stmt = tx.prepare(&pull_sql(t)).await?;
            let portal = tx.bind(&stmt, &[&cursor]).await?;
            loop {
                let rows = tx.query_portal(&portal, PULL_CHUNK as i32).await?;
                let n = rows.len();
                for row in &rows {
                    chunk.push(pulled(t, &cols, row)?);
                }
                if chunk.len() >= PULL_CHUNK {
                    apply_chunk(store, &chunk, None, refresh, &mut conflicts)?;
                    pulled_rows += chunk.len();
                    chunk.clear();
                }
                if n < PULL_CHUNK {
                    break;
                }
            }
        }
    }
    tx.commit().await?;
    crash_point("pull:after-fetch");
    let reached = target.max(cursor);
    apply_chunk(store, &chunk, Some((&cursor_key, reached)), refresh, &mut conflicts)?;
    pulled_rows += chunk.len();
    crash_point("pull:after-local-commit");
    report.pulled += pulled_rows;
    report.conflicts += conflicts;
    report.cursor = reached;
    Ok(())
}

/// Record a round's outcome for `sync status`: the time of the last success, or the time and message of
/// the last error (kept after a later success, so the status can say what went wrong last and when).
pub fn record_outcome(store: &Store, user: Uuid, outcome: Result<&Report, &SyncError>) -> Result<(), SyncError> {
    store.write(|tx| {
        match outcome {
            Ok(_) => set_state(tx, &state_key(user, "last_success"), &tx.now)?,
            Err(e) => {
                set_state(tx, &state_key(user, "last_error_at"), &tx.now)?;
                set_state(tx, &state_key(user, "last_error"), &e.to_string())?;
            }
        }
        Ok::<_, SyncError>(())
    })
}

/// A text entry of the device's sync bookkeeping for `user` (`last_success`, `last_error`, ...).
pub fn state_text(store: &Store, user: Uuid, what: &str) -> Result<Option<String>, SyncError> {
    store.read(|c| get_state(c, &state_key(user, what)))
}

/// The oldest server schema this engine can sync with (V8 answers `schema_version()`).
pub const MIN_SERVER_SCHEMA: u32 = 8;

/// Check the server's schema version before any exchange.
pub async fn check_server_schema(client: &Client) -> Result<u32, SyncError> {
    let found = match client.query_one("SELECT trenddojo.schema_version()", &[]).await {
        Ok(row) => u32::try_from(row.get::<_, i32>(0)).unwrap_or(0),
        // 42883: the function does not exist yet (a server from before V8).
        Err(e) if e.code().map(|c| c.code()) == Some("42883") => 0,
        Err(e) => return Err(e.into()),
    };
    let known = trenddojo_server::migrations::latest_version();
    if found > known {
        return Err(SyncError::NewerServer { found, known });
    }
    if found < MIN_SERVER_SCHEMA {
        return Err(SyncError::OlderServer { found, needed: MIN_SERVER_SCHEMA });
    }
    Ok(found)
}

/// The TrendDojo user the connection is signed in as.
pub async fn server_user(client: &Client) -> Result<Uuid, SyncError> {
    client.query_one("SELECT trenddojo.app_uid()", &[]).await?.get::<_, Option<Uuid>>(0).ok_or_else(|| {
        SyncError::Invalid { field: "server".into(), message: "this login is not a TrendDojo user".into() }
    })
}

/// Replace this device's copy of the signed-in user's synced data with the server's, in one local
/// transaction: every synced row of the user is deleted (children first) together with its field stamps
/// and outbox entries, the server's rows (one snapshot) are written in their place, derived trade data is
/// recomputed and the cursor set to the snapshot's version. Local changes not yet pushed are dropped: the
/// caller confirms that first. Other users' rows in the same store are untouched.
pub async fn reset(store: &Store, client: &mut Client, refresh: &Refresh) -> Result<Report, SyncError> {
    check_server_schema(client).await?;
    let user = server_user(client).await?;
    let (tx, target) = snapshot(client).await?;
    let mut rows = Vec::new();
    for t in TABLES {
        let cols = columns(t);
        for row in tx.query(&pull_sql(t), &[&0i64]).await? {
            rows.push(pulled(t, &cols, &row)?);
        }
    }
    tx.commit().await?;
    let mine = stamp_device(store);
    let uid = user.to_string();
    let mut conflicts = 0;
    store.write(|tx| {
        // The local-only running totals of the user's accounts go too; the refresh below rebuilds them.
        tx.execute(
            "DELETE FROM account_summaries WHERE account_id IN (SELECT id FROM accounts WHERE user_id = ?1)",
            [uid.as_str()],
        )
        .map_err(sql_err)?;
        for t in TABLES.iter().rev() {
            let owner = if t.name == "users" { "id" } else { "user_id" };
            let mine_rows = format!("SELECT id FROM {} WHERE {owner} = ?2", t.name);
            tx.execute(
                &format!("DELETE FROM sync_field_clock WHERE table_name = ?1 AND row_id IN ({mine_rows})"),
                [t.name, uid.as_str()],
            )
            .map_err(sql_err)?;
            tx.execute(
                &format!("DELETE FROM sync_outbox WHERE table_name = ?1 AND row_id IN ({mine_rows})"),
                [t.name, uid.as_str()],
            )
            .map_err(sql_err)?;
            // The user row stays (the store's sign-in refers to it); with its stamps gone, the server's
            // values win every field below.
            if t.name != "users" {
                tx.execute(&format!("DELETE FROM {} WHERE user_id = ?1", t.name), [uid.as_str()]).map_err(sql_err)?;
            }
        }
        apply_rows(tx, &rows, &mine, refresh, &mut conflicts)?;
        set_state(tx, &state_key(user, "cursor"), &target.to_string())?;
        Ok::<_, SyncError>(())
    })?;
    observe_newest(store, &rows);
    Ok(Report { user, pulled: rows.len(), cursor: target, ..Report::default() })
}

/// One sync round for the store's user that the server connection is signed in as: push, then pull.
pub async fn sync_once(store: &Store, client: &mut Client, refresh: &Refresh) -> Result<Report, SyncError> {
    check_server_schema(client).await?;
    let user = server_user(client).await?;
    // A store that does not have the user yet (a new device) gets it, with its data, from the pull.
    let mut report = Report { user, ..Report::default() };
    push(store, client, user, &mut report).await?;
    pull(store, client, user, refresh, &mut report).await?;
    Ok(report)
}
