//! The server half of a push: apply one batch of a device's mutations in one transaction, as the user.
//!
//! A mutation is a row's state as the device has it (every synced field with the stamp of the write that
//! set it, plus the tombstone), numbered by the device. [`push_batch`] runs over the user's own login, so
//! row-level security and the schema's checks, tier limits and audit triggers apply to every write. In one
//! transaction it locks the device's row in `sync_devices`, skips mutations the server already applied (a
//! retried batch changes nothing), refuses a push when the server has less than the device was told it
//! acknowledged (lost changes), merges each row
//! with the server's copy field by field ([`crate::merge`]), writes only rows that changed, and records the
//! batch's last number. Either all of it commits or none of it does.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio_postgres::Client;
use uuid::Uuid;

use crate::convert::{from_pg, to_pg, Param};
use crate::hlc::Hlc;
use crate::merge::{merge, Field, Overridden, RowState};
use crate::tables::{self, Column, Direction, Table};
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
    pub conflicts: Vec<RowConflict>,
}

/// Columns that never change once a row exists: its identity and creation time.
const IMMUTABLE: &[&str] = &["id", "user_id", "created_at"];

fn invalid(field: impl Into<String>, message: impl Into<String>) -> SyncError {
    SyncError::Invalid { field: field.into(), message: message.into() }
}

/// The synced columns of `t` other than `deleted` (carried by [`RowState::deleted`]).
fn data_columns(t: &Table) -> Vec<Column> {
    t.all_columns().into_iter().filter(|c| c.name != "deleted").collect()
}

/// Apply a batch of one device's mutations in one server transaction. `after` is the last number the
/// device knows the server acknowledged; numbers in the batch ascend (a device numbers its changes by its
/// outbox, so numbers of changes it does not push here may be absent).
pub async fn push_batch(
    client: &mut Client,
    device: Uuid,
    after: i64,
    batch: &[Mutation],
) -> Result<PushOutcome, SyncError> {
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
    let tx = client.transaction().await?;
    tx.execute(
        "INSERT INTO trenddojo.sync_devices (device_id, user_id) VALUES ($1, trenddojo.app_uid()) ON CONFLICT (device_id) DO NOTHING",
        &[&device],
    )
    .await?;
    let last: i64 = tx
        .query_opt("SELECT last_mutation FROM trenddojo.sync_devices WHERE device_id = $1 FOR UPDATE", &[&device])
        .await?
        .ok_or(SyncError::ForeignDevice)?
        .get(0);
    let mut out = PushOutcome { last_mutation: last, ..PushOutcome::default() };
    // The server is behind what the device was told it has: acknowledged changes were lost on the server
    // (a restore from an older backup). Pushing on would hide that; the user must decide (`sync reset`).
    if last < after {
        return Err(SyncError::Gap { server_last: last, batch_first: after + 1 });
    }
    for m in batch {
        if m.number <= last {
            out.duplicates += 1;
            continue;
        }
        apply(&tx, m, &mut out.conflicts).await?;
        out.applied += 1;
        out.last_mutation = m.number;
    }
    if out.last_mutation > last {
        tx.execute(
            "UPDATE trenddojo.sync_devices SET last_mutation = $2, last_seen = now() WHERE device_id = $1",
            &[&device, &out.last_mutation],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(out)
}

async fn apply(
    tx: &tokio_postgres::Transaction<'_>,
    m: &Mutation,
    conflicts: &mut Vec<RowConflict>,
) -> Result<(), SyncError> {
    let t = tables::table(&m.table).ok_or_else(|| invalid("table", format!("{:?} is not a synced table", m.table)))?;
    let cols = data_columns(t);
    // The device may not set server-owned fields; unknown fields are an error, not silently dropped.
    let mut incoming = m.row.clone();
    for name in m.row.fields.keys() {
        match cols.iter().find(|c| c.name == name) {
            None => return Err(invalid(format!("{}.{name}", t.name), "not a synced field")),
            Some(c) if c.direction == Direction::PullOnly => {
                incoming.fields.remove(name);
            }
            Some(_) => {}
        }
    }
    if let Some(Field { value, .. }) = incoming.fields.get("id") {
        if value.as_str() != Some(m.id.to_string().as_str()) {
            return Err(invalid(format!("{}.id", t.name), "differs from the mutation's row id"));
        }
    }

    let list: Vec<&str> = cols.iter().map(|c| c.name).collect();
    let select =
        format!("SELECT {}, deleted, field_hlcs FROM trenddojo.{} WHERE id = $1 FOR UPDATE", list.join(", "), t.name);
    let existing = tx.query_opt(&select, &[&m.id]).await?;
    let server = match &existing {
        None => None,
        Some(row) => {
            let stamps: Value = row.try_get(cols.len() + 1)?;
            let stamp = |name: &str| {
                stamps.get(name).and_then(Value::as_str).and_then(|s| Hlc::parse(s).ok()).unwrap_or_else(Hlc::zero)
            };
            let mut state = RowState::default();
            for (i, c) in cols.iter().enumerate() {
                state.fields.insert(c.name.to_string(), Field { value: from_pg(row, i, c.kind)?, hlc: stamp(c.name) });
            }
            if row.try_get::<_, bool>(cols.len())? {
                state.deleted = Some(stamp("deleted"));
            }
            Some(state)
        }
    };
    drop(existing);
    let merged = merge(server.as_ref().unwrap_or(&RowState::default()), &incoming);
    for o in merged.overridden {
        conflicts.push(RowConflict { table: t.name.to_string(), id: m.id, overridden: o });
    }
    let row = merged.row;
    if server.as_ref() == Some(&row) {
        return Ok(());
    }
    let mut stamps = Map::new();
    for (name, f) in &row.fields {
        stamps.insert(name.clone(), Value::String(f.hlc.to_string()));
    }
    if let Some(d) = &row.deleted {
        stamps.insert("deleted".into(), Value::String(d.to_string()));
    }
    let stamps = Value::Object(stamps);
    let deleted = row.deleted.is_some();

    match server {
        None => {
            if t.name == "users" {
                return Err(SyncError::Server(trenddojo_server::ServerError::Refused(
                    "users are created by provisioning, not by a device".into(),
                )));
            }
            let mut params: Vec<Param> = Vec::new();
            for c in &cols {
                let v = row.fields.get(c.name).map(|f| &f.value).unwrap_or(&Value::Null);
                params.push(to_pg(t.name, c, v)?);
            }
            params.push(Box::new(deleted));
            params.push(Box::new(stamps));
            let placeholders: Vec<String> = (1..=params.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "INSERT INTO trenddojo.{} ({}, deleted, field_hlcs) VALUES ({})",
                t.name,
                list.join(", "),
                placeholders.join(", ")
            );
            let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                params.iter().map(|p| p.as_ref() as _).collect();
            tx.execute(&sql, &refs).await?;
        }
        Some(before) => {
            let mut sets = Vec::new();
            let mut params: Vec<Param> = vec![Box::new(m.id)];
            for c in &cols {
                if IMMUTABLE.contains(&c.name) || c.direction == Direction::PullOnly {
                    continue;
                }
                let new = row.fields.get(c.name).map(|f| &f.value).unwrap_or(&Value::Null);
                let old = before.fields.get(c.name).map(|f| &f.value).unwrap_or(&Value::Null);
                if new != old {
                    params.push(to_pg(t.name, c, new)?);
                    sets.push(format!("{} = ${}", c.name, params.len()));
                }
            }
            if deleted != before.deleted.is_some() {
                params.push(Box::new(deleted));
                sets.push(format!("deleted = ${}", params.len()));
            }
            params.push(Box::new(stamps));
            sets.push(format!("field_hlcs = ${}", params.len()));
            let sql = format!("UPDATE trenddojo.{} SET {} WHERE id = $1", t.name, sets.join(", "));
            let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                params.iter().map(|p| p.as_ref() as _).collect();
            tx.execute(&sql, &refs).await?;
        }
    }
    Ok(())
}
