//! Telling formats apart from the first kilobytes.
//!
//! Markers first (they are unambiguous): a ZIP is an MT5 XLSX report, `<FlexQueryResponse` IBKR Flex XML, an
//! HTML table with `Deals` an MT5 report, `BOF`/`HEADER,TRNT` rows a Flex CSV, `Statement,Header` or
//! `Trades,Header` an Activity Statement, `Account Statement for` / `Account Trade History` a thinkorswim
//! statement. Otherwise each line of the head is scored against every single-table format's required
//! columns; the best format with at least half of them (and two or more) wins. Half is deliberately lenient:
//! a broker that renamed one column is still recognised, and its parser then reports exactly which column is
//! missing, with the header found and the one expected, instead of a vague "unknown file".

use crate::error::ImportError;
use crate::formats::{ibkr, tastytrade, tradovate, trenddojo, webull};
use crate::input::{check_text, sniff_encoding, Encoding};
use crate::model::FormatId;
use crate::table::{match_header, Col};

fn decode_head(head: &[u8]) -> Result<String, ImportError> {
    let (enc, bom) = sniff_encoding(head);
    let body = head.get(bom..).unwrap_or_default();
    Ok(match enc {
        Encoding::Utf8 => {
            check_text(head, enc)?;
            String::from_utf8_lossy(body).into_owned()
        }
        Encoding::Utf16Le | Encoding::Utf16Be => {
            let units: Vec<u16> = body
                .chunks_exact(2)
                .map(|p| {
                    if enc == Encoding::Utf16Le {
                        u16::from_le_bytes([p[0], p[1]])
                    } else {
                        u16::from_be_bytes([p[0], p[1]])
                    }
                })
                .collect();
            char::decode_utf16(units).map(|c| c.unwrap_or('\u{fffd}')).collect()
        }
    })
}

/// Candidates scored by header.
fn scored() -> [(FormatId, &'static [Col]); 7] {
    [
        (FormatId::TrendDojo, trenddojo::COLS),
        (FormatId::TradovateFills, tradovate::FILL_COLS),
        (FormatId::TradovateOrders, tradovate::ORDER_COLS),
        (FormatId::TradovatePerformance, tradovate::PERF_COLS),
        (FormatId::Tastytrade, tastytrade::COLS),
        (FormatId::Webull, webull::COLS),
        (FormatId::IbkrFlexCsv, ibkr::COLS),
    ]
}

/// The format of a file from its first bytes (64 KiB are plenty).
pub fn detect(head: &[u8]) -> Result<FormatId, ImportError> {
    if head.is_empty() {
        return Err(ImportError::Empty);
    }
    if head.starts_with(b"PK\x03\x04") {
        return Ok(FormatId::Mt5Xlsx);
    }
    let text = decode_head(head)?;
    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("<flexqueryresponse") {
        return Ok(FormatId::IbkrFlexXml);
    }
    if lower.contains("<html") || lower.contains("<table") {
        if lower.contains("deals") || lower.contains("trade history report") {
            return Ok(FormatId::Mt5Html);
        }
        return Err(ImportError::UnknownFormat {
            line: 1,
            found: "an HTML page without a Deals table".into(),
            known: known(),
        });
    }
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut best: Option<(FormatId, usize, usize)> = None;
    let mut first: Option<(u64, String)> = None;
    for rec in rdr.records().take(60) {
        let Ok(rec) = rec else { break };
        let fields: Vec<String> = rec.iter().map(|f| f.trim().to_string()).collect();
        if fields.iter().all(String::is_empty) {
            continue;
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(1);
        if first.is_none() {
            first = Some((line, fields.join(",")));
        }
        let f0 = fields[0].as_str();
        let f1 = fields.get(1).map(String::as_str).unwrap_or("");
        if f0.eq_ignore_ascii_case("BOF") || (f0 == "HEADER" && (f1 == "TRNT" || f1 == "TCNF")) {
            return Ok(FormatId::IbkrFlexCsv);
        }
        if (f0 == "Statement" || f0 == "Trades") && f1 == "Header" {
            return Ok(FormatId::IbkrActivityCsv);
        }
        if f0.starts_with("Account Statement for") || f0 == "Account Trade History" {
            return Ok(FormatId::Schwab);
        }
        for (format, cols) in scored() {
            let (_, missing) = match_header(&fields, cols);
            let required = cols.iter().filter(|c| c.required).count();
            let matched = required - missing.len();
            if matched >= 2 && matched * 2 >= required {
                // Best by share of required columns matched, then by count.
                let better = match best {
                    None => true,
                    Some((_, bm, br)) => {
                        matched * br > bm * required || (matched * br == bm * required && matched > bm)
                    }
                };
                if better {
                    best = Some((format, matched, required));
                }
            }
        }
    }
    if let Some((format, _, _)) = best {
        return Ok(format);
    }
    let (line, found) = first.unwrap_or((1, String::new()));
    Err(ImportError::UnknownFormat { line, found: crate::input::truncate_raw(&found), known: known() })
}

fn known() -> String {
    FormatId::ALL.iter().filter(|f| **f != FormatId::Generic).map(|f| f.label()).collect::<Vec<_>>().join("; ")
        + "; or any CSV with a column mapping (generic)"
}
