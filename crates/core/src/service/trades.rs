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
use trenddojo_store::imports as import_repo;
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

/// Merge trades of one account and instrument into one (the earliest opened keeps its id, stop, targets,
/// setup and checklist; the others' fills and notes move to it and they are deleted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct MergeTradesInput {
    /// Two or more trades (ids or unique id prefixes).
    pub trades: Vec<String>,
}

/// Split a trade: the chosen fills move whole to a new trade of the same account and instrument.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct SplitTradeInput {
    pub trade: String,
    /// The fills (execution ids or unique prefixes) that form the new trade; the rest stay.
    pub executions: Vec<String>,
}

/// The two trades a split leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct SplitResult {
    /// The trade that was split, with the fills that stayed.
    pub kept: TradeDetail,
    /// The new trade, with the chosen fills.
    pub split_off: TradeDetail,
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

    /// Merge trades into one: the trade opened first keeps its id, initial stop, stop history, targets,
    /// setup and checklist answers; the other trades' fills and notes move to it and the other trades are
    /// deleted, all in one transaction (audited and synced like any edit). The trades must be live, in
    /// one account, and of one instrument (symbol, direction and multiplier); cancelled or planned trades
    /// (no fills) cannot be merged. Merging trades that are each consistent cannot over-close: the
    /// merged position is the sum of positions that never go below zero.
    pub fn merge_trades(&self, input: &MergeTradesInput) -> ApiResult<TradeDetail> {
        let user_id = self.user_id()?;
        if input.trades.len() < 2 {
            return Err(ApiError::invalid("trades", "merge: choose at least two trades"));
        }
        self.store.write(|tx| {
            let mut trades: Vec<Trade> = Vec::with_capacity(input.trades.len());
            for t in &input.trades {
                let t = trade_repo::resolve(tx, user_id, t)?;
                if trades.iter().any(|x| x.id == t.id) {
                    return Err(ApiError::invalid("trades", format!("merge: trade {} is chosen twice", t.id)));
                }
                if matches!(t.status, TradeStatus::Cancelled | TradeStatus::Planned) || t.opened_at.is_none() {
                    return Err(ApiError::invalid(
                        "trades",
                        format!("merge: trade {} ({}) has no fills; only trades with fills can be merged", t.id, t.symbol),
                    ));
                }
                trades.push(t);
            }
            trades.sort_by_key(|t| (t.opened_at, t.id));
            let keeper = trades[0].clone();
            for t in &trades[1..] {
                let differs = if t.account_id != keeper.account_id {
                    Some("account")
                } else if t.symbol != keeper.symbol {
                    Some("symbol")
                } else if t.direction != keeper.direction {
                    Some("direction")
                } else if t.multiplier != keeper.multiplier {
                    Some("multiplier")
                } else {
                    None
                };
                if let Some(what) = differs {
                    return Err(ApiError::invalid(
                        "trades",
                        format!(
                            "merge: trade {} ({} {}) and trade {} ({} {}) differ in {what}; only trades of one account and instrument can be merged",
                            keeper.id,
                            keeper.direction.as_str(),
                            keeper.symbol,
                            t.id,
                            t.direction.as_str(),
                            t.symbol
                        ),
                    ));
                }
            }
            let account = account_repo::get_any(tx, keeper.account_id)?;
            for t in &trades[1..] {
                for e in trade_repo::executions(tx, t.id)? {
                    import_repo::set_trade(tx, e.id, keeper.id)?;
                }
                import_repo::move_notes(tx, t.id, keeper.id)?;
                trade_repo::soft_delete(tx, t.id)?;
            }
            let trade = refresh_checked(tx, &account, &keeper, "quantity")?;
            detail(tx, trade, Vec::new())
        })
    }

    /// Split a trade: the chosen fills move, whole, to a new trade of the same account, instrument, setup
    /// and correlation group (with the initial stop too when it is on the right side of the new trade's
    /// first entry). Both parts must keep at least one fill and stay consistent on their own: each must
    /// enter before it exits and never close more than it opened; a split that would break that is
    /// refused, naming the part and the excess. Notes, targets, stop history and checklist answers stay
    /// with the trade that was split. One transaction, audited and synced; counts as a new trade for the
    /// plan's monthly limit.
    pub fn split_trade(&self, input: &SplitTradeInput) -> ApiResult<SplitResult> {
        let user_id = self.user_id()?;
        if input.executions.is_empty() {
            return Err(ApiError::invalid("executions", "split: choose the fills that form the new trade"));
        }
        self.store.write(|tx| {
            let t = trade_repo::resolve(tx, user_id, &input.trade)?;
            let fills = trade_repo::executions(tx, t.id)?;
            let mut chosen: Vec<Uuid> = Vec::with_capacity(input.executions.len());
            for e in &input.executions {
                let (e, trade_id, _) = trade_repo::resolve_execution(tx, user_id, e)?;
                if trade_id != t.id {
                    return Err(ApiError::invalid(
                        "executions",
                        format!("split: fill {} belongs to trade {}, not to trade {}", e.id, trade_id, t.id),
                    ));
                }
                if !chosen.contains(&e.id) {
                    chosen.push(e.id);
                }
            }
            if chosen.len() == fills.len() {
                return Err(ApiError::invalid(
                    "executions",
                    "split: leave at least one fill in the trade (all of its fills were chosen)",
                ));
            }
            let account = account_repo::get_any(tx, t.account_id)?;
            let (moved, stayed): (Vec<&Execution>, Vec<&Execution>) =
                fills.iter().partition(|e| chosen.contains(&e.id));
            for (part, set) in [("the new trade", &moved), ("the trade that stays", &stayed)] {
                let f: Vec<Fill> = set.iter().map(|e| e.to_fill()).collect();
                let s = dtrade::summarize(t.direction, t.multiplier, account.matching_method, &f);
                if s.excess_quantity > Decimal::ZERO {
                    return Err(ApiError::invalid(
                        "executions",
                        format!(
                            "split: {part} would close {} more {} than it opened; choose its entries with its exits",
                            trenddojo_store::sql::dec_text(s.excess_quantity),
                            t.symbol
                        ),
                    ));
                }
            }
            check_trade_limit(tx, user_id, 1)?;
            let first_entry = moved
                .iter()
                .filter(|e| e.side == t.direction.entry_side())
                .map(|e| (e.executed_at, e.id, e.price))
                .min();
            let stop = t
                .initial_stop
                .filter(|s| first_entry.is_some_and(|(_, _, p)| dtrade::validate_stop(t.direction, p, *s).is_ok()));
            let new_id = trade_repo::insert_trade(
                tx,
                &NewTrade {
                    user_id,
                    account_id: t.account_id,
                    symbol: t.symbol.clone(),
                    direction: t.direction,
                    multiplier: t.multiplier,
                    planned_entry: first_entry.map(|(_, _, p)| p),
                    planned_quantity: None,
                    initial_stop: stop,
                    setup: t.setup.clone(),
                    correlation_group: t.correlation_group.clone(),
                },
            )?;
            for e in &moved {
                import_repo::set_trade(tx, e.id, new_id)?;
            }
            let new = trade_repo::get(tx, user_id, new_id)?;
            let kept = refresh_checked(tx, &account, &t, "quantity")?;
            let split_off = refresh_checked(tx, &account, &new, "quantity")?;
            Ok(SplitResult { kept: detail(tx, kept, Vec::new())?, split_off: detail(tx, split_off, Vec::new())? })
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

#[cfg(test)]
mod tests {
    //! Manual grouping (merge and split) against a model: random trades of one instrument (and a few that
    //! differ in account, symbol or direction), random merges and splits; every operation the model says
    //! is valid succeeds, every other one is refused and writes nothing, no fill is lost or changed, the
    //! statistics stay equal to a recomputation from the trades, and splitting then merging back gives
    //! the original numbers.
    use super::*;
    use crate::{AccountInput, UserInput};
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use trenddojo_store::{KeySource, Passphrase};

    const PASS: &str = "merge and split";

    fn journal(home: &std::path::Path) -> Journal {
        let key = KeySource::Passphrase(Passphrase::new(PASS).expect("passphrase"));
        let user = UserInput { email: "group@example.com".into(), tier: Some("pro".into()), ..Default::default() };
        let j = Journal::init(home, &key, &user).expect("init");
        for name in ["Main", "Other"] {
            j.add_account(&AccountInput {
                name: name.into(),
                currency: "USD".into(),
                balance: "10000".into(),
                timezone: Some("America/New_York".into()),
                ..Default::default()
            })
            .expect("account");
        }
        j
    }

    /// 2026-03-02 14:30 UTC.
    const BASE: i64 = 1_772_461_800;

    #[derive(Debug, Clone)]
    struct Spec {
        other_account: bool,
        other_symbol: bool,
        short: bool,
        start: i64,
        /// (minutes after start, entry?, quantity, price in cents)
        fills: Vec<(i64, bool, u32, i64)>,
    }

    /// A trade that is consistent on its own: one or two entries, then exits that never take more than
    /// is open (sometimes all of it), its fills over a few hours so trades interleave.
    fn spec() -> impl Strategy<Value = Spec> {
        (
            prop_oneof![8 => Just(false), 1 => Just(true)],
            prop_oneof![8 => Just(false), 1 => Just(true)],
            prop_oneof![6 => Just(false), 1 => Just(true)],
            0i64..600,
            prop::collection::vec((1u32..5, 9_000i64..11_000), 1..3),
            prop::collection::vec((1u32..5, 9_000i64..11_000), 0..3),
            any::<bool>(),
        )
            .prop_map(|(other_account, other_symbol, short, start, entries, exits, flat)| {
                let mut fills = Vec::new();
                let mut open = 0u32;
                let mut t = 0i64;
                for (q, p) in entries {
                    fills.push((t, true, q, p));
                    open += q;
                    t += 17;
                }
                for (q, p) in exits {
                    let q = q.min(open);
                    if q == 0 {
                        break;
                    }
                    fills.push((t, false, q, p));
                    open -= q;
                    t += 23;
                }
                if flat && open > 0 {
                    fills.push((t, false, open, 10_000));
                }
                Spec { other_account, other_symbol, short, start, fills }
            })
    }

    #[derive(Debug, Clone)]
    enum Op {
        Merge(Vec<usize>),
        /// A trade, and which of its fills (bit i: fill i) go to the new trade.
        Split(usize, u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            prop::collection::vec(0usize..16, 1..4).prop_map(Op::Merge),
            (0usize..16, any::<u32>()).prop_map(|(t, m)| Op::Split(t, m)),
        ]
    }

    fn import(j: &Journal, specs: &[Spec]) {
        for s in specs {
            let direction = if s.short { Direction::Short } else { Direction::Long };
            let fills = s
                .fills
                .iter()
                .map(|&(m, entry, q, p)| ImportFill {
                    side: if entry { direction.entry_side() } else { direction.exit_side() },
                    quantity: Quantity::parse("quantity", &q.to_string()).expect("quantity"),
                    price: Price::parse("price", &Decimal::new(p, 2).to_string()).expect("price"),
                    fees: Fee::parse("fees", "0.35").expect("fee"),
                    at: DateTime::from_timestamp(BASE + (s.start + m) * 60, 0).expect("instant"),
                })
                .collect();
            let t = ImportTrade {
                symbol: if s.other_symbol { "OTH".into() } else { "SPL".into() },
                direction,
                multiplier: Decimal::ONE,
                initial_stop: None,
                target: None,
                setup: Some("model".into()),
                correlation_group: None,
                fills,
            };
            j.import_trades(if s.other_account { "Other" } else { "Main" }, &[t]).expect("import");
        }
    }

    /// Every live trade with its fills, by id: what an operation may change only as the model says.
    fn state(j: &Journal) -> BTreeMap<String, (dto::Trade, Vec<dto::Execution>)> {
        let list = j.list_trades(&TradeListInput { limit: Some(1000), ..Default::default() }).expect("list");
        list.into_iter()
            .map(|t| {
                let d = j.show_trade(&t.id.to_string()).expect("show");
                (t.id.to_string(), (d.trade, d.executions))
            })
            .collect()
    }

    /// Every live fill, with its values but not its trade.
    fn fills(
        s: &BTreeMap<String, (dto::Trade, Vec<dto::Execution>)>,
    ) -> BTreeMap<String, (String, String, String, String)> {
        s.values()
            .flat_map(|(_, es)| es.iter())
            .map(|e| {
                (
                    e.id.to_string(),
                    (e.side.as_str().to_string(), e.quantity.clone(), e.price.clone(), e.executed_at.clone()),
                )
            })
            .collect()
    }

    fn excess(t: &dto::Trade, es: &[&dto::Execution]) -> Decimal {
        let direction = if t.direction == dto::Direction::Long { Direction::Long } else { Direction::Short };
        let f: Vec<Fill> = es
            .iter()
            .map(|e| Fill {
                id: Uuid::parse_str(&e.id.to_string()).expect("id"),
                side: if e.side == dto::Side::Buy { Side::Buy } else { Side::Sell },
                quantity: Quantity::parse("q", &e.quantity).expect("q"),
                price: Price::parse("p", &e.price).expect("p"),
                fees: Fee::parse("f", &e.fees).expect("f"),
                executed_at: DateTime::parse_from_rfc3339(&e.executed_at).expect("at").with_timezone(&Utc),
            })
            .collect();
        dtrade::summarize(direction, Decimal::ONE, trenddojo_domain::trade::MatchingMethod::Fifo, &f).excess_quantity
    }

    fn numbers(t: &dto::Trade) -> [String; 7] {
        [
            t.status.as_str().to_string(),
            t.entered_quantity.clone(),
            t.open_quantity.clone(),
            t.gross_pnl.clone(),
            t.fees.clone(),
            t.net_pnl.clone(),
            t.avg_entry_price.clone().unwrap_or_default(),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn merges_and_splits_follow_the_model(specs in prop::collection::vec(spec(), 2..7), ops in prop::collection::vec(op(), 1..8)) {
            let dir = tempfile::tempdir().expect("dir");
            let j = journal(&dir.path().join("h"));
            import(&j, &specs);
            let all_fills = fills(&state(&j));
            for op in &ops {
                let before = state(&j);
                let ids: Vec<&String> = before.keys().collect();
                let done = match op {
                    Op::Merge(picks) => {
                        let chosen: Vec<String> = picks.iter().map(|i| ids[i % ids.len()].clone()).collect();
                        let mut distinct = chosen.clone();
                        distinct.sort();
                        distinct.dedup();
                        let first = &before[&chosen[0]].0;
                        let valid = chosen.len() >= 2
                            && distinct.len() == chosen.len()
                            && chosen.iter().all(|c| {
                                let t = &before[c].0;
                                t.account_id == first.account_id && t.symbol == first.symbol && t.direction == first.direction
                            });
                        let r = j.merge_trades(&MergeTradesInput { trades: chosen.clone() });
                        prop_assert_eq!(r.is_ok(), valid, "merge {:?}: {:?}", chosen, r.as_ref().err());
                        if let Ok(d) = r {
                            let after = state(&j);
                            let keeper = chosen.iter().min_by_key(|c| (before[*c].0.opened_at.clone(), (*c).clone())).expect("keeper");
                            prop_assert_eq!(&d.trade.id.to_string(), keeper, "the trade opened first keeps its id");
                            for c in &chosen {
                                prop_assert_eq!(after.contains_key(c), c == keeper, "only the keeper of {:?} is left", chosen);
                            }
                            let n: usize = chosen.iter().map(|c| before[c].1.len()).sum();
                            prop_assert_eq!(after[keeper].1.len(), n, "the merged trade holds every fill");
                            prop_assert_ne!(after[keeper].0.status, dto::TradeStatus::NeedsReview, "a merge never over-closes");
                        }
                        valid
                    }
                    Op::Split(i, mask) => {
                        let id = ids[i % ids.len()].clone();
                        let (t, es) = &before[&id];
                        let (mut moved, mut stayed): (Vec<&dto::Execution>, Vec<&dto::Execution>) = (Vec::new(), Vec::new());
                        for (k, e) in es.iter().enumerate() {
                            if mask & (1 << (k % 32)) != 0 { moved.push(e) } else { stayed.push(e) }
                        }
                        let valid = !moved.is_empty() && !stayed.is_empty() && excess(t, &moved).is_zero() && excess(t, &stayed).is_zero();
                        let chosen: Vec<String> = moved.iter().map(|e| e.id.to_string()).collect();
                        let r = j.split_trade(&SplitTradeInput { trade: id.clone(), executions: chosen.clone() });
                        prop_assert_eq!(r.is_ok(), valid, "split {} taking {:?}: {:?}", id, chosen, r.as_ref().err());
                        if let Ok(res) = r {
                            prop_assert_eq!(res.kept.executions.len(), stayed.len(), "the rest stays");
                            prop_assert_eq!(res.split_off.executions.len(), moved.len(), "the chosen fills move");
                            // Merged back, the trade has its numbers again.
                            let back = j
                                .merge_trades(&MergeTradesInput { trades: vec![id.clone(), res.split_off.trade.id.to_string()] })
                                .expect("merging a split back is valid");
                            prop_assert_eq!(numbers(&back.trade), numbers(t), "split then merged back");
                            // And split again, to leave the split in place for the next operations.
                            j.split_trade(&SplitTradeInput { trade: back.trade.id.to_string(), executions: chosen })
                                .expect("the same split again");
                        }
                        valid
                    }
                };
                if !done {
                    prop_assert_eq!(&state(&j), &before, "a refused {:?} writes nothing", op);
                }
                prop_assert_eq!(fills(&state(&j)), all_fills.clone(), "no fill lost or changed by {:?}", op);
                prop_assert_eq!(
                    serde_json::to_value(j.stats(Some("Main"), None, None).expect("stats")).expect("json"),
                    serde_json::to_value(j.stats_from_trades(Some("Main"), None, None).expect("stats")).expect("json"),
                    "statistics from the aggregates equal a recomputation after {:?}", op
                );
            }
            drop(j);
            let key = KeySource::Passphrase(Passphrase::new(PASS).expect("passphrase"));
            let report = crate::Maintenance::open(&dir.path().join("h"), &key).expect("maintenance").check().expect("check");
            prop_assert!(report.ok, "db check after merges and splits: {}", report.summary);
        }
    }

    #[test]
    fn a_refused_merge_or_split_names_the_trades_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let j = journal(&dir.path().join("h"));
        let s = |other_symbol: bool, start: i64| Spec {
            other_account: false,
            other_symbol,
            short: false,
            start,
            fills: vec![(0, true, 2, 10_000), (30, false, 2, 10_100)],
        };
        import(&j, &[s(false, 0), s(true, 60), s(false, 120)]);
        let before = state(&j);
        let ids: Vec<String> = before.keys().cloned().collect();
        let spl: Vec<&String> = ids.iter().filter(|i| before[*i].0.symbol == "SPL").collect();
        let oth = ids.iter().find(|i| before[*i].0.symbol == "OTH").expect("OTH");
        let e = j
            .merge_trades(&MergeTradesInput { trades: vec![spl[0].clone(), oth.clone()] })
            .expect_err("symbols differ");
        assert_eq!(e.field.as_deref(), Some("trades"), "the field: {e:?}");
        assert!(
            e.message.contains("differ in symbol") && e.message.contains(spl[0].as_str()),
            "names the trades: {}",
            e.message
        );
        let e = j.merge_trades(&MergeTradesInput { trades: vec![spl[0].clone()] }).expect_err("one trade");
        assert!(e.message.contains("at least two"), "{}", e.message);
        let (t, es) = &before[spl[0]];
        let exit = es.iter().find(|e| e.side == dto::Side::Sell).expect("exit");
        let e = j
            .split_trade(&SplitTradeInput { trade: t.id.to_string(), executions: vec![exit.id.to_string()] })
            .expect_err("an exit alone");
        assert_eq!(e.field.as_deref(), Some("executions"), "the field: {e:?}");
        assert!(e.message.contains("the new trade would close 2 more SPL than it opened"), "{}", e.message);
        let all: Vec<String> = es.iter().map(|e| e.id.to_string()).collect();
        let e = j.split_trade(&SplitTradeInput { trade: t.id.to_string(), executions: all }).expect_err("all fills");
        assert!(e.message.contains("leave at least one fill"), "{}", e.message);
        let foreign = before[spl[1]].1[0].id.to_string();
        let e = j
            .split_trade(&SplitTradeInput { trade: t.id.to_string(), executions: vec![foreign] })
            .expect_err("foreign");
        assert!(e.message.contains("belongs to trade"), "{}", e.message);
        assert_eq!(state(&j), before, "refusals write nothing");
        // Two SPL trades merged: one trade of 4 entered, P&L the sum (each closed flat).
        let m = j.merge_trades(&MergeTradesInput { trades: vec![spl[1].clone(), spl[0].clone()] }).expect("merge");
        assert_eq!(m.trade.entered_quantity, "4", "both entries: {:?}", m.trade);
        let sum = Money::parse("a", &before[spl[0]].0.net_pnl)
            .unwrap()
            .checked_add(Money::parse("b", &before[spl[1]].0.net_pnl).unwrap())
            .unwrap();
        assert_eq!(Money::parse("m", &m.trade.net_pnl).unwrap(), sum, "net P&L of two flat trades adds up");
    }
}
