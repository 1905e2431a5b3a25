//! Every input a user can get wrong: a one-line error naming the field, a nonzero exit code, and the
//! store exactly as it was (compared row by row before and after).

use crate::common;

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
    // A trade opened without a stop: its first stop becomes the initial stop and must be below the entry.
    let bare = h.json(&[
        "trade",
        "open",
        "--account",
        "Main",
        "--symbol",
        "MSFT",
        "--side",
        "long",
        "--quantity",
        "1",
        "--price",
        "100",
    ]);
    let bare = bare["id"].as_str().unwrap().to_string();
    h.json(&["account", "add", "--name", "Huge", "--currency", "USD", "--balance", "9999999999999999999999999999"]);

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
        (vec!["trade", "edit", &trade, "--initial-stop", "120"], "stop", 2),
        // Moving an existing stop past the entry is allowed (see cli_lifecycle); a first stop is not.
        (vec!["trade", "edit", &bare, "--stop", "120"], "stop", 2),
        (vec!["trade", "edit", &trade], "trade", 2),
        (vec!["trade", "edit", &trade, "--reason", "why not"], "reason", 2),
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
        // Negative numbers reach the field's own check instead of clap's "unexpected argument '-1'".
        (
            vec!["account", "add", "--name", "Y", "--currency", "USD", "--balance", "5", "--breakeven-tolerance", "-1"],
            "breakeven-tolerance",
            2,
        ),
        (vec!["risk", "set", "--account", "Main", "--max-open-positions", "-1"], "max-open-positions", 2),
        (vec!["risk", "set", "--account", "Main", "--max-correlated-positions", "-2"], "max-correlated-positions", 2),
        (vec!["risk", "set", "--account", "Main", "--max-open-positions", "ten"], "max-open-positions", 2),
        (
            vec![
                "trade",
                "open",
                "--account",
                "Main",
                "--symbol",
                "A",
                "--side",
                "long",
                "--quantity",
                "1",
                "--price",
                "10",
                "--multiplier",
                "-1",
            ],
            "multiplier",
            2,
        ),
        (vec!["trade", "list", "--limit", "-1"], "limit", 2),
        (vec!["trade", "list", "--limit", "0"], "limit", 2),
        (vec!["trade", "list", "--offset", "-5"], "offset", 2),
        (vec!["note", "list", "--limit", "-1"], "limit", 2),
        (vec!["checklist", "answer", &trade, "--checklist", "x", "--item", "-1"], "item", 2),
        (vec!["db", "migrate", "--to", "-1"], "to", 2),
        (
            vec!["risk", "size", "--account", "Main", "--side", "long", "--entry", "10", "--stop", "9", "--step", "-1"],
            "step",
            2,
        ),
        (
            vec![
                "risk",
                "size",
                "--account",
                "Main",
                "--side",
                "long",
                "--entry",
                "10",
                "--stop",
                "9",
                "--multiplier",
                "-1",
            ],
            "multiplier",
            2,
        ),
        // Overflow: a 28-digit balance sized in steps of 1e-12 is more than 28 digits of steps (it panicked).
        (
            vec![
                "risk",
                "size",
                "--account",
                "Huge",
                "--side",
                "long",
                "--entry",
                "2",
                "--stop",
                "1",
                "--step",
                "0.000000000001",
            ],
            "step",
            2,
        ),
    ];
    for (args, field, code) in cases {
        let before = h.dump();
        let o = h.run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(code), "`{}` must exit {code}; stderr: {err}", args.join(" "));
        assert!(common::is_one_error(&err), "`{}` must print one error (and what to do): {err}", args.join(" "));
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

/// An id prefix that matches many rows says how many (it said "matches 2 rows" for any number) and shows
/// a few to pick from.
#[test]
fn an_ambiguous_prefix_says_how_many_and_shows_a_few() {
    let h = Home::seeded("demo");
    let trades = h.json(&["trade", "list", "--limit", "1000"]);
    let ids: Vec<&str> = trades.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    // UUIDv7 ids made together share their first characters: take the prefix most of them share.
    let prefix = &ids[0][..4];
    let matching: Vec<&&str> = ids.iter().filter(|i| i.starts_with(prefix)).collect();
    assert!(matching.len() > 3, "the demo's trades share a prefix ({} of {})", matching.len(), ids.len());
    let before = h.dump();
    let o = h.run(&["trade", "show", prefix]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "ambiguous is invalid input: {err}");
    assert!(common::is_one_error(&err), "one error: {err}");
    assert!(
        err.starts_with(&format!("error: trade: \"{prefix}\" matches {} trades, such as ", matching.len())),
        "says how many: {err}"
    );
    let mut sorted: Vec<&str> = matching.iter().map(|i| **i).collect();
    sorted.sort_unstable();
    for id in &sorted[..3] {
        assert!(err.contains(id), "shows the first matches with their symbol: {err}");
    }
    assert!(err.contains(&format!("and {} more; give more characters", matching.len() - 3)), "and the rest: {err}");
    assert_eq!(before, h.dump(), "nothing changes");
    let accounts = h.run(&["account", "show", &h.json(&["account", "list"])[0]["id"].as_str().unwrap()[..4]]);
    assert!(
        stderr(&accounts).contains("matches 2 accounts, such as") && stderr(&accounts).contains("(Active Trading)"),
        "accounts too, with their names: {}",
        stderr(&accounts)
    );
}

/// `trenddojo ... | head` closes the pipe early: the program ends quietly (it panicked with "failed
/// printing to stdout: Broken pipe", exit 101).
#[test]
fn a_closed_pipe_ends_the_program_quietly() {
    let h = Home::seeded("demo");
    for args in [&["--json", "db", "status"][..], &["trade", "list", "--limit", "1000"][..], &["--json", "stats"][..]] {
        let mut cmd = h.cmd();
        cmd.args(args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("spawn trenddojo");
        // The reader goes away before the program has written anything (opening the store takes a while).
        drop(child.stdout.take());
        let o = child.wait_with_output().expect("wait");
        assert_eq!(o.status.code(), Some(0), "`{}` ends with success: {}", args.join(" "), stderr(&o));
        assert!(o.stderr.is_empty(), "`{}` says nothing: {}", args.join(" "), stderr(&o));
    }
}

/// Extreme but valid values are accepted or refused with the field's name; never a panic (exit 101).
#[test]
fn extreme_values_are_accepted_or_refused_by_name() {
    let h = Home::init();
    h.json(&["account", "add", "--name", "A", "--currency", "USD", "--balance", "1000000"]);
    h.json(&["risk", "set", "--account", "A", "--enforcement", "warn"]);
    let max = "9999999999999999999999999999";
    let o = h.run(&[
        "--json",
        "trade",
        "open",
        "--account",
        "A",
        "--symbol",
        "X",
        "--side",
        "long",
        "--quantity",
        max,
        "--price",
        "2",
        "--stop",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(0), "a 28-digit quantity opens (it panicked): {}", stderr(&o));
    let t: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(t["initial_risk"], max, "risk 28 digits x 1");
    assert!(stderr(&o).contains("warning: max_risk_per_trade"), "the risk rule warns: {}", stderr(&o));
    let id = t["id"].as_str().unwrap();
    for (args, field) in [
        (vec!["trade", "close", id, "--price", "10"], "price"),
        (vec!["trade", "add-execution", id, "--side", "buy", "--quantity", max, "--price", max], "quantity"),
    ] {
        let before = h.dump();
        let o = h.run(&args);
        assert_eq!(o.status.code(), Some(2), "`{}` is refused: {}", args.join(" "), stderr(&o));
        assert!(stderr(&o).starts_with(&format!("error: {field}:")), "naming {field}: {}", stderr(&o));
        assert_eq!(before, h.dump(), "and changes nothing");
    }
    let listed = h.run(&["trade", "list"]);
    assert!(listed.status.success(), "the store stays readable: {}", stderr(&listed));
}
