//! TrendDojo's core API: one method per use case, shared by every shell.
//!
//! The CLI and the desktop app are thin: they turn flags or IPC calls into the input structs here (plain
//! strings, exactly what a user typed, so money never passes through a float) and print or render what
//! comes back. Everything in between, validation, risk rules, tier limits, recomputing a trade from its
//! executions, happens here, inside one store transaction per use case, so a failure leaves no partial
//! write. Errors are [`ApiError`]s with stable codes.

mod error;
pub mod format;
pub mod parse;
pub mod seed;
mod service;

pub use error::{ApiError, ApiResult, ErrorCode};
pub use service::*;
pub use trenddojo_store::{KeySource, Passphrase};

/// Store types that appear in API results (so shells need no direct store dependency).
pub mod store_types {
    pub use trenddojo_store::accounts::Account;
    pub use trenddojo_store::brokers::BrokerConnection;
    pub use trenddojo_store::imports::ImportBatch;
    pub use trenddojo_store::journal::{ChecklistItem, ChecklistResponse, ChecklistTemplate, Note};
    pub use trenddojo_store::trades::{Execution, StopAdjustment, Target, Trade};
    pub use trenddojo_store::users::{Tier, User};
    pub use trenddojo_store::DbStatus;
}

/// Domain types that appear in API results.
pub mod domain_types {
    pub use trenddojo_domain::money::{Fee, Money, Percent, Price, Quantity};
    pub use trenddojo_domain::risk::{PositionSize, RiskSettings};
    pub use trenddojo_domain::stats::{DayPnl, ProfitFactor, Stats};
    pub use trenddojo_domain::trade::{Direction, MatchingMethod, Side, TradeStatus};
}

/// Server types that appear in API results.
pub mod sync_types {
    pub use trenddojo_server::envs::Target as SyncTarget;
    pub use trenddojo_sync::quarantine::KeptAside;
    pub use trenddojo_sync::round::Report;
    pub use trenddojo_sync::status::{ConflictEntry, SyncState};
    pub use trenddojo_sync::watch::{Trigger, WatchEvent, WatchOptions};
    pub use trenddojo_sync::Limits;
}

pub mod server_types {
    pub use trenddojo_server::admin::{AuditReport, Provisioned, STANDARD_PASSWORD, STANDARD_USERS};
    pub use trenddojo_server::envs::{Environments, Profile};
    pub use trenddojo_server::migrations::{Applied, Pending};
}
