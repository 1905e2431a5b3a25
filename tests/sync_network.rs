//! Network faults: the devices reach the server through a loopback TCP proxy that cuts every connection
//! after a given number of bytes from the server (mid-handshake, mid-push, mid-pull). Failed rounds leave
//! the devices consistent; once the network is healthy again they converge with nothing lost or doubled.

use crate::common;
use crate::devices;
use crate::pg;

use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use common::Home;
use devices::{json, pump, run, view};
use pg::Pg;

const PW: &str = "network-password";

/// Forwards 127.0.0.1:<port> to the server; with `cut` > 0 each connection is cut after that many bytes
/// from the server.
struct Proxy {
    port: u16,
    cut: Arc<AtomicUsize>,
    cuts: Arc<AtomicUsize>,
}

impl Proxy {
    fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let cut = Arc::new(AtomicUsize::new(0));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (c, k) = (cut.clone(), cuts.clone());
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                let (c2s_from, c2s_to) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
                let limit = Some((c.clone(), k.clone()));
                thread::spawn(move || pump(c2s_from, c2s_to, None));
                thread::spawn(move || pump(server, client, limit));
            }
        });
        Proxy { port, cut, cuts }
    }
}

#[tokio::test]
async fn connections_cut_mid_batch_never_corrupt_or_lose() {
    let pg = Pg::migrated().await;
    let admin = pg.admin().await;
    let config: tokio_postgres::Config = pg.service().parse().expect("config");
    let proxy = Proxy::start(pg.info.port);

    let laptop = Home::init();
    let id = laptop.json(&["user", "list"])[0]["id"].as_str().expect("id").to_string();
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
    let url = format!("postgresql://{}:{PW}@127.0.0.1:{}/trenddojo", p.role, proxy.port);
    json(&laptop, &url, &["account", "add", "--name", "Swing", "--currency", "USD", "--balance", "25000"]);
    json(
        &laptop,
        &url,
        &["risk", "set", "--account", "Swing", "--max-open-positions", "100", "--max-correlated-positions", "100"],
    );
    json(&laptop, &url, &["sync"]);
    let desktop = Home { dir: tempfile::tempdir().expect("dir") };
    assert!(desktop.run(&["init", "--email", "desk@example.com"]).status.success(), "init desktop");
    let mut c = desktop.cmd();
    c.env("TRENDDOJO_SERVER_URL", &url).args(["sync"]);
    assert!(c.output().expect("sync").status.success(), "desktop first sync");

    let mut failures = 0;
    for (round, cut) in [300usize, 1_500, 4_000, 9_000, 20_000, 60_000].into_iter().enumerate() {
        for i in 0..3 {
            let price = format!("{}", 100 + round * 3 + i);
            json(
                &laptop,
                &url,
                &[
                    "trade",
                    "open",
                    "--account",
                    "Swing",
                    "--symbol",
                    "SPY",
                    "--side",
                    "long",
                    "--quantity",
                    "10",
                    "--price",
                    &price,
                    "--stop",
                    "95",
                ],
            );
        }
        json(
            &desktop,
            &url,
            &[
                "trade",
                "open",
                "--account",
                "Swing",
                "--symbol",
                "QQQ",
                "--side",
                "short",
                "--quantity",
                "5",
                "--price",
                "400",
                "--stop",
                "410",
            ],
        );
        proxy.cut.store(cut, Ordering::SeqCst);
        for home in [&laptop, &desktop] {
            let o = run(home, &url, &["--json", "sync"]);
            if !o.status.success() {
                failures += 1;
                let err = String::from_utf8_lossy(&o.stderr).to_string();
                assert_eq!(o.status.code(), Some(12), "a cut connection is reported as unreachable (cut {cut}): {err}");
            }
        }
        proxy.cut.store(0, Ordering::SeqCst);
        for home in [&laptop, &desktop, &laptop] {
            json(home, &url, &["sync"]);
        }
        assert_eq!(view(&laptop, &url), view(&desktop, &url), "converged after cuts at {cut} bytes");
    }
    assert!(
        failures > 0 && proxy.cuts.load(Ordering::SeqCst) > 0,
        "the proxy really cut connections ({failures} failed rounds)"
    );
    let trades = json(&laptop, &url, &["trade", "list"]);
    assert_eq!(trades.as_array().map(Vec::len), Some(24), "every trade of every round arrived once");
    let dupes: i64 = admin
        .query_one("SELECT count(*) FROM (SELECT row_id FROM trenddojo.audit_log WHERE action = 'insert' GROUP BY row_id HAVING count(*) > 1) d", &[])
        .await
        .expect("audit")
        .get(0);
    assert_eq!(dupes, 0, "no row was inserted twice on the server");
    for home in [&laptop, &desktop] {
        assert_eq!(json(home, &url, &["sync", "status"])["pending"], 0, "nothing stuck");
    }
}
