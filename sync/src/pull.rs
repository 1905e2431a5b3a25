//! The pull: everything after the cursor, from one server snapshot, applied locally in budgeted
//! transactions (`apply`), the cursor moving with the last of them.
//!
//! One read-only REPEATABLE READ transaction on the server: read the user's counter, then every changed
//! synced table's rows with `server_seq > cursor` (outside the device's own ranges), parents first, in
//! keyset pages ([`PULL_CHUNK`] rows, then [`PULL_PAGE_MAX`] after a full page), each page one statement,
//! so nothing lives on the server between two exchanges (poolers). The snapshot holds exactly the
//! versions up to the counter it showed (writers of one user commit in version order, server V5), so the
//! pull reaches that version with no gap. Then the trades whose rows or executions arrived are recomputed
//! once each, and their accounts' totals; the transaction that finishes also moves the cursor. If the pull
//! is cut off (a crash, a stall, Ctrl-C) the cursor has not moved and the next pull applies the same rows
//! again, which the merge makes a no-op.

use tokio_postgres::types::Type;
use tokio_postgres::Client;
use trenddojo_store::Store;
use uuid::Uuid;

use crate::apply::{pulled, touched_trades, Mode, Pulled, Refresh, Tally, Work, TX_BUDGET};
use crate::crash::crash_point;
use crate::decide::tables_to_pull;
use crate::local::{get_i64, own_versions, set_own_versions, set_state, state_key};
use crate::net::{within, Limits, Server};
use crate::plan::{plan, Plan};
use crate::quarantine;
use crate::round::Report;
use crate::tables::TABLES;
use crate::SyncError;

/// Rows read from the server in a table's first page of a pull, and the rows a pull applies per chunk.
pub const PULL_CHUNK: usize = 500;

/// Rows per page after a full one: a large download (a new device, a reset) takes a quarter of the round
/// trips, which is what it waits for over a network (70,000 rows over a 20 ms round-trip link: 6.7 s with
/// pages of 500, 4.5 s with pages of 2,000; on loopback no difference). The usual round brings a few rows
/// and reads one small page as before.
pub const PULL_PAGE_MAX: usize = 2000;

/// The version ranges a pull leaves out (the device's own pushed rows): their lower and upper bounds.
#[derive(Debug, Default)]
pub(crate) struct Own {
    lo: Vec<i64>,
    hi: Vec<i64>,
}

/// One page of a table's changes after version `after`: at most `limit` rows in version order,
/// converted, and whether more may follow (the page was full). A statement of its own, not a portal: a
/// keyset page needs nothing to live on the server between two exchanges, which a transaction pooler
/// cannot promise outside a transaction and no pooler can for a prepared statement. Versions are unique
/// within a user's table (one per row written, server V5/V11), so `server_seq > last` resumes exactly
/// after the previous page. (A user who forges V11's statement-local counter can give two of their own
/// rows one version; a page refuses that when it sees it, and at a page boundary it costs only that
/// user's own row on that user's own device.)
pub(crate) async fn pull_page(
    tx: &tokio_postgres::Transaction<'_>,
    limits: &Limits,
    plan: &'static Plan,
    after: i64,
    own: &Own,
    limit: usize,
) -> Result<(Vec<Pulled>, Option<i64>), SyncError> {
    let full = limit;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = within(
        limits.exchange,
        "the download",
        tx.query_typed(
            &plan.pull,
            &[(&after, Type::INT8), (&own.lo, Type::INT8_ARRAY), (&own.hi, Type::INT8_ARRAY), (&limit, Type::INT8)],
        ),
    )
    .await?;
    let mut page = Vec::with_capacity(rows.len());
    let mut last = after;
    for row in &rows {
        let seq: i64 = row.try_get(plan.cols.len() + 2)?;
        if seq <= last {
            return Err(SyncError::invalid(
                format!("{}.server_seq", plan.table.name),
                format!("versions must ascend strictly within a page ({seq} after {last})"),
            ));
        }
        last = seq;
        page.push(pulled(plan, row)?);
    }
    let more = rows.len() == full;
    Ok((page, more.then_some(last)))
}

/// The server side of a pull or a reset, as it stands at the start of a read-only REPEATABLE READ
/// transaction.
pub(crate) struct Snapshot<'a> {
    pub tx: tokio_postgres::Transaction<'a>,
    /// The user's change version: the snapshot holds exactly the user's versions up to this one
    /// (writers of one user commit in version order, see server V5).
    pub version: i64,
    /// Which synced tables have rows after the given cursor, in [`TABLES`] order: only those are read
    /// (a typical pull touches one or two of the thirteen).
    pub changed: Vec<bool>,
    /// The user's audit chain head in the same snapshot (position, hash), if the chain has begun: what the
    /// server's hash chain says about exactly the rows this pull applies (issue 15, decision 2).
    pub audit_head: Option<(i64, Vec<u8>)>,
}

/// Open the snapshot, and in the same statement read the version and which tables changed after
/// `cursor`, turn sorts off for the transaction, and tell the server to end the session should this
/// device go silent inside it. Each exchange with a server across a network costs a round trip, and one
/// round reaching another device is a chain of them.
///
/// Sorts: pages must come off the (user_id, server_seq) index in order. Right after a large push the
/// server's statistics still describe nearly empty tables, and the planner then sorted everything after
/// the cursor for every page (measured: 70 ms per page of executions at 100k rows, a first download 1.6x
/// slower than through one portal). No query of a pull needs a sort.
pub(crate) async fn snapshot<'a>(
    client: &'a mut Client,
    limits: &Limits,
    user: Uuid,
    cursor: i64,
) -> Result<Snapshot<'a>, SyncError> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        let probes: Vec<String> = TABLES
            .iter()
            .map(|t| format!("EXISTS (SELECT 1 FROM trenddojo.{} WHERE server_seq > $1)", t.name))
            .collect();
        format!(
            "SELECT (SELECT coalesce(max(version), 0) FROM trenddojo.user_versions), ARRAY[{}], \
                    set_config('enable_sort', 'off', true), \
                    set_config('idle_in_transaction_session_timeout', $2, true), \
                    (SELECT last_pos FROM trenddojo.audit_heads WHERE user_id = $3), \
                    (SELECT last_hash FROM trenddojo.audit_heads WHERE user_id = $3)",
            probes.join(", ")
        )
    });
    let tx = within(
        limits.exchange,
        "the start of the download",
        client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start(),
    )
    .await?;
    let row = within(
        limits.exchange,
        "the download",
        tx.query_typed_one(
            sql,
            &[(&cursor, Type::INT8), (&limits.server_idle_setting(), Type::TEXT), (&user, Type::UUID)],
        ),
    )
    .await?;
    let version: i64 = row.try_get(0)?;
    let changed: Vec<bool> = row.try_get(1)?;
    if changed.len() != TABLES.len() {
        return Err(SyncError::invalid("pull", "the server answered for other tables"));
    }
    let audit_head = match (row.try_get::<_, Option<i64>>(4)?, row.try_get::<_, Option<Vec<u8>>>(5)?) {
        (Some(pos), Some(hash)) => Some((pos, hash)),
        _ => None,
    };
    Ok(Snapshot { tx, version, changed, audit_head })
}

/// What the transaction that completes a pull's work also does (move the cursor).
pub(crate) type Finish<'a> = dyn Fn(&trenddojo_store::Tx<'_>) -> Result<(), SyncError> + Sync + 'a;

/// Apply `work` in budgeted transactions until it is done (or, with `until_rows`, until its rows are in),
/// falling back to the careful mode for a transaction whose fast attempt failed because of a row. When
/// `finish` is given, the transaction that completes the work also runs it (moving the cursor).
/// Between transactions the task yields, so a round can be cancelled there (Ctrl-C, the app closing).
pub(crate) async fn run_work(
    store: &Store,
    work: &mut Work<'_>,
    tally: &mut Tally,
    refresh: Option<&Refresh<'_>>,
    until_rows: bool,
    finish: Option<&Finish<'_>>,
) -> Result<(), SyncError> {
    loop {
        if until_rows && work.rows.is_empty() {
            return Ok(());
        }
        let mut mode = Mode::Fast;
        let counted = (tally.conflicts, tally.quarantined);
        let done = loop {
            let mut next = work.clone();
            let attempt = store.write(|tx| {
                next.step(tx, mode, tally, refresh, TX_BUDGET)?;
                let done = next.done();
                if done {
                    if let Some(f) = finish {
                        f(tx)?;
                    }
                }
                Ok::<_, SyncError>(done)
            });
            match attempt {
                Ok(done) => {
                    *work = next;
                    break done;
                }
                Err(e) if mode == Mode::Fast && crate::apply::row_level_local(&e) => {
                    // The fast attempt rolled back: what it counted did not happen.
                    (tally.conflicts, tally.quarantined) = counted;
                    mode = Mode::Careful;
                }
                Err(e) => return Err(e),
            }
        };
        if done {
            return Ok(());
        }
        tokio::task::yield_now().await;
    }
}

/// Let the device's clock see the newest stamp among pulled rows.
pub(crate) fn observe_newest(store: &Store, rows: &[Pulled]) {
    if let Some(h) = rows.iter().filter_map(Pulled::newest_stamp).max() {
        store.observe_clock(h.as_str());
    }
}

/// Pull everything after the cursor (see the module docs). Returns whether derived data was queued to
/// push.
pub(crate) async fn pull(
    store: &Store,
    server: &mut Server,
    user: Uuid,
    refresh: &Refresh<'_>,
    report: &mut Report,
) -> Result<bool, SyncError> {
    let cursor_key = state_key(user, "cursor");
    let (cursor, own) = store.read(|c| Ok::<_, SyncError>((get_i64(c, &cursor_key)?, own_versions(c, user)?)))?;
    let (lo, hi): (Vec<i64>, Vec<i64>) = own.into_iter().unzip();
    let own = Own { lo, hi };
    let mut tally = Tally { mine: trenddojo_store::clock::stamp_device(store.device_id()), ..Tally::default() };
    let limits = server.limits;
    let progress = server.progress.clone();
    let Snapshot { tx, version: target, changed, audit_head } =
        snapshot(&mut server.client, &limits, user, cursor).await?;
    let mut chunk: Vec<Pulled> = Vec::new();
    let mut touched: Vec<Uuid> = Vec::new();
    let mut deleted_accounts: Vec<Uuid> = Vec::new();
    let mut pulled_rows = 0;
    let mut per_table: std::collections::BTreeMap<&'static str, usize> = std::collections::BTreeMap::new();
    if target > cursor {
        for t in tables_to_pull(&changed) {
            let plan = plan(t);
            let mut next = Some(cursor);
            let mut size = PULL_CHUNK;
            // A full chunk waiting to be applied while the next page is fetched: the server reads and
            // sends that page while this device writes the previous one (the fetch is sent first, then the
            // task yields once so the request leaves before the local writes hold the thread).
            let mut ready: Vec<Pulled> = Vec::new();
            loop {
                let fetch = async {
                    match next {
                        Some(after) => pull_page(&tx, &limits, plan, after, &own, size).await.map(Some),
                        None => Ok(None),
                    }
                };
                let apply = async {
                    if ready.is_empty() {
                        return Ok(());
                    }
                    tokio::task::yield_now().await;
                    // The clock sees the newest stamp before the rows land: an app write made between two
                    // of these transactions must be stamped after what it sees.
                    observe_newest(store, &ready);
                    // Applied in parts of the first page's size: a 2,000-row page applied as one piece
                    // held the writer longer (app writes waited up to 54-57 ms, 36-38 ms this way).
                    for part in ready.chunks(PULL_CHUNK) {
                        let mut work = Work::new(part, &[], false);
                        run_work(store, &mut work, &mut tally, None, true, None).await?;
                    }
                    Ok::<_, SyncError>(())
                };
                let (fetched, applied) = tokio::join!(fetch, apply);
                applied?;
                if !ready.is_empty() {
                    touched.extend(touched_trades(&ready));
                    deleted_accounts.extend(ready.iter().filter(|p| is_deleted_account(p)).map(|p| p.id));
                    pulled_rows += ready.len();
                    for p in &ready {
                        *per_table.entry(p.plan.table.name).or_default() += 1;
                    }
                    ready.clear();
                    if let Some(on) = &progress {
                        let done = u64::try_from(pulled_rows).unwrap_or(u64::MAX);
                        on(crate::progress::Step::Download { done, finished: false });
                    }
                }
                let Some((page, more)) = fetched? else { break };
                size = PULL_PAGE_MAX;
                next = more;
                chunk.extend(page);
                if chunk.len() >= PULL_CHUNK {
                    ready = std::mem::take(&mut chunk);
                }
            }
        }
    }
    within(limits.exchange, "the end of the download", tx.commit()).await?;
    crash_point("pull:after-fetch");
    let reached = target.max(cursor);
    touched.extend(touched_trades(&chunk));
    deleted_accounts.extend(chunk.iter().filter(|p| is_deleted_account(p)).map(|p| p.id));
    let arrived = pulled_rows + chunk.len() > 0;
    // Rows kept aside by earlier pulls are tried again after a pull that brought anything (their parent
    // may have come), before the trades are recomputed; so are trades whose recomputation failed.
    let retried: Vec<Pulled> = if arrived { retry_states(store, user)? } else { Vec::new() };
    if arrived {
        touched.extend(touched_trades(&retried));
        touched.extend(store.read(|c| quarantine::recompute_trades(c, user))?);
        // A deleted account's live trades (created on another device meanwhile) now need review.
        for a in &deleted_accounts {
            touched.extend(store.read(|c| Ok::<_, SyncError>(trenddojo_store::trades::live_trade_ids(c, *a)?))?);
        }
    }
    touched.sort();
    touched.dedup();
    // The clock first sees the newest stamp that arrived, so derived data published below is newer.
    observe_newest(store, &chunk);
    // The rest of the rows, then the ones kept aside before (if any), then the trades to recompute, then
    // their accounts; the cursor moves with the last of them. A small pull (the usual case) is one
    // transaction.
    for p in &chunk {
        *per_table.entry(p.plan.table.name).or_default() += 1;
    }
    // The pulled rows are not logged one by one (the server's hash-chained audit holds them): one entry
    // records what this pull applied, in the transaction that completes it.
    let record = arrived.then(|| {
        serde_json::json!({
            "rows": pulled_rows + chunk.len(),
            "tables": per_table,
            "server_versions": [cursor, reached],
            // The server's audit chain of these rows: its head in the snapshot they were read from.
            "audit_head": audit_head.as_ref().map(|(pos, hash)| serde_json::json!({
                "pos": pos,
                "hash": hex::encode(hash),
            })),
        })
    });
    let finish = |tx: &trenddojo_store::Tx<'_>| {
        set_state(tx, &cursor_key, &reached.to_string())?;
        set_own_versions(tx, user, &[])?;
        if let Some(r) = &record {
            crate::local::log_entry(tx, user, "pull", r)?;
        }
        crash_point("pull:before-local-commit");
        Ok(())
    };
    let published = if retried.is_empty() {
        let mut work = Work::new(&chunk, &touched, true);
        run_work(store, &mut work, &mut tally, Some(refresh), false, Some(&finish)).await?;
        work.published
    } else {
        let mut rows = Work::new(&chunk, &[], false);
        run_work(store, &mut rows, &mut tally, None, true, None).await?;
        // Carefully from the start: these failed once already.
        let mut again = Work::new(&retried, &[], false);
        run_retry(store, &mut again, &mut tally)?;
        let mut work = Work::new(&[], &touched, true);
        run_work(store, &mut work, &mut tally, Some(refresh), false, Some(&finish)).await?;
        work.published
    };
    pulled_rows += chunk.len();
    crash_point("pull:after-local-commit");
    if let (Some(on), true) = (&progress, pulled_rows > 0) {
        on(crate::progress::Step::Download { done: u64::try_from(pulled_rows).unwrap_or(u64::MAX), finished: true });
    }
    report.pulled += pulled_rows;
    report.conflicts += tally.conflicts;
    report.cursor = reached;
    Ok(published > 0)
}

fn is_deleted_account(p: &Pulled) -> bool {
    p.plan.table.name == "accounts" && p.deleted.is_some()
}

/// The pulled rows kept aside for `user`, as rows to apply again.
fn retry_states(store: &Store, user: Uuid) -> Result<Vec<Pulled>, SyncError> {
    let states = store.read(|c| quarantine::pulled_states(c, user))?;
    let mut out = Vec::with_capacity(states.len());
    for (table, id, state) in states {
        let Some(t) = crate::tables::table(&table) else { continue };
        if let Ok(p) = Pulled::from_state(plan(t), id, &state) {
            out.push(p);
        }
    }
    Ok(out)
}

/// Apply rows that were kept aside before, carefully (they failed once), in budgeted transactions.
fn run_retry(store: &Store, work: &mut Work<'_>, tally: &mut Tally) -> Result<(), SyncError> {
    while !work.rows.is_empty() {
        let mut next = work.clone();
        store.write(|tx| next.step(tx, Mode::Careful, tally, None, TX_BUDGET))?;
        *work = next;
    }
    Ok(())
}
