//! Fault injection for the crash tests, compiled only into test builds (the `crash-points` feature, which
//! the test suite enables through the CLI's dev-dependencies; a release build has none of this).
//!
//! When `TRENDDOJO_SYNC_CRASH_AT` names a point, the process aborts on the spot there: no destructors, no
//! rollback by us, as close to `kill -9` as a process can do to itself.

/// Abort here if the crash tests asked for it.
#[cfg(feature = "crash-points")]
pub(crate) fn crash_point(name: &str) {
    if std::env::var("TRENDDOJO_SYNC_CRASH_AT").is_ok_and(|v| v == name) {
        eprintln!("sync: simulated crash at {name}");
        std::process::abort();
    }
}

/// Without the `crash-points` feature there is nothing to do.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub(crate) fn crash_point(_name: &str) {}
