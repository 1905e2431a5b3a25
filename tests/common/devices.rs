//! One trader's devices driving the real `trenddojo` binary against a server: commands run with the
//! server URL and the trader's sign-in, JSON results, the view every device must agree on, and a byte
//! pump for the loopback proxies that break the network between them.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::common::Home;

/// The trader every device signs in as.
pub const TRADER: &str = "me@example.com";

/// Run a command on `home` as the trader, syncing with `url`.
pub fn run(home: &Home, url: &str, args: &[&str]) -> Output {
    let mut c = home.cmd();
    c.env("TRENDDOJO_SERVER_URL", url).args(["--user", TRADER]).args(args);
    c.output().expect("run trenddojo")
}

/// Run with `--json`, assert success, and parse stdout.
pub fn json(home: &Home, url: &str, args: &[&str]) -> Value {
    let o = run(home, url, &[&["--json"], args].concat());
    assert!(o.status.success(), "`{}` failed: {}", args.join(" "), String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("json")
}

/// Run with `--json`, assert it fails with error `code`, and return the error's message.
pub fn fails(home: &Home, url: &str, args: &[&str], code: &str) -> String {
    let o = run(home, url, &[&["--json"], args].concat());
    assert!(!o.status.success(), "`{}` must fail", args.join(" "));
    let err: Value = serde_json::from_slice(&o.stderr)
        .or_else(|_| serde_json::from_slice(&o.stdout))
        .unwrap_or_else(|_| panic!("`{}`: a JSON error, got {}", args.join(" "), String::from_utf8_lossy(&o.stderr)));
    assert_eq!(err["error"]["code"], code, "`{}` fails with {code}: {err}", args.join(" "));
    err["error"]["message"].as_str().unwrap_or_default().to_string()
}

/// The trader's synced data as this device sees it: accounts and trades with their executions.
pub fn view(home: &Home, url: &str) -> Value {
    let trades = json(home, url, &["trade", "list"]);
    let shown: Vec<Value> = trades
        .as_array()
        .expect("array")
        .iter()
        .map(|t| json(home, url, &["trade", "show", t["id"].as_str().expect("id")]))
        .collect();
    serde_json::json!({ "accounts": json(home, url, &["account", "list"]), "trades": shown })
}

/// A device: its data folder and the server URL it syncs with.
pub struct Device {
    pub home: Home,
    pub url: String,
}

impl Device {
    pub fn run(&self, args: &[&str]) -> Output {
        run(&self.home, &self.url, args)
    }

    pub fn json(&self, args: &[&str]) -> Value {
        json(&self.home, &self.url, args)
    }

    pub fn fails(&self, args: &[&str], code: &str) -> String {
        fails(&self.home, &self.url, args, code)
    }

    pub fn sync(&self) -> Value {
        self.json(&["sync"])
    }

    pub fn view(&self) -> Value {
        view(&self.home, &self.url)
    }
}

/// Copy bytes from one socket to the other until either closes. With `limit` (a byte budget and a
/// counter), the copy stops after that many bytes when the budget is set (> 0), counting the cut.
pub fn pump(mut from: TcpStream, mut to: TcpStream, limit: Option<(Arc<AtomicUsize>, Arc<AtomicUsize>)>) {
    let mut buf = [0u8; 4096];
    let mut total = 0usize;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some((cut, cuts)) = &limit {
            let c = cut.load(Ordering::SeqCst);
            if c > 0 && total + n > c {
                let _ = to.write_all(&buf[..c.saturating_sub(total)]);
                cuts.fetch_add(1, Ordering::SeqCst);
                break;
            }
        }
        total += n;
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// A trader's devices on one server: the first created offline (`Home::init`, the trader `me@example.com`)
/// and provisioned with its user id and `tier`, the others new stores whose first sync brings the trader
/// down. Returns the devices (each already synced once) and the trader's URL (role and password).
pub async fn fleet(pg: &crate::pg::Pg, n: usize, tier: &str, password: &str) -> (Vec<Device>, String) {
    let first = crate::common::Home::init();
    let id = first.json(&["user", "list"])[0]["id"].as_str().expect("user id").to_string();
    let admin = pg.admin().await;
    let config: tokio_postgres::Config = pg.service().parse().expect("config");
    let p = trenddojo_server::admin::add_user_with_id(
        &admin,
        &config,
        id.parse().expect("uuid"),
        TRADER,
        tier,
        None,
        password,
    )
    .await
    .expect("provision the trader");
    let url = p.url.replacen("postgresql://", &format!("postgresql://{}:{password}@", p.role), 1).replacen(
        &format!("@{}@", p.role),
        "@",
        1,
    );
    let mut devices = vec![Device { home: first, url: url.clone() }];
    devices[0].sync();
    for i in 1..n {
        let home = crate::common::Home { dir: tempfile::tempdir().expect("dir") };
        let o = home.run(&["init", "--email", &format!("owner{i}@example.com"), "--tier", "free"]);
        assert!(o.status.success(), "init device {i}: {}", String::from_utf8_lossy(&o.stderr));
        let d = Device { home, url: url.clone() };
        let o = d.home.cmd().env("TRENDDOJO_SERVER_URL", &url).args(["--json", "sync"]).output().expect("sync");
        assert!(o.status.success(), "device {i}'s first sync: {}", String::from_utf8_lossy(&o.stderr));
        devices.push(d);
    }
    (devices, url)
}
