//! Command tests without a window: the real command handlers, state and capability (ACL) on Tauri's mock
//! runtime, invoked through IPC exactly as the page invokes them (`tauri://localhost`, JSON arguments in
//! camelCase), against real encrypted stores in temporary folders. Passphrase stores keep these tests
//! independent of a keyring (the end-to-end test covers the OS keyring).

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

use super::*;

struct Ui {
    _app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
}

impl Ui {
    fn new(home: &std::path::Path) -> Ui {
        let app = builder(mock_builder(), home.to_path_buf())
            .build(tauri::generate_context!(test = true))
            .expect("the app builds on the mock runtime");
        let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("the main window");
        Ui { _app: app, window }
    }

    /// Invoke `cmd` as the page does; Ok(value) or Err(the serialized ApiError / refusal).
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        tauri::test::get_ipc_response(
            &self.window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().expect("url"),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<Value>().expect("a JSON response"))
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args).unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        match self.call(cmd, args) {
            Ok(v) => panic!("{cmd} should fail, got {v}"),
            Err(e) => e,
        }
    }
}

const PASS: &str = "correct horse battery staple";

/// A new store with the demo portfolio, opened through the commands.
fn demo(home: &std::path::Path) -> Ui {
    let ui = Ui::new(home);
    let code = ui.ok("create_store", json!({ "email": "me@example.com", "passphrase": PASS }));
    assert!(code.as_str().is_some_and(|c| c.len() > 50), "a recovery key is shown once: {code}");
    let user = ui.ok("load_demo", json!({}));
    assert_eq!(user["email"], "demo@trenddojo.com", "the demo user acts after loading demo data");
    ui
}

#[test]
fn every_command_is_granted_to_the_window_and_nothing_else() {
    let cap: Value = serde_json::from_str(include_str!("../capabilities/main.json")).expect("capability JSON");
    let granted: Vec<String> = cap["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .filter_map(|p| p.as_str())
        .filter_map(|p| p.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect();
    let commands: Vec<String> = COMMANDS.iter().map(|c| (*c).to_string()).collect();
    assert_eq!(granted, commands, "the capability grants exactly the commands, in the same order");
    let src = include_str!("lib.rs");
    let start = src.find("generate_handler![").expect("the handler list") + "generate_handler![".len();
    let end = src[start..].find(']').expect("its end") + start;
    let handled: Vec<String> =
        src[start..end].split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    assert_eq!(handled, commands, "build.rs's permission list is the handler list");
    let other: Vec<&str> = cap["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .filter_map(|p| p.as_str())
        .filter(|p| !p.starts_with("allow-"))
        .collect();
    assert_eq!(
        other,
        ["core:event:allow-listen", "core:event:allow-unlisten", "dialog:allow-open", "dialog:allow-save"],
        "besides the commands: events and the two file dialogs only"
    );
}

#[test]
fn a_command_the_window_was_not_granted_is_refused() {
    let home = tempfile::tempdir().expect("temp dir");
    let ui = Ui::new(home.path());
    let e = ui.err("plugin:app|version", json!({}));
    assert!(e.to_string().contains("not allowed") || e.to_string().contains("not found"), "refused: {e}");
    let e = ui.err("plugin:window|close", json!({}));
    assert!(e.to_string().contains("not allowed") || e.to_string().contains("not found"), "refused: {e}");
}

#[test]
fn first_run_recovery_key_demo_data_and_the_dashboard_the_cli_sees() {
    let home = tempfile::tempdir().expect("temp dir");
    let ui = Ui::new(home.path());
    let before = ui.ok("launch_state", json!({}));
    assert_eq!(before["exists"], false, "a fresh data folder has no store: {before}");
    assert_eq!(ui.ok("session", json!({})), Value::Null, "nothing is unlocked yet");
    let e = ui.err("list_accounts", json!({}));
    assert_eq!(e["code"], "not_initialized", "commands before unlock say the journal is locked: {e}");

    let e = ui.err("create_store", json!({ "email": "not an email", "passphrase": PASS }));
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("invalid_input"), Some("email")), "{e}");
    assert_eq!(ui.ok("launch_state", json!({}))["exists"], false, "a refused create leaves nothing behind");

    let code = ui.ok("create_store", json!({ "email": "me@example.com", "passphrase": PASS }));
    let code = code.as_str().expect("the recovery key").to_string();
    let e = ui.err("confirm_recovery_key", json!({ "text": "0000-0000" }));
    assert_eq!(e["field"], "recovery key", "a wrong recovery key is reported on its field, as the core names it: {e}");
    ui.ok("confirm_recovery_key", json!({ "text": code }));
    assert_eq!(ui.ok("confirm_recovery_key", json!({ "text": code })), Value::Null, "confirming again is harmless");
    let state = ui.ok("launch_state", json!({}));
    assert_eq!((state["exists"].as_bool(), state["method"].as_str()), (Some(true), Some("passphrase")), "{state}");

    let user = ui.ok("load_demo", json!({}));
    assert_eq!(user["email"], "demo@trenddojo.com", "demo data acts as the demo user");
    let accounts = ui.ok("list_accounts", json!({}));
    let first = accounts[0]["name"].as_str().expect("an account").to_string();
    let dash = ui.ok("dashboard", json!({ "input": { "account": first } }));

    // The same store opened by the core directly (as the CLI opens it) gives the same statistics.
    let j = trenddojo_core::Journal::open(&trenddojo_core::OpenOptions {
        home: home.path().to_path_buf(),
        key: trenddojo_core::KeySource::Passphrase(trenddojo_core::Passphrase::new(PASS).expect("passphrase")),
        user: None,
    })
    .expect("open the same store");
    let cli = serde_json::to_value(j.stats(Some(&first), None, None).expect("stats")).expect("json");
    assert_eq!(dash["stats"], cli[0], "the dashboard shows exactly the statistics `trenddojo stats` computes");
    let curve = dash["equity_curve"].as_array().expect("an equity curve");
    assert_eq!(
        curve.len() as u64,
        dash["stats"]["stats"]["trades"].as_u64().expect("trades") + 1,
        "one point per trade"
    );
    assert_eq!(
        curve.last().expect("a point")["equity"],
        dash["stats"]["stats"]["ending_equity"],
        "ends at the ending equity"
    );

    let page = ui.ok("trade_page", json!({ "input": { "sort": "pnl", "limit": 5 } }));
    assert!(page["total"].as_u64().expect("total") >= 5, "the demo has trades: {}", page["total"]);
    assert_eq!(page["trades"].as_array().expect("rows").len(), 5, "a page of the asked size");
}

#[test]
fn errors_cross_the_boundary_with_their_field_and_risk_rules_block() {
    let home = tempfile::tempdir().expect("temp dir");
    let ui = demo(home.path());
    let accounts = ui.ok("list_accounts", json!({}));
    let account = accounts[0]["name"].as_str().expect("an account").to_string();
    let trade = json!({ "account": account, "symbol": "AAPL", "side": "long", "quantity": "-5", "price": "100" });
    let e = ui.err("open_trade", json!({ "input": { "trade": trade } }));
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("invalid_input"), Some("quantity")), "{e}");

    ui.ok("set_risk", json!({ "account": account, "input": { "max_risk_pct": "0.5", "enforcement": "block" } }));
    let big = json!({ "account": account, "symbol": "AAPL", "side": "long", "quantity": "1000", "price": "100", "stop": "90" });
    let check = ui.ok("check_new_trade", json!({ "input": big }));
    assert_eq!(check["blocks"], true, "the preview says the rule blocks: {check}");
    assert!(
        check["violations"][0].as_str().is_some_and(|v| v.starts_with("max_risk_per_trade")),
        "the preview names the rule: {check}"
    );
    let e = ui.err("open_trade", json!({ "input": { "trade": big } }));
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("risk_blocked"), Some("risk")), "{e}");
    assert!(e["message"].as_str().is_some_and(|m| m.contains("max_risk_per_trade")), "names the rule: {e}");
    let total = ui.ok("trade_page", json!({ "input": { "symbol": "AAPL" } }))["total"].clone();

    // A checklist with a required item: unchecked refuses the trade before anything is written.
    let list = ui.ok("add_checklist", json!({ "input": { "name": "Pre", "items": ["Trend agrees"] } }));
    let item = list["items"][0]["id"].as_str().expect("item id").to_string();
    let small =
        json!({ "account": account, "symbol": "AAPL", "side": "long", "quantity": "1", "price": "100", "stop": "99" });
    let unchecked = json!({ "trade": small, "checklist": "Pre", "answers": [{ "item": item, "checked": false }] });
    let e = ui.err("open_trade", json!({ "input": unchecked }));
    assert_eq!(e["field"], "checklist", "an unchecked required item is named: {e}");
    assert_eq!(ui.ok("trade_page", json!({ "input": { "symbol": "AAPL" } }))["total"], total, "nothing was written");
    let checked = json!({ "trade": small, "checklist": "Pre", "answers": [{ "item": item, "checked": true }] });
    let d = ui.ok("open_trade", json!({ "input": checked }));
    assert_eq!(d["checklist"][0]["checked"], true, "the answer is recorded with the trade: {}", d["checklist"]);
    assert_eq!(d["status"], "open", "the trade opened");
    let id = d["id"].as_str().expect("id").to_string();
    let d = ui.ok("close_trade", json!({ "trade": id, "input": { "price": "101" } }));
    assert_eq!((d["status"].as_str(), d["net_pnl"].as_str()), (Some("closed"), Some("1")), "closed at +1: {d}");
    let e = ui.err("close_trade", json!({ "trade": id, "input": { "price": "101" } }));
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some("conflict"), Some("trade")), "{e}");
}

#[test]
fn a_wrong_passphrase_is_a_clear_error_and_the_right_one_unlocks() {
    let home = tempfile::tempdir().expect("temp dir");
    let first = demo(home.path());
    // As the app does when it quits: closing waits for the backup the demo's unlock started.
    first.window.state::<AppState>().close().expect("close the first run");
    drop(first);
    // No daily backup yet: the unlock takes one, after it returns, on a thread of its own.
    let backups = home.path().join("backups");
    let dailies = || {
        std::fs::read_dir(&backups)
            .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("daily-")).count())
            .unwrap_or(0)
    };
    for e in std::fs::read_dir(&backups).into_iter().flatten().flatten() {
        if e.file_name().to_string_lossy().starts_with("daily-") {
            std::fs::remove_file(e.path()).expect("remove a daily backup");
        }
    }
    let ui = Ui::new(home.path());
    let e = ui.err("unlock", json!({ "passphrase": "wrong passphrase" }));
    assert_eq!(e["code"], "wrong_key", "a wrong passphrase is a wrong key, as the core says: {e}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "with a message in words: {e}");
    let e = ui.err("dashboard", json!({ "input": {} }));
    assert_eq!(e["code"], "not_initialized", "still locked after a wrong passphrase: {e}");
    let user = ui.ok("unlock", json!({ "passphrase": PASS }));
    assert_eq!(user["email"], "demo@trenddojo.com", "the right passphrase unlocks the same journal");
    let e = ui.err("sync_now", json!({}));
    assert_eq!(e["field"], "server", "sync without a login names the server field: {e}");
    // Closing waits for the backup in progress, so the store is closed only when nothing holds it.
    ui.window.state::<AppState>().close().expect("close");
    assert_eq!(dailies(), 1, "the unlock's daily backup was taken and finished before the close returned");
}

#[test]
fn the_data_folder_comes_from_the_arguments_first() {
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
    assert_eq!(data_folder(&args(&["app", "--home", "/tmp/x"])), PathBuf::from("/tmp/x"), "--home DIR");
    assert_eq!(data_folder(&args(&["app", "--home=/tmp/y"])), PathBuf::from("/tmp/y"), "--home=DIR");
    assert!(data_folder(&args(&["app"])).ends_with("trenddojo"), "the CLI's default folder otherwise");
}
