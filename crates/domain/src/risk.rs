//! Pre-trade risk rules and position sizing.
//!
//! The rules a disciplined trader sets for an account: how much of the balance one trade may risk, how
//! much may be lost in a day and a week before trading stops, how many positions may be open at once and
//! how many in one correlated group. `check_new_trade` reports every rule a proposed trade breaks, with the
//! numbers; the account's enforcement decides whether that refuses the trade or only warns.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::money::{checked, round_derived, Money, Percent, Price, Quantity};
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

/// `amount` as a percentage of `balance`, 4 places (half to even); 0 for a balance at or below zero
/// (the rules then refuse on their own: nothing can be risked). Multiplies first (exact) unless that
/// overflows, then divides first.
fn pct_of(amount: Decimal, balance: Decimal) -> Decimal {
    if balance <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    let v = match amount.checked_mul(Decimal::ONE_HUNDRED) {
        Some(scaled) => scaled.checked_div(balance),
        None => amount.checked_div(balance).and_then(|q| q.checked_mul(Decimal::ONE_HUNDRED)),
    };
    // A percentage too large for 28 digits is larger than any limit (at most 100%): show the cap.
    v.map_or(Decimal::MAX, |p| p.round_dp_with_strategy(4, crate::money::ROUNDING).normalize())
}

/// The largest quantity (a multiple of `quantity_step`) whose loss at the stop stays within the budget.
/// Never rounds up. Money it derives (risk, budget, notional) is rounded to 12 places, half to even
/// ([`Money::derived`]); a size too large for 28 digits is an error naming the input that makes it so.
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
    if multiplier <= Decimal::ZERO {
        return Err(DomainError::OutOfRange {
            field: "multiplier",
            reason: format!("must be positive, got {multiplier}"),
        });
    }
    if quantity_step <= Decimal::ZERO {
        return Err(DomainError::OutOfRange {
            field: "step",
            reason: format!("must be positive, got {quantity_step}"),
        });
    }
    let per_unit = checked("multiplier", (entry.value() - stop.value()).abs().checked_mul(multiplier))?;
    let (budget, quantity) = match settings.sizing_method {
        SizingMethod::FixedQuantity => {
            let q = settings
                .fixed_quantity
                .ok_or_else(|| DomainError::Rule {
                    field: "fixed-quantity",
                    reason: "no fixed quantity is set".into(),
                })?
                .value();
            (checked("quantity", q.checked_mul(per_unit))?, q)
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
                    checked("balance", balance.value().checked_mul(settings.max_risk_per_trade_pct.value()))?
                        / Decimal::ONE_HUNDRED
                }
            };
            // Units of one step each: budget / per-unit risk / step, floored. A budget of 28 digits over a
            // per-unit risk or step of 1e-12 is more units than 28 digits hold.
            let too_many = || DomainError::OutOfRange {
                field: "step",
                reason: format!(
                    "the risk budget {} over a risk of {} per unit is more steps of {} than can be computed \
                     exactly (28 digits); use a larger step",
                    round_derived(budget),
                    per_unit.normalize(),
                    quantity_step.normalize()
                ),
            };
            let units = budget.checked_div(per_unit).and_then(|u| u.checked_div(quantity_step)).ok_or_else(too_many)?;
            (budget, checked("step", units.floor().checked_mul(quantity_step))?)
        }
    };
    if quantity <= Decimal::ZERO {
        return Err(DomainError::Rule {
            field: "quantity",
            reason: format!(
                "the risk budget {} is smaller than the risk of one unit {}",
                round_derived(budget),
                per_unit.normalize()
            ),
        });
    }
    let risk = checked("quantity", quantity.checked_mul(per_unit))?;
    let notional = checked("quantity", quantity.checked_mul(entry.value()).and_then(|n| n.checked_mul(multiplier)))?;
    Ok(PositionSize {
        quantity: quantity.normalize(),
        risk_amount: Money::derived("risk", risk)?,
        risk_budget: Money::derived("budget", budget)?,
        per_unit_risk: per_unit.normalize(),
        notional: Money::derived("notional", notional)?,
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

/// `pct` of `balance`. Multiplies first (exact) unless that overflows, then divides first.
fn limit_of(balance: Decimal, pct: Percent) -> Decimal {
    let v = match balance.checked_mul(pct.value()) {
        Some(v) => v / Decimal::ONE_HUNDRED,
        // Dividing first cannot overflow: the result is at most |balance| (pct is at most 100).
        None => balance / Decimal::ONE_HUNDRED * pct.value(),
    };
    v.normalize()
}

/// Check a proposed trade against the account's rules. A risk too large to compute exactly (28 digits) is
/// an error naming the quantity, never mistaken for a missing stop.
pub fn check_new_trade(
    settings: &RiskSettings,
    ctx: &RiskContext,
    p: &ProposedTrade,
) -> Result<RiskAssessment, DomainError> {
    let mut violations = Vec::new();
    let balance = ctx.balance.value();
    let mut push = |rule, message: String| violations.push(RiskViolation { rule, message });
    // The exact risk is held to the limit; the reported amount is rounded like every derived amount.
    let exact = p
        .stop
        .map(|stop| {
            checked(
                "quantity",
                (p.entry.value() - stop.value())
                    .abs()
                    .checked_mul(p.quantity.value())
                    .and_then(|r| r.checked_mul(p.multiplier)),
            )
        })
        .transpose()?;
    let risk = exact.map(|r| Money::derived("risk", r)).transpose()?;
    match (exact, risk) {
        (Some(exact), Some(risk)) => {
            let allowed = limit_of(balance, settings.max_risk_per_trade_pct);
            if exact > allowed {
                push(
                    RiskRule::MaxRiskPerTrade,
                    format!(
                        "risk {} is {}% of balance {}, above the {}% limit",
                        risk,
                        pct_of(exact, balance),
                        ctx.balance,
                        settings.max_risk_per_trade_pct
                    ),
                );
            }
        }
        _ => push(RiskRule::NoStop, "the trade has no stop, so its risk is unbounded".into()),
    }
    for (rule, realized, limit, period) in [
        (RiskRule::MaxDailyLoss, ctx.realized_today, settings.max_daily_loss_pct, "today"),
        (RiskRule::MaxWeeklyLoss, ctx.realized_this_week, settings.max_weekly_loss_pct, "this week"),
    ] {
        let loss = -realized.value();
        let cap = limit_of(balance, limit);
        if loss > Decimal::ZERO && loss >= cap {
            push(
                rule,
                format!("{} lost {period} reaches the {limit}% limit ({})", loss.normalize(), round_derived(cap)),
            );
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
    Ok(RiskAssessment { violations, risk_amount: risk, risk_pct_of_balance: exact.map(|r| pct_of(r, balance)) })
}

/// Scaling into an open trade: the position's risk at its current stop after the added fill must stay
/// within the per-trade limit. `entry_notional` and `quantity` describe all entries including the new one.
/// Without a stop the risk is unbounded and reported as [`RiskRule::NoStop`]. A risk too large to compute
/// exactly (28 digits) is an error naming the quantity, never a silent pass.
pub fn check_scale_in(
    settings: &RiskSettings,
    balance: Money,
    entry_notional: Decimal,
    quantity: Decimal,
    stop: Option<Price>,
    multiplier: Decimal,
) -> Result<Option<RiskViolation>, DomainError> {
    let Some(stop) = stop else {
        return Ok(Some(RiskViolation {
            rule: RiskRule::NoStop,
            message: "the position has no stop, so its risk is unbounded".into(),
        }));
    };
    let at_stop = checked("quantity", stop.value().checked_mul(quantity))?;
    let risk =
        checked("quantity", checked("quantity", entry_notional.checked_sub(at_stop))?.abs().checked_mul(multiplier))?;
    let allowed = limit_of(balance.value(), settings.max_risk_per_trade_pct);
    Ok((risk > allowed).then(|| RiskViolation {
        rule: RiskRule::MaxRiskPerTrade,
        message: format!(
            "after scaling in, risk {} at the stop {stop} is {}% of balance {balance}, above the {}% limit",
            round_derived(risk),
            pct_of(risk, balance.value()),
            settings.max_risk_per_trade_pct
        ),
    }))
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
            rules(&check_new_trade(&s, &ctx(), &proposal("100", Some("49"))).unwrap()).is_empty(),
            "risk 100 = limit: allowed"
        );
        assert!(
            rules(&check_new_trade(&s, &ctx(), &proposal("99", Some("49"))).unwrap()).is_empty(),
            "risk 99: allowed"
        );
        let a = check_new_trade(&s, &ctx(), &proposal("101", Some("49"))).unwrap();
        assert_eq!(rules(&a), [RiskRule::MaxRiskPerTrade], "risk 101 > 100: refused");
        assert!(a.violations[0].message.contains("1.01%"), "numbers in the message: {}", a.violations[0].message);
        assert!(a.blocks(Enforcement::Block) && !a.blocks(Enforcement::Warn), "enforcement decides");
        assert_eq!(
            rules(&check_new_trade(&s, &ctx(), &proposal("1", None)).unwrap()),
            [RiskRule::NoStop],
            "no stop flagged"
        );
    }

    #[test]
    fn daily_and_weekly_loss_limits() {
        let s = RiskSettings::default(); // 3% = 300 a day, 6% = 600 a week
        let at = |today: &str, week: &str| {
            rules(
                &check_new_trade(
                    &s,
                    &RiskContext { realized_today: m(today), realized_this_week: m(week), ..ctx() },
                    &proposal("1", Some("49")),
                )
                .unwrap(),
            )
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
            rules(
                &check_new_trade(
                    &s,
                    &RiskContext { open_positions: open, correlated_open_positions: corr, ..ctx() },
                    &proposal("1", Some("49")),
                )
                .unwrap(),
            )
        };
        assert!(with(9, 2).is_empty(), "below both");
        assert_eq!(with(10, 2), [RiskRule::MaxOpenPositions], "open limit reached");
        assert_eq!(with(3, 3), [RiskRule::MaxCorrelatedPositions], "correlated limit reached");
    }

    #[test]
    fn scaling_in_is_held_to_the_per_trade_limit() {
        let s = RiskSettings::default(); // 1% of 10000 = 100
                                         // 50 @ 50 + 50 @ 51 = 5050 against a stop of 49 x 100 = 4900: risk 150.
        let v = check_scale_in(&s, m("10000"), d("5050"), d("100"), Some(p("49")), Decimal::ONE)
            .unwrap()
            .expect("over the limit");
        assert_eq!(v.rule, RiskRule::MaxRiskPerTrade, "risk 150 > 100");
        assert!(v.message.contains("1.5%"), "numbers in the message: {}", v.message);
        assert!(
            check_scale_in(&s, m("10000"), d("5050"), d("100"), Some(p("50")), Decimal::ONE).unwrap().is_none(),
            "risk 50: fine"
        );
        assert_eq!(
            check_scale_in(&s, m("10000"), d("1"), d("1"), None, Decimal::ONE).unwrap().map(|v| v.rule),
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

    #[test]
    fn sizing_extreme_balances_and_steps_is_an_error_naming_the_input_never_a_panic() {
        let s = RiskSettings::default();
        let max = m("9999999999999999999999999999");
        // Budget 1% of a 28-digit balance over 1 per unit in steps of 1e-12: more than 28 digits of steps.
        let err =
            position_size(&s, max, Direction::Long, p("2"), p("1"), Decimal::ONE, d("0.000000000001")).unwrap_err();
        assert!(err.to_string().starts_with("step:"), "names the step: {err}");
        assert!(err.to_string().contains("larger step"), "says what to do: {err}");
        let ok = position_size(&s, max, Direction::Long, p("2"), p("1"), Decimal::ONE, Decimal::ONE).unwrap();
        assert_eq!(ok.quantity, d("99999999999999999999999999"), "a 28-digit balance with whole steps is fine");
        // A risk with more than 12 places is rounded, not refused: 0.6666 x 150.000000000001.
        let fine = position_size(
            &s,
            m("10000"),
            Direction::Short,
            p("30000.000000000001"),
            p("30150.000000000002"),
            Decimal::ONE,
            d("0.0001"),
        )
        .unwrap();
        assert_eq!(fine.quantity, d("0.6666"), "floored to the step");
        assert_eq!(
            fine.risk_amount,
            m("99.990000000001"),
            "0.6666 x 150.000000000001 = 99.9900000000006666 -> 12 places"
        );
        let huge = position_size(
            &RiskSettings {
                sizing_method: SizingMethod::FixedQuantity,
                fixed_quantity: Quantity::parse("q", "9999999999999999999999999999").ok(),
                ..s
            },
            max,
            Direction::Long,
            p("9999999999999999999999999999"),
            p("1"),
            Decimal::ONE,
            Decimal::ONE,
        )
        .unwrap_err();
        assert!(huge.to_string().starts_with("quantity:"), "an overflowing risk names the quantity: {huge}");
    }

    #[test]
    fn an_overflowing_risk_is_an_error_not_a_missing_stop() {
        let s = RiskSettings::default();
        let big = ProposedTrade {
            quantity: Quantity::parse("q", "9999999999999999999999999999").unwrap(),
            entry: p("9999999999999999999999999999"),
            stop: Some(p("1")),
            ..proposal("1", None)
        };
        let err = check_new_trade(&s, &ctx(), &big).unwrap_err();
        assert!(err.to_string().starts_with("quantity:"), "named, not reported as no_stop: {err}");
        let scale = check_scale_in(
            &s,
            m("10000"),
            d("1"),
            d("9999999999999999999999999999"),
            Some(p("9999999999999999999999999999")),
            Decimal::ONE,
        )
        .unwrap_err();
        assert!(scale.to_string().starts_with("quantity:"), "scale-in too: {scale}");
        // A risk of 24 places is reported rounded to 12 but held to the limit exactly.
        let tiny = ProposedTrade {
            quantity: Quantity::parse("q", "0.000000000001").unwrap(),
            entry: p("1.000000000001"),
            stop: Some(p("1")),
            ..proposal("1", None)
        };
        let a = check_new_trade(&s, &ctx(), &tiny).unwrap();
        assert_eq!(a.risk_amount, Some(Money::zero()), "1e-24 reported as 0 at 12 places");
        assert!(a.violations.is_empty(), "and far within the limit");
    }
}
