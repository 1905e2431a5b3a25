//! `trenddojo-bench`: builds a store with N trades (default 100,000) and 5 executions each in a real
//! encrypted file, then measures and prints: bulk insert rate, open + unlock time, statistics per
//! account and a filtered, sorted page of 50 trades (p50/p95/max over repeated runs), and what keeping
//! the data safe costs: the first open of a day (which takes the daily backup), a checked backup, a
//! restore into an empty data folder, and the JSON export.
//!
//! Run it in release mode: `cargo run --release -p trenddojo-bench -- [TRADES] [ACCOUNTS]`.
//! `trenddojo-bench stats [LARGE] [SMALL] [DAYS]` measures statistics from the per-day aggregates at 1k
//! and 100k closed trades in one account, and what maintaining them costs bulk inserts (see `stats.rs`).
//! `trenddojo-bench cipher [TRADES]` compares SQLCipher (and its settings) with plain SQLite (`cipher.rs`).
//! `trenddojo-bench sync [TRADES] [SERVER_SCHEMA]` measures sync against a private PostgreSQL (`sync.rs`).

mod cipher;
mod fixture;
mod gen;
mod list;
mod ratios;
mod stats;
mod sync;

use std::time::{Duration, Instant};

use gen::generate;
use rand::rngs::StdRng;
use rand::SeedableRng;
use trenddojo_core::{ImportTrade, Journal, OpenOptions, Passphrase, TradeListInput};
use trenddojo_store::key::{derive_key, KdfParams};

fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort();
    let idx = (samples.len() * p).div_ceil(100).saturating_sub(1);
    samples[idx.min(samples.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{}.{:03} ms", d.as_millis(), d.as_micros() % 1000)
}

fn report(name: &str, mut samples: Vec<Duration>) {
    let max = *samples.iter().max().expect("samples");
    let p50 = percentile(&mut samples, 50);
    let p95 = percentile(&mut samples, 95);
    println!("{name:<52} p50 {:>12}  p95 {:>12}  max {:>12}  (n={})", ms(p50), ms(p95), ms(max), samples.len());
}

/// `n` per second over `d` (integers: the workspace bans floats).
fn rate(n: impl TryInto<u128>, d: Duration) -> u128 {
    let n: u128 = n.try_into().unwrap_or(u128::MAX / 1_000_000);
    (n * 1_000_000) / d.as_micros().max(1)
}

/// `ratios [TRADES] [--check FILE]`: the design's ratios to their floors, and the regression check.
fn ratios_mode(args: &[String]) {
    let trades: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(2_000);
    let check = args.iter().position(|a| a == "--check").and_then(|i| args.get(i + 1));
    println!("TrendDojo ratios to same-run floors ({trades} trades, {} build)", ratios::profile());
    let mut measured = vec![ratios::bulk_insert_ratio(trades, 4), list::ratio(trades)];
    // The sync paths against a private PostgreSQL, at the same size.
    measured.extend(ratios::sync_ratios(&sync::run(trades, None, sync::Scope::Ratios)));
    ratios::print(&measured);
    if let Some(file) = check {
        let doc = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("read {file}: {e}"));
        let recorded = ratios::recorded(&doc);
        assert!(!recorded.is_empty(), "{file} records no ratios between the ratios:begin/end markers");
        let bad = ratios::regressions(&measured, &recorded, ratios::profile());
        if !bad.is_empty() {
            for b in &bad {
                eprintln!("regression: {b}");
            }
            std::process::exit(1);
        }
        println!("no ratio regressed by more than 50% against {file}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("indexes") {
        return cipher::indexes(&args[2..]);
    }
    if args.get(1).map(String::as_str) == Some("cipher") {
        return cipher::main(&args[2..]);
    }
    if args.get(1).map(String::as_str) == Some("sync") {
        let trades: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20_000);
        // An older server schema to compare against (e.g. 14: the per-row audit chain before V15).
        let schema: Option<u32> = args.get(3).and_then(|s| s.parse().ok());
        let run = sync::run(trades, schema, sync::Scope::Full);
        ratios::print(&ratios::sync_ratios(&run));
        return;
    }
    if args.get(1).map(String::as_str) == Some("ratios") {
        return ratios_mode(&args[2..]);
    }
    if args.get(1).map(String::as_str) == Some("list") {
        list::run(&args[2..]);
        return;
    }
    if args.get(1).map(String::as_str) == Some("stats") {
        stats::run(&args[2..]);
        return;
    }
    let trades: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let accounts: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("bench");
    let pass = Passphrase::new(fixture::PASSPHRASE).expect("passphrase");
    let key = fixture::key();
    println!(
        "TrendDojo benchmark: {trades} trades x 5 executions in {accounts} accounts, SQLCipher store in {}",
        home.display()
    );

    let names: Vec<String> = (0..accounts).map(|i| format!("Account {i}")).collect();
    let j = fixture::journal(&home, &names);
    let mut rng = StdRng::seed_from_u64(7);
    let per = trades / accounts;
    let batches: Vec<Vec<ImportTrade>> = (0..accounts).map(|a| generate(&mut rng, per, (a * per) as i64)).collect();

    // Bulk insert: all trades with their executions, summaries computed once each, one transaction.
    let bulk = fixture::bulk_insert(&j, &names, &batches);
    let total = per * accounts;
    println!(
        "bulk insert (one transaction, 5 fills + change-log and clock entries each): {} trades in {} = {} trades/s, {} executions/s",
        total,
        ms(bulk),
        rate(total, bulk),
        rate(total * 5, bulk)
    );

    // Bulk insert of trade rows alone (planned trades: no executions), for the raw row rate.
    let plain: Vec<ImportTrade> =
        batches[0].iter().take(100_000.min(per)).map(|t| ImportTrade { fills: Vec::new(), ..t.clone() }).collect();
    let d = fixture::bulk_insert(&j, &names[..1], &[&plain]);
    println!(
        "bulk insert of trade rows without executions: {} trades in {} = {} trades/s",
        plain.len(),
        ms(d),
        rate(plain.len(), d)
    );
    let size = j.store().file_size();
    println!("store size: {} MiB", size / (1024 * 1024));
    drop(j);

    // Open and unlock.
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("keyinfo.json")).expect("keyinfo")).expect("json");
    let kdf: KdfParams = serde_json::from_value(info["kdf"].clone()).expect("kdf");
    let mut kdf_samples = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let _ = derive_key(&pass, &kdf).expect("derive");
        kdf_samples.push(t.elapsed());
    }
    // The first open of the day takes the daily backup (copy, integrity checks, container): measured
    // apart so the samples below are ordinary opens.
    let t = Instant::now();
    drop(Journal::open(&OpenOptions { home: home.clone(), key: key.clone(), user: None }).expect("first open"));
    println!("first open of the day (takes and checks the daily backup): {}", ms(t.elapsed()));
    let mut open_samples = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        // Journal::open reads keyinfo.json, derives or fetches the key, opens the writer, checks the schema
        // version and reads the active user through a reader connection: a store ready for use.
        let j = Journal::open(&OpenOptions { home: home.clone(), key: key.clone(), user: None }).expect("open");
        open_samples.push(t.elapsed());
        drop(j);
    }
    let kdf_p50 = percentile(&mut kdf_samples.clone(), 50);
    report("passphrase stretch (Argon2id 19 MiB, t=2)", kdf_samples);
    let unlock: Vec<Duration> = open_samples.iter().map(|d| d.saturating_sub(kdf_p50)).collect();
    report("open + unlock + user query, incl. Argon2id", open_samples);
    report("open + unlock + user query, minus Argon2id (keyring path)", unlock);

    let j = Journal::open(&OpenOptions { home: home.clone(), key: key.clone(), user: None }).expect("open");
    let plans = [
        ("open positions", "SELECT symbol, correlation_group FROM trades WHERE account_id = 'x' AND deleted = 0 AND status IN ('open', 'partially_closed')"),
        ("closed trades for stats", "SELECT id, closed_at, net_pnl, fees, initial_risk, exit_days FROM trades WHERE account_id = 'x' AND status = 'closed' AND deleted = 0 AND closed_at >= '' AND closed_at < '9' ORDER BY closed_at, id"),
        ("page by symbol", "SELECT id FROM trades WHERE user_id = 'u' AND deleted = 0 AND symbol = 'S' ORDER BY opened_at DESC, id DESC LIMIT 50"),
        ("page by account", "SELECT id FROM trades WHERE user_id = 'u' AND deleted = 0 AND account_id = 'a' ORDER BY opened_at DESC, id DESC LIMIT 50"),
    ];
    for (name, sql) in plans {
        let plan: Vec<String> = j
            .store()
            .read(|c| {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let rows = stmt.query_map([], |r| r.get::<_, String>(3))?.collect::<Result<Vec<_>, _>>()?;
                Ok::<_, trenddojo_store::StoreError>(rows)
            })
            .expect("plan");
        println!("plan {name:<24} {}", plan.join(" / "));
    }
    let mut accounts_samples = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        let a = j.list_accounts().expect("accounts");
        accounts_samples.push(t.elapsed());
        assert_eq!(a.len(), accounts, "all accounts listed");
    }
    report(&format!("account list with equity ({accounts} accounts)"), accounts_samples);
    let mut stats_samples = Vec::new();
    for _ in 0..3 {
        let _ = j.stats(Some(&names[0]), None, None).expect("warm");
    }
    for _ in 0..50 {
        let t = Instant::now();
        let s = j.stats(Some(&names[0]), None, None).expect("stats");
        stats_samples.push(t.elapsed());
        assert!(s[0].stats.trades > 0, "stats see the trades");
    }
    report(&format!("stats of one account ({} trades)", per), stats_samples);

    let pages: [(&str, TradeListInput); 3] = [
        (
            "page of 50: account, newest first",
            TradeListInput { account: Some(names[0].clone()), limit: Some(50), ..Default::default() },
        ),
        (
            "page of 50: account, closed, best P&L first",
            TradeListInput {
                account: Some(names[0].clone()),
                status: Some("closed".into()),
                sort: Some("pnl".into()),
                limit: Some(50),
                ..Default::default()
            },
        ),
        (
            "page of 50: all accounts, symbol SYM7, newest",
            TradeListInput { symbol: Some("SYM7".into()), limit: Some(50), ..Default::default() },
        ),
    ];
    for (name, q) in pages {
        let mut samples = Vec::new();
        for _ in 0..100 {
            let t = Instant::now();
            let page = j.list_trades(&q).expect("page");
            samples.push(t.elapsed());
            assert!(!page.is_empty(), "page has rows");
        }
        report(name, samples);
    }
    drop(j);

    // Keeping the data safe: a checked backup, a restore of it into an empty folder, the JSON export.
    let m = trenddojo_core::Maintenance::open(&home, &key).expect("maintenance");
    let file = dir.path().join("bench.tdbackup");
    let t = Instant::now();
    let b = m.backup(&file).expect("backup");
    let d = t.elapsed();
    println!(
        "db backup (copy + integrity_check + SHA-256 + container): {} MiB in {} = {} MiB/s",
        b.bytes / (1024 * 1024),
        ms(d),
        rate(usize::try_from(b.bytes).unwrap_or(usize::MAX), d) / (1024 * 1024)
    );
    drop(m);
    let t = Instant::now();
    trenddojo_core::Maintenance::restore_file(&dir.path().join("restored"), &file, &key, None).expect("restore");
    println!("db restore into an empty data folder (verify, extract, check, install): {}", ms(t.elapsed()));
    let j = Journal::open(&OpenOptions { home: home.clone(), key: key.clone(), user: None }).expect("open");
    let t = Instant::now();
    let e = j.export("json", &dir.path().join("export.json")).expect("export");
    println!("export --format json: {} trades, {} MiB in {}", e.trades, e.bytes / (1024 * 1024), ms(t.elapsed()));
    let t = Instant::now();
    let e = j.export("csv", &dir.path().join("export.csv")).expect("export");
    println!(
        "export --format csv: {} executions, {} MiB in {}",
        e.executions,
        e.bytes / (1024 * 1024),
        ms(t.elapsed())
    );
}
