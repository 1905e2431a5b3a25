//! Seed states: `empty`, `dev`, `demo` and `test`.
//!
//! Seeds are deterministic: a fixed clock, ids from a seeded generator and prices from a seeded random
//! walk in exact decimals, so the same state gives the same rows on every run and tests can rely on them.
//! Every non-empty state has the four standard sign-ins (`empty@demo.test`, `basic@demo.test`,
//! `pro@demo.test`, `demo@trenddojo.com`, password `demo123`, stored only as an Argon2id hash).

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use trenddojo_domain::money::{Fee, Price, Quantity};
use trenddojo_domain::risk::{Enforcement, RiskSettings};
use trenddojo_domain::trade::{Direction, Side};
use trenddojo_store::accounts::{self as account_repo, Account};
use trenddojo_store::journal::{self as journal_repo, NewNote};
use trenddojo_store::market::{self, Bar, Fundamentals};
use trenddojo_store::trades as trade_repo;
use trenddojo_store::users::{self as user_repo, User};
use trenddojo_store::{Store, Tx};

use crate::error::{ApiError, ApiResult};
use crate::service::accounts::{new_account, AccountInput};
use crate::service::trades::{import_trade, ImportFill, ImportTrade};
use crate::service::users::{add_user, UserInput};

/// The password of every standard seed user.
pub const STANDARD_PASSWORD: &str = "demo123";

/// The standard sign-ins: (email, tier, display name).
pub const STANDARD_USERS: [(&str, &str, &str); 4] = [
    ("empty@demo.test", "free", "Empty Free User"),
    ("basic@demo.test", "basic", "Basic Trader"),
    ("pro@demo.test", "pro", "Pro Trader"),
    ("demo@trenddojo.com", "pro", "Demo Trader"),
];

/// A seed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedState {
    /// Subscription limits only.
    Empty,
    /// Three tiers of users, five accounts, 60 trades, market data.
    Dev,
    /// `demo@trenddojo.com` with a well-performing portfolio.
    Demo,
    /// Edge cases: partial fills, flips, fees, shorts, no stop, time-zone boundaries, extreme prices.
    Test,
}

impl SeedState {
    pub fn as_str(self) -> &'static str {
        match self {
            SeedState::Empty => "empty",
            SeedState::Dev => "dev",
            SeedState::Demo => "demo",
            SeedState::Test => "test",
        }
    }
}

impl FromStr for SeedState {
    type Err = ApiError;
    fn from_str(s: &str) -> ApiResult<Self> {
        match s {
            "empty" => Ok(SeedState::Empty),
            "dev" => Ok(SeedState::Dev),
            "demo" => Ok(SeedState::Demo),
            "test" => Ok(SeedState::Test),
            other => Err(ApiError::invalid("state", format!("expected one of empty, dev, demo, test, got {other:?}"))),
        }
    }
}

/// The fixed instant seed rows are created at.
fn seed_clock() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).single().expect("valid instant")
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).expect("seed literal")
}

fn price(d: Decimal) -> Price {
    Price::new("price", d).expect("seed prices are positive")
}

fn qty(d: Decimal) -> Quantity {
    Quantity::new("quantity", d).expect("seed quantities are positive")
}

fn fee(s: &str) -> Fee {
    Fee::parse("fees", s).expect("seed fee")
}

fn local(tz: Tz, d: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    tz.from_local_datetime(&d.and_hms_opt(h, m, 0).expect("valid time"))
        .earliest()
        .expect("seed times avoid DST gaps")
        .with_timezone(&Utc)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// Load `state` into a freshly migrated store.
pub fn seed(store: &Store, state: SeedState) -> ApiResult<()> {
    store.write_seeded(seed_clock(), 0x7D_5EED ^ state as u64, |tx| {
        user_repo::upsert_limits(tx, &user_repo::default_limits())?;
        if state == SeedState::Empty {
            return Ok(());
        }
        let users = standard_users(tx)?;
        let by_email = |e: &str| users.iter().find(|u| u.email == e).expect("standard user").clone();
        let mut rng = StdRng::seed_from_u64(42 + state as u64);
        match state {
            SeedState::Empty => {}
            SeedState::Dev => {
                seed_dev(tx, &mut rng, &by_email("basic@demo.test"), &by_email("pro@demo.test"))?;
                user_repo::set_active_user(tx, by_email("pro@demo.test").id)?;
            }
            SeedState::Demo => {
                seed_demo(tx, &mut rng, &by_email("demo@trenddojo.com"))?;
                user_repo::set_active_user(tx, by_email("demo@trenddojo.com").id)?;
            }
            SeedState::Test => {
                seed_test(tx, &by_email("pro@demo.test"))?;
                user_repo::set_active_user(tx, by_email("pro@demo.test").id)?;
            }
        }
        Ok::<_, ApiError>(())
    })
}

fn standard_users(tx: &Tx<'_>) -> ApiResult<Vec<User>> {
    STANDARD_USERS
        .iter()
        .map(|(email, tier, name)| {
            let mut salt = [0u8; 16];
            for (i, b) in format!("trenddojo-seed:{email}").bytes().enumerate() {
                salt[i % 16] ^= b;
            }
            add_user(
                tx,
                &UserInput {
                    email: (*email).to_string(),
                    name: Some((*name).to_string()),
                    tier: Some((*tier).to_string()),
                    password: Some(STANDARD_PASSWORD.to_string()),
                },
                Some(salt),
            )
        })
        .collect()
}

fn account(
    tx: &Tx<'_>,
    user: &User,
    name: &str,
    ccy: &str,
    balance: &str,
    tz: &str,
    matching: &str,
) -> ApiResult<Account> {
    new_account(
        tx,
        user.id,
        &AccountInput {
            name: name.into(),
            currency: ccy.into(),
            balance: balance.into(),
            timezone: Some(tz.into()),
            broker: Some("Paper".into()),
            matching: Some(matching.into()),
            breakeven_tolerance: Some("1".into()),
        },
    )
}

/// A symbol for generated trades: ticker, starting price, sector (used as the correlation group).
struct Sym {
    ticker: &'static str,
    start: &'static str,
    sector: &'static str,
    name: &'static str,
}

const SYMBOLS: [Sym; 8] = [
    Sym { ticker: "AAPL", start: "187.50", sector: "Technology", name: "Apple Inc." },
    Sym { ticker: "MSFT", start: "412.20", sector: "Technology", name: "Microsoft Corporation" },
    Sym { ticker: "NVDA", start: "121.40", sector: "Technology", name: "NVIDIA Corporation" },
    Sym { ticker: "JPM", start: "198.75", sector: "Financials", name: "JPMorgan Chase & Co." },
    Sym { ticker: "XOM", start: "112.30", sector: "Energy", name: "Exxon Mobil Corporation" },
    Sym { ticker: "UNH", start: "512.10", sector: "Health Care", name: "UnitedHealth Group" },
    Sym { ticker: "COST", start: "845.60", sector: "Consumer Staples", name: "Costco Wholesale" },
    Sym { ticker: "TSLA", start: "242.80", sector: "Consumer Discretionary", name: "Tesla, Inc." },
];

/// `n` generated trades on trading days from `start`, winning `win_pct`% of the time with winners of
/// 1.2R–3R and losers of about 1R; the last `open` trades stay open (one partially closed).
fn generate(rng: &mut StdRng, tz: Tz, start: NaiveDate, n: usize, win_pct: u32, open: usize) -> Vec<ImportTrade> {
    let mut out = Vec::with_capacity(n);
    let mut day = start;
    for i in 0..n {
        day += Duration::days(rng.gen_range(1..=3));
        while matches!(chrono::Datelike::weekday(&day), chrono::Weekday::Sat | chrono::Weekday::Sun) {
            day += Duration::days(1);
        }
        let sym = &SYMBOLS[rng.gen_range(0..SYMBOLS.len())];
        let direction = if rng.gen_range(0..100) < 75 { Direction::Long } else { Direction::Short };
        let drift = Decimal::new(rng.gen_range(-1500..1500), 4); // ±15%
        let entry = (dec(sym.start) * (Decimal::ONE + drift)).round_dp(2);
        let stop_dist =
            (entry * Decimal::new(rng.gen_range(15..50), 3) / Decimal::from(10)).round_dp(2).max(dec("0.05"));
        let sign = if direction == Direction::Long { Decimal::ONE } else { Decimal::NEGATIVE_ONE };
        let stop = entry - sign * stop_dist;
        let quantity = Decimal::from(rng.gen_range(1..=20) * 10);
        let fees = fee(if rng.gen_range(0..4) == 0 { "0" } else { "1" });
        let entry_at = local(tz, day, 9, 45 + rng.gen_range(0..10));
        let mut fills = vec![ImportFill {
            side: direction.entry_side(),
            quantity: qty(quantity),
            price: price(entry),
            fees,
            at: entry_at,
        }];
        let remaining_open = n - i <= open;
        let mut exit_day = day + Duration::days(rng.gen_range(0..=6));
        while matches!(chrono::Datelike::weekday(&exit_day), chrono::Weekday::Sat | chrono::Weekday::Sun) {
            exit_day += Duration::days(1);
        }
        let r = if rng.gen_range(0..100) < win_pct {
            Decimal::new(rng.gen_range(12..=30), 1)
        } else if rng.gen_range(0..10) == 0 {
            Decimal::ZERO
        } else {
            -Decimal::new(rng.gen_range(8..=11), 1)
        };
        let exit = (entry + sign * stop_dist * r).round_dp(2).max(dec("0.01"));
        if !remaining_open {
            if rng.gen_range(0..3) == 0 && quantity >= Decimal::from(20) {
                // Scale out in two pieces.
                let half = (quantity / Decimal::TWO).round_dp_with_strategy(0, RoundingStrategy::ToZero);
                let first = (entry + sign * stop_dist).round_dp(2).max(dec("0.01"));
                let exit_side = direction.exit_side();
                fills.push(ImportFill {
                    side: exit_side,
                    quantity: qty(half),
                    price: price(first),
                    fees,
                    at: local(tz, exit_day, 11, 0),
                });
                fills.push(ImportFill {
                    side: exit_side,
                    quantity: qty(quantity - half),
                    price: price(exit),
                    fees,
                    at: local(tz, exit_day, 15, 30),
                });
            } else {
                fills.push(ImportFill {
                    side: direction.exit_side(),
                    quantity: qty(quantity),
                    price: price(exit),
                    fees,
                    at: local(tz, exit_day, 15, 30),
                });
            }
        } else if n - i == open && quantity >= Decimal::from(20) {
            let half = (quantity / Decimal::TWO).round_dp_with_strategy(0, RoundingStrategy::ToZero);
            fills.push(ImportFill {
                side: direction.exit_side(),
                quantity: qty(half),
                price: price(exit),
                fees,
                at: local(tz, exit_day, 12, 0),
            });
        }
        out.push(ImportTrade {
            symbol: sym.ticker.to_string(),
            direction,
            multiplier: Decimal::ONE,
            initial_stop: Some(price(stop)),
            target: Some(price((entry + sign * stop_dist * Decimal::TWO).max(dec("0.01")))),
            setup: Some(["breakout", "pullback", "base", "earnings gap"][rng.gen_range(0..4)].to_string()),
            correlation_group: Some(sym.sector.to_string()),
            fills,
        });
    }
    out
}

fn market_data(tx: &Tx<'_>, rng: &mut StdRng) -> ApiResult<()> {
    for sym in &SYMBOLS {
        let mut close = dec(sym.start);
        let mut bars = Vec::new();
        let mut day = date(2025, 11, 3);
        while day <= date(2026, 6, 30) {
            if !matches!(chrono::Datelike::weekday(&day), chrono::Weekday::Sat | chrono::Weekday::Sun) {
                let open = close;
                close = (close * (Decimal::ONE + Decimal::new(rng.gen_range(-250..=260), 4))).round_dp(2);
                let high = open.max(close) * (Decimal::ONE + Decimal::new(rng.gen_range(0..120), 4));
                let low = open.min(close) * (Decimal::ONE - Decimal::new(rng.gen_range(0..120), 4));
                bars.push(Bar {
                    symbol: sym.ticker.to_string(),
                    bar_date: day.to_string(),
                    open: price(open),
                    high: price(high.round_dp(2)),
                    low: price(low.round_dp(2)),
                    close: price(close),
                    volume: Decimal::from(rng.gen_range(2_000_000u64..60_000_000)),
                    source: "seed".into(),
                });
            }
            day += Duration::days(1);
        }
        market::upsert_bars(tx, &bars)?;
        market::upsert_fundamentals(
            tx,
            &Fundamentals {
                symbol: sym.ticker.to_string(),
                name: sym.name.to_string(),
                exchange: Some(
                    if sym.ticker == "JPM" || sym.ticker == "XOM" || sym.ticker == "UNH" { "NYSE" } else { "NASDAQ" }
                        .into(),
                ),
                sector: Some(sym.sector.to_string()),
                industry: None,
                market_cap: Some(Decimal::from(rng.gen_range(100u64..3_500) * 1_000_000_000)),
                pe_ratio: Some(Decimal::new(rng.gen_range(80..600), 1)),
                eps: Some(Decimal::new(rng.gen_range(100..3000), 2)),
                dividend_yield: Some(Decimal::new(rng.gen_range(0..350), 2)),
                beta: Some(Decimal::new(rng.gen_range(60..220), 2)),
            },
        )?;
    }
    Ok(())
}

fn checklist(tx: &Tx<'_>, user: &User) -> ApiResult<()> {
    journal_repo::insert_template(
        tx,
        user.id,
        "Pre-trade",
        Some("Before every entry"),
        &[
            ("Trend on the daily chart agrees".to_string(), true),
            ("Stop is at a level that invalidates the setup".to_string(), true),
            ("Position size from the calculator".to_string(), true),
            ("No earnings within 5 days".to_string(), false),
        ],
    )?;
    Ok(())
}

fn import_all(tx: &Tx<'_>, account: &Account, trades: &[ImportTrade]) -> ApiResult<()> {
    for t in trades {
        import_trade(tx, account, t)?;
    }
    Ok(())
}

fn seed_dev(tx: &Tx<'_>, rng: &mut StdRng, basic: &User, pro: &User) -> ApiResult<()> {
    let ny = chrono_tz::America::New_York;
    let b1 = account(tx, basic, "Swing", "USD", "25000", "America/New_York", "fifo")?;
    let b2 = account(tx, basic, "IRA", "USD", "60000", "America/New_York", "fifo")?;
    let p1 = account(tx, pro, "Main", "USD", "100000", "America/New_York", "fifo")?;
    let p2 = account(tx, pro, "Momentum", "USD", "40000", "America/Chicago", "lifo")?;
    let p3 = account(tx, pro, "London", "GBP", "30000", "Europe/London", "average_cost")?;
    import_all(tx, &b1, &generate(rng, ny, date(2026, 1, 5), 10, 50, 1))?;
    import_all(tx, &b2, &generate(rng, ny, date(2026, 1, 5), 6, 55, 0))?;
    import_all(tx, &p1, &generate(rng, ny, date(2025, 12, 1), 24, 52, 2))?;
    import_all(tx, &p2, &generate(rng, chrono_tz::America::Chicago, date(2026, 2, 2), 12, 45, 1))?;
    import_all(tx, &p3, &generate(rng, chrono_tz::Europe::London, date(2026, 3, 2), 8, 50, 1))?;
    account_repo::save_risk_settings(tx, pro.id, p1.id, &RiskSettings::default())?;
    checklist(tx, pro)?;
    checklist(tx, basic)?;
    journal_repo::insert_note(
        tx,
        &NewNote {
            user_id: pro.id,
            trade_id: None,
            account_id: Some(p1.id),
            kind: "lesson".into(),
            body: "Cut losers at the stop, no exceptions.".into(),
        },
    )?;
    market_data(tx, rng)
}

fn seed_demo(tx: &Tx<'_>, rng: &mut StdRng, demo: &User) -> ApiResult<()> {
    let ny = chrono_tz::America::New_York;
    let swing = account(tx, demo, "Swing Portfolio", "USD", "50000", "America/New_York", "fifo")?;
    let active = account(tx, demo, "Active Trading", "USD", "25000", "America/New_York", "fifo")?;
    import_all(tx, &swing, &generate(rng, ny, date(2025, 11, 3), 90, 62, 3))?;
    import_all(tx, &active, &generate(rng, ny, date(2026, 1, 5), 60, 58, 2))?;
    account_repo::save_risk_settings(
        tx,
        demo.id,
        swing.id,
        &RiskSettings { enforcement: Enforcement::Block, ..RiskSettings::default() },
    )?;
    account_repo::save_risk_settings(
        tx,
        demo.id,
        active.id,
        &RiskSettings { enforcement: Enforcement::Warn, ..RiskSettings::default() },
    )?;
    checklist(tx, demo)?;
    let first = trade_repo::list(
        tx,
        demo.id,
        &trade_repo::TradeQuery { account_id: Some(swing.id), limit: 3, ..Default::default() },
    )?;
    for (t, body) in first.iter().zip([
        "Clean breakout on volume; followed the plan.",
        "Moved the stop to breakeven after +1R.",
        "Entered early, before confirmation. Size was right, though.",
    ]) {
        journal_repo::insert_note(
            tx,
            &NewNote {
                user_id: demo.id,
                trade_id: Some(t.id),
                account_id: Some(swing.id),
                kind: "review".into(),
                body: body.into(),
            },
        )?;
    }
    market_data(tx, rng)
}

fn fill(side: Side, q: &str, p: &str, f: &str, at: DateTime<Utc>) -> ImportFill {
    ImportFill { side, quantity: qty(dec(q)), price: price(dec(p)), fees: fee(f), at }
}

fn trade(symbol: &str, direction: Direction, stop: Option<&str>, fills: Vec<ImportFill>) -> ImportTrade {
    ImportTrade {
        symbol: symbol.into(),
        direction,
        multiplier: Decimal::ONE,
        initial_stop: stop.map(|s| price(dec(s))),
        target: None,
        setup: Some("edge case".into()),
        correlation_group: None,
        fills,
    }
}

fn seed_test(tx: &Tx<'_>, pro: &User) -> ApiResult<()> {
    use Direction::{Long, Short};
    use Side::{Buy, Sell};
    let ny = chrono_tz::America::New_York;
    let edge = account(tx, pro, "Edge Cases", "USD", "100000", "America/New_York", "fifo")?;
    let tokyo = account(tx, pro, "Tokyo", "JPY", "10000000", "Asia/Tokyo", "fifo")?;
    let futures = account(tx, pro, "Futures", "USD", "50000", "America/Chicago", "fifo")?;
    let d = |m, day| date(2026, m, day);
    let trades = vec![
        // Partial fills in and out: 30 + 30 + 40 in, 50 + 50 out.
        trade(
            "PART",
            Long,
            Some("95"),
            vec![
                fill(Buy, "30", "100", "1", local(ny, d(3, 2), 9, 31)),
                fill(Buy, "30", "100.5", "1", local(ny, d(3, 2), 9, 32)),
                fill(Buy, "40", "101", "1", local(ny, d(3, 2), 9, 35)),
                fill(Sell, "50", "105", "1", local(ny, d(3, 3), 10, 0)),
                fill(Sell, "50", "107", "1", local(ny, d(3, 4), 15, 55)),
            ],
        ),
        // A flip: the long is closed and a short opened at the same instant and price.
        trade(
            "FLIP",
            Long,
            Some("48"),
            vec![
                fill(Buy, "100", "50", "0.5", local(ny, d(3, 5), 10, 0)),
                fill(Sell, "100", "52", "0.5", local(ny, d(3, 5), 14, 0)),
            ],
        ),
        trade(
            "FLIP",
            Short,
            Some("54"),
            vec![
                fill(Sell, "100", "52", "0.5", local(ny, d(3, 5), 14, 0)),
                fill(Buy, "100", "51", "0.5", local(ny, d(3, 6), 11, 0)),
            ],
        ),
        // Zero fees.
        trade(
            "ZERO",
            Long,
            Some("19"),
            vec![
                fill(Buy, "10", "20", "0", local(ny, d(3, 9), 10, 0)),
                fill(Sell, "10", "22", "0", local(ny, d(3, 9), 15, 0)),
            ],
        ),
        // Fees larger than the gross gain: a gross winner that is a net loser.
        trade(
            "FEES",
            Long,
            Some("9.5"),
            vec![
                fill(Buy, "10", "10", "4.99", local(ny, d(3, 10), 10, 0)),
                fill(Sell, "10", "10.5", "4.99", local(ny, d(3, 10), 15, 0)),
            ],
        ),
        // Shorts: a winner and a loser.
        trade(
            "SHRT",
            Short,
            Some("110"),
            vec![
                fill(Sell, "50", "100", "1", local(ny, d(3, 11), 10, 0)),
                fill(Buy, "50", "90", "1", local(ny, d(3, 12), 10, 0)),
            ],
        ),
        trade(
            "SHRT",
            Short,
            Some("110"),
            vec![
                fill(Sell, "50", "100", "1", local(ny, d(3, 13), 10, 0)),
                fill(Buy, "50", "110", "1", local(ny, d(3, 13), 14, 0)),
            ],
        ),
        // No stop: no initial risk, no R.
        trade(
            "NOSTP",
            Long,
            None,
            vec![
                fill(Buy, "5", "300", "1", local(ny, d(3, 16), 10, 0)),
                fill(Sell, "5", "290", "1", local(ny, d(3, 16), 15, 0)),
            ],
        ),
        // Exit at 23:30 New York on the day clocks change: 03:30 UTC the next day, attributed to 03-08.
        trade(
            "TZB",
            Long,
            Some("40"),
            vec![
                fill(Buy, "10", "45", "0", local(ny, d(3, 6), 16, 0)),
                fill(Sell, "10", "46", "0", local(ny, d(3, 8), 23, 30)),
            ],
        ),
        // Breakeven.
        trade(
            "EVEN",
            Long,
            Some("70"),
            vec![
                fill(Buy, "10", "75", "0", local(ny, d(3, 17), 10, 0)),
                fill(Sell, "10", "75", "0", local(ny, d(3, 17), 11, 0)),
            ],
        ),
        // Huge and tiny prices.
        trade(
            "BRK.A",
            Long,
            Some("700000"),
            vec![
                fill(Buy, "1", "712345.67", "0", local(ny, d(3, 18), 10, 0)),
                fill(Sell, "1", "719876.54", "0", local(ny, d(3, 19), 10, 0)),
            ],
        ),
        trade(
            "BTC-USD",
            Long,
            Some("95000"),
            vec![
                fill(Buy, "0.00012345", "98765.4321", "0.01", local(ny, d(3, 18), 11, 0)),
                fill(Sell, "0.00012345", "101234.5678", "0.01", local(ny, d(3, 20), 11, 0)),
            ],
        ),
        trade(
            "PENNY",
            Long,
            Some("0.00005"),
            vec![
                fill(Buy, "10000000", "0.0001", "2", local(ny, d(3, 19), 10, 0)),
                fill(Sell, "10000000", "0.00013", "2", local(ny, d(3, 20), 10, 0)),
            ],
        ),
        // Still open, and partially closed.
        trade("OPEN", Long, Some("180"), vec![fill(Buy, "20", "190", "1", local(ny, d(6, 1), 10, 0))]),
        trade(
            "HALF",
            Short,
            Some("60"),
            vec![
                fill(Sell, "40", "55", "1", local(ny, d(6, 2), 10, 0)),
                fill(Buy, "20", "52", "1", local(ny, d(6, 3), 10, 0)),
            ],
        ),
    ];
    import_all(tx, &edge, &trades)?;
    // Planned and cancelled trades have no fills.
    let planned = import_trade(tx, &edge, &trade("PLAN", Long, Some("95"), vec![]))?;
    let cancelled = import_trade(tx, &edge, &trade("CNCL", Short, Some("105"), vec![]))?;
    trade_repo::cancel(tx, cancelled)?;
    let _ = planned;
    // Tokyo: exits either side of local midnight belong to different days.
    let tk = chrono_tz::Asia::Tokyo;
    import_all(
        tx,
        &tokyo,
        &[trade(
            "7203.T",
            Long,
            Some("2900"),
            vec![
                fill(Buy, "100", "3000", "0", local(tk, d(4, 1), 9, 5)),
                fill(Sell, "50", "3050", "0", local(tk, d(4, 1), 23, 59)),
                fill(Sell, "50", "3100", "0", local(tk, d(4, 2), 0, 1)),
            ],
        )],
    )?;
    // Futures with a contract multiplier of 50.
    let ch = chrono_tz::America::Chicago;
    let mut es = trade(
        "ES",
        Long,
        Some("5990"),
        vec![
            fill(Buy, "2", "6000.25", "4.5", local(ch, d(4, 6), 8, 30)),
            fill(Sell, "2", "6012.75", "4.5", local(ch, d(4, 6), 14, 0)),
        ],
    );
    es.multiplier = Decimal::from(50);
    import_all(tx, &futures, &[es])?;
    Ok(())
}
