//! Keys: where the 256-bit SQLCipher key comes from and how it is kept out of sight.
//!
//! Two ways to unlock a store, chosen when it is created and recorded (without any secret) in
//! `keyinfo.json` next to it:
//! - `keyring`: a random 256-bit key generated once and kept in the OS keyring (Secret Service, Keychain,
//!   Credential Manager). Nothing to type; unlocking costs a keyring lookup and no key derivation.
//! - `passphrase`: for machines without a keyring (headless, CI). The passphrase comes from
//!   `TRENDDOJO_PASSPHRASE` or standard input and is stretched once per process with Argon2id (memory-hard)
//!   into the raw key, with a random salt stored in `keyinfo.json`. SQLCipher then receives the raw key, so
//!   its own PBKDF2 (about 180 ms per connection) never runs.
//!
//! Key material lives in [`StoreKey`], which zeroes itself on drop and never prints.

use std::fmt;
use std::path::Path;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Result, StoreError};

/// Keyring service name under which store keys are kept.
pub const KEYRING_SERVICE: &str = "trenddojo";

/// Argon2id parameters: OWASP's recommendation (19 MiB, 2 passes, 1 lane).
pub const KDF_M_COST_KIB: u32 = 19 * 1024;
pub const KDF_T_COST: u32 = 2;
pub const KDF_P_COST: u32 = 1;

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
            .map_err(|_| StoreError::KeyUnavailable("the key in the OS keyring has the wrong length".into()))?;
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
                .map_err(|_| StoreError::KeyUnavailable("the key in the OS keyring is not valid hex".into()))?,
        );
        Self::from_bytes(&bytes)
    }
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

/// How the caller wants to unlock: with a passphrase if one was supplied, else the OS keyring.
#[derive(Debug, Clone)]
pub enum KeySource {
    Keyring,
    Passphrase(Passphrase),
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

/// What `keyinfo.json` records: how to find or derive the key. Contains no secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyInfo {
    pub format: u32,
    pub store_id: Uuid,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdf: Option<KdfParams>,
}

impl KeyInfo {
    pub(crate) fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| StoreError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| StoreError::corrupt(format!("{}: {e}", path.display())))
    }

    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| StoreError::corrupt(e.to_string()))?;
        std::fs::write(&tmp, text).map_err(|e| StoreError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))
    }

    fn keyring_user(&self) -> String {
        format!("store-{}", self.store_id)
    }
}

/// Create the key for a new store, returning it with the metadata to save beside the store.
pub(crate) fn create_key(source: &KeySource) -> Result<(StoreKey, KeyInfo)> {
    let store_id = Uuid::now_v7();
    match source {
        KeySource::Passphrase(p) => {
            let mut salt = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut salt);
            let kdf = KdfParams {
                algorithm: "argon2id".into(),
                m_cost_kib: KDF_M_COST_KIB,
                t_cost: KDF_T_COST,
                p_cost: KDF_P_COST,
                salt: hex::encode(salt),
            };
            let key = derive_key(p, &kdf)?;
            Ok((key, KeyInfo { format: 1, store_id, method: "passphrase".into(), kdf: Some(kdf) }))
        }
        KeySource::Keyring => {
            let info = KeyInfo { format: 1, store_id, method: "keyring".into(), kdf: None };
            let key = StoreKey::random();
            let entry = keyring_entry(&info)?;
            entry.set_password(&key.to_hex()).map_err(keyring_error)?;
            Ok((key, info))
        }
    }
}

/// Recover the key of an existing store.
pub(crate) fn load_key(info: &KeyInfo, source: &KeySource) -> Result<StoreKey> {
    match (info.method.as_str(), source) {
        ("passphrase", KeySource::Passphrase(p)) => {
            let kdf = info.kdf.as_ref().ok_or_else(|| StoreError::corrupt("keyinfo.json has no KDF parameters"))?;
            derive_key(p, kdf)
        }
        ("passphrase", KeySource::Keyring) => Err(StoreError::KeyUnavailable(
            "this store is protected by a passphrase; set TRENDDOJO_PASSPHRASE or pass --passphrase-stdin".into(),
        )),
        ("keyring", _) => {
            let entry = keyring_entry(info)?;
            let hex = Zeroizing::new(entry.get_password().map_err(keyring_error)?);
            StoreKey::from_hex(&hex)
        }
        (other, _) => Err(StoreError::corrupt(format!("keyinfo.json names an unknown key method {other:?}"))),
    }
}

/// Remove a keyring-held key (used when a store is deleted). Missing entries are fine.
pub(crate) fn forget_key(info: &KeyInfo) -> Result<()> {
    if info.method != "keyring" {
        return Ok(());
    }
    match keyring_entry(info)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(keyring_error(e)),
    }
}

/// Stretch a passphrase into a raw key with Argon2id.
pub fn derive_key(passphrase: &Passphrase, kdf: &KdfParams) -> Result<StoreKey> {
    if kdf.algorithm != "argon2id" {
        return Err(StoreError::corrupt(format!("unsupported KDF {:?}", kdf.algorithm)));
    }
    let salt = hex::decode(&kdf.salt).map_err(|_| StoreError::corrupt("keyinfo.json salt is not hex"))?;
    let params = argon2::Params::new(kdf.m_cost_kib, kdf.t_cost, kdf.p_cost, Some(32))
        .map_err(|e| StoreError::corrupt(format!("bad KDF parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.0.as_bytes(), &salt, out.as_mut())
        .map_err(|e| StoreError::corrupt(format!("key derivation failed: {e}")))?;
    Ok(StoreKey(*out))
}

fn keyring_entry(info: &KeyInfo) -> Result<keyring::Entry> {
    if let Err(e) = keyring::Entry::store_status() {
        return Err(StoreError::KeyUnavailable(format!(
            "no OS keyring is available ({}); set TRENDDOJO_PASSPHRASE or pass --passphrase-stdin",
            describe_keyring_error(e)
        )));
    }
    keyring::Entry::new(KEYRING_SERVICE, &info.keyring_user()).map_err(keyring_error)
}

fn keyring_error(e: keyring::Error) -> StoreError {
    match e {
        keyring::Error::NoEntry => StoreError::KeyUnavailable(
            "the store's key is not in this user's OS keyring (was the store copied from another machine?)".into(),
        ),
        keyring::Error::NoStorageAccess(_) => StoreError::KeyUnavailable(
            "the OS keyring is locked; unlock it, or set TRENDDOJO_PASSPHRASE for a passphrase store".into(),
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_key_material() {
        let k = StoreKey::from_bytes(&[0xAB; 32]).unwrap();
        let p = Passphrase::new("hunter2-secret").unwrap();
        let shown = format!("{k:?} {p:?} {:?}", KeySource::Passphrase(p.clone()));
        assert!(!shown.to_lowercase().contains("abab"), "key bytes leaked into Debug: {shown}");
        assert!(!shown.contains("hunter2"), "passphrase leaked into Debug: {shown}");
    }

    #[test]
    fn passphrase_derivation_is_deterministic_per_salt() {
        let p = Passphrase::new("correct horse\n").unwrap();
        let kdf = KdfParams {
            algorithm: "argon2id".into(),
            m_cost_kib: 1024,
            t_cost: 1,
            p_cost: 1,
            salt: "00112233445566778899aabbccddeeff".into(),
        };
        let a = derive_key(&p, &kdf).unwrap();
        let b = derive_key(&Passphrase::new("correct horse").unwrap(), &kdf).unwrap();
        assert_eq!(a.bytes(), b.bytes(), "a trailing newline from stdin must not change the key");
        let other = KdfParams { salt: "ffeeddccbbaa99887766554433221100".into(), ..kdf };
        let c = derive_key(&p, &other).unwrap();
        assert_ne!(a.bytes(), c.bytes(), "a different salt must give a different key");
    }

    #[test]
    fn empty_passphrase_is_rejected() {
        let err = Passphrase::new("\n").unwrap_err().to_string();
        assert!(err.starts_with("passphrase:"), "error names the field: {err}");
    }
}
