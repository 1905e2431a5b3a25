//! Devices witness the server's audit chain, so that its owner cannot rewrite it unseen.
//!
//! The server's audit trail is a per-user sha256 hash chain (docs/server.md), but whoever can disable
//! triggers (the database owner) can rewrite a row and recompute every hash after it: `server
//! verify-audit` alone then finds a consistent chain. The anchor has to live outside the server. Every
//! sync round, before any data moves, the device:
//!
//! 1. reads the user's chain head (`audit_heads`: position, hash) and, in the same statement, the chain
//!    hash at every position it holds and the statement boundaries since the newest one;
//! 2. checks that the chain still holds each head it recorded at an earlier sync (same hash at the same
//!    position, which must still be a statement boundary) and that the boundaries after its newest head
//!    link one to the next (`prev_hash` of each is the chain hash before it) up to the current head;
//! 3. records the current head, or, if a check failed, records the finding, reports it in `sync status`
//!    and fails the round with [`SyncError::AuditRewritten`] (fatal: background sync stops; retrying
//!    cannot help).
//!
//! Why this works under row-level security: the chain is per user (V4), so every row the check needs
//! belongs to the signed-in user and the user's own `SELECT` policy on `audit_log` and `audit_heads`
//! already allows it. No SECURITY DEFINER function is needed (one would have to decide whose chain a
//! caller may read, which the policy already does), and the check costs one exchange with the server.
//!
//! Why the newest head is the strong one: the hash at position `q` commits to every row up to `q`, so a
//! rewrite of any earlier row that recomputes the hashes after it changes the hash at `q`. Older heads
//! catch a chain cut back below the newest one and are kept (thinned to [`MAX_HEADS`]) for
//! `trenddojo server verify-audit --witness FILE`, which recomputes every row's hash as well. The device
//! does not download audit payloads to recompute row hashes (that would double every download); a row
//! altered without recomputing the chain is what `verify-audit` catches.
//!
//! The first sync of a device trusts what it sees (nothing to compare with yet). A server restored from an
//! older backup is reported too: it no longer holds what the device saw, which is the truth.

use serde::{Deserialize, Serialize};
use tokio_postgres::types::Type;
use trenddojo_store::Store;
use uuid::Uuid;

use crate::local::{clear_state, get_state, set_state, state_key};
use crate::net::{within, Server};
use crate::SyncError;

/// Heads kept per user: the newest ones all, older ones thinned (each thinning halves the oldest half).
pub const MAX_HEADS: usize = 256;

/// The first server schema with the per-statement chain format (V15): before it, every row is a boundary.
const SET_BASED_AUDIT: u32 = 15;

/// A chain head the device saw: the user's chain had `hash` (lower-case hex) at position `pos`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub pos: i64,
    pub hash: String,
}

/// One statement boundary (or a held position) of the server's chain as the check reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boundary {
    pub pos: i64,
    /// The chain hash before this row's statement.
    pub prev: Vec<u8>,
    /// The chain hash after this row, if the row ends a statement.
    pub link: Option<Vec<u8>>,
}

fn heads_key(user: Uuid) -> String {
    state_key(user, "audit_witness")
}

fn finding_key(user: Uuid) -> String {
    state_key(user, "audit_rewritten")
}

/// The heads this device holds for `user`, oldest first.
pub fn heads(store: &Store, user: Uuid) -> Result<Vec<Head>, SyncError> {
    store.read(|c| read_heads(c, user))
}

fn read_heads(c: &trenddojo_store::Connection, user: Uuid) -> Result<Vec<Head>, SyncError> {
    match get_state(c, &heads_key(user))? {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| SyncError::invalid("audit_witness", format!("the recorded chain heads do not parse: {e}"))),
    }
}

/// What the last check found wrong with the server's audit chain (with when), if anything.
pub fn finding(store: &Store, user: Uuid) -> Result<Option<String>, SyncError> {
    store.read(|c| get_state(c, &finding_key(user)))
}

/// Check the heads `held` (oldest first) against what the server returned: its current head and the
/// `rows` at the held positions and at the statement boundaries after the newest held one (ascending).
/// `Err` says what no longer holds.
pub fn check(held: &[Head], head: (i64, &[u8]), rows: &[Boundary]) -> Result<(), String> {
    let at = |pos: i64| rows.iter().find(|r| r.pos == pos);
    for h in held {
        if h.pos > head.0 {
            return Err(format!(
                "the server's audit chain ends at position {} but this device saw it at position {} (cut or \
                 replaced)",
                head.0, h.pos
            ));
        }
        match at(h.pos).and_then(|r| r.link.as_ref()) {
            Some(link) if hex::encode(link) == h.hash => {}
            Some(link) => {
                return Err(format!(
                    "the server's audit chain has hash {} at position {} where this device saw {} (rewritten)",
                    hex::encode(link),
                    h.pos,
                    h.hash
                ))
            }
            None => {
                return Err(format!(
                    "the server's audit chain no longer ends a statement at position {} where this device saw \
                     hash {} (rewritten)",
                    h.pos, h.hash
                ))
            }
        }
    }
    // The chain from the newest held head must lead, link by link, to the current head.
    let Some(newest) = held.last() else { return Ok(()) };
    let mut cur = (newest.pos, newest.hash.clone());
    for r in rows.iter().filter(|r| r.pos > newest.pos) {
        let Some(link) = &r.link else { continue };
        if hex::encode(&r.prev) != cur.1 {
            return Err(format!(
                "the server's audit chain at position {} does not continue from the hash at position {} that this \
                 device saw (rewritten)",
                r.pos, cur.0
            ));
        }
        cur = (r.pos, hex::encode(link));
    }
    if cur.0 != head.0 || cur.1 != hex::encode(head.1) {
        return Err(format!(
            "the server's audit chain head (position {}) does not follow from what this device saw at position {} \
             (rewritten)",
            head.0, newest.pos
        ));
    }
    Ok(())
}

/// `held` with `head` added (if new), thinned to [`MAX_HEADS`]: the newest half kept whole, every second
/// head of the older half dropped.
pub fn add_head(mut held: Vec<Head>, head: Head) -> Vec<Head> {
    if held.last() == Some(&head) || head.pos == 0 {
        return held;
    }
    held.push(head);
    if held.len() > MAX_HEADS {
        let half = held.len() / 2;
        let older: Vec<Head> = held.drain(..half).enumerate().filter(|(i, _)| i % 2 == 0).map(|(_, h)| h).collect();
        held.splice(0..0, older);
    }
    held
}

/// The round's check (see the module docs): one exchange, then one local write. `schema` is the server's
/// schema version from the handshake.
pub(crate) async fn check_and_record(store: &Store, server: &Server, user: Uuid, schema: u32) -> Result<(), SyncError> {
    let held = heads(store, user)?;
    let positions: Vec<i64> = held.iter().map(|h| h.pos).collect();
    // Nothing held yet: nothing to walk (the first sync trusts what it sees).
    let after = held.last().map_or(i64::MAX, |h| h.pos);
    let (link, boundary) = if schema >= SET_BASED_AUDIT {
        ("CASE WHEN a.format = 2 THEN a.chain_hash ELSE a.hash END", "(a.format = 1 OR a.chain_hash IS NOT NULL)")
    } else {
        ("a.hash", "true")
    };
    // Two index lookups on (user_id, chain_pos), each bounded: the held positions, and the rows after the
    // newest of them. One OR condition bounds no index range, so the plan may read the user's chain from its
    // start (measured: ~110 ms a round after 100,000 audit rows in the bench's loopback phase, three
    // quarters of what one change took to reach another device; later in the same run, with other
    // statistics, the same query was fast). 1.8 ms this way.
    let sql = format!(
        "WITH h AS (SELECT last_pos, last_hash FROM trenddojo.audit_heads WHERE user_id = $1), \
              a AS (SELECT a.chain_pos, a.prev_hash, {link} AS link FROM trenddojo.audit_log a \
                    WHERE a.user_id = $1 AND a.chain_pos = ANY ($2) \
                    UNION ALL \
                    SELECT a.chain_pos, a.prev_hash, {link} FROM trenddojo.audit_log a \
                    WHERE a.user_id = $1 AND a.chain_pos > $3 AND {boundary}) \
         SELECT h.last_pos, h.last_hash, a.chain_pos, a.prev_hash, a.link \
         FROM h LEFT JOIN a ON a.chain_pos <= h.last_pos \
         ORDER BY a.chain_pos"
    );
    let answer = within(
        server.limits.exchange,
        "the audit chain check",
        server.client.query_typed(&sql, &[(&user, Type::UUID), (&positions, Type::INT8_ARRAY), (&after, Type::INT8)]),
    )
    .await?;
    let mut head: (i64, Vec<u8>) = (0, vec![0u8; 32]);
    let mut rows = Vec::with_capacity(answer.len());
    for r in &answer {
        head = (r.get(0), r.get(1));
        if let Some(pos) = r.get::<_, Option<i64>>(2) {
            rows.push(Boundary { pos, prev: r.get(3), link: r.get(4) });
        }
    }
    let verdict = check(&held, (head.0, &head.1), &rows);
    store.write(|tx| {
        match &verdict {
            Ok(()) => {
                let now = add_head(read_heads(tx, user)?, Head { pos: head.0, hash: hex::encode(&head.1) });
                let text =
                    serde_json::to_string(&now).map_err(|e| SyncError::invalid("audit_witness", e.to_string()))?;
                set_state(tx, &heads_key(user), &text)?;
                clear_state(tx, &finding_key(user))?;
            }
            Err(message) => {
                // The first finding stays (with when it was made) until the chain holds again.
                if get_state(tx, &finding_key(user))?.is_none() {
                    set_state(tx, &finding_key(user), &format!("{}: {message}", tx.now))?;
                }
            }
        }
        Ok::<_, SyncError>(())
    })?;
    verdict.map_err(SyncError::AuditRewritten)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> Vec<u8> {
        vec![n; 32]
    }

    fn head(pos: i64, n: u8) -> Head {
        Head { pos, hash: hex::encode(h(n)) }
    }

    fn b(pos: i64, prev: u8, link: Option<u8>) -> Boundary {
        Boundary { pos, prev: h(prev), link: link.map(h) }
    }

    #[test]
    fn an_honest_chain_that_grew_passes() {
        // Held: position 3 (hash 3). Since then: statements ending at 5 and 9, current head 9.
        let rows = [b(3, 2, Some(3)), b(5, 3, Some(5)), b(9, 5, Some(9))];
        assert_eq!(check(&[head(3, 3)], (9, &h(9)), &rows), Ok(()), "a chain extending the held head passes");
        assert_eq!(check(&[head(3, 3)], (3, &h(3)), &rows[..1]), Ok(()), "an unchanged chain passes");
        assert_eq!(check(&[], (9, &h(9)), &[]), Ok(()), "nothing held: the first sync trusts what it sees");
    }

    #[test]
    fn rewrites_and_cuts_are_found() {
        let e = check(&[head(3, 3)], (9, &h(9)), &[b(3, 2, Some(7)), b(9, 7, Some(9))]).unwrap_err();
        assert!(e.contains("hash") && e.contains("position 3"), "a changed hash at a held position: {e}");
        let e = check(&[head(3, 3)], (2, &h(2)), &[]).unwrap_err();
        assert!(e.contains("ends at position 2"), "a chain cut below a held head: {e}");
        let e = check(&[head(3, 3)], (9, &h(9)), &[b(3, 2, None), b(9, 3, Some(9))]).unwrap_err();
        assert!(e.contains("no longer ends a statement"), "a held position inside a statement now: {e}");
        let e = check(&[head(3, 3)], (9, &h(9)), &[b(3, 2, Some(3)), b(9, 4, Some(9))]).unwrap_err();
        assert!(e.contains("does not continue"), "a boundary that links to another hash: {e}");
        let e = check(&[head(3, 3)], (9, &h(8)), &[b(3, 2, Some(3)), b(9, 3, Some(9))]).unwrap_err();
        assert!(e.contains("head"), "a head that the boundaries do not lead to: {e}");
        let e = check(&[head(1, 1), head(3, 3)], (9, &h(9)), &[b(1, 0, Some(6)), b(3, 2, Some(3))]).unwrap_err();
        assert!(e.contains("position 1"), "an older held head is checked too: {e}");
    }

    #[test]
    fn heads_are_added_once_and_thinned() {
        let held = add_head(vec![head(3, 3)], head(3, 3));
        assert_eq!(held.len(), 1, "the same head twice is kept once");
        assert_eq!(add_head(vec![], head(0, 0)).len(), 0, "an empty chain is no head");
        let mut held = Vec::new();
        for i in 1..=1000 {
            held = add_head(held, head(i, 1));
        }
        assert!(held.len() <= MAX_HEADS, "bounded: {}", held.len());
        assert_eq!(held.last().map(|h| h.pos), Some(1000), "the newest head is kept");
        assert!(held.windows(2).all(|w| w[0].pos < w[1].pos), "still oldest first");
        assert_eq!(held.first().map(|h| h.pos), Some(1), "the oldest survives thinning");
    }
}
