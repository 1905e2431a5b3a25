//! Interactive Brokers Flex Query, CSV (this module) and XML (`ibkr_xml`): the Trades (`TRNT`) and
//! Trade Confirmation (`TCNF`) sections.
//!
//! A Flex CSV comes in two shapes: plain (a header row of column names, then data), or with "header and
//! trailer records" (`BOF`/`BOA`/`BOS`, then `HEADER,TRNT,<names>` and `DATA,TRNT,<values>`, closed by
//! `EOS`/`EOA`/`EOF`), possibly with several sections. Only `LevelOfDetail` `EXECUTION` rows are fills (an
//! `ORDER` or `SYMBOL_SUMMARY` row repeats executions already listed). Quantities are signed, commissions are
//! negative when they cost, option symbols are OCC, and the multiplier is a column.
//!
//! The date/time format is the user's Flex setting (`yyyyMMdd;HHmmss` by default, or `yyyy-MM-dd`,
//! `MM/dd/yyyy`, `dd/MM/yyyy`, … with `;`, `,`, space or no separator, with or without a zone
//! abbreviation): it is detected from the first 256 rows by trying the candidates in order; a file whose days
//! are all 12 or less is read month-first, as IBKR's US default is.
//!
//! Corrections: IBKR execution ids end in a version (`….01.01`, corrected as `….01.02`). Within a file only
//! the highest version of an execution is kept; its `correction_of` names the version before, so a store that
//! imported the earlier version from another file replaces it. `TradeCancel` rows cancel the execution with
//! their id: dropped from this file's fills, and listed in `cancels` for the store.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use trenddojo_domain::Side;

use super::{Ctx, Draft};
use crate::error::ImportError;
use crate::model::{AssetClass, Cancel, FeeKind, Instrument, OptionRight, PositionEffect};
use crate::num::{self, NumStyle};
use crate::symbols::{futures_multiplier, parse_future_code, parse_occ};
use crate::table::{self, opt, req, Col, CsvRows, Header};
use crate::time::{self, ReadTime};

pub const ACCOUNT: usize = 0;
pub const CURRENCY: usize = 1;
pub const ASSET: usize = 2;
pub const SYMBOL: usize = 3;
pub const UNDERLYING: usize = 4;
pub const MULT: usize = 5;
pub const STRIKE: usize = 6;
pub const EXPIRY: usize = 7;
pub const PUTCALL: usize = 8;
pub const DATETIME: usize = 9;
pub const QTY: usize = 10;
pub const PRICE: usize = 11;
pub const COMM: usize = 12;
pub const COMM_CUR: usize = 13;
pub const BUYSELL: usize = 14;
pub const EXEC_ID: usize = 15;
pub const ORDER_ID: usize = 16;
pub const TTYPE: usize = 17;
pub const LEVEL: usize = 18;
pub const OPEN_CLOSE: usize = 19;
pub const BROKER_EXEC: usize = 20;
pub const BROKER_CLEAR: usize = 21;
pub const THIRD_EXEC: usize = 22;
pub const THIRD_CLEAR: usize = 23;
pub const THIRD_REG: usize = 24;
pub const OTHER_COMM: usize = 25;
pub const TRADE_DATE: usize = 26;

pub const COLS: &[Col] = &[
    opt(&["ClientAccountID", "AccountId", "Account"]),
    req(&["CurrencyPrimary", "Currency"]),
    req(&["AssetClass", "AssetCategory"]),
    req(&["Symbol"]),
    opt(&["UnderlyingSymbol"]),
    opt(&["Multiplier"]),
    opt(&["Strike"]),
    opt(&["Expiry"]),
    opt(&["Put/Call"]),
    req(&["DateTime", "Date/Time"]),
    req(&["Quantity"]),
    req(&["TradePrice", "Price"]),
    opt(&["IBCommission", "Commission"]),
    opt(&["IBCommissionCurrency", "CommissionCurrency"]),
    opt(&["Buy/Sell"]),
    opt(&["IBExecID", "ExecID"]),
    opt(&["IBOrderID", "OrderID"]),
    opt(&["TransactionType"]),
    opt(&["LevelOfDetail"]),
    opt(&["Open/CloseIndicator"]),
    opt(&["BrokerExecutionCommission", "BrokerExecutionCharge"]),
    opt(&["BrokerClearingCommission", "BrokerClearingCharge"]),
    opt(&["ThirdPartyExecutionCommission", "ThirdPartyExecutionCharge"]),
    opt(&["ThirdPartyClearingCommission", "ThirdPartyClearingCharge"]),
    opt(&["ThirdPartyRegulatoryCommission", "ThirdPartyRegulatoryCharge"]),
    opt(&["OtherCommission"]),
    opt(&["TradeDate"]),
];

pub const EXPECTED: &str = "ClientAccountID,CurrencyPrimary,AssetClass,Symbol,UnderlyingSymbol,Multiplier,Strike,Expiry,Put/Call,DateTime,Quantity,TradePrice,IBCommission,IBCommissionCurrency,Buy/Sell,IBExecID,IBOrderID,TransactionType,LevelOfDetail";

const DATES: &[&str] = &["%Y%m%d", "%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d/%m/%Y", "%d/%m/%y", "%d-%b-%y", "%d-%b-%Y"];
const TIMES: &[&str] = &["%H%M%S", "%H:%M:%S"];
const SEPS: &[&str] = &[";", ",", ", ", " ", "T", ""];

/// Every DateTime format IBKR's Flex settings can produce, in order of preference.
pub fn datetime_candidates() -> Vec<String> {
    let mut v = Vec::new();
    for d in DATES {
        for t in TIMES {
            for s in SEPS {
                v.push(format!("{d}{s}{t}"));
            }
        }
    }
    v
}

/// `….01.02` -> (`….01`, 2). Only ids with a dot before a two-digit last part.
pub fn split_exec_version(id: &str) -> Option<(&str, u32)> {
    let (base, v) = id.rsplit_once('.')?;
    if v.len() == 2 && v.bytes().all(|b| b.is_ascii_digit()) && base.contains('.') {
        Some((base, v.parse().ok()?))
    } else {
        None
    }
}

/// A record's fields by column index (CSV row or XML element).
pub trait Fields {
    fn get(&self, col: usize) -> Cow<'_, str>;
    fn raw(&self) -> String;
}

/// An owned record (rows buffered while the date format is detected, XML elements).
#[derive(Clone, Debug)]
pub struct OwnedRecord {
    pub line: u64,
    pub values: Vec<Option<String>>,
    /// The row for a rejected-row preview, as text (XML) or as the CSV record, turned into text only when a
    /// row is rejected (building every row's text up front cost a tenth of the parse).
    pub raw: Option<String>,
    pub record: Option<csv::ByteRecord>,
    pub account_hint: Option<String>,
}

impl Fields for OwnedRecord {
    fn get(&self, col: usize) -> Cow<'_, str> {
        Cow::Borrowed(self.values.get(col).and_then(|v| v.as_deref()).unwrap_or(""))
    }
    fn raw(&self) -> String {
        match (&self.raw, &self.record) {
            (Some(r), _) => r.clone(),
            (None, Some(rec)) => {
                rec.iter().map(|f| String::from_utf8_lossy(f).trim().to_string()).collect::<Vec<_>>().join(",")
            }
            (None, None) => self.values.iter().map(|v| v.as_deref().unwrap_or("")).collect::<Vec<_>>().join(","),
        }
    }
}

/// State across a Flex file's records.
#[derive(Debug, Default)]
pub struct FlexState {
    pub datetime_fmt: Option<String>,
    pub date_fmt: Option<String>,
    pending: Vec<OwnedRecord>,
    cancels: Vec<(u64, String, String, String)>,
}

/// How many records are looked at to detect the date/time format.
const DETECT_ROWS: usize = 256;

impl FlexState {
    /// Add a record; once enough are buffered, detect the format and process them all.
    pub fn push(&mut self, ctx: &mut Ctx<'_>, rec: OwnedRecord) -> Result<(), ImportError> {
        if self.datetime_fmt.is_some() {
            return self.process(ctx, &rec);
        }
        self.pending.push(rec);
        if self.pending.len() >= DETECT_ROWS {
            self.flush(ctx)?;
        }
        Ok(())
    }

    /// Detect from what is buffered (if not yet) and process it.
    pub fn flush(&mut self, ctx: &mut Ctx<'_>) -> Result<(), ImportError> {
        if self.datetime_fmt.is_none() {
            let samples: Vec<String> =
                self.pending.iter().filter(|r| is_execution(r)).map(|r| r.get(DATETIME).into_owned()).collect();
            let cands = datetime_candidates();
            let refs: Vec<&str> = cands.iter().map(String::as_str).collect();
            let found = time::detect_format(&samples, &refs).map(str::to_string);
            let fmt = match found {
                Some(f) => f,
                None if samples.iter().all(|s| s.trim().is_empty()) => "%Y%m%d;%H%M%S".to_string(),
                // No single format reads every row: take the one that reads the first, and let the others
                // be rejected with their reason.
                None => samples
                    .iter()
                    .find_map(|s| time::detect_format(std::slice::from_ref(s), &refs))
                    .unwrap_or("%Y%m%d;%H%M%S")
                    .to_string(),
            };
            self.date_fmt = DATES.iter().find(|d| fmt.starts_with(**d)).map(|d| d.to_string());
            self.datetime_fmt = Some(fmt);
        }
        let pending = std::mem::take(&mut self.pending);
        for rec in &pending {
            self.process(ctx, rec)?;
        }
        Ok(())
    }

    fn process(&mut self, ctx: &mut Ctx<'_>, rec: &OwnedRecord) -> Result<(), ImportError> {
        if !is_execution(rec) {
            return ctx.out.skip(rec.line);
        }
        let ttype = rec.get(TTYPE);
        if ttype.contains("Cancel") || rec.get(BUYSELL).contains("(Ca.)") {
            let id = rec.get(EXEC_ID).into_owned();
            if id.is_empty() {
                return ctx.out.reject(
                    rec.line,
                    "IBExecID: a TradeCancel row without the execution id it cancels",
                    &rec.raw(),
                );
            }
            let hint = Some(rec.get(ACCOUNT)).filter(|a| !a.is_empty());
            let account = ctx.account(hint.as_deref().or(rec.account_hint.as_deref()))?;
            self.cancels.push((rec.line, account, id, rec.get(DATETIME).into_owned()));
            return Ok(());
        }
        let hint = Some(rec.get(ACCOUNT)).filter(|a| !a.is_empty());
        let account = ctx.account(hint.as_deref().or(rec.account_hint.as_deref()))?;
        match self.fill(ctx, rec, account) {
            Ok(f) => {
                ctx.out.push(f);
                Ok(())
            }
            Err(reason) => ctx.out.reject(rec.line, reason, &rec.raw()),
        }
    }

    fn fill(&self, ctx: &Ctx<'_>, r: &OwnedRecord, account: String) -> Result<crate::model::NormalizedFill, String> {
        let style = NumStyle::POINT;
        let qty = num::parse(&r.get(QTY), style).map_err(|e| format!("Quantity: {e}"))?;
        let bs = r.get(BUYSELL);
        let side = match super::side_word(&bs) {
            Some(s) => {
                if (s == Side::Buy && qty < Decimal::ZERO) || (s == Side::Sell && qty > Decimal::ZERO) {
                    return Err(format!("Quantity: {qty} disagrees with Buy/Sell {bs:?}"));
                }
                s
            }
            None if qty > Decimal::ZERO => Side::Buy,
            None if qty < Decimal::ZERO => Side::Sell,
            None => return Err("Quantity: zero".to_string()),
        };
        let price = num::parse(&r.get(PRICE), style).map_err(|e| format!("TradePrice: {e}"))?;
        let fmt = self.datetime_fmt.clone().unwrap_or_default();
        let raw_time = r.get(DATETIME).into_owned();
        let t = time::read_time(&raw_time, &[fmt.as_str()], ctx.tz)?;
        let currency = r.get(CURRENCY).into_owned();
        let fees = fees(r, style)?;
        let comm_cur = r.get(COMM_CUR);
        let mut extra_warning = None;
        if !comm_cur.is_empty() && !currency.is_empty() && !comm_cur.eq_ignore_ascii_case(&currency) {
            extra_warning = Some(format!(
                "IBCommissionCurrency: commission is in {comm_cur}, the trade in {currency}; the amount is kept as is"
            ));
        }
        let (asset_class, instrument) = instrument(r, self.date_fmt.as_deref(), &t)?;
        let multiplier = multiplier(ctx, r, asset_class, &instrument)?;
        let effect = match r.get(OPEN_CLOSE).trim() {
            "O" => Some(PositionEffect::Open),
            "C" => Some(PositionEffect::Close),
            "C;O" | "O;C" => Some(PositionEffect::Reverse),
            _ => None,
        };
        let mut f = Draft {
            account,
            exec_id: Some(r.get(EXEC_ID).into_owned()),
            order_id: Some(r.get(ORDER_ID).into_owned()),
            asset_class,
            instrument,
            multiplier,
            side,
            quantity: qty.abs(),
            price,
            fees,
            currency,
            position_effect: effect,
            raw_time,
            time: t,
            line: r.line,
        }
        .finish(ctx.format)?;
        f.warnings.extend(extra_warning);
        Ok(f)
    }

    /// Apply corrections and cancels within the file, and hand cancels to the output.
    pub fn finish(mut self, ctx: &mut Ctx<'_>) -> Result<(), ImportError> {
        self.flush(ctx)?;
        resolve_corrections(ctx);
        for (line, account, id, raw_time) in self.cancels {
            let before = ctx.out.fills.len();
            ctx.out
                .fills
                .retain(|f| !(*f.broker_account == *account && f.broker_exec_id.as_deref() == Some(id.as_str())));
            let in_file = ctx.out.fills.len() != before;
            ctx.out.cancels.push(Cancel { broker_account: account, broker_exec_id: id, line, raw_time, in_file });
        }
        Ok(())
    }
}

fn is_execution(r: &OwnedRecord) -> bool {
    let level = r.get(LEVEL);
    level.is_empty() || level.eq_ignore_ascii_case("EXECUTION")
}

fn amount(r: &OwnedRecord, col: usize, style: NumStyle) -> Result<Decimal, String> {
    let name = COLS[col].names[0];
    Ok(num::parse_opt(&r.get(col), style).map_err(|e| format!("{name}: {e}"))?.unwrap_or(Decimal::ZERO))
}

/// IBKR writes costs negative. The total goes to `commission` unless the breakdown columns are there: then
/// broker execution + clearing is `commission`, third-party execution + clearing `exchange`, third-party
/// regulatory `regulatory`, and the rest of the total `other` (so the kinds always add up to the total).
fn fees(r: &OwnedRecord, style: NumStyle) -> Result<Vec<(FeeKind, Decimal)>, String> {
    let total = -amount(r, COMM, style)?;
    let parts = [BROKER_EXEC, BROKER_CLEAR, THIRD_EXEC, THIRD_CLEAR, THIRD_REG, OTHER_COMM];
    if parts.iter().all(|c| r.get(*c).is_empty()) {
        return Ok(vec![(FeeKind::Commission, total)]);
    }
    let commission = -(amount(r, BROKER_EXEC, style)? + amount(r, BROKER_CLEAR, style)?);
    let exchange = -(amount(r, THIRD_EXEC, style)? + amount(r, THIRD_CLEAR, style)?);
    let regulatory = -amount(r, THIRD_REG, style)?;
    let listed_other = -amount(r, OTHER_COMM, style)?;
    let rest = total - commission - exchange - regulatory - listed_other;
    Ok(vec![
        (FeeKind::Commission, commission),
        (FeeKind::Exchange, exchange),
        (FeeKind::Regulatory, regulatory),
        (FeeKind::Other, listed_other + rest),
    ])
}

fn parse_date(s: &str, fmt: Option<&str>) -> Option<NaiveDate> {
    let s = s.trim();
    fmt.and_then(|f| NaiveDate::parse_from_str(s, f).ok())
        .or_else(|| DATES.iter().find_map(|f| NaiveDate::parse_from_str(s, f).ok()))
}

fn right_of(s: &str) -> Option<OptionRight> {
    match s.trim().to_ascii_uppercase().as_str() {
        "C" | "CALL" => Some(OptionRight::Call),
        "P" | "PUT" => Some(OptionRight::Put),
        _ => None,
    }
}

fn instrument(r: &OwnedRecord, date_fmt: Option<&str>, t: &ReadTime) -> Result<(AssetClass, Instrument), String> {
    let asset = r.get(ASSET).trim().to_ascii_uppercase();
    let symbol = r.get(SYMBOL).into_owned();
    if symbol.trim().is_empty() {
        return Err("Symbol: empty".to_string());
    }
    let trade_year = t.utc.year();
    let option_parts = || -> Option<(String, NaiveDate, OptionRight, Decimal)> {
        let expiry = parse_date(&r.get(EXPIRY), date_fmt)?;
        let right = right_of(&r.get(PUTCALL))?;
        let strike = num::parse(&r.get(STRIKE), NumStyle::POINT).ok()?;
        Some((r.get(UNDERLYING).trim().to_string(), expiry, right, strike))
    };
    Ok(match asset.as_str() {
        "STK" | "ETF" | "ADR" => (AssetClass::Stock, Instrument::stock(&symbol)),
        "OPT" => {
            let parts = option_parts()
                .filter(|(u, ..)| !u.is_empty())
                .or_else(|| parse_occ(&symbol).map(|p| (p.root, p.expiry, p.right, p.strike)));
            let (u, expiry, right, strike) = parts.ok_or_else(|| {
                format!("Symbol: {symbol:?} is an option without Expiry/Put/Call/Strike or an OCC symbol")
            })?;
            (AssetClass::Option, Instrument::option(&u, expiry, right, strike, &symbol))
        }
        "FUT" => {
            if let Some((root, y, m)) = parse_future_code(&symbol, trade_year) {
                (AssetClass::Future, Instrument::future(&root, y, m, &symbol))
            } else {
                let root = r.get(UNDERLYING).trim().to_string();
                let expiry = parse_date(&r.get(EXPIRY), date_fmt)
                    .ok_or_else(|| format!("Symbol: {symbol:?} is a future without a month code or an Expiry"))?;
                let root = if root.is_empty() { symbol.trim().to_string() } else { root };
                (AssetClass::Future, Instrument::future(&root, expiry.year(), expiry.month(), &symbol))
            }
        }
        "FOP" | "FSFOP" => {
            let (u, expiry, right, strike) = option_parts()
                .ok_or_else(|| format!("Symbol: {symbol:?} is a future option without Expiry/Put/Call/Strike"))?;
            let contract = parse_future_code(&u, trade_year);
            let root = contract.as_ref().map(|c| c.0.clone()).unwrap_or_else(|| u.clone());
            let root = if root.is_empty() { symbol.split_whitespace().next().unwrap_or("").to_string() } else { root };
            (
                AssetClass::FutureOption,
                Instrument::future_option(&root, contract.map(|c| (c.1, c.2)), expiry, right, strike, &symbol),
            )
        }
        "CASH" => {
            let pair = crate::symbols::forex_pair(&symbol).unwrap_or_else(|| symbol.trim().to_string());
            (AssetClass::Forex, Instrument::forex(&pair, &symbol))
        }
        "CRYPTO" => (AssetClass::Crypto, Instrument::simple(AssetClass::Crypto, &symbol, &symbol)),
        "BOND" | "BILL" | "TBILL" => (AssetClass::Bond, Instrument::simple(AssetClass::Bond, &symbol, &symbol)),
        "CFD" => (AssetClass::Cfd, Instrument::simple(AssetClass::Cfd, &symbol, &symbol)),
        "" => return Err("AssetClass: empty".to_string()),
        _ => (AssetClass::Other, Instrument::simple(AssetClass::Other, &symbol, &symbol)),
    })
}

fn multiplier(ctx: &Ctx<'_>, r: &OwnedRecord, class: AssetClass, ins: &Instrument) -> Result<Decimal, String> {
    if let Some(m) = num::parse_opt(&r.get(MULT), NumStyle::POINT).map_err(|e| format!("Multiplier: {e}"))? {
        if m > Decimal::ZERO {
            return Ok(m);
        }
    }
    Ok(match class {
        AssetClass::Option => Decimal::ONE_HUNDRED,
        AssetClass::Future | AssetClass::FutureOption => {
            let root = ins.future_root.clone().unwrap_or_default();
            ctx.multiplier(&[&ins.broker_symbol, &root]).or_else(|| futures_multiplier(&root)).ok_or_else(|| {
                format!("Multiplier: empty, and {root:?} is not in the futures table; add it to contract_multipliers")
            })?
        }
        _ => Decimal::ONE,
    })
}

/// Keep the highest version of each versioned execution id; the keeper names the version before it.
pub fn resolve_corrections(ctx: &mut Ctx<'_>) {
    let mut best: HashMap<(std::sync::Arc<str>, String), (u32, usize)> = HashMap::new();
    for (i, f) in ctx.out.fills.iter().enumerate() {
        if let Some((base, v)) = f.broker_exec_id.as_deref().and_then(split_exec_version) {
            let key = (f.broker_account.clone(), base.to_string());
            let e = best.entry(key).or_insert((v, i));
            if v > e.0 {
                *e = (v, i);
            }
        }
    }
    let mut drop = vec![false; ctx.out.fills.len()];
    let mut notes: Vec<(usize, String)> = Vec::new();
    for (i, f) in ctx.out.fills.iter().enumerate() {
        if let Some((base, v)) = f.broker_exec_id.as_deref().and_then(split_exec_version) {
            if let Some(&(top, keep)) = best.get(&(f.broker_account.clone(), base.to_string())) {
                if v < top {
                    drop[i] = true;
                    notes.push((
                        keep,
                        format!(
                            "replaces execution {} (line {}) from this file",
                            f.broker_exec_id.clone().unwrap_or_default(),
                            f.line
                        ),
                    ));
                }
            }
        }
    }
    for (keep, note) in notes {
        if let Some(f) = ctx.out.fills.get_mut(keep) {
            f.warnings.push(note);
        }
    }
    for f in ctx.out.fills.iter_mut() {
        if let Some((base, v)) = f.broker_exec_id.as_deref().and_then(split_exec_version) {
            if v > 1 {
                f.correction_of = Some(format!("{base}.{:02}", v - 1));
            }
        }
    }
    let mut i = 0;
    ctx.out.fills.retain(|_| {
        let keep = !drop[i];
        i += 1;
        keep
    });
}

/// Turn a CSV row into an owned record by the header of its section.
fn owned<R: Read>(
    rows: &CsvRows<R>,
    header: &Header,
    offset: usize,
    line: u64,
    account_hint: Option<String>,
) -> OwnedRecord {
    let values = header.idx.iter().map(|i| i.map(|i| rows.field(i + offset).into_owned())).collect();
    OwnedRecord { line, values, raw: None, record: Some(rows.rec.clone()), account_hint }
}

/// The Flex CSV parser.
pub fn parse_csv(ctx: &mut Ctx<'_>, stream: &mut dyn Read) -> Result<(), ImportError> {
    let mut rows = CsvRows::new(stream, b',');
    let mut state = FlexState::default();
    let mut sections: HashMap<String, Header> = HashMap::new();
    let mut plain: Option<Header> = None;
    let (mut bof, mut eof) = (false, false);
    let mut account_hint: Option<String> = None;
    let mut first_line: Option<(u64, Vec<String>)> = None;
    let mut wanted_sections = 0usize;
    while rows.advance()? {
        if rows.is_empty() {
            continue;
        }
        let line = rows.line();
        let kind = rows.field(0).to_ascii_uppercase();
        match kind.as_str() {
            "BOF" => {
                bof = true;
                account_hint = Some(rows.field(1).into_owned()).filter(|a| !a.is_empty());
                continue;
            }
            "BOA" => {
                account_hint = Some(rows.field(1).into_owned()).filter(|a| !a.is_empty());
                continue;
            }
            "EOF" => {
                eof = true;
                continue;
            }
            "BOS" | "EOS" | "EOA" => continue,
            "HEADER" => {
                let section = rows.field(1).to_ascii_uppercase();
                if section == "TRNT" || section == "TCNF" {
                    let found: Vec<String> = (2..rows.len()).map(|i| rows.field(i).into_owned()).collect();
                    let h = table::require(ctx.format, line, &found, COLS, EXPECTED)?;
                    sections.insert(section, h);
                    wanted_sections += 1;
                }
                continue;
            }
            "DATA" => {
                let section = rows.field(1).to_ascii_uppercase();
                match sections.get(&section) {
                    Some(h) => {
                        ctx.incomplete_last = (rows.len() < h.width + 2)
                            .then(|| (line, format!("the last row has {} of {} fields", rows.len(), h.width + 2)));
                        if rows.len() < h.required_width + 2 {
                            ctx.out.reject(
                                line,
                                format!("row has {} fields; the header has {}", rows.len(), h.width + 2),
                                &rows.raw(),
                            )?;
                            continue;
                        }
                        let rec = owned(&rows, h, 2, line, account_hint.clone());
                        state.push(ctx, rec)?;
                    }
                    None if section == "TRNT" || section == "TCNF" => {
                        ctx.out.reject(line, format!("a {section} DATA row before its HEADER row"), &rows.raw())?;
                    }
                    None => ctx.out.skip(line)?,
                }
                continue;
            }
            _ => {}
        }
        // A plain Flex CSV: a header row of names (several when several sections are in one file).
        let fields = rows.fields();
        if first_line.is_none() {
            first_line = Some((line, fields.clone()));
        }
        let (hits, _) = table::overlap(&fields, COLS);
        if hits >= 4 && fields.iter().any(|f| table::norm(f) == "symbol") {
            let (h, missing) = table::match_header(&fields, COLS);
            if missing.is_empty() {
                plain = Some(h);
                wanted_sections += 1;
                continue;
            }
            if fields
                .iter()
                .any(|f| ["quantity", "tradeprice", "datetime", "buysell"].contains(&table::norm(f).as_str()))
            {
                return Err(table::require(ctx.format, line, &fields, COLS, EXPECTED)
                    .err()
                    .unwrap_or(ImportError::Malformed { line, detail: "header".into() }));
            }
            // A header of another section (cash, positions): its rows are not trades.
            plain = None;
            continue;
        }
        match &plain {
            Some(h) => {
                let h = h.clone();
                if !super::row_ok(ctx, &rows, &h)? {
                    continue;
                }
                let rec = owned(&rows, &h, 0, line, account_hint.clone());
                state.push(ctx, rec)?;
            }
            None if wanted_sections == 0 && line >= crate::input::HEADER_SEARCH_LINES => break,
            None => ctx.out.skip(line)?,
        }
    }
    if wanted_sections == 0 {
        return Err(ImportError::HeaderNotFound {
            format: ctx.format,
            lines: crate::input::HEADER_SEARCH_LINES,
            expected: EXPECTED.to_string(),
            found: first_line.map(|(_, f)| crate::input::truncate_raw(&f.join(","))),
        });
    }
    if bof && !eof {
        return Err(ImportError::Truncated {
            line: rows.line(),
            detail: "the Flex file has a BOF record but no EOF record: it was cut off".into(),
        });
    }
    state.finish(ctx)
}
