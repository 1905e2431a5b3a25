//! The device half of a sync round: push the outbox, then pull what changed, against the server as the
//! signed-in user.
//!
//! Push: the outbox entries after the acknowledged mark that belong to the user become mutations (the
//! row's current values with each field's stamp from `sync_field_clock`), numbered by outbox `seq`, sent in
//! batches of [`BATCH`]. After the server commits a batch, one local transaction deletes those entries and
//! records the new mark. A crash in between leaves the entries; the next push is recognised as a
//! duplicate by the server and acknowledged without being applied twice.
//!
//! Pull: every synced table's rows with `server_seq` above the cursor, parents first, applied in one local
//! transaction that also moves the cursor: each row is merged field by field with the local copy (a local
//! edit not yet pushed keeps its value if its stamp is newer), the field stamps are set to the merged
//! ones, the outbox entries the apply itself caused are removed (they are not local edits), and every
//! replaced value that involved one of this device's own edits is logged in `sync_conflicts`. Finally the
//! device's clock observes the newest stamp it received.

use std::collections::BTreeMap;

use rusqlite::OptionalExtension;
use serde_json::Value;
use tokio_postgres::Client;
use trenddojo_store::sql::Value as Sql;
use trenddojo_store::{Connection, Store, StoreError, Tx};
use uuid::Uuid;

use crate::convert::from_pg;
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

/// The prefix this device puts in its clock stamps (to tell its own edits from others').
fn stamp_device(store: &Store) -> String {
    store.device_id().chars().take(12).collect()
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
fn to_local(v: &Value, kind: Kind) -> Sql {
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
        let (after, batch) = store.read(|c| {
            let after = get_i64(c, &acked_key)?;
            let mut st = c
                .prepare("SELECT seq, table_name, row_id FROM sync_outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                .map_err(sql_err)?;
            let entries: Vec<(i64, String, String)> = st
                .query_map(rusqlite::params![after, BATCH as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(sql_err)?
                .collect::<Result<_, _>>()
                .map_err(sql_err)?;
            let mut batch = Vec::new();
            for (seq, table, row) in entries {
                let (Some(t), Ok(id)) = (TABLES.iter().find(|t| t.name == table), Uuid::parse_str(&row)) else {
                    continue;
                };
                if let Some((state, owner)) = local_state(c, t, id)? {
                    if owner == Some(user) {
                        batch.push((seq, Mutation { number: seq, table, id, row: state }));
                    }
                }
            }
            Ok::<_, SyncError>((after, batch))
        })?;
        if batch.is_empty() {
            report.acknowledged = after;
            return Ok(());
        }
        // Entries of this round that were skipped (other users' rows) stay; the mark moves past the last
        // pushed one only.
        let mutations: Vec<Mutation> = batch.iter().map(|(_, m)| m.clone()).collect();
        let last = batch.last().map(|(s, _)| *s).unwrap_or(after);
        crash_point("push:before-send");
        let t_send = std::time::Instant::now();
        let out = push_batch(client, device, after, &mutations).await?;
        if std::env::var_os("TRENDDOJO_SYNC_TRACE").is_some() {
            eprintln!("trace: push_batch {} rows {:?}", mutations.len(), t_send.elapsed());
        }
        crash_point("push:after-server-commit");
        let mine = stamp_device(store);
        store.write(|tx| {
            for (seq, _) in &batch {
                tx.execute("DELETE FROM sync_outbox WHERE seq = ?1", [seq]).map_err(|e| store_err(e.into()))?;
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
            log_conflicts(tx, &out.conflicts, &mine)?;
            Ok::<_, SyncError>(())
        })?;
        crash_point("push:after-local-ack");
        report.pushed += out.applied;
        report.duplicates += out.duplicates;
        report.conflicts += out.conflicts.iter().filter(|c| involves(&c.overridden, &mine)).count();
        report.acknowledged = last;
        if batch.len() < BATCH {
            return Ok(());
        }
    }
}

fn involves(o: &crate::merge::Overridden, mine: &str) -> bool {
    o.lost.hlc.device() == mine || o.kept.hlc.device() == mine
}

fn log_conflicts(tx: &Tx<'_>, conflicts: &[RowConflict], mine: &str) -> Result<(), SyncError> {
    for c in conflicts.iter().filter(|c| involves(&c.overridden, mine)) {
        let o = &c.overridden;
        tx.execute(
            "INSERT INTO sync_conflicts (seen_at, table_name, row_id, field, kept_value, kept_hlc, lost_value, lost_hlc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                tx.now,
                c.table,
                c.id.to_string(),
                o.field,
                o.kept.value.to_string(),
                o.kept.hlc.to_string(),
                o.lost.value.to_string(),
                o.lost.hlc.to_string()
            ],
        )
        .map_err(sql_err)?;
    }
    Ok(())
}

/// A pulled row: its table, id, state and server version.
struct Pulled {
    table: &'static Table,
    id: Uuid,
    state: RowState,
    version: i64,
}

async fn fetch(client: &Client, cursor: i64) -> Result<Vec<Pulled>, SyncError> {
    let mut out = Vec::new();
    for t in TABLES {
        let cols = columns(t);
        let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
        let sql = format!(
            "SELECT {}, deleted, field_hlcs, server_seq FROM trenddojo.{} WHERE server_seq > $1 ORDER BY server_seq",
            names.join(", "),
            t.name
        );
        for row in client.query(&sql, &[&cursor]).await? {
            let stamps: Value = row.try_get(cols.len() + 1)?;
            let stamp = |f: &str| {
                stamps.get(f).and_then(Value::as_str).and_then(|s| Hlc::parse(s).ok()).unwrap_or_else(Hlc::zero)
            };
            let mut state = RowState::default();
            let mut id = None;
            for (i, c) in cols.iter().enumerate() {
                let value = from_pg(&row, i, c.kind)?;
                if c.name == "id" {
                    id = value.as_str().and_then(|s| Uuid::parse_str(s).ok());
                }
                state.fields.insert(c.name.to_string(), Field { value, hlc: stamp(c.name) });
            }
            if row.try_get::<_, bool>(cols.len())? {
                state.deleted = Some(stamp("deleted"));
            }
            let id =
                id.ok_or_else(|| SyncError::Invalid { field: format!("{}.id", t.name), message: "missing".into() })?;
            out.push(Pulled { table: t, id, state, version: row.try_get(cols.len() + 2)? });
        }
    }
    Ok(out)
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
        *conflicts += 1;
        tx.execute(
            "INSERT INTO sync_conflicts (seen_at, table_name, row_id, field, kept_value, kept_hlc, lost_value, lost_hlc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                tx.now,
                t.name,
                p.id.to_string(),
                o.field,
                o.kept.value.to_string(),
                o.kept.hlc.to_string(),
                o.lost.value.to_string(),
                o.lost.hlc.to_string()
            ],
        )
        .map_err(sql_err)?;
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
    tx.prepare_cached("DELETE FROM sync_field_clock WHERE table_name = ?1 AND row_id = ?2")
        .map_err(sql_err)?
        .execute([t.name.to_string(), p.id.to_string()])
        .map_err(sql_err)?;
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
        .prepare_cached("INSERT INTO sync_field_clock (table_name, row_id, field, hlc) VALUES (?1, ?2, ?3, ?4)")
        .map_err(sql_err)?;
    for (f, h) in stamps {
        insert.execute(rusqlite::params![t.name, p.id.to_string(), f, h]).map_err(sql_err)?;
    }
    Ok(())
}

/// Pull everything after the cursor and apply it in one local transaction. `refresh` runs inside that
/// transaction with the ids of trades whose executions or summary arrived, so derived data (a trade's
/// summary, an account's totals) is recomputed before the transaction commits.
async fn pull(
    store: &Store,
    client: &Client,
    user: Uuid,
    refresh: &Refresh,
    report: &mut Report,
) -> Result<(), SyncError> {
    let cursor_key = state_key(user, "cursor");
    let cursor = store.read(|c| get_i64(c, &cursor_key))?;
    let trace = std::env::var_os("TRENDDOJO_SYNC_TRACE").is_some();
    let t_fetch = std::time::Instant::now();
    let rows = fetch(client, cursor).await?;
    if trace {
        eprintln!("trace: fetch {} rows {:?}", rows.len(), t_fetch.elapsed());
    }
    let t_apply = std::time::Instant::now();
    crash_point("pull:after-fetch");
    let new_cursor = rows.iter().map(|r| r.version).max().unwrap_or(cursor);
    let newest = rows.iter().flat_map(|r| r.state.fields.values().map(|f| f.hlc.clone())).max();
    let mine = stamp_device(store);
    let mut conflicts = 0;
    store.write(|tx| {
        let before: i64 =
            tx.query_row("SELECT coalesce(max(seq), 0) FROM sync_outbox", [], |r| r.get(0)).map_err(sql_err)?;
        let mut trades = Vec::new();
        for p in &rows {
            apply_pulled(tx, p, &mine, &mut conflicts)?;
            match p.table.name {
                "trades" => trades.push(p.id),
                "executions" => {
                    if let Some(t) = p
                        .state
                        .fields
                        .get("trade_id")
                        .and_then(|f| f.value.as_str())
                        .and_then(|s| Uuid::parse_str(s).ok())
                    {
                        trades.push(t);
                    }
                }
                _ => {}
            }
        }
        trades.sort();
        trades.dedup();
        if trace {
            eprintln!("trace: apply {:?}", t_apply.elapsed());
        }
        let t_refresh = std::time::Instant::now();
        refresh(tx, &trades)?;
        if trace {
            eprintln!("trace: refresh {} trades {:?}", trades.len(), t_refresh.elapsed());
        }
        // What this transaction wrote came from the server: it is not a local change to push back.
        tx.execute("DELETE FROM sync_outbox WHERE seq > ?1", [before]).map_err(sql_err)?;
        set_state(tx, &cursor_key, &new_cursor.to_string())?;
        crash_point("pull:before-local-commit");
        Ok::<_, SyncError>(())
    })?;
    crash_point("pull:after-local-commit");
    if let Some(h) = newest {
        store.observe_clock(h.as_str());
    }
    report.pulled += rows.len();
    report.conflicts += conflicts;
    report.cursor = new_cursor;
    Ok(())
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

/// One sync round for the store's user that the server connection is signed in as: push, then pull.
pub async fn sync_once(store: &Store, client: &mut Client, refresh: &Refresh) -> Result<Report, SyncError> {
    check_server_schema(client).await?;
    let user: Uuid =
        client.query_one("SELECT trenddojo.app_uid()", &[]).await?.get::<_, Option<Uuid>>(0).ok_or_else(|| {
            SyncError::Invalid { field: "server".into(), message: "this login is not a TrendDojo user".into() }
        })?;
    // A store that does not have the user yet (a new device) gets it, with its data, from the pull.
    let mut report = Report::default();
    push(store, client, user, &mut report).await?;
    pull(store, client, user, refresh, &mut report).await?;
    Ok(report)
}
