//! Accounts, risk settings and position sizing, notes, checklists and broker connections.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use trenddojo_domain::money::Money;
use trenddojo_domain::risk::{self, RiskSettings};
use trenddojo_domain::trade::{Direction, MatchingMethod};
use trenddojo_store::accounts::{self as account_repo, Account, NewAccount};
use trenddojo_store::brokers::{self as broker_repo};
use trenddojo_store::journal::{self as journal_repo, NewNote, NOTE_KINDS};
use trenddojo_store::trades as trade_repo;
use trenddojo_store::users as user_repo;
use trenddojo_store::{Connection, Tx};

use super::Journal;
use crate::dto;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::parse;

/// Input for `account add`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct AccountInput {
    pub name: String,
    pub currency: String,
    pub balance: String,
    pub timezone: Option<String>,
    pub broker: Option<String>,
    /// fifo (default), lifo or average_cost
    pub matching: Option<String>,
    /// |net P&L| at or below this counts as breakeven (default 0)
    pub breakeven_tolerance: Option<String>,
}

/// An account with its current equity (starting balance plus realized net P&L), as the use cases work
/// with it (the shells get [`dto::AccountSummary`]).
#[derive(Debug, Clone)]
pub(crate) struct AccountState {
    pub account: Account,
    pub realized_pnl: Money,
    pub equity: Money,
    pub open_positions: usize,
    pub risk: RiskSettings,
}

impl From<&AccountState> for dto::AccountSummary {
    fn from(v: &AccountState) -> Self {
        dto::AccountSummary {
            account: (&v.account).into(),
            realized_pnl: v.realized_pnl.to_canonical(),
            equity: v.equity.to_canonical(),
            open_positions: u32::try_from(v.open_positions).unwrap_or(u32::MAX),
            risk: (&v.risk).into(),
        }
    }
}

pub(crate) fn new_account(tx: &Tx<'_>, user_id: Uuid, input: &AccountInput) -> ApiResult<Account> {
    let name = parse::text("name", &input.name, 100)?;
    let currency = parse::currency("currency", &input.currency)?;
    let starting_balance = parse::money("balance", &input.balance)?;
    if starting_balance.is_negative() {
        return Err(ApiError::invalid("balance", "must not be negative"));
    }
    let tz = parse::time_zone("timezone", input.timezone.as_deref().unwrap_or("UTC"))?;
    let matching_method: MatchingMethod = match &input.matching {
        Some(m) => parse::choice("matching", m)?,
        None => MatchingMethod::default(),
    };
    let breakeven_tolerance = match &input.breakeven_tolerance {
        Some(t) => parse::money("breakeven-tolerance", t)?,
        None => Money::zero(),
    };
    if breakeven_tolerance.is_negative() {
        return Err(ApiError::invalid("breakeven-tolerance", "must not be negative"));
    }
    let user = user_repo::get(tx, user_id)?;
    let limits = user_repo::limits(tx, user.subscription_tier)?;
    if account_repo::count(tx, user_id)? >= limits.max_accounts {
        return Err(ApiError::new(
            ErrorCode::LimitReached,
            format!(
                "account: the {} tier allows {} account(s); upgrade to add more",
                user.subscription_tier.as_str(),
                limits.max_accounts
            ),
        ));
    }
    Ok(account_repo::insert(
        tx,
        &NewAccount {
            user_id,
            name,
            currency,
            starting_balance,
            time_zone: tz.name().to_string(),
            broker: input.broker.clone(),
            matching_method,
            breakeven_tolerance,
        },
    )?)
}

pub(crate) fn account_view(conn: &Connection, account: Account) -> ApiResult<AccountState> {
    let realized = trade_repo::account_realized(conn, account.id)?;
    let equity = account
        .starting_balance
        .checked_add(realized)
        .ok_or_else(|| ApiError::new(ErrorCode::Corrupt, "equity overflows"))?;
    let open_positions = trade_repo::open_positions(conn, account.id)?.len();
    let risk = account_repo::risk_settings(conn, account.id)?;
    Ok(AccountState { account, realized_pnl: realized, equity, open_positions, risk })
}

/// Input for `risk set`: only the given fields change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct RiskInput {
    pub max_risk_pct: Option<String>,
    pub max_daily_loss_pct: Option<String>,
    pub max_weekly_loss_pct: Option<String>,
    pub max_open_positions: Option<u32>,
    pub max_correlated_positions: Option<u32>,
    pub sizing: Option<String>,
    pub fixed_amount: Option<String>,
    pub fixed_quantity: Option<String>,
    pub enforcement: Option<String>,
}

/// Input for `risk size`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct SizeInput {
    pub account: String,
    pub side: String,
    pub entry: String,
    pub stop: String,
    pub multiplier: Option<String>,
    pub step: Option<String>,
}

/// Input for `checklist add`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct ChecklistInput {
    pub name: String,
    pub description: Option<String>,
    /// Prompts that must be checked.
    pub items: Vec<String>,
    /// Prompts that may stay unchecked.
    pub optional_items: Vec<String>,
}

impl Journal {
    pub fn add_account(&self, input: &AccountInput) -> ApiResult<dto::AccountSummary> {
        let user_id = self.user_id()?;
        self.store.write(|tx| {
            let a = new_account(tx, user_id, input)?;
            Ok((&account_view(tx, a)?).into())
        })
    }

    /// Delete an account with its trades (each with its fills, stops, targets, notes and answers), its risk
    /// settings, notes and broker connections. Returns the account's id.
    pub fn delete_account(&self, account: &str) -> ApiResult<dto::AccountId> {
        let user_id = self.user_id()?;
        self.store.write(|tx| {
            let a = account_repo::resolve(tx, user_id, account)?;
            account_repo::soft_delete(tx, a.id)?;
            Ok(a.id.into())
        })
    }

    pub fn list_accounts(&self) -> ApiResult<Vec<dto::AccountSummary>> {
        let user_id = self.user_id()?;
        self.store.read_snapshot(|c| {
            account_repo::list(c, user_id)?.into_iter().map(|a| Ok((&account_view(c, a)?).into())).collect()
        })
    }

    pub fn show_account(&self, account: &str) -> ApiResult<dto::AccountSummary> {
        let user_id = self.user_id()?;
        self.store.read_snapshot(|c| {
            let a = account_repo::resolve(c, user_id, account)?;
            Ok((&account_view(c, a)?).into())
        })
    }

    /// Resolve `--account`, or the only account when none is given.
    pub(crate) fn pick_account(&self, conn: &Connection, account: Option<&str>) -> ApiResult<Account> {
        let user_id = self.user_id()?;
        match account {
            Some(a) => Ok(account_repo::resolve(conn, user_id, a)?),
            None => {
                let mut all = account_repo::list(conn, user_id)?;
                match all.len() {
                    1 => Ok(all.remove(0)),
                    0 => Err(ApiError::new(ErrorCode::NotFound, "account: there are no accounts yet")
                        .with_field("account")
                        .with_action(crate::error::Action::AddAccount)),
                    _ => Err(ApiError::invalid(
                        "account",
                        format!(
                            "there are several accounts; name one of: {}",
                            all.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    )),
                }
            }
        }
    }

    pub fn risk_settings(&self, account: Option<&str>) -> ApiResult<(dto::Account, dto::RiskSettings)> {
        self.store.read(|c| {
            let a = self.pick_account(c, account)?;
            let s = account_repo::risk_settings(c, a.id)?;
            Ok(((&a).into(), (&s).into()))
        })
    }

    pub fn set_risk(&self, account: Option<&str>, input: &RiskInput) -> ApiResult<dto::RiskSettings> {
        let user_id = self.user_id()?;
        self.store.write(|tx| {
            let a = self.pick_account(tx, account)?;
            let mut s = account_repo::risk_settings(tx, a.id)?;
            if let Some(v) = &input.max_risk_pct {
                s.max_risk_per_trade_pct = parse::percent("max-risk-pct", v)?;
            }
            if let Some(v) = &input.max_daily_loss_pct {
                s.max_daily_loss_pct = parse::percent("max-daily-loss-pct", v)?;
            }
            if let Some(v) = &input.max_weekly_loss_pct {
                s.max_weekly_loss_pct = parse::percent("max-weekly-loss-pct", v)?;
            }
            if let Some(v) = input.max_open_positions {
                s.max_open_positions = v;
            }
            if let Some(v) = input.max_correlated_positions {
                s.max_correlated_positions = v;
            }
            if let Some(v) = &input.sizing {
                s.sizing_method = parse::choice("sizing", v)?;
            }
            if let Some(v) = &input.fixed_amount {
                let m = parse::money("fixed-amount", v)?;
                if m.is_negative() || m == Money::zero() {
                    return Err(ApiError::invalid("fixed-amount", "must be positive"));
                }
                s.fixed_amount = Some(m);
            }
            if let Some(v) = &input.fixed_quantity {
                s.fixed_quantity = Some(parse::quantity("fixed-quantity", v)?);
            }
            if let Some(v) = &input.enforcement {
                s.enforcement = parse::choice("enforcement", v)?;
            }
            if s.sizing_method == risk::SizingMethod::FixedAmount && s.fixed_amount.is_none() {
                return Err(ApiError::invalid("fixed-amount", "is required with sizing fixed_amount"));
            }
            if s.sizing_method == risk::SizingMethod::FixedQuantity && s.fixed_quantity.is_none() {
                return Err(ApiError::invalid("fixed-quantity", "is required with sizing fixed_quantity"));
            }
            account_repo::save_risk_settings(tx, user_id, a.id, &s)?;
            Ok((&s).into())
        })
    }

    /// How many units to buy or sell so the loss at the stop stays within the account's risk budget.
    pub fn position_size(&self, input: &SizeInput) -> ApiResult<dto::PositionSize> {
        self.store.read_snapshot(|c| {
            let a = self.pick_account(c, Some(&input.account))?;
            let view = account_view(c, a)?;
            let direction: Direction = parse::choice("side", &input.side)?;
            let entry = parse::price("entry", &input.entry)?;
            let stop = parse::price("stop", &input.stop)?;
            let multiplier = match &input.multiplier {
                Some(m) => parse::positive_decimal("multiplier", m)?,
                None => rust_decimal::Decimal::ONE,
            };
            let step = match &input.step {
                Some(s) => parse::positive_decimal("step", s)?,
                None => rust_decimal::Decimal::ONE,
            };
            Ok((&risk::position_size(&view.risk, view.equity, direction, entry, stop, multiplier, step)?).into())
        })
    }

    pub fn add_note(
        &self,
        body: &str,
        trade: Option<&str>,
        account: Option<&str>,
        kind: Option<&str>,
    ) -> ApiResult<dto::Note> {
        let user_id = self.user_id()?;
        let body = parse::text("text", body, 20_000)?;
        let kind = kind.unwrap_or("journal").trim().to_string();
        if !NOTE_KINDS.contains(&kind.as_str()) {
            return Err(ApiError::invalid("kind", format!("expected one of {}, got {kind:?}", NOTE_KINDS.join(", "))));
        }
        self.store.write(|tx| {
            let trade = trade.map(|t| trade_repo::resolve(tx, user_id, t)).transpose()?;
            let account_id = match (account, &trade) {
                (Some(a), _) => Some(account_repo::resolve(tx, user_id, a)?.id),
                (None, Some(t)) => Some(t.account_id),
                (None, None) => None,
            };
            Ok((&journal_repo::insert_note(
                tx,
                &NewNote { user_id, trade_id: trade.map(|t| t.id), account_id, kind, body },
            )?)
                .into())
        })
    }

    pub fn list_notes(&self, trade: Option<&str>, limit: u32) -> ApiResult<Vec<dto::Note>> {
        let user_id = self.user_id()?;
        self.store.read(|c| {
            let trade_id = trade.map(|t| trade_repo::resolve(c, user_id, t)).transpose()?.map(|t| t.id);
            Ok(journal_repo::list_notes(c, user_id, trade_id, limit)?.iter().map(Into::into).collect())
        })
    }

    pub fn add_checklist(&self, input: &ChecklistInput) -> ApiResult<dto::Checklist> {
        let user_id = self.user_id()?;
        let name = parse::text("name", &input.name, 100)?;
        let mut items = Vec::new();
        for i in &input.items {
            items.push((parse::text("item", i, 500)?, true));
        }
        for i in &input.optional_items {
            items.push((parse::text("optional-item", i, 500)?, false));
        }
        if items.is_empty() {
            return Err(ApiError::invalid("item", "a checklist needs at least one item"));
        }
        self.store.write(|tx| {
            let user = user_repo::get(tx, user_id)?;
            let limits = user_repo::limits(tx, user.subscription_tier)?;
            if journal_repo::count_templates(tx, user_id)? >= limits.max_checklist_templates {
                return Err(ApiError::new(
                    ErrorCode::LimitReached,
                    format!(
                        "checklist: the {} tier allows {} checklist(s)",
                        user.subscription_tier.as_str(),
                        limits.max_checklist_templates
                    ),
                ));
            }
            let id = journal_repo::insert_template(tx, user_id, &name, input.description.as_deref(), &items)?;
            journal_repo::list_templates(tx, user_id)?
                .iter()
                .find(|t| t.id == id)
                .map(Into::into)
                .ok_or_else(|| ApiError::new(ErrorCode::Internal, "checklist vanished"))
        })
    }

    pub fn list_checklists(&self) -> ApiResult<Vec<dto::Checklist>> {
        let user_id = self.user_id()?;
        Ok(self.store.read(|c| journal_repo::list_templates(c, user_id))?.iter().map(Into::into).collect())
    }

    /// Answer item number `item` (1-based) of `checklist` for `trade`.
    pub fn answer_checklist(
        &self,
        trade: &str,
        checklist: &str,
        item: u32,
        checked: bool,
        comment: Option<&str>,
    ) -> ApiResult<Vec<dto::ChecklistAnswer>> {
        let user_id = self.user_id()?;
        self.store.write(|tx| {
            let t = trade_repo::resolve(tx, user_id, trade)?;
            let template = journal_repo::resolve_template(tx, user_id, checklist)?;
            let it = item.checked_sub(1).and_then(|i| template.items.get(i as usize)).ok_or_else(|| {
                ApiError::invalid("item", format!("{:?} has items 1 to {}", template.name, template.items.len()))
            })?;
            journal_repo::answer(tx, user_id, t.id, it.id, checked, comment)?;
            Ok(journal_repo::responses(tx, t.id)?.iter().map(Into::into).collect())
        })
    }

    /// Add a broker connection; `secret` is sealed on this device before it is stored.
    pub fn add_broker_connection(
        &self,
        broker: &str,
        label: &str,
        account: Option<&str>,
        api_key_hint: Option<&str>,
        secret: &[u8],
    ) -> ApiResult<dto::BrokerConnection> {
        let user_id = self.user_id()?;
        let broker = parse::text("broker", broker, 60)?;
        let label = parse::text("label", label, 100)?;
        if secret.is_empty() {
            return Err(ApiError::invalid("secret", "must not be empty"));
        }
        self.store.write(|tx| {
            let user = user_repo::get(tx, user_id)?;
            let limits = user_repo::limits(tx, user.subscription_tier)?;
            if broker_repo::count(tx, user_id)? >= limits.max_broker_connections {
                return Err(ApiError::new(
                    ErrorCode::LimitReached,
                    format!(
                        "broker: the {} tier allows {} broker connection(s)",
                        user.subscription_tier.as_str(),
                        limits.max_broker_connections
                    ),
                ));
            }
            let account_id = account.map(|a| account_repo::resolve(tx, user_id, a)).transpose()?.map(|a| a.id);
            let id = broker_repo::insert(tx, user_id, account_id, &broker, &label, api_key_hint, secret)?;
            broker_repo::list(tx, user_id)?
                .iter()
                .find(|b| b.id == id)
                .map(Into::into)
                .ok_or_else(|| ApiError::new(ErrorCode::Internal, "broker connection vanished"))
        })
    }

    pub fn list_broker_connections(&self) -> ApiResult<Vec<dto::BrokerConnection>> {
        let user_id = self.user_id()?;
        Ok(self.store.read(|c| broker_repo::list(c, user_id))?.iter().map(Into::into).collect())
    }
}
