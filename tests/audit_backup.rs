//! The local change log (the audit trail, and the outbox as a cursor over it) records every financial
//! change and cannot be edited; backups restore exactly and refuse files that are not backups of this
//! store.

use crate::common;

use common::{stderr, Home};

/// The change-log entries of `table`, oldest first: (action, changes as JSON text or "").
fn audit_rows(h: &Home, table: &str) -> Vec<(String, String)> {
    h.open_store()
        .read(|c| {
            let mut stmt =
                c.prepare("SELECT action, coalesce(changes, '') FROM change_log WHERE table_name = ?1 ORDER BY seq")?;
            let rows = stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<Vec<_>, _>>()?;
            Ok::<_, trenddojo_store::StoreError>(rows)
        })
        .unwrap()
}

#[test]
fn every_financial_change_is_audited_and_the_log_is_append_only() {
    let h = Home::init();
    h.json(&["account", "add", "--name", "A", "--currency", "USD", "--balance", "1000"]);
    let t = h.json(&[
        "trade",
        "open",
        "--account",
        "A",
        "--symbol",
        "X",
        "--side",
        "long",
        "--quantity",
        "2",
        "--price",
        "10",
        "--stop",
        "9.5",
    ]);
    let id = t["id"].as_str().unwrap().to_string();
    h.json(&["trade", "close", &id, "--price", "11"]);
    h.json(&["trade", "delete", &id]);

    let accounts = audit_rows(&h, "accounts");
    assert_eq!(accounts.len(), 1, "one account insert: {accounts:?}");
    assert_eq!(accounts[0], ("insert".to_string(), String::new()), "an insert's values are the row's own");
    let executions = audit_rows(&h, "executions");
    let actions: Vec<&str> = executions.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "insert").count(), 2, "both fills inserted: {executions:?}");
    assert!(actions.contains(&"delete"), "the delete is recorded as a tombstone: {executions:?}");
    let trades = audit_rows(&h, "trades");
    assert_eq!(trades.first().map(|r| r.0.as_str()), Some("insert"), "trade insert first: {trades:?}");
    let last = trades.last().expect("entries");
    assert_eq!(last.0, "delete", "trade delete last: {trades:?}");
    assert!(last.1.contains(r#""deleted":[0,1]"#), "the tombstone records the field it changed: {}", last.1);
    let close = trades.iter().find(|r| r.1.contains(r#""status":["open","closed"]"#));
    let close = close.unwrap_or_else(|| panic!("the close records the status change, old and new: {trades:?}"));
    assert!(close.1.contains(r#""net_pnl":["0","#), "with the P&L it changed, exactly: {}", close.1);
    assert!(!close.1.contains("updated_hlc"), "only the fields that changed, not the bookkeeping: {}", close.1);
    assert!(!audit_rows(&h, "trade_stop_adjustments").is_empty(), "stops are audited");

    let store = h.open_store();
    for sql in ["UPDATE change_log SET action = 'insert'", "DELETE FROM change_log"] {
        let err = store.with_writer(|c| Ok(c.execute(sql, [])?)).unwrap_err().to_string();
        assert!(err.contains("append-only"), "{sql} must be refused: {err}");
    }
    let outbox: i64 = store
        .read(|c| {
            Ok::<_, trenddojo_store::StoreError>(c.query_row(
                "SELECT count(*) FROM change_log WHERE push = 1",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!(outbox >= 6, "every change is queued for sync in the same transaction: {outbox}");
}

#[test]
fn backup_and_restore_round_trip() {
    let h = Home::init();
    h.json(&["account", "add", "--name", "Before", "--currency", "USD", "--balance", "1000"]);
    let file = h.dir.path().join("b.db");
    let b = h.json(&["db", "backup", file.to_str().unwrap()]);
    assert!(b["bytes"].as_u64().unwrap() > 0, "backup written: {b}");
    let snapshot = h.dump();
    let again = h.run(&["db", "backup", file.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2), "an existing file is never overwritten: {}", stderr(&again));

    h.json(&["account", "add", "--name", "After", "--currency", "USD", "--balance", "5"]);
    assert_ne!(snapshot, h.dump(), "the store changed");
    let r = h.json(&["db", "restore", file.to_str().unwrap()]);
    assert!(std::path::Path::new(r["previous_data_saved_to"].as_str().unwrap()).exists(), "a safety copy is kept: {r}");
    assert_eq!(snapshot, h.dump(), "restore brings back exactly the backed-up data");
    assert_eq!(h.json(&["db", "check"])["ok"], true, "the restored store passes its checks");

    // A backup of another store (its own random salt, so another key) is refused and changes nothing.
    let other = Home::init();
    let foreign = other.dir.path().join("other.db");
    other.json(&["db", "backup", foreign.to_str().unwrap()]);
    let before = h.dump();
    let o = h.run(&["db", "restore", foreign.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "foreign backup refused: {}", stderr(&o));
    assert!(stderr(&o).contains("not a backup of this store"), "clear message: {}", stderr(&o));
    assert_eq!(before, h.dump(), "nothing changed");
}
