//! Broker imports: read a broker's export, preview what it would change, commit it as one batch, undo a
//! batch. The shells (CLI today, the app's import screen later) call these four use cases and nothing else.
//!
//! ## Why it works this way
//! * **Plan, then write, in the same code.** [`plan`] decides, from the parsed file and what the store
//!   holds, which fills are new, duplicate, corrected or cancelled and how every affected trade looks
//!   afterwards, without writing. The preview shows that plan; the commit makes it again inside its write
//!   transaction (the store may have changed since the preview: another device's sync, another import) and
//!   applies it, so what is committed is always consistent, and an error anywhere rolls back everything.
//! * **Dedupe by the key the parser gives** (the broker's execution id where the format has one, else the
//!   fingerprint with its occurrence index), looked up among the account's imported fills: importing a
//!   file twice adds nothing, overlapping exports add only what is new, an IBKR correction (`.01` →
//!   `.02`, same key) replaces the fill it corrects, a `TradeCancel` removes it.
//! * **Trades are regrouped, not just appended.** Fills of one broker account and instrument are cut into
//!   trades flat to flat (`trenddojo_import::group_trades`). A new fill can land inside history already
//!   imported (an older statement imported later), so every trade of that instrument still open, or closed
//!   at or after the earliest changed fill, is regrouped together with the new fills; trades closed before
//!   it are untouched. Trade ids are kept where a regrouped trade still holds fills of an old one, so notes
//!   and stops stay with their trade; a trade left without fills is removed and its notes move along.
//!   Fills restored from TrendDojo's own export keep the grouping they were exported with.
//! * **Ids that merge.** A new fill's id is derived from the account, its dedupe key and how many of that
//!   key's rows were ever removed, so two devices importing the same file while offline write the same
//!   rows, which sync merges into one instead of duplicating every fill. A trade's id is derived from its
//!   first fill's. Ids already taken fall back to random ones.
//! * **Undo that syncs.** Sync never revives a tombstone, so undo writes forward: fills the batch added are
//!   removed, fills it corrected get their old values back (kept in `replaced`), fills it cancelled come
//!   back as new rows, and the trades are regrouped as above, all in one transaction.
//! * **Refused, not bent.** A fill the journal cannot hold as it is (another currency than the account's,
//!   a price of zero or less, fees that add up to a rebate, a symbol longer than 32 characters) is a
//!   rejected row with its reason in the preview, like a row the parser could not read. Nothing is rounded
//!   or clamped to fit.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use trenddojo_domain::money::{Fee, Money, Price, Quantity};
use trenddojo_domain::trade::{self as dtrade, Derived, Direction, Fill, Side, TradeFacts};
use trenddojo_import::{
    AssetClass, ColumnMapping, FeeKind, FormatId, ImportOptions, Instrument, NormalizedFill, Parsed, Rejected,
};
use trenddojo_store::accounts::{self as account_repo, Account};
use trenddojo_store::imports::{
    self as import_repo, Corrected, ImportBatch, ImportRow, KeyRows, Provenance, StoredFill,
};
use trenddojo_store::trades::{self as trade_repo, ImportedTrade, NewTrade, Trade};
use trenddojo_store::{derived_id, Connection, Tx};

use super::trades::{check_trade_limit, refresh_trade, tz_of};
use super::Journal;
use crate::dto;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::parse;

/// How many fills and trades a preview lists (the counts cover all of them).
pub const PREVIEW_FILLS: usize = 200;
pub const PREVIEW_TRADES: usize = 200;

/// Input for an import, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct ImportInput {
    #[ts(type = "string")]
    pub file: PathBuf,
    pub account: String,
    /// Force a format (`ibkr_flex_csv`, ...) instead of detecting it.
    pub format: Option<String>,
    /// The zone naive times in the file are in (IANA name); the format's default otherwise.
    pub time_zone: Option<String>,
    /// A generic file's column mapping: the name of a saved one, or the path of a JSON file.
    pub mapping: Option<String>,
    /// Save the mapping (read from a file) under this name for next time.
    pub save_mapping: Option<String>,
    /// The broker account for files that name none (Webull, Tastytrade, Tradovate Performance).
    pub broker_account: Option<String>,
    /// Contract multipliers by symbol or futures root, `SYMBOL=VALUE` (MT5 contract sizes, unknown roots).
    pub multipliers: Vec<String>,
}

/// A file read and checked, ready to preview and to commit.
#[derive(Debug, Clone)]
pub struct ImportFile {
    account: Account,
    file_name: String,
    parsed: Parsed,
}

impl ImportFile {
    /// Fills read from the file (before dedupe).
    pub fn fills_read(&self) -> usize {
        self.parsed.fills.len()
    }
}

/// What an import adds, finds again, corrects, cancels and refuses.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, ts_rs::TS)]
pub struct ImportCounts {
    #[ts(type = "number")]
    pub new: u64,
    #[ts(type = "number")]
    pub duplicate: u64,
    #[ts(type = "number")]
    pub corrected: u64,
    #[ts(type = "number")]
    pub cancelled: u64,
    #[ts(type = "number")]
    pub rejected: u64,
    /// Rows that are not executions (summaries, order rows, deposits).
    #[ts(type = "number")]
    pub skipped: u64,
    #[ts(type = "number")]
    pub trades_created: u64,
    #[ts(type = "number")]
    pub trades_changed: u64,
    /// Trades left without fills (merged into another by the regrouping, or emptied by an undo).
    #[ts(type = "number")]
    pub trades_removed: u64,
}

/// One fill the import adds, corrects or cancels. Money and quantities are canonical decimal text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct PreviewFill {
    pub change: dto::FillChange,
    #[ts(type = "number")]
    pub line: u64,
    pub symbol: String,
    /// `None` only for a cancel of a fill this store does not hold as the file describes it.
    pub side: Option<dto::Side>,
    pub quantity: Option<String>,
    pub price: Option<String>,
    pub fees: Option<String>,
    /// RFC 3339 UTC.
    pub executed_at: Option<String>,
    /// The instant in the account's time zone.
    pub local_time: Option<String>,
    /// The time as the file wrote it, and the zone it was read in.
    pub raw_time: String,
    pub read_in: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One trade the import creates, changes or removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct PreviewTrade {
    pub change: dto::TradeChange,
    /// The existing trade's id (`None` for a trade still to be created).
    pub id: Option<dto::TradeId>,
    pub symbol: String,
    pub direction: dto::Direction,
    pub status: dto::TradeStatus,
    pub fills: u32,
    pub opened_at: Option<String>,
    pub closed_at: Option<String>,
    pub net_pnl_before: Option<String>,
    pub net_pnl: String,
}

/// Realized net P&L of the trades an import touches, before and after (canonical decimal text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct PnlChange {
    pub before: String,
    pub after: String,
    pub change: String,
}

/// What an import would do (a preview) or did (after commit: `batch_id` set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct ImportPreview {
    pub batch_id: Option<dto::ImportBatchId>,
    pub file_name: String,
    pub file_sha256: String,
    pub format: dto::ImportFormat,
    pub format_label: String,
    pub parser_version: u32,
    pub statement_tz: String,
    pub account: String,
    pub account_time_zone: String,
    pub currency: String,
    pub counts: ImportCounts,
    /// Earlier imports of this same file into this account (still in effect).
    pub imported_before: Vec<dto::ImportBatchId>,
    pub rejected: Vec<dto::RejectedRow>,
    pub warnings: Vec<String>,
    /// The first [`PREVIEW_FILLS`] changed fills (`counts` covers all).
    pub fills: Vec<PreviewFill>,
    /// The first [`PREVIEW_TRADES`] changed trades.
    pub trades: Vec<PreviewTrade>,
    pub pnl: PnlChange,
}

/// What an undo did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct UndoResult {
    pub batch: dto::ImportBatch,
    #[ts(type = "number")]
    pub fills_removed: u64,
    #[ts(type = "number")]
    pub fills_restored: u64,
    #[ts(type = "number")]
    pub corrections_reverted: u64,
    #[ts(type = "number")]
    pub trades_changed: u64,
    #[ts(type = "number")]
    pub trades_removed: u64,
}

/// Reads a file and tells the journal's progress sink how far it got (each MiB, and at the end).
struct Counting<'a, R> {
    inner: R,
    read: u64,
    reported: u64,
    total: u64,
    journal: &'a Journal,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read = self.read.saturating_add(n as u64);
        if self.read.saturating_sub(self.reported) >= 1 << 20 || n == 0 {
            self.reported = self.read;
            self.journal.report(dto::Progress {
                task: dto::ProgressTask::ImportRead,
                done: self.read,
                total: Some(self.total),
            });
        }
        Ok(n)
    }
}

fn import_error(e: trenddojo_import::ImportError) -> ApiError {
    let message = e.to_string();
    let field = message.split_once(':').map(|(f, _)| f.trim().to_string()).filter(|f| !f.contains(' '));
    let code = match e {
        trenddojo_import::ImportError::Io(_) => ErrorCode::Io,
        _ => ErrorCode::InvalidInput,
    };
    ApiError { code, message, field, hint: None, action: None }
}

fn multiplier_setting(s: &str) -> ApiResult<(String, Decimal)> {
    let (sym, v) = s
        .split_once('=')
        .ok_or_else(|| ApiError::invalid("multipliers", format!("expected SYMBOL=VALUE such as MES=5, got {s:?}")))?;
    let sym = sym.trim();
    if sym.is_empty() {
        return Err(ApiError::invalid("multipliers", format!("no symbol before '=' in {s:?}")));
    }
    Ok((sym.to_string(), parse::positive_decimal("multipliers", v)?))
}

impl Journal {
    /// Read and check a broker export for `input.account` (nothing is written; a saved mapping is stored
    /// only when the file reads). The progress sink hears how far the file has been read.
    pub fn import_read(&self, input: &ImportInput) -> ApiResult<ImportFile> {
        let user_id = self.user_id()?;
        let account = self.store.read(|c| Ok::<_, ApiError>(account_repo::resolve(c, user_id, &input.account)?))?;
        let format = input.format.as_deref().map(|f| parse::choice::<FormatId>("format", f)).transpose()?;
        let statement_tz = input.time_zone.as_deref().map(|z| parse::time_zone("time_zone", z)).transpose()?;
        let mut contract_multipliers = BTreeMap::new();
        for m in &input.multipliers {
            let (k, v) = multiplier_setting(m)?;
            contract_multipliers.insert(k, v);
        }
        let default_account =
            input.broker_account.as_deref().map(|a| parse::text("broker_account", a, 100)).transpose()?;
        let (mapping, mapping_json) = match &input.mapping {
            None => (None, None),
            Some(m) => {
                let json = self.mapping_text(user_id, m)?;
                let mapping: ColumnMapping = serde_json::from_str(&json)
                    .map_err(|e| ApiError::invalid("mapping", format!("not a column mapping: {e}")))?;
                mapping.validate().map_err(import_error)?;
                (Some(mapping), Some(json))
            }
        };
        if input.save_mapping.is_some() && mapping_json.is_none() {
            return Err(ApiError::invalid("save_mapping", "names a mapping to save; give the mapping with it"));
        }
        let opts = ImportOptions { format, statement_tz, mapping, default_account, contract_multipliers };
        let path = &input.file;
        let file = std::fs::File::open(path).map_err(|e| {
            let code = if e.kind() == std::io::ErrorKind::NotFound { ErrorCode::NotFound } else { ErrorCode::Io };
            ApiError::new(code, format!("file: {}: {e}", path.display())).with_field("file")
        })?;
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(ApiError::invalid("file", format!("{} is a folder, not an export", path.display())));
        }
        let reader = Counting { inner: file, read: 0, reported: 0, total, journal: self };
        let parsed = trenddojo_import::parse_reader(reader, &opts).map_err(import_error)?;
        if let (Some(name), Some(json)) = (&input.save_mapping, &mapping_json) {
            let name = parse::text("save_mapping", name, 60)?;
            self.store.write(|tx| Ok::<_, ApiError>(import_repo::save_mapping(tx, user_id, &name, json)?))?;
        }
        let file_name = file_name(path);
        Ok(ImportFile { account, file_name, parsed })
    }

    /// A saved mapping by name, or the JSON of a mapping file.
    fn mapping_text(&self, user_id: Uuid, m: &str) -> ApiResult<String> {
        let saved = self.store.read(|c| Ok::<_, ApiError>(import_repo::mapping(c, user_id, m)?))?;
        if let Some(json) = saved {
            return Ok(json);
        }
        let path = Path::new(m);
        if !path.is_file() {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("mapping: no saved mapping named {m:?} and no mapping file at that path"),
            )
            .with_field("mapping"));
        }
        let meta = std::fs::metadata(path).map_err(|e| ApiError::new(ErrorCode::Io, format!("mapping: {e}")))?;
        if meta.len() > 1 << 20 {
            return Err(ApiError::invalid("mapping", "a mapping file is at most 1 MiB"));
        }
        std::fs::read_to_string(path).map_err(|e| ApiError::invalid("mapping", format!("{}: {e}", path.display())))
    }

    /// What importing `file` would do, without writing anything.
    pub fn import_preview(&self, file: &ImportFile) -> ApiResult<ImportPreview> {
        self.store.read_snapshot(|c| {
            let mut ids = IdSource::Preview;
            let plan = plan(c, file, &mut ids)?;
            preview(c, file, &plan, None)
        })
    }

    /// Import `file` as one batch: the plan is made again inside the write transaction and applied; any
    /// error leaves the store as it was. Returns what was done.
    pub fn import_commit(&self, file: &ImportFile) -> ApiResult<ImportPreview> {
        let user = self.current_user()?.clone();
        self.store.write(|tx| {
            let account = account_repo::get(tx, user.id, file.account.id)?;
            let mut ids = IdSource::Commit(tx);
            let plan = plan(tx, file, &mut ids)?;
            check_trade_limit(tx, user.id, u32::try_from(plan.created()).unwrap_or(u32::MAX))?;
            let batch_id = tx.new_id();
            let p = &file.parsed;
            let counts = plan.counts();
            let batch = ImportBatch {
                id: batch_id,
                account_id: account.id,
                file_name: file.file_name.clone(),
                file_sha256: p.file_sha256.clone(),
                format: p.format.as_str().to_string(),
                parser_version: p.parser_version,
                statement_tz: p.statement_tz.name().to_string(),
                new_count: counts.new,
                duplicate_count: counts.duplicate,
                corrected_count: counts.corrected,
                cancelled_count: counts.cancelled,
                rejected_count: counts.rejected,
                skipped_count: counts.skipped,
                trades_created: counts.trades_created,
                trades_changed: counts.trades_changed.saturating_add(counts.trades_removed),
                confirmed_by: user.email.clone(),
                confirmed_at: tx.at,
                undone_by: None,
                undone_at: None,
            };
            import_repo::insert_batch(tx, &import_repo::NewBatch { id: batch_id, user_id: user.id, batch: &batch })?;
            let shown = preview(tx, file, &plan, Some(batch_id))?;
            apply(tx, &account, &plan, Some(batch_id), Some(file))?;
            Ok(shown)
        })
    }

    /// A user's imports, newest first (of one account when given).
    pub fn import_list(&self, account: Option<&str>) -> ApiResult<Vec<dto::ImportBatch>> {
        let user_id = self.user_id()?;
        self.store.read(|c| {
            let account = account.map(|a| account_repo::resolve(c, user_id, a)).transpose()?;
            Ok(import_repo::list_batches(c, user_id, account.map(|a| a.id))?.iter().map(Into::into).collect())
        })
    }

    /// Undo a whole import in one transaction (see the module docs).
    pub fn import_undo(&self, batch: &str) -> ApiResult<UndoResult> {
        let user = self.current_user()?.clone();
        self.store.write(|tx| {
            let b = import_repo::resolve_batch(tx, user.id, batch)?;
            if b.undone_at.is_some() {
                return Err(ApiError::conflict(
                    "import",
                    format!(
                        "{} ({}) was already undone by {}",
                        b.id,
                        b.file_name,
                        b.undone_by.as_deref().unwrap_or("?")
                    ),
                ));
            }
            let account = account_repo::get_any(tx, b.account_id)?;
            let mut ids = IdSource::Commit(tx);
            let plan = undo_plan(tx, &account, &b, &mut ids)?;
            let (removed, restored, reverted) = (plan.undo_removed, plan.undo_restored, plan.undo_reverted);
            let counts = plan.counts();
            apply(tx, &account, &plan, None, None)?;
            import_repo::mark_undone(tx, b.id, &user.email)?;
            let batch = import_repo::resolve_batch(tx, user.id, &b.id.to_string())?;
            Ok(UndoResult {
                batch: (&batch).into(),
                fills_removed: removed,
                fills_restored: restored,
                corrections_reverted: reverted,
                trades_changed: counts.trades_changed,
                trades_removed: counts.trades_removed,
            })
        })
    }
}

fn file_name(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let name: String = name.chars().take(255).collect();
    if name.is_empty() {
        "(unnamed)".to_string()
    } else {
        name
    }
}

// ---------------------------------------------------------------------------------------------------------
// The plan
// ---------------------------------------------------------------------------------------------------------

/// Where new ids come from: random-free placeholders in a preview, derived or fresh ids in a commit.
enum IdSource<'a, 'b> {
    Preview,
    Commit(&'a Tx<'b>),
}

impl IdSource<'_, '_> {
    fn fresh(&self) -> Uuid {
        match self {
            IdSource::Preview => Uuid::now_v7(),
            IdSource::Commit(tx) => tx.new_id(),
        }
    }
}

/// What a correction leaves on a fill's rows: the batch that corrected it and the values it replaced (JSON).
type Mark = (Option<Uuid>, Option<String>);

/// A fill's values as regrouping sees them: what it should hold after the plan.
#[derive(Debug, Clone)]
struct Values {
    side: Side,
    quantity: Quantity,
    price: Price,
    fees: Fee,
    executed_at: DateTime<Utc>,
    /// Where a stored fill came from (`None`: typed by hand, or a fill of the file, see `file`). Boxed: most
    /// values of a large import are the file's, and this is ~440 bytes.
    provenance: Option<Box<Provenance>>,
    /// A fill of the file being imported: its provenance is built from the file when its row is written,
    /// not held in the plan (100,000 of them held ~65 MB).
    file: Option<FileRef>,
}

/// A fill of the file a plan is for (its dedupe key is the fill's own, `NormalizedFill::dedupe_key`).
#[derive(Debug, Clone, Copy)]
struct FileRef {
    /// Its index in the parsed fills.
    index: usize,
    /// The batch it belongs to when that is not the importing one (a correction stays in the batch of the
    /// fill it corrects).
    batch: Option<Uuid>,
    multiplier: Decimal,
}

/// One execution as a broker reported it: one or more rows (a fill that flipped a position is one row in
/// each trade) or none yet (new).
#[derive(Debug, Clone)]
struct Logical {
    key: String,
    values: Values,
    rows: Vec<StoredFill>,
    /// Marks to write on its rows: the batch that corrected it and what it held before.
    mark: Option<Mark>,
    /// Where it came from in the file (for new fills), for ids and the preview.
    new_index: Option<usize>,
    /// How many of its key's rows were ever removed (part of a derived id).
    dead: u32,
    /// The display symbol the file gave (new fills only).
    symbol: Option<String>,
}

/// What one trade looks like after the plan.
#[derive(Debug, Clone)]
struct TradePlan {
    id: Uuid,
    existing: Option<Trade>,
    direction: Direction,
    symbol: String,
    multiplier: Decimal,
    initial_stop: Option<Price>,
    setup: Option<String>,
    rows: Vec<RowPlan>,
    derived: Derived,
    fills: usize,
    changed: bool,
}

#[derive(Debug, Clone)]
enum RowPlan {
    /// An existing row stays (its trade may change, its values may be rewritten).
    Keep {
        id: Uuid,
        from_trade: Uuid,
        values: Option<Box<(Values, Option<Mark>)>>,
    },
    Insert {
        fill: Fill,
        source: RowSource,
        mark: Option<Mark>,
    },
}

/// Where a row to insert comes from: a fill of the file (its provenance built when it is written) or a
/// stored fill written again (a regrouping that changed its shape), whose provenance is kept.
#[derive(Debug, Clone)]
enum RowSource {
    File(FileRef),
    Stored(Box<Provenance>),
}

impl RowSource {
    /// The source of a fill with these values: the file when it is one of the file's fills, else its
    /// stored provenance (`stored` is asked only then; an empty one keyed `key` when it has none).
    fn of(file: Option<FileRef>, stored: impl FnOnce() -> Option<Box<Provenance>>, key: &str) -> RowSource {
        match file {
            Some(f) => RowSource::File(f),
            None => RowSource::Stored(stored().unwrap_or_else(|| Box::new(empty_provenance(key)))),
        }
    }
}

#[derive(Debug, Default)]
struct Plan {
    fill_change: Vec<Option<dto::FillChange>>,
    duplicates: u64,
    journal_rejected: Vec<Rejected>,
    /// Cancels that found their fill: the cancel's index in the file, its key, and the fill it removes.
    cancelled: Vec<(usize, String, Logical)>,
    trades: Vec<TradePlan>,
    /// Existing trades left without fills, with the trade that took most of their fills (notes go there).
    removed: Vec<(Trade, Option<Uuid>)>,
    /// Rows to remove (cancelled fills, or replaced by a new representation) and the batch that removed
    /// them when it was a cancel.
    remove_rows: Vec<(Uuid, bool)>,
    rejected_total: u64,
    skipped: u64,
    warnings: Vec<String>,
    undo_removed: u64,
    undo_restored: u64,
    undo_reverted: u64,
}

impl Plan {
    fn created(&self) -> usize {
        self.trades.iter().filter(|t| t.existing.is_none()).count()
    }

    fn counts(&self) -> ImportCounts {
        let n = |c: usize| u64::try_from(c).unwrap_or(u64::MAX);
        ImportCounts {
            new: n(self.fill_change.iter().filter(|c| **c == Some(dto::FillChange::New)).count()),
            duplicate: self.duplicates,
            corrected: n(self.fill_change.iter().filter(|c| **c == Some(dto::FillChange::Corrected)).count()),
            cancelled: n(self.cancelled.len()),
            rejected: self.rejected_total.saturating_add(n(self.journal_rejected.len())),
            skipped: self.skipped,
            trades_created: n(self.created()),
            trades_changed: n(self.trades.iter().filter(|t| t.existing.is_some() && t.changed).count()),
            trades_removed: n(self.removed.len()),
        }
    }
}

/// The symbol a trade shows for an instrument: the display symbol without spaces (an OCC option symbol
/// becomes its unpadded form), upper-case.
fn trade_symbol(i: &Instrument) -> String {
    i.symbol.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase()
}

fn fee_of(f: &NormalizedFill, kind: FeeKind) -> Option<Decimal> {
    f.fees.iter().find(|(k, _)| *k == kind).map(|(_, a)| *a)
}

/// Check a parsed fill against what the journal can hold; the reason names the field.
fn admit(f: &NormalizedFill, account: &Account) -> Result<Values, String> {
    if *f.currency != *account.currency {
        return Err(format!(
            "currency: a {} fill cannot go into account {} kept in {}; import it into an account in {}",
            f.currency, account.name, account.currency, f.currency
        ));
    }
    let price = Price::new("price", f.price).map_err(|e| e.to_string())?;
    let quantity = Quantity::new("quantity", f.quantity).map_err(|e| e.to_string())?;
    let total = f.fees.iter().try_fold(Decimal::ZERO, |s, (_, a)| s.checked_add(*a)).ok_or("fees: too large")?;
    let fees = Fee::new("fees", total).map_err(|_| {
        format!("fees: the fees add up to a rebate of {}; a fill's fees must be zero or more", (-total).normalize())
    })?;
    let symbol = trade_symbol(&f.instrument);
    if symbol.is_empty() || symbol.chars().count() > 32 {
        return Err(format!(
            "symbol: {:?} is longer than the 32 characters a trade's symbol holds",
            f.instrument.symbol
        ));
    }
    if f.multiplier <= Decimal::ZERO {
        return Err(format!("multiplier: must be positive, got {}", f.multiplier));
    }
    Ok(Values { side: f.side, quantity, price, fees, executed_at: f.executed_at, provenance: None, file: None })
}

/// The provenance text that repeats across a file's fills, made once per instrument (fills share their
/// interned instrument, so its address identifies it) and per asset class: a plan holds one `Provenance`
/// per new fill, and 100,000 of them spent ~45 MB on copies of the same few strings.
#[derive(Default)]
struct SharedText {
    instruments: HashMap<usize, InstrumentText>,
    classes: HashMap<&'static str, Arc<str>>,
}

#[derive(Clone)]
struct InstrumentText {
    key: Arc<str>,
    underlying: Option<Arc<str>>,
    expiry: Option<Arc<str>>,
    right: Option<Arc<str>>,
    future_root: Option<Arc<str>>,
    contract_month: Option<Arc<str>>,
}

impl SharedText {
    fn instrument(&mut self, i: &Arc<Instrument>) -> InstrumentText {
        self.instruments
            .entry(Arc::as_ptr(i) as usize)
            .or_insert_with(|| InstrumentText {
                key: Arc::from(i.key.as_str()),
                underlying: i.underlying.as_deref().map(Arc::from),
                expiry: i.expiry.map(|d| Arc::from(d.format("%Y-%m-%d").to_string())),
                right: i.right.map(|r| Arc::from(r.as_str())),
                future_root: i.future_root.as_deref().map(Arc::from),
                contract_month: i.contract_month.as_deref().map(Arc::from),
            })
            .clone()
    }

    fn class(&mut self, c: &'static str) -> Arc<str> {
        self.classes.entry(c).or_insert_with(|| Arc::from(c)).clone()
    }
}

fn provenance(f: &NormalizedFill, batch: Uuid, key: String, shared: &mut SharedText) -> Provenance {
    let i = shared.instrument(&f.instrument);
    Provenance {
        import_batch_id: batch,
        broker: f.broker.clone(),
        broker_account: f.broker_account.clone(),
        broker_exec_id: f.broker_exec_id.clone(),
        order_id: f.order_id.clone(),
        asset_class: shared.class(f.asset_class.as_str()),
        instrument_key: i.key,
        underlying: i.underlying,
        expiry: i.expiry,
        strike: f.instrument.strike,
        option_right: i.right,
        future_root: i.future_root,
        contract_month: i.contract_month,
        multiplier: f.multiplier,
        currency: f.currency.clone(),
        commission: fee_of(f, FeeKind::Commission),
        exchange_fee: fee_of(f, FeeKind::Exchange),
        regulatory_fee: fee_of(f, FeeKind::Regulatory),
        other_fee: fee_of(f, FeeKind::Other),
        raw_time: f.raw_time.chars().take(100).collect(),
        statement_tz: f.time_zone.clone(),
        source_line: f.line,
        fingerprint: f.fingerprint.clone(),
        dedupe_key: key,
    }
}

/// The placeholder batch id of fills planned in a preview (replaced by the real one at commit).
const PREVIEW_BATCH: Uuid = Uuid::nil();

/// The version an IBKR execution id carries (`….01.02` → 2); other ids have none.
fn exec_version(id: Option<&str>) -> Option<u32> {
    id.and_then(trenddojo_import::formats::ibkr::split_exec_version).map(|(_, v)| v)
}

/// A regroup unit: one broker account and instrument of one account.
type UnitKey = (String, String);

fn plan(c: &Connection, file: &ImportFile, ids: &mut IdSource<'_, '_>) -> ApiResult<Plan> {
    let account = &file.account;
    let p = &file.parsed;
    let batch = PREVIEW_BATCH;
    let keys = import_repo::keys_of_account(c, account.id)?;
    let mut out = Plan {
        fill_change: vec![None; p.fills.len()],
        rejected_total: p.rejected_total,
        skipped: p.skipped_rows,
        warnings: p.warnings.clone(),
        ..Plan::default()
    };
    let mut seen: HashSet<String> = HashSet::new();
    // New and corrected fills per regroup unit; TrendDojo files' fills per exported trade.
    let mut units: BTreeMap<UnitKey, Vec<Logical>> = BTreeMap::new();
    let mut corrected_keys: HashMap<UnitKey, Vec<String>> = HashMap::new();
    let mut restored: BTreeMap<String, Vec<(usize, Values)>> = BTreeMap::new();
    for (i, f) in p.fills.iter().enumerate() {
        let mut values = match admit(f, account) {
            Ok(v) => v,
            Err(reason) => {
                let raw = format!(
                    "{} {} {} {} @ {}",
                    f.raw_time,
                    f.instrument.broker_symbol,
                    f.side.as_str(),
                    f.quantity,
                    f.price
                );
                out.journal_rejected.push(Rejected { line: f.line, reason, raw: raw.chars().take(200).collect() });
                continue;
            }
        };
        let key = f.dedupe_key();
        if !seen.insert(key.clone()) {
            out.duplicates += 1;
            continue;
        }
        let held = keys.get(&key);
        if p.format == FormatId::TrendDojo {
            let own = f.broker_exec_id.as_deref().and_then(|e| Uuid::parse_str(e).ok());
            let here = match own {
                Some(id) => import_repo::live_execution_in(c, account.id, id)?,
                None => false,
            };
            if here || held.is_some_and(|h| !h.live.is_empty()) {
                out.duplicates += 1;
                continue;
            }
            values.file = Some(FileRef { index: i, batch: None, multiplier: f.multiplier });
            let trade_ref = f.trade_hints.as_ref().map(|h| h.trade_ref.clone()).unwrap_or_default();
            restored.entry(trade_ref).or_default().push((i, values));
            out.fill_change[i] = Some(dto::FillChange::New);
            continue;
        }
        let unit = (f.broker_account.to_string(), f.instrument.key.clone());
        match held.filter(|h| !h.live.is_empty()) {
            Some(h) => {
                let stored = h.live.first().and_then(|r| r.broker_exec_id.as_deref());
                let newer = match (exec_version(f.broker_exec_id.as_deref()), exec_version(stored)) {
                    (Some(new), Some(old)) => new > old,
                    _ => false,
                };
                if !newer {
                    out.duplicates += 1;
                    continue;
                }
                out.fill_change[i] = Some(dto::FillChange::Corrected);
                corrected_keys.entry(unit.clone()).or_default().push(key.clone());
                values.file = Some(FileRef { index: i, batch: None, multiplier: f.multiplier });
                units.entry(unit).or_default().push(Logical {
                    key,
                    values,
                    rows: Vec::new(),
                    mark: None,
                    new_index: Some(i),
                    dead: h.dead,
                    symbol: Some(trade_symbol(&f.instrument)),
                });
            }
            None => {
                out.fill_change[i] = Some(dto::FillChange::New);
                values.file = Some(FileRef { index: i, batch: None, multiplier: f.multiplier });
                units.entry(unit).or_default().push(Logical {
                    dead: held.map_or(0, |h| h.dead),
                    key,
                    values,
                    rows: Vec::new(),
                    mark: None,
                    new_index: Some(i),
                    symbol: Some(trade_symbol(&f.instrument)),
                });
            }
        }
    }
    // Cancels of fills an earlier import holds.
    let mut cancel_keys: HashMap<UnitKey, Vec<(usize, String)>> = HashMap::new();
    for (ci, cancel) in p.cancels.iter().enumerate() {
        if cancel.in_file {
            continue;
        }
        let key = format!(
            "exec:{}:{}:{}",
            p.format.broker(),
            cancel.broker_account,
            trenddojo_import::model::exec_base(&cancel.broker_exec_id)
        );
        let Some(h) = keys.get(&key).filter(|h| !h.live.is_empty()) else {
            out.warnings.push(format!(
                "line {}: cancels execution {}, which is not in this account; nothing to remove",
                cancel.line, cancel.broker_exec_id
            ));
            continue;
        };
        let rows = import_repo::fills_of_trades(c, &[h.live[0].trade_id])?;
        let Some(unit) = rows
            .iter()
            .find(|r| r.provenance.as_ref().is_some_and(|p| p.dedupe_key == key))
            .and_then(|r| r.provenance.as_ref().map(|p| (p.broker_account.to_string(), p.instrument_key.to_string())))
        else {
            continue;
        };
        cancel_keys.entry(unit).or_default().push((ci, key));
    }
    let mut all_units: BTreeSet<UnitKey> = units.keys().cloned().collect();
    all_units.extend(cancel_keys.keys().cloned());
    let mut taken: HashSet<Uuid> = HashSet::new();
    for unit in all_units {
        let mut fresh = units.remove(&unit).unwrap_or_default();
        let corrections: HashMap<String, Logical> = {
            let mut m = HashMap::new();
            fresh.retain(|l| {
                if corrected_keys.get(&unit).is_some_and(|ks| ks.contains(&l.key)) {
                    m.insert(l.key.clone(), l.clone());
                    false
                } else {
                    true
                }
            });
            m
        };
        let cancels = cancel_keys.remove(&unit).unwrap_or_default();
        let mut earliest: Option<DateTime<Utc>> = fresh.iter().map(|l| l.values.executed_at).min();
        for k in corrections.keys().chain(cancels.iter().map(|(_, k)| k)) {
            if let Some(h) = keys.get(k) {
                for r in &h.live {
                    earliest = Some(earliest.map_or(r.executed_at, |e| e.min(r.executed_at)));
                }
            }
        }
        for l in corrections.values() {
            earliest = Some(earliest.map_or(l.values.executed_at, |e| e.min(l.values.executed_at)));
        }
        let Some(from) = earliest else { continue };
        let trades = import_repo::trades_touching(c, account.id, &unit.0, &unit.1, from)?;
        let stored = import_repo::fills_of_trades(c, &trades)?;
        let mut logicals = logicals_of(stored, &keys);
        for l in &mut logicals {
            if let Some(new) = corrections.get(&l.key) {
                let before = Corrected {
                    side: l.values.side,
                    quantity: l.values.quantity,
                    price: l.values.price,
                    fees: l.values.fees,
                    executed_at: l.values.executed_at,
                    provenance: l.values.provenance.as_deref().cloned().unwrap_or_else(|| empty_provenance(&l.key)),
                };
                let replaced = serde_json::to_string(&before)
                    .map_err(|e| ApiError::new(ErrorCode::Internal, format!("replaced values: {e}")))?;
                let mut values = new.values.clone();
                if let (Some(f), Some(old)) = (values.file.as_mut(), l.values.provenance.as_ref()) {
                    // The fill still belongs to the batch that brought it; the correction is marked apart.
                    f.batch = Some(old.import_batch_id);
                }
                l.values = values;
                l.mark = Some((Some(batch), Some(replaced)));
                l.new_index = new.new_index;
            }
        }
        for (ci, key) in &cancels {
            if let Some(pos) = logicals.iter().position(|l| &l.key == key) {
                let gone = logicals.remove(pos);
                out.remove_rows.extend(gone.rows.iter().map(|r| (r.fill.id, true)));
                out.cancelled.push((*ci, key.clone(), gone));
            }
        }
        logicals.extend(fresh);
        regroup(c, account, &unit, &trades, logicals, ids, &mut taken, &mut out)?;
    }
    for (trade_ref, fills) in restored {
        restore_trade(c, file, &trade_ref, fills, ids, &mut taken, &mut out)?;
    }
    Ok(out)
}

fn empty_provenance(key: &str) -> Provenance {
    Provenance {
        import_batch_id: Uuid::nil(),
        broker: Arc::from(""),
        broker_account: Arc::from(""),
        broker_exec_id: None,
        order_id: None,
        asset_class: Arc::from(""),
        instrument_key: Arc::from(""),
        underlying: None,
        expiry: None,
        strike: None,
        option_right: None,
        future_root: None,
        contract_month: None,
        multiplier: Decimal::ONE,
        currency: Arc::from(""),
        commission: None,
        exchange_fee: None,
        regulatory_fee: None,
        other_fee: None,
        raw_time: String::new(),
        statement_tz: Arc::from(""),
        source_line: 0,
        fingerprint: String::new(),
        dedupe_key: key.to_string(),
    }
}

/// Existing rows as logical fills: rows sharing a dedupe key are one fill (quantities and fees added);
/// typed fills are their own.
fn logicals_of(stored: Vec<StoredFill>, keys: &HashMap<String, KeyRows>) -> Vec<Logical> {
    let mut out: Vec<Logical> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    for s in stored {
        let key = match &s.provenance {
            Some(p) if !p.dedupe_key.is_empty() => p.dedupe_key.clone(),
            _ => format!("row:{}", s.fill.id),
        };
        if let Some(&i) = at.get(&key) {
            let l = &mut out[i];
            let q = l.values.quantity.value().checked_add(s.fill.quantity.value());
            let f = l.values.fees.value().checked_add(s.fill.fees.value());
            if let (Some(q), Some(f)) = (q, f) {
                if let (Ok(q), Ok(f)) = (Quantity::new("quantity", q), Fee::new("fees", f)) {
                    l.values.quantity = q;
                    l.values.fees = f;
                }
            }
            l.values.executed_at = l.values.executed_at.min(s.fill.executed_at);
            l.rows.push(s);
            continue;
        }
        at.insert(key.clone(), out.len());
        let mark = s.corrected_by_batch.map(|b| (Some(b), s.replaced.clone()));
        out.push(Logical {
            dead: keys.get(&key).map_or(0, |k| k.dead),
            key,
            values: Values {
                side: s.fill.side,
                quantity: s.fill.quantity,
                price: s.fill.price,
                fees: s.fill.fees,
                executed_at: s.fill.executed_at,
                provenance: s.provenance.clone().map(Box::new),
                file: None,
            },
            mark,
            rows: vec![s],
            new_index: None,
            symbol: None,
        });
    }
    out
}

/// A logical fill as the grouping reads it (the unit's account and instrument shared by all of them).
fn as_normalized(
    l: &Logical,
    unit_account: &Arc<str>,
    instrument: &Arc<Instrument>,
    multiplier: Decimal,
) -> NormalizedFill {
    let none: Arc<str> = Arc::from("");
    NormalizedFill {
        broker: none.clone(),
        broker_account: unit_account.clone(),
        broker_exec_id: None,
        order_id: None,
        asset_class: AssetClass::Other,
        instrument: instrument.clone(),
        multiplier,
        side: l.values.side,
        quantity: l.values.quantity.value(),
        price: l.values.price.value(),
        fees: Vec::new(),
        currency: none.clone(),
        position_effect: None,
        raw_time: String::new(),
        time_zone: none,
        executed_at: l.values.executed_at,
        line: 0,
        occurrence: 0,
        fingerprint: String::new(),
        correction_of: None,
        trade_hints: None,
        warnings: Vec::new(),
    }
}

/// The id of a new row: derived from the account, the fill's key, how many of the key's rows were ever
/// removed and the part, so two devices importing the same file write the same rows; a fresh one when
/// that id is taken (or in a preview, where it does not matter).
fn row_id(
    c: &Connection,
    account: Uuid,
    l: &Logical,
    part: usize,
    ids: &IdSource<'_, '_>,
    used: &mut HashSet<Uuid>,
) -> ApiResult<Uuid> {
    if let IdSource::Commit(_) = ids {
        let name = format!("{}\n{}\n{}", l.key, l.dead, part);
        let id = derived_id("import-fill", &[account, Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())]);
        if !used.contains(&id) && !import_repo::execution_exists(c, id)? {
            used.insert(id);
            return Ok(id);
        }
    }
    let id = ids.fresh();
    used.insert(id);
    Ok(id)
}

/// A part's share of a fill's fees: pro rata by quantity, the last part taking the remainder so the parts
/// add up exactly.
fn fee_share(total: Fee, quantity: Decimal, whole: Decimal, last: bool, given: Decimal) -> ApiResult<Fee> {
    let share = if last {
        total.value().checked_sub(given)
    } else {
        total.value().checked_mul(quantity).and_then(|x| x.checked_div(whole)).map(|x| x.round_dp(8))
    };
    let share = share.ok_or_else(|| ApiError::invalid("fees", "too large to split between two trades"))?;
    Ok(Fee::new("fees", share.max(Decimal::ZERO))?)
}

#[allow(clippy::too_many_arguments)]
fn regroup(
    c: &Connection,
    account: &Account,
    unit: &UnitKey,
    existing_trades: &[Uuid],
    mut logicals: Vec<Logical>,
    ids: &mut IdSource<'_, '_>,
    taken: &mut HashSet<Uuid>,
    out: &mut Plan,
) -> ApiResult<()> {
    // Existing fills first (in time order), then the file's in file order: ties in time keep that order.
    logicals.sort_by(|a, b| {
        (a.values.executed_at, a.new_index.is_some(), a.new_index, a.rows.first().map(|r| r.fill.id)).cmp(&(
            b.values.executed_at,
            b.new_index.is_some(),
            b.new_index,
            b.rows.first().map(|r| r.fill.id),
        ))
    });
    let existing: Vec<Trade> =
        existing_trades.iter().map(|t| trade_repo::get(c, account.user_id, *t)).collect::<Result<_, _>>()?;
    let (unit_account, unit_key): (Arc<str>, &str) = (Arc::from(unit.0.as_str()), unit.1.as_str());
    // A typed fill takes its trade's multiplier; an imported one its own.
    let trade_multiplier: HashMap<Uuid, Decimal> = existing.iter().map(|t| (t.id, t.multiplier)).collect();
    let multiplier_of = |l: &Logical| -> Decimal {
        match (&l.values.file, &l.values.provenance) {
            (Some(f), _) => f.multiplier,
            (None, Some(p)) if !p.dedupe_key.is_empty() => p.multiplier,
            _ => l.rows.first().and_then(|r| trade_multiplier.get(&r.trade_id).copied()).unwrap_or(Decimal::ONE),
        }
    };
    let fallback_symbol = existing.first().map(|t| t.symbol.clone()).unwrap_or_default();
    let instrument = Arc::new(Instrument {
        key: unit_key.to_string(),
        symbol: fallback_symbol,
        broker_symbol: String::new(),
        underlying: None,
        expiry: None,
        strike: None,
        right: None,
        future_root: None,
        contract_month: None,
    });
    let normalized: Vec<NormalizedFill> =
        logicals.iter().map(|l| as_normalized(l, &unit_account, &instrument, multiplier_of(l))).collect();
    let groups = trenddojo_import::group_trades(&normalized);
    // Parts per logical fill: (group, quantity) in group order.
    let mut parts: Vec<Vec<(usize, Decimal)>> = vec![Vec::new(); logicals.len()];
    for (g, group) in groups.iter().enumerate() {
        for leg in &group.legs {
            parts[leg.fill].push((g, leg.quantity));
        }
    }
    // Trade ids: a group keeps the first existing trade among its fills' rows not taken by an earlier group.
    let by_id: HashMap<Uuid, &Trade> = existing.iter().map(|t| (t.id, t)).collect();
    let mut group_ids: Vec<(Uuid, Option<Trade>)> = Vec::with_capacity(groups.len());
    let mut used_rows: HashSet<Uuid> = HashSet::new();
    let mut first_row: Vec<Option<Uuid>> = vec![None; groups.len()];
    for (g, group) in groups.iter().enumerate() {
        let reuse = group
            .legs
            .iter()
            .flat_map(|leg| logicals[leg.fill].rows.iter().map(|r| r.trade_id))
            .find(|t| by_id.contains_key(t) && !taken.contains(t));
        if let Some(t) = reuse {
            taken.insert(t);
            group_ids.push((t, by_id.get(&t).map(|t| (*t).clone())));
            continue;
        }
        let first = group.legs.first().map(|l| l.fill).unwrap_or(0);
        let l = &logicals[first];
        let row = match l.rows.first() {
            Some(r) if parts[first].len() == 1 => r.fill.id,
            _ => {
                let part = parts[first].iter().position(|(gg, _)| *gg == g).unwrap_or(0);
                let id = row_id(c, account.id, l, part, ids, &mut used_rows)?;
                first_row[g] = Some(id);
                id
            }
        };
        let mut id = match ids {
            IdSource::Commit(_) => derived_id("import-trade", &[row]),
            IdSource::Preview => ids.fresh(),
        };
        if taken.contains(&id) || import_repo::trade_exists(c, id)? {
            id = ids.fresh();
        }
        taken.insert(id);
        group_ids.push((id, None));
    }
    // Rows per group.
    let mut rows: Vec<Vec<RowPlan>> = vec![Vec::new(); groups.len()];
    let mut fills_in: Vec<Vec<Fill>> = vec![Vec::new(); groups.len()];
    let mut changed = vec![false; groups.len()];
    for (li, l) in logicals.iter_mut().enumerate() {
        let want = &parts[li];
        let whole = l.values.quantity.value();
        let same_shape =
            l.rows.len() == want.len() && l.rows.iter().zip(want).all(|(r, (_, q))| r.fill.quantity.value() == *q);
        let mut given = Decimal::ZERO;
        for (pi, (g, q)) in want.iter().enumerate() {
            let fees = fee_share(l.values.fees, *q, whole, pi + 1 == want.len(), given)?;
            given = given.checked_add(fees.value()).unwrap_or(given);
            let quantity = Quantity::new("quantity", *q)?;
            let trade_id = group_ids[*g].0;
            if same_shape {
                let r = &l.rows[pi];
                let values_differ = r.fill.side != l.values.side
                    || r.fill.price != l.values.price
                    || r.fill.fees != fees
                    || r.fill.executed_at != l.values.executed_at
                    || l.mark.as_ref().and_then(|m| m.0) != r.corrected_by_batch
                    || l.values.file.is_some()
                    || r.provenance.as_ref() != l.values.provenance.as_deref();
                if values_differ || r.trade_id != trade_id {
                    changed[*g] = true;
                    if let Some(old) = group_ids.iter().position(|(t, _)| *t == r.trade_id) {
                        changed[old] = true;
                    }
                }
                let new_values = values_differ.then(|| (Values { quantity, fees, ..l.values.clone() }, l.mark.clone()));
                rows[*g].push(RowPlan::Keep {
                    id: r.fill.id,
                    from_trade: r.trade_id,
                    values: new_values.map(Box::new),
                });
                fills_in[*g].push(Fill {
                    id: r.fill.id,
                    side: l.values.side,
                    quantity,
                    price: l.values.price,
                    fees,
                    executed_at: l.values.executed_at,
                });
                continue;
            }
            changed[*g] = true;
            let id = match (pi, first_row.get(*g).copied().flatten()) {
                (_, Some(first)) if group_first_leg(&groups[*g]) == Some(li) => first,
                _ => row_id(c, account.id, l, pi, ids, &mut used_rows)?,
            };
            let fill = Fill {
                id,
                side: l.values.side,
                quantity,
                price: l.values.price,
                fees,
                executed_at: l.values.executed_at,
            };
            // The last part takes a stored provenance instead of a copy.
            let last = pi + 1 == want.len();
            let stored = &mut l.values.provenance;
            let source = RowSource::of(l.values.file, || if last { stored.take() } else { stored.clone() }, &l.key);
            fills_in[*g].push(fill.clone());
            rows[*g].push(RowPlan::Insert { fill, source, mark: l.mark.clone() });
        }
        if !same_shape {
            for r in &l.rows {
                out.remove_rows.push((r.fill.id, false));
                if let Some(old) = group_ids.iter().position(|(t, _)| *t == r.trade_id) {
                    changed[old] = true;
                }
            }
        }
    }
    let kept: HashSet<Uuid> = group_ids.iter().map(|(t, _)| *t).collect();
    for t in &existing {
        if !kept.contains(&t.id) {
            // The group that took most of its fills keeps its notes.
            let mut votes: HashMap<Uuid, usize> = HashMap::new();
            for (g, rs) in rows.iter().enumerate() {
                for r in rs {
                    if let RowPlan::Keep { from_trade, .. } = r {
                        if *from_trade == t.id {
                            *votes.entry(group_ids[g].0).or_default() += 1;
                        }
                    }
                }
            }
            let heir = votes.into_iter().max_by_key(|(id, n)| (*n, std::cmp::Reverse(*id))).map(|(id, _)| id);
            out.removed.push((t.clone(), heir));
        }
    }
    for (g, group) in groups.iter().enumerate() {
        let (id, existing) = group_ids[g].clone();
        let mut fills = std::mem::take(&mut fills_in[g]);
        fills.sort_by_key(|f| (f.executed_at, f.id));
        let first = group.legs.first().map(|l| &logicals[l.fill]);
        let symbol = existing
            .as_ref()
            .map(|t| t.symbol.clone())
            .or_else(|| first.and_then(|l| l.symbol.clone()))
            .or_else(|| first.and_then(|l| l.values.provenance.as_deref()).and_then(symbol_from_key))
            .unwrap_or_else(|| group.symbol.clone());
        let initial_stop = existing.as_ref().and_then(|t| t.initial_stop);
        let facts = TradeFacts {
            direction: group.direction,
            multiplier: group.multiplier,
            method: account.matching_method,
            initial_stop,
            account_deleted: false,
        };
        let derived = dtrade::derive(&facts, &fills);
        let reshaped = existing
            .as_ref()
            .is_some_and(|t| t.direction != group.direction || t.symbol != symbol || t.multiplier != group.multiplier);
        out.trades.push(TradePlan {
            id,
            setup: existing.as_ref().and_then(|t| t.setup.clone()),
            existing,
            direction: group.direction,
            symbol,
            multiplier: group.multiplier,
            initial_stop,
            rows: std::mem::take(&mut rows[g]),
            derived,
            fills: fills.len(),
            changed: changed[g] || reshaped,
        });
    }
    Ok(())
}

fn group_first_leg(g: &trenddojo_import::GroupedTrade) -> Option<usize> {
    g.legs.first().map(|l| l.fill)
}

/// A trade's symbol from a fill's provenance: the instrument's display symbol is not stored, so it is
/// rebuilt from the key's parts the way the parsers write it.
fn symbol_from_key(p: &Provenance) -> Option<String> {
    let key = &p.instrument_key;
    let (kind, rest) = key.split_once(':')?;
    let s = match kind {
        "OPT" => {
            let (Some(expiry), Some(right), Some(strike)) = (&p.expiry, &p.option_right, p.strike) else {
                return Some(rest.split(':').next()?.to_string());
            };
            let under = p
                .underlying
                .as_deref()
                .map_or_else(|| rest.split(':').next().unwrap_or("").to_string(), str::to_string);
            let date = expiry.replace('-', "");
            let short = date.get(2..).unwrap_or(&date).to_string();
            let milli = strike.checked_mul(Decimal::ONE_THOUSAND)?.trunc();
            format!("{under}{short}{right}{milli:08}")
        }
        "FUT" => {
            let (root, month) = rest.split_once(':')?;
            let (year, m) = month.split_once('-')?;
            let code = ["F", "G", "H", "J", "K", "M", "N", "Q", "U", "V", "X", "Z"]
                .get(m.parse::<usize>().ok()?.checked_sub(1)?)?
                .to_string();
            format!("{root}{code}{}", year.get(2..)?)
        }
        _ => rest.split(':').next()?.to_string(),
    };
    let s = s.to_ascii_uppercase();
    (!s.is_empty() && s.chars().count() <= 32).then_some(s)
}

/// Fills of one trade from TrendDojo's own export: the exported trade again (its id when free), or the
/// fills added to it when this store already holds it.
fn restore_trade(
    c: &Connection,
    file: &ImportFile,
    trade_ref: &str,
    fills: Vec<(usize, Values)>,
    ids: &mut IdSource<'_, '_>,
    taken: &mut HashSet<Uuid>,
    out: &mut Plan,
) -> ApiResult<()> {
    let account = &file.account;
    let Some(&(first, _)) = fills.first() else { return Ok(()) };
    let f0 = &file.parsed.fills[first];
    let hints = f0.trade_hints.clone();
    let wanted = Uuid::parse_str(trade_ref).ok();
    let existing = match wanted {
        Some(id) => match trade_repo::get(c, account.user_id, id) {
            Ok(t) if t.account_id == account.id => Some(t),
            _ => None,
        },
        None => None,
    };
    let id = match (&existing, wanted) {
        (Some(t), _) => t.id,
        (None, Some(w)) if !taken.contains(&w) && !import_repo::trade_exists(c, w)? => w,
        _ => ids.fresh(),
    };
    taken.insert(id);
    let mut used = HashSet::new();
    let mut all: Vec<Fill> = match &existing {
        Some(t) => trade_repo::executions(c, t.id)?.iter().map(|e| e.to_fill()).collect(),
        None => Vec::new(),
    };
    let mut rows = Vec::new();
    for (i, v) in fills {
        let f = &file.parsed.fills[i];
        let own = f.broker_exec_id.as_deref().and_then(|e| Uuid::parse_str(e).ok());
        let id = match own {
            Some(o) if !used.contains(&o) && !import_repo::execution_exists(c, o)? => {
                used.insert(o);
                o
            }
            _ => ids.fresh(),
        };
        let fill =
            Fill { id, side: v.side, quantity: v.quantity, price: v.price, fees: v.fees, executed_at: v.executed_at };
        all.push(fill.clone());
        let source = RowSource::of(v.file, || v.provenance, "");
        rows.push(RowPlan::Insert { fill, source, mark: None });
    }
    all.sort_by_key(|f| (f.executed_at, f.id));
    let direction =
        existing.as_ref().map(|t| t.direction).or(hints.as_ref().map(|h| h.direction)).unwrap_or(Direction::Long);
    let multiplier = existing.as_ref().map_or(f0.multiplier, |t| t.multiplier);
    let initial_stop = match &existing {
        Some(t) => t.initial_stop,
        None => hints.as_ref().and_then(|h| h.initial_stop).and_then(|s| Price::new("initial_stop", s).ok()),
    };
    let facts =
        TradeFacts { direction, multiplier, method: account.matching_method, initial_stop, account_deleted: false };
    let derived = dtrade::derive(&facts, &all);
    out.trades.push(TradePlan {
        id,
        symbol: existing.as_ref().map_or_else(|| trade_symbol(&f0.instrument), |t| t.symbol.clone()),
        setup: existing.as_ref().map_or_else(|| hints.as_ref().and_then(|h| h.setup.clone()), |t| t.setup.clone()),
        existing,
        direction,
        multiplier,
        initial_stop,
        rows,
        derived,
        fills: all.len(),
        changed: true,
    });
    Ok(())
}

/// The plan that undoes `batch`: its fills removed, its corrections reverted, its cancels brought back,
/// and every touched instrument regrouped.
fn undo_plan(c: &Connection, account: &Account, batch: &ImportBatch, ids: &mut IdSource<'_, '_>) -> ApiResult<Plan> {
    let keys = import_repo::keys_of_account(c, account.id)?;
    let mut out = Plan::default();
    let added = import_repo::live_fills_of_batch(c, batch.id)?;
    let corrected = import_repo::fills_corrected_by(c, batch.id)?;
    let cancelled = import_repo::fills_removed_by(c, batch.id)?;
    let removed_ids: HashSet<Uuid> = added.iter().map(|f| f.fill.id).collect();
    let mut units: BTreeMap<UnitKey, DateTime<Utc>> = BTreeMap::new();
    let mut outside: BTreeSet<Uuid> = BTreeSet::new();
    let mut note = |f: &StoredFill, at: DateTime<Utc>, units: &mut BTreeMap<UnitKey, DateTime<Utc>>| match &f.provenance
    {
        Some(p) if &*p.broker != "trenddojo" => {
            let e = units.entry((p.broker_account.to_string(), p.instrument_key.to_string())).or_insert(at);
            *e = (*e).min(at);
        }
        _ => {
            outside.insert(f.trade_id);
        }
    };
    for f in &added {
        note(f, f.fill.executed_at, &mut units);
    }
    let mut reverts: HashMap<String, Corrected> = HashMap::new();
    for f in &corrected {
        let before: Corrected = f.replaced.as_deref().and_then(|r| serde_json::from_str(r).ok()).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Corrupt,
                format!("execution {}: the values a correction replaced are unreadable", f.fill.id),
            )
        })?;
        note(f, f.fill.executed_at.min(before.executed_at), &mut units);
        if let Some(p) = &f.provenance {
            reverts.insert(p.dedupe_key.clone(), before);
        }
    }
    let mut comeback: BTreeMap<UnitKey, Vec<Logical>> = BTreeMap::new();
    let mut seen_keys = HashSet::new();
    for f in &cancelled {
        note(f, f.fill.executed_at, &mut units);
        let Some(p) = &f.provenance else { continue };
        if !seen_keys.insert(p.dedupe_key.clone()) {
            continue;
        }
        let siblings: Vec<&StoredFill> =
            cancelled.iter().filter(|g| g.provenance.as_ref().is_some_and(|q| q.dedupe_key == p.dedupe_key)).collect();
        let mut quantity = Decimal::ZERO;
        let mut fees = Decimal::ZERO;
        for s in &siblings {
            quantity = quantity.checked_add(s.fill.quantity.value()).unwrap_or(quantity);
            fees = fees.checked_add(s.fill.fees.value()).unwrap_or(fees);
        }
        comeback.entry((p.broker_account.to_string(), p.instrument_key.to_string())).or_default().push(Logical {
            key: p.dedupe_key.clone(),
            values: Values {
                side: f.fill.side,
                quantity: Quantity::new("quantity", quantity)?,
                price: f.fill.price,
                fees: Fee::new("fees", fees)?,
                executed_at: f.fill.executed_at,
                provenance: Some(Box::new(p.clone())),
                file: None,
            },
            rows: Vec::new(),
            mark: None,
            new_index: None,
            dead: keys.get(&p.dedupe_key).map_or(0, |k| k.dead),
            symbol: None,
        });
    }
    out.undo_removed = u64::try_from(removed_ids.len()).unwrap_or(u64::MAX);
    out.undo_reverted = u64::try_from(reverts.len()).unwrap_or(u64::MAX);
    out.undo_restored = u64::try_from(comeback.values().map(Vec::len).sum::<usize>()).unwrap_or(u64::MAX);
    let mut taken = HashSet::new();
    for (unit, from) in units {
        let trades = import_repo::trades_touching(c, account.id, &unit.0, &unit.1, from)?;
        let stored = import_repo::fills_of_trades(c, &trades)?;
        let mut logicals = Vec::new();
        for mut l in logicals_of(stored, &keys) {
            if l.rows.iter().all(|r| removed_ids.contains(&r.fill.id)) {
                out.remove_rows.extend(l.rows.iter().map(|r| (r.fill.id, false)));
                continue;
            }
            if let Some(before) = reverts.get(&l.key) {
                l.values = Values {
                    side: before.side,
                    quantity: before.quantity,
                    price: before.price,
                    fees: before.fees,
                    executed_at: before.executed_at,
                    provenance: Some(Box::new(before.provenance.clone())),
                    file: None,
                };
                l.mark = None;
            }
            logicals.push(l);
        }
        logicals.extend(comeback.remove(&unit).unwrap_or_default());
        regroup(c, account, &unit, &trades, logicals, ids, &mut taken, &mut out)?;
    }
    // Fills restored from a TrendDojo export: their trades lose them and are recomputed (or removed).
    for t in outside {
        let Ok(trade) = trade_repo::get(c, account.user_id, t) else { continue };
        let left: Vec<Fill> = trade_repo::executions(c, t)?
            .iter()
            .filter(|e| !removed_ids.contains(&e.id))
            .map(|e| e.to_fill())
            .collect();
        for e in trade_repo::executions(c, t)?.iter().filter(|e| removed_ids.contains(&e.id)) {
            out.remove_rows.push((e.id, false));
        }
        if left.is_empty() {
            out.removed.push((trade, None));
            continue;
        }
        let facts = TradeFacts {
            direction: trade.direction,
            multiplier: trade.multiplier,
            method: account.matching_method,
            initial_stop: trade.initial_stop,
            account_deleted: false,
        };
        out.trades.push(TradePlan {
            id: trade.id,
            direction: trade.direction,
            symbol: trade.symbol.clone(),
            multiplier: trade.multiplier,
            initial_stop: trade.initial_stop,
            setup: trade.setup.clone(),
            derived: dtrade::derive(&facts, &left),
            fills: left.len(),
            existing: Some(trade),
            rows: Vec::new(),
            changed: true,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------------
// Preview and apply
// ---------------------------------------------------------------------------------------------------------

fn local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z").to_string()
}

fn preview(c: &Connection, file: &ImportFile, plan: &Plan, batch_id: Option<Uuid>) -> ApiResult<ImportPreview> {
    let account = &file.account;
    let tz = tz_of(account)?;
    let p = &file.parsed;
    let mut fills = Vec::new();
    for (i, change) in plan.fill_change.iter().enumerate() {
        let (Some(change), Some(f)) = (change, p.fills.get(i)) else { continue };
        if fills.len() >= PREVIEW_FILLS {
            break;
        }
        fills.push(preview_fill(f, *change, tz));
    }
    for (ci, _, gone) in &plan.cancelled {
        if fills.len() >= PREVIEW_FILLS {
            break;
        }
        if let Some(cn) = p.cancels.get(*ci) {
            // The fill the cancel removes, as this store holds it, under its trade's symbol.
            let v = &gone.values;
            let trade = gone.rows.first().map(|r| r.trade_id);
            let symbol = trade
                .and_then(|id| {
                    plan.trades
                        .iter()
                        .find(|t| t.id == id)
                        .map(|t| t.symbol.clone())
                        .or_else(|| plan.removed.iter().find(|(t, _)| t.id == id).map(|(t, _)| t.symbol.clone()))
                })
                .or_else(|| v.provenance.as_ref().map(|p| p.instrument_key.to_string()))
                .unwrap_or_else(|| cn.broker_exec_id.clone());
            fills.push(PreviewFill {
                change: dto::FillChange::Cancelled,
                line: cn.line,
                symbol,
                side: Some(v.side.into()),
                quantity: Some(v.quantity.to_canonical()),
                price: Some(v.price.to_canonical()),
                fees: Some(v.fees.to_canonical()),
                executed_at: Some(dto_ts(v.executed_at)),
                local_time: Some(local(v.executed_at, tz)),
                raw_time: cn.raw_time.clone(),
                read_in: p.statement_tz.name().to_string(),
                warnings: Vec::new(),
            });
        }
    }
    let too_large = || ApiError::invalid("net_pnl", "the P&L of the trades this import touches is too large to add up");
    let (mut before, mut after) = (Money::zero(), Money::zero());
    let mut trades = Vec::new();
    for t in plan.trades.iter().filter(|t| t.existing.is_none() || t.changed) {
        let s = &t.derived.summary;
        if let Some(e) = &t.existing {
            before = before.checked_add(e.net_pnl).ok_or_else(too_large)?;
        }
        after = after.checked_add(s.net_realized).ok_or_else(too_large)?;
        if trades.len() < PREVIEW_TRADES {
            trades.push(PreviewTrade {
                change: if t.existing.is_some() { dto::TradeChange::Changed } else { dto::TradeChange::Created },
                id: t.existing.as_ref().map(|e| e.id.into()),
                symbol: t.symbol.clone(),
                direction: t.direction.into(),
                status: s.status.into(),
                fills: u32::try_from(t.fills).unwrap_or(u32::MAX),
                opened_at: s.opened_at.map(|a| local(a, tz)),
                closed_at: s.closed_at.filter(|_| s.open_quantity.is_zero()).map(|a| local(a, tz)),
                net_pnl_before: t.existing.as_ref().map(|e| e.net_pnl.to_canonical()),
                net_pnl: s.net_realized.to_canonical(),
            });
        }
    }
    for (t, _) in &plan.removed {
        before = before.checked_add(t.net_pnl).ok_or_else(too_large)?;
        if trades.len() < PREVIEW_TRADES {
            trades.push(PreviewTrade {
                change: dto::TradeChange::Removed,
                id: Some(t.id.into()),
                symbol: t.symbol.clone(),
                direction: t.direction.into(),
                status: t.status.into(),
                fills: 0,
                opened_at: t.opened_at.map(|a| local(a, tz)),
                closed_at: t.closed_at.map(|a| local(a, tz)),
                net_pnl_before: Some(t.net_pnl.to_canonical()),
                net_pnl: Money::zero().to_canonical(),
            });
        }
    }
    let mut rejected = p.rejected.clone();
    rejected.extend(plan.journal_rejected.iter().take(1000usize.saturating_sub(rejected.len())).cloned());
    rejected.sort_by_key(|r| r.line);
    let mut warnings = plan.warnings.clone();
    for f in &p.fills {
        for w in &f.warnings {
            if warnings.len() >= 1000 {
                break;
            }
            warnings.push(format!("line {}: {w}", f.line));
        }
    }
    let imported_before = import_repo::batches_of_file(c, account.id, &p.file_sha256)?
        .into_iter()
        .filter(|b| b.undone_at.is_none() && Some(b.id) != batch_id)
        .map(|b| b.id.into())
        .collect();
    Ok(ImportPreview {
        batch_id: batch_id.map(Into::into),
        file_name: file.file_name.clone(),
        file_sha256: p.file_sha256.clone(),
        format: p.format.into(),
        format_label: p.format.label().to_string(),
        parser_version: p.parser_version,
        statement_tz: p.statement_tz.name().to_string(),
        account: account.name.clone(),
        account_time_zone: account.time_zone.clone(),
        currency: account.currency.clone(),
        counts: plan.counts(),
        imported_before,
        rejected: rejected.iter().map(Into::into).collect(),
        warnings,
        fills,
        trades,
        pnl: PnlChange {
            before: before.to_canonical(),
            after: after.to_canonical(),
            change: after.checked_sub(before).ok_or_else(too_large)?.to_canonical(),
        },
    })
}

/// RFC 3339 UTC, as every instant in the API.
fn dto_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn preview_fill(f: &NormalizedFill, change: dto::FillChange, tz: Tz) -> PreviewFill {
    PreviewFill {
        change,
        line: f.line,
        symbol: trade_symbol(&f.instrument),
        side: Some(f.side.into()),
        quantity: Some(trenddojo_domain::money::canonical(f.quantity)),
        price: Some(trenddojo_domain::money::canonical(f.price)),
        fees: Some(trenddojo_domain::money::canonical(f.total_fees())),
        executed_at: Some(dto_ts(f.executed_at)),
        local_time: Some(local(f.executed_at, tz)),
        raw_time: f.raw_time.clone(),
        read_in: f.time_zone.to_string(),
        warnings: f.warnings.clone(),
    }
}

/// The provenance of a fill of the file, built when its row is written: the fill's own batch when it has
/// one (a correction), else the importing batch (`batch`; the preview's placeholder without one).
fn from_file(
    f: &FileRef,
    file: Option<&ImportFile>,
    batch: Option<Uuid>,
    shared: &mut SharedText,
) -> ApiResult<Provenance> {
    let fill = file.and_then(|file| file.parsed.fills.get(f.index)).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Internal,
            "import: a planned fill of the file is not in the file the plan was made for",
        )
    })?;
    Ok(provenance(fill, f.batch.or(batch).unwrap_or(PREVIEW_BATCH), fill.dedupe_key(), shared))
}

/// Write a plan (`file`: the file it was made for, whose fills its rows refer to; none for an undo).
fn apply(tx: &Tx<'_>, account: &Account, plan: &Plan, batch: Option<Uuid>, file: Option<&ImportFile>) -> ApiResult<()> {
    let tz = tz_of(account)?;
    let mut shared = SharedText::default();
    let stamp = |p: &Provenance| -> Provenance {
        let mut p = p.clone();
        if let Some(b) = batch {
            if p.import_batch_id == PREVIEW_BATCH {
                p.import_batch_id = b;
            }
        }
        p
    };
    let mark = |m: &Option<Mark>| -> Option<Mark> {
        m.as_ref().map(|(by, replaced)| {
            (by.map(|x| if x == PREVIEW_BATCH { batch.unwrap_or(x) } else { x }), replaced.clone())
        })
    };
    for (row, cancelled) in &plan.remove_rows {
        import_repo::remove_fill(tx, *row, if *cancelled { batch } else { None })?;
    }
    let mut refresh: Vec<Uuid> = Vec::new();
    for t in &plan.trades {
        let mut inserts: Vec<(ImportRow, &Option<Mark>)> = Vec::new();
        for r in &t.rows {
            if let RowPlan::Insert { fill, source, mark } = r {
                let provenance = match source {
                    RowSource::File(f) => from_file(f, file, batch, &mut shared)?,
                    RowSource::Stored(p) => stamp(p),
                };
                inserts.push((ImportRow { fill: fill.clone(), provenance }, mark));
            }
        }
        let only_new = t.existing.is_none() && inserts.len() == t.rows.len();
        match &t.existing {
            None => {
                let fills: Vec<Fill> = inserts.iter().map(|(r, _)| r.fill.clone()).collect();
                let provenance: Vec<Provenance> = inserts.iter().map(|(r, _)| r.provenance.clone()).collect();
                let new = NewTrade {
                    user_id: account.user_id,
                    account_id: account.id,
                    symbol: t.symbol.clone(),
                    direction: t.direction,
                    multiplier: t.multiplier,
                    planned_entry: fills.iter().min_by_key(|f| (f.executed_at, f.id)).map(|f| f.price),
                    planned_quantity: None,
                    initial_stop: t.initial_stop,
                    setup: t.setup.clone(),
                    correlation_group: None,
                };
                // Exits' realized amounts are known only when the summary covers exactly these fills.
                let summary = if only_new {
                    t.derived.summary.clone()
                } else {
                    dtrade::summarize(t.direction, t.multiplier, account.matching_method, &fills)
                };
                let (risk, r) = if only_new { (t.derived.initial_risk, t.derived.r_multiple) } else { (None, None) };
                trade_repo::insert_imported_as(
                    tx,
                    t.id,
                    &ImportedTrade {
                        trade: &new,
                        fills: &fills,
                        summary: &summary,
                        initial_risk: risk,
                        r_multiple: r,
                        time_zone: &account.time_zone,
                    },
                    tz,
                    Some(&provenance),
                )?;
            }
            Some(_) => {
                if t.changed {
                    import_repo::reshape_trade(tx, t.id, t.direction.as_str(), &t.symbol, t.multiplier)?;
                }
                let owner = import_repo::RowOwner {
                    user_id: account.user_id,
                    account_id: account.id,
                    trade_id: t.id,
                    time_zone: &account.time_zone,
                };
                for (row, _) in &inserts {
                    import_repo::insert_row(tx, owner, row, None)?;
                }
            }
        }
        for (row, m) in &inserts {
            if let Some((by, replaced)) = mark(m) {
                let c = Corrected {
                    side: row.fill.side,
                    quantity: row.fill.quantity,
                    price: row.fill.price,
                    fees: row.fill.fees,
                    executed_at: row.fill.executed_at,
                    provenance: row.provenance.clone(),
                };
                import_repo::write_correction(tx, row.fill.id, &c, by, replaced.as_deref())?;
            }
        }
        for r in &t.rows {
            let RowPlan::Keep { id, from_trade, values } = r else { continue };
            if *from_trade != t.id {
                import_repo::set_trade(tx, *id, t.id)?;
            }
            if let Some((v, m)) = values.as_deref() {
                let m = mark(m);
                let c = Corrected {
                    side: v.side,
                    quantity: v.quantity,
                    price: v.price,
                    fees: v.fees,
                    executed_at: v.executed_at,
                    provenance: match (&v.file, &v.provenance) {
                        (Some(f), _) => from_file(f, file, batch, &mut shared)?,
                        (None, Some(p)) => stamp(p),
                        (None, None) => empty_provenance(""),
                    },
                };
                let (by, replaced) = m.unwrap_or((None, None));
                import_repo::write_correction(tx, *id, &c, by, replaced.as_deref())?;
            }
        }
        if !only_new && (t.changed || t.existing.is_none()) {
            refresh.push(t.id);
        }
    }
    for (t, heir) in &plan.removed {
        if let Some(h) = heir {
            import_repo::move_notes(tx, t.id, *h)?;
        }
        trade_repo::soft_delete(tx, t.id)?;
    }
    for id in refresh {
        refresh_trade(tx, account, id)?;
    }
    Ok(())
}
