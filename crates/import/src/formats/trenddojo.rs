//! TrendDojo's own executions CSV, version 1 (the shared spec `trenddojo export --format csv` writes):
//!
//! `format,account,currency,time_zone,trade_id,symbol,direction,multiplier,initial_stop,setup,execution_id,
//! side,quantity,price,fees,executed_at`
//!
//! Strict by design, since we write it ourselves: the header must be exactly that (any order is accepted,
//! no column may be missing), every row's `format` is `trenddojo-v1`, numbers are plain canonical decimals,
//! `executed_at` is RFC 3339 UTC. `execution_id` is the dedupe key (re-importing an export adds nothing) and
//! `trade_id` travels as [`TradeHints::trade_ref`], so executions keep their grouping into trades.
//! The symbol's instrument is inferred: an OCC symbol is an option, a month-coded contract with a multiplier
//! other than 1 a future, anything else a stock.

use std::io::Read;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use trenddojo_domain::{Direction, Side};

use super::{row_ok, Ctx, Draft};
use crate::error::ImportError;
use crate::model::{AssetClass, FeeKind, Instrument, TradeHints};
use crate::num::parse_plain;
use crate::symbols::{parse_future_code, parse_occ};
use crate::table::{self, req, Col, CsvRows, Row};
use crate::time::ReadTime;

pub const HEADER: &str = "format,account,currency,time_zone,trade_id,symbol,direction,multiplier,initial_stop,setup,execution_id,side,quantity,price,fees,executed_at";
pub const VERSION_TAG: &str = "trenddojo-v1";

pub const COLS: &[Col] = &[
    req(&["format"]),
    req(&["account"]),
    req(&["currency"]),
    req(&["time_zone"]),
    req(&["trade_id"]),
    req(&["symbol"]),
    req(&["direction"]),
    req(&["multiplier"]),
    req(&["initial_stop"]),
    req(&["setup"]),
    req(&["execution_id"]),
    req(&["side"]),
    req(&["quantity"]),
    req(&["price"]),
    req(&["fees"]),
    req(&["executed_at"]),
];

pub fn parse(ctx: &mut Ctx<'_>, stream: &mut dyn Read) -> Result<(), ImportError> {
    let mut rows = CsvRows::new(stream, b',');
    let mut header = None;
    while rows.advance()? {
        if rows.is_empty() {
            continue;
        }
        let fields = rows.fields();
        header = Some(table::require(ctx.format, rows.line(), &fields, COLS, HEADER)?);
        break;
    }
    let Some(header) = header else { return Err(ImportError::Empty) };
    while rows.advance()? {
        if rows.is_empty() || !row_ok(ctx, &rows, &header)? {
            continue;
        }
        let r = Row { rows: &rows, header: &header };
        match fill(ctx, &r) {
            Ok(f) => ctx.out.push(f),
            Err(reason) => ctx.out.reject(rows.line(), reason, &rows.raw())?,
        }
    }
    Ok(())
}

fn dec(r: &Row<'_, impl Read>, col: usize) -> Result<Decimal, String> {
    parse_plain(&r.get(col)).map_err(|e| format!("{}: {e}", COLS[col].names[0]))
}

fn fill<R: Read>(ctx: &Ctx<'_>, r: &Row<'_, R>) -> Result<crate::model::NormalizedFill, String> {
    if r.get(0) != VERSION_TAG {
        return Err(format!("format: expected {VERSION_TAG:?}, got {:?}", r.get(0)));
    }
    let account = r.get(1).into_owned();
    if account.is_empty() {
        return Err("account: empty".into());
    }
    let tz_name = r.get(3).into_owned();
    tz_name.parse::<Tz>().map_err(|_| format!("time_zone: {tz_name:?} is not an IANA time zone"))?;
    let direction: Direction = r.get(6).parse().map_err(|e| format!("{e}"))?;
    let side: Side = r.get(11).parse().map_err(|e| format!("{e}"))?;
    let multiplier = dec(r, 7)?;
    let initial_stop = match r.opt(8) {
        Some(_) => Some(dec(r, 8)?),
        None => None,
    };
    let raw_time = r.get(15).into_owned();
    let at = DateTime::parse_from_rfc3339(&raw_time)
        .map_err(|_| format!("executed_at: {raw_time:?} is not an RFC 3339 time such as 2026-03-09T13:45:00.000000Z"))?
        .with_timezone(&Utc);
    let symbol = r.get(5).into_owned();
    let (class, ins) = if let Some(p) = parse_occ(&symbol) {
        (AssetClass::Option, Instrument::option(&p.root, p.expiry, p.right, p.strike, &symbol))
    } else if let Some((root, y, m)) = parse_future_code(&symbol, at.year()).filter(|_| multiplier != Decimal::ONE) {
        (AssetClass::Future, Instrument::future(&root, y, m, &symbol))
    } else {
        (AssetClass::Stock, Instrument::stock(&symbol))
    };
    let trade_ref = r.get(4).into_owned();
    if trade_ref.is_empty() {
        return Err("trade_id: empty".into());
    }
    let mut f = Draft {
        account,
        exec_id: Some(r.get(10).into_owned()),
        order_id: None,
        asset_class: class,
        instrument: ins,
        multiplier,
        side,
        quantity: dec(r, 12)?,
        price: dec(r, 13)?,
        fees: vec![(FeeKind::Other, dec(r, 14)?)],
        currency: r.get(2).into_owned(),
        position_effect: None,
        raw_time,
        time: ReadTime { utc: at, zone: "UTC".into(), warning: None },
        line: r.rows.line(),
    }
    .finish(ctx.format)?;
    f.trade_hints = Some(Box::new(TradeHints {
        trade_ref,
        direction,
        initial_stop,
        setup: r.opt(9).map(|s| s.into_owned()),
        account_time_zone: tz_name,
    }));
    Ok(f)
}
