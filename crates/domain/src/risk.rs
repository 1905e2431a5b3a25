//! Pre-trade risk rules and position sizing.
//!
//! The rules a disciplined trader sets for an account: how much of the balance one trade may risk, how
//! much may be lost in a day and a week before trading stops, how many positions may be open at once and
//! how many in one correlated group. `check_new_trade` reports every rule a proposed trade breaks, with the
//! numbers; the account's enforcement decides whether that refuses the trade or only warns.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::money::{Money, Percent, Price, Quantity};
use crate::trade::{str_enum, Direction};

str_enum!(
    /// How the position-size calculator sets the risk budget.
    SizingMethod, "sizing", {
        FixedFractional => "fixed_fractional",
        FixedAmount => "fixed_amount",
        FixedQuantity => "fixed_quantity",
    }
);
str_enum!(
    /// What a broken rule does to a new trade.
    Enforcement, "enforcement", { Block => "block", Warn => "warn" }
);
str_enum!(
    /// The rules.
    RiskRule, "rule", {
        MaxRiskPerTrade => "max_risk_per_trade",
        NoStop => "no_stop",
        MaxDailyLoss => "max_daily_loss",
        MaxWeeklyLoss => "max_weekly_loss",
        MaxOpenPositions => "max_open_positions",
        MaxCorrelatedPositions => "max_correlated_positions",
    }
);

/// An account's risk settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskSettings {
    pub max_risk_per_trade_pct: Percent,
    pub max_daily_loss_pct: Percent,
    pub max_weekly_loss_pct: Percent,
    pub max_open_positions: u32,
    pub max_correlated_positions: u32,
    pub sizing_method: SizingMethod,
    pub fixed_amount: Option<Money>,
    pub fixed_quantity: Option<Quantity>,
    pub enforcement: Enforcement,
}

fn pct(s: &str) -> Percent {
    Percent::parse("percent", s).expect("valid default percentage")
}

impl Default for RiskSettings {
    fn default() -> Self {
        RiskSettings {
            max_risk_per_trade_pct: pct("1"),
            max_daily_loss_pct: pct("3"),
            max_weekly_loss_pct: pct("6"),
            max_open_positions: 10,
            max_correlated_positions: 3,
            sizing_method: SizingMethod::FixedFractional,
            fixed_amount: None,
            fixed_quantity: None,
            enforcement: Enforcement::Block,
        }
    }
}

/// The calculator's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PositionSize {
    #[serde(with = "rust_decimal::serde::str")]
    pub quantity: Decimal,
    /// quantity x per-unit risk: what is lost at the stop (before fees).
    pub risk_amount: Money,
    pub risk_budget: Money,
    #[serde(with = "rust_decimal::serde::str")]
    pub per_unit_risk: Decimal,
    pub notional: Money,
    #[serde(with = "rust_decimal::serde::str")]
    pub risk_pct_of_balance: Decimal,
}

fn overflow(field: &'static str) -> DomainError {
    DomainError::Overflow { field }
}

fn pct_of(amount: Decimal, balance: Decimal) -> Decimal {
    if balance <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    (amount * Decimal::ONE_HUNDRED / balance).round_dp(4).normalize()
}

/// The largest quantity (a multiple of `quantity_step`) whose loss at the stop stays within the budget.
/// Never rounds up.
pub fn position_size(
    settings: &RiskSettings,
    balance: Money,
    direction: Direction,
    entry: Price,
    stop: Price,
    multiplier: Decimal,
    quantity_step: Decimal,
) -> Result<PositionSize, DomainError> {
    crate::trade::validate_stop(direction, entry, stop)?;
    if balance.value() <= Decimal::ZERO {
        return Err(DomainError::Rule {
            field: "balance",
            reason: format!("the account balance {balance} leaves nothing to risk"),
        });
    }
    if multiplier <= Decimal::ZERO || quantity_step <= Decimal::ZERO {
        return Err(DomainError::OutOfRange {
            field: "step",
            reason: "multiplier and quantity step must be positive".into(),
        });
    }
    let per_unit = ((entry.value() - stop.value()).abs()).checked_mul(multiplier).ok_or_else(|| overflow("price"))?;
    let (budget, quantity) = match settings.sizing_method {
        SizingMethod::FixedQuantity => {
            let q = settings
                .fixed_quantity
                .ok_or_else(|| DomainError::Rule {
                    field: "fixed-quantity",
                    reason: "no fixed quantity is set".into(),
                })?
                .value();
            (q.checked_mul(per_unit).ok_or_else(|| overflow("quantity"))?, q)
        }
        method => {
            let budget = match method {
                SizingMethod::FixedAmount => settings
                    .fixed_amount
                    .ok_or_else(|| DomainError::Rule {
                        field: "fixed-amount",
                        reason: "no fixed amount is set".into(),
                    })?
                    .value(),
                _ => {
                    balance
                        .value()
                        .checked_mul(settings.max_risk_per_trade_pct.value())
                        .ok_or_else(|| overflow("balance"))?
                        / Decimal::ONE_HUNDRED
                }
            };
            let units = (budget / per_unit / quantity_step).floor();
            (budget, units * quantity_step)
        }
    };
    if quantity <= Decimal::ZERO {
        return Err(DomainError::Rule {
            field: "quantity",
            reason: format!(
                "the risk budget {} is smaller than the risk of one unit {}",
                budget.normalize(),
                per_unit.normalize()
            ),
        });
    }
    let risk = quantity.checked_mul(per_unit).ok_or_else(|| overflow("quantity"))?;
    let notional = quantity
        .checked_mul(entry.value())
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| overflow("quantity"))?;
    Ok(PositionSize {
        quantity: quantity.normalize(),
        risk_amount: Money::new("risk", risk)?,
        risk_budget: Money::new("budget", budget.round_dp(crate::money::MAX_SCALE))?,
        per_unit_risk: per_unit.normalize(),
        notional: Money::new("notional", notional)?,
        risk_pct_of_balance: pct_of(risk, balance.value()),
    })
}

/// A trade about to be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposedTrade {
    pub direction: Direction,
    pub entry: Price,
    pub stop: Option<Price>,
    pub quantity: Quantity,
    pub multiplier: Decimal,
    pub symbol: String,
    pub correlation_group: Option<String>,
}

/// What the rules need to know about the account right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskContext {
    /// Current equity: starting balance plus realized net P&L.
    pub balance: Money,
    pub open_positions: u32,
    /// Open trades in the proposal's correlation group (its symbol when it has no group).
    pub correlated_open_positions: u32,
    pub realized_today: Money,
    pub realized_this_week: Money,
}

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RiskViolation {
    pub rule: RiskRule,
    pub message: String,
}

/// Every rule a proposal breaks, and its risk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RiskAssessment {
    pub violations: Vec<RiskViolation>,
    pub risk_amount: Option<Money>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub risk_pct_of_balance: Option<Decimal>,
}

impl RiskAssessment {
    /// True when the trade must be refused.
    pub fn blocks(&self, enforcement: Enforcement) -> bool {
        enforcement == Enforcement::Block && !self.violations.is_empty()
    }
}

fn limit_of(balance: Decimal, pct: Percent) -> Decimal {
    (balance * pct.value() / Decimal::ONE_HUNDRED).normalize()
}

/// Check a proposed trade against the account's rules.
pub fn check_new_trade(settings: &RiskSettings, ctx: &RiskContext, p: &ProposedTrade) -> RiskAssessment {
    let mut violations = Vec::new();
    let balance = ctx.balance.value();
    let mut push = |rule, message: String| violations.push(RiskViolation { rule, message });
    let risk = p.stop.and_then(|stop| {
        (p.entry.value() - stop.value()).abs().checked_mul(p.quantity.value())?.checked_mul(p.multiplier)
    });
    match risk {
        None => push(RiskRule::NoStop, "the trade has no stop, so its risk is unbounded".into()),
        Some(risk) => {
            let allowed = limit_of(balance, settings.max_risk_per_trade_pct);
            if risk > allowed {
                push(
                    RiskRule::MaxRiskPerTrade,
                    format!(
                        "risk {} is {}% of balance {}, above the {}% limit",
                        risk.normalize(),
                        pct_of(risk, balance),
                        ctx.balance,
                        settings.max_risk_per_trade_pct
                    ),
                );
            }
        }
    }
    for (rule, realized, limit, period) in [
        (RiskRule::MaxDailyLoss, ctx.realized_today, settings.max_daily_loss_pct, "today"),
        (RiskRule::MaxWeeklyLoss, ctx.realized_this_week, settings.max_weekly_loss_pct, "this week"),
    ] {
        let loss = -realized.value();
        let cap = limit_of(balance, limit);
        if loss > Decimal::ZERO && loss >= cap {
            push(rule, format!("{} lost {period} reaches the {limit}% limit ({cap})", loss.normalize()));
        }
    }
    if ctx.open_positions >= settings.max_open_positions {
        push(
            RiskRule::MaxOpenPositions,
            format!("{} positions are open; the limit is {}", ctx.open_positions, settings.max_open_positions),
        );
    }
    if ctx.correlated_open_positions >= settings.max_correlated_positions {
        let group = p.correlation_group.as_deref().unwrap_or(&p.symbol);
        push(
            RiskRule::MaxCorrelatedPositions,
            format!(
                "{} positions in {group} are open; the limit is {}",
                ctx.correlated_open_positions, settings.max_correlated_positions
            ),
        );
    }
    RiskAssessment {
        violations,
        risk_amount: risk.and_then(|r| Money::new("risk", r).ok()),
        risk_pct_of_balance: risk.map(|r| pct_of(r, balance)),
    }
}

/// Scaling into an open trade: the position's risk at its current stop after the added fill must stay
/// within the per-trade limit. `entry_notional` and `quantity` describe all entries including the new one.
/// Without a stop the risk is unbounded and reported as [`RiskRule::NoStop`].
pub fn check_scale_in(
    settings: &RiskSettings,
    balance: Money,
    entry_notional: Decimal,
    quantity: Decimal,
    stop: Option<Price>,
    multiplier: Decimal,
) -> Option<RiskViolation> {
    let Some(stop) = stop else {
        return Some(RiskViolation {
            rule: RiskRule::NoStop,
            message: "the position has no stop, so its risk is unbounded".into(),
        });
    };
    let risk = entry_notional.checked_sub(stop.value().checked_mul(quantity)?)?.abs().checked_mul(multiplier)?;
    let allowed = limit_of(balance.value(), settings.max_risk_per_trade_pct);
    (risk > allowed).then(|| RiskViolation {
        rule: RiskRule::MaxRiskPerTrade,
        message: format!(
            "after scaling in, risk {} at the stop {stop} is {}% of balance {balance}, above the {}% limit",
            risk.normalize(),
            pct_of(risk, balance.value()),
            settings.max_risk_per_trade_pct
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse("x", s).unwrap()
    }
    fn p(s: &str) -> Price {
        Price::parse("x", s).unwrap()
    }
    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    fn ctx() -> RiskContext {
        RiskContext {
            balance: m("10000"),
            open_positions: 0,
            correlated_open_positions: 0,
            realized_today: m("0"),
            realized_this_week: m("0"),
        }
    }

    fn proposal(qty: &str, stop: Option<&str>) -> ProposedTrade {
        ProposedTrade {
            direction: Direction::Long,
            entry: p("50"),
            stop: stop.map(p),
            quantity: Quantity::parse("q", qty).unwrap(),
            multiplier: Decimal::ONE,
            symbol: "AAPL".into(),
            correlation_group: None,
        }
    }

    fn rules(a: &RiskAssessment) -> Vec<RiskRule> {
        a.violations.iter().map(|v| v.rule).collect()
    }

    #[test]
    fn risk_per_trade_at_below_and_above_the_limit() {
        let s = RiskSettings::default(); // 1% of 10000 = 100
        assert!(
            rules(&check_new_trade(&s, &ctx(), &proposal("100", Some("49")))).is_empty(),
            "risk 100 = limit: allowed"
        );
        assert!(rules(&check_new_trade(&s, &ctx(), &proposal("99", Some("49")))).is_empty(), "risk 99: allowed");
        let a = check_new_trade(&s, &ctx(), &proposal("101", Some("49")));
        assert_eq!(rules(&a), [RiskRule::MaxRiskPerTrade], "risk 101 > 100: refused");
        assert!(a.violations[0].message.contains("1.01%"), "numbers in the message: {}", a.violations[0].message);
        assert!(a.blocks(Enforcement::Block) && !a.blocks(Enforcement::Warn), "enforcement decides");
        assert_eq!(rules(&check_new_trade(&s, &ctx(), &proposal("1", None))), [RiskRule::NoStop], "no stop flagged");
    }

    #[test]
    fn daily_and_weekly_loss_limits() {
        let s = RiskSettings::default(); // 3% = 300 a day, 6% = 600 a week
        let at = |today: &str, week: &str| {
            rules(&check_new_trade(
                &s,
                &RiskContext { realized_today: m(today), realized_this_week: m(week), ..ctx() },
                &proposal("1", Some("49")),
            ))
        };
        assert!(at("-299.99", "-299.99").is_empty(), "below both limits");
        assert_eq!(at("-300", "-300"), [RiskRule::MaxDailyLoss], "daily limit reached");
        assert_eq!(at("-100", "-600"), [RiskRule::MaxWeeklyLoss], "weekly limit reached");
        assert!(at("500", "900").is_empty(), "gains never trip a loss limit");
    }

    #[test]
    fn open_and_correlated_position_limits() {
        let s = RiskSettings::default(); // 10 open, 3 correlated
        let with = |open, corr| {
            rules(&check_new_trade(
                &s,
                &RiskContext { open_positions: open, correlated_open_positions: corr, ..ctx() },
                &proposal("1", Some("49")),
            ))
        };
        assert!(with(9, 2).is_empty(), "below both");
        assert_eq!(with(10, 2), [RiskRule::MaxOpenPositions], "open limit reached");
        assert_eq!(with(3, 3), [RiskRule::MaxCorrelatedPositions], "correlated limit reached");
    }

    #[test]
    fn scaling_in_is_held_to_the_per_trade_limit() {
        let s = RiskSettings::default(); // 1% of 10000 = 100
                                         // 50 @ 50 + 50 @ 51 = 5050 against a stop of 49 x 100 = 4900: risk 150.
        let v =
            check_scale_in(&s, m("10000"), d("5050"), d("100"), Some(p("49")), Decimal::ONE).expect("over the limit");
        assert_eq!(v.rule, RiskRule::MaxRiskPerTrade, "risk 150 > 100");
        assert!(v.message.contains("1.5%"), "numbers in the message: {}", v.message);
        assert!(
            check_scale_in(&s, m("10000"), d("5050"), d("100"), Some(p("50")), Decimal::ONE).is_none(),
            "risk 50: fine"
        );
        assert_eq!(
            check_scale_in(&s, m("10000"), d("1"), d("1"), None, Decimal::ONE).map(|v| v.rule),
            Some(RiskRule::NoStop),
            "no stop"
        );
    }

    #[test]
    fn position_size_floors_to_the_step() {
        let s = RiskSettings::default();
        let r = position_size(&s, m("10000"), Direction::Long, p("50"), p("48.5"), Decimal::ONE, Decimal::ONE).unwrap();
        assert_eq!(r.quantity, d("66"), "100 / 1.5 = 66.67, floored");
        assert_eq!(r.risk_amount, m("99"), "66 x 1.5");
        assert_eq!(r.risk_pct_of_balance, d("0.99"), "of 10000");
        let c =
            position_size(&s, m("10000"), Direction::Short, p("30000"), p("30150"), Decimal::ONE, d("0.0001")).unwrap();
        assert_eq!(c.quantity, d("0.6666"), "crypto step, never rounded up");
        let fut = position_size(&s, m("100000"), Direction::Long, p("6000"), p("5990"), d("50"), Decimal::ONE).unwrap();
        assert_eq!(fut.quantity, d("2"), "1000 budget / (10 x 50) per contract");
        let tiny =
            position_size(&s, m("100"), Direction::Long, p("50"), p("40"), Decimal::ONE, Decimal::ONE).unwrap_err();
        assert!(tiny.to_string().starts_with("quantity:"), "budget too small is explained: {tiny}");
        let wrong =
            position_size(&s, m("100"), Direction::Long, p("50"), p("60"), Decimal::ONE, Decimal::ONE).unwrap_err();
        assert!(wrong.to_string().starts_with("stop:"), "stop on the wrong side: {wrong}");
        let fixed = RiskSettings { sizing_method: SizingMethod::FixedAmount, fixed_amount: Some(m("250")), ..s };
        assert_eq!(
            position_size(&fixed, m("10000"), Direction::Long, p("10"), p("9"), Decimal::ONE, Decimal::ONE)
                .unwrap()
                .quantity,
            d("250"),
            "fixed amount"
        );
    }
}
