//! `db` use cases: status, migrate, rollback, reset, seed, backup, restore and check.
//!
//! These open the store without applying migrations, so `db status` can show what is pending and
//! `db rollback` can step back. Every schema change is preceded by an automatic backup.

use std::path::{Path, PathBuf};

use serde::Serialize;

use trenddojo_domain::trade::{self as dtrade};
use trenddojo_store::accounts as account_repo;
use trenddojo_store::migrations;
use trenddojo_store::trades as trade_repo;
use trenddojo_store::users as user_repo;
use trenddojo_store::{DbStatus, IntegrityReport, KeySource, MigrateOnOpen, Store};

use crate::error::{ApiError, ApiResult, ErrorCode};
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
    pub sqlite: IntegrityReport,
    /// Trades whose stored summary differs from a recomputation from their executions.
    pub inconsistent_trades: Vec<String>,
    pub trades_checked: usize,
    /// Trades of a download that was cut off: their executions are still on the server, so their
    /// summaries are the server's until the next sync finishes the download (not damage).
    pub awaiting_download: usize,
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
                format!("the store is at {from_version}; use `db rollback --to {target}`"),
            ));
        }
        let backup = if target > from_version { self.backup_if_needed("migrate", from_version)? } else { None };
        let applied = self.store.with_writer(|c| migrations::migrate(c, Some(target)))?;
        Ok(MigrationOutcome { from_version, to_version: self.version()?, applied, rolled_back: Vec::new(), backup })
    }

    /// Undo migrations down to `to` (default: one step back).
    pub fn rollback(&self, to: Option<u32>) -> ApiResult<MigrationOutcome> {
        let from_version = self.version()?;
        let target = match to {
            Some(t) => t,
            None => from_version.checked_sub(1).ok_or_else(|| ApiError::invalid("to", "nothing to roll back"))?,
        };
        if target > from_version {
            return Err(ApiError::invalid(
                "to",
                format!("the store is at {from_version}; use `db migrate --to {target}`"),
            ));
        }
        let backup = if target < from_version { self.backup_if_needed("rollback", from_version)? } else { None };
        let rolled_back = self.store.with_writer(|c| migrations::rollback(c, target))?;
        Ok(MigrationOutcome { from_version, to_version: self.version()?, applied: Vec::new(), rolled_back, backup })
    }

    /// Drop everything (after a backup), rebuild the schema and load a seed state.
    pub fn reset(&self, state: SeedState) -> ApiResult<MigrationOutcome> {
        let from_version = self.version()?;
        let backup = self.backup_if_needed("reset", from_version)?;
        let (rolled_back, applied) = self.store.with_writer(|c| {
            let down = migrations::rollback(c, 0)?;
            let up = migrations::migrate(c, None)?;
            Ok((down, up))
        })?;
        self.store.with_writer(|c| {
            // Store identity survives a reset: the keyring entry and keyinfo.json point at it.
            let info = self.store.key_info();
            c.execute("INSERT INTO store_meta (key, value) VALUES ('store_id', ?1)", [info.store_id.to_string()])?;
            c.execute("INSERT INTO store_meta (key, value) VALUES ('device_id', ?1)", [self.store.device_id()])?;
            Ok(())
        })?;
        self.restore_sealing_key()?;
        seed::seed(&self.store, state)?;
        Ok(MigrationOutcome { from_version, to_version: self.version()?, applied, rolled_back, backup })
    }

    fn restore_sealing_key(&self) -> ApiResult<()> {
        let fresh = trenddojo_store::key::StoreKey::random();
        self.store.with_writer(|c| {
            c.execute(
                "INSERT OR IGNORE INTO store_meta (key, value) VALUES ('sealing_key', ?1)",
                [trenddojo_store::key::key_hex(&fresh).as_str()],
            )?;
            Ok(())
        })?;
        Ok(())
    }

    /// Load a seed state into a store that holds no accounts or trades yet.
    pub fn seed(&self, state: SeedState) -> ApiResult<()> {
        if self.version()? < migrations::latest_version() {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "seed: the store has pending migrations; run `trenddojo db migrate`",
            ));
        }
        let busy = self.store.read(|c| {
            let n: i64 = c
                .query_row("SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM trades)", [], |r| r.get(0))
                .map_err(trenddojo_store::StoreError::from)?;
            Ok::<_, ApiError>(n)
        })?;
        if busy > 0 {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "state: the store already holds data; use `trenddojo db reset --state {}` to replace it",
                    state.as_str()
                ),
            ));
        }
        seed::seed(&self.store, state)
    }

    pub fn backup(&self, file: &Path) -> ApiResult<u64> {
        Ok(self.store.backup_to(file)?)
    }

    /// Replace the store with a backup; returns the safety copy of what was replaced.
    pub fn restore(&self, file: &Path) -> ApiResult<PathBuf> {
        Ok(self.store.restore_from(file)?)
    }

    /// SQLite, SQLCipher and foreign-key checks, plus every trade's summary recomputed from its executions.
    pub fn check(&self) -> ApiResult<CheckReport> {
        let sqlite = self.store.check()?;
        let (inconsistent_trades, trades_checked, awaiting_download) = self.store.read_snapshot(|c| {
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
        })?;
        Ok(CheckReport {
            ok: sqlite.is_ok() && inconsistent_trades.is_empty(),
            sqlite,
            inconsistent_trades,
            trades_checked,
            awaiting_download,
        })
    }
}
