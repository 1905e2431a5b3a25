//! Human-readable output: aligned tables and short summaries. `--json` bypasses all of this.
//!
//! Numbers go through `trenddojo_core::format`, the display rule the desktop app shares: money in the
//! account currency's minor unit with thousands separators, percentages and R to 2 places, quantities and
//! prices exact. Only what is shown is rounded; JSON stays exact.

use std::fmt::Write as _;

use rust_decimal::Decimal;
use trenddojo_core::format;

use trenddojo_core::dto::{
    AccountSummary, BrokerConnection, Checklist, ChecklistAnswer, ConflictEntry, Note, PositionSize, RiskSettings,
    SyncStatus, Trade, User,
};
use trenddojo_core::maintenance_types::DbStatus;
use trenddojo_core::server_types::Environments;
use trenddojo_core::{AccountStats, MigrationOutcome, ServerMigration, ServerStatus, SyncReview, TradeDetail};
use trenddojo_core::{ImportPreview, UndoResult};

/// Render rows as a table with a header, columns padded to their widest cell.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            let _ = write!(l, "{:<w$}  ", c, w = widths[i]);
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut out, header.to_vec());
    for r in rows {
        line(&mut out, r.iter().map(String::as_str).collect());
    }
    out
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "-".to_string(), ToString::to_string)
}

/// `1 win`, `2 wins`, `1 loss`, `2 losses`.
fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n: u64 = n.into();
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A decimal the API sent as canonical text (shown as sent if it is not one: it always is).
fn dec(s: &str) -> Option<Decimal> {
    Decimal::from_str_exact(s).ok()
}

fn money(s: &str, currency: &str) -> String {
    dec(s).map_or_else(|| s.to_string(), |d| format::money(d, currency))
}

fn qty(s: &str) -> String {
    dec(s).map_or_else(|| s.to_string(), format::quantity)
}

fn price(s: &str, currency: &str) -> String {
    dec(s).map_or_else(|| s.to_string(), |d| format::price(d, currency))
}

fn r_text(s: &str) -> String {
    dec(s).map_or_else(|| s.to_string(), format::r)
}

fn pct(s: &str) -> String {
    dec(s).map_or_else(|| s.to_string(), format::percent)
}

/// `f(value)`, or `-` for none (text values).
fn or_dash_s(v: &Option<String>, f: impl Fn(&str) -> String) -> String {
    v.as_deref().map_or_else(|| "-".to_string(), f)
}

/// `YYYY-MM-DD HH:MM` of an RFC 3339 instant.
fn minute(t: &str) -> String {
    t.get(..16).map_or_else(|| t.to_string(), |m| m.replacen('T', " ", 1))
}

pub fn users(users: &[User]) -> String {
    table(
        &["EMAIL", "NAME", "TIER"],
        &users
            .iter()
            .map(|u| vec![u.email.clone(), u.display_name.clone(), u.subscription_tier.as_str().into()])
            .collect::<Vec<_>>(),
    )
}

/// What the account list's money columns mean; `stats` counts something else, so both screens say which.
pub const ACCOUNTS_LEGEND: &str = "REALIZED: net P&L booked so far on all trades, open ones included (partial exits, fees \
paid); EQUITY = START + REALIZED.\n`trenddojo stats` counts closed trades only: its net P&L and ending equity leave open \
trades out.\n";

pub fn accounts(accounts: &[AccountSummary]) -> String {
    if accounts.is_empty() {
        return "No accounts.\n".into();
    }
    let mut s = table(
        &["ID", "NAME", "CCY", "START", "REALIZED", "EQUITY", "OPEN", "TIME ZONE"],
        &accounts
            .iter()
            .map(|a| {
                let c = a.account.currency.as_str();
                vec![
                    a.account.id.to_string(),
                    a.account.name.clone(),
                    a.account.currency.clone(),
                    money(&a.account.starting_balance, c),
                    money(&a.realized_pnl, c),
                    money(&a.equity, c),
                    a.open_positions.to_string(),
                    a.account.time_zone.clone(),
                ]
            })
            .collect::<Vec<_>>(),
    );
    s.push_str(ACCOUNTS_LEGEND);
    s
}

/// The trade list; `currency_of` gives a trade's account currency (for the money columns).
pub fn trades<'a>(trades: &'a [Trade], currency_of: impl Fn(&'a Trade) -> &'a str) -> String {
    if trades.is_empty() {
        return "No trades.\n".into();
    }
    table(
        &["ID", "SYMBOL", "SIDE", "STATUS", "QTY", "OPEN QTY", "AVG ENTRY", "NET P&L", "R", "OPENED (UTC)"],
        &trades
            .iter()
            .map(|t| {
                let c = currency_of(t);
                vec![
                    t.id.to_string(),
                    t.symbol.clone(),
                    t.direction.as_str().into(),
                    t.status.as_str().into(),
                    qty(&t.entered_quantity),
                    qty(&t.open_quantity),
                    or_dash_s(&t.avg_entry_price, |p| price(p, c)),
                    money(&t.net_pnl, c),
                    or_dash_s(&t.r_multiple, r_text),
                    or_dash_s(&t.opened_at, minute),
                ]
            })
            .collect::<Vec<_>>(),
    )
}

pub fn trade_detail(d: &TradeDetail) -> String {
    let t = &d.trade;
    let c = d.currency.as_str();
    let px = |p: &Option<String>| or_dash_s(p, |p| price(p, c));
    let mut s = format!(
        "Trade {}  {} {} {}  status {}\n  entered {}  open {}  avg entry {}  avg exit {}\n  gross {}  fees {}  net {}  initial risk {}  R {}\n  stop {} (initial {})\n",
        t.id,
        t.symbol,
        t.direction.as_str(),
        if t.multiplier == "1" { String::new() } else { format!("x{}", qty(&t.multiplier)) },
        t.status.as_str(),
        qty(&t.entered_quantity),
        qty(&t.open_quantity),
        px(&t.avg_entry_price),
        px(&t.avg_exit_price),
        money(&t.gross_pnl, c),
        money(&t.fees, c),
        money(&t.net_pnl, c),
        or_dash_s(&t.initial_risk, |m| money(m, c)),
        or_dash_s(&t.r_multiple, r_text),
        px(&t.current_stop),
        px(&t.initial_stop),
    );
    if !t.review.is_empty() {
        let reasons: Vec<&str> = t.review.iter().map(|r| r.as_str()).collect();
        let _ = writeln!(
            s,
            "  NEEDS REVIEW ({}){}: see `trenddojo sync review`",
            reasons.join(", "),
            if t.excess_quantity == "0" {
                String::new()
            } else {
                format!(", {} exited beyond what was open", qty(&t.excess_quantity))
            }
        );
    }
    if !d.executions.is_empty() {
        s.push_str("Executions:\n");
        s.push_str(&table(
            &["  ID", "SIDE", "QTY", "PRICE", "FEES", "AT (UTC)", "REALIZED NET"],
            &d.executions
                .iter()
                .map(|e| {
                    vec![
                        format!("  {}", e.id),
                        e.side.as_str().to_string(),
                        qty(&e.quantity),
                        price(&e.price, c),
                        money(&e.fees, c),
                        e.executed_at.get(..19).unwrap_or(&e.executed_at).replacen('T', " ", 1),
                        or_dash_s(&e.realized_net, |m| money(m, c)),
                    ]
                })
                .collect::<Vec<_>>(),
        ));
    }
    if d.stops.len() > 1 {
        s.push_str("Stop history:\n");
        for st in &d.stops {
            let _ = writeln!(
                s,
                "  {}  {}  {}",
                minute(&st.adjusted_at),
                price(&st.price, c),
                st.reason.as_deref().unwrap_or("")
            );
        }
    }
    if !d.targets.is_empty() {
        let targets: Vec<String> = d.targets.iter().map(|t| price(&t.price, c)).collect();
        let _ = writeln!(s, "Targets: {}", targets.join(", "));
    }
    for n in &d.notes {
        let _ = writeln!(s, "Note ({}): {}", n.kind, n.body);
    }
    s
}

pub fn notes(notes: &[Note]) -> String {
    if notes.is_empty() {
        return "No notes.\n".into();
    }
    let mut s = String::new();
    for n in notes {
        let _ = writeln!(s, "{}  [{}]  {}", &n.created_at[..16], n.kind, n.body);
    }
    s
}

pub fn checklists(all: &[Checklist]) -> String {
    let mut s = String::new();
    for t in all {
        let _ = writeln!(s, "{} ({})", t.name, t.id);
        for i in &t.items {
            let _ = writeln!(s, "  {}. {}{}", i.position + 1, i.prompt, if i.required { "" } else { " (optional)" });
        }
    }
    if s.is_empty() {
        s.push_str("No checklists.\n");
    }
    s
}

pub fn responses(all: &[ChecklistAnswer]) -> String {
    let mut s = String::new();
    for r in all {
        let _ = writeln!(
            s,
            "[{}] {}{}",
            if r.checked { "x" } else { " " },
            r.prompt,
            r.comment.as_deref().map(|c| format!("  ({c})")).unwrap_or_default()
        );
    }
    if s.is_empty() {
        s.push_str("No checklist answers.\n");
    }
    s
}

pub fn risk(account: &str, s: &RiskSettings) -> String {
    format!(
        "Risk rules for {account}:\n  max risk per trade   {}%\n  max daily loss       {}%\n  max weekly loss      {}%\n  max open positions   {}\n  max correlated       {}\n  sizing               {}\n  enforcement          {}\n",
        s.max_risk_per_trade_pct,
        s.max_daily_loss_pct,
        s.max_weekly_loss_pct,
        s.max_open_positions,
        s.max_correlated_positions,
        s.sizing_method.as_str(),
        s.enforcement.as_str()
    )
}

pub fn size(p: &PositionSize, currency: &str) -> String {
    format!(
        "Quantity {}  (risk {} of budget {}, {}% of balance; {} per unit; notional {})\n",
        qty(&p.quantity),
        money(&p.risk_amount, currency),
        money(&p.risk_budget, currency),
        pct(&p.risk_pct_of_balance),
        price(&p.per_unit_risk, currency),
        money(&p.notional, currency)
    )
}

/// The requested range in words.
fn range(a: &AccountStats) -> String {
    match (&a.from, &a.to) {
        (Some(f), Some(t)) => format!("{f} to {t}"),
        (Some(f), None) => format!("from {f}"),
        (None, Some(t)) => format!("up to {t}"),
        (None, None) => "all time".into(),
    }
}

pub fn stats(all: &[AccountStats]) -> String {
    let mut s = String::new();
    for a in all {
        let st = &a.stats;
        let c = a.currency.as_str();
        let pf = match st.profit_factor.as_str() {
            "no_losses" => "no losses".to_string(),
            "no_trades" => "no trades".to_string(),
            ratio => r_text(ratio),
        };
        let _ = writeln!(s, "{} ({}, {})", a.account, a.currency, a.time_zone);
        let _ = writeln!(s, "  range           {} (days in the account's time zone)", range(a));
        let _ = writeln!(
            s,
            "  equity          {} at the start, {} at the end (starting balance plus closed trades' net P&L)",
            money(&a.starting_equity, c),
            money(&st.ending_equity, c)
        );
        let _ = writeln!(
            s,
            "  closed trades   {} ({}, {}, {})",
            st.trades,
            count(st.wins, "win", "wins"),
            count(st.losses, "loss", "losses"),
            count(st.breakevens, "breakeven", "breakevens")
        );
        let _ = writeln!(s, "  win rate        {}", or_dash_s(&st.win_rate, |w| format!("{}%", pct(w))));
        let _ = writeln!(
            s,
            "  net P&L         {}  (closed trades only; fees {})",
            money(&st.net_pnl, c),
            money(&st.total_fees, c)
        );
        let _ = writeln!(
            s,
            "  avg win / loss  {} / {}",
            or_dash_s(&st.avg_win, |m| money(m, c)),
            or_dash_s(&st.avg_loss, |m| money(m, c))
        );
        let _ = writeln!(s, "  profit factor   {pf}");
        let _ = writeln!(
            s,
            "  expectancy      {} per trade, {} R (over {} with an initial risk)",
            or_dash_s(&st.expectancy, |m| money(m, c)),
            or_dash_s(&st.expectancy_r, r_text),
            count(st.r_trades, "trade", "trades")
        );
        let dd = match &st.max_drawdown_pct {
            Some(p) => format!("{}%", pct(p)),
            None => "n/a: the peak was at or below zero".into(),
        };
        let _ = writeln!(s, "  max drawdown    {} ({dd})", money(&st.max_drawdown, c));
        let current = match st.current_streak {
            0 => "none".to_string(),
            n if n > 0 => count(n.unsigned_abs(), "win", "wins"),
            n => count(n.unsigned_abs(), "loss", "losses"),
        };
        let _ = writeln!(
            s,
            "  streaks         longest {} and {}; current {}",
            count(st.longest_win_streak, "win", "wins"),
            count(st.longest_loss_streak, "loss", "losses"),
            current
        );
        if let (Some(b), Some(w)) = (&st.best_day, &st.worst_day) {
            let _ = writeln!(
                s,
                "  best / worst day {} {} / {} {}",
                b.date,
                money(&b.net_pnl, c),
                w.date,
                money(&w.net_pnl, c)
            );
        }
    }
    if s.is_empty() {
        s.push_str("No accounts.\n");
    }
    s
}

pub fn status(s: &DbStatus) -> String {
    let mut out = format!(
        "Store {}\n  schema v{} of v{} ({} pending)\n  encryption {} {} (key from {})\n  size {} bytes\n",
        s.path,
        s.schema_version,
        s.latest_version,
        s.pending.len(),
        s.encryption.cipher,
        s.encryption.cipher_version,
        s.encryption.key_method,
        s.file_size_bytes
    );
    for p in &s.pending {
        let _ = writeln!(out, "  pending V{} {}", p.version, p.name);
    }
    out.push_str(&table(
        &["  TABLE", "ROWS"],
        &s.row_counts.iter().map(|c| vec![format!("  {}", c.table), c.rows.to_string()]).collect::<Vec<_>>(),
    ));
    out
}

pub fn migration(r: &MigrationOutcome) -> String {
    let mut s = format!("Schema v{} -> v{}", r.from_version, r.to_version);
    if !r.applied.is_empty() {
        let _ = write!(s, "; applied {:?}", r.applied);
    }
    if !r.rolled_back.is_empty() {
        let _ = write!(s, "; rolled back {:?}", r.rolled_back);
    }
    if let Some(b) = &r.backup {
        let _ = write!(s, "; backup at {}", b.display());
    }
    s.push('\n');
    s
}

pub fn brokers(all: &[BrokerConnection]) -> String {
    table(
        &["ID", "BROKER", "LABEL", "KEY HINT", "STATUS"],
        &all.iter()
            .map(|b| vec![b.id.to_string(), b.broker.clone(), b.label.clone(), opt(&b.api_key_hint), b.status.clone()])
            .collect::<Vec<_>>(),
    )
}

pub fn plan(r: &ServerMigration) -> String {
    if r.plan.is_empty() {
        return "nothing to do".into();
    }
    let steps: Vec<String> = r.plan.iter().map(|p| format!("V{} {}", p.version, p.name)).collect();
    format!("{} step(s): {}", steps.len(), steps.join(", "))
}

pub fn server_migration(r: &ServerMigration) -> String {
    format!("{}: schema v{} -> v{} ({})\n", r.target, r.from_version, r.to_version, plan(r))
}

pub fn server_status(s: &ServerStatus) -> String {
    let mut out = format!(
        "Server {}{}\n  schema v{} of v{} ({} pending)\n",
        s.target,
        if s.production { " (production)" } else { "" },
        s.schema_version,
        s.latest_version,
        s.pending.len()
    );
    for a in &s.applied {
        let _ = writeln!(out, "  applied V{} {} ({})", a.version, a.name, a.applied_on);
    }
    for p in &s.pending {
        let _ = writeln!(out, "  pending V{} {}", p.version, p.name);
    }
    match &s.drift {
        None => out.push_str("  drift: unknown (no fingerprint recorded for this version)\n"),
        Some(d) if d.is_empty() => out.push_str("  drift: none (the live schema is what the migrations define)\n"),
        Some(d) => {
            let _ = writeln!(out, "  drift: {} difference(s) from what the migrations define:", d.len());
            for l in d {
                let _ = writeln!(out, "    {l}");
            }
        }
    }
    if s.security.is_empty() {
        out.push_str("  security rules: all hold\n");
    } else {
        let _ = writeln!(out, "  security rules: {} violation(s):", s.security.len());
        for l in &s.security {
            let _ = writeln!(out, "    {l}");
        }
    }
    out
}

pub fn envs(all: &Environments) -> String {
    table(
        &["ENV", "PRODUCTION", "SERVICE"],
        &all.environments
            .iter()
            .map(|(n, p)| vec![n.clone(), p.production.to_string(), p.service.clone()])
            .collect::<Vec<_>>(),
    )
}

pub fn conflicts(all: &[ConflictEntry]) -> String {
    if all.is_empty() {
        return "No conflicts.\n".into();
    }
    table(
        &["#", "SEEN", "TABLE", "ROW", "FIELD", "KEPT", "LOST", "RESTORED"],
        &all.iter()
            .map(|c| {
                vec![
                    c.seq.to_string(),
                    c.seen_at.clone(),
                    c.table.clone(),
                    c.row_id.clone(),
                    c.field.clone(),
                    c.kept_shown.clone().unwrap_or_else(|| c.kept_value.clone()),
                    c.lost_shown.clone().unwrap_or_else(|| c.lost_value.clone()),
                    c.restored_at.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect::<Vec<_>>(),
    )
}

pub fn sync_status(s: &SyncStatus) -> String {
    let st = s;
    let last_error = match (&st.last_error_at, &st.last_error) {
        (Some(at), Some(e)) if st.last_error_resolved => {
            format!("{at}: {e} (a later round succeeded)")
        }
        (Some(at), Some(e)) => format!("{at}: {e} (not resolved yet)"),
        _ => "none".into(),
    };
    let mut out = format!(
        "Device {}\n  server: {}\n  pending local changes: {}\n  last success: {}\n  last error: {}\n  \
         acknowledged mutation: {}\n  pull cursor: {}\n  conflicts logged (not restored): {}\n",
        s.device,
        s.server.as_deref().unwrap_or("not set up (trenddojo sync login)"),
        st.pending,
        st.last_success.as_deref().unwrap_or("never"),
        last_error,
        st.acknowledged,
        st.cursor,
        st.conflicts
    );
    let _ = writeln!(out, "  trades needing review: {}\n  rows kept aside: {}", s.needs_review, st.kept_aside);
    match (&s.audit_rewritten, &s.audit_head) {
        (Some(finding), _) => {
            let _ = writeln!(out, "  SERVER AUDIT CHAIN REWRITTEN: {finding}");
        }
        (None, Some(head)) => {
            let _ = writeln!(out, "  server audit chain: holds every head this device saw (newest {head})");
        }
        (None, None) => {}
    }
    if st.awaiting_download > 0 {
        let _ = writeln!(
            out,
            "  a download was interrupted: {} trade(s) wait for their fills (the next sync finishes it)",
            st.awaiting_download
        );
    }
    if s.needs_review > 0 || st.kept_aside > 0 {
        out.push_str("  see `trenddojo sync review` for what to do\n");
    }
    out
}

pub fn sync_review(r: &SyncReview) -> String {
    if r.items.trades.is_empty() && r.items.orphan_executions.is_empty() && r.kept_aside.is_empty() {
        return "Nothing to review: every merge applied cleanly.\n".into();
    }
    let mut out = String::new();
    if !r.items.trades.is_empty() {
        out.push_str("Trades that need review after a merge:\n");
        out.push_str(&table(
            &["ID", "SYMBOL", "ENTERED", "EXCESS", "NET P&L", "WHY", "WHAT TO DO"],
            &r.items
                .trades
                .iter()
                .map(|t| {
                    vec![
                        t.trade.id.to_string(),
                        t.trade.symbol.clone(),
                        t.trade.entered_quantity.to_string(),
                        t.trade.excess_quantity.to_string(),
                        t.trade.net_pnl.to_string(),
                        t.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
                        t.advice.join("; "),
                    ]
                })
                .collect::<Vec<_>>(),
        ));
        out.push_str("  (trenddojo trade show ID lists the fills; trade edit-execution / delete-execution fix them)\n");
    }
    if !r.items.orphan_executions.is_empty() {
        out.push_str(
            "Fills of trades deleted on another device (hidden with the trade; delete them to acknowledge):\n",
        );
        out.push_str(&table(
            &["ID", "TRADE", "SIDE", "QTY", "PRICE", "AT (UTC)"],
            &r.items
                .orphan_executions
                .iter()
                .map(|e| {
                    vec![
                        e.id.to_string(),
                        e.trade_id.to_string(),
                        e.side.as_str().into(),
                        e.quantity.to_string(),
                        e.price.to_string(),
                        minute(&e.executed_at),
                    ]
                })
                .collect::<Vec<_>>(),
        ));
    }
    if !r.kept_aside.is_empty() {
        out.push_str("Rows kept aside (not applied; never dropped):\n");
        out.push_str(&table(
            &["TABLE", "ROW", "DIRECTION", "WHY", "TRIED", "WHAT TO DO"],
            &r.kept_aside
                .iter()
                .map(|k| {
                    vec![
                        k.table.clone(),
                        k.row_id.clone(),
                        format!("{:?}", k.direction).to_lowercase(),
                        k.reason.clone(),
                        k.attempts.to_string(),
                        k.advice.clone(),
                    ]
                })
                .collect::<Vec<_>>(),
        ));
    }
    out
}

/// An import's preview: the file, the counts, rejected rows with their reasons, the fills and trades it
/// adds or changes (each time in the account's zone), and the P&L it moves.
pub fn import_preview(p: &ImportPreview) -> String {
    let mut out = String::new();
    let c = &p.counts;
    let _ = writeln!(
        out,
        "{} ({}, parser v{}; times read in {}) into account {} ({}, {})",
        p.file_name, p.format_label, p.parser_version, p.statement_tz, p.account, p.currency, p.account_time_zone
    );
    let _ = writeln!(
        out,
        "Fills: {} new, {} duplicate, {} corrected, {} cancelled, {} rejected, {} other rows skipped",
        c.new, c.duplicate, c.corrected, c.cancelled, c.rejected, c.skipped
    );
    let _ = writeln!(
        out,
        "Trades: {} created, {} changed, {} removed; realized net P&L {} -> {} ({})",
        c.trades_created,
        c.trades_changed,
        c.trades_removed,
        money(&p.pnl.before, &p.currency),
        money(&p.pnl.after, &p.currency),
        money(&p.pnl.change, &p.currency)
    );
    if !p.imported_before.is_empty() {
        let ids: Vec<String> = p.imported_before.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "This file was imported into this account before (import {}).", ids.join(", "));
    }
    if !p.rejected.is_empty() {
        let _ = writeln!(out, "\nRejected rows:");
        let rows: Vec<Vec<String>> =
            p.rejected.iter().take(50).map(|r| vec![r.line.to_string(), r.reason.clone()]).collect();
        out.push_str(&table(&["LINE", "REASON"], &rows));
        if c.rejected > 50 {
            let _ = writeln!(out, "... and {} more (--json lists up to 1,000)", c.rejected - 50);
        }
    }
    if !p.fills.is_empty() {
        let _ = writeln!(out, "\nFills:");
        let rows: Vec<Vec<String>> = p
            .fills
            .iter()
            .take(20)
            .map(|f| {
                vec![
                    f.change.as_str().to_string(),
                    f.line.to_string(),
                    f.local_time.clone().unwrap_or_else(|| "-".into()),
                    f.symbol.clone(),
                    f.side.map_or("-", |s| s.as_str()).to_string(),
                    or_dash_s(&f.quantity, qty),
                    or_dash_s(&f.price, |v| price(v, &p.currency)),
                    or_dash_s(&f.fees, |v| money(v, &p.currency)),
                ]
            })
            .collect();
        out.push_str(&table(&["CHANGE", "LINE", "LOCAL TIME", "SYMBOL", "SIDE", "QTY", "PRICE", "FEES"], &rows));
        let total = c.new.saturating_add(c.corrected).saturating_add(c.cancelled);
        if total > 20 {
            let _ = writeln!(out, "... and {} more", total - 20);
        }
    }
    if !p.trades.is_empty() {
        let _ = writeln!(out, "\nTrades:");
        let rows: Vec<Vec<String>> = p
            .trades
            .iter()
            .take(20)
            .map(|t| {
                vec![
                    t.change.as_str().to_string(),
                    t.symbol.clone(),
                    t.direction.as_str().to_string(),
                    t.status.as_str().to_string(),
                    t.fills.to_string(),
                    t.opened_at.clone().unwrap_or_else(|| "-".into()),
                    t.closed_at.clone().unwrap_or_else(|| "-".into()),
                    or_dash_s(&t.net_pnl_before, |m| money(m, &p.currency)),
                    money(&t.net_pnl, &p.currency),
                ]
            })
            .collect();
        out.push_str(&table(
            &["CHANGE", "SYMBOL", "SIDE", "STATUS", "FILLS", "OPENED", "CLOSED", "NET BEFORE", "NET"],
            &rows,
        ));
        let total = c.trades_created.saturating_add(c.trades_changed).saturating_add(c.trades_removed);
        if total > 20 {
            let _ = writeln!(out, "... and {} more", total - 20);
        }
    }
    if !p.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for w in p.warnings.iter().take(20) {
            let _ = writeln!(out, "  {w}");
        }
        if p.warnings.len() > 20 {
            let _ = writeln!(out, "  ... and {} more", p.warnings.len() - 20);
        }
    }
    out
}

/// The line after a committed import.
pub fn import_done(p: &ImportPreview) -> String {
    let c = &p.counts;
    format!(
        "Imported {} new fills ({} corrected, {} cancelled, {} duplicates skipped) into {}: {} trades created, {} \
         changed. Import {}; `trenddojo import undo {}` takes it back.\n",
        c.new,
        c.corrected,
        c.cancelled,
        c.duplicate,
        p.account,
        c.trades_created,
        c.trades_changed.saturating_add(c.trades_removed),
        p.batch_id.map(|b| b.to_string()).unwrap_or_default(),
        p.batch_id.map(|b| b.to_string()).unwrap_or_default(),
    )
}

pub fn import_batches(all: &[trenddojo_core::dto::ImportBatch]) -> String {
    if all.is_empty() {
        return "No imports yet.\n".into();
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|b| {
            vec![
                b.id.to_string().chars().take(8).collect(),
                minute(&b.confirmed_at),
                b.file_name.clone(),
                b.format.clone(),
                b.new_count.to_string(),
                b.duplicate_count.to_string(),
                b.corrected_count.to_string(),
                b.rejected_count.to_string(),
                b.trades_created.to_string(),
                b.undone_at.as_deref().map_or_else(String::new, |u| format!("undone {}", minute(u))),
            ]
        })
        .collect();
    table(&["IMPORT", "CONFIRMED (UTC)", "FILE", "FORMAT", "NEW", "DUP", "CORR", "REJ", "TRADES", ""], &rows)
}

pub fn import_undo(r: &UndoResult) -> String {
    format!(
        "Undid import {} ({}): {} fills removed, {} corrections reverted, {} cancelled fills restored; {} trades \
         changed, {} removed.\n",
        r.batch.id,
        r.batch.file_name,
        r.fills_removed,
        r.corrections_reverted,
        r.fills_restored,
        r.trades_changed,
        r.trades_removed
    )
}
