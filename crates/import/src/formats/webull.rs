//! Webull orders export (`Webull_Orders_Records.csv`): `Name,Symbol,Side,Status,Filled,Total Qty,Price,
//! Avg Price,Time-in-Force,Placed Time,Filled Time`.
//!
//! One row per order; an order with a filled quantity is one fill of that quantity at its average price, at
//! `Filled Time` (`03/15/2024 09:31:22 EDT`: the abbreviation fixes the offset, so DST never needs guessing).
//! Cancelled and unfilled orders are skipped. `Side` is `Buy`, `Sell` or `Short`. Option orders carry an
//! unpadded OCC symbol (`AAPL240119C00190000`) and get multiplier 100. There are no execution ids and no
//! account: dedupe is by fingerprint, and the account comes from `default_account`.

use std::io::Read;

use rust_decimal::Decimal;

use super::{find_header, row_ok, side_word, Ctx, Draft};
use crate::error::ImportError;
use crate::model::{AssetClass, Instrument};
use crate::num::{self, NumStyle};
use crate::symbols::parse_occ;
use crate::table::{opt, req, Col, CsvRows, Row};
use crate::time;

pub const COLS: &[Col] = &[
    opt(&["Name"]),
    req(&["Symbol"]),
    req(&["Side"]),
    req(&["Status"]),
    req(&["Filled"]),
    opt(&["Total Qty"]),
    opt(&["Price"]),
    req(&["Avg Price"]),
    opt(&["Placed Time"]),
    req(&["Filled Time"]),
];
pub const EXPECTED: &str =
    "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,Placed Time,Filled Time";

const FORMATS: &[&str] = &["%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S"];

pub fn parse(ctx: &mut Ctx<'_>, stream: &mut dyn Read) -> Result<(), ImportError> {
    let mut rows = CsvRows::new(stream, b',');
    let header = find_header(ctx, &mut rows, COLS, EXPECTED)?;
    let account = ctx.account(None)?;
    while rows.advance()? {
        if rows.is_empty() || !row_ok(ctx, &rows, &header)? {
            continue;
        }
        let r = Row { rows: &rows, header: &header };
        let filled = match num::parse_opt(&r.get(4), NumStyle::POINT) {
            Ok(f) => f.unwrap_or(Decimal::ZERO),
            Err(e) => {
                ctx.out.reject(rows.line(), format!("Filled: {e}"), &rows.raw())?;
                continue;
            }
        };
        // Cancelled, rejected and working orders have nothing filled.
        if filled.is_zero() || r.get(9).is_empty() {
            ctx.out.skip(rows.line())?;
            continue;
        }
        let res = (|| {
            let side = side_word(&r.get(2)).ok_or_else(|| format!("Side: {:?} is not Buy, Sell or Short", r.get(2)))?;
            let price =
                num::parse(r.get(7).trim_start_matches('@'), NumStyle::POINT).map_err(|e| format!("Avg Price: {e}"))?;
            let raw_time = r.get(9).into_owned();
            let t = time::read_time(&raw_time, FORMATS, ctx.tz)?;
            let symbol = r.get(1).into_owned();
            let (class, ins, mult) = match parse_occ(&symbol) {
                Some(p) => (
                    AssetClass::Option,
                    Instrument::option(&p.root, p.expiry, p.right, p.strike, &symbol),
                    Decimal::ONE_HUNDRED,
                ),
                None => (AssetClass::Stock, Instrument::stock(&symbol), Decimal::ONE),
            };
            Draft {
                account: account.clone(),
                exec_id: None,
                order_id: None,
                asset_class: class,
                instrument: ins,
                multiplier: mult,
                side,
                quantity: filled,
                price,
                fees: Vec::new(),
                currency: "USD".into(),
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
