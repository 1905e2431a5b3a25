//! A trade's whole life through the real CLI, checked against hand-computed numbers.

mod common;

use common::{stderr, Home};
use serde_json::Value;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("expected a JSON string, got {v}"))
}

#[test]
fn scale_in_scale_out_fifo_with_fees_and_stop_history() {
    let h = Home::init();
    let acct = h.json(&[
        "account",
        "add",
        "--name",
        "Main",
        "--currency",
        "usd",
        "--balance",
        "10000",
        "--timezone",
        "America/New_York",
    ]);
    assert_eq!(s(&acct["currency"]), "USD", "currency is upper-cased");
    assert_eq!(s(&acct["starting_balance"]), "10000", "money is a JSON string");
    // This test is about the arithmetic: the scale-in below breaks the 1% rule, so only warn.
    h.json(&["risk", "set", "--account", "Main", "--enforcement", "warn"]);

    // Risk 1 x 100 = 100 = exactly 1% of 10000: allowed (the limit is not exceeded).
    let t = h.json(&[
        "trade",
        "open",
        "--account",
        "Main",
        "--symbol",
        "aapl",
        "--side",
        "long",
        "--quantity",
        "100",
        "--price",
        "50",
        "--stop",
        "49",
        "--target",
        "56",
        "--fees",
        "1",
        "--at",
        "2026-03-02 10:00",
    ]);
    let id = s(&t["id"]).to_string();
    assert_eq!(s(&t["status"]), "open", "a first fill opens the trade");
    assert_eq!(s(&t["symbol"]), "AAPL", "symbols are upper-cased");
    assert_eq!(s(&t["executions"][0]["executed_at"]), "2026-03-02T15:00:00Z", "10:00 EST is 15:00 UTC");

    h.json(&[
        "trade",
        "add-execution",
        &id,
        "--side",
        "buy",
        "--quantity",
        "50",
        "--price",
        "52",
        "--fees",
        "1",
        "--at",
        "2026-03-03 10:00",
    ]);
    let edited = h.json(&["trade", "edit", &id, "--stop", "49.5", "--reason", "tighten"]);
    assert_eq!(edited["stops"].as_array().map(Vec::len), Some(2), "both stops are kept");
    assert_eq!(s(&edited["initial_stop"]), "49", "the initial stop never changes");
    assert_eq!(s(&edited["current_stop"]), "49.5", "the current stop moved");

    let partial = h.json(&[
        "trade",
        "add-execution",
        &id,
        "--side",
        "sell",
        "--quantity",
        "75",
        "--price",
        "55",
        "--fees",
        "1",
        "--at",
        "2026-03-04 10:00",
    ]);
    assert_eq!(s(&partial["status"]), "partially_closed", "an exit smaller than the position");
    assert_eq!(s(&partial["open_quantity"]), "75", "150 - 75");

    let closed = h.json(&["trade", "close", &id, "--price", "53", "--fees", "1", "--at", "2026-03-05 15:00"]);
    // FIFO: 75 @ 50 -> 55 = 375; 25 @ 50 -> 53 = 75; 50 @ 52 -> 53 = 50. Gross 500, fees 4, net 496.
    assert_eq!(s(&closed["status"]), "closed", "all quantity exited");
    assert_eq!(s(&closed["gross_pnl"]), "500", "gross by FIFO matching");
    assert_eq!(s(&closed["fees"]), "4", "four fills at 1 each");
    assert_eq!(s(&closed["net_pnl"]), "496", "gross minus fees");
    // Initial risk: |7600 - 49 x 150| = 250 (entry notional against the initial stop); R = 496 / 250.
    assert_eq!(s(&closed["initial_risk"]), "250", "risk from the initial stop, not the moved one");
    assert_eq!(s(&closed["r_multiple"]), "1.984", "net over initial risk");
    let nets: Vec<&str> =
        closed["executions"].as_array().unwrap().iter().filter_map(|e| e["realized_net"].as_str()).collect();
    // Exit 1: 375 - 1 - 0.75 (75/100 of lot 1's fee) = 373.25; exit 2: 125 - 1 - 0.25 - 1 = 122.75.
    assert_eq!(nets, ["373.25", "122.75"], "per-exit net with exact fee allocation");

    let stats = h.json(&["stats", "--account", "Main"]);
    let st = &stats[0]["stats"];
    assert_eq!(st["trades"], 1, "one closed trade");
    assert_eq!(s(&st["net_pnl"]), "496", "stats agree with the trade");
    assert_eq!(s(&st["profit_factor"]), "no_losses", "no losses is reported as such, never 0");
    let days: Vec<(String, String)> = st["pnl_by_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (s(&d["date"]).to_string(), s(&d["net_pnl"]).to_string()))
        .collect();
    assert_eq!(
        days,
        [("2026-03-04".to_string(), "373.25".to_string()), ("2026-03-05".to_string(), "122.75".to_string())],
        "P&L by exit day in the account's time zone"
    );

    let list = h.json(&["trade", "list"]);
    assert!(list.is_array(), "trade list --json is an array");
    assert_eq!(list.as_array().unwrap().len(), 1, "one trade listed");

    let note = h.json(&["note", "add", "Followed the plan", "--trade", &id, "--kind", "review"]);
    assert_eq!(s(&note["kind"]), "review", "note kind kept");
    let shown = h.json(&["trade", "show", &id[..8]]);
    assert_eq!(shown["notes"].as_array().map(Vec::len), Some(1), "the note is on the trade; an id prefix resolves");
}

#[test]
fn risk_rules_block_or_warn_by_setting() {
    let h = Home::init();
    h.json(&["account", "add", "--name", "Strict", "--currency", "USD", "--balance", "10000"]);
    // Risk 2 x 100 = 200 = 2% of 10000, above the default 1% limit.
    let o = h.run(&[
        "trade",
        "open",
        "--account",
        "Strict",
        "--symbol",
        "MSFT",
        "--side",
        "long",
        "--quantity",
        "100",
        "--price",
        "50",
        "--stop",
        "48",
    ]);
    assert_eq!(o.status.code(), Some(5), "risk refusal has its own exit code: {}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("max_risk_per_trade") && err.contains("2%"),
        "the message names the rule and the numbers: {err}"
    );
    assert_eq!(h.json(&["trade", "list"]).as_array().map(Vec::len), Some(0), "a refused trade leaves nothing behind");

    h.json(&["risk", "set", "--account", "Strict", "--enforcement", "warn"]);
    let o = h.run(&[
        "trade",
        "open",
        "--account",
        "Strict",
        "--symbol",
        "MSFT",
        "--side",
        "long",
        "--quantity",
        "100",
        "--price",
        "50",
        "--stop",
        "48",
    ]);
    assert!(o.status.success(), "warn mode lets the trade through: {}", stderr(&o));
    assert!(stderr(&o).contains("warning: max_risk_per_trade"), "but says why: {}", stderr(&o));

    let no_stop = h.run(&[
        "trade",
        "open",
        "--account",
        "Strict",
        "--symbol",
        "IBM",
        "--side",
        "short",
        "--quantity",
        "1",
        "--price",
        "100",
    ]);
    assert!(stderr(&no_stop).contains("no_stop"), "a trade without a stop is flagged: {}", stderr(&no_stop));

    let size = h.json(&["risk", "size", "--account", "Strict", "--side", "long", "--entry", "50", "--stop", "48.5"]);
    // Budget 1% of equity 10000 = 100; 1.5 per share -> 66 shares (never rounded up), risk 99.
    assert_eq!(s(&size["quantity"]), "66", "floor of budget over per-unit risk");
    assert_eq!(s(&size["risk_amount"]), "99", "66 x 1.5");
}

#[test]
fn checklists_notes_and_brokers() {
    let h = Home::init();
    h.json(&["account", "add", "--name", "A", "--currency", "USD", "--balance", "5000"]);
    let c = h.json(&["checklist", "add", "--name", "Pre", "--item", "Trend agrees", "--optional-item", "News checked"]);
    assert_eq!(c["items"].as_array().map(Vec::len), Some(2), "two items");
    let t = h.json(&[
        "trade",
        "open",
        "--account",
        "A",
        "--symbol",
        "X",
        "--side",
        "long",
        "--quantity",
        "1",
        "--price",
        "10",
        "--stop",
        "9.8",
    ]);
    let id = s(&t["id"]);
    let r = h.json(&["checklist", "answer", id, "--checklist", "Pre", "--item", "1", "--comment", "daily uptrend"]);
    assert_eq!(r[0]["checked"], true, "answered");
    let bad = h.run(&["checklist", "answer", id, "--checklist", "Pre", "--item", "3"]);
    assert!(stderr(&bad).starts_with("error: item:"), "out-of-range item is named: {}", stderr(&bad));

    let mut cmd = h.cmd();
    cmd.args(["--json", "broker", "add", "--broker", "Alpaca", "--label", "live", "--key-hint", "...9f2a"]);
    let o = h.run_with_stdin(cmd, "sk-live-SECRET-ABC123\n");
    assert!(o.status.success(), "broker add: {}", stderr(&o));
    let listed = h.json(&["broker", "list"]);
    let text = listed.to_string();
    assert!(!text.contains("SECRET"), "listing never shows the secret: {text}");
    let store = h.open_store();
    let id: uuid::Uuid = listed[0]["id"].as_str().unwrap().parse().unwrap();
    let user = store.read(trenddojo_store::users::active_user).unwrap().unwrap();
    let secret = store.read(|c| trenddojo_store::brokers::reveal_secret(c, user.id, id)).unwrap();
    assert_eq!(secret.as_slice(), b"sk-live-SECRET-ABC123", "the sealed secret opens on this device");
    let audit = common::dump_store(&store, &[]);
    assert!(!audit.contains("SECRET"), "neither the audit log nor any column holds the plaintext secret");
}

#[test]
fn daily_loss_limit_stops_trading_for_the_day() {
    let h = Home::init();
    h.json(&[
        "account",
        "add",
        "--name",
        "Day",
        "--currency",
        "USD",
        "--balance",
        "10000",
        "--timezone",
        "America/New_York",
    ]);
    h.json(&["risk", "set", "--account", "Day", "--max-risk-pct", "5", "--max-daily-loss-pct", "3"]);
    // Risk 3 x 100 = 300 (3% of 10000, within the 5% per-trade limit); stopped out today for -300.
    let t = h.json(&[
        "trade",
        "open",
        "--account",
        "Day",
        "--symbol",
        "LOSS",
        "--side",
        "long",
        "--quantity",
        "100",
        "--price",
        "50",
        "--stop",
        "47",
    ]);
    h.json(&["trade", "close", t["id"].as_str().unwrap(), "--price", "47"]);
    let acct = h.json(&["account", "show", "Day"]);
    assert_eq!(acct["equity"], "9700", "equity after the loss: {acct}");
    // Today's loss 300 >= 3% of equity 9700 (291): no new trades today.
    let o = h.run(&[
        "trade",
        "open",
        "--account",
        "Day",
        "--symbol",
        "NEXT",
        "--side",
        "long",
        "--quantity",
        "1",
        "--price",
        "10",
        "--stop",
        "9",
    ]);
    assert_eq!(o.status.code(), Some(5), "blocked by the daily loss rule: {}", stderr(&o));
    assert!(stderr(&o).contains("max_daily_loss"), "names the rule: {}", stderr(&o));
}

#[test]
fn scaling_in_is_held_to_the_risk_limit() {
    let h = Home::init();
    h.json(&["account", "add", "--name", "S", "--currency", "USD", "--balance", "10000"]);
    // 50 @ 50, stop 49: risk 50 (0.5%).
    let t = h.json(&[
        "trade",
        "open",
        "--account",
        "S",
        "--symbol",
        "ADD",
        "--side",
        "long",
        "--quantity",
        "50",
        "--price",
        "50",
        "--stop",
        "49",
    ]);
    let id = t["id"].as_str().unwrap().to_string();
    // Adding 50 @ 51 makes the risk at the stop 5050 - 4900 = 150 (1.5%): refused under `block`.
    let before = h.dump();
    let o = h.run(&["trade", "add-execution", &id, "--side", "buy", "--quantity", "50", "--price", "51"]);
    assert_eq!(o.status.code(), Some(5), "scale-in over the limit is refused: {}", stderr(&o));
    assert!(stderr(&o).contains("max_risk_per_trade") && stderr(&o).contains("1.5%"), "explained: {}", stderr(&o));
    assert_eq!(before, h.dump(), "nothing written");
    // Adding 20 @ 51: 3520 - 3430 = 90 (0.9%): allowed.
    let ok = h.json(&["trade", "add-execution", &id, "--side", "buy", "--quantity", "20", "--price", "51"]);
    assert_eq!(ok["entered_quantity"], "70", "the scale-in is recorded");
}

#[test]
fn an_empty_store_gets_an_active_user_from_user_add() {
    let h = Home::seeded("empty");
    let o = h.run(&["account", "list"]);
    assert_eq!(o.status.code(), Some(3), "no user yet: {}", stderr(&o));
    assert!(stderr(&o).contains("user add"), "says what to do: {}", stderr(&o));
    h.json(&["user", "add", "--email", "first@example.com", "--tier", "basic"]);
    let accounts = h.json(&["account", "list"]);
    assert_eq!(accounts.as_array().map(Vec::len), Some(0), "the new user is active and has no accounts yet");
}
