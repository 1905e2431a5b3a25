//! Keys: where the store's 256-bit SQLCipher key comes from, how it is wrapped, and how it is kept out
//! of sight.
//!
//! # Key hierarchy
//! Every store created by this version has a random 256-bit key `K` that encrypts the database, its WAL
//! and every backup. `K` never changes for the life of the store, so backups made years ago stay
//! openable; what changes is how `K` is *wrapped*:
//! - `keyring` method: `K` itself sits in the OS keyring (Secret Service, Keychain, Credential Manager)
//!   under `store-<store id>`. Nothing to type; unlocking costs a keyring lookup.
//! - `passphrase` method: `K` is wrapped (AES-256-GCM) under a key-encryption key stretched from the
//!   passphrase with Argon2id (memory-hard; parameters and salt recorded). Changing the passphrase re-wraps
//!   `K` under a new salt; nothing is re-encrypted.
//! - recovery key (both methods): a printable code carrying 256 random bits, shown once at `init`. `K` is
//!   also wrapped under `HKDF-SHA256(recovery key, salt = store id)`. A fast KDF is right here because the
//!   input already has full entropy: stretching only slows down attackers who must guess a *low*-entropy
//!   secret, and guessing 2^256 values is out of reach at any speed.
//!
//! Each wrap's associated data binds the store id and the purpose (`passphrase`, `recovery`), so a wrap
//! cannot be moved to another store or reused as the other kind. `keyinfo.json` (0600) records the method,
//! the store id, the KDF parameters, the wraps and a key check value `HMAC-SHA256(K, "trenddojo key
//! check v1")`, never a secret in the clear. The check value is what tells "wrong key" (it does not match)
//! from "right key, damaged file" (it matches, yet page 1 does not decrypt). Publishing it costs nothing:
//! it is a PRF output under a 256-bit random key (for old passphrase stores, whose `K` *is* the Argon2id
//! output, guessing against it costs exactly as much as guessing against the database file itself).
//!
//! Until the user confirms having written the recovery key down, it is kept in `keyinfo.json` encrypted
//! under a key derived from `K` (`recovery_pending`), so `trenddojo key show-recovery` can show it again to
//! whoever can unlock the store; confirming erases it, and from then on nobody can show it.
//!
//! # Backward compatibility
//! Stores from before the hierarchy (`keyinfo.json` format 1) keep opening: a format-1 passphrase store's
//! key *is* `Argon2id(passphrase)` (no wrap), a keyring store's key is in the keyring as before. The first
//! unlock records the key check value; `key create-recovery` adds a recovery key; `key change-passphrase`
//! turns a direct key into a wrapped one (same `K`, so its old backups keep opening).
//!
//! Key material lives in [`StoreKey`], [`Passphrase`] and [`RecoveryKey`], which zero themselves on drop
//! and never print.

use std::fmt;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Remedy, Result, StoreError};

/// Keyring service name under which store keys are kept.
pub const KEYRING_SERVICE: &str = "trenddojo";

/// Argon2id parameters: OWASP's recommendation (19 MiB, 2 passes, 1 lane).
pub const KDF_M_COST_KIB: u32 = 19 * 1024;
pub const KDF_T_COST: u32 = 2;
pub const KDF_P_COST: u32 = 1;

/// The current `keyinfo.json` format (1: no wraps, no check value).
pub const KEYINFO_FORMAT: u32 = 2;

/// Argon2id parameters a stored file may ask for: at most 4 GiB, 64 passes, 64 lanes (a tampered file
/// must not make us allocate without bound or spin for hours).
const KDF_MAX_M_COST_KIB: u32 = 4 * 1024 * 1024;
const KDF_MAX_T_COST: u32 = 64;
const KDF_MAX_P_COST: u32 = 64;

const KEY_CHECK_LABEL: &[u8] = b"trenddojo key check v1";
const RECOVERY_KEK_INFO: &[u8] = b"trenddojo recovery kek v1";
const PENDING_KEY_INFO: &[u8] = b"trenddojo pending recovery key v1";
const RECOVERY_CHECKSUM_LABEL: &[u8] = b"trenddojo recovery key checksum v1";

/// A raw 256-bit key. Zeroed on drop; Debug never shows it.
#[derive(Clone, Zeroize)]
#[zeroize(drop)]
pub struct StoreKey([u8; 32]);

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(<redacted>)")
    }
}

impl StoreKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        StoreKey(k)
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| StoreError::key_unavailable("the key in the OS keyring has the wrong length"))?;
        Ok(StoreKey(arr))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The statement that hands this raw key to SQLCipher.
    pub(crate) fn pragma(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("PRAGMA key = \"x'{}'\";", hex::encode_upper(self.0)))
    }

    fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    fn from_hex(s: &str) -> Result<Self> {
        let bytes = Zeroizing::new(
            hex::decode(s.trim())
                .map_err(|_| StoreError::key_unavailable("the key in the OS keyring is not valid hex"))?,
        );
        Self::from_bytes(&bytes)
    }

    /// `HMAC-SHA256(K, "trenddojo key check v1")` as hex: identifies the key without revealing it.
    pub fn check_value(&self) -> String {
        hex::encode(self.mac(&[KEY_CHECK_LABEL]))
    }

    /// Does `check` (hex) belong to this key? Constant-time comparison.
    pub(crate) fn matches_check(&self, check: &str) -> bool {
        let Ok(expected) = hex::decode(check) else { return false };
        let mut m = self.hmac();
        m.update(KEY_CHECK_LABEL);
        m.verify_slice(&expected).is_ok()
    }

    fn hmac(&self) -> Hmac<Sha256> {
        // HMAC pads a key shorter than the hash's block (64 bytes) with zeros; doing so here uses the
        // infallible constructor and gives exactly the MAC `new_from_slice(K)` would.
        let mut block = Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(&self.0);
        <Hmac<Sha256> as hmac::digest::KeyInit>::new(&(*block).into())
    }

    /// HMAC-SHA256 under this key over the concatenation of `parts`.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = self.hmac();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// Verify an HMAC-SHA256 tag over `parts` in constant time.
    pub(crate) fn verify_mac(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut m = self.hmac();
        for p in parts {
            m.update(p);
        }
        m.verify_slice(tag).is_ok()
    }

    /// A subkey for one purpose: `HKDF-SHA256(K, info)`.
    pub(crate) fn subkey(&self, info: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        hkdf32(&self.0, None, info)
    }
}

fn hkdf32(ikm: &[u8], salt: Option<&[u8]>, info: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    let mut out = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so this cannot fail; still no panic path.
    hkdf::Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, out.as_mut())
        .map_err(|_| StoreError::Crypto("key derivation (HKDF) refused the output length"))?;
    Ok(out)
}

/// Hex text of a key, for storing a sealing key inside the encrypted store.
pub fn key_hex(key: &StoreKey) -> Zeroizing<String> {
    key.to_hex()
}

/// A passphrase given by the user. Zeroed on drop; Debug never shows it.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Rejects empty passphrases; surrounding newlines (from `echo pw |`) are trimmed.
    pub fn new(s: impl Into<String>) -> Result<Self> {
        let mut s: String = s.into();
        let trimmed_len = s.trim_end_matches(['\r', '\n']).len();
        s.truncate(trimmed_len);
        if s.is_empty() {
            s.zeroize();
            return Err(StoreError::Invalid { field: "passphrase", message: "must not be empty".into() });
        }
        Ok(Passphrase(Zeroizing::new(s)))
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// Crockford's base32 alphabet: no I, L, O or U, so the code survives handwriting and dictation.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 32 key bytes + 3 checksum bytes = 280 bits = 56 base32 characters, shown as 14 groups of 4.
const RECOVERY_BYTES: usize = 35;
const RECOVERY_CHARS: usize = 56;

/// A recovery key: 256 random bits, printed as 56 base32 characters in groups of four (with a 24-bit
/// checksum, so a typo is reported as a typo rather than as a wrong key). Zeroed on drop; Debug never
/// shows it.
#[derive(Clone, Zeroize)]
#[zeroize(drop)]
pub struct RecoveryKey([u8; 32]);

impl fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryKey(<redacted>)")
    }
}

impl PartialEq for RecoveryKey {
    fn eq(&self, other: &Self) -> bool {
        // Constant time: compared against user input.
        self.0.iter().zip(other.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

impl RecoveryKey {
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        RecoveryKey(k)
    }

    fn checksum(bytes: &[u8; 32]) -> [u8; 3] {
        let d = Sha256::new().chain_update(RECOVERY_CHECKSUM_LABEL).chain_update(bytes).finalize();
        [d[0], d[1], d[2]]
    }

    /// The printable form: `XXXX-XXXX-...` (14 groups).
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new([0u8; RECOVERY_BYTES]);
        raw[..32].copy_from_slice(&self.0);
        raw[32..].copy_from_slice(&Self::checksum(&self.0));
        let mut out = Zeroizing::new(String::with_capacity(RECOVERY_CHARS + 13));
        let (mut acc, mut bits, mut n) = (0u16, 0u32, 0usize);
        for b in raw.iter() {
            acc = (acc << 8) | u16::from(*b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                if n > 0 && n % 4 == 0 {
                    out.push('-');
                }
                out.push(char::from(CROCKFORD[usize::from((acc >> bits) & 31)]));
                n += 1;
            }
            acc &= (1 << bits) - 1;
        }
        acc.zeroize();
        out
    }

    /// Read a recovery key as typed: case, spaces and dashes do not matter; O reads as 0, I and L as 1.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |message: String| StoreError::Invalid { field: "recovery key", message };
        let mut raw = Zeroizing::new([0u8; RECOVERY_BYTES]);
        let (mut acc, mut bits, mut chars, mut out) = (0u16, 0u32, 0usize, 0usize);
        for c in text.chars() {
            if c.is_whitespace() || c == '-' {
                continue;
            }
            let v = match c.to_ascii_uppercase() {
                'O' => 0,
                'I' | 'L' => 1,
                u => match CROCKFORD.iter().position(|&a| char::from(a) == u) {
                    Some(p) => p as u16,
                    None => {
                        return Err(invalid(
                            "holds a character that is not part of a recovery key (0-9 and A-Z without U)".into(),
                        ))
                    }
                },
            };
            chars += 1;
            if chars > RECOVERY_CHARS {
                return Err(invalid(format!("is longer than {RECOVERY_CHARS} characters")));
            }
            acc = (acc << 5) | v;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                raw[out] = ((acc >> bits) & 0xff) as u8;
                out += 1;
                acc &= (1 << bits) - 1;
            }
        }
        acc.zeroize();
        if chars != RECOVERY_CHARS {
            return Err(invalid(format!("has {chars} characters; a recovery key has {RECOVERY_CHARS}")));
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&raw[..32]);
        let key = RecoveryKey(key);
        if Self::checksum(&key.0) != raw[32..] {
            return Err(invalid("its checksum does not match: a character is mistyped".into()));
        }
        Ok(key)
    }

    /// The key-encryption key: `HKDF-SHA256(recovery key, salt = store id)`.
    fn kek(&self, store_id: Uuid) -> Result<Zeroizing<[u8; 32]>> {
        hkdf32(&self.0, Some(store_id.as_bytes()), RECOVERY_KEK_INFO)
    }
}

/// How the caller wants to unlock: with a passphrase if one was supplied, with the recovery key, else
/// the OS keyring.
#[derive(Debug, Clone)]
pub enum KeySource {
    Keyring,
    Passphrase(Passphrase),
    /// The recovery key unlocks any store (or backup) it was made for, whatever the method.
    Recovery(RecoveryKey),
}

/// Argon2id parameters and salt for a passphrase store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KdfParams {
    pub algorithm: String,
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
    pub salt: String,
}

impl KdfParams {
    fn fresh() -> Self {
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        KdfParams {
            algorithm: "argon2id".into(),
            m_cost_kib: KDF_M_COST_KIB,
            t_cost: KDF_T_COST,
            p_cost: KDF_P_COST,
            salt: hex::encode(salt),
        }
    }
}

/// A key wrapped with AES-256-GCM: 12-byte nonce and ciphertext-with-tag, hex.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Wrapped {
    pub nonce: String,
    pub ciphertext: String,
}

fn wrap_aad(store_id: Uuid, purpose: &str) -> Vec<u8> {
    format!("trenddojo key wrap v1|{store_id}|{purpose}").into_bytes()
}

fn seal32(kek: &[u8; 32], plaintext: &[u8; 32], store_id: Uuid, purpose: &str) -> Result<Wrapped> {
    let cipher = Aes256Gcm::new_from_slice(kek).map_err(|_| StoreError::Crypto("bad key-encryption key"))?;
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let aad = wrap_aad(store_id, purpose);
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad })
        .map_err(|_| StoreError::Crypto("key wrapping failed"))?;
    Ok(Wrapped { nonce: hex::encode(nonce), ciphertext: hex::encode(ct) })
}

/// Open a wrap; `None` when the key-encryption key is wrong or the wrap was altered (GCM cannot tell).
fn open32(kek: &[u8; 32], w: &Wrapped, store_id: Uuid, purpose: &str) -> Option<Zeroizing<[u8; 32]>> {
    let cipher = Aes256Gcm::new_from_slice(kek).ok()?;
    let nonce = hex::decode(&w.nonce).ok().filter(|n| n.len() == 12)?;
    let ct = hex::decode(&w.ciphertext).ok()?;
    let aad = wrap_aad(store_id, purpose);
    let pt = Zeroizing::new(cipher.decrypt(Nonce::from_slice(&nonce), Payload { msg: &ct, aad: &aad }).ok()?);
    let mut out = Zeroizing::new([0u8; 32]);
    if pt.len() != 32 {
        return None;
    }
    out.copy_from_slice(&pt);
    Some(out)
}

/// What `keyinfo.json` records: how to find or unwrap the key. Contains no secret in the clear.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyInfo {
    pub format: u32,
    pub store_id: Uuid,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdf: Option<KdfParams>,
    /// `K` wrapped under the passphrase's Argon2id key (format 2). Absent on a format-1 passphrase store,
    /// whose key is the Argon2id output itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase_wrap: Option<Wrapped>,
    /// `K` wrapped under the recovery key's HKDF key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_wrap: Option<Wrapped>,
    /// The recovery key itself, encrypted under a key derived from `K`, until the user confirms it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_pending: Option<Wrapped>,
    /// `HMAC-SHA256(K, "trenddojo key check v1")`, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_check: Option<String>,
}

/// Whether a store has a recovery key, and whether the user confirmed having written it down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryState {
    /// No recovery key (stores from before recovery keys existed).
    None,
    /// Created and still showable with `key show-recovery`.
    Unconfirmed,
    /// Confirmed and erased from this machine: only the user has it.
    Confirmed,
}

impl RecoveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecoveryState::None => "none",
            RecoveryState::Unconfirmed => "unconfirmed",
            RecoveryState::Confirmed => "confirmed",
        }
    }
}

impl KeyInfo {
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| StoreError::io(path, e))?;
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            if let Some(found) = v.get("format").and_then(serde_json::Value::as_u64) {
                if found > u64::from(KEYINFO_FORMAT) {
                    return Err(StoreError::NewerFormat {
                        file: path.to_path_buf(),
                        found: u32::try_from(found).unwrap_or(u32::MAX),
                        known: KEYINFO_FORMAT,
                    });
                }
            }
        }
        Self::parse(&text).map_err(|e| StoreError::corrupt(format!("{}: {e}", path.display())))
    }

    pub(crate) fn parse(text: &str) -> std::result::Result<Self, String> {
        let info: KeyInfo = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if info.format == 0 || info.format > KEYINFO_FORMAT {
            return Err(format!(
                "format {} is not one this TrendDojo reads (1..={KEYINFO_FORMAT}); install a newer TrendDojo",
                info.format
            ));
        }
        Ok(info)
    }

    /// Write atomically (temp file, fsync, rename, fsync folder); 0600.
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| StoreError::corrupt(e.to_string()))?;
        crate::fsutil::write_atomic(path, text.as_bytes())
    }

    pub fn recovery_state(&self) -> RecoveryState {
        match (&self.recovery_wrap, &self.recovery_pending) {
            (None, _) => RecoveryState::None,
            (Some(_), Some(_)) => RecoveryState::Unconfirmed,
            (Some(_), None) => RecoveryState::Confirmed,
        }
    }

    /// A format-1 passphrase store: the key is the Argon2id output itself.
    pub fn passphrase_is_direct(&self) -> bool {
        self.method == "passphrase" && self.passphrase_wrap.is_none()
    }
}

fn keyring_user(store_id: Uuid) -> String {
    format!("store-{store_id}")
}

/// Everything needed to unwrap a store's key, as kept in `keyinfo.json` and in each backup's header.
pub(crate) struct Wraps<'a> {
    pub store_id: Uuid,
    pub method: &'a str,
    pub kdf: Option<&'a KdfParams>,
    pub passphrase_wrap: Option<&'a Wrapped>,
    pub recovery_wrap: Option<&'a Wrapped>,
    pub key_check: Option<&'a str>,
}

impl<'a> From<&'a KeyInfo> for Wraps<'a> {
    fn from(i: &'a KeyInfo) -> Self {
        Wraps {
            store_id: i.store_id,
            method: &i.method,
            kdf: i.kdf.as_ref(),
            passphrase_wrap: i.passphrase_wrap.as_ref(),
            recovery_wrap: i.recovery_wrap.as_ref(),
            key_check: i.key_check.as_deref(),
        }
    }
}

/// A key and whether it was proven right (by an authenticated unwrap or the key check value).
#[derive(Debug)]
pub(crate) struct Unlocked {
    pub key: StoreKey,
    pub verified: bool,
}

/// Why a secret did not unlock: the caller words the message for the thing being opened.
#[derive(Debug)]
pub(crate) enum UnlockError {
    /// The secret was wrong (or the wrap was altered).
    Wrong(&'static str),
    /// This secret cannot unlock this (no recovery key recorded, no passphrase wrap...).
    NotApplicable(String),
    Other(StoreError),
}

/// Unwrap with a passphrase or a recovery key (the keyring is looked up by the callers that allow it).
pub(crate) fn unwrap_with(w: &Wraps<'_>, source: &KeySource) -> std::result::Result<Unlocked, UnlockError> {
    match source {
        KeySource::Passphrase(p) => {
            let kdf = w.kdf.ok_or_else(|| {
                UnlockError::NotApplicable("it is not protected by a passphrase (use the recovery key)".into())
            })?;
            let kek = derive_key(p, kdf).map_err(UnlockError::Other)?;
            match w.passphrase_wrap {
                Some(wrap) => open32(kek.bytes(), wrap, w.store_id, "passphrase")
                    .map(|k| Unlocked { key: StoreKey(*k), verified: true })
                    .ok_or(UnlockError::Wrong("passphrase")),
                None if w.method == "passphrase" => match w.key_check {
                    Some(check) if !kek.matches_check(check) => Err(UnlockError::Wrong("passphrase")),
                    Some(_) => Ok(Unlocked { key: kek, verified: true }),
                    None => Ok(Unlocked { key: kek, verified: false }),
                },
                None => {
                    Err(UnlockError::NotApplicable("it is not protected by a passphrase (use the recovery key)".into()))
                }
            }
        }
        KeySource::Recovery(r) => {
            let wrap = w.recovery_wrap.ok_or_else(|| {
                UnlockError::NotApplicable("it has no recovery key (it was made before recovery keys existed)".into())
            })?;
            let kek = r.kek(w.store_id).map_err(UnlockError::Other)?;
            open32(&kek, wrap, w.store_id, "recovery")
                .map(|k| Unlocked { key: StoreKey(*k), verified: true })
                .ok_or(UnlockError::Wrong("recovery key"))
        }
        KeySource::Keyring => keyring_key(w.store_id, w.key_check).map_err(UnlockError::Other),
    }
}

/// The key kept in the OS keyring for `store_id`, checked against `key_check` when there is one.
pub(crate) fn keyring_key(store_id: Uuid, key_check: Option<&str>) -> Result<Unlocked> {
    let entry = keyring_entry(store_id)?;
    let hex = Zeroizing::new(entry.get_password().map_err(keyring_error)?);
    let key = StoreKey::from_hex(&hex)?;
    match key_check {
        Some(c) if !key.matches_check(c) => Err(StoreError::key_unavailable(
            "the key in the OS keyring for this store does not match it (was the store replaced?)",
        )),
        Some(_) => Ok(Unlocked { key, verified: true }),
        None => Ok(Unlocked { key, verified: false }),
    }
}

/// Put `key` in the OS keyring as the key of `store_id`.
pub(crate) fn keyring_store(store_id: Uuid, key: &StoreKey) -> Result<()> {
    keyring_entry(store_id)?.set_password(&key.to_hex()).map_err(keyring_error)
}

/// Is there an OS keyring here to keep a key in?
pub fn keyring_available() -> bool {
    keyring::Entry::store_status().is_ok()
}

/// Create the key of a new store: a random `K`, protected by `source`, plus a recovery key.
pub(crate) fn create_key(source: &KeySource) -> Result<(StoreKey, KeyInfo, RecoveryKey)> {
    let store_id = Uuid::now_v7();
    let key = StoreKey::random();
    let recovery = RecoveryKey::random();
    let base = KeyInfo {
        format: KEYINFO_FORMAT,
        store_id,
        method: String::new(),
        kdf: None,
        passphrase_wrap: None,
        recovery_wrap: None,
        recovery_pending: None,
        key_check: Some(key.check_value()),
    };
    let info = match source {
        KeySource::Passphrase(p) => with_passphrase(&base, &key, p)?,
        KeySource::Keyring => {
            let info = KeyInfo { method: "keyring".into(), ..base };
            keyring_store(store_id, &key)?;
            info
        }
        KeySource::Recovery(_) => {
            return Err(StoreError::Invalid {
                field: "recovery key",
                message: "a new store is protected by a passphrase or the OS keyring; it gets its own recovery key"
                    .into(),
            })
        }
    };
    let info = with_recovery(&info, &key, &recovery)?;
    Ok((key, info, recovery))
}

/// Recover the key of an existing store.
pub(crate) fn load_key(info: &KeyInfo, source: &KeySource, home: &Path) -> Result<Unlocked> {
    match (info.method.as_str(), source) {
        ("passphrase", KeySource::Keyring) => {
            Err(StoreError::key_unavailable("this store is protected by a passphrase, and none was given")
                .with_remedy(Remedy::GivePassphrase))
        }
        // A keyring store ignores a passphrase given out of habit (TRENDDOJO_PASSPHRASE set globally).
        ("keyring", KeySource::Passphrase(_)) | ("keyring", KeySource::Keyring) => {
            keyring_key(info.store_id, info.key_check.as_deref())
        }
        ("passphrase" | "keyring", _) => unwrap_with(&Wraps::from(info), source).map_err(|e| match e {
            UnlockError::Wrong("recovery key") => {
                StoreError::WrongSecret { what: "recovery key", target: "this store".into() }
            }
            UnlockError::Wrong(_) => StoreError::WrongKey(home.to_path_buf()),
            UnlockError::NotApplicable(why) => {
                StoreError::key_unavailable(format!("this store cannot be unlocked that way: {why}"))
            }
            UnlockError::Other(e) => e,
        }),
        (other, _) => Err(StoreError::corrupt(format!("keyinfo.json names an unknown key method {other:?}"))),
    }
}

/// `info` protected by `passphrase` (a new salt; `K` unchanged). The method becomes `passphrase`.
pub(crate) fn with_passphrase(info: &KeyInfo, key: &StoreKey, passphrase: &Passphrase) -> Result<KeyInfo> {
    let kdf = KdfParams::fresh();
    let kek = derive_key(passphrase, &kdf)?;
    let wrap = seal32(kek.bytes(), key.bytes(), info.store_id, "passphrase")?;
    Ok(KeyInfo {
        format: KEYINFO_FORMAT,
        method: "passphrase".into(),
        kdf: Some(kdf),
        passphrase_wrap: Some(wrap),
        key_check: Some(key.check_value()),
        ..info.clone()
    })
}

/// `info` with the key kept in the OS keyring (the entry must be written by the caller first).
pub(crate) fn with_keyring(info: &KeyInfo, key: &StoreKey) -> KeyInfo {
    KeyInfo {
        format: KEYINFO_FORMAT,
        method: "keyring".into(),
        kdf: None,
        passphrase_wrap: None,
        key_check: Some(key.check_value()),
        ..info.clone()
    }
}

/// `info` with a (new) recovery key: `K` wrapped under it, and the key itself kept encrypted under `K`
/// until confirmed.
pub(crate) fn with_recovery(info: &KeyInfo, key: &StoreKey, recovery: &RecoveryKey) -> Result<KeyInfo> {
    let kek = recovery.kek(info.store_id)?;
    let wrap = seal32(&kek, key.bytes(), info.store_id, "recovery")?;
    let pending_key = key.subkey(PENDING_KEY_INFO)?;
    let pending = seal32(&pending_key, &recovery.0, info.store_id, "pending recovery key")?;
    Ok(KeyInfo {
        format: KEYINFO_FORMAT,
        recovery_wrap: Some(wrap),
        recovery_pending: Some(pending),
        key_check: Some(key.check_value()),
        ..info.clone()
    })
}

/// The recovery key still waiting for confirmation, if any.
pub(crate) fn pending_recovery(info: &KeyInfo, key: &StoreKey) -> Result<Option<RecoveryKey>> {
    let Some(p) = &info.recovery_pending else { return Ok(None) };
    let pending_key = key.subkey(PENDING_KEY_INFO)?;
    let bytes = open32(&pending_key, p, info.store_id, "pending recovery key")
        .ok_or_else(|| StoreError::corrupt("keyinfo.json: the pending recovery key does not decrypt"))?;
    Ok(Some(RecoveryKey(*bytes)))
}

/// Does `candidate` unlock this store's recovery wrap?
pub(crate) fn recovery_unlocks(info: &KeyInfo, key: &StoreKey, candidate: &RecoveryKey) -> bool {
    info.recovery_wrap
        .as_ref()
        .and_then(|w| {
            let kek = candidate.kek(info.store_id).ok()?;
            open32(&kek, w, info.store_id, "recovery")
        })
        .is_some_and(|k| {
            let k = StoreKey(*k);
            k.bytes().iter().zip(key.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0
        })
}

/// Remove a keyring-held key (used when a store is deleted or leaves the keyring). Missing entries are fine.
pub(crate) fn forget_key(info: &KeyInfo) -> Result<()> {
    if info.method != "keyring" {
        return Ok(());
    }
    forget_keyring_entry(info)
}

pub(crate) fn forget_keyring_entry(info: &KeyInfo) -> Result<()> {
    match keyring_entry(info.store_id)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(keyring_error(e)),
    }
}

/// Stretch a passphrase into a raw key with Argon2id.
pub fn derive_key(passphrase: &Passphrase, kdf: &KdfParams) -> Result<StoreKey> {
    if kdf.algorithm != "argon2id" {
        return Err(StoreError::corrupt(format!("unsupported KDF {:?}", kdf.algorithm)));
    }
    if kdf.m_cost_kib > KDF_MAX_M_COST_KIB || kdf.t_cost > KDF_MAX_T_COST || kdf.p_cost > KDF_MAX_P_COST {
        return Err(StoreError::corrupt(format!(
            "KDF parameters out of range (memory {} KiB, {} passes, {} lanes)",
            kdf.m_cost_kib, kdf.t_cost, kdf.p_cost
        )));
    }
    let salt = hex::decode(&kdf.salt).map_err(|_| StoreError::corrupt("KDF salt is not hex"))?;
    let params = argon2::Params::new(kdf.m_cost_kib, kdf.t_cost, kdf.p_cost, Some(32))
        .map_err(|e| StoreError::corrupt(format!("bad KDF parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.0.as_bytes(), &salt, out.as_mut())
        .map_err(|e| StoreError::corrupt(format!("key derivation failed: {e}")))?;
    Ok(StoreKey(*out))
}

fn keyring_entry(store_id: Uuid) -> Result<keyring::Entry> {
    if let Err(e) = keyring::Entry::store_status() {
        return Err(StoreError::key_unavailable(format!("no OS keyring is available ({})", describe_keyring_error(e)))
            .with_remedy(Remedy::UsePassphraseInstead));
    }
    keyring::Entry::new(KEYRING_SERVICE, &keyring_user(store_id)).map_err(keyring_error)
}

fn keyring_error(e: keyring::Error) -> StoreError {
    match e {
        keyring::Error::NoEntry => StoreError::key_unavailable(
            "the store's key is not in this user's OS keyring (was the store copied from another machine?)",
        ),
        keyring::Error::NoStorageAccess(_) => {
            StoreError::key_unavailable("the OS keyring is locked").with_remedy(Remedy::UnlockKeyring)
        }
        other => StoreError::Keyring(describe_keyring_error(&other)),
    }
}

/// A description of a keyring error that never includes secret bytes (some variants carry them).
fn describe_keyring_error(e: &keyring::Error) -> String {
    match e {
        keyring::Error::PlatformFailure(p) => format!("platform failure: {p}"),
        keyring::Error::NoStorageAccess(p) => format!("no storage access: {p}"),
        keyring::Error::NoEntry => "no entry".into(),
        keyring::Error::NoDefaultStore => "no default credential store (is a Secret Service running?)".into(),
        keyring::Error::BadEncoding(_) | keyring::Error::BadDataFormat(..) => "stored secret is malformed".into(),
        keyring::Error::TooLong(what, max) => format!("{what} is longer than {max}"),
        keyring::Error::Invalid(what, why) => format!("{what}: {why}"),
        _ => "unexpected keyring error".into(),
    }
}

/// How the store in `home` is unlocked (`keyring` or `passphrase`), read from its key info without
/// unlocking anything; `None` when no store was ever made there. The desktop app's first screen asks for a
/// passphrase only when this says so.
pub fn method_of(home: &Path) -> Result<Option<String>> {
    let paths = crate::StorePaths::new(home);
    if !paths.keyinfo.exists() {
        return Ok(None);
    }
    Ok(Some(KeyInfo::load(&paths.keyinfo)?.method))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn load(info: &KeyInfo, source: &KeySource) -> Result<Unlocked> {
        load_key(info, source, Path::new("home"))
    }

    fn fast_kdf() -> KdfParams {
        KdfParams {
            algorithm: "argon2id".into(),
            m_cost_kib: 1024,
            t_cost: 1,
            p_cost: 1,
            salt: "00112233445566778899aabbccddeeff".into(),
        }
    }

    #[test]
    fn debug_output_never_contains_key_material() {
        let k = StoreKey::from_bytes(&[0xAB; 32]).unwrap();
        let p = Passphrase::new("hunter2-secret").unwrap();
        let r = RecoveryKey([0xCD; 32]);
        let text = r.to_text();
        let shown =
            format!("{k:?} {p:?} {r:?} {:?} {:?}", KeySource::Passphrase(p.clone()), KeySource::Recovery(r.clone()));
        assert!(!shown.to_lowercase().contains("abab"), "key bytes leaked into Debug: {shown}");
        assert!(!shown.to_lowercase().contains("cdcd"), "recovery bytes leaked into Debug: {shown}");
        assert!(!shown.contains(&text[..9]), "recovery text leaked into Debug: {shown}");
        assert!(!shown.contains("hunter2"), "passphrase leaked into Debug: {shown}");
    }

    #[test]
    fn the_padded_hmac_key_gives_the_standard_hmac() {
        let k = StoreKey::from_bytes(&[7u8; 32]).unwrap();
        let mut standard = <Hmac<Sha256> as Mac>::new_from_slice(&[7u8; 32]).unwrap();
        standard.update(b"message");
        let expected: [u8; 32] = standard.finalize().into_bytes().into();
        assert_eq!(k.mac(&[b"mess", b"age"]), expected, "HMAC-SHA256 as RFC 2104 defines it, parts concatenated");
        assert!(k.verify_mac(&[b"message"], &expected), "and it verifies");
        assert!(!k.verify_mac(&[b"messagf"], &expected), "a changed message does not");
    }

    #[test]
    fn passphrase_derivation_is_deterministic_per_salt() {
        let p = Passphrase::new("correct horse\n").unwrap();
        let kdf = fast_kdf();
        let a = derive_key(&p, &kdf).unwrap();
        let b = derive_key(&Passphrase::new("correct horse").unwrap(), &kdf).unwrap();
        assert_eq!(a.bytes(), b.bytes(), "a trailing newline from stdin must not change the key");
        let other = KdfParams { salt: "ffeeddccbbaa99887766554433221100".into(), ..kdf };
        let c = derive_key(&p, &other).unwrap();
        assert_ne!(a.bytes(), c.bytes(), "a different salt must give a different key");
    }

    #[test]
    fn a_tampered_kdf_cannot_demand_unbounded_work() {
        let p = Passphrase::new("x").unwrap();
        let huge = KdfParams { m_cost_kib: u32::MAX, ..fast_kdf() };
        let err = derive_key(&p, &huge).unwrap_err().to_string();
        assert!(err.contains("out of range"), "refused before allocating: {err}");
    }

    #[test]
    fn empty_passphrase_is_rejected() {
        let err = Passphrase::new("\n").unwrap_err().to_string();
        assert!(err.starts_with("passphrase:"), "error names the field: {err}");
    }

    #[test]
    fn recovery_key_text_round_trips_and_forgives_case_and_lookalikes() {
        let r = RecoveryKey::random();
        let text = r.to_text();
        assert_eq!(text.len(), 56 + 13, "14 groups of 4 with 13 dashes: {}", text.len());
        assert_eq!(RecoveryKey::parse(&text).unwrap(), r, "the printed form parses back");
        let sloppy: String = text.to_lowercase().replace('-', " ").replace('0', "o").replace('1', "l");
        assert_eq!(RecoveryKey::parse(&sloppy).unwrap(), r, "case, spaces, O/0 and l/1 do not matter");
    }

    #[test]
    fn a_mistyped_recovery_key_is_a_typo_not_a_wrong_key() {
        let r = RecoveryKey::random();
        let text = r.to_text().to_string();
        let mut chars: Vec<char> = text.chars().collect();
        chars[5] = if chars[5] == 'A' { 'B' } else { 'A' };
        let typo: String = chars.into_iter().collect();
        let err = RecoveryKey::parse(&typo).unwrap_err().to_string();
        assert!(err.starts_with("recovery key:") && err.contains("mistyped"), "checksum catches it: {err}");
        let short = RecoveryKey::parse(&text[..20]).unwrap_err().to_string();
        assert!(short.contains("has 16 characters"), "length is reported: {short}");
        let bad = RecoveryKey::parse(&text.replace(text.chars().next().unwrap(), "U")).unwrap_err().to_string();
        assert!(bad.contains("not part of a recovery key"), "alphabet is checked: {bad}");
        assert!(RecoveryKey::parse("").is_err(), "empty input is refused");
    }

    proptest! {
        #[test]
        fn any_recovery_key_round_trips(bytes in proptest::array::uniform32(any::<u8>())) {
            let r = RecoveryKey(bytes);
            prop_assert_eq!(RecoveryKey::parse(&r.to_text()).unwrap(), r, "round trip");
        }

        #[test]
        fn arbitrary_text_never_panics_the_recovery_parser(s in ".{0,120}") {
            let _ = RecoveryKey::parse(&s);
        }
    }

    fn info_for(source: &KeySource) -> (StoreKey, KeyInfo, RecoveryKey) {
        // create_key with a fast KDF: build the pieces by hand.
        let key = StoreKey::random();
        let recovery = RecoveryKey::random();
        let base = KeyInfo {
            format: KEYINFO_FORMAT,
            store_id: Uuid::now_v7(),
            method: "passphrase".into(),
            kdf: None,
            passphrase_wrap: None,
            recovery_wrap: None,
            recovery_pending: None,
            key_check: Some(key.check_value()),
        };
        let info = match source {
            KeySource::Passphrase(p) => {
                let kdf = fast_kdf();
                let kek = derive_key(p, &kdf).unwrap();
                let wrap = seal32(kek.bytes(), key.bytes(), base.store_id, "passphrase").unwrap();
                KeyInfo { kdf: Some(kdf), passphrase_wrap: Some(wrap), ..base }
            }
            _ => KeyInfo { method: "keyring".into(), ..base },
        };
        let info = with_recovery(&info, &key, &recovery).unwrap();
        (key, info, recovery)
    }

    #[test]
    fn passphrase_and_recovery_key_both_unwrap_the_same_key() {
        let p = Passphrase::new("pw").unwrap();
        let (key, info, recovery) = info_for(&KeySource::Passphrase(p.clone()));
        let a = load(&info, &KeySource::Passphrase(p)).unwrap();
        assert!(a.verified, "an authenticated unwrap proves the key");
        assert_eq!(a.key.bytes(), key.bytes(), "the passphrase unwraps K");
        let b = load(&info, &KeySource::Recovery(recovery.clone())).unwrap();
        assert_eq!(b.key.bytes(), key.bytes(), "the recovery key unwraps K");
        let wrong = load(&info, &KeySource::Passphrase(Passphrase::new("not it").unwrap())).unwrap_err();
        assert!(matches!(wrong, StoreError::WrongKey(_)), "a wrong passphrase is a wrong key: {wrong}");
        let wrong = load(&info, &KeySource::Recovery(RecoveryKey::random())).unwrap_err();
        assert!(matches!(wrong, StoreError::WrongSecret { .. }), "a wrong recovery key says so: {wrong}");
        assert_eq!(pending_recovery(&info, &key).unwrap(), Some(recovery.clone()), "pending until confirmed");
        assert!(recovery_unlocks(&info, &key, &recovery), "the right recovery key is recognised");
        assert!(!recovery_unlocks(&info, &key, &RecoveryKey::random()), "another one is not");
    }

    #[test]
    fn wraps_are_bound_to_their_store_and_purpose() {
        let p = Passphrase::new("pw").unwrap();
        let (_key, info, recovery) = info_for(&KeySource::Passphrase(p.clone()));
        let moved = KeyInfo { store_id: Uuid::now_v7(), ..info.clone() };
        assert!(load(&moved, &KeySource::Passphrase(p)).is_err(), "a wrap moved to another store id fails");
        let swapped = KeyInfo { passphrase_wrap: info.recovery_wrap.clone(), ..info.clone() };
        let kek = recovery.kek(info.store_id).unwrap();
        let w = swapped.passphrase_wrap.as_ref().unwrap();
        assert!(open32(&kek, w, info.store_id, "passphrase").is_none(), "a recovery wrap is not a passphrase wrap");
    }

    #[test]
    fn changing_the_passphrase_keeps_the_key_and_the_recovery_wrap() {
        let p = Passphrase::new("old").unwrap();
        let (key, info, recovery) = info_for(&KeySource::Passphrase(p));
        let new_p = Passphrase::new("new").unwrap();
        let mut changed = with_passphrase(&info, &key, &new_p).unwrap();
        changed.kdf = Some(fast_kdf()); // re-wrap under the fast KDF for the test's speed
        let kek = derive_key(&new_p, &fast_kdf()).unwrap();
        changed.passphrase_wrap = Some(seal32(kek.bytes(), key.bytes(), info.store_id, "passphrase").unwrap());
        let a = load(&changed, &KeySource::Passphrase(new_p)).unwrap();
        assert_eq!(a.key.bytes(), key.bytes(), "same K under the new passphrase");
        assert_eq!(changed.recovery_wrap, info.recovery_wrap, "the recovery wrap is untouched");
        let b = load(&changed, &KeySource::Recovery(recovery)).unwrap();
        assert_eq!(b.key.bytes(), key.bytes(), "the recovery key still unlocks");
    }

    #[test]
    fn format_1_passphrase_stores_open_and_gain_a_check_value() {
        let p = Passphrase::new("legacy").unwrap();
        let old = r#"{"format":1,"store_id":"0190a5c4-0000-7000-8000-000000000001","method":"passphrase",
            "kdf":{"algorithm":"argon2id","m_cost_kib":1024,"t_cost":1,"p_cost":1,"salt":"00112233445566778899aabbccddeeff"}}"#;
        let info = KeyInfo::parse(old).unwrap();
        assert!(info.passphrase_is_direct(), "format 1 has no wrap");
        let u = load(&info, &KeySource::Passphrase(p.clone())).unwrap();
        assert!(!u.verified, "nothing to verify against yet");
        assert_eq!(u.key.bytes(), derive_key(&p, &fast_kdf()).unwrap().bytes(), "K is the Argon2id output");
        let checked = KeyInfo { key_check: Some(u.key.check_value()), ..info };
        let again = load(&checked, &KeySource::Passphrase(p)).unwrap();
        assert!(again.verified, "the recorded check value now proves the key");
        let wrong = load(&checked, &KeySource::Passphrase(Passphrase::new("nope").unwrap())).unwrap_err();
        assert!(matches!(wrong, StoreError::WrongKey(_)), "and a wrong passphrase is told apart: {wrong}");
    }

    #[test]
    fn keyinfo_from_a_newer_format_is_refused() {
        let err =
            KeyInfo::parse(r#"{"format":99,"store_id":"0190a5c4-0000-7000-8000-000000000001","method":"keyring"}"#)
                .unwrap_err();
        assert!(err.contains("newer TrendDojo"), "says why: {err}");
    }

    #[test]
    fn keyinfo_json_never_holds_a_secret_in_the_clear() {
        let p = Passphrase::new("pw-in-the-clear").unwrap();
        let (key, info, recovery) = info_for(&KeySource::Passphrase(p));
        let json = serde_json::to_string(&info).unwrap();
        assert!(!json.contains(&hex::encode(key.bytes())), "K is not in keyinfo.json");
        assert!(!json.contains(&hex::encode(recovery.0)), "the recovery key bytes are not in keyinfo.json");
        assert!(!json.contains(&recovery.to_text()[..14]), "nor its printed form");
        assert!(!json.contains("pw-in-the-clear"), "nor the passphrase");
    }
}
