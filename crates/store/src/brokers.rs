//! Broker connections, whose API secrets are RESTRICTED data.
//!
//! The secret is sealed here, on the device, with AES-256-GCM under the store's sealing key (random, kept
//! inside the encrypted store). The row id and user id are bound in as associated data, so a sealed blob
//! copied onto another row or another user's row fails to open, and the server that later stores these
//! rows only ever sees ciphertext. Listing connections never returns the secret; only [`reveal_secret`]
//! does, and the CLI shows it only on an explicit request.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::sql::{col_uuid, col_uuid_opt};

/// A broker connection as shown to the user (never the secret).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BrokerConnection {
    pub id: Uuid,
    pub account_id: Option<Uuid>,
    pub broker: String,
    pub label: String,
    pub api_key_hint: Option<String>,
    pub status: String,
    pub created_at: String,
}

fn sealing_key(conn: &Connection) -> Result<Zeroizing<Vec<u8>>> {
    let hex_key: Zeroizing<String> = Zeroizing::new(
        conn.query_row("SELECT value FROM store_meta WHERE key = 'sealing_key'", [], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::corrupt("the store has no sealing key"))?,
    );
    let bytes =
        Zeroizing::new(hex::decode(hex_key.as_str()).map_err(|_| StoreError::corrupt("sealing key is not hex"))?);
    if bytes.len() != 32 {
        return Err(StoreError::corrupt("sealing key has the wrong length"));
    }
    Ok(bytes)
}

fn aad(row_id: Uuid, user_id: Uuid) -> Vec<u8> {
    format!("trenddojo/broker_connections/v1/{row_id}/{user_id}").into_bytes()
}

/// Seal `secret` for (row, user): nonce (12 bytes) || ciphertext || tag.
pub fn seal(key: &[u8], row_id: Uuid, user_id: Uuid, secret: &[u8]) -> Result<Vec<u8>> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| StoreError::Crypto("bad sealing key"))?;
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let aad = aad(row_id, user_id);
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: secret, aad: &aad })
        .map_err(|_| StoreError::Crypto("encryption failed"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Open a sealed secret; fails if the blob was altered or belongs to another row or user.
pub fn open(key: &[u8], row_id: Uuid, user_id: Uuid, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    if sealed.len() < 12 + 16 {
        return Err(StoreError::Crypto("sealed secret is truncated"));
    }
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| StoreError::Crypto("bad sealing key"))?;
    let aad = aad(row_id, user_id);
    cipher
        .decrypt(Nonce::from_slice(&sealed[..12]), Payload { msg: &sealed[12..], aad: &aad })
        .map(Zeroizing::new)
        .map_err(|_| StoreError::Crypto("the sealed secret does not open for this row and user"))
}

pub fn count(conn: &Connection, user_id: Uuid) -> Result<u32> {
    Ok(conn.query_row(
        "SELECT count(*) FROM broker_connections WHERE user_id = ?1 AND deleted = 0",
        [user_id.to_string()],
        |r| r.get(0),
    )?)
}

/// Store a new connection with its secret sealed.
pub fn insert(
    tx: &Tx<'_>,
    user_id: Uuid,
    account_id: Option<Uuid>,
    broker: &str,
    label: &str,
    api_key_hint: Option<&str>,
    secret: &[u8],
) -> Result<Uuid> {
    let id = tx.new_id();
    let key = sealing_key(tx)?;
    let sealed = seal(&key, id, user_id, secret)?;
    tx.execute(
        "INSERT INTO broker_connections (id, user_id, account_id, broker, label, api_key_hint, sealed_secret, created_at, \
         updated_at, updated_hlc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
        params![
            id.to_string(),
            user_id.to_string(),
            account_id.map(|a| a.to_string()),
            broker,
            label,
            api_key_hint,
            sealed,
            tx.now,
            tx.hlc
        ],
    )?;
    Ok(id)
}

pub fn list(conn: &Connection, user_id: Uuid) -> Result<Vec<BrokerConnection>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, account_id, broker, label, api_key_hint, status, created_at FROM broker_connections \
         WHERE user_id = ?1 AND deleted = 0 ORDER BY created_at",
    )?;
    let rows = stmt.query_map([user_id.to_string()], |r| {
        Ok(BrokerConnection {
            id: col_uuid(r, 0)?,
            account_id: col_uuid_opt(r, 1)?,
            broker: r.get(2)?,
            label: r.get(3)?,
            api_key_hint: r.get(4)?,
            status: r.get(5)?,
            created_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Unseal a connection's secret.
pub fn reveal_secret(conn: &Connection, user_id: Uuid, id: Uuid) -> Result<Zeroizing<Vec<u8>>> {
    let sealed: Vec<u8> = conn
        .query_row(
            "SELECT sealed_secret FROM broker_connections WHERE id = ?1 AND user_id = ?2 AND deleted = 0",
            params![id.to_string(), user_id.to_string()],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| StoreError::NotFound { what: "broker connection", id: id.to_string() })?;
    let key = sealing_key(conn)?;
    open(&key, id, user_id, &sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_are_bound_to_row_and_user() {
        let key = [7u8; 32];
        let (row, user) = (Uuid::now_v7(), Uuid::now_v7());
        let sealed = seal(&key, row, user, b"api-secret-123").unwrap();
        assert!(!sealed.windows(14).any(|w| w == b"api-secret-123"), "ciphertext must not contain the secret");
        assert_eq!(open(&key, row, user, &sealed).unwrap().as_slice(), b"api-secret-123", "opens for its own row");
        assert!(open(&key, Uuid::now_v7(), user, &sealed).is_err(), "moved to another row it must not open");
        assert!(open(&key, row, Uuid::now_v7(), &sealed).is_err(), "under another user it must not open");
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(open(&key, row, user, &tampered).is_err(), "a flipped bit must be detected");
    }
}
