//! `trenddojo-bench list [TRADES]`: the desktop app's trade list over one account of TRADES (default
//! 100,000) closed trades, through the core's `trade_page` (what the app's IPC command runs).
//!
//! Prints, each beside its floor from the same run (the SQL form of the same query, `trades::page`, which
//! counts, sorts and skips in SQLite):
//!
//! * the first request after the store opened (the list's index is built in one scan of the trades) and
//!   the first after a one-trade edit (the index catches up from the change log),
//! * a filter or sort change (a new query, first page),
//! * a scroll: pages of 50 at random offsets of one query.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use trenddojo_core::{DashboardInput, Journal, OpenOptions, TradePageInput};
use trenddojo_store::trades::{self, PageQuery, PageSort};

use crate::gen::generate;
use crate::{fixture, ms, percentile, report};

/// The filter and sort changes the benchmark makes, as the app sends them and as the SQL form takes them.
fn changes() -> Vec<(&'static str, TradePageInput, PageQuery)> {
    let input = |f: &dyn Fn(&mut TradePageInput)| {
        let mut i = TradePageInput { limit: Some(50), ..Default::default() };
        f(&mut i);
        i
    };
    let query = |f: &dyn Fn(&mut PageQuery)| {
        let mut q = PageQuery { limit: 50, ..Default::default() };
        f(&mut q);
        q
    };
    use trenddojo_domain::trade::{Direction, TradeStatus};
    vec![
        ("newest", input(&|_| ()), query(&|_| ())),
        (
            "status closed",
            input(&|i| i.statuses = vec!["closed".into()]),
            query(&|q| q.statuses = vec![TradeStatus::Closed]),
        ),
        ("status open", input(&|i| i.statuses = vec!["open".into()]), query(&|q| q.statuses = vec![TradeStatus::Open])),
        ("symbol SYM1", input(&|i| i.symbol = Some("SYM1".into())), query(&|q| q.symbol_prefix = Some("SYM1".into()))),
        ("best P&L", input(&|i| i.sort = Some("-pnl".into())), query(&|q| q.sort = PageSort::PnlDesc)),
        ("worst R", input(&|i| i.sort = Some("r".into())), query(&|q| q.sort = PageSort::RAsc)),
        ("by symbol", input(&|i| i.sort = Some("symbol".into())), query(&|q| q.sort = PageSort::Symbol)),
        ("short side", input(&|i| i.side = Some("short".into())), query(&|q| q.direction = Some(Direction::Short))),
        ("setup gap", input(&|i| i.setup = Some("gap".into())), query(&|q| q.setup = Some("gap".into()))),
    ]
}

fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let out = f();
    (t.elapsed(), out)
}

pub fn run(args: &[String]) {
    let n: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    println!("TrendDojo trade list benchmark: {n} trades in one account, SQLCipher store, pages of 50");
    let home = dir.path().join("list");
    {
        let j = fixture::journal(&home, &["Main"]);
        fixture::bulk_insert(&j, &["Main"], &[generate(&mut StdRng::seed_from_u64(21), n, 0)]);
        // A third of the trades get one of three setups, so the setup filter has something to find.
        j.store()
            .write(|tx| {
                tx.execute_batch(
                    "UPDATE trades SET setup = CASE abs(random()) % 9 WHEN 0 THEN 'gap' WHEN 1 THEN 'breakout' \
                     WHEN 2 THEN 'pullback' END",
                )?;
                Ok::<_, trenddojo_store::StoreError>(())
            })
            .expect("setups");
    }
    let opts = OpenOptions { home: home.clone(), key: fixture::key(), user: None };
    let (open, j) = time(|| Journal::open_deferring_backup(&opts).expect("open"));
    let (backup, _) = time(|| j.daily_backup_if_due());
    println!("open without the daily backup {}; the daily backup then {}", ms(open), ms(backup));
    let (status, _) = time(|| j.sync_status(None).expect("sync status"));
    let (setups, _) = time(|| j.trade_setups().expect("setups"));
    let (accounts, _) = time(|| j.list_accounts().expect("accounts"));
    println!("sync status {}; setups {}; accounts {}", ms(status), ms(setups), ms(accounts));
    let (dash, d) = time(|| j.dashboard(&DashboardInput::default()).expect("dashboard"));
    let json = serde_json::to_vec(&d).expect("dashboard JSON").len();
    println!(
        "dashboard {} ({} equity points, {} calendar days, {} KiB of JSON)",
        ms(dash),
        d.equity_curve.len(),
        d.calendar.len(),
        json / 1024
    );
    let user = j.user().expect("user").id.0;
    let store = j.store();
    let page = |i: &TradePageInput| j.trade_page(i).expect("trade page");
    let sql = |q: &PageQuery| store.read(|c| trades::page(c, user, q)).expect("SQL page");

    let (first, p) = time(|| page(&TradePageInput { limit: Some(50), ..Default::default() }));
    let (sql_first, (total, _)) = time(|| sql(&PageQuery { limit: 50, ..Default::default() }));
    assert_eq!(u64::from(p.total), total, "both forms count the same trades");
    println!("first page after opening (builds the index): {}; SQL form {}", ms(first), ms(sql_first));

    let changes = changes();
    let (mut new, mut old) = (Vec::new(), Vec::new());
    for round in 0..5 {
        for (name, input, q) in &changes {
            let (a, p) = time(|| page(input));
            let (b, (total, rows)) = time(|| sql(q));
            assert_eq!(u64::from(p.total), total, "{name}: both forms count the same trades");
            assert_eq!(p.trades.len(), rows.len(), "{name}: both forms return a page of the same length");
            if round == 0 {
                println!("  {name}: {} trades; list {}, SQL form {}", p.total, ms(a), ms(b));
            }
            new.push(a);
            old.push(b);
        }
    }
    report("filter or sort change, first page (list)", new.clone());
    report("filter or sort change, first page (SQL form)", old.clone());

    let mut rng = StdRng::seed_from_u64(5);
    let (mut new, mut old) = (Vec::new(), Vec::new());
    for (_, input, q) in changes.iter().take(5) {
        for _ in 0..60 {
            let offset = rng.gen_range(0..n as u32);
            let (a, _) = time(|| page(&TradePageInput { offset: Some(offset), ..input.clone() }));
            let (b, _) = time(|| sql(&PageQuery { offset, ..q.clone() }));
            new.push(a);
            old.push(b);
        }
    }
    report("scroll: page of 50 at a random offset (list)", new);
    report("scroll: page of 50 at a random offset (SQL form)", old);

    let mut after = Vec::new();
    for k in 0..5 {
        store
            .write(|tx| {
                tx.execute("UPDATE trades SET setup = 'edited' WHERE rowid = ?1", [k + 1])?;
                Ok::<_, trenddojo_store::StoreError>(())
            })
            .expect("edit");
        after.push(time(|| page(&TradePageInput { limit: Some(50), ..Default::default() })).0);
    }
    let p95 = percentile(&mut after.clone(), 95);
    report("first page after a one-trade edit (index caught up from the change log)", after);
    println!("(a one-trade edit costs p95 {} at {n} trades; a sync apply rebuilds, as the first page did)", ms(p95));
}

/// The list's ratio for the checked table (`trenddojo-bench ratios`): the SQL form's time for the same
/// filter changes and pages over the list's time (higher is better). The first request, which builds the
/// index, is left out of both: what is checked is that a change and a page do not grow with the journal.
pub fn ratio(trades: usize) -> crate::ratios::Ratio {
    let dir = tempfile::tempdir().expect("temp dir");
    let j = fixture::journal(&dir.path().join("list"), &["Main"]);
    fixture::bulk_insert(&j, &["Main"], &[generate(&mut StdRng::seed_from_u64(22), trades, 0)]);
    let user = j.user().expect("user").id.0;
    let store = j.store();
    j.trade_page(&TradePageInput { limit: Some(50), ..Default::default() }).expect("first page");
    let changes = changes();
    let mut rng = StdRng::seed_from_u64(6);
    let offsets: Vec<u32> = (0..100).map(|_| rng.gen_range(0..trades.max(1) as u32)).collect();
    let (mut list, mut sql) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..3 {
        for (_, input, q) in &changes {
            list += time(|| j.trade_page(input).expect("trade page")).0;
            sql += time(|| store.read(|c| trades::page(c, user, q)).expect("SQL page")).0;
        }
        for (k, &offset) in offsets.iter().enumerate() {
            let (_, input, q) = &changes[k % changes.len()];
            list += time(|| j.trade_page(&TradePageInput { offset: Some(offset), ..input.clone() }).expect("page")).0;
            sql += time(|| store.read(|c| trades::page(c, user, &PageQuery { offset, ..q.clone() })).expect("SQL")).0;
        }
    }
    let micros = |d: Duration| rust_decimal::Decimal::from(d.as_micros().max(1));
    crate::ratios::Ratio {
        key: "list_page",
        what: format!("trade list, 3 x (9 filter changes + 100 pages) over {trades} trades: {}", ms(list)),
        floor: format!("the same queries in SQL (count, ORDER BY, LIMIT/OFFSET): {}", ms(sql)),
        value: (micros(sql) / micros(list)).round_dp(3),
        better: crate::ratios::Better::Higher,
        target: "none",
    }
}
