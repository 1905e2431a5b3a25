//! Use cases the desktop app needs beyond the CLI's: the launch state (is there a store, how does it
//! unlock), the pre-trade check shown while a trade is typed, opening a trade together with its checklist
//! answers, the journal's notes grouped by day, and an account's time zone.
//!
//! Design notes:
//! - The pre-trade check runs the same rules as `open_trade` ([`risk::check_new_trade`] over
//!   [`risk_context`]) on a read snapshot, so the form can say which rule breaks and by how much before the
//!   trader presses save; `open_trade` checks again inside its write transaction, which is what enforces.
//! - A trade with a pre-trade checklist: the required items are checked *before* anything is written (an
//!   unchecked required item refuses the trade, naming the item), then the trade opens in its own
//!   transaction and the answers are recorded in a second one. Should recording the answers fail (the
//!   store was damaged or the disk filled in between), the trade is deleted again, so the trader never has
//!   a trade that skipped its checklist; the error is returned with the form as typed.
//! - Day notes are the notes that belong to no trade, grouped by the day they were written in their
//!   account's time zone (UTC without an account). The store keeps no separate "day" column, so a note is
//!   about the day it was written: adding one for an earlier day needs a schema change that sync must
//!   carry, left for later.

use std::collections::BTreeMap;
use std::path::Path;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use trenddojo_domain::risk::{self, ProposedTrade};
use trenddojo_domain::trade::Direction;
use trenddojo_store::accounts as account_repo;
use trenddojo_store::journal as journal_repo;
use trenddojo_store::trades as trade_repo;

use super::accounts::account_view;
use super::trades::{refresh_trade, risk_context, tz_of, OpenTradeInput, TradeDetail};
use super::Journal;
use crate::dto;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::parse;

/// One answer to a checklist item, given with a new trade.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct ChecklistAnswerInput {
    /// The item's id.
    pub item: String,
    pub checked: bool,
    pub comment: Option<String>,
}

/// A new trade with its pre-trade checklist.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct NewTradeInput {
    pub trade: OpenTradeInput,
    /// The checklist (id or name) the answers belong to; none to open without one.
    pub checklist: Option<String>,
    pub answers: Vec<ChecklistAnswerInput>,
}

impl Journal {
    /// What the first screen needs before anything is unlocked.
    pub fn launch_state(home: &Path) -> ApiResult<dto::LaunchState> {
        let method = trenddojo_store::key::method_of(home)?;
        Ok(dto::LaunchState {
            home: home.display().to_string(),
            exists: method.is_some() || trenddojo_store::StorePaths::new(home).exists(),
            method,
            keyring_available: trenddojo_store::key::keyring_available(),
        })
    }

    /// The account's risk rules applied to a trade as typed so far, without saving anything.
    pub fn check_new_trade(&self, input: &OpenTradeInput) -> ApiResult<dto::RiskCheck> {
        let symbol = parse::symbol("symbol", &input.symbol)?;
        let direction: Direction = parse::choice("side", &input.side)?;
        let quantity = parse::quantity("quantity", &input.quantity)?;
        let entry = parse::price("price", &input.price)?;
        let stop = parse::opt("stop", input.stop.as_deref().filter(|s| !s.trim().is_empty()), parse::price)?;
        let multiplier = match input.multiplier.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(m) => parse::positive_decimal("multiplier", m)?,
            None => Decimal::ONE,
        };
        let group = match input.group.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(g) => Some(parse::text("group", g, 60)?),
            None => None,
        };
        self.store.read_snapshot(|c| {
            let account = self.pick_account(c, Some(&input.account))?;
            let settings = account_repo::risk_settings(c, account.id)?;
            let group_key = group.clone().unwrap_or_else(|| symbol.clone());
            let ctx = risk_context(c, &account, &group_key, chrono::Utc::now())?;
            let a = risk::check_new_trade(
                &settings,
                &ctx,
                &ProposedTrade { direction, entry, stop, quantity, multiplier, symbol, correlation_group: group },
            )?;
            Ok(dto::RiskCheck {
                violations: a.violations.iter().map(|v| format!("{}: {}", v.rule.as_str(), v.message)).collect(),
                blocks: a.blocks(settings.enforcement),
                enforcement: settings.enforcement.into(),
                risk_amount: a.risk_amount.map(|m| m.to_canonical()),
                risk_pct: a.risk_pct_of_balance.map(trenddojo_domain::money::canonical),
            })
        })
    }

    /// Open a trade with its pre-trade checklist: every required item must be checked (else nothing is
    /// written and the error names the item); the answers are recorded with the trade.
    pub fn open_trade_with_checklist(&self, input: &NewTradeInput) -> ApiResult<TradeDetail> {
        let user_id = self.user_id()?;
        let checklist = match input.checklist.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None if input.answers.is_empty() => None,
            None => return Err(ApiError::invalid("checklist", "answers were given without their checklist")),
            Some(name) => {
                Some(self.store.read(|c| Ok::<_, ApiError>(journal_repo::resolve_template(c, user_id, name)?))?)
            }
        };
        let mut answers = Vec::new();
        if let Some(t) = &checklist {
            for a in &input.answers {
                let item =
                    t.items.iter().find(|i| i.id.to_string() == a.item.trim()).ok_or_else(|| {
                        ApiError::invalid("checklist", format!("{:?} has no item {:?}", t.name, a.item))
                    })?;
                let comment = match a.comment.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                    Some(c) => Some(parse::text("comment", c, 2000)?),
                    None => None,
                };
                answers.push((item.id, a.checked, comment));
            }
            for item in t.items.iter().filter(|i| i.required) {
                if !answers.iter().any(|(id, checked, _)| *id == item.id && *checked) {
                    return Err(ApiError::invalid(
                        "checklist",
                        format!("the required item {:?} of {:?} is not checked", item.prompt, t.name),
                    )
                    .with_hint("check every required item before opening the trade, or choose no checklist"));
                }
            }
        }
        let opened = self.open_trade(&input.trade)?;
        if answers.is_empty() {
            return Ok(opened);
        }
        let trade_id = opened.trade.id.0;
        let recorded = self.store.write(|tx| {
            for (item, checked, comment) in &answers {
                journal_repo::answer(tx, user_id, trade_id, *item, *checked, comment.as_deref())?;
            }
            Ok::<_, ApiError>(())
        });
        if let Err(e) = recorded {
            // Never leave a trade that skipped its checklist behind.
            let _ = self.delete_trade(&trade_id.to_string());
            return Err(e);
        }
        let mut detail = self.show_trade(&trade_id.to_string())?;
        detail.warnings = opened.warnings;
        Ok(detail)
    }

    /// The notes that belong to no trade, grouped by day (newest day first); at most `limit` notes.
    pub fn day_notes(&self, limit: u32) -> ApiResult<Vec<dto::DayNotes>> {
        let user_id = self.user_id()?;
        self.store.read(|c| {
            let notes = journal_repo::list_free_notes(c, user_id, limit.clamp(1, 10_000))?;
            let mut zones: BTreeMap<uuid::Uuid, chrono_tz::Tz> = BTreeMap::new();
            let mut days: Vec<dto::DayNotes> = Vec::new();
            for n in &notes {
                let tz = match n.account_id {
                    Some(a) => match zones.get(&a) {
                        Some(tz) => *tz,
                        None => {
                            let tz = tz_of(&account_repo::get_any(c, a)?).unwrap_or(chrono_tz::Tz::UTC);
                            zones.insert(a, tz);
                            tz
                        }
                    },
                    None => chrono_tz::Tz::UTC,
                };
                let at = chrono::DateTime::parse_from_rfc3339(&n.created_at).map_err(|_| {
                    ApiError::new(ErrorCode::Corrupt, format!("note {}: created_at is not a time", n.id))
                })?;
                let day = at.with_timezone(&tz).date_naive().to_string();
                match days.iter_mut().find(|d| d.day == day) {
                    Some(d) => d.notes.push(n.into()),
                    None => days.push(dto::DayNotes { day, notes: vec![n.into()] }),
                }
            }
            days.sort_by(|a, b| b.day.cmp(&a.day));
            Ok(days)
        })
    }

    /// Change an account's time zone and recompute every trade's per-day split in it (one transaction).
    pub fn set_account_time_zone(&self, account: &str, time_zone: &str) -> ApiResult<dto::AccountSummary> {
        let user_id = self.user_id()?;
        let tz = parse::time_zone("timezone", time_zone)?;
        self.store.write(|tx| {
            let a = account_repo::resolve(tx, user_id, account)?;
            account_repo::set_time_zone(tx, a.id, tz.name())?;
            let updated = account_repo::get(tx, user_id, a.id)?;
            for id in trade_repo::live_trade_ids(tx, a.id)? {
                refresh_trade(tx, &updated, id)?;
            }
            Ok((&account_view(tx, updated)?).into())
        })
    }
}

/// How the app shows a failed background round: `offline` when the server cannot be reached (the loop
/// retries on its own), `error` for everything else (the message says what to do).
pub fn sync_failure_state(e: &ApiError) -> dto::SyncState {
    match e.code {
        ErrorCode::Unreachable => dto::SyncState::Offline,
        _ => dto::SyncState::Error,
    }
}
