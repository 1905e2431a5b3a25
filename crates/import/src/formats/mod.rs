//! One module per export layout, and what they share: turning a row's pieces into a [`NormalizedFill`]
//! with the same checks everywhere.

use std::io::Read;

use chrono::NaiveDate;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use trenddojo_domain::Side;

use crate::error::ImportError;
use crate::input::Collector;
use crate::model::{
    AssetClass, FeeKind, FormatId, ImportOptions, Instrument, NormalizedFill, PositionEffect, TradeHints,
};
use crate::time::ReadTime;

pub mod generic;
pub mod ibkr;
pub mod ibkr_activity;
pub mod ibkr_xml;
pub mod mt5;
pub mod schwab;
pub mod tastytrade;
pub mod tradovate;
pub mod trenddojo;
pub mod webull;

/// What every parser gets.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub format: FormatId,
    pub opts: &'a ImportOptions,
    pub tz: Tz,
    pub out: Collector,
    /// Set while the last row read was short of fields (cleared by the next row): if the file also ends
    /// without a line break, the file was cut off mid-row.
    pub incomplete_last: Option<(u64, String)>,
}

impl<'a> Ctx<'a> {
    pub fn new(format: FormatId, opts: &'a ImportOptions, tz: Tz) -> Self {
        Ctx { format, opts, tz, out: Collector::new(format), incomplete_last: None }
    }

    /// The account from the file, else the caller's default, else an error naming the setting.
    pub fn account(&self, from_file: Option<&str>) -> Result<String, ImportError> {
        if let Some(a) = from_file.map(str::trim).filter(|a| !a.is_empty()) {
            return Ok(a.to_string());
        }
        match self.opts.default_account.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => Ok(a.to_string()),
            None => Err(ImportError::MissingSetting {
                setting: "default_account",
                reason: format!("a {} names no broker account; say which account it is", self.format.label()),
            }),
        }
    }

    /// A multiplier from the caller's table (by any of `names`), else the built-in futures table.
    pub fn multiplier(&self, names: &[&str]) -> Option<Decimal> {
        names
            .iter()
            .find_map(|n| {
                self.opts.contract_multipliers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n.trim())).map(|(_, v)| *v)
            })
            .or_else(|| names.iter().find_map(|n| crate::symbols::futures_multiplier(n.trim())))
    }
}

/// A fill's pieces before the shared checks.
#[derive(Debug)]
pub struct Draft {
    pub account: String,
    pub exec_id: Option<String>,
    pub order_id: Option<String>,
    pub asset_class: AssetClass,
    pub instrument: Instrument,
    pub multiplier: Decimal,
    pub side: Side,
    pub quantity: Decimal,
    pub price: Decimal,
    pub fees: Vec<(FeeKind, Decimal)>,
    pub currency: String,
    pub position_effect: Option<PositionEffect>,
    pub raw_time: String,
    pub time: ReadTime,
    pub line: u64,
}

impl Draft {
    /// Check and normalize. The error is the rejection reason.
    pub fn finish(self, format: FormatId) -> Result<NormalizedFill, String> {
        if self.quantity <= Decimal::ZERO {
            return Err(format!("quantity: must be positive, got {}", self.quantity));
        }
        if self.price <= Decimal::ZERO {
            return Err(format!("price: must be positive, got {}", self.price));
        }
        if self.multiplier <= Decimal::ZERO {
            return Err(format!("multiplier: must be positive, got {}", self.multiplier));
        }
        let currency = self.currency.trim().to_ascii_uppercase();
        if currency.is_empty() {
            return Err("currency: empty".to_string());
        }
        Ok(NormalizedFill {
            broker: format.broker().into(),
            broker_account: self.account.into(),
            broker_exec_id: self.exec_id.filter(|s| !s.is_empty()),
            order_id: self.order_id.filter(|s| !s.is_empty()),
            asset_class: self.asset_class,
            instrument: std::sync::Arc::new(self.instrument),
            multiplier: self.multiplier.normalize(),
            side: self.side,
            quantity: self.quantity.normalize(),
            price: self.price.normalize(),
            fees: normalize_fees(self.fees),
            currency: currency.into(),
            position_effect: self.position_effect,
            raw_time: self.raw_time,
            time_zone: self.time.zone.into(),
            executed_at: self.time.utc,
            line: self.line,
            occurrence: 0,
            fingerprint: String::new(),
            correction_of: None,
            trade_hints: None::<Box<TradeHints>>,
            warnings: self.time.warning.into_iter().collect(),
        })
    }
}

/// Sum per kind, drop zeros, order by kind.
pub fn normalize_fees(list: Vec<(FeeKind, Decimal)>) -> Vec<(FeeKind, Decimal)> {
    let mut out: Vec<(FeeKind, Decimal)> = Vec::new();
    for (k, a) in list {
        match out.iter_mut().find(|(kk, _)| *kk == k) {
            Some((_, sum)) => *sum = sum.saturating_add(a),
            None => out.push((k, a)),
        }
    }
    out.retain(|(_, a)| !a.is_zero());
    for (_, a) in out.iter_mut() {
        *a = a.normalize();
    }
    out.sort_by_key(|(k, _)| *k);
    out
}

/// `buy`/`sell` from the many words brokers use.
pub fn side_word(s: &str) -> Option<Side> {
    let t = s.trim().to_ascii_uppercase();
    let t = t.split([' ', '(']).next().unwrap_or("");
    match t {
        "BUY" | "B" | "BOT" | "BOUGHT" | "BUY_TO_OPEN" | "BUY_TO_CLOSE" | "BTO" | "BTC" | "LONG" | "COVER" | "BC" => {
            Some(Side::Buy)
        }
        "SELL" | "S" | "SLD" | "SOLD" | "SELL_TO_OPEN" | "SELL_TO_CLOSE" | "STO" | "STC" | "SHORT" | "SS"
        | "SELL_SHORT" => Some(Side::Sell),
        _ => None,
    }
}

/// A date in a futures/option context when only the trade instant is known.
pub fn trade_date(t: &ReadTime) -> NaiveDate {
    t.utc.date_naive()
}

/// Run the parser of a text format over `stream`.
pub fn run(ctx: &mut Ctx<'_>, stream: &mut dyn Read) -> Result<(), ImportError> {
    match ctx.format {
        FormatId::IbkrFlexCsv => ibkr::parse_csv(ctx, stream),
        FormatId::IbkrFlexXml => ibkr_xml::parse(ctx, stream),
        FormatId::IbkrActivityCsv => ibkr_activity::parse(ctx, stream),
        FormatId::Schwab => schwab::parse(ctx, stream),
        FormatId::TradovateFills => tradovate::parse_fills(ctx, stream),
        FormatId::TradovateOrders => tradovate::parse_orders(ctx, stream),
        FormatId::TradovatePerformance => tradovate::parse_performance(ctx, stream),
        FormatId::Mt5Html => mt5::parse_html(ctx, stream),
        FormatId::Tastytrade => tastytrade::parse(ctx, stream),
        FormatId::Webull => webull::parse(ctx, stream),
        FormatId::Generic => generic::parse(ctx, stream),
        FormatId::TrendDojo => trenddojo::parse(ctx, stream),
        FormatId::Mt5Xlsx => Err(ImportError::InvalidSetting {
            setting: "format",
            reason: "an XLSX report is read from bytes, not a text stream".into(),
        }),
    }
}

/// Read a header at the first line of a simple one-table CSV (skipping blank lines and up to
/// [`crate::input::HEADER_SEARCH_LINES`] lines of preamble that do not look like it).
pub fn find_header<R: Read>(
    ctx: &Ctx<'_>,
    rows: &mut crate::table::CsvRows<R>,
    cols: &[crate::table::Col],
    expected: &str,
) -> Result<crate::table::Header, ImportError> {
    let mut first: Option<(u64, Vec<String>)> = None;
    let mut best: Option<(usize, u64, Vec<String>)> = None;
    while rows.advance()? {
        if rows.is_empty() {
            continue;
        }
        let fields = rows.fields();
        let line = rows.line();
        if first.is_none() {
            first = Some((line, fields.clone()));
        }
        let (hit, _) = crate::table::overlap(&fields, cols);
        let (h, missing) = crate::table::match_header(&fields, cols);
        if missing.is_empty() {
            return Ok(h);
        }
        if hit >= 2 && best.as_ref().is_none_or(|(b, _, _)| hit > *b) {
            best = Some((hit, line, fields));
        }
        if line >= crate::input::HEADER_SEARCH_LINES {
            break;
        }
    }
    // The closest header names what is missing; with none close, say what was there.
    let not_found = ImportError::HeaderNotFound {
        format: ctx.format,
        lines: crate::input::HEADER_SEARCH_LINES,
        expected: expected.to_string(),
        found: first.map(|(_, f)| crate::input::truncate_raw(&f.join(","))),
    };
    match best {
        // `require` on a header known to miss columns errs, naming them.
        Some((_, line, fields)) => {
            Err(crate::table::require(ctx.format, line, &fields, cols, expected).err().unwrap_or(not_found))
        }
        None => Err(not_found),
    }
}

/// Whether the current row has the header's required columns; a short row is rejected (and remembered: a
/// short *last* row in a file without a final line break is a truncated file).
pub fn row_ok<R: Read>(
    ctx: &mut Ctx<'_>,
    rows: &crate::table::CsvRows<R>,
    header: &crate::table::Header,
) -> Result<bool, ImportError> {
    let n = rows.len();
    ctx.incomplete_last = (n < header.width)
        .then(|| (rows.line(), format!("the last row has {n} of the header's {} fields", header.width)));
    if n < header.required_width {
        let reason = format!("row has {n} fields; the header has {}", header.width);
        ctx.out.reject(rows.line(), reason, &rows.raw())?;
        return Ok(false);
    }
    Ok(true)
}
