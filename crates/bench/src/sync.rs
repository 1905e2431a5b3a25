//! Sync throughput and latency against a private PostgreSQL (`trenddojo-bench sync`, and the sync rows of
//! `trenddojo-bench ratios`).
//!
//! Builds an encrypted store with TRADES trades and 5 executions each (default 20,000), then measures:
//! the first push of everything, and its floor (the same rows inserted again by one `INSERT ... SELECT
//! FROM unnest(...)` per table, triggers off); the initial download of everything into a fresh encrypted
//! store on a second device while the app writes to it, and its floor measured in the same run (COPY of
//! the same rows out of PostgreSQL plus a plain bulk insert of them into a fresh SQLCipher file); a push of
//! up to 10,000 edits, and its floor (one `UPDATE ... FROM unnest(...)`, triggers off); and, in the full
//! run only, the initial download again through a proxy that delays every byte by 10 ms each way (a 20 ms
//! round trip, as to a nearby data centre: there each exchange with the server counts) and the time for
//! one change to reach another device (push + pull, p50/p95 over 30 runs), on loopback and through that
//! proxy.
//!
//! `cargo run --release -p trenddojo-bench -- sync [TRADES] [SERVER_SCHEMA_VERSION]`

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use rand::rngs::StdRng;
use rand::SeedableRng;
use trenddojo_core::{AccountInput, EditTradeInput, Journal, KeySource, OpenOptions, Passphrase, UserInput};
use trenddojo_server::{admin, cluster, db, migrations};

use crate::{ms, percentile, rate};

const PW: &str = "bench-password";

/// `a / b` times 100, in integers (the workspace bans floats).
fn ratio_x100(a: Duration, b: Duration) -> u128 {
    a.as_micros() * 100 / b.as_micros().max(1)
}

/// A TCP proxy on loopback that delivers every byte `one_way` after it arrived, in each direction (latency
/// without a bandwidth limit). Returns its port.
fn delay_proxy(upstream: u16, one_way: Duration) -> u16 {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    fn pipe(mut from: TcpStream, mut to: TcpStream, one_way: Duration) {
        let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            while let Ok(n @ 1..) = from.read(&mut buf) {
                if tx.send((Instant::now() + one_way, buf[..n].to_vec())).is_err() {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            for (due, bytes) in rx {
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                if to.write_all(&bytes).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(std::net::Shutdown::Both);
        });
    }
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("bind the proxy");
    let port = listener.local_addr().expect("proxy address").port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (c2, s2) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
            pipe(client, s2, one_way);
            pipe(server, c2, one_way);
        }
    });
    port
}

fn key() -> KeySource {
    KeySource::Passphrase(Passphrase::new("sync bench passphrase").expect("passphrase"))
}

/// What one run measured: each sync path and its floor from the same run.
#[derive(Debug, Clone, Copy)]
pub struct SyncRun {
    pub rows: u32,
    pub first_push: Duration,
    pub first_push_floor: Duration,
    pub download: Duration,
    pub download_floor: Duration,
    pub edits: u32,
    pub edit_push: Duration,
    pub edit_push_floor: Duration,
}

/// How much to measure: `Full` adds a download through a 20 ms round-trip link and the one-change
/// latency runs (together about a minute) to what the ratios need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Ratios,
    Full,
}

/// Run the benchmark with `trades` trades against server schema `schema` (the newest when `None`),
/// printing each number as it is measured.
pub fn run(trades: usize, schema: Option<u32>, scope: Scope) -> SyncRun {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let info = cluster::start_or_reuse(&dir.path().join("pg")).expect("PostgreSQL");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let service = info.admin_conn_string(cluster::DATABASE);
    let config: tokio_postgres::Config = service.parse().expect("config");
    let admin = rt.block_on(async {
        db::ensure_database(&info.admin_conn_string("postgres"), cluster::DATABASE).await.expect("db");
        let mut c = db::connect(&service).await.expect("connect");
        migrations::migrate(&mut c, schema).await.expect("migrate");
        c
    });
    println!(
        "TrendDojo sync benchmark: {trades} trades x 5 executions, PostgreSQL 15 on loopback, server schema V{}",
        schema.unwrap_or_else(migrations::latest_version)
    );

    // Device A with the data, its user provisioned with the same id.
    let home_a = dir.path().join("a");
    let a = Journal::init(
        &home_a,
        &key(),
        &UserInput { email: "bench@example.com".into(), tier: Some("pro".into()), ..Default::default() },
    )
    .expect("init");
    let user = a.user().expect("user").id.0;
    let p = rt
        .block_on(admin::add_user_with_id(&admin, &config, user, "bench@example.com", "pro", None, PW))
        .expect("provision");
    let url = p.url.replacen("postgresql://", &format!("postgresql://{}:{PW}@", p.role), 1).replacen(
        &format!("@{}@", p.role),
        "@",
        1,
    );
    a.add_account(&AccountInput {
        name: "Main".into(),
        currency: "USD".into(),
        balance: "1000000".into(),
        ..Default::default()
    })
    .expect("account");
    let mut rng = StdRng::seed_from_u64(11);
    let batch = crate::gen::generate(&mut rng, trades, 0);
    let t = Instant::now();
    a.store()
        .write(|tx| {
            let account = trenddojo_store::accounts::resolve(tx, user, "Main")?;
            for t in &batch {
                trenddojo_core::import_trade(tx, &account, t)?;
            }
            Ok::<_, trenddojo_core::ApiError>(())
        })
        .expect("load");
    let import = t.elapsed();
    let imported: i64 = a
        .store()
        .read(|c| {
            c.query_row(
                "SELECT (SELECT count(*) FROM trades) + (SELECT count(*) FROM executions) \
                 + (SELECT count(*) FROM trade_stop_adjustments)",
                [],
                |r| r.get(0),
            )
            .map_err(trenddojo_store::StoreError::from)
        })
        .expect("count");
    let imported = usize::try_from(imported).expect("count");
    println!(
        "store floor: the app's own bulk import of the same trades into its schema (indexes, audit and outbox \
         triggers), one transaction: {} rows in {} = {} rows/s",
        imported,
        ms(import),
        rate(imported, import)
    );

    let t = Instant::now();
    let r = a.sync_once(&url).expect("first push");
    let d = t.elapsed();
    let first_push = d;
    let rows = r.pushed;
    println!(
        "first push of {} rows ({} trades + executions): {} = {} rows/s",
        r.pushed,
        trades,
        ms(d),
        rate(r.pushed, d)
    );
    let push_floor = rt.block_on(insert_floor(&admin, user));
    println!(
        "first push floor: the same rows by one INSERT ... SELECT FROM unnest(...) per table, service role, no \
         triggers: {}; first push / floor = {}.{:02}x (target <= 3x)",
        ms(push_floor),
        ratio_x100(d, push_floor) / 100,
        ratio_x100(d, push_floor) % 100
    );

    // Initial download into a fresh device.
    let home_b = dir.path().join("b");
    let b0 = Journal::init(&home_b, &key(), &UserInput { email: "device-b@example.com".into(), ..Default::default() })
        .expect("init b");
    // Meanwhile the app writes every 5 ms on device B: how long does a write wait for the sync?
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (r, d, waits) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut waits = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let t = Instant::now();
                b0.store()
                    .write(|tx| {
                        tx.execute(
                            "INSERT INTO sync_state (key, value) VALUES ('bench.app-write', ?1) \
                             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            [tx.now.as_str()],
                        )
                        .map_err(trenddojo_store::StoreError::from)?;
                        Ok::<_, trenddojo_store::StoreError>(())
                    })
                    .expect("app write");
                waits.push(t.elapsed());
                std::thread::sleep(Duration::from_millis(5));
            }
            waits
        });
        let t = Instant::now();
        let r = b0.sync_once(&url).expect("initial download");
        let d = t.elapsed();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        (r, d, writer.join().expect("writer"))
    });
    let mut waits = waits;
    let worst = waits.iter().max().copied().unwrap_or_default();
    println!(
        "app writes during the download: {} writes, p50 {} p95 {} max {}",
        waits.len(),
        ms(percentile(&mut waits, 50)),
        ms(percentile(&mut waits, 95)),
        ms(worst)
    );
    println!(
        "initial download of {} rows into a fresh encrypted store: {} = {} rows/s",
        r.pulled,
        ms(d),
        rate(r.pulled, d)
    );
    drop(b0);
    let download = d;

    // The raw floor, same run: COPY the same rows out, bulk insert them into a fresh SQLCipher file.
    let t = Instant::now();
    let copied = rt.block_on(async {
        let mut total = 0usize;
        for table in ["users", "accounts", "risk_settings", "trades", "executions", "trade_stop_adjustments"] {
            let stream = admin
                .copy_out(&format!(
                    "COPY (SELECT * FROM trenddojo.{table} WHERE {} = '{user}') TO STDOUT",
                    if table == "users" { "id" } else { "user_id" }
                ))
                .await
                .expect("copy");
            futures_util::pin_mut!(stream);
            while let Some(chunk) = stream.try_next().await.expect("copy chunk") {
                total += chunk.iter().filter(|&&b| b == b'\n').count();
            }
        }
        total
    });
    let copy_time = t.elapsed();
    let floor_home = dir.path().join("floor");
    let floor =
        Journal::init(&floor_home, &key(), &UserInput { email: "floor@example.com".into(), ..Default::default() })
            .expect("init");
    let t = Instant::now();
    floor
        .store()
        .write(|tx| {
            tx.execute_batch("CREATE TABLE raw_rows (id TEXT PRIMARY KEY, a TEXT, b TEXT, c TEXT, d TEXT, e TEXT, f TEXT, g TEXT, h TEXT, i TEXT, j TEXT, k TEXT, l TEXT, m TEXT, n TEXT, o TEXT, p TEXT)")
                .map_err(trenddojo_store::StoreError::from)?;
            let mut st = tx
                .prepare("INSERT INTO raw_rows VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)")
                .map_err(trenddojo_store::StoreError::from)?;
            for i in 0..copied {
                let id = format!("{i:036}");
                let v = "187.2500";
                st.execute([id.as_str(), v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v]).map_err(trenddojo_store::StoreError::from)?;
            }
            Ok::<_, trenddojo_store::StoreError>(())
        })
        .expect("floor insert");
    let insert_time = t.elapsed();
    let floor_total = copy_time + insert_time;
    println!(
        "download / store floor = {}.{:02}x",
        ratio_x100(download, import) / 100,
        ratio_x100(download, import) % 100
    );
    println!(
        "raw floor: COPY out {} rows {} + bulk insert into SQLCipher {} = {} ({} rows/s); download / floor = {}.{:02}x",
        copied,
        ms(copy_time),
        ms(insert_time),
        ms(floor_total),
        rate(copied, floor_total),
        ratio_x100(download, floor_total) / 100,
        ratio_x100(download, floor_total) % 100
    );

    // A push of up to 10,000 changes: edit the setup of up to 10,000 trades on device A.
    let b = Journal::open(&OpenOptions { home: home_b.clone(), key: key(), user: Some("bench@example.com".into()) })
        .expect("open b");
    let ids: Vec<String> = a
        .store()
        .read(|c| {
            let mut st = c
                .prepare("SELECT id FROM trades WHERE deleted = 0 ORDER BY id LIMIT 10000")
                .map_err(trenddojo_store::StoreError::from)?;
            let ids = st
                .query_map([], |r| r.get(0))
                .map_err(trenddojo_store::StoreError::from)?
                .collect::<Result<Vec<String>, _>>()
                .map_err(trenddojo_store::StoreError::from)?;
            Ok::<_, trenddojo_store::StoreError>(ids)
        })
        .expect("ids");
    // Three rounds (each edits the setup again), each push followed by its floor; the fastest of each is
    // kept, so a burst of noise lands on one sample, not on the ratio (a floor of 2,000 rows takes ~150 ms).
    let mut edit_push = Duration::MAX;
    let mut edit_floor = Duration::MAX;
    let mut edits = 0;
    for round in 0..3 {
        let setup = format!("bench {round}");
        a.store()
            .write(|tx| {
                for id in &ids {
                    tx.execute(
                        "UPDATE trades SET setup = ?4, updated_at = ?2, updated_hlc = ?3 WHERE id = ?1",
                        [id.as_str(), tx.now.as_str(), tx.hlc.as_str(), setup.as_str()],
                    )
                    .map_err(trenddojo_store::StoreError::from)?;
                }
                Ok::<_, trenddojo_store::StoreError>(())
            })
            .expect("edits");
        let t = Instant::now();
        let r = a.sync_once(&url).expect("push of edits");
        let d = t.elapsed();
        let floor = rt.block_on(update_floor(&admin, user, &ids));
        println!(
            "push of {} changes (and the pull after it): {}; the same edits by one UPDATE ... FROM unnest(...), \
             service role, no triggers: {}; push / floor = {}.{:02}x (target < 1 s and <= 3x)",
            r.pushed,
            ms(d),
            ms(floor),
            ratio_x100(d, floor) / 100,
            ratio_x100(d, floor) % 100
        );
        edit_push = edit_push.min(d);
        edit_floor = edit_floor.min(floor);
        edits = r.pushed;
    }
    b.sync_once(&url).expect("catch up");
    let result = SyncRun {
        rows,
        first_push,
        first_push_floor: push_floor,
        download,
        download_floor: floor_total,
        edits,
        edit_push,
        edit_push_floor: edit_floor,
    };
    if scope == Scope::Ratios {
        let _ = cluster::stop(&dir.path().join("pg"));
        return result;
    }

    // One change reaching the other device: A edits and syncs, B syncs. On loopback, then through a link
    // with a 20 ms round trip.
    let far = url.replacen(
        &format!(":{}/", info.port),
        &format!(":{}/", delay_proxy(info.port, Duration::from_millis(10))),
        1,
    );
    // The initial download again, on a third device, through that link: what a trader setting up a new
    // machine waits for, where every page of the pull costs a round trip.
    let home_c = dir.path().join("c");
    let c = Journal::init(&home_c, &key(), &UserInput { email: "device-c@example.com".into(), ..Default::default() })
        .expect("init c");
    let t = Instant::now();
    let r = c.sync_once(&far).expect("download over the link");
    let d = t.elapsed();
    println!(
        "initial download of {} rows over a 20 ms round-trip link: {} = {} rows/s",
        r.pulled,
        ms(d),
        rate(r.pulled, d)
    );
    drop(c);
    for (link, url) in [("loopback", &url), ("a 20 ms round-trip link", &far)] {
        let mut lat = Vec::new();
        for i in 0..30 {
            a.edit_trade(
                &ids[i % ids.len()],
                &EditTradeInput { setup: Some(format!("{link} {i}")), ..Default::default() },
            )
            .expect("edit");
            let t = Instant::now();
            a.sync_once(url).expect("push one");
            b.sync_once(url).expect("pull one");
            lat.push(t.elapsed());
        }
        let max = *lat.iter().max().expect("samples");
        println!(
            "one change to another device over {link} (push + pull round trip): p50 {} p95 {} max {}",
            ms(percentile(&mut lat, 50)),
            ms(percentile(&mut lat, 95)),
            ms(max)
        );
    }
    let _ = cluster::stop(&dir.path().join("pg"));
    result
}

/// The tables a first push writes, parents first.
const PUSHED: &[&str] = &["users", "accounts", "risk_settings", "trades", "executions", "trade_stop_adjustments"];

/// The floor of a first push, measured after it: the user's rows as they now are on the server, sent back
/// as one array per column and inserted by one `INSERT ... SELECT FROM unnest(...)` per table into copies
/// of the tables (`LIKE ... INCLUDING ALL`: the same columns, defaults, checks and indexes, no triggers)
/// as the service role. Only the inserts are timed; the copies go afterwards.
async fn insert_floor(admin: &tokio_postgres::Client, user: uuid::Uuid) -> Duration {
    admin.batch_execute("DROP SCHEMA IF EXISTS bench_floor CASCADE; CREATE SCHEMA bench_floor").await.expect("schema");
    let mut total = Duration::ZERO;
    for table in PUSHED {
        admin
            .batch_execute(&format!("CREATE TABLE bench_floor.{table} (LIKE trenddojo.{table} INCLUDING ALL)"))
            .await
            .expect("floor table");
        let (cols, arrays) = column_arrays(admin, table, user, None).await;
        let sql = insert_sql(table, &cols);
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            arrays.iter().map(|a| a as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
        let t = Instant::now();
        let n = admin.execute(&sql, &params).await.expect("floor insert");
        let d = t.elapsed();
        println!("  floor insert {table}: {n} rows in {}", ms(d));
        total += d;
    }
    admin.batch_execute("DROP SCHEMA bench_floor CASCADE").await.expect("drop floor");
    total
}

fn insert_sql(table: &str, cols: &[(String, String)]) -> String {
    let names: Vec<String> = cols.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    let arrays: Vec<String> = cols.iter().enumerate().map(|(i, (_, ty))| format!("${}::text::{ty}[]", i + 1)).collect();
    format!("INSERT INTO bench_floor.{table} ({}) SELECT * FROM unnest({})", names.join(", "), arrays.join(", "))
}

/// The writable columns of a server table with their types, and the user's rows (or the rows `ids`) as
/// one array literal per column, ordered by id.
async fn column_arrays(
    admin: &tokio_postgres::Client,
    table: &str,
    user: uuid::Uuid,
    ids: Option<&[String]>,
) -> (Vec<(String, String)>, Vec<String>) {
    let cols: Vec<(String, String)> = admin
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a \
             WHERE a.attrelid = ('trenddojo.' || $1)::regclass AND a.attnum > 0 AND NOT a.attisdropped \
               AND a.attgenerated = '' AND a.attidentity = '' ORDER BY a.attnum",
            &[&table],
        )
        .await
        .expect("columns")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let key = if table == "users" { "id" } else { "user_id" };
    let aggs: Vec<String> =
        cols.iter().map(|(n, _)| format!("coalesce(array_agg(\"{n}\" ORDER BY id)::text, '{{}}')")).collect();
    let filter = match ids {
        None => String::new(),
        Some(_) => " AND id::text = ANY($2)".to_string(),
    };
    let sql = format!("SELECT {} FROM trenddojo.{table} WHERE {key} = $1{filter}", aggs.join(", "));
    let row = match ids {
        None => admin.query_one(&sql, &[&user]).await,
        Some(ids) => admin.query_one(&sql, &[&user, &ids]).await,
    }
    .expect("arrays");
    let arrays = (0..cols.len()).map(|i| row.get::<_, String>(i)).collect();
    (cols, arrays)
}

/// The floor of a push of edits, measured after it: the edited trades' new values (every column the edit
/// touched, the per-field stamps included) written again by one `UPDATE ... FROM unnest(...)` with
/// triggers off (`session_replication_role = replica`) as the service role, in a transaction rolled back.
async fn update_floor(admin: &tokio_postgres::Client, user: uuid::Uuid, ids: &[String]) -> Duration {
    let (cols, arrays) = column_arrays(admin, "trades", user, Some(ids)).await;
    let pick = ["id", "setup", "updated_at", "updated_hlc", "field_hlcs"];
    let mut sets = Vec::new();
    let mut sources = Vec::new();
    let mut names = Vec::new();
    let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = Vec::new();
    for ((name, ty), array) in cols.iter().zip(&arrays) {
        if !pick.contains(&name.as_str()) {
            continue;
        }
        params.push(array);
        sources.push(format!("${}::text::{ty}[]", params.len()));
        names.push(name.clone());
        if name != "id" {
            sets.push(format!("{name} = x.{name}"));
        }
    }
    let sql = format!(
        "UPDATE trenddojo.trades t SET {} FROM unnest({}) AS x ({}) WHERE t.id = x.id",
        sets.join(", "),
        sources.join(", "),
        names.join(", ")
    );
    admin.batch_execute("BEGIN; SET LOCAL session_replication_role = replica").await.expect("begin");
    let t = Instant::now();
    let n = admin.execute(&sql, &params).await.expect("floor update");
    let d = t.elapsed();
    admin.batch_execute("ROLLBACK").await.expect("rollback");
    assert_eq!(n as usize, ids.len(), "the floor updates every edited trade");
    d
}
