//! The importer's errors: each is about the whole file (a row that cannot be read is a
//! [`crate::Rejected`] row instead). Every message starts with what it is about (`file`, `header`,
//! `format`, or the option's name) and, where a line is known, names it, so the import preview can show the
//! message as is.

use crate::model::FormatId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("file: the file is empty")]
    Empty,
    #[error("file: not a text export ({detail})")]
    Binary { detail: String },
    #[error(
        "format: not a recognised broker export; the header found at line {line} is {found:?}; known formats: {known}"
    )]
    UnknownFormat { line: u64, found: String, known: String },
    #[error(
        "header: {format} at line {line}: missing column {missing}; found header {found:?}; expected header {expected:?}",
        format = .format.label()
    )]
    HeaderMismatch { format: FormatId, line: u64, missing: String, found: String, expected: String },
    #[error(
        "header: no {format} header in the first {lines} lines; expected a header like {expected:?}{found}",
        format = .format.label(),
        found = .found.as_ref().map(|f| format!("; the first line is {f:?}")).unwrap_or_default()
    )]
    HeaderNotFound { format: FormatId, lines: u64, expected: String, found: Option<String> },
    #[error("file: truncated at line {line}: {detail}")]
    Truncated { line: u64, detail: String },
    #[error("file: line {line}: {detail}")]
    Malformed { line: u64, detail: String },
    #[error("{setting}: {reason}")]
    MissingSetting { setting: &'static str, reason: String },
    #[error("{setting}: {reason}")]
    InvalidSetting { setting: &'static str, reason: String },
    #[error(
        "file: stopped at line {line}: {rejected} of {rows} rows could not be read (first at line {first_line}: {first_reason}); is this file a {format} export?",
        format = .format.label()
    )]
    TooManyRejected { format: FormatId, line: u64, rejected: u64, rows: u64, first_line: u64, first_reason: String },
    #[error("file: {what} is larger than the {limit_mib} MiB this format is read with")]
    TooLarge { what: String, limit_mib: u64 },
    #[error("file: could not be read: {0}")]
    Io(String),
}
