//! Devices witness the server's audit chain (issue 12): the database owner rewrites a middle audit row and
//! every row after it with consistent hashes, which `server verify-audit` alone accepts; the next sync of a
//! device that saw the chain before refuses with `audit_rewritten` (exit 15), `sync status` shows it, and
//! `server verify-audit --witness` with the device's exported heads reports it. An honest chain, across
//! the server's change of audit format (V14 per row, V15 per statement), never raises it.

use crate::devices;
use crate::pg;

use devices::Device;
use pg::Pg;
use serde_json::Value;
use tokio_postgres::Client;
use trenddojo_server::{admin, migrations};
use uuid::Uuid;

const PW: &str = "witness-password";

fn open_trade(d: &Device, symbol: &str) -> String {
    let t = d.json(&[
        "trade",
        "open",
        "--account",
        "Main",
        "--symbol",
        symbol,
        "--side",
        "long",
        "--quantity",
        "10",
        "--price",
        "100",
        "--stop",
        "95",
    ]);
    t["id"].as_str().expect("trade id").to_string()
}

/// Rewrite the audit row of `user` at `pos` (its new values get `"forged": true`) and recompute the hash of
/// every row after it, statement links and the chain head included, as the database owner would with the
/// triggers off: the chain is consistent again.
async fn rewrite_from(admin_c: &Client, user: Uuid, pos: i64) {
    admin_c
        .batch_execute(&format!(
            "ALTER TABLE trenddojo.audit_log DISABLE TRIGGER audit_log_no_change;
             UPDATE trenddojo.audit_log SET new_values = coalesce(new_values, '{{}}'::jsonb) || '{{\"forged\": true}}'
             WHERE user_id = '{user}' AND chain_pos = {pos};"
        ))
        .await
        .expect("rewrite a row");
    let rows = admin_c
        .query(
            "SELECT id, chain_pos, at, actor::text, table_name, row_id, action, old_values::text, new_values::text, \
                    prev_hash, hash, format, chain_hash \
             FROM trenddojo.audit_log WHERE user_id = $1 ORDER BY chain_pos",
            &[&user],
        )
        .await
        .expect("read the chain");
    let mut head = vec![0u8; 32];
    let mut statement: Option<(i64, Vec<u8>, Vec<Vec<u8>>)> = None;
    for r in &rows {
        let (id, p): (i64, i64) = (r.get(0), r.get(1));
        let format: i16 = r.get(11);
        let (prev, hash, link) = if format == 1 {
            let payload = admin::audit_payload(
                user,
                p,
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
                r.get(8),
                &head,
            );
            let hash = sha256(payload.as_bytes());
            let prev = std::mem::replace(&mut head, hash.clone());
            (prev, hash, None)
        } else {
            let payload =
                admin::audit_payload_v2(user, p, r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7), r.get(8));
            let leaf = sha256(payload.as_bytes());
            let st = statement.get_or_insert_with(|| (p, head.clone(), Vec::new()));
            st.2.push(leaf.clone());
            let prev = st.1.clone();
            let link = match r.get::<_, Option<Vec<u8>>>(12) {
                Some(_) => {
                    let (first, before, leaves) = statement.take().expect("open statement");
                    let link = admin::audit_link_v2(user, first, p, &before, &leaves);
                    head = link.clone();
                    Some(link)
                }
                None => None,
            };
            (prev, leaf, link)
        };
        if p >= pos {
            admin_c
                .execute(
                    "UPDATE trenddojo.audit_log SET prev_hash = $2, hash = $3, chain_hash = $4 WHERE id = $1",
                    &[&id, &prev, &hash, &link],
                )
                .await
                .expect("re-hash a row");
        }
    }
    admin_c
        .execute("UPDATE trenddojo.audit_heads SET last_hash = $2 WHERE user_id = $1", &[&user, &head])
        .await
        .expect("re-hash the head");
    admin_c
        .batch_execute("ALTER TABLE trenddojo.audit_log ENABLE TRIGGER audit_log_no_change")
        .await
        .expect("triggers back on");
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    openssl::sha::sha256(bytes).to_vec()
}

/// `trenddojo server verify-audit [--witness FILE]` against the test cluster: (exit code, stdout+stderr).
fn verify_cli(d: &Device, pg: &Pg, witness: Option<&std::path::Path>) -> (i32, String) {
    let mut c = d.home.cmd();
    c.env("TRENDDOJO_ADMIN_URL", pg.service()).args(["server", "verify-audit"]);
    if let Some(w) = witness {
        c.arg("--witness").arg(w);
    }
    let o = c.output().expect("run verify-audit");
    (
        o.status.code().unwrap_or(-1),
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
    )
}

#[tokio::test]
async fn a_rewritten_audit_chain_is_detected_by_a_device() {
    let pg = Pg::migrated().await;
    let (devices, _) = devices::fleet(&pg, 1, "pro", PW).await;
    let d = &devices[0];
    d.json(&["account", "add", "--name", "Main", "--currency", "USD", "--balance", "25000"]);
    for s in ["AAPL", "MSFT", "NVDA"] {
        open_trade(d, s);
        d.sync();
    }
    let status = d.json(&["sync", "status"]);
    assert_eq!(status["audit_rewritten"], Value::Null, "an honest chain raises nothing: {status}");
    assert!(status["audit_head"].as_str().is_some(), "the device recorded the chain head: {status}");

    let admin_c = pg.admin().await;
    let user: Uuid = d.json(&["user", "list"])[0]["id"].as_str().expect("id").parse().expect("uuid");
    let last: i64 = admin_c
        .query_one("SELECT last_pos FROM trenddojo.audit_heads WHERE user_id = $1", &[&user])
        .await
        .expect("head")
        .get(0);
    rewrite_from(&admin_c, user, last / 2).await;
    let forged = admin::verify_audit(&admin_c, None, &[]).await.expect("verify");
    assert!(forged.ok(), "a re-hashed rewrite passes the chain check alone (why witnesses exist): {forged:?}");

    let o = d.run(&["--json", "sync"]);
    assert_eq!(o.status.code(), Some(15), "sync exits 15 on a rewritten chain: {}", String::from_utf8_lossy(&o.stderr));
    let message = d.fails(&["sync"], "audit_rewritten");
    assert!(message.contains("rewritten"), "the message says what happened: {message}");
    let status = d.json(&["sync", "status"]);
    assert!(
        status["audit_rewritten"].as_str().is_some_and(|f| f.contains("rewritten")),
        "sync status shows the finding: {status}"
    );
    let text = String::from_utf8_lossy(&d.run(&["sync", "status"]).stdout).into_owned();
    assert!(text.contains("SERVER AUDIT CHAIN REWRITTEN"), "the status text shows it: {text}");

    // The device's heads, exported, convict the server with verify-audit --witness.
    let file = d.home.path().join("witness.json");
    let exported = d.json(&["sync", "export-witness", file.to_str().expect("path")]);
    assert!(exported["heads"].as_u64().is_some_and(|n| n >= 3), "one head per sync that moved the chain: {exported}");
    let (code, out) = verify_cli(d, &pg, None);
    assert_eq!(code, 0, "without a witness the forged chain verifies: {out}");
    let (code, out) = verify_cli(d, &pg, Some(&file));
    assert_eq!(code, 15, "with the device's heads verify-audit reports the rewrite: {out}");
    assert!(out.contains("a device saw"), "names the witnessed head: {out}");
}

#[tokio::test]
async fn an_honest_chain_never_raises_the_alarm_across_the_format_change() {
    let pg = Pg::start().await;
    let mut admin_c = pg.admin().await;
    migrations::migrate(&mut admin_c, Some(14)).await.expect("a V14 server (per-row audit)");
    let (devices, _) = devices::fleet(&pg, 2, "pro", PW).await;
    let (a, b) = (&devices[0], &devices[1]);
    a.json(&["account", "add", "--name", "Main", "--currency", "USD", "--balance", "25000"]);
    let t = open_trade(a, "AAPL");
    a.sync();
    b.sync();
    b.json(&["trade", "edit", &t, "--setup", "breakout"]);
    b.sync();
    a.sync();

    migrations::migrate(&mut admin_c, None).await.expect("the server moves to the set-based audit");
    for (i, s) in ["MSFT", "NVDA", "AMD"].iter().enumerate() {
        open_trade(if i % 2 == 0 { a } else { b }, s);
        a.sync();
        b.sync();
    }
    b.json(&["trade", "edit", &t, "--setup", "pullback"]);
    b.sync();
    a.sync();
    let formats = admin_c
        .query_one(
            "SELECT count(*) FILTER (WHERE format = 1), count(*) FILTER (WHERE format = 2) FROM trenddojo.audit_log",
            &[],
        )
        .await
        .expect("formats");
    assert!(formats.get::<_, i64>(0) > 0 && formats.get::<_, i64>(1) > 0, "the devices saw the chain in both formats");
    // Each pull's change-log entry records the chain head of the snapshot it read (issue 15, decision 2):
    // after the last round nothing was written, so device a's last pull saw the current head.
    let server_head = admin_c
        .query_one("SELECT last_pos, encode(last_hash, 'hex') FROM trenddojo.audit_heads", &[])
        .await
        .expect("the one user's chain head");
    let pulls: Vec<String> = a
        .home
        .open_store()
        .read(|c| {
            let mut st = c.prepare("SELECT changes FROM change_log WHERE action = 'pull' ORDER BY seq")?;
            let rows = st.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok::<_, trenddojo_store::StoreError>(rows)
        })
        .expect("device a's pull entries");
    let last: Value = serde_json::from_str(pulls.last().expect("device a pulled")).expect("a pull entry is JSON");
    assert_eq!(
        (last["audit_head"]["pos"].as_i64(), last["audit_head"]["hash"].as_str()),
        (Some(server_head.get::<_, i64>(0)), Some(server_head.get::<_, String>(1).as_str())),
        "the last pull entry names the server's chain head: {last}"
    );
    for (name, d) in [("a", a), ("b", b)] {
        let status = d.json(&["sync", "status"]);
        assert_eq!(status["audit_rewritten"], Value::Null, "device {name}: an honest chain raises nothing: {status}");
        let file = d.home.path().join("witness.json");
        d.json(&["sync", "export-witness", file.to_str().expect("path")]);
        let (code, out) = verify_cli(d, &pg, Some(&file));
        assert_eq!(code, 0, "device {name}'s heads are all on the honest chain: {out}");
    }
}
