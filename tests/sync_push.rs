//! The server half of a push against a real PostgreSQL, as the user's own login: per-field merge of
//! concurrent edits, delete wins, retried and overlapping batches apply once, a missing batch is detected,
//! exact money, and tenant isolation of rows and device ids.

use crate::pg;

use pg::Pg;
use serde_json::{json, Value};
use tokio_postgres::Client;
use trenddojo_server::admin::Provisioned;
use trenddojo_sync::merge::{Field, RowState};
use trenddojo_sync::{push_batch, Hlc, Mutation, SyncError};
use uuid::Uuid;

const PW: &str = "push-password";

fn stamp(ms: u64, device: &str) -> Hlc {
    Hlc::new(1_767_225_600_000 + ms, 0, device).expect("stamp")
}

fn state(fields: &[(&str, Value)], at: &Hlc) -> RowState {
    RowState {
        fields: fields.iter().map(|(k, v)| (k.to_string(), Field::new(v.clone(), at.clone()))).collect(),
        deleted: None,
    }
}

fn account_row(id: Uuid, user: Uuid, at: &Hlc) -> RowState {
    state(
        &[
            ("id", json!(id.to_string())),
            ("user_id", json!(user.to_string())),
            ("name", json!("Swing")),
            ("currency", json!("USD")),
            ("starting_balance", json!("25000.00")),
            ("time_zone", json!("America/New_York")),
            ("broker", Value::Null),
            ("matching_method", json!("fifo")),
            ("breakeven_tolerance", json!("0")),
            ("created_at", json!("2026-01-01T00:00:00.000000Z")),
            ("updated_at", json!("2026-01-01T00:00:00.000000Z")),
            ("updated_hlc", json!(at.to_string())),
        ],
        at,
    )
}

fn trade_row(id: Uuid, account: Uuid, user: Uuid, at: &Hlc) -> RowState {
    let mut s = state(
        &[
            ("id", json!(id.to_string())),
            ("user_id", json!(user.to_string())),
            ("account_id", json!(account.to_string())),
            ("symbol", json!("AAPL")),
            ("direction", json!("long")),
            ("status", json!("planned")),
            ("multiplier", json!("1")),
            ("planned_entry", json!("187.25")),
            ("current_stop", json!("180")),
            ("setup", json!("breakout")),
            ("entered_quantity", json!("0")),
            ("open_quantity", json!("0")),
            ("gross_pnl", json!("0")),
            ("fees", json!("0")),
            ("net_pnl", json!("0")),
            ("created_at", json!("2026-01-01T00:00:00.000000Z")),
            ("updated_at", json!("2026-01-01T00:00:00.000000Z")),
            ("updated_hlc", json!(at.to_string())),
        ],
        at,
    );
    for nullable in [
        "planned_quantity",
        "initial_stop",
        "correlation_group",
        "avg_entry_price",
        "avg_exit_price",
        "initial_risk",
        "r_multiple",
        "exit_days",
        "opened_at",
        "closed_at",
        "cancelled_at",
    ] {
        s.fields.insert(nullable.into(), Field::new(Value::Null, at.clone()));
    }
    s
}

fn m(number: i64, table: &str, id: Uuid, row: RowState) -> Mutation {
    Mutation { number, table: table.into(), id, row }
}

/// One field changed at a later stamp, as a device that edited only that field would send it.
fn edit(base: &RowState, field: &str, value: Value, at: &Hlc) -> RowState {
    let mut s = base.clone();
    s.fields.insert(field.into(), Field::new(value.clone(), at.clone()));
    s.fields.insert("updated_hlc".into(), Field::new(json!(at.to_string()), at.clone()));
    s
}

async fn text(c: &Client, sql: &str, id: Uuid) -> String {
    c.query_one(sql, &[&id]).await.expect("query").get(0)
}

struct Setup {
    pg: Pg,
    user: Provisioned,
    account: Uuid,
    trade: Uuid,
    base: RowState,
}

async fn setup() -> Setup {
    let pg = Pg::migrated().await;
    let user = pg.user("sync@example.com", "pro", PW).await;
    let (account, trade) = (Uuid::now_v7(), Uuid::now_v7());
    let t0 = stamp(0, "laptop");
    let base = trade_row(trade, account, user.user_id, &t0);
    let mut c = pg.connect_as(&user, PW).await;
    let out = push_batch(
        &mut c,
        &trenddojo_sync::Limits::DEFAULT,
        Uuid::now_v7(),
        0,
        &[m(1, "accounts", account, account_row(account, user.user_id, &t0)), m(2, "trades", trade, base.clone())],
    )
    .await
    .expect("first push");
    assert_eq!((out.applied, out.duplicates, out.last_mutation), (2, 0, 2), "both rows applied: {out:?}");
    Setup { pg, user, account, trade, base }
}

#[tokio::test]
async fn concurrent_field_edits_merge_and_the_same_field_has_one_winner() {
    let s = setup().await;
    let (laptop, desktop) = (Uuid::now_v7(), Uuid::now_v7());
    let mut a = s.pg.connect_as(&s.user, PW).await;
    let mut b = s.pg.connect_as(&s.user, PW).await;
    // Offline, the laptop moves the stop and the desktop renames the setup; then the laptop also edits the
    // stop again later than the desktop's own stop edit.
    push_batch(
        &mut a,
        &trenddojo_sync::Limits::DEFAULT,
        laptop,
        0,
        &[m(1, "trades", s.trade, edit(&s.base, "current_stop", json!("182.5"), &stamp(10, "laptop")))],
    )
    .await
    .expect("laptop");
    let desk = edit(
        &edit(&s.base, "setup", json!("pullback"), &stamp(20, "desktop")),
        "current_stop",
        json!("181"),
        &stamp(5, "desktop"),
    );
    let out = push_batch(&mut b, &trenddojo_sync::Limits::DEFAULT, desktop, 0, &[m(1, "trades", s.trade, desk)])
        .await
        .expect("desktop");
    let admin = s.pg.admin().await;
    assert_eq!(
        text(&admin, "SELECT current_stop::text FROM trenddojo.trades WHERE id = $1", s.trade).await,
        "182.5",
        "the later stop edit (laptop) wins"
    );
    assert_eq!(
        text(&admin, "SELECT setup FROM trenddojo.trades WHERE id = $1", s.trade).await,
        "pullback",
        "the desktop's setup survives"
    );
    let lost: Vec<_> = out.conflicts.iter().filter(|c| c.overridden.field == "current_stop").collect();
    assert_eq!(lost.len(), 1, "the desktop's losing stop is reported: {:?}", out.conflicts);
    assert_eq!(lost[0].overridden.lost.value, json!("181"), "with its value");
    assert_eq!(
        text(&admin, "SELECT field_hlcs ->> 'setup' FROM trenddojo.trades WHERE id = $1", s.trade).await,
        stamp(20, "desktop").to_string(),
        "the server remembers each field's stamp"
    );
    assert_eq!(
        text(&admin, "SELECT planned_entry::text FROM trenddojo.trades WHERE id = $1", s.trade).await,
        "187.25",
        "money is stored exactly"
    );
}

#[tokio::test]
async fn retries_apply_once_and_gaps_are_refused() {
    let s = setup().await;
    let device = Uuid::now_v7();
    let mut c = s.pg.connect_as(&s.user, PW).await;
    let admin = s.pg.admin().await;
    let batch: Vec<Mutation> = (1..=3)
        .map(|i| {
            m(
                i,
                "trades",
                s.trade,
                edit(&s.base, "current_stop", json!(format!("18{i}")), &stamp(10 + i as u64, "laptop")),
            )
        })
        .collect();
    let first = push_batch(&mut c, &trenddojo_sync::Limits::DEFAULT, device, 0, &batch).await.expect("push");
    assert_eq!((first.applied, first.last_mutation), (3, 3), "applied: {first:?}");
    let (audit_before, version_before) = (
        audit(&admin).await,
        text(&admin, "SELECT server_seq::text FROM trenddojo.trades WHERE id = $1", s.trade).await,
    );

    let again = push_batch(&mut c, &trenddojo_sync::Limits::DEFAULT, device, 0, &batch).await.expect("retry");
    assert_eq!(
        (again.applied, again.duplicates, again.last_mutation),
        (0, 3, 3),
        "a retried batch is recognised: {again:?}"
    );
    assert_eq!(audit(&admin).await, audit_before, "a retry writes no audit rows");
    assert_eq!(
        text(&admin, "SELECT server_seq::text FROM trenddojo.trades WHERE id = $1", s.trade).await,
        version_before,
        "and no new version"
    );

    // The client crashed after the server committed 1..3 and now sends 1..5: only 4 and 5 apply.
    let mut longer = batch.clone();
    longer.push(m(4, "trades", s.trade, edit(&s.base, "setup", json!("flag"), &stamp(30, "laptop"))));
    longer.push(m(5, "trades", s.trade, edit(&s.base, "current_stop", json!("186"), &stamp(31, "laptop"))));
    let overlap = push_batch(&mut c, &trenddojo_sync::Limits::DEFAULT, device, 0, &longer).await.expect("overlap");
    assert_eq!(
        (overlap.applied, overlap.duplicates, overlap.last_mutation),
        (2, 3, 5),
        "only the new part: {overlap:?}"
    );

    // The device was told 7 was acknowledged, but the server has only 5: the server lost data.
    let gap =
        push_batch(&mut c, &trenddojo_sync::Limits::DEFAULT, device, 7, &[m(8, "trades", s.trade, s.base.clone())])
            .await;
    assert!(
        matches!(gap, Err(SyncError::Gap { server_last: 5, batch_first: 8 })),
        "lost acknowledged changes: {gap:?}"
    );
    let descending = push_batch(
        &mut c,
        &trenddojo_sync::Limits::DEFAULT,
        device,
        5,
        &[m(8, "trades", s.trade, s.base.clone()), m(6, "trades", s.trade, s.base.clone())],
    )
    .await;
    assert!(matches!(descending, Err(SyncError::Invalid { .. })), "numbers within a batch ascend: {descending:?}");
    assert_eq!(
        text(&admin, "SELECT current_stop::text FROM trenddojo.trades WHERE id = $1", s.trade).await,
        "186",
        "nothing of the refused batches was written"
    );
}

#[tokio::test]
async fn a_delete_wins_over_a_later_edit() {
    let s = setup().await;
    let mut c = s.pg.connect_as(&s.user, PW).await;
    let mut deleted = s.base.clone();
    deleted.deleted = Some(stamp(10, "laptop"));
    push_batch(&mut c, &trenddojo_sync::Limits::DEFAULT, Uuid::now_v7(), 0, &[m(1, "trades", s.trade, deleted)])
        .await
        .expect("delete");
    push_batch(
        &mut c,
        &trenddojo_sync::Limits::DEFAULT,
        Uuid::now_v7(),
        0,
        &[m(1, "trades", s.trade, edit(&s.base, "setup", json!("revived?"), &stamp(50, "desktop")))],
    )
    .await
    .expect("edit");
    let admin = s.pg.admin().await;
    let row =
        admin.query_one("SELECT deleted, setup FROM trenddojo.trades WHERE id = $1", &[&s.trade]).await.expect("row");
    assert!(row.get::<_, bool>(0), "the row stays deleted");
    assert_eq!(row.get::<_, String>(1), "revived?", "the field still converges under the tombstone");
}

#[tokio::test]
async fn pushes_cannot_cross_tenants_or_bend_the_rules() {
    let s = setup().await;
    let mallory = s.pg.user("mallory@example.com", "pro", PW).await;
    let mut c = s.pg.connect_as(&mallory, PW).await;
    let admin = s.pg.admin().await;
    let before = text(&admin, "SELECT setup FROM trenddojo.trades WHERE id = $1", s.trade).await;

    // Overwriting the victim's trade: the row is invisible to her, so this becomes an insert of a row with
    // an existing id and the victim's user_id, refused by row-level security or the primary key.
    let forged = edit(&s.base, "setup", json!("pwned"), &stamp(99, "mallory"));
    let r = push_batch(&mut c, &trenddojo_sync::Limits::DEFAULT, Uuid::now_v7(), 0, &[m(1, "trades", s.trade, forged)])
        .await;
    assert!(matches!(r, Err(SyncError::Server(_))), "refused: {r:?}");
    // A brand-new row claiming the victim's user id.
    let other = Uuid::now_v7();
    let r = push_batch(
        &mut c,
        &trenddojo_sync::Limits::DEFAULT,
        Uuid::now_v7(),
        0,
        &[m(1, "accounts", other, account_row(other, s.user.user_id, &stamp(1, "mallory")))],
    )
    .await;
    assert!(
        matches!(r, Err(SyncError::Server(trenddojo_server::ServerError::Refused(_)))),
        "row-level security refuses it: {r:?}"
    );
    assert_eq!(
        text(&admin, "SELECT setup FROM trenddojo.trades WHERE id = $1", s.trade).await,
        before,
        "the victim's row is untouched"
    );

    // The victim's device id cannot be used (to block or probe its numbering).
    let victim_device = Uuid::now_v7();
    let mut v = s.pg.connect_as(&s.user, PW).await;
    push_batch(&mut v, &trenddojo_sync::Limits::DEFAULT, victim_device, 0, &[]).await.expect("register the device");
    let r = push_batch(&mut c, &trenddojo_sync::Limits::DEFAULT, victim_device, 0, &[]).await;
    assert!(matches!(r, Err(SyncError::ForeignDevice)), "another user's device id is refused: {r:?}");

    // Server-owned fields are ignored; unknown fields and tables are named.
    let mut u = RowState::default();
    u.fields.insert("subscription_tier".into(), Field::new(json!("pro"), stamp(5, "mallory")));
    u.fields.insert("display_name".into(), Field::new(json!("M"), stamp(5, "mallory")));
    push_batch(&mut c, &trenddojo_sync::Limits::DEFAULT, Uuid::now_v7(), 0, &[m(1, "users", mallory.user_id, u)])
        .await
        .expect("a users push");
    let free = s.pg.user("free@example.com", "free", PW).await;
    let mut f = s.pg.connect_as(&free, PW).await;
    let mut up = RowState::default();
    up.fields.insert("subscription_tier".into(), Field::new(json!("pro"), stamp(5, "free")));
    push_batch(&mut f, &trenddojo_sync::Limits::DEFAULT, Uuid::now_v7(), 0, &[m(1, "users", free.user_id, up)])
        .await
        .expect("ignored, not an error");
    assert_eq!(
        text(&admin, "SELECT subscription_tier FROM trenddojo.users WHERE id = $1", free.user_id).await,
        "free",
        "a device cannot upgrade its tier"
    );
    let mut bad = s.base.clone();
    bad.fields.insert("is_admin".into(), Field::new(json!(true), stamp(5, "laptop")));
    let r =
        push_batch(&mut v, &trenddojo_sync::Limits::DEFAULT, Uuid::now_v7(), 0, &[m(1, "trades", s.trade, bad)]).await;
    assert!(
        matches!(r, Err(SyncError::Invalid { ref field, .. }) if field == "trades.is_admin"),
        "an unknown field is named: {r:?}"
    );
    let r = push_batch(
        &mut v,
        &trenddojo_sync::Limits::DEFAULT,
        Uuid::now_v7(),
        0,
        &[m(1, "user_roles", s.trade, s.base.clone())],
    )
    .await;
    assert!(matches!(r, Err(SyncError::Invalid { ref field, .. }) if field == "table"), "only synced tables: {r:?}");
    let mut money = s.base.clone();
    money.fields.insert("planned_entry".into(), Field::new(json!(187.25), stamp(60, "laptop")));
    let r = push_batch(&mut v, &trenddojo_sync::Limits::DEFAULT, Uuid::now_v7(), 0, &[m(1, "trades", s.trade, money)])
        .await;
    assert!(
        matches!(r, Err(SyncError::Invalid { ref field, .. }) if field == "trades.planned_entry"),
        "money as a JSON number is refused: {r:?}"
    );
    let _ = s.account;
}

async fn audit(a: &Client) -> i64 {
    a.query_one("SELECT count(*) FROM trenddojo.audit_log", &[]).await.expect("audit").get(0)
}
