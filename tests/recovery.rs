//! Never losing a trader's data: every test starts from the failure (a lost data folder, a forgotten
//! passphrase, kill -9 in the middle of a backup, a restore or a migration, truncated, zeroed and flipped
//! bytes in the store, its WAL and its backups, a full disk) and runs the real `trenddojo` binary on real
//! encrypted files. Each case checks the message, the exit code, and that nothing committed was lost.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{files_under, stderr, Home, PASSPHRASE};
use serde_json::Value;
use trenddojo_store::{KeySource, MigrateOnOpen, Passphrase, Store, StoreError};

/// The binary, on data folder `home`, with `passphrase` (or none: the OS keyring).
fn td(home: &Path, passphrase: Option<&str>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trenddojo"));
    c.env("TRENDDOJO_HOME", home).env_remove("TRENDDOJO_USER").stdin(Stdio::null());
    match passphrase {
        Some(p) => c.env("TRENDDOJO_PASSPHRASE", p),
        None => c.env_remove("TRENDDOJO_PASSPHRASE"),
    };
    c
}

/// `td` without any keyring: a machine with no Secret Service.
fn td_no_keyring(home: &Path, passphrase: Option<&str>) -> Command {
    let mut c = td(home, passphrase);
    c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    c
}

fn run(mut c: Command, args: &[&str]) -> Output {
    c.args(args).output().expect("run trenddojo")
}

fn run_stdin(mut c: Command, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    c.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn trenddojo");
    if let Err(e) = child.stdin.take().expect("stdin").write_all(input.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    child.wait_with_output().expect("wait for trenddojo")
}

fn ok_json(o: &Output, what: &str) -> Value {
    assert!(o.status.success(), "{what} must succeed: {}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{what}: stdout is not JSON ({e})"))
}

fn key_of(p: &str) -> KeySource {
    KeySource::Passphrase(Passphrase::new(p).expect("passphrase"))
}

/// Every row of every table of the store at `home` (refinery's history left out), opened with `p`.
fn dump_at(home: &Path, p: &str) -> String {
    let store = Store::open(home, &key_of(p), MigrateOnOpen::No).expect("open store for a dump");
    common::dump_store(&store, &[])
}

fn account_names(home: &Path, p: &str) -> Vec<String> {
    let v = ok_json(&run(td(home, Some(p)), &["--json", "account", "list"]), "account list");
    let mut names: Vec<String> =
        v.as_array().expect("array").iter().map(|a| a["name"].as_str().expect("name").to_string()).collect();
    names.sort();
    names
}

fn recovery_key(home: &Path, p: Option<&str>) -> String {
    let v = ok_json(&run(td(home, p), &["--json", "key", "show-recovery"]), "key show-recovery");
    v["recovery_key"].as_str().expect("recovery_key").to_string()
}

fn sha(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    format!(
        "{}:{:x}",
        bytes.len(),
        bytes.iter().fold(0xcbf29ce484222325u64, |a, b| (a ^ u64::from(*b)).wrapping_mul(0x100000001b3))
    )
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}

/// Add a journal with a little of everything: an account, an open and a closed trade, a note.
fn some_trading(h: &Home) {
    h.json(&["account", "add", "--name", "Swing", "--currency", "USD", "--balance", "25000"]);
    let t = h.json(&[
        "trade",
        "open",
        "--account",
        "Swing",
        "--symbol",
        "AAPL",
        "--side",
        "long",
        "--quantity",
        "10",
        "--price",
        "187.5",
        "--stop",
        "183.2",
        "--fees",
        "1",
    ]);
    let id = t["id"].as_str().expect("trade id").to_string();
    h.json(&["trade", "close", &id, "--price", "195.4", "--fees", "1"]);
    h.json(&["note", "add", "Waited for the retest.", "--trade", &id, "--kind", "review"]);
    h.json(&[
        "trade",
        "open",
        "--account",
        "Swing",
        "--symbol",
        "MSFT",
        "--side",
        "long",
        "--quantity",
        "3",
        "--price",
        "410.25",
        "--stop",
        "400",
    ]);
}

/// Make the store large enough (tens of MB) that backups, restores and migrations take long enough to
/// be killed in the middle: notes with long bodies, written through the store (triggers and all).
fn ballast(home: &Path, notes: usize) {
    let store = Store::open(home, &common::key(), MigrateOnOpen::No).expect("open");
    store
        .write(|tx| {
            let user: String =
                tx.query_row("SELECT value FROM store_meta WHERE key = 'active_user'", [], |r| r.get(0))?;
            for i in 0..notes {
                tx.execute(
                    "INSERT INTO trade_notes (id, user_id, kind, body, created_at, updated_at, updated_hlc) \
                     VALUES (?1, ?2, 'journal', hex(randomblob(4000)), ?3, ?3, ?4)",
                    trenddojo_store::sql::params![
                        uuid::Uuid::now_v7().to_string(),
                        user,
                        format!("2026-01-01T00:00:{:02}.{:06}Z", i % 60, i),
                        tx.hlc
                    ],
                )?;
            }
            Ok::<_, StoreError>(())
        })
        .expect("ballast");
}

// ---------------------------------------------------------------------------------------------------
// Backups a trader can actually restore
// ---------------------------------------------------------------------------------------------------

#[test]
fn a_lost_data_folder_comes_back_from_a_backup_with_the_passphrase_or_the_recovery_key() {
    let h = Home::init();
    some_trading(&h);
    let code = recovery_key(&h.path(), Some(PASSPHRASE));
    let backup = h.dir.path().join("usb").join("journal.tdbackup");
    std::fs::create_dir_all(backup.parent().expect("folder")).expect("mkdir");
    h.json(&["db", "backup", backup.to_str().expect("utf-8")]);
    let before = h.dump();
    let stats_before = h.json(&["stats"]);

    // The machine is gone: a fresh home, no keyinfo.json, no keyring.
    std::fs::remove_dir_all(h.path()).expect("lose the data folder");
    let fresh = h.dir.path().join("new-laptop");
    let o = run(td_no_keyring(&fresh, Some(PASSPHRASE)), &["--json", "db", "restore", backup.to_str().expect("utf-8")]);
    let r = ok_json(&o, "restore with the passphrase on a fresh home");
    assert_eq!(r["unlocked_with"], "passphrase", "the backup's own passphrase wrap opened it: {r}");
    assert_eq!(r["keyinfo_created"], true, "keyinfo.json is recreated: {r}");
    assert!(r["previous_data_saved_to"].is_null(), "nothing to move aside on a fresh home: {r}");
    assert_eq!(dump_at(&fresh, PASSPHRASE), before, "every row is back");
    let stats_after = ok_json(&run(td(&fresh, Some(PASSPHRASE)), &["--json", "stats"]), "stats");
    assert_eq!(stats_after, stats_before, "statistics are equal");
    #[cfg(unix)]
    {
        assert_eq!(mode(&fresh), 0o700, "the new data folder is private");
        assert_eq!(mode(&fresh.join("keyinfo.json")), 0o600, "keyinfo.json is private");
        assert_eq!(mode(&fresh.join("trenddojo.db")), 0o600, "the store is private");
    }

    // Another fresh machine, and the passphrase is forgotten: the recovery key opens the backup and a new
    // passphrase protects the restored store.
    let other = h.dir.path().join("spare-laptop");
    let o = run_stdin(
        td_no_keyring(&other, Some("a brand new passphrase")),
        &["--json", "--recovery-key-stdin", "db", "restore", backup.to_str().expect("utf-8")],
        &format!("{code}\n"),
    );
    let r = ok_json(&o, "restore with the recovery key on a fresh home");
    assert_eq!(r["unlocked_with"], "recovery_key", "the recovery key opened it: {r}");
    assert_eq!(dump_at(&other, "a brand new passphrase"), before, "every row is back, under the new passphrase");
    let o = run(td(&other, Some(PASSPHRASE)), &["db", "status"]);
    assert_eq!(o.status.code(), Some(8), "the old passphrase does not open the new copy: {}", stderr(&o));
    let o = run_stdin(td_no_keyring(&other, None), &["--recovery-key-stdin", "db", "status"], &format!("{code}\n"));
    assert!(o.status.success(), "the recovery key still unlocks the restored store: {}", stderr(&o));
    let text = std::fs::read_to_string(other.join("keyinfo.json")).expect("keyinfo");
    assert!(!text.contains(&code) && !text.contains("a brand new passphrase"), "no secret in keyinfo.json: {text}");
}

#[test]
fn a_wrong_recovery_key_or_passphrase_is_refused_and_creates_nothing() {
    let h = Home::init();
    some_trading(&h);
    let backup = h.dir.path().join("b.tdbackup");
    h.json(&["db", "backup", backup.to_str().expect("utf-8")]);
    let fresh = h.dir.path().join("fresh");
    let b = backup.to_str().expect("utf-8");

    // A well-formed recovery key that belongs to another store.
    let other = Home::init();
    let foreign = recovery_key(&other.path(), Some(PASSPHRASE));
    let o = run_stdin(
        td_no_keyring(&fresh, Some("x")),
        &["--recovery-key-stdin", "db", "restore", b],
        &format!("{foreign}\n"),
    );
    assert_eq!(o.status.code(), Some(8), "a wrong recovery key is a wrong key: {}", stderr(&o));
    assert!(stderr(&o).contains("the recovery key does not unlock the backup"), "says which secret: {}", stderr(&o));
    assert!(!stderr(&o).contains(&foreign), "the key typed is never echoed: {}", stderr(&o));

    // A typo is caught by the checksum, before any cryptography.
    let mut typo: Vec<char> = recovery_key(&h.path(), Some(PASSPHRASE)).chars().collect();
    typo[3] = if typo[3] == 'A' { 'B' } else { 'A' };
    let typo: String = typo.into_iter().collect();
    let o = run_stdin(
        td_no_keyring(&fresh, Some("x")),
        &["--recovery-key-stdin", "db", "restore", b],
        &format!("{typo}\n"),
    );
    assert_eq!(o.status.code(), Some(2), "a mistyped recovery key is invalid input: {}", stderr(&o));
    assert!(stderr(&o).contains("mistyped"), "says it is a typo: {}", stderr(&o));

    let o = run(td_no_keyring(&fresh, Some("not the passphrase")), &["db", "restore", b]);
    assert_eq!(o.status.code(), Some(8), "a wrong passphrase: {}", stderr(&o));
    assert!(stderr(&o).contains("the passphrase does not unlock the backup"), "clear: {}", stderr(&o));
    let o = run(td_no_keyring(&fresh, None), &["db", "restore", b]);
    assert_eq!(o.status.code(), Some(8), "no secret at all: {}", stderr(&o));
    assert!(stderr(&o).contains("recovery key"), "says what would open it: {}", stderr(&o));
    assert!(!fresh.exists(), "a refused restore creates no data folder");
}

#[test]
fn changing_the_passphrase_keeps_old_backups_openable() {
    let h = Home::init();
    some_trading(&h);
    let code = recovery_key(&h.path(), Some(PASSPHRASE));
    let old_backup = h.dir.path().join("old.tdbackup");
    h.json(&["db", "backup", old_backup.to_str().expect("utf-8")]);
    let old_dump = h.dump();

    let o = run_stdin(
        td(&h.path(), Some(PASSPHRASE)),
        &["key", "change-passphrase", "--new-passphrase-stdin"],
        "second passphrase\n",
    );
    assert!(o.status.success(), "change the passphrase: {}", stderr(&o));
    let o = run(td(&h.path(), Some(PASSPHRASE)), &["db", "status"]);
    assert_eq!(o.status.code(), Some(8), "the old passphrase no longer opens the store: {}", stderr(&o));
    assert_eq!(dump_at(&h.path(), "second passphrase"), old_dump, "nothing was re-encrypted or lost");
    run(
        td(&h.path(), Some("second passphrase")),
        &["account", "add", "--name", "Later", "--currency", "EUR", "--balance", "5"],
    );
    let new_backup = h.dir.path().join("new.tdbackup");
    let o = run(td(&h.path(), Some("second passphrase")), &["db", "backup", new_backup.to_str().expect("utf-8")]);
    assert!(o.status.success(), "backup under the new passphrase: {}", stderr(&o));

    let ob = old_backup.to_str().expect("utf-8");
    let nb = new_backup.to_str().expect("utf-8");
    let o = run(td_no_keyring(&h.dir.path().join("a"), Some(PASSPHRASE)), &["db", "restore", ob]);
    assert!(o.status.success(), "an old backup opens with the passphrase of its day: {}", stderr(&o));
    let o = run(td_no_keyring(&h.dir.path().join("b"), Some("second passphrase")), &["db", "restore", ob]);
    assert_eq!(o.status.code(), Some(8), "but not with today's passphrase: {}", stderr(&o));
    let o = run_stdin(
        td_no_keyring(&h.dir.path().join("c"), Some("x")),
        &["--recovery-key-stdin", "db", "restore", ob],
        &format!("{code}\n"),
    );
    assert!(o.status.success(), "the recovery key opens the old backup: {}", stderr(&o));
    let o = run(td_no_keyring(&h.dir.path().join("d"), Some("second passphrase")), &["db", "restore", nb]);
    assert!(o.status.success(), "a new backup opens with the new passphrase: {}", stderr(&o));
    let o = run_stdin(
        td_no_keyring(&h.dir.path().join("e"), Some("x")),
        &["--recovery-key-stdin", "db", "restore", nb],
        &format!("{code}\n"),
    );
    assert!(o.status.success(), "and with the same recovery key: {}", stderr(&o));
    // The current store restores its own old backup without any other secret: same key, older passphrase.
    let o = run(td(&h.path(), Some("second passphrase")), &["--json", "db", "restore", ob]);
    let r = ok_json(&o, "restore an old backup into the store");
    assert_eq!(r["unlocked_with"], "store_key", "the store's own key opens its old backups: {r}");
    assert_eq!(account_names(&h.path(), "second passphrase"), vec!["Swing"], "back to the old backup's data");
}

#[test]
fn the_recovery_key_is_shown_until_confirmed_and_refused_afterwards() {
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("h");
    let init = ok_json(&run(td(&home, Some("pw")), &["--json", "init", "--tier", "pro"]), "init");
    let code = init["recovery_key"].as_str().expect("init --json prints the recovery key").to_string();
    assert_eq!(code.len(), 69, "14 groups of 4: {code}");
    let human = run(td(&dir.path().join("h2"), Some("pw")), &["init"]);
    let other_code = recovery_key(&dir.path().join("h2"), Some("pw"));
    assert!(String::from_utf8_lossy(&human.stdout).contains(&other_code), "human output shows it");
    assert!(!stderr(&human).contains(&other_code), "never on stderr, where logs collect");
    assert_eq!(recovery_key(&home, Some("pw")), code, "shown again until confirmed");

    let o = run_stdin(td(&home, Some("pw")), &["key", "confirm-recovery"], &format!("{other_code}\n"));
    assert_eq!(o.status.code(), Some(8), "another store's key does not confirm: {}", stderr(&o));
    let o = run_stdin(
        td(&home, Some("pw")),
        &["key", "confirm-recovery"],
        &format!("{}\n", code.to_lowercase().replace('-', " ")),
    );
    assert!(o.status.success(), "confirmed, however it is typed: {}", stderr(&o));
    let o = run(td(&home, Some("pw")), &["key", "show-recovery"]);
    assert_eq!(o.status.code(), Some(4), "refused once confirmed: {}", stderr(&o));
    assert!(
        stderr(&o).contains("create-recovery") && !stderr(&o).contains(&code),
        "says where keys come from: {}",
        stderr(&o)
    );
    let info = std::fs::read_to_string(home.join("keyinfo.json")).expect("keyinfo");
    assert!(!info.contains("recovery_pending"), "the pending copy is erased: {info}");
    let status = ok_json(&run(td(&home, Some("pw")), &["--json", "key", "status"]), "key status");
    assert_eq!(status["recovery_key"], "confirmed", "{status}");

    // A backup made now opens with that key; a new key replaces it for later backups only.
    let b1 = dir.path().join("b1.tdbackup");
    ok_json(&run(td(&home, Some("pw")), &["--json", "db", "backup", b1.to_str().expect("utf-8")]), "backup");
    let created = ok_json(&run(td(&home, Some("pw")), &["--json", "key", "create-recovery"]), "create-recovery");
    let code2 = created["recovery_key"].as_str().expect("new key").to_string();
    assert_ne!(code2, code, "a new key");
    let o = run_stdin(
        td_no_keyring(&dir.path().join("r1"), Some("x")),
        &["--recovery-key-stdin", "db", "restore", b1.to_str().expect("utf-8")],
        &format!("{code}\n"),
    );
    assert!(o.status.success(), "the old key opens the older backup: {}", stderr(&o));
    let o = run_stdin(
        td_no_keyring(&dir.path().join("r2"), Some("x")),
        &["--recovery-key-stdin", "db", "restore", b1.to_str().expect("utf-8")],
        &format!("{code2}\n"),
    );
    assert_eq!(o.status.code(), Some(8), "the new key does not open a backup made before it: {}", stderr(&o));
    // A forgotten passphrase: the recovery key unlocks the store itself, and sets a new passphrase.
    let o = run_stdin(
        td(&home, None),
        &["--recovery-key-stdin", "key", "change-passphrase", "--new-passphrase-stdin"],
        &format!("{code2}\nfresh pw\n"),
    );
    assert!(o.status.success(), "reset a forgotten passphrase with the recovery key: {}", stderr(&o));
    assert!(run(td(&home, Some("fresh pw")), &["db", "status"]).status.success(), "the new passphrase opens the store");
}

#[test]
fn stores_from_before_recovery_keys_keep_opening_and_their_plain_backups_restore() {
    use trenddojo_store::key::{derive_key, key_hex, KdfParams};
    let h = Home::init();
    some_trading(&h);
    let home = h.path();
    let dir = &h.dir;
    // Turn it into a format-1 store as the previous version made it: K = Argon2id(passphrase), no wraps,
    // no check value (SQLCipher re-encrypts every page under the derived key).
    let kdf = KdfParams {
        algorithm: "argon2id".into(),
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
        salt: "0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
    };
    let k = derive_key(&Passphrase::new("legacy pw").expect("pw"), &kdf).expect("derive");
    let store_id = {
        let store = h.open_store();
        store
            .with_writer(|c| {
                c.execute_batch("PRAGMA journal_mode = DELETE;")?;
                c.execute_batch(&format!("PRAGMA rekey = \"x'{}'\";", key_hex(&k).as_str()))?;
                Ok(())
            })
            .expect("re-key the store as a format-1 store");
        store.key_info().store_id
    };
    std::fs::write(
        home.join("keyinfo.json"),
        serde_json::json!({ "format": 1, "store_id": store_id, "method": "passphrase", "kdf": kdf }).to_string(),
    )
    .expect("keyinfo");
    let pw = Some("legacy pw");
    let o = run(td(&home, pw), &["account", "add", "--name", "Legacy", "--currency", "USD", "--balance", "100"]);
    assert!(o.status.success(), "a format-1 store opens and takes writes: {}", stderr(&o));
    assert_eq!(account_names(&home, "legacy pw"), vec!["Legacy", "Swing"], "its data is all there");
    let info = std::fs::read_to_string(home.join("keyinfo.json")).expect("keyinfo");
    assert!(info.contains("key_check"), "the first unlock records the key check value: {info}");
    let o = run(td(&home, Some("wrong")), &["db", "status"]);
    assert_eq!(o.status.code(), Some(8), "a wrong passphrase is still a wrong key: {}", stderr(&o));

    // A plain backup as the previous version wrote it (the SQLCipher file itself) restores into its store.
    let plain = dir.path().join("plain-old.db");
    std::fs::copy(home.join("trenddojo.db"), &plain).expect("plain copy");
    let before = dump_at(&home, "legacy pw");
    run(td(&home, pw), &["account", "add", "--name", "Newer", "--currency", "USD", "--balance", "1"]);
    let r = ok_json(&run(td(&home, pw), &["--json", "db", "restore", plain.to_str().expect("utf-8")]), "plain restore");
    assert_eq!(r["unlocked_with"], "store_key", "{r}");
    assert_eq!(dump_at(&home, "legacy pw"), before, "the plain backup's data is back");

    // It gets a recovery key on request; its container backups open with the passphrase (direct
    // derivation) and with the recovery key, on a fresh home.
    let created = ok_json(&run(td(&home, pw), &["--json", "key", "create-recovery"]), "create-recovery");
    let code = created["recovery_key"].as_str().expect("key").to_string();
    let b = dir.path().join("legacy.tdbackup");
    ok_json(&run(td(&home, pw), &["--json", "db", "backup", b.to_str().expect("utf-8")]), "backup");
    let o = run(td_no_keyring(&dir.path().join("f1"), pw), &["db", "restore", b.to_str().expect("utf-8")]);
    assert!(o.status.success(), "the direct passphrase opens the backup: {}", stderr(&o));
    let o = run_stdin(
        td_no_keyring(&dir.path().join("f2"), Some("x")),
        &["--recovery-key-stdin", "db", "restore", b.to_str().expect("utf-8")],
        &format!("{code}\n"),
    );
    assert!(o.status.success(), "the recovery key opens it: {}", stderr(&o));
    assert_eq!(dump_at(&dir.path().join("f2"), "x"), dump_at(&home, "legacy pw"), "same data");
    // Changing the passphrase wraps the same key: the plain backup still restores.
    let o = run_stdin(td(&home, pw), &["key", "change-passphrase", "--new-passphrase-stdin"], "modern pw\n");
    assert!(o.status.success(), "change-passphrase on a format-1 store: {}", stderr(&o));
    let o = run(td(&home, Some("modern pw")), &["db", "restore", plain.to_str().expect("utf-8")]);
    assert!(o.status.success(), "the plain backup still opens with the (unchanged) key: {}", stderr(&o));
}

#[test]
fn backups_are_private_checked_and_never_create_folders() {
    let h = Home::init();
    some_trading(&h);
    let missing = h.dir.path().join("no-such-folder").join("b.tdbackup");
    let o = h.run(&["db", "backup", missing.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(2), "a missing folder is refused: {}", stderr(&o));
    assert!(stderr(&o).contains("does not exist"), "says why: {}", stderr(&o));
    assert!(!missing.parent().expect("parent").exists(), "the folder is not created");

    // Under umask 022 everything the store writes is still private.
    let b = h.dir.path().join("b.tdbackup");
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("umask 022; exec '{}' --json db backup '{}'", env!("CARGO_BIN_EXE_trenddojo"), b.display()))
        .env("TRENDDOJO_HOME", h.path())
        .env("TRENDDOJO_PASSPHRASE", PASSPHRASE)
        .output()
        .expect("run");
    let v = ok_json(&o, "backup under umask 022");
    assert!(v["bytes"].as_u64().expect("bytes") > 0, "{v}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&b), 0o600, "the backup file is 0600");
        assert_eq!(mode(&h.path().join("backups")), 0o700, "backups/ is 0700");
        for f in files_under(&h.path().join("backups")) {
            assert_eq!(mode(&f), 0o600, "{} is 0600", f.display());
        }
        assert_eq!(mode(&h.path().join("keyinfo.json")), 0o600, "keyinfo.json is 0600");
        assert_eq!(mode(&h.path()), 0o700, "the data folder is 0700");
    }
    let again = h.run(&["db", "backup", b.to_str().expect("utf-8")]);
    assert_eq!(again.status.code(), Some(2), "an existing file is never overwritten: {}", stderr(&again));
    let listed = h.json(&["db", "backups"]);
    assert!(
        listed.as_array().expect("list").iter().all(|b| b["intact"] == true),
        "automatic backups are intact: {listed}"
    );
}

#[test]
fn daily_backups_are_taken_once_a_day_and_the_newest_n_kept() {
    let h = Home::init();
    h.json(&["db", "schedule", "--keep", "3"]);
    let dailies = || -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = files_under(&h.path().join("backups"))
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("daily-")))
            .collect();
        v.sort();
        v
    };
    h.json(&["account", "list"]);
    assert_eq!(dailies().len(), 1, "the first open takes one: {:?}", dailies());
    h.json(&["account", "list"]);
    assert_eq!(dailies().len(), 1, "not again the same day: {:?}", dailies());
    // Age the newest backup by renaming it two days back, five times over.
    for day in 0..5 {
        let newest = dailies().pop().expect("a daily backup");
        let aged = h.path().join("backups").join(format!("daily-202001{:02}T000000.000000Z.tdbackup", day + 1));
        std::fs::rename(&newest, &aged).expect("age it");
        h.json(&["account", "add", "--name", &format!("A{day}"), "--currency", "USD", "--balance", "1"]);
    }
    let kept = dailies();
    assert_eq!(kept.len(), 3, "the newest 3 are kept: {kept:?}");
    assert!(kept.iter().all(|p| !p.to_string_lossy().contains("20200101")), "the oldest went first: {kept:?}");
    let listed = h.json(&["db", "backups"]);
    assert!(
        listed.as_array().expect("list").iter().all(|b| b["intact"] == true),
        "each one passed its checks: {listed}"
    );
    h.json(&["db", "schedule", "--keep", "0"]);
    let newest = dailies().pop().expect("one");
    std::fs::rename(&newest, h.path().join("backups").join("daily-20200301T000000.000000Z.tdbackup")).expect("age");
    h.json(&["account", "list"]);
    assert_eq!(dailies().len(), 3, "0 turns them off: {:?}", dailies());
}

// ---------------------------------------------------------------------------------------------------
// Corruption found, never papered over
// ---------------------------------------------------------------------------------------------------

/// A store with data and a daily backup, closed cleanly (no WAL).
fn damaged_candidate() -> Home {
    let h = Home::init();
    some_trading(&h);
    h.json(&["account", "list"]);
    assert!(!h.path().join("trenddojo.db-wal").exists(), "closed cleanly");
    h
}

fn damage(path: &Path, how: &str) {
    let mut b = std::fs::read(path).expect("read");
    match how {
        "zero-length" => b.clear(),
        "zeroed" => b.iter_mut().for_each(|x| *x = 0),
        "truncated-mid-page" => b.truncate(b.len() / 2 + 100),
        "truncated-at-page" => b.truncate((b.len() / 4096 / 2) * 4096),
        "flipped-header" => b[7] ^= 0x20,
        other => panic!("unknown damage {other}"),
    }
    std::fs::write(path, b).expect("write");
}

#[test]
fn a_damaged_store_file_is_reported_never_replaced_by_an_empty_store() {
    for how in ["zero-length", "truncated-mid-page", "truncated-at-page", "zeroed", "flipped-header"] {
        let h = damaged_candidate();
        let db = h.path().join("trenddojo.db");
        damage(&db, how);
        let before = sha(&db);
        for args in [&["account", "list"][..], &["db", "status"], &["trade", "list"], &["db", "check"]] {
            let o = h.run(args);
            assert_eq!(o.status.code(), Some(10), "{how}: `{}` reports damage: {}", args.join(" "), stderr(&o));
            let e = stderr(&o);
            assert!(e.contains("damaged") && e.contains("daily-"), "{how}: names the newest good backup: {e}");
            assert!(!e.contains("malformed\n") && !e.contains("out of memory"), "{how}: not a raw SQLite error: {e}");
        }
        let o =
            h.cmd().env("TRENDDOJO_PASSPHRASE", "wrong passphrase").args(["account", "list"]).output().expect("run");
        assert_eq!(o.status.code(), Some(8), "{how}: a wrong passphrase is still told apart: {}", stderr(&o));
        let o = h.run(&["account", "add", "--name", "X", "--currency", "USD", "--balance", "1"]);
        assert_eq!(o.status.code(), Some(10), "{how}: no write goes into a damaged store: {}", stderr(&o));
        assert_eq!(sha(&db), before, "{how}: the damaged file is never touched");
        let o = h.run(&["init"]);
        assert_eq!(o.status.code(), Some(4), "{how}: init does not create a store over it: {}", stderr(&o));
        // And the way back: restore the newest backup it named.
        let newest = h.json(&["db", "backups"])[0]["path"].as_str().expect("path").to_string();
        let r = h.json(&["db", "restore", &newest]);
        assert_eq!(r["previous_was_damaged"], true, "{how}: {r}");
        let aside = PathBuf::from(r["previous_data_saved_to"].as_str().expect("aside"));
        assert_eq!(sha(&aside.join("trenddojo.db")), before, "{how}: the damaged file was moved aside as it was");
        assert!(aside.join("keyinfo.json").exists(), "{how}: the aside folder is a complete data folder");
        assert_eq!(h.json(&["db", "check"])["ok"], true, "{how}: the restored store passes its checks");
        assert_eq!(
            account_names(&h.path(), PASSPHRASE),
            Vec::<String>::new(),
            "{how}: the daily backup predates the account"
        );
    }
}

#[test]
fn a_damaged_page_is_found_reported_and_then_no_write_is_accepted() {
    let h = damaged_candidate();
    let backup = h.dir.path().join("good.tdbackup");
    h.json(&["db", "backup", backup.to_str().expect("utf-8")]);
    let page = leaf_page_of(&h.path(), "trades");
    let db = h.path().join("trenddojo.db");
    flip_page(&db, page);
    let o = h.run(&["trade", "list"]);
    assert_eq!(o.status.code(), Some(10), "reading the trades meets the damage: {}", stderr(&o));
    assert!(stderr(&o).contains("does not authenticate"), "says what: {}", stderr(&o));
    let o = h.run(&["db", "check"]);
    assert_eq!(o.status.code(), Some(10), "db check reports instead of aborting: {}", stderr(&o));
    assert!(
        stderr(&o).contains("fail authentication") && stderr(&o).contains(&format!("page {page}")),
        "summarised: {}",
        stderr(&o)
    );
    // The account table is intact, yet the store is known damaged: writes are refused.
    let o = h.run(&["account", "add", "--name", "New", "--currency", "USD", "--balance", "1"]);
    assert_eq!(o.status.code(), Some(10), "writes refused: {}", stderr(&o));
    assert!(stderr(&o).contains("Writes are refused"), "says so: {}", stderr(&o));
    assert!(h.run(&["account", "list"]).status.success(), "reads of intact tables still work (to export, to look)");
    let r = h.json(&["db", "restore", backup.to_str().expect("utf-8")]);
    assert_eq!(r["unlocked_with"], "store_key", "{r}");
    assert!(
        h.run(&["account", "add", "--name", "New", "--currency", "USD", "--balance", "1"]).status.success(),
        "writable again"
    );
}

/// A leaf page of `table` (SQLite's dbstat), read through the store.
fn leaf_page_of(home: &Path, table: &str) -> i64 {
    let store = Store::open(home, &common::key(), MigrateOnOpen::No).expect("open");
    store
        .read(|c| {
            Ok::<_, StoreError>(c.query_row(
                "SELECT max(pageno) FROM dbstat WHERE name = ?1 AND pagetype = 'leaf'",
                [table],
                |r| r.get::<_, i64>(0),
            )?)
        })
        .expect("dbstat")
}

fn flip_page(db: &Path, page: i64) {
    let mut b = std::fs::read(db).expect("read");
    let at = usize::try_from(page - 1).expect("page") * 4096 + 200;
    b[at] ^= 0x10;
    std::fs::write(db, b).expect("write");
}

/// Copy a live store (its WAL still holding the commits) as a crash would leave it.
fn crashed_copy_with_wal(h: &Home, to: &Path) {
    let store = h.open_store();
    store
        .write(|tx| {
            for i in 0..5 {
                tx.execute("INSERT INTO store_meta (key, value) VALUES (?1, 'x')", [format!("wal-test-{i}")])?;
            }
            Ok::<_, StoreError>(())
        })
        .expect("write");
    for i in 0..5 {
        store
            .write(|tx| {
                tx.execute("UPDATE store_meta SET value = ?1 WHERE key = 'wal-test-0'", [format!("v{i}")])?;
                Ok::<_, StoreError>(())
            })
            .expect("commit");
    }
    std::fs::create_dir_all(to).expect("mkdir");
    for f in ["trenddojo.db", "trenddojo.db-wal", "keyinfo.json"] {
        std::fs::copy(h.path().join(f), to.join(f)).expect("copy a file of the live store");
    }
    copy_dir(&h.path().join("backups"), &to.join("backups"));
    drop(store);
}

#[test]
fn a_damaged_wal_is_reported_before_sqlite_can_drop_committed_transactions() {
    let h = damaged_candidate();
    let crashed = h.dir.path().join("crashed");
    crashed_copy_with_wal(&h, &crashed);
    let wal = crashed.join("trenddojo.db-wal");
    let wal_len = std::fs::metadata(&wal).expect("wal").len();
    assert!(wal_len > 32 + 4096 * 3, "the WAL holds several commits: {wal_len}");

    // Intact: the crashed copy opens and has every commit.
    let intact = h.dir.path().join("intact");
    copy_dir(&crashed, &intact);
    let v = dump_at(&intact, PASSPHRASE);
    assert!(v.contains("wal-test-4") && v.contains("Text(\"v4\")"), "every committed transaction is replayed");

    for how in ["flip-early-frame", "zeroed"] {
        let d = h.dir.path().join(how);
        copy_dir(&crashed, &d);
        let w = d.join("trenddojo.db-wal");
        let mut b = std::fs::read(&w).expect("wal");
        match how {
            "flip-early-frame" => b[32 + 24 + 300] ^= 0x01,
            _ => b.iter_mut().for_each(|x| *x = 0),
        }
        std::fs::write(&w, &b).expect("write");
        let before = (sha(&w), sha(&d.join("trenddojo.db")));
        let o = run(td(&d, Some(PASSPHRASE)), &["account", "list"]);
        assert_eq!(o.status.code(), Some(10), "{how}: reported: {}", stderr(&o));
        assert!(stderr(&o).contains("write-ahead log"), "{how}: names the WAL: {}", stderr(&o));
        assert_eq!((sha(&w), sha(&d.join("trenddojo.db"))), before, "{how}: neither file was touched");
        let o = run(td(&d, Some(PASSPHRASE)), &["--json", "db", "recover"]);
        let r = ok_json(&o, "recover from a damaged WAL");
        assert!(r["previous_data_saved_to"].as_str().is_some(), "{how}: the damaged files are kept: {r}");
        assert!(run(td(&d, Some(PASSPHRASE)), &["db", "check"]).status.success(), "{how}: the salvaged store is sound");
    }

    // A WAL cut inside its last frame is a write a crash interrupted: nothing committed is in it, SQLite
    // rightly ignores it, and the store opens with every complete commit.
    let cut = h.dir.path().join("cut");
    copy_dir(&crashed, &cut);
    let w = cut.join("trenddojo.db-wal");
    let b = std::fs::read(&w).expect("wal");
    std::fs::write(&w, &b[..b.len() - 1000]).expect("cut");
    assert!(run(td(&cut, Some(PASSPHRASE)), &["db", "check"]).status.success(), "a torn last frame is not damage");
}

#[test]
fn damaged_backups_are_refused_with_a_clear_message_and_change_nothing() {
    let h = damaged_candidate();
    let good = h.dir.path().join("good.tdbackup");
    h.json(&["db", "backup", good.to_str().expect("utf-8")]);
    let bytes = std::fs::read(&good).expect("read");
    let header_len = u32::from_be_bytes([bytes[19], bytes[20], bytes[21], bytes[22]]) as usize;
    let body = 17 + 6 + header_len + 32;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", bytes[..bytes.len() - 5000].to_vec(), "cut short"),
        ("truncated-in-header", bytes[..40].to_vec(), "does not fit the file"),
        ("zeroed", vec![0u8; bytes.len()], "all zero bytes"),
        ("empty", Vec::new(), "empty"),
        (
            "flipped-in-body",
            {
                let mut b = bytes.clone();
                b[body + 9000] ^= 1;
                b
            },
            "SHA-256 does not match",
        ),
        (
            "flipped-in-header",
            {
                let mut b = bytes.clone();
                let json = String::from_utf8_lossy(&b[23..23 + header_len]).to_string();
                let at = 23 + json.find("\"schema_version\":").expect("field") + "\"schema_version\":".len();
                // One version lower, same length (padded with JSON whitespace): the header still parses, names
                // a schema this build knows, and no longer matches its MAC, whatever the number of digits.
                let end = at + b[at..].iter().position(|c| !c.is_ascii_digit()).expect("end of the number");
                let v: u32 = std::str::from_utf8(&b[at..end]).expect("digits").parse().expect("version");
                let lower = format!("{:>width$}", v.saturating_sub(1), width = end - at);
                b[at..end].copy_from_slice(lower.as_bytes());
                b
            },
            "MAC does not verify",
        ),
        (
            "flipped-mac",
            {
                let mut b = bytes.clone();
                b[body - 3] ^= 1;
                b
            },
            "MAC does not verify",
        ),
    ];
    let dump = h.dump();
    let files = files_under(&h.path()).len();
    for (name, content, expect) in cases {
        let f = h.dir.path().join(format!("{name}.tdbackup"));
        std::fs::write(&f, content).expect("write");
        let o = h.run(&["db", "restore", f.to_str().expect("utf-8")]);
        assert_eq!(o.status.code(), Some(10), "{name}: a damaged backup is corrupt data: {}", stderr(&o));
        assert!(stderr(&o).contains(expect), "{name}: says {expect:?}: {}", stderr(&o));
        let fresh = h.dir.path().join(format!("fresh-{name}"));
        let o = run(td_no_keyring(&fresh, Some(PASSPHRASE)), &["db", "restore", f.to_str().expect("utf-8")]);
        assert_eq!(o.status.code(), Some(10), "{name}: on a fresh home too: {}", stderr(&o));
        assert!(!fresh.join("trenddojo.db").exists(), "{name}: nothing installed");
    }
    assert_eq!(h.dump(), dump, "the store is unchanged");
    assert_eq!(files_under(&h.path()).len(), files, "no copy was added by the failed tries");
}

#[test]
fn a_backup_from_a_newer_schema_is_refused_before_anything_is_written() {
    let h = damaged_candidate();
    let newer = h.dir.path().join("newer.tdbackup");
    {
        let store = h.open_store();
        store
            .with_writer(|c| {
                c.execute(
                    "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (99, 'future', '2030-01-01', '0')",
                    [],
                )?;
                Ok(())
            })
            .expect("pretend a newer TrendDojo wrote it");
        store.backup_as(&newer, "manual").expect("backup");
        store
            .with_writer(|c| {
                c.execute("DELETE FROM refinery_schema_history WHERE version = 99", [])?;
                Ok(())
            })
            .expect("undo");
    }
    let dump = h.dump();
    let o = h.run(&["db", "restore", newer.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(9), "newer schema: {}", stderr(&o));
    assert!(stderr(&o).contains("newer TrendDojo"), "says what to do: {}", stderr(&o));
    assert_eq!(h.dump(), dump, "nothing changed");
    let fresh = h.dir.path().join("fresh");
    let o = run(td_no_keyring(&fresh, Some(PASSPHRASE)), &["db", "restore", newer.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(9), "on a fresh home too: {}", stderr(&o));
    assert!(!fresh.exists(), "nothing created");
}

#[test]
fn db_recover_salvages_what_is_readable_and_counts_it_against_the_last_backup() {
    let h = Home::seeded("demo");
    ballast(&h.path(), 300);
    h.json(&["account", "list"]);
    let backup_counts = h.json(&["db", "status"])["row_counts"].clone();
    let notes_before =
        backup_counts.as_array().expect("counts").iter().find(|t| t["table"] == "trade_notes").expect("notes")["rows"]
            .as_u64()
            .expect("n");
    // The daily backup holds exactly this state; now damage one page of the notes.
    let page = leaf_page_of(&h.path(), "trade_notes");
    flip_page(&h.path().join("trenddojo.db"), page);
    let damaged = sha(&h.path().join("trenddojo.db"));
    let o = h.run(&["--json", "db", "recover"]);
    let r = ok_json(&o, "db recover");
    let tables = r["tables"].as_array().expect("tables");
    let notes = tables.iter().find(|t| t["table"] == "trade_notes").expect("notes row");
    assert_eq!(notes["damaged_regions"], 1, "one unreadable region stepped over: {notes}");
    assert_eq!(notes["in_backup"].as_u64(), Some(notes_before), "compared with the daily backup: {notes}");
    let salvaged = notes["salvaged"].as_u64().expect("n");
    assert!(
        salvaged < notes_before && salvaged > 0,
        "only the damaged page's notes are lost: {salvaged} of {notes_before}"
    );
    for t in tables {
        if t["table"] != "trade_notes" && t["table"] != "audit_log" && t["table"] != "sync_outbox" {
            assert_eq!(t["salvaged"], t["in_backup"], "{} is complete: {t}", t["table"]);
        }
    }
    let aside = PathBuf::from(r["previous_data_saved_to"].as_str().expect("aside"));
    assert_eq!(sha(&aside.join("trenddojo.db")), damaged, "the damaged file is kept as it was");
    assert_eq!(r["check_ok"], true, "the salvaged store passes its checks: {r}");
    assert_eq!(h.json(&["db", "check"])["ok"], true, "and db check agrees");
    assert!(
        h.run(&["account", "add", "--name", "After", "--currency", "USD", "--balance", "1"]).status.success(),
        "writable"
    );
}

// ---------------------------------------------------------------------------------------------------
// kill -9 and full disks
// ---------------------------------------------------------------------------------------------------

/// Run `args`, kill it with SIGKILL after `after`, and say whether it was still running then.
fn kill_after(c: Command, args: &[&str], after: Duration) -> bool {
    let mut c = c;
    c.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = c.spawn().expect("spawn");
    std::thread::sleep(after);
    let running = child.try_wait().expect("poll").is_none();
    let _ = child.kill();
    let _ = child.wait();
    running
}

/// Run `args`, and kill it with SIGKILL `extra` after `cond` first holds (polled every 200 µs); says
/// whether it was still running at the kill.
fn kill_when(c: Command, args: &[&str], cond: impl Fn() -> bool, extra: Duration) -> bool {
    let mut c = c;
    c.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = c.spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cond() && Instant::now() < deadline && child.try_wait().expect("poll").is_none() {
        std::thread::sleep(Duration::from_micros(200));
    }
    std::thread::sleep(extra);
    let running = child.try_wait().expect("poll").is_none();
    let _ = child.kill();
    let _ = child.wait();
    running
}

/// How long an uninterrupted run of `args` takes on a copy of `template`.
fn duration_of(template: &Path, scratch: &Path, args: &[&str]) -> Duration {
    copy_dir(template, scratch);
    let start = Instant::now();
    let o = run(td(scratch, Some(PASSPHRASE)), args);
    assert!(o.status.success(), "an uninterrupted `{}` succeeds: {}", args.join(" "), stderr(&o));
    start.elapsed()
}

fn no_leftovers(home: &Path) {
    let tmp: Vec<_> = files_under(&home.join(".tmp"));
    assert!(tmp.is_empty(), "temporary files are cleaned up at the next open: {tmp:?}");
    assert!(!home.join("restore-pending.json").exists(), "no unfinished restore");
    let partial: Vec<_> =
        files_under(&home.join("backups")).into_iter().filter(|p| p.to_string_lossy().contains(".partial-")).collect();
    assert!(partial.is_empty(), "no half backup: {partial:?}");
}

#[test]
fn kill_9_during_a_backup_never_leaves_a_half_backup() {
    let h = damaged_candidate();
    ballast(&h.path(), 2500);
    let dump = h.dump();
    let scratch = h.dir.path().join("timing");
    let target = h.dir.path().join("out.tdbackup");
    let t = duration_of(&h.path(), &scratch, &["db", "backup", target.to_str().expect("utf-8")]);
    std::fs::remove_file(&target).expect("remove the timing backup");
    let mut interrupted = 0;
    for i in 1..=6u32 {
        let dest = h.dir.path().join(format!("k{i}.tdbackup"));
        if kill_after(td(&h.path(), Some(PASSPHRASE)), &["db", "backup", dest.to_str().expect("utf-8")], t * i / 7) {
            interrupted += 1;
        }
        let names: Vec<String> = std::fs::read_dir(h.dir.path())
            .expect("list")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!("k{i}.")))
            .collect();
        assert!(names.len() <= 1, "at most the finished backup under its name: {names:?}");
        if dest.exists() {
            let o = run(
                td_no_keyring(&h.dir.path().join(format!("r{i}")), Some(PASSPHRASE)),
                &["db", "restore", dest.to_str().expect("utf-8")],
            );
            assert!(o.status.success(), "a backup that exists is whole: {}", stderr(&o));
        }
        assert_eq!(h.dump(), dump, "the store is untouched and opens after kill -9 #{i}");
        no_leftovers(&h.path());
        // The next backup to the same name cleans what the killed one left beside it.
        if !dest.exists() {
            h.json(&["db", "backup", dest.to_str().expect("utf-8")]);
            let stray: Vec<_> = files_under(h.dir.path())
                .into_iter()
                .filter(|p| p.to_string_lossy().contains(&format!(".k{i}.tdbackup.partial")))
                .collect();
            assert!(stray.is_empty(), "no partial file left beside it: {stray:?}");
        }
    }
    eprintln!(
        "kill -9 during db backup: {interrupted} of 6 kills landed mid-backup (an uninterrupted one takes {t:?})"
    );
    assert!(interrupted >= 3, "most kills landed while the backup ran ({interrupted} of 6; it takes {t:?})");
}

#[test]
fn kill_9_during_a_restore_leaves_the_old_store_or_the_new_never_half() {
    let h = damaged_candidate();
    ballast(&h.path(), 2500);
    let backup = h.dir.path().join("before.tdbackup");
    h.json(&["db", "backup", backup.to_str().expect("utf-8")]);
    let new_dump = h.dump();
    h.json(&["account", "add", "--name", "After the backup", "--currency", "USD", "--balance", "1"]);
    let old_dump = h.dump();
    let template = h.dir.path().join("template");
    copy_dir(&h.path(), &template);
    let b = backup.to_str().expect("utf-8");
    let t = duration_of(&template, &h.dir.path().join("timing"), &["db", "restore", b]);
    let (mut saw_old, mut saw_new, mut interrupted) = (0, 0, 0);
    for i in 1..=7u32 {
        let home = h.dir.path().join(format!("try{i}"));
        copy_dir(&template, &home);
        if kill_after(td(&home, Some(PASSPHRASE)), &["db", "restore", b], t * i / 8) {
            interrupted += 1;
        }
        let o = run(td(&home, Some(PASSPHRASE)), &["db", "check"]);
        assert!(o.status.success(), "after kill -9 #{i} the store opens and passes its checks: {}", stderr(&o));
        let d = dump_at(&home, PASSPHRASE);
        if d == old_dump {
            saw_old += 1;
        } else if d == new_dump {
            saw_new += 1;
        } else {
            panic!("kill -9 #{i} left a store that is neither the old nor the restored one");
        }
        no_leftovers(&home);
    }
    eprintln!("kill -9 during db restore: {interrupted} of 7 mid-restore; afterwards {saw_old} old, {saw_new} restored ({t:?})");
    assert!(interrupted >= 3, "most kills landed mid-restore ({interrupted} of 7, it takes {t:?})");
    assert!(saw_old + saw_new == 7, "old {saw_old}, new {saw_new}");
}

#[test]
fn kill_9_during_a_migration_leaves_a_store_that_opens_and_finishes_later() {
    let h = damaged_candidate();
    ballast(&h.path(), 2000);
    let names = account_names(&h.path(), PASSPHRASE);
    let notes = h.json(&["db", "status"])["row_counts"].clone();
    h.json(&["db", "rollback", "--to", "3"]);
    // (`db` commands never migrate on open; any other command would.)
    assert_eq!(h.json(&["db", "status"])["schema_version"], 3, "the store is back at v3");
    let template = h.dir.path().join("template");
    copy_dir(&h.path(), &template);
    let latest = trenddojo_store::migrations::latest_version();
    // The migrations run right after the pre-migrate backup lands in backups/, and each one's commit
    // appends to the WAL. Kill -9 while the backup is written, as soon as it lands, and as the WAL
    // grows (the first migration committed, the next ones running), so kills fall before, between and
    // inside the migration transactions.
    let (mut interrupted, mut versions) = (0, Vec::new());
    let points: [(&str, u64); 10] = [
        ("backup", 0),
        ("landed", 0),
        ("wal", 0),
        ("wal", 1),
        ("wal", 2),
        ("wal", 3),
        ("wal", 5),
        ("wal", 8),
        ("wal", 12),
        ("wal", 20),
    ];
    for (i, (when, extra_ms)) in points.into_iter().enumerate() {
        let home = h.dir.path().join(format!("try{i}"));
        copy_dir(&template, &home);
        let backups = home.join("backups");
        let wal = home.join("trenddojo.db-wal");
        let before = files_under(&backups).len();
        let landed = || {
            files_under(&backups)
                .iter()
                .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
                .count()
                > before
        };
        let cond = || match when {
            "backup" => !files_under(&home.join(".tmp")).is_empty(),
            "landed" => landed(),
            _ => landed() && std::fs::metadata(&wal).is_ok_and(|m| m.len() > 32),
        };
        if kill_when(td(&home, Some(PASSPHRASE)), &["db", "migrate"], cond, Duration::from_millis(extra_ms)) {
            interrupted += 1;
        }
        let s = ok_json(&run(td(&home, Some(PASSPHRASE)), &["--json", "db", "status"]), "status after kill -9");
        let v = s["schema_version"].as_u64().expect("version");
        versions.push(v);
        assert!((3..=u64::from(latest)).contains(&v), "#{i}: a whole number of migrations applied: v{v}");
        let m = ok_json(&run(td(&home, Some(PASSPHRASE)), &["--json", "db", "migrate"]), "finish the migration");
        assert_eq!(m["to_version"], latest, "#{i}: {m}");
        assert!(run(td(&home, Some(PASSPHRASE)), &["db", "check"]).status.success(), "#{i}: sound");
        assert_eq!(account_names(&home, PASSPHRASE), names, "#{i}: the accounts are all there");
        let after =
            ok_json(&run(td(&home, Some(PASSPHRASE)), &["--json", "db", "status"]), "status")["row_counts"].clone();
        for table in ["accounts", "trades", "executions", "trade_notes"] {
            let n = |v: &Value| {
                v.as_array().and_then(|a| a.iter().find(|t| t["table"] == table)).map(|t| t["rows"].clone())
            };
            assert_eq!(n(&after), n(&notes), "#{i}: {table} rows are all there");
        }
        no_leftovers(&home);
    }
    eprintln!(
        "kill -9 during db migrate: {interrupted} of 10 killed mid-command; versions found afterwards {versions:?}"
    );
    assert!(interrupted >= 6, "most kills landed while the command ran ({interrupted} of 10; versions {versions:?})");
    let mut distinct = versions.clone();
    distinct.dedup();
    assert!(distinct.len() >= 2, "the kills fell at different points of the migration run: {versions:?}");
}

/// Run the binary with a file-size limit (RLIMIT_FSIZE, in the child only) and SIGXFSZ ignored, so
/// writes past the limit fail with EFBIG as on a full disk.
fn with_file_limit(home: &Path, kib: u64, args: &[&str]) -> Output {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    Command::new("bash")
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f {kib}; exec '{}' {}", env!("CARGO_BIN_EXE_trenddojo"), quoted.join(" ")))
        .env("TRENDDOJO_HOME", home)
        .env("TRENDDOJO_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::null())
        .output()
        .expect("run under a file-size limit")
}

#[test]
fn a_full_disk_while_writing_a_backup_is_a_clear_error_and_keeps_nothing() {
    let h = damaged_candidate();
    ballast(&h.path(), 400);
    let size = std::fs::metadata(h.path().join("trenddojo.db")).expect("db").len();
    let dump = h.dump();
    let dest = h.dir.path().join("full.tdbackup");
    // bash's ulimit -f counts KiB: allow half the store.
    let o = with_file_limit(&h.path(), size / 2048, &["db", "backup", dest.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1), "an I/O failure: {}", stderr(&o));
    assert!(stderr(&o).contains("could not write") && stderr(&o).contains("nothing was kept"), "clear: {}", stderr(&o));
    assert!(!dest.exists(), "no backup file under the name");
    let stray: Vec<_> =
        files_under(h.dir.path()).into_iter().filter(|p| p.to_string_lossy().contains(".partial-")).collect();
    assert!(stray.is_empty(), "no partial file: {stray:?}");
    assert_eq!(h.dump(), dump, "the store is unchanged and opens");
    no_leftovers(&h.path());

    // The container step fails too (the copy fits, the backup file does not).
    let o = with_file_limit(&h.path(), size / 1024, &["db", "backup", dest.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1), "still an error: {}", stderr(&o));
    assert!(
        stderr(&o).contains("size limit") && stderr(&o).contains(".partial-"),
        "the container write failed: {}",
        stderr(&o)
    );
    assert!(!dest.exists(), "no backup file");
    let stray: Vec<_> =
        files_under(h.dir.path()).into_iter().filter(|p| p.to_string_lossy().contains(".partial-")).collect();
    assert!(stray.is_empty(), "no partial file: {stray:?}");

    // A daily backup that hits the limit does not stop the trader's command: it warns.
    for d in files_under(&h.path().join("backups")) {
        std::fs::remove_file(d).expect("remove backups so one is due");
    }
    let o = with_file_limit(&h.path(), size / 2048, &["account", "list"]);
    assert!(o.status.success(), "the command itself succeeds: {}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: the automatic daily backup failed"),
        "and says the backup failed: {}",
        stderr(&o)
    );
    assert!(files_under(&h.path().join("backups")).is_empty(), "no half daily backup");
}

// ---------------------------------------------------------------------------------------------------
// Exports
// ---------------------------------------------------------------------------------------------------

#[test]
fn a_json_export_imports_into_an_empty_store_with_equal_statistics() {
    let h = Home::seeded("demo");
    let file = h.dir.path().join("journal.json");
    let e = h.json(&["export", "--format", "json", file.to_str().expect("utf-8")]);
    assert!(e["trades"].as_u64().expect("trades") > 10, "the demo has trades: {e}");
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600, "the export is private");
    let again = h.run(&["export", "--format", "json", file.to_str().expect("utf-8")]);
    assert_eq!(again.status.code(), Some(2), "never overwritten: {}", stderr(&again));

    let target = Home::init();
    let i = target.json(&["import-backup", file.to_str().expect("utf-8")]);
    assert_eq!(i["trades"], e["trades"], "every trade: {i}");
    assert_eq!(i["executions"], e["executions"], "every execution: {i}");
    assert_eq!(i["notes"], e["notes"], "every note: {i}");
    assert_eq!(i["checklist_answers"], e["checklist_answers"], "every answer: {i}");
    let user = "demo@trenddojo.com";
    let accounts = h.json(&["account", "list"]);
    for a in accounts.as_array().expect("accounts") {
        let name = a["name"].as_str().expect("name");
        let s1 = h.json(&["stats", "--account", name]);
        let s2 = target.json(&["--user", user, "stats", "--account", name]);
        assert_eq!(s1, s2, "statistics of {name} are equal");
        let l1 = h.json(&["trade", "list", "--account", name, "--limit", "1000"]);
        let l2 = target.json(&["--user", user, "trade", "list", "--account", name, "--limit", "1000"]);
        let strip = |v: &Value| -> Vec<Value> {
            v.as_array()
                .expect("trades")
                .iter()
                .map(|t| {
                    let mut t = t.clone();
                    let o = t.as_object_mut().expect("object");
                    o.remove("updated_at");
                    o.remove("user_id");
                    t
                })
                .collect()
        };
        assert_eq!(strip(&l1), strip(&l2), "trades of {name} are equal, ids and exact decimals included");
    }
    assert_eq!(target.json(&["db", "check"])["ok"], true, "the imported store passes its checks");
    // A second import finds data and refuses, changing nothing.
    let dump = target.dump();
    let o = target.run(&["import-backup", file.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(4), "not into a store with data: {}", stderr(&o));
    assert_eq!(target.dump(), dump, "unchanged");
}

#[test]
fn a_bad_export_file_is_refused_with_its_place_named_and_imports_nothing() {
    let h = Home::init();
    some_trading(&h);
    let file = h.dir.path().join("e.json");
    h.json(&["export", "--format", "json", file.to_str().expect("utf-8")]);
    let text = std::fs::read_to_string(&file).expect("read");
    let cases = [
        ("not json", "{ this is not json".to_string(), 2, "not a TrendDojo JSON export"),
        ("bad price", text.replacen("\"price\": \"187.5\"", "\"price\": \"1e3\"", 1), 2, "executions[0].price"),
        ("negative quantity", text.replacen("\"quantity\": \"10\"", "\"quantity\": \"-10\"", 1), 2, "quantity"),
        ("newer version", text.replacen("\"version\": 1", "\"version\": 7", 1), 9, "newer"),
        ("bad side", text.replacen("\"side\": \"buy\"", "\"side\": \"hold\"", 1), 2, "executions[0].side"),
        ("unknown field", text.replacen("\"symbol\"", "\"smybol\"", 1), 2, "not a TrendDojo JSON export"),
    ];
    for (name, content, code, expect) in cases {
        assert_ne!(content, text, "{name}: the case changes the file");
        let f = h.dir.path().join(format!("{}.json", name.replace(' ', "-")));
        std::fs::write(&f, content).expect("write");
        let target = Home::init();
        let dump = target.dump();
        let o = target.run(&["import-backup", f.to_str().expect("utf-8")]);
        assert_eq!(o.status.code(), Some(code), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(expect), "{name}: names {expect:?}: {}", stderr(&o));
        assert_eq!(target.dump(), dump, "{name}: nothing imported");
    }
    // An exit larger than the position is data a merge of two devices can produce, not a broken file: it
    // imports, and the trade is recomputed into the review state instead of keeping its claimed status.
    let over = text.replacen("\"quantity\": \"10\"", "\"quantity\": \"1\"", 1);
    assert_ne!(over, text, "the over-close case changes the file");
    let f = h.dir.path().join("over-close.json");
    std::fs::write(&f, over).expect("write");
    let target = Home::init();
    let o = target.run(&["import-backup", f.to_str().expect("utf-8")]);
    assert!(o.status.success(), "an over-closed trade imports: {}", stderr(&o));
    let trades = target.json(&["trade", "list"]);
    let statuses: Vec<&str> =
        trades.as_array().expect("trade list").iter().filter_map(|t| t["status"].as_str()).collect();
    assert!(statuses.contains(&"needs_review"), "the over-closed trade waits for review: {statuses:?}");
}

#[test]
fn the_csv_export_follows_the_shared_trenddojo_v1_format() {
    let h = Home::init();
    h.json(&[
        "account",
        "add",
        "--name",
        "Zeta, \"quoted\"",
        "--currency",
        "EUR",
        "--balance",
        "1000",
        "--timezone",
        "Europe/Berlin",
    ]);
    h.json(&["account", "add", "--name", "Alpha", "--currency", "USD", "--balance", "1000"]);
    for a in ["Alpha", "Zeta, \"quoted\""] {
        h.json(&["risk", "set", "--account", a, "--enforcement", "warn"]);
    }
    let t1 = h.json(&[
        "trade",
        "open",
        "--account",
        "Alpha",
        "--symbol",
        "B",
        "--side",
        "short",
        "--quantity",
        "2.50",
        "--price",
        "10.10",
        "--stop",
        "11",
        "--fees",
        "0.50",
        "--at",
        "2026-03-10T14:00:00Z",
        "--setup",
        "gap, \"fade\"",
    ]);
    h.json(&["trade", "close", t1["id"].as_str().expect("id"), "--price", "9.00", "--at", "2026-03-10T15:00:00Z"]);
    h.json(&[
        "trade",
        "open",
        "--account",
        "Alpha",
        "--symbol",
        "A",
        "--side",
        "long",
        "--quantity",
        "1",
        "--price",
        "5",
        "--at",
        "2026-03-09T13:45:00Z",
        "--multiplier",
        "100",
    ]);
    h.json(&[
        "trade",
        "open",
        "--account",
        "Zeta, \"quoted\"",
        "--symbol",
        "Z",
        "--side",
        "long",
        "--quantity",
        "3",
        "--price",
        "7",
        "--at",
        "2026-03-01T10:00:00Z",
    ]);
    let deleted = h.json(&[
        "trade",
        "open",
        "--account",
        "Alpha",
        "--symbol",
        "GONE",
        "--side",
        "long",
        "--quantity",
        "1",
        "--price",
        "1",
    ]);
    h.json(&["trade", "delete", deleted["id"].as_str().expect("id")]);
    let file = h.dir.path().join("x.csv");
    let e = h.json(&["export", "--format", "csv", file.to_str().expect("utf-8")]);
    assert_eq!(e["executions"], 4, "every live execution, not the deleted trade's: {e}");
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(!text.starts_with('\u{feff}') && !text.contains('\r'), "UTF-8 without BOM, LF line ends");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "format,account,currency,time_zone,trade_id,symbol,direction,multiplier,initial_stop,setup,execution_id,side,quantity,price,fees,executed_at",
        "the header row exactly"
    );
    let rows: Vec<Vec<String>> = lines[1..].iter().map(|l| parse_csv_line(l)).collect();
    assert!(rows.iter().all(|r| r.len() == 16 && r[0] == "trenddojo-v1"), "16 fields, format first: {rows:?}");
    let order: Vec<(String, String, String)> =
        rows.iter().map(|r| (r[1].clone(), r[5].clone(), r[11].clone())).collect();
    assert_eq!(
        order,
        vec![
            ("Alpha".into(), "A".into(), "buy".into()),
            ("Alpha".into(), "B".into(), "sell".into()),
            ("Alpha".into(), "B".into(), "buy".into()),
            ("Zeta, \"quoted\"".into(), "Z".into(), "buy".into()),
        ],
        "by account, trade opened time, execution time"
    );
    let short_entry = &rows[1];
    assert_eq!(short_entry[6], "short", "direction");
    assert_eq!(
        (short_entry[12].as_str(), short_entry[13].as_str(), short_entry[14].as_str()),
        ("2.5", "10.1", "0.5"),
        "canonical decimals"
    );
    assert_eq!(short_entry[8], "11", "initial stop");
    assert_eq!(short_entry[9], "gap, \"fade\"", "setup survives quoting");
    assert_eq!(short_entry[15], "2026-03-10T14:00:00.000000Z", "UTC with microseconds");
    assert_eq!(rows[0][7], "100", "multiplier");
    assert_eq!(rows[0][8], "", "no initial stop: empty");
    assert_eq!(rows[3][3], "Europe/Berlin", "the account's time zone");
    assert!(lines.iter().any(|l| l.contains("\"Zeta, \"\"quoted\"\"\"")), "RFC 4180 quoting with doubled quotes");
    assert_eq!(rows[1][4], rows[2][4], "executions of one trade share its trade_id");
}

/// A minimal RFC 4180 line parser for the test (fields may be quoted; quotes doubled).
fn parse_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}

// ---------------------------------------------------------------------------------------------------
// The OS keyring (runs under scripts/test.sh's private Secret Service)
// ---------------------------------------------------------------------------------------------------

fn keyring_requested() -> bool {
    if std::env::var("TRENDDOJO_TEST_KEYRING").as_deref() != Ok("1") {
        eprintln!(
            "keyring test not requested (TRENDDOJO_TEST_KEYRING != 1); scripts/test.sh runs it under a Secret Service"
        );
        return false;
    }
    true
}

#[test]
fn a_keyring_store_backup_restores_on_a_machine_without_its_keyring_with_the_recovery_key() {
    if !keyring_requested() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("kr");
    let init = ok_json(&run(td(&home, None), &["--json", "init", "--tier", "pro"]), "init with the keyring");
    assert_eq!(init["encryption"]["key_method"], "keyring", "{init}");
    let code = init["recovery_key"].as_str().expect("recovery key").to_string();
    run(td(&home, None), &["account", "add", "--name", "K", "--currency", "USD", "--balance", "1"]);
    let b = dir.path().join("k.tdbackup");
    let v = ok_json(&run(td(&home, None), &["--json", "db", "backup", b.to_str().expect("utf-8")]), "backup");
    assert_eq!(v["recovery_key"], true, "{v}");
    // The machine is gone: no keyring, no data folder. A passphrase protects the restored copy.
    let fresh = dir.path().join("elsewhere");
    let o = run(td_no_keyring(&fresh, Some("pw")), &["db", "restore", b.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(8), "without the recovery key a keyring backup cannot open there: {}", stderr(&o));
    let o = run_stdin(
        td_no_keyring(&fresh, Some("pw")),
        &["--json", "--recovery-key-stdin", "db", "restore", b.to_str().expect("utf-8")],
        &format!("{code}\n"),
    );
    let r = ok_json(&o, "restore a keyring backup with the recovery key");
    assert_eq!(r["key_method"], "passphrase", "{r}");
    assert_eq!(account_names(&fresh, "pw"), vec!["K"], "the data is back");
    // On this machine the keyring entry (kept by store id) opens the backup with no secret at all,
    // into an empty folder: the data folder was lost, the keyring was not.
    let same = dir.path().join("same-machine");
    let r = ok_json(
        &run(td(&same, None), &["--json", "db", "restore", b.to_str().expect("utf-8")]),
        "restore via the keyring",
    );
    assert_eq!(r["unlocked_with"], "keyring", "{r}");
    assert_eq!(r["key_method"], "keyring", "{r}");
    // keyring -> passphrase -> keyring, the data and the old backup intact all along.
    let o = run_stdin(td(&home, None), &["key", "use-passphrase", "--new-passphrase-stdin"], "moved pw\n");
    assert!(o.status.success(), "keyring to passphrase: {}", stderr(&o));
    assert_eq!(account_names(&home, "moved pw"), vec!["K"], "opens with the passphrase");
    let o = run(td(&home, Some("moved pw")), &["key", "use-keyring"]);
    assert!(o.status.success(), "passphrase to keyring: {}", stderr(&o));
    assert!(run(td(&home, None), &["db", "status"]).status.success(), "opens from the keyring again");
    let o = run_stdin(
        td_no_keyring(&dir.path().join("again"), Some("x")),
        &["--recovery-key-stdin", "db", "restore", b.to_str().expect("utf-8")],
        &format!("{code}\n"),
    );
    assert!(o.status.success(), "the old backup still opens with the recovery key: {}", stderr(&o));
}
