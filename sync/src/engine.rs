//! The device half of a sync round: push the outbox, then pull what changed, against the server as the
//! signed-in user.
//!
//! Push: the outbox entries after the acknowledged mark that belong to the user become mutations (the
//! row's current values with each field's stamp from `sync_field_clock`), numbered by outbox `seq`, sent in
//! batches of [`BATCH`]. After the server commits a batch, one local transaction deletes those entries and
//! records the new mark. A crash in between leaves the entries; the next push is recognised as a
//! duplicate by the server and acknowledged without being applied twice.
//!
//! Push also tells the device which server versions hold only its own rows as it has them; the pull
//! leaves those out instead of downloading them back.
//!
//! Pull: every synced table's rows with `server_seq` above the cursor, parents first, read in one server
//! snapshot [`PULL_CHUNK`] rows at a time and applied in local transactions of at most [`TX_BUDGET`], the
//! last of which moves the cursor. A row the device never had is inserted as it came; a known one is
//! merged field by field with the local copy (a local edit not yet pushed keeps its value if its stamp is
//! newer) and its stamps set to the merged ones; the outbox and clock triggers are held off by the
//! `sync_apply_guard` row (a pulled row is not a local edit); every replaced value that involved one of
//! this device's own edits is logged in `sync_conflicts`. Then each trade whose row or executions arrived
//! is recomputed once, and derived data that changed is queued to push (see `publish_derived`). The
//! device's clock observes the newest stamp it received before anything is stamped.

use std::collections::BTreeMap;

use rusqlite::OptionalExtension;
use serde_json::Value;
use tokio_postgres::types::Type;
use tokio_postgres::Client;
use trenddojo_store::sql::Value as Sql;
use trenddojo_store::{Connection, Store, StoreError, Tx};
use uuid::Uuid;

use crate::convert::{local_from_pg, parse_stamp};
use crate::hlc::Hlc;
use crate::merge::{merge, Field, RowState};
use crate::push::{push_batch, Mutation, RowConflict};
use crate::tables::{Column, Kind, Table, TABLES};
use crate::SyncError;

/// Recomputes the derived data of trades (their rows or executions arrived); returns their accounts.
pub type RefreshTrades = dyn Fn(&Tx<'_>, &[Uuid]) -> Result<Vec<Uuid>, SyncError>;

/// Rebuilds the running totals of accounts, once their trades are recomputed.
pub type RefreshAccounts = dyn Fn(&Tx<'_>, &[Uuid]) -> Result<(), SyncError>;

/// Recomputes derived data after a pull, inside the pull's transactions (the core API supplies it: the
/// summary rules live there).
#[derive(Clone, Copy)]
pub struct Refresh<'a> {
    pub trades: &'a RefreshTrades,
    pub accounts: &'a RefreshAccounts,
}

impl std::fmt::Debug for Refresh<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Refresh")
    }
}

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

/// The ranges `(after, up_to]` of server versions above the pull cursor that hold only rows this device
/// pushed as they are here (see `push`), ascending. The pull leaves them out.
fn own_versions(c: &Connection, user: Uuid) -> Result<Vec<(i64, i64)>, SyncError> {
    Ok(get_state(c, &state_key(user, "own_versions"))?
        .and_then(|v| serde_json::from_str::<Vec<(i64, i64)>>(&v).ok())
        .unwrap_or_default())
}

/// Record that versions `(after, up_to]` hold only this device's own rows: a range that starts at the
/// cursor moves the cursor (with every recorded range it then reaches); another is kept for the pull to
/// leave out.
fn skip_own_versions(tx: &Tx<'_>, user: Uuid, after: i64, up_to: i64) -> Result<(), SyncError> {
    let cursor_key = state_key(user, "cursor");
    let mut cursor = get_i64(tx, &cursor_key)?;
    let mut ranges = own_versions(tx, user)?;
    ranges.push((after, up_to));
    ranges.sort_unstable();
    let mut rest = Vec::new();
    for (lo, hi) in ranges {
        if lo <= cursor {
            cursor = cursor.max(hi);
        } else {
            rest.push((lo, hi));
        }
    }
    set_state(tx, &cursor_key, &cursor.to_string())?;
    set_own_versions(tx, user, &rest)
}

fn set_own_versions(tx: &Tx<'_>, user: Uuid, ranges: &[(i64, i64)]) -> Result<(), SyncError> {
    let key = state_key(user, "own_versions");
    if ranges.is_empty() {
        tx.execute("DELETE FROM sync_state WHERE key = ?1", [key]).map_err(sql_err)?;
        return Ok(());
    }
    let text = serde_json::to_string(ranges)
        .map_err(|e| SyncError::Invalid { field: "own_versions".into(), message: e.to_string() })?;
    set_state(tx, &key, &text)
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
            // The versions this batch took hold only its own rows (dense) and each of them merged into a
            // server row this device already had (or is new): the device has exactly what they hold, so
            // the pull skips them instead of downloading them back.
            if out.written > 0
                && u64::try_from(out.version_after - out.version_before).ok() == Some(out.written)
                && out.newest_merged <= get_i64(tx, &state_key(user, "cursor"))?
            {
                skip_own_versions(tx, user, out.version_before, out.version_after)?;
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

/// The local side of a synced table, with its SQL written once (the pull runs these per row).
struct Plan {
    table: &'static Table,
    /// The synced columns but `deleted`, in the order of every value list below.
    cols: Vec<Column>,
    /// Where `trade_id` sits in `cols`, for tables whose rows belong to a trade's summary.
    trade_id: Option<usize>,
    /// `SELECT <cols>, deleted FROM t WHERE id = ?1`
    select: String,
    /// `INSERT INTO t (<cols>, deleted) VALUES (...)`
    insert: String,
    /// `UPDATE t SET <cols but id> = ..., deleted = ... WHERE id = ?1`, the id first and the other columns
    /// in order.
    update: String,
    /// The server SELECT that reads one page of the table's changed rows: the synced columns, the
    /// tombstone, the field stamps and the version, in version order, after `$1` (the cursor, then the
    /// last version of the previous page), outside the device's own ranges (`$2`, `$3`: their bounds), at
    /// most `$4` rows.
    pull: String,
}

impl Plan {
    fn new(t: &'static Table) -> Plan {
        let cols = columns(t);
        let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
        let marks: Vec<String> = (1..=cols.len() + 1).map(|i| format!("?{i}")).collect();
        let mut sets: Vec<String> = Vec::new();
        for c in cols.iter().filter(|c| c.name != "id") {
            sets.push(format!("{} = ?{}", c.name, sets.len() + 2));
        }
        sets.push(format!("deleted = ?{}", sets.len() + 2));
        Plan {
            table: t,
            trade_id: if t.name == "executions" { cols.iter().position(|c| c.name == "trade_id") } else { None },
            select: format!("SELECT {}, deleted FROM {} WHERE id = ?1", names.join(", "), t.name),
            insert: format!(
                "INSERT OR ROLLBACK INTO {} ({}, deleted) VALUES ({})",
                t.name,
                names.join(", "),
                marks.join(", ")
            ),
            update: format!("UPDATE {} SET {} WHERE id = ?1", t.name, sets.join(", ")),
            pull: format!(
                "SELECT {}, deleted, field_hlcs, server_seq FROM trenddojo.{} WHERE server_seq > $1 \
                 AND NOT EXISTS (SELECT 1 FROM unnest($2::int8[], $3::int8[]) AS own (lo, hi) \
                                 WHERE server_seq > own.lo AND server_seq <= own.hi) \
                 ORDER BY server_seq LIMIT $4",
                names.join(", "),
                t.name
            ),
            cols,
        }
    }
}

fn plan(t: &Table) -> &'static Plan {
    static PLANS: std::sync::OnceLock<Vec<Plan>> = std::sync::OnceLock::new();
    let plans = PLANS.get_or_init(|| TABLES.iter().map(Plan::new).collect());
    plans.iter().find(|p| p.table.name == t.name).expect("every synced table has a plan")
}

/// The field stamps of a pulled row. A row written in one go (the usual case) has one stamp for all its
/// fields, kept once.
#[derive(Debug, Clone)]
enum Stamps {
    Uniform(Hlc),
    /// One per column of the table's [`Plan`], in order.
    PerField(Vec<Hlc>),
}

/// A pulled row: its table, id, column values as the local store keeps them (in [`Plan`] order), field
/// stamps and tombstone stamp.
struct Pulled {
    plan: &'static Plan,
    id: Uuid,
    values: Vec<Sql>,
    stamps: Stamps,
    deleted: Option<Hlc>,
}

impl Pulled {
    fn stamp(&self, i: usize) -> &Hlc {
        match &self.stamps {
            Stamps::Uniform(h) => h,
            Stamps::PerField(v) => &v[i],
        }
    }

    /// The row as the merge sees it (only rows this device already has are merged).
    fn state(&self) -> RowState {
        let mut state = RowState::default();
        for (i, (col, v)) in self.plan.cols.iter().zip(&self.values).enumerate() {
            state.fields.insert(
                col.name.to_string(),
                Field { value: from_local(v.clone(), col.kind), hlc: self.stamp(i).clone() },
            );
        }
        state.deleted = self.deleted.clone();
        state
    }

    /// The trade whose derived data this row feeds: a trade itself, or an execution's trade.
    fn trade(&self) -> Option<Uuid> {
        if self.plan.table.name == "trades" {
            return Some(self.id);
        }
        match self.plan.trade_id.map(|i| &self.values[i]) {
            Some(Sql::Text(s)) => Uuid::parse_str(s).ok(),
            _ => None,
        }
    }

    fn newest_stamp(&self) -> Option<&Hlc> {
        let fields = match &self.stamps {
            Stamps::Uniform(h) => Some(h),
            Stamps::PerField(v) => v.iter().max(),
        };
        fields.max(self.deleted.as_ref())
    }
}

/// A server row read with its plan's `pull` SQL, converted straight to local values (no JSON in between: a first
/// download does this for every column of every row).
fn pulled(plan: &'static Plan, row: &tokio_postgres::Row) -> Result<Pulled, SyncError> {
    let cols = &plan.cols;
    let mut values = Vec::with_capacity(cols.len());
    let mut id = None;
    for (i, c) in cols.iter().enumerate() {
        if c.name == "id" {
            id = row.try_get::<_, Option<Uuid>>(i)?;
        }
        values.push(local_from_pg(row, i, c.kind)?);
    }
    let id =
        id.ok_or_else(|| SyncError::Invalid { field: format!("{}.id", plan.table.name), message: "missing".into() })?;
    let json: Value = row.try_get(cols.len() + 1)?;
    let raw = |f: &str| json.get(f).and_then(Value::as_str);
    let first = cols.first().and_then(|c| raw(c.name));
    let stamps = if cols.iter().all(|c| raw(c.name) == first) {
        Stamps::Uniform(parse_stamp(first))
    } else {
        Stamps::PerField(cols.iter().map(|c| parse_stamp(raw(c.name))).collect())
    };
    let deleted = if row.try_get::<_, bool>(cols.len())? { Some(parse_stamp(raw("deleted"))) } else { None };
    Ok(Pulled { plan, id, values, stamps, deleted })
}

/// Set the stamp of one field of a row (`*`: every field without one of its own).
fn put_stamp(tx: &Tx<'_>, table: &str, id: &str, field: &str, hlc: &str) -> Result<(), SyncError> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc) VALUES (?1, ?2, ?3, ?4)",
    )
    .map_err(sql_err)?
    .execute([table, id, field, hlc])
    .map_err(sql_err)?;
    Ok(())
}

/// Write the field stamps of a row: one `*` entry when the fields and the tombstone share one stamp, else
/// one entry per field.
fn write_stamps(tx: &Tx<'_>, table: &str, id: &str, stamps: &[(&str, &Hlc)]) -> Result<(), SyncError> {
    let uniform = stamps.windows(2).all(|w| w[0].1 == w[1].1);
    match stamps.first() {
        Some((_, h)) if uniform => put_stamp(tx, table, id, "*", h.as_str()),
        _ => stamps.iter().try_for_each(|(f, h)| put_stamp(tx, table, id, f, h.as_str())),
    }
}

/// A row this device has never had: merging it with nothing gives the row itself, with no conflict, so
/// it is inserted as it came.
fn insert_new(tx: &Tx<'_>, p: &Pulled) -> Result<(), SyncError> {
    let deleted = Sql::Integer(i64::from(p.deleted.is_some()));
    tx.prepare_cached(&p.plan.insert)
        .map_err(sql_err)?
        .execute(rusqlite::params_from_iter(p.values.iter().chain(std::iter::once(&deleted))))
        .map_err(sql_err)?;
    let mut stamps: Vec<(&str, &Hlc)> = p.plan.cols.iter().enumerate().map(|(i, c)| (c.name, p.stamp(i))).collect();
    if let Some(d) = &p.deleted {
        stamps.push(("deleted", d));
    }
    write_stamps(tx, p.plan.table.name, &p.id.to_string(), &stamps)
}

fn apply_pulled(tx: &Tx<'_>, p: &Pulled, mine: &str, conflicts: &mut usize) -> Result<(), SyncError> {
    let plan = p.plan;
    let t = plan.table;
    let Some((local, _)) = local_state(tx, t, p.id)? else {
        return insert_new(tx, p);
    };
    let merged = merge(&local, &p.state());
    for o in merged.overridden.iter().filter(|o| involves(o, mine)) {
        *conflicts += usize::from(log_conflict(tx, t.name, p.id, o)?);
    }
    let row = merged.row;
    if local == row {
        // Already here, value for value and stamp for stamp (typically this device's own push coming back).
        return Ok(());
    }
    let value = |c: &Column| to_local(row.fields.get(c.name).map(|f| &f.value).unwrap_or(&Value::Null), c.kind);
    let mut vals: Vec<Sql> = vec![Sql::Text(p.id.to_string())];
    vals.extend(plan.cols.iter().filter(|c| c.name != "id").map(value));
    vals.push(Sql::Integer(i64::from(row.deleted.is_some())));
    tx.prepare_cached(&plan.update).map_err(sql_err)?.execute(rusqlite::params_from_iter(vals)).map_err(sql_err)?;
    // The stamps are the merged ones.
    let id = p.id.to_string();
    tx.prepare_cached("DELETE FROM sync_field_clock WHERE table_name = ?1 AND row_id = ?2")
        .map_err(sql_err)?
        .execute([t.name, id.as_str()])
        .map_err(sql_err)?;
    let mut stamps: Vec<(&str, &Hlc)> = row.fields.iter().map(|(f, v)| (f.as_str(), &v.hlc)).collect();
    if let Some(d) = &row.deleted {
        stamps.push(("deleted", d));
    }
    write_stamps(tx, t.name, &id, &stamps)
}

/// Rows read from the server per round trip of a pull.
pub const PULL_CHUNK: usize = 500;

/// How long one local transaction of a pull may hold the store's writer: the app's own writes wait at
/// most about this long (plus one row or one small group of trades, and the commit). Work is cut by
/// time, not by count, because a row's cost varies tenfold between tables and grows with the store.
pub const TX_BUDGET: std::time::Duration = std::time::Duration::from_millis(40);

/// Run `f` with the outbox and clock triggers held off: a pull's writes (its rows and the derived data
/// recomputed from them) are not local edits. The guard row lives inside `tx` only, so no other
/// connection ever sees it and a crash rolls it back. Foreign keys are checked at commit, so a
/// multi-row apply needs no per-statement undo journal for them.
fn guarded<T>(tx: &Tx<'_>, f: impl FnOnce() -> Result<T, SyncError>) -> Result<T, SyncError> {
    tx.execute_batch("PRAGMA defer_foreign_keys = ON; INSERT INTO sync_apply_guard (one) VALUES (1);")
        .map_err(sql_err)?;
    let out = f()?;
    tx.execute("DELETE FROM sync_apply_guard", []).map_err(sql_err)?;
    Ok(out)
}

/// What is left of a pull's local work: rows to apply, then trades to recompute, then the accounts those
/// trades belong to. Done in transactions of at most [`TX_BUDGET`] each; the one that finishes also moves
/// the cursor (so a pull cut off anywhere is repeated, and repeats as a no-op for what got in).
struct Work<'a> {
    rows: &'a [Pulled],
    trades: &'a [Uuid],
    accounts: Vec<Uuid>,
    /// Trades whose recomputed derived data was queued to push (see [`publish_derived`]).
    published: usize,
}

impl Work<'_> {
    fn done(&self) -> bool {
        self.rows.is_empty() && self.trades.is_empty()
    }

    /// One budgeted step inside `tx`. Rows first; trades only once every row is in (a trade is
    /// recomputed once, with all of its executions).
    fn step(
        &mut self,
        tx: &Tx<'_>,
        mine: &str,
        refresh: Option<&Refresh<'_>>,
        conflicts: &mut usize,
    ) -> Result<(), SyncError> {
        let start = std::time::Instant::now();
        let mut recomputed = Vec::new();
        guarded(tx, || {
            while let Some((p, rest)) = self.rows.split_first() {
                apply_pulled(tx, p, mine, conflicts)?;
                self.rows = rest;
                if !self.done() && start.elapsed() >= TX_BUDGET {
                    return Ok(());
                }
            }
            let Some(refresh) = refresh else { return Ok(()) };
            while let Some((&id, rest)) = self.trades.split_first() {
                // Nothing is written when the recomputed data equals what arrived (the usual case).
                let before = tx.total_changes();
                self.accounts.extend((refresh.trades)(tx, &[id])?);
                if tx.total_changes() != before {
                    recomputed.push(id);
                }
                self.trades = rest;
                // Once the last trade is done the accounts follow in this transaction: `done` says so.
                if !self.trades.is_empty() && start.elapsed() >= TX_BUDGET {
                    return Ok(());
                }
            }
            self.accounts.sort();
            self.accounts.dedup();
            (refresh.accounts)(tx, &self.accounts)
        })?;
        self.published += recomputed.len();
        publish_derived(tx, &recomputed)
    }
}

/// Queue for pushing the derived data of trades whose recomputation after a pull changed it, stamped now.
///
/// This is the case when executions of one trade were added on two devices while apart: each pushed a
/// summary of the fills it knew, the server kept one of them, and only a device holding all the fills
/// computes the right one. Sending it (and the executions' realized amounts) with a fresh stamp corrects
/// the server's copy, which dashboards read. Devices that computed the same values from the same fills
/// send equal values, so no conflict is logged; and once every device has every fill, recomputing
/// changes nothing and nothing more is sent.
fn publish_derived(tx: &Tx<'_>, trades: &[Uuid]) -> Result<(), SyncError> {
    let derived = |table: &str| -> Vec<&'static str> {
        crate::tables::table(table)
            .map(|t| {
                t.columns.iter().filter(|c| c.direction == crate::tables::Direction::Derived).map(|c| c.name).collect()
            })
            .unwrap_or_default()
    };
    let (trade_fields, execution_fields) = (derived("trades"), derived("executions"));
    for id in trades {
        let trade = id.to_string();
        let mut rows = vec![("trades", &trade_fields, trade.clone())];
        let mut st = tx.prepare_cached("SELECT id FROM executions WHERE trade_id = ?1").map_err(sql_err)?;
        for e in st.query_map([&trade], |r| r.get::<_, String>(0)).map_err(sql_err)? {
            rows.push(("executions", &execution_fields, e.map_err(sql_err)?));
        }
        for (table, fields, row) in rows {
            for field in fields {
                put_stamp(tx, table, &row, field, &tx.hlc)?;
            }
            tx.prepare_cached(
                "INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES (?1, ?2, 'update', ?3, ?4)",
            )
            .map_err(sql_err)?
            .execute(rusqlite::params![table, row, tx.hlc, tx.now])
            .map_err(sql_err)?;
        }
    }
    Ok(())
}

/// The trades whose rows or executions are among `rows`, each once.
fn touched_trades<'a>(rows: impl IntoIterator<Item = &'a Pulled>) -> Vec<Uuid> {
    let mut trades: Vec<Uuid> = rows.into_iter().filter_map(Pulled::trade).collect();
    trades.sort();
    trades.dedup();
    trades
}

/// Let the device's clock see the newest stamp among pulled rows.
fn observe_newest(store: &Store, rows: &[Pulled]) {
    if let Some(h) = rows.iter().filter_map(Pulled::newest_stamp).max() {
        store.observe_clock(h.as_str());
    }
}

/// The version ranges a pull leaves out (the device's own pushed rows): their lower and upper bounds.
#[derive(Debug, Default)]
struct Own {
    lo: Vec<i64>,
    hi: Vec<i64>,
}

/// One page of a table's changes after version `after`: at most [`PULL_CHUNK`] rows in version order,
/// converted, and whether more may follow (the page was full). A statement of its own, not a portal: a
/// keyset page needs nothing to live on the server between two exchanges, which a transaction pooler
/// cannot promise outside a transaction and no pooler can for a prepared statement. Versions are unique
/// within a user's table (one per row written, server V5/V11), so `server_seq > last` resumes exactly
/// after the previous page. (A user who forges V11's statement-local counter can give two of their own
/// rows one version; a page refuses that when it sees it, and at a page boundary it costs only that
/// user's own row on that user's own device.)
async fn pull_page(
    tx: &tokio_postgres::Transaction<'_>,
    plan: &'static Plan,
    after: i64,
    own: &Own,
) -> Result<(Vec<Pulled>, Option<i64>), SyncError> {
    let limit = PULL_CHUNK as i64;
    let rows = tx
        .query_typed(
            &plan.pull,
            &[(&after, Type::INT8), (&own.lo, Type::INT8_ARRAY), (&own.hi, Type::INT8_ARRAY), (&limit, Type::INT8)],
        )
        .await?;
    let mut page = Vec::with_capacity(rows.len());
    let mut last = after;
    for row in &rows {
        let seq: i64 = row.try_get(plan.cols.len() + 2)?;
        if seq <= last {
            return Err(SyncError::Invalid {
                field: format!("{}.server_seq", plan.table.name),
                message: format!("versions must ascend strictly within a page ({seq} after {last})"),
            });
        }
        last = seq;
        page.push(pulled(plan, row)?);
    }
    let more = rows.len() == PULL_CHUNK;
    Ok((page, more.then_some(last)))
}

/// The server side of a pull or a reset, as it stands at the start of a read-only REPEATABLE READ
/// transaction.
struct Snapshot<'a> {
    tx: tokio_postgres::Transaction<'a>,
    /// The user's change version: the snapshot holds exactly the user's versions up to this one
    /// (writers of one user commit in version order, see server V5).
    version: i64,
    /// Which synced tables have rows after the given cursor, in [`TABLES`] order: only those are read
    /// (a typical pull touches one or two of the thirteen).
    changed: Vec<bool>,
}

/// Open the snapshot, and in the same statement read the version and which tables changed after
/// `cursor`, and turn sorts off for the transaction. Each exchange with a server across a network costs
/// a round trip, and one round reaching another device is a chain of them.
///
/// Sorts: pages must come off the (user_id, server_seq) index in order. Right after a large push the
/// server's statistics still describe nearly empty tables, and the planner then sorted everything after
/// the cursor for every page (measured: 70 ms per page of executions at 100k rows, a first download 1.6x
/// slower than through one portal). No query of a pull needs a sort.
async fn snapshot(client: &mut Client, cursor: i64) -> Result<Snapshot<'_>, SyncError> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        let probes: Vec<String> = TABLES
            .iter()
            .map(|t| format!("EXISTS (SELECT 1 FROM trenddojo.{} WHERE server_seq > $1)", t.name))
            .collect();
        format!(
            "SELECT (SELECT coalesce(max(version), 0) FROM trenddojo.user_versions), ARRAY[{}], \
                    set_config('enable_sort', 'off', true)",
            probes.join(", ")
        )
    });
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let row = tx.query_typed_one(sql, &[(&cursor, Type::INT8)]).await?;
    let version: i64 = row.try_get(0)?;
    let changed: Vec<bool> = row.try_get(1)?;
    if changed.len() != TABLES.len() {
        return Err(SyncError::Invalid {
            field: "pull".into(),
            message: "the server answered for other tables".into(),
        });
    }
    Ok(Snapshot { tx, version, changed })
}

/// Pull everything after the cursor. The server side is one read-only REPEATABLE READ transaction: its
/// snapshot holds exactly the user's versions up to the counter it shows (writers of one user commit in
/// version order, see server V5), so the pull reaches that version with no gap. Tables are read parents
/// first in keyset pages of [`PULL_CHUNK`] rows ([`pull_page`]), leaving out the versions that hold only this
/// device's own pushed rows. Locally the rows are applied, then the trades whose rows or executions
/// arrived are recomputed (once each, with all their executions in), then their accounts' totals, in
/// transactions of at most [`TX_BUDGET`]; the last one also moves the cursor. A small pull (the usual
/// case) is one local transaction. A larger one (a first download) shows its progress as it goes; if it
/// is cut off, the cursor has not moved and the next pull applies the same rows again, which the
/// per-field merge makes a no-op for those already in, and recomputes the same trades. Returns whether
/// derived data was queued to push.
async fn pull(
    store: &Store,
    client: &mut Client,
    user: Uuid,
    refresh: &Refresh<'_>,
    report: &mut Report,
) -> Result<bool, SyncError> {
    let cursor_key = state_key(user, "cursor");
    let (cursor, own) = store.read(|c| Ok::<_, SyncError>((get_i64(c, &cursor_key)?, own_versions(c, user)?)))?;
    let (lo, hi): (Vec<i64>, Vec<i64>) = own.into_iter().unzip();
    let own = Own { lo, hi };
    let mine = stamp_device(store);
    let Snapshot { tx, version: target, changed } = snapshot(client, cursor).await?;
    let mut conflicts = 0;
    let mut chunk: Vec<Pulled> = Vec::new();
    let mut touched: Vec<Uuid> = Vec::new();
    let mut pulled_rows = 0;
    if target > cursor {
        for (t, _) in TABLES.iter().zip(changed).filter(|(_, c)| *c) {
            let plan = plan(t);
            let mut after = cursor;
            loop {
                let (page, more) = pull_page(&tx, plan, after, &own).await?;
                chunk.extend(page);
                if chunk.len() >= PULL_CHUNK {
                    // The clock sees the newest stamp before the rows land: an app write made between two
                    // of these transactions must be stamped after what it sees.
                    observe_newest(store, &chunk);
                    let mut work = Work { rows: &chunk, trades: &[], accounts: Vec::new(), published: 0 };
                    while !work.rows.is_empty() {
                        store.write(|tx| work.step(tx, &mine, None, &mut conflicts))?;
                    }
                    touched.extend(touched_trades(&chunk));
                    pulled_rows += chunk.len();
                    chunk.clear();
                }
                match more {
                    Some(last) => after = last,
                    None => break,
                }
            }
        }
    }
    tx.commit().await?;
    crash_point("pull:after-fetch");
    let reached = target.max(cursor);
    touched.extend(touched_trades(&chunk));
    touched.sort();
    touched.dedup();
    // The clock first sees the newest stamp that arrived, so derived data published below is newer.
    observe_newest(store, &chunk);
    // The rest of the rows, then the trades to recompute, then their accounts; the cursor moves with the
    // last of them. A small pull (the usual case) is one transaction.
    let mut work = Work { rows: &chunk, trades: &touched, accounts: Vec::new(), published: 0 };
    loop {
        let finished = store.write(|tx| {
            work.step(tx, &mine, Some(refresh), &mut conflicts)?;
            if !work.done() {
                return Ok::<_, SyncError>(false);
            }
            set_state(tx, &cursor_key, &reached.to_string())?;
            set_own_versions(tx, user, &[])?;
            crash_point("pull:before-local-commit");
            Ok(true)
        })?;
        if finished {
            break;
        }
    }
    pulled_rows += chunk.len();
    crash_point("pull:after-local-commit");
    report.pulled += pulled_rows;
    report.conflicts += conflicts;
    report.cursor = reached;
    Ok(work.published > 0)
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
    match client.query_typed_one("SELECT trenddojo.schema_version()", &[]).await {
        Ok(row) => schema_usable(row.get(0)),
        Err(e) if before_v8(&e) => schema_usable(0),
        Err(e) => Err(e.into()),
    }
}

/// 42883: `schema_version()` does not exist yet (a server from before V8).
fn before_v8(e: &tokio_postgres::Error) -> bool {
    e.code().map(|c| c.code()) == Some("42883")
}

/// The server's schema version (as `schema_version()` returns it), if this engine can sync with it.
fn schema_usable(found: i32) -> Result<u32, SyncError> {
    let found = u32::try_from(found).unwrap_or(0);
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
    client.query_typed_one("SELECT trenddojo.app_uid()", &[]).await?.get::<_, Option<Uuid>>(0).ok_or_else(not_a_user)
}

fn not_a_user() -> SyncError {
    SyncError::Invalid { field: "server".into(), message: "this login is not a TrendDojo user".into() }
}

/// [`check_server_schema`] and [`server_user`] in one exchange, as every round starts: across a network
/// each exchange is a round trip, and one change reaching another device is a chain of them.
async fn handshake(client: &Client) -> Result<Uuid, SyncError> {
    match client.query_typed_one("SELECT trenddojo.schema_version(), trenddojo.app_uid()", &[]).await {
        Ok(row) => {
            schema_usable(row.get(0))?;
            row.get::<_, Option<Uuid>>(1).ok_or_else(not_a_user)
        }
        Err(e) if before_v8(&e) => Err(SyncError::OlderServer { found: 0, needed: MIN_SERVER_SCHEMA }),
        Err(e) => Err(e.into()),
    }
}

/// Replace this device's copy of the signed-in user's synced data with the server's, in one local
/// transaction: every synced row of the user is deleted (children first) together with its field stamps
/// and outbox entries, the server's rows (one snapshot) are written in their place, derived trade data is
/// recomputed and the cursor set to the snapshot's version. Local changes not yet pushed are dropped: the
/// caller confirms that first. Other users' rows in the same store are untouched.
pub async fn reset(store: &Store, client: &mut Client, refresh: &Refresh<'_>) -> Result<Report, SyncError> {
    let user = handshake(client).await?;
    let Snapshot { tx, version: target, changed } = snapshot(client, 0).await?;
    let mut rows = Vec::new();
    for (t, _) in TABLES.iter().zip(changed).filter(|(_, c)| *c) {
        let plan = plan(t);
        let mut after = 0;
        loop {
            let (page, more) = pull_page(&tx, plan, after, &Own::default()).await?;
            rows.extend(page);
            match more {
                Some(last) => after = last,
                None => break,
            }
        }
    }
    tx.commit().await?;
    let mine = stamp_device(store);
    // The clock sees the newest stamp that arrived before anything is stamped here.
    observe_newest(store, &rows);
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
        // One transaction, whatever its length: the user asked for the replacement and waits for it.
        let trades = touched_trades(&rows);
        let mut work = Work { rows: &rows, trades: &trades, accounts: Vec::new(), published: 0 };
        while !work.done() {
            work.step(tx, &mine, Some(refresh), &mut conflicts)?;
        }
        set_state(tx, &state_key(user, "cursor"), &target.to_string())?;
        set_own_versions(tx, user, &[])?;
        Ok::<_, SyncError>(())
    })?;
    Ok(Report { user, pulled: rows.len(), cursor: target, ..Report::default() })
}

/// One sync round for the store's user that the server connection is signed in as: push, then pull.
pub async fn sync_once(store: &Store, client: &mut Client, refresh: &Refresh<'_>) -> Result<Report, SyncError> {
    let user = handshake(client).await?;
    // A store that does not have the user yet (a new device) gets it, with its data, from the pull.
    let mut report = Report { user, ..Report::default() };
    push(store, client, user, &mut report).await?;
    // Derived data the pull recomputed and queued (see `publish_derived`) goes out in the same round.
    if pull(store, client, user, refresh, &mut report).await? {
        push(store, client, user, &mut report).await?;
    }
    Ok(report)
}
