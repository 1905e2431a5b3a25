//! Broker imports end to end: the real `trenddojo` binary on real encrypted stores. Every test starts from
//! the way an import goes wrong for traders (a bad file, no confirmation, the same file twice, overlapping
//! or out-of-order statements, a correction or cancel in a later file, an undo) and checks both what the
//! user is told and what the store holds afterwards (a refused import leaves it byte-for-byte equal in
//! content).

use crate::common;

use std::path::{Path, PathBuf};

use common::{stderr, Home};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../import/fixtures");

fn fixture(rel: &str) -> String {
    format!("{FIXTURES}/{rel}")
}

/// A store with one USD account `IB` in New York time.
fn home_with_account() -> Home {
    let h = Home::init();
    let o = h.run(&[
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
    assert!(o.status.success(), "account add: {}", stderr(&o));
    h
}

/// One execution of a Flex Query file.
#[derive(Clone, Debug)]
struct Row {
    exec: String,
    symbol: &'static str,
    when: String,
    side: &'static str,
    qty: i64,
    price: String,
    commission: &'static str,
    kind: &'static str,
}

fn row(n: usize, symbol: &'static str, day: u32, minute: u32, qty: i64, price: &str) -> Row {
    Row {
        exec: format!("0000e0d5.{n:08x}.01.01"),
        symbol,
        when: format!("202604{day:02};{:02}{:02}00", 9 + minute / 60, minute % 60),
        side: if qty > 0 { "BUY" } else { "SELL" },
        qty,
        price: price.to_string(),
        commission: "-1",
        kind: "ExchTrade",
    }
}

/// A Flex Query CSV (with BOF/EOF records) holding `rows`.
fn flex(rows: &[Row]) -> String {
    let mut s = String::from(
        "\"BOF\",\"U1234567\",\"Test\",\"3\",\"20260401\",\"20260430\",\"20260501;081502\",\"U1234567\"\n\"BOA\",\"U1234567\"\n\"BOS\",\"TRNT\",\"Trades\"\n\
         \"HEADER\",\"TRNT\",\"ClientAccountID\",\"CurrencyPrimary\",\"AssetClass\",\"Symbol\",\"Multiplier\",\"IBExecID\",\"IBOrderID\",\"TransactionType\",\"DateTime\",\"Buy/Sell\",\"Quantity\",\"TradePrice\",\"IBCommission\",\"IBCommissionCurrency\",\"LevelOfDetail\"\n",
    );
    for r in rows {
        s.push_str(&format!(
            "\"DATA\",\"TRNT\",\"U1234567\",\"USD\",\"STK\",\"{}\",\"1\",\"{}\",\"1\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\",\"USD\",\"EXECUTION\"\n",
            r.symbol, r.exec, r.kind, r.when, r.side, r.qty, r.price, r.commission
        ));
    }
    s.push_str(&format!(
        "\"EOS\",\"TRNT\",\"{}\",\"0\"\n\"EOA\",\"U1234567\"\n\"EOF\",\"U1234567\",\"1\"\n",
        rows.len()
    ));
    s
}

fn write(h: &Home, name: &str, text: &str) -> PathBuf {
    let p = h.dir.path().join(name);
    std::fs::write(&p, text).expect("write the export");
    p
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Import with `--yes --json` and return the result.
fn import(h: &Home, file: &Path) -> Value {
    h.json(&["import", path(file), "--account", "IB", "--yes"])
}

/// What the trades of the store are, without ids or stamps: what statistics are computed from.
fn trades_view(h: &Home) -> Vec<String> {
    let list = h.json(&["trade", "list", "--account", "IB", "--limit", "1000", "--sort", "oldest"]);
    let mut out: Vec<String> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| {
            let d = h.json(&["trade", "show", t["id"].as_str().expect("id")]);
            format!(
                "{} {} {} entered={} open={} net={} fees={} opened={} closed={} fills={}",
                t["symbol"],
                t["direction"],
                t["status"],
                t["entered_quantity"],
                t["open_quantity"],
                t["net_pnl"],
                t["fees"],
                t["opened_at"],
                t["closed_at"],
                d["executions"].as_array().map_or(0, Vec::len)
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn bad_files_and_settings_are_refused_and_write_nothing() {
    let h = home_with_account();
    let before = h.dump();
    let empty = write(&h, "empty.csv", "");
    let binary = {
        let p = h.dir.path().join("photo.csv");
        std::fs::write(&p, [0x89u8, b'P', b'N', b'G', 0, 0, 0, 13, 0xff, 0xfe, 0, 1, 2, 3]).expect("binary");
        p
    };
    let full = flex(&[row(1, "AAPL", 1, 30, 10, "100"), row(2, "AAPL", 1, 40, -10, "101")]);
    let truncated = write(&h, "truncated.csv", &full[..full.find("\"EOS\"").expect("EOS") - 20]);
    let flex_file = write(&h, "flex.csv", &full);
    let renamed = write(&h, "renamed.csv", &full.replace("\"TradePrice\"", "\"Px\""));
    let folder = h.dir.path().join("a-folder");
    std::fs::create_dir(&folder).expect("folder");
    let missing = h.dir.path().join("no-such-file.csv");
    let mt5 = fixture("mt5/report.html");
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec![path(&empty)], 2, "file: the file is empty"),
        (vec![path(&binary)], 2, "not a text export"),
        (vec![path(&truncated)], 2, "truncated"),
        (vec![path(&renamed)], 2, "missing column"),
        (vec![path(&flex_file), "--format", "webull"], 2, "header"),
        (vec![path(&flex_file), "--format", "ibkr"], 2, "format: expected one of"),
        (vec![path(&flex_file), "--tz", "Mars/Olympus"], 2, "time_zone: unknown time zone"),
        (vec![path(&folder)], 2, "is a folder"),
        (vec![path(&missing)], 3, "no-such-file.csv"),
        (vec![&mt5], 2, "statement_tz"),
        (vec![path(&flex_file), "--format", "generic"], 2, "mapping"),
        (vec![path(&flex_file), "--mapping", "no-such-mapping"], 3, "no saved mapping"),
        (vec![path(&flex_file), "--multiplier", "ES"], 2, "multipliers: expected SYMBOL=VALUE"),
    ];
    for (args, code, says) in cases {
        let mut all = vec!["import"];
        all.extend(args.iter().copied());
        all.extend(["--account", "IB", "--yes"]);
        let o = h.run(&all);
        assert_eq!(o.status.code(), Some(code), "`trenddojo {}` exits {code}: {}", all.join(" "), stderr(&o));
        assert!(stderr(&o).contains(says), "`trenddojo {}` says {says:?}: {}", all.join(" "), stderr(&o));
    }
    let o = h.run(&["import", path(&flex_file), "--account", "Nope", "--yes"]);
    assert_eq!(o.status.code(), Some(3), "an unknown account is not found: {}", stderr(&o));
    let o = h.run(&["import", path(&flex_file), "--yes"]);
    assert_eq!(o.status.code(), Some(2), "the account must be named: {}", stderr(&o));
    assert!(stderr(&o).contains("--account"), "says which flag: {}", stderr(&o));
    assert_eq!(h.dump(), before, "no refused import wrote anything");
    assert_eq!(h.json(&["import", "list"]), serde_json::json!([]), "no batch was recorded");
}

#[test]
fn an_import_waits_for_a_yes_and_a_no_or_no_answer_writes_nothing() {
    let h = home_with_account();
    let file = write(&h, "flex.csv", &flex(&[row(1, "AAPL", 1, 30, 10, "100"), row(2, "AAPL", 1, 40, -10, "101")]));
    let before = h.dump();
    let o = h.run(&["import", path(&file), "--account", "IB"]);
    assert_eq!(o.status.code(), Some(13), "no terminal and no answer: confirmation required: {}", stderr(&o));
    assert!(stderr(&o).contains("--yes"), "says how to confirm in a script: {}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("2 new"), "the preview was shown first");
    let mut cmd = h.cmd();
    cmd.args(["import", path(&file), "--account", "IB"]);
    let o = h.run_with_stdin(cmd, "n\n");
    assert_eq!(o.status.code(), Some(130), "answering no stops the import: {}", stderr(&o));
    let dry = h.json(&["import", path(&file), "--account", "IB", "--dry-run"]);
    assert_eq!(dry["counts"]["new"], 2, "the dry run previews two new fills: {dry}");
    assert_eq!(dry["batch_id"], Value::Null, "a dry run makes no batch");
    assert_eq!(h.dump(), before, "a refused, declined or dry-run import writes nothing");
    let mut cmd = h.cmd();
    cmd.args(["import", path(&file), "--account", "IB"]);
    let o = h.run_with_stdin(cmd, "y\n");
    assert!(o.status.success(), "answering yes imports: {}", stderr(&o));
    assert_eq!(trades_view(&h).len(), 1, "one round trip became one trade");
}

#[test]
fn the_ibkr_fixture_imports_exactly_and_a_second_time_adds_nothing() {
    let h = Home::init();
    // An account in Berlin: the preview shows the New York fills in the account's zone.
    let o = h.run(&[
        "account",
        "add",
        "--name",
        "IB",
        "--currency",
        "USD",
        "--balance",
        "100000",
        "--timezone",
        "Europe/Berlin",
    ]);
    assert!(o.status.success(), "account: {}", stderr(&o));
    let file = PathBuf::from(fixture("ibkr_flex_csv/trades.csv"));
    let done = import(&h, &file);
    let c = &done["counts"];
    assert_eq!((c["new"].as_u64(), c["duplicate"].as_u64()), (Some(8), Some(0)), "eight fills are new: {c}");
    assert_eq!(c["rejected"], 2, "the unreadable quantity and the net rebate are rejected: {c}");
    assert_eq!(c["trades_created"], 4, "AAPL, the SPY call, ES and MSFT: {c}");
    let reasons: Vec<&str> =
        done["rejected"].as_array().expect("rejected").iter().filter_map(|r| r["reason"].as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.starts_with("fees: the fees add up to a rebate of 0.35")),
        "the rebate is named: {reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.starts_with("Quantity:")), "the bad quantity is named: {reasons:?}");
    let first = &done["fills"][0];
    assert_eq!(first["raw_time"], "20260309;093015", "the raw time as the file wrote it: {first}");
    assert_eq!(first["local_time"], "2026-03-09 14:30:15 CET", "09:30:15 New York is 14:30:15 in Berlin: {first}");
    assert_eq!(first["read_in"], "America/New_York", "read in the statement zone: {first}");
    let view = trades_view(&h);
    let aapl = view.iter().find(|t| t.starts_with("\"AAPL\"")).expect("an AAPL trade");
    assert!(aapl.contains("fills=3"), "the two identical same-second exits are both kept: {aapl}");
    assert!(aapl.contains("net=\"257.9754\""), "100 @ 187.50 out at 190.10 less 2.0246 fees: {aapl}");
    let es = view.iter().find(|t| t.starts_with("\"ESH26\"")).expect("an ES trade");
    assert!(
        es.contains("\"short\"") && es.contains("net=\"508\""),
        "a short ES point is 50 USD: (6750.25-6740)x50-4.5: {es}"
    );
    let msft = view.iter().find(|t| t.starts_with("\"MSFT\"")).expect("MSFT");
    assert!(msft.contains("entered=\"20\""), "the corrected MSFT fill (.02) replaced its original: {msft}");
    // The provenance is on the fill.
    let list = h.json(&["trade", "list", "--symbol", "ESH26"]);
    let detail = h.json(&["trade", "show", list[0]["id"].as_str().expect("id")]);
    let sources = detail["sources"].as_object().expect("sources of imported fills");
    let s = sources.values().next().expect("a source");
    assert_eq!(s["broker"], "ibkr", "broker: {s}");
    assert_eq!(s["broker_account"], "U1234567", "broker account: {s}");
    assert_eq!(s["instrument_key"], "FUT:ES:2026-03", "the future's identity: {s}");
    assert_eq!(s["multiplier"], "50", "multiplier: {s}");
    assert_eq!(s["commission"], "2.25", "each fee kind: {s}");
    assert_eq!(s["import_batch_id"], done["batch_id"], "the batch that brought it: {s}");
    // Again: nothing new, nothing written.
    let before = h.dump();
    let again = h.json(&["import", path(&file), "--account", "IB", "--yes"]);
    assert_eq!(again["counts"]["new"], 0, "nothing is new the second time: {}", again["counts"]);
    assert_eq!(again["counts"]["duplicate"], 8, "every fill is a duplicate: {}", again["counts"]);
    assert_eq!(again["imported_before"][0], done["batch_id"], "the earlier import of this file is named");
    assert_eq!(h.dump(), before, "importing the same file again writes nothing");
}

/// Round trips and flips in three symbols over a month, in time order.
fn month() -> Vec<Row> {
    let mut rows = Vec::new();
    let mut n = 0;
    let mut add = |symbol: &'static str, day: u32, minute: u32, qty: i64, price: &str| {
        n += 1;
        rows.push(row(n, symbol, day, minute, qty, price));
    };
    for day in 1..=20u32 {
        let p = |base: u32, d: u32| format!("{}.{:02}", base + d, (d * 7) % 100);
        add("AAPL", day, 10, 10, &p(100, day));
        add("AAPL", day, 50, -4, &p(101, day));
        add("AAPL", day, 90, -6, &p(102, day));
        // MSFT flips every day: long 5, then sell 10 (short 5), then buy 5 back the next day.
        if day % 2 == 1 {
            add("MSFT", day, 20, 5, &p(400, day));
            add("MSFT", day, 200, -10, &p(401, day));
        } else {
            add("MSFT", day, 20, 5, &p(399, day));
        }
        // NVDA: one position held across days.
        if day % 5 == 1 {
            add("NVDA", day, 30, 3, &p(800, day));
        }
        if day % 5 == 4 {
            add("NVDA", day, 300, -3, &p(810, day));
        }
    }
    rows
}

#[test]
fn overlapping_and_out_of_order_statements_give_the_trades_of_one_import() {
    let rows = month();
    let (a_end, b_start) = (rows.len() * 6 / 10, rows.len() * 4 / 10);
    let whole = Home::init();
    let o = whole.run(&[
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
    assert!(o.status.success(), "account: {}", stderr(&o));
    let all = write(&whole, "all.csv", &flex(&rows));
    import(&whole, &all);
    let expected = trades_view(&whole);
    assert!(
        expected.iter().any(|t| t.contains("\"MSFT\" \"short\"")),
        "the flips made short MSFT trades: {expected:#?}"
    );

    let in_order = home_with_account();
    let a = write(&in_order, "jan-mar.csv", &flex(&rows[..a_end]));
    let b = write(&in_order, "mar-jun.csv", &flex(&rows[b_start..]));
    import(&in_order, &a);
    let second = import(&in_order, &b);
    assert_eq!(
        second["counts"]["duplicate"].as_u64(),
        Some(u64::try_from(a_end - b_start).expect("count")),
        "the overlap is recognised fill by fill: {}",
        second["counts"]
    );
    assert_eq!(trades_view(&in_order), expected, "Jan-Mar then Mar-Jun gives the trades of one import");

    let reversed = home_with_account();
    let a = write(&reversed, "jan-mar.csv", &flex(&rows[..a_end]));
    let b = write(&reversed, "mar-jun.csv", &flex(&rows[b_start..]));
    import(&reversed, &b);
    let back = import(&reversed, &a);
    assert!(
        back["counts"]["trades_changed"].as_u64() > Some(0),
        "older fills regroup later trades: {}",
        back["counts"]
    );
    assert_eq!(trades_view(&reversed), expected, "the later statement first, then the earlier: the same trades");
    let o = reversed.run(&["db", "check"]);
    assert!(o.status.success(), "the store checks out after regrouping: {}", stderr(&o));
}

#[test]
fn a_correction_in_a_later_file_replaces_its_fill_and_undo_puts_it_back() {
    let h = home_with_account();
    let buy = row(1, "AAPL", 1, 30, 10, "100");
    let sell = row(2, "AAPL", 1, 90, -10, "110");
    let first = import(&h, &write(&h, "april.csv", &flex(&[buy.clone(), sell.clone()])));
    let trade_before = h.json(&["trade", "list"])[0].clone();
    assert_eq!(trade_before["net_pnl"], "98", "10 x 10 less 2 fees: {trade_before}");
    let mut corrected = buy.clone();
    corrected.exec = buy.exec.replace(".01.01", ".01.02");
    corrected.price = "101".into();
    corrected.kind = "TradeCorrect";
    let second = import(&h, &write(&h, "april-corrected.csv", &flex(&[corrected, sell])));
    assert_eq!(second["counts"]["corrected"], 1, "the .02 version corrects the .01 fill: {}", second["counts"]);
    assert_eq!(second["counts"]["duplicate"], 1, "the exit is a duplicate: {}", second["counts"]);
    let trade = h.json(&["trade", "list"])[0].clone();
    assert_eq!(trade["id"], trade_before["id"], "the same trade");
    assert_eq!(trade["net_pnl"], "88", "the corrected entry price counts: {trade}");
    let undo = h.json(&["import", "undo", second["batch_id"].as_str().expect("batch")]);
    assert_eq!(undo["corrections_reverted"], 1, "one correction reverted: {undo}");
    let trade = h.json(&["trade", "list"])[0].clone();
    assert_eq!(trade["net_pnl"], "98", "back to the first file's price: {trade}");
    let detail = h.json(&["trade", "show", trade["id"].as_str().expect("id")]);
    let prices: Vec<&str> =
        detail["executions"].as_array().expect("fills").iter().filter_map(|e| e["price"].as_str()).collect();
    assert_eq!(prices, ["100", "110"], "the entry is 100 again");
    let o = h.run(&["import", "undo", second["batch_id"].as_str().expect("batch")]);
    assert_eq!(o.status.code(), Some(4), "an import is undone once: {}", stderr(&o));
    let o = h.run(&["import", "undo", "ffffffff"]);
    assert_eq!(o.status.code(), Some(3), "an unknown import is not found: {}", stderr(&o));
    h.json(&["import", "undo", first["batch_id"].as_str().expect("batch")]);
    assert_eq!(h.json(&["trade", "list"]), serde_json::json!([]), "undoing the first import leaves no trade");
    let again = import(&h, &write(&h, "april-again.csv", &flex(&[buy, row(2, "AAPL", 1, 90, -10, "110")])));
    assert_eq!(again["counts"]["new"], 2, "after an undo the same fills import again: {}", again["counts"]);
    assert_eq!(h.json(&["trade", "list"])[0]["net_pnl"], "98", "with the same result");
    let o = h.run(&["db", "check"]);
    assert!(o.status.success(), "the store checks out: {}", stderr(&o));
}

#[test]
fn a_cancel_in_a_later_file_removes_its_fill_and_undo_brings_it_back() {
    let h = home_with_account();
    let buy = row(1, "AAPL", 1, 30, 10, "100");
    let extra = row(2, "AAPL", 1, 40, 5, "100.5");
    let sell = row(3, "AAPL", 1, 90, -15, "110");
    import(&h, &write(&h, "april.csv", &flex(&[buy, extra.clone(), sell])));
    assert_eq!(h.json(&["trade", "list"])[0]["status"], "closed", "15 in, 15 out");
    let mut cancel = extra;
    cancel.kind = "TradeCancel";
    cancel.side = "BUY (Ca.)";
    cancel.qty = -5;
    let later = import(&h, &write(&h, "cancel.csv", &flex(&[cancel])));
    assert_eq!(later["counts"]["cancelled"], 1, "the cancel removes the fill: {}", later["counts"]);
    // 10 in and 15 out: the exit flips the position, as the broker's fills now say: a long trade closed,
    // and a short one of 5 left open (the exit's fee split between them by quantity).
    let view = trades_view(&h);
    assert_eq!(view.len(), 2, "the flip makes two trades: {view:#?}");
    assert!(view[0].contains("\"long\" \"closed\" entered=\"10\""), "the long closes with 10: {view:#?}");
    assert!(view[1].contains("\"short\" \"open\" entered=\"5\""), "5 short left open: {view:#?}");
    h.json(&["import", "undo", later["batch_id"].as_str().expect("batch")]);
    let trades = h.json(&["trade", "list"]);
    assert_eq!(trades.as_array().map(Vec::len), Some(1), "one trade again: {trades}");
    let t = &trades[0];
    assert_eq!(
        (t["status"].as_str(), t["entered_quantity"].as_str()),
        (Some("closed"), Some("15")),
        "the cancelled fill is back: {t}"
    );
    let o = h.run(&["db", "check"]);
    assert!(o.status.success(), "the store checks out: {}", stderr(&o));
}

#[test]
fn a_note_stays_with_its_trade_when_a_later_statement_closes_it() {
    let h = home_with_account();
    import(&h, &write(&h, "monday.csv", &flex(&[row(1, "AAPL", 1, 30, 10, "100")])));
    let open = h.json(&["trade", "list"])[0].clone();
    assert_eq!(open["status"], "open", "an open position: {open}");
    let id = open["id"].as_str().expect("id").to_string();
    let o = h.run(&["note", "add", "Held over the weekend", "--trade", &id]);
    assert!(o.status.success(), "note: {}", stderr(&o));
    let later = import(
        &h,
        &write(&h, "tuesday.csv", &flex(&[row(1, "AAPL", 1, 30, 10, "100"), row(2, "AAPL", 2, 30, -10, "105")])),
    );
    assert_eq!(later["counts"]["trades_changed"], 1, "the open trade is continued, not a new one: {}", later["counts"]);
    let trades = h.json(&["trade", "list"]);
    assert_eq!(trades.as_array().map(Vec::len), Some(1), "still one trade: {trades}");
    assert_eq!(trades[0]["id"].as_str(), Some(id.as_str()), "with its id");
    assert_eq!(trades[0]["status"], "closed", "now closed");
    let d = h.json(&["trade", "show", &id]);
    assert_eq!(d["notes"][0]["body"], "Held over the weekend", "the note is still on it");
}

#[test]
fn fills_the_journal_cannot_hold_and_tier_limits_are_refused() {
    let h = Home::init();
    let o = h.run(&["account", "add", "--name", "IB", "--currency", "EUR", "--balance", "1000"]);
    assert!(o.status.success(), "account: {}", stderr(&o));
    let file = write(&h, "usd.csv", &flex(&[row(1, "AAPL", 1, 30, 10, "100"), row(2, "AAPL", 1, 40, -10, "101")]));
    let before = h.dump();
    let p = h.json(&["import", path(&file), "--account", "IB", "--yes"]);
    assert_eq!(p["counts"]["rejected"], 2, "USD fills cannot go into a EUR account: {}", p["counts"]);
    assert!(
        p["rejected"][0]["reason"].as_str().is_some_and(|r| r.starts_with("currency: a USD fill")),
        "says why: {}",
        p["rejected"]
    );
    assert_eq!(h.dump(), before, "nothing was written");

    let free = Home { dir: tempfile::tempdir().expect("dir") };
    let o = free.run(&["init", "--email", "free@example.com", "--tier", "free"]);
    assert!(o.status.success(), "init: {}", stderr(&o));
    let o = free.run(&["account", "add", "--name", "IB", "--currency", "USD", "--balance", "1000"]);
    assert!(o.status.success(), "account: {}", stderr(&o));
    let rows: Vec<Row> = (0..101u32)
        .flat_map(|i| {
            let n = usize::try_from(i).expect("n") * 2;
            [
                row(n + 1, "AAPL", 1 + i / 10, (i % 10) * 10, 1, "100"),
                row(n + 2, "AAPL", 1 + i / 10, (i % 10) * 10 + 5, -1, "101"),
            ]
        })
        .collect();
    let many = write(&free, "many.csv", &flex(&rows));
    let before = free.dump();
    let o = free.run(&["import", path(&many), "--account", "IB", "--yes"]);
    assert_eq!(o.status.code(), Some(6), "101 trades pass the free tier's 100 a month: {}", stderr(&o));
    assert_eq!(free.dump(), before, "the refused import wrote nothing");
}

#[test]
fn a_trenddojo_export_restores_its_trades_and_imports_once() {
    let h = Home::init();
    let o = h.run(&[
        "account",
        "add",
        "--name",
        "Swing",
        "--currency",
        "USD",
        "--balance",
        "25000",
        "--timezone",
        "America/New_York",
    ]);
    assert!(o.status.success(), "account: {}", stderr(&o));
    let file = fixture("trenddojo/export.csv");
    let done = h.json(&["import", &file, "--account", "Swing", "--yes"]);
    assert!(done["counts"]["new"].as_u64() > Some(0), "fills restored: {}", done["counts"]);
    let t = h.json(&["trade", "show", "0195a1b2-0000-7000-8000-000000000001"]);
    assert_eq!(t["setup"], "Breakout, retest", "the exported trade keeps its id, setup: {t}");
    assert_eq!(t["initial_stop"], "183.2", "and initial stop");
    let before = h.dump();
    let again = h.json(&["import", &file, "--account", "Swing", "--yes"]);
    assert_eq!(again["counts"]["new"], 0, "a second time nothing is new: {}", again["counts"]);
    assert_eq!(h.dump(), before, "and nothing is written");
}
