//! Detection, renamed headers, missing settings, dedupe across imports, and bad files.

use std::cell::Cell;
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use rust_decimal::Decimal;
use trenddojo_import::{
    detect, parse_bytes, parse_path, parse_reader, ColumnMapping, FormatId, ImportError, ImportOptions, Parsed,
};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).expect("fixture")
}

fn text(rel: &str) -> String {
    String::from_utf8(read(rel)).expect("utf-8 fixture")
}

fn athens() -> ImportOptions {
    ImportOptions { statement_tz: Some(chrono_tz::Europe::Athens), ..Default::default() }
}

fn account(a: &str) -> ImportOptions {
    ImportOptions { default_account: Some(a.into()), ..Default::default() }
}

fn ny_account(a: &str) -> ImportOptions {
    ImportOptions {
        statement_tz: Some(chrono_tz::America::New_York),
        default_account: Some(a.into()),
        ..Default::default()
    }
}

#[test]
fn every_fixture_is_detected_from_its_head() {
    let cases = [
        ("ibkr_flex_csv/trades.csv", FormatId::IbkrFlexCsv),
        ("ibkr_flex_xml/statement.xml", FormatId::IbkrFlexXml),
        ("ibkr_activity_csv/statement.csv", FormatId::IbkrActivityCsv),
        ("schwab/statement.csv", FormatId::Schwab),
        ("tradovate/fills.csv", FormatId::TradovateFills),
        ("tradovate/orders.csv", FormatId::TradovateOrders),
        ("tradovate/performance.csv", FormatId::TradovatePerformance),
        ("mt5/report.html", FormatId::Mt5Html),
        ("mt5/report.xlsx", FormatId::Mt5Xlsx),
        ("tastytrade/transactions.csv", FormatId::Tastytrade),
        ("webull/orders.csv", FormatId::Webull),
        ("trenddojo/export.csv", FormatId::TrendDojo),
    ];
    for (rel, want) in cases {
        let head = read(rel);
        let head = &head[..head.len().min(64 * 1024)];
        assert_eq!(detect(head).unwrap_or_else(|e| panic!("{rel}: {e}")), want, "{rel} detected");
    }
    // A plain Flex CSV without header/trailer records.
    let plain = "\"ClientAccountID\",\"CurrencyPrimary\",\"AssetClass\",\"Symbol\",\"DateTime\",\"Quantity\",\"TradePrice\",\"IBCommission\",\"Buy/Sell\",\"IBExecID\",\"LevelOfDetail\"\n\"U1\",\"USD\",\"STK\",\"AAPL\",\"20260309;093015\",\"10\",\"187.5\",\"-1\",\"BUY\",\"0001.0002.01.01\",\"EXECUTION\"\n";
    assert_eq!(detect(plain.as_bytes()).expect("plain flex"), FormatId::IbkrFlexCsv, "plain Flex CSV");
    let p = parse_bytes(plain.as_bytes(), &ImportOptions::default()).expect("plain flex parses");
    assert_eq!(p.fills.len(), 1, "one fill from a plain Flex CSV");
}

#[test]
fn an_unknown_file_names_the_header_it_found() {
    let err = detect(b"Datum;Betrag;Verwendungszweck\n01.03.2026;12,50;Kaffee\n").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ImportError::UnknownFormat { line: 1, .. }), "unknown at line 1: {msg}");
    assert!(msg.contains("Datum;Betrag;Verwendungszweck"), "shows the header found: {msg}");
    assert!(msg.contains("Tradovate Fills"), "lists what is known: {msg}");
    let html = detect(b"<html><body><table><tr><td>hello</td></tr></table></body></html>").unwrap_err();
    assert!(html.to_string().contains("without a Deals table"), "an HTML page that is not a report: {html}");
}

/// Rename one column in a fixture: the error names it and shows the found and expected headers.
fn renamed(rel: &str, from: &str, to: &str, opts: &ImportOptions, missing: &str) {
    let t = text(rel);
    assert!(t.contains(from), "{rel} contains {from}");
    let changed = t.replacen(from, to, 1);
    let err = parse_bytes(changed.as_bytes(), opts).expect_err(&format!("{rel} with {from} renamed must fail"));
    let msg = err.to_string();
    assert!(matches!(err, ImportError::HeaderMismatch { .. }), "{rel}: a header mismatch, got {msg}");
    assert!(msg.contains(&format!("missing column \"{missing}\"")), "{rel}: names {missing}: {msg}");
    assert!(msg.contains("found header") && msg.contains(to.trim_matches('"')), "{rel}: shows the header found: {msg}");
    assert!(msg.contains("expected header"), "{rel}: shows the header expected: {msg}");
}

#[test]
fn a_renamed_column_is_named_for_every_broker() {
    let none = ImportOptions::default();
    renamed("ibkr_flex_csv/trades.csv", "\"TradePrice\"", "\"TradePx\"", &none, "TradePrice");
    renamed("ibkr_activity_csv/statement.csv", "T. Price", "Trade Px", &none, "T. Price");
    renamed("schwab/statement.csv", ",Exec Time,Spread", ",Execution Time,Spread", &none, "Exec Time");
    renamed("tradovate/fills.csv", "_timestamp", "_time", &none, "_timestamp");
    renamed("tradovate/orders.csv", "Fill Time", "Filled At", &ny_account("A"), "Fill Time");
    renamed("tradovate/performance.csv", "boughtTimestamp", "boughtTime", &ny_account("A"), "boughtTimestamp");
    renamed("tastytrade/transactions.csv", "Average Price", "Avg Price", &account("A"), "Average Price");
    renamed("webull/orders.csv", "Filled Time", "Fill Time", &account("A"), "Filled Time");
    renamed("trenddojo/export.csv", "executed_at", "time", &none, "executed_at");
    let xml = text("ibkr_flex_xml/statement.xml").replace("tradePrice=", "tradePx=");
    let err = parse_bytes(xml.as_bytes(), &none).unwrap_err().to_string();
    assert!(err.contains("missing column \"TradePrice\"") && err.contains("tradePx"), "XML attributes too: {err}");
    let html = read("mt5/report.html");
    let s: Vec<u16> = html[2..].chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
    let s = String::from_utf16(&s).expect("utf-16").replace("<b>Direction</b>", "<b>Entry</b>");
    let err = parse_bytes(s.as_bytes(), &athens()).unwrap_err().to_string();
    assert!(err.contains("missing column \"Direction\"") && err.contains("Entry"), "MT5 Deals header: {err}");
    let mapping: ColumnMapping = serde_json::from_str(&text("generic/eu.mapping.json")).expect("mapping");
    let opts = ImportOptions { format: Some(FormatId::Generic), mapping: Some(mapping), ..Default::default() };
    let csv = text("generic/eu.csv").replace("Kurs", "Preis");
    let err = parse_bytes(csv.as_bytes(), &opts).unwrap_err().to_string();
    assert!(err.contains("missing column \"Kurs\"") && err.contains("Preis"), "generic mapping: {err}");
}

#[test]
fn settings_a_file_cannot_supply_are_required_by_name() {
    let err = parse_path(fixture("mt5/report.html"), &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(err, ImportError::MissingSetting { setting: "statement_tz", .. }),
        "MT5 needs the server zone: {err}"
    );
    assert!(err.to_string().contains("broker server"), "and says why: {err}");
    let err = parse_path(fixture("tradovate/orders.csv"), &ImportOptions::default()).unwrap_err();
    assert!(matches!(err, ImportError::MissingSetting { setting: "statement_tz", .. }), "Tradovate Orders too: {err}");
    let err = parse_path(fixture("webull/orders.csv"), &ImportOptions::default()).unwrap_err();
    assert!(
        matches!(err, ImportError::MissingSetting { setting: "default_account", .. }),
        "Webull names no account: {err}"
    );
    let err =
        parse_path(fixture("generic/eu.csv"), &ImportOptions { format: Some(FormatId::Generic), ..Default::default() })
            .unwrap_err();
    assert!(
        matches!(err, ImportError::MissingSetting { setting: "statement_tz" | "mapping", .. }),
        "generic needs a mapping: {err}"
    );
}

#[test]
fn the_generic_mapping_is_saved_as_json_and_checked() {
    let mapping: ColumnMapping = serde_json::from_str(&text("generic/eu.mapping.json")).expect("mapping");
    let json = serde_json::to_string(&mapping).expect("serializes");
    let back: ColumnMapping = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back, mapping, "round trip");
    let typo = text("generic/eu.mapping.json").replace("\"decimal_comma\"", "\"decimal_coma\"");
    assert!(serde_json::from_str::<ColumnMapping>(&typo).is_err(), "an unknown key is refused, not ignored");
    let mut bad = mapping.clone();
    bad.delimiter = ',';
    assert!(bad.validate().unwrap_err().to_string().contains("decimal commas"), "comma delimiter with decimal commas");
    let mut no_time = mapping;
    no_time.columns.executed_at = None;
    assert!(no_time.validate().is_err(), "a time column is required");
}

fn keys(p: &Parsed) -> Vec<String> {
    p.fills.iter().map(|f| f.dedupe_key()).collect()
}

#[test]
fn importing_the_same_file_twice_adds_nothing() {
    for (rel, opts) in [
        ("ibkr_flex_csv/trades.csv", ImportOptions::default()),
        ("webull/orders.csv", account("WB-1")),
        ("schwab/statement.csv", ImportOptions::default()),
    ] {
        let first = parse_path(fixture(rel), &opts).expect("first");
        let known: HashSet<String> = keys(&first).into_iter().collect();
        assert_eq!(known.len(), first.fills.len(), "{rel}: every fill has its own key (identical fills included)");
        let second = parse_path(fixture(rel), &opts).expect("second");
        let new: Vec<String> = keys(&second).into_iter().filter(|k| !known.contains(k)).collect();
        assert!(new.is_empty(), "{rel}: a re-import adds nothing, got {new:?}");
        assert_eq!(first.file_sha256, second.file_sha256, "{rel}: same file hash");
    }
}

/// Webull rows (no execution ids) for Jan-Mar and Mar-Jun exports that overlap in March, including two
/// identical fills in the same second.
fn webull_export(rows: &[&str]) -> String {
    let mut s = String::from(
        "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,Placed Time,Filled Time\n",
    );
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

#[test]
fn overlapping_exports_import_cleanly() {
    let jan = "Apple Inc,AAPL,Buy,Filled,10,10,@180.00,180.00,DAY,01/05/2026 09:31:00 EST,01/05/2026 09:31:01 EST";
    let mar1 = "Apple Inc,AAPL,Sell,Filled,5,5,@190.00,190.00,DAY,03/02/2026 10:00:00 EST,03/02/2026 10:00:05 EST";
    let mar2 = mar1; // a genuine second identical fill in the same second
    let apr = "Apple Inc,AAPL,Buy,Filled,5,5,@185.00,185.00,DAY,04/01/2026 10:00:00 EDT,04/01/2026 10:00:05 EDT";
    let opts = account("WB-1");
    let a = parse_bytes(webull_export(&[jan, mar1, mar2]).as_bytes(), &opts).expect("jan-mar");
    let b = parse_bytes(webull_export(&[mar1, mar2, apr]).as_bytes(), &opts).expect("mar-jun");
    let mut store: HashSet<String> = keys(&a).into_iter().collect();
    assert_eq!(store.len(), 3, "both identical March fills are kept");
    let added: Vec<String> = keys(&b).into_iter().filter(|k| store.insert(k.clone())).collect();
    assert_eq!(added.len(), 1, "only April is new: the overlapping March fills are recognised, both of them");
    // A third identical March fill in the later export would be new: it is occurrence 2.
    let c = parse_bytes(webull_export(&[mar1, mar2, mar1]).as_bytes(), &opts).expect("three");
    let added: Vec<String> = keys(&c).into_iter().filter(|k| !store.contains(k)).collect();
    assert_eq!(added.len(), 1, "a third identical fill is a new fill");

    // With execution ids (IBKR): overlap by id, and a correction in a later file replaces the earlier version.
    let head = "\"ClientAccountID\",\"CurrencyPrimary\",\"AssetClass\",\"Symbol\",\"DateTime\",\"Quantity\",\"TradePrice\",\"IBCommission\",\"Buy/Sell\",\"IBExecID\",\"TransactionType\",\"LevelOfDetail\"\n";
    let row = |id: &str, price: &str, kind: &str| {
        format!("\"U1\",\"USD\",\"STK\",\"AAPL\",\"20260302;100000\",\"10\",\"{price}\",\"-1\",\"BUY\",\"{id}\",\"{kind}\",\"EXECUTION\"\n")
    };
    let first = parse_bytes(
        format!("{head}{}", row("00aa.0001.01.01", "100", "ExchTrade")).as_bytes(),
        &ImportOptions::default(),
    )
    .expect("first");
    let later = parse_bytes(
        format!("{head}{}", row("00aa.0001.01.02", "100.5", "TradeCorrect")).as_bytes(),
        &ImportOptions::default(),
    )
    .expect("later");
    assert_eq!(
        later.fills[0].correction_of.as_deref(),
        Some("00aa.0001.01.01"),
        "the correction names the earlier version"
    );
    assert_eq!(
        first.fills[0].dedupe_key(),
        later.fills[0].dedupe_key(),
        "both versions share the key the store replaces by"
    );
    assert_ne!(first.fills[0].fingerprint, later.fills[0].fingerprint, "while their content differs");
}

#[test]
fn bad_files_fail_whole_with_a_clear_error() {
    let none = ImportOptions::default();
    assert!(matches!(parse_bytes(b"", &none), Err(ImportError::Empty)), "empty file");
    assert!(
        matches!(parse_bytes(b"\xef\xbb\xbf \r\n\n", &none), Err(ImportError::Empty)),
        "only a BOM and blank lines"
    );
    let binary: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let err = parse_bytes(&binary, &none).unwrap_err();
    assert!(matches!(err, ImportError::Binary { .. }), "random bytes are binary: {err}");
    let err =
        parse_bytes(b"PK\x03\x04not really a zip", &ImportOptions { format: Some(FormatId::Webull), ..account("A") })
            .unwrap_err();
    assert!(matches!(err, ImportError::Binary { .. }), "a ZIP forced as a CSV format: {err}");
    let err = parse_bytes(b"PK\x03\x04not really a zip", &athens()).unwrap_err();
    assert!(err.to_string().contains("XLSX"), "a broken XLSX: {err}");

    // Truncated mid-row (no final newline, the last row short of fields).
    let fills = text("tradovate/fills.csv");
    let cut = &fills[..fills.len() - 40];
    let err = parse_bytes(cut.as_bytes(), &none).unwrap_err();
    assert!(matches!(err, ImportError::Truncated { line: 10, .. }), "truncated at the last row's line: {err}");
    // Truncated inside a quoted field.
    let export = text("trenddojo/export.csv");
    let at = export.find("Fade\nthe").expect("quoted newline") + 6;
    let err = parse_bytes(&export.as_bytes()[..at], &none).unwrap_err();
    assert!(matches!(err, ImportError::Truncated { .. }), "cut inside quotes: {err}");
    let xml = text("ibkr_flex_xml/statement.xml");
    let err = parse_bytes(&xml.as_bytes()[..xml.len() / 2], &none).unwrap_err();
    assert!(matches!(err, ImportError::Truncated { .. }), "truncated XML: {err}");
    let flex = text("ibkr_flex_csv/trades.csv");
    let err = parse_bytes(&flex.as_bytes()[..flex.find("\"EOS\",\"CTRN\"").expect("eos")], &none).unwrap_err();
    assert!(err.to_string().contains("EOF record"), "a Flex file without EOF: {err}");
    let html = read("mt5/report.html");
    let err = parse_bytes(&html[..(html.len() * 3 / 4) & !1], &athens()).unwrap_err();
    assert!(matches!(err, ImportError::Truncated { .. }), "an MT5 report cut inside the Deals table: {err}");

    // A wrong forced format is refused, not half-read.
    for forced in [
        FormatId::Webull,
        FormatId::Tastytrade,
        FormatId::TradovateFills,
        FormatId::Schwab,
        FormatId::IbkrActivityCsv,
        FormatId::TrendDojo,
    ] {
        let opts = ImportOptions { format: Some(forced), default_account: Some("A".into()), ..Default::default() };
        let r = parse_path(fixture("ibkr_flex_csv/trades.csv"), &opts);
        assert!(
            r.is_err(),
            "{forced} forced on a Flex file must fail, got {} fills",
            r.map(|p| p.fills.len()).unwrap_or(0)
        );
    }
    let r = parse_path(
        fixture("webull/orders.csv"),
        &ImportOptions { format: Some(FormatId::IbkrFlexXml), ..Default::default() },
    );
    assert!(matches!(r, Err(ImportError::HeaderNotFound { .. })), "CSV forced as XML: {r:?}");
}

#[test]
fn boms_and_mixed_line_endings_read_the_same() {
    let plain = parse_path(fixture("tradovate/fills.csv"), &ImportOptions::default()).expect("plain");
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend(read("tradovate/fills.csv"));
    let with_bom = parse_bytes(&bom, &ImportOptions::default()).expect("BOM");
    let fp = |p: &Parsed| p.fills.iter().map(|f| (f.line, f.fingerprint.clone())).collect::<Vec<_>>();
    assert_eq!(fp(&with_bom), fp(&plain), "a UTF-8 BOM changes nothing");
    let mixed: String = text("webull/orders.csv")
        .lines()
        .enumerate()
        .map(|(i, l)| format!("{l}{}", if i % 2 == 0 { "\r\n" } else { "\n" }))
        .collect();
    let cr_only: String = text("webull/orders.csv").replace('\n', "\r");
    let a = parse_path(fixture("webull/orders.csv"), &account("W")).expect("lf");
    let b = parse_bytes(mixed.as_bytes(), &account("W")).expect("mixed");
    let c = parse_bytes(cr_only.as_bytes(), &account("W")).expect("old Mac CR");
    assert_eq!(fp(&b), fp(&a), "CRLF/LF mixed: same fills on the same lines");
    assert_eq!(fp(&c), fp(&a), "CR only: same fills on the same lines");
    let utf16: Vec<u8> = std::iter::once([0xFFu8, 0xFE])
        .chain(text("webull/orders.csv").encode_utf16().map(u16::to_le_bytes))
        .flatten()
        .collect();
    let d = parse_bytes(&utf16, &account("W")).expect("utf-16");
    assert_eq!(fp(&d), fp(&a), "a UTF-16 CSV (Excel's Unicode text) reads the same");
}

#[test]
fn a_file_of_mostly_unreadable_rows_stops_early() {
    let mut s = String::from(
        "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,Placed Time,Filled Time\n",
    );
    for i in 0..3000 {
        s.push_str(&format!("X,SYM{i},Buy,Filled,1,1,@1,not-a-price,DAY,x,03/02/2026 10:00:05 EST\n"));
    }
    let err = parse_bytes(s.as_bytes(), &account("A")).unwrap_err();
    assert!(matches!(err, ImportError::TooManyRejected { rejected: 1000, .. }), "stops at 1000 rejected: {err}");
    assert!(err.to_string().contains("Avg Price"), "and says why the first failed: {err}");
}

/// A reader of `len` bytes made on the fly, counting what was read.
struct Endless {
    pattern: Vec<u8>,
    len: u64,
    pos: u64,
    read: Rc<Cell<u64>>,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.len - self.pos) as usize;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = self.pattern[((self.pos + i as u64) % self.pattern.len() as u64) as usize];
        }
        self.pos += n as u64;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

fn two_gb(prefix: &str, pattern: &str) -> (impl Read, Rc<Cell<u64>>) {
    let read = Rc::new(Cell::new(0));
    let mut p = prefix.as_bytes().to_vec();
    p.extend(pattern.as_bytes());
    // The prefix is the start of the first pattern repetition only.
    let reader = std::io::Cursor::new(prefix.as_bytes().to_vec()).chain(Endless {
        pattern: pattern.as_bytes().to_vec(),
        len: 2 << 30,
        pos: 0,
        read: Rc::clone(&read),
    });
    (reader, read)
}

#[test]
fn a_two_gigabyte_file_of_junk_fails_fast_and_bounded() {
    let (r, read) = two_gb("", "lorem ipsum dolor sit amet, consectetur adipiscing elit\n");
    let err = parse_reader(r, &ImportOptions::default()).unwrap_err();
    assert!(matches!(err, ImportError::UnknownFormat { .. }), "junk is not a format: {err}");
    assert!(read.get() <= 64 * 1024, "only the head was read: {} bytes", read.get());

    let header = "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,Placed Time,Filled Time\n";
    let (r, read) = two_gb(header, "junk,junk,junk,junk,junk,junk,junk,junk,junk,junk,junk\n");
    let err = parse_reader(r, &account("A")).unwrap_err();
    assert!(matches!(err, ImportError::TooManyRejected { .. }), "a valid header over 2 GB of junk rows: {err}");
    assert!(read.get() < 2 * 1024 * 1024, "stopped within the first MiB or two: {} bytes", read.get());

    let (r, read) = two_gb(header, "x");
    let err = parse_reader(r, &account("A")).unwrap_err();
    assert!(err.to_string().contains("longer than 4 MiB"), "one endless line is refused: {err}");
    assert!(read.get() < 8 * 1024 * 1024, "after a few MiB: {} bytes", read.get());

    let (r, read) = two_gb("", "<tr><td>x</td></tr>");
    let err = parse_reader(r, &ImportOptions { format: Some(FormatId::Mt5Html), ..athens() }).unwrap_err();
    assert!(
        matches!(err, ImportError::HeaderNotFound { .. } | ImportError::TooManyRejected { .. }),
        "an endless table without Deals: {err}"
    );
    let _ = read;
}

#[test]
fn an_unreadable_row_is_listed_not_fatal() {
    let p = parse_path(fixture("tastytrade/transactions.csv"), &account("T")).expect("parses");
    assert_eq!(p.rejected.len(), 1, "one rejected row");
    let r = &p.rejected[0];
    assert_eq!(r.line, 9, "its line");
    assert!(r.reason.contains("Quantity") && r.raw.contains("XYZ"), "its reason and text: {r:?}");
    assert_eq!(p.rejected_total, 1, "counted");
    assert!(p.fills.iter().all(|f| f.quantity > Decimal::ZERO), "the good rows are all there");
}
