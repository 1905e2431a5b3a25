//! A CSV of executions read through a user's [`ColumnMapping`].
//!
//! The date/time format is the mapping's, or detected from the first 256 rows among common spellings
//! (ISO, `dd.mm.yyyy`, `mm/dd/yyyy`, `dd/mm/yyyy`, with or without seconds; month-first wins a tie).
//! Dedupe is by the execution id column when mapped, otherwise by fingerprint.

use std::io::Read;

use chrono::Datelike;
use rust_decimal::Decimal;
use trenddojo_domain::Side;

use super::{side_word, Ctx, Draft};
use crate::error::ImportError;
use crate::mapping::ColumnMapping;
use crate::model::{AssetClass, FeeKind, Instrument};
use crate::num::{self, NumStyle};
use crate::symbols::{forex_pair, parse_future_code, parse_occ};
use crate::table::{self, CsvRows};
use crate::time;

const AUTO_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%y %H:%M:%S",
    "%d-%m-%Y %H:%M:%S",
    "%Y%m%d %H%M%S",
    "%Y%m%d;%H%M%S",
    "%Y-%m-%d",
    "%d.%m.%Y",
    "%m/%d/%Y",
    "%d/%m/%Y",
];

// Column slots, in this order.
const SYMBOL: usize = 0;
const QTY: usize = 1;
const PRICE: usize = 2;
const SIDE: usize = 3;
const AT: usize = 4;
const DATE: usize = 5;
const TIME: usize = 6;
const ACCOUNT: usize = 7;
const EXEC: usize = 8;
const ORDER: usize = 9;
const CURRENCY: usize = 10;
const MULT: usize = 11;
const COMM: usize = 12;
const EXCH: usize = 13;
const REG: usize = 14;
const OTHER: usize = 15;

fn names(m: &ColumnMapping) -> Vec<(Option<String>, bool)> {
    let c = &m.columns;
    let o = |v: &Option<String>| (v.clone(), false);
    vec![
        (Some(c.symbol.clone()), true),
        (Some(c.quantity.clone()), true),
        (Some(c.price.clone()), true),
        o(&c.side),
        o(&c.executed_at),
        o(&c.date),
        o(&c.time),
        o(&c.account),
        o(&c.execution_id),
        o(&c.order_id),
        o(&c.currency),
        o(&c.multiplier),
        o(&c.commission),
        o(&c.exchange_fee),
        o(&c.regulatory_fee),
        o(&c.other_fee),
    ]
}

struct Pending {
    line: u64,
    values: Vec<String>,
    raw: String,
}

pub fn parse(ctx: &mut Ctx<'_>, stream: &mut dyn Read) -> Result<(), ImportError> {
    let mapping = ctx.opts.mapping.clone().ok_or_else(|| ImportError::MissingSetting {
        setting: "mapping",
        reason: "the generic format needs a column mapping".into(),
    })?;
    mapping.validate()?;
    // The mapping's names are user text, so they are matched here with the same normalization as `table`.
    let wanted = names(&mapping);
    let expected: String =
        wanted.iter().filter_map(|(n, _)| n.clone()).collect::<Vec<_>>().join(&mapping.delimiter.to_string());
    let mut rows = CsvRows::new(stream, mapping.delimiter as u8);
    let mut idx: Option<Vec<Option<usize>>> = None;
    let mut width = 0;
    let mut first: Option<(u64, Vec<String>)> = None;
    while rows.advance()? {
        if rows.is_empty() {
            continue;
        }
        let fields = rows.fields();
        let normed: Vec<String> = fields.iter().map(|f| table::norm(f)).collect();
        let found: Vec<Option<usize>> = wanted
            .iter()
            .map(|(n, _)| n.as_ref().and_then(|n| normed.iter().position(|f| *f == table::norm(n))))
            .collect();
        let missing: Vec<String> = wanted
            .iter()
            .zip(&found)
            .filter(|((n, _), f)| n.is_some() && f.is_none())
            .filter_map(|((n, _), _)| n.clone())
            .collect();
        if missing.is_empty() {
            width = fields.len();
            idx = Some(found);
            break;
        }
        let hits = found.iter().filter(|f| f.is_some()).count();
        if hits >= 2 {
            return Err(ImportError::HeaderMismatch {
                format: ctx.format,
                line: rows.line(),
                missing: missing.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", "),
                found: fields.join(&mapping.delimiter.to_string()),
                expected,
            });
        }
        if first.is_none() {
            first = Some((rows.line(), fields));
        }
        if rows.line() >= crate::input::HEADER_SEARCH_LINES {
            break;
        }
    }
    let Some(idx) = idx else {
        return Err(ImportError::HeaderNotFound {
            format: ctx.format,
            lines: crate::input::HEADER_SEARCH_LINES,
            expected,
            found: first.map(|(_, f)| crate::input::truncate_raw(&f.join(","))),
        });
    };
    let required_width = idx.iter().take(3).flatten().max().map(|m| m + 1).unwrap_or(0);
    let header = table::Header { idx: idx.clone(), width, required_width };
    let mut fmt: Option<String> = mapping.datetime_format.clone();
    let mut pending: Vec<Pending> = Vec::new();
    let style = NumStyle { decimal_comma: mapping.decimal_comma };
    while rows.advance()? {
        if rows.is_empty() || !super::row_ok(ctx, &rows, &header)? {
            continue;
        }
        let values: Vec<String> =
            idx.iter().map(|i| i.map(|i| rows.field(i).into_owned()).unwrap_or_default()).collect();
        pending.push(Pending { line: rows.line(), values, raw: rows.raw() });
        if fmt.is_none() && pending.len() < 256 {
            continue;
        }
        let f = fmt.get_or_insert_with(|| detect(&pending)).clone();
        for p in pending.drain(..) {
            row(ctx, &mapping, &f, style, p)?;
        }
    }
    let f = fmt.unwrap_or_else(|| detect(&pending));
    for p in pending.drain(..) {
        row(ctx, &mapping, &f, style, p)?;
    }
    Ok(())
}

fn time_text(v: &[String]) -> String {
    if !v[AT].is_empty() {
        v[AT].clone()
    } else if v[TIME].is_empty() {
        v[DATE].clone()
    } else {
        format!("{} {}", v[DATE], v[TIME])
    }
}

fn detect(pending: &[Pending]) -> String {
    let samples: Vec<String> = pending.iter().map(|p| time_text(&p.values)).collect();
    time::detect_format(&samples, AUTO_FORMATS).unwrap_or(AUTO_FORMATS[0]).to_string()
}

fn row(ctx: &mut Ctx<'_>, m: &ColumnMapping, fmt: &str, style: NumStyle, p: Pending) -> Result<(), ImportError> {
    let account = match p.values.get(ACCOUNT).filter(|a| !a.is_empty()) {
        Some(a) => a.clone(),
        None => ctx.account(None)?,
    };
    match fill(ctx, m, fmt, style, &p, account) {
        Ok(f) => {
            ctx.out.push(f);
            Ok(())
        }
        Err(reason) => ctx.out.reject(p.line, reason, &p.raw),
    }
}

fn fill(
    ctx: &Ctx<'_>,
    m: &ColumnMapping,
    fmt: &str,
    style: NumStyle,
    p: &Pending,
    account: String,
) -> Result<crate::model::NormalizedFill, String> {
    let v = &p.values;
    let col = |slot: usize| -> String {
        let n = names(m);
        n[slot].0.clone().unwrap_or_default()
    };
    let qty = num::parse(&v[QTY], style).map_err(|e| format!("{}: {e}", col(QTY)))?;
    let side = if m.columns.side.is_some() {
        let w = v[SIDE].trim();
        if m.buy_words.iter().any(|b| b.eq_ignore_ascii_case(w)) {
            Side::Buy
        } else if m.sell_words.iter().any(|s| s.eq_ignore_ascii_case(w)) {
            Side::Sell
        } else {
            side_word(w).ok_or_else(|| {
                format!("{}: {w:?} is not a buy or sell word (add it to buy_words or sell_words)", col(SIDE))
            })?
        }
    } else if qty > Decimal::ZERO {
        Side::Buy
    } else if qty < Decimal::ZERO {
        Side::Sell
    } else {
        return Err(format!("{}: zero", col(QTY)));
    };
    let price = num::parse(&v[PRICE], style).map_err(|e| format!("{}: {e}", col(PRICE)))?;
    let raw_time = time_text(v);
    let t = time::read_time(&raw_time, &[fmt], ctx.tz)?;
    let fee = |slot: usize, kind: FeeKind| -> Result<(FeeKind, Decimal), String> {
        let a = num::parse_opt(&v[slot], style).map_err(|e| format!("{}: {e}", col(slot)))?.unwrap_or_default();
        Ok((kind, if m.fees_negative { -a } else { a }))
    };
    let fees = vec![
        fee(COMM, FeeKind::Commission)?,
        fee(EXCH, FeeKind::Exchange)?,
        fee(REG, FeeKind::Regulatory)?,
        fee(OTHER, FeeKind::Other)?,
    ];
    let symbol = v[SYMBOL].clone();
    let class = m.asset_class.unwrap_or(AssetClass::Stock);
    let (class, ins) = match class {
        AssetClass::Future => {
            let (root, y, mo) = parse_future_code(&symbol, t.utc.year())
                .ok_or_else(|| format!("{}: {symbol:?} is not a futures contract such as ESH6", col(SYMBOL)))?;
            (AssetClass::Future, Instrument::future(&root, y, mo, &symbol))
        }
        AssetClass::Forex => {
            let pair = forex_pair(&symbol).unwrap_or_else(|| symbol.trim().to_string());
            (AssetClass::Forex, Instrument::forex(&pair, &symbol))
        }
        AssetClass::Stock | AssetClass::Option => match parse_occ(&symbol) {
            Some(o) => (AssetClass::Option, Instrument::option(&o.root, o.expiry, o.right, o.strike, &symbol)),
            None => (AssetClass::Stock, Instrument::stock(&symbol)),
        },
        other => (other, Instrument::simple(other, &symbol, &symbol)),
    };
    let multiplier = match num::parse_opt(&v[MULT], style).map_err(|e| format!("{}: {e}", col(MULT)))? {
        Some(x) => x,
        None => match class {
            AssetClass::Option => Decimal::ONE_HUNDRED,
            AssetClass::Future => {
                let root = ins.future_root.clone().unwrap_or_default();
                ctx.multiplier(&[&symbol, &root]).ok_or_else(|| format!("multiplier: {root:?} is not in the futures table; map a multiplier column or add it to contract_multipliers"))?
            }
            _ => ctx.multiplier(&[&symbol]).unwrap_or(Decimal::ONE),
        },
    };
    let currency =
        if v[CURRENCY].is_empty() { m.currency.clone().unwrap_or_else(|| "USD".into()) } else { v[CURRENCY].clone() };
    let mut f = Draft {
        account,
        exec_id: Some(v[EXEC].clone()),
        order_id: Some(v[ORDER].clone()),
        asset_class: class,
        instrument: ins,
        multiplier,
        side,
        quantity: qty.abs(),
        price,
        fees,
        currency,
        position_effect: None,
        raw_time,
        time: t,
        line: p.line,
    }
    .finish(ctx.format)?;
    f.broker = m.name.as_str().into();
    Ok(f)
}
