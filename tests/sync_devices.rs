//! End to end: two encrypted local stores (a laptop and a desktop of one trader) and a real PostgreSQL,
//! driven through the `trenddojo` CLI. Offline edits on both converge; concurrent edits of different
//! fields both survive; the same field resolves the same way on both with the loser logged; a delete wins;
//! a retried round changes nothing; another user's device sees none of it.

use crate::common;
use crate::devices;
use crate::pg;

use common::Home;
use devices::Device;
use pg::Pg;
use serde_json::Value;

const PW: &str = "device-password";

fn user_url(p: &trenddojo_server::admin::Provisioned) -> String {
    p.url.replacen("postgresql://", &format!("postgresql://{}:{PW}@", p.role), 1).replacen(
        &format!("@{}@", p.role),
        "@",
        1,
    )
}

#[tokio::test]
async fn two_devices_converge_through_the_server() {
    let pg = Pg::migrated().await;
    // The laptop's store was created offline; its user is provisioned on the server with the same id.
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

    let acc = laptop.json(&["account", "add", "--name", "Swing", "--currency", "USD", "--balance", "25000"]);
    let acc_id = acc["id"].as_str().expect("account id").to_string();
    let t = laptop.json(&[
        "trade",
        "open",
        "--account",
        "Swing",
        "--symbol",
        "AAPL",
        "--side",
        "long",
        "--quantity",
        "30",
        "--price",
        "187.25",
        "--stop",
        "180",
        "--fees",
        "1",
    ]);
    let trade = t["id"].as_str().expect("trade id").to_string();
    let first = laptop.sync();
    assert!(first["pushed"].as_u64().unwrap_or(0) >= 3, "user, account, trade and execution pushed: {first}");

    // A second device: a fresh store whose own local user is someone else; the first sync brings the
    // trader's data down.
    let desktop_home = Home { dir: tempfile::tempdir().expect("dir") };
    let o = desktop_home.run(&["init", "--email", "desktop-owner@example.com", "--tier", "free"]);
    assert!(o.status.success(), "init desktop: {}", String::from_utf8_lossy(&o.stderr));
    let desktop = Device { home: desktop_home, url: url.clone() };
    let mut c = desktop.home.cmd();
    c.env("TRENDDOJO_SERVER_URL", &url).args(["--json", "sync"]);
    let o = c.output().expect("sync desktop");
    assert!(o.status.success(), "the desktop's first sync: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(desktop.view(), laptop.view(), "after one sync the desktop shows exactly the laptop's data");
    assert_eq!(desktop.json(&["account", "list"])[0]["id"], acc_id, "same ids");

    // Offline on both: the laptop moves the stop, the desktop adds a partial exit and a setup name.
    laptop.json(&["trade", "edit", &trade, "--stop", "185", "--reason", "trail"]);
    desktop.json(&["trade", "edit", &trade, "--setup", "pullback"]);
    desktop.json(&[
        "trade",
        "add-execution",
        &trade,
        "--side",
        "sell",
        "--quantity",
        "12",
        "--price",
        "192.10",
        "--fees",
        "1",
    ]);
    for d in [&laptop, &desktop, &laptop] {
        d.sync();
    }
    let (l, dk) = (laptop.view(), desktop.view());
    assert_eq!(l, dk, "both devices converge");
    let shown = &l["trades"][0];
    assert_eq!(shown["current_stop"], "185", "the laptop's stop survives: {shown}");
    assert_eq!(shown["setup"], "pullback", "the desktop's setup survives");
    assert_eq!(shown["open_quantity"], "18", "the desktop's partial exit counts on the laptop (summary recomputed)");

    // The same field on both: the later edit wins everywhere and the loser is in the conflict log.
    laptop.json(&["trade", "edit", &trade, "--stop", "186", "--reason", "laptop"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    desktop.json(&["trade", "edit", &trade, "--stop", "187", "--reason", "desktop"]);
    for d in [&laptop, &desktop, &laptop] {
        d.sync();
    }
    assert_eq!(laptop.view(), desktop.view(), "converged again");
    assert_eq!(laptop.view()["trades"][0]["current_stop"], "187", "the later stop wins on both");
    let conflicts = laptop.json(&["sync", "conflicts"]);
    assert!(
        conflicts
            .as_array()
            .expect("array")
            .iter()
            .any(|c| c["field"] == "current_stop" && c["lost_value"] == "\"186\""),
        "the laptop's overridden stop is logged: {conflicts}"
    );

    // A retried round with nothing new changes nothing.
    let before = laptop.view();
    let again = laptop.sync();
    assert_eq!(again["pushed"], 0, "nothing left to push: {again}");
    assert_eq!(laptop.view(), before, "unchanged");
    let status = laptop.json(&["sync", "status"]);
    assert_eq!(status["pending"], 0, "no pending changes: {status}");

    // What a device pushed does not come back down, even when another device wrote in between: the
    // laptop's pull brings the desktop's edit only.
    desktop.json(&["trade", "edit", &trade, "--setup", "retest"]);
    desktop.sync();
    laptop.json(&["account", "add", "--name", "Long term", "--currency", "USD", "--balance", "1000"]);
    let r = laptop.sync();
    assert!(r["pushed"].as_u64().unwrap_or(0) >= 1, "the new account went up: {r}");
    assert_eq!(r["pulled"], 1, "only the desktop's edit came down, not the laptop's own rows: {r}");
    let r = laptop.sync();
    assert_eq!(r["pulled"], 0, "and nothing is left to download afterwards: {r}");
    desktop.sync();
    assert_eq!(laptop.view(), desktop.view(), "converged with the skipped versions");

    // A delete on one device wins over a later edit on the other.
    laptop.json(&["trade", "delete", &trade]);
    desktop.json(&["trade", "edit", &trade, "--setup", "still here?"]);
    for d in [&laptop, &desktop, &laptop] {
        d.sync();
    }
    assert_eq!(laptop.view(), desktop.view(), "converged after the delete");
    assert_eq!(laptop.json(&["trade", "list"]).as_array().map(Vec::len), Some(0), "the trade stays deleted");

    // Another user's device sees none of it.
    let other_home = Home::init();
    let o_id = other_home.json(&["user", "list"])[0]["id"].as_str().expect("id").to_string();
    let q = trenddojo_server::admin::add_user_with_id(
        &admin,
        &config,
        o_id.parse().expect("uuid"),
        "someone@example.com",
        "pro",
        None,
        PW,
    )
    .await
    .expect("provision");
    let other = Device { home: other_home, url: user_url(&q) };
    let r = other.sync();
    assert_eq!(r["pulled"].as_u64(), Some(1), "only its own user row comes down: {r}");
    let users = other.json(&["user", "list"]);
    assert_eq!(users.as_array().map(Vec::len), Some(1), "no other user's data arrives: {users}");
}

#[tokio::test]
async fn an_older_client_stops_before_a_newer_server_schema() {
    let pg = Pg::migrated().await;
    let home = Home::init();
    let id = home.json(&["user", "list"])[0]["id"].as_str().expect("id").to_string();
    let admin = pg.admin().await;
    let config: tokio_postgres::Config = pg.service().parse().expect("config");
    let p = trenddojo_server::admin::add_user_with_id(
        &admin,
        &config,
        id.parse().expect("uuid"),
        "me@example.com",
        "pro",
        None,
        PW,
    )
    .await
    .expect("provision");
    let device = Device { home, url: user_url(&p) };
    device.json(&["account", "add", "--name", "Swing", "--currency", "USD", "--balance", "1000"]);
    admin
        .batch_execute("INSERT INTO trenddojo_meta.refinery_schema_history (version, name, applied_on, checksum) VALUES (99, 'future', 'x', '0')")
        .await
        .expect("a newer build migrated the server");
    let o = device.run(&["sync"]);
    assert_eq!(o.status.code(), Some(9), "stops with the newer-schema code: {}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("upgrade TrendDojo"), "says what to do");
    let accounts: i64 = admin.query_one("SELECT count(*) FROM trenddojo.accounts", &[]).await.expect("count").get(0);
    assert_eq!(accounts, 0, "nothing was pushed");
    assert_eq!(device.json(&["sync", "status"])["pending"], 2, "the changes wait in the outbox (user and account)");

    // A server from before V8 has no schema_version(): the device stops too, asking for a migration.
    admin
        .batch_execute(
            "DELETE FROM trenddojo_meta.refinery_schema_history WHERE version = 99;
             ALTER FUNCTION trenddojo.schema_version() RENAME TO schema_version_hidden",
        )
        .await
        .expect("an older server");
    let message = device.fails(&["sync"], "conflict");
    assert!(message.contains("needs at least 14: migrate the server"), "says the server must be migrated: {message}");
    let accounts: i64 = admin.query_one("SELECT count(*) FROM trenddojo.accounts", &[]).await.expect("count").get(0);
    assert_eq!(accounts, 0, "nothing was pushed to the older server");
}
