//! One golden test per format: each fixture under `fixtures/<format>/` is parsed and grouped, and the whole
//! result (every fill field, rejected rows, cancels, warnings, trades) is compared with the committed
//! `<fixture>.golden.json`. After a deliberate change, regenerate with `UPDATE_GOLDEN=1 cargo test -p
//! trenddojo-import --test golden` and review the diff. Beside the golden comparison, each test asserts the
//! facts that matter for that format field by field, so a wrong golden cannot hide them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use rust_decimal::Decimal;
use trenddojo_domain::{Direction, Side};
use trenddojo_import::{
    group_trades, parse_path, AssetClass, ColumnMapping, FeeKind, FormatId, ImportOptions, NormalizedFill, Parsed,
    PositionEffect,
};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel)
}

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).expect("test decimal")
}

fn tz(name: &str) -> Tz {
    name.parse().expect("test zone")
}

/// Parse, group, and compare with the golden file.
fn golden(rel: &str, opts: &ImportOptions) -> Parsed {
    let path = fixture(rel);
    let parsed = parse_path(&path, opts).unwrap_or_else(|e| panic!("{rel} must parse: {e}"));
    let trades = group_trades(&parsed.fills);
    let view = serde_json::json!({ "parsed": parsed, "trades": trades });
    let text = serde_json::to_string_pretty(&view).expect("serializes") + "\n";
    let golden_path = PathBuf::from(format!("{}.golden.json", path.display()));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden_path, &text).expect("write golden");
    }
    let expected = std::fs::read_to_string(&golden_path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1 once)", golden_path.display()));
    assert_eq!(
        text,
        expected,
        "{rel}: parsed output differs from {} (UPDATE_GOLDEN=1 regenerates it)",
        golden_path.display()
    );
    // Parsing again gives the same fingerprints.
    let again = parse_path(&path, opts).expect("second parse");
    let fp = |p: &Parsed| p.fills.iter().map(|f| f.fingerprint.clone()).collect::<Vec<_>>();
    assert_eq!(fp(&again), fp(&parsed), "{rel}: re-parsing gives identical fingerprints");
    parsed
}

fn fee(f: &NormalizedFill, kind: FeeKind) -> Decimal {
    f.fees.iter().find(|(k, _)| *k == kind).map(|(_, a)| *a).unwrap_or(Decimal::ZERO)
}

fn by_exec<'a>(p: &'a Parsed, id: &str) -> &'a NormalizedFill {
    p.fills.iter().find(|f| f.broker_exec_id.as_deref() == Some(id)).unwrap_or_else(|| panic!("fill {id} present"))
}

#[test]
fn ibkr_flex_csv() {
    let p = golden("ibkr_flex_csv/trades.csv", &ImportOptions::default());
    assert_eq!(p.format, FormatId::IbkrFlexCsv, "detected");
    assert_eq!(p.statement_tz, chrono_tz::America::New_York, "IBKR default zone");
    assert_eq!(p.fills.len(), 9, "EXECUTION rows only, the cancelled one and the superseded version left out");
    let buy = by_exec(&p, "0000e0d5.65e1c4a7.01.01");
    assert_eq!(buy.executed_at.to_rfc3339(), "2026-03-09T13:30:15+00:00", "09:30:15 EDT");
    assert_eq!(buy.raw_time, "20260309;093015", "raw text kept");
    assert_eq!(fee(buy, FeeKind::Commission), d("1"), "negative IBCommission is a positive cost");
    assert_eq!(buy.order_id.as_deref(), Some("3301001"), "order id");
    assert_eq!(buy.position_effect, Some(PositionEffect::Open), "Open/CloseIndicator");
    let (a, b) = (by_exec(&p, "0000e0d5.65e1c4a7.02.01"), by_exec(&p, "0000e0d5.65e1c4a7.03.01"));
    assert_eq!((a.occurrence, b.occurrence), (0, 1), "identical same-second fills are both kept, counted");
    assert_ne!(a.fingerprint, b.fingerprint, "and fingerprinted apart");
    let opt = by_exec(&p, "0000e0d5.65e1c4a7.04.01");
    assert_eq!(opt.asset_class, AssetClass::Option, "OPT");
    assert_eq!(opt.instrument.key, "OPT:SPY:2026-03-20:C:580", "option identity");
    assert_eq!(opt.instrument.symbol, "SPY   260320C00580000", "OCC symbol");
    assert_eq!(opt.multiplier, d("100"), "option multiplier");
    let es = by_exec(&p, "0000e0d5.65e1c4a7.06.01");
    assert_eq!((es.instrument.key.as_str(), es.multiplier, es.side), ("FUT:ES:2026-03", d("50"), Side::Sell), "future");
    let rebate = by_exec(&p, "0000e0d5.65e1c4a7.08.01");
    assert_eq!(fee(rebate, FeeKind::Commission), d("-0.35"), "a positive IBCommission is a rebate: negative cost");
    let corrected = by_exec(&p, "0000e0d5.65e1c4a7.09.02");
    assert_eq!(
        corrected.correction_of.as_deref(),
        Some("0000e0d5.65e1c4a7.09.01"),
        "correction names the version before"
    );
    assert_eq!(corrected.price, d("411.05"), "the corrected price");
    assert!(
        p.fills.iter().all(|f| f.broker_exec_id.as_deref() != Some("0000e0d5.65e1c4a7.09.01")),
        "the .01 is replaced"
    );
    assert!(p.fills.iter().all(|f| f.instrument.symbol != "TSLA"), "the cancelled TSLA fill is gone");
    let cancels: Vec<(&str, bool)> = p.cancels.iter().map(|c| (c.broker_exec_id.as_str(), c.in_file)).collect();
    assert_eq!(
        cancels,
        vec![("0000e0d5.65e1c4a7.10.01", true), ("0000e0d5.65e1c4a7.99.01", false)],
        "cancels for the store"
    );
    assert_eq!(p.rejected.len(), 1, "the unreadable quantity");
    assert_eq!(p.rejected[0].line, 19, "with its line");
    assert!(p.rejected[0].reason.starts_with("Quantity:"), "and the field: {}", p.rejected[0].reason);
    assert_eq!(p.skipped_rows, 3, "ORDER and SYMBOL_SUMMARY rows and the cash section row");
}

#[test]
fn ibkr_flex_xml() {
    let p = golden("ibkr_flex_xml/statement.xml", &ImportOptions::default());
    assert_eq!(p.format, FormatId::IbkrFlexXml, "detected");
    assert_eq!(p.fills.len(), 5, "Trade and TradeConfirm elements; Order and Lot elements are not fills");
    let fop = by_exec(&p, "0000e0d5.65e1c4a7.20.01");
    assert_eq!(fop.asset_class, AssetClass::FutureOption, "FOP");
    assert_eq!(fop.instrument.key, "FOP:ESM26:2026-06-19:C:6800", "future option identity");
    assert_eq!(fop.instrument.contract_month.as_deref(), Some("2026-06"), "underlying contract month");
    let fx = by_exec(&p, "0000e0d5.65e1c4a7.21.01");
    assert_eq!(fx.instrument.key, "FX:EURUSD", "forex pair");
    assert_eq!(fx.executed_at.to_rfc3339(), "2026-03-11T03:30:00+00:00", "23:30 EDT is the next day in UTC");
    let nvda = by_exec(&p, "0000f1a2.65e1c4a7.01.01");
    assert_eq!(&*nvda.broker_account, "U7654321", "second statement's account");
    let kinds: BTreeMap<FeeKind, Decimal> = nvda.fees.iter().copied().collect();
    assert_eq!(kinds.get(&FeeKind::Commission), Some(&d("1.2")), "broker execution + clearing");
    assert_eq!(kinds.get(&FeeKind::Exchange), Some(&d("0.2")), "third-party execution + clearing");
    assert_eq!(kinds.get(&FeeKind::Regulatory), Some(&d("0.08")), "third-party regulatory");
    assert_eq!(kinds.get(&FeeKind::Other), Some(&d("0.02")), "the rest of the total");
    assert_eq!(nvda.total_fees(), d("1.5"), "kinds add up to the total commission");
}

#[test]
fn ibkr_activity_csv() {
    let p = golden("ibkr_activity_csv/statement.csv", &ImportOptions::default());
    assert_eq!(p.format, FormatId::IbkrActivityCsv, "detected");
    let aapl: Vec<&NormalizedFill> = p.fills.iter().filter(|f| f.instrument.key == "STK:AAPL").collect();
    assert_eq!(
        aapl.iter().map(|f| f.quantity).collect::<Vec<_>>(),
        vec![d("60"), d("40"), d("1000")],
        "Trade rows, not Order rows"
    );
    assert_eq!(&*aapl[0].broker_account, "U1234567", "account from Account Information");
    assert_eq!(aapl[2].side, Side::Sell, "negative quantity with a thousands separator");
    let opt = p.fills.iter().find(|f| f.asset_class == AssetClass::Option).expect("option");
    assert_eq!((opt.instrument.key.as_str(), opt.multiplier), ("OPT:SPY:2026-03-20:C:580", d("100")), "from FII");
    let mes = p.fills.iter().find(|f| f.asset_class == AssetClass::Future).expect("future");
    assert_eq!(mes.multiplier, d("5"), "multiplier from Financial Instrument Information");
    assert_eq!(mes.raw_time, "2026-03-11, 20:15:00", "raw");
    assert_eq!(mes.executed_at.to_rfc3339(), "2026-03-12T00:15:00+00:00", "an evening fill lands on the next UTC day");
    let fx = p.fills.iter().find(|f| f.asset_class == AssetClass::Forex).expect("forex");
    assert_eq!((fx.quantity, fee(fx, FeeKind::Commission)), (d("20000"), d("2")), "Comm in USD column");
}

#[test]
fn schwab_thinkorswim() {
    let p = golden("schwab/statement.csv", &ImportOptions::default());
    assert_eq!(p.format, FormatId::Schwab, "detected");
    assert_eq!(p.fills.len(), 7, "every leg of Account Trade History");
    assert!(
        p.fills.windows(2).all(|w| w[0].executed_at <= w[1].executed_at),
        "newest-first rows come out oldest first"
    );
    assert!(p.fills.iter().all(|f| &*f.broker_account == "87654321SCHW"), "account from the statement title");
    let legs: Vec<&NormalizedFill> = p.fills.iter().filter(|f| f.asset_class == AssetClass::Option).collect();
    assert_eq!(legs.len(), 2, "two spread legs");
    assert_eq!(legs[1].raw_time, "3/10/26 10:05:00", "the second leg inherits the exec time");
    assert_eq!((legs[0].side, legs[1].side), (Side::Buy, Side::Sell), "leg sides");
    assert_eq!(
        (fee(legs[0], FeeKind::Commission), fee(legs[1], FeeKind::Commission)),
        (d("0.65"), d("0.65")),
        "the order's commission from a cash row 1 s later, split over the legs"
    );
    let sell = p.fills.iter().find(|f| f.instrument.key == "STK:AAPL" && f.side == Side::Sell).expect("AAPL sell");
    assert_eq!(fee(sell, FeeKind::Regulatory), d("0.02"), "Misc Fees are regulatory");
    let qqq = p.fills.iter().find(|f| f.instrument.key == "STK:QQQ").expect("QQQ");
    assert!(qqq.fees.is_empty(), "the cash row 8 s away is outside the window");
    assert!(qqq.warnings.iter().any(|w| w.contains("within 2 s")), "and the fill says so: {:?}", qqq.warnings);
    assert!(p.warnings.iter().any(|w| w.contains("QQQ")), "the orphan cash row is reported: {:?}", p.warnings);
    let mes: Vec<&NormalizedFill> = p.fills.iter().filter(|f| f.asset_class == AssetClass::Future).collect();
    assert_eq!(mes[0].instrument.key, "FUT:MES:2026-06", "/MESM26");
    assert_eq!(
        (mes[0].multiplier, fee(mes[0], FeeKind::Commission), fee(mes[0], FeeKind::Regulatory)),
        (d("5"), d("1.25"), d("0.37")),
        "futures fees from Futures Statements"
    );
}

#[test]
fn tradovate_fills() {
    let p = golden("tradovate/fills.csv", &ImportOptions::default());
    assert_eq!(p.format, FormatId::TradovateFills, "detected");
    assert_eq!(p.statement_tz, chrono_tz::UTC, "_timestamp is UTC");
    let first = &p.fills[0];
    assert_eq!(first.executed_at.to_rfc3339(), "2026-06-17T13:29:32.166+00:00", "milliseconds kept");
    assert_eq!(
        (first.multiplier, fee(first, FeeKind::Commission)),
        (d("5"), d("0.74")),
        "MES multiplier and commission"
    );
    assert_eq!(&*first.broker_account, "DEMO4471123", "display account");
    let mnq = p.fills.iter().find(|f| f.instrument.future_root.as_deref() == Some("MNQ")).expect("MNQ");
    assert_eq!(mnq.multiplier, d("2"), "MNQ multiplier");
    let cl = p.fills.iter().find(|f| f.instrument.future_root.as_deref() == Some("CL")).expect("CL");
    assert_eq!((cl.multiplier, cl.instrument.key.as_str()), (d("1000"), "FUT:CL:2026-08"), "CL multiplier");
    assert_eq!(p.rejected.len(), 1, "the unknown product");
    assert!(p.rejected[0].reason.contains("contract_multipliers"), "names the setting: {}", p.rejected[0].reason);
    let trades = group_trades(&p.fills);
    let mnq_trades: Vec<_> = trades.iter().filter(|t| t.instrument_key.starts_with("FUT:MNQ")).collect();
    assert_eq!(mnq_trades.len(), 2, "buy 1, sell 3, buy 2: the flip splits into two trades");
    assert_eq!(
        (mnq_trades[0].direction, mnq_trades[1].direction),
        (Direction::Long, Direction::Short),
        "long then short"
    );
    assert_eq!(mnq_trades[1].legs[0].quantity, d("2"), "the flip's remainder opens the short");
    let mut opts = ImportOptions::default();
    opts.contract_multipliers.insert("ZZ".into(), d("10"));
    let with = parse_path(fixture("tradovate/fills.csv"), &opts).expect("parses");
    assert!(with.rejected.is_empty() && with.fills.len() == 9, "the user's multiplier table completes it");
}

#[test]
fn tradovate_orders_and_performance() {
    let opts = ImportOptions { statement_tz: Some(chrono_tz::America::New_York), ..Default::default() };
    let o = golden("tradovate/orders.csv", &opts);
    assert_eq!(o.format, FormatId::TradovateOrders, "detected");
    assert_eq!(o.fills.len(), 2, "filled orders only");
    assert_eq!(o.fills[0].executed_at.to_rfc3339(), "2026-06-17T13:29:32+00:00", "local Fill Time in the given zone");
    let opts = ImportOptions {
        statement_tz: Some(chrono_tz::America::New_York),
        default_account: Some("DEMO4471123".into()),
        ..Default::default()
    };
    let p = golden("tradovate/performance.csv", &opts);
    assert_eq!(p.format, FormatId::TradovatePerformance, "detected");
    let buy = by_exec(&p, "509681603418");
    assert_eq!((buy.quantity, buy.side), (d("2"), Side::Buy), "a fill paired twice is one fill of the summed quantity");
    assert_eq!(p.fills.len(), 5, "five distinct fill ids");
    let fills = parse_path(fixture("tradovate/fills.csv"), &ImportOptions::default()).expect("fills");
    assert_eq!(fills.fills[0].dedupe_key(), buy.dedupe_key(), "Performance fill ids dedupe against the Fills export");
}

#[test]
fn mt5_html() {
    let mut opts = ImportOptions { statement_tz: Some(tz("Europe/Athens")), ..Default::default() };
    opts.contract_multipliers.insert("US500".into(), d("1"));
    let p = golden("mt5/report.html", &opts);
    assert_eq!(p.format, FormatId::Mt5Html, "detected (UTF-16 with BOM)");
    let eur = by_exec(&p, "9001");
    assert_eq!(
        (eur.instrument.key.as_str(), eur.instrument.broker_symbol.as_str()),
        ("FX:EURUSD", "EURUSD.m"),
        "suffix stripped"
    );
    assert_eq!((eur.quantity, eur.multiplier), (d("0.1"), d("100000")), "lots and contract size");
    assert_eq!(eur.executed_at.to_rfc3339(), "2026-03-02T08:00:00+00:00", "server time EET");
    let gold = by_exec(&p, "9004");
    assert_eq!(
        (gold.price, gold.position_effect),
        (d("2325.05"), Some(PositionEffect::Reverse)),
        "space thousands; in/out"
    );
    let gap = by_exec(&p, "9003");
    assert_eq!(
        gap.executed_at.to_rfc3339(),
        "2026-03-29T01:30:00+00:00",
        "a gap time uses the offset before the change"
    );
    assert!(gap.warnings.iter().any(|w| w.contains("does not exist")), "and warns");
    let overlap = by_exec(&p, "9006");
    assert_eq!(
        overlap.executed_at.to_rfc3339(),
        "2026-10-25T00:30:00+00:00",
        "an overlap time takes the first occurrence"
    );
    assert!(overlap.warnings.iter().any(|w| w.contains("occurs twice")), "and warns");
    assert_eq!(by_exec(&p, "9008").position_effect, Some(PositionEffect::CloseBy), "out by");
    assert_eq!(p.rejected.len(), 1, "the unreadable volume");
    assert!(p.rejected[0].reason.starts_with("Volume:"), "{}", p.rejected[0].reason);
    assert_eq!(p.skipped_rows, 1, "the deposit");
    let trades = group_trades(&p.fills);
    let gold: Vec<_> = trades.iter().filter(|t| t.instrument_key == "CFD:XAUUSD").collect();
    assert_eq!(gold.len(), 2, "in, in/out, out: the reversal splits");
    assert!(gold.iter().all(|t| t.open_quantity.is_zero()), "both flat");
    let no_size = ImportOptions { statement_tz: Some(tz("Europe/Athens")), ..Default::default() };
    let without = parse_path(fixture("mt5/report.html"), &no_size).expect("parses");
    assert!(
        without.rejected.iter().any(|r| r.reason.contains("contract_multipliers")),
        "unknown contract size is named"
    );
}

#[test]
fn mt5_xlsx() {
    let opts = ImportOptions { statement_tz: Some(tz("Europe/Athens")), ..Default::default() };
    let p = golden("mt5/report.xlsx", &opts);
    assert_eq!(p.format, FormatId::Mt5Xlsx, "detected from the ZIP signature");
    assert_eq!(p.fills.len(), 4, "four buy/sell deals");
    assert_eq!(by_exec(&p, "9001").price, d("1.08542"), "a double's noise is rounded in decimal, not read as a float");
    let serial = by_exec(&p, "9002");
    assert_eq!(serial.raw_time, "2026.03.02 14:30:00", "an Excel serial time is converted exactly");
    assert_eq!(serial.executed_at.to_rfc3339(), "2026-03-02T12:30:00+00:00", "in the server zone");
    let html = parse_path(fixture("mt5/report.html"), &opts).expect("html");
    assert_eq!(
        by_exec(&p, "9001").fingerprint,
        by_exec(&html, "9001").fingerprint,
        "the same deal fingerprints alike in both containers"
    );
}

#[test]
fn tastytrade() {
    let opts = ImportOptions { default_account: Some("5WT00001".into()), ..Default::default() };
    let p = golden("tastytrade/transactions.csv", &opts);
    assert_eq!(p.format, FormatId::Tastytrade, "detected");
    let opt: Vec<&NormalizedFill> = p.fills.iter().filter(|f| f.asset_class == AssetClass::Option).collect();
    assert_eq!(opt.len(), 3, "three option trades");
    assert_eq!(opt[0].price, d("5.1"), "per-contract average price divided by the multiplier");
    assert_eq!((opt[0].occurrence, opt[1].occurrence), (0, 1), "identical rows both kept");
    assert_eq!((fee(opt[2], FeeKind::Commission), fee(opt[2], FeeKind::Other)), (d("4"), d("0.52")), "costs");
    assert_eq!(opt[2].executed_at.to_rfc3339(), "2026-03-10T14:05:00+00:00", "the offset in the text");
    let es = p.fills.iter().find(|f| f.asset_class == AssetClass::Future).expect("future");
    assert_eq!(
        (es.instrument.key.as_str(), es.multiplier, es.price),
        ("FUT:ES:2026-06", d("50"), d("6810.25")),
        "future"
    );
    assert!(p.warnings.iter().any(|w| w.contains("Receive Deliver")), "expirations are reported, not invented");
    assert_eq!(p.rejected.len(), 1, "the bad quantity");
    let trades = group_trades(&p.fills);
    let spy = trades.iter().find(|t| t.instrument_key.starts_with("OPT:SPY")).expect("spy trade");
    assert_eq!((spy.entered(), spy.exited()), (d("4"), d("4")), "bought 4, sold 2 + 2: closed");
}

#[test]
fn webull() {
    let opts = ImportOptions { default_account: Some("WB-1".into()), ..Default::default() };
    let p = golden("webull/orders.csv", &opts);
    assert_eq!(p.format, FormatId::Webull, "detected");
    assert_eq!(p.fills.len(), 6, "filled and partially filled orders");
    assert_eq!(p.skipped_rows, 1, "the cancelled order");
    let tsla = p.fills.iter().find(|f| f.instrument.key == "STK:TSLA").expect("tsla");
    assert_eq!(tsla.side, Side::Sell, "Short is a sell");
    assert_eq!(tsla.executed_at.to_rfc3339(), "2026-11-01T06:30:01+00:00", "EST names the second 01:30 of the overlap");
    assert!(tsla.warnings.is_empty(), "no ambiguity with an abbreviation");
    let opt = p.fills.iter().find(|f| f.asset_class == AssetClass::Option).expect("option");
    assert_eq!((opt.instrument.key.as_str(), opt.multiplier), ("OPT:SPY:2026-03-20:C:580", d("100")), "unpadded OCC");
    let partial = p.fills.iter().filter(|f| f.asset_class == AssetClass::Option).nth(1).expect("partial");
    assert_eq!((partial.quantity, partial.price), (d("1"), d("4.3")), "the filled part at the average price");
}

#[test]
fn generic_mapping_with_decimal_comma_and_semicolons() {
    let mapping: ColumnMapping =
        serde_json::from_str(&std::fs::read_to_string(fixture("generic/eu.mapping.json")).expect("read"))
            .expect("mapping JSON");
    let opts = ImportOptions { format: Some(FormatId::Generic), mapping: Some(mapping), ..Default::default() };
    let p = golden("generic/eu.csv", &opts);
    assert_eq!(p.statement_tz, tz("Europe/Berlin"), "the mapping's zone");
    let sap: Vec<&NormalizedFill> = p.fills.iter().filter(|f| f.instrument.key == "STK:SAP").collect();
    assert_eq!((sap[0].quantity, sap[0].price), (d("1000"), d("182.45")), "1.000 and 182,45");
    assert_eq!((fee(sap[0], FeeKind::Commission), fee(sap[0], FeeKind::Exchange)), (d("4.9"), d("0.75")), "fee kinds");
    assert_eq!((sap[0].occurrence, sap[1].occurrence), (0, 1), "identical rows both kept (the file mixes CRLF and LF)");
    assert_eq!(&*sap[0].broker, "comdirect", "the mapping's name is the broker");
    assert_eq!(&*sap[0].currency, "EUR", "currency column");
    let sie: Vec<&NormalizedFill> = p.fills.iter().filter(|f| f.instrument.key == "STK:SIE").collect();
    assert_eq!(sie[0].executed_at.to_rfc3339(), "2026-03-29T01:30:00+00:00", "Berlin gap: read at +01:00");
    assert_eq!(
        sie[1].executed_at.to_rfc3339(),
        "2026-10-25T00:30:00+00:00",
        "Berlin overlap: the first 02:30 (+02:00)"
    );
    assert!(sie.iter().all(|f| f.warnings.len() == 1), "each warns");
    let bas = p.fills.iter().find(|f| f.instrument.key == "STK:BAS").expect("bas");
    assert_eq!(bas.quantity, d("1.5"), "1,5 is one and a half with a decimal comma");
}

#[test]
fn trenddojo_export_reimports_exactly() {
    let p = golden("trenddojo/export.csv", &ImportOptions::default());
    assert_eq!(p.format, FormatId::TrendDojo, "detected");
    assert_eq!(p.fills.len(), 6, "all rows");
    let es = p.fills.iter().find(|f| f.asset_class == AssetClass::Future).expect("future");
    let hints = es.trade_hints.as_ref().expect("hints");
    assert_eq!(hints.setup.as_deref(), Some("Fade\nthe open"), "a quoted newline in free text");
    assert_eq!((hints.direction, hints.initial_stop), (Direction::Short, Some(d("6760"))), "trade facts");
    assert_eq!(es.executed_at.to_rfc3339(), "2026-03-12T14:30:00+00:00", "RFC 3339 UTC");
    let trades = group_trades(&p.fills);
    assert_eq!(
        trades.len(),
        3,
        "grouped by trade_id, not flat-to-flat (trade 2 adds to AAPL at trade 1's exit instant)"
    );
    assert_eq!(trades.iter().filter(|t| t.open_quantity.is_zero()).count(), 2, "two closed, one open");
}

/// Grouped trades feed the domain's matching unchanged: P&L of the IBKR fixture's closed trades, by hand.
#[test]
fn grouped_trades_summarize_in_the_domain() {
    use trenddojo_domain::trade::summarize;
    use trenddojo_domain::{Fee, Fill, MatchingMethod, Price, Quantity, TradeStatus};
    let p = parse_path(fixture("ibkr_flex_csv/trades.csv"), &ImportOptions::default()).expect("parses");
    let trades = group_trades(&p.fills);
    let net = |key: &str| {
        let t = trades.iter().find(|t| t.instrument_key == key).expect("trade");
        let fills: Vec<Fill> = t
            .legs
            .iter()
            .map(|l| {
                let f = &p.fills[l.fill];
                Fill {
                    id: uuid::Uuid::from_u128(l.fill as u128),
                    side: f.side,
                    quantity: Quantity::new("quantity", l.quantity).expect("quantity"),
                    price: Price::new("price", f.price).expect("price"),
                    fees: Fee::new("fees", f.total_fees()).expect("fees"),
                    executed_at: f.executed_at,
                }
            })
            .collect();
        let s = summarize(t.direction, t.multiplier, MatchingMethod::Fifo, &fills);
        assert_eq!(s.status, TradeStatus::Closed, "{key} is closed");
        s.net_realized.to_canonical()
    };
    assert_eq!(net("FUT:ES:2026-03"), "508", "short 1 ES 6750.25 -> 6740: 10.25 x 50 - 4.50");
    assert_eq!(net("OPT:SPY:2026-03-20:C:580"), "167.4", "2 calls 4.25 -> 5.10: 0.85 x 2 x 100 - 2.60");
    assert_eq!(net("STK:AAPL"), "257.9754", "100 AAPL 187.50 -> 2 x 50 @ 190.10: 260 - 1 - 2 x 0.5123");
}
