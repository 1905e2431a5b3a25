//! Sync behind a connection pooler in transaction mode (Supabase's pooler on port 6543 works this way),
//! with a real PgBouncer in front of a real PostgreSQL. Such a pooler may run each transaction, and each
//! statement outside one, on a different server connection, and resets a connection when it hands it
//! back: a prepared statement that outlives its transaction is gone, and LISTEN hears nothing. The sync
//! engine therefore prepares no statement that lives past one message exchange and, when notifications
//! do not arrive, polls.

use crate::pg;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use pg::{Pg, Pooler};
use rust_decimal::Decimal;
use trenddojo_core::dto::SyncEvent;
use trenddojo_core::{AccountInput, ImportFill, ImportTrade, Journal, OpenOptions, UserInput};
use trenddojo_domain::money::{Fee, Price, Quantity};
use trenddojo_domain::trade::{Direction, Side};
use trenddojo_server::envs;
use trenddojo_sync::watch::WatchOptions;
use trenddojo_sync::{round, Limits};

const PW: &str = "pooler-password";
const EMAIL: &str = "pooled@example.com";

/// The trader's laptop (an encrypted store of its own, used offline first) and the trader provisioned with
/// the same id on a fresh server, reached through a PgBouncer in transaction mode. Fields drop in order:
/// the store before its folder, the pooler before the server.
struct Trader {
    laptop: Journal,
    uid: uuid::Uuid,
    /// The trader's own login through the pooler, password included.
    pooled: String,
    pooler: Pooler,
    dir: tempfile::TempDir,
    _pg: Pg,
    rt: tokio::runtime::Runtime,
}

fn trader(reset_always: bool) -> Trader {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let pg = rt.block_on(Pg::migrated());
    let pooler = pg.pooler(reset_always);
    let dir = tempfile::tempdir().expect("dir");
    let laptop = Journal::init(
        &dir.path().join("laptop"),
        &key(),
        &UserInput { email: EMAIL.into(), tier: Some("pro".into()), ..UserInput::default() },
    )
    .expect("init the laptop");
    let uid = laptop.user().expect("user").id.0;
    let admin = rt.block_on(pg.admin());
    let service: tokio_postgres::Config = pg.service().parse().expect("config");
    let p = rt
        .block_on(trenddojo_server::admin::add_user_with_id(&admin, &service, uid, EMAIL, "pro", None, PW))
        .expect("provision the trader");
    let pooled = pooler.user_url(&p.role, PW);
    Trader { laptop, uid, pooled, pooler, dir, _pg: pg, rt }
}

/// `n` closed trades, each with two entries and two exits (5 rows with its stop: 250 trades are 1,250
/// rows, over two pages of the pull).
fn trades(n: usize) -> Vec<ImportTrade> {
    let base = Utc.with_ymd_and_hms(2024, 3, 4, 15, 0, 0).single().expect("base time");
    let q = |v: i64| Quantity::new("quantity", Decimal::from(v)).expect("quantity");
    let px = |cents: i64| Price::new("price", Decimal::new(cents, 2)).expect("price");
    let fee = Fee::parse("fees", "1.25").expect("fee");
    (0..n)
        .map(|i| {
            let at = base + chrono::Duration::minutes(i as i64 * 61);
            let entry = 10_000 + (i as i64 % 97) * 13;
            ImportTrade {
                symbol: format!("SYM{}", i % 40),
                direction: Direction::Long,
                multiplier: Decimal::ONE,
                initial_stop: Some(px(entry - 150)),
                target: None,
                setup: Some("pooled".into()),
                correlation_group: None,
                fills: vec![
                    ImportFill { side: Side::Buy, quantity: q(50), price: px(entry), fees: fee, at },
                    ImportFill {
                        side: Side::Buy,
                        quantity: q(50),
                        price: px(entry + 20),
                        fees: fee,
                        at: at + chrono::Duration::minutes(5),
                    },
                    ImportFill {
                        side: Side::Sell,
                        quantity: q(60),
                        price: px(entry + 90),
                        fees: fee,
                        at: at + chrono::Duration::minutes(30),
                    },
                    ImportFill {
                        side: Side::Sell,
                        quantity: q(40),
                        price: px(entry - 35),
                        fees: fee,
                        at: at + chrono::Duration::minutes(45),
                    },
                ],
            }
        })
        .collect()
}

/// What every device must agree on: each trade's lifecycle and summary, and the executions' count.
fn digest(j: &Journal) -> (Vec<String>, i64) {
    j.store()
        .read(|c| {
            let mut st = c.prepare(
                "SELECT id || ' ' || status || ' ' || open_quantity || ' ' || net_pnl || ' ' || coalesce(setup, '') \
                 FROM trades ORDER BY id",
            )?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            let execs: i64 = c.query_row("SELECT count(*) FROM executions", [], |r| r.get(0))?;
            Ok::<_, trenddojo_store::StoreError>((rows, execs))
        })
        .expect("read the device's trades")
}

fn key() -> trenddojo_core::KeySource {
    trenddojo_core::KeySource::Passphrase(trenddojo_core::Passphrase::new("pooler passphrase").expect("passphrase"))
}

/// A device of the trader whose data lives in `home`, opened as the trader.
fn open(home: &Path) -> Journal {
    Journal::open(&OpenOptions { home: home.to_path_buf(), key: key(), user: Some(EMAIL.into()) }).expect("open device")
}

/// A new device: its own store, which learns the trader from its first sync.
fn new_device(home: &Path, url: &str) -> Journal {
    let j = Journal::init(
        home,
        &key(),
        &UserInput { email: format!("owner-{}@example.com", uuid::Uuid::now_v7()), ..UserInput::default() },
    )
    .expect("init device");
    j.sync_once(url).expect("a new device's first sync, through the pooler");
    drop(j);
    open(home)
}

#[test]
fn full_rounds_and_a_reset_through_a_transaction_pooler() {
    let Trader { laptop, uid, pooled, pooler, dir, rt, .. } = &trader(true);
    let uid = *uid;

    // The checks every round starts with, each a statement outside any transaction.
    rt.block_on(async {
        let target = envs::resolve_url(pooled).expect("pooled URL");
        let client = target.connect().await.expect("connect through the pooler");
        for _ in 0..3 {
            let v = round::check_server_schema(&client, &Limits::DEFAULT).await;
            assert!(v.is_ok(), "the schema check must work through a transaction pooler: {v:?}\n{}", pooler.log());
            let u = round::server_user(&client, &Limits::DEFAULT).await;
            assert_eq!(u.ok(), Some(uid), "the pooled login signs in as the trader");
        }
    });

    laptop
        .add_account(&AccountInput {
            name: "Swing".into(),
            currency: "USD".into(),
            balance: "250000".into(),
            ..AccountInput::default()
        })
        .expect("account");
    let batch = trades(250);
    laptop
        .store()
        .write(|tx| {
            let account = trenddojo_store::accounts::resolve(tx, uid, "Swing")?;
            for t in &batch {
                trenddojo_core::import_trade(tx, &account, t)?;
            }
            Ok::<_, trenddojo_core::ApiError>(())
        })
        .expect("import the trades");
    let r = laptop
        .sync_once(pooled)
        .unwrap_or_else(|e| panic!("the laptop's push through the pooler: {e:?}\n{}", pooler.log()));
    assert!(r.pushed >= 1_250, "the laptop pushes its trades, executions and stops: {r:?}");

    // A new device downloads it all (the executions over two pages), each page its own exchange.
    let desktop = new_device(&dir.path().join("desktop"), pooled);
    let (lap, desk) = (digest(laptop), digest(&desktop));
    assert_eq!(desk.0.len(), 250, "the desktop has every trade");
    assert_eq!(desk.1, 1_000, "the desktop has every execution");
    assert_eq!(lap, desk, "the desktop's trades and summaries equal the laptop's");

    // An edit travels back through the pooler.
    let first = desktop.list_trades(&Default::default()).expect("trades")[0].id.to_string();
    desktop
        .edit_trade(
            &first,
            &trenddojo_core::EditTradeInput { setup: Some("edited on the desktop".into()), ..Default::default() },
        )
        .expect("edit");
    desktop.sync_once(pooled).expect("the desktop's push");
    let r = laptop.sync_once(pooled).expect("the laptop's pull");
    assert_eq!(r.pulled, 1, "the laptop pulls the one edited trade: {r:?}");
    assert_eq!(digest(laptop), digest(&desktop), "both devices agree after the edit");

    // A reset re-reads everything in one snapshot, page by page.
    let target = envs::resolve_url(pooled).expect("pooled URL");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let r = rt.block_on(desktop.sync_reset(&target, false, Limits::DEFAULT)).expect("reset through the pooler");
    assert!(r.pulled >= 1_250, "the reset downloads every row: {r:?}");
    assert_eq!(digest(laptop), digest(&desktop), "after the reset both devices agree");
    let r = desktop.sync_once(pooled).expect("a round after the reset");
    assert_eq!((r.pushed, r.pulled), (0, 0), "nothing is left to exchange after a reset: {r:?}");
}

#[test]
fn background_sync_through_a_transaction_pooler_polls_and_converges() {
    // PgBouncer's default: no reset, so the LISTEN stays on the server connection that ran it and that
    // connection hears notifications sent through it.
    let Trader { laptop, pooled, pooler, dir, .. } = &trader(false);
    laptop.sync_once(pooled).expect("the laptop's first sync");
    let desktop_home = dir.path().join("desktop");
    drop(new_device(&desktop_home, pooled));

    // The desktop watches through the pooler, polling every half second once it knows notifications do
    // not arrive.
    let opts = WatchOptions {
        debounce: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        interval: Duration::from_secs(60),
        poll_interval: Duration::from_millis(500),
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_secs(1),
        local_check: Duration::from_millis(50),
        limits: Limits::DEFAULT,
        ..WatchOptions::default()
    };
    let events: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (events, stop, pooled, home) = (events.clone(), stop.clone(), pooled.clone(), desktop_home.clone());
        std::thread::spawn(move || {
            let desktop = open(&home);
            let target = envs::resolve_url(&pooled).expect("pooled URL");
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(desktop.sync_watch(
                &target,
                &opts,
                |e| {
                    let line = match e {
                        SyncEvent::Round { trigger, report, .. } => {
                            format!("round {} pulled {}", trigger.as_str(), report.pulled)
                        }
                        SyncEvent::Failed { error, .. } => format!("failed {}", error.message),
                        SyncEvent::Listening { on, reason } => {
                            format!("listening {on} {}", reason.unwrap_or_default())
                        }
                    };
                    events.lock().expect("events").push(line);
                },
                async move {
                    while !stop.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                },
            ))
            .expect("the watch ends cleanly")
        })
    };

    // The listener's probe does not come back: notifications are off (a listener that believed itself
    // on would wait for the 60 s timer, and the edits below would not arrive in time).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let verdict = events.lock().expect("events").iter().find(|e| e.starts_with("listening")).cloned();
        if let Some(v) = verdict {
            assert!(v.starts_with("listening false"), "notifications through a transaction pooler are off: {v}");
            assert!(v.contains("polling"), "the watcher says it polls: {v}");
            break;
        }
        assert!(Instant::now() < deadline, "no word on notifications in 20 s: {:?}", events.lock().expect("events"));
        std::thread::sleep(Duration::from_millis(50));
    }

    // Each of the laptop's edits reaches the watching desktop by polling.
    laptop
        .add_account(&AccountInput {
            name: "Swing".into(),
            currency: "USD".into(),
            balance: "25000".into(),
            ..AccountInput::default()
        })
        .expect("account");
    for n in 0..3 {
        let name = format!("Account {n}");
        laptop
            .add_account(&AccountInput {
                name: name.clone(),
                currency: "USD".into(),
                balance: "1000".into(),
                ..AccountInput::default()
            })
            .expect("account");
        laptop.sync_once(pooled).expect("the laptop's push");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let seen = open(&desktop_home).list_accounts().expect("accounts").iter().any(|a| a.account.name == name);
            if seen {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not reach the watching desktop in 20 s: {:?}\n{}",
                events.lock().expect("events"),
                pooler.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    stop.store(true, Ordering::SeqCst);
    watcher.join().expect("the watcher thread");
    let events = events.lock().expect("events").clone();
    assert!(!events.iter().any(|e| e.starts_with("failed")), "no round failed through the pooler: {events:?}");
}
