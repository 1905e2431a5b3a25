//! A trade's whole life through the real CLI, checked against hand-computed numbers.

use crate::common;

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

fn open(h: &Home, args: &[&str]) -> String {
    let mut all = vec!["trade", "open"];
    all.extend_from_slice(args);
    s(&h.json(&all)["id"]).to_string()
}

/// A risk with more than 12 places is rounded (half to even), not dropped with its R; the README's stop
/// moves (to breakeven, past the entry) are accepted, only the first stop is bound to the entry's side.
#[test]
fn derived_values_are_rounded_and_stops_can_move_past_the_entry() {
    let h = Home::init();
    h.json(&["account", "add", "--name", "A", "--currency", "USD", "--balance", "100000"]);
    h.json(&["risk", "set", "--account", "A", "--enforcement", "warn"]);
    // |0.00012345 x 98765.4321 - 90000.1234567 x 0.00012345| = 1.082077352015385 (15 places).
    let btc = open(
        &h,
        &[
            "--account",
            "A",
            "--symbol",
            "BTC",
            "--side",
            "long",
            "--quantity",
            "0.00012345",
            "--price",
            "98765.4321",
            "--stop",
            "90000.1234567",
        ],
    );
    let t = h.json(&["trade", "show", &btc]);
    assert_eq!(s(&t["initial_risk"]), "1.082077352015", "rounded to 12 places, not null");
    let closed = h.json(&["trade", "close", &btc, "--price", "100000"]);
    // Net 0.00012345 x 1234.5679 = 0.152407407255; R = 0.152407407255 / 1.082077352015 = 0.14084...
    assert_eq!(s(&closed["net_pnl"]), "0.152407407255", "net");
    assert_eq!(s(&closed["r_multiple"]), "0.1408", "R exists (it was null with the risk)");
    let stats = h.json(&["stats", "--account", "A"]);
    assert_eq!(stats[0]["stats"]["r_trades"], 1, "the trade counts in expectancy in R");

    // The README's example: entry 187.50, stop moved to breakeven, then past the entry.
    let aapl = open(
        &h,
        &[
            "--account",
            "A",
            "--symbol",
            "AAPL",
            "--side",
            "long",
            "--quantity",
            "58",
            "--price",
            "187.50",
            "--stop",
            "183.20",
        ],
    );
    let be = h.json(&["trade", "edit", &aapl, "--stop", "187.50", "--reason", "breakeven after +1R"]);
    assert_eq!(s(&be["current_stop"]), "187.5", "a stop at breakeven is accepted");
    let lock = h.json(&["trade", "edit", &aapl, "--stop", "190", "--reason", "lock in profit"]);
    assert_eq!((s(&lock["current_stop"]), s(&lock["initial_stop"])), ("190", "183.2"), "past the entry; initial kept");
    assert_eq!(s(&lock["initial_risk"]), "249.4", "the risk still comes from the initial stop: 58 x 4.30");
    let short = open(
        &h,
        &["--account", "A", "--symbol", "SPY", "--side", "short", "--quantity", "1", "--price", "50", "--stop", "52"],
    );
    assert_eq!(s(&h.json(&["trade", "edit", &short, "--stop", "45"])["current_stop"]), "45", "a short's too");
}

/// The display rule: money in the currency's minor unit with separators, % and R to 2 places, exact JSON.
/// Ranges, starting equity, singular counts, a drawdown from a zero peak and days outside the range.
#[test]
fn human_output_is_rounded_for_reading_and_json_stays_exact() {
    let h = Home::init();
    h.json(&[
        "account",
        "add",
        "--name",
        "R",
        "--currency",
        "USD",
        "--balance",
        "10000",
        "--timezone",
        "America/New_York",
    ]);
    h.json(&["risk", "set", "--account", "R", "--enforcement", "warn"]);
    // Opened March 2, half sold March 3 for +250, the rest on March 10 for -50: net 200, closed March 10.
    let t = open(
        &h,
        &[
            "--account",
            "R",
            "--symbol",
            "P",
            "--side",
            "long",
            "--quantity",
            "10",
            "--price",
            "100",
            "--stop",
            "95",
            "--at",
            "2026-03-02 10:00",
        ],
    );
    h.json(&[
        "trade",
        "add-execution",
        &t,
        "--side",
        "sell",
        "--quantity",
        "5",
        "--price",
        "150",
        "--at",
        "2026-03-03 10:00",
    ]);
    h.json(&["trade", "close", &t, "--price", "90", "--at", "2026-03-10 10:00"]);
    // Two more wins on March 11 and 12 for an average win with many places: (200 + 0.01 + 0.02) / 3.
    for (day, price) in [("2026-03-11", "100.01"), ("2026-03-12", "100.02")] {
        let id = open(
            &h,
            &[
                "--account",
                "R",
                "--symbol",
                "Q",
                "--side",
                "long",
                "--quantity",
                "1",
                "--price",
                "100",
                "--stop",
                "99",
                "--at",
                &format!("{day} 10:00"),
            ],
        );
        h.json(&["trade", "close", &id, "--price", price, "--at", &format!("{day} 11:00")]);
    }
    let json = h.json(&["stats", "--account", "R", "--from", "2026-03-05", "--to", "2026-03-31"]);
    let st = &json[0]["stats"];
    assert_eq!(s(&st["avg_win"]), "66.67666667", "JSON is exact (8 places by definition)");
    let days: Vec<&str> = st["pnl_by_day"].as_array().unwrap().iter().map(|d| s(&d["date"])).collect();
    assert_eq!(days, ["2026-03-10", "2026-03-11", "2026-03-12"], "March 3 is outside the range");
    assert_eq!(s(&st["best_day"]["date"]), "2026-03-12", "so the best day is inside it (0.02 > -50)");
    assert_eq!(s(&json[0]["starting_equity"]), "10000", "starting equity in JSON");

    let text =
        String::from_utf8(h.run(&["stats", "--account", "R", "--from", "2026-03-05", "--to", "2026-03-31"]).stdout)
            .unwrap();
    for want in [
        "range           2026-03-05 to 2026-03-31",
        "equity          10,000.00 at the start, 10,200.03 at the end",
        "closed trades   3 (3 wins, 0 losses, 0 breakevens)",
        "avg win / loss  66.68 / -",
        "win rate        100.00%",
        "net P&L         200.03",
        "expectancy      66.68 per trade",
    ] {
        assert!(text.contains(want), "stats shows {want:?}:\n{text}");
    }

    // An account starting at 0 that loses 10: the drawdown has no percentage; 1 loss, not "1 losses".
    h.json(&["account", "add", "--name", "Z", "--currency", "JPY", "--balance", "0"]);
    h.json(&["risk", "set", "--account", "Z", "--enforcement", "warn"]);
    let z = open(
        &h,
        &["--account", "Z", "--symbol", "L", "--side", "long", "--quantity", "1", "--price", "20", "--stop", "10"],
    );
    h.json(&["trade", "close", &z, "--price", "9.5"]);
    let zj = h.json(&["stats", "--account", "Z"]);
    assert_eq!(zj[0]["stats"]["max_drawdown_pct"], Value::Null, "JSON null, never a false 0");
    let zt = String::from_utf8(h.run(&["stats", "--account", "Z"]).stdout).unwrap();
    assert!(zt.contains("(0 wins, 1 loss, 0 breakevens)"), "singular: {zt}");
    // -10.5 yen: no minor unit, and the tie goes to the even 10.
    assert!(zt.contains("net P&L         -10  (closed"), "yen are whole, half to even: {zt}");
    assert!(zt.contains("max drawdown    10 (n/a: the peak was at or below zero)"), "n/a, not 0%: {zt}");

    // The account list says what REALIZED is next to stats' closed-trade net P&L.
    let accounts = String::from_utf8(h.run(&["account", "list"]).stdout).unwrap();
    assert!(accounts.contains("10,000.00  200.03"), "money columns formatted: {accounts}");
    assert!(accounts.contains("REALIZED: net P&L booked so far on all trades, open ones included"), "{accounts}");
    assert!(accounts.contains("`trenddojo stats` counts closed trades only"), "{accounts}");
}

/// Accepted inputs must be closable: the gross of 123.456789 x (0.00001301 - 0.00001234) has 14 places
/// (0.00008271604863) and is a derived amount, rounded to 0.000082716049, never a refusal. The rounding
/// happens inside `trade::summarize`, which builds gross, fees and net with `Money::new`; it passes once
/// `summarize` builds them with `Money::derived` (the lead's rewrite of `summarize`).
#[test]
fn an_exit_whose_gross_has_more_than_12_places_is_rounded_not_refused() {
    let h = Home::init();
    h.json(&["account", "add", "--name", "A", "--currency", "USD", "--balance", "100000"]);
    let t = open(
        &h,
        &[
            "--account",
            "A",
            "--symbol",
            "PENNY",
            "--side",
            "long",
            "--quantity",
            "123.456789",
            "--price",
            "0.00001234",
            "--stop",
            "0.00001",
        ],
    );
    let o = h.run(&["--json", "trade", "close", &t, "--price", "0.00001301"]);
    assert!(o.status.success(), "the exit is accepted: {}", stderr(&o));
    let closed: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s(&closed["gross_pnl"]), "0.000082716049", "rounded half to even at 12 places");
    assert_eq!(s(&closed["initial_risk"]), "0.000288888886", "123.456789 x 0.00000234 = 0.00028888888626");
    assert_eq!(s(&closed["r_multiple"]), "0.2863", "R from the rounded amounts");
}

/// Trading around a core position: 100 shares held while 50 more are bought and sold. Split, the day
/// trade is its own trade with its own P&L (hand-computed below) and the core keeps the rest; the
/// account's net P&L is unchanged; a split that would leave an exit without its entry is refused with
/// exit code 2 and writes nothing; merged back, the trade has its numbers again.
#[test]
fn a_day_trade_inside_a_core_position_is_split_off_and_merged_back() {
    let h = Home::init();
    h.json(&[
        "account",
        "add",
        "--name",
        "Main",
        "--currency",
        "USD",
        "--balance",
        "100000",
        "--timezone",
        "America/New_York",
    ]);
    h.json(&["risk", "set", "--account", "Main", "--enforcement", "warn"]);
    let id = open(
        &h,
        &[
            "--account",
            "Main",
            "--symbol",
            "CORE",
            "--side",
            "long",
            "--quantity",
            "100",
            "--price",
            "50",
            "--stop",
            "45",
            "--at",
            "2026-03-02 10:00",
        ],
    );
    let add = |side: &str, q: &str, p: &str, at: &str| {
        h.json(&["trade", "add-execution", &id, "--side", side, "--quantity", q, "--price", p, "--at", at])
    };
    add("buy", "50", "51", "2026-03-02 10:30");
    add("sell", "50", "52", "2026-03-02 11:00");
    let whole = add("sell", "100", "53", "2026-03-02 15:00");
    // FIFO over one trade: the 11:00 sale closes 50 of the 10:00 lot (+100), the 15:00 sale the other 50
    // (+150) and the 10:30 lot (+100): 350.
    assert_eq!(s(&whole["net_pnl"]), "350", "one trade: {whole}");
    let fill = |side: &str, price: &str| -> String {
        whole["executions"]
            .as_array()
            .and_then(|es| es.iter().find(|e| s(&e["side"]) == side && s(&e["price"]) == price))
            .map(|e| s(&e["id"]).to_string())
            .expect("fill")
    };
    let (day_buy, day_sell) = (fill("buy", "51"), fill("sell", "52"));

    // An exit alone cannot be a trade.
    let before = h.dump();
    let o = h.run(&["trade", "split", &id, &day_sell]);
    assert_eq!(o.status.code(), Some(2), "refused as invalid: {}", stderr(&o));
    assert!(
        stderr(&o).contains("the new trade would close 50 more CORE than it opened"),
        "says which part and by how much: {}",
        stderr(&o)
    );
    assert_eq!(h.dump(), before, "a refused split writes nothing");

    let split = h.json(&["trade", "split", &id, &day_buy, &day_sell]);
    assert_eq!(s(&split["split_off"]["net_pnl"]), "50", "the day trade: 50 x (52 - 51): {split}");
    assert_eq!(s(&split["split_off"]["status"]), "closed", "the day trade is flat");
    assert_eq!(s(&split["split_off"]["initial_stop"]), "45", "the stop carries over (below its entry)");
    assert_eq!(s(&split["kept"]["net_pnl"]), "300", "the core: 100 x (53 - 50)");
    assert_eq!(s(&split["kept"]["id"]), id, "the core keeps its id");
    let stats = h.json(&["stats", "--account", "Main"]);
    assert_eq!(s(&stats[0]["stats"]["net_pnl"]), "350", "the account's net is unchanged: {stats}");
    assert_eq!(stats[0]["stats"]["trades"], 2, "two closed trades now");

    let new = s(&split["split_off"]["id"]).to_string();
    let merged = h.json(&["trade", "merge", &new, &id]);
    assert_eq!(s(&merged["id"]), id, "the trade opened first keeps its id");
    assert_eq!(s(&merged["net_pnl"]), "350", "merged back: {merged}");
    assert_eq!(merged["executions"].as_array().map(Vec::len), Some(4), "all four fills");
    let o = h.run(&["trade", "show", &new]);
    assert_eq!(o.status.code(), Some(3), "the merged-away trade is gone: {}", stderr(&o));
}
