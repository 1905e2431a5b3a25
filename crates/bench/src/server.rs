//! `trenddojo-server-bench`: a user's dashboard queries through row-level security on a server holding
//! many users' trades. It starts a private PostgreSQL (or reuses one in `--dir`), migrates it, provisions
//! USERS login roles, bulk-loads TRADES trades per user (as the service role, triggers off: this measures
//! reads, not the load), then connects as one user over TCP with SCRAM and runs each dashboard query
//! repeatedly, printing p50/p95/max. It also runs each query's EXPLAIN and reports whether the policy's
//! `app_uid()` is evaluated once per query (an InitPlan) rather than per row, and the same queries as the
//! service role with an explicit `user_id = $1` filter, so the cost of RLS itself is visible.
//!
//! `cargo run --release -p trenddojo-bench --bin trenddojo-server-bench -- [USERS] [TRADES_PER_USER] [--dir DIR]`
//! (default 1000 users x 100000 trades: about 100M rows and 60+ GB; see docs/benchmarks.md for the
//! runs recorded and their sizes).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio_postgres::Client;
use trenddojo_server::admin;
use trenddojo_server::cluster;
use trenddojo_server::{db, migrations};

const PASSWORD: &str = "bench-password";

fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort();
    let idx = (samples.len() * p).div_ceil(100).saturating_sub(1);
    samples[idx.min(samples.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{}.{:03} ms", d.as_millis(), d.as_micros() % 1000)
}

/// The dashboard: what the app shows when a trader opens it.
const DASHBOARD: &[(&str, &str)] = &[
    (
        "open positions",
        "SELECT id, symbol, direction, open_quantity, avg_entry_price, current_stop FROM trenddojo.trades \
         WHERE status IN ('open', 'partially_closed') AND NOT deleted ORDER BY opened_at DESC",
    ),
    (
        "latest 50 closed trades",
        "SELECT id, symbol, direction, net_pnl, r_multiple, closed_at FROM trenddojo.trades \
         WHERE status = 'closed' AND NOT deleted ORDER BY closed_at DESC LIMIT 50",
    ),
    (
        "closed trades page 20 (offset 950)",
        "SELECT id, symbol, direction, net_pnl, r_multiple, closed_at FROM trenddojo.trades \
         WHERE status = 'closed' AND NOT deleted ORDER BY closed_at DESC LIMIT 50 OFFSET 950",
    ),
    (
        "this month: count, win rate, net P&L",
        "SELECT count(*), count(*) FILTER (WHERE net_pnl > 0), coalesce(sum(net_pnl), 0) FROM trenddojo.trades \
         WHERE status = 'closed' AND NOT deleted AND closed_at >= date_trunc('month', TIMESTAMPTZ '2026-11-25')",
    ),
    (
        "P&L by day, last 30 days",
        "SELECT (closed_at AT TIME ZONE 'America/New_York')::date AS day, sum(net_pnl) FROM trenddojo.trades \
         WHERE status = 'closed' AND NOT deleted AND closed_at >= TIMESTAMPTZ '2026-11-25' - interval '30 days' \
         GROUP BY 1 ORDER BY 1",
    ),
    (
        "trades in one symbol, newest 50",
        "SELECT id, status, net_pnl, opened_at FROM trenddojo.trades WHERE symbol = 'NVDA' AND NOT deleted \
         ORDER BY opened_at DESC LIMIT 50",
    ),
    ("accounts", "SELECT id, name, currency, starting_balance FROM trenddojo.accounts WHERE NOT deleted ORDER BY name"),
];

/// Not a dashboard query: the all-time aggregate over every one of the user's trades, for scale.
const ALL_TIME: &str =
    "SELECT count(*), coalesce(sum(net_pnl), 0), coalesce(avg(r_multiple), 0) FROM trenddojo.trades \
                        WHERE status = 'closed' AND NOT deleted";

async fn load(admin: &Client, service: &tokio_postgres::Config, users: usize, per_user: usize) -> String {
    let loaded: i64 = admin.query_one("SELECT count(*) FROM trenddojo.users", &[]).await.expect("count").get(0);
    if loaded as usize == users {
        let t: i64 = admin.query_one("SELECT count(*) FROM trenddojo.trades", &[]).await.expect("count").get(0);
        if t as usize == users * per_user {
            return format!("reused: {users} users, {t} trades already loaded");
        }
    }
    assert_eq!(loaded, 0, "the bench cluster holds a different data set; use a fresh --dir");
    let t0 = Instant::now();
    for i in 0..users {
        admin::add_user(admin, service, &format!("trader{i:05}@bench.test"), "pro", None, PASSWORD)
            .await
            .expect("provision");
    }
    let provision = t0.elapsed();
    let t1 = Instant::now();
    // Triggers off for the load (stamping, audit and limits are not what this measures).
    admin
        .batch_execute(
            "SET session_replication_role = replica;
             INSERT INTO trenddojo.accounts (id, user_id, name, currency, starting_balance, time_zone, created_at, updated_at, updated_hlc)
             SELECT gen_random_uuid(), u.id, 'Account ' || a, 'USD', 50000, 'America/New_York', now(), now(), 'bench'
             FROM trenddojo.users u CROSS JOIN generate_series(1, 2) a;",
        )
        .await
        .expect("accounts");
    let users_ids: Vec<uuid::Uuid> = admin
        .query("SELECT id FROM trenddojo.users ORDER BY email", &[])
        .await
        .expect("ids")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let per = i64::try_from(per_user).expect("size");
    for (n, u) in users_ids.iter().enumerate() {
        // ~4 years of history per user, newest trade on 2026-11-24; 2% still open.
        admin
            .execute(
                "INSERT INTO trenddojo.trades (id, user_id, account_id, symbol, direction, status, multiplier, initial_stop,
                     current_stop, entered_quantity, open_quantity, avg_entry_price, avg_exit_price, gross_pnl, fees, net_pnl,
                     initial_risk, r_multiple, opened_at, closed_at, created_at, updated_at, updated_hlc, server_seq, received_at)
                 SELECT gen_random_uuid(), $1, acc.id,
                        (ARRAY['AAPL','MSFT','NVDA','AMZN','META','GOOGL','TSLA','AMD','NFLX','SPY','QQQ','IWM'])[1 + g % 12],
                        CASE WHEN g % 4 = 0 THEN 'short' ELSE 'long' END,
                        CASE WHEN g % 50 = 0 THEN 'open' ELSE 'closed' END, 1, 95.00, 95.00, 100,
                        CASE WHEN g % 50 = 0 THEN 100 ELSE 0 END, 100.00,
                        CASE WHEN g % 50 = 0 THEN NULL ELSE round((90 + random() * 25)::numeric, 2) END,
                        round((random() * 2000 - 800)::numeric, 2), 2.00, round((random() * 2000 - 802)::numeric, 2),
                        500.00, round((random() * 4 - 1.6)::numeric, 2),
                        ts, CASE WHEN g % 50 = 0 THEN NULL ELSE ts + interval '3 days' END, ts, ts, 'bench', g, ts
                 FROM generate_series(1, $2::bigint) g
                 CROSS JOIN LATERAL (SELECT TIMESTAMPTZ '2026-11-21 15:00Z' - (($2::bigint - g) * (interval '4 years' / $2::bigint)) AS ts) t
                 CROSS JOIN LATERAL (SELECT id FROM trenddojo.accounts WHERE user_id = $1 ORDER BY id LIMIT 1 OFFSET (g % 2)) acc",
                &[u, &per],
            )
            .await
            .expect("trades");
        if (n + 1) % 100 == 0 {
            eprintln!("  loaded {} users' trades ({:.0?})", n + 1, t1.elapsed());
        }
    }
    for sql in [
        "SET session_replication_role = origin",
        "VACUUM ANALYZE trenddojo.trades",
        "VACUUM ANALYZE trenddojo.accounts",
    ] {
        admin.batch_execute(sql).await.expect("analyze");
    }
    format!(
        "loaded {users} users (provisioned in {:.1?}) and {} trades in {:.1?}",
        provision,
        users * per_user,
        t1.elapsed()
    )
}

async fn measure(
    c: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    n: usize,
) -> (Duration, Duration, Duration) {
    let stmt = c.prepare(sql).await.expect("prepare");
    for _ in 0..10 {
        c.query(&stmt, params).await.expect("warm up");
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        c.query(&stmt, params).await.expect("query");
        samples.push(t.elapsed());
    }
    let max = *samples.iter().max().expect("samples");
    (percentile(&mut samples, 50), percentile(&mut samples, 95), max)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let dir = match args.iter().position(|a| a == "--dir") {
        Some(i) => {
            let d = PathBuf::from(args.get(i + 1).expect("--dir DIR"));
            args.drain(i..=i + 1);
            Some(d)
        }
        None => None,
    };
    let keep = dir.is_some();
    let users: usize = args.first().map(|a| a.parse().expect("USERS")).unwrap_or(1000);
    let per_user: usize = args.get(1).map(|a| a.parse().expect("TRADES_PER_USER")).unwrap_or(100_000);
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = dir.unwrap_or_else(|| temp.path().join("pg"));
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent).expect("dir");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let info = cluster::start_or_reuse(&dir).expect("start PostgreSQL");
    db::ensure_database(&info.admin_conn_string("postgres"), cluster::DATABASE).await.expect("database");
    let service_str = info.admin_conn_string(cluster::DATABASE);
    let service: tokio_postgres::Config = service_str.parse().expect("config");
    let mut admin = db::connect(&service_str).await.expect("service connection");
    migrations::migrate(&mut admin, None).await.expect("migrate");
    println!("TrendDojo server bench: {users} users x {per_user} trades (PostgreSQL in {})", dir.display());
    println!("{}", load(&admin, &service, users, per_user).await);
    let size: String = admin
        .query_one("SELECT pg_size_pretty(pg_total_relation_size('trenddojo.trades'))", &[])
        .await
        .expect("size")
        .get(0);
    println!("trades table with indexes: {size}");

    // The measured user: one in the middle of the data set, connected as itself over TCP with SCRAM.
    let me = admin::add_user(&admin, &service, &format!("trader{:05}@bench.test", users / 2), "pro", None, PASSWORD)
        .await
        .expect("re-provision (idempotent)");
    let mut config: tokio_postgres::Config = me.url.parse().expect("url");
    config.password(PASSWORD);
    let user = db::connect_config(&config).await.expect("user connection");

    let n = 200;
    println!(
        "\n{:<40} {:>11} {:>11} {:>11}   {:>11}  policy once",
        "query (as the user, through RLS)", "p50", "p95", "max", "p95 no RLS"
    );
    let mut worst = Duration::ZERO;
    for (name, sql) in DASHBOARD {
        let (p50, p95, max) = measure(&user, sql, &[], n).await;
        worst = worst.max(p95);
        // The same query as the service role (no RLS) with the filter spelled out.
        let explicit = add_user_filter(sql);
        let (_, p95_raw, _) = measure(&admin, &explicit, &[&me.user_id], n).await;
        let once = policy_once(&user, sql).await;
        println!("{name:<40} {:>11} {:>11} {:>11}   {:>11}  {once}", ms(p50), ms(p95), ms(max), ms(p95_raw));
    }
    let (p50, p95, max) = measure(&user, ALL_TIME, &[], 20).await;
    println!(
        "{:<40} {:>11} {:>11} {:>11}   (all {per_user} trades; not a dashboard query)",
        "all-time aggregate",
        ms(p50),
        ms(p95),
        ms(max)
    );
    println!("\nworst dashboard p95: {}", ms(worst));
    if keep {
        println!("the cluster in {} stays up for the next run (pg_ctl -D {}/data stop)", dir.display(), dir.display());
    } else {
        let _ = cluster::stop(&dir);
    }
}

/// The dashboard query with the tenant filter written out, for the service role.
fn add_user_filter(sql: &str) -> String {
    let (head, tail) = sql.split_once(" WHERE ").expect("every dashboard query has a WHERE");
    format!("{head} WHERE user_id = $1 AND {tail}")
}

/// "yes" when EXPLAIN shows `app_uid()` exactly once and inside an InitPlan (evaluated once per query).
async fn policy_once(c: &Client, sql: &str) -> &'static str {
    let plan: Vec<String> = c
        .query(&format!("EXPLAIN (VERBOSE, COSTS OFF) {sql}"), &[])
        .await
        .expect("explain")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let calls = plan.iter().filter(|l| l.contains("app_uid()")).count();
    if calls == 1 && plan.iter().any(|l| l.contains("InitPlan")) {
        "yes"
    } else {
        "NO"
    }
}
