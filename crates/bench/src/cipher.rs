//! `trenddojo-bench cipher [TRADES]`: what SQLCipher costs the store, against plain SQLite (issue 15).
//!
//! The store always opens through SQLCipher, so this measures at the SQLite level, not through the store:
//! a real store is built with the benchmark's trades (bulk insert through the core), then its schema (every
//! table, index and trigger, the bookkeeping included) and its rows are replayed into fresh database files
//! that differ only in their cipher settings:
//!
//! * plain SQLite (no key): the floor;
//! * SQLCipher as the store uses it: a raw 256-bit key (no KDF on open), 4096-byte pages, HMAC-SHA512,
//!   `cipher_memory_security` at its default;
//! * one setting changed at a time: `cipher_memory_security = OFF`, `cipher_page_size` 8192 and 16384,
//!   `cipher_hmac_algorithm = HMAC_SHA256`.
//!
//! Each variant runs the store's connection settings (WAL, `synchronous = NORMAL`, a 32 MiB page cache), then
//! inserts the trades, executions, stops and targets in one transaction (their triggers write the change
//! log, clocks and statistics marks as in the store), and then, on a new connection (a cold page cache),
//! reads them back: a full scan of the executions and 2,000 primary-key lookups of trades. Each variant
//! runs twice in alternation and keeps its faster run. Printed: time and ratio to plain SQLite.

use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::types::Value;
use rusqlite::Connection;

use crate::fixture;
use crate::gen::generate;

/// The tables the bulk insert fills, in an order their foreign keys accept.
const DATA: [&str; 4] = ["trades", "executions", "trade_stop_adjustments", "trade_targets"];

struct Variant {
    name: &'static str,
    /// Statements run right after opening, before anything else (the key first).
    setup: &'static str,
}

const KEY: &str = "PRAGMA key = \"x'00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF'\";";

fn variants() -> Vec<Variant> {
    vec![
        Variant { name: "plain SQLite (no encryption): the floor", setup: "" },
        Variant { name: "SQLCipher as the store uses it (raw key, defaults)", setup: KEY },
        Variant {
            name: "  cipher_memory_security = OFF",
            setup: concat!(
                "PRAGMA key = \"x'00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF'\";",
                "PRAGMA cipher_memory_security = OFF;"
            ),
        },
        Variant {
            name: "  cipher_page_size = 8192",
            setup: concat!(
                "PRAGMA key = \"x'00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF'\";",
                "PRAGMA cipher_page_size = 8192;"
            ),
        },
        Variant {
            name: "  cipher_page_size = 16384",
            setup: concat!(
                "PRAGMA key = \"x'00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF'\";",
                "PRAGMA cipher_page_size = 16384;"
            ),
        },
        Variant {
            name: "  cipher_hmac_algorithm = HMAC_SHA256",
            setup: concat!(
                "PRAGMA key = \"x'00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF'\";",
                "PRAGMA cipher_hmac_algorithm = HMAC_SHA256;"
            ),
        },
    ]
}

/// One table's column names and rows.
type Rows = (String, Vec<String>, Vec<Vec<Value>>);

/// The schema and rows of a real store, to replay.
struct Source {
    /// Tables first, then indexes, then views and triggers (as `sqlite_master` lists them within a kind).
    schema: Vec<String>,
    /// Rows present before the bulk insert (user, accounts, settings): loaded untimed.
    base: Vec<Rows>,
    /// The bulk insert's rows, per table of [`DATA`].
    data: Vec<Rows>,
}

fn rows(c: &Connection, table: &str) -> Rows {
    let mut s = c.prepare(&format!("SELECT * FROM \"{table}\"")).expect("select");
    let cols: Vec<String> = s.column_names().map(str::to_string).collect();
    let n = cols.len();
    let all = s
        .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect::<Result<Vec<_>, _>>())
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    (table.to_string(), cols, all)
}

fn source(dir: &Path, trades: usize) -> Source {
    let names = ["Account 0"];
    let j = fixture::journal(&dir.join("source"), &names);
    let read = |j: &trenddojo_core::Journal| {
        j.store()
            .read(|c| {
                let mut schema = Vec::new();
                for kind in ["table", "index", "view", "trigger"] {
                    let mut s = c.prepare(
                        "SELECT sql FROM sqlite_master WHERE type = ?1 AND sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
                    )?;
                    let list: Vec<String> = s.query_map([kind], |r| r.get(0))?.collect::<Result<_, _>>()?;
                    schema.extend(list);
                }
                let tables: Vec<String> = c
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid")?
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                Ok::<_, trenddojo_store::StoreError>((schema, tables.iter().map(|t| rows(c, t)).collect::<Vec<_>>()))
            })
            .expect("read the source store")
    };
    let (schema, base) = read(&j);
    let mut rng = StdRng::seed_from_u64(11);
    fixture::bulk_insert(&j, &names, &[generate(&mut rng, trades, 0)]);
    let (_, after) = read(&j);
    let data = DATA.iter().map(|t| after.iter().find(|(n, _, _)| n == t).cloned().expect("a data table")).collect();
    // Tables the triggers write are left to the triggers; the others are copied as they were at the start.
    let base = base.into_iter().filter(|(_, _, r)| !r.is_empty()).collect();
    Source { schema, base, data }
}

fn insert_all(c: &Connection, tables: &[Rows]) {
    for (table, cols, all) in tables {
        let sql = format!(
            "INSERT OR IGNORE INTO \"{table}\" ({}) VALUES ({})",
            cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", "),
            (1..=cols.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
        );
        let mut s = c.prepare_cached(&sql).expect("insert");
        for r in all {
            s.execute(rusqlite::params_from_iter(r.iter())).expect("insert a row");
        }
    }
}

fn open(path: &Path, v: &Variant) -> Connection {
    let c = Connection::open(path).expect("open");
    c.execute_batch("PRAGMA cipher_log_level = NONE;").expect("log level");
    if !v.setup.is_empty() {
        c.execute_batch(v.setup).expect("cipher settings");
    }
    c.create_collation("decimal", trenddojo_store::sql::cmp_decimal_text).expect("collation");
    c.set_prepared_statement_cache_capacity(256);
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768;",
    )
    .expect("connection settings");
    c
}

/// Build one variant's file and time its insert and its cold reads.
fn run(
    dir: &Path,
    src: &Source,
    v: &Variant,
    file: &str,
    ids: &[Value],
    without: &[&str],
) -> (Duration, Duration, u64) {
    let path = dir.join(file);
    let _ = std::fs::remove_file(&path);
    let mut c = open(&path, v);
    {
        let tx = c.transaction().expect("tx");
        for s in src.schema.iter().filter(|s| !without.contains(&s.as_str())) {
            tx.execute_batch(s).expect("schema");
        }
        insert_all(&tx, &src.base);
        tx.commit().expect("commit the base");
    }
    let t0 = Instant::now();
    let tx = c.transaction().expect("tx");
    insert_all(&tx, &src.data);
    tx.commit().expect("commit");
    let insert = t0.elapsed();
    let logged: i64 = c.query_row("SELECT count(*) FROM change_log", [], |r| r.get(0)).expect("log");
    let rows: usize = src.data.iter().map(|(_, _, r)| r.len()).sum();
    assert!(
        usize::try_from(logged).unwrap_or(0) >= rows,
        "the replay fired the store's triggers: {logged} change-log entries for {rows} rows"
    );
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").expect("checkpoint");
    drop(c);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let c = open(&path, v);
    let t1 = Instant::now();
    let n: i64 = c
        .query_row("SELECT count(*) + sum(length(price)) + sum(length(quantity)) FROM executions", [], |r| r.get(0))
        .expect("scan");
    assert!(n > 0, "the executions were read back");
    let mut s = c.prepare("SELECT net_pnl FROM trades WHERE id = ?1").expect("lookup");
    for id in ids {
        let _: String = s.query_row([id], |r| r.get(0)).expect("a trade");
    }
    (insert, t1.elapsed(), size)
}

pub fn main(args: &[String]) {
    let trades: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let src = source(dir.path(), trades);
    let rows: usize = src.data.iter().map(|(_, _, r)| r.len()).sum();
    let trade_ids: Vec<Value> = src.data[0].2.iter().map(|r| r[0].clone()).collect();
    let mut rng = StdRng::seed_from_u64(5);
    let ids: Vec<Value> = (0..2000).map(|_| trade_ids[rng.gen_range(0..trade_ids.len())].clone()).collect();
    println!(
        "TrendDojo: what SQLCipher costs ({trades} trades, {rows} rows with stops and fills, the store's schema with its {} statements and triggers; {} build)",
        src.schema.len(),
        crate::ratios::profile()
    );
    let vs = variants();
    let mut best: Vec<(Duration, Duration, u64)> = vec![(Duration::MAX, Duration::MAX, 0); vs.len()];
    for round in 0..2 {
        for (i, v) in vs.iter().enumerate() {
            let (ins, read, size) = run(dir.path(), &src, v, &format!("r{round}-v{i}.db"), &ids, &[]);
            best[i] = (best[i].0.min(ins), best[i].1.min(read), size);
        }
    }
    let ratio = |a: Duration, b: Duration| pct_text(a.as_micros() * 100 / b.as_micros().max(1));
    println!("{:<52} {:>11} {:>7}   {:>11} {:>7}   {:>9}", "variant", "insert", "ratio", "cold read", "ratio", "file");
    for (v, (ins, read, size)) in vs.iter().zip(&best) {
        println!(
            "{:<52} {:>11} {:>6}x   {:>11} {:>6}x   {:>6} MiB",
            v.name,
            ms(*ins),
            ratio(*ins, best[0].0),
            ms(*read),
            ratio(*read, best[0].1),
            size >> 20
        );
    }
}

/// A duration as `1234.5 ms`.
fn ms(d: Duration) -> String {
    format!("{}.{:01} ms", d.as_millis(), (d.as_micros() % 1000) / 100)
}

/// Hundredths as `1.23`.
fn pct_text(hundredths: u128) -> String {
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// `trenddojo-bench indexes [TRADES]`: what each secondary index costs the bulk insert (issue 15, decision
/// 3). The same replay as `cipher`, encrypted as the store is, once with every index and once without each
/// secondary index in turn; prints the insert time saved by leaving that index out. Which query needs each
/// index is written beside it in docs/benchmarks.md.
pub fn indexes(args: &[String]) {
    let trades: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let src = source(dir.path(), trades);
    let store = &variants()[1];
    let data_tables = [
        "trades",
        "executions",
        "trade_stop_adjustments",
        "trade_targets",
        "change_log",
        "stats_dirty",
        "sync_field_clock",
        "accounts",
    ];
    let idx: Vec<&String> = src
        .schema
        .iter()
        .filter(|s| s.starts_with("CREATE INDEX") || s.starts_with("CREATE UNIQUE INDEX"))
        .filter(|s| data_tables.iter().any(|t| s.contains(&format!(" ON {t} ")) || s.contains(&format!(" ON {t}("))))
        .collect();
    println!(
        "TrendDojo: what each secondary index on the tables a bulk insert writes costs it ({trades} trades, SQLCipher as the store uses it; {} build)",
        crate::ratios::profile()
    );
    let ids: Vec<Value> = src.data[0].2.iter().take(100).map(|r| r[0].clone()).collect();
    // Each index is measured against a baseline taken right next to it (the machine's load drifts over a
    // run of minutes), the pair's order alternating between rounds; and all of them together.
    let pair = |without: Option<&str>, name: &str| -> (Duration, Duration) {
        let (mut base, mut less) = (Duration::MAX, Duration::MAX);
        for round in 0..2 {
            for first in [round == 0, round == 1] {
                if first {
                    base = base.min(run(dir.path(), &src, store, &format!("b-{name}-{round}.db"), &ids, &[]).0);
                } else {
                    let skip: Vec<&str> = without.into_iter().collect();
                    less = less.min(run(dir.path(), &src, store, &format!("w-{name}-{round}.db"), &ids, &skip).0);
                }
            }
        }
        (base, less)
    };
    let saved = |(base, less): (Duration, Duration)| {
        let d = i128::try_from(base.as_micros()).unwrap_or(i128::MAX) - i128::try_from(less.as_micros()).unwrap_or(0);
        let permille = d * 1000 / i128::try_from(base.as_micros().max(1)).unwrap_or(1);
        let sign = if permille < 0 { "-" } else { "" };
        format!("{sign}{}.{}%", permille.abs() / 10, permille.abs() % 10)
    };
    let every: Vec<&str> = idx.iter().map(|s| s.as_str()).collect();
    let (mut base, mut none) = (Duration::MAX, Duration::MAX);
    for round in 0..2 {
        base = base.min(run(dir.path(), &src, store, &format!("all-{round}.db"), &ids, &[]).0);
        none = none.min(run(dir.path(), &src, store, &format!("none-{round}.db"), &ids, &every).0);
    }
    println!(
        "insert with every index {}, without the {} secondary indexes {} (they cost {} of it together)",
        ms(base),
        idx.len(),
        ms(none),
        saved((base, none))
    );
    println!("{:>11} {:>11} {:>8}  index", "baseline", "without it", "saves");
    for (i, s) in idx.iter().enumerate() {
        let (b, l) = pair(Some(s.as_str()), &i.to_string());
        println!(
            "{:>11} {:>11} {:>8}  {}",
            ms(b),
            ms(l),
            saved((b, l)),
            s.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
}
