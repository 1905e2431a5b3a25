//! Property tests: garbage never panics; grouped trades are flat to flat and flips split; fingerprints are
//! stable under re-ordering of identical rows.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use trenddojo_domain::Side;
use trenddojo_import::{
    group_trades, parse_bytes, AssetClass, ColumnMapping, FormatId, ImportOptions, Instrument, NormalizedFill,
};

fn opts_for(format: Option<FormatId>) -> ImportOptions {
    let mapping: ColumnMapping = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/generic/eu.mapping.json"))
            .expect("mapping"),
    )
    .expect("mapping JSON");
    ImportOptions {
        format,
        statement_tz: Some(chrono_tz::Europe::Athens),
        mapping: Some(mapping),
        default_account: Some("A".into()),
        contract_multipliers: BTreeMap::new(),
    }
}

fn fixtures() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    [
        "ibkr_flex_csv/trades.csv",
        "ibkr_flex_xml/statement.xml",
        "ibkr_activity_csv/statement.csv",
        "schwab/statement.csv",
        "tradovate/fills.csv",
        "tradovate/performance.csv",
        "mt5/report.html",
        "mt5/report.xlsx",
        "tastytrade/transactions.csv",
        "webull/orders.csv",
        "generic/eu.csv",
        "trenddojo/export.csv",
    ]
    .iter()
    .map(|r| std::fs::read(root.join(r)).expect("fixture"))
    .collect()
}

fn any_format() -> impl Strategy<Value = Option<FormatId>> {
    prop_oneof![Just(None), proptest::sample::select(FormatId::ALL.to_vec()).prop_map(Some)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any bytes, read as any format: an answer, never a panic.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), format in any_format()) {
        let r = parse_bytes(&bytes, &opts_for(format));
        prop_assert!(r.is_ok() || r.is_err(), "returns");
    }

    /// Text that looks nearly right (a real export with bytes changed, cut, or lines repeated): never a
    /// panic, and any fill that comes back is well-formed.
    #[test]
    fn damaged_exports_never_panic(
        which in 0usize..12,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..12),
        cut in any::<prop::sample::Index>(),
        format in any_format(),
    ) {
        let all = fixtures();
        let mut bytes = all[which % all.len()].clone();
        for (at, b) in edits {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
        }
        let keep = cut.index(bytes.len() + 1);
        if keep * 4 > bytes.len() * 3 {
            bytes.truncate(keep);
        }
        if let Ok(p) = parse_bytes(&bytes, &opts_for(format)) {
            for f in &p.fills {
                prop_assert!(f.quantity > Decimal::ZERO && f.price > Decimal::ZERO && f.multiplier > Decimal::ZERO, "positive numbers: {:?}", f);
                prop_assert_eq!(f.fingerprint.len(), 64, "a fingerprint");
            }
        }
    }

    /// Random text made of CSV-ish pieces.
    #[test]
    fn csv_shaped_garbage_never_panics(
        lines in proptest::collection::vec(proptest::collection::vec("[A-Za-z0-9 ,;\"./:_()$-]{0,12}", 0..14), 0..30),
        format in any_format(),
    ) {
        let text: String = lines.iter().map(|l| l.join(",") + "\n").collect();
        let r = parse_bytes(text.as_bytes(), &opts_for(format));
        prop_assert!(r.is_ok() || r.is_err(), "returns");
    }
}

fn fill(i: usize, key: u8, buy: bool, qty: u32) -> NormalizedFill {
    let sym = format!("S{key}");
    NormalizedFill {
        broker: "test".into(),
        broker_account: "A".into(),
        broker_exec_id: Some(format!("e{i}")),
        order_id: None,
        asset_class: AssetClass::Stock,
        instrument: Instrument::stock(&sym).into(),
        multiplier: Decimal::ONE,
        side: if buy { Side::Buy } else { Side::Sell },
        quantity: Decimal::from(qty),
        price: Decimal::new(10_000 + i as i64, 2),
        fees: Vec::new(),
        currency: "USD".into(),
        position_effect: None,
        raw_time: String::new(),
        time_zone: "UTC".into(),
        // Several fills share a minute: ties are taken in slice order.
        executed_at: Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).single().expect("time")
            + chrono::Duration::minutes((i / 2) as i64),
        line: i as u64 + 2,
        occurrence: 0,
        fingerprint: String::new(),
        correction_of: None,
        trade_hints: None,
        warnings: Vec::new(),
    }
}

proptest! {
    /// Every trade but the last of an instrument is flat (entries = exits); the last is flat or open by
    /// exactly entries - exits; a fill's parts over all trades add up to the fill; a fill that crosses zero is
    /// split into an exit of one trade and the entry of the next, in the other direction.
    #[test]
    fn grouped_trades_are_flat_to_flat_and_flips_split(
        steps in proptest::collection::vec((0u8..3, any::<bool>(), 1u32..20), 1..60),
    ) {
        let fills: Vec<NormalizedFill> = steps.iter().enumerate().map(|(i, (k, b, q))| fill(i, *k, *b, *q)).collect();
        let trades = group_trades(&fills);
        let mut per_key: BTreeMap<String, Vec<_>> = BTreeMap::new();
        for t in &trades {
            per_key.entry(t.instrument_key.clone()).or_default().push(t);
        }
        for (key, ts) in &per_key {
            for (n, t) in ts.iter().enumerate() {
                let open = t.entered() - t.exited();
                prop_assert_eq!(open, t.open_quantity, "{} trade {}: open quantity is entries - exits", key, n);
                if n + 1 < ts.len() {
                    prop_assert!(open.is_zero(), "{} trade {} is not the last, so it is flat", key, n);
                    prop_assert!(t.closed_at.is_some(), "and closed");
                }
                prop_assert!(open >= Decimal::ZERO, "never over-closed");
                for l in &t.legs {
                    let f = &fills[l.fill];
                    let entry_side = t.direction.entry_side();
                    prop_assert_eq!(l.entry, f.side == entry_side, "a leg is an entry exactly when its side opens the trade");
                }
            }
            // Trades of one instrument alternate only through flat points: the running position agrees.
            let mut pos = Decimal::ZERO;
            for f in fills.iter().filter(|f| &f.instrument.key == key) {
                pos += if f.side == Side::Buy { f.quantity } else { -f.quantity };
            }
            let last = ts.last().expect("a trade");
            let signed = if last.direction == trenddojo_domain::Direction::Long { last.open_quantity } else { -last.open_quantity };
            prop_assert_eq!(signed, pos, "{}: the last trade holds the net position", key);
        }
        let mut parts: BTreeMap<usize, Decimal> = BTreeMap::new();
        let mut seen_in: BTreeMap<usize, usize> = BTreeMap::new();
        for t in &trades {
            for l in &t.legs {
                *parts.entry(l.fill).or_default() += l.quantity;
                *seen_in.entry(l.fill).or_default() += 1;
            }
        }
        for (i, f) in fills.iter().enumerate() {
            prop_assert_eq!(parts.get(&i).copied().unwrap_or_default(), f.quantity, "fill {}'s parts add up", i);
            prop_assert!(seen_in.get(&i).copied().unwrap_or(0) <= 2, "a fill is in at most two trades (a flip)");
        }
        for (i, n) in seen_in {
            if n == 2 {
                let pair: Vec<_> = trades.iter().filter(|t| t.legs.iter().any(|l| l.fill == i)).collect();
                prop_assert_ne!(pair[0].direction, pair[1].direction, "a split fill flips the direction");
                prop_assert!(pair[0].legs.iter().any(|l| l.fill == i && !l.entry), "it exits the first");
                prop_assert!(pair[1].legs.iter().any(|l| l.fill == i && l.entry), "and enters the second");
            }
        }
    }

    /// Identical rows shuffled among themselves give the same set of fingerprints, and a parse is repeatable.
    #[test]
    fn fingerprints_do_not_depend_on_where_identical_rows_sit(copies in 1usize..5, other in 0usize..4, seed in any::<u64>()) {
        let dup = "Apple Inc,AAPL,Buy,Filled,10,10,@180.00,180.00,DAY,01/05/2026 09:31:00 EST,01/05/2026 09:31:01 EST";
        let mut rows: Vec<String> = std::iter::repeat_n(dup.to_string(), copies).collect();
        for k in 0..other {
            rows.push(format!("Apple Inc,AAPL,Sell,Filled,{},10,@181.00,181.00,DAY,01/05/2026 09:32:00 EST,01/05/2026 09:32:0{k} EST", k + 1));
        }
        let head = "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,Placed Time,Filled Time\n";
        let a: String = head.to_string() + &rows.join("\n");
        let n = rows.len();
        for i in 0..n {
            rows.swap(i, (seed as usize).wrapping_add(i * 7) % n);
        }
        let b: String = head.to_string() + &rows.join("\n");
        let opts = ImportOptions { default_account: Some("W".into()), ..Default::default() };
        let pa = parse_bytes(a.as_bytes(), &opts).expect("a");
        let pb = parse_bytes(b.as_bytes(), &opts).expect("b");
        let mut fa: Vec<String> = pa.fills.iter().map(|f| f.fingerprint.clone()).collect();
        let mut fb: Vec<String> = pb.fills.iter().map(|f| f.fingerprint.clone()).collect();
        fa.sort();
        fb.sort();
        prop_assert_eq!(fa.len(), copies + other, "every row is a fill");
        prop_assert_eq!(fa, fb, "the same fingerprints in any order");
    }
}
