//! Import throughput and memory: writes an IBKR Flex CSV of N executions (default 100,000) with header and
//! trailer records, parses it, groups the fills into trades, and prints rows/s and peak RSS (VmHWM).
//!
//! `cargo run --release -p trenddojo-import --example import_bench -- [N]`
//!
//! The file mixes stocks, OCC options and futures over 40 symbols and a month of trading days, with
//! negative commissions, an ORDER-level row every 50 executions (skipped) and one correction every 1,000.

use std::io::{BufWriter, Write};
use std::time::Instant;

use trenddojo_import::{group_trades, parse_path, ImportOptions};

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn write_flex(path: &std::path::Path, n: usize) -> std::io::Result<u64> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(w, "\"BOF\",\"U1234567\",\"Bench\",\"3\",\"20260301\",\"20260331\",\"20260401;081502\",\"U1234567\"")?;
    writeln!(w, "\"BOA\",\"U1234567\"")?;
    writeln!(w, "\"BOS\",\"TRNT\",\"Trades\"")?;
    writeln!(w, "\"HEADER\",\"TRNT\",\"ClientAccountID\",\"CurrencyPrimary\",\"AssetClass\",\"Symbol\",\"Description\",\"UnderlyingSymbol\",\"Multiplier\",\"Strike\",\"Expiry\",\"Put/Call\",\"TradeID\",\"IBExecID\",\"IBOrderID\",\"TransactionType\",\"DateTime\",\"TradeDate\",\"Buy/Sell\",\"Quantity\",\"TradePrice\",\"IBCommission\",\"IBCommissionCurrency\",\"Open/CloseIndicator\",\"LevelOfDetail\"")?;
    let mut rows = 0u64;
    for i in 0..n {
        let day = 2 + (i * 29 / n.max(1)) as u32;
        let secs = 34_200 + (i % 23_000) as u32;
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        let buy = (i / 3) % 2 == 0;
        let (side, qty) = if buy { ("BUY", 10 + (i % 7) as i64) } else { ("SELL", -(10 + (i % 7) as i64)) };
        let cents = 10_000 + (i * 37 % 5_000) as i64;
        let price = format!("{}.{:02}", cents / 100, cents % 100);
        let sym = i % 40;
        let (class, symbol, under, mult, strike, expiry, pc) = match sym % 5 {
            0 => (
                "OPT",
                format!("S{sym:03}  260417C00{:03}000", 100 + sym),
                format!("S{sym:03}"),
                "100",
                format!("{}", 100 + sym),
                "20260417",
                "C",
            ),
            1 => ("FUT", "ESM6".to_string(), "ES".to_string(), "50", String::new(), "20260618", ""),
            _ => ("STK", format!("S{sym:03}"), String::new(), "1", String::new(), "", ""),
        };
        let exec = format!("0000{:04x}.{:08x}.01.01", sym, i);
        writeln!(
            w,
            "\"DATA\",\"TRNT\",\"U1234567\",\"USD\",\"{class}\",\"{symbol}\",\"{symbol} desc\",\"{under}\",\"{mult}\",\"{strike}\",\"{expiry}\",\"{pc}\",\"{i}\",\"{exec}\",\"{}\",\"ExchTrade\",\"202603{day:02};{h:02}{m:02}{s:02}\",\"202603{day:02}\",\"{side}\",\"{qty}\",\"{price}\",\"-1.0{}\",\"USD\",\"O\",\"EXECUTION\"",
            i / 2,
            i % 10
        )?;
        rows += 1;
        if i % 50 == 0 {
            writeln!(w, "\"DATA\",\"TRNT\",\"U1234567\",\"USD\",\"{class}\",\"{symbol}\",\"{symbol} desc\",\"{under}\",\"{mult}\",\"{strike}\",\"{expiry}\",\"{pc}\",\"\",\"\",\"\",\"\",\"202603{day:02};{h:02}{m:02}{s:02}\",\"202603{day:02}\",\"{side}\",\"{qty}\",\"{price}\",\"-1\",\"USD\",\"O\",\"ORDER\"")?;
        }
        if i % 1000 == 999 {
            let corrected = format!("0000{:04x}.{:08x}.01.02", sym, i);
            writeln!(w, "\"DATA\",\"TRNT\",\"U1234567\",\"USD\",\"{class}\",\"{symbol}\",\"{symbol} desc\",\"{under}\",\"{mult}\",\"{strike}\",\"{expiry}\",\"{pc}\",\"{i}\",\"{corrected}\",\"{}\",\"TradeCorrect\",\"202603{day:02};{h:02}{m:02}{s:02}\",\"202603{day:02}\",\"{side}\",\"{qty}\",\"{price}\",\"-1.5\",\"USD\",\"O\",\"EXECUTION\"", i / 2)?;
        }
    }
    writeln!(w, "\"EOS\",\"TRNT\",\"{rows}\",\"0\"")?;
    writeln!(w, "\"EOA\",\"U1234567\"")?;
    writeln!(w, "\"EOF\",\"U1234567\",\"1\"")?;
    w.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(100_000);
    let path = std::env::temp_dir().join(format!("trenddojo-import-bench-{}.csv", std::process::id()));
    let t0 = Instant::now();
    let bytes = write_flex(&path, n)?;
    let written = t0.elapsed();
    let before = vm_hwm_kib().unwrap_or(0);
    let t1 = Instant::now();
    let parsed = parse_path(&path, &ImportOptions::default())?;
    let parse = t1.elapsed();
    let t2 = Instant::now();
    let trades = group_trades(&parsed.fills);
    let group = t2.elapsed();
    let hwm = vm_hwm_kib().unwrap_or(0);
    std::fs::remove_file(&path)?;
    let us = parse.as_micros().max(1);
    println!("IBKR Flex CSV: {n} executions, {} MiB written in {} ms", bytes >> 20, written.as_millis());
    println!(
        "parse: {} fills, {} rejected, {} skipped in {} ms = {} rows/s",
        parsed.fills.len(),
        parsed.rejected_total,
        parsed.skipped_rows,
        parse.as_millis(),
        (parsed.fills.len() as u128) * 1_000_000 / us
    );
    println!("group_trades: {} trades in {} ms", trades.len(), group.as_millis());
    println!("peak RSS (VmHWM): {} MiB (before parsing: {} MiB)", hwm / 1024, before / 1024);
    Ok(())
}
