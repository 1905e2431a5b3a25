//! The trade lifecycle: open (with the pre-trade risk check), add executions, close, edit, delete,
//! list and show. Every change recomputes the trade from its executions in the same transaction.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use trenddojo_domain::money::{Fee, Money, Price, Quantity};
use trenddojo_domain::risk::{self, ProposedTrade, RiskAssessment, RiskContext};
use trenddojo_domain::trade::{self as dtrade, Derived, Direction, Fill, Review, Side, TradeFacts, TradeStatus};
use trenddojo_store::accounts::{self as account_repo, Account};
use trenddojo_store::journal::{self as journal_repo};
use trenddojo_store::trades::{
    self as trade_repo, Execution, ExecutionChange, NewExecution, NewTarget, NewTrade, Trade,
};
use trenddojo_store::users as user_repo;
use trenddojo_store::{Connection, Tx};

use super::Journal;
use crate::dto;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::parse;

/// Input for `trade open`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct OpenTradeInput {
    pub account: String,
    pub symbol: String,
    /// long or short
    pub side: String,
    pub quantity: String,
    pub price: String,
    pub stop: Option<String>,
    pub target: Option<String>,
    pub fees: Option<String>,
    pub at: Option<String>,
    pub multiplier: Option<String>,
    pub setup: Option<String>,
    pub group: Option<String>,
}

/// Input for `trade add-execution` (and `trade close`, which fills in the side and quantity).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct ExecutionInput {
    /// buy or sell
    pub side: String,
    pub quantity: String,
    pub price: String,
    pub fees: Option<String>,
    pub at: Option<String>,
}

/// Input for `trade close`: the whole open quantity unless `quantity` is given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct CloseInput {
    pub price: String,
    pub quantity: Option<String>,
    pub fees: Option<String>,
    pub at: Option<String>,
}

/// Input for `trade edit`: only given fields change (at least one must be given). A new stop is appended
/// to the stop history; only the first stop ever set is held to the entry's side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct EditTradeInput {
    pub stop: Option<String>,
    pub stop_reason: Option<String>,
    /// Replaces all targets.
    pub targets: Option<Vec<String>>,
    pub symbol: Option<String>,
    pub setup: Option<String>,
    pub group: Option<String>,
    /// Cancel a planned trade.
    pub cancel: bool,
    /// Correct the initial stop (what initial risk and R are measured from): it must sit on the losing side
    /// of the first entry. Recorded in the stop history.
    pub initial_stop: Option<String>,
    /// Move the trade (with its executions and notes) to another account.
    pub account: Option<String>,
}

/// Input for `trade edit-execution`: only given fields change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct ExecutionEditInput {
    pub side: Option<String>,
    pub quantity: Option<String>,
    pub price: Option<String>,
    pub fees: Option<String>,
    pub at: Option<String>,
}

/// Filters for `trade list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct TradeListInput {
    pub account: Option<String>,
    pub status: Option<String>,
    pub symbol: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// newest (default), oldest, pnl, -pnl (worst first), symbol
    pub sort: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

/// A trade with everything recorded about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct TradeDetail {
    #[serde(flatten)]
    pub trade: dto::Trade,
    /// The account's currency (ISO 4217 code): what the amounts are in, and how a screen formats them
    /// (see `crate::format`).
    pub currency: String,
    pub executions: Vec<dto::Execution>,
    pub stops: Vec<dto::StopChange>,
    pub targets: Vec<dto::Target>,
    pub notes: Vec<dto::Note>,
    pub checklist: Vec<dto::ChecklistAnswer>,
    /// Where each imported fill came from (broker, account, execution id, instrument, each fee, the time as
    /// the file wrote it, the import batch), by execution id; fills typed by hand have none (empty map).
    pub sources: std::collections::BTreeMap<dto::ExecutionId, dto::FillSource>,
    /// Risk rules that were broken but only warned about (enforcement `warn`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A trade that needs review, with why and what the user can do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ReviewTrade {
    pub trade: dto::Trade,
    pub reasons: Vec<dto::Review>,
    pub advice: Vec<String>,
}

/// Everything a merge left for the user to look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ReviewItems {
    pub trades: Vec<ReviewTrade>,
    /// Live fills of trades that were deleted on another device (hidden with their trade).
    pub orphan_executions: Vec<dto::Execution>,
}

/// A full trade for bulk import: entry/exit fills already known (broker imports, seeds, benchmarks).
#[derive(Debug, Clone)]
pub struct ImportTrade {
    pub symbol: String,
    pub direction: Direction,
    pub multiplier: Decimal,
    pub initial_stop: Option<Price>,
    pub target: Option<Price>,
    pub setup: Option<String>,
    pub correlation_group: Option<String>,
    pub fills: Vec<ImportFill>,
}

#[derive(Debug, Clone)]
pub struct ImportFill {
    pub side: Side,
    pub quantity: Quantity,
    pub price: Price,
    pub fees: Fee,
    pub at: DateTime<Utc>,
}

pub(crate) fn tz_of(account: &Account) -> ApiResult<Tz> {
    account
        .time_zone
        .parse::<Tz>()
        .map_err(|_| ApiError::new(ErrorCode::Corrupt, format!("account {} has an unknown time zone", account.name)))
}

/// Refuse a trade whose net P&L would take the account's realized total or equity past 28 digits (what
/// money may hold): written anyway, the account's totals could no longer be computed and every screen
/// showing the account would fail. `old` is what the trade contributed so far, `new` what it would.
fn ensure_account_totals_fit(conn: &Connection, account: &Account, old: Money, new: Money) -> ApiResult<()> {
    let realized = trade_repo::account_realized(conn, account.id)?.value();
    let fits = realized
        .checked_sub(old.value())
        .and_then(|r| r.checked_add(new.value()))
        .and_then(|r| Money::new("realized", r).ok())
        .and_then(|r| account.starting_balance.checked_add(r));
    match fits {
        Some(_) => Ok(()),
        None => Err(ApiError::invalid(
            "net_pnl",
            format!(
                "this trade's net P&L {new} would take account {}'s realized P&L or equity past 28 digits",
                account.name
            ),
        )),
    }
}

/// Everything derived for `trade` from its live executions (total: see `trenddojo_domain::trade::derive`).
fn derive_trade(tx: &Connection, account: &Account, trade: &Trade) -> ApiResult<Derived> {
    let fills: Vec<Fill> = trade_repo::executions(tx, trade.id)?.iter().map(Execution::to_fill).collect();
    let facts = TradeFacts {
        direction: trade.direction,
        multiplier: trade.multiplier,
        method: account.matching_method,
        initial_stop: trade.initial_stop,
        account_deleted: account_repo::is_deleted(tx, account.id)?,
    };
    Ok(dtrade::derive(&facts, &fills))
}

/// Recompute a trade from its executions and store the result. Never refuses: whatever the merged rows
/// hold, the trade gets a state (possibly `needs_review`) that every device computes identically.
pub(crate) fn refresh_trade(tx: &Tx<'_>, account: &Account, trade_id: Uuid) -> ApiResult<Trade> {
    let trade = trade_repo::get(tx, account.user_id, trade_id)?;
    let derived = derive_trade(tx, account, &trade)?;
    trade_repo::apply_summary(tx, trade_id, &derived, tz_of(account).unwrap_or(Tz::UTC))?;
    Ok(trade_repo::get(tx, account.user_id, trade_id)?)
}

/// Recompute a trade after a change the user typed, refusing the change (the transaction rolls back) when
/// it would put the trade into review: the rules a merge may break guard what a user enters on one device.
fn refresh_checked(tx: &Tx<'_>, account: &Account, before: &Trade, amounts: &'static str) -> ApiResult<Trade> {
    let current = trade_repo::get(tx, account.user_id, before.id)?;
    let derived = derive_trade(tx, account, &current)?;
    let new: Vec<Review> = derived.summary.review.iter().copied().filter(|r| !before.review.contains(r)).collect();
    if let Some(reason) = new.first() {
        let s = &derived.summary;
        return Err(match reason {
            Review::OverClosed => ApiError::conflict(
                "quantity",
                format!(
                    "the exits would add up to more than was entered ({} more than was open)",
                    trenddojo_store::sql::dec_text(s.excess_quantity)
                ),
            ),
            Review::StopWrongSide => {
                ApiError::invalid("stop", "the initial stop would be on the wrong side of the first entry")
            }
            // Amounts too large to compute exactly: the input that made them so is at fault.
            Review::Overflow => ApiError::invalid(amounts, "the amounts would be too large to compute exactly"),
            Review::AccountDeleted => ApiError::conflict("account", "the account is deleted"),
        });
    }
    ensure_account_totals_fit(tx, account, current.net_pnl, derived.summary.net_realized)?;
    refresh_trade(tx, account, before.id)
}

pub(crate) fn check_trade_limit(tx: &Tx<'_>, user_id: Uuid, extra: u32) -> ApiResult<()> {
    let user = user_repo::get(tx, user_id)?;
    let limits = user_repo::limits(tx, user.subscription_tier)?;
    let now = tx.at;
    let month_start = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "month start"))?;
    let next_month = if now.month() == 12 {
        Utc.with_ymd_and_hms(now.year() + 1, 1, 1, 0, 0, 0)
    } else {
        Utc.with_ymd_and_hms(now.year(), now.month() + 1, 1, 0, 0, 0)
    }
    .single()
    .ok_or_else(|| ApiError::new(ErrorCode::Internal, "month end"))?;
    let used = trade_repo::count_created_between(tx, user_id, month_start, next_month)?;
    if used.saturating_add(extra) > limits.max_trades_per_month {
        return Err(ApiError::new(
            ErrorCode::LimitReached,
            format!(
                "trade: the {} tier allows {} trades a month and {used} are recorded this month; upgrade to add more",
                user.subscription_tier.as_str(),
                limits.max_trades_per_month
            ),
        ));
    }
    Ok(())
}

/// Everything the risk rules need to know about an account right now.
pub(crate) fn risk_context(
    conn: &Connection,
    account: &Account,
    group: &str,
    now: DateTime<Utc>,
) -> ApiResult<RiskContext> {
    let tz = tz_of(account)?;
    let today = now.with_timezone(&tz).date_naive();
    let day_start = parse::start_of_day(today, tz);
    let week_start = parse::start_of_day(today - Duration::days(i64::from(today.weekday().num_days_from_monday())), tz);
    let total = trade_repo::account_realized(conn, account.id)?;
    let open = trade_repo::open_positions(conn, account.id)?;
    let correlated = open.iter().filter(|(sym, g)| g.as_deref().unwrap_or(sym.as_str()) == group).count();
    Ok(RiskContext {
        balance: account
            .starting_balance
            .checked_add(total)
            .ok_or_else(|| ApiError::new(ErrorCode::Corrupt, "balance overflows"))?,
        open_positions: u32::try_from(open.len()).unwrap_or(u32::MAX),
        correlated_open_positions: u32::try_from(correlated).unwrap_or(u32::MAX),
        realized_today: trade_repo::realized_between(conn, account.id, day_start, None)?,
        realized_this_week: trade_repo::realized_between(conn, account.id, week_start, None)?,
    })
}

/// A refusal by the account's risk rules; like every input error it names its field (`risk`).
fn risk_blocked(message: String) -> ApiError {
    ApiError { code: ErrorCode::RiskBlocked, message, field: Some("risk".into()), hint: None, action: None }
}

fn format_violations(a: &RiskAssessment) -> Vec<String> {
    a.violations.iter().map(|v| format!("{}: {}", v.rule.as_str(), v.message)).collect()
}

fn detail(conn: &Connection, trade: Trade, warnings: Vec<String>) -> ApiResult<TradeDetail> {
    Ok(TradeDetail {
        currency: account_repo::get_any(conn, trade.account_id)?.currency,
        executions: trade_repo::executions(conn, trade.id)?.iter().map(Into::into).collect(),
        stops: trade_repo::stop_history(conn, trade.id)?.iter().map(Into::into).collect(),
        targets: trade_repo::targets(conn, trade.id)?.iter().map(Into::into).collect(),
        notes: journal_repo::list_notes(conn, trade.user_id, Some(trade.id), 1000)?.iter().map(Into::into).collect(),
        checklist: journal_repo::responses(conn, trade.id)?.iter().map(Into::into).collect(),
        sources: trenddojo_store::imports::sources_of_trade(conn, trade.id)?
            .iter()
            .map(|(id, p)| (dto::ExecutionId(*id), p.into()))
            .collect(),
        trade: (&trade).into(),
        warnings,
    })
}

fn validate_target(direction: Direction, entry: Price, target: Price) -> ApiResult<()> {
    let ok = match direction {
        Direction::Long => target.value() > entry.value(),
        Direction::Short => target.value() < entry.value(),
    };
    if !ok {
        return Err(ApiError::invalid(
            "target",
            format!(
                "a {} target must be {} the entry {entry}, got {target}",
                direction.as_str(),
                if direction == Direction::Long { "above" } else { "below" }
            ),
        ));
    }
    Ok(())
}

/// Insert a complete trade and its fills, computing the summary once in memory: the fast path for bulk
/// imports (every row is written once, in final form). Runs no risk checks: imported trades already happened.
pub fn import_trade(tx: &Tx<'_>, account: &Account, t: &ImportTrade) -> ApiResult<Uuid> {
    let tz = tz_of(account)?;
    let fills: Vec<Fill> = t
        .fills
        .iter()
        .map(|f| Fill {
            id: tx.new_id(),
            side: f.side,
            quantity: f.quantity,
            price: f.price,
            fees: f.fees,
            executed_at: f.at,
        })
        .collect();
    let derived = dtrade::derive(
        &TradeFacts {
            direction: t.direction,
            multiplier: t.multiplier,
            method: account.matching_method,
            initial_stop: t.initial_stop,
            account_deleted: false,
        },
        &fills,
    );
    ensure_account_totals_fit(tx, account, Money::zero(), derived.summary.net_realized)?;
    let new = NewTrade {
        user_id: account.user_id,
        account_id: account.id,
        symbol: t.symbol.clone(),
        direction: t.direction,
        multiplier: t.multiplier,
        planned_entry: t.fills.first().map(|f| f.price),
        planned_quantity: None,
        initial_stop: t.initial_stop,
        setup: t.setup.clone(),
        correlation_group: t.correlation_group.clone(),
    };
    let trade_id = trade_repo::insert_imported(
        tx,
        &trade_repo::ImportedTrade {
            trade: &new,
            fills: &fills,
            summary: &derived.summary,
            initial_risk: derived.initial_risk,
            r_multiple: derived.r_multiple,
            time_zone: &account.time_zone,
        },
        tz,
    )?;
    if let Some(target) = t.target {
        let shell = trade_repo::get(tx, account.user_id, trade_id)?;
        trade_repo::replace_targets(tx, &shell, &[NewTarget { price: target, quantity: None, label: None }])?;
    }
    Ok(trade_id)
}

impl Journal {
    /// Open a trade with its first fill, after checking the account's risk rules.
    pub fn open_trade(&self, input: &OpenTradeInput) -> ApiResult<TradeDetail> {
        let user_id = self.user_id()?;
        let symbol = parse::symbol("symbol", &input.symbol)?;
        let direction: Direction = parse::choice("side", &input.side)?;
        let quantity = parse::quantity("quantity", &input.quantity)?;
        let price = parse::price("price", &input.price)?;
        let stop = parse::opt("stop", input.stop.as_deref(), parse::price)?;
        let target = parse::opt("target", input.target.as_deref(), parse::price)?;
        let fees = parse::opt("fees", input.fees.as_deref(), parse::fee)?.unwrap_or(Fee::parse("fees", "0")?);
        let multiplier = match &input.multiplier {
            Some(m) => parse::positive_decimal("multiplier", m)?,
            None => Decimal::ONE,
        };
        if let Some(stop) = stop {
            dtrade::validate_stop(direction, price, stop)?;
        }
        if let Some(target) = target {
            validate_target(direction, price, target)?;
        }
        let setup = input.setup.as_deref().map(|s| parse::text("setup", s, 100)).transpose()?;
        let group = input.group.as_deref().map(|g| parse::text("group", g, 60)).transpose()?;
        self.store.write(|tx| {
            let account = account_repo::resolve(tx, user_id, &input.account)?;
            let tz = tz_of(&account)?;
            let at = match &input.at {
                Some(s) => parse::instant("at", s, tz, tx.at)?,
                None => tx.at,
            };
            check_trade_limit(tx, user_id, 1)?;
            let settings = account_repo::risk_settings(tx, account.id)?;
            let group_key = group.clone().unwrap_or_else(|| symbol.clone());
            let ctx = risk_context(tx, &account, &group_key, tx.at)?;
            let assessment = risk::check_new_trade(
                &settings,
                &ctx,
                &ProposedTrade {
                    direction,
                    entry: price,
                    stop,
                    quantity,
                    multiplier,
                    symbol: symbol.clone(),
                    correlation_group: group.clone(),
                },
            )?;
            let violations = format_violations(&assessment);
            if assessment.blocks(settings.enforcement) {
                return Err(risk_blocked(format!(
                    "risk: trade refused by the account's risk rules: {}",
                    violations.join("; ")
                )));
            }
            let trade_id = trade_repo::insert_trade(
                tx,
                &NewTrade {
                    user_id,
                    account_id: account.id,
                    symbol: symbol.clone(),
                    direction,
                    multiplier,
                    planned_entry: Some(price),
                    planned_quantity: Some(quantity),
                    initial_stop: stop,
                    setup: setup.clone(),
                    correlation_group: group.clone(),
                },
            )?;
            if let Some(target) = target {
                let shell = trade_repo::get(tx, user_id, trade_id)?;
                trade_repo::replace_targets(tx, &shell, &[NewTarget { price: target, quantity: None, label: None }])?;
            }
            trade_repo::insert_execution(
                tx,
                &NewExecution {
                    user_id,
                    account_id: account.id,
                    trade_id,
                    side: direction.entry_side(),
                    quantity,
                    price,
                    fees,
                    executed_at: at,
                    time_zone: account.time_zone.clone(),
                },
            )?;
            let fresh = trade_repo::get(tx, user_id, trade_id)?;
            let trade = refresh_checked(tx, &account, &fresh, "quantity")?;
            detail(tx, trade, violations)
        })
    }

    /// Record another fill: scaling in (entry side) or out (exit side).
    pub fn add_execution(&self, trade: &str, input: &ExecutionInput) -> ApiResult<TradeDetail> {
        let user_id = self.user_id()?;
        let side: Side = parse::choice("side", &input.side)?;
        let quantity = parse::quantity("quantity", &input.quantity)?;
        let price = parse::price("price", &input.price)?;
        let fees = parse::opt("fees", input.fees.as_deref(), parse::fee)?.unwrap_or(Fee::parse("fees", "0")?);
        self.store.write(|tx| {
            let t = trade_repo::resolve(tx, user_id, trade)?;
            let account = account_repo::get_any(tx, t.account_id)?;
            if account_repo::is_deleted(tx, account.id)? {
                return Err(ApiError::conflict(
                    "account",
                    format!(
                        "the trade's account {} was deleted; move the trade to another account first",
                        account.name
                    ),
                ));
            }
            match t.status {
                TradeStatus::Cancelled => {
                    return Err(ApiError::conflict("trade", "the trade is cancelled; open a new trade"))
                }
                TradeStatus::Closed if side == t.direction.entry_side() => {
                    return Err(ApiError::conflict("side", "the trade is closed; open a new trade to re-enter"))
                }
                _ => {}
            }
            let at = match &input.at {
                Some(s) => parse::instant("at", s, tz_of(&account)?, tx.at)?,
                None => tx.at,
            };
            if side == t.direction.exit_side() && quantity.value() > t.open_quantity {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!(
                        "quantity: cannot close {}, only {} is open",
                        quantity,
                        trenddojo_store::sql::dec_text(t.open_quantity)
                    ),
                )
                .with_field("quantity"));
            }
            let mut warnings = Vec::new();
            if side == t.direction.entry_side() && t.status != TradeStatus::Planned {
                // Scaling in: the whole position's risk at its current stop must stay within the limit.
                let settings = account_repo::risk_settings(tx, account.id)?;
                let ctx = risk_context(tx, &account, "", tx.at)?;
                let fills: Vec<Fill> = trade_repo::executions(tx, t.id)?.iter().map(Execution::to_fill).collect();
                let before = dtrade::summarize(t.direction, t.multiplier, account.matching_method, &fills);
                let too_large =
                    || ApiError::invalid("quantity", "the position after this fill is too large to compute exactly");
                let notional = price
                    .value()
                    .checked_mul(quantity.value())
                    .and_then(|add| before.entry_notional.checked_add(add))
                    .ok_or_else(too_large)?;
                let entered = before.entered_quantity.checked_add(quantity.value()).ok_or_else(too_large)?;
                if let Some(v) =
                    risk::check_scale_in(&settings, ctx.balance, notional, entered, t.current_stop, t.multiplier)?
                {
                    let line = format!("{}: {}", v.rule.as_str(), v.message);
                    if settings.enforcement == trenddojo_domain::risk::Enforcement::Block {
                        return Err(risk_blocked(format!(
                            "risk: scale-in refused by the account's risk rules: {line}"
                        )));
                    }
                    warnings.push(line);
                }
            }
            trade_repo::insert_execution(
                tx,
                &NewExecution {
                    user_id,
                    account_id: account.id,
                    trade_id: t.id,
                    side,
                    quantity,
                    price,
                    fees,
                    executed_at: at,
                    time_zone: account.time_zone.clone(),
                },
            )?;
            let trade =
                refresh_checked(tx, &account, &t, if side == t.direction.exit_side() { "price" } else { "quantity" })?;
            detail(tx, trade, warnings)
        })
    }

    /// Exit the whole open quantity (or `quantity` of it) at `price`.
    pub fn close_trade(&self, trade: &str, input: &CloseInput) -> ApiResult<TradeDetail> {
        let user_id = self.user_id()?;
        let t = self.store.read(|c| Ok::<_, ApiError>(trade_repo::resolve(c, user_id, trade)?))?;
        let open = matches!(t.status, TradeStatus::Open | TradeStatus::PartiallyClosed)
            || (t.status == TradeStatus::NeedsReview && t.open_quantity > Decimal::ZERO);
        if !open {
            return Err(ApiError::conflict("trade", format!("the trade is {}, not open", t.status.as_str())));
        }
        let quantity = match &input.quantity {
            Some(q) => q.clone(),
            None => trenddojo_store::sql::dec_text(t.open_quantity),
        };
        self.add_execution(
            &t.id.to_string(),
            &ExecutionInput {
                side: t.direction.exit_side().as_str().to_string(),
                quantity,
                price: input.price.clone(),
                fees: input.fees.clone(),
                at: input.at.clone(),
            },
        )
    }

    pub fn edit_trade(&self, trade: &str, input: &EditTradeInput) -> ApiResult<TradeDetail> {
        let user_id = self.user_id()?;
        let stop = parse::opt("stop", input.stop.as_deref(), parse::price)?;
        let initial_stop = parse::opt("initial_stop", input.initial_stop.as_deref(), parse::price)?;
        let targets = input
            .targets
            .as_ref()
            .map(|ts| ts.iter().map(|t| parse::price("target", t)).collect::<ApiResult<Vec<_>>>())
            .transpose()?;
        let symbol = input.symbol.as_deref().map(|s| parse::symbol("symbol", s)).transpose()?;
        let setup = input.setup.as_deref().map(|s| parse::text("setup", s, 100)).transpose()?;
        let group = input.group.as_deref().map(|g| parse::text("group", g, 60)).transpose()?;
        if stop.is_none() && initial_stop.is_none() && input.stop_reason.is_some() {
            return Err(ApiError::invalid("reason", "explains a stop move; give the new stop with it"));
        }
        if stop.is_none()
            && initial_stop.is_none()
            && input.account.is_none()
            && targets.is_none()
            && symbol.is_none()
            && setup.is_none()
            && group.is_none()
            && !input.cancel
        {
            return Err(ApiError::invalid(
                "trade",
                "nothing to change; give a new stop, a corrected initial stop, targets, a symbol, a setup, a group or \
                 an account, or cancel a planned trade",
            ));
        }
        self.store.write(|tx| {
            let t = trade_repo::resolve(tx, user_id, trade)?;
            let mut account = account_repo::get_any(tx, t.account_id)?;
            if input.cancel {
                if t.status != TradeStatus::Planned {
                    return Err(ApiError::conflict(
                        "cancel",
                        format!("only a planned trade can be cancelled; this one is {}", t.status.as_str()),
                    ));
                }
                trade_repo::cancel(tx, t.id)?;
            }
            if let Some(to) = &input.account {
                let target = account_repo::resolve(tx, user_id, to)?;
                if target.id != t.account_id {
                    trade_repo::move_to_account(tx, t.id, target.id)?;
                    trade_repo::reset_account_realized(tx, t.account_id)?;
                    account = target;
                }
            }
            let reference = t.avg_entry_price.or(t.planned_entry.map(|p| p.value()));
            if let Some(stop) = initial_stop {
                // Measured against the first entry, as `derive` checks it.
                let first = trade_repo::executions(tx, t.id)?
                    .iter()
                    .filter(|e| e.side == t.direction.entry_side())
                    .min_by_key(|e| (e.executed_at, e.id))
                    .map(|e| e.price)
                    .or(t.planned_entry);
                if let Some(entry) = first {
                    dtrade::validate_stop(t.direction, entry, stop)?;
                }
                trade_repo::set_initial_stop(tx, &t, stop, input.stop_reason.as_deref())?;
            }
            if let Some(stop) = stop {
                // Only the first stop (which becomes the initial stop) must be on the losing side; moving
                // it to breakeven or past the entry later is trade management.
                let entry = reference.map(|e| Price::new("price", e)).transpose()?;
                dtrade::check_stop_move(t.direction, entry, t.initial_stop, stop)?;
                let reason = if initial_stop.is_some() { None } else { input.stop_reason.as_deref() };
                trade_repo::set_stop(tx, &t, stop, reason)?;
            }
            if let Some(targets) = &targets {
                if let Some(entry) = reference {
                    for target in targets {
                        validate_target(t.direction, Price::new("price", entry)?, *target)?;
                    }
                }
                let rows: Vec<NewTarget> =
                    targets.iter().map(|p| NewTarget { price: *p, quantity: None, label: None }).collect();
                trade_repo::replace_targets(tx, &t, &rows)?;
            }
            if symbol.is_some() || setup.is_some() || group.is_some() {
                trade_repo::update_details(tx, t.id, symbol.as_deref(), setup.as_deref(), group.as_deref())?;
            }
            let trade = if t.status == TradeStatus::Cancelled || input.cancel {
                trade_repo::get(tx, user_id, t.id)?
            } else {
                refresh_checked(tx, &account, &t, "stop")?
            };
            detail(tx, trade, Vec::new())
        })
    }

    /// Change a recorded fill (the way to resolve a trade a merge left over-closed, or to fix a typo). The
    /// trade is recomputed; a change that would put a consistent trade into review is refused.
    pub fn edit_execution(&self, execution: &str, input: &ExecutionEditInput) -> ApiResult<TradeDetail> {
        let user_id = self.user_id()?;
        let side = input.side.as_deref().map(|s| parse::choice::<Side>("side", s)).transpose()?;
        let quantity = parse::opt("quantity", input.quantity.as_deref(), parse::quantity)?;
        let price = parse::opt("price", input.price.as_deref(), parse::price)?;
        let fees = parse::opt("fees", input.fees.as_deref(), parse::fee)?;
        self.store.write(|tx| {
            let (_, trade_id, trade_deleted) = trade_repo::resolve_execution(tx, user_id, execution)?;
            if trade_deleted {
                return Err(ApiError::conflict(
                    "execution",
                    "its trade was deleted (on another device); the fill can only be deleted",
                ));
            }
            let t = trade_repo::get(tx, user_id, trade_id)?;
            let account = account_repo::get_any(tx, t.account_id)?;
            let executed_at = match &input.at {
                Some(s) => Some(parse::instant("at", s, tz_of(&account)?, tx.at)?),
                None => None,
            };
            let change = ExecutionChange { side, quantity, price, fees, executed_at };
            if change.is_empty() {
                return Err(ApiError::invalid(
                    "execution",
                    "nothing to change: give a side, quantity, price, fees or time",
                ));
            }
            let (e, _, _) = trade_repo::resolve_execution(tx, user_id, execution)?;
            trade_repo::update_execution(tx, e.id, &change)?;
            let trade = refresh_checked(tx, &account, &t, "quantity")?;
            detail(tx, trade, Vec::new())
        })
    }

    /// Delete a recorded fill. Its trade is recomputed (a trade without fills is planned again); deleting
    /// a fill of a trade another device deleted just removes it.
    pub fn delete_execution(&self, execution: &str) -> ApiResult<dto::ExecutionId> {
        let user_id = self.user_id()?;
        self.store.write(|tx| {
            let (e, trade_id, trade_deleted) = trade_repo::resolve_execution(tx, user_id, execution)?;
            trade_repo::delete_execution(tx, e.id)?;
            if !trade_deleted {
                let t = trade_repo::get(tx, user_id, trade_id)?;
                let account = account_repo::get_any(tx, t.account_id)?;
                refresh_checked(tx, &account, &t, "execution")?;
            }
            Ok(e.id.into())
        })
    }

    /// What needs the user's attention after merges: trades that need review (with why and what to do)
    /// and fills of trades another device deleted.
    pub fn review_items(&self) -> ApiResult<ReviewItems> {
        let user_id = self.user_id()?;
        self.store.read(|c| {
            let trades = trade_repo::needing_review(c, user_id)?
                .iter()
                .map(|t| ReviewTrade {
                    advice: t.review.iter().map(|r| r.advice().to_string()).collect(),
                    reasons: t.review.iter().map(|r| (*r).into()).collect(),
                    trade: t.into(),
                })
                .collect();
            Ok(ReviewItems {
                trades,
                orphan_executions: trade_repo::orphan_executions(c, user_id)?.iter().map(Into::into).collect(),
            })
        })
    }

    /// Delete a trade (tombstoned with its executions, stops, targets, notes and answers).
    pub fn delete_trade(&self, trade: &str) -> ApiResult<dto::TradeId> {
        let user_id = self.user_id()?;
        self.store.write(|tx| {
            let t = trade_repo::resolve(tx, user_id, trade)?;
            trade_repo::soft_delete(tx, t.id)?;
            Ok(t.id.into())
        })
    }

    pub fn show_trade(&self, trade: &str) -> ApiResult<TradeDetail> {
        let user_id = self.user_id()?;
        self.store.read_snapshot(|c| {
            let t = trade_repo::resolve(c, user_id, trade)?;
            detail(c, t, Vec::new())
        })
    }

    pub fn list_trades(&self, input: &TradeListInput) -> ApiResult<Vec<dto::Trade>> {
        let user_id = self.user_id()?;
        let status: Option<TradeStatus> = input.status.as_deref().map(|s| parse::choice("status", s)).transpose()?;
        let symbol = input.symbol.as_deref().map(|s| parse::symbol("symbol", s)).transpose()?;
        let sort = match input.sort.as_deref().unwrap_or("newest") {
            "newest" => trade_repo::TradeSort::Newest,
            "oldest" => trade_repo::TradeSort::Oldest,
            "pnl" => trade_repo::TradeSort::PnlDesc,
            "-pnl" => trade_repo::TradeSort::PnlAsc,
            "symbol" => trade_repo::TradeSort::Symbol,
            other => {
                return Err(ApiError::invalid(
                    "sort",
                    format!("expected one of newest, oldest, pnl, -pnl, symbol, got {other:?}"),
                ))
            }
        };
        let limit = input.limit.unwrap_or(50);
        if limit == 0 || limit > 1000 {
            return Err(ApiError::invalid("limit", "must be between 1 and 1000"));
        }
        self.store.read(|c| {
            let account = input.account.as_deref().map(|a| account_repo::resolve(c, user_id, a)).transpose()?;
            let tz = match &account {
                Some(a) => tz_of(a)?,
                None => Tz::UTC,
            };
            let from = input.from.as_deref().map(|d| parse::date("from", d)).transpose()?;
            let to = input.to.as_deref().map(|d| parse::date("to", d)).transpose()?;
            if let (Some(f), Some(t)) = (from, to) {
                if f > t {
                    return Err(ApiError::invalid("to", format!("{t} is before the first day {f}")));
                }
            }
            let q = trade_repo::TradeQuery {
                account_id: account.map(|a| a.id),
                status,
                symbol,
                from: from.map(|d| parse::start_of_day(d, tz)),
                to: to.map(|d| parse::start_of_day(d + Duration::days(1), tz)),
                sort,
                limit,
                offset: input.offset.unwrap_or(0),
            };
            Ok(trade_repo::list(c, user_id, &q)?.iter().map(Into::into).collect())
        })
    }

    /// Bulk-import complete trades into one account in a single transaction.
    pub fn import_trades(&self, account: &str, trades: &[ImportTrade]) -> ApiResult<usize> {
        let user_id = self.user_id()?;
        self.store.write(|tx| {
            let account = account_repo::resolve(tx, user_id, account)?;
            check_trade_limit(tx, user_id, u32::try_from(trades.len()).unwrap_or(u32::MAX))?;
            for t in trades {
                import_trade(tx, &account, t)?;
            }
            Ok(trades.len())
        })
    }
}
