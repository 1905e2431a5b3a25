//! Encryption at rest: no plaintext in the store, its WAL or its backups; wrong keys fail cleanly; the OS
//! keyring path works where a Secret Service is running.

use crate::common;

use common::{files_under, stderr, Home};

const MARKERS: [&str; 5] =
    ["ZQXJ", "secret-trader@example.org", "Unforgettable plan about ZQXJ", "Plainaccountname", "SQLite format 3"];

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn no_plaintext_on_disk_anywhere() {
    let h = Home::init();
    h.json(&["user", "add", "--email", "secret-trader@example.org", "--tier", "pro"]);
    h.json(&["account", "add", "--name", "Plainaccountname", "--currency", "USD", "--balance", "1000"]);
    let t = h.json(&[
        "trade",
        "open",
        "--account",
        "Plainaccountname",
        "--symbol",
        "ZQXJ",
        "--side",
        "long",
        "--quantity",
        "1",
        "--price",
        "10",
        "--stop",
        "9.95",
    ]);
    h.json(&["note", "add", "Unforgettable plan about ZQXJ", "--trade", t["id"].as_str().unwrap()]);
    h.json(&["db", "backup", h.dir.path().join("backup.db").to_str().unwrap()]);
    // Keep a connection open so the WAL file exists while we look.
    let store = h.open_store();
    let mut files = files_under(h.dir.path());
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("trenddojo.db")), "the store file exists: {files:?}");
    assert!(files.iter().any(|f| f.ends_with("backup.db")), "the backup exists: {files:?}");
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        if f.extension().is_some_and(|e| e == "json") {
            assert!(!contains(&bytes, "correct horse"), "{} must not hold the passphrase", f.display());
            continue;
        }
        for m in MARKERS {
            assert!(!contains(&bytes, m), "{} contains plaintext {m:?}", f.display());
        }
    }
    drop(store);
}

#[test]
fn wrong_passphrase_is_an_error_not_a_new_store() {
    let h = Home::init();
    let o = h.cmd().env("TRENDDOJO_PASSPHRASE", "not it").args(["db", "status"]).output().unwrap();
    assert_eq!(o.status.code(), Some(8), "wrong key: {}", stderr(&o));
    let o = h
        .cmd()
        .env_remove("TRENDDOJO_PASSPHRASE")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .args(["db", "status"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(8), "no passphrase for a passphrase store: {}", stderr(&o));
    assert!(stderr(&o).contains("TRENDDOJO_PASSPHRASE"), "tells how to unlock: {}", stderr(&o));
    let status = h.json(&["db", "status"]);
    assert_eq!(status["encryption"]["key_method"], "passphrase", "recorded key method");
    assert!(status["encryption"]["cipher_version"].as_str().unwrap().starts_with('4'), "SQLCipher 4: {status}");
}

#[test]
fn passphrase_from_stdin_works() {
    let h = Home::init();
    let mut cmd = h.cmd();
    cmd.env_remove("TRENDDOJO_PASSPHRASE").args(["--json", "--passphrase-stdin", "db", "status"]);
    let o = h.run_with_stdin(cmd, &format!("{}\n", common::PASSPHRASE));
    assert!(o.status.success(), "stdin passphrase unlocks: {}", stderr(&o));
}

/// Runs only where the test script provides a Secret Service (`dbus-run-session` + gnome-keyring): there
/// `TRENDDOJO_TEST_KEYRING=1` is set and this test must pass; nothing here is skipped silently.
#[test]
fn keyring_store_round_trip() {
    if std::env::var("TRENDDOJO_TEST_KEYRING").as_deref() != Ok("1") {
        eprintln!(
            "keyring test not requested (TRENDDOJO_TEST_KEYRING != 1); scripts/test.sh runs it under a Secret Service"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_trenddojo"))
            .env("TRENDDOJO_HOME", dir.path().join("kr"))
            .env_remove("TRENDDOJO_PASSPHRASE")
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["init", "--tier", "pro"]);
    assert!(o.status.success(), "init with the keyring: {}", stderr(&o));
    let o = run(&["--json", "db", "status"]);
    assert!(o.status.success(), "reopen with the key from the keyring: {}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["encryption"]["key_method"], "keyring", "the key lives in the keyring");
    let info = std::fs::read_to_string(dir.path().join("kr/keyinfo.json")).unwrap();
    assert!(!info.contains("key\":"), "keyinfo.json holds no key: {info}");
    let o = run(&["--json", "account", "add", "--name", "K", "--currency", "EUR", "--balance", "1"]);
    assert!(o.status.success(), "writes work: {}", stderr(&o));
}
