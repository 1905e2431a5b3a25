//! Background sync (`trenddojo sync --watch`), end to end with the real binary and a real PostgreSQL:
//! a change pushed by one device reaches a watching device through a notification (no polling); a local
//! change on the watching device (made by another process on the same store) is pushed after the
//! debounce; when the network goes down the watcher retries with growing delays *without* waiting for a
//! new write, and when it comes back it reconnects and converges; SIGTERM stops it cleanly.

use crate::common;
use crate::devices;
use crate::pg;

use std::io::{BufRead, BufReader};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::Home;
use devices::{json, pump};
use pg::Pg;
use serde_json::Value;

const PW: &str = "watch-password";

/// A loopback proxy that can be switched off: off, it cuts every open connection and drops new ones (a
/// dropped Wi-Fi), on again, it forwards as before.
struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let down = Arc::new(AtomicBool::new(false));
        let live: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let (d, l) = (down.clone(), live.clone());
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if d.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                {
                    let mut live = l.lock().expect("lock");
                    live.push(client.try_clone().expect("clone"));
                    live.push(server.try_clone().expect("clone"));
                }
                let (a, b) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
                thread::spawn(move || pump(a, b, None));
                thread::spawn(move || pump(server, client, None));
            }
        });
        Proxy { port, down, live }
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if down {
            for s in self.live.lock().expect("lock").drain(..) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

fn user_url(p: &trenddojo_server::admin::Provisioned, port: u16) -> String {
    format!("postgresql://{}:{PW}@127.0.0.1:{port}/{}", p.role, trenddojo_server::cluster::DATABASE)
}

/// The watcher's events (JSON lines on stdout), as they arrive.
struct Watcher {
    child: Child,
    events: Receiver<(Instant, Value)>,
    seen: Vec<Value>,
}

impl Watcher {
    fn start(home: &Home, url: &str) -> Watcher {
        let mut c = home.cmd();
        c.env("TRENDDOJO_SERVER_URL", url)
            .args(["--json", "--user", "me@example.com", "sync", "--watch"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = c.spawn().expect("start sync --watch");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        thread::spawn(move || {
            // Events are one JSON document per line; the closing summary is pretty-printed over several.
            let mut pending = String::new();
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                pending.push_str(&line);
                pending.push('\n');
                if let Ok(v) = serde_json::from_str::<Value>(&pending) {
                    pending.clear();
                    if tx.send((Instant::now(), v)).is_err() {
                        break;
                    }
                }
            }
        });
        Watcher { child, events: rx, seen: Vec::new() }
    }

    /// Wait (up to `within`) for an event that `pred` accepts; returns it and when it arrived.
    fn wait_for(&mut self, what: &str, within: Duration, pred: impl Fn(&Value) -> bool) -> (Instant, Value) {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok((at, v)) => {
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return (at, v);
                    }
                }
                Err(_) => panic!("no {what} within {within:?}; events so far: {:#?}", self.seen),
            }
        }
    }
}

#[tokio::test]
async fn watch_follows_notifications_local_changes_and_outages() {
    let pg = Pg::migrated().await;
    let laptop = Home::init();
    let me = laptop.json(&["user", "list"]);
    let my_id: uuid::Uuid = me[0]["id"].as_str().expect("user id").parse().expect("uuid");
    let admin = pg.admin().await;
    let config: tokio_postgres::Config = pg.service().parse().expect("config");
    let p = trenddojo_server::admin::add_user_with_id(&admin, &config, my_id, "me@example.com", "pro", None, PW)
        .await
        .expect("provision");
    let direct = user_url(&p, pg.info.port);
    let proxy = Proxy::start(pg.info.port);
    let via_proxy = user_url(&p, proxy.port);

    json(&laptop, &direct, &["account", "add", "--name", "Swing", "--currency", "USD", "--balance", "25000"]);
    json(&laptop, &direct, &["sync"]);
    let desktop = Home { dir: tempfile::tempdir().expect("dir") };
    let o = desktop.run(&["init", "--email", "desktop-owner@example.com", "--tier", "free"]);
    assert!(o.status.success(), "init the desktop: {}", String::from_utf8_lossy(&o.stderr));
    let mut c = desktop.cmd();
    c.env("TRENDDOJO_SERVER_URL", &direct).args(["--json", "sync"]);
    assert!(c.output().expect("first desktop sync").status.success(), "the desktop's first sync brings the user");

    let mut w = Watcher::start(&desktop, &via_proxy);
    w.wait_for("notifications on", Duration::from_secs(20), |e| e["event"] == "listening" && e["on"] == true);
    w.wait_for("the first round", Duration::from_secs(20), |e| e["event"] == "round");

    // 1. A change from the laptop reaches the watching desktop by notification.
    let t = json(
        &laptop,
        &direct,
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
            "410.5",
            "--stop",
            "400",
        ],
    );
    let trade = t["id"].as_str().expect("trade id").to_string();
    let pushed_at = Instant::now();
    json(&laptop, &direct, &["sync"]);
    let (at, e) = w.wait_for("a round pulling the laptop's trade", Duration::from_secs(20), |e| {
        e["event"] == "round" && e["report"]["pulled"].as_u64().unwrap_or(0) > 0
    });
    assert_eq!(e["trigger"], "notification", "the pull was started by the server's notification: {e}");
    println!("laptop push -> desktop pulled (notification): {} ms", at.duration_since(pushed_at).as_millis());
    let shown = json(&desktop, &direct, &["trade", "show", &trade]);
    assert_eq!(shown["symbol"], "MSFT", "the desktop has the laptop's trade while watching: {shown}");

    // 2. A change made on the desktop by another process is pushed after the debounce.
    json(&desktop, &direct, &["note", "add", "Waited for the pullback.", "--trade", &trade]);
    let (_, e) = w.wait_for("a round pushing the desktop's note", Duration::from_secs(20), |e| {
        e["event"] == "round" && e["report"]["pushed"].as_u64().unwrap_or(0) > 0
    });
    assert_eq!(e["trigger"], "local_change", "the push was started by the local change: {e}");
    json(&laptop, &direct, &["sync"]);
    let notes = json(&laptop, &direct, &["note", "list", "--trade", &trade]);
    assert!(notes.to_string().contains("Waited for the pullback."), "the laptop received the desktop's note: {notes}");

    // 3. The network drops: one local write, then retries with growing delays without further writes.
    proxy.set_down(true);
    w.wait_for("notifications off", Duration::from_secs(20), |e| e["event"] == "listening" && e["on"] == false);
    json(&desktop, &direct, &["trade", "edit", &trade, "--setup", "breakout"]);
    let mut delays = Vec::new();
    for _ in 0..3 {
        let (_, e) = w.wait_for("a failed round", Duration::from_secs(30), |e| e["event"] == "failed");
        delays.push(e["retry_in_ms"].as_u64().expect("retry delay"));
    }
    assert!(
        delays.windows(2).all(|d| d[1] > d[0]) && delays[0] >= 800 && delays[2] >= 3200,
        "retries back off exponentially (1 s, 2 s, 4 s, less up to a fifth of jitter): {delays:?}"
    );

    // 4. The network is back: the watcher reconnects and pushes the edit it was holding.
    // The round and the listener's reconnection race each other: both must come, in either order.
    let listening_on = |e: &Value| e["event"] == "listening" && e["on"] == true;
    let mark = w.seen.len();
    proxy.set_down(false);
    w.wait_for("a round pushing the held edit", Duration::from_secs(30), |e| {
        e["event"] == "round" && e["report"]["pushed"].as_u64().unwrap_or(0) > 0
    });
    if !w.seen[mark..].iter().any(listening_on) {
        w.wait_for("notifications on again", Duration::from_secs(30), listening_on);
    }
    let status = json(&desktop, &direct, &["sync", "status"]);
    assert_eq!(status["pending"], 0, "nothing left to push after reconnecting: {status}");
    assert!(status["last_error"].as_str().is_some(), "the outage's error is recorded: {status}");
    assert!(status["last_success"].as_str() > status["last_error_at"].as_str(), "a success after it: {status}");
    json(&laptop, &direct, &["sync"]);
    let shown = json(&laptop, &direct, &["trade", "show", &trade]);
    assert_eq!(shown["setup"], "breakout", "the edit made during the outage arrived: {shown}");

    // 5. SIGTERM stops the watcher between rounds, with a clean exit.
    let pid = w.child.id().to_string();
    let k = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(k.success(), "signal sent");
    let (_, last) = w.wait_for("the closing summary", Duration::from_secs(20), |e| e["stopped"] == true);
    assert!(last["rounds"].as_u64().unwrap_or(0) >= 4, "rounds counted: {last}");
    let status = w.child.wait().expect("wait for the watcher");
    assert!(status.success(), "sync --watch exits 0 on SIGTERM: {status:?}");
}
