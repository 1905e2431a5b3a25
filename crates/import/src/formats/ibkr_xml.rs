//! Interactive Brokers Flex Query, XML: `<FlexQueryResponse><FlexStatements><FlexStatement accountId=…>`
//! holding `<Trades><Trade …/>` and/or `<TradeConfirms><TradeConfirm …/>`. Attributes are the CSV's columns
//! in camelCase (`ibExecID`, `buySell`, `tradePrice`, `dateTime`), so every rule of the CSV parser
//! (`formats::ibkr`) applies unchanged: the attributes are matched to the same column table.
//!
//! The file is read as a stream of events (a large Flex XML is never held in memory). A file that ends
//! before `</FlexQueryResponse>` is truncated, and is an error rather than a partial import.

use std::collections::HashMap;
use std::io::{BufReader, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::XmlVersion;

use super::ibkr::{FlexState, OwnedRecord, COLS, EXPECTED};
use super::Ctx;
use crate::error::ImportError;
use crate::table::norm;

fn attrs(e: &BytesStart<'_>, line: u64) -> Result<Vec<(String, String)>, ImportError> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| ImportError::Malformed { line, detail: format!("XML attribute: {err}") })?;
        let key = a.key.as_ref().to_string();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| ImportError::Malformed { line, detail: format!("XML attribute {key}: {err}") })?
            .into_owned();
        out.push((key, value));
    }
    Ok(out)
}

pub fn parse(ctx: &mut Ctx<'_>, stream: &mut dyn Read) -> Result<(), ImportError> {
    let mut reader = quick_xml::Reader::from_reader(BufReader::with_capacity(256 * 1024, stream));
    reader.config_mut().trim_text(false);
    let mut buf = Vec::with_capacity(4096);
    let mut line: u64 = 1;
    let mut depth: i64 = 0;
    let mut root_seen = false;
    let mut root_closed = false;
    let mut account_hint: Option<String> = None;
    let mut state = FlexState::default();
    // Attribute name -> column index, built as names are met.
    let mut by_name: HashMap<String, Option<usize>> = HashMap::new();
    let mut checked_header = false;
    loop {
        buf.clear();
        let ev = reader.read_event_into(&mut buf).map_err(|e| {
            let at = line;
            ImportError::Malformed { line: at, detail: format!("XML: {e}") }
        });
        let ev = match ev {
            Ok(ev) => ev,
            Err(ImportError::Malformed { line, detail })
                if detail.contains("nexpected") || detail.contains("EOF") || detail.contains("end of input") =>
            {
                return Err(ImportError::Truncated { line, detail })
            }
            Err(e) => return Err(e),
        };
        let this_line = line;
        line += match &ev {
            Event::Text(t) => t.matches('\n').count(),
            Event::Start(e) | Event::Empty(e) => e.matches('\n').count(),
            Event::Comment(c) => c.matches('\n').count(),
            Event::CData(c) => c.matches('\n').count(),
            _ => 0,
        } as u64;
        match ev {
            Event::Eof => break,
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_start = matches!(ev, Event::Start(_));
                let name = e.local_name();
                let name = name.as_ref();
                if is_start {
                    depth += 1;
                }
                if !root_seen {
                    if name != "FlexQueryResponse" {
                        return Err(ImportError::HeaderNotFound {
                            format: ctx.format,
                            lines: this_line,
                            expected: "<FlexQueryResponse> holding <Trade …/> or <TradeConfirm …/> elements".into(),
                            found: Some(format!("<{}>", name)),
                        });
                    }
                    root_seen = true;
                    continue;
                }
                match name {
                    "FlexStatement" => {
                        account_hint = attrs(e, this_line)?.into_iter().find(|(k, _)| k == "accountId").map(|(_, v)| v);
                    }
                    "Trade" | "TradeConfirm" => {
                        let list = attrs(e, this_line)?;
                        if !checked_header {
                            let names: Vec<String> = list.iter().map(|(k, _)| k.clone()).collect();
                            crate::table::require(ctx.format, this_line, &names, COLS, EXPECTED)?;
                            checked_header = true;
                        }
                        let mut values: Vec<Option<String>> = vec![None; COLS.len()];
                        let mut raw = String::new();
                        for (k, v) in list {
                            let col = *by_name.entry(k.clone()).or_insert_with(|| {
                                let n = norm(&k);
                                COLS.iter().position(|c| c.names.iter().any(|cn| norm(cn) == n))
                            });
                            if let Some(c) = col {
                                if values[c].is_none() {
                                    values[c] = Some(v.trim().to_string());
                                }
                            }
                            if raw.len() < 400 {
                                raw.push_str(&format!("{k}=\"{v}\" "));
                            }
                        }
                        let rec = OwnedRecord {
                            line: this_line,
                            values,
                            raw: Some(raw),
                            record: None,
                            account_hint: account_hint.clone(),
                        };
                        state.push(ctx, rec)?;
                    }
                    _ => {}
                }
            }
            Event::End(ref e) => {
                depth -= 1;
                if e.local_name().as_ref() == "FlexQueryResponse" {
                    root_closed = true;
                }
            }
            Event::Text(ref t) if !root_seen && !t.xml10_content().trim().is_empty() => {
                return Err(ImportError::HeaderNotFound {
                    format: ctx.format,
                    lines: this_line,
                    expected: "<FlexQueryResponse>".into(),
                    found: Some(crate::input::truncate_raw(&t.xml10_content())),
                });
            }
            _ => {}
        }
    }
    if !root_seen {
        return Err(ImportError::HeaderNotFound {
            format: ctx.format,
            lines: line,
            expected: "<FlexQueryResponse>".into(),
            found: None,
        });
    }
    if !root_closed || depth != 0 {
        return Err(ImportError::Truncated {
            line,
            detail: "the XML ends before </FlexQueryResponse>: the file was cut off".into(),
        });
    }
    state.finish(ctx)
}
