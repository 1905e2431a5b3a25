//! `trenddojo-bench ratios [TRADES] [--check FILE]`: the performance targets of the design as ratios to a
//! floor measured in the same run, in one table, and a regression check against the values recorded in
//! `docs/benchmarks.md`.
//!
//! Why ratios: these machines are noisy and differ 2x from one another, so an absolute time recorded on one
//! run says little about the next. A ratio to a floor taken seconds apart on the same machine, over the same
//! rows, cancels most of that: it measures what the design adds on top of what the hardware must do anyway.
//! The floor of each row is named in the table; `docs/benchmarks.md` explains each.
//!
//! The check (`--check docs/benchmarks.md`) reads the recorded ratios between the `ratios:begin` and
//! `ratios:end` markers and fails (exit 1) when a measured ratio is more than 50% worse than the recorded one
//! (for a "higher is better" ratio: below half of it; for a "lower is better" ratio: above 1.5x of it). The
//! tolerance is wide on purpose: it catches a design regression (a trigger per row returning, an index that
//! doubles the cost), not noise.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use rust_decimal::Decimal;
use trenddojo_core::{ImportTrade, Journal};

use crate::fixture;
use crate::gen::generate;

/// Which way a ratio is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// A rate against the floor's rate (1 = as fast as the floor).
    Higher,
    /// A time against the floor's time (1 = as fast as the floor).
    Lower,
}

/// One measured ratio.
#[derive(Debug, Clone)]
pub struct Ratio {
    /// Stable key used in docs/benchmarks.md.
    pub key: &'static str,
    pub what: String,
    pub floor: String,
    pub value: Decimal,
    pub better: Better,
    pub target: &'static str,
}

/// The triggers that keep the books: the change log (audit and outbox in one) and the field clocks. The
/// floor's schema is the same store without them; the append-only guards on the log and every table's own
/// constraints stay.
const BOOKKEEPING: &str = "SELECT name FROM sqlite_master WHERE type = 'trigger' \
     AND ((name LIKE '%\\_log\\_%' ESCAPE '\\' AND name NOT LIKE 'change\\_log\\_%' ESCAPE '\\') \
     OR name LIKE '%\\_clock\\_%' ESCAPE '\\')";

/// Drop the bookkeeping triggers of a store (the floor's schema); returns how many were dropped.
fn drop_bookkeeping(j: &Journal) -> usize {
    j.store()
        .write(|tx| {
            let names: Vec<String> = tx.prepare(BOOKKEEPING)?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            for n in &names {
                tx.execute_batch(&format!("DROP TRIGGER \"{n}\""))?;
            }
            Ok::<_, trenddojo_store::StoreError>(names.len())
        })
        .expect("drop bookkeeping triggers")
}

/// Bulk insert with every piece of bookkeeping on, against the same rows into the same schema with the
/// bookkeeping triggers removed. Each side runs twice in alternation and keeps its faster run, so a burst
/// of noise on the machine lands on one sample, not on the ratio.
pub fn bulk_insert_ratio(trades: usize, accounts: usize) -> Ratio {
    let per = (trades / accounts).max(1);
    let mut rng = StdRng::seed_from_u64(7);
    let batches: Vec<Vec<ImportTrade>> = (0..accounts).map(|a| generate(&mut rng, per, (a * per) as i64)).collect();
    let names: Vec<String> = (0..accounts).map(|i| format!("Account {i}")).collect();
    let mut full = Duration::MAX;
    let mut floor = Duration::MAX;
    let mut dropped = 0;
    for round in 0..2 {
        let dir = tempfile::tempdir().expect("temp dir");
        let j = fixture::journal(&dir.path().join(format!("full{round}")), &names);
        full = full.min(fixture::bulk_insert(&j, &names, &batches));
        drop(j);
        let j = fixture::journal(&dir.path().join(format!("floor{round}")), &names);
        dropped = drop_bookkeeping(&j);
        floor = floor.min(fixture::bulk_insert(&j, &names, &batches));
    }
    let n = per * accounts;
    let micros = |d: Duration| Decimal::from(d.as_micros().max(1));
    let rate = |d: Duration| (Decimal::from(n) * Decimal::from(1_000_000) / micros(d)).round();
    Ratio {
        key: "bulk_insert",
        what: format!("bulk insert, {n} trades x 5 fills, all bookkeeping on: {} trades/s", rate(full)),
        floor: format!("same rows, same schema, {dropped} bookkeeping triggers dropped: {} trades/s", rate(floor)),
        value: (micros(floor) / micros(full)).round_dp(3),
        better: Better::Higher,
        target: ">= 0.6",
    }
}

/// The sync paths against their floors, from one run of the sync benchmark (see `sync.rs`): each is a
/// time over the floor's time, lower is better.
pub fn sync_ratios(run: &crate::sync::SyncRun) -> Vec<Ratio> {
    let over = |a: Duration, b: Duration| {
        (Decimal::from(a.as_micros().max(1)) / Decimal::from(b.as_micros().max(1))).round_dp(3)
    };
    let ms = |d: Duration| d.as_millis();
    vec![
        Ratio {
            key: "first_push",
            what: format!("first push of {} rows: {} ms", run.rows, ms(run.first_push)),
            floor: format!(
                "the same rows by one INSERT ... SELECT FROM unnest(...) per table, triggers off: {} ms",
                ms(run.first_push_floor)
            ),
            value: over(run.first_push, run.first_push_floor),
            better: Better::Lower,
            target: "<= 3",
        },
        Ratio {
            key: "edit_push",
            what: format!("push of {} edits (and the pull after it): {} ms", run.edits, ms(run.edit_push)),
            floor: format!(
                "the same edits by one UPDATE ... FROM unnest(...), triggers off: {} ms",
                ms(run.edit_push_floor)
            ),
            value: over(run.edit_push, run.edit_push_floor),
            better: Better::Lower,
            target: "<= 3",
        },
        Ratio {
            key: "download",
            what: format!("initial download of {} rows into a fresh store: {} ms", run.rows, ms(run.download)),
            floor: format!(
                "COPY of the rows out of PostgreSQL + a plain bulk insert into SQLCipher: {} ms",
                ms(run.download_floor)
            ),
            value: over(run.download, run.download_floor),
            better: Better::Lower,
            target: "<= 1.3",
        },
    ]
}

/// Print the table.
pub fn print(ratios: &[Ratio]) {
    println!("{:<14} {:>7}  {:<8} measure / floor", "ratio", "value", "target");
    for r in ratios {
        println!("{:<14} {:>7}  {:<8} {}", r.key, r.value.round_dp(3).to_string(), r.target, r.what);
        println!("{:<14} {:>7}  {:<8} floor: {}", "", "", "", r.floor);
    }
}

/// The ratios recorded between the `<!-- ratios:begin -->` and `<!-- ratios:end -->` markers of
/// docs/benchmarks.md: table rows whose first cell is a key and second a number.
pub fn recorded(doc: &str) -> Vec<(String, Decimal)> {
    let Some(start) = doc.find("<!-- ratios:begin -->") else { return Vec::new() };
    let Some(len) = doc[start..].find("<!-- ratios:end -->") else { return Vec::new() };
    doc[start..start + len]
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let key = cells.get(1)?.trim_matches('`');
            let value: Decimal = cells.get(2)?.parse().ok()?;
            (!key.is_empty()).then(|| (key.to_string(), value))
        })
        .collect()
}

/// The build profile ratios are recorded for: a debug build (what CI's check runs, without a second,
/// optimised build of the workspace) spends relatively more time in Rust than in SQLite, so its ratios
/// differ from a release build's and are recorded apart, as `key@debug`.
pub fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// Compare measured ratios with the ones recorded for `profile` (`key@profile`, or the bare key for
/// release); returns the regressions (more than 50% worse).
pub fn regressions(measured: &[Ratio], recorded: &[(String, Decimal)], profile: &str) -> Vec<String> {
    measured
        .iter()
        .filter_map(|r| {
            let keyed = format!("{}@{profile}", r.key);
            let (_, was) =
                recorded.iter().find(|(k, _)| *k == keyed || (profile == "release" && k.as_str() == r.key))?;
            let bad = match r.better {
                Better::Higher => r.value < was * Decimal::new(5, 1),
                Better::Lower => r.value > was * Decimal::new(15, 1),
            };
            bad.then(|| format!("{}: {} against {} recorded (more than 50% worse)", r.key, r.value, was))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "intro\n<!-- ratios:begin -->\n| ratio | recorded | target |\n|---|---|---|\n\
        | `bulk_insert` | 0.62 | >= 0.6 |\n| stats | 1.2 | <= 1.5 |\n<!-- ratios:end -->\n| other | 9 |\n";

    fn ratio(key: &'static str, value: &str, better: Better) -> Ratio {
        Ratio {
            key,
            what: String::new(),
            floor: String::new(),
            value: value.parse().expect("decimal"),
            better,
            target: "",
        }
    }

    #[test]
    fn recorded_ratios_are_read_between_the_markers_only() {
        let r = recorded(DOC);
        let want: Vec<(String, Decimal)> =
            vec![("bulk_insert".into(), Decimal::new(62, 2)), ("stats".into(), Decimal::new(12, 1))];
        assert_eq!(r, want, "rows inside the markers");
        assert!(recorded("no markers | a | 1 |").is_empty(), "nothing without markers");
    }

    #[test]
    fn a_regression_is_more_than_half_worse_in_the_ratio_s_direction() {
        let rec = recorded(DOC);
        assert!(
            regressions(&[ratio("bulk_insert", "0.32", Better::Higher)], &rec, "release").is_empty(),
            "0.32 vs 0.62 is within"
        );
        assert_eq!(
            regressions(&[ratio("bulk_insert", "0.30", Better::Higher)], &rec, "release").len(),
            1,
            "0.30 vs 0.62 regressed"
        );
        assert!(
            regressions(&[ratio("bulk_insert", "0.30", Better::Higher)], &rec, "debug").is_empty(),
            "a debug run is compared with debug records only"
        );
        assert!(
            regressions(&[ratio("unknown", "0.0", Better::Higher)], &rec, "release").is_empty(),
            "unrecorded ratios pass"
        );
        assert!(
            regressions(&[ratio("stats", "1.8", Better::Lower)], &rec, "release").is_empty(),
            "a time ratio of 1.8 vs 1.2 is within 1.5x"
        );
        assert_eq!(
            regressions(&[ratio("stats", "1.81", Better::Lower)], &rec, "release").len(),
            1,
            "a time ratio of 1.81 vs 1.2 regressed"
        );
    }
}
