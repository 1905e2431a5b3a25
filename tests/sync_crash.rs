//! Crash safety: the `trenddojo sync` process is killed (aborted on the spot) at each step of push and
//! pull. After a restart the devices converge, nothing is lost, nothing is applied twice on the server,
//! and no change is left stuck in the outbox.

use crate::common;
use crate::pg;

use common::Home;
use pg::Pg;
use serde_json::Value;

const PW: &str = "crash-password";

const POINTS: &[&str] = &[
    "push:before-send",
    "push:after-server-commit",
    "push:after-local-ack",
    "pull:after-fetch",
    "pull:before-local-commit",
    "pull:after-local-commit",
];

fn run(home: &Home, url: &str, crash: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut c = home.cmd();
    c.env("TRENDDOJO_SERVER_URL", url).args(["--json", "--user", "me@example.com"]).args(args);
    if let Some(point) = crash {
        c.env("TRENDDOJO_SYNC_CRASH_AT", point);
    }
    c.output().expect("run trenddojo")
}

fn json(home: &Home, url: &str, args: &[&str]) -> Value {
    let o = run(home, url, None, args);
    assert!(o.status.success(), "`{}` failed: {}", args.join(" "), String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("json")
}

fn view(home: &Home, url: &str) -> Value {
    let trades = json(home, url, &["trade", "list"]);
    let shown: Vec<Value> = trades
        .as_array()
        .expect("array")
        .iter()
        .map(|t| json(home, url, &["trade", "show", t["id"].as_str().expect("id")]))
        .collect();
    serde_json::json!({ "accounts": json(home, url, &["account", "list"]), "trades": shown })
}

#[tokio::test]
async fn a_sync_killed_at_any_step_loses_and_duplicates_nothing() {
    let pg = Pg::migrated().await;
    let admin = pg.admin().await;
    let config: tokio_postgres::Config = pg.service().parse().expect("config");
    for point in POINTS {
        // Per point: a fresh trader with a laptop and a desktop that already share an account.
        let laptop = Home::init();
        let id = laptop.json(&["user", "list"])[0]["id"].as_str().expect("id").to_string();
        let _ = admin
            .batch_execute(&format!(
                "UPDATE trenddojo.users SET email = 'old-{}' || email WHERE email = 'me@example.com'",
                uuid::Uuid::now_v7().simple()
            ))
            .await;
        let p = trenddojo_server::admin::add_user_with_id(
            &admin,
            &config,
            id.parse().expect("uuid"),
            "me@example.com",
            "pro",
            None,
            PW,
        )
        .await
        .expect("provision");
        let url = p.url.replacen("postgresql://", &format!("postgresql://{}:{PW}@", p.role), 1).replacen(
            &format!("@{}@", p.role),
            "@",
            1,
        );
        json(&laptop, &url, &["account", "add", "--name", "Swing", "--currency", "USD", "--balance", "25000"]);
        json(&laptop, &url, &["sync"]);
        let desktop = Home { dir: tempfile::tempdir().expect("dir") };
        assert!(desktop.run(&["init", "--email", "desk@example.com"]).status.success(), "init desktop");
        let mut c = desktop.cmd();
        c.env("TRENDDOJO_SERVER_URL", &url).args(["sync"]);
        assert!(c.output().expect("sync").status.success(), "desktop first sync");

        // Work on both; the laptop's change is what gets pushed, the desktop's what gets pulled.
        let t = json(
            &laptop,
            &url,
            &[
                "trade",
                "open",
                "--account",
                "Swing",
                "--symbol",
                "AAPL",
                "--side",
                "long",
                "--quantity",
                "30",
                "--price",
                "187.25",
                "--stop",
                "180",
            ],
        );
        let trade = t["id"].as_str().expect("trade").to_string();
        let d = json(
            &desktop,
            &url,
            &[
                "trade",
                "open",
                "--account",
                "Swing",
                "--symbol",
                "MSFT",
                "--side",
                "long",
                "--quantity",
                "10",
                "--price",
                "410",
                "--stop",
                "400",
            ],
        );
        let desk_trade = d["id"].as_str().expect("trade").to_string();
        json(&desktop, &url, &["sync"]);

        let crashed = run(&laptop, &url, Some(point), &["sync"]);
        assert!(!crashed.status.success(), "{point}: the sync process died");
        assert!(String::from_utf8_lossy(&crashed.stderr).contains(point), "{point}: at the named step");

        // Restart: sync again (twice, as a device would on its next rounds), then the desktop.
        json(&laptop, &url, &["sync"]);
        json(&laptop, &url, &["sync"]);
        json(&desktop, &url, &["sync"]);
        assert_eq!(view(&laptop, &url), view(&desktop, &url), "{point}: the devices converge after the crash");
        let ids: Vec<String> = json(&laptop, &url, &["trade", "list"])
            .as_array()
            .expect("array")
            .iter()
            .map(|t| t["id"].as_str().expect("id").to_string())
            .collect();
        assert!(ids.contains(&trade) && ids.contains(&desk_trade), "{point}: both trades survive: {ids:?}");
        for home in [&laptop, &desktop] {
            let s = json(home, &url, &["sync", "status"]);
            assert_eq!(s["pending"], 0, "{point}: no change stuck in the outbox: {s}");
        }
        // Applied once on the server: one insert in the audit trail for the laptop's trade and its fill.
        let trade_uuid: uuid::Uuid = trade.parse().expect("uuid");
        let inserts: i64 = admin
            .query_one(
                "SELECT count(*) FROM trenddojo.audit_log WHERE row_id = $1 AND action = 'insert'",
                &[&trade_uuid],
            )
            .await
            .expect("audit")
            .get(0);
        assert_eq!(inserts, 1, "{point}: the trade was inserted on the server exactly once");
        let execs: i64 = admin
            .query_one("SELECT count(*) FROM trenddojo.executions WHERE trade_id = $1", &[&trade_uuid])
            .await
            .expect("executions")
            .get(0);
        assert_eq!(execs, 1, "{point}: one fill, not a duplicated one");
        let integrity = laptop.run(&["db", "check"]);
        assert!(
            integrity.status.success(),
            "{point}: the laptop's store passes its integrity check: {}",
            String::from_utf8_lossy(&integrity.stderr)
        );
    }
}
