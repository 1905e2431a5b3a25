//! Extreme decimals through the core API: 28-digit amounts, 12-place amounts, 1e-12, the largest and
//! smallest values parsing allows, and just past those limits, into open / add execution / close / risk
//! size / stats. Every call must either succeed or return an `ApiError` that names the field it concerns
//! (never a panic, never "corrupt" or "internal"), and the store must stay readable afterwards: nothing
//! written may fail to parse back.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rust_decimal::Decimal;

use trenddojo_core::{
    AccountInput, ApiError, ApiResult, CloseInput, ErrorCode, ExecutionInput, Journal, KeySource, OpenTradeInput,
    Passphrase, RiskInput, SizeInput, TradeListInput, UserInput,
};

/// Values at and just past every limit, and ordinary ones for contrast.
const SPECIAL: &[&str] = &[
    "9999999999999999999999999999",  // the largest 28-digit value
    "1234567890123456.123456789012", // 28 significant digits with 12 places
    "0.000000000001",                // 1e-12, the smallest positive
    "0.999999999999",                // 12 places
    "0.00012345",                    // a crypto quantity
    "98765.4321",                    // a crypto price
    "0.00001234",                    // a sub-penny price
    "1",                             //
    "2",                             //
    "100",                           //
    "0",                             // refused where positive is required
    "-1",                            // refused where negative is not allowed
    "79228162514264337593543950335", // Decimal::MAX: 29 digits, refused
    "1.0000000000001",               // 13 places, refused
    "99999999999999999999999999999", // 29 digits, refused
];

fn decimal_text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => proptest::sample::select(SPECIAL).prop_map(str::to_string),
        2 => ("[1-9][0-9]{0,5}", 0usize..=4).prop_map(|(digits, places)| {
            // Ordinary amounts, so that trades also open, scale in and close.
            let places = places.min(digits.len().saturating_sub(1));
            let (int, frac) = digits.split_at(digits.len() - places);
            if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") }
        }),
        1 => ("[1-9][0-9]{0,27}", 0usize..=12).prop_map(|(digits, places)| {
            // Up to 28 significant digits with up to 12 of them after the point.
            let places = places.min(digits.len().saturating_sub(1));
            let (int, frac) = digits.split_at(digits.len() - places);
            if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") }
        }),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    account: usize,
    side: &'static str,
    quantity: String,
    price: String,
    stop: Option<String>,
    fees: String,
    multiplier: Option<String>,
    scale_in: (String, String),
    close_price: String,
    close_quantity: Option<String>,
    size: (String, String, String, Option<String>),
}

fn case() -> impl Strategy<Value = Case> {
    (
        (0usize..ACCOUNTS.len(), prop_oneof![Just("long"), Just("short")], decimal_text(), decimal_text()),
        (proptest::option::of(decimal_text()), decimal_text(), proptest::option::weighted(0.3, decimal_text())),
        (decimal_text(), decimal_text(), decimal_text(), proptest::option::of(decimal_text())),
        (decimal_text(), decimal_text(), decimal_text(), proptest::option::weighted(0.3, decimal_text())),
    )
        .prop_map(
            |((account, side, quantity, price), (stop, fees, multiplier), (sq, sp, close_price, cq), size)| Case {
                account,
                side,
                quantity,
                price,
                stop,
                fees,
                multiplier,
                scale_in: (sq, sp),
                close_price,
                close_quantity: cq,
                size,
            },
        )
}

/// Starting balances of the accounts the cases trade in (every matching method; warn so that risk rules
/// report instead of refusing and more of the arithmetic runs, except the last, which blocks).
const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("Max", "9999999999999999999999999999", "fifo"),
    ("Wide", "1234567890123456.123456789012", "lifo"),
    ("Tiny", "0.000000000001", "fifo"),
    ("Zero", "0", "average_cost"),
    ("Pool", "9999999999999999999999999999", "average_cost"),
    ("Plain", "10000", "lifo"),
    ("Strict", "10000", "fifo"),
];

/// Success, or an error that names its field in the message and in `field`, with a code for bad input
/// (never corrupt or internal: the input was the problem, and the store is fine).
fn named(what: &str, r: &ApiResult<impl std::fmt::Debug>) -> Result<(), TestCaseError> {
    if let Err(ApiError { code, message, field, .. }) = r {
        let field = field.as_deref().unwrap_or_default();
        prop_assert!(!field.is_empty(), "{what}: the error names a field: {message}");
        prop_assert!(message.starts_with(&format!("{field}:")), "{what}: the message starts with it: {message}");
        prop_assert!(
            matches!(code, ErrorCode::InvalidInput | ErrorCode::Conflict | ErrorCode::RiskBlocked),
            "{what}: a refusal of the input, not {code:?}: {message}"
        );
    }
    Ok(())
}

#[test]
fn extreme_decimals_are_computed_or_refused_by_name_never_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = KeySource::Passphrase(Passphrase::new("extreme values test").expect("passphrase"));
    let j = Journal::init(
        dir.path(),
        &key,
        &UserInput { email: "x@example.com".into(), tier: Some("pro".into()), ..UserInput::default() },
    )
    .expect("init");
    for (name, balance, matching) in ACCOUNTS {
        j.add_account(&AccountInput {
            name: (*name).into(),
            currency: "USD".into(),
            balance: (*balance).into(),
            matching: Some((*matching).into()),
            breakeven_tolerance: Some("0.000000000001".into()),
            ..AccountInput::default()
        })
        .expect("account");
        if *name != "Strict" {
            j.set_risk(Some(name), &RiskInput { enforcement: Some("warn".into()), ..RiskInput::default() })
                .expect("warn only");
        }
    }

    // How many calls succeeded (and were refused), so the property cannot pass by refusing everything.
    let tally = std::cell::RefCell::new(std::collections::BTreeMap::<&str, (u32, u32)>::new());
    let count = |what: &'static str, ok: bool| {
        let mut t = tally.borrow_mut();
        let e = t.entry(what).or_default();
        if ok {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    };
    let mut runner = TestRunner::new(Config { cases: 256, failure_persistence: None, ..Config::default() });
    runner
        .run(&case(), |c| {
            let account = ACCOUNTS[c.account].0;
            let opened = j.open_trade(&OpenTradeInput {
                account: account.into(),
                symbol: "EXT".into(),
                side: c.side.into(),
                quantity: c.quantity.clone(),
                price: c.price.clone(),
                stop: c.stop.clone(),
                fees: Some(c.fees.clone()),
                multiplier: c.multiplier.clone(),
                ..OpenTradeInput::default()
            });
            named("open", &opened)?;
            count("open", opened.is_ok());
            if let Ok(t) = &opened {
                let id = t.trade.id.to_string();
                let entry = if c.side == "long" { "buy" } else { "sell" };
                let scaled = j.add_execution(
                    &id,
                    &ExecutionInput {
                        side: entry.into(),
                        quantity: c.scale_in.0.clone(),
                        price: c.scale_in.1.clone(),
                        fees: Some(c.fees.clone()),
                        at: None,
                    },
                );
                named("add execution", &scaled)?;
                count("add execution", scaled.is_ok());
                let closed = j.close_trade(
                    &id,
                    &CloseInput {
                        price: c.close_price.clone(),
                        quantity: c.close_quantity.clone(),
                        fees: Some(c.fees.clone()),
                        at: None,
                    },
                );
                named("close", &closed)?;

                count("close", closed.is_ok());
            }
            // Put the stop on the losing side when both parse, so that sizing runs its arithmetic more often
            // than it refuses the stop's side (which bad-input tests cover).
            let (mut entry, mut stop) = (c.size.0.clone(), c.size.1.clone());
            if let (Ok(e), Ok(s)) = (Decimal::from_str_exact(&entry), Decimal::from_str_exact(&stop)) {
                if (c.side == "long") == (s > e) {
                    std::mem::swap(&mut entry, &mut stop);
                }
            }
            let sized = j.position_size(&SizeInput {
                account: account.into(),
                side: c.side.into(),
                entry,
                stop,
                step: Some(c.size.2.clone()),
                multiplier: c.size.3.clone(),
            });
            named("risk size", &sized)?;
            count("risk size", sized.is_ok());
            let stats = j.stats(Some(account), None, None);
            named("stats", &stats)?;
            count("stats", stats.is_ok());
            // Whatever was accepted was written in a form that reads back.
            let accounts = j.list_accounts();
            prop_assert!(accounts.is_ok(), "accounts stay readable: {:?}", accounts.err());
            let trades = j.list_trades(&TradeListInput { limit: Some(1000), ..TradeListInput::default() });
            prop_assert!(trades.is_ok(), "trades stay readable: {:?}", trades.err());
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let tally = tally.into_inner();
    println!("succeeded / refused: {tally:?}");
    for what in ["open", "add execution", "close", "risk size"] {
        let (ok, refused) = tally.get(what).copied().unwrap_or_default();
        assert!(ok >= 5 && refused >= 5, "{what}: both outcomes are exercised ({ok} succeeded, {refused} refused)");
    }
    assert!(tally.get("stats").is_some_and(|(ok, _)| *ok >= 5), "stats computed over these trades: {tally:?}");
}
