//! Headers and rows of delimited files.
//!
//! A broker renaming one column must produce a message that says so, not a thousand rejected rows. Each
//! format declares its columns ([`Col`]: accepted names, required or not) and the header line it expects;
//! [`require`] matches a found header against them by a forgiving normalization (case, spaces and
//! punctuation other than `_` ignored, so `Buy/Sell` = `buySell`, but Tradovate's `_timestamp` stays apart
//! from its `Timestamp`) and, when a required column is missing, fails with the missing names, the header
//! found and the header expected.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;
use std::rc::Rc;

use crate::error::ImportError;
use crate::model::FormatId;

/// One logical column and the names it goes by.
#[derive(Clone, Copy, Debug)]
pub struct Col {
    pub names: &'static [&'static str],
    pub required: bool,
}

pub const fn req(names: &'static [&'static str]) -> Col {
    Col { names, required: true }
}

pub const fn opt(names: &'static [&'static str]) -> Col {
    Col { names, required: false }
}

/// Header text reduced for matching.
pub fn norm(s: &str) -> String {
    s.trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '/' | '.' | '-' | '#' | '(' | ')' | '&' | '$' | '%' | '"' | ':'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where each declared column sits in the found header.
#[derive(Clone, Debug)]
pub struct Header {
    pub idx: Vec<Option<usize>>,
    pub width: usize,
    /// One past the last required column: a row shorter than this cannot be read.
    pub required_width: usize,
}

impl Header {
    pub fn has(&self, col: usize) -> bool {
        self.idx.get(col).copied().flatten().is_some()
    }
}

/// Match `found` against `cols`: the header and the names of missing required columns.
pub fn match_header(found: &[String], cols: &[Col]) -> (Header, Vec<&'static str>) {
    let normed: Vec<String> = found.iter().map(|f| norm(f)).collect();
    let mut missing = Vec::new();
    let idx = cols
        .iter()
        .map(|c| {
            let at = c.names.iter().find_map(|n| {
                let n = norm(n);
                normed.iter().position(|f| *f == n)
            });
            if at.is_none() && c.required {
                missing.push(c.names[0]);
            }
            at
        })
        .collect::<Vec<Option<usize>>>();
    let required_width =
        cols.iter().zip(&idx).filter(|(c, _)| c.required).filter_map(|(_, i)| i.map(|i| i + 1)).max().unwrap_or(0);
    (Header { idx, width: found.len(), required_width }, missing)
}

/// How many of `cols`' columns `found` has (for detection).
pub fn overlap(found: &[String], cols: &[Col]) -> (usize, usize) {
    let (h, _) = match_header(found, cols);
    (h.idx.iter().filter(|i| i.is_some()).count(), cols.len())
}

/// Match, or fail naming what is missing.
pub fn require(
    format: FormatId,
    line: u64,
    found: &[String],
    cols: &[Col],
    expected: &str,
) -> Result<Header, ImportError> {
    let (h, missing) = match_header(found, cols);
    if missing.is_empty() {
        return Ok(h);
    }
    Err(ImportError::HeaderMismatch {
        format,
        line,
        missing: missing.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", "),
        found: found.join(","),
        expected: expected.to_string(),
    })
}

/// Records the byte offsets of line breaks as they stream past (`\n`, or a `\r` not followed by `\n`), so a
/// record's line can be computed from its start offset. The CSV reader's own line count is off by one after
/// every CRLF (it counts the `\n` only when it reads the next record), which matters for files with mixed
/// line endings. Only breaks within the reader's read-ahead are held, so memory stays bounded.
#[derive(Debug)]
struct LineTracker<R> {
    inner: R,
    offset: u64,
    pending_cr: Option<u64>,
    breaks: Rc<RefCell<VecDeque<u64>>>,
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut breaks = self.breaks.borrow_mut();
        for (i, &b) in buf.iter().take(n).enumerate() {
            let at = self.offset + i as u64;
            if let Some(cr) = self.pending_cr.take() {
                if b != b'\n' {
                    breaks.push_back(cr);
                }
            }
            match b {
                b'\n' => breaks.push_back(at),
                b'\r' => self.pending_cr = Some(at),
                _ => {}
            }
        }
        if n == 0 {
            if let Some(cr) = self.pending_cr.take() {
                breaks.push_back(cr);
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// A streaming reader of delimited records with their line numbers.
pub struct CsvRows<R: Read> {
    rdr: csv::Reader<LineTracker<R>>,
    pub rec: csv::ByteRecord,
    line: u64,
    delimiter: u8,
    breaks: Rc<RefCell<VecDeque<u64>>>,
    breaks_passed: u64,
}

impl<R: Read> std::fmt::Debug for CsvRows<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvRows").field("line", &self.line).finish()
    }
}

impl<R: Read> CsvRows<R> {
    pub fn new(r: R, delimiter: u8) -> Self {
        let breaks = Rc::new(RefCell::new(VecDeque::new()));
        let rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(256 * 1024)
            .from_reader(LineTracker { inner: r, offset: 0, pending_cr: None, breaks: Rc::clone(&breaks) });
        CsvRows { rdr, rec: csv::ByteRecord::new(), line: 0, delimiter, breaks, breaks_passed: 0 }
    }

    /// The 1-based line of the byte at `offset`: one more than the line breaks before it (a record that
    /// starts on the `\n` of a CRLF belongs to the next line, so breaks *at* the offset count too).
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut breaks = self.breaks.borrow_mut();
        while breaks.front().is_some_and(|b| *b <= offset) {
            breaks.pop_front();
            self.breaks_passed += 1;
        }
        self.breaks_passed + 1
    }

    /// Read the next record; `false` at the end. Blank lines are skipped by the CSV reader.
    pub fn advance(&mut self) -> Result<bool, ImportError> {
        match self.rdr.read_byte_record(&mut self.rec) {
            Ok(more) => {
                if let Some(p) = self.rec.position() {
                    let at = p.byte();
                    self.line = self.line_at(at);
                }
                Ok(more)
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(self.line + 1);
                Err(match e.into_kind() {
                    csv::ErrorKind::Io(io) => ImportError::Malformed { line, detail: io.to_string() },
                    other => ImportError::Malformed { line, detail: format!("{other:?}") },
                })
            }
        }
    }

    pub fn line(&self) -> u64 {
        self.line
    }

    pub fn len(&self) -> usize {
        self.rec.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rec.is_empty()
            || (self.rec.len() == 1 && self.rec.get(0).is_none_or(|f| f.iter().all(u8::is_ascii_whitespace)))
    }

    /// Field `i`, trimmed (missing fields are empty).
    pub fn field(&self, i: usize) -> Cow<'_, str> {
        match self.rec.get(i) {
            Some(b) => match String::from_utf8_lossy(b) {
                Cow::Borrowed(s) => Cow::Borrowed(s.trim().trim_start_matches('\u{feff}')),
                Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
            },
            None => Cow::Borrowed(""),
        }
    }

    pub fn fields(&self) -> Vec<String> {
        (0..self.rec.len()).map(|i| self.field(i).into_owned()).collect()
    }

    /// The row as text for a rejected-row preview.
    pub fn raw(&self) -> String {
        let d = (self.delimiter as char).to_string();
        (0..self.rec.len()).map(|i| self.field(i).into_owned()).collect::<Vec<_>>().join(&d)
    }
}

/// A row seen through a matched header.
#[derive(Clone, Copy, Debug)]
pub struct Row<'a, R: Read> {
    pub rows: &'a CsvRows<R>,
    pub header: &'a Header,
}

impl<'a, R: Read> Row<'a, R> {
    /// The value of declared column `col` (empty when the column is absent).
    pub fn get(&self, col: usize) -> Cow<'a, str> {
        match self.header.idx.get(col).copied().flatten() {
            Some(i) => self.rows.field(i),
            None => Cow::Borrowed(""),
        }
    }

    /// `None` when absent or blank.
    pub fn opt(&self, col: usize) -> Option<Cow<'a, str>> {
        let v = self.get(col);
        (!v.is_empty()).then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: &[Col] =
        &[req(&["Buy/Sell"]), req(&["_timestamp"]), opt(&["Timestamp"]), req(&["TradePrice", "Price"])];

    #[test]
    fn names_match_forgivingly_but_keep_underscores_apart() {
        let found: Vec<String> =
            ["buySell", "Timestamp", "_timestamp", " price "].iter().map(|s| s.to_string()).collect();
        let (h, missing) = match_header(&found, COLS);
        assert!(missing.is_empty(), "all required found: {missing:?}");
        assert_eq!(h.idx, vec![Some(0), Some(2), Some(1), Some(3)], "_timestamp and Timestamp stay apart; alias used");
    }

    #[test]
    fn a_renamed_column_is_named_with_both_headers() {
        let found: Vec<String> = ["Buy/Sell", "Time", "Price"].iter().map(|s| s.to_string()).collect();
        let err =
            require(FormatId::TradovateFills, 3, &found, COLS, "Buy/Sell,_timestamp,Price").unwrap_err().to_string();
        assert!(err.contains("missing column \"_timestamp\""), "names the missing column: {err}");
        assert!(err.contains("found header \"Buy/Sell,Time,Price\""), "shows what was found: {err}");
        assert!(err.contains("expected header \"Buy/Sell,_timestamp,Price\""), "and what was expected: {err}");
        assert!(err.contains("at line 3"), "and where: {err}");
    }
}
