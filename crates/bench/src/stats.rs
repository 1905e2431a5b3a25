//! `trenddojo-bench stats [LARGE] [SMALL] [DAYS]`: statistics from the per-day aggregates (issue 15,
//! decision 5) against the history they summarize.
//!
//! Prints, for one account with SMALL (default 1,000) and one with LARGE (default 100,000) closed trades:
//!
//! * `stats` p50/p95 (the aggregates) and the full computation over the trades, and the ratio of the
//!   large to the small p95. Both accounts span the same DAYS (default 1,000) calendar days: `stats` is
//!   O(days) by design (its output lists P&L per day), so holding the days fixed measures what the target
//!   asks, the cost of more trades. A second pair at the generator's own spacing (a trade every 97
//!   minutes, so days grow with trades) shows the O(days) part.
//! * the insert overhead of maintaining the aggregates: the same LARGE trades bulk inserted into a fresh
//!   store with the aggregate triggers and into one without them (dropped), one transaction each, and the
//!   fold of every day from scratch on its own (what the migration's first write does).

use std::time::{Duration, Instant};

use chrono::Duration as CDuration;
use rand::rngs::StdRng;
use rand::SeedableRng;
use trenddojo_core::{ImportTrade, Journal};

use crate::fixture;
use crate::gen::generate;
use crate::{ms, percentile, rate, report};

/// `n` closed trades; with `days`, moved so that they spread evenly over that many calendar days.
fn trades(seed: u64, n: usize, days: Option<i64>) -> Vec<ImportTrade> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = generate(&mut rng, n, 0);
    if let Some(days) = days {
        let first = out.first().map(|t| t.fills[0].at);
        for (i, t) in out.iter_mut().enumerate() {
            let Some(first) = first else { break };
            // Trading hours only: 09:30-16:00 New York (14:30-21:00 UTC), trades in order through each day.
            let per_day = n.div_ceil(days.max(1) as usize).max(1) as i64;
            let (day, k) = (i as i64 / per_day, i as i64 % per_day);
            let target = first + CDuration::days(day) + CDuration::seconds(k * 390 * 60 / per_day);
            let shift = target - t.fills[0].at;
            for f in &mut t.fills {
                f.at += shift;
            }
        }
    }
    out
}

fn samples(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..3 {
        f();
    }
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

/// Measure `stats` of the two accounts of `j` from the aggregates and from the trades; prints the rows and
/// returns the aggregate p95s.
fn measure(j: &Journal, label: &str, small: (&str, usize), large: (&str, usize)) -> (Duration, Duration) {
    let mut p95 = Vec::new();
    for (name, n) in [small, large] {
        let s = j.stats(Some(name), None, None).expect("stats");
        let full = j.stats_from_trades(Some(name), None, None).expect("stats");
        assert_eq!(s, full, "the aggregates give the full computation's numbers");
        assert_eq!(s[0].stats.trades as usize, n, "every trade is closed and counted");
        let days = s[0].stats.pnl_by_day.len();
        let agg = samples(50, || {
            j.stats(Some(name), None, None).expect("stats");
        });
        p95.push(percentile(&mut agg.clone(), 95));
        report(&format!("stats {label}: {n} trades, {days} days, aggregates"), agg);
        let runs = if n > 10_000 { 10 } else { 50 };
        let scan = samples(runs, || {
            j.stats_from_trades(Some(name), None, None).expect("stats");
        });
        report(&format!("stats {label}: {n} trades, {days} days, full computation"), scan);
    }
    (p95[0], p95[1])
}

fn ratio(a: Duration, b: Duration) -> String {
    let (a, b) = (a.as_micros(), b.as_micros().max(1));
    format!("{}.{:02}", a / b, (a % b) * 100 / b)
}

pub fn run(args: &[String]) {
    let large: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let small: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1_000);
    let days: i64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1_000);
    let dir = tempfile::tempdir().expect("temp dir");
    println!("TrendDojo stats benchmark: {small} and {large} closed trades in one account each, SQLCipher store");

    // Insert overhead: the same trades into a store with the aggregate triggers and into one without.
    let batch = trades(11, large, Some(days));
    let bare = fixture::journal(&dir.path().join("bare"), &["Large"]);
    bare.store()
        .with_writer(|c| {
            c.execute_batch(
                "DROP TRIGGER stats_trades_insert; DROP TRIGGER stats_trades_update; \
                 DROP TRIGGER stats_trades_delete; DROP TRIGGER stats_accounts_update; DELETE FROM stats_dirty;",
            )?;
            Ok(())
        })
        .expect("drop triggers");
    let without = fixture::bulk_insert(&bare, &["Large"], &[&batch]);
    drop(bare);
    let j = fixture::journal(&dir.path().join("fixed"), &["Small", "Large"]);
    let with = fixture::bulk_insert(&j, &["Large"], &[&batch]);
    println!(
        "bulk insert, {large} trades x 5 fills, one transaction: with aggregates {} ({} trades/s), without \
         (triggers dropped) {} ({} trades/s): {}x the floor's rate",
        ms(with),
        rate(large, with),
        ms(without),
        rate(large, without),
        ratio(without, with)
    );
    // What the fold costs on its own: every account folded again from scratch (what the migration's first
    // write and `rebuild` do), one transaction.
    let t0 = Instant::now();
    j.store().write(|tx| trenddojo_store::stats::rebuild(tx)).expect("rebuild");
    let refold = t0.elapsed();
    println!("fold of every day from the trades ({large} trades, {days} days), one transaction: {}", ms(refold));
    fixture::bulk_insert(&j, &["Small"], &[trades(12, small, Some(days))]);
    let (s, l) = measure(&j, &format!("over {days} days"), ("Small", small), ("Large", large));
    println!("stats p95 ratio, {large} to {small} trades over the same {days} days: {}", ratio(l, s));
    drop(j);

    let j = fixture::journal(&dir.path().join("spaced"), &["Small", "Large"]);
    fixture::bulk_insert(&j, &["Small"], &[trades(13, small, None)]);
    fixture::bulk_insert(&j, &["Large"], &[trades(14, large, None)]);
    let (s, l) = measure(&j, "every 97 min", ("Small", small), ("Large", large));
    println!("stats p95 ratio, {large} to {small} trades a trade every 97 minutes (days grow too): {}", ratio(l, s));
}
