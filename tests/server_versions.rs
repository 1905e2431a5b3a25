//! The sync pull cursor on the server: per-user change versions are gap-free and committed in order, so a
//! puller that reads `server_seq > cursor` and advances its cursor never skips a row, even when
//! concurrent writers' transactions would commit in a different order from their numbering.

use crate::pg;

use std::collections::BTreeSet;
use std::time::Duration;

use pg::Pg;
use tokio_postgres::Client;
use uuid::Uuid;

const PW: &str = "versions-password";

async fn account(c: &Client, user: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    c.execute(
        "INSERT INTO trenddojo.accounts (id, user_id, name, currency, starting_balance, time_zone, created_at, updated_at, updated_hlc)
         VALUES ($1, $2, 'Main', 'USD', 1000, 'UTC', now(), now(), 'h')",
        &[&id, &user],
    )
    .await
    .expect("account");
    id
}

const INSERT_TRADE: &str = "INSERT INTO trenddojo.trades (id, user_id, account_id, symbol, direction, status, created_at, updated_at, updated_hlc)
                            VALUES ($1, $2, $3, 'SPY', 'long', 'planned', now(), now(), 'h')";

/// Every (version, id) of the user's rows across the synced tables, as a device's pull would read them.
async fn pull(c: &Client, cursor: i64) -> Vec<(i64, Uuid)> {
    c.query(
        "SELECT server_seq, id FROM trenddojo.trades WHERE server_seq > $1
         UNION ALL SELECT server_seq, id FROM trenddojo.accounts WHERE server_seq > $1
         UNION ALL SELECT server_seq, id FROM trenddojo.users WHERE server_seq > $1
         ORDER BY 1",
        &[&cursor],
    )
    .await
    .expect("pull")
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

#[tokio::test]
async fn a_later_numbered_commit_waits_so_the_cursor_never_skips() {
    let pg = Pg::migrated().await;
    let p = pg.user("v@example.com", "pro", PW).await;
    let (a, b, reader) = (pg.connect_as(&p, PW).await, pg.connect_as(&p, PW).await, pg.connect_as(&p, PW).await);
    let acc = account(&a, p.user_id).await;
    let mut cursor = pull(&reader, 0).await.last().map(|r| r.0).expect("user and account rows");

    a.batch_execute("BEGIN").await.expect("begin");
    let first = Uuid::now_v7();
    a.execute(INSERT_TRADE, &[&first, &p.user_id, &acc]).await.expect("first trade, not yet committed");
    let second = Uuid::now_v7();
    let user = p.user_id;
    let writer_b = tokio::spawn(async move {
        b.batch_execute("BEGIN").await.expect("begin");
        b.execute(INSERT_TRADE, &[&second, &user, &acc]).await.expect("second trade");
        b.batch_execute("COMMIT").await.expect("commit");
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!writer_b.is_finished(), "the second writer of the same user waits for the first");
    assert!(pull(&reader, cursor).await.is_empty(), "nothing is visible while the first is uncommitted");

    a.batch_execute("COMMIT").await.expect("commit the first");
    writer_b.await.expect("second writer");
    let got = pull(&reader, cursor).await;
    assert_eq!(got.iter().map(|r| r.1).collect::<Vec<_>>(), vec![first, second], "numbered in commit order: {got:?}");
    assert_eq!(got[1].0, got[0].0 + 1, "consecutive versions");
    cursor = got[1].0;
    assert!(pull(&reader, cursor).await.is_empty(), "caught up");

    // Another user's writer is never blocked by this user's open transaction.
    let other = pg.user("w@example.com", "pro", PW).await;
    let oc = pg.connect_as(&other, PW).await;
    a.batch_execute("BEGIN").await.expect("begin");
    a.execute(INSERT_TRADE, &[&Uuid::now_v7(), &p.user_id, &acc]).await.expect("hold the lock");
    let other_acc = tokio::time::timeout(Duration::from_secs(5), account(&oc, other.user_id)).await;
    assert!(other_acc.is_ok(), "a different user's write does not wait");
    a.batch_execute("ROLLBACK").await.expect("rollback");
}

#[tokio::test]
async fn concurrent_writers_and_a_polling_puller_lose_nothing() {
    let pg = Pg::migrated().await;
    let p = pg.user("busy@example.com", "pro", PW).await;
    let setup = pg.connect_as(&p, PW).await;
    let acc = account(&setup, p.user_id).await;

    let mut writers = Vec::new();
    for w in 0..4u64 {
        let c = pg.connect_as(&p, PW).await;
        let user = p.user_id;
        writers.push(tokio::spawn(async move {
            let mut committed = Vec::new();
            for i in 0..25u64 {
                c.batch_execute("BEGIN").await.expect("begin");
                let mut ids = Vec::new();
                for _ in 0..(1 + (i + w) % 3) {
                    let id = Uuid::now_v7();
                    c.execute(INSERT_TRADE, &[&id, &user, &acc]).await.expect("insert");
                    ids.push(id);
                }
                tokio::time::sleep(Duration::from_millis((i * 7 + w * 3) % 5)).await;
                if (i + w) % 5 == 0 {
                    c.batch_execute("ROLLBACK").await.expect("rollback");
                } else {
                    c.batch_execute("COMMIT").await.expect("commit");
                    committed.extend(ids);
                }
            }
            committed
        }));
    }
    // The puller polls while the writers run, advancing its cursor to the highest version it saw.
    let reader = pg.connect_as(&p, PW).await;
    let mut cursor = 0i64;
    let mut seen = BTreeSet::new();
    let mut polls = 0;
    while writers.iter().any(|w| !w.is_finished()) {
        for (v, id) in pull(&reader, cursor).await {
            assert!(v > cursor, "versions only move forward");
            cursor = v;
            seen.insert(id);
        }
        polls += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut committed = BTreeSet::new();
    for w in writers {
        committed.extend(w.await.expect("writer"));
    }
    for (_, id) in pull(&reader, cursor).await {
        seen.insert(id);
    }
    let missed: Vec<_> = committed.iter().filter(|id| !seen.contains(id)).collect();
    assert!(missed.is_empty(), "the cursor skipped {} committed trades over {polls} polls", missed.len());
    assert!(polls > 5, "the puller really ran during the writes ({polls} polls)");

    // Versions are dense: rolled-back transactions leave no holes.
    let admin = pg.admin().await;
    let all: Vec<i64> = admin
        .query(
            "SELECT server_seq FROM trenddojo.trades WHERE user_id = $1 UNION ALL SELECT server_seq FROM trenddojo.accounts WHERE user_id = $1
             UNION ALL SELECT server_seq FROM trenddojo.users WHERE id = $1 ORDER BY 1",
            &[&p.user_id],
        )
        .await
        .expect("versions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let expected: Vec<i64> = (1..=all.len() as i64).collect();
    assert_eq!(all, expected, "one version per row write, 1..=N without holes");
    let head: i64 = admin
        .query_one("SELECT version FROM trenddojo.user_versions WHERE user_id = $1", &[&p.user_id])
        .await
        .expect("head")
        .get(0);
    assert_eq!(head, all.len() as i64, "the counter equals the newest version");
}
