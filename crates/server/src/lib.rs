//! TrendDojo's server side: the PostgreSQL/Supabase schema and the tooling that operates it.
//!
//! The schema itself lives in `migrations/server` (plain SQL, reviewed like code). This crate applies and
//! rolls it back ([`migrations`]), provisions users and verifies the audit hash chain ([`admin`]), resolves
//! environment profiles and their secrets ([`envs`]), and runs the local development cluster
//! ([`cluster`]). It is async (tokio-postgres); the core API wraps it in a runtime for the blocking shells.
//! Nothing here knows about the local store, the CLI or Tauri.

pub mod admin;
pub mod checks;
pub mod cluster;
pub mod db;
pub mod envs;
mod error;
pub mod migrations;

pub use error::{Result, ServerError};
