//! Tradovate: the Fills export (preferred), and Orders and Performance as fallbacks.
//!
//! * **Fills** (`_id,_orderId,_contractId,_timestamp,…,Fill ID,Order ID,Timestamp,Date,Account,B/S,Quantity,
//!   Price,…,Contract,Product,Product Description,commission`): one row per fill with its commission. Times are
//!   read from `_timestamp`, which is UTC (`2026-06-17 13:29:32.166Z`); the display `Timestamp` beside it is in
//!   the zone of the user's app and is not used. Prices from `_price` (a plain decimal even for bond futures,
//!   whose display `Price` is fractional). Dedupe by `_id`.
//! * **Orders**: one fill per order with a filled quantity, at its average price, at `Fill Time` (local: the
//!   statement zone must be given); no commissions.
//! * **Performance**: round trips (`buyFillId,sellFillId,qty,buyPrice,sellPrice,boughtTimestamp,
//!   soldTimestamp`); each fill id becomes one fill whose quantity is the sum of its pairings, with the fill id
//!   as execution id, so a later Fills import of the same fills dedupes against it. Local times; no fees.
//!
//! Multipliers come from the product root (`MESM6` -> `MES` -> 5) through the one futures table
//! (`symbols.rs`); a root not in it is a rejected row naming `contract_multipliers`.

use std::collections::BTreeMap;
use std::io::Read;

use chrono::Datelike;
use rust_decimal::Decimal;
use trenddojo_domain::Side;

use super::{find_header, row_ok, side_word, Ctx, Draft};
use crate::error::ImportError;
use crate::model::{AssetClass, FeeKind, Instrument};
use crate::num::{self, NumStyle};
use crate::symbols::parse_future_code;
use crate::table::{opt, req, Col, CsvRows, Row};
use crate::time::{self, ReadTime};

pub const FILL_COLS: &[Col] = &[
    req(&["_id"]),
    opt(&["_orderId", "Order ID"]),
    req(&["_timestamp"]),
    req(&["_action", "B/S"]),
    req(&["_qty", "Quantity"]),
    req(&["_price"]),
    opt(&["Account"]),
    opt(&["_accountId"]),
    req(&["Contract"]),
    opt(&["Product"]),
    opt(&["commission"]),
    opt(&["_active"]),
    opt(&["Currency"]),
];
pub const FILL_EXPECTED: &str = "_id,_orderId,_contractId,_timestamp,_tradeDate,_action,_qty,_price,_active,_accountId,Fill ID,Order ID,Timestamp,Date,Account,B/S,Quantity,Price,_priceFormat,_priceFormatType,_tickSize,Contract,Product,Product Description,commission";

pub const ORDER_COLS: &[Col] = &[
    req(&["orderId", "Order ID"]),
    opt(&["Account"]),
    req(&["B/S"]),
    req(&["Contract"]),
    opt(&["Product"]),
    req(&["avgPrice", "Avg Fill Price"]),
    req(&["filledQty", "Filled Qty"]),
    req(&["Fill Time"]),
    req(&["Status"]),
    opt(&["Currency"]),
];
pub const ORDER_EXPECTED: &str = "orderId,Account,Order ID,B/S,Contract,Product,Product Description,avgPrice,filledQty,Fill Time,lastCommandId,Status,_priceFormat,_priceFormatType,_tickSize,spreadDefinitionId,Version ID,Timestamp,Date,Quantity,Text,Type,Limit Price,Stop Price,decimalLimit,decimalStop,Filled Qty,Avg Fill Price,decimalFillAvg";

pub const PERF_COLS: &[Col] = &[
    req(&["symbol"]),
    req(&["buyFillId"]),
    req(&["sellFillId"]),
    req(&["qty"]),
    req(&["buyPrice"]),
    req(&["sellPrice"]),
    req(&["boughtTimestamp"]),
    req(&["soldTimestamp"]),
];
pub const PERF_EXPECTED: &str = "symbol,_priceFormat,_priceFormatType,_tickSize,buyFillId,sellFillId,qty,buyPrice,sellPrice,pnl,boughtTimestamp,soldTimestamp,duration";

const UTC_FORMATS: &[&str] = &["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"];
const LOCAL_FORMATS: &[&str] = &["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%m/%d/%y %H:%M:%S"];

/// The contract and its multiplier.
fn contract(ctx: &Ctx<'_>, contract: &str, product: &str, t: &ReadTime) -> Result<(Instrument, Decimal), String> {
    let (root, y, m) = parse_future_code(contract, t.utc.year())
        .ok_or_else(|| format!("Contract: {contract:?} is not a futures contract such as MESM6"))?;
    let root = if product.trim().is_empty() { root } else { product.trim().to_ascii_uppercase() };
    let mult = ctx.multiplier(&[contract, &root]).ok_or_else(|| {
        format!("multiplier: product {root:?} is not in the futures table; add it to contract_multipliers")
    })?;
    Ok((Instrument::future(&root, y, m, contract), mult))
}

fn side_of(action: &str) -> Option<Side> {
    match action.trim() {
        "0" => Some(Side::Buy),
        "1" => Some(Side::Sell),
        other => side_word(other),
    }
}

pub fn parse_fills(ctx: &mut Ctx<'_>, stream: &mut dyn Read) -> Result<(), ImportError> {
    let mut rows = CsvRows::new(stream, b',');
    let header = find_header(ctx, &mut rows, FILL_COLS, FILL_EXPECTED)?;
    while rows.advance()? {
        if rows.is_empty() || !row_ok(ctx, &rows, &header)? {
            continue;
        }
        let r = Row { rows: &rows, header: &header };
        if r.get(11).eq_ignore_ascii_case("false") {
            ctx.out.skip(rows.line())?;
            continue;
        }
        let account = match r.opt(6).or_else(|| r.opt(7)) {
            Some(a) => a.into_owned(),
            None => ctx.account(None)?,
        };
        match fill_row(ctx, &r, account) {
            Ok(f) => ctx.out.push(f),
            Err(reason) => ctx.out.reject(rows.line(), reason, &rows.raw())?,
        }
    }
    Ok(())
}

fn fill_row<R: Read>(ctx: &Ctx<'_>, r: &Row<'_, R>, account: String) -> Result<crate::model::NormalizedFill, String> {
    let raw_time = r.get(2).into_owned();
    let t = time::read_time(&raw_time, UTC_FORMATS, chrono_tz::UTC)?;
    let side = side_of(&r.get(3)).ok_or_else(|| format!("_action: {:?} is neither buy (0) nor sell (1)", r.get(3)))?;
    let qty = num::parse(&r.get(4), NumStyle::POINT).map_err(|e| format!("_qty: {e}"))?;
    let price = num::parse(&r.get(5), NumStyle::POINT).map_err(|e| format!("_price: {e}"))?;
    let commission =
        num::parse_opt(&r.get(10), NumStyle::POINT).map_err(|e| format!("commission: {e}"))?.unwrap_or(Decimal::ZERO);
    let (instrument, multiplier) = contract(ctx, &r.get(8), &r.get(9), &t)?;
    Draft {
        account,
        exec_id: Some(r.get(0).into_owned()),
        order_id: r.opt(1).map(|s| s.into_owned()),
        asset_class: AssetClass::Future,
        instrument,
        multiplier,
        side,
        quantity: qty,
        price,
        fees: vec![(FeeKind::Commission, commission)],
        currency: r.opt(12).map(|c| c.into_owned()).unwrap_or_else(|| "USD".to_string()),
        position_effect: None,
        raw_time,
        time: t,
        line: r.rows.line(),
    }
    .finish(ctx.format)
}

pub fn parse_orders(ctx: &mut Ctx<'_>, stream: &mut dyn Read) -> Result<(), ImportError> {
    let mut rows = CsvRows::new(stream, b',');
    let header = find_header(ctx, &mut rows, ORDER_COLS, ORDER_EXPECTED)?;
    ctx.out
        .warn("fees: a Tradovate Orders export has no commissions; import the Fills export for per-fill commissions");
    while rows.advance()? {
        if rows.is_empty() || !row_ok(ctx, &rows, &header)? {
            continue;
        }
        let r = Row { rows: &rows, header: &header };
        let filled = match num::parse_opt(&r.get(6), NumStyle::POINT) {
            Ok(f) => f.unwrap_or(Decimal::ZERO),
            Err(e) => {
                ctx.out.reject(rows.line(), format!("filledQty: {e}"), &rows.raw())?;
                continue;
            }
        };
        if filled <= Decimal::ZERO {
            ctx.out.skip(rows.line())?;
            continue;
        }
        let account = match r.opt(1) {
            Some(a) => a.into_owned(),
            None => ctx.account(None)?,
        };
        let res = (|| {
            let raw_time = r.get(7).into_owned();
            let t = time::read_time(&raw_time, LOCAL_FORMATS, ctx.tz)?;
            let side = side_word(&r.get(2)).ok_or_else(|| format!("B/S: {:?} is neither Buy nor Sell", r.get(2)))?;
            let price = num::parse(&r.get(5), NumStyle::POINT).map_err(|e| format!("avgPrice: {e}"))?;
            let (instrument, multiplier) = contract(ctx, &r.get(3), &r.get(4), &t)?;
            Draft {
                account,
                exec_id: None,
                order_id: Some(r.get(0).into_owned()),
                asset_class: AssetClass::Future,
                instrument,
                multiplier,
                side,
                quantity: filled,
                price,
                fees: Vec::new(),
                currency: r.opt(9).map(|c| c.into_owned()).unwrap_or_else(|| "USD".to_string()),
                position_effect: None,
                raw_time,
                time: t,
                line: rows.line(),
            }
            .finish(ctx.format)
        })();
        match res {
            Ok(f) => ctx.out.push(f),
            Err(reason) => ctx.out.reject(rows.line(), reason, &rows.raw())?,
        }
    }
    Ok(())
}

#[derive(Debug)]
struct PerfFill {
    side: Side,
    qty: Decimal,
    price: Decimal,
    raw_time: String,
    contract: String,
    line: u64,
}

pub fn parse_performance(ctx: &mut Ctx<'_>, stream: &mut dyn Read) -> Result<(), ImportError> {
    let mut rows = CsvRows::new(stream, b',');
    let header = find_header(ctx, &mut rows, PERF_COLS, PERF_EXPECTED)?;
    ctx.out.warn(
        "fees: a Tradovate Performance export has no commissions; import the Fills export for per-fill commissions",
    );
    let account = ctx.account(None)?;
    // Fill id -> the fill, quantities summed over its pairings; in order of first appearance.
    let mut fills: BTreeMap<(u64, String), PerfFill> = BTreeMap::new();
    let mut index: std::collections::HashMap<String, (u64, String)> = std::collections::HashMap::new();
    while rows.advance()? {
        if rows.is_empty() || !row_ok(ctx, &rows, &header)? {
            continue;
        }
        let r = Row { rows: &rows, header: &header };
        let qty = match num::parse(&r.get(3), NumStyle::POINT) {
            Ok(q) if q > Decimal::ZERO => q,
            Ok(q) => {
                ctx.out.reject(rows.line(), format!("qty: must be positive, got {q}"), &rows.raw())?;
                continue;
            }
            Err(e) => {
                ctx.out.reject(rows.line(), format!("qty: {e}"), &rows.raw())?;
                continue;
            }
        };
        for (side, id_col, price_col, time_col) in [(Side::Buy, 1, 4, 6), (Side::Sell, 2, 5, 7)] {
            let id = r.get(id_col).into_owned();
            let price = match num::parse(&r.get(price_col), NumStyle::POINT) {
                Ok(p) => p,
                Err(e) => {
                    ctx.out.reject(rows.line(), format!("{}: {e}", PERF_COLS[price_col].names[0]), &rows.raw())?;
                    break;
                }
            };
            let key = index.entry(id.clone()).or_insert_with(|| (rows.line(), id.clone())).clone();
            let entry = fills.entry(key).or_insert_with(|| PerfFill {
                side,
                qty: Decimal::ZERO,
                price,
                raw_time: r.get(time_col).into_owned(),
                contract: r.get(0).into_owned(),
                line: rows.line(),
            });
            entry.qty += qty;
        }
    }
    for ((_, id), pf) in fills {
        let res = (|| {
            let t = time::read_time(&pf.raw_time, LOCAL_FORMATS, ctx.tz)?;
            let (instrument, multiplier) = contract(ctx, &pf.contract, "", &t)?;
            Draft {
                account: account.clone(),
                exec_id: Some(id.clone()),
                order_id: None,
                asset_class: AssetClass::Future,
                instrument,
                multiplier,
                side: pf.side,
                quantity: pf.qty,
                price: pf.price,
                fees: Vec::new(),
                currency: "USD".to_string(),
                position_effect: None,
                raw_time: pf.raw_time.clone(),
                time: t,
                line: pf.line,
            }
            .finish(ctx.format)
        })();
        match res {
            Ok(f) => ctx.out.push(f),
            Err(reason) => ctx.out.reject(pf.line, reason, &format!("fill {id}"))?,
        }
    }
    Ok(())
}
