//! The core API's own types: what a shell sends and gets back.
//!
//! The CLI and the desktop app see only these (and the input structs next to each use case), never the
//! store's row structs, the domain's internals or the server crate's types: the store may change its rows
//! without changing the API, and both shells render the same values the same way.
//!
//! Rules every type here follows:
//! - money, prices, quantities, percentages and R are canonical decimal text (`String`; the TypeScript type
//!   is `string`), never a number: JSON numbers become floats in JavaScript;
//! - ids are newtypes over UUIDs (`TradeId`, ...), strings on the wire;
//! - instants are RFC 3339 UTC text, days `YYYY-MM-DD`;
//! - every type derives `Serialize`/`Deserialize` and `ts_rs::TS`, so the app's TypeScript types are
//!   generated from these definitions (`ui/src/bindings`, checked for drift by a test).
//!
//! JSON field names are those the CLI's `--json` output has always had.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uuid::Uuid;

use trenddojo_domain::money::{Money, Percent, Price, Quantity};
use trenddojo_domain::{risk, stats, trade};
use trenddojo_store as store;

/// Canonical decimal text of a value.
fn dec(d: rust_decimal::Decimal) -> String {
    trenddojo_domain::money::canonical(d)
}

fn money(m: Money) -> String {
    m.to_canonical()
}

/// RFC 3339 UTC, with as many fraction digits as the instant needs (`2026-03-02T15:00:00Z`).
fn ts(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, TS)]
        #[ts(type = "string")]
        pub struct $name(pub Uuid);

        // The id on the wire is the UUID's text, nothing around it.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Uuid::deserialize(d).map($name)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                $name(u)
            }
        }
    };
}

id_type!(
    /// A user (the trader) of the store.
    UserId
);
id_type!(
    /// A trading account.
    AccountId
);
id_type!(
    /// A trade.
    TradeId
);
id_type!(
    /// One fill of a trade.
    ExecutionId
);
id_type!(
    /// A journal note.
    NoteId
);
id_type!(
    /// A pre-trade checklist template.
    ChecklistId
);
id_type!(
    /// One item of a checklist.
    ChecklistItemId
);
id_type!(
    /// A broker connection.
    BrokerConnectionId
);
id_type!(
    /// One entry of a trade's stop history.
    StopId
);
id_type!(
    /// A profit target.
    TargetId
);

macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident from $src:path { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]

        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl From<$src> for $name {
            fn from(v: $src) -> Self {
                use $src as S;
                match v { $(S::$variant => $name::$variant),+ }
            }
        }
    };
}

str_enum!(
    /// Long (profit when the price rises) or short.
    Direction from trade::Direction { Long => "long", Short => "short" }
);
str_enum!(
    /// The side of one fill.
    Side from trade::Side { Buy => "buy", Sell => "sell" }
);
str_enum!(
    /// Where a trade is in its life (`needs_review`: a merge left it breaking a rule; see `review`).
    TradeStatus from trade::TradeStatus {
        Planned => "planned",
        Open => "open",
        PartiallyClosed => "partially_closed",
        Closed => "closed",
        Cancelled => "cancelled",
        NeedsReview => "needs_review",
    }
);
str_enum!(
    /// Why a trade needs review.
    Review from trade::Review {
        OverClosed => "over_closed",
        StopWrongSide => "stop_wrong_side",
        AccountDeleted => "account_deleted",
        Overflow => "overflow",
    }
);
str_enum!(
    /// How exits are matched against entry lots.
    MatchingMethod from trade::MatchingMethod { Fifo => "fifo", Lifo => "lifo", AverageCost => "average_cost" }
);
str_enum!(
    /// How the position-size calculator sets the risk budget.
    SizingMethod from risk::SizingMethod {
        FixedFractional => "fixed_fractional",
        FixedAmount => "fixed_amount",
        FixedQuantity => "fixed_quantity",
    }
);
str_enum!(
    /// What a broken risk rule does to a new trade.
    Enforcement from risk::Enforcement { Block => "block", Warn => "warn" }
);
str_enum!(
    /// A subscription tier.
    Tier from store::users::Tier { Free => "free", Basic => "basic", Pro => "pro" }
);

/// A user of the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct User {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub subscription_tier: Tier,
    pub created_at: String,
}

impl From<&store::users::User> for User {
    fn from(u: &store::users::User) -> Self {
        User {
            id: u.id.into(),
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            subscription_tier: u.subscription_tier.into(),
            created_at: u.created_at.clone(),
        }
    }
}

/// A trading account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct Account {
    pub id: AccountId,
    pub user_id: UserId,
    pub name: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Decimal text.
    pub starting_balance: String,
    /// IANA time zone: trading days and dates typed without an offset are in it.
    pub time_zone: String,
    pub broker: Option<String>,
    pub matching_method: MatchingMethod,
    /// Decimal text: |net P&L| at or below it is a breakeven.
    pub breakeven_tolerance: String,
    pub created_at: String,
}

impl From<&store::accounts::Account> for Account {
    fn from(a: &store::accounts::Account) -> Self {
        Account {
            id: a.id.into(),
            user_id: a.user_id.into(),
            name: a.name.clone(),
            currency: a.currency.clone(),
            starting_balance: money(a.starting_balance),
            time_zone: a.time_zone.clone(),
            broker: a.broker.clone(),
            matching_method: a.matching_method.into(),
            breakeven_tolerance: money(a.breakeven_tolerance),
            created_at: a.created_at.clone(),
        }
    }
}

/// An account's risk rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct RiskSettings {
    pub max_risk_per_trade_pct: String,
    pub max_daily_loss_pct: String,
    pub max_weekly_loss_pct: String,
    pub max_open_positions: u32,
    pub max_correlated_positions: u32,
    pub sizing_method: SizingMethod,
    pub fixed_amount: Option<String>,
    pub fixed_quantity: Option<String>,
    pub enforcement: Enforcement,
}

impl From<&risk::RiskSettings> for RiskSettings {
    fn from(r: &risk::RiskSettings) -> Self {
        let pct = |p: Percent| p.to_canonical();
        RiskSettings {
            max_risk_per_trade_pct: pct(r.max_risk_per_trade_pct),
            max_daily_loss_pct: pct(r.max_daily_loss_pct),
            max_weekly_loss_pct: pct(r.max_weekly_loss_pct),
            max_open_positions: r.max_open_positions,
            max_correlated_positions: r.max_correlated_positions,
            sizing_method: r.sizing_method.into(),
            fixed_amount: r.fixed_amount.map(money),
            fixed_quantity: r.fixed_quantity.map(|q| q.to_canonical()),
            enforcement: r.enforcement.into(),
        }
    }
}

/// An account with what the account list shows beside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]

pub struct AccountSummary {
    #[serde(flatten)]
    pub account: Account,
    /// Realized net P&L of every live trade (open trades' fees and partial exits included; see
    /// docs/metrics.md: not the statistics' net P&L, which counts closed trades).
    pub realized_pnl: String,
    /// Starting balance plus realized P&L.
    pub equity: String,
    pub open_positions: u32,
    pub risk: RiskSettings,
}

/// The position-size calculator's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct PositionSize {
    pub quantity: String,
    pub risk_amount: String,
    pub risk_budget: String,
    pub per_unit_risk: String,
    pub notional: String,
    pub risk_pct_of_balance: String,
}

impl From<&risk::PositionSize> for PositionSize {
    fn from(p: &risk::PositionSize) -> Self {
        PositionSize {
            quantity: dec(p.quantity),
            risk_amount: money(p.risk_amount),
            risk_budget: money(p.risk_budget),
            per_unit_risk: dec(p.per_unit_risk),
            notional: money(p.notional),
            risk_pct_of_balance: dec(p.risk_pct_of_balance),
        }
    }
}

/// A trade with its summary derived from its fills.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct Trade {
    pub id: TradeId,
    pub user_id: UserId,
    pub account_id: AccountId,
    pub symbol: String,
    pub direction: Direction,
    pub status: TradeStatus,
    pub multiplier: String,
    pub planned_entry: Option<String>,
    pub planned_quantity: Option<String>,
    pub initial_stop: Option<String>,
    pub current_stop: Option<String>,
    pub setup: Option<String>,
    pub correlation_group: Option<String>,
    pub entered_quantity: String,
    pub open_quantity: String,
    pub avg_entry_price: Option<String>,
    pub avg_exit_price: Option<String>,
    pub gross_pnl: String,
    pub fees: String,
    pub net_pnl: String,
    pub initial_risk: Option<String>,
    pub r_multiple: Option<String>,
    pub opened_at: Option<String>,
    pub closed_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Exit quantity that found nothing open (a merge of two devices' exits); "0" otherwise.
    pub excess_quantity: String,
    /// Why the trade needs review (empty unless `status` is `needs_review`).
    pub review: Vec<Review>,
}

impl From<&store::trades::Trade> for Trade {
    fn from(t: &store::trades::Trade) -> Self {
        let price = |p: Option<Price>| p.map(|p| p.to_canonical());
        Trade {
            id: t.id.into(),
            user_id: t.user_id.into(),
            account_id: t.account_id.into(),
            symbol: t.symbol.clone(),
            direction: t.direction.into(),
            status: t.status.into(),
            multiplier: dec(t.multiplier),
            planned_entry: price(t.planned_entry),
            planned_quantity: t.planned_quantity.map(|q: Quantity| q.to_canonical()),
            initial_stop: price(t.initial_stop),
            current_stop: price(t.current_stop),
            setup: t.setup.clone(),
            correlation_group: t.correlation_group.clone(),
            entered_quantity: dec(t.entered_quantity),
            open_quantity: dec(t.open_quantity),
            avg_entry_price: t.avg_entry_price.map(dec),
            avg_exit_price: t.avg_exit_price.map(dec),
            gross_pnl: money(t.gross_pnl),
            fees: money(t.fees),
            net_pnl: money(t.net_pnl),
            initial_risk: t.initial_risk.map(money),
            r_multiple: t.r_multiple.map(dec),
            opened_at: t.opened_at.map(ts),
            closed_at: t.closed_at.map(ts),
            cancelled_at: t.cancelled_at.map(ts),
            created_at: t.created_at.clone(),
            updated_at: t.updated_at.clone(),
            excess_quantity: dec(t.excess_quantity),
            review: t.review.iter().map(|r| (*r).into()).collect(),
        }
    }
}

/// One fill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct Execution {
    pub id: ExecutionId,
    pub trade_id: TradeId,
    pub side: Side,
    pub quantity: String,
    pub price: String,
    pub fees: String,
    pub executed_at: String,
    /// The account's time zone when the fill was recorded.
    pub time_zone: String,
    /// What this exit realized (gross, and net of its fee and its share of entry fees); none for entries.
    pub realized_gross: Option<String>,
    pub realized_net: Option<String>,
}

impl From<&store::trades::Execution> for Execution {
    fn from(e: &store::trades::Execution) -> Self {
        Execution {
            id: e.id.into(),
            trade_id: e.trade_id.into(),
            side: e.side.into(),
            quantity: e.quantity.to_canonical(),
            price: e.price.to_canonical(),
            fees: e.fees.to_canonical(),
            executed_at: ts(e.executed_at),
            time_zone: e.time_zone.clone(),
            realized_gross: e.realized_gross.map(money),
            realized_net: e.realized_net.map(money),
        }
    }
}

/// One entry of a trade's stop history; the first is the initial stop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct StopChange {
    pub id: StopId,
    pub price: String,
    pub adjusted_at: String,
    pub reason: Option<String>,
}

impl From<&store::trades::StopAdjustment> for StopChange {
    fn from(s: &store::trades::StopAdjustment) -> Self {
        StopChange {
            id: s.id.into(),
            price: s.price.to_canonical(),
            adjusted_at: ts(s.adjusted_at),
            reason: s.reason.clone(),
        }
    }
}

/// A profit target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct Target {
    pub id: TargetId,
    pub price: String,
    pub quantity: Option<String>,
    pub label: Option<String>,
}

impl From<&store::trades::Target> for Target {
    fn from(t: &store::trades::Target) -> Self {
        Target {
            id: t.id.into(),
            price: t.price.to_canonical(),
            quantity: t.quantity.map(|q| q.to_canonical()),
            label: t.label.clone(),
        }
    }
}

/// A journal note (about a trade, an account, or a day).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct Note {
    pub id: NoteId,
    pub trade_id: Option<TradeId>,
    pub account_id: Option<AccountId>,
    /// plan, review, journal or lesson.
    pub kind: String,
    pub body: String,
    pub created_at: String,
}

impl From<&store::journal::Note> for Note {
    fn from(n: &store::journal::Note) -> Self {
        Note {
            id: n.id.into(),
            trade_id: n.trade_id.map(Into::into),
            account_id: n.account_id.map(Into::into),
            kind: n.kind.clone(),
            body: n.body.clone(),
            created_at: n.created_at.clone(),
        }
    }
}

/// One item of a checklist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct ChecklistItem {
    pub id: ChecklistItemId,
    pub position: u32,
    pub prompt: String,
    /// Must be checked before a trade opens.
    pub required: bool,
}

/// A pre-trade checklist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct Checklist {
    pub id: ChecklistId,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub items: Vec<ChecklistItem>,
}

impl From<&store::journal::ChecklistTemplate> for Checklist {
    fn from(c: &store::journal::ChecklistTemplate) -> Self {
        Checklist {
            id: c.id.into(),
            name: c.name.clone(),
            description: c.description.clone(),
            active: c.active,
            items: c
                .items
                .iter()
                .map(|i| ChecklistItem {
                    id: i.id.into(),
                    position: i.position,
                    prompt: i.prompt.clone(),
                    required: i.required,
                })
                .collect(),
        }
    }
}

/// A trader's answer to one checklist item for one trade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct ChecklistAnswer {
    pub item_id: ChecklistItemId,
    pub prompt: String,
    pub required: bool,
    pub checked: bool,
    pub comment: Option<String>,
    pub answered_at: String,
}

impl From<&store::journal::ChecklistResponse> for ChecklistAnswer {
    fn from(r: &store::journal::ChecklistResponse) -> Self {
        ChecklistAnswer {
            item_id: r.item_id.into(),
            prompt: r.prompt.clone(),
            required: r.required,
            checked: r.checked,
            comment: r.comment.clone(),
            answered_at: r.answered_at.clone(),
        }
    }
}

/// A broker connection (its secret is sealed on this device and never comes back).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct BrokerConnection {
    pub id: BrokerConnectionId,
    pub account_id: Option<AccountId>,
    pub broker: String,
    pub label: String,
    /// What the user chose to show of the key (e.g. its last four characters).
    pub api_key_hint: Option<String>,
    pub status: String,
    pub created_at: String,
}

impl From<&store::brokers::BrokerConnection> for BrokerConnection {
    fn from(b: &store::brokers::BrokerConnection) -> Self {
        BrokerConnection {
            id: b.id.into(),
            account_id: b.account_id.map(Into::into),
            broker: b.broker.clone(),
            label: b.label.clone(),
            api_key_hint: b.api_key_hint.clone(),
            status: b.status.clone(),
            created_at: b.created_at.clone(),
        }
    }
}

/// Net P&L of one calendar day (account time zone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct DayPnl {
    pub date: String,
    pub net_pnl: String,
    pub trades: u32,
}

impl From<&stats::DayPnl> for DayPnl {
    fn from(d: &stats::DayPnl) -> Self {
        DayPnl { date: d.date.to_string(), net_pnl: money(d.net_pnl), trades: d.trades }
    }
}

/// The statistics of an account's closed trades (definitions in docs/metrics.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct Stats {
    pub trades: u32,
    pub wins: u32,
    pub losses: u32,
    pub breakevens: u32,
    pub win_rate: Option<String>,
    pub net_pnl: String,
    pub gross_profit: String,
    pub gross_loss: String,
    pub total_fees: String,
    pub avg_win: Option<String>,
    pub avg_loss: Option<String>,
    pub largest_win: Option<String>,
    pub largest_loss: Option<String>,
    /// A ratio (decimal text), or `no_losses` / `no_trades`.
    pub profit_factor: String,
    pub expectancy: Option<String>,
    pub expectancy_r: Option<String>,
    pub r_trades: u32,
    pub total_r: String,
    pub max_drawdown: String,
    /// None when the fall started from a peak at or below zero.
    pub max_drawdown_pct: Option<String>,
    pub peak_equity: String,
    pub ending_equity: String,
    pub longest_win_streak: u32,
    pub longest_loss_streak: u32,
    /// Positive: wins in a row; negative: losses.
    pub current_streak: i32,
    pub pnl_by_day: Vec<DayPnl>,
    pub best_day: Option<DayPnl>,
    pub worst_day: Option<DayPnl>,
}

impl From<&stats::Stats> for Stats {
    fn from(s: &stats::Stats) -> Self {
        let pf = match s.profit_factor {
            stats::ProfitFactor::Ratio(r) => dec(r),
            stats::ProfitFactor::NoLosses => "no_losses".into(),
            stats::ProfitFactor::NoTrades => "no_trades".into(),
        };
        Stats {
            trades: s.trades,
            wins: s.wins,
            losses: s.losses,
            breakevens: s.breakevens,
            win_rate: s.win_rate.map(dec),
            net_pnl: money(s.net_pnl),
            gross_profit: money(s.gross_profit),
            gross_loss: money(s.gross_loss),
            total_fees: money(s.total_fees),
            avg_win: s.avg_win.map(money),
            avg_loss: s.avg_loss.map(money),
            largest_win: s.largest_win.map(money),
            largest_loss: s.largest_loss.map(money),
            profit_factor: pf,
            expectancy: s.expectancy.map(money),
            expectancy_r: s.expectancy_r.map(dec),
            r_trades: s.r_trades,
            total_r: dec(s.total_r),
            max_drawdown: money(s.max_drawdown),
            max_drawdown_pct: s.max_drawdown_pct.map(dec),
            peak_equity: money(s.peak_equity),
            ending_equity: money(s.ending_equity),
            longest_win_streak: s.longest_win_streak,
            longest_loss_streak: s.longest_loss_streak,
            current_streak: i32::try_from(s.current_streak).unwrap_or(if s.current_streak < 0 {
                i32::MIN
            } else {
                i32::MAX
            }),
            pnl_by_day: s.pnl_by_day.iter().map(Into::into).collect(),
            best_day: s.best_day.as_ref().map(Into::into),
            worst_day: s.worst_day.as_ref().map(Into::into),
        }
    }
}

/// What one sync round did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct SyncReport {
    /// The server user the round ran as.
    pub user: UserId,
    pub pushed: u32,
    pub duplicates: u32,
    pub pulled: u32,
    /// Values replaced by a merge that were real conflicts (logged).
    pub conflicts: u32,
    /// The user's rows kept aside after the round (see the review list).
    pub kept_aside: u32,
    #[ts(type = "number")]
    pub acknowledged: i64,
    #[ts(type = "number")]
    pub cursor: i64,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<&trenddojo_sync::Report> for SyncReport {
    fn from(r: &trenddojo_sync::Report) -> Self {
        SyncReport {
            user: r.user.into(),
            pushed: count(r.pushed),
            duplicates: count(r.duplicates),
            pulled: count(r.pulled),
            conflicts: count(r.conflicts),
            kept_aside: count(r.kept_aside),
            acknowledged: r.acknowledged,
            cursor: r.cursor,
        }
    }
}

str_enum!(
    /// Why a background sync round ran.
    SyncTrigger from trenddojo_sync::watch::Trigger {
        Start => "start",
        LocalChange => "local_change",
        Notification => "notification",
        Timer => "timer",
        Retry => "retry",
        Reconnect => "reconnect",
    }
);

/// What background sync reports as it runs (the CLI prints a line per event, the app updates its status).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SyncEvent {
    /// A round finished.
    Round {
        trigger: SyncTrigger,
        report: SyncReport,
        #[ts(type = "number")]
        ms: u64,
    },
    /// A round failed; the next try is in `retry_in_ms`.
    Failed {
        trigger: SyncTrigger,
        error: crate::ApiError,
        failures: u32,
        #[ts(type = "number")]
        retry_in_ms: u64,
    },
    /// Changes from other devices arrive at once (`on`), or are polled for, with the reason.
    Listening { on: bool, reason: Option<String> },
}

impl From<trenddojo_sync::watch::WatchEvent<'_>> for SyncEvent {
    fn from(e: trenddojo_sync::watch::WatchEvent<'_>) -> Self {
        use trenddojo_sync::watch::WatchEvent as W;
        let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        match e {
            W::Round { trigger, report, took } => {
                SyncEvent::Round { trigger: trigger.into(), report: report.into(), ms: ms(took) }
            }
            W::Failed { trigger, error, failures, retry_in } => SyncEvent::Failed {
                trigger: trigger.into(),
                error: crate::error::of_sync_error(error),
                failures,
                retry_in_ms: ms(retry_in),
            },
            W::Listening { on, reason } => SyncEvent::Listening { on, reason },
        }
    }
}

/// A long job that reports progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ProgressTask {
    /// Local changes going up to the server (rows).
    SyncUpload,
    /// Other devices' changes coming down and being applied (rows; the total is not known ahead).
    SyncDownload,
    /// A broker file being read (bytes).
    ImportRead,
}

/// How far a long job has come: `done` of `total` (when known) units of its task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Progress {
    pub task: ProgressTask,
    #[ts(type = "number")]
    pub done: u64,
    #[ts(type = "number | null")]
    pub total: Option<u64>,
}

impl From<trenddojo_sync::progress::Step> for Progress {
    fn from(s: trenddojo_sync::progress::Step) -> Self {
        use trenddojo_sync::progress::Step;
        match s {
            Step::Upload { done, total } => Progress { task: ProgressTask::SyncUpload, done, total: Some(total) },
            Step::Download { done, finished } => {
                Progress { task: ProgressTask::SyncDownload, done, total: finished.then_some(done) }
            }
        }
    }
}

/// The device's sync bookkeeping for the active user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct SyncStatus {
    pub device: String,
    /// Where this device syncs (`role@host:port/db`, never a password), if set up.
    pub server: Option<String>,
    /// Local changes not yet acknowledged by the server.
    #[ts(type = "number")]
    pub pending: i64,
    #[ts(type = "number")]
    pub acknowledged: i64,
    #[ts(type = "number")]
    pub cursor: i64,
    /// Logged conflicts not restored.
    #[ts(type = "number")]
    pub conflicts: i64,
    /// Rows kept aside.
    #[ts(type = "number")]
    pub kept_aside: i64,
    /// Trades whose summaries wait for an interrupted download to finish.
    #[ts(type = "number")]
    pub awaiting_download: i64,
    /// Trades a merge left needing review.
    pub needs_review: u32,
    pub last_success: Option<String>,
    pub last_error_at: Option<String>,
    pub last_error: Option<String>,
    /// A round succeeded after the last error.
    pub last_error_resolved: bool,
    /// What this device found wrong with the server's audit chain (it no longer holds a head the device
    /// saw: rewritten), with when; sync refuses to run while it stands.
    pub audit_rewritten: Option<String>,
    /// The newest audit chain head this device saw on the server (`position:hash`).
    pub audit_head: Option<String>,
}

/// One entry of the conflict log: a value a merge replaced on this device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct ConflictEntry {
    #[ts(type = "number")]
    pub seq: i64,
    pub seen_at: String,
    pub table: String,
    pub row_id: String,
    pub field: String,
    /// The values as JSON text.
    pub kept_value: String,
    pub kept_hlc: String,
    pub lost_value: String,
    pub lost_hlc: String,
    /// The values in words where the stored value is an id (a target list: its prices).
    pub kept_shown: Option<String>,
    pub lost_shown: Option<String>,
    pub restored_at: Option<String>,
}

impl From<&trenddojo_sync::status::ConflictEntry> for ConflictEntry {
    fn from(c: &trenddojo_sync::status::ConflictEntry) -> Self {
        ConflictEntry {
            seq: c.seq,
            seen_at: c.seen_at.clone(),
            table: c.table.clone(),
            row_id: c.row_id.clone(),
            field: c.field.clone(),
            kept_value: c.kept_value.clone(),
            kept_hlc: c.kept_hlc.clone(),
            lost_value: c.lost_value.clone(),
            lost_hlc: c.lost_hlc.clone(),
            kept_shown: c.kept_shown.clone(),
            lost_shown: c.lost_shown.clone(),
            restored_at: c.restored_at.clone(),
        }
    }
}

str_enum!(
    /// Which way a kept-aside row was travelling.
    KeptAsideDirection from trenddojo_sync::quarantine::Direction { Push => "push", Pull => "pull" }
);

/// A row kept aside by sync (never dropped), with why and what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]

pub struct KeptAside {
    pub table: String,
    pub row_id: String,
    pub direction: KeptAsideDirection,
    /// A SQLSTATE for a row the server refused (`TD001`: a tier limit), `constraint`, or `recompute`.
    pub code: String,
    pub reason: String,
    pub first_seen: String,
    pub last_tried: String,
    #[ts(type = "number")]
    pub attempts: i64,
    pub advice: String,
}

impl From<&trenddojo_sync::quarantine::KeptAside> for KeptAside {
    fn from(k: &trenddojo_sync::quarantine::KeptAside) -> Self {
        KeptAside {
            table: k.table.clone(),
            row_id: k.row_id.clone(),
            direction: k.direction.into(),
            code: k.code.clone(),
            reason: k.reason.clone(),
            first_seen: k.first_seen.clone(),
            last_tried: k.last_tried.clone(),
            attempts: k.attempts,
            advice: k.advice.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Broker imports
// ---------------------------------------------------------------------------------------------------------

id_type!(
    /// One import of a broker file (undone as a whole).
    ImportBatchId
);

str_enum!(
    /// Every export layout the importer reads (see docs/imports.md).
    ImportFormat from trenddojo_import::FormatId {
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

/// One import as recorded: the file, what it did, who confirmed it and whether it was undone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportBatch {
    pub id: ImportBatchId,
    pub account_id: AccountId,
    pub file_name: String,
    pub file_sha256: String,
    /// The format's id (`ibkr_flex_csv`, ...); text, so a batch written by a newer version still lists.
    pub format: String,
    pub parser_version: u32,
    pub statement_tz: String,
    #[ts(type = "number")]
    pub new_count: u64,
    #[ts(type = "number")]
    pub duplicate_count: u64,
    #[ts(type = "number")]
    pub corrected_count: u64,
    #[ts(type = "number")]
    pub cancelled_count: u64,
    #[ts(type = "number")]
    pub rejected_count: u64,
    #[ts(type = "number")]
    pub skipped_count: u64,
    #[ts(type = "number")]
    pub trades_created: u64,
    #[ts(type = "number")]
    pub trades_changed: u64,
    pub confirmed_by: String,
    pub confirmed_at: String,
    pub undone_by: Option<String>,
    pub undone_at: Option<String>,
}

impl From<&store::imports::ImportBatch> for ImportBatch {
    fn from(b: &store::imports::ImportBatch) -> Self {
        ImportBatch {
            id: b.id.into(),
            account_id: b.account_id.into(),
            file_name: b.file_name.clone(),
            file_sha256: b.file_sha256.clone(),
            format: b.format.clone(),
            parser_version: b.parser_version,
            statement_tz: b.statement_tz.clone(),
            new_count: b.new_count,
            duplicate_count: b.duplicate_count,
            corrected_count: b.corrected_count,
            cancelled_count: b.cancelled_count,
            rejected_count: b.rejected_count,
            skipped_count: b.skipped_count,
            trades_created: b.trades_created,
            trades_changed: b.trades_changed,
            confirmed_by: b.confirmed_by.clone(),
            confirmed_at: ts(b.confirmed_at),
            undone_by: b.undone_by.clone(),
            undone_at: b.undone_at.map(ts),
        }
    }
}

/// Where an imported fill came from: the broker's own ids, the instrument, each fee as the file split it,
/// and the time as the file wrote it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FillSource {
    pub import_batch_id: ImportBatchId,
    pub broker: String,
    pub broker_account: String,
    pub broker_exec_id: Option<String>,
    pub order_id: Option<String>,
    pub asset_class: String,
    pub instrument_key: String,
    pub underlying: Option<String>,
    /// `YYYY-MM-DD`.
    pub expiry: Option<String>,
    pub strike: Option<String>,
    /// `C` or `P`.
    pub option_right: Option<String>,
    pub future_root: Option<String>,
    /// `YYYY-MM`.
    pub contract_month: Option<String>,
    pub multiplier: String,
    pub currency: String,
    pub commission: Option<String>,
    pub exchange_fee: Option<String>,
    pub regulatory_fee: Option<String>,
    pub other_fee: Option<String>,
    /// The time as the file wrote it, and the zone it was read in.
    pub raw_time: String,
    pub statement_tz: String,
    #[ts(type = "number")]
    pub source_line: u64,
}

impl From<&store::imports::Provenance> for FillSource {
    fn from(p: &store::imports::Provenance) -> Self {
        FillSource {
            import_batch_id: p.import_batch_id.into(),
            broker: p.broker.to_string(),
            broker_account: p.broker_account.to_string(),
            broker_exec_id: p.broker_exec_id.clone(),
            order_id: p.order_id.clone(),
            asset_class: p.asset_class.to_string(),
            instrument_key: p.instrument_key.to_string(),
            underlying: p.underlying.as_deref().map(str::to_string),
            expiry: p.expiry.as_deref().map(str::to_string),
            strike: p.strike.map(dec),
            option_right: p.option_right.as_deref().map(str::to_string),
            future_root: p.future_root.as_deref().map(str::to_string),
            contract_month: p.contract_month.as_deref().map(str::to_string),
            multiplier: dec(p.multiplier),
            currency: p.currency.to_string(),
            commission: p.commission.map(dec),
            exchange_fee: p.exchange_fee.map(dec),
            regulatory_fee: p.regulatory_fee.map(dec),
            other_fee: p.other_fee.map(dec),
            raw_time: p.raw_time.clone(),
            statement_tz: p.statement_tz.to_string(),
            source_line: p.source_line,
        }
    }
}

/// A row of a broker file that was not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RejectedRow {
    #[ts(type = "number")]
    pub line: u64,
    pub reason: String,
    /// The row's text, cut to 200 characters.
    pub raw: String,
}

impl From<&trenddojo_import::Rejected> for RejectedRow {
    fn from(r: &trenddojo_import::Rejected) -> Self {
        RejectedRow { line: r.line, reason: r.reason.clone(), raw: r.raw.clone() }
    }
}

/// What an import does to one fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FillChange {
    New,
    Corrected,
    Cancelled,
}

impl FillChange {
    pub fn as_str(self) -> &'static str {
        match self {
            FillChange::New => "new",
            FillChange::Corrected => "corrected",
            FillChange::Cancelled => "cancelled",
        }
    }
}

/// What an import does to one trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TradeChange {
    Created,
    Changed,
    Removed,
}

impl TradeChange {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeChange::Created => "created",
            TradeChange::Changed => "changed",
            TradeChange::Removed => "removed",
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// App: what the desktop app's screens get back (use cases in service/dashboard.rs and service/desktop.rs)
// ---------------------------------------------------------------------------------------------------------

/// Where the app stands at launch, before anything is unlocked: is there a store in the data folder, and
/// how does it unlock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LaunchState {
    /// The data folder.
    pub home: String,
    /// A store exists there (else the app offers to create one or restore a backup).
    pub exists: bool,
    /// `keyring` or `passphrase` (what unlocking needs), when a store exists.
    pub method: Option<String>,
    /// An OS keyring is reachable (else a new store is protected by a passphrase).
    pub keyring_available: bool,
}

/// One point of the equity curve: the equity after a closed trade (the first point is the starting equity).
/// Past 2,000 closed trades, one point per day: the equity after the day's last close (docs/metrics.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct EquityPoint {
    /// When the trade closed (RFC 3339 UTC); the first point has the range's start, or none.
    pub time: Option<String>,
    /// The day in the account's time zone (`YYYY-MM-DD`), when there is a time.
    pub day: Option<String>,
    /// Exact equity (decimal text): what tooltips and labels show.
    pub equity: String,
    /// The equity rounded half to even to the currency's minor unit, as an integer of minor units (cents),
    /// for the chart's y coordinate only: charts plot numbers, and an integer of cents is exact where a
    /// float of dollars is not. Saturates at ±(2^53 − 1), beyond which a chart cannot place it anyway.
    #[ts(type = "number")]
    pub plot: i64,
    /// The trade whose close this point is (none for the first point and for a day's point).
    pub trade_id: Option<TradeId>,
    /// That trade's net P&L, or the day's summed net P&L for a day's point.
    pub net_pnl: Option<String>,
}

/// An open position and what it risks at its current stop (docs/metrics.md, *Open risk*).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct OpenPosition {
    pub trade: Trade,
    /// None when the trade has no stop (the loss is not bounded).
    pub open_risk: Option<String>,
    /// The open risk as a percentage of the account's equity (2 places), when both exist.
    pub open_risk_pct: Option<String>,
}

/// What the account's risk rules say about a trade before it is saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RiskCheck {
    /// Each rule the trade breaks, with the numbers (`max_risk_per_trade: risk 432.00 is 1.73% of ...`).
    pub violations: Vec<String>,
    /// The rules are enforced (`block`): saving will be refused while there are violations.
    pub blocks: bool,
    pub enforcement: Enforcement,
    /// What the trade risks at its stop (none without a stop).
    pub risk_amount: Option<String>,
    /// That as a percentage of the account's equity.
    pub risk_pct: Option<String>,
}

/// The notes of one day (the journal's day view), newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DayNotes {
    /// `YYYY-MM-DD`, in the note's account's time zone (UTC for notes without an account).
    pub day: String,
    pub notes: Vec<Note>,
}

/// Where background sync stands, as the app's status bar shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// No server login on this device.
    Off,
    /// A round is due or running (local changes wait to be pushed).
    Syncing,
    UpToDate,
    /// The server cannot be reached; rounds are retried with backoff.
    Offline,
    /// A round failed for another reason (see the message), or the loop stopped on an error no retry fixes.
    Error,
}

/// One report of background sync to the app (an event after each round, failure or change of the
/// notification connection).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SyncActivity {
    pub state: SyncState,
    /// The error in words (offline or error).
    pub message: Option<String>,
    /// Changes pulled from other devices by this round (the screens reload when it is not zero).
    pub pulled: u32,
    pub pushed: u32,
    /// Notifications from the server are on (a change on another device arrives at once) or off (polling).
    pub listening: Option<bool>,
    /// The device's sync bookkeeping after the event (pending count, last success, ...).
    pub status: Option<SyncStatus>,
    /// What the user can do about a failure (e.g. sign in again), offered by the app as a button.
    pub action: Option<crate::Action>,
}

/// One day of the dashboard's calendar heat map (account time zone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CalendarDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub net_pnl: String,
    pub trades: u32,
    /// The colour step: −4 (the worst loss of the range) to 4 (the best win), 0 for a flat day; computed in
    /// exact decimals as `ceil(4 × |net| / largest |net| of the range)` with the sign of the day.
    pub level: i8,
}

/// What a check of the app's update feed found. The shells fetch and verify updates (the desktop app through
/// Tauri's updater); the core only names the outcomes so both sides share one type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum UpdateCheck {
    /// The feed offers this version or none.
    UpToDate { current: String },
    /// A newer version is offered (its package is verified when it is downloaded).
    Available { current: String, version: String, notes: Option<String>, date: Option<String> },
    /// The feed offers a version that is not newer than the running one: never installed.
    Refused { current: String, offered: String, reason: String },
}

/// An installed update: the version and the journal backup taken just before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UpdateInstalled {
    pub version: String,
    /// The journal's backup (none when this computer has no journal yet).
    pub backup: Option<String>,
    /// The new version runs after the app is restarted.
    pub restart_required: bool,
}
