//! Schwab / thinkorswim Account Statement, CSV (Monitor → Account Statement → Export).
//!
//! One file of titled sections. The fills are in `Account Trade History`
//! (`,Exec Time,Spread,Side,Qty,Pos Effect,Symbol,Exp,Strike,Type,Price,Net Price,Order Type`), newest first;
//! a spread is one row per leg where only the first leg carries `Exec Time` and `Spread` (later legs inherit
//! them). That section has no fees: they are in `Cash Balance` (`DATE,TIME,TYPE,REF #,DESCRIPTION,Misc Fees,
//! Commissions & Fees,AMOUNT,BALANCE`, one `TRD` row per order) and, for futures, `Futures Statements`
//! (`Trade Date,Exec Date,Exec Time,Type,Ref #,Description,Misc Fees,Commissions & Fees,Amount,Balance`).
//!
//! ## The fee join
//! The two sections are written by different systems and their times disagree by a second or two, so an
//! order is joined to the cash row that (1) is within [`FEE_WINDOW_SECS`] seconds of its exec time, (2) names
//! the order's symbol in its description, and (3) is not taken yet; the closest wins, the earlier row on a tie.
//! The order's `Commissions & Fees` become `commission` and `Misc Fees` (SEC/TAF) `regulatory`, split over the
//! legs by quantity (cents, the last leg taking the remainder, so the legs add up exactly). An order without a
//! cash row gets no fees and a warning on each leg; a cash row without an order is a file warning.
//!
//! Times are naive, in the statement zone (default America/New_York). Option legs have multiplier 100;
//! futures (`/ESH24`) and futures options the futures table's.

use std::io::Read;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use trenddojo_domain::Side;

use super::{side_word, Ctx, Draft};
use crate::error::ImportError;
use crate::model::{AssetClass, FeeKind, Instrument, NormalizedFill, OptionRight, PositionEffect};
use crate::num::{self, NumStyle};
use crate::symbols::parse_future_code;
use crate::table::{self, opt, req, Col, CsvRows, Header};
use crate::time::{self, ReadTime};

/// How far apart (seconds) a trade and its cash row may be.
pub const FEE_WINDOW_SECS: i64 = 2;

const T_TIME: usize = 0;
const T_SIDE: usize = 2;
const T_QTY: usize = 3;
const T_EFFECT: usize = 4;
const T_SYMBOL: usize = 5;
const T_EXP: usize = 6;
const T_STRIKE: usize = 7;
const T_TYPE: usize = 8;
const T_PRICE: usize = 9;

pub const TRADE_COLS: &[Col] = &[
    req(&["Exec Time"]),
    req(&["Spread"]),
    req(&["Side"]),
    req(&["Qty"]),
    opt(&["Pos Effect"]),
    req(&["Symbol"]),
    req(&["Exp"]),
    req(&["Strike"]),
    req(&["Type"]),
    req(&["Price"]),
];
pub const TRADE_EXPECTED: &str =
    ",Exec Time,Spread,Side,Qty,Pos Effect,Symbol,Exp,Strike,Type,Price,Net Price,Order Type";

const CASH_COLS: &[Col] = &[
    req(&["DATE"]),
    req(&["TIME"]),
    req(&["TYPE"]),
    req(&["DESCRIPTION"]),
    opt(&["Misc Fees"]),
    req(&["Commissions & Fees"]),
];
const FUT_COLS: &[Col] = &[
    req(&["Exec Date"]),
    req(&["Exec Time"]),
    req(&["Type"]),
    req(&["Description"]),
    opt(&["Misc Fees"]),
    req(&["Commissions & Fees"]),
];

const EXEC_FORMATS: &[&str] = &["%m/%d/%y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S"];

#[derive(Debug)]
enum Section {
    None,
    Cash(Header),
    Futures(Header),
    Trades(Header),
}

#[derive(Debug)]
struct CashRow {
    line: u64,
    at: DateTime<Utc>,
    description: String,
    misc: Decimal,
    commission: Decimal,
    taken: bool,
}

#[derive(Debug)]
struct Leg {
    line: u64,
    values: Vec<String>,
    raw: String,
}

#[derive(Debug)]
struct Order {
    raw_time: String,
    time: Option<ReadTime>,
    legs: Vec<Leg>,
}

fn is_title(rows: &CsvRows<impl Read>) -> bool {
    let non_empty = (0..rows.len()).filter(|i| !rows.field(*i).is_empty()).count();
    non_empty == 1 && !rows.field(0).is_empty() && num::parse(&rows.field(0), NumStyle::POINT).is_err()
}

pub fn parse(ctx: &mut Ctx<'_>, stream: &mut dyn Read) -> Result<(), ImportError> {
    let mut rows = CsvRows::new(stream, b',');
    let mut section = Section::None;
    let mut account: Option<String> = None;
    let mut cash: Vec<CashRow> = Vec::new();
    let mut orders: Vec<Order> = Vec::new();
    let mut seen_statement = false;
    let mut seen_trades = false;
    let mut first: Option<String> = None;
    while rows.advance()? {
        if rows.is_empty() {
            continue;
        }
        let line = rows.line();
        if first.is_none() {
            first = Some(rows.raw());
        }
        let f0 = rows.field(0).into_owned();
        if let Some(rest) = f0.strip_prefix("Account Statement for ") {
            seen_statement = true;
            account = rest.split_whitespace().next().map(str::to_string);
            continue;
        }
        let fields = rows.fields();
        if is_title(&rows) {
            if f0 == "Account Trade History" {
                seen_trades = true;
            }
            section = Section::None;
            continue;
        }
        // Headers switch sections.
        let (ch, cm) = table::match_header(&fields, CASH_COLS);
        let (fh, fm) = table::match_header(&fields, FUT_COLS);
        let (th, tm) = table::match_header(&fields, TRADE_COLS);
        if tm.is_empty() {
            seen_trades = true;
            section = Section::Trades(th);
            continue;
        }
        if seen_trades && matches!(section, Section::None) && table::overlap(&fields, TRADE_COLS).0 >= 5 {
            return Err(table::require(ctx.format, line, &fields, TRADE_COLS, TRADE_EXPECTED)
                .err()
                .unwrap_or(ImportError::Malformed { line, detail: "header".into() }));
        }
        if fm.is_empty() {
            section = Section::Futures(fh);
            continue;
        }
        if cm.is_empty() {
            section = Section::Cash(ch);
            continue;
        }
        match &section {
            Section::None => {
                if !seen_statement && !seen_trades && line >= crate::input::HEADER_SEARCH_LINES {
                    break;
                }
            }
            Section::Cash(h) | Section::Futures(h) => {
                let futures = matches!(section, Section::Futures(_));
                let get = |c: usize| h.idx[c].map(|i| rows.field(i).into_owned()).unwrap_or_default();
                if !get(2).eq_ignore_ascii_case("TRD") {
                    continue;
                }
                let raw = format!("{} {}", get(0), get(1));
                let Ok(t) = time::read_time(&raw, EXEC_FORMATS, ctx.tz) else {
                    ctx.out.reject(
                        line,
                        format!("{}: {raw:?} is not a date and time", if futures { "Exec Date" } else { "DATE" }),
                        &rows.raw(),
                    )?;
                    continue;
                };
                let misc = num::parse_opt(&get(4), NumStyle::POINT).ok().flatten().unwrap_or_default();
                let Ok(commission) = num::parse_opt(&get(5), NumStyle::POINT).map(Option::unwrap_or_default) else {
                    ctx.out.reject(line, format!("Commissions & Fees: {:?} is not a number", get(5)), &rows.raw())?;
                    continue;
                };
                cash.push(CashRow { line, at: t.utc, description: get(3), misc, commission, taken: false });
            }
            Section::Trades(h) => {
                let values: Vec<String> =
                    h.idx.iter().map(|i| i.map(|i| rows.field(i).into_owned()).unwrap_or_default()).collect();
                ctx.incomplete_last = (rows.len() < h.width)
                    .then(|| (line, format!("the last row has {} of {} fields", rows.len(), h.width)));
                if rows.len() < h.required_width {
                    ctx.out.reject(
                        line,
                        format!("row has {} fields; the header has {}", rows.len(), h.width),
                        &rows.raw(),
                    )?;
                    continue;
                }
                let leg = Leg { line, values, raw: rows.raw() };
                if !leg.values[T_TIME].is_empty() {
                    let raw_time = leg.values[T_TIME].clone();
                    let time = time::read_time(&raw_time, EXEC_FORMATS, ctx.tz);
                    match time {
                        Ok(t) => orders.push(Order { raw_time, time: Some(t), legs: vec![leg] }),
                        Err(e) => {
                            ctx.out.reject(line, e, &leg.raw)?;
                            orders.push(Order { raw_time, time: None, legs: Vec::new() });
                        }
                    }
                } else if let Some(o) = orders.last_mut() {
                    if o.time.is_some() {
                        o.legs.push(leg);
                    } else {
                        ctx.out.reject(line, "a spread leg of an order whose time could not be read", &leg.raw)?;
                    }
                } else {
                    ctx.out.reject(
                        line,
                        "Exec Time: empty on the first row (a spread leg without its order)",
                        &leg.raw,
                    )?;
                }
            }
        }
    }
    if !seen_trades {
        return Err(ImportError::HeaderNotFound {
            format: ctx.format,
            lines: rows.line().min(crate::input::HEADER_SEARCH_LINES),
            expected: format!("an \"Account Trade History\" section with the header {TRADE_EXPECTED}"),
            found: first.map(|f| crate::input::truncate_raw(&f)),
        });
    }
    let account = ctx.account(account.as_deref())?;
    // Oldest first: the section is newest first.
    for order in orders.iter().rev() {
        let Some(t) = &order.time else { continue };
        let symbol = order.legs.first().map(|l| l.values[T_SYMBOL].clone()).unwrap_or_default();
        let joined = join_cash(&mut cash, t.utc, &symbol);
        let mut fills: Vec<(usize, NormalizedFill)> = Vec::new();
        for (i, leg) in order.legs.iter().enumerate() {
            match leg_fill(ctx, order, leg, &account, t) {
                Ok(f) => fills.push((i, f)),
                Err(reason) => ctx.out.reject(leg.line, reason, &leg.raw)?,
            }
        }
        match joined {
            Some((commission, misc, line)) => {
                let qtys: Vec<Decimal> = fills.iter().map(|(_, f)| f.quantity).collect();
                let c = split(commission, &qtys);
                let m = split(misc, &qtys);
                for (k, (_, f)) in fills.iter_mut().enumerate() {
                    f.fees = super::normalize_fees(vec![(FeeKind::Commission, c[k]), (FeeKind::Regulatory, m[k])]);
                    if qtys.len() > 1 {
                        f.warnings.push(format!(
                            "fees: the order's fees (Cash Balance line {line}) are split over its legs by quantity"
                        ));
                    }
                }
            }
            None => {
                for (_, f) in fills.iter_mut() {
                    f.warnings.push(format!(
                        "fees: no Cash Balance or Futures Statements row within {FEE_WINDOW_SECS} s of {} naming {symbol}; fees are 0",
                        order.raw_time
                    ));
                }
            }
        }
        for (_, f) in fills {
            ctx.out.push(f);
        }
    }
    for c in cash.iter().filter(|c| !c.taken) {
        ctx.out.warn(format!(
            "Cash Balance line {}: {:?} has no trade in Account Trade History within {FEE_WINDOW_SECS} s",
            c.line, c.description
        ));
    }
    Ok(())
}

/// The cash row for an order, by the rule in the module docs. Returns (commission, misc) as costs.
fn join_cash(cash: &mut [CashRow], at: DateTime<Utc>, symbol: &str) -> Option<(Decimal, Decimal, u64)> {
    let want = symbol.trim().trim_start_matches('/').to_ascii_uppercase();
    let mut best: Option<(i64, usize)> = None;
    for (i, c) in cash.iter().enumerate() {
        if c.taken {
            continue;
        }
        let d = (c.at - at).num_seconds().abs();
        if d > FEE_WINDOW_SECS {
            continue;
        }
        let names = c
            .description
            .split_whitespace()
            .any(|tok| tok.trim_start_matches('/').trim_end_matches(',').eq_ignore_ascii_case(&want));
        if !names {
            continue;
        }
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, i));
        }
    }
    let (_, i) = best?;
    let c = cash.get_mut(i)?;
    c.taken = true;
    Some((-c.commission, -c.misc, c.line))
}

/// Split `total` over `qtys` by quantity, in cents, the last taking the remainder.
fn split(total: Decimal, qtys: &[Decimal]) -> Vec<Decimal> {
    let sum: Decimal = qtys.iter().copied().fold(Decimal::ZERO, |a, b| a.saturating_add(b));
    if qtys.is_empty() {
        return Vec::new();
    }
    if sum.is_zero() {
        let mut v = vec![Decimal::ZERO; qtys.len()];
        if let Some(last) = v.last_mut() {
            *last = total;
        }
        return v;
    }
    let mut out = Vec::with_capacity(qtys.len());
    let mut given = Decimal::ZERO;
    for (i, q) in qtys.iter().enumerate() {
        if i + 1 == qtys.len() {
            out.push(total - given);
        } else {
            let part = (total * q / sum).round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
            given += part;
            out.push(part);
        }
    }
    out
}

fn leg_fill(ctx: &Ctx<'_>, order: &Order, leg: &Leg, account: &str, t: &ReadTime) -> Result<NormalizedFill, String> {
    let v = |c: usize| leg.values[c].as_str();
    let qty = num::parse(v(T_QTY), NumStyle::POINT).map_err(|e| format!("Qty: {e}"))?;
    let side = side_word(v(T_SIDE)).ok_or_else(|| format!("Side: {:?} is neither BUY nor SELL", v(T_SIDE)))?;
    if (side == Side::Buy && qty < Decimal::ZERO) || (side == Side::Sell && qty > Decimal::ZERO) {
        return Err(format!("Qty: {qty} disagrees with Side {}", v(T_SIDE)));
    }
    let price = num::parse(v(T_PRICE), NumStyle::POINT).map_err(|e| format!("Price: {e}"))?;
    let symbol = v(T_SYMBOL).to_string();
    let kind = v(T_TYPE).to_ascii_uppercase();
    let year = t.utc.year();
    let (class, ins, mult) = match kind.as_str() {
        "STOCK" | "ETF" | "EQUITY" => (AssetClass::Stock, Instrument::stock(&symbol), Some(Decimal::ONE)),
        "CALL" | "PUT" => {
            let right = if kind == "CALL" { OptionRight::Call } else { OptionRight::Put };
            let expiry = NaiveDate::parse_from_str(&v(T_EXP).to_ascii_uppercase(), "%d %b %y")
                .map_err(|_| format!("Exp: {:?} is not a date such as 19 JAN 24", v(T_EXP)))?;
            let strike = num::parse(v(T_STRIKE), NumStyle::POINT).map_err(|e| format!("Strike: {e}"))?;
            if symbol.starts_with('/') {
                let fut = parse_future_code(&symbol, year);
                let root =
                    fut.as_ref().map(|f| f.0.clone()).unwrap_or_else(|| symbol.trim_start_matches('/').to_string());
                let m = ctx.multiplier(&[&root]);
                (
                    AssetClass::FutureOption,
                    Instrument::future_option(&root, fut.map(|f| (f.1, f.2)), expiry, right, strike, &symbol),
                    m,
                )
            } else {
                (
                    AssetClass::Option,
                    Instrument::option(&symbol, expiry, right, strike, &symbol),
                    Some(Decimal::ONE_HUNDRED),
                )
            }
        }
        "FUTURE" => {
            let (root, y, m) = parse_future_code(&symbol, year)
                .ok_or_else(|| format!("Symbol: {symbol:?} is not a futures contract such as /ESH24"))?;
            let mult = ctx.multiplier(&[&symbol, &root]);
            (AssetClass::Future, Instrument::future(&root, y, m, &symbol), mult)
        }
        "" => return Err("Type: empty".into()),
        _ => (AssetClass::Other, Instrument::simple(AssetClass::Other, &symbol, &symbol), Some(Decimal::ONE)),
    };
    let multiplier = mult
        .ok_or_else(|| format!("multiplier: {symbol:?} is not in the futures table; add it to contract_multipliers"))?;
    let effect = match v(T_EFFECT).to_ascii_uppercase().as_str() {
        "TO OPEN" | "OPENING" => Some(PositionEffect::Open),
        "TO CLOSE" | "CLOSING" => Some(PositionEffect::Close),
        _ => None,
    };
    Draft {
        account: account.to_string(),
        exec_id: None,
        order_id: None,
        asset_class: class,
        instrument: ins,
        multiplier,
        side,
        quantity: qty.abs(),
        price,
        fees: Vec::new(),
        currency: "USD".into(),
        position_effect: effect,
        raw_time: order.raw_time.clone(),
        time: t.clone(),
        line: leg.line,
    }
    .finish(ctx.format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_split_by_quantity_add_up_exactly() {
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        let parts = split(d("1.30"), &[d("1"), d("1"), d("1")]);
        assert_eq!(parts, vec![d("0.43"), d("0.43"), d("0.44")], "cents, remainder on the last leg");
        assert_eq!(parts.iter().copied().sum::<Decimal>(), d("1.30"), "adds up");
        assert_eq!(split(d("2"), &[d("3")]), vec![d("2")], "one leg takes all");
    }
}
