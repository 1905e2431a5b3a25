//! Operations with the service connection: provisioning users, checking the audit chain, maintenance.
//!
//! Provisioning calls the schema's own `trenddojo.provision_user` (SECURITY DEFINER), the same function a
//! Supabase deployment calls from a trusted place (see docs/server.md), so there is one code path. The
//! password never travels: we send a SCRAM-SHA-256 verifier (salted, iterated) computed here.
//!
//! Audit verification recomputes every hash in Rust from the stored fields, independently of the
//! database's own `audit_payload` function, so a tamperer who also rewrites that function is still caught.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_postgres::{Client, Config};
use uuid::Uuid;

use crate::error::{Result, ServerError};

/// Subscription tiers as the server names them.
pub const TIERS: &[&str] = &["free", "basic", "pro"];

/// The standard accounts of the seed states (password `demo123`).
pub const STANDARD_USERS: &[(&str, &str, &str)] = &[
    ("empty@demo.test", "Empty Demo", "free"),
    ("basic@demo.test", "Basic Demo", "basic"),
    ("pro@demo.test", "Pro Demo", "pro"),
    ("demo@trenddojo.com", "Demo Trader", "pro"),
];
pub const STANDARD_PASSWORD: &str = "demo123";

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Provisioned {
    pub user_id: Uuid,
    pub email: String,
    pub tier: String,
    pub role: String,
    /// True when the user or its role was created by this call (false: updated in place).
    pub created: bool,
    /// The user's own connection URL, without the password.
    pub url: String,
}

fn check_email(email: &str) -> Result<String> {
    let e = email.trim();
    let ok = e.len() >= 3
        && e.len() <= 254
        && e.find('@').is_some_and(|i| i > 0 && i < e.len() - 1)
        && !e.contains(char::is_whitespace);
    if ok {
        Ok(e.to_string())
    } else {
        Err(ServerError::invalid("email", format!("{email:?} is not an email address")))
    }
}

fn check_tier(tier: &str) -> Result<()> {
    if TIERS.contains(&tier) {
        Ok(())
    } else {
        Err(ServerError::invalid("tier", format!("{tier:?} is not a tier (free, basic or pro)")))
    }
}

/// Where a user's role connects: the service connection's host (TCP loopback for a Unix socket), port and
/// database.
pub fn user_url(service: &Config, role: &str) -> String {
    let host = match service.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_string(),
    };
    let port = service.get_ports().first().copied().unwrap_or(5432);
    let db = service.get_dbname().unwrap_or("postgres");
    format!("postgresql://{role}@{host}:{port}/{db}")
}

/// Create or update a user, its login role and password, idempotently.
pub async fn add_user(
    client: &Client,
    service: &Config,
    email: &str,
    tier: &str,
    display_name: Option<&str>,
    password: &str,
) -> Result<Provisioned> {
    add_user_with_id(client, service, Uuid::now_v7(), email, tier, display_name, password).await
}

/// [`add_user`] with the id a new user gets (an existing user keeps theirs): a store created offline
/// keeps its user's id when that user is provisioned on the server.
pub async fn add_user_with_id(
    client: &Client,
    service: &Config,
    new_id: Uuid,
    email: &str,
    tier: &str,
    display_name: Option<&str>,
    password: &str,
) -> Result<Provisioned> {
    let email = check_email(email)?;
    check_tier(tier)?;
    if password.chars().count() < 6 {
        return Err(ServerError::invalid("password", "must be at least 6 characters"));
    }
    let name = display_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or("trader"));
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    let row = client
        .query_one(
            "SELECT user_id, role_name::text, created FROM trenddojo.provision_user($1, $2, $3, $4, $5)",
            &[&new_id, &email, &name, &tier, &verifier],
        )
        .await?;
    let role: String = row.get(1);
    Ok(Provisioned {
        user_id: row.get(0),
        email,
        tier: tier.to_string(),
        url: user_url(service, &role),
        role,
        created: row.get(2),
    })
}

/// Drop a user's login role (ending its sessions) and tombstone the user. False if there was no such user
/// or it was already removed.
pub async fn remove_user(client: &Client, email: &str) -> Result<bool> {
    let email = check_email(email)?;
    Ok(client.query_one("SELECT trenddojo.remove_user($1)", &[&email]).await?.get(0))
}

/// Create the standard seed accounts (password `demo123`).
pub async fn seed_standard_users(client: &Client, service: &Config) -> Result<Vec<Provisioned>> {
    let mut out = Vec::new();
    for (email, name, tier) in STANDARD_USERS {
        out.push(add_user(client, service, email, tier, Some(name), STANDARD_PASSWORD).await?);
    }
    Ok(out)
}

/// Create market-data partitions ahead (and move rows out of the default partition).
pub async fn maintain(client: &Client) -> Result<i32> {
    Ok(client.query_one("SELECT trenddojo.maintain_market_data_partitions(12, 3)", &[]).await?.get(0))
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AuditReport {
    pub users: usize,
    pub rows: usize,
    /// One line per broken link; empty means every chain verified.
    pub problems: Vec<String>,
}

impl AuditReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The canonical text a row's hash covers (must match `trenddojo.audit_payload`, version 1).
#[allow(clippy::too_many_arguments)]
pub fn audit_payload(
    user: Uuid,
    pos: i64,
    at: DateTime<Utc>,
    actor: &str,
    table: &str,
    row: Uuid,
    action: &str,
    old: Option<&str>,
    new: Option<&str>,
    prev: &[u8],
) -> String {
    [
        "trenddojo-audit-v1".to_string(),
        user.to_string(),
        pos.to_string(),
        at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        actor.to_string(),
        table.to_string(),
        row.to_string(),
        action.to_string(),
        old.unwrap_or("-").to_string(),
        new.unwrap_or("-").to_string(),
        hex::encode(prev),
    ]
    .join("\n")
}

/// The canonical text a format-2 row's own hash covers (must match `trenddojo.audit_statement`, V15): the
/// row alone, without the previous hash (the statement's link covers the chain).
#[allow(clippy::too_many_arguments)]
pub fn audit_payload_v2(
    user: Uuid,
    pos: i64,
    at: DateTime<Utc>,
    actor: &str,
    table: &str,
    row: Uuid,
    action: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> String {
    [
        "trenddojo-audit-v2".to_string(),
        user.to_string(),
        pos.to_string(),
        at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        actor.to_string(),
        table.to_string(),
        row.to_string(),
        action.to_string(),
        old.unwrap_or("-").to_string(),
        new.unwrap_or("-").to_string(),
    ]
    .join("\n")
}

/// The chain hash of one format-2 statement (must match `trenddojo.audit_statement`, V15): sha256 of a
/// header naming the user, the statement's first and last positions and the previous chain head, followed
/// by the rows' own hashes in position order.
pub fn audit_link_v2(user: Uuid, first: i64, last: i64, prev: &[u8], leaves: &[Vec<u8>]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(format!("trenddojo-audit-v2-link\n{user}\n{first}\n{last}\n{}\n", hex::encode(prev)).as_bytes());
    for leaf in leaves {
        h.update(leaf);
    }
    h.finalize().to_vec()
}

/// Words every witness problem contains (so callers can tell a rewrite from a broken chain).
pub const WITNESS_MISMATCH: &str = "a device saw";

/// One chain head a device saw: the user's chain had `hash` at position `pos` (a statement boundary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WitnessHead {
    pub user: Uuid,
    pub pos: i64,
    /// Lower-case hex of the 32-byte chain hash.
    pub hash: String,
}

/// Verify every user's audit hash chain (or one user's): positions consecutive from 1, each row's
/// `prev_hash` equal to the chain head before it, each hash equal to sha256 of its recomputed payload (and,
/// for format 2, each statement's link), and the chain head matching the end of the log (so truncating the
/// tail is caught). `witness` heads (exported from devices) must still be on the chain: a chain that was
/// rewritten and re-hashed by someone able to bypass the triggers passes the other checks but not this one.
pub async fn verify_audit(client: &Client, email: Option<&str>, witness: &[WitnessHead]) -> Result<AuditReport> {
    let user: Option<Uuid> = match email {
        None => None,
        Some(e) => {
            let e = check_email(e)?;
            let row = client.query_opt("SELECT id FROM trenddojo.users WHERE lower(email) = lower($1)", &[&e]).await?;
            Some(row.ok_or_else(|| ServerError::invalid("email", format!("no user {e} on the server")))?.get(0))
        }
    };
    // One snapshot for the log, the heads and the users: a write in between is not a false alarm.
    client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
    let result = verify_in_snapshot(client, user, witness).await;
    let end = client.batch_execute("COMMIT").await;
    let report = result?;
    end?;
    Ok(report)
}

/// A format-2 statement being walked: its first position, the head it links to, its rows' hashes.
struct Statement {
    first: i64,
    prev: Vec<u8>,
    leaves: Vec<Vec<u8>>,
}

/// The walk of one user's chain.
struct Walk {
    user: Uuid,
    expect_pos: i64,
    /// The chain head after the last complete statement (or format-1 row).
    head: Vec<u8>,
    /// The chain hash at every statement boundary, by position (for witness heads).
    boundaries: std::collections::BTreeMap<i64, Vec<u8>>,
    open: Option<Statement>,
}

impl Walk {
    fn new(user: Uuid) -> Self {
        Walk { user, expect_pos: 1, head: vec![0u8; 32], boundaries: std::collections::BTreeMap::new(), open: None }
    }

    fn close_open(&mut self, problems: &mut Vec<String>) {
        if let Some(st) = self.open.take() {
            problems.push(format!(
                "user {}: the statement starting at row {} ends without its chain link (rows removed?)",
                self.user, st.first
            ));
        }
    }

    fn row(&mut self, r: &tokio_postgres::Row, problems: &mut Vec<String>) {
        let u = self.user;
        let pos: i64 = r.get(1);
        let stored_prev: Vec<u8> = r.get(9);
        let stored_hash: Vec<u8> = r.get(10);
        let format: i16 = r.get(11);
        let chain_hash: Option<Vec<u8>> = r.get(12);
        if pos != self.expect_pos {
            problems.push(format!("user {u}: position {} is missing (found {pos})", self.expect_pos));
        }
        self.expect_pos = pos + 1;
        let altered = |problems: &mut Vec<String>| {
            problems.push(format!(
                "user {u}: row {pos} ({} {} on {}) was altered: its hash does not match its contents",
                r.get::<_, &str>(6),
                r.get::<_, Uuid>(5),
                r.get::<_, &str>(4)
            ))
        };
        if format == 1 {
            self.close_open(problems);
            if stored_prev != self.head {
                problems.push(format!("user {u}: row {pos} does not link to the previous row's hash"));
            }
            let payload = audit_payload(
                u,
                pos,
                r.get(2),
                r.get::<_, &str>(3),
                r.get::<_, &str>(4),
                r.get(5),
                r.get::<_, &str>(6),
                r.get::<_, Option<&str>>(7),
                r.get::<_, Option<&str>>(8),
                &stored_prev,
            );
            if Sha256::digest(payload.as_bytes()).as_slice() != stored_hash.as_slice() {
                altered(problems);
            }
            self.head = stored_hash;
            self.boundaries.insert(pos, self.head.clone());
            return;
        }
        let payload = audit_payload_v2(
            u,
            pos,
            r.get(2),
            r.get::<_, &str>(3),
            r.get::<_, &str>(4),
            r.get(5),
            r.get::<_, &str>(6),
            r.get::<_, Option<&str>>(7),
            r.get::<_, Option<&str>>(8),
        );
        if Sha256::digest(payload.as_bytes()).as_slice() != stored_hash.as_slice() {
            altered(problems);
        }
        let st = self.open.get_or_insert_with(|| Statement { first: pos, prev: stored_prev.clone(), leaves: vec![] });
        if stored_prev != st.prev || stored_prev != self.head {
            problems.push(format!("user {u}: row {pos} does not link to the chain head before its statement"));
        }
        st.leaves.push(stored_hash);
        if let Some(link) = chain_hash {
            let computed = audit_link_v2(u, st.first, pos, &st.prev, &st.leaves);
            if computed != link {
                problems.push(format!(
                    "user {u}: the statement of rows {}-{pos} does not match its chain link (rows altered, added or \
                     removed)",
                    st.first
                ));
            }
            self.open = None;
            self.head = link;
            self.boundaries.insert(pos, self.head.clone());
        }
    }
}

async fn verify_in_snapshot(client: &Client, user: Option<Uuid>, witness: &[WitnessHead]) -> Result<AuditReport> {
    // A schema before V15 has format 1 only (and no columns for format 2).
    let has_format: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'trenddojo.audit_log'::regclass \
             AND attname = 'format' AND NOT attisdropped)",
            &[],
        )
        .await?
        .get(0);
    let format_cols = if has_format { "format, chain_hash" } else { "1::smallint, NULL::bytea" };
    let rows = client
        .query(
            &format!(
                "SELECT user_id, chain_pos, at, actor::text, table_name, row_id, action, old_values::text, \
                        new_values::text, prev_hash, hash, {format_cols} \
                 FROM trenddojo.audit_log WHERE $1::uuid IS NULL OR user_id = $1 ORDER BY user_id, chain_pos"
            ),
            &[&user],
        )
        .await?;
    let heads = client
        .query(
            "SELECT user_id, last_pos, last_hash FROM trenddojo.audit_heads WHERE $1::uuid IS NULL OR user_id = $1",
            &[&user],
        )
        .await?;
    let mut heads: std::collections::BTreeMap<Uuid, (i64, Vec<u8>)> =
        heads.iter().map(|h| (h.get::<_, Uuid>(0), (h.get::<_, i64>(1), h.get::<_, Vec<u8>>(2)))).collect();

    let mut problems = Vec::new();
    let mut users = 0;
    let mut walks: Vec<Walk> = Vec::new();
    for r in &rows {
        let u: Uuid = r.get(0);
        if walks.last().map(|w| w.user) != Some(u) {
            users += 1;
            walks.push(Walk::new(u));
        }
        if let Some(w) = walks.last_mut() {
            w.row(r, &mut problems);
        }
    }
    let mut chains = std::collections::BTreeMap::new();
    for mut w in walks {
        w.close_open(&mut problems);
        let u = w.user;
        let last_pos = w.expect_pos - 1;
        match heads.remove(&u) {
            Some((pos, hash)) if pos == last_pos && hash == w.head => {}
            Some((pos, _)) if pos == last_pos => {
                problems.push(format!("user {u}: chain head at position {pos} does not match the log's last link"))
            }
            Some((pos, _)) => {
                problems.push(format!("user {u}: chain head says position {pos}, the log ends at {last_pos}"))
            }
            None => problems.push(format!("user {u}: audit rows without a chain head")),
        }
        chains.insert(u, w.boundaries);
    }
    for (u, (pos, _)) in heads {
        if pos > 0 {
            problems.push(format!("user {u}: chain head at position {pos} but no audit rows"));
        }
    }
    problems.extend(check_witness(&chains, user, witness));
    // Every user's creation is audited, so a user without a chain lost all of it (log and head).
    let orphans = client
        .query(
            "SELECT u.id FROM trenddojo.users u WHERE ($1::uuid IS NULL OR u.id = $1)
             AND NOT EXISTS (SELECT 1 FROM trenddojo.audit_log a WHERE a.user_id = u.id)",
            &[&user],
        )
        .await?;
    for r in orphans {
        problems.push(format!("user {}: no audit trail at all (its creation is always audited)", r.get::<_, Uuid>(0)));
    }
    Ok(AuditReport { users, rows: rows.len(), problems })
}

/// Each witnessed head (of the users verified) must be a statement boundary of the chain with the same
/// hash. A head the chain no longer reaches, or reaches with another hash, means the chain was rewritten
/// (or cut) after a device saw it.
fn check_witness(
    chains: &std::collections::BTreeMap<Uuid, std::collections::BTreeMap<i64, Vec<u8>>>,
    only: Option<Uuid>,
    witness: &[WitnessHead],
) -> Vec<String> {
    let mut problems = Vec::new();
    for w in witness {
        if only.is_some_and(|u| u != w.user) {
            continue;
        }
        match chains.get(&w.user).and_then(|c| c.get(&w.pos)) {
            Some(h) if hex::encode(h) == w.hash.to_ascii_lowercase() => {}
            Some(_) => problems.push(format!(
                "user {}: a device saw chain hash {} at position {}; the chain now has another: the audit trail \
                 was rewritten",
                w.user, w.hash, w.pos
            )),
            None => problems.push(format!(
                "user {}: a device saw the chain at position {}; the chain no longer has that statement boundary \
                 (the audit trail was cut or rewritten)",
                w.user, w.pos
            )),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_the_documented_canonical_text() {
        let u = Uuid::parse_str("018f0000-0000-7000-8000-000000000001").expect("uuid");
        let r = Uuid::parse_str("018f0000-0000-7000-8000-000000000002").expect("uuid");
        let at = DateTime::parse_from_rfc3339("2026-03-01T14:30:00.5Z").expect("time").with_timezone(&Utc);
        let p = audit_payload(u, 1, at, "td_x", "trades", r, "insert", None, Some(r#"{"a": 1}"#), &[0u8; 32]);
        assert_eq!(
            p,
            format!(
                "trenddojo-audit-v1\n{u}\n1\n2026-03-01T14:30:00.500000Z\ntd_x\ntrades\n{r}\ninsert\n-\n{{\"a\": 1}}\n{}",
                "0".repeat(64)
            ),
            "fields in order, microsecond UTC time, '-' for a missing side, hex previous hash"
        );
    }

    #[test]
    fn format_2_payload_and_link_are_the_documented_ones() {
        let u = Uuid::parse_str("018f0000-0000-7000-8000-000000000001").expect("uuid");
        let r = Uuid::parse_str("018f0000-0000-7000-8000-000000000002").expect("uuid");
        let at = DateTime::parse_from_rfc3339("2026-03-01T14:30:00.5Z").expect("time").with_timezone(&Utc);
        let p = audit_payload_v2(u, 7, at, "td_x", "trades", r, "update", Some("{}"), Some(r#"{"a": 1}"#));
        assert_eq!(
            p,
            format!("trenddojo-audit-v2\n{u}\n7\n2026-03-01T14:30:00.500000Z\ntd_x\ntrades\n{r}\nupdate\n{{}}\n{{\"a\": 1}}"),
            "the row alone: no previous hash in a format-2 payload"
        );
        let leaves = vec![vec![1u8; 32], vec![2u8; 32]];
        let mut expected = format!("trenddojo-audit-v2-link\n{u}\n7\n8\n{}\n", "ab".repeat(32)).into_bytes();
        expected.extend_from_slice(&[1u8; 32]);
        expected.extend_from_slice(&[2u8; 32]);
        assert_eq!(
            audit_link_v2(u, 7, 8, &[0xab; 32], &leaves),
            Sha256::digest(&expected).to_vec(),
            "the link covers the header and the rows' hashes in order"
        );
        let swapped = vec![vec![2u8; 32], vec![1u8; 32]];
        assert_ne!(
            audit_link_v2(u, 7, 8, &[0xab; 32], &swapped),
            audit_link_v2(u, 7, 8, &[0xab; 32], &leaves),
            "reordered rows change the link"
        );
    }

    #[test]
    fn witness_heads_must_be_boundaries_with_the_same_hash() {
        let u = Uuid::parse_str("018f0000-0000-7000-8000-000000000001").expect("uuid");
        let other = Uuid::parse_str("018f0000-0000-7000-8000-000000000009").expect("uuid");
        let mut chain = std::collections::BTreeMap::new();
        chain.insert(3i64, vec![3u8; 32]);
        let chains = std::collections::BTreeMap::from([(u, chain)]);
        let head = |pos: i64, b: u8| WitnessHead { user: u, pos, hash: hex::encode([b; 32]) };
        assert!(check_witness(&chains, None, &[head(3, 3)]).is_empty(), "a held boundary passes");
        let p = check_witness(&chains, None, &[head(3, 4)]);
        assert!(p.len() == 1 && p[0].contains(WITNESS_MISMATCH), "another hash is reported: {p:?}");
        let p = check_witness(&chains, None, &[head(5, 3)]);
        assert!(p.len() == 1 && p[0].contains("cut or rewritten"), "a missing boundary is reported: {p:?}");
        let foreign = WitnessHead { user: other, pos: 3, hash: hex::encode([9u8; 32]) };
        assert!(check_witness(&chains, Some(u), &[foreign]).is_empty(), "another user's heads are skipped");
    }

    #[test]
    fn bad_email_and_tier_name_the_field() {
        assert!(check_email("nobody").unwrap_err().to_string().starts_with("email:"), "email named");
        assert!(check_tier("gold").unwrap_err().to_string().starts_with("tier:"), "tier named");
    }
}
