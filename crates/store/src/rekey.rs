//! Re-wrapping the store key: changing the passphrase, moving between the OS keyring and a passphrase,
//! and the life of the recovery key (created, shown until confirmed, confirmed, replaced).
//!
//! None of these touch the database: the store key `K` stays the same, only `keyinfo.json` (replaced
//! atomically) and the keyring entry change. That is what keeps every old backup openable: a backup
//! carries the wraps of its day, so it opens with the passphrase in use when it was made, or with the
//! recovery key of its day, and the current store opens it with `K` itself. Moving into the keyring
//! writes the entry before `keyinfo.json` names it; moving out removes the entry only after
//! `keyinfo.json` no longer does, so a crash in between leaves a store that still unlocks.

use crate::db::Store;
use crate::error::{Remedy, Result, StoreError};
use crate::key::{self, Passphrase, RecoveryKey, RecoveryState};

impl Store {
    /// Protect the store key with `new` (a new salt). A keyring store becomes a passphrase store and its
    /// keyring entry is removed. Old backups keep opening with their own passphrase and the recovery key.
    pub fn change_passphrase(&self, new: &Passphrase) -> Result<()> {
        let before = self.key_info();
        let info = key::with_passphrase(&before, self.key(), new)?;
        self.save_key_info(info)?;
        if before.method == "keyring" {
            key::forget_keyring_entry(&before)?;
        }
        Ok(())
    }

    /// Keep the store key in the OS keyring instead of behind a passphrase.
    pub fn use_keyring(&self) -> Result<()> {
        let before = self.key_info();
        if before.method == "keyring" {
            return Err(StoreError::conflict("method", "the key is already in the OS keyring"));
        }
        key::keyring_store(before.store_id, self.key())?;
        self.save_key_info(key::with_keyring(&before, self.key()))
    }

    /// Replace the recovery key with a new one (shown until confirmed). Backups made before keep opening
    /// with the old one.
    pub fn create_recovery_key(&self) -> Result<RecoveryKey> {
        let recovery = RecoveryKey::random();
        let info = key::with_recovery(&self.key_info(), self.key(), &recovery)?;
        self.save_key_info(info)?;
        Ok(recovery)
    }

    pub fn recovery_state(&self) -> RecoveryState {
        self.key_info().recovery_state()
    }

    /// The recovery key, while it is not confirmed yet.
    pub fn show_recovery_key(&self) -> Result<RecoveryKey> {
        match self.recovery_state() {
            RecoveryState::Unconfirmed => self
                .pending_recovery_key()?
                .ok_or_else(|| StoreError::corrupt("keyinfo.json: the pending recovery key is missing")),
            RecoveryState::Confirmed => Err(StoreError::conflict(
                "recovery key",
                "it was confirmed and erased from this machine, so it cannot be shown again: the copy you wrote down \
                 is the only one. If it is lost, make a new one (backups made before keep opening with the old one \
                 or their passphrase)",
            )
            .with_remedy(Remedy::CreateRecoveryKey)),
            RecoveryState::None => Err(StoreError::conflict(
                "recovery key",
                "this store has none yet (it was created before recovery keys)",
            )
            .with_remedy(Remedy::CreateRecoveryKey)),
        }
    }

    /// Confirm the user has the recovery key: `candidate` must be it. Erases the copy kept for showing.
    pub fn confirm_recovery_key(&self, candidate: &RecoveryKey) -> Result<()> {
        let info = self.key_info();
        if info.recovery_state() == RecoveryState::None {
            return Err(StoreError::conflict("recovery key", "this store has none to confirm")
                .with_remedy(Remedy::CreateRecoveryKey));
        }
        if !key::recovery_unlocks(&info, self.key(), candidate) {
            return Err(StoreError::WrongSecret { what: "recovery key", target: "this store".into() });
        }
        if info.recovery_pending.is_some() {
            self.save_key_info(key::KeyInfo { recovery_pending: None, ..info })?;
        }
        Ok(())
    }
}
