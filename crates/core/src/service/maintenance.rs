//! `db` and `key` use cases: status, migrate, rollback, reset, seed, backup, restore, check, recover, the
//! backup schedule, and the store key's protection (passphrase, keyring, recovery key).
//!
//! These open the store without applying migrations, so `db status` can show what is pending and
//! `db rollback` can step back. Every schema change is preceded by an automatic backup, and refused on a
//! store known to be damaged. `restore` and `recover` do not open the current store at all: they must
//! work when it cannot be opened (damaged, or a data folder that never held it). See the store crate's
//! `backup`, `restore`, `damage` and `salvage` modules for how each step is made safe.

use std::path::{Path, PathBuf};

use serde::Serialize;
use zeroize::Zeroizing;

use trenddojo_domain::trade::{self as dtrade};
use trenddojo_store::accounts as account_repo;
use trenddojo_store::migrations;
use trenddojo_store::trades as trade_repo;
use trenddojo_store::users as user_repo;
use trenddojo_store::{
    BackupEntry, BackupOutcome, DbStatus, IntegrityReport, KeySource, MigrateOnOpen, Passphrase, RecoveryKey,
    RecoveryState, RestoreOutcome, Store,
};

use crate::error::{Action, ApiError, ApiResult, ErrorCode};
use crate::seed::{self, SeedState};

/// The result of a schema change.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationOutcome {
    pub from_version: u32,
    pub to_version: u32,
    pub applied: Vec<u32>,
    pub rolled_back: Vec<u32>,
    /// The automatic backup taken first, if the store had a schema to lose.
    pub backup: Option<PathBuf>,
}

/// The result of `db check`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub ok: bool,
    /// The file itself is damaged (pages, b-trees), not only its derived data.
    pub damaged: bool,
    /// One line: what is wrong, and where.
    pub summary: String,
    /// What to do about it (the newest good backup, salvage), when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    pub sqlite: IntegrityReport,
    /// Trades whose stored summary differs from a recomputation from their executions.
    pub inconsistent_trades: Vec<String>,
    pub trades_checked: usize,
    /// Trades of a download that was cut off: their executions are still on the server, so their
    /// summaries are the server's until the next sync finishes the download (not damage).
    pub awaiting_download: usize,
}

/// What `db recover` did.
#[derive(Debug, Clone, Serialize)]
pub struct RecoverReport {
    #[serde(flatten)]
    pub salvage: trenddojo_store::salvage::RecoverOutcome,
    /// Trades whose summary changed when recomputed from the executions that survived.
    pub trades_recomputed: usize,
    pub check_ok: bool,
    pub check_summary: String,
}

/// How the store key is protected (`trenddojo key status`).
#[derive(Debug, Clone, Serialize)]
pub struct KeyStatus {
    pub store_id: String,
    /// passphrase or keyring
    pub method: String,
    pub recovery_key: RecoveryState,
    pub keyinfo: PathBuf,
}

/// The store opened for maintenance.
#[derive(Debug)]
pub struct Maintenance {
    store: Store,
}

impl Maintenance {
    pub fn open(home: &Path, key: &KeySource) -> ApiResult<Maintenance> {
        Ok(Maintenance { store: Store::open(home, key, MigrateOnOpen::No)? })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn status(&self) -> ApiResult<DbStatus> {
        Ok(self.store.status()?)
    }

    /// Restore `file` into the data folder `home`, which may hold a damaged store or none at all. `key`
    /// unlocks the current store (and, if a passphrase, also the backup, and protects a store restored onto
    /// a fresh machine); `recovery` unlocks the backup.
    pub fn restore_file(
        home: &Path,
        file: &Path,
        key: &KeySource,
        recovery: Option<&RecoveryKey>,
    ) -> ApiResult<RestoreOutcome> {
        Ok(trenddojo_store::restore::restore(home, file, key, recovery)?)
    }

    /// Salvage what can be read from the (damaged) store in `home` into a new store, recompute every trade's
    /// summary from the executions that survived, and report counts per table against the newest good
    /// backup. The damaged files are moved aside, never deleted.
    pub fn recover(home: &Path, key: &KeySource) -> ApiResult<RecoverReport> {
        let salvage = trenddojo_store::salvage::recover(home, key)?;
        let m = Maintenance::open(home, key)?;
        let recomputed = m.recompute_trades()?;
        let check = m.check()?;
        Ok(RecoverReport { salvage, trades_recomputed: recomputed, check_ok: check.ok, check_summary: check.summary })
    }

    /// Recompute every trade's summary and every account's total from the executions (after a salvage,
    /// where executions may have been lost). Returns how many trades changed.
    fn recompute_trades(&self) -> ApiResult<usize> {
        self.store.ensure_writable()?;
        self.store.write(|tx| {
            let mut changed = 0usize;
            for user in user_repo::list(tx)? {
                for account in account_repo::list(tx, user.id)? {
                    let mut offset = 0;
                    loop {
                        let page = trade_repo::list(
                            tx,
                            user.id,
                            &trade_repo::TradeQuery {
                                account_id: Some(account.id),
                                limit: 1000,
                                offset,
                                ..Default::default()
                            },
                        )?;
                        if page.is_empty() {
                            break;
                        }
                        offset += 1000;
                        for t in page {
                            let after = crate::service::trades::refresh_trade(tx, &account, t.id)?;
                            if after != t {
                                changed += 1;
                            }
                        }
                    }
                    trade_repo::reset_account_realized(tx, account.id)?;
                }
            }
            Ok::<_, ApiError>(changed)
        })
    }

    fn version(&self) -> ApiResult<u32> {
        Ok(self.store.with_writer(|c| migrations::current_version(c))?)
    }

    fn backup_if_needed(&self, what: &str, version: u32) -> ApiResult<Option<PathBuf>> {
        if version == 0 {
            return Ok(None);
        }
        Ok(Some(self.store.backup_before(what, version)?))
    }

    /// Apply pending migrations up to `to` (default: all).
    pub fn migrate(&self, to: Option<u32>) -> ApiResult<MigrationOutcome> {
        self.store.ensure_writable()?;
        let from_version = self.version()?;
        let target = to.unwrap_or_else(migrations::latest_version);
        if target > migrations::latest_version() {
            return Err(ApiError::invalid(
                "to",
                format!("no migration {target}; the newest is {}", migrations::latest_version()),
            ));
        }
        if target < from_version {
            return Err(ApiError::invalid(
                "to",
                format!("the store is at {from_version}, above {target}: going down is a rollback"),
            )
            .with_action(Action::RollbackStore { to: target }));
        }
        let backup = if target > from_version { self.backup_if_needed("migrate", from_version)? } else { None };
        let applied = self.store.with_writer(|c| migrations::migrate(c, Some(target)))?;
        Ok(MigrationOutcome { from_version, to_version: self.version()?, applied, rolled_back: Vec::new(), backup })
    }

    /// Undo migrations down to `to` (default: one step back).
    pub fn rollback(&self, to: Option<u32>) -> ApiResult<MigrationOutcome> {
        self.store.ensure_writable()?;
        let from_version = self.version()?;
        let target = match to {
            Some(t) => t,
            None => from_version.checked_sub(1).ok_or_else(|| ApiError::invalid("to", "nothing to roll back"))?,
        };
        if target > from_version {
            return Err(ApiError::invalid(
                "to",
                format!("the store is at {from_version}, below {target}: going up is a migration"),
            )
            .with_action(Action::MigrateStore { to: Some(target) }));
        }
        if target == 0 {
            // A file without any schema is what a zeroed store looks like: TrendDojo refuses to open it.
            return Err(ApiError::invalid(
                "to",
                "the lowest version is 1 (version 0 leaves no schema at all); a reset starts over",
            )
            .with_action(Action::ResetStore { state: None }));
        }
        let backup = if target < from_version { self.backup_if_needed("rollback", from_version)? } else { None };
        let rolled_back = self.store.with_writer(|c| migrations::rollback(c, target))?;
        Ok(MigrationOutcome { from_version, to_version: self.version()?, applied: Vec::new(), rolled_back, backup })
    }

    /// Drop everything (after a backup), rebuild the schema and load a seed state.
    pub fn reset(&self, state: SeedState) -> ApiResult<MigrationOutcome> {
        self.store.ensure_writable()?;
        let from_version = self.version()?;
        let backup = self.backup_if_needed("reset", from_version)?;
        let (rolled_back, applied) = self.store.rebuild_schema()?;
        seed::seed(&self.store, state)?;
        Ok(MigrationOutcome { from_version, to_version: self.version()?, applied, rolled_back, backup })
    }

    /// Load a seed state into a store that holds no accounts or trades yet.
    pub fn seed(&self, state: SeedState) -> ApiResult<()> {
        self.store.ensure_writable()?;
        if self.version()? < migrations::latest_version() {
            return Err(ApiError::new(ErrorCode::Conflict, "seed: the store has pending migrations")
                .with_field("seed")
                .with_action(Action::MigrateStore { to: None }));
        }
        if self.store.holds_trading_data()? {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "state: the store already holds data; a seed state is loaded into an empty store, or replaces \
                 everything in a reset",
            )
            .with_field("state")
            .with_action(Action::ResetStore { state: Some(state.as_str().to_string()) }));
        }
        seed::seed(&self.store, state)
    }

    /// Back the store up to `file` (a new file in an existing folder), checked before it counts.
    pub fn backup(&self, file: &Path) -> ApiResult<BackupOutcome> {
        Ok(self.store.backup_as(file, "manual")?)
    }

    /// The backups in the `backups/` folder of the data folder `home`, newest first, each checked for
    /// completeness (no key needed, so this works when the store itself cannot be opened).
    pub fn list_backups(home: &Path) -> Vec<BackupEntry> {
        trenddojo_store::backup::list_backups(&trenddojo_store::StorePaths::new(home))
    }

    /// How many daily backups are kept (0: none).
    pub fn daily_backups_keep(&self) -> ApiResult<u32> {
        Ok(self.store.daily_backups_keep()?)
    }

    pub fn set_daily_backups_keep(&self, keep: u32) -> ApiResult<()> {
        if keep > 3650 {
            return Err(ApiError::invalid("keep", format!("at most 3650 daily backups, got {keep}")));
        }
        Ok(self.store.set_daily_backups_keep(keep)?)
    }

    /// SQLite, SQLCipher and foreign-key checks, plus every trade's summary recomputed from its executions.
    /// Damage is reported in the result (never as "database disk image is malformed"), and recorded.
    pub fn check(&self) -> ApiResult<CheckReport> {
        let sqlite = self.store.check()?;
        let summary = self.store.check_summary(&sqlite);
        let damaged = sqlite.pages_damaged();
        let trades = if damaged { Ok((Vec::new(), 0, 0)) } else { self.check_trades() };
        let (inconsistent_trades, trades_checked, awaiting_download) = match trades {
            Ok(t) => t,
            Err(e) if e.code == ErrorCode::Corrupt => {
                return Ok(CheckReport {
                    ok: false,
                    damaged: true,
                    summary: format!("{summary}; reading the trades failed: {}", e.message),
                    advice: Some(trenddojo_store::damage::advice_for(self.store.paths())),
                    sqlite,
                    inconsistent_trades: Vec::new(),
                    trades_checked: 0,
                    awaiting_download: 0,
                })
            }
            Err(e) => return Err(e),
        };
        let ok = sqlite.is_ok() && inconsistent_trades.is_empty();
        let summary = if inconsistent_trades.is_empty() {
            summary
        } else {
            format!("{summary}; {} trade summary problem(s)", inconsistent_trades.len())
        };
        Ok(CheckReport {
            ok,
            damaged,
            summary,
            advice: (!ok).then(|| trenddojo_store::damage::advice_for(self.store.paths())),
            sqlite,
            inconsistent_trades,
            trades_checked,
            awaiting_download,
        })
    }

    fn check_trades(&self) -> ApiResult<(Vec<String>, usize, usize)> {
        self.store.read_snapshot(|c| {
            let mut bad = Vec::new();
            let mut n = 0usize;
            let pending = trade_repo::awaiting_download(c)?;
            let mut waiting = 0usize;
            for user in user_repo::list(c)? {
                for account in account_repo::list(c, user.id)? {
                    if trade_repo::account_realized(c, account.id)?
                        != trade_repo::recompute_account_realized(c, account.id)?
                    {
                        bad.push(format!(
                            "account {}: stored realized P&L differs from the sum of its trades",
                            account.name
                        ));
                    }
                    let mut offset = 0;
                    loop {
                        let page = trade_repo::list(
                            c,
                            user.id,
                            &trade_repo::TradeQuery {
                                account_id: Some(account.id),
                                limit: 1000,
                                offset,
                                ..Default::default()
                            },
                        )?;
                        if page.is_empty() {
                            break;
                        }
                        offset += 1000;
                        for t in page {
                            n += 1;
                            if pending.contains(&t.id) {
                                waiting += 1;
                                continue;
                            }
                            let fills: Vec<_> =
                                trade_repo::executions(c, t.id)?.iter().map(trade_repo::Execution::to_fill).collect();
                            let d = dtrade::derive(
                                &dtrade::TradeFacts {
                                    direction: t.direction,
                                    multiplier: t.multiplier,
                                    method: account.matching_method,
                                    initial_stop: t.initial_stop,
                                    account_deleted: false,
                                },
                                &fills,
                            );
                            let s = &d.summary;
                            let status_ok = t.status == s.status || t.status == dtrade::TradeStatus::Cancelled;
                            if !status_ok
                                || s.net_realized != t.net_pnl
                                || s.open_quantity != t.open_quantity
                                || s.excess_quantity != t.excess_quantity
                                || s.review != t.review
                            {
                                bad.push(format!(
                                    "{} ({}): stored summary differs from its executions",
                                    t.id, t.symbol
                                ));
                            }
                        }
                    }
                }
            }
            Ok::<_, ApiError>((bad, n, waiting))
        })
    }

    /// How the store key is protected.
    pub fn key_status(&self) -> KeyStatus {
        let info = self.store.key_info();
        KeyStatus {
            store_id: info.store_id.to_string(),
            method: info.method.clone(),
            recovery_key: info.recovery_state(),
            keyinfo: self.store.paths().keyinfo.clone(),
        }
    }

    /// The recovery key made with the store, while it is not confirmed (printed once by `init`).
    pub fn pending_recovery_key(&self) -> ApiResult<Option<Zeroizing<String>>> {
        Ok(self.store.pending_recovery_key()?.map(|k| k.to_text()))
    }

    /// Show the recovery key again; refused once it is confirmed.
    pub fn show_recovery_key(&self) -> ApiResult<Zeroizing<String>> {
        Ok(self.store.show_recovery_key()?.to_text())
    }

    /// Confirm the user has the recovery key (`text` as typed): erases the copy kept for showing.
    pub fn confirm_recovery_key(&self, text: &str) -> ApiResult<()> {
        let candidate = RecoveryKey::parse(text)?;
        Ok(self.store.confirm_recovery_key(&candidate)?)
    }

    /// Make a new recovery key (replacing the old one for future backups), shown until confirmed.
    pub fn create_recovery_key(&self) -> ApiResult<Zeroizing<String>> {
        Ok(self.store.create_recovery_key()?.to_text())
    }

    /// Protect the store key with a new passphrase (a keyring store becomes a passphrase store).
    pub fn change_passphrase(&self, new: &Passphrase) -> ApiResult<()> {
        Ok(self.store.change_passphrase(new)?)
    }

    /// Keep the store key in the OS keyring instead of behind a passphrase.
    pub fn use_keyring(&self) -> ApiResult<()> {
        Ok(self.store.use_keyring()?)
    }
}
