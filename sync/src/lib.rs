//! TrendDojo's sync engine: the device's encrypted store and the user's rows on a PostgreSQL server,
//! reconciled in both directions under the user's own login (row-level security bounds every exchange).
//!
//! The pieces, bottom up:
//! - [`hlc`]: the clock stamps every change carries; [`merge`](mod@merge): the per-field merge both sides
//!   apply (a semilattice join, so order and repeats do not matter); [`tables`]: the catalog of synced
//!   columns; [`convert`]: one canonical value per column between SQLite, JSON and PostgreSQL; [`plan`]:
//!   the per-table SQL.
//! - [`decide`]: the engine's decisions as pure functions (what a batch holds, what a pulled row needs,
//!   what is a conflict), executed by the IO modules below.
//! - [`outbox`] (the device half of a push) and [`server_push`] (the server half); [`pull`] and
//!   [`apply`] (applying pulled rows, consistent at every commit); [`quarantine`] (rows kept aside, so
//!   no row ever stops sync); [`reset`]; [`round`] (one round); [`watch`] (background sync); [`witness`] (the device's
//!   check that the server's audit chain still holds what it saw).
//! - [`net`]: deadlines and keepalives so nothing ever hangs; [`status`]: what the user sees (status,
//!   conflict log, restore); [`error`]: what can go wrong and what each failure means for a retry.
//!
//! The protocol and the states a merge can produce are described in docs/sync.md.

pub mod apply;
pub mod convert;
mod crash;
pub mod decide;
pub mod error;
pub mod hlc;
pub mod local;
pub mod merge;
pub mod net;
pub mod outbox;
pub mod plan;
pub mod progress;
pub mod pull;
pub mod quarantine;
pub mod reset;
pub mod round;
pub mod server_push;
pub mod status;
pub mod tables;
pub mod watch;
pub mod witness;

pub use apply::Refresh;
pub use error::SyncError;
pub use hlc::Hlc;
pub use merge::{merge, Field, Merged, Overridden, RowState};
pub use net::{Limits, Server};
pub use round::Report;
pub use server_push::{push_batch, Mutation, PushOutcome, RowConflict};
