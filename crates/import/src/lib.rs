//! Broker import: read a broker's export into normalized executions, fingerprint them for dedupe, and group
//! them into trades. Pure: no database, no network, no clock; the store and the shells build on it.
//!
//! ## Why it is built this way
//! * **Executions are the source of truth.** Every fill keeps what the file said about it (account, ids, the
//!   instrument's full identity, multiplier, each kind of fee, the raw time text and the zone it was read in)
//!   so a mistake can be traced to a row, and trades are *derived* from fills ([`group_trades`]).
//! * **Streaming, bounded.** Files are read through a hashing, line-bounded stream; a format finds its header
//!   in the first 200 lines or stops; a file whose rows are mostly unreadable stops after 1,000 of them. So a
//!   2 GB file never sits in memory, and a 2 GB file of junk fails in milliseconds. Only the fills are
//!   collected (100k fills are a few tens of MB).
//! * **Nothing half-parsed passes as success.** A file-level problem (unknown or renamed header, truncation,
//!   binary data, a missing setting) is an [`ImportError`] for the whole file; a single unreadable row is a
//!   [`Rejected`] row with its line and reason, listed in the preview, never a panic.
//! * **Time zones are never guessed silently.** Naive times are read in a statement zone; formats whose zone
//!   the file cannot tell (MT5's broker server, Tradovate's app setting, a generic file) have no default and
//!   fail naming `statement_tz`. DST gaps and overlaps follow one documented rule ([`time`]) and warn.
//! * **Dedupe that keeps real duplicates.** By broker execution id where the format has one, otherwise by a
//!   fingerprint that includes the occurrence index of identical fills within the file ([`fingerprint`]): two
//!   genuine identical fills in one second both import, the same file imported twice adds nothing.
//!
//! Formats and their rules: `docs/imports.md`, and each module under `formats`.

pub mod detect;
pub mod error;
pub mod fingerprint;
pub mod formats;
pub mod group;
pub mod input;
pub mod mapping;
pub mod model;
pub mod num;
pub mod symbols;
pub mod table;
pub mod time;

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::Path;

use chrono_tz::Tz;

pub use detect::detect;
pub use error::ImportError;
pub use group::{group_trades, GroupedTrade, TradeLeg};
pub use mapping::{ColumnMapping, MappedColumns};
pub use model::{
    AssetClass, Cancel, FeeKind, FormatId, ImportOptions, Instrument, NormalizedFill, OptionRight, Parsed,
    PositionEffect, Rejected, TradeHints,
};

use formats::Ctx;
use input::{check_text, io_err, sniff_encoding, Encoding, Source, Utf16Reader, HEAD_LEN};

/// Bumped whenever a parser's output for the same file changes (the store records it with each import).
pub const PARSER_VERSION: u32 = 1;

/// The statement zone of an import: the caller's, else the mapping's (generic), else the format's default;
/// formats without a default fail naming the setting.
pub fn statement_tz(format: FormatId, opts: &ImportOptions) -> Result<Tz, ImportError> {
    if matches!(format, FormatId::TradovateFills | FormatId::TrendDojo) {
        // Times in these files are UTC by definition.
        return Ok(chrono_tz::UTC);
    }
    if let Some(tz) = opts.statement_tz {
        return Ok(tz);
    }
    if format == FormatId::Generic {
        if let Some(z) = opts.mapping.as_ref().and_then(|m| m.time_zone.as_ref()) {
            return z.parse().map_err(|_| ImportError::InvalidSetting {
                setting: "mapping",
                reason: format!("time_zone: {z:?} is not an IANA time zone"),
            });
        }
    }
    format.default_tz().ok_or_else(|| ImportError::MissingSetting {
        setting: "statement_tz",
        reason: format!(
            "{} times are in {}, which the file does not name; set statement_tz to that IANA zone (for example {})",
            format.label(),
            match format {
                FormatId::Mt5Html | FormatId::Mt5Xlsx => "the broker server's time zone",
                FormatId::TradovateOrders | FormatId::TradovatePerformance => "the time zone set in the Tradovate app",
                _ => "the zone the file was written in",
            },
            match format {
                FormatId::Mt5Html | FormatId::Mt5Xlsx => "Europe/Athens",
                FormatId::TradovateOrders | FormatId::TradovatePerformance => "America/Chicago",
                _ => "America/New_York",
            }
        ),
    })
}

/// Parse a file.
pub fn parse_path(path: impl AsRef<Path>, opts: &ImportOptions) -> Result<Parsed, ImportError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| ImportError::Io(format!("{}: {e}", path.display())))?;
    parse_reader(file, opts)
}

/// Parse bytes already in memory.
pub fn parse_bytes(bytes: &[u8], opts: &ImportOptions) -> Result<Parsed, ImportError> {
    parse_reader(bytes, opts)
}

/// Parse an export from a stream (read once, to the end; memory bounded by the fills, not the file).
pub fn parse_reader<R: Read>(reader: R, opts: &ImportOptions) -> Result<Parsed, ImportError> {
    let mut src = Source::new(reader);
    let mut head = Vec::with_capacity(HEAD_LEN);
    (&mut src).take(HEAD_LEN as u64).read_to_end(&mut head).map_err(io_err)?;
    let (enc, bom) = sniff_encoding(&head);
    if head.get(bom..).unwrap_or_default().iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
        return Err(ImportError::Empty);
    }
    let format = match opts.format {
        Some(f) => f,
        None => detect(&head)?,
    };
    let tz = statement_tz(format, opts)?;
    let mut ctx = Ctx::new(format, opts, tz);
    if format == FormatId::Mt5Xlsx {
        if !head.starts_with(b"PK\x03\x04") {
            return Err(ImportError::HeaderNotFound {
                format,
                lines: 1,
                expected: "an XLSX workbook (a ZIP archive)".into(),
                found: Some(input::truncate_raw(&String::from_utf8_lossy(&head[..head.len().min(80)]))),
            });
        }
        let mut all = head;
        let limit = formats::mt5::XLSX_LIMIT;
        (&mut src).take(limit + 1 - (all.len() as u64).min(limit)).read_to_end(&mut all).map_err(io_err)?;
        if all.len() as u64 > limit {
            return Err(ImportError::TooLarge { what: "an XLSX report".into(), limit_mib: limit >> 20 });
        }
        formats::mt5::parse_xlsx(&mut ctx, &all)?;
    } else {
        check_text(&head, enc)?;
        {
            let chained = Cursor::new(head.get(bom..).unwrap_or_default()).chain(&mut src);
            let mut stream: Box<dyn Read + '_> = match enc {
                Encoding::Utf8 => Box::new(chained),
                Encoding::Utf16Le => Box::new(Utf16Reader::new(chained, true)),
                Encoding::Utf16Be => Box::new(Utf16Reader::new(chained, false)),
            };
            formats::run(&mut ctx, &mut *stream)?;
        }
        src.drain().map_err(io_err)?;
        if let Some((line, detail)) = ctx.incomplete_last.take() {
            if !src.ends_with_newline(enc) {
                return Err(ImportError::Truncated { line, detail: format!("{detail} and the file ends mid-row") });
            }
        }
    }
    let file_sha256 = src.sha256_hex();
    let mut out = ctx.out;
    fingerprint::assign(&mut out.fills);
    Ok(Parsed {
        format,
        parser_version: PARSER_VERSION,
        statement_tz: tz,
        file_sha256,
        fills: out.fills,
        rejected: out.rejected,
        rejected_total: out.rejected_total,
        cancels: out.cancels,
        skipped_rows: out.skipped,
        warnings: out.warnings,
    })
}
