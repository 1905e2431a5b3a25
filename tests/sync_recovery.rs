//! The user's recovery tools around sync, through the real binary and a real PostgreSQL: restoring a value
//! a merge overrode (`sync conflicts restore`), re-downloading everything (`sync reset`, which needs a
//! confirmation and refuses to drop unpushed changes unless told), and signing a device in
//! (`sync login`: the password is checked first and never written to a file).

use crate::common;
use crate::devices;
use crate::pg;

use common::Home;
use devices::Device;
use pg::Pg;
use serde_json::Value;

const PW: &str = "recovery-password";

#[tokio::test]
async fn restore_reset_and_login() {
    let pg = Pg::migrated().await;
    let laptop_home = Home::init();
    let me = laptop_home.json(&["user", "list"]);
    let my_id: uuid::Uuid = me[0]["id"].as_str().expect("id").parse().expect("uuid");
    let admin = pg.admin().await;
    let config: tokio_postgres::Config = pg.service().parse().expect("config");
    let p = trenddojo_server::admin::add_user_with_id(&admin, &config, my_id, "me@example.com", "pro", None, PW)
        .await
        .expect("provision");
    let place = format!("127.0.0.1:{}/{}", pg.info.port, trenddojo_server::cluster::DATABASE);
    let url = format!("postgresql://{}:{PW}@{place}", p.role);
    let laptop = Device { home: laptop_home, url: url.clone() };
    laptop.json(&["account", "add", "--name", "Swing", "--currency", "USD", "--balance", "25000"]);
    let t = laptop.json(&[
        "trade",
        "open",
        "--account",
        "Swing",
        "--symbol",
        "NVDA",
        "--side",
        "long",
        "--quantity",
        "5",
        "--price",
        "120",
        "--stop",
        "110",
    ]);
    let trade = t["id"].as_str().expect("trade id").to_string();
    laptop.json(&["sync"]);
    let desktop_home = Home { dir: tempfile::tempdir().expect("dir") };
    let o = desktop_home.run(&["init", "--email", "owner@example.com", "--tier", "free"]);
    assert!(o.status.success(), "init: {}", String::from_utf8_lossy(&o.stderr));
    let mut c = desktop_home.cmd();
    c.env("TRENDDOJO_SERVER_URL", &url).args(["sync"]);
    assert!(c.output().expect("sync").status.success(), "the desktop's first sync");
    let desktop = Device { home: desktop_home, url: url.clone() };

    // A conflict lost on the desktop: it edits the setup first (offline), the laptop later, and the
    // later stamp wins everywhere.
    desktop.json(&["trade", "edit", &trade, "--setup", "pullback"]);
    std::thread::sleep(std::time::Duration::from_millis(5));
    laptop.json(&["trade", "edit", &trade, "--setup", "breakout"]);
    laptop.json(&["sync"]);
    desktop.json(&["sync"]);
    assert_eq!(desktop.json(&["trade", "show", &trade])["setup"], "breakout", "the later edit wins on the desktop");
    let log = desktop.json(&["sync", "conflicts"]);
    let entries: Vec<&Value> = log
        .as_array()
        .expect("array")
        .iter()
        .filter(|c| c["field"] == "setup" && c["row_id"] == trade.as_str())
        .collect();
    assert_eq!(entries.len(), 1, "the overridden setup is logged once: {log}");
    assert_eq!(entries[0]["lost_value"], "\"pullback\"", "the lost value is kept: {log}");
    let seq = entries[0]["seq"].as_i64().expect("seq").to_string();

    // Restore it: a new edit on the desktop that wins on both devices.
    let r = desktop.json(&["sync", "conflicts", "restore", &seq]);
    assert_eq!(r["field"], "setup", "restored entry: {r}");
    assert_eq!(desktop.json(&["trade", "show", &trade])["setup"], "pullback", "restored locally");
    desktop.json(&["sync"]);
    laptop.json(&["sync"]);
    assert_eq!(laptop.json(&["trade", "show", &trade])["setup"], "pullback", "the restore reached the laptop");
    let msg = desktop.fails(&["sync", "conflicts", "restore", &seq], "conflict");
    assert!(msg.contains("already restored"), "a second restore is refused: {msg}");
    desktop.fails(&["sync", "conflicts", "restore", "9999"], "not_found");
    let log = desktop.json(&["sync", "conflicts"]);
    let entry = log
        .as_array()
        .expect("array")
        .iter()
        .find(|c| c["seq"].as_i64().map(|n| n.to_string()) == Some(seq.clone()))
        .expect("entry");
    assert!(entry["restored_at"].is_string(), "the entry is marked restored: {log}");

    // Reset: needs the confirmation word; refuses to drop an unpushed edit; with --discard-local the
    // device holds exactly the server's data again.
    desktop.json(&["trade", "edit", &trade, "--setup", "unpushed"]);
    let before = desktop.home.dump();
    desktop.fails(&["sync", "reset"], "confirmation_required");
    let msg = desktop.fails(&["sync", "reset", "--confirm", "reset"], "conflict");
    assert!(msg.contains("not on the server yet"), "reset names what it would drop: {msg}");
    assert_eq!(desktop.home.dump(), before, "a refused reset changes nothing");
    let r = desktop.json(&["sync", "reset", "--confirm", "reset", "--discard-local"]);
    assert!(r["pulled"].as_u64().unwrap_or(0) >= 4, "the user's rows came down again: {r}");
    assert_eq!(desktop.view(), laptop.view(), "after a reset the desktop shows exactly the server's data");
    assert_eq!(desktop.json(&["sync", "status"])["pending"], 0, "nothing pending after a reset");
    desktop.json(&["sync"]);
    laptop.json(&["sync"]);
    assert_eq!(
        laptop.json(&["trade", "show", &trade])["setup"],
        "pullback",
        "the dropped edit never reached the server"
    );

    // Login: a wrong password is refused before anything is saved; a URL carrying a password is refused;
    // the right one is saved without the password, and sync works from it.
    let login_home = &desktop.home;
    let no_env = |args: &[&str], stdin: &str| {
        let mut c = login_home.cmd();
        c.env_remove("TRENDDOJO_SERVER_URL").args(["--json", "--user", "me@example.com"]).args(args);
        login_home.run_with_stdin(c, stdin)
    };
    let server = format!("postgresql://{}@{place}", p.role);
    let o = no_env(&["sync", "login", "--server", &server, "--password-stdin"], "wrong-password\n");
    assert!(!o.status.success(), "a wrong password is refused");
    assert!(!login_home.path().join("sync.json").exists(), "nothing saved after a refused login");
    let o = no_env(&["sync", "login", "--server", &url, "--password-stdin"], &format!("{PW}\n"));
    assert!(!o.status.success(), "a URL with a password is refused");
    let o = no_env(&["sync", "login", "--server", &server, "--password-stdin"], &format!("{PW}\n"));
    assert!(o.status.success(), "login: {}", String::from_utf8_lossy(&o.stderr));
    let saved = std::fs::read_to_string(login_home.path().join("sync.json")).expect("sync.json");
    assert!(!saved.contains(PW), "the password is not in the file: {saved}");
    let login: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(login["user_id"], my_id.to_string(), "signed in as the trader: {login}");
    let mut c = login_home.cmd();
    c.env_remove("TRENDDOJO_SERVER_URL").args(["--json", "--user", "me@example.com", "sync"]);
    if login["keyring"] != true {
        // No OS keyring here: the password comes from the environment.
        c.env("TRENDDOJO_SYNC_PASSWORD", PW);
    }
    let o = c.output().expect("sync");
    assert!(o.status.success(), "sync from the saved login: {}", String::from_utf8_lossy(&o.stderr));
    let mut c = login_home.cmd();
    c.env_remove("TRENDDOJO_SERVER_URL").args(["--json", "--user", "me@example.com", "sync", "status"]);
    let status: Value = serde_json::from_slice(&c.output().expect("status").stdout).expect("json");
    assert_eq!(status["server"], format!("{}@{place}", p.role), "status names the server, no password: {status}");
}
