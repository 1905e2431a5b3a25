//! The set-based audit format (server V15) on a real PostgreSQL: a chain written partly per row (format 1,
//! before V15) and partly per statement (format 2) verifies end to end, across a rollback of V15 and its
//! re-application too; tampering with format-2 rows is caught row by row and statement by statement.

use crate::pg;

use pg::Pg;
use tokio_postgres::Client;
use trenddojo_server::{admin, migrations};
use uuid::Uuid;

const PW: &str = "alice-password";

/// Insert an account and `n` trades for `user` as `c`, the trades in one statement.
async fn account_and_trades(c: &Client, user: Uuid, n: usize) -> (Uuid, Vec<Uuid>) {
    let acc = Uuid::now_v7();
    let now = "2026-03-02T15:00:00Z";
    let hlc = "0001767225600000.00000.device";
    c.batch_execute(&format!(
        "INSERT INTO trenddojo.accounts (id, user_id, name, currency, starting_balance, time_zone, created_at, updated_at, updated_hlc)
         VALUES ('{acc}', '{user}', 'Main {acc}', 'USD', 25000.00, 'America/New_York', '{now}', '{now}', '{hlc}')"
    ))
    .await
    .expect("account");
    let trades: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    let values: Vec<String> = trades
        .iter()
        .map(|t| format!("('{t}', '{user}', '{acc}', 'AAPL', 'long', 'open', '{now}', '{now}', '{hlc}')"))
        .collect();
    c.batch_execute(&format!(
        "INSERT INTO trenddojo.trades (id, user_id, account_id, symbol, direction, status, created_at, updated_at, updated_hlc) \
         VALUES {}",
        values.join(", ")
    ))
    .await
    .expect("trades in one statement");
    (acc, trades)
}

async fn formats(admin: &Client) -> (i64, i64) {
    let r = admin
        .query_one(
            "SELECT count(*) FILTER (WHERE format = 1), count(*) FILTER (WHERE format = 2) FROM trenddojo.audit_log",
            &[],
        )
        .await
        .expect("count formats");
    (r.get(0), r.get(1))
}

#[tokio::test]
async fn chain_verifies_across_the_format_change_and_a_rollback() {
    let pg = Pg::start().await;
    let mut admin_c = pg.admin().await;
    migrations::migrate(&mut admin_c, Some(14)).await.expect("migrate to V14 (per-row audit)");
    let alice = pg.user("alice@example.com", "pro", PW).await;
    let bob = pg.user("bob@example.com", "pro", "bob-password").await;
    let a = pg.connect_as(&alice, PW).await;
    let b = pg.connect_as(&bob, "bob-password").await;
    account_and_trades(&a, alice.user_id, 3).await;
    account_and_trades(&b, bob.user_id, 2).await;
    let v14 = admin::verify_audit(&admin_c, None, &[]).await.expect("verify at V14");
    assert!(v14.ok(), "the per-row chain verifies before the change: {v14:?}");

    migrations::migrate(&mut admin_c, Some(15)).await.expect("migrate to V15 (set-based audit)");
    assert_eq!(formats(&admin_c).await.1, 0, "rows written before V15 stay format 1");
    let (_, trades) = account_and_trades(&a, alice.user_id, 4).await;
    a.execute("UPDATE trenddojo.trades SET setup = 'breakout', updated_hlc = 'h2' WHERE id = ANY($1)", &[&trades])
        .await
        .expect("update four trades in one statement");
    a.execute("UPDATE trenddojo.trades SET deleted = true, updated_hlc = 'h3' WHERE id = $1", &[&trades[0]])
        .await
        .expect("tombstone");
    // A service statement touching both users extends both chains.
    admin_c
        .execute(
            "UPDATE trenddojo.trades SET setup = 'reviewed' WHERE user_id IN ($1, $2)",
            &[&alice.user_id, &bob.user_id],
        )
        .await
        .expect("a service update across users");
    let (v1, v2) = formats(&admin_c).await;
    assert!(v1 > 0 && v2 > 0, "the chain holds both formats: {v1} format-1 and {v2} format-2 rows");
    let links: i64 = admin_c
        .query_one("SELECT count(*) FROM trenddojo.audit_log WHERE format = 2 AND chain_hash IS NOT NULL", &[])
        .await
        .expect("links")
        .get(0);
    assert!(links < v2, "format 2 links once per statement and user, not per row: {links} links for {v2} rows");
    let head_ok: bool = admin_c
        .query_one(
            "SELECT h.last_hash = a.chain_hash FROM trenddojo.audit_heads h JOIN trenddojo.audit_log a \
             ON a.user_id = h.user_id AND a.chain_pos = h.last_pos WHERE h.user_id = $1",
            &[&alice.user_id],
        )
        .await
        .expect("head")
        .get(0);
    assert!(head_ok, "the chain head is the last statement's link");
    let report = admin::verify_audit(&admin_c, None, &[]).await.expect("verify");
    assert!(report.ok(), "the chain verifies across the format boundary: {report:?}");
    assert_eq!(report.users, 2, "both users' chains were walked");

    // Roll V15 back: the schema is V14's again and new rows are format 1, continuing the chain.
    let v2_before = v2;
    migrations::rollback(&mut admin_c, 14).await.expect("roll back V15");
    let cols: i64 = admin_c
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'trenddojo' \
             AND table_name = 'audit_log' AND column_name IN ('format', 'chain_hash')",
            &[],
        )
        .await
        .expect("columns")
        .get(0);
    assert_eq!(cols, 0, "the rollback removes the format columns");
    a.execute("UPDATE trenddojo.trades SET setup = 'pullback', updated_hlc = 'h4' WHERE id = $1", &[&trades[1]])
        .await
        .expect("a write at V14 again");
    let at_v14 = admin::verify_audit(&admin_c, None, &[]).await.expect("verify at V14");
    assert!(!at_v14.ok(), "without V15 the set-based rows cannot be checked as per-row ones (documented): {at_v14:?}");

    // V15 again: the rows set aside get their format back and the whole chain verifies.
    migrations::migrate(&mut admin_c, Some(15)).await.expect("re-apply V15");
    let (v1_after, v2_after) = formats(&admin_c).await;
    assert_eq!(v2_after, v2_before, "every format-2 row got its format back");
    assert_eq!(v1_after, v1 + 1, "the row written at V14 is format 1");
    let kept: Option<String> = admin_c
        .query_one("SELECT to_regclass('trenddojo_meta.audit_v2_links')::text", &[])
        .await
        .expect("regclass")
        .get(0);
    assert_eq!(kept, None, "the rows set aside are restored and the side table is gone");
    a.execute("UPDATE trenddojo.trades SET setup = 'range', updated_hlc = 'h5' WHERE id = ANY($1)", &[&trades])
        .await
        .expect("a write at V15 again");
    let report = admin::verify_audit(&admin_c, None, &[]).await.expect("verify");
    assert!(report.ok(), "format 1, 2, 1, 2 in one chain verifies: {report:?}");
}

/// The canonical payload of a format-2 row as SQL computes it (to forge a consistent row hash).
const LEAF_SQL: &str = "sha256(convert_to(concat_ws(E'\\n', 'trenddojo-audit-v2', user_id::text, chain_pos::text, \
    to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), actor::text, table_name, row_id::text, action, \
    coalesce(old_values::text, '-'), coalesce(new_values::text, '-')), 'UTF8'))";

#[tokio::test]
async fn tampering_with_set_based_rows_is_detected() {
    let pg = Pg::migrated().await;
    let admin_c = pg.admin().await;
    let alice = pg.user("alice@example.com", "pro", PW).await;
    let a = pg.connect_as(&alice, PW).await;
    let (_, trades) = account_and_trades(&a, alice.user_id, 5).await;
    a.execute("UPDATE trenddojo.trades SET current_stop = 180.00, updated_hlc = 'h2' WHERE id = ANY($1)", &[&trades])
        .await
        .expect("update five trades in one statement");
    let ok = admin::verify_audit(&admin_c, None, &[]).await.expect("verify");
    assert!(ok.ok(), "an honest set-based chain verifies: {ok:?}");
    let same: i64 = admin_c
        .query_one(&format!("SELECT count(*) FROM trenddojo.audit_log WHERE format = 2 AND hash <> {LEAF_SQL}"), &[])
        .await
        .expect("recompute in SQL")
        .get(0);
    assert_eq!(same, 0, "the documented payload recomputed by SQL gives every stored row hash");

    // The middle row of the five-row update statement.
    let (id, pos): (i64, i64) = {
        let r = admin_c
            .query_one(
                "SELECT id, chain_pos FROM trenddojo.audit_log WHERE user_id = $1 AND action = 'update' \
                 ORDER BY chain_pos OFFSET 2 LIMIT 1",
                &[&alice.user_id],
            )
            .await
            .expect("middle row");
        (r.get(0), r.get(1))
    };
    admin_c
        .batch_execute(&format!(
            "ALTER TABLE trenddojo.audit_log DISABLE TRIGGER audit_log_no_change;
             UPDATE trenddojo.audit_log SET new_values = jsonb_set(new_values, '{{current_stop}}', '\"150.00\"') WHERE id = {id};"
        ))
        .await
        .expect("tamper with a value");
    let bad = admin::verify_audit(&admin_c, Some("alice@example.com"), &[]).await.expect("verify");
    assert!(
        bad.problems.iter().any(|p| p.contains(&format!("row {pos} ")) && p.contains("was altered")),
        "an edited format-2 row is detected: {bad:?}"
    );

    // Its own hash recomputed to match: the statement's link still catches it.
    admin_c
        .batch_execute(&format!("UPDATE trenddojo.audit_log SET hash = {LEAF_SQL} WHERE id = {id}"))
        .await
        .expect("forge the row hash");
    let bad = admin::verify_audit(&admin_c, Some("alice@example.com"), &[]).await.expect("verify");
    assert!(!bad.problems.iter().any(|p| p.contains("was altered")), "the row itself now looks consistent: {bad:?}");
    assert!(
        bad.problems.iter().any(|p| p.contains("does not match its chain link")),
        "the statement link catches a row re-hashed alone: {bad:?}"
    );

    // A row removed from the middle of a statement: a gap, and the link disagrees.
    admin_c.batch_execute(&format!("DELETE FROM trenddojo.audit_log WHERE id = {id}")).await.expect("delete");
    let bad = admin::verify_audit(&admin_c, Some("alice@example.com"), &[]).await.expect("verify");
    assert!(
        bad.problems.iter().any(|p| p.contains(&format!("position {pos} is missing"))),
        "a removed format-2 row is detected: {bad:?}"
    );

    // The statement's last row (its link) removed: the statement is reported unlinked and the head disagrees.
    admin_c
        .execute(
            "DELETE FROM trenddojo.audit_log WHERE user_id = $1 AND chain_pos = (SELECT max(chain_pos) FROM trenddojo.audit_log WHERE user_id = $1)",
            &[&alice.user_id],
        )
        .await
        .expect("delete the link row");
    let bad = admin::verify_audit(&admin_c, Some("alice@example.com"), &[]).await.expect("verify");
    assert!(
        bad.problems.iter().any(|p| p.contains("without its chain link")),
        "a statement cut short is detected: {bad:?}"
    );
    assert!(bad.problems.iter().any(|p| p.contains("chain head")), "the head no longer matches: {bad:?}");
}
