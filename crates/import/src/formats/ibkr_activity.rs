//! Interactive Brokers Activity Statement, CSV.
//!
//! One file, many sections: each line starts with the section name and a record kind (`Statement,Header,…`,
//! `Account Information,Data,Account,U1234567`, `Trades,Header,DataDiscriminator,Asset Category,…`,
//! `Trades,Data,Order,Stocks,USD,AAPL,"2024-01-05, 10:30:00",…`, `Trades,SubTotal,…`, `Trades,Total,…`).
//! The Trades section restarts with a new `Header` for each asset class (Forex's commission column is
//! `Comm in USD`, not `Comm/Fee`). `Order` rows are per order; when the statement was made with executions
//! there are also `Trade` rows, and then only those are read (reading both would count every fill twice).
//! Multipliers, expiries and strikes come from the `Financial Instrument Information` section, which follows
//! the trades, so trades are collected first and completed at the end (a statement is small).
//! There are no execution ids: dedupe is by fingerprint.

use std::collections::HashMap;
use std::io::Read;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use trenddojo_domain::Side;

use super::{Ctx, Draft};
use crate::error::ImportError;
use crate::model::{AssetClass, FeeKind, Instrument, OptionRight, PositionEffect};
use crate::num::{self, NumStyle};
use crate::symbols::{forex_pair, parse_future_code, parse_occ, parse_spaced_option};
use crate::table::{self, opt, req, Col, CsvRows};
use crate::time;

const DISC: usize = 0;
const CATEGORY: usize = 1;
const CURRENCY: usize = 2;
const ACCOUNT: usize = 3;
const SYMBOL: usize = 4;
const DATETIME: usize = 5;
const QTY: usize = 6;
const PRICE: usize = 7;
const COMM: usize = 8;
const CODE: usize = 9;

pub const COLS: &[Col] = &[
    opt(&["DataDiscriminator"]),
    req(&["Asset Category"]),
    req(&["Currency"]),
    opt(&["Account"]),
    req(&["Symbol"]),
    req(&["Date/Time"]),
    req(&["Quantity"]),
    req(&["T. Price", "TradePrice", "Price"]),
    opt(&[
        "Comm/Fee",
        "Comm in USD",
        "Comm in EUR",
        "Comm in GBP",
        "Comm in CAD",
        "Comm in CHF",
        "Comm in JPY",
        "Comm in AUD",
        "Comm in HKD",
        "Commission",
    ]),
    opt(&["Code"]),
];

pub const EXPECTED: &str = "Trades,Header,DataDiscriminator,Asset Category,Currency,Symbol,Date/Time,Quantity,T. Price,C. Price,Proceeds,Comm/Fee,Basis,Realized P/L,MTM P/L,Code";

const FII_COLS: &[Col] = &[
    req(&["Asset Category"]),
    req(&["Symbol"]),
    opt(&["Underlying"]),
    opt(&["Multiplier"]),
    opt(&["Expiry"]),
    opt(&["Delivery Month"]),
    opt(&["Type"]),
    opt(&["Strike"]),
];

const FORMATS: &[&str] =
    &["%Y-%m-%d, %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d;%H:%M:%S", "%Y%m%d;%H%M%S", "%m/%d/%Y, %H:%M:%S"];

#[derive(Debug, Clone, Default)]
struct InstrumentInfo {
    underlying: String,
    multiplier: Option<Decimal>,
    expiry: Option<NaiveDate>,
    delivery_month: Option<(i32, u32)>,
    right: Option<OptionRight>,
    strike: Option<Decimal>,
}

#[derive(Debug)]
struct TradeRow {
    line: u64,
    discriminator: String,
    values: Vec<String>,
    raw: String,
}

pub fn parse(ctx: &mut Ctx<'_>, stream: &mut dyn Read) -> Result<(), ImportError> {
    let mut rows = CsvRows::new(stream, b',');
    let mut account: Option<String> = None;
    let mut trades: Vec<TradeRow> = Vec::new();
    let mut header: Option<table::Header> = None;
    let mut fii_header: Option<table::Header> = None;
    let mut info: HashMap<(String, String), InstrumentInfo> = HashMap::new();
    let mut seen_statement = false;
    let mut seen_trades_header = false;
    let mut first: Option<String> = None;
    while rows.advance()? {
        if rows.is_empty() {
            continue;
        }
        let line = rows.line();
        let section = rows.field(0).into_owned();
        let kind = rows.field(1).into_owned();
        if first.is_none() {
            first = Some(rows.raw());
        }
        if kind != "Header" && kind != "Data" && kind != "SubTotal" && kind != "Total" && kind != "Notes" {
            if !seen_statement && line >= crate::input::HEADER_SEARCH_LINES {
                break;
            }
            continue;
        }
        seen_statement = true;
        let rest: Vec<String> = (2..rows.len()).map(|i| rows.field(i).into_owned()).collect();
        match (section.as_str(), kind.as_str()) {
            ("Account Information", "Data") if rest.first().map(String::as_str) == Some("Account") => {
                account = rest
                    .get(1)
                    .map(|a| a.split_whitespace().next().unwrap_or("").to_string())
                    .filter(|a| !a.is_empty());
            }
            ("Trades", "Header") => {
                header = Some(table::require(ctx.format, line, &rest, COLS, EXPECTED)?);
                seen_trades_header = true;
            }
            ("Trades", "Data") => match &header {
                Some(h) => {
                    ctx.incomplete_last = (rest.len() < h.width)
                        .then(|| (line, format!("the last row has {} of {} fields", rest.len() + 2, h.width + 2)));
                    if rest.len() < h.required_width {
                        ctx.out.reject(
                            line,
                            format!("row has {} fields; the header has {}", rest.len() + 2, h.width + 2),
                            &rows.raw(),
                        )?;
                        continue;
                    }
                    let values = h
                        .idx
                        .iter()
                        .map(|i| i.and_then(|i| rest.get(i).cloned()).unwrap_or_default())
                        .collect::<Vec<_>>();
                    let discriminator = values[DISC].clone();
                    trades.push(TradeRow { line, discriminator, values, raw: rows.raw() });
                }
                None => ctx.out.reject(line, "a Trades Data row before the Trades Header", &rows.raw())?,
            },
            ("Trades", _) => ctx.out.skip(line)?,
            ("Financial Instrument Information", "Header") => {
                let (h, missing) = table::match_header(&rest, FII_COLS);
                fii_header = missing.is_empty().then_some(h);
            }
            ("Financial Instrument Information", "Data") => {
                if let Some(h) = &fii_header {
                    let get =
                        |c: usize| h.idx[c].and_then(|i| rest.get(i)).map(|s| s.trim().to_string()).unwrap_or_default();
                    let key = (get(0), get(1));
                    let expiry = NaiveDate::parse_from_str(&get(4), "%Y-%m-%d").ok();
                    let delivery = NaiveDate::parse_from_str(&format!("{}-01", get(5)), "%Y-%m-%d")
                        .ok()
                        .map(|d| (d.year(), d.month()));
                    let right = match get(6).as_str() {
                        "C" | "CALL" => Some(OptionRight::Call),
                        "P" | "PUT" => Some(OptionRight::Put),
                        _ => None,
                    };
                    info.insert(
                        key,
                        InstrumentInfo {
                            underlying: get(2),
                            multiplier: num::parse_opt(&get(3), NumStyle::POINT).ok().flatten(),
                            expiry,
                            delivery_month: delivery,
                            right,
                            strike: num::parse_opt(&get(7), NumStyle::POINT).ok().flatten(),
                        },
                    );
                }
            }
            _ => {}
        }
    }
    if !seen_trades_header {
        return Err(ImportError::HeaderNotFound {
            format: ctx.format,
            lines: rows.line().min(crate::input::HEADER_SEARCH_LINES),
            expected: EXPECTED.to_string(),
            found: first.map(|f| crate::input::truncate_raw(&f)),
        });
    }
    let has_executions = trades.iter().any(|t| t.discriminator == "Trade");
    let account = ctx.account(account.as_deref())?;
    for t in &trades {
        let wanted = if has_executions {
            t.discriminator == "Trade"
        } else {
            t.discriminator == "Order" || t.discriminator.is_empty()
        };
        if !wanted {
            ctx.out.skip(t.line)?;
            continue;
        }
        match fill(ctx, t, &account, &info) {
            Ok(f) => ctx.out.push(f),
            Err(reason) => ctx.out.reject(t.line, reason, &t.raw)?,
        }
    }
    Ok(())
}

fn fill(
    ctx: &Ctx<'_>,
    t: &TradeRow,
    file_account: &str,
    info: &HashMap<(String, String), InstrumentInfo>,
) -> Result<crate::model::NormalizedFill, String> {
    let v = |c: usize| t.values[c].as_str();
    let qty = num::parse(v(QTY), NumStyle::POINT).map_err(|e| format!("Quantity: {e}"))?;
    let side = if qty > Decimal::ZERO {
        Side::Buy
    } else if qty < Decimal::ZERO {
        Side::Sell
    } else {
        return Err("Quantity: zero".into());
    };
    let price = num::parse(v(PRICE), NumStyle::POINT).map_err(|e| format!("T. Price: {e}"))?;
    let comm = num::parse_opt(v(COMM), NumStyle::POINT).map_err(|e| format!("Comm/Fee: {e}"))?.unwrap_or(Decimal::ZERO);
    let raw_time = v(DATETIME).to_string();
    let tm = time::read_time(&raw_time, FORMATS, ctx.tz)?;
    let category = v(CATEGORY).to_string();
    let symbol = v(SYMBOL).to_string();
    let found = info.get(&(category.clone(), symbol.clone())).cloned().unwrap_or_default();
    let mut warnings = Vec::new();
    let (asset_class, instrument, default_mult) = match category.as_str() {
        "Stocks" | "ETFs" => (AssetClass::Stock, Instrument::stock(&symbol), Decimal::ONE),
        "Equity and Index Options" | "Options" => {
            let parts = match (found.expiry, found.right, found.strike) {
                (Some(e), Some(r), Some(s)) if !found.underlying.is_empty() => {
                    Some((found.underlying.clone(), e, r, s))
                }
                _ => parse_spaced_option(&symbol)
                    .or_else(|| parse_occ(&symbol))
                    .map(|p| (p.root, p.expiry, p.right, p.strike)),
            };
            let (u, e, r, s) = parts
                .ok_or_else(|| format!("Symbol: {symbol:?} is not an option symbol such as \"SPY 19JAN24 470 C\""))?;
            (AssetClass::Option, Instrument::option(&u, e, r, s, &symbol), Decimal::ONE_HUNDRED)
        }
        "Futures" => {
            let ins = match parse_future_code(&symbol, tm.utc.year()) {
                Some((root, y, m)) => Instrument::future(&root, y, m, &symbol),
                None => {
                    let (y, m) = found
                        .delivery_month
                        .ok_or_else(|| format!("Symbol: {symbol:?} has no month code and no Delivery Month"))?;
                    let root = if found.underlying.is_empty() { symbol.clone() } else { found.underlying.clone() };
                    Instrument::future(&root, y, m, &symbol)
                }
            };
            let root = ins.future_root.clone().unwrap_or_default();
            let m = ctx.multiplier(&[&symbol, &root]);
            (AssetClass::Future, ins, m.unwrap_or(Decimal::ZERO))
        }
        "Options On Futures" | "Futures Options" => {
            let (e, r, s) = match (found.expiry, found.right, found.strike) {
                (Some(e), Some(r), Some(s)) => (e, r, s),
                _ => {
                    return Err(format!(
                        "Symbol: {symbol:?}: no expiry/type/strike in Financial Instrument Information"
                    ))
                }
            };
            let contract = parse_future_code(&found.underlying, tm.utc.year());
            let root = contract.as_ref().map(|c| c.0.clone()).unwrap_or_else(|| found.underlying.clone());
            let m = ctx.multiplier(&[&root]);
            (
                AssetClass::FutureOption,
                Instrument::future_option(&root, contract.map(|c| (c.1, c.2)), e, r, s, &symbol),
                m.unwrap_or(Decimal::ZERO),
            )
        }
        "Forex" => {
            let pair = forex_pair(&symbol).unwrap_or_else(|| symbol.clone());
            (AssetClass::Forex, Instrument::forex(&pair, &symbol), Decimal::ONE)
        }
        "Crypto" => (AssetClass::Crypto, Instrument::simple(AssetClass::Crypto, &symbol, &symbol), Decimal::ONE),
        "Bonds" | "Treasury Bills" => {
            (AssetClass::Bond, Instrument::simple(AssetClass::Bond, &symbol, &symbol), Decimal::ONE)
        }
        "CFDs" => (AssetClass::Cfd, Instrument::simple(AssetClass::Cfd, &symbol, &symbol), Decimal::ONE),
        "" => return Err("Asset Category: empty".into()),
        _ => (AssetClass::Other, Instrument::simple(AssetClass::Other, &symbol, &symbol), Decimal::ONE),
    };
    let multiplier = match found.multiplier.filter(|m| *m > Decimal::ZERO) {
        Some(m) => m,
        None if default_mult > Decimal::ZERO => {
            if asset_class == AssetClass::Option {
                warnings.push(format!("multiplier: {symbol} is not in Financial Instrument Information; 100 was used"));
            }
            default_mult
        }
        None => return Err(format!("multiplier: {symbol} is not in Financial Instrument Information nor in the futures table; add it to contract_multipliers")),
    };
    let code = v(CODE);
    let effect = if code.split(';').any(|c| c == "O") {
        Some(PositionEffect::Open)
    } else if code.split(';').any(|c| c == "C") {
        Some(PositionEffect::Close)
    } else {
        None
    };
    let account = if v(ACCOUNT).is_empty() { file_account.to_string() } else { v(ACCOUNT).to_string() };
    let mut f = Draft {
        account,
        exec_id: None,
        order_id: None,
        asset_class,
        instrument,
        multiplier,
        side,
        quantity: qty.abs(),
        price,
        fees: vec![(FeeKind::Commission, -comm)],
        currency: v(CURRENCY).to_string(),
        position_effect: effect,
        raw_time,
        time: tm,
        line: t.line,
    }
    .finish(ctx.format)?;
    f.warnings.extend(warnings);
    Ok(f)
}
