//! Tastytrade transaction history CSV: `Date,Type,Sub Type,Action,Symbol,Instrument Type,Description,Value,
//! Quantity,Average Price,Commissions,Fees,Multiplier,Root Symbol,Underlying Symbol,Expiration Date,
//! Strike Price,Call or Put,Order #,Total,Currency` (older exports lack `Sub Type`, `Root Symbol`,
//! `Order #`, `Total`, `Currency`).
//!
//! Only `Trade` rows are executions; money movements and `Receive Deliver` rows (expirations, assignments,
//! exercises) are counted as skipped: they carry no price and are reported as a warning, so a position closed
//! by expiry stays visibly open rather than closed at an invented price. `Average Price` and `Value` carry the
//! cash sign and are per contract (`-425.00` for an option bought at 4.25): the price is the absolute value
//! divided by `Multiplier` when the row has one. `Commissions` and `Fees` are negative costs; `Fees` (clearing,
//! regulatory and exchange together) are kept as `other`. `Date` carries its offset
//! (`2024-03-15T10:30:45-0400`); an old export without one is read in the statement zone. Option symbols are
//! OCC; futures `/ESH4`; futures options `./ESM4 EW2K4 240517C5300`. No execution ids: dedupe by
//! fingerprint (with `Order #` kept as order id); the account comes from `default_account`.

use std::io::Read;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::{find_header, row_ok, side_word, Ctx, Draft};
use crate::error::ImportError;
use crate::model::{AssetClass, FeeKind, Instrument, OptionRight, PositionEffect};
use crate::num::{self, NumStyle};
use crate::symbols::{parse_future_code, parse_occ};
use crate::table::{opt, req, Col, CsvRows, Row};
use crate::time;

const DATE: usize = 0;
const TYPE: usize = 1;
const ACTION: usize = 2;
const SYMBOL: usize = 3;
const ITYPE: usize = 4;
const QTY: usize = 5;
const AVG: usize = 6;
const COMM: usize = 7;
const FEES: usize = 8;
const MULT: usize = 9;
const UNDERLYING: usize = 10;
const EXPIRY: usize = 11;
const STRIKE: usize = 12;
const PUTCALL: usize = 13;
const ORDER: usize = 14;
const CURRENCY: usize = 15;
const ROOT: usize = 16;

pub const COLS: &[Col] = &[
    req(&["Date"]),
    req(&["Type"]),
    req(&["Action"]),
    req(&["Symbol"]),
    req(&["Instrument Type"]),
    req(&["Quantity"]),
    req(&["Average Price"]),
    req(&["Commissions"]),
    req(&["Fees"]),
    opt(&["Multiplier"]),
    opt(&["Underlying Symbol"]),
    opt(&["Expiration Date"]),
    opt(&["Strike Price"]),
    opt(&["Call or Put"]),
    opt(&["Order #"]),
    opt(&["Currency"]),
    opt(&["Root Symbol"]),
];
pub const EXPECTED: &str = "Date,Type,Sub Type,Action,Symbol,Instrument Type,Description,Value,Quantity,Average Price,Commissions,Fees,Multiplier,Root Symbol,Underlying Symbol,Expiration Date,Strike Price,Call or Put,Order #,Total,Currency";

const FORMATS: &[&str] =
    &["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S"];

pub fn parse(ctx: &mut Ctx<'_>, stream: &mut dyn Read) -> Result<(), ImportError> {
    let mut rows = CsvRows::new(stream, b',');
    let header = find_header(ctx, &mut rows, COLS, EXPECTED)?;
    let account = ctx.account(None)?;
    let mut deliveries = 0u64;
    while rows.advance()? {
        if rows.is_empty() || !row_ok(ctx, &rows, &header)? {
            continue;
        }
        let r = Row { rows: &rows, header: &header };
        let kind = r.get(TYPE);
        if !kind.eq_ignore_ascii_case("Trade") {
            if kind.eq_ignore_ascii_case("Receive Deliver") {
                deliveries += 1;
            }
            ctx.out.skip(rows.line())?;
            continue;
        }
        match fill(ctx, &r, &account) {
            Ok(f) => ctx.out.push(f),
            Err(reason) => ctx.out.reject(rows.line(), reason, &rows.raw())?,
        }
    }
    if deliveries > 0 {
        ctx.out.warn(format!(
            "Receive Deliver: {deliveries} expiration/assignment/exercise rows are not executions and were not imported; close those positions by hand"
        ));
    }
    Ok(())
}

fn right_of(s: &str) -> Option<OptionRight> {
    match s.trim().to_ascii_uppercase().as_str() {
        "CALL" | "C" => Some(OptionRight::Call),
        "PUT" | "P" => Some(OptionRight::Put),
        _ => None,
    }
}

fn fill<R: Read>(ctx: &Ctx<'_>, r: &Row<'_, R>, account: &str) -> Result<crate::model::NormalizedFill, String> {
    let raw_time = r.get(DATE).into_owned();
    let t = time::read_time(&raw_time, FORMATS, ctx.tz)?;
    let action = r.get(ACTION);
    let side = side_word(&action).ok_or_else(|| format!("Action: {action:?} is not a buy or sell action"))?;
    let effect = if action.ends_with("_TO_OPEN") {
        Some(PositionEffect::Open)
    } else if action.ends_with("_TO_CLOSE") {
        Some(PositionEffect::Close)
    } else {
        None
    };
    let qty = num::parse(&r.get(QTY), NumStyle::POINT).map_err(|e| format!("Quantity: {e}"))?.abs();
    let avg = num::parse(&r.get(AVG), NumStyle::POINT).map_err(|e| format!("Average Price: {e}"))?.abs();
    let comm =
        num::parse_opt(&r.get(COMM), NumStyle::POINT).map_err(|e| format!("Commissions: {e}"))?.unwrap_or_default();
    let fees = num::parse_opt(&r.get(FEES), NumStyle::POINT).map_err(|e| format!("Fees: {e}"))?.unwrap_or_default();
    let mult = num::parse_opt(&r.get(MULT), NumStyle::POINT).map_err(|e| format!("Multiplier: {e}"))?;
    let symbol = r.get(SYMBOL).into_owned();
    let itype = r.get(ITYPE).to_ascii_lowercase();
    let year = t.utc.year();
    let expiry = || NaiveDate::parse_from_str(r.get(EXPIRY).trim(), "%m/%d/%y").ok();
    let strike = || num::parse_opt(&r.get(STRIKE), NumStyle::POINT).ok().flatten();
    let (class, ins, default_mult) = match itype.as_str() {
        "equity" => (AssetClass::Stock, Instrument::stock(&symbol), Some(Decimal::ONE)),
        "equity option" => {
            let p = parse_occ(&symbol).map(|p| (p.root, p.expiry, p.right, p.strike)).or_else(|| {
                Some((r.get(UNDERLYING).trim().to_string(), expiry()?, right_of(&r.get(PUTCALL))?, strike()?))
            });
            let (u, e, rt, s) = p.ok_or_else(|| format!("Symbol: {symbol:?} is not an OCC option symbol"))?;
            (AssetClass::Option, Instrument::option(&u, e, rt, s, &symbol), Some(Decimal::ONE_HUNDRED))
        }
        "future" => {
            let (root, y, m) = parse_future_code(&symbol, year)
                .ok_or_else(|| format!("Symbol: {symbol:?} is not a futures contract such as /ESH4"))?;
            let dm = ctx.multiplier(&[&root]);
            (AssetClass::Future, Instrument::future(&root, y, m, &symbol), dm)
        }
        "future option" => {
            // `./ESM4 EW2K4 240517C5300`: the future, the option root, yymmdd + right + strike.
            let parts: Vec<&str> = symbol.split_whitespace().collect();
            let fut = parts.first().and_then(|f| parse_future_code(f, year));
            let tail = parts.last().copied().unwrap_or("");
            let e = tail.get(..6).and_then(|d| NaiveDate::parse_from_str(d, "%y%m%d").ok()).or_else(expiry);
            let rt = tail.get(6..7).and_then(right_of).or_else(|| right_of(&r.get(PUTCALL)));
            let s = tail.get(7..).and_then(|s| Decimal::from_str_exact(s).ok()).or_else(strike);
            let (Some(e), Some(rt), Some(s)) = (e, rt, s) else {
                return Err(format!("Symbol: {symbol:?} is not a futures option such as ./ESM4 EW2K4 240517C5300"));
            };
            let root =
                fut.as_ref().map(|f| f.0.clone()).unwrap_or_else(|| r.get(ROOT).trim_start_matches('/').to_string());
            let dm = ctx.multiplier(&[&root]);
            (AssetClass::FutureOption, Instrument::future_option(&root, fut.map(|f| (f.1, f.2)), e, rt, s, &symbol), dm)
        }
        "cryptocurrency" => {
            (AssetClass::Crypto, Instrument::simple(AssetClass::Crypto, &symbol, &symbol), Some(Decimal::ONE))
        }
        _ => (AssetClass::Other, Instrument::simple(AssetClass::Other, &symbol, &symbol), Some(Decimal::ONE)),
    };
    // `Average Price` is per contract (the option price times the multiplier, like `Value`); the fill's price
    // is per unit, so it is divided by the file's multiplier when the file gives one.
    let price = match mult.filter(|m| *m > Decimal::ZERO) {
        Some(m) => avg
            .checked_div(m)
            .map(|p| p.round_dp(10).normalize())
            .ok_or("Average Price: cannot divide by the multiplier")?,
        None => avg,
    };
    let multiplier = mult.filter(|m| *m > Decimal::ZERO).or(default_mult).ok_or_else(|| {
        format!("Multiplier: empty and {symbol:?} is not in the futures table; add it to contract_multipliers")
    })?;
    Draft {
        account: account.to_string(),
        exec_id: None,
        order_id: r.opt(ORDER).map(|o| o.into_owned()),
        asset_class: class,
        instrument: ins,
        multiplier,
        side,
        quantity: qty,
        price,
        fees: vec![(FeeKind::Commission, -comm), (FeeKind::Other, -fees)],
        currency: r.opt(CURRENCY).map(|c| c.into_owned()).unwrap_or_else(|| "USD".into()),
        position_effect: effect,
        raw_time,
        time: t,
        line: r.rows.line(),
    }
    .finish(ctx.format)
}
