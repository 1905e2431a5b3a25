//! Every integration test of the workspace, in one test binary (one link instead of one per file, which
//! is most of a cold CI build's link time and disk). Each module is one area; they drive the real
//! `trenddojo` binary, real encrypted stores and a real PostgreSQL cluster each test starts for itself.
//!
//! Run one area with a filter: `cargo test -p trenddojo-cli --test integration sync_stall::`.

mod common;
#[path = "common/devices.rs"]
mod devices;
#[path = "common/pg.rs"]
mod pg;

mod api_async;
mod audit_backup;
mod bad_input;
mod cli_lifecycle;
mod encryption;
mod imports;
mod migrations;
mod money_roundtrip;
mod recovery;
mod seeds;
mod server_audit_format;
mod server_migrations;
mod server_security;
mod server_tls;
mod server_versions;
mod sync_audit_witness;
mod sync_catalog;
mod sync_convergence;
mod sync_crash;
mod sync_devices;
mod sync_imports;
mod sync_merge_states;
mod sync_network;
mod sync_pooler;
mod sync_push;
mod sync_recovery;
mod sync_stall;
mod sync_watch;
