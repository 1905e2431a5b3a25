//! Exports to open formats and `import-backup`.
//!
//! - `json`: the full-fidelity export (every user's accounts with risk settings, trades with executions,
//!   stop history, targets and checklist answers, checklists, notes), versioned and documented in
//!   docs/backups.md. `import-backup` reads it back into a store that holds no accounts or trades yet,
//!   keeping every id and creation time, so statistics come out equal.
//! - `csv`: the executions-level `trenddojo-v1` format shared with the importer (one row per execution
//!   of the acting user; see docs/backups.md and the shared spec).
//!
//! An export file is user data like any other input: `import-backup` parses every field with the same
//! validators as the commands that create them (errors name the place in the file, such as
//! `users[0].accounts[1].trades[3].executions[0].price`), recomputes each trade's summary from its
//! executions (the file's summary is informational and never trusted), and writes everything in one
//! transaction: a file that fails anywhere changes nothing.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::Utc;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use trenddojo_domain::money::Money;
#[cfg(test)]
use trenddojo_domain::money::{Fee, Price, Quantity};
use trenddojo_domain::risk::{Enforcement, RiskSettings, SizingMethod};
use trenddojo_domain::trade::{self as dtrade, Direction, Fill, MatchingMethod, Side, TradeStatus};
use trenddojo_store::accounts as account_repo;
use trenddojo_store::clock::{fmt_ts, parse_ts};
use trenddojo_store::portable::{self as port, ExportFile, ImportTable};
use trenddojo_store::sql::dec_text;
use trenddojo_store::trades as trade_repo;
use trenddojo_store::users::{self as user_repo, NewUser, Tier};
use trenddojo_store::Tx;

use super::Journal;
use crate::error::{Action, ApiError, ApiResult, ErrorCode};
use crate::parse;

/// The one header row of the executions CSV, exactly.
pub const CSV_HEADER: &str = "format,account,currency,time_zone,trade_id,symbol,direction,multiplier,initial_stop,\
setup,execution_id,side,quantity,price,fees,executed_at";
/// The `format` column's value.
pub const CSV_FORMAT: &str = "trenddojo-v1";
/// Export files larger than this are refused by `import-backup` (a journal is far smaller).
const MAX_IMPORT_BYTES: u64 = 1 << 30;

/// What an export wrote.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExportOutcome {
    pub file: PathBuf,
    pub format: String,
    pub bytes: u64,
    pub users: usize,
    pub accounts: usize,
    pub trades: usize,
    pub executions: usize,
    pub notes: usize,
    pub checklist_answers: usize,
}

/// What `import-backup` read.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ImportOutcome {
    pub file: PathBuf,
    /// Users that were not in the store yet (by email) and were created.
    pub users_created: Vec<String>,
    pub accounts: usize,
    pub trades: usize,
    pub executions: usize,
    pub stop_adjustments: usize,
    pub targets: usize,
    pub checklists: usize,
    pub checklist_items: usize,
    pub checklist_answers: usize,
    pub notes: usize,
}

/// Quote a CSV field per RFC 4180 (only when it holds a comma, quote or line break).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Canonical decimal text (no exponent, no trailing zeros), whatever the stored text looked like.
fn canonical(field: &str, s: &str) -> ApiResult<String> {
    Decimal::from_str(s.trim())
        .map(dec_text)
        .map_err(|_| ApiError::new(ErrorCode::Corrupt, format!("{field}: stored value {s:?} is not a decimal")))
}

impl Journal {
    /// Write every account, trade, execution, note and checklist answer to `file` (a new file) as
    /// `json` or `csv`.
    pub fn export(&self, format: &str, file: &Path) -> ApiResult<ExportOutcome> {
        match format.trim().to_ascii_lowercase().as_str() {
            "json" => self.export_json(file),
            "csv" => self.export_csv(file),
            other => Err(ApiError::invalid("format", format!("expected json or csv, got {other:?}"))),
        }
    }

    fn export_json(&self, file: &Path) -> ApiResult<ExportOutcome> {
        let now = fmt_ts(Utc::now());
        let export = self.store.read_snapshot(|c| Ok::<_, ApiError>(port::read_export(c, &now)?))?;
        let bytes =
            serde_json::to_vec_pretty(&export).map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        trenddojo_store::write_new_file(file, &bytes)?;
        let accounts = export.users.iter().flat_map(|u| &u.accounts);
        let trades: Vec<_> = accounts.clone().flat_map(|a| &a.trades).collect();
        Ok(ExportOutcome {
            file: file.to_path_buf(),
            format: "json".into(),
            bytes: bytes.len() as u64,
            users: export.users.len(),
            accounts: accounts.count(),
            trades: trades.len(),
            executions: trades.iter().map(|t| t.executions.len()).sum(),
            notes: export.users.iter().map(|u| u.notes.len()).sum(),
            checklist_answers: trades.iter().map(|t| t.checklist_answers.len()).sum(),
        })
    }

    fn export_csv(&self, file: &Path) -> ApiResult<ExportOutcome> {
        let user = self.user_id()?;
        let rows = self.store.read_snapshot(|c| Ok::<_, ApiError>(port::csv_rows(c, user)?))?;
        let mut out = String::with_capacity(64 + rows.len() * 160);
        out.push_str(CSV_HEADER);
        out.push('\n');
        let mut accounts = HashSet::new();
        let mut trades = HashSet::new();
        for r in &rows {
            accounts.insert(r.account.clone());
            trades.insert(r.trade_id.clone());
            let at = fmt_ts(parse_ts(&r.executed_at)?);
            let fields = [
                CSV_FORMAT.to_string(),
                r.account.clone(),
                r.currency.clone(),
                r.time_zone.clone(),
                r.trade_id.clone(),
                r.symbol.clone(),
                r.direction.clone(),
                canonical("multiplier", &r.multiplier)?,
                r.initial_stop.as_deref().map(|s| canonical("initial_stop", s)).transpose()?.unwrap_or_default(),
                r.setup.clone().unwrap_or_default(),
                r.execution_id.clone(),
                r.side.clone(),
                canonical("quantity", &r.quantity)?,
                canonical("price", &r.price)?,
                canonical("fees", &r.fees)?,
                at,
            ];
            out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        trenddojo_store::write_new_file(file, out.as_bytes())?;
        Ok(ExportOutcome {
            file: file.to_path_buf(),
            format: "csv".into(),
            bytes: out.len() as u64,
            users: 1,
            accounts: accounts.len(),
            trades: trades.len(),
            executions: rows.len(),
            notes: 0,
            checklist_answers: 0,
        })
    }

    /// Read a JSON export into this store, which must hold no accounts or trades yet (see the module docs).
    pub fn import_backup(&self, file: &Path) -> ApiResult<ImportOutcome> {
        let len =
            std::fs::metadata(file).map_err(|e| ApiError::invalid("file", format!("{}: {e}", file.display())))?.len();
        if len > MAX_IMPORT_BYTES {
            return Err(ApiError::invalid("file", format!("{} is larger than 1 GiB; not an export", file.display())));
        }
        let bytes = std::fs::read(file).map_err(|e| ApiError::invalid("file", format!("{}: {e}", file.display())))?;
        let export: ExportFile = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::invalid("file", format!("{} is not a TrendDojo JSON export ({e})", file.display()))
        })?;
        if export.format != port::EXPORT_FORMAT {
            return Err(ApiError::invalid(
                "file",
                format!("{}: format is {:?}, expected {:?}", file.display(), export.format, port::EXPORT_FORMAT),
            ));
        }
        if export.version == 0 || export.version > port::EXPORT_VERSION {
            return Err(ApiError::new(
                ErrorCode::NewerSchema,
                format!(
                    "file: {} is export version {}, newer than this TrendDojo reads ({}); install a newer TrendDojo",
                    file.display(),
                    export.version,
                    port::EXPORT_VERSION
                ),
            ));
        }
        let mut outcome = self.store.write(|tx| {
            if port::holds_data(tx)? {
                return Err(ApiError::conflict(
                    "file",
                    "this store already holds accounts or trades; a backup is imported into a new, empty store",
                )
                .with_action(Action::CreateStore));
            }
            Importer { tx, seen: HashSet::new(), outcome: ImportOutcome::default() }.run(&export)
        })?;
        outcome.file = file.to_path_buf();
        Ok(outcome)
    }
}

/// Prefix an error with where in the file it was found.
fn at<T>(path: &str, r: ApiResult<T>) -> ApiResult<T> {
    r.map_err(|e| ApiError {
        code: if e.code == ErrorCode::Internal { ErrorCode::Internal } else { ErrorCode::InvalidInput },
        message: format!("file: {path}.{}", e.message),
        field: Some("file".into()),
        hint: e.hint,
        action: e.action,
    })
}

fn id(path: &str, s: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s.trim()).map_err(|_| ApiError::invalid("file", format!("{path}.id: {s:?} is not a UUID")))
}

fn instant(path: &str, field: &str, s: &str) -> ApiResult<String> {
    let t = parse_ts(s)
        .map_err(|_| ApiError::invalid("file", format!("{path}.{field}: {s:?} is not an RFC 3339 instant")))?;
    Ok(fmt_ts(t))
}

fn opt_text(field: &'static str, s: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    s.filter(|s| !s.trim().is_empty()).map(|s| parse::text(field, s, max)).transpose()
}

struct Importer<'t, 'c> {
    tx: &'t Tx<'c>,
    /// Every id read so far: an id twice in the file is refused.
    seen: HashSet<Uuid>,
    outcome: ImportOutcome,
}

impl Importer<'_, '_> {
    fn fresh(&mut self, path: &str, table: ImportTable, raw: &str) -> ApiResult<Uuid> {
        let uuid = id(path, raw)?;
        if !self.seen.insert(uuid) || port::id_taken(self.tx, table, &uuid.to_string())? {
            return Err(ApiError::invalid("file", format!("{path}.id: {uuid} appears twice")));
        }
        Ok(uuid)
    }

    fn run(mut self, export: &ExportFile) -> ApiResult<ImportOutcome> {
        for (ui, u) in export.users.iter().enumerate() {
            let path = format!("users[{ui}]");
            let user_id = match user_repo::find_by_email(self.tx, &u.email)? {
                Some(existing) => existing.id,
                None => {
                    let tier = at(&path, parse::choice::<Tier>("subscription_tier", &u.subscription_tier))?;
                    let name = at(&path, parse::text("display_name", &u.display_name, 100))?;
                    let created = at(
                        &path,
                        user_repo::insert_user(
                            self.tx,
                            &NewUser {
                                email: u.email.trim().to_ascii_lowercase(),
                                display_name: name,
                                password_hash: None,
                                tier,
                            },
                        )
                        .map_err(ApiError::from),
                    )?;
                    self.outcome.users_created.push(created.email.clone());
                    created.id
                }
            };
            // Checklists first: answers on trades refer to their items.
            let mut items = HashSet::new();
            for (ci, c) in u.checklists.iter().enumerate() {
                let path = format!("{path}.checklists[{ci}]");
                let tid = self.fresh(&path, ImportTable::Templates, &c.id)?;
                let name = at(&path, parse::text("name", &c.name, 100))?;
                let description = at(&path, opt_text("description", c.description.as_deref(), 1000))?;
                let created = instant(&path, "created_at", &c.created_at)?;
                port::insert_template(self.tx, tid, user_id, &name, description.as_deref(), c.active, &created)?;
                self.outcome.checklists += 1;
                for (ii, it) in c.items.iter().enumerate() {
                    let path = format!("{path}.items[{ii}]");
                    let iid = self.fresh(&path, ImportTable::Items, &it.id)?;
                    let prompt = at(&path, parse::text("prompt", &it.prompt, 500))?;
                    let created = instant(&path, "created_at", &it.created_at)?;
                    port::insert_item(self.tx, iid, user_id, tid, it.position, &prompt, it.required, &created)?;
                    items.insert(iid);
                    self.outcome.checklist_items += 1;
                }
            }
            let mut accounts = HashSet::new();
            let mut trades = HashSet::new();
            let mut names = HashSet::new();
            for (ai, a) in u.accounts.iter().enumerate() {
                let path = format!("{path}.accounts[{ai}]");
                let aid = self.account(&path, user_id, a, &mut names)?;
                accounts.insert(aid);
                let tz = at(&path, parse::time_zone("time_zone", &a.time_zone))?;
                let method = at(&path, parse::choice::<MatchingMethod>("matching_method", &a.matching_method))?;
                for (ti, t) in a.trades.iter().enumerate() {
                    let path = format!("{path}.trades[{ti}]");
                    let trade_id = self.trade(&path, user_id, aid, tz, &a.time_zone, method, t, &items)?;
                    trades.insert(trade_id);
                }
                trade_repo::reset_account_realized(self.tx, aid)?;
            }
            for (ni, n) in u.notes.iter().enumerate() {
                let path = format!("{path}.notes[{ni}]");
                let nid = self.fresh(&path, ImportTable::Notes, &n.id)?;
                let link = |field: &str, v: &Option<String>, known: &HashSet<Uuid>| -> ApiResult<Option<Uuid>> {
                    match v {
                        None => Ok(None),
                        Some(s) => {
                            let u = id(&format!("{path}.{field}"), s)?;
                            if !known.contains(&u) {
                                return Err(ApiError::invalid(
                                    "file",
                                    format!("{path}.{field}: {u} is not an account or trade of this user in the file"),
                                ));
                            }
                            Ok(Some(u))
                        }
                    }
                };
                let account = link("account_id", &n.account_id, &accounts)?;
                let trade = link("trade_id", &n.trade_id, &trades)?;
                if !trenddojo_store::journal::NOTE_KINDS.contains(&n.kind.as_str()) {
                    return Err(ApiError::invalid(
                        "file",
                        format!(
                            "{path}.kind: expected one of {}, got {:?}",
                            trenddojo_store::journal::NOTE_KINDS.join(", "),
                            n.kind
                        ),
                    ));
                }
                let body = at(&path, parse::text("body", &n.body, 20000))?;
                let created = instant(&path, "created_at", &n.created_at)?;
                port::insert_note(self.tx, nid, user_id, account, trade, &n.kind, &body, &created)?;
                self.outcome.notes += 1;
            }
        }
        Ok(self.outcome)
    }

    fn account(
        &mut self,
        path: &str,
        user_id: Uuid,
        a: &port::ExportAccount,
        names: &mut HashSet<String>,
    ) -> ApiResult<Uuid> {
        let aid = self.fresh(path, ImportTable::Accounts, &a.id)?;
        let name = at(path, parse::text("name", &a.name, 100))?;
        if !names.insert(name.clone()) {
            return Err(ApiError::invalid("file", format!("{path}.name: a second account named {name:?}")));
        }
        let currency = at(path, parse::currency("currency", &a.currency))?;
        at(path, parse::time_zone("time_zone", &a.time_zone))?;
        let method = at(path, parse::choice::<MatchingMethod>("matching_method", &a.matching_method))?;
        let balance = at(path, parse::money("starting_balance", &a.starting_balance))?;
        let tolerance = at(path, parse::money("breakeven_tolerance", &a.breakeven_tolerance))?;
        let broker = at(path, opt_text("broker", a.broker.as_deref(), 100))?;
        let created = instant(path, "created_at", &a.created_at)?;
        port::insert_account(
            self.tx,
            &port::AccountRow {
                id: aid,
                user_id,
                name: &name,
                currency: &currency,
                starting_balance: balance.to_canonical(),
                time_zone: a.time_zone.trim(),
                broker: broker.as_deref(),
                matching_method: method.as_str(),
                breakeven_tolerance: tolerance.to_canonical(),
                created_at: &created,
            },
        )?;
        if let Some(r) = &a.risk_settings {
            let path = format!("{path}.risk_settings");
            let settings = RiskSettings {
                max_risk_per_trade_pct: at(&path, parse::percent("max_risk_per_trade_pct", &r.max_risk_per_trade_pct))?,
                max_daily_loss_pct: at(&path, parse::percent("max_daily_loss_pct", &r.max_daily_loss_pct))?,
                max_weekly_loss_pct: at(&path, parse::percent("max_weekly_loss_pct", &r.max_weekly_loss_pct))?,
                max_open_positions: r.max_open_positions,
                max_correlated_positions: r.max_correlated_positions,
                sizing_method: at(&path, parse::choice::<SizingMethod>("sizing_method", &r.sizing_method))?,
                fixed_amount: at(&path, parse::opt("fixed_amount", r.fixed_amount.as_deref(), parse::money))?,
                fixed_quantity: at(&path, parse::opt("fixed_quantity", r.fixed_quantity.as_deref(), parse::quantity))?,
                enforcement: at(&path, parse::choice::<Enforcement>("enforcement", &r.enforcement))?,
            };
            account_repo::save_risk_settings(self.tx, user_id, aid, &settings)?;
        }
        self.outcome.accounts += 1;
        Ok(aid)
    }

    #[allow(clippy::too_many_arguments)]
    fn trade(
        &mut self,
        path: &str,
        user_id: Uuid,
        account_id: Uuid,
        tz: Tz,
        tz_name: &str,
        method: MatchingMethod,
        t: &port::ExportTrade,
        items: &HashSet<Uuid>,
    ) -> ApiResult<Uuid> {
        let tid = self.fresh(path, ImportTable::Trades, &t.id)?;
        let symbol = at(path, parse::symbol("symbol", &t.symbol))?;
        let direction = at(path, parse::choice::<Direction>("direction", &t.direction))?;
        let status = at(path, parse::choice::<TradeStatus>("status", &t.status))?;
        let multiplier = at(path, parse::positive_decimal("multiplier", &t.multiplier))?;
        let planned_entry = at(path, parse::opt("planned_entry", t.planned_entry.as_deref(), parse::price))?;
        let planned_quantity =
            at(path, parse::opt("planned_quantity", t.planned_quantity.as_deref(), parse::quantity))?;
        let initial_stop = at(path, parse::opt("initial_stop", t.initial_stop.as_deref(), parse::price))?;
        let current_stop = at(path, parse::opt("current_stop", t.current_stop.as_deref(), parse::price))?;
        let setup = at(path, opt_text("setup", t.setup.as_deref(), 100))?;
        let group = at(path, opt_text("correlation_group", t.correlation_group.as_deref(), 100))?;
        let created = instant(path, "created_at", &t.created_at)?;
        let cancelled_at = t.cancelled_at.as_deref().map(|c| instant(path, "cancelled_at", c)).transpose()?;
        let mut fills = Vec::with_capacity(t.executions.len());
        let mut exec_meta = Vec::with_capacity(t.executions.len());
        for (ei, e) in t.executions.iter().enumerate() {
            let path = format!("{path}.executions[{ei}]");
            let eid = self.fresh(&path, ImportTable::Executions, &e.id)?;
            let executed_at = parse_ts(&e.executed_at).map_err(|_| {
                ApiError::invalid("file", format!("{path}.executed_at: {:?} is not an RFC 3339 instant", e.executed_at))
            })?;
            fills.push(Fill {
                id: eid,
                side: at(&path, parse::choice::<Side>("side", &e.side))?,
                quantity: at(&path, parse::quantity("quantity", &e.quantity))?,
                price: at(&path, parse::price("price", &e.price))?,
                fees: at(&path, parse::fee("fees", &e.fees))?,
                executed_at,
            });
            let e_tz = at(&path, parse::time_zone("time_zone", &e.time_zone))?;
            exec_meta.push((e_tz.name().to_string(), instant(&path, "created_at", &e.created_at)?));
        }
        let derived = dtrade::derive(
            &dtrade::TradeFacts { direction, multiplier, method, initial_stop, account_deleted: false },
            &fills,
        );
        let (initial_risk, r) = (derived.initial_risk, derived.r_multiple);
        let summary = derived.summary;
        let closed = summary.status == TradeStatus::Closed;
        let exit_days = if closed {
            Some(trade_repo::encode_exit_days(&at(
                path,
                dtrade::exit_days(&summary.exits, tz).map_err(ApiError::from),
            )?))
        } else {
            None
        };
        let status = if status == TradeStatus::Cancelled { TradeStatus::Cancelled } else { summary.status };
        port::insert_trade(
            self.tx,
            &port::TradeRow {
                id: tid,
                user_id,
                account_id,
                symbol: &symbol,
                direction: direction.as_str(),
                status: status.as_str(),
                multiplier: dec_text(multiplier),
                planned_entry: planned_entry.map(|p| p.to_canonical()),
                planned_quantity: planned_quantity.map(|q| q.to_canonical()),
                initial_stop: initial_stop.map(|p| p.to_canonical()),
                current_stop: current_stop.or(initial_stop).map(|p| p.to_canonical()),
                setup: setup.as_deref(),
                correlation_group: group.as_deref(),
                entered_quantity: dec_text(summary.entered_quantity),
                open_quantity: dec_text(summary.open_quantity),
                avg_entry_price: summary.avg_entry_price.map(dec_text),
                avg_exit_price: summary.avg_exit_price.map(dec_text),
                gross_pnl: summary.gross_realized.to_canonical(),
                fees: summary.fees.to_canonical(),
                net_pnl: summary.net_realized.to_canonical(),
                initial_risk: initial_risk.map(|m| m.to_canonical()),
                r_multiple: r.map(dec_text),
                exit_days,
                excess_quantity: (!summary.excess_quantity.is_zero()).then(|| dec_text(summary.excess_quantity)),
                review: dtrade::review_text(&summary.review),
                opened_at: summary.opened_at.map(fmt_ts),
                closed_at: summary.closed_at.filter(|_| closed).map(fmt_ts),
                cancelled_at,
                created_at: &created,
            },
        )?;
        self.outcome.trades += 1;
        let realized: HashMap<Uuid, (Money, Money)> =
            summary.exits.iter().map(|x| (x.fill_id, (x.gross, x.net))).collect();
        for (f, (e_tz, e_created)) in fills.iter().zip(&exec_meta) {
            let x = realized.get(&f.id);
            port::insert_execution(
                self.tx,
                &port::ExecutionRow {
                    id: f.id,
                    user_id,
                    account_id,
                    trade_id: tid,
                    side: f.side.as_str(),
                    quantity: f.quantity.to_canonical(),
                    price: f.price.to_canonical(),
                    fees: f.fees.to_canonical(),
                    executed_at: fmt_ts(f.executed_at),
                    time_zone: if e_tz.is_empty() { tz_name } else { e_tz },
                    realized_gross: x.map(|(g, _)| g.to_canonical()),
                    realized_net: x.map(|(_, n)| n.to_canonical()),
                    created_at: e_created,
                },
            )?;
            self.outcome.executions += 1;
        }
        for (si, s) in t.stop_adjustments.iter().enumerate() {
            let path = format!("{path}.stop_adjustments[{si}]");
            let sid = self.fresh(&path, ImportTable::Stops, &s.id)?;
            let price = at(&path, parse::price("price", &s.price))?;
            let reason = at(&path, opt_text("reason", s.reason.as_deref(), 500))?;
            port::insert_stop(
                self.tx,
                sid,
                user_id,
                tid,
                &price.to_canonical(),
                &instant(&path, "adjusted_at", &s.adjusted_at)?,
                reason.as_deref(),
                &instant(&path, "created_at", &s.created_at)?,
            )?;
            self.outcome.stop_adjustments += 1;
        }
        for (gi, g) in t.targets.iter().enumerate() {
            let path = format!("{path}.targets[{gi}]");
            let gid = self.fresh(&path, ImportTable::Targets, &g.id)?;
            let price = at(&path, parse::price("price", &g.price))?;
            let quantity = at(&path, parse::opt("quantity", g.quantity.as_deref(), parse::quantity))?;
            let label = at(&path, opt_text("label", g.label.as_deref(), 100))?;
            port::insert_target(
                self.tx,
                gid,
                user_id,
                tid,
                &price.to_canonical(),
                quantity.map(|q| q.to_canonical()).as_deref(),
                label.as_deref(),
                &instant(&path, "created_at", &g.created_at)?,
            )?;
            self.outcome.targets += 1;
        }
        let mut answered = HashSet::new();
        for (ai, a) in t.checklist_answers.iter().enumerate() {
            let path = format!("{path}.checklist_answers[{ai}]");
            let aid = self.fresh(&path, ImportTable::Answers, &a.id)?;
            let item = id(&format!("{path}.item_id"), &a.item_id)?;
            if !items.contains(&item) || !answered.insert(item) {
                return Err(ApiError::invalid(
                    "file",
                    format!("{path}.item_id: {item} is not a checklist item of this user, or is answered twice"),
                ));
            }
            let comment = at(&path, opt_text("comment", a.comment.as_deref(), 1000))?;
            port::insert_answer(
                self.tx,
                aid,
                user_id,
                tid,
                item,
                a.checked,
                comment.as_deref(),
                &instant(&path, "answered_at", &a.answered_at)?,
                &instant(&path, "created_at", &a.created_at)?,
            )?;
            self.outcome.checklist_answers += 1;
        }
        Ok(tid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountInput, ImportFill, ImportTrade, OpenOptions, UserInput};
    use proptest::prelude::*;
    use trenddojo_store::{KeySource, Passphrase};

    fn key() -> KeySource {
        KeySource::Passphrase(Passphrase::new("round trip").expect("passphrase"))
    }

    fn journal(home: &Path) -> Journal {
        let user = UserInput { email: "rt@example.com".into(), tier: Some("pro".into()), ..Default::default() };
        Journal::init(home, &key(), &user).expect("init")
    }

    /// A trade of 1-4 entries and 0-4 exits never exiting more than was entered, prices with up to 4
    /// places, fees with 2: what summaries, realized P&L and statistics are made of.
    fn trade() -> impl Strategy<Value = ImportTrade> {
        (
            any::<bool>(),
            proptest::collection::vec((1u32..500, 1i64..2_000_000, 0i64..500), 1..5),
            proptest::collection::vec((1u32..100, 1i64..2_000_000, 0i64..500), 0..5),
            prop::option::of(1i64..1_000_000),
            0i64..1_000_000,
        )
            .prop_map(|(long, entries, exits, stop, start)| {
                let direction = if long { Direction::Long } else { Direction::Short };
                let at = |i: i64| {
                    chrono::DateTime::from_timestamp(1_767_225_600 + start * 60 + i * 3600, 0).expect("instant")
                };
                let total: u32 = entries.iter().map(|e| e.0).sum();
                let mut left = total;
                let mut fills: Vec<ImportFill> = entries
                    .iter()
                    .enumerate()
                    .map(|(i, (q, p, f))| ImportFill {
                        side: direction.entry_side(),
                        quantity: Quantity::parse("quantity", &q.to_string()).expect("q"),
                        price: Price::parse("price", &Decimal::new(*p, 4).to_string()).expect("p"),
                        fees: Fee::parse("fees", &Decimal::new(*f, 2).to_string()).expect("f"),
                        at: at(i as i64),
                    })
                    .collect();
                for (i, (q, p, f)) in exits.iter().enumerate() {
                    let q = (*q).min(left);
                    if q == 0 {
                        break;
                    }
                    left -= q;
                    fills.push(ImportFill {
                        side: direction.exit_side(),
                        quantity: Quantity::parse("quantity", &q.to_string()).expect("q"),
                        price: Price::parse("price", &Decimal::new(*p, 4).to_string()).expect("p"),
                        fees: Fee::parse("fees", &Decimal::new(*f, 2).to_string()).expect("f"),
                        at: at(10 + i as i64),
                    });
                }
                ImportTrade {
                    symbol: "RT".into(),
                    direction,
                    multiplier: Decimal::ONE,
                    initial_stop: stop.and_then(|s| Price::parse("stop", &Decimal::new(s, 4).to_string()).ok()),
                    target: None,
                    setup: Some("round, \"trip\"".into()),
                    correlation_group: None,
                    fills,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        /// Exporting to JSON and importing into an empty store gives the same trades (ids, summaries,
        /// exact decimals) and the same statistics, whatever the fills.
        #[test]
        fn a_json_export_imports_back_to_equal_trades_and_statistics(
            trades in proptest::collection::vec(trade(), 1..6),
            lifo in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().expect("dir");
            let a = journal(&dir.path().join("a"));
            a.add_account(&AccountInput {
                name: "Main".into(),
                currency: "USD".into(),
                balance: "100000".into(),
                timezone: Some("America/New_York".into()),
                matching: Some(if lifo { "lifo" } else { "fifo" }.into()),
                ..Default::default()
            })
            .expect("account");
            a.import_trades("Main", &trades).expect("import trades");
            let file = dir.path().join("e.json");
            a.export("json", &file).expect("export");
            let b = journal(&dir.path().join("b"));
            let out = b.import_backup(&file).expect("import-backup");
            prop_assert_eq!(out.trades, trades.len(), "every trade");
            let strip = |j: &Journal| -> serde_json::Value {
                let mut v = serde_json::to_value(j.list_trades(&crate::TradeListInput { limit: Some(1000), ..Default::default() }).expect("list")).expect("json");
                for t in v.as_array_mut().expect("array") {
                    let o = t.as_object_mut().expect("object");
                    o.remove("updated_at");
                    o.remove("user_id");
                }
                v
            };
            prop_assert_eq!(strip(&a), strip(&b), "the same trades, summaries and ids");
            let stats = |j: &Journal| serde_json::to_value(j.stats(Some("Main"), None, None).expect("stats")).expect("json");
            prop_assert_eq!(stats(&a), stats(&b), "the same statistics");
            let reopened = Journal::open(&OpenOptions { home: dir.path().join("b"), key: key(), user: None }).expect("reopen");
            prop_assert_eq!(stats(&reopened), stats(&a), "and they are what the store keeps");
        }
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain", "no quotes needed");
        assert_eq!(csv_field("a,b"), "\"a,b\"", "a comma is quoted");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"", "quotes are doubled");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"", "a line break is quoted");
        assert_eq!(csv_field(""), "", "empty stays empty");
    }

    #[test]
    fn the_header_is_the_shared_spec_exactly() {
        assert_eq!(
            CSV_HEADER,
            "format,account,currency,time_zone,trade_id,symbol,direction,multiplier,initial_stop,setup,execution_id,\
             side,quantity,price,fees,executed_at",
            "the importer reads this header"
        );
    }

    #[test]
    fn stored_decimals_come_out_canonical() {
        assert_eq!(canonical("x", "1.500").unwrap(), "1.5", "trailing zeros go");
        assert_eq!(canonical("x", "0.000").unwrap(), "0", "zero is 0");
        assert_eq!(canonical("x", "-12.30").unwrap(), "-12.3", "negative");
        assert!(canonical("x", "abc").is_err(), "not a decimal is refused");
    }
}
