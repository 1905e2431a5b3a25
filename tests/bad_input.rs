//! Every input a user can get wrong: a one-line error naming the field, a nonzero exit code, and the
//! store exactly as it was (compared row by row before and after).

mod common;

use common::{stderr, Home};

#[test]
fn bad_input_is_refused_cleanly_and_changes_nothing() {
    let h = Home::init();
    let acct = h.json(&[
        "account",
        "add",
        "--name",
        "Main",
        "--currency",
        "USD",
        "--balance",
        "10000",
        "--timezone",
        "America/New_York",
    ]);
    let account = acct["id"].as_str().unwrap().to_string();
    h.json(&["risk", "set", "--account", "Main", "--enforcement", "warn"]);
    let t = h.json(&[
        "trade",
        "open",
        "--account",
        "Main",
        "--symbol",
        "AAPL",
        "--side",
        "long",
        "--quantity",
        "10",
        "--price",
        "100",
        "--stop",
        "95",
    ]);
    let trade = t["id"].as_str().unwrap().to_string();

    let cases: Vec<(Vec<&str>, &str, i32)> = vec![
        (vec!["account", "add", "--name", "X", "--currency", "USD", "--balance", "1,000"], "balance", 2),
        (vec!["account", "add", "--name", "X", "--currency", "USD", "--balance", "-5"], "balance", 2),
        (vec!["account", "add", "--name", "X", "--currency", "DOLLARS", "--balance", "5"], "currency", 2),
        (
            vec!["account", "add", "--name", "X", "--currency", "USD", "--balance", "5", "--timezone", "Mars/Base"],
            "timezone",
            2,
        ),
        (vec!["account", "add", "--name", "Main", "--currency", "USD", "--balance", "5"], "name", 2),
        (
            vec![
                "trade",
                "open",
                "--account",
                &account,
                "--symbol",
                "A",
                "--side",
                "long",
                "--quantity",
                "1e3",
                "--price",
                "10",
            ],
            "quantity",
            2,
        ),
        (
            vec![
                "trade",
                "open",
                "--account",
                &account,
                "--symbol",
                "A",
                "--side",
                "long",
                "--quantity",
                "-3",
                "--price",
                "10",
            ],
            "quantity",
            2,
        ),
        (
            vec![
                "trade",
                "open",
                "--account",
                &account,
                "--symbol",
                "A",
                "--side",
                "long",
                "--quantity",
                "0",
                "--price",
                "10",
            ],
            "quantity",
            2,
        ),
        (
            vec![
                "trade",
                "open",
                "--account",
                &account,
                "--symbol",
                "A",
                "--side",
                "long",
                "--quantity",
                "1",
                "--price",
                "abc",
            ],
            "price",
            2,
        ),
        (
            vec![
                "trade",
                "open",
                "--account",
                &account,
                "--symbol",
                "A",
                "--side",
                "long",
                "--quantity",
                "1",
                "--price",
                "NaN",
            ],
            "price",
            2,
        ),
        (
            vec![
                "trade",
                "open",
                "--account",
                &account,
                "--symbol",
                "A",
                "--side",
                "sideways",
                "--quantity",
                "1",
                "--price",
                "10",
            ],
            "side",
            2,
        ),
        (
            vec![
                "trade",
                "open",
                "--account",
                &account,
                "--symbol",
                "A",
                "--side",
                "long",
                "--quantity",
                "1",
                "--price",
                "10",
                "--stop",
                "11",
            ],
            "stop",
            2,
        ),
        (
            vec![
                "trade",
                "open",
                "--account",
                &account,
                "--symbol",
                "A",
                "--side",
                "short",
                "--quantity",
                "1",
                "--price",
                "10",
                "--target",
                "11",
            ],
            "target",
            2,
        ),
        (
            vec![
                "trade",
                "open",
                "--account",
                &account,
                "--symbol",
                "A",
                "--side",
                "long",
                "--quantity",
                "1",
                "--price",
                "10",
                "--fees",
                "-1",
            ],
            "fees",
            2,
        ),
        (
            vec![
                "trade",
                "open",
                "--account",
                &account,
                "--symbol",
                "A",
                "--side",
                "long",
                "--quantity",
                "1",
                "--price",
                "10",
                "--at",
                "1899-01-01T00:00:00Z",
            ],
            "at",
            2,
        ),
        (
            vec![
                "trade",
                "open",
                "--account",
                &account,
                "--symbol",
                "A",
                "--side",
                "long",
                "--quantity",
                "1",
                "--price",
                "10",
                "--at",
                "2999-01-01T00:00:00Z",
            ],
            "at",
            2,
        ),
        (
            vec![
                "trade",
                "open",
                "--account",
                &account,
                "--symbol",
                "A",
                "--side",
                "long",
                "--quantity",
                "1",
                "--price",
                "10",
                "--at",
                "2026-03-08 02:30",
            ],
            "at",
            2,
        ),
        (
            vec![
                "trade",
                "open",
                "--account",
                &account,
                "--symbol",
                "A",
                "--side",
                "long",
                "--quantity",
                "1",
                "--price",
                "10",
                "--at",
                "yesterday",
            ],
            "at",
            2,
        ),
        (
            vec![
                "trade",
                "open",
                "--account",
                "nope",
                "--symbol",
                "A",
                "--side",
                "long",
                "--quantity",
                "1",
                "--price",
                "10",
            ],
            "account",
            3,
        ),
        (
            vec![
                "trade",
                "open",
                "--account",
                &account,
                "--symbol",
                "A B",
                "--side",
                "long",
                "--quantity",
                "1",
                "--price",
                "10",
            ],
            "symbol",
            2,
        ),
        (vec!["trade", "add-execution", &trade, "--side", "sell", "--quantity", "11", "--price", "101"], "quantity", 4),
        (vec!["trade", "close", &trade, "--price", "101", "--quantity", "10.5"], "quantity", 4),
        (vec!["trade", "close", &trade, "--price", "0"], "price", 2),
        (
            vec![
                "trade",
                "add-execution",
                "00000000-0000-7000-8000-000000000000",
                "--side",
                "buy",
                "--quantity",
                "1",
                "--price",
                "1",
            ],
            "trade",
            3,
        ),
        (vec!["trade", "show", "zzzz"], "trade", 3),
        (vec!["trade", "edit", &trade, "--stop", "120"], "stop", 2),
        (vec!["trade", "edit", &trade, "--cancel"], "cancel", 4),
        (vec!["trade", "list", "--from", "2026-13-01"], "from", 2),
        (vec!["trade", "list", "--from", "2026-03-02", "--to", "2026-03-01"], "to", 2),
        (vec!["trade", "list", "--sort", "sideways"], "sort", 2),
        (vec!["trade", "list", "--status", "dreaming"], "status", 2),
        (vec!["stats", "--account", "Main", "--from", "03/01/2026"], "from", 2),
        (vec!["risk", "set", "--account", "Main", "--max-risk-pct", "150"], "max-risk-pct", 2),
        (vec!["risk", "set", "--account", "Main", "--enforcement", "maybe"], "enforcement", 2),
        (vec!["risk", "size", "--account", "Main", "--side", "long", "--entry", "10", "--stop", "12"], "stop", 2),
        (vec!["note", "add", "   "], "text", 2),
        (vec!["note", "add", "hi", "--kind", "poem"], "kind", 2),
        (vec!["db", "seed", "--state", "prod"], "state", 2),
        (vec!["db", "seed", "--state", "demo"], "state", 4),
        (vec!["db", "migrate", "--to", "99"], "to", 2),
        // A missing folder is refused before anything is written (backups never create folders).
        (vec!["db", "backup", "/proc/not/allowed/here.db"], "file", 2),
        (vec!["db", "restore", "/nonexistent/file.db"], "file", 2),
    ];
    for (args, field, code) in cases {
        let before = h.dump();
        let o = h.run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(code), "`{}` must exit {code}; stderr: {err}", args.join(" "));
        assert_eq!(err.lines().count(), 1, "`{}` must print exactly one line: {err}", args.join(" "));
        assert!(err.starts_with("error: "), "`{}` error line starts with error: {err}", args.join(" "));
        if !field.is_empty() {
            assert!(
                err.starts_with(&format!("error: {field}:")),
                "`{}` must name the field {field:?}: {err}",
                args.join(" ")
            );
        }
        assert!(o.stdout.is_empty(), "`{}` prints nothing on stdout when it fails", args.join(" "));
        assert_eq!(before, h.dump(), "`{}` must leave the store exactly as it was", args.join(" "));
    }
}

#[test]
fn json_errors_carry_a_code() {
    let h = Home::init();
    let o = h.run(&["--json", "trade", "show", "abcd"]);
    let v: serde_json::Value = serde_json::from_str(&stderr(&o)).expect("the error is JSON on stderr");
    assert_eq!(v["error"]["code"], "not_found", "stable error code for scripts and the UI");
    assert_eq!(o.status.code(), Some(3), "not found exits 3");
}

#[test]
fn a_store_from_a_newer_schema_is_refused() {
    let h = Home::init();
    let store = h.open_store();
    store
        .with_writer(|c| {
            c.execute(
                "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (99, 'future', '2030-01-01', '0')",
                [],
            )?;
            Ok(())
        })
        .unwrap();
    drop(store);
    let before = h.dump_raw();
    let o = h.run(&["account", "list"]);
    assert_eq!(o.status.code(), Some(9), "newer schema has its own exit code: {}", stderr(&o));
    assert!(stderr(&o).contains("newer"), "and says to upgrade: {}", stderr(&o));
    assert_eq!(before, h.dump_raw(), "nothing was migrated or written");
}

#[test]
fn wrong_passphrase_and_missing_store_fail_clearly() {
    let h = Home::init();
    let before = h.dump_raw();
    let o = h.cmd().env("TRENDDOJO_PASSPHRASE", "wrong").args(["account", "list"]).output().unwrap();
    assert_eq!(o.status.code(), Some(8), "wrong key exit code: {}", stderr(&o));
    assert!(stderr(&o).contains("wrong key or passphrase"), "clear message: {}", stderr(&o));
    assert_eq!(before, h.dump_raw(), "the file is untouched");

    let empty = tempfile::tempdir().unwrap();
    let o = h.cmd().env("TRENDDOJO_HOME", empty.path()).args(["account", "list"]).output().unwrap();
    assert_eq!(o.status.code(), Some(7), "no store: {}", stderr(&o));
    assert!(stderr(&o).contains("trenddojo init"), "says what to do: {}", stderr(&o));
    assert!(common::files_under(empty.path()).is_empty(), "and does not create an empty store");

    let again = h.run(&["init"]);
    assert_eq!(again.status.code(), Some(4), "init over an existing store is refused: {}", stderr(&again));
}
