//! States a merge can produce, through the real `trenddojo` CLI on real encrypted stores and a real
//! PostgreSQL: every one of them syncs on every device (sync never stops), every device computes the same
//! state, the user is told, and can resolve it.
//!
//! - two devices exit the same trade (over-closed: `needs_review` with the excess);
//! - an exit added on one device while the entry is deleted on another;
//! - an initial stop that ends on the wrong side of an entry edited elsewhere;
//! - an account deleted on one device while a trade is opened in it on another;
//! - a tier limit two offline devices reach together (rows kept aside, sent once the tier allows);
//! - honest conflicts: sequential edits log nothing, concurrent ones are logged and restorable;
//! - replacing a trade's targets on two devices is one edit, not the union;
//! - a restored stop is in the stop history.

use crate::devices;
use crate::pg;

use devices::{fleet, Device};
use pg::Pg;
use serde_json::Value;

const PW: &str = "merge-states-password";
const FLEX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../import/fixtures/ibkr_flex_csv/trades.csv");

fn open(d: &Device, qty: &str) -> String {
    let t = d.json(&[
        "trade",
        "open",
        "--account",
        "Swing",
        "--symbol",
        "AAPL",
        "--side",
        "long",
        "--quantity",
        qty,
        "--price",
        "100",
        "--stop",
        "95",
        "--at",
        "2026-03-02 10:00",
    ]);
    t["id"].as_str().expect("trade id").to_string()
}

fn account(d: &Device) {
    d.json(&["account", "add", "--name", "Swing", "--currency", "USD", "--balance", "25000", "--timezone", "UTC"]);
    d.json(&["risk", "set", "--account", "Swing", "--max-open-positions", "100", "--max-correlated-positions", "100"]);
}

fn show(d: &Device, trade: &str) -> Value {
    d.json(&["trade", "show", trade])
}

/// Every device syncs twice in turn (each round must succeed), so all have everything.
fn settle(devices: &[Device]) {
    for _ in 0..2 {
        for (i, d) in devices.iter().enumerate() {
            let o = d.run(&["--json", "sync"]);
            assert!(o.status.success(), "device {i}: every round succeeds: {}", String::from_utf8_lossy(&o.stderr));
        }
    }
}

/// The trade as every device shows it must be the same.
fn same_everywhere(devices: &[Device], trade: &str) -> Value {
    let first = show(&devices[0], trade);
    for (i, d) in devices.iter().enumerate().skip(1) {
        assert_eq!(show(d, trade), first, "device {i} shows the same trade as device 0");
    }
    first
}

#[tokio::test]
async fn two_devices_exiting_the_same_trade_never_stop_sync() {
    let pg = Pg::migrated().await;
    let (devices, _) = fleet(&pg, 3, "pro", PW).await;
    let (a, b, c) = (&devices[0], &devices[1], &devices[2]);
    account(a);
    let trade = open(a, "10");
    settle(&devices);
    // Offline: A closes all 10, B sells 4 of them.
    a.json(&["trade", "close", &trade, "--price", "110", "--at", "2026-03-02 11:00"]);
    b.json(&[
        "trade",
        "add-execution",
        &trade,
        "--side",
        "sell",
        "--quantity",
        "4",
        "--price",
        "105",
        "--at",
        "2026-03-02 10:30",
    ]);
    b.sync();
    let r = a.sync();
    assert!(r["pulled"].as_u64().unwrap_or(0) >= 1, "A's round succeeds and brings B's fill: {r}");
    settle(&devices);
    let t = same_everywhere(&devices, &trade);
    assert_eq!(t["status"], "needs_review", "over-closed: needs review on every device: {t}");
    assert_eq!(t["excess_quantity"], "4", "4 shares found nothing open: {t}");
    assert_eq!(t["review"], serde_json::json!(["over_closed"]), "the reason: {t}");
    assert_eq!(t["open_quantity"], "0", "nothing left open");
    // The user is told: the list filter, the status, the review list.
    let listed = c.json(&["trade", "list", "--status", "needs_review"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "trade list --status needs_review shows it: {listed}");
    let status = c.json(&["sync", "status"]);
    assert_eq!(status["needs_review"], 1, "sync status counts it: {status}");
    let review = c.json(&["sync", "review"]);
    assert_eq!(review["trades"][0]["trade"]["id"], trade.as_str(), "the review list names it: {review}");
    assert!(
        review["trades"][0]["advice"][0].as_str().unwrap_or_default().contains("exit fill"),
        "with what to do: {review}"
    );
    let human = c.run(&["sync"]);
    assert!(
        String::from_utf8_lossy(&human.stdout).contains("need review"),
        "the sync output says so: {}",
        String::from_utf8_lossy(&human.stdout)
    );
    // Statistics leave it out until it is resolved.
    let stats = a.json(&["stats", "--account", "Swing"]);
    assert_eq!(stats[0]["stats"]["trades"], 0, "a trade under review is not counted: {stats}");
    // A fourth device and a reset both work.
    let (more, _) = (devices.len(), ());
    assert_eq!(more, 3, "three devices");
    let o = c.run(&["--json", "sync", "reset", "--confirm", "reset"]);
    assert!(o.status.success(), "a reset applies the over-closed trade too: {}", String::from_utf8_lossy(&o.stderr));
    // Resolve on B: delete its extra exit. Every device ends closed, counted again.
    let fills = show(b, &trade)["executions"].as_array().expect("fills").clone();
    let extra = fills.iter().find(|e| e["quantity"] == "4").expect("B's exit")["id"].as_str().expect("id").to_string();
    b.json(&["trade", "delete-execution", &extra]);
    settle(&devices);
    let t = same_everywhere(&devices, &trade);
    assert_eq!(t["status"], "closed", "resolved everywhere: {t}");
    assert_eq!(t["net_pnl"], "100", "10 x (110 - 100): {t}");
    let stats = c.json(&["stats", "--account", "Swing"]);
    assert_eq!(stats[0]["stats"]["trades"], 1, "counted again once resolved: {stats}");
    assert_eq!(c.json(&["sync", "status"])["needs_review"], 0, "nothing left to review");
    let check = c.run(&["db", "check"]);
    assert!(check.status.success(), "the store is consistent: {}", String::from_utf8_lossy(&check.stdout));
}

#[tokio::test]
async fn closing_on_both_devices_and_other_rules_a_merge_breaks() {
    let pg = Pg::migrated().await;
    let (devices, _) = fleet(&pg, 2, "pro", PW).await;
    let (a, b) = (&devices[0], &devices[1]);
    account(a);
    let both = open(a, "10");
    let entry_gone = open(a, "5");
    let stop = open(a, "8");
    settle(&devices);

    // Closed on both devices: 10 in excess.
    a.json(&["trade", "close", &both, "--price", "110"]);
    b.json(&["trade", "close", &both, "--price", "111"]);
    // One device deletes the entry fill (a typo it fixes) while the other adds an exit.
    let entry = show(a, &entry_gone)["executions"][0]["id"].as_str().expect("entry").to_string();
    a.json(&["trade", "delete-execution", &entry]);
    b.json(&["trade", "add-execution", &entry_gone, "--side", "sell", "--quantity", "2", "--price", "104"]);
    // One device moves the entry price down (still above the stop); the other corrects the initial stop up
    // (still below the old entry): merged, the stop sits above the entry.
    let fill = show(a, &stop)["executions"][0]["id"].as_str().expect("entry").to_string();
    a.json(&["trade", "edit-execution", &fill, "--price", "96"]);
    b.json(&["trade", "edit", &stop, "--initial-stop", "97"]);
    settle(&devices);

    let t = same_everywhere(&devices, &both);
    assert_eq!((t["status"].as_str(), t["excess_quantity"].as_str()), (Some("needs_review"), Some("10")), "{t}");
    let t = same_everywhere(&devices, &entry_gone);
    assert_eq!(t["status"], "needs_review", "an exit without its entry needs review: {t}");
    assert_eq!(t["excess_quantity"], "2", "the exit found nothing open: {t}");
    let t = same_everywhere(&devices, &stop);
    assert_eq!(t["status"], "needs_review", "a stop above a long's entry needs review: {t}");
    assert_eq!(t["review"], serde_json::json!(["stop_wrong_side"]), "{t}");
    assert_eq!(t["initial_risk"], Value::Null, "no risk from a stop on the wrong side: {t}");
    // A user cannot type such a state on one device.
    let msg = a.fails(&["trade", "edit", &stop, "--initial-stop", "99"], "invalid_input");
    assert!(msg.starts_with("stop:"), "names the stop: {msg}");
    // Resolve: fix the stop; delete the orphan exit; the both-closed trade by deleting one close.
    a.json(&["trade", "edit", &stop, "--initial-stop", "94"]);
    let exit = show(a, &entry_gone)["executions"][0]["id"].as_str().expect("exit").to_string();
    a.json(&["trade", "delete-execution", &exit]);
    let closes = show(a, &both)["executions"].as_array().expect("fills").clone();
    let second = closes.iter().filter(|e| e["side"] == "sell").nth(1).expect("second close")["id"]
        .as_str()
        .expect("id")
        .to_string();
    a.json(&["trade", "delete-execution", &second]);
    settle(&devices);
    for t in [&both, &entry_gone, &stop] {
        let s = same_everywhere(&devices, t);
        assert_ne!(s["status"], "needs_review", "resolved: {s}");
    }
    assert_eq!(b.json(&["sync", "review"])["trades"], serde_json::json!([]), "nothing left to review");
}

#[tokio::test]
async fn a_trade_opened_in_an_account_deleted_elsewhere_needs_review_and_can_move() {
    let pg = Pg::migrated().await;
    let (devices, _) = fleet(&pg, 2, "pro", PW).await;
    let (a, b) = (&devices[0], &devices[1]);
    account(a);
    a.json(&["account", "add", "--name", "Long term", "--currency", "USD", "--balance", "1000"]);
    settle(&devices);
    a.json(&["account", "delete", "Swing"]);
    let trade = open(b, "3");
    settle(&devices);
    let t = same_everywhere(&devices, &trade);
    assert_eq!(t["status"], "needs_review", "its account is gone: {t}");
    assert_eq!(t["review"], serde_json::json!(["account_deleted"]), "{t}");
    b.json(&["trade", "edit", &trade, "--account", "Long term"]);
    settle(&devices);
    let t = same_everywhere(&devices, &trade);
    assert_eq!(t["status"], "open", "moved to a live account: resolved: {t}");
    let check = a.run(&["db", "check"]);
    assert!(check.status.success(), "consistent: {}", String::from_utf8_lossy(&check.stdout));
}

#[tokio::test]
async fn a_tier_limit_two_offline_devices_reach_together_keeps_rows_aside_never_stops() {
    let pg = Pg::migrated().await;
    let (devices, _) = fleet(&pg, 2, "free", PW).await;
    let (a, b) = (&devices[0], &devices[1]);
    // The server allows 3 trades a month on the free tier here; each device stays within it alone.
    let admin = pg.admin().await;
    admin
        .batch_execute("UPDATE trenddojo.subscription_limits SET max_trades_per_month = 3 WHERE tier = 'free'")
        .await
        .expect("lower the free tier's limit");
    account(a);
    settle(&devices);
    let mine: Vec<String> = (0..2).map(|_| open(a, "1")).collect();
    let theirs: Vec<String> = (0..2).map(|_| open(b, "1")).collect();
    a.sync();
    let r = b.sync();
    assert_eq!(r["kept_aside"].as_u64(), Some(3), "one trade, its fill and its stop refused and kept aside: {r}");
    settle(&devices);
    let review = b.json(&["sync", "review"]);
    let aside = review["kept_aside"].as_array().expect("kept aside").clone();
    assert_eq!(aside.len(), 3, "the trade, its fill and its initial stop are kept aside on B: {review}");
    assert!(aside.iter().any(|k| k["code"] == "TD001"), "the tier limit is the reason: {review}");
    assert!(aside.iter().any(|k| k["advice"].as_str().unwrap_or_default().contains("upgrade")), "what to do: {review}");
    assert_eq!(b.json(&["sync", "status"])["kept_aside"], 3, "counted in the status");
    // Nothing is dropped: B still has all four trades; A has the three the server took.
    let on_b = b.json(&["trade", "list"]).as_array().map(Vec::len);
    assert_eq!(on_b, Some(4), "B keeps its refused trade");
    for t in mine.iter().chain(&theirs[..1]) {
        assert_eq!(show(a, t)["id"], t.as_str(), "A has every accepted trade");
    }
    // The tier goes up on the server: the next rounds send the kept rows and everyone converges.
    admin
        .batch_execute("UPDATE trenddojo.subscription_limits SET max_trades_per_month = 100 WHERE tier = 'free'")
        .await
        .expect("raise the limit");
    a.json(&["note", "add", "a change that makes the next round move something"]);
    settle(&devices);
    settle(&devices);
    assert_eq!(b.json(&["sync", "status"])["kept_aside"], 0, "sent once the tier allows it");
    assert_eq!(a.json(&["trade", "list"]).as_array().map(Vec::len), Some(4), "A has all four now");
}

#[tokio::test]
async fn conflicts_are_logged_only_for_concurrent_edits_and_restore_cleanly() {
    let pg = Pg::migrated().await;
    let (devices, _) = fleet(&pg, 2, "pro", PW).await;
    let (a, b) = (&devices[0], &devices[1]);
    account(a);
    let trade = open(a, "10");
    settle(&devices);
    // Sequential: B edits, syncs; A syncs. Not a conflict anywhere.
    b.json(&["trade", "edit", &trade, "--symbol", "ABC.X"]);
    settle(&devices);
    for d in &devices {
        assert_eq!(
            d.json(&["sync", "conflicts"]),
            serde_json::json!([]),
            "an edit after seeing the value is no conflict"
        );
    }
    assert_eq!(show(a, &trade)["symbol"], "ABC.X", "the edit arrived");
    // Concurrent: both edit the setup while apart. One wins everywhere, the loss is logged, restorable.
    a.json(&["trade", "edit", &trade, "--setup", "breakout"]);
    b.json(&["trade", "edit", &trade, "--setup", "pullback"]);
    settle(&devices);
    let setup = same_everywhere(&devices, &trade)["setup"].clone();
    let logged: Vec<Value> =
        devices.iter().flat_map(|d| d.json(&["sync", "conflicts"]).as_array().cloned().unwrap_or_default()).collect();
    assert!(!logged.is_empty(), "a concurrent edit is logged on a device");
    assert!(logged.iter().all(|c| c["field"] == "setup"), "only the setup: {logged:?}");
    // Targets replaced on both devices: one list wins (not the union), the other is logged and restorable.
    a.json(&["trade", "edit", &trade, "--target", "120", "--target", "125"]);
    b.json(&["trade", "edit", &trade, "--target", "130"]);
    settle(&devices);
    let targets: Vec<String> = same_everywhere(&devices, &trade)["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| t["price"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(targets == ["120", "125"] || targets == ["130"], "one side's list, never the union: {targets:?}");
    let (holder, entry) = devices
        .iter()
        .find_map(|d| {
            d.json(&["sync", "conflicts"])
                .as_array()
                .and_then(|all| all.iter().find(|c| c["field"] == "targets_set").cloned())
                .map(|c| (d, c))
        })
        .expect("the replaced list is logged on a device");
    let lost = entry["lost_shown"].as_str().expect("shown in prices").to_string();
    assert!(lost == "120, 125" || lost == "130", "the log shows the lost list's prices: {entry}");
    holder.json(&["sync", "conflicts", "restore", &entry["seq"].to_string()]);
    settle(&devices);
    let restored: Vec<String> = same_everywhere(&devices, &trade)["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| t["price"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(restored.join(", "), lost, "the restored list is the one everywhere");
    // A stop moved on both; restoring the lost one puts it in the stop history.
    a.json(&["trade", "edit", &trade, "--stop", "97"]);
    b.json(&["trade", "edit", &trade, "--stop", "98"]);
    settle(&devices);
    let (holder, entry) = devices
        .iter()
        .find_map(|d| {
            d.json(&["sync", "conflicts"])
                .as_array()
                .and_then(|all| all.iter().find(|c| c["field"] == "current_stop").cloned())
                .map(|c| (d, c))
        })
        .expect("the moved stop is logged");
    holder.json(&["sync", "conflicts", "restore", &entry["seq"].to_string()]);
    settle(&devices);
    let t = same_everywhere(&devices, &trade);
    let lost: String = serde_json::from_str(entry["lost_value"].as_str().expect("lost")).expect("json text");
    assert_eq!(t["current_stop"], lost.as_str(), "the restored stop is the stop everywhere: {t}");
    let last = t["stops"].as_array().and_then(|s| s.last()).cloned().expect("history");
    assert_eq!(last["price"], lost.as_str(), "and the last entry of the stop history: {t}");
    let _ = setup;
}

/// A fill imported on one device is written once and never changed there (no field-clock entry: local
/// V14's lazy clock). Once the server acknowledged it, it is synced: another device's later edit of it is
/// an ordinary update on the first, not a conflict, and the edit arrives.
#[tokio::test]
async fn an_edit_of_an_acknowledged_imported_fill_elsewhere_is_no_conflict() {
    let pg = Pg::migrated().await;
    let (devices, _) = fleet(&pg, 2, "pro", PW).await;
    let (a, b) = (&devices[0], &devices[1]);
    account(a);
    a.json(&["import", FLEX, "--account", "Swing", "--yes"]);
    settle(&devices);
    let first = a.json(&["trade", "list"]).as_array().and_then(|l| l.first().cloned()).expect("an imported trade");
    let trade = first["id"].as_str().expect("trade id").to_string();
    let shown = show(a, &trade);
    let fill = shown["executions"][0]["id"].as_str().expect("a fill id").to_string();
    let fees = shown["executions"][0]["fees"].as_str().expect("fees").to_string();
    let new_fees = if fees == "2.5" { "3.5" } else { "2.5" };
    b.json(&["trade", "edit-execution", &fill, "--fees", new_fees]);
    settle(&devices);
    for (i, d) in devices.iter().enumerate() {
        assert_eq!(
            d.json(&["sync", "conflicts"]),
            serde_json::json!([]),
            "device {i}: an edit of an acknowledged fill is no conflict"
        );
    }
    assert_eq!(same_everywhere(&devices, &trade)["executions"][0]["fees"], new_fees, "the edit arrived everywhere");
}
