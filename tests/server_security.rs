//! Tenant isolation, identity, audit and tier limits on a real PostgreSQL, attacked the way a modified
//! client would: raw SQL over the user's own SCRAM login.

use crate::pg;

use pg::Pg;
use tokio_postgres::Client;
use trenddojo_server::admin::{self, Provisioned};
use trenddojo_server::checks::catalog_violations;
use uuid::Uuid;

const PW_A: &str = "alice-password";
const PW_B: &str = "bob-password";

/// Insert one row into every tenant table as `c` (the user's own connection): the RLS insert path.
/// Returns (table, row id) for each.
async fn fill(c: &Client, user: Uuid, sfx: &str) -> Vec<(&'static str, Uuid)> {
    let id = |_: &str| Uuid::now_v7();
    let (acc, rs, tr, ex, st, tg, note, tpl, item, resp, bc) =
        (id("a"), id("r"), id("t"), id("e"), id("s"), id("g"), id("n"), id("p"), id("i"), id("q"), id("b"));
    let ib = id("m");
    let now = "2026-03-02T15:00:00Z";
    let hlc = "0001767225600000.00000.device";
    let sql = format!(
        "INSERT INTO trenddojo.accounts (id, user_id, name, currency, starting_balance, time_zone, created_at, updated_at, updated_hlc)
             VALUES ('{acc}', '{user}', 'Main {sfx}', 'USD', 25000.00, 'America/New_York', '{now}', '{now}', '{hlc}');
         INSERT INTO trenddojo.risk_settings (id, user_id, account_id, max_risk_per_trade_pct, max_daily_loss_pct, max_weekly_loss_pct,
                 max_open_positions, max_correlated_positions, sizing_method, enforcement, created_at, updated_at, updated_hlc)
             VALUES ('{rs}', '{user}', '{acc}', 1, 3, 6, 5, 2, 'fixed_fractional', 'block', '{now}', '{now}', '{hlc}');
         INSERT INTO trenddojo.trades (id, user_id, account_id, symbol, direction, status, created_at, updated_at, updated_hlc)
             VALUES ('{tr}', '{user}', '{acc}', 'AAPL', 'long', 'open', '{now}', '{now}', '{hlc}');
         INSERT INTO trenddojo.import_batches (id, user_id, account_id, file_name, file_sha256, format, parser_version,
                 statement_tz, new_count, confirmed_by, confirmed_at, created_at, updated_at, updated_hlc)
             VALUES ('{ib}', '{user}', '{acc}', 'flex-{sfx}.csv', repeat('ab', 32), 'ibkr_flex_csv', 1, 'America/New_York', 1,
                 'me@example.com', '{now}', '{now}', '{now}', '{hlc}');
         INSERT INTO trenddojo.executions (id, user_id, account_id, trade_id, side, quantity, price, fees, executed_at, time_zone,
                 created_at, updated_at, updated_hlc, import_batch_id, broker, broker_account, broker_exec_id, instrument_key,
                 dedupe_key, commission)
             VALUES ('{ex}', '{user}', '{acc}', '{tr}', 'buy', 100, 187.25, 1.00, '{now}', 'America/New_York', '{now}', '{now}', '{hlc}',
                 '{ib}', 'ibkr', 'U1234567', '0000e0d5.65e1c4a7.01.01', 'STK:AAPL', 'exec:ibkr:U1234567:0000e0d5.65e1c4a7.01', 1.00);
         INSERT INTO trenddojo.trade_stop_adjustments (id, user_id, trade_id, price, adjusted_at, created_at, updated_at, updated_hlc)
             VALUES ('{st}', '{user}', '{tr}', 180.00, '{now}', '{now}', '{now}', '{hlc}');
         INSERT INTO trenddojo.trade_targets (id, user_id, trade_id, price, created_at, updated_at, updated_hlc)
             VALUES ('{tg}', '{user}', '{tr}', 200.00, '{now}', '{now}', '{hlc}');
         INSERT INTO trenddojo.trade_notes (id, user_id, trade_id, kind, body, created_at, updated_at, updated_hlc)
             VALUES ('{note}', '{user}', '{tr}', 'plan', 'secret plan {sfx}', '{now}', '{now}', '{hlc}');
         INSERT INTO trenddojo.trade_checklist_templates (id, user_id, name, created_at, updated_at, updated_hlc)
             VALUES ('{tpl}', '{user}', 'Pre-trade {sfx}', '{now}', '{now}', '{hlc}');
         INSERT INTO trenddojo.trade_checklist_items (id, user_id, template_id, position, prompt, created_at, updated_at, updated_hlc)
             VALUES ('{item}', '{user}', '{tpl}', 1, 'Trend up?', '{now}', '{now}', '{hlc}');
         INSERT INTO trenddojo.trade_checklist_responses (id, user_id, trade_id, item_id, checked, answered_at, created_at, updated_at, updated_hlc)
             VALUES ('{resp}', '{user}', '{tr}', '{item}', true, '{now}', '{now}', '{now}', '{hlc}');
         INSERT INTO trenddojo.broker_connections (id, user_id, account_id, broker, label, sealed_secret, created_at, updated_at, updated_hlc)
             VALUES ('{bc}', '{user}', '{acc}', 'alpaca', 'paper', decode(repeat('ab', 60), 'hex'), '{now}', '{now}', '{hlc}');"
    );
    c.batch_execute(&sql).await.unwrap_or_else(|e| panic!("user {sfx} fills every tenant table: {e:?}"));
    vec![
        ("accounts", acc),
        ("risk_settings", rs),
        ("trades", tr),
        ("import_batches", ib),
        ("executions", ex),
        ("trade_stop_adjustments", st),
        ("trade_targets", tg),
        ("trade_notes", note),
        ("trade_checklist_templates", tpl),
        ("trade_checklist_items", item),
        ("trade_checklist_responses", resp),
        ("broker_connections", bc),
    ]
}

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

struct World {
    pg: Pg,
    a: Provisioned,
    b: Provisioned,
    a_rows: Vec<(&'static str, Uuid)>,
    b_rows: Vec<(&'static str, Uuid)>,
}

async fn world() -> World {
    let pg = Pg::migrated().await;
    let a = pg.user("alice@example.com", "pro", PW_A).await;
    let b = pg.user("bob@example.com", "pro", PW_B).await;
    let a_rows = fill(&pg.connect_as(&a, PW_A).await, a.user_id, "A").await;
    let b_rows = fill(&pg.connect_as(&b, PW_B).await, b.user_id, "B").await;
    World { pg, a, b, a_rows, b_rows }
}

#[tokio::test]
async fn cross_tenant_matrix_every_table_every_command() {
    let w = world().await;
    let admin = w.pg.admin().await;
    let bob = w.pg.connect_as(&w.b, PW_B).await;
    // Every table with a user_id column must be in the matrix (a new table cannot slip past this test).
    let tenant_tables: Vec<String> = admin
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'user_id'
             WHERE n.nspname = 'trenddojo' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
               AND c.relname NOT IN ('audit_log', 'audit_heads', 'user_roles', 'tier_usage', 'user_versions', 'sync_devices', 'sync_channels') ORDER BY 1",
            &[],
        )
        .await
        .expect("catalog")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut covered: Vec<String> = w.a_rows.iter().map(|(t, _)| t.to_string()).collect();
    covered.sort();
    assert_eq!(covered, tenant_tables, "the matrix covers every tenant table");

    for ((table, a_id), (_, b_id)) in w.a_rows.iter().zip(&w.b_rows) {
        let t = format!("trenddojo.{table}");
        // SELECT: Bob sees his own row and nothing of Alice's.
        let seen: Vec<Uuid> =
            bob.query(&format!("SELECT id FROM {t}"), &[]).await.expect("select").iter().map(|r| r.get(0)).collect();
        assert_eq!(seen, vec![*b_id], "{table}: Bob sees exactly his own row");
        let n: i64 = bob
            .query_one(&format!("SELECT count(*) FROM {t} WHERE id = $1 OR user_id = $2"), &[a_id, &w.a.user_id])
            .await
            .expect("probe")
            .get(0);
        assert_eq!(n, 0, "{table}: Alice's row is invisible to Bob even by id");
        // UPDATE and DELETE of Alice's row affect nothing.
        let n = bob
            .execute(&format!("UPDATE {t} SET updated_hlc = 'x' WHERE id = $1"), &[a_id])
            .await
            .expect("update runs");
        assert_eq!(n, 0, "{table}: Bob's UPDATE of Alice's row touches nothing");
        let n = bob.execute(&format!("DELETE FROM {t} WHERE id = $1"), &[a_id]).await.expect("delete runs");
        assert_eq!(n, 0, "{table}: Bob's DELETE of Alice's row touches nothing");
        // INSERT a row owned by Alice (a copy of Bob's with her user_id): refused by the policy.
        let e = bob
            .execute(
                &format!(
                    "INSERT INTO {t} SELECT (jsonb_populate_record(NULL::{t}, to_jsonb(x) || jsonb_build_object('id', $1::uuid, 'user_id', $2::uuid))).* FROM {t} x WHERE x.id = $3"
                ),
                &[&Uuid::now_v7(), &w.a.user_id, b_id],
            )
            .await
            .expect_err("inserting a row for another user must fail");
        assert_eq!(sqlstate(&e), "42501", "{table}: refused by row-level security: {e:?}");
        // Moving his own row to Alice: refused.
        let e = bob
            .execute(&format!("UPDATE {t} SET user_id = $1 WHERE id = $2"), &[&w.a.user_id, b_id])
            .await
            .expect_err("re-owning a row must fail");
        assert!(["42501", "TD002"].contains(&sqlstate(&e).as_str()), "{table}: re-owning refused: {e:?}");
        // Alice's row is intact (checked as the service role).
        let n: i64 = admin
            .query_one(
                &format!("SELECT count(*) FROM {t} WHERE id = $1 AND user_id = $2 AND updated_hlc <> 'x'"),
                &[a_id, &w.a.user_id],
            )
            .await
            .expect("check")
            .get(0);
        assert_eq!(n, 1, "{table}: Alice's row is unchanged");
    }

    // users: Bob sees and edits only himself; cannot create or delete users or change his tier.
    let ids: Vec<Uuid> =
        bob.query("SELECT id FROM trenddojo.users", &[]).await.expect("users").iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, vec![w.b.user_id], "Bob sees only his own user row");
    assert_eq!(
        bob.execute("UPDATE trenddojo.users SET display_name = 'pwned' WHERE id = $1", &[&w.a.user_id])
            .await
            .expect("runs"),
        0,
        "cannot rename Alice"
    );
    let e = bob
        .execute("UPDATE trenddojo.users SET subscription_tier = 'pro' WHERE id = $1", &[&w.b.user_id])
        .await
        .expect_err("tier");
    assert_eq!(sqlstate(&e), "42501", "Bob cannot change his own tier: {e:?}");
    let e = bob.execute("DELETE FROM trenddojo.users WHERE id = $1", &[&w.a.user_id]).await.expect_err("delete user");
    assert_eq!(sqlstate(&e), "42501", "no DELETE on users: {e:?}");
    let e = bob
        .execute("INSERT INTO trenddojo.users (id, email, display_name, created_at, updated_at, updated_hlc) VALUES ($1, 'x@y.z', 'x', now(), now(), 'h')", &[&Uuid::now_v7()])
        .await
        .expect_err("insert user");
    assert_eq!(sqlstate(&e), "42501", "no INSERT on users: {e:?}");
}

/// The change-notification channels (V9): each user gets a random channel of their own, no user can read
/// the table of channels, and a notification reaches only the channel of the user whose rows changed.
#[tokio::test]
async fn notification_channels_are_private() {
    let w = world().await;
    let alice = w.pg.connect_as(&w.a, PW_A).await;
    let bob = w.pg.connect_as(&w.b, PW_B).await;
    let a_channel: String = alice.query_one("SELECT trenddojo.sync_channel()", &[]).await.expect("channel").get(0);
    let again: String = alice.query_one("SELECT trenddojo.sync_channel()", &[]).await.expect("channel").get(0);
    let b_channel: String = bob.query_one("SELECT trenddojo.sync_channel()", &[]).await.expect("channel").get(0);
    assert_eq!(a_channel, again, "a user's channel is stable");
    assert_ne!(a_channel, b_channel, "users get different channels");
    assert!(a_channel.starts_with("td_") && a_channel.len() == 35, "a random channel name: {a_channel}");
    assert!(!a_channel.contains(&w.a.user_id.simple().to_string()), "the channel does not derive from the user id");
    for sql in [
        "SELECT channel FROM trenddojo.sync_channels",
        "INSERT INTO trenddojo.sync_channels (user_id, channel) VALUES (trenddojo.app_uid(), 'td_mine')",
        "UPDATE trenddojo.sync_channels SET channel = 'td_x'",
        "DELETE FROM trenddojo.sync_channels",
    ] {
        let e = bob.execute(sql, &[]).await.expect_err("the channel table is closed to users");
        assert_eq!(sqlstate(&e), "42501", "{sql}: permission denied");
    }

    // Bob listens on his channel and on Alice's (he could have guessed it, in theory): a write by Alice
    // notifies her channel only, a write by Bob his only, and only at commit.
    let mut config: tokio_postgres::Config = w.b.url.parse().expect("url");
    config.password(PW_B);
    let (listener, mut notes) = trenddojo_server::db::connect_listener(&config, None).await.expect("listener");
    listener.batch_execute(&format!("LISTEN \"{a_channel}\"; LISTEN \"{b_channel}\"")).await.expect("listen");
    let a_account = w.a_rows.iter().find(|(t, _)| *t == "accounts").expect("account").1;
    let b_account = w.b_rows.iter().find(|(t, _)| *t == "accounts").expect("account").1;
    let mut alice = alice;
    let tx = alice.transaction().await.expect("tx");
    tx.execute("UPDATE trenddojo.accounts SET name = 'renamed' WHERE id = $1", &[&a_account]).await.expect("write");
    let early = tokio::time::timeout(std::time::Duration::from_millis(300), notes.recv()).await;
    assert!(early.is_err(), "nothing is delivered before the commit: {early:?}");
    tx.commit().await.expect("commit");
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), notes.recv()).await.expect("notified");
    assert_eq!(got.map(|n| n.channel).as_deref(), Some(a_channel.as_str()), "Alice's write notifies Alice's channel");
    bob.execute("UPDATE trenddojo.accounts SET name = 'renamed' WHERE id = $1", &[&b_account]).await.expect("write");
    let got = tokio::time::timeout(std::time::Duration::from_secs(5), notes.recv()).await.expect("notified");
    assert_eq!(
        got.map(|n| n.channel).as_deref(),
        Some(b_channel.as_str()),
        "Bob's write notifies Bob's channel, not Alice's"
    );
    let none = tokio::time::timeout(std::time::Duration::from_millis(300), notes.recv()).await;
    assert!(none.is_err(), "one notification per transaction: {none:?}");
}

/// The statement-local version counter (V11) lives in a setting any client can change. Forging it for
/// another user's id must not get a row into that user's data (nor reach the tier check, which would
/// lock that user's row and tell their tier), and tampering with one's own counter never moves the
/// user's committed version backwards.
#[tokio::test]
async fn a_forged_version_counter_reaches_no_one_else() {
    let w = world().await;
    let bob = w.pg.connect_as(&w.b, PW_B).await;
    let alice_id = w.a.user_id;
    let now = "2026-03-02T15:00:00Z";
    let a_account = w.a_rows.iter().find(|(t, _)| *t == "accounts").expect("account").1;
    for (table, insert) in [
        (
            "accounts",
            format!(
                "INSERT INTO trenddojo.accounts (id, user_id, name, currency, starting_balance, time_zone, created_at, \
                 updated_at, updated_hlc) SELECT '{}', '{alice_id}', 'x', 'USD', 1, 'UTC', '{now}', '{now}', 'h' \
                 FROM (SELECT set_config('trenddojo.next_version', '{alice_id}:5', true)) s",
                Uuid::now_v7()
            ),
        ),
        (
            "trades",
            format!(
                "INSERT INTO trenddojo.trades (id, user_id, account_id, symbol, direction, status, created_at, \
                 updated_at, updated_hlc) SELECT '{}', '{alice_id}', '{a_account}', 'AAPL', 'long', 'open', '{now}', \
                 '{now}', 'h' FROM (SELECT set_config('trenddojo.next_version', '{alice_id}:5', true)) s",
                Uuid::now_v7()
            ),
        ),
    ] {
        let e = bob.batch_execute(&insert).await.expect_err("a row for Alice is refused");
        assert_eq!(sqlstate(&e), "42501", "{table}: refused as another user's row, nothing else: {e}");
    }
    let admin = w.pg.admin().await;
    let before: i64 = admin
        .query_one("SELECT version FROM trenddojo.user_versions WHERE user_id = $1", &[&w.b.user_id])
        .await
        .expect("version")
        .get(0);
    let b_account = w.b_rows.iter().find(|(t, _)| *t == "accounts").expect("account").1;
    bob.batch_execute(&format!(
        "UPDATE trenddojo.accounts SET name = s.v FROM (SELECT set_config('trenddojo.next_version', '{}:1', true) AS v) s \
         WHERE id = '{b_account}'",
        w.b.user_id
    ))
    .await
    .expect("Bob may renumber his own row");
    let after: i64 = admin
        .query_one("SELECT version FROM trenddojo.user_versions WHERE user_id = $1", &[&w.b.user_id])
        .await
        .expect("version")
        .get(0);
    assert!(after >= before, "the committed version never moves backwards ({before} -> {after})");
}

#[tokio::test]
async fn identity_cannot_be_forged() {
    let w = world().await;
    let bob = w.pg.connect_as(&w.b, PW_B).await;
    let alice_trades = "SELECT count(*) FROM trenddojo.trades WHERE user_id = $1";

    // A client can set any custom setting; Supabase-style JWT claims mean nothing here.
    let claims = format!(r#"{{"sub":"{}","role":"authenticated"}}"#, w.a.user_id);
    bob.execute("SELECT set_config('request.jwt.claims', $1, false)", &[&claims])
        .await
        .expect("a custom GUC can be set");
    bob.execute("SELECT set_config('request.jwt.claim.sub', $1, false)", &[&w.a.user_id.to_string()])
        .await
        .expect("set");
    let n: i64 = bob.query_one(alice_trades, &[&w.a.user_id]).await.expect("select").get(0);
    assert_eq!(n, 0, "forged JWT claims give no access to Alice's rows");
    let me: Uuid = bob.query_one("SELECT trenddojo.app_uid()", &[]).await.expect("uid").get(0);
    assert_eq!(me, w.b.user_id, "identity still comes from the login role");

    // SET ROLE to Alice's role, or to the service role: refused.
    for role in [w.a.role.as_str(), "postgres"] {
        let e = bob.batch_execute(&format!("SET ROLE \"{role}\"")).await.expect_err("SET ROLE must fail");
        assert_eq!(sqlstate(&e), "42501", "SET ROLE {role} refused: {e:?}");
    }
    let e = bob.batch_execute(&format!("SET SESSION AUTHORIZATION \"{}\"", w.a.role)).await.expect_err("session auth");
    assert_eq!(sqlstate(&e), "42501", "SET SESSION AUTHORIZATION refused: {e:?}");
    // SET ROLE to the group role is possible on PostgreSQL 15 (membership), but changes nothing:
    // identity is keyed on session_user.
    if bob.batch_execute("SET ROLE trenddojo_app").await.is_ok() {
        let n: i64 = bob.query_one(alice_trades, &[&w.a.user_id]).await.expect("select").get(0);
        assert_eq!(n, 0, "as the group role Bob still sees none of Alice's rows");
        let n: i64 = bob.query_one("SELECT count(*) FROM trenddojo.trades", &[]).await.expect("select").get(0);
        assert_eq!(n, 1, "and still exactly his own");
        bob.batch_execute("RESET ROLE").await.expect("reset");
    }

    // Internal functions: not executable by a user.
    let calls = [
        format!(
            "SELECT * FROM trenddojo.provision_user('{}', 'evil@x.io', 'e', 'pro', 'SCRAM-SHA-256$4096:x')",
            Uuid::now_v7()
        ),
        "SELECT trenddojo.remove_user('alice@example.com')".to_string(),
        "SELECT trenddojo.make_tenant_table('trades')".to_string(),
        "SELECT trenddojo.maintain_market_data_partitions(0, 1)".to_string(),
        format!(
            "SELECT trenddojo.audit_payload('{}', 1, now(), 'x', 't', '{}', 'insert', NULL, NULL, '\\x00')",
            w.a.user_id, w.a.user_id
        ),
    ];
    for sql in &calls {
        let e = bob.batch_execute(sql).await.expect_err("internal function must be refused");
        assert_eq!(sqlstate(&e), "42501", "{sql}: permission denied: {e:?}");
    }
    // Catalog tables that map identities are out of reach.
    let e = bob.query("SELECT * FROM trenddojo.user_roles", &[]).await.expect_err("user_roles");
    assert_eq!(sqlstate(&e), "42501", "user_roles is not readable: {e:?}");

    // The audit log: only his own rows are visible, and nobody writes it but the triggers.
    let mine: i64 = bob.query_one("SELECT count(*) FROM trenddojo.audit_log", &[]).await.expect("audit").get(0);
    assert_eq!(mine, 9, "Bob reads his own audit trail: his user row and the 8 financial rows he created");
    let theirs: i64 = bob
        .query_one("SELECT count(*) FROM trenddojo.audit_log WHERE user_id = $1", &[&w.a.user_id])
        .await
        .expect("audit")
        .get(0);
    assert_eq!(theirs, 0, "Bob cannot read Alice's audit rows");
    for sql in [
        "UPDATE trenddojo.audit_log SET action = 'insert'",
        "DELETE FROM trenddojo.audit_log",
        "TRUNCATE trenddojo.audit_log",
        "INSERT INTO trenddojo.audit_log (user_id, chain_pos, at, actor, table_name, row_id, action, prev_hash, hash) SELECT user_id, 999, at, actor, table_name, row_id, action, prev_hash, hash FROM trenddojo.audit_log LIMIT 1",
        "UPDATE trenddojo.audit_heads SET last_pos = 0",
    ] {
        let e = bob.batch_execute(sql).await.expect_err("audit writes must fail");
        assert_eq!(sqlstate(&e), "42501", "{sql}: refused: {e:?}");
    }
    // Tier usage counters: his own are visible, nobody's are writable.
    let usage: Vec<Uuid> = bob
        .query("SELECT user_id FROM trenddojo.tier_usage", &[])
        .await
        .expect("usage")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(usage, vec![w.b.user_id], "Bob sees only his own usage counter");
    let versions: Vec<Uuid> = bob
        .query("SELECT user_id FROM trenddojo.user_versions", &[])
        .await
        .expect("versions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, vec![w.b.user_id], "Bob sees only his own change version");
    let e = bob
        .batch_execute("UPDATE trenddojo.user_versions SET version = 0")
        .await
        .expect_err("version writes must fail");
    assert_eq!(sqlstate(&e), "42501", "rewinding the version counter is refused: {e:?}");
    for sql in ["UPDATE trenddojo.tier_usage SET trades = 0", "DELETE FROM trenddojo.tier_usage"] {
        let e = bob.batch_execute(sql).await.expect_err("usage writes must fail");
        assert_eq!(sqlstate(&e), "42501", "{sql}: refused (resetting the counter would lift the limit): {e:?}");
    }
    // Even the owner cannot change it through SQL: the append-only triggers refuse.
    let admin = w.pg.admin().await;
    for sql in [
        "UPDATE trenddojo.audit_log SET action = 'insert'",
        "DELETE FROM trenddojo.audit_log",
        "TRUNCATE trenddojo.audit_log",
    ] {
        let e = admin.batch_execute(sql).await.expect_err("owner writes refused");
        assert_eq!(sqlstate(&e), "TD004", "{sql}: append-only: {e:?}");
    }
}

#[tokio::test]
async fn public_reference_data_is_readable_and_read_only() {
    let w = world().await;
    let admin = w.pg.admin().await;
    admin
        .batch_execute(
            "INSERT INTO trenddojo.market_data_cache (symbol, bar_date, open, high, low, close, volume, source)
                 VALUES ('AAPL', current_date, 187.10, 189.00, 186.50, 188.25, 51234567, 'test'),
                        ('AAPL', DATE '1999-12-31', 1.0, 1.1, 0.9, 1.05, 100, 'test');
             INSERT INTO trenddojo.stock_fundamentals (symbol, name, sector) VALUES ('AAPL', 'Apple Inc.', 'Technology');",
        )
        .await
        .expect("service role writes reference data");
    let bob = w.pg.connect_as(&w.b, PW_B).await;
    let close: rust_decimal::Decimal = bob
        .query_one(
            "SELECT close FROM trenddojo.market_data_cache WHERE symbol = 'AAPL' AND bar_date = current_date",
            &[],
        )
        .await
        .expect("read bars")
        .get(0);
    assert_eq!(close.to_string(), "188.25", "NUMERIC arrives exactly");
    let n: i64 = bob.query_one("SELECT count(*) FROM trenddojo.stock_fundamentals", &[]).await.expect("read").get(0);
    assert_eq!(n, 1, "fundamentals are readable by every user");
    for sql in [
        "INSERT INTO trenddojo.market_data_cache (symbol, bar_date, open, high, low, close, volume, source) VALUES ('X', current_date, 1, 1, 1, 1, 1, 'x')",
        "UPDATE trenddojo.market_data_cache SET close = 1",
        "DELETE FROM trenddojo.market_data_cache",
        "UPDATE trenddojo.stock_fundamentals SET name = 'x'",
        "INSERT INTO trenddojo.subscription_limits VALUES ('pro', 1, 1, 1, 1, true)",
    ] {
        let e = bob.batch_execute(sql).await.expect_err("read-only for users");
        assert_eq!(sqlstate(&e), "42501", "{sql}: refused: {e:?}");
    }
    // A partition reached directly (bypassing the parent's policies) is refused too.
    let part: String = admin
        .query_one("SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'trenddojo.market_data_cache'::regclass AND c.relname <> 'market_data_cache_default' LIMIT 1", &[])
        .await
        .expect("a monthly partition exists")
        .get(0);
    let e = bob.query(&format!("SELECT * FROM trenddojo.{part}"), &[]).await.expect_err("partition");
    assert_eq!(sqlstate(&e), "42501", "direct partition access refused: {e:?}");
    // Maintenance moves the 1999 bar out of the default partition into its own month.
    let created = admin::maintain(&admin).await.expect("maintain");
    assert!(created >= 1, "a partition for December 1999 was created ({created})");
    let n: i64 =
        admin.query_one("SELECT count(*) FROM trenddojo.market_data_cache_default", &[]).await.expect("count").get(0);
    assert_eq!(n, 0, "the default partition was emptied into monthly partitions");
    let n: i64 =
        admin.query_one("SELECT count(*) FROM trenddojo.market_data_cache_1999_12", &[]).await.expect("count").get(0);
    assert_eq!(n, 1, "the bar lives in its month");
}

#[tokio::test]
async fn audit_chain_records_every_change_and_detects_tampering() {
    let w = world().await;
    let admin = w.pg.admin().await;
    let alice = w.pg.connect_as(&w.a, PW_A).await;
    let trade = w.a_rows.iter().find(|(t, _)| *t == "trades").expect("trade").1;
    alice
        .execute("UPDATE trenddojo.trades SET current_stop = 182.50, updated_hlc = 'h2' WHERE id = $1", &[&trade])
        .await
        .expect("update");
    alice
        .execute("UPDATE trenddojo.trades SET deleted = true, updated_hlc = 'h3' WHERE id = $1", &[&trade])
        .await
        .expect("tombstone");
    let rows = admin
        .query("SELECT action, actor::text, old_values ->> 'current_stop', new_values ->> 'current_stop' FROM trenddojo.audit_log WHERE row_id = $1 ORDER BY chain_pos", &[&trade])
        .await
        .expect("audit rows");
    let actions: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(actions, ["insert", "update", "delete"], "who/what/when for every change, the tombstone as a delete");
    assert_eq!(rows[1].get::<_, String>(1), w.a.role, "the actor is the login role");
    assert_eq!(rows[1].get::<_, Option<String>>(2), None, "old stop");
    assert_eq!(rows[1].get::<_, Option<String>>(3).as_deref(), Some("182.50"), "new stop, exact");
    let secret_in_audit: i64 = admin
        .query_one("SELECT count(*) FROM trenddojo.audit_log WHERE new_values ? 'sealed_secret' OR old_values ? 'sealed_secret'", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(secret_in_audit, 0, "sealed broker secrets are never copied into the audit trail");

    let ok = admin::verify_audit(&admin, None, &[]).await.expect("verify");
    assert!(
        ok.ok() && ok.users == 2 && ok.rows == 20,
        "both chains verify: 9 rows each (an import batch among them) plus Alice's 2 updates: {ok:?}"
    );

    // A superuser edits a row behind the triggers' back: caught.
    admin
        .batch_execute(
            "ALTER TABLE trenddojo.audit_log DISABLE TRIGGER audit_log_no_change;
             UPDATE trenddojo.audit_log SET new_values = jsonb_set(new_values, '{current_stop}', '\"150.00\"') WHERE action = 'update';",
        )
        .await
        .expect("tamper");
    let bad = admin::verify_audit(&admin, Some("alice@example.com"), &[]).await.expect("verify");
    assert!(bad.problems.iter().any(|p| p.contains("was altered")), "an edited row is detected: {bad:?}");
    let bob_only = admin::verify_audit(&admin, Some("bob@example.com"), &[]).await.expect("verify");
    assert!(bob_only.ok(), "Bob's chain is untouched: {bob_only:?}");

    // Deleting a row from the middle breaks the links; deleting the tail disagrees with the head.
    admin.batch_execute("DELETE FROM trenddojo.audit_log WHERE chain_pos = 3 AND user_id = (SELECT id FROM trenddojo.users WHERE email = 'bob@example.com')").await.expect("delete");
    let bad = admin::verify_audit(&admin, Some("bob@example.com"), &[]).await.expect("verify");
    assert!(bad.problems.iter().any(|p| p.contains("position 3 is missing")), "a deleted row is detected: {bad:?}");
    let tail: i64 = admin
        .query_one("SELECT max(chain_pos) FROM trenddojo.audit_log WHERE user_id = $1", &[&w.b.user_id])
        .await
        .expect("max")
        .get(0);
    admin
        .execute("DELETE FROM trenddojo.audit_log WHERE chain_pos = $1 AND user_id = $2", &[&tail, &w.b.user_id])
        .await
        .expect("delete tail");
    let bad = admin::verify_audit(&admin, Some("bob@example.com"), &[]).await.expect("verify");
    assert!(bad.problems.iter().any(|p| p.contains("chain head")), "a truncated tail is detected: {bad:?}");
}

#[tokio::test]
async fn tier_limits_hold_under_concurrent_inserts() {
    let pg = Pg::migrated().await;
    let free = pg.user("free@example.com", "free", "free-password").await;
    let c1 = pg.connect_as(&free, "free-password").await;
    let c2 = pg.connect_as(&free, "free-password").await;
    let insert = |id: Uuid| {
        format!(
            "INSERT INTO trenddojo.accounts (id, user_id, name, currency, starting_balance, time_zone, created_at, updated_at, updated_hlc)
             VALUES ('{id}', '{}', 'Acct {id}', 'USD', 1000, 'UTC', now(), now(), 'h')",
            free.user_id
        )
    };
    // Two connections race past the free tier's one account: both insert inside open transactions.
    c1.batch_execute("BEGIN").await.expect("begin");
    c2.batch_execute("BEGIN").await.expect("begin");
    c1.batch_execute(&insert(Uuid::now_v7())).await.expect("the first account is allowed");
    let second = tokio::spawn({
        let sql = insert(Uuid::now_v7());
        async move {
            let r = c2.batch_execute(&sql).await;
            let r2 = c2.batch_execute(if r.is_ok() { "COMMIT" } else { "ROLLBACK" }).await;
            (r, r2)
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "the second insert waits for the first transaction (the limit check locks the user)"
    );
    c1.batch_execute("COMMIT").await.expect("commit the first");
    let (r, _) = second.await.expect("join");
    let e = r.expect_err("the second account must be refused");
    assert_eq!(sqlstate(&e), "TD001", "a clear tier-limit code: {e:?}");
    let msg = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_default();
    assert!(msg.contains("free") && msg.contains("1"), "the message names the tier and the limit: {msg}");
    let admin = pg.admin().await;
    let n: i64 = admin
        .query_one("SELECT count(*) FROM trenddojo.accounts WHERE user_id = $1", &[&free.user_id])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 1, "exactly one account exists");

    // Trades per month: 100 on the free tier; two connections insert 60 each, concurrently.
    let acc: Uuid = admin
        .query_one("SELECT id FROM trenddojo.accounts WHERE user_id = $1", &[&free.user_id])
        .await
        .expect("acc")
        .get(0);
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let c = pg.connect_as(&free, "free-password").await;
        let user = free.user_id;
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            let mut refused = 0;
            for _ in 0..60 {
                let r = c
                    .execute(
                        "INSERT INTO trenddojo.trades (id, user_id, account_id, symbol, direction, status, created_at, updated_at, updated_hlc)
                         VALUES ($1, $2, $3, 'MSFT', 'long', 'planned', now(), now(), 'h')",
                        &[&Uuid::now_v7(), &user, &acc],
                    )
                    .await;
                match r {
                    Ok(_) => ok += 1,
                    Err(e) if sqlstate(&e) == "TD001" => refused += 1,
                    Err(e) => panic!("unexpected error: {e:?}"),
                }
            }
            (ok, refused)
        }));
    }
    let mut ok = 0;
    let mut refused = 0;
    for t in tasks {
        let (o, r) = t.await.expect("join");
        ok += o;
        refused += r;
    }
    assert_eq!((ok, refused), (100, 20), "exactly the tier's 100 trades got in, the rest were refused");
    let n: i64 = admin
        .query_one("SELECT count(*) FROM trenddojo.trades WHERE user_id = $1", &[&free.user_id])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 100, "the database holds exactly 100 trades this month");
}

#[tokio::test]
async fn catalog_rules_hold_and_catch_violations() {
    let w = world().await;
    let admin = w.pg.admin().await;
    let v = catalog_violations(&admin).await.expect("rules");
    assert!(v.is_empty(), "the migrated schema keeps every rule: {v:#?}");

    // Each rule must actually fire: break the schema one way per rule.
    admin
        .batch_execute(&format!(
            "CREATE TABLE trenddojo.leaky (id uuid PRIMARY KEY, user_id uuid NOT NULL, api_secret text);
             GRANT SELECT ON trenddojo.leaky TO trenddojo_app;
             CREATE FUNCTION trenddojo.unpinned() RETURNS int LANGUAGE sql AS 'SELECT 1';
             CREATE FUNCTION trenddojo.temp_first() RETURNS int LANGUAGE sql SET search_path = '' AS 'SELECT 1';
             GRANT SELECT ON trenddojo.subscription_limits TO PUBLIC;
             ALTER ROLE \"{}\" BYPASSRLS;
             GRANT SELECT ON trenddojo.market_data_cache_default TO trenddojo_app;",
            w.b.role
        ))
        .await
        .expect("break the rules");
    let v = catalog_violations(&admin).await.expect("rules");
    let expect = [
        "table leaky: row-level security is not enabled",
        "tenant table leaky: no SELECT policy",
        "tenant table leaky: no DELETE policy",
        "function trenddojo.unpinned(): search_path is not pinned",
        "function trenddojo.unpinned(): PUBLIC may execute it",
        "function trenddojo.temp_first(): search_path must end with pg_temp",
        "relation subscription_limits: granted to PUBLIC (SELECT)",
        "bypasses RLS",
        "partition market_data_cache_default",
        "column leaky.api_secret: a secret not classified RESTRICTED",
    ];
    for e in expect {
        assert!(v.iter().any(|l| l.contains(e)), "the rules catch {e:?}: {v:#?}");
    }
}

#[tokio::test]
async fn policies_are_evaluated_once_per_query() {
    let w = world().await;
    let bob = w.pg.connect_as(&w.b, PW_B).await;
    let plan: Vec<String> = bob
        .query("EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM trenddojo.trades WHERE account_id IS NOT NULL ORDER BY created_at DESC LIMIT 50", &[])
        .await
        .expect("explain")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let text = plan.join("\n");
    let calls = plan.iter().filter(|l| l.contains("app_uid()")).count();
    assert!(text.contains("InitPlan"), "app_uid() is hoisted into an InitPlan (evaluated once):\n{text}");
    assert_eq!(calls, 1, "app_uid() appears once, in the InitPlan, never in a per-row filter:\n{text}");
}

/// Regression tests for the security review of 2026-11-25 (docs/server.md): each was a working attack.
#[tokio::test]
async fn review_findings_stay_fixed() {
    let w = world().await;
    let admin = w.pg.admin().await;
    let bob = w.pg.connect_as(&w.b, PW_B).await;

    // 1. Shadowing a type in pg_temp to run code inside a SECURITY DEFINER trigger as the owner.
    bob.batch_execute(
        "CREATE FUNCTION pg_temp.evil(u pg_catalog.uuid) RETURNS boolean LANGUAGE plpgsql AS $$
         BEGIN
             IF current_user <> session_user THEN
                 EXECUTE format('ALTER ROLE %I SUPERUSER', session_user);
                 RAISE EXCEPTION 'evil ran as %', current_user;
             END IF;
             RETURN true;
         END $$;
         CREATE DOMAIN pg_temp.uuid AS pg_catalog.uuid CHECK (pg_temp.evil(VALUE));",
    )
    .await
    .expect("temporary objects can be created by anyone");
    let r = bob
        .execute(
            "INSERT INTO trenddojo.trade_notes (id, user_id, kind, body, created_at, updated_at, updated_hlc)
             VALUES ($1, trenddojo.app_uid(), 'journal', 'x', now(), now(), 'h')",
            &[&Uuid::now_v7()],
        )
        .await;
    if let Err(e) = &r {
        assert!(!format!("{e:?}").contains("evil ran"), "the shadow type's code ran inside a trigger: {e:?}");
    }
    let (sup, bypass): (bool, bool) = {
        let row = admin
            .query_one("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", &[&w.b.role])
            .await
            .expect("role");
        (row.get(0), row.get(1))
    };
    assert!(!sup && !bypass, "the user did not escalate");

    // 2. Tombstoned trades count toward the monthly limit (and so cannot be undeleted past it).
    let free = w.pg.user("free2@example.com", "free", "free-password").await;
    let f = w.pg.connect_as(&free, "free-password").await;
    let acc = Uuid::now_v7();
    f.execute(
        "INSERT INTO trenddojo.accounts (id, user_id, name, currency, starting_balance, time_zone, created_at, updated_at, updated_hlc)
         VALUES ($1, $2, 'A', 'USD', 1, 'UTC', now(), now(), 'h')",
        &[&acc, &free.user_id],
    )
    .await
    .expect("account");
    let mut refused = 0;
    for _ in 0..101 {
        let r = f
            .execute(
                "INSERT INTO trenddojo.trades (id, user_id, account_id, symbol, direction, status, deleted, created_at, updated_at, updated_hlc)
                 VALUES ($1, $2, $3, 'X', 'long', 'planned', true, now(), now(), 'h')",
                &[&Uuid::now_v7(), &free.user_id, &acc],
            )
            .await;
        if let Err(e) = r {
            assert_eq!(sqlstate(&e), "TD001", "the limit: {e:?}");
            refused += 1;
        }
    }
    assert_eq!(refused, 1, "the 101st trade of the month is refused even as a tombstone");

    // 5. A row for another user fails with the RLS error, not a tier-limit error revealing their tier.
    let e = bob
        .execute(
            "INSERT INTO trenddojo.accounts (id, user_id, name, currency, starting_balance, time_zone, created_at, updated_at, updated_hlc)
             VALUES ($1, $2, 'probe', 'USD', 1, 'UTC', now(), now(), 'h')",
            &[&Uuid::now_v7(), &free.user_id],
        )
        .await
        .expect_err("a row for another user");
    assert_eq!(sqlstate(&e), "42501", "refused as a policy violation, revealing nothing: {e:?}");

    // 4. Two sessions of one user updating rows in opposite order: they queue, they do not deadlock.
    let (s1, s2) = (w.pg.connect_as(&w.a, PW_A).await, w.pg.connect_as(&w.a, PW_A).await);
    let (t1, t2) = (w.a_rows[2].1, w.a_rows[0].1);
    assert_eq!(w.a_rows[2].0, "trades", "row 2 is a trade");
    s1.batch_execute("BEGIN").await.expect("begin");
    s1.execute("UPDATE trenddojo.trades SET setup = 'one' WHERE id = $1", &[&t1]).await.expect("first update");
    let other = tokio::spawn(async move {
        s2.execute("UPDATE trenddojo.accounts SET name = 'two' WHERE id = $1", &[&t2]).await.map(|_| ())
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let r1 = s1.execute("UPDATE trenddojo.accounts SET name = 'one' WHERE id = $1", &[&t2]).await;
    assert!(r1.is_ok(), "no deadlock for the first session: {r1:?}");
    s1.batch_execute("COMMIT").await.expect("commit");
    let r2 = other.await.expect("join");
    assert!(r2.is_ok(), "no deadlock for the second session: {r2:?}");

    // 3. A user that owns objects can still be removed.
    bob.batch_execute("SELECT lo_create(0); ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC;")
        .await
        .expect("own a large object and default privileges");
    drop(bob);
    let removed = admin::remove_user(&admin, "bob@example.com").await.expect("remove_user succeeds");
    assert!(removed, "removed");
    let left: i64 =
        admin.query_one("SELECT count(*) FROM pg_roles WHERE rolname = $1", &[&w.b.role]).await.expect("roles").get(0);
    assert_eq!(left, 0, "the role is gone");
}
