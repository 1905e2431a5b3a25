//! Reading a file as a bounded stream.
//!
//! A 2 GB file must never be held in memory, and a 2 GB file of junk must fail in milliseconds, not after
//! reading it all. So every format reads through [`Source`], which hashes the bytes as they pass (the file's
//! sha256 costs no second read), remembers the last byte (to tell a truncated last row from a missing final
//! newline) and refuses a line longer than [`MAX_LINE`] (a CSV reader would otherwise buffer an endless
//! "line" of binary data). Formats look for their header within the first [`HEADER_SEARCH_LINES`] lines and
//! stop once rows are mostly unreadable ([`Collector::reject`]), so a wrong file stops early.
//!
//! Text encodings: UTF-8 with or without BOM is read as is (invalid bytes in free-text fields are replaced,
//! numbers and times are ASCII); UTF-16 with a BOM (MT5's HTML report, Excel's "Unicode text") is transcoded
//! on the fly.

use std::io::{self, Read};

use sha2::{Digest, Sha256};

use crate::error::ImportError;
use crate::model::{Cancel, FormatId, NormalizedFill, Rejected};

/// Longest line accepted (quoted newlines reset the count too; no real export row comes close).
pub const MAX_LINE: u64 = 4 * 1024 * 1024;
/// How far into a file a format's header is looked for.
pub const HEADER_SEARCH_LINES: u64 = 200;
/// How many bytes [`crate::detect()`] is given.
pub const HEAD_LEN: usize = 64 * 1024;
/// Rows that are not executions read before the first fill, after which a file is given up.
pub const MAX_SKIPPED_WITHOUT_FILL: u64 = 100_000;
/// Rejected rows kept for the preview (more are counted).
pub const MAX_REJECTED_KEPT: usize = 1000;

/// The reader under every format: hashes, counts, remembers the last byte, bounds line length.
#[derive(Debug)]
pub struct Source<R> {
    inner: R,
    hasher: Sha256,
    pub bytes: u64,
    pub last_byte: Option<u8>,
    prev_byte: Option<u8>,
    since_newline: u64,
    line: u64,
}

impl<R: Read> Source<R> {
    pub fn new(inner: R) -> Self {
        Source { inner, hasher: Sha256::new(), bytes: 0, last_byte: None, prev_byte: None, since_newline: 0, line: 1 }
    }

    /// Read the rest of the input (so the hash covers the whole file) without keeping it.
    pub fn drain(&mut self) -> io::Result<()> {
        let mut buf = [0u8; 64 * 1024];
        while self.read(&mut buf)? > 0 {}
        Ok(())
    }

    pub fn sha256_hex(&self) -> String {
        hex::encode(self.hasher.clone().finalize())
    }

    /// Whether the input ended with a line break (or was empty), in the file's encoding.
    pub fn ends_with_newline(&self, enc: Encoding) -> bool {
        let nl = |b: Option<u8>| matches!(b, None | Some(b'\n') | Some(b'\r'));
        match enc {
            Encoding::Utf8 => nl(self.last_byte),
            Encoding::Utf16Le => self.last_byte == Some(0) && nl(self.prev_byte) || self.last_byte.is_none(),
            Encoding::Utf16Be => nl(self.last_byte),
        }
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = buf.get(..n).unwrap_or_default();
        self.hasher.update(got);
        self.bytes = self.bytes.saturating_add(n as u64);
        for &b in got {
            if b == b'\n' {
                self.since_newline = 0;
                self.line += 1;
            } else {
                self.since_newline += 1;
                if self.since_newline > MAX_LINE {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("line {} is longer than {} MiB: not a text export", self.line, MAX_LINE >> 20),
                    ));
                }
            }
        }
        match got {
            [.., p, l] => {
                self.prev_byte = Some(*p);
                self.last_byte = Some(*l);
            }
            [l] => {
                self.prev_byte = self.last_byte;
                self.last_byte = Some(*l);
            }
            [] => {}
        }
        Ok(n)
    }
}

/// Text encodings told apart by the first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
}

/// The encoding and BOM length of a file's head.
pub fn sniff_encoding(head: &[u8]) -> (Encoding, usize) {
    match head {
        [0xEF, 0xBB, 0xBF, ..] => (Encoding::Utf8, 3),
        [0xFF, 0xFE, ..] => (Encoding::Utf16Le, 2),
        [0xFE, 0xFF, ..] => (Encoding::Utf16Be, 2),
        // UTF-16 without BOM: ASCII text with every other byte zero.
        [a, 0, b, 0, ..] if *a != 0 && *b != 0 => (Encoding::Utf16Le, 0),
        [0, a, 0, b, ..] if *a != 0 && *b != 0 => (Encoding::Utf16Be, 0),
        _ => (Encoding::Utf8, 0),
    }
}

/// Transcodes UTF-16 to UTF-8 while reading (unpaired surrogates become U+FFFD).
#[derive(Debug)]
pub struct Utf16Reader<R> {
    inner: R,
    little_endian: bool,
    pending: Vec<u8>,
    carry: Option<u8>,
    high: Option<u16>,
    done: bool,
}

impl<R: Read> Utf16Reader<R> {
    pub fn new(inner: R, little_endian: bool) -> Self {
        Utf16Reader { inner, little_endian, pending: Vec::new(), carry: None, high: None, done: false }
    }

    fn push_char(&mut self, c: char) {
        let mut b = [0u8; 4];
        self.pending.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
    }

    fn unit(&mut self, u: u16) {
        if let Some(h) = self.high.take() {
            if (0xDC00..0xE000).contains(&u) {
                let c = 0x10000 + ((u32::from(h) - 0xD800) << 10) + (u32::from(u) - 0xDC00);
                self.push_char(char::from_u32(c).unwrap_or('\u{fffd}'));
                return;
            }
            self.push_char('\u{fffd}');
        }
        if (0xD800..0xDC00).contains(&u) {
            self.high = Some(u);
        } else {
            self.push_char(char::from_u32(u32::from(u)).unwrap_or('\u{fffd}'));
        }
    }
}

impl<R: Read> Read for Utf16Reader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut raw = [0u8; 16 * 1024];
        while self.pending.is_empty() && !self.done {
            let n = self.inner.read(&mut raw)?;
            if n == 0 {
                self.done = true;
                if self.high.take().is_some() || self.carry.take().is_some() {
                    self.push_char('\u{fffd}');
                }
                break;
            }
            let mut bytes: Vec<u8> = Vec::with_capacity(n + 1);
            bytes.extend(self.carry.take());
            bytes.extend_from_slice(raw.get(..n).unwrap_or_default());
            let mut chunks = bytes.chunks_exact(2);
            for pair in &mut chunks {
                let u = if self.little_endian {
                    u16::from_le_bytes([pair[0], pair[1]])
                } else {
                    u16::from_be_bytes([pair[0], pair[1]])
                };
                self.unit(u);
            }
            self.carry = chunks.remainder().first().copied();
        }
        let n = out.len().min(self.pending.len());
        out[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

/// Refuse what is clearly not a text export: a ZIP (unless the format wants one), NUL bytes, or mostly
/// control characters.
pub fn check_text(head: &[u8], enc: Encoding) -> Result<(), ImportError> {
    if head.starts_with(b"PK\x03\x04") {
        return Err(ImportError::Binary {
            detail: "a ZIP archive (an XLSX workbook?); only MetaTrader 5 reports are read from XLSX".into(),
        });
    }
    if enc != Encoding::Utf8 {
        return Ok(());
    }
    let sample = &head[..head.len().min(8192)];
    if let Some(pos) = sample.iter().position(|b| *b == 0) {
        return Err(ImportError::Binary { detail: format!("a NUL byte at offset {pos}: binary data") });
    }
    let control = sample.iter().filter(|b| **b < 0x20 && !matches!(**b, b'\t' | b'\n' | b'\r' | 0x0c)).count();
    if control * 100 > sample.len() {
        return Err(ImportError::Binary {
            detail: format!("{control} control characters in the first {} bytes", sample.len()),
        });
    }
    Ok(())
}

pub(crate) fn io_err(e: io::Error) -> ImportError {
    ImportError::Io(e.to_string())
}

/// Cut a row's text for the preview.
pub fn truncate_raw(s: &str) -> String {
    const LIMIT: usize = 200;
    if s.chars().count() <= LIMIT {
        return s.to_string();
    }
    let mut out: String = s.chars().take(LIMIT).collect();
    out.push('…');
    out
}

/// What a parser has read so far, with the rule that stops a file that is mostly unreadable.
#[derive(Debug)]
pub struct Collector {
    pub format: FormatId,
    /// Add through [`Collector::push`], which shares repeated values.
    pub fills: Vec<NormalizedFill>,
    interner: crate::model::Interner,
    pub rejected: Vec<Rejected>,
    pub rejected_total: u64,
    pub cancels: Vec<Cancel>,
    pub skipped: u64,
    pub warnings: Vec<String>,
}

impl Collector {
    pub fn new(format: FormatId) -> Self {
        Collector {
            format,
            fills: Vec::new(),
            interner: crate::model::Interner::default(),
            rejected: Vec::new(),
            rejected_total: 0,
            cancels: Vec::new(),
            skipped: 0,
            warnings: Vec::new(),
        }
    }

    /// Add a fill, its repeated values (broker, account, currency, zone, instrument) shared with earlier fills.
    pub fn push(&mut self, f: NormalizedFill) {
        let f = self.interner.fill(f);
        self.fills.push(f);
    }

    /// Record a row that cannot be read. Stops the whole file (an error) once at least 1,000 rows were
    /// rejected and they outnumber the fills: by then the file is not what it was taken for, and reading on
    /// through gigabytes would only collect more of the same.
    pub fn reject(&mut self, line: u64, reason: impl Into<String>, raw: &str) -> Result<(), ImportError> {
        self.rejected_total += 1;
        if self.rejected.len() < MAX_REJECTED_KEPT {
            self.rejected.push(Rejected { line, reason: reason.into(), raw: truncate_raw(raw) });
        }
        if self.rejected_total >= MAX_REJECTED_KEPT as u64 && self.rejected_total > self.fills.len() as u64 {
            let first =
                self.rejected.first().cloned().unwrap_or(Rejected { line, reason: String::new(), raw: String::new() });
            return Err(ImportError::TooManyRejected {
                format: self.format,
                line,
                rejected: self.rejected_total,
                rows: self.rejected_total + self.fills.len() as u64 + self.skipped,
                first_line: first.line,
                first_reason: first.reason,
            });
        }
        Ok(())
    }

    /// Count a row that is read but not an execution (a summary, a cancelled order, a deposit). A file of
    /// only such rows stops after [`MAX_SKIPPED_WITHOUT_FILL`] of them, so a header followed by gigabytes of
    /// rows that are never executions fails early too (and says what it saw).
    pub fn skip(&mut self, line: u64) -> Result<(), ImportError> {
        self.skipped += 1;
        if self.skipped >= MAX_SKIPPED_WITHOUT_FILL && self.fills.is_empty() {
            return Err(ImportError::Malformed {
                line,
                detail: format!(
                    "{} rows read and none is an execution; is this a {} with executions (IBKR: LevelOfDetail EXECUTION)?",
                    self.skipped,
                    self.format.label()
                ),
            });
        }
        Ok(())
    }

    pub fn warn(&mut self, w: impl Into<String>) {
        let w = w.into();
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_is_transcoded_across_chunk_boundaries() {
        let text = "Deals 10 000.00 € 𝄞";
        let mut bytes = Vec::new();
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        // Feed one byte at a time so pairs and surrogates straddle reads.
        struct OneByte(Vec<u8>, usize);
        impl Read for OneByte {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                match self.0.get(self.1) {
                    Some(b) if !out.is_empty() => {
                        out[0] = *b;
                        self.1 += 1;
                        Ok(1)
                    }
                    _ => Ok(0),
                }
            }
        }
        let mut s = String::new();
        Utf16Reader::new(OneByte(bytes, 0), true).read_to_string(&mut s).unwrap();
        assert_eq!(s, text, "transcoded text");
    }

    #[test]
    fn source_hashes_and_bounds_lines() {
        let mut src = Source::new(&b"a,b\n1,2"[..]);
        src.drain().unwrap();
        assert_eq!(src.bytes, 7, "counted");
        assert!(!src.ends_with_newline(Encoding::Utf8), "no final newline");
        assert_eq!(src.sha256_hex().len(), 64, "hex sha256");
        let long = vec![b'x'; (MAX_LINE + 10) as usize];
        let err = Source::new(&long[..]).drain().unwrap_err().to_string();
        assert!(err.contains("longer than"), "an endless line is refused: {err}");
    }

    #[test]
    fn binary_heads_are_refused() {
        assert!(check_text(b"PK\x03\x04rest", Encoding::Utf8).is_err(), "zip");
        assert!(check_text(b"a,b\n\0\0\0", Encoding::Utf8).is_err(), "NUL bytes");
        assert!(check_text(b"a,b\r\n1,2\n", Encoding::Utf8).is_ok(), "text");
        assert_eq!(sniff_encoding(b"\xff\xfe<\0h\0"), (Encoding::Utf16Le, 2), "UTF-16LE BOM");
        assert_eq!(sniff_encoding(b"\xef\xbb\xbfa"), (Encoding::Utf8, 3), "UTF-8 BOM");
    }
}
