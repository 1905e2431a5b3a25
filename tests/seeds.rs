//! Seed states: deterministic, with the standard sign-ins, and with the data each state promises.

use crate::common;

use common::Home;
use trenddojo_core::{Journal, OpenOptions};

/// Tables whose contents depend on the machine or the moment (store identity, migration times).
const VOLATILE: &[&str] = &["store_meta"];

fn dump(h: &Home) -> String {
    common::dump_store(&h.open_store(), VOLATILE)
}

fn journal(h: &Home, user: &str) -> Journal {
    Journal::open(&OpenOptions { home: h.path(), key: common::key(), user: Some(user.into()) }).expect("open")
}

#[test]
fn every_state_is_deterministic() {
    for state in ["empty", "dev", "demo", "test"] {
        let a = Home::seeded(state);
        let b = Home::seeded(state);
        let (da, db) = (dump(&a), dump(&b));
        assert!(
            da == db,
            "seed state {state} must give identical rows on every run (first difference near: {:?})",
            da.lines().zip(db.lines()).find(|(x, y)| x != y)
        );
    }
}

#[test]
fn standard_users_sign_in_with_demo123() {
    let h = Home::seeded("dev");
    let j = journal(&h, "pro@demo.test");
    for email in ["empty@demo.test", "basic@demo.test", "pro@demo.test", "demo@trenddojo.com"] {
        assert!(j.verify_password(email, "demo123").unwrap(), "{email} signs in with demo123");
        assert!(!j.verify_password(email, "demo124").unwrap(), "{email} refuses a wrong password");
    }
    let dump = dump(&h);
    assert!(!dump.contains("demo123"), "the password is stored only as a salted hash");
    assert!(dump.contains("$argon2id$"), "Argon2id PHC hashes are stored");
}

#[test]
fn dev_state_has_tiers_accounts_trades_and_market_data() {
    let h = Home::seeded("dev");
    let status = h.json(&["db", "status"]);
    let count = |t: &str| {
        status["row_counts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["table"] == t)
            .map(|c| c["rows"].as_u64().unwrap())
            .unwrap()
    };
    assert_eq!(count("users"), 4, "the four standard users (free, basic, pro, demo)");
    assert_eq!(count("accounts"), 5, "five accounts");
    assert!(count("trades") >= 50, "50+ trades, got {}", count("trades"));
    assert!(count("executions") > count("trades"), "entries and exits");
    assert!(count("market_data_cache") > 1000, "a realistic market data cache");
    assert_eq!(count("stock_fundamentals"), 8, "fundamentals per symbol");
    assert_eq!(count("subscription_limits"), 3, "limits for each tier");
    let tiers: Vec<String> = h
        .json(&["user", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["subscription_tier"].as_str().unwrap().to_string())
        .collect();
    for t in ["free", "basic", "pro"] {
        assert!(tiers.iter().any(|x| x == t), "a {t} user exists: {tiers:?}");
    }
    let open = h.json(&["trade", "list", "--status", "open", "--limit", "1000"]);
    assert!(!open.as_array().unwrap().is_empty(), "some trades are open");
    let by_pnl = h.json(&["trade", "list", "--sort", "pnl", "--limit", "1000", "--account", "Main"]);
    let pnls: Vec<rust_decimal::Decimal> =
        by_pnl.as_array().unwrap().iter().map(|t| t["net_pnl"].as_str().unwrap().parse().unwrap()).collect();
    assert!(pnls.len() > 10, "the Main account has trades");
    assert!(pnls.windows(2).all(|w| w[0] >= w[1]), "sorted by exact decimal value, best first: {pnls:?}");
    let check = h.json(&["db", "check"]);
    assert_eq!(check["ok"], true, "seeded data passes every integrity check: {check}");
}

#[test]
fn demo_state_performs_well() {
    let h = Home::seeded("demo");
    let stats = h.json(&["stats"]);
    for a in stats.as_array().unwrap() {
        let net: rust_decimal::Decimal = a["stats"]["net_pnl"].as_str().unwrap().parse().unwrap();
        assert!(net > rust_decimal::Decimal::ZERO, "demo account {} is profitable: {net}", a["account"]);
        assert!(a["stats"]["trades"].as_u64().unwrap() >= 50, "a substantial history");
    }
}

#[test]
fn test_state_edge_cases_compute_exactly() {
    let h = Home::seeded("test");
    let trades = h.json(&["trade", "list", "--account", "Edge Cases", "--limit", "100"]);
    let by_symbol = |sym: &str| -> Vec<serde_json::Value> {
        trades.as_array().unwrap().iter().filter(|t| t["symbol"] == sym).cloned().collect()
    };
    let one = |sym: &str| by_symbol(sym).pop().unwrap_or_else(|| panic!("{sym} exists"));
    // PART: in 30@100 + 30@100.5 + 40@101 = 10055; out 50@105 + 50@107 = 10600; gross 545, fees 5.
    assert_eq!(one("PART")["net_pnl"], "540", "partial fills in and out");
    assert_eq!(one("PART")["gross_pnl"], "545", "gross of partial fills");
    assert_eq!(by_symbol("FLIP").len(), 2, "a flip is two trades");
    assert_eq!(one("ZERO")["fees"], "0", "zero-fee trade");
    assert_eq!(one("ZERO")["net_pnl"], "20", "2 x 10 with no fees");
    // FEES: gross +5, fees 9.98: a gross winner, a net loser.
    assert_eq!(one("FEES")["net_pnl"], "-4.98", "fees larger than the gain");
    let shorts: Vec<String> = by_symbol("SHRT").iter().map(|t| t["net_pnl"].as_str().unwrap().to_string()).collect();
    assert!(
        shorts.contains(&"498".to_string()) && shorts.contains(&"-502".to_string()),
        "short winner and loser: {shorts:?}"
    );
    assert!(one("NOSTP")["r_multiple"].is_null(), "no stop, no R");
    assert_eq!(one("BRK.A")["net_pnl"], "7530.87", "huge price");
    // BTC: 0.00012345 x (101234.5678 - 98765.4321) = 0.00012345 x 2469.1357 = 0.304814802165.
    assert_eq!(one("BTC-USD")["gross_pnl"], "0.304814802165", "tiny quantity, exact to the last digit");
    assert_eq!(one("BTC-USD")["net_pnl"], "0.284814802165", "minus 0.02 fees");
    assert_eq!(one("PENNY")["net_pnl"], "296", "10,000,000 x 0.00003 - 4");
    assert_eq!(one("EVEN")["net_pnl"], "0", "breakeven");
    assert_eq!(one("OPEN")["status"], "open", "open trade");
    assert_eq!(one("HALF")["status"], "partially_closed", "partially closed trade");
    assert_eq!(one("PLAN")["status"], "planned", "planned trade");
    assert_eq!(one("CNCL")["status"], "cancelled", "cancelled trade");

    let stats = h.json(&["stats", "--account", "Edge Cases", "--from", "2026-03-08", "--to", "2026-03-08"]);
    let days = &stats[0]["stats"]["pnl_by_day"];
    assert_eq!(days[0]["date"], "2026-03-08", "an exit at 23:30 New York time belongs to that day: {days}");
    assert_eq!(days[0]["net_pnl"], "10", "TZB: 10 x (46 - 45)");

    let tokyo = h.json(&["stats", "--account", "Tokyo"]);
    let days: Vec<&str> =
        tokyo[0]["stats"]["pnl_by_day"].as_array().unwrap().iter().map(|d| d["date"].as_str().unwrap()).collect();
    assert_eq!(days, ["2026-04-01", "2026-04-02"], "exits either side of Tokyo midnight fall on their own days");

    let es = h.json(&["trade", "list", "--account", "Futures"]);
    // ES: 2 contracts x 12.5 points x 50 = 1250, minus 9 fees.
    assert_eq!(es[0]["net_pnl"], "1241", "contract multiplier");
}
