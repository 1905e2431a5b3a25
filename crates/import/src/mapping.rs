//! The generic CSV's column mapping: which column holds what, and how the file writes numbers and times.
//! It is plain serde data so the app can save one per user and broker and reuse it; its JSON shape is
//! documented in `docs/imports.md`. Unknown keys are refused, so a typo in a saved mapping is an error and
//! not a silently ignored column.

use serde::{Deserialize, Serialize};

use crate::error::ImportError;
use crate::model::AssetClass;

/// Column names in the file (matched like every header: case, spaces and punctuation other than `_` ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappedColumns {
    pub symbol: String,
    pub quantity: String,
    pub price: String,
    /// Buy/sell words; without it the side is the quantity's sign (negative sells).
    #[serde(default)]
    pub side: Option<String>,
    /// One column with date and time; or `date` (and `time`) instead.
    #[serde(default)]
    pub executed_at: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub execution_id: Option<String>,
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub multiplier: Option<String>,
    #[serde(default)]
    pub commission: Option<String>,
    #[serde(default)]
    pub exchange_fee: Option<String>,
    #[serde(default)]
    pub regulatory_fee: Option<String>,
    #[serde(default)]
    pub other_fee: Option<String>,
}

fn default_delimiter() -> char {
    ','
}

fn default_name() -> String {
    "generic".to_string()
}

/// A saved mapping for one broker's CSV.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    /// Stored as the fills' `broker`.
    #[serde(default = "default_name")]
    pub name: String,
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// Numbers are written `1.234,50`.
    #[serde(default)]
    pub decimal_comma: bool,
    /// strftime format of `executed_at` (or of `date` and `time` joined by one space); absent: detected from
    /// the first rows among common formats.
    #[serde(default)]
    pub datetime_format: Option<String>,
    /// IANA zone of naive times (the import's `statement_tz` overrides it).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Fees are written negative when they cost.
    #[serde(default)]
    pub fees_negative: bool,
    /// Extra words (beyond buy/sell/b/s/bot/sld/…) meaning buy or sell, e.g. `["Kauf"]`.
    #[serde(default)]
    pub buy_words: Vec<String>,
    #[serde(default)]
    pub sell_words: Vec<String>,
    /// Currency when there is no currency column.
    #[serde(default)]
    pub currency: Option<String>,
    /// How symbols are read: `stock` (default; OCC option symbols are still recognised), `future` (month
    /// codes, multiplier from the futures table), `forex`, `crypto`, `cfd`.
    #[serde(default)]
    pub asset_class: Option<AssetClass>,
    pub columns: MappedColumns,
}

impl ColumnMapping {
    /// Check what serde cannot: a delimiter that is one ASCII byte, a time column, a known zone.
    pub fn validate(&self) -> Result<(), ImportError> {
        let bad = |reason: String| Err(ImportError::InvalidSetting { setting: "mapping", reason });
        if !self.delimiter.is_ascii() || self.delimiter == '"' || self.delimiter == '\n' {
            return bad(format!(
                "delimiter: {:?} must be one ASCII character other than a quote or newline",
                self.delimiter
            ));
        }
        if self.decimal_comma && self.delimiter == ',' {
            return bad("delimiter: a file with decimal commas cannot be comma-separated; use ';' or a tab".into());
        }
        if self.columns.executed_at.is_none() && self.columns.date.is_none() {
            return bad("columns: executed_at or date is required".into());
        }
        if let Some(z) = &self.time_zone {
            if z.parse::<chrono_tz::Tz>().is_err() {
                return bad(format!("time_zone: {z:?} is not an IANA time zone"));
            }
        }
        for (what, v) in
            [("symbol", &self.columns.symbol), ("quantity", &self.columns.quantity), ("price", &self.columns.price)]
        {
            if v.trim().is_empty() {
                return bad(format!("columns.{what}: empty"));
            }
        }
        Ok(())
    }
}
