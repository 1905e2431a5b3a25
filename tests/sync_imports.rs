//! Broker imports through sync: two encrypted stores of one trader and a real PostgreSQL, driven through
//! the `trenddojo` binary. Starts from what goes wrong elsewhere: the same statement imported on two
//! devices while offline must not double every fill when they meet; an import's provenance and batch
//! must reach the other device; an undo on one device must reach the other.

use crate::common;
use crate::devices;
use crate::pg;

use common::Home;
use devices::Device;
use pg::Pg;
use serde_json::Value;

const PW: &str = "device-password";
const FLEX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../import/fixtures/ibkr_flex_csv/trades.csv");

fn user_url(p: &trenddojo_server::admin::Provisioned) -> String {
    p.url.replacen("postgresql://", &format!("postgresql://{}:{PW}@", p.role), 1).replacen(
        &format!("@{}@", p.role),
        "@",
        1,
    )
}

/// Live executions of the trader on the server, and how many carry a broker execution id.
async fn server_fills(admin: &tokio_postgres::Client) -> (i64, i64) {
    let row = admin
        .query_one("SELECT count(*), count(broker_exec_id) FROM trenddojo.executions WHERE NOT deleted", &[])
        .await
        .expect("count fills");
    (row.get(0), row.get(1))
}

#[tokio::test]
async fn the_same_statement_on_two_offline_devices_merges_and_an_undo_reaches_both() {
    let pg = Pg::migrated().await;
    let laptop_home = Home::init();
    let me: Value = laptop_home.json(&["user", "list"]);
    let my_id = me[0]["id"].as_str().expect("user id").to_string();
    let admin = pg.admin().await;
    let config: tokio_postgres::Config = pg.service().parse().expect("config");
    let p = trenddojo_server::admin::add_user_with_id(
        &admin,
        &config,
        my_id.parse().expect("uuid"),
        "me@example.com",
        "pro",
        None,
        PW,
    )
    .await
    .expect("provision");
    let url = user_url(&p);
    let laptop = Device { home: laptop_home, url: url.clone() };
    laptop.json(&[
        "account",
        "add",
        "--name",
        "IB",
        "--currency",
        "USD",
        "--balance",
        "100000",
        "--timezone",
        "America/New_York",
    ]);
    laptop.sync();
    let desktop_home = Home { dir: tempfile::tempdir().expect("dir") };
    let o = desktop_home.run(&["init", "--email", "desktop-owner@example.com", "--tier", "free"]);
    assert!(o.status.success(), "init desktop: {}", String::from_utf8_lossy(&o.stderr));
    let desktop = Device { home: desktop_home, url: url.clone() };
    // Its first sync brings the trader down (before that the store knows no such user).
    let mut c = desktop.home.cmd();
    c.env("TRENDDOJO_SERVER_URL", &url).args(["--json", "sync"]);
    let o = c.output().expect("sync desktop");
    assert!(o.status.success(), "the desktop's first sync: {}", String::from_utf8_lossy(&o.stderr));

    // Offline, both import the same statement.
    let on_laptop = laptop.json(&["import", FLEX, "--account", "IB", "--yes"]);
    let on_desktop = desktop.json(&["import", FLEX, "--account", "IB", "--yes"]);
    assert_eq!(on_laptop["counts"]["new"], 8, "the laptop imports eight fills: {}", on_laptop["counts"]);
    assert_eq!(on_desktop["counts"]["new"], 8, "so does the desktop, not knowing: {}", on_desktop["counts"]);
    for d in [&laptop, &desktop, &laptop] {
        d.sync();
    }
    let (l, dk) = (laptop.view(), desktop.view());
    assert_eq!(l, dk, "both devices converge");
    assert_eq!(l["trades"].as_array().map(Vec::len), Some(4), "four trades, not eight: the rows merged by id");
    assert_eq!(server_fills(&admin).await, (8, 8), "eight fills on the server, each with its IBKR execution id");
    let batches = laptop.json(&["import", "list"]);
    assert_eq!(batches.as_array().map(Vec::len), Some(2), "both imports are on record on each device: {batches}");
    let es = l["trades"].as_array().expect("trades").iter().find(|t| t["symbol"] == "ESH26").expect("the ES trade");
    let source = es["sources"].as_object().and_then(|s| s.values().next()).expect("the ES fill's source");
    assert_eq!(source["instrument_key"], "FUT:ES:2026-03", "provenance synced: {source}");
    let mut times: Vec<&str> = es["sources"]
        .as_object()
        .map(|s| s.values().filter_map(|v| v["raw_time"].as_str()).collect())
        .unwrap_or_default();
    times.sort_unstable();
    assert_eq!(times, ["20260312;093000", "20260312;103000"], "the raw times synced: {}", es["sources"]);

    // Undo on the desktop the batch the merged fills belong to; the laptop follows.
    let owner = source["import_batch_id"].as_str().expect("batch").to_string();
    let undo = desktop.json(&["import", "undo", &owner]);
    assert_eq!(undo["fills_removed"], 8, "every fill of the statement goes: {undo}");
    for d in [&desktop, &laptop] {
        d.sync();
    }
    assert_eq!(laptop.json(&["trade", "list"]), serde_json::json!([]), "the undo reached the laptop");
    assert_eq!(laptop.view(), desktop.view(), "and both agree");
    assert_eq!(server_fills(&admin).await, (0, 0), "no live fill is left on the server");
    let undone: Vec<Value> = laptop.json(&["import", "list"]).as_array().cloned().unwrap_or_default();
    let mine = undone.iter().find(|b| b["id"] == owner.as_str()).expect("the undone batch");
    assert!(mine["undone_at"].is_string(), "the batch says it was undone, on the other device too: {mine}");
    assert_eq!(mine["undone_by"], "me@example.com", "and by whom");

    // Importing the statement again after the undo adds it back once, on both.
    laptop.json(&["import", FLEX, "--account", "IB", "--yes"]);
    for d in [&laptop, &desktop] {
        d.sync();
    }
    assert_eq!(desktop.json(&["trade", "list"]).as_array().map(Vec::len), Some(4), "re-imported once, seen on both");
    assert_eq!(server_fills(&admin).await, (8, 8), "eight live fills again");
}
