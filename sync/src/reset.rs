//! Reset: replace this device's copy of the signed-in user's synced data with the server's.
//!
//! One local transaction: every synced row of the user is deleted (children first) together with its field
//! stamps, outbox entries, kept-aside rows and pending recomputations; the server's rows (one snapshot) are
//! written in their place; derived data is recomputed and the cursor set to the snapshot's version. Local
//! changes not yet pushed are dropped: the caller confirms that first. Other users' rows in the same store
//! are untouched. A row the store refuses is kept aside, as in a pull; it never stops the reset.

use trenddojo_store::Store;

use crate::apply::{touched_trades, Mode, Pulled, Refresh, Tally, Work};
use crate::hlc::Hlc;
use crate::local::{put_stamp, set_own_versions, set_state, sql_err, state_key};
use crate::net::{within, Server};
use crate::plan::plan;
use crate::pull::{observe_newest, pull_page, snapshot, Own, Snapshot, PULL_PAGE_MAX};
use crate::round::{handshake, Report};
use crate::tables::TABLES;
use crate::SyncError;

/// Download the user's data again (see the module docs).
pub async fn reset(store: &Store, server: &mut Server, refresh: &Refresh<'_>) -> Result<Report, SyncError> {
    let user = handshake(server).await?;
    let limits = server.limits;
    let progress = server.progress.clone();
    let tell = |done: usize, finished: bool| {
        if let Some(on) = &progress {
            on(crate::progress::Step::Download { done: u64::try_from(done).unwrap_or(u64::MAX), finished });
        }
    };
    let Snapshot { tx, version: target, changed, .. } = snapshot(&mut server.client, &limits, user, 0).await?;
    let mut rows: Vec<Pulled> = Vec::new();
    for t in crate::decide::tables_to_pull(&changed) {
        let plan = plan(t);
        let mut after = 0;
        loop {
            // A reset downloads everything: pages of the large size from the start.
            let (page, more) = pull_page(&tx, &limits, plan, after, &Own::default(), PULL_PAGE_MAX).await?;
            rows.extend(page);
            tell(rows.len(), false);
            match more {
                Some(last) => after = last,
                None => break,
            }
        }
    }
    within(limits.exchange, "the end of the download", tx.commit()).await?;
    // The clock sees the newest stamp that arrived before anything is stamped here.
    observe_newest(store, &rows);
    let uid = user.to_string();
    let trades = touched_trades(&rows);
    // The whole replacement is one transaction, whatever its length: the user asked for it and waits. A
    // fast attempt that a refused row rolls back is done again carefully (that row kept aside).
    for mode in [Mode::Fast, Mode::Careful] {
        let mut tally = Tally { mine: trenddojo_store::clock::stamp_device(store.device_id()), ..Tally::default() };
        let attempt = store.write(|tx| {
            // What goes and what comes is the server's copy, not local changes: nothing here is logged row by
            // row or queued for upload (one `reset` entry below records it).
            tx.execute("INSERT OR IGNORE INTO sync_apply_guard (one) VALUES (1)", []).map_err(sql_err)?;
            // The local-only running totals of the user's accounts go too; the refresh below rebuilds them.
            tx.execute(
                "DELETE FROM account_summaries WHERE account_id IN (SELECT id FROM accounts WHERE user_id = ?1)",
                [uid.as_str()],
            )
            .map_err(sql_err)?;
            tx.execute("DELETE FROM sync_quarantine WHERE user_id = ?1", [uid.as_str()]).map_err(sql_err)?;
            tx.execute("DELETE FROM sync_pending_trades", []).map_err(sql_err)?;
            for t in TABLES.iter().rev() {
                let owner = if t.name == "users" { "id" } else { "user_id" };
                let mine_rows = format!("SELECT id FROM {} WHERE {owner} = ?2", t.name);
                tx.execute(
                    &format!("DELETE FROM sync_field_clock WHERE table_name = ?1 AND row_id IN ({mine_rows})"),
                    [t.name, uid.as_str()],
                )
                .map_err(sql_err)?;
                // The user row stays (the store's sign-in refers to it); stamped zero and synced, the
                // server's values win every field below. (With no entry at all it would read as a row
                // created here, unchanged since: the lazy clock of local V14.)
                if t.name == "users" {
                    put_stamp(tx, "users", &uid, "*", Hlc::zero().as_str(), None)?;
                } else {
                    tx.execute(&format!("DELETE FROM {} WHERE user_id = ?1", t.name), [uid.as_str()])
                        .map_err(sql_err)?;
                }
            }
            let mut work = Work::new(&rows, &trades, true);
            while !work.done() {
                work.step(tx, mode, &mut tally, Some(refresh), std::time::Duration::MAX)?;
            }
            // Each step released the guard it held; with nothing to apply there was no step, so release the one
            // taken above here: committed, it would keep every later local edit out of the change log.
            tx.execute("DELETE FROM sync_apply_guard", []).map_err(sql_err)?;
            set_state(tx, &state_key(user, "cursor"), &target.to_string())?;
            set_own_versions(tx, user, &[])?;
            // Local changes not on the server were dropped with the rows (the caller confirmed): the outbox
            // starts after this entry.
            let seq = crate::local::log_entry(
                tx,
                user,
                "reset",
                &serde_json::json!({ "rows": rows.len(), "server_version": target }),
            )?;
            set_state(tx, &state_key(user, "outbox_read"), &seq.to_string())?;
            Ok::<_, SyncError>(())
        });
        match attempt {
            Ok(()) => break,
            Err(e) if mode == Mode::Fast && crate::apply::row_level_local(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    tell(rows.len(), true);
    let kept_aside = usize::try_from(store.read(|c| crate::quarantine::count(c, user))?).unwrap_or(usize::MAX);
    Ok(Report { user, pulled: rows.len(), cursor: target, kept_aside, ..Report::default() })
}

/// The server user a connection signs in as (checked before a reset asks about local changes).
pub async fn signed_in_user(server: &Server) -> Result<uuid::Uuid, SyncError> {
    handshake(server).await
}
