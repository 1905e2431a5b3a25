//! The server half of a push: apply one batch of a device's mutations in one transaction, as the user.
//! (The device half, which reads the outbox and acknowledges what the server took, is `outbox`.)
//!
//! A mutation is a row's state as the device has it (every synced field with the stamp of the write that
//! set it, plus the tombstone), numbered by the device. [`push_batch`] runs over the user's own login, so
//! row-level security and the schema's checks, tier limits and audit triggers apply to every write. In one
//! transaction it locks the device's row in `sync_devices`, skips mutations the server already applied (a
//! retried batch changes nothing), refuses a push when the server has less than the device was told it
//! acknowledged (lost changes), merges each row with the server's copy field by field
//! ([`crate::merge`](mod@crate::merge)), writes only rows that changed, and records the batch's last
//! number. Either all of it commits or none of it does. A row the server refuses (a constraint, a tier
//! limit) fails the batch with [`SyncError::Rejected`]; the device half then finds that row by splitting
//! the batch and keeps it aside.
//!
//! Every exchange runs under the round's [`Limits`]; the transaction tells the server to end it if the
//! device goes silent inside it (`idle_in_transaction_session_timeout`) and to give up waiting for the
//! device's lock quickly (`lock_timeout`), so a vanished client never blocks that device's next sync.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio_postgres::types::Type;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::convert::{server_state, to_pg};
use crate::merge::{merge, Field, Overridden, RowState};
use crate::net::{within, Limits};
use crate::plan::columns as data_columns;
use crate::tables::{self, Column, Direction, Kind, Table};
use crate::SyncError;

/// One row's state from a device, with the device's mutation number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mutation {
    pub number: i64,
    pub table: String,
    pub id: Uuid,
    pub row: RowState,
}

/// A field whose value changed hands during the push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowConflict {
    pub table: String,
    pub id: Uuid,
    pub overridden: Overridden,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushOutcome {
    /// Mutations merged into the server (including ones that changed nothing).
    pub applied: usize,
    /// Mutations the server had already applied (a retry).
    pub duplicates: usize,
    /// The device's last applied mutation number after this batch.
    pub last_mutation: i64,
    /// The user's change version before and after the batch, and the rows the batch wrote. When
    /// `after - before == written`, nobody else wrote in between, so a device whose pull cursor was at
    /// `before` already has everything up to `after` and need not download its own rows back.
    pub version_before: i64,
    pub version_after: i64,
    pub written: u64,
    /// The newest version (`server_seq`) among the server rows this batch merged into and rewrote, 0 if
    /// it rewrote none. A device whose pull cursor is at or past it had every one of those rows already,
    /// so what the batch wrote is exactly its own state and need not be downloaded back.
    pub newest_merged: i64,
    pub conflicts: Vec<RowConflict>,
}

/// Columns that never change once a row exists: its identity and creation time.
const IMMUTABLE: &[&str] = &["id", "user_id", "created_at"];

fn invalid(field: impl Into<String>, message: impl Into<String>) -> SyncError {
    SyncError::invalid(field, message)
}

/// Apply a batch of one device's mutations in one server transaction. `after` is the last number the
/// device knows the server acknowledged; numbers in the batch ascend (a device numbers its changes by its
/// outbox, so numbers of changes it does not push here may be absent).
pub async fn push_batch(
    client: &mut Client,
    limits: &Limits,
    device: Uuid,
    after: i64,
    batch: &[Mutation],
) -> Result<PushOutcome, SyncError> {
    let limit = limits.exchange;
    for w in batch.windows(2) {
        if w[1].number <= w[0].number {
            return Err(invalid(
                "number",
                format!("mutation numbers must ascend ({} then {})", w[0].number, w[1].number),
            ));
        }
    }
    if batch.first().is_some_and(|m| m.number <= after) {
        return Err(invalid("number", format!("the batch starts at or before the acknowledged mutation {after}")));
    }
    let tx = within(limit, "the start of the push", client.transaction()).await?;
    // The transaction's limits come with its first statement (a round trip saved): the server ends the
    // session if this device goes silent inside the transaction, and the device lock below is waited for
    // only briefly (a second sync of this device, or a dead one the server has not ended yet).
    within(
        limit,
        "the push",
        tx.execute_typed(
            "WITH limits AS (SELECT set_config('idle_in_transaction_session_timeout', $2, true), \
                                    set_config('lock_timeout', $3, true)) \
             INSERT INTO trenddojo.sync_devices (device_id, user_id) SELECT $1, trenddojo.app_uid() FROM limits \
             ON CONFLICT (device_id) DO NOTHING",
            &[
                (&device, Type::UUID),
                (&limits.server_idle_setting(), Type::TEXT),
                (&limits.device_lock_setting(), Type::TEXT),
            ],
        ),
    )
    .await?;
    // The foreign-key checks of a push (an execution's trade, a stop's trade) run a query the server
    // prepares once per session and, after five runs, keeps as a generic plan. On a first sync the parent
    // tables start nearly empty and without statistics, and that generic plan looked a parent up through
    // the (user_id, server_seq) index, filtering on id: every check read all of the user's trades
    // (measured: 0.8 ms per execution at 6,000 trades, 90% of a batch, quadratic over a first push).
    // Custom plans (`plan_cache_mode`, set here for the transaction: a statement of its own would cost a
    // round trip) are made with the table as it is at each check and use the (id, user_id) key.
    // The user's version comes with the device's row. Read in this statement's snapshot, it can only be
    // older than the version at the moment the lock was granted, never newer: then `version_after -
    // version_before` exceeds the rows written, and the device merely downloads its own rows back.
    // Waiting longer than the lock timeout for this row means another sync of this device holds it.
    let device_lock = async {
        tx.query_typed_opt(
            "SELECT last_mutation, \
                    coalesce((SELECT version FROM trenddojo.user_versions WHERE user_id = trenddojo.app_uid()), 0), \
                    set_config('plan_cache_mode', 'force_custom_plan', true) \
             FROM trenddojo.sync_devices WHERE device_id = $1 FOR UPDATE",
            &[(&device, Type::UUID)],
        )
        .await
        .map_err(|e| match e.code() {
            Some(c) if c == &tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE => SyncError::DeviceBusy,
            _ => SyncError::from(e),
        })
    };
    let row = within(limit, "the push", device_lock).await?.ok_or(SyncError::ForeignDevice)?;
    let last: i64 = row.try_get(0)?;
    let mut out = PushOutcome { last_mutation: last, version_before: row.try_get(1)?, ..PushOutcome::default() };
    // The server is behind what the device was told it has: acknowledged changes were lost on the server
    // (a restore from an older backup). Pushing on would hide that; the user must decide (`sync reset`).
    if last < after {
        return Err(SyncError::Gap { server_last: last, batch_first: after + 1 });
    }
    let fresh: Vec<&Mutation> = batch.iter().filter(|m| m.number > last).collect();
    out.duplicates = batch.len() - fresh.len();
    // Parents before children; within a table, one merged state per row (merge is associative).
    for t in tables::TABLES {
        let mut rows: Vec<(Uuid, RowState)> = Vec::new();
        for m in fresh.iter().filter(|m| m.table == t.name) {
            let incoming = checked_incoming(t, m)?;
            match rows.iter_mut().find(|(id, _)| *id == m.id) {
                Some((_, state)) => *state = merge(state, &incoming).row,
                None => rows.push((m.id, incoming)),
            }
        }
        if !rows.is_empty() {
            out.written += apply_table(&tx, limit, t, rows, &mut out.conflicts, &mut out.newest_merged).await?;
        }
    }
    if let Some(m) = fresh.iter().find(|m| tables::table(&m.table).is_none()) {
        return Err(invalid("table", format!("{:?} is not a synced table", m.table)));
    }
    out.applied = fresh.len();
    if let Some(m) = fresh.last() {
        out.last_mutation = m.number;
    }
    // The device's new mark (when the batch had new mutations) and the user's version after the batch,
    // which includes this transaction's writes, in one exchange.
    out.version_after = within(
        limit,
        "the push",
        tx.query_typed_one(
            "WITH mark AS (UPDATE trenddojo.sync_devices SET last_mutation = $2, last_seen = now() \
                           WHERE device_id = $1 AND last_mutation < $2) \
             SELECT coalesce((SELECT version FROM trenddojo.user_versions WHERE user_id = trenddojo.app_uid()), 0)",
            &[(&device, Type::UUID), (&out.last_mutation, Type::INT8)],
        ),
    )
    .await?
    .try_get(0)?;
    within(limit, "the push's commit", tx.commit()).await?;
    Ok(out)
}

/// A mutation's state as the server accepts it: known fields only (an unknown one is an error), the
/// server-owned ones dropped, and an `id` field (if sent) equal to the row id.
fn checked_incoming(t: &Table, m: &Mutation) -> Result<RowState, SyncError> {
    let cols = data_columns(t);
    let mut incoming = m.row.clone();
    for name in m.row.fields.keys() {
        match cols.iter().find(|c| c.name == name) {
            None => return Err(invalid(format!("{}.{name}", t.name), "not a synced field")),
            Some(c) if c.direction == Direction::PullOnly => {
                incoming.fields.remove(name);
            }
            Some(c) => {
                // Validates kind and nullability now, naming the field.
                to_pg(t.name, c, &m.row.fields[name].value)?;
            }
        }
    }
    if let Some(Field { value, .. }) = incoming.fields.get("id") {
        if value.as_str() != Some(m.id.to_string().as_str()) {
            return Err(invalid(format!("{}.id", t.name), "differs from the mutation's row id"));
        }
    }
    Ok(incoming)
}

/// A merged row as a JSON object for `jsonb_populate_recordset`: the columns, `deleted` and `field_hlcs`.
fn record(id: Uuid, cols: &[Column], row: &RowState) -> Value {
    let mut obj = Map::new();
    for c in cols {
        let v = row.fields.get(c.name).map(|f| f.value.clone()).unwrap_or(Value::Null);
        let v = match (c.kind, v) {
            // bytea's text input takes hex with a \x prefix.
            (Kind::Bytes, Value::String(h)) => Value::String(format!("\\x{h}")),
            (_, v) => v,
        };
        obj.insert(c.name.to_string(), v);
    }
    obj.insert("id".into(), Value::String(id.to_string()));
    obj.insert("deleted".into(), Value::Bool(row.deleted.is_some()));
    let mut stamps = Map::new();
    for (name, f) in &row.fields {
        stamps.insert(name.clone(), Value::String(f.hlc.to_string()));
        if let Some(base) = &f.base {
            stamps.insert(crate::convert::base_key(name), Value::String(base.to_string()));
        }
    }
    if let Some(d) = &row.deleted {
        stamps.insert("deleted".into(), Value::String(d.to_string()));
    }
    obj.insert("field_hlcs".into(), Value::Object(stamps));
    Value::Object(obj)
}

/// Merge and write one table's rows of a batch: one locking read, at most one INSERT and one UPDATE, each
/// over all the rows at once (as a jsonb record set), whatever the batch size.
async fn apply_table(
    tx: &tokio_postgres::Transaction<'_>,
    limit: std::time::Duration,
    t: &Table,
    rows: Vec<(Uuid, RowState)>,
    conflicts: &mut Vec<RowConflict>,
    newest_merged: &mut i64,
) -> Result<u64, SyncError> {
    let mut written = 0;
    let cols = data_columns(t);
    let list: Vec<&str> = cols.iter().map(|c| c.name).collect();
    let ids: Vec<Uuid> = rows.iter().map(|(id, _)| *id).collect();
    let select = format!(
        "SELECT {}, deleted, field_hlcs, server_seq FROM trenddojo.{} WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        list.join(", "),
        t.name
    );
    let mut server: std::collections::HashMap<Uuid, (RowState, i64)> = std::collections::HashMap::new();
    for row in within(limit, "the push", tx.query_typed(&select, &[(&ids, Type::UUID_ARRAY)])).await? {
        let (id, state) = server_state(&row, &cols)?;
        if let Some(id) = id {
            server.insert(id, (state, row.try_get(cols.len() + 2)?));
        }
    }
    let mut inserts = Vec::new();
    let mut updates = Vec::new();
    for (id, incoming) in rows {
        let before = server.get(&id);
        let merged = merge(before.map(|(b, _)| b).unwrap_or(&RowState::default()), &incoming);
        for o in merged.overridden {
            conflicts.push(RowConflict { table: t.name.to_string(), id, overridden: o });
        }
        match before {
            None => inserts.push(record(id, &cols, &merged.row)),
            Some((b, seq)) if *b != merged.row => {
                *newest_merged = (*newest_merged).max(*seq);
                updates.push(record(id, &cols, &merged.row));
            }
            Some(_) => {}
        }
    }
    if !inserts.is_empty() {
        if t.name == "users" {
            return Err(SyncError::Server(trenddojo_server::ServerError::Refused(
                "users are created by provisioning, not by a device".into(),
            )));
        }
        let sql = format!(
            "INSERT INTO trenddojo.{t} ({cols}, deleted, field_hlcs) SELECT {cols}, deleted, field_hlcs \
             FROM jsonb_populate_recordset(NULL::trenddojo.{t}, $1::jsonb)",
            t = t.name,
            cols = list.join(", ")
        );
        written += within(limit, "the push", tx.execute_typed(&sql, &[(&Value::Array(inserts), Type::JSONB)])).await?;
    }
    if !updates.is_empty() {
        let sets: Vec<String> = cols
            .iter()
            .filter(|c| !IMMUTABLE.contains(&c.name) && c.direction != Direction::PullOnly)
            .map(|c| format!("{n} = r.{n}", n = c.name))
            .chain(["deleted = r.deleted".to_string(), "field_hlcs = r.field_hlcs".to_string()])
            .collect();
        let sql = format!(
            "UPDATE trenddojo.{t} AS t SET {sets} FROM jsonb_populate_recordset(NULL::trenddojo.{t}, $1::jsonb) AS r \
             WHERE t.id = r.id",
            t = t.name,
            sets = sets.join(", ")
        );
        written += within(limit, "the push", tx.execute_typed(&sql, &[(&Value::Array(updates), Type::JSONB)])).await?;
    }
    Ok(written)
}
