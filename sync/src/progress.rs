//! How far a round's long parts have come, for a shell to show (a bar in the CLI, a status line in the
//! app). A first download of years of trades, or an upload after months offline, runs for a while; a
//! user who sees nothing move assumes it hung.
//!
//! The engine reports through a callback on the [`crate::Server`] connection, so no signature on the way
//! changes and a caller that does not listen pays nothing. Counts are rows: an upload knows its total (the
//! rows waiting in the outbox when it starts), a download does not (the server says which tables changed,
//! not how many rows), so it reports what arrived so far.

use std::sync::Arc;

/// One report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Rows sent to the server so far, of the rows waiting when the upload started.
    Upload { done: u64, total: u64 },
    /// Rows received and applied so far; `finished` on the last report of a download.
    Download { done: u64, finished: bool },
}

/// The callback (shared: background sync keeps it across rounds).
pub type OnProgress = Arc<dyn Fn(Step) + Send + Sync>;
