//! The device half of a push: read the outbox, send it in batches, acknowledge what the server took, keep
//! aside what it refused.
//!
//! The outbox is a cursor over the store's append-only `change_log` (local V10): the entries marked
//! `push` after the user's read mark. They become mutations (the row's current values with each field's
//! stamp), numbered by their log `seq`, sent in batches of [`BATCH`] (`server_push::push_batch`). Two
//! marks per user: `acknowledged`, the last number the server confirmed (what a batch declares it follows,
//! so a server that lost data is caught), and `outbox_read`, the last entry dealt with (confirmed, or its
//! row kept aside). After the server commits a batch, one local transaction moves both marks, marks the
//! pushed fields synced, logs the conflicts that were real, and records which server versions hold only
//! this device's rows (the pull leaves them out). Nothing is deleted: the log is the audit trail. A crash
//! in between leaves the marks; the next push is recognised as a duplicate and acknowledged without being
//! applied twice.
//!
//! A batch the server refuses because of one row (a constraint, a tier limit: `SyncError::Rejected`) is
//! split in halves and sent again, until the refused row is alone; that row is kept aside
//! (`quarantine`) and the read mark moves past it, while every other row goes through. A batch of 500
//! with one bad row costs about 18 more exchanges, once. A later change to that row (or a requeue) is a
//! new entry after the mark, so it is tried again.

use std::collections::HashMap;

use trenddojo_store::{Store, Tx};
use uuid::Uuid;

use crate::crash::crash_point;
use crate::decide::{batch_is_own, is_conflict, rows_to_push, Meeting, OutboxEntry, RowToPush};
use crate::local::{get_i64, local_row, mark_synced, set_state, skip_own_versions, sql_err, state_key, LocalRow};
use crate::net::Server;
use crate::quarantine;
use crate::round::Report;
use crate::server_push::{push_batch, Mutation, PushOutcome};
use crate::SyncError;

/// Rows per pushed batch.
pub const BATCH: usize = 500;

/// A row ready to push: what the outbox said, and the row as it is here.
#[derive(Debug, Clone)]
struct Prepared {
    row: RowToPush,
    local: LocalRow,
}

impl Prepared {
    fn mutation(&self) -> Mutation {
        Mutation {
            number: self.row.number,
            table: self.row.table.name.to_string(),
            id: self.row.id,
            row: self.local.state.clone(),
        }
    }
}

/// One batch read from the outbox.
struct Batch {
    /// The acknowledged mark (the server's) when it was read.
    after: i64,
    /// Entries read (a full batch means there may be more), and the last one's number.
    read: usize,
    last_seq: i64,
    rows: Vec<Prepared>,
}

/// The change-log entries of `user` to push after the read mark, oldest first (at most `limit`).
const OUTBOX: &str = "SELECT seq, table_name, row_id FROM change_log WHERE seq > ?1 AND push = 1 AND user_id = ?2 \
                      ORDER BY seq LIMIT ?3";

/// Where reading the outbox starts: after the last entry dealt with (confirmed by the server or kept
/// aside), never before the server's mark.
fn read_mark(c: &trenddojo_store::Connection, user: Uuid) -> Result<(i64, i64), SyncError> {
    let acknowledged = get_i64(c, &state_key(user, "acknowledged"))?;
    let read = get_i64(c, &state_key(user, "outbox_read"))?;
    Ok((acknowledged, read.max(acknowledged)))
}

/// Move the read mark up to `seq` (never back).
fn advance_read(tx: &Tx<'_>, user: Uuid, seq: i64) -> Result<(), SyncError> {
    let key = state_key(user, "outbox_read");
    if get_i64(tx, &key)? < seq {
        set_state(tx, &key, &seq.to_string())?;
    }
    Ok(())
}

fn read_batch(store: &Store, user: Uuid) -> Result<Batch, SyncError> {
    store.read(|c| {
        let (after, from) = read_mark(c, user)?;
        let mut st = c.prepare_cached(OUTBOX).map_err(sql_err)?;
        let entries: Vec<OutboxEntry> = st
            .query_map(rusqlite::params![from, user.to_string(), BATCH as i64], |r| {
                Ok(OutboxEntry { seq: r.get(0)?, table: r.get(1)?, row: r.get(2)? })
            })
            .map_err(sql_err)?
            .collect::<Result<_, _>>()
            .map_err(sql_err)?;
        let read = entries.len();
        let last_seq = entries.last().map_or(from, |e| e.seq);
        let mut rows = Vec::new();
        for row in rows_to_push(&entries) {
            // Rows of other users of this store go out when that user syncs.
            if let Some(local) = local_row(c, row.table, row.id)? {
                if local.owner == Some(user) {
                    rows.push(Prepared { row, local });
                }
            }
        }
        Ok(Batch { after, read, last_seq, rows })
    })
}

/// How many local changes of `user` wait to be pushed (entries of other local users are not counted:
/// they go out when that user syncs): the unread outbox entries of the tables this build syncs, counted in
/// one pass over the change log. An entry whose row was removed since (rare: synced rows are deleted by
/// tombstone) is counted until the next push reads past it. The status shows this number after every
/// unlock; reading each entry's row and stamps instead, as a push does, took 12.6 s with 600,000 unpushed
/// entries (100,000 imported trades).
pub fn pending(store: &Store, user: Uuid) -> Result<usize, SyncError> {
    store.read(|c| {
        let (_, from) = read_mark(c, user)?;
        let names: Vec<String> = crate::tables::TABLES.iter().map(|t| format!("'{}'", t.name)).collect();
        let sql = format!(
            "SELECT count(*) FROM change_log WHERE seq > ?1 AND push = 1 AND user_id = ?2 AND table_name IN ({})",
            names.join(", ")
        );
        let n: i64 = c
            .prepare_cached(&sql)
            .map_err(sql_err)?
            .query_row(rusqlite::params![from, user.to_string()], |r| r.get(0))
            .map_err(sql_err)?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    })
}

/// This device's sync id: the store's device id (a UUID), stable for the life of the store.
pub fn device_uuid(store: &Store) -> Result<Uuid, SyncError> {
    Uuid::parse_str(store.device_id()).map_err(|_| SyncError::invalid("device", "the store has no device id"))
}

/// Push every pending local change of `user`, in batches.
pub(crate) async fn push(store: &Store, server: &mut Server, user: Uuid, report: &mut Report) -> Result<(), SyncError> {
    let device = device_uuid(store)?;
    let total = if server.progress.is_some() { u64::try_from(pending(store, user)?).unwrap_or(u64::MAX) } else { 0 };
    let start = report.pushed + report.duplicates;
    loop {
        let batch = read_batch(store, user)?;
        if batch.rows.is_empty() {
            report.acknowledged = batch.after;
            if batch.read == 0 {
                break;
            }
            // Entries of rows that are gone or that this build does not sync: nothing to send, so the read
            // mark moves past them (the server's does not).
            store.write(|tx| advance_read(tx, user, batch.last_seq))?;
            continue;
        }
        send(store, server, device, user, batch.after, &batch.rows, report).await?;
        let done = u64::try_from((report.pushed + report.duplicates).saturating_sub(start)).unwrap_or(u64::MAX);
        server.report(crate::progress::Step::Upload { done: done.min(total), total });
        if batch.read < crate::outbox::BATCH {
            break;
        }
    }
    // The end, whatever was kept aside on the way: a bar that shows the upload closes.
    if total > 0 {
        server.report(crate::progress::Step::Upload { done: total, total });
    }
    Ok(())
}

/// Send `rows` (ascending numbers), splitting around rows the server refuses.
async fn send(
    store: &Store,
    server: &mut Server,
    device: Uuid,
    user: Uuid,
    mut after: i64,
    rows: &[Prepared],
    report: &mut Report,
) -> Result<(), SyncError> {
    // Parts still to send, in order: a refused part is replaced by its two halves.
    let mut parts: Vec<&[Prepared]> = vec![rows];
    while let Some(part) = parts.pop() {
        let mutations: Vec<Mutation> = part.iter().map(Prepared::mutation).collect();
        crash_point("push:before-send");
        match push_batch(&mut server.client, &server.limits, device, after, &mutations).await {
            Ok(out) => {
                crash_point("push:after-server-commit");
                let last = part.last().map_or(after, |p| p.row.number);
                acknowledge(store, user, part, last, &out, report)?;
                crash_point("push:after-local-ack");
                after = last;
                report.pushed += out.applied;
                report.duplicates += out.duplicates;
                report.acknowledged = last;
            }
            Err(SyncError::Rejected { code, message }) => match part {
                [one] => keep_aside(store, user, one, &code, &message)?,
                _ => {
                    let (first, second) = part.split_at(part.len() / 2);
                    parts.push(second);
                    parts.push(first);
                }
            },
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The server committed `part`: drop its entries, move the mark, mark the pushed fields synced, log the
/// conflicts that were real, and note whether the batch's versions are the device's own.
fn acknowledge(
    store: &Store,
    user: Uuid,
    part: &[Prepared],
    last: i64,
    out: &PushOutcome,
    report: &mut Report,
) -> Result<(), SyncError> {
    let logged = store.write(|tx| {
        set_state(tx, &state_key(user, "acknowledged"), &last.to_string())?;
        advance_read(tx, user, last)?;
        let clear_aside = quarantine::any_pushed(tx)?;
        for p in part {
            if let Some(newest) =
                p.local.state.fields.values().map(|f| &f.hlc).chain(p.local.state.deleted.as_ref()).max()
            {
                mark_synced(tx, p.row.table, p.row.id, newest)?;
            }
            if clear_aside {
                quarantine::clear(tx, p.row.table.name, p.row.id, quarantine::Direction::Push)?;
            }
        }
        // The versions this batch took hold only its own rows (dense) and each of them merged into a
        // server row this device already had (or is new): the device has exactly what they hold, so the
        // pull skips them instead of downloading them back.
        let cursor = get_i64(tx, &state_key(user, "cursor"))?;
        if batch_is_own(out.version_before, out.version_after, out.written, out.newest_merged, cursor) {
            skip_own_versions(tx, user, out.version_before, out.version_after)?;
        }
        log_push_conflicts(tx, part, out)
    })?;
    report.conflicts += logged;
    Ok(())
}

/// Log the values the server's merge replaced that are real conflicts from this device's point of view.
fn log_push_conflicts(tx: &Tx<'_>, part: &[Prepared], out: &PushOutcome) -> Result<usize, SyncError> {
    let rows: HashMap<(&str, Uuid), &LocalRow> =
        part.iter().map(|p| ((p.row.table.name, p.row.id), &p.local)).collect();
    let mut n = 0;
    for c in &out.conflicts {
        let Some(local) = rows.get(&(c.table.as_str(), c.id)) else { continue };
        let Some(mine) = local.state.fields.get(&c.overridden.field) else { continue };
        if is_conflict(Meeting::Push, &c.overridden, mine, local.base(&c.overridden.field).is_some(), "") {
            n += usize::from(crate::status::log_conflict(tx, &c.table, c.id, &c.overridden)?);
        }
    }
    Ok(n)
}

/// The server refused this one row: the read mark moves past its entries (the server's mark does not: it
/// was not applied), and it is kept aside with the server's reason.
///
/// One exception: the tombstone of a row the server never had. A row kept aside because the server would
/// not take it (a tier limit, a parent it does not have) and then deleted here is refused again (the
/// limit counts every trade that arrives, tombstones included, and a child still needs its parent). The
/// server never had that row, so no other device has it either: the user's delete settles it, and it is
/// not kept aside.
fn keep_aside(store: &Store, user: Uuid, p: &Prepared, code: &str, message: &str) -> Result<(), SyncError> {
    let settled_by_delete = p.local.state.deleted.is_some() && matches!(code, "TD001" | "23503");
    store.write(|tx| {
        advance_read(tx, user, p.row.number)?;
        if settled_by_delete {
            return quarantine::clear(tx, p.row.table.name, p.row.id, quarantine::Direction::Push);
        }
        quarantine::keep_pushed(tx, p.row.table.name, p.row.id, user, code, message)
    })
}
