//! The normalized shapes every parser produces.
//!
//! A broker export is read into [`NormalizedFill`]s: one per execution, keeping everything the file said
//! about it (account, ids, the instrument's full identity, multiplier, each kind of fee, the raw time text and
//! the zone it was read in) next to the values the journal computes with (side, positive quantity, price,
//! UTC instant). Keeping the raw text is deliberate: when a broker changes a layout or a time zone rule turns
//! out wrong, the user and support can see what was read from what. Every number is a `Decimal`; JSON
//! carries them as strings (the workspace enables rust_decimal's `serde-with-str`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use trenddojo_domain::money::canonical;
use trenddojo_domain::{Direction, Side};

use crate::error::ImportError;
use crate::mapping::ColumnMapping;

macro_rules! id_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ImportError;
            fn from_str(s: &str) -> Result<Self, ImportError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(ImportError::InvalidSetting {
                        setting: $field,
                        reason: format!(
                            "expected one of {}, got {other:?}",
                            $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    }),
                }
            }
        }
    };
}

id_enum!(
    /// Every export layout the importer reads.
    FormatId, "format", {
        IbkrFlexCsv => "ibkr_flex_csv",
        IbkrFlexXml => "ibkr_flex_xml",
        IbkrActivityCsv => "ibkr_activity_csv",
        Schwab => "schwab",
        TradovateFills => "tradovate_fills",
        TradovateOrders => "tradovate_orders",
        TradovatePerformance => "tradovate_performance",
        Mt5Html => "mt5_html",
        Mt5Xlsx => "mt5_xlsx",
        Tastytrade => "tastytrade",
        Webull => "webull",
        Generic => "generic",
        TrendDojo => "trenddojo",
    }
);

id_enum!(
    /// What kind of instrument a fill is in.
    AssetClass, "asset_class", {
        Stock => "stock",
        Option => "option",
        Future => "future",
        FutureOption => "future_option",
        Forex => "forex",
        Crypto => "crypto",
        Cfd => "cfd",
        Bond => "bond",
        Other => "other",
    }
);

id_enum!(
    /// Kinds of execution cost. A cost is positive, a rebate negative.
    FeeKind, "fee_kind", {
        Commission => "commission",
        Exchange => "exchange",
        Regulatory => "regulatory",
        Other => "other",
    }
);

id_enum!(
    /// Call or put.
    OptionRight, "right", { Call => "C", Put => "P" }
);

id_enum!(
    /// What the broker said a fill did to the position, where it says it. Grouping does not rely on it (it
    /// follows the signed quantity), but it is kept for display and checks.
    PositionEffect, "position_effect", {
        Open => "open",
        Close => "close",
        Reverse => "reverse",
        CloseBy => "close_by",
    }
);

impl FormatId {
    /// A human name for messages.
    pub fn label(self) -> &'static str {
        match self {
            FormatId::IbkrFlexCsv => "Interactive Brokers Flex Query (CSV)",
            FormatId::IbkrFlexXml => "Interactive Brokers Flex Query (XML)",
            FormatId::IbkrActivityCsv => "Interactive Brokers Activity Statement (CSV)",
            FormatId::Schwab => "Schwab / thinkorswim Account Statement (CSV)",
            FormatId::TradovateFills => "Tradovate Fills (CSV)",
            FormatId::TradovateOrders => "Tradovate Orders (CSV)",
            FormatId::TradovatePerformance => "Tradovate Performance (CSV)",
            FormatId::Mt5Html => "MetaTrader 5 Trade History Report (HTML)",
            FormatId::Mt5Xlsx => "MetaTrader 5 Trade History Report (XLSX)",
            FormatId::Tastytrade => "Tastytrade transactions (CSV)",
            FormatId::Webull => "Webull orders (CSV)",
            FormatId::Generic => "generic CSV with a column mapping",
            FormatId::TrendDojo => "TrendDojo executions CSV v1",
        }
    }

    /// The broker name stored on each fill.
    pub fn broker(self) -> &'static str {
        match self {
            FormatId::IbkrFlexCsv | FormatId::IbkrFlexXml | FormatId::IbkrActivityCsv => "ibkr",
            FormatId::Schwab => "schwab",
            FormatId::TradovateFills | FormatId::TradovateOrders | FormatId::TradovatePerformance => "tradovate",
            FormatId::Mt5Html | FormatId::Mt5Xlsx => "mt5",
            FormatId::Tastytrade => "tastytrade",
            FormatId::Webull => "webull",
            FormatId::Generic => "generic",
            FormatId::TrendDojo => "trenddojo",
        }
    }

    /// The statement time zone used when the options give none. `None`: the user must say (MT5 reports are
    /// in the broker server's zone, Tradovate Orders/Performance in the zone set in the user's app, a generic
    /// file in whatever zone it was written in); guessing would put trades on the wrong day without a word.
    pub fn default_tz(self) -> Option<Tz> {
        match self {
            FormatId::IbkrFlexCsv
            | FormatId::IbkrFlexXml
            | FormatId::IbkrActivityCsv
            | FormatId::Schwab
            | FormatId::Tastytrade
            | FormatId::Webull => Some(chrono_tz::America::New_York),
            FormatId::TradovateFills | FormatId::TrendDojo => Some(chrono_tz::UTC),
            FormatId::TradovateOrders
            | FormatId::TradovatePerformance
            | FormatId::Mt5Html
            | FormatId::Mt5Xlsx
            | FormatId::Generic => None,
        }
    }

    /// Whether the format carries a broker execution id (so dedupe is by that id, not by fingerprint).
    pub fn has_exec_ids(self) -> bool {
        matches!(
            self,
            FormatId::IbkrFlexCsv
                | FormatId::IbkrFlexXml
                | FormatId::TradovateFills
                | FormatId::TradovatePerformance
                | FormatId::Mt5Html
                | FormatId::Mt5Xlsx
                | FormatId::TrendDojo
        )
    }
}

/// What the caller tells the importer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportOptions {
    /// Force a format instead of detecting it (the header is still checked against it).
    pub format: Option<FormatId>,
    /// The zone naive times in the file are read in; overrides the format's default.
    pub statement_tz: Option<Tz>,
    /// Required for [`FormatId::Generic`].
    pub mapping: Option<ColumnMapping>,
    /// The broker account for files that do not name one (Webull, Tastytrade, Tradovate Performance).
    pub default_account: Option<String>,
    /// Contract multiplier (MT5: contract size per lot) by symbol or futures root, over the built-in table.
    #[serde(default)]
    pub contract_multipliers: BTreeMap<String, Decimal>,
}

/// One instrument with its full identity. `key` is the canonical identity used for grouping and
/// fingerprints: two fills are in the same instrument exactly when their keys are equal, whatever the
/// broker's spelling (`/ESH24`, `ESH4` and `ESH24` are all `FUT:ES:2024-03`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Instrument {
    /// `STK:AAPL`, `OPT:SPY:2024-01-19:C:470`, `FUT:ES:2024-03`, `FOP:ES:2024-03-15:C:5000`, `FX:EURUSD`,
    /// `CFD:US500`, `CRYPTO:BTCUSD`, `BOND:…`, `OTHER:…`.
    pub key: String,
    /// The display symbol: the ticker, the 21-character OCC symbol of an option, root + month code + two-digit
    /// year for a future (`ESH24`), the base symbol of an MT5 symbol without its broker suffix.
    pub symbol: String,
    /// The symbol exactly as the file wrote it (trimmed).
    pub broker_symbol: String,
    pub underlying: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub strike: Option<Decimal>,
    pub right: Option<OptionRight>,
    pub future_root: Option<String>,
    /// `YYYY-MM` of a future's delivery month.
    pub contract_month: Option<String>,
}

/// Trade-level facts that only TrendDojo's own export carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeHints {
    /// The exporting store's trade id: executions sharing it form one trade.
    pub trade_ref: String,
    pub direction: Direction,
    pub initial_stop: Option<Decimal>,
    pub setup: Option<String>,
    /// The account's IANA zone.
    pub account_time_zone: String,
}

/// Shares the values that repeat across a file's fills (the broker, its account, the currency, the zone,
/// the instrument): one allocation per distinct value instead of one per fill. A 100,000-fill statement of
/// 200 instruments held ~1.2 KB per fill before; most of it was these copies.
#[derive(Debug, Default)]
pub struct Interner {
    text: std::collections::HashSet<Arc<str>>,
    instruments: std::collections::HashSet<Arc<Instrument>>,
}

impl Interner {
    pub fn text(&mut self, s: &Arc<str>) -> Arc<str> {
        if let Some(x) = self.text.get(s) {
            return x.clone();
        }
        self.text.insert(s.clone());
        s.clone()
    }

    pub fn instrument(&mut self, i: &Arc<Instrument>) -> Arc<Instrument> {
        if let Some(x) = self.instruments.get(i) {
            return x.clone();
        }
        self.instruments.insert(i.clone());
        i.clone()
    }

    /// The fill with its repeated values shared.
    pub fn fill(&mut self, mut f: NormalizedFill) -> NormalizedFill {
        f.broker = self.text(&f.broker);
        f.broker_account = self.text(&f.broker_account);
        f.currency = self.text(&f.currency);
        f.time_zone = self.text(&f.time_zone);
        f.instrument = self.instrument(&f.instrument);
        f
    }
}

/// One execution, normalized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NormalizedFill {
    /// `ibkr`, `schwab`, `tradovate`, `mt5`, `tastytrade`, `webull`, `trenddojo` or the generic mapping's name.
    pub broker: Arc<str>,
    pub broker_account: Arc<str>,
    pub broker_exec_id: Option<String>,
    pub order_id: Option<String>,
    pub asset_class: AssetClass,
    /// Shared by every fill of the instrument in a file (see [`Interner`]).
    pub instrument: Arc<Instrument>,
    /// Value of one point per unit of quantity (100 for equity options, 50 for ES, the contract size of an MT5
    /// lot).
    pub multiplier: Decimal,
    pub side: Side,
    /// Always positive.
    pub quantity: Decimal,
    pub price: Decimal,
    /// Each kind at most once, zero amounts left out, in [`FeeKind`] order; a cost is positive.
    pub fees: Vec<(FeeKind, Decimal)>,
    pub currency: Arc<str>,
    pub position_effect: Option<PositionEffect>,
    /// The time text as the file wrote it (date and time joined with a space when they are two columns).
    pub raw_time: String,
    /// The zone `raw_time` was read in: an IANA name, or `UTC` / a fixed offset when the text carried one.
    pub time_zone: Arc<str>,
    pub executed_at: DateTime<Utc>,
    /// The 1-based line of the row in the file (XLSX: the sheet row).
    pub line: u64,
    /// How many identical fills (same fingerprint text) came before this one in the file.
    pub occurrence: u32,
    /// Hex sha256, see [`crate::fingerprint`].
    pub fingerprint: String,
    /// The broker execution id this fill corrects (an IBKR `.02` correcting `.01`).
    pub correction_of: Option<String>,
    pub trade_hints: Option<Box<TradeHints>>,
    /// Things the user should see about this fill (a DST gap or overlap, a fee join that found nothing).
    pub warnings: Vec<String>,
}

impl NormalizedFill {
    /// Sum of all fees (cost positive).
    pub fn total_fees(&self) -> Decimal {
        self.fees.iter().map(|(_, a)| *a).fold(Decimal::ZERO, |s, a| s.saturating_add(a))
    }

    /// The key a store deduplicates on: the broker execution id where the format has one, otherwise the
    /// fingerprint (which includes the occurrence index, so two genuine identical fills both import).
    pub fn dedupe_key(&self) -> String {
        match &self.broker_exec_id {
            Some(id) => format!("exec:{}:{}:{}", self.broker, self.broker_account, exec_base(id)),
            None => format!("fp:{}", self.fingerprint),
        }
    }
}

/// An IBKR execution id without its correction version: `0000e0d5.65e1c4a7.01.02` -> `0000e0d5.65e1c4a7.01`.
/// Ids of other brokers are returned unchanged.
pub fn exec_base(id: &str) -> &str {
    match crate::formats::ibkr::split_exec_version(id) {
        Some((base, _)) => base,
        None => id,
    }
}

/// A row that could not be read, with the reason; listed in the import preview.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
    /// The row's text, cut to 200 characters.
    pub raw: String,
}

/// A broker cancellation of an earlier execution (IBKR `TradeCancel`): the store removes that execution if
/// an earlier import holds it; one in the same file is already left out of `fills`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancel {
    pub broker_account: String,
    pub broker_exec_id: String,
    pub line: u64,
    pub raw_time: String,
    /// Whether the cancelled execution was in this file (and so was dropped from `fills`).
    pub in_file: bool,
}

/// Everything read from one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Parsed {
    pub format: FormatId,
    pub parser_version: u32,
    pub statement_tz: Tz,
    pub file_sha256: String,
    pub fills: Vec<NormalizedFill>,
    pub rejected: Vec<Rejected>,
    /// Rows rejected in all (`rejected` keeps the first 1,000).
    pub rejected_total: u64,
    pub cancels: Vec<Cancel>,
    /// Rows read but not executions (summaries, order rows, deposits, cancelled orders), counted.
    pub skipped_rows: u64,
    pub warnings: Vec<String>,
}

/// Canonical decimal text (no exponent, no trailing zeros, `0` for zero).
pub fn dec_text(d: Decimal) -> String {
    canonical(d)
}
