//! Statistics for an account over a date range (definitions in docs/metrics.md).

use chrono::Duration;
use serde::{Deserialize, Serialize};

use trenddojo_domain::stats::{self, ClosedTrade, StatsOptions};
use trenddojo_store::accounts::{self as account_repo, Account};
use trenddojo_store::trades as trade_repo;
use trenddojo_store::Connection;

use super::Journal;
use crate::dto;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::parse;

/// Statistics of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct AccountStats {
    pub account_id: dto::AccountId,
    pub account: String,
    pub currency: String,
    pub time_zone: String,
    /// First day included (in the account's time zone), if limited.
    pub from: Option<String>,
    /// Last day included, if limited.
    pub to: Option<String>,
    /// Equity at the start of the range: starting balance plus trades closed before it.
    pub starting_equity: String,
    pub stats: dto::Stats,
}

pub(crate) fn account_stats(
    conn: &Connection,
    account: &Account,
    from: Option<&str>,
    to: Option<&str>,
) -> ApiResult<AccountStats> {
    let tz: chrono_tz::Tz =
        account.time_zone.parse().map_err(|_| ApiError::new(ErrorCode::Corrupt, "account time zone"))?;
    let from_d = from.map(|d| parse::date("from", d)).transpose()?;
    let to_d = to.map(|d| parse::date("to", d)).transpose()?;
    if let (Some(f), Some(t)) = (from_d, to_d) {
        if f > t {
            return Err(ApiError::invalid("to", format!("{t} is before the first day {f}")));
        }
    }
    let from_t = from_d.map(|d| parse::start_of_day(d, tz));
    let to_t = to_d.map(|d| parse::start_of_day(d + Duration::days(1), tz));
    let mut starting_equity = account.starting_balance;
    if let Some(f) = from_t {
        for t in trade_repo::closed_trades(conn, account.id, None, Some(f))? {
            starting_equity = starting_equity
                .checked_add(t.net_pnl)
                .ok_or_else(|| ApiError::from(trenddojo_domain::DomainError::Overflow { field: "starting_equity" }))?;
        }
    }
    let rows = trade_repo::closed_trades(conn, account.id, from_t, to_t)?;
    let closed: Vec<ClosedTrade> = rows
        .into_iter()
        .map(|r| ClosedTrade {
            trade_id: r.id,
            closed_at: r.closed_at,
            net_pnl: r.net_pnl,
            fees: r.fees,
            initial_risk: r.initial_risk,
            exit_days: r.exit_days,
        })
        .collect();
    let opts = StatsOptions {
        starting_balance: starting_equity,
        breakeven_tolerance: account.breakeven_tolerance,
        from: from_d,
        to: to_d,
    };
    Ok(AccountStats {
        account_id: account.id.into(),
        account: account.name.clone(),
        currency: account.currency.clone(),
        time_zone: account.time_zone.clone(),
        from: from_d.map(|d| d.to_string()),
        to: to_d.map(|d| d.to_string()),
        starting_equity: starting_equity.to_canonical(),
        stats: (&stats::compute(&closed, &opts)?).into(),
    })
}

impl Journal {
    /// Statistics for one account (`--account`), or for each account when none is given.
    pub fn stats(&self, account: Option<&str>, from: Option<&str>, to: Option<&str>) -> ApiResult<Vec<AccountStats>> {
        let user_id = self.user_id()?;
        self.store.read_snapshot(|c| {
            let accounts = match account {
                Some(a) => vec![account_repo::resolve(c, user_id, a)?],
                None => account_repo::list(c, user_id)?,
            };
            accounts.iter().map(|a| account_stats(c, a, from, to)).collect()
        })
    }
}
