//! TrendDojo's domain: exact money, the trade lifecycle, risk rules and statistics.
//!
//! This crate is pure: no files, no database, no clock. Everything that touches money is a
//! `rust_decimal::Decimal` inside a type that says what it may hold ([`money`]), because a trading
//! journal that rounds through floats shows wrong P&L and cannot be trusted. The store, the core API and
//! the shells build on these types; the definitions of every statistic are in `docs/metrics.md`.

mod error;
pub mod exposure;
pub mod money;
pub mod risk;
pub mod stats;
pub mod trade;

pub use error::DomainError;
pub use money::{Fee, Money, Percent, Price, Quantity};
pub use risk::{Enforcement, PositionSize, RiskSettings, SizingMethod};
pub use stats::{ClosedTrade, Stats, StatsOptions};
pub use trade::{
    derive, summarize, Derived, Direction, ExitRealization, Fill, MatchingMethod, PositionSummary, Review, Side,
    TradeFacts, TradeStatus,
};
