//! `trenddojo-import-bench`: a broker import end to end on a real encrypted store, through the same core
//! use cases as `trenddojo import`. Writes an IBKR Flex Query CSV of N executions (default 100,000: a year
//! of round trips in 200 instruments: stocks, OCC options and futures, with ORDER rows to skip and a
//! correction every 1,000 fills), then measures and prints:
//!
//! * the first import into an empty account: read (parse), preview, commit, and the total;
//! * importing the same file again (every fill a duplicate): read and preview, which finds nothing to do;
//! * overlapping exports: the first 60 % of the fills, then the last 60 % (a third of it already held);
//! * undoing the 100,000-fill import;
//! * peak RSS (VmHWM) of each phase: read, preview, commit, undo (the peak is reset before each).
//!
//! Run it in release mode: `cargo run --release -p trenddojo-bench --bin trenddojo-import-bench -- [N]`.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveDate};
use trenddojo_core::{AccountInput, ImportInput, Journal, KeySource, Passphrase, UserInput};

fn vm_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .map_or(0, |kib: u64| kib / 1024)
}

fn vm_hwm_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .map_or(0, |kib: u64| kib / 1024)
}

/// Start measuring a new peak: writing 5 to `clear_refs` resets VmHWM to the current RSS (Linux ≥ 4.0).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn ms(d: Duration) -> String {
    format!("{}.{:03} s", d.as_secs(), d.subsec_millis())
}

/// Fills `from..to` of the benchmark's year of trading, as a Flex Query CSV.
fn write_flex(path: &Path, from: usize, to: usize) -> std::io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(w, "\"BOF\",\"U7654321\",\"Bench\",\"3\",\"20250102\",\"20251231\",\"20260102;081502\",\"U7654321\"")?;
    writeln!(w, "\"BOA\",\"U7654321\"")?;
    writeln!(w, "\"BOS\",\"TRNT\",\"Trades\"")?;
    writeln!(w, "\"HEADER\",\"TRNT\",\"ClientAccountID\",\"CurrencyPrimary\",\"AssetClass\",\"Symbol\",\"UnderlyingSymbol\",\"Multiplier\",\"Strike\",\"Expiry\",\"Put/Call\",\"IBExecID\",\"IBOrderID\",\"TransactionType\",\"DateTime\",\"Buy/Sell\",\"Quantity\",\"TradePrice\",\"IBCommission\",\"IBCommissionCurrency\",\"LevelOfDetail\"")?;
    let base = NaiveDate::from_ymd_opt(2025, 1, 2).unwrap_or_default();
    let roots = ["ES", "NQ", "CL", "GC"];
    let mut rows = 0u64;
    for i in from..to {
        let (s, k) = (i % 200, i / 200);
        let date = base + Days::days(i64::try_from(i / 390).unwrap_or(0));
        let minute = 570 + i % 390;
        let when = format!("{};{:02}{:02}{:02}", date.format("%Y%m%d"), minute / 60, minute % 60, s % 60);
        // Round trips per instrument: buy 4, buy 2, sell 3, sell 3 (times the lot).
        let (side, lots) = match k % 4 {
            0 => ("BUY", 4),
            1 => ("BUY", 2),
            _ => ("SELL", -3),
        };
        let (class, symbol, under, mult, strike, expiry, pc, lot) = match s % 20 {
            0 => (
                "OPT",
                format!("X{s:03}  251219C00{:03}000", 100 + s / 2),
                format!("X{s:03}"),
                "100",
                format!("{}", 100 + s / 2),
                "20251219",
                "C",
                1,
            ),
            1 => (
                "FUT",
                format!("{}Z5", roots[(s / 20) % 4]),
                roots[(s / 20) % 4].to_string(),
                "",
                String::new(),
                "20251219",
                "",
                1,
            ),
            _ => ("STK", format!("X{s:03}"), String::new(), "1", String::new(), "", "", 25),
        };
        let cents = 10_000 + (s * 37 % 5_000) + (k % 4) * 25 + k % 7;
        let price = format!("{}.{:02}", cents / 100, cents % 100);
        let qty = lots * lot;
        let exec = format!("0000{s:04x}.{i:08x}.01.01");
        writeln!(
            w,
            "\"DATA\",\"TRNT\",\"U7654321\",\"USD\",\"{class}\",\"{symbol}\",\"{under}\",\"{mult}\",\"{strike}\",\"{expiry}\",\"{pc}\",\"{exec}\",\"{}\",\"ExchTrade\",\"{when}\",\"{side}\",\"{qty}\",\"{price}\",\"-1.00\",\"USD\",\"EXECUTION\"",
            i / 2
        )?;
        rows += 1;
        if i % 50 == 0 {
            writeln!(w, "\"DATA\",\"TRNT\",\"U7654321\",\"USD\",\"{class}\",\"{symbol}\",\"{under}\",\"{mult}\",\"{strike}\",\"{expiry}\",\"{pc}\",\"\",\"\",\"\",\"{when}\",\"{side}\",\"{qty}\",\"{price}\",\"-1\",\"USD\",\"ORDER\"")?;
        }
        if i % 1000 == 999 {
            let corrected = format!("0000{s:04x}.{i:08x}.01.02");
            writeln!(w, "\"DATA\",\"TRNT\",\"U7654321\",\"USD\",\"{class}\",\"{symbol}\",\"{under}\",\"{mult}\",\"{strike}\",\"{expiry}\",\"{pc}\",\"{corrected}\",\"{}\",\"TradeCorrect\",\"{when}\",\"{side}\",\"{qty}\",\"{price}\",\"-1.50\",\"USD\",\"EXECUTION\"", i / 2)?;
        }
    }
    writeln!(w, "\"EOS\",\"TRNT\",\"{rows}\",\"0\"")?;
    writeln!(w, "\"EOA\",\"U7654321\"")?;
    writeln!(w, "\"EOF\",\"U7654321\",\"1\"")?;
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn journal(dir: &Path, name: &str) -> Journal {
    let key = KeySource::Passphrase(Passphrase::new("benchmark passphrase").expect("passphrase"));
    let j = Journal::init(
        &dir.join(name),
        &key,
        &UserInput { email: "bench@example.com".into(), tier: Some("pro".into()), ..Default::default() },
    )
    .expect("init");
    j.add_account(&AccountInput {
        name: "IBKR".into(),
        currency: "USD".into(),
        balance: "100000".into(),
        timezone: Some("America/New_York".into()),
        ..Default::default()
    })
    .expect("account");
    j
}

/// Read, preview and (when there is something new) commit one file; prints the steps and returns the total.
fn import(j: &Journal, label: &str, file: &Path) -> Duration {
    let input = ImportInput { file: file.to_path_buf(), account: "IBKR".into(), ..Default::default() };
    let base = vm_rss_mib();
    reset_peak();
    let t0 = Instant::now();
    let read = j.import_read(&input).expect("read");
    let t_read = t0.elapsed();
    let peak_read = vm_hwm_mib();
    reset_peak();
    let t1 = Instant::now();
    let preview = j.import_preview(&read).expect("preview");
    let t_preview = t1.elapsed();
    let peak_preview = vm_hwm_mib();
    let c = &preview.counts;
    reset_peak();
    let (t_commit, done) = if c.new + c.corrected + c.cancelled > 0 {
        let t2 = Instant::now();
        let done = j.import_commit(&read).expect("commit");
        (t2.elapsed(), Some(done))
    } else {
        (Duration::ZERO, None)
    };
    let peak_commit = vm_hwm_mib();
    println!(
        "{:<34} peak RSS: {base} MiB before, read {peak_read} MiB, preview {peak_preview} MiB, commit {peak_commit} MiB",
        ""
    );
    let total = t0.elapsed();
    let fills = read.fills_read();
    println!(
        "{label:<34} read {:>9}  preview {:>9}  commit {:>9}  total {:>9}  ({} fills read: {} new, {} duplicate, {} corrected; {} trades created, {} changed; {} fills/s)",
        ms(t_read),
        ms(t_preview),
        ms(t_commit),
        ms(total),
        fills,
        c.new,
        c.duplicate,
        c.corrected,
        done.as_ref().map_or(0, |d| d.counts.trades_created),
        done.as_ref().map_or(0, |d| d.counts.trades_changed),
        (fills as u128) * 1_000_000 / total.as_micros().max(1),
    );
    total
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let whole = dir.path().join("flex-all.csv");
    let bytes = write_flex(&whole, 0, n).expect("write the export");
    println!(
        "TrendDojo import benchmark: IBKR Flex CSV of {n} executions ({} MiB), SQLCipher stores in {}",
        bytes >> 20,
        dir.path().display()
    );

    let j = journal(dir.path(), "first");
    import(&j, "first import (empty account)", &whole);
    import(&j, "same file again (all duplicates)", &whole);
    let batch = j.import_list(None).expect("list").first().map(|b| b.id.to_string()).expect("a batch");
    reset_peak();
    let t = Instant::now();
    let undo = j.import_undo(&batch).expect("undo");
    println!(
        "{:<34} {:>9}  ({} fills removed, {} trades removed)",
        "undo the whole import",
        ms(t.elapsed()),
        undo.fills_removed,
        undo.trades_removed
    );
    println!("{:<34} peak RSS {} MiB", "", vm_hwm_mib());
    drop(j);

    let (a, b) = (dir.path().join("flex-jan-jul.csv"), dir.path().join("flex-may-dec.csv"));
    write_flex(&a, 0, n * 6 / 10).expect("first part");
    write_flex(&b, n * 4 / 10, n).expect("second part");
    let j = journal(dir.path(), "overlap");
    import(&j, "overlap: first 60 %", &a);
    import(&j, "overlap: last 60 % (a third held)", &b);
    drop(j);
    println!("peak RSS of the last phase (VmHWM since its reset): {} MiB", vm_hwm_mib());
}
