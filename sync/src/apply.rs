//! Applying pulled rows to the local store, so that every commit is consistent and no row blocks another.
//!
//! Rows are applied in local transactions of at most [`TX_BUDGET`], with the outbox and clock triggers held
//! off (`sync_apply_guard`: a pulled row is not a local edit). A row the device never had is inserted as it
//! came; a known one is merged field by field and written with the merged stamps, each field keeping its
//! base when its local value won (it is still an unsynced edit) and losing it when the server's won.
//!
//! Every commit is consistent:
//! - an account's running total (`account_summaries`) moves with each trade row applied, in the same
//!   transaction (the delta of its net P&L), so `db check` agrees with the trades at every commit;
//! - trades whose rows arrived before all their executions did are listed in `sync_pending_trades` until
//!   the pull's last transaction recomputes them (`db check` reports them as a download to finish, not as
//!   damage).
//!
//! No row blocks the others. The fast path inserts with `INSERT OR ROLLBACK` and checks foreign keys at
//! commit: one failing row rolls the whole transaction back. The same work is then done again *carefully*:
//! row by row under a savepoint, foreign keys checked per statement; a row that still fails is kept aside
//! in `sync_quarantine` with its reason and its state (to be applied again after the next pull), and
//! the rest goes in. The same holds for recomputing a trade.

use std::collections::BTreeMap;

use rusqlite::OptionalExtension;
use serde_json::Value;
use trenddojo_domain::money::Money;
use trenddojo_store::sql::Value as Sql;
use trenddojo_store::{StoreError, Tx};
use uuid::Uuid;

use crate::convert::{from_local, local_from_pg, parse_stamp, to_local};
use crate::decide::{is_conflict, pulled_action, Meeting, PulledAction};
use crate::hlc::Hlc;
use crate::local::{local_row, put_stamp, sql_err, write_stamps, LocalRow, StampEntry};
use crate::merge::{Field, RowState};
use crate::plan::Plan;
use crate::quarantine;
use crate::tables::{self, Column, Direction};
use crate::SyncError;

/// How long one local transaction of a pull may hold the store's writer: the app's own writes wait at
/// most about this long (plus one row or one small group of trades, and the commit). Work is cut by
/// time, not by count, because a row's cost varies tenfold between tables and grows with the store.
pub const TX_BUDGET: std::time::Duration = std::time::Duration::from_millis(40);

/// Recomputes the derived data of trades (their rows or executions arrived); returns their accounts.
pub type RefreshTrades = dyn Fn(&Tx<'_>, &[Uuid]) -> Result<Vec<Uuid>, SyncError> + Sync;

/// Rebuilds the running totals of accounts, once their trades are recomputed.
pub type RefreshAccounts = dyn Fn(&Tx<'_>, &[Uuid]) -> Result<(), SyncError> + Sync;

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

/// The field stamps of a pulled row. A row written in one go (the usual case) has one stamp for all its
/// fields, kept once.
#[derive(Debug, Clone)]
pub(crate) enum Stamps {
    Uniform(Hlc),
    /// One per column of the table's [`Plan`], in order.
    PerField(Vec<Hlc>),
}

/// A pulled row: its table, id, column values as the local store keeps them (in [`Plan`] order), field
/// stamps and tombstone stamp.
#[derive(Debug, Clone)]
pub(crate) struct Pulled {
    pub plan: &'static Plan,
    pub id: Uuid,
    pub values: Vec<Sql>,
    pub stamps: Stamps,
    /// The base of each field's write, in [`Plan`] order (empty when none is recorded: the usual case).
    pub bases: Vec<Option<Hlc>>,
    pub deleted: Option<Hlc>,
}

impl Pulled {
    fn stamp(&self, i: usize) -> &Hlc {
        match &self.stamps {
            Stamps::Uniform(h) => h,
            Stamps::PerField(v) => v.get(i).unwrap_or(&v[0]),
        }
    }

    /// The row as the merge sees it (only rows this device already has are merged).
    pub fn state(&self) -> RowState {
        let mut state = RowState::default();
        for (i, (col, v)) in self.plan.cols.iter().zip(&self.values).enumerate() {
            state.fields.insert(
                col.name.to_string(),
                Field {
                    value: from_local(v.clone(), col.kind),
                    hlc: self.stamp(i).clone(),
                    base: self.bases.get(i).cloned().flatten(),
                },
            );
        }
        state.deleted = self.deleted.clone();
        state
    }

    /// A row kept aside, as a pulled row again (its state was saved as JSON).
    pub fn from_state(plan: &'static Plan, id: Uuid, state: &RowState) -> Result<Pulled, SyncError> {
        let mut values = Vec::with_capacity(plan.cols.len());
        let mut stamps = Vec::with_capacity(plan.cols.len());
        let mut bases = Vec::with_capacity(plan.cols.len());
        for c in &plan.cols {
            let f = state.fields.get(c.name);
            values.push(to_local(plan.table.name, c, f.map(|f| &f.value).unwrap_or(&Value::Null))?);
            stamps.push(f.map(|f| f.hlc.clone()).unwrap_or_else(Hlc::zero));
            bases.push(f.and_then(|f| f.base.clone()));
        }
        Ok(Pulled { plan, id, values, stamps: Stamps::PerField(stamps), bases, deleted: state.deleted.clone() })
    }

    /// The trade whose derived data this row feeds: a trade itself, or an execution's trade.
    pub fn trade(&self) -> Option<Uuid> {
        if self.plan.table.name == "trades" {
            return Some(self.id);
        }
        match self.plan.trade_id.map(|i| &self.values[i]) {
            Some(Sql::Text(s)) => Uuid::parse_str(s).ok(),
            _ => None,
        }
    }

    pub fn newest_stamp(&self) -> Option<&Hlc> {
        let fields = match &self.stamps {
            Stamps::Uniform(h) => Some(h),
            Stamps::PerField(v) => v.iter().max(),
        };
        fields.max(self.deleted.as_ref())
    }
}

/// A server row read with its plan's `pull` SQL, converted straight to local values (no JSON in between: a
/// first download does this for every column of every row).
pub(crate) fn pulled(plan: &'static Plan, row: &tokio_postgres::Row) -> Result<Pulled, SyncError> {
    let cols = &plan.cols;
    let mut values = Vec::with_capacity(cols.len());
    let mut id = None;
    for (i, c) in cols.iter().enumerate() {
        if c.name == "id" {
            id = row.try_get::<_, Option<Uuid>>(i)?;
        }
        values.push(local_from_pg(row, i, c.kind)?);
    }
    let id = id.ok_or_else(|| SyncError::invalid(format!("{}.id", plan.table.name), "missing"))?;
    let json: Value = row.try_get(cols.len() + 1)?;
    let raw = |f: &str| json.get(f).and_then(Value::as_str);
    let first = cols.first().and_then(|c| raw(c.name));
    let stamps = if cols.iter().all(|c| raw(c.name) == first) {
        Stamps::Uniform(parse_stamp(first))
    } else {
        Stamps::PerField(cols.iter().map(|c| parse_stamp(raw(c.name))).collect())
    };
    let deleted = if row.try_get::<_, bool>(cols.len())? { Some(parse_stamp(raw("deleted"))) } else { None };
    // Bases are recorded only for fields edited after the row was created, so most rows have none.
    let bases: Vec<Option<Hlc>> = if json.as_object().is_some_and(|m| m.keys().any(|k| k.ends_with('^'))) {
        cols.iter().map(|c| crate::convert::base_of(&json, c.name)).collect()
    } else {
        Vec::new()
    };
    Ok(Pulled { plan, id, values, stamps, bases, deleted })
}

/// What one applied row changes in an account's running total: the live net P&L of a trade row before
/// and after.
fn trade_net(values: impl Fn(&str) -> Option<Value>, deleted: bool) -> Option<(Uuid, Money)> {
    if deleted {
        return None;
    }
    let account = values("account_id")?.as_str().and_then(|s| Uuid::parse_str(s).ok())?;
    let net = values("net_pnl")?.as_str().and_then(|s| Money::parse("net_pnl", s).ok())?;
    Some((account, net))
}

/// Per-account deltas of the running realized total, gathered while rows are applied in one transaction
/// and written before it commits.
#[derive(Debug, Default)]
struct Deltas(BTreeMap<Uuid, Money>);

impl Deltas {
    fn add(&mut self, account: Uuid, amount: Money, sign_negative: bool) -> Result<(), SyncError> {
        let slot = self.0.entry(account).or_insert_with(Money::zero);
        let amount = if sign_negative { amount.checked_neg() } else { amount };
        *slot = slot.checked_add(amount).ok_or_else(|| SyncError::invalid("net_pnl", "the account total overflows"))?;
        Ok(())
    }

    fn write(self, tx: &Tx<'_>) -> Result<(), SyncError> {
        for (account, delta) in self.0 {
            trenddojo_store::trades::add_realized(tx, account, delta)?;
        }
        Ok(())
    }
}

/// How rows are applied in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `INSERT OR ROLLBACK`, foreign keys at commit: one bad row fails the transaction.
    Fast,
    /// Row by row under savepoints, foreign keys per statement: a bad row is kept aside.
    Careful,
}

/// What applying rows counted, and who "I" am: this device's part of clock stamps.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub mine: String,
    pub conflicts: usize,
    pub quarantined: usize,
}

/// A row this device has never had: merging it with nothing gives the row itself, with no conflict, so
/// it is inserted as it came. Its stamps are synced ones (base `None`).
fn insert_new(tx: &Tx<'_>, p: &Pulled, mode: Mode) -> Result<(), SyncError> {
    let deleted = Sql::Integer(i64::from(p.deleted.is_some()));
    let sql = if mode == Mode::Fast { &p.plan.insert } else { &p.plan.insert_checked };
    tx.prepare_cached(sql)
        .map_err(sql_err)?
        .execute(rusqlite::params_from_iter(p.values.iter().chain(std::iter::once(&deleted))))
        .map_err(sql_err)?;
    let mut stamps: Vec<StampEntry<'_>> =
        p.plan.cols.iter().enumerate().map(|(i, c)| (c.name, p.stamp(i), None)).collect();
    if let Some(d) = &p.deleted {
        stamps.push(("deleted", d, None));
    }
    write_stamps(tx, p.plan.table.name, &p.id.to_string(), &stamps)
}

/// Merge a pulled row into the local copy; log the conflicts that are real (see
/// [`crate::decide::is_conflict`]); write the merged row with its stamps. Returns the trade-total change:
/// (account, old net) removed and (account, new net) added.
fn merge_into(
    tx: &Tx<'_>,
    p: &Pulled,
    local: &LocalRow,
    tally: &mut Tally,
    deltas: &mut Deltas,
) -> Result<(), SyncError> {
    let plan = p.plan;
    let t = plan.table;
    let PulledAction::Write(merged) = pulled_action(Some(&local.state), &p.state()) else { return Ok(()) };
    for o in &merged.overridden {
        let Some(mine) = local.state.fields.get(&o.field) else { continue };
        if is_conflict(Meeting::Pull, o, mine, local.base(&o.field).is_some(), &tally.mine) {
            tally.conflicts += usize::from(crate::status::log_conflict(tx, t.name, p.id, o)?);
        }
    }
    let mut row = merged.row;
    // A row's creation time never changes on the server once the row exists (the first push sets it): a
    // row two devices created with the same id (a derived id, such as the same statement imported on both
    // while offline) takes the server's, or each device would keep its own.
    if let Some(server) = p.state().fields.get("created_at") {
        row.fields.insert("created_at".to_string(), server.clone());
    }
    if row == local.state {
        return Ok(());
    }
    if t.name == "trades" {
        let get = |s: &RowState, f: &str| s.fields.get(f).map(|x| x.value.clone());
        if let Some((a, net)) = trade_net(|f| get(&local.state, f), local.state.deleted.is_some()) {
            deltas.add(a, net, true)?;
        }
        if let Some((a, net)) = trade_net(|f| get(&row, f), row.deleted.is_some()) {
            deltas.add(a, net, false)?;
        }
    }
    let value = |c: &Column| to_local(t.name, c, row.fields.get(c.name).map(|f| &f.value).unwrap_or(&Value::Null));
    let mut vals: Vec<Sql> = vec![Sql::Text(p.id.to_string())];
    for c in plan.cols.iter().filter(|c| c.name != "id") {
        vals.push(value(c)?);
    }
    vals.push(Sql::Integer(i64::from(row.deleted.is_some())));
    tx.prepare_cached(&plan.update).map_err(sql_err)?.execute(rusqlite::params_from_iter(vals)).map_err(sql_err)?;
    // The stamps are the merged ones; a field whose local (unsynced) value won keeps its base.
    let id = p.id.to_string();
    tx.prepare_cached("DELETE FROM sync_field_clock WHERE table_name = ?1 AND row_id = ?2")
        .map_err(sql_err)?
        .execute([t.name, id.as_str()])
        .map_err(sql_err)?;
    let base_of = |f: &str, h: &Hlc| -> Option<&str> {
        local.state.fields.get(f).filter(|l| &l.hlc == h).and_then(|_| local.base(f))
    };
    let mut stamps: Vec<StampEntry<'_>> =
        row.fields.iter().map(|(f, v)| (f.as_str(), &v.hlc, base_of(f, &v.hlc))).collect();
    if let Some(d) = &row.deleted {
        let base = local.state.deleted.as_ref().filter(|l| *l == d).and_then(|_| local.base("deleted"));
        stamps.push(("deleted", d, base));
    }
    write_stamps(tx, t.name, &id, &stamps)
}

/// Apply one pulled row.
fn apply_row(tx: &Tx<'_>, p: &Pulled, mode: Mode, tally: &mut Tally, deltas: &mut Deltas) -> Result<(), SyncError> {
    match local_row(tx, p.plan.table, p.id)? {
        None => {
            insert_new(tx, p, mode)?;
            if p.plan.table.name == "trades" {
                let get = |f: &str| {
                    p.plan
                        .cols
                        .iter()
                        .position(|c| c.name == f)
                        .map(|i| from_local(p.values[i].clone(), p.plan.cols[i].kind))
                };
                if let Some((a, net)) = trade_net(get, p.deleted.is_some()) {
                    deltas.add(a, net, false)?;
                }
            }
            Ok(())
        }
        Some(local) => merge_into(tx, p, &local, tally, deltas),
    }
}

/// Whether a failure while applying one row is that row's fault (a constraint, a value the column cannot
/// hold, a rule) rather than the store's (IO, a full disk, damage): only the former is kept aside.
pub(crate) fn row_level_local(e: &SyncError) -> bool {
    match e {
        SyncError::Invalid { .. } | SyncError::BadHlc(_) => true,
        SyncError::Store(StoreError::Sqlite(s)) => {
            s.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
        }
        SyncError::Store(StoreError::Domain(_) | StoreError::Invalid { .. } | StoreError::NotFound { .. }) => true,
        _ => false,
    }
}

/// Why a row failed, in words: a missing parent is named (the usual case: the parent was kept aside, or
/// was never received), else the error itself.
fn reason(tx: &Tx<'_>, p: &Pulled, e: &SyncError) -> String {
    const PARENTS: &[(&str, &str, &str)] = &[
        ("account_id", "accounts", "account"),
        ("trade_id", "trades", "trade"),
        ("template_id", "trade_checklist_templates", "checklist"),
        ("item_id", "trade_checklist_items", "checklist item"),
    ];
    for (col, table, what) in PARENTS {
        let Some(i) = p.plan.cols.iter().position(|c| c.name == *col) else { continue };
        let Sql::Text(parent) = &p.values[i] else { continue };
        let here: Option<i64> = tx
            .query_row(&format!("SELECT 1 FROM {table} WHERE id = ?1"), [parent], |r| r.get(0))
            .optional()
            .unwrap_or(Some(1));
        if here.is_none() {
            let aside = quarantine::is_kept_aside(tx, table, parent).unwrap_or(false);
            return format!(
                "its {what} {parent} is not on this device{}",
                if aside { " (it is kept aside too)" } else { "" }
            );
        }
    }
    e.to_string()
}

/// Apply `p` carefully: under a savepoint, kept aside (with its reason) if it fails for a reason of its
/// own. Returns whether it went in.
fn apply_careful(tx: &Tx<'_>, p: &Pulled, tally: &mut Tally, deltas: &mut Deltas) -> Result<bool, SyncError> {
    tx.execute_batch("SAVEPOINT pulled_row").map_err(sql_err)?;
    let mut row_deltas = Deltas::default();
    match apply_row(tx, p, Mode::Careful, tally, &mut row_deltas) {
        Ok(()) => {
            tx.execute_batch("RELEASE pulled_row").map_err(sql_err)?;
            for (a, d) in row_deltas.0 {
                deltas.add(a, d, false)?;
            }
            quarantine::clear(tx, p.plan.table.name, p.id, quarantine::Direction::Pull)?;
            Ok(true)
        }
        Err(e) if row_level_local(&e) => {
            tx.execute_batch("ROLLBACK TO pulled_row; RELEASE pulled_row").map_err(sql_err)?;
            let why = reason(tx, p, &e);
            quarantine::keep_pulled(tx, p.plan.table.name, p.id, &p.state(), &why)?;
            tally.quarantined += 1;
            Ok(false)
        }
        Err(e) => {
            let _ = tx.execute_batch("ROLLBACK TO pulled_row; RELEASE pulled_row");
            Err(e)
        }
    }
}

/// Run `f` with the outbox and clock triggers held off: a pull's writes (its rows and the derived data
/// recomputed from them) are not local edits. The guard row lives inside `tx` only, so no other
/// connection ever sees it and a crash rolls it back. In the fast mode foreign keys are checked at
/// commit, so a multi-row apply needs no per-statement undo journal for them.
fn guarded<T>(tx: &Tx<'_>, mode: Mode, f: impl FnOnce() -> Result<T, SyncError>) -> Result<T, SyncError> {
    let defer = if mode == Mode::Fast { "ON" } else { "OFF" };
    tx.execute_batch(&format!(
        "PRAGMA defer_foreign_keys = {defer}; INSERT OR IGNORE INTO sync_apply_guard (one) VALUES (1);"
    ))
    .map_err(sql_err)?;
    let out = f()?;
    tx.execute("DELETE FROM sync_apply_guard", []).map_err(sql_err)?;
    Ok(out)
}

/// What is left of a pull's local work: rows to apply, then trades to recompute, then the accounts those
/// trades belong to. Done in transactions of at most [`TX_BUDGET`] each; the one that finishes also moves
/// the cursor (so a pull cut off anywhere is repeated, and repeats as a no-op for what got in).
#[derive(Debug, Clone)]
pub(crate) struct Work<'a> {
    pub rows: &'a [Pulled],
    pub trades: &'a [Uuid],
    pub accounts: Vec<Uuid>,
    /// Trades whose recomputed derived data was queued to push (see [`publish_derived`]).
    pub published: usize,
    /// Whether the trades to recompute come in this work (the last part of a pull, or a reset); a step
    /// that ends before them leaves the trades it touched listed as pending.
    pub finishes: bool,
}

impl<'a> Work<'a> {
    pub fn new(rows: &'a [Pulled], trades: &'a [Uuid], finishes: bool) -> Work<'a> {
        Work { rows, trades, accounts: Vec::new(), published: 0, finishes }
    }

    pub fn done(&self) -> bool {
        self.rows.is_empty() && self.trades.is_empty()
    }

    /// One budgeted step inside `tx`. Rows first; trades only once every row is in (a trade is
    /// recomputed once, with all of its executions). In [`Mode::Careful`], a row or a trade that fails
    /// for a reason of its own is kept aside and the step goes on.
    pub fn step(
        &mut self,
        tx: &Tx<'_>,
        mode: Mode,
        tally: &mut Tally,
        refresh: Option<&Refresh<'_>>,
        budget: std::time::Duration,
    ) -> Result<(), SyncError> {
        let start = std::time::Instant::now();
        let mut recomputed = Vec::new();
        let mut deltas = Deltas::default();
        let mut touched = Vec::new();
        guarded(tx, mode, || {
            while let Some((p, rest)) = self.rows.split_first() {
                let applied = match mode {
                    Mode::Fast => apply_row(tx, p, mode, tally, &mut deltas).map(|()| true)?,
                    Mode::Careful => apply_careful(tx, p, tally, &mut deltas)?,
                };
                if applied {
                    touched.extend(p.trade());
                }
                self.rows = rest;
                if !self.done() && start.elapsed() >= budget {
                    break;
                }
            }
            std::mem::take(&mut deltas).write(tx)?;
            if let (true, true, Some(refresh)) = (self.rows.is_empty(), self.finishes, refresh) {
                self.recompute(tx, mode, tally, refresh, start, budget, &mut recomputed)?;
            }
            if self.finishes && self.done() {
                trenddojo_store::trades::clear_awaiting_download(tx)?;
            } else {
                // The trades these rows feed are recomputed by a later transaction (the pull's last): until
                // then their summaries are the server's, and `db check` knows why.
                trenddojo_store::trades::mark_awaiting_download(tx, &touched)?;
            }
            Ok(())
        })?;
        self.published += recomputed.len();
        publish_derived(tx, &recomputed)
    }

    /// Recompute the trades to recompute (each once, all its executions in), then their accounts' totals
    /// once the last trade is done; stops early when the budget is spent.
    #[allow(clippy::too_many_arguments, reason = "one step's state, passed down from `step`")]
    fn recompute(
        &mut self,
        tx: &Tx<'_>,
        mode: Mode,
        tally: &mut Tally,
        refresh: &Refresh<'_>,
        start: std::time::Instant,
        budget: std::time::Duration,
        recomputed: &mut Vec<Uuid>,
    ) -> Result<(), SyncError> {
        while let Some((&id, rest)) = self.trades.split_first() {
            // Nothing is written when the recomputed data equals what arrived (the usual case).
            let before = tx.total_changes();
            match mode {
                Mode::Fast => self.accounts.extend((refresh.trades)(tx, &[id])?),
                Mode::Careful => {
                    tx.execute_batch("SAVEPOINT recompute").map_err(sql_err)?;
                    match (refresh.trades)(tx, &[id]) {
                        Ok(accounts) => {
                            tx.execute_batch("RELEASE recompute").map_err(sql_err)?;
                            self.accounts.extend(accounts);
                        }
                        Err(e) if row_level_local(&e) => {
                            tx.execute_batch("ROLLBACK TO recompute; RELEASE recompute").map_err(sql_err)?;
                            quarantine::keep_recompute(tx, id, &e.to_string())?;
                            tally.quarantined += 1;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            if tx.total_changes() != before {
                recomputed.push(id);
            }
            self.trades = rest;
            // Once the last trade is done the accounts follow in this transaction: `done` says so.
            if !self.trades.is_empty() && start.elapsed() >= budget {
                return Ok(());
            }
        }
        self.accounts.sort();
        self.accounts.dedup();
        (refresh.accounts)(tx, &self.accounts)
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
pub fn publish_derived(tx: &Tx<'_>, trades: &[Uuid]) -> Result<(), SyncError> {
    let derived = |table: &str| -> Vec<&'static str> {
        tables::table(table)
            .map(|t| t.columns.iter().filter(|c| c.direction == Direction::Derived).map(|c| c.name).collect())
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
            // A fill created here and not pushed yet (kept aside, or written during this round) may have no
            // clock entry: its other fields keep their unsynced creation stamp.
            if let Some(t) = tables::table(table) {
                crate::local::materialize_stamp(tx, t, &row, None)?;
            }
            for field in fields {
                put_stamp(tx, table, &row, field, &tx.hlc, None)?;
            }
            // A `derived` change-log entry: queued for upload, and on record as a change the merge made.
            tx.prepare_cached(&format!(
                "INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes) \
                 SELECT ?1, user_id, '{table}', id, 'derived', 1, ?2, ?3 FROM {table} WHERE id = ?4"
            ))
            .map_err(sql_err)?
            .execute(rusqlite::params![tx.now, tx.hlc, serde_json::to_string(fields).unwrap_or_default(), row])
            .map_err(sql_err)?;
        }
    }
    Ok(())
}

/// The trades whose rows or executions are among `rows`, each once.
pub(crate) fn touched_trades<'a>(rows: impl IntoIterator<Item = &'a Pulled>) -> Vec<Uuid> {
    let mut trades: Vec<Uuid> = rows.into_iter().filter_map(Pulled::trade).collect();
    trades.sort();
    trades.dedup();
    trades
}
