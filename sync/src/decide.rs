//! The engine's decisions as pure functions, apart from the IO that carries them out.
//!
//! A round reads state (the outbox, local rows, the server's answer), *decides* what to do with it here,
//! and then executes those decisions (`outbox`, `pull`, `apply`). Keeping the decisions free of IO is what
//! lets them be tested case by case, the way Atuin's sync computes its operations before running them:
//! which outbox entries form a batch and which entries a push acknowledges, whether a version range is
//! the device's own, which tables a pull reads and in what order, whether a pulled row is new, already
//! here or to be merged, and whether a replaced value is a conflict worth telling the user about.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::hlc::Hlc;
use crate::merge::{merge, Field, Merged, Overridden, RowState};
use crate::tables::{Table, TABLES};

/// One entry of the outbox, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub seq: i64,
    pub table: String,
    pub row: String,
}

/// A row to push: its table and id, its mutation number (its newest entry: a mutation carries the row's
/// current state, so older entries of the same row add nothing), and every entry it acknowledges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowToPush {
    pub table: &'static Table,
    pub id: Uuid,
    pub number: i64,
    pub seqs: Vec<i64>,
}

/// Group a batch of outbox entries into one row to push each, in mutation-number order. Entries of
/// tables this build does not sync, or with a malformed row id, are left out (they stay in the outbox).
pub fn rows_to_push(entries: &[OutboxEntry]) -> Vec<RowToPush> {
    let mut by_row: BTreeMap<(&'static str, Uuid), RowToPush> = BTreeMap::new();
    for e in entries {
        let (Some(table), Ok(id)) = (TABLES.iter().find(|t| t.name == e.table), Uuid::parse_str(&e.row)) else {
            continue;
        };
        let row = by_row.entry((table.name, id)).or_insert(RowToPush { table, id, number: e.seq, seqs: Vec::new() });
        row.number = row.number.max(e.seq);
        row.seqs.push(e.seq);
    }
    let mut rows: Vec<RowToPush> = by_row.into_values().collect();
    rows.sort_by_key(|r| r.number);
    rows
}

/// Which side of a round met two values of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meeting {
    /// The server merged this device's pushed row with its copy.
    Push,
    /// This device merged a pulled row with its own copy.
    Pull,
}

/// Whether a value the merge replaced is a conflict to log on this device.
///
/// A conflict is logged where a device's own edit *lost* to a concurrent one (the winner never saw it);
/// the device whose edit won shows the winning value and logs nothing. `mine` is the field as this device
/// had (or pushed) it, `mine_unsynced` whether that value is an edit of this device not yet acknowledged,
/// `my_device` this device's part of clock stamps.
/// - At a push (the server merged this device's row with its copy): this device's unsynced edit lost to a
///   newer value the device never saw (had it seen it, its own edit would be newer still).
/// - At a pull: the arriving value replaced one this device wrote, and the arriving edit was based on
///   something else (its `base` is not this device's value): it was made without seeing this device's
///   edit. An arriving edit based on this device's value is an ordinary update; one that replaced an
///   unsynced local edit is always concurrent.
pub fn is_conflict(meeting: Meeting, o: &Overridden, mine: &Field, mine_unsynced: bool, my_device: &str) -> bool {
    if o.lost.hlc != mine.hlc {
        return false;
    }
    match meeting {
        Meeting::Push => mine_unsynced,
        Meeting::Pull => {
            mine_unsynced || (mine.hlc.device() == my_device && o.kept.base.as_ref().is_some_and(|b| *b != mine.hlc))
        }
    }
}

/// What a pull does with one row it received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PulledAction {
    /// The device never had it: insert it as it came (merging with nothing gives the row itself).
    Insert,
    /// The device has exactly this, value for value and stamp for stamp (typically its own push).
    Keep,
    /// Merge: write the merged row (and log what `Merged::overridden` reports, where it is a conflict).
    Write(Merged),
}

/// Decide what a pull does with a received row given the local copy (if any).
pub fn pulled_action(local: Option<&RowState>, incoming: &RowState) -> PulledAction {
    let Some(local) = local else { return PulledAction::Insert };
    let merged = merge(local, incoming);
    if &merged.row == local {
        if merged.overridden.is_empty() {
            PulledAction::Keep
        } else {
            // Nothing changes here, but an incoming value lost: the caller may still log it.
            PulledAction::Write(merged)
        }
    } else {
        PulledAction::Write(merged)
    }
}

/// After a push: do the versions `before..=after` the batch took hold only this device's own rows as it
/// has them? True when nobody else wrote in between (`after - before == written`) and every server row
/// the batch merged into was one the device already had (`newest_merged <= cursor`).
pub fn batch_is_own(version_before: i64, version_after: i64, written: u64, newest_merged: i64, cursor: i64) -> bool {
    written > 0 && u64::try_from(version_after - version_before).ok() == Some(written) && newest_merged <= cursor
}

/// Record a range `(after, up_to]` of the device's own versions: a range that starts at or below the
/// cursor moves the cursor (with every recorded range it then reaches); the others are kept for the pull
/// to leave out. Returns the new cursor and the ranges still ahead of it, ascending.
pub fn absorb_own_range(cursor: i64, mut ranges: Vec<(i64, i64)>, new: (i64, i64)) -> (i64, Vec<(i64, i64)>) {
    ranges.push(new);
    ranges.sort_unstable();
    let mut cursor = cursor;
    let mut rest = Vec::new();
    for (lo, hi) in ranges {
        if lo <= cursor {
            cursor = cursor.max(hi);
        } else {
            rest.push((lo, hi));
        }
    }
    (cursor, rest)
}

/// The tables a pull reads, parents first: those the server says changed after the cursor.
pub fn tables_to_pull(changed: &[bool]) -> Vec<&'static Table> {
    TABLES.iter().zip(changed).filter(|(_, c)| **c).map(|(t, _)| t).collect()
}

/// The newest stamp in a set of rows: the device's clock observes it before writing anything, so later
/// local edits order after everything it received.
pub fn newest_stamp<'a>(stamps: impl IntoIterator<Item = &'a Hlc>) -> Option<&'a Hlc> {
    stamps.into_iter().max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn h(ms: u64, dev: &str) -> Hlc {
        Hlc::new(ms, 0, dev).expect("stamp")
    }

    fn f(v: &str, ms: u64, dev: &str) -> Field {
        Field::new(json!(v), h(ms, dev))
    }

    #[test]
    fn a_row_is_pushed_once_numbered_by_its_newest_entry_acknowledging_all() {
        let t = Uuid::now_v7();
        let n = Uuid::now_v7();
        let e = |seq, table: &str, row: &Uuid| OutboxEntry { seq, table: table.into(), row: row.to_string() };
        let rows = rows_to_push(&[
            e(3, "trades", &t),
            e(4, "trade_notes", &n),
            e(7, "trades", &t),
            e(8, "no_such_table", &t),
            OutboxEntry { seq: 9, table: "trades".into(), row: "not-a-uuid".into() },
        ]);
        assert_eq!(rows.len(), 2, "one row per (table, id); unknown tables and bad ids left out: {rows:?}");
        assert_eq!((rows[0].table.name, rows[0].number), ("trade_notes", 4), "in number order");
        assert_eq!((rows[1].number, rows[1].seqs.clone()), (7, vec![3, 7]), "newest number, every entry acked");
    }

    #[test]
    fn only_an_own_edit_losing_to_a_concurrent_one_is_a_conflict() {
        let based = |v: &str, ms: u64, dev: &str, base: &Hlc| Field { base: Some(base.clone()), ..f(v, ms, dev) };
        // Created on A (a1), synced; B edits it (b2, based on a1): when A pulls, no conflict anywhere.
        let a1 = f("ABC", 1, "a");
        let o = Overridden { field: "symbol".into(), kept: based("ABC.X", 2, "b", &a1.hlc), lost: a1.clone() };
        assert!(!is_conflict(Meeting::Pull, &o, &a1, false, "a"), "an edit made after seeing A's value");
        // A edited too (a3, synced) while B, never seeing it, edited again based on a1 (b4): A's edit lost.
        let a3 = f("ABD", 3, "a");
        let o = Overridden { field: "symbol".into(), kept: based("ABE", 4, "b", &a1.hlc), lost: a3.clone() };
        assert!(is_conflict(Meeting::Pull, &o, &a3, false, "a"), "A's own edit lost to a concurrent one");
        assert!(!is_conflict(Meeting::Pull, &o, &a3, false, "c"), "a value another device wrote is not C's loss");
        // The same arriving over an unsynced edit of A: always a conflict.
        assert!(is_conflict(Meeting::Pull, &o, &a3, true, "a"), "an unsynced edit lost");
        // At a push, A's unsynced edit lost to the server's newer value: a conflict; a synced one is not.
        let o = Overridden { field: "symbol".into(), kept: f("ABE", 4, "b"), lost: a3.clone() };
        assert!(is_conflict(Meeting::Push, &o, &a3, true, "a"), "pushed edit lost");
        assert!(
            !is_conflict(Meeting::Push, &o, &a3, false, "a"),
            "a value A had synced long ago lost: not A's edit now"
        );
        // The winner's side never logs.
        let o = Overridden { field: "symbol".into(), kept: a3.clone(), lost: f("ABC.X", 2, "b") };
        assert!(!is_conflict(Meeting::Push, &o, &a3, true, "a"), "A's edit won");
        assert!(!is_conflict(Meeting::Pull, &o, &a3, true, "a"), "A's edit won");
    }

    #[test]
    fn pulled_rows_are_inserted_kept_or_merged() {
        let mut incoming = RowState::default();
        incoming.fields.insert("stop".into(), f("99", 5, "b"));
        assert_eq!(pulled_action(None, &incoming), PulledAction::Insert, "new here");
        assert_eq!(pulled_action(Some(&incoming), &incoming), PulledAction::Keep, "exactly what we have");
        let mut local = RowState::default();
        local.fields.insert("stop".into(), f("98", 3, "a"));
        match pulled_action(Some(&local), &incoming) {
            PulledAction::Write(m) => assert_eq!(m.row.fields["stop"].value, json!("99"), "the newer value"),
            other => panic!("expected a merge, got {other:?}"),
        }
        let mut newer = RowState::default();
        newer.fields.insert("stop".into(), f("97", 9, "a"));
        assert!(
            matches!(pulled_action(Some(&newer), &incoming), PulledAction::Write(ref m) if m.row == newer),
            "a newer local value stays, and the loser is reported"
        );
    }

    #[test]
    fn own_version_ranges_move_the_cursor_or_wait_for_it() {
        assert!(batch_is_own(10, 15, 5, 9, 10), "dense and nothing newer merged");
        assert!(!batch_is_own(10, 16, 5, 9, 10), "someone else wrote in between");
        assert!(!batch_is_own(10, 15, 5, 12, 10), "merged into a row newer than the cursor");
        assert!(!batch_is_own(10, 10, 0, 0, 10), "nothing written");
        assert_eq!(absorb_own_range(10, vec![], (10, 15)), (15, vec![]), "starts at the cursor: moves it");
        assert_eq!(absorb_own_range(10, vec![], (12, 15)), (10, vec![(12, 15)]), "a gap: kept for the pull");
        assert_eq!(absorb_own_range(10, vec![(15, 20)], (10, 15)), (20, vec![]), "reaches a kept range too");
    }

    #[test]
    fn tables_are_pulled_parents_first() {
        let mut changed = vec![false; TABLES.len()];
        let exec = TABLES.iter().position(|t| t.name == "executions").expect("executions");
        let accounts = TABLES.iter().position(|t| t.name == "accounts").expect("accounts");
        changed[exec] = true;
        changed[accounts] = true;
        let order: Vec<&str> = tables_to_pull(&changed).iter().map(|t| t.name).collect();
        assert_eq!(order, ["accounts", "executions"], "only changed tables, parents first");
    }
}
