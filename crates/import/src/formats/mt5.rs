//! MetaTrader 5 Trade History Report, HTML and XLSX (terminal: History → Report).
//!
//! The report is one table: a preamble (`Name:`, `Account: 12345678 (USD, Broker-Server, real, Hedge)`,
//! `Company:`, `Date:`), then titled sections (`Positions`, `Orders`, `Deals`, `Summary`…). Fills are the
//! `Deals` rows: `Time, Deal, Symbol, Type, Direction, Volume, Price, Order, Commission, Fee, Swap, Profit,
//! Balance, Comment`. Only `buy`/`sell` deals are executions (a `balance` or `credit` row is a deposit);
//! `Direction` is `in`, `out`, `in/out` (a reversal: one deal closes and opens, so its volume crosses zero
//! and trade grouping splits it) or `out by` (closed by an opposite position).
//!
//! Volumes are lots: the fill's quantity is the lot count and its multiplier the contract size per lot, from
//! `contract_multipliers` (by the symbol as written, then without suffix) or the built-in defaults (a
//! six-letter currency pair 100,000, `XAU…` 100, `XAG…` 5,000); a symbol with neither is rejected, naming
//! the setting, because a guessed contract size makes every P&L wrong. Symbols lose the broker's suffix
//! (`EURUSD.m` -> `EURUSD`) so trades of two brokers group alike. Numbers use a space (or no-break space)
//! between thousands (`10 000.00`).
//!
//! Times are the broker *server's* wall clock (often EET/EEST), which the report does not name: the
//! statement zone must be given (`statement_tz`) and there is no default.
//!
//! The HTML (usually UTF-16) is scanned row by row as it streams, never held whole. The XLSX is a ZIP that
//! must be read whole (the central directory is at its end), so it is capped at [`XLSX_LIMIT`]; its cells are
//! read from the sheet XML as the decimal text Excel stored, never through a float.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

use super::{side_word, Ctx, Draft};
use crate::error::ImportError;
use crate::model::{AssetClass, FeeKind, Instrument, PositionEffect};
use crate::num::{self, NumStyle};
use crate::symbols::{forex_pair, mt5_base};
use crate::table::{self, opt, req, Col, Header};
use crate::time;

pub const COLS: &[Col] = &[
    req(&["Time"]),
    req(&["Deal"]),
    req(&["Symbol"]),
    req(&["Type"]),
    req(&["Direction"]),
    req(&["Volume"]),
    req(&["Price"]),
    opt(&["Order"]),
    opt(&["Commission"]),
    opt(&["Fee"]),
    opt(&["Swap"]),
];
pub const EXPECTED: &str =
    "Time,Deal,Symbol,Type,Direction,Volume,Price,Order,Commission,Fee,Swap,Profit,Balance,Comment";

/// Largest XLSX read (compressed).
pub const XLSX_LIMIT: u64 = 64 * 1024 * 1024;
/// How far into an HTML file a table row must appear.
const HTML_PREAMBLE_LIMIT: usize = 1024 * 1024;
/// Longest HTML row.
const HTML_ROW_LIMIT: usize = 4 * 1024 * 1024;

const FORMATS: &[&str] = &["%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y-%m-%d %H:%M:%S"];

#[derive(Debug)]
enum Stage {
    Preamble,
    DealsTitle,
    Deals(Header),
    Done,
}

/// The report's rows in order, from either container.
#[derive(Debug)]
pub struct Mt5State {
    stage: Stage,
    account: Option<String>,
    currency: Option<String>,
    first: Option<String>,
    /// Rows read, and whether any looked like a report (a known title or the `Account:` line).
    rows: u64,
    recognised: bool,
}

impl Default for Mt5State {
    fn default() -> Self {
        Mt5State { stage: Stage::Preamble, account: None, currency: None, first: None, rows: 0, recognised: false }
    }
}

const TITLES: &[&str] =
    &["Positions", "Orders", "Deals", "Summary", "Results", "Open Positions", "Working Orders", "Trade History Report"];

impl Mt5State {
    pub fn row(&mut self, ctx: &mut Ctx<'_>, cells: Vec<String>, line: u64) -> Result<(), ImportError> {
        let non_empty: Vec<&String> = cells.iter().filter(|c| !c.is_empty()).collect();
        if non_empty.is_empty() {
            return Ok(());
        }
        if self.first.is_none() {
            self.first = Some(cells.join(","));
        }
        let title = (non_empty.len() == 1).then(|| non_empty[0].as_str()).filter(|t| TITLES.contains(t));
        self.rows += 1;
        if title.is_some() || non_empty.first().is_some_and(|k| k.trim_end_matches(':') == "Account") {
            self.recognised = true;
        }
        // A report names itself within its first rows; a table that does not is not one (and may be endless).
        if !self.recognised && self.rows > crate::input::HEADER_SEARCH_LINES {
            return Err(ImportError::HeaderNotFound {
                format: ctx.format,
                lines: line,
                expected: format!("a Trade History Report with a \"Deals\" section ({EXPECTED})"),
                found: self.first.clone().map(|f| crate::input::truncate_raw(&f)),
            });
        }
        match &self.stage {
            Stage::Preamble | Stage::DealsTitle if title == Some("Deals") => self.stage = Stage::DealsTitle,
            Stage::Preamble => {
                if let (Some(k), Some(v)) = (non_empty.first(), non_empty.get(1)) {
                    if k.trim_end_matches(':') == "Account" {
                        // `12345678 (USD, MetaQuotes-Demo, demo, Hedge)`
                        self.account = v.split_whitespace().next().map(str::to_string);
                        self.currency = v
                            .split_once('(')
                            .and_then(|(_, rest)| rest.split([',', ')']).next())
                            .map(|c| c.trim().to_string())
                            .filter(|c| c.len() == 3);
                    }
                }
            }
            Stage::DealsTitle => {
                let h = table::require(ctx.format, line, &cells, COLS, EXPECTED)?;
                self.stage = Stage::Deals(h);
            }
            Stage::Deals(h) => {
                if title.is_some() {
                    self.stage = Stage::Done;
                    return Ok(());
                }
                let h = h.clone();
                self.deal(ctx, &h, &cells, line)?;
            }
            Stage::Done => {}
        }
        Ok(())
    }

    fn deal(&mut self, ctx: &mut Ctx<'_>, h: &Header, cells: &[String], line: u64) -> Result<(), ImportError> {
        let get = |c: usize| h.idx[c].and_then(|i| cells.get(i)).map(|s| s.trim()).unwrap_or("");
        // The totals row and spacer rows have no time and no deal.
        if get(0).is_empty() && get(1).is_empty() {
            return Ok(());
        }
        ctx.incomplete_last = None;
        if cells.len() < h.required_width {
            return ctx.out.reject(
                line,
                format!("row has {} cells; the header has {}", cells.len(), h.width),
                &cells.join(","),
            );
        }
        let kind = get(3).to_ascii_lowercase();
        if kind != "buy" && kind != "sell" {
            return ctx.out.skip(line);
        }
        let account = ctx.account(self.account.as_deref())?;
        let res = (|| {
            let side = side_word(&kind).ok_or("Type")?;
            let raw_time = get(0).to_string();
            let t = time::read_time(&raw_time, FORMATS, ctx.tz)?;
            let volume = num::parse(get(5), NumStyle::POINT).map_err(|e| format!("Volume: {e}"))?;
            let price = num::parse(get(6), NumStyle::POINT).map_err(|e| format!("Price: {e}"))?;
            let cost = |c: usize, name: &str| -> Result<Decimal, String> {
                Ok(-num::parse_opt(get(c), NumStyle::POINT).map_err(|e| format!("{name}: {e}"))?.unwrap_or_default())
            };
            let fees = vec![
                (FeeKind::Commission, cost(8, "Commission")?),
                (FeeKind::Other, cost(9, "Fee")?),
                (FeeKind::Other, cost(10, "Swap")?),
            ];
            let raw_symbol = get(2).to_string();
            if raw_symbol.is_empty() {
                return Err("Symbol: empty".to_string());
            }
            let base = mt5_base(&raw_symbol);
            let (class, ins) = match forex_pair(&base) {
                Some(pair) => (AssetClass::Forex, Instrument::forex(&pair, &raw_symbol)),
                None => (AssetClass::Cfd, Instrument::simple(AssetClass::Cfd, &base.to_ascii_uppercase(), &raw_symbol)),
            };
            let upper = base.to_ascii_uppercase();
            let multiplier = ctx
                .opts
                .contract_multipliers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&raw_symbol) || k.eq_ignore_ascii_case(&base))
                .map(|(_, v)| *v)
                .or_else(|| match class {
                    AssetClass::Forex => Some(Decimal::from(100_000)),
                    _ if upper.starts_with("XAU") => Some(Decimal::ONE_HUNDRED),
                    _ if upper.starts_with("XAG") => Some(Decimal::from(5000)),
                    _ => None,
                })
                .ok_or_else(|| {
                    format!(
                        "multiplier: the contract size of {raw_symbol} is not known; add it to contract_multipliers"
                    )
                })?;
            let effect = match get(4).to_ascii_lowercase().as_str() {
                "in" => Some(PositionEffect::Open),
                "out" => Some(PositionEffect::Close),
                "in/out" | "inout" => Some(PositionEffect::Reverse),
                "out by" | "outby" => Some(PositionEffect::CloseBy),
                other => return Err(format!("Direction: {other:?} is not in, out, in/out or out by")),
            };
            Draft {
                account: account.clone(),
                exec_id: Some(get(1).to_string()),
                order_id: Some(get(7).to_string()),
                asset_class: class,
                instrument: ins,
                multiplier,
                side,
                quantity: volume,
                price,
                fees,
                currency: self.currency.clone().unwrap_or_else(|| "USD".into()),
                position_effect: effect,
                raw_time,
                time: t,
                line,
            }
            .finish(ctx.format)
        })();
        match res {
            Ok(f) => ctx.out.push(f),
            Err(reason) => ctx.out.reject(line, reason, &cells.join(","))?,
        }
        Ok(())
    }

    pub fn finish(self, ctx: &mut Ctx<'_>, line: u64, complete: bool) -> Result<(), ImportError> {
        match self.stage {
            Stage::Preamble | Stage::DealsTitle => Err(ImportError::HeaderNotFound {
                format: ctx.format,
                lines: line,
                expected: format!("a \"Deals\" section with the header {EXPECTED}"),
                found: self.first.map(|f| crate::input::truncate_raw(&f)),
            }),
            Stage::Deals(_) if !complete => Err(ImportError::Truncated {
                line,
                detail: "the report ends inside the Deals table: the file was cut off".into(),
            }),
            _ => {
                if self.currency.is_none() {
                    ctx.out.warn("currency: the report has no Account line naming the currency; USD was used");
                }
                Ok(())
            }
        }
    }
}

fn find_ci(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// Text of an HTML fragment: tags removed, entities decoded, whitespace collapsed.
fn html_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&#160;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .replace('\u{a0}', " ");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cells of one `<tr>…</tr>`, colspans expanded (the text in the first column of the span).
fn html_cells(row: &str) -> Vec<String> {
    let lower = row.to_ascii_lowercase();
    let mut cells = Vec::new();
    let mut i = 0;
    while let Some(start) = [lower[i..].find("<td"), lower[i..].find("<th")].into_iter().flatten().min() {
        let open = i + start;
        let Some(gt) = lower[open..].find('>') else { break };
        let tag = &lower[open..open + gt];
        let body_start = open + gt + 1;
        let end = [
            lower[body_start..].find("</td"),
            lower[body_start..].find("</th"),
            lower[body_start..].find("<td"),
            lower[body_start..].find("<th"),
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|e| body_start + e)
        .unwrap_or(row.len());
        let text = row.get(body_start..end).map(html_text).unwrap_or_default();
        // `hidden` cells (MT5 hides some columns with CSS) still occupy their columns.
        let span = tag
            .split("colspan=")
            .nth(1)
            .map(|v| v.trim_start_matches(['"', '\'']).chars().take_while(char::is_ascii_digit).collect::<String>())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, 64);
        cells.push(text);
        cells.extend(std::iter::repeat_n(String::new(), span - 1));
        i = end;
    }
    cells
}

/// Stream an HTML report row by row.
pub fn parse_html(ctx: &mut Ctx<'_>, stream: &mut dyn Read) -> Result<(), ImportError> {
    let mut state = Mt5State::default();
    let mut buf: Vec<u8> = Vec::with_capacity(128 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut line: u64 = 1;
    let mut consumed: usize = 0;
    let mut seen_row = false;
    let mut eof = false;
    let mut closed = false;
    loop {
        // Take every complete row in the buffer.
        let mut pos = 0;
        while let Some(tr) = find_ci(&buf, b"<tr", pos) {
            let Some(end) = find_ci(&buf, b"</tr", tr) else { break };
            let Some(gt) = buf[end..].iter().position(|b| *b == b'>') else { break };
            let stop = end + gt + 1;
            line += buf[pos..tr].iter().filter(|b| **b == b'\n').count() as u64;
            let row_line = line;
            line += buf[tr..stop].iter().filter(|b| **b == b'\n').count() as u64;
            let text = String::from_utf8_lossy(&buf[tr..stop]).into_owned();
            seen_row = true;
            state.row(ctx, html_cells(&text), row_line)?;
            pos = stop;
        }
        if find_ci(&buf, b"</table", pos).is_some() || find_ci(&buf, b"</html", pos).is_some() {
            closed = true;
        }
        // Keep the unfinished tail (counting the newlines dropped before it).
        let keep_from = find_ci(&buf, b"<tr", pos).unwrap_or(buf.len().saturating_sub(8).max(pos));
        line += buf[pos..keep_from].iter().filter(|b| **b == b'\n').count() as u64;
        consumed += keep_from;
        buf.drain(..keep_from);
        if eof {
            break;
        }
        if !seen_row && consumed + buf.len() > HTML_PREAMBLE_LIMIT {
            return Err(ImportError::HeaderNotFound {
                format: ctx.format,
                lines: line,
                expected: "an HTML table with a Deals section".into(),
                found: None,
            });
        }
        if buf.len() > HTML_ROW_LIMIT {
            return Err(ImportError::Malformed { line, detail: "an HTML table row longer than 4 MiB".into() });
        }
        let n = stream.read(&mut chunk).map_err(crate::input::io_err)?;
        if n == 0 {
            eof = true;
        } else {
            buf.extend_from_slice(&chunk[..n]);
        }
    }
    let truncated_row = find_ci(&buf, b"<tr", 0).is_some();
    state.finish(ctx, line, closed && !truncated_row)
}

/// Column letters of a cell reference (`AB12` -> 27).
fn column_of(r: &str) -> Option<usize> {
    let mut n = 0usize;
    let mut any = false;
    for b in r.bytes().take_while(u8::is_ascii_alphabetic) {
        n = n.checked_mul(26)?.checked_add(usize::from(b.to_ascii_uppercase() - b'A') + 1)?;
        any = true;
    }
    any.then(|| n - 1)
}

/// Excel numbers are doubles written as decimal text; 15 significant digits is what Excel shows, so longer
/// spellings (`1.0854200000000001`) are rounded there, in decimal.
fn excel_number(s: &str) -> String {
    let d = Decimal::from_str_exact(s).or_else(|_| Decimal::from_scientific(s));
    match d {
        Ok(d) => {
            let digits = d.mantissa().unsigned_abs().to_string().trim_start_matches('0').len() as u32;
            let d = if digits > 15 { d.round_sf(15).unwrap_or(d) } else { d };
            crate::model::dec_text(d)
        }
        Err(_) => s.to_string(),
    }
}

/// An Excel serial date-time (days since 1899-12-30) as MT5 text, in decimal arithmetic.
fn excel_serial_time(s: &str) -> Option<String> {
    let d = Decimal::from_str_exact(s).ok()?;
    if d < Decimal::ONE || d > Decimal::from(2_958_465) {
        return None;
    }
    let days = d.trunc();
    let secs = ((d - days) * Decimal::from(86_400)).round();
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let days: i64 = days.to_string().parse().ok()?;
    let secs: i64 = secs.to_string().parse().ok()?;
    let t = base.checked_add_signed(Duration::days(days))?.checked_add_signed(Duration::seconds(secs))?;
    Some(t.format("%Y.%m.%d %H:%M:%S").to_string())
}

fn zip_err(e: impl std::fmt::Display) -> ImportError {
    ImportError::Binary { detail: format!("not a readable XLSX workbook: {e}") }
}

fn read_entry(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Option<Vec<u8>>, ImportError> {
    let mut f = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(zip_err(e)),
    };
    if f.size() > 8 * XLSX_LIMIT {
        return Err(ImportError::TooLarge {
            what: format!("the workbook part {name}"),
            limit_mib: (8 * XLSX_LIMIT) >> 20,
        });
    }
    let mut out = Vec::new();
    f.by_ref().take(8 * XLSX_LIMIT + 1).read_to_end(&mut out).map_err(zip_err)?;
    Ok(Some(out))
}

fn xml_reader(bytes: &[u8]) -> quick_xml::Reader<&[u8]> {
    let mut r = quick_xml::Reader::from_reader(bytes);
    r.config_mut().trim_text(false);
    r
}

fn shared_strings(bytes: &[u8]) -> Result<Vec<String>, ImportError> {
    use quick_xml::events::Event;
    let mut r = xml_reader(bytes);
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    let mut in_t = false;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_event_into(&mut buf).map_err(zip_err)? {
            Event::Start(e) if e.local_name().as_ref() == "si" => cur = Some(String::new()),
            Event::Start(e) if e.local_name().as_ref() == "t" => in_t = true,
            Event::End(e) if e.local_name().as_ref() == "t" => in_t = false,
            Event::End(e) if e.local_name().as_ref() == "si" => out.push(cur.take().unwrap_or_default()),
            Event::Text(t) if in_t => {
                if let Some(c) = cur.as_mut() {
                    c.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(g) if in_t => {
                if let Some(c) = cur.as_mut() {
                    c.push_str(&entity(&g));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

fn entity(name: &str) -> String {
    match name {
        "amp" => "&".into(),
        "lt" => "<".into(),
        "gt" => ">".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        n if n.starts_with("#x") => {
            u32::from_str_radix(&n[2..], 16).ok().and_then(char::from_u32).map(String::from).unwrap_or_default()
        }
        n if n.starts_with('#') => {
            n[1..].parse::<u32>().ok().and_then(char::from_u32).map(String::from).unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// The path of the workbook's first sheet.
fn first_sheet(zip: &mut zip::ZipArchive<Cursor<&[u8]>>) -> Result<String, ImportError> {
    use quick_xml::events::Event;
    let fallback = "xl/worksheets/sheet1.xml".to_string();
    let (Some(wb), Some(rels)) = (read_entry(zip, "xl/workbook.xml")?, read_entry(zip, "xl/_rels/workbook.xml.rels")?)
    else {
        return Ok(fallback);
    };
    let mut rid = None;
    let mut r = xml_reader(&wb);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_event_into(&mut buf).map_err(zip_err)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "sheet" => {
                rid =
                    e.attributes().flatten().find(|a| a.key.local_name().as_ref() == "id").map(|a| a.value.to_string());
                break;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let Some(rid) = rid else { return Ok(fallback) };
    let mut r = xml_reader(&rels);
    loop {
        buf.clear();
        match r.read_event_into(&mut buf).map_err(zip_err)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "Relationship" => {
                let attrs: HashMap<String, String> =
                    e.attributes().flatten().map(|a| (a.key.as_ref().to_string(), a.value.to_string())).collect();
                if attrs.get("Id") == Some(&rid) {
                    let target = attrs.get("Target").cloned().unwrap_or_default();
                    let target = target.trim_start_matches('/');
                    return Ok(if target.starts_with("xl/") { target.to_string() } else { format!("xl/{target}") });
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(fallback)
}

/// Read an XLSX report: `bytes` is the whole file.
pub fn parse_xlsx(ctx: &mut Ctx<'_>, bytes: &[u8]) -> Result<(), ImportError> {
    use quick_xml::events::Event;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(zip_err)?;
    let strings = match read_entry(&mut zip, "xl/sharedStrings.xml")? {
        Some(b) => shared_strings(&b)?,
        None => Vec::new(),
    };
    let path = first_sheet(&mut zip)?;
    let sheet = read_entry(&mut zip, &path)?.ok_or_else(|| zip_err(format!("no sheet {path}")))?;
    let mut r = xml_reader(&sheet);
    let mut buf = Vec::new();
    let mut state = Mt5State::default();
    let mut row: Vec<String> = Vec::new();
    let mut row_no: u64 = 0;
    let mut cell: Option<(usize, String)> = None;
    let mut value = String::new();
    let mut in_value = false;
    loop {
        buf.clear();
        match r.read_event_into(&mut buf).map_err(zip_err)? {
            Event::Start(e) if e.local_name().as_ref() == "row" => {
                row.clear();
                let n =
                    e.attributes().flatten().find(|a| a.key.as_ref() == "r").and_then(|a| a.value.parse::<u64>().ok());
                row_no = n.unwrap_or(row_no + 1);
            }
            Event::End(e) if e.local_name().as_ref() == "row" => {
                state.row(ctx, std::mem::take(&mut row), row_no)?;
            }
            Event::Start(e) if e.local_name().as_ref() == "c" => {
                let mut col = row.len();
                let mut kind = String::new();
                for a in e.attributes().flatten() {
                    match a.key.as_ref() {
                        "r" => col = column_of(&a.value).unwrap_or(col),
                        "t" => kind = a.value.to_string(),
                        _ => {}
                    }
                }
                cell = Some((col, kind));
                value.clear();
            }
            Event::Start(e) if matches!(e.local_name().as_ref(), "v" | "t") => in_value = true,
            Event::End(e) if matches!(e.local_name().as_ref(), "v" | "t") => in_value = false,
            Event::Text(t) if in_value => value.push_str(&t.xml10_content()),
            Event::GeneralRef(g) if in_value => value.push_str(&entity(&g)),
            Event::End(e) if e.local_name().as_ref() == "c" => {
                if let Some((col, kind)) = cell.take() {
                    let text = match kind.as_str() {
                        "s" => {
                            value.trim().parse::<usize>().ok().and_then(|i| strings.get(i).cloned()).unwrap_or_default()
                        }
                        // Inline and formula strings, booleans, errors, numbers: the text as stored.
                        _ => value.clone(),
                    };
                    let text = if kind.is_empty() || kind == "n" {
                        if col == 0 && text.contains('.')
                            || col == 0 && !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
                        {
                            excel_serial_time(&text).unwrap_or_else(|| excel_number(&text))
                        } else {
                            excel_number(&text)
                        }
                    } else {
                        text
                    };
                    if row.len() <= col {
                        row.resize(col + 1, String::new());
                    }
                    row[col] = text.trim().to_string();
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    state.finish(ctx, row_no, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_cells_expand_colspans_and_decode_entities() {
        let row = r##"<tr bgcolor="#F7F7F7" align=right><td>2024.03.15 10:30:45</td><td colspan="2">A&amp;B</td><td class="hidden">x</td><td>10&nbsp;000.00</td></tr>"##;
        assert_eq!(html_cells(row), vec!["2024.03.15 10:30:45", "A&B", "", "x", "10 000.00"], "cells");
    }

    #[test]
    fn excel_cells_read_as_decimal_text() {
        assert_eq!(excel_number("1.0854200000000001"), "1.08542", "double noise rounded at 15 digits");
        assert_eq!(excel_number("0.1"), "0.1", "short spellings kept");
        assert_eq!(excel_number("1E-3"), "0.001", "scientific");
        assert_eq!(excel_serial_time("45366.4380208333").as_deref(), Some("2024.03.15 10:30:45"), "serial date");
        assert_eq!(column_of("AB12"), Some(27), "column letters");
    }
}
