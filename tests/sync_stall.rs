//! Networks that stall instead of failing, signals, refused logins, interrupted downloads and a restarted
//! development server: sync is bounded in time, stoppable at any point, says what happened, and leaves
//! every store consistent. Through the real `trenddojo` binary, a real PostgreSQL and a loopback proxy
//! that stops forwarding at random points while keeping every socket open (the failure that gives no
//! error at all).

use crate::common;
use crate::devices;
use crate::pg;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use devices::{fleet, Device};
use pg::Pg;
use rand::Rng;
use serde_json::Value;

const PW: &str = "stall-password";

/// A loopback proxy to the server. With `stall_after` > 0, a connection stops forwarding (in both
/// directions) once that many bytes have passed through it, and holds its sockets open until healed.
struct StallProxy {
    port: u16,
    stall_after: Arc<AtomicUsize>,
    stalled: Arc<AtomicUsize>,
    healed: Arc<AtomicBool>,
}

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    passed: Arc<AtomicUsize>,
    stall_after: usize,
    stalled: Arc<AtomicUsize>,
    healed: Arc<AtomicBool>,
) {
    let mut buf = [0u8; 4096];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let total = passed.fetch_add(n, Ordering::SeqCst) + n;
        if stall_after > 0 && total > stall_after {
            stalled.fetch_add(1, Ordering::SeqCst);
            // Hold everything, sockets open, until healed; then drop the connection (its client gave up).
            while !healed.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(20));
            }
            break;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl StallProxy {
    fn start(upstream: u16) -> StallProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (stall_after, stalled, healed) =
            (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (s, k, h) = (stall_after.clone(), stalled.clone(), healed.clone());
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                let passed = Arc::new(AtomicUsize::new(0));
                let limit = s.load(Ordering::SeqCst);
                let (c1, s1) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
                let (p1, k1, h1) = (passed.clone(), k.clone(), h.clone());
                thread::spawn(move || pump(c1, s1, p1, limit, k1, h1));
                let (p2, k2, h2) = (passed, k.clone(), h.clone());
                thread::spawn(move || pump(server, client, p2, limit, k2, h2));
            }
        });
        StallProxy { port, stall_after, stalled, healed }
    }

    /// New connections stall after `bytes` (0: never).
    fn stall_after(&self, bytes: usize) {
        self.healed.store(false, Ordering::SeqCst);
        self.stall_after.store(bytes, Ordering::SeqCst);
    }

    /// Forward new connections normally; connections already stalled stay held open (the server must end
    /// their sessions on its own).
    fn forward_new(&self) {
        self.stall_after.store(0, Ordering::SeqCst);
    }

    /// Release stalled connections (they close) and forward new ones normally.
    fn heal(&self) {
        self.stall_after.store(0, Ordering::SeqCst);
        self.healed.store(true, Ordering::SeqCst);
    }

    fn url(&self, direct: &str, server_port: u16) -> String {
        direct.replacen(&format!(":{server_port}/"), &format!(":{}/", self.port), 1)
    }
}

fn trade(d: &Device, n: usize) {
    d.json(&[
        "trade",
        "open",
        "--account",
        "Swing",
        "--symbol",
        &format!("S{n}"),
        "--side",
        "long",
        "--quantity",
        "10",
        "--price",
        "100",
        "--stop",
        "99",
    ]);
}

fn setup(d: &Device) {
    d.json(&["account", "add", "--name", "Swing", "--currency", "USD", "--balance", "100000"]);
    d.json(&[
        "risk",
        "set",
        "--account",
        "Swing",
        "--max-open-positions",
        "1000",
        "--max-correlated-positions",
        "1000",
    ]);
}

/// Run `trenddojo` on `d` against `url` with `args`, returning the output and how long it took.
fn timed(d: &Device, url: &str, args: &[&str]) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let o = devices::run(&d.home, url, args);
    (o, started.elapsed())
}

fn spawn(d: &Device, url: &str, args: &[&str]) -> Child {
    let mut c = d.home.cmd();
    c.env("TRENDDOJO_SERVER_URL", url).args(["--user", devices::TRADER]).args(args);
    c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn trenddojo")
}

fn signal(child: &Child, sig: &str) {
    let ok = std::process::Command::new("kill").arg(format!("-{sig}")).arg(child.id().to_string()).status();
    assert!(ok.is_ok_and(|s| s.success()), "send {sig}");
}

/// Wait for `child` to exit within `limit`; returns its exit code and how long it took.
fn exits_within(child: &mut Child, limit: Duration) -> (Option<i32>, Duration) {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("wait") {
            return (status.code(), started.elapsed());
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("the process did not exit within {limit:?}");
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[tokio::test]
async fn a_stall_at_any_point_fails_the_round_in_bounded_time_and_never_blocks_the_device() {
    let pg = Pg::migrated().await;
    let (devices, direct) = fleet(&pg, 1, "pro", PW).await;
    let d = &devices[0];
    let proxy = StallProxy::start(pg.info.port);
    let url = proxy.url(&direct, pg.info.port);
    setup(d);
    let mut rng = rand::thread_rng();
    let mut made = 0;
    for round in 0..6 {
        for _ in 0..3 {
            trade(d, made);
            made += 1;
        }
        // A fresh connection stalls somewhere in the handshake, the push or the pull.
        let at = rng_bytes(&mut rng);
        proxy.stall_after(at);
        let (o, took) = timed(d, &url, &["--json", "sync", "--timeout", "3"]);
        if o.status.success() {
            // The whole round fit in fewer bytes than the stall point: fine, nothing to check.
            proxy.heal();
            continue;
        }
        assert!(took < Duration::from_secs(15), "round {round} (stall after {at} bytes) ended after {took:?}");
        let err: Value = serde_json::from_slice(&o.stderr).unwrap_or_default();
        assert_eq!(err["error"]["code"], "unreachable", "round {round}: a stall is `unreachable`: {}", stderr(&o));
        assert!(
            err["error"]["message"].as_str().unwrap_or_default().contains("stopped answering"),
            "round {round}: says the server stopped answering: {}",
            stderr(&o)
        );
        assert_eq!(o.status.code(), Some(12), "round {round}: exit 12");
        // The stalled connection stays open on the proxy: the server must end that session itself.
        proxy.forward_new();
        // The dead session's device lock is released by the server within its idle limit: the next
        // syncs may hear "another sync of this device is still running" for a few seconds, never longer.
        let started = Instant::now();
        loop {
            let (o, _) = timed(d, &url, &["--json", "sync", "--timeout", "3"]);
            if o.status.success() {
                break;
            }
            let text = stderr(&o);
            assert!(
                text.contains("another sync of this device") || text.contains("stopped answering"),
                "round {round}: a clear message while the old session ends: {text}"
            );
            assert!(started.elapsed() < Duration::from_secs(30), "round {round}: the device is free again within 30 s");
            thread::sleep(Duration::from_millis(500));
        }
    }
    proxy.heal();
    // Nothing lost or doubled: the server has every trade once.
    let admin = pg.admin().await;
    let n: i64 =
        admin.query_one("SELECT count(*) FROM trenddojo.trades WHERE NOT deleted", &[]).await.expect("count").get(0);
    assert_eq!(n, made as i64, "every trade reached the server exactly once");
    assert_eq!(d.json(&["sync", "status"])["pending"], 0, "nothing left to push");
}

fn rng_bytes(rng: &mut impl Rng) -> usize {
    rng.gen_range(150..6_000)
}

#[tokio::test]
async fn ctrl_c_and_sigterm_stop_sync_and_watch_within_two_seconds_even_when_stalled() {
    let pg = Pg::migrated().await;
    let (devices, direct) = fleet(&pg, 1, "pro", PW).await;
    let d = &devices[0];
    let proxy = StallProxy::start(pg.info.port);
    let url = proxy.url(&direct, pg.info.port);
    setup(d);
    trade(d, 0);
    for sig in ["INT", "TERM"] {
        proxy.stall_after(400);
        let mut child = spawn(d, &url, &["sync"]);
        thread::sleep(Duration::from_millis(1500));
        assert!(proxy.stalled.load(Ordering::SeqCst) > 0, "the round is stalled before the signal");
        signal(&child, sig);
        let (code, took) = exits_within(&mut child, Duration::from_secs(5));
        assert!(took < Duration::from_secs(2), "SIG{sig} stops a stalled sync within 2 s: {took:?}");
        assert_eq!(code, Some(130), "SIG{sig}: exit 130 (stopped)");
        proxy.heal();
    }
    proxy.stall_after(400);
    let mut watch = spawn(d, &url, &["--json", "sync", "--watch"]);
    thread::sleep(Duration::from_millis(1500));
    signal(&watch, "TERM");
    let (code, took) = exits_within(&mut watch, Duration::from_secs(5));
    assert!(took < Duration::from_secs(2), "SIGTERM stops a stalled watch within 2 s: {took:?}");
    assert_eq!(code, Some(0), "a watch stopped by the user ends cleanly");
    proxy.heal();
    // Everything still arrives afterwards.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !devices::run(&d.home, &url, &["sync"]).status.success() {
        assert!(Instant::now() < deadline, "sync works again after the stops");
        thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(d.json(&["sync", "status"])["pending"], 0, "nothing left to push");
}

#[tokio::test]
async fn watch_keeps_going_through_a_stall_and_catches_up_when_the_network_heals() {
    let pg = Pg::migrated().await;
    let (devices, direct) = fleet(&pg, 1, "pro", PW).await;
    let d = &devices[0];
    let proxy = StallProxy::start(pg.info.port);
    let url = proxy.url(&direct, pg.info.port);
    setup(d);
    devices::run(&d.home, &url, &["sync"]);
    let mut watch = spawn(d, &url, &["--json", "sync", "--watch", "--timeout", "2"]);
    let stdout = watch.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stdout);
        let mut line = String::new();
        while std::io::BufRead::read_line(&mut lines, &mut line).unwrap_or(0) > 0 {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
            line.clear();
        }
    });
    let wait = |pred: &dyn Fn(&Value) -> bool, within: Duration, what: &str| -> Value {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(v) if pred(&v) => return v,
                Ok(_) => {}
                Err(_) => panic!("no {what} within {within:?}"),
            }
        }
    };
    wait(&|v| v["event"] == "round", Duration::from_secs(20), "first round");
    proxy.stall_after(300);
    trade(d, 1);
    let failed = wait(&|v| v["event"] == "failed", Duration::from_secs(30), "failed round during the stall");
    assert_eq!(failed["error"]["code"], "unreachable", "the stall has the code of a network failure: {failed}");
    assert!(
        failed["error"]["message"].as_str().unwrap_or_default().contains("stopped answering"),
        "the stall is named: {failed}"
    );
    proxy.heal();
    let pushed = wait(
        &|v| v["event"] == "round" && v["report"]["pushed"].as_u64().unwrap_or(0) > 0,
        Duration::from_secs(60),
        "a round that pushes after the heal",
    );
    assert!(pushed["report"]["pushed"].as_u64().unwrap_or(0) >= 2, "the trade and its fill: {pushed}");
    signal(&watch, "TERM");
    let (code, _) = exits_within(&mut watch, Duration::from_secs(5));
    assert_eq!(code, Some(0), "stops cleanly");
}

#[tokio::test]
async fn a_refused_login_has_its_own_code_stops_watch_and_status_tells_old_errors_from_current() {
    let pg = Pg::migrated().await;
    let (devices, url) = fleet(&pg, 1, "pro", PW).await;
    let d = &devices[0];
    let wrong = url.replacen(PW, "not-the-password", 1);
    let (o, _) = timed(d, &wrong, &["--json", "sync"]);
    assert_eq!(o.status.code(), Some(14), "a refused login exits 14: {}", stderr(&o));
    let err: Value = serde_json::from_slice(&o.stderr).expect("json error");
    assert_eq!(err["error"]["code"], "login_refused", "its own code: {err}");
    assert!(
        err["error"]["message"].as_str().unwrap_or_default().contains("refused this login"),
        "says the server refused the login: {err}"
    );
    let mut watch = spawn(d, &wrong, &["sync", "--watch"]);
    let (code, took) = exits_within(&mut watch, Duration::from_secs(15));
    assert_eq!(code, Some(14), "watch stops on a refused login instead of retrying forever");
    assert!(took < Duration::from_secs(10), "at once: {took:?}");
    let status = d.json(&["sync", "status"]);
    assert_eq!(status["last_error_resolved"], false, "the error is current: {status}");
    assert!(status["last_error"].as_str().unwrap_or_default().contains("refused"), "{status}");
    d.sync();
    let status = d.json(&["sync", "status"]);
    assert_eq!(status["last_error_resolved"], true, "a later round succeeded: {status}");
    let human = String::from_utf8_lossy(&devices::run(&d.home, &url, &["sync", "status"]).stdout).to_string();
    assert!(human.contains("a later round succeeded"), "the status says so: {human}");
    // A removed user is refused the same way.
    let admin = pg.admin().await;
    trenddojo_server::admin::remove_user(&admin, devices::TRADER).await.expect("remove the user");
    let (o, _) = timed(d, &url, &["--json", "sync"]);
    assert_eq!(o.status.code(), Some(14), "a removed user exits 14: {}", stderr(&o));
}

#[tokio::test]
async fn kill_9_at_random_points_of_a_large_download_leaves_a_consistent_store() {
    let pg = Pg::migrated().await;
    let (devices, url) = fleet(&pg, 2, "pro", PW).await;
    let (a, b) = (&devices[0], &devices[1]);
    setup(a);
    // 150 trades, half of them closed: 450 rows to download.
    for n in 0..150 {
        trade(a, n);
    }
    let ids: Vec<String> = a
        .json(&["trade", "list", "--limit", "1000"])
        .as_array()
        .expect("trades")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_string())
        .collect();
    for id in ids.iter().step_by(2) {
        a.json(&["trade", "close", id, "--price", "101"]);
    }
    a.sync();
    let mut rng = rand::thread_rng();
    let mut interrupted = 0;
    for _ in 0..4 {
        // Throw away the second device's copy, then download again and kill it at a random moment.
        let o = devices::run(&b.home, &url, &["--json", "sync", "reset", "--confirm", "reset", "--discard-local"]);
        assert!(o.status.success(), "reset: {}", stderr(&o));
        let o = b.home.run(&["--user", devices::TRADER, "--json", "db", "check"]);
        assert!(o.status.success(), "consistent after the reset: {}", String::from_utf8_lossy(&o.stdout));
        let mut child = spawn(b, &url, &["sync", "reset", "--confirm", "reset"]);
        thread::sleep(Duration::from_millis(rng.gen_range(50..1500)));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        interrupted += usize::from(!status.success());
        let o = b.home.run(&["--json", "db", "check"]);
        let report: Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        assert!(o.status.success(), "db check passes at whatever commit the kill left: {report}");
    }
    // And a pull (not a reset) of a big change, killed midway.
    for id in ids.iter().skip(1).step_by(2) {
        a.json(&["trade", "close", id, "--price", "102"]);
    }
    a.sync();
    let mut child = spawn(b, &url, &["sync"]);
    thread::sleep(Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    let o = b.home.run(&["--json", "db", "check"]);
    assert!(o.status.success(), "db check passes after a killed pull: {}", String::from_utf8_lossy(&o.stdout));
    b.sync();
    let o = b.home.run(&["--json", "db", "check"]);
    let report: Value = serde_json::from_slice(&o.stdout).expect("report");
    assert_eq!(report["awaiting_download"], 0, "the next sync finishes the download: {report}");
    assert_eq!(devices::view(&a.home, &url), devices::view(&b.home, &url), "and both devices agree");
    let _ = interrupted;
}

#[test]
fn the_development_server_keeps_its_port_across_restarts() {
    let home = common::Home::init();
    let first: Value = home.json(&["server", "dev"]);
    let port = first["port"].as_u64().expect("port");
    assert!(home.run(&["server", "stop"]).status.success(), "stop");
    let again: Value = home.json(&["server", "dev"]);
    assert_eq!(again["port"].as_u64(), Some(port), "the same port after a restart: saved logins keep working");
    assert!(home.run(&["server", "stop"]).status.success(), "stop");
    // Another program takes the port meanwhile: a new one, said so, and the profile follows.
    let squatter = TcpListener::bind(("127.0.0.1", u16::try_from(port).expect("port"))).expect("take the port");
    let moved: Value = home.json(&["server", "dev"]);
    let new_port = moved["port"].as_u64().expect("port");
    assert_ne!(new_port, port, "a new port when the old one is taken");
    assert_eq!(moved["moved_from"].as_u64(), Some(port), "and it says where it was");
    let envs = home.json(&["server", "env", "list"]);
    let text = envs.to_string();
    assert!(text.contains(&format!("port={new_port}")), "the development profile names the new port: {text}");
    drop(squatter);
    assert!(home.run(&["server", "stop"]).status.success(), "stop");
}
