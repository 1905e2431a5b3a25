//! One sync round: check the server, push, pull, and (when the pull recomputed derived data or anything
//! moved) push again; then record the outcome for `sync status`.

use tokio_postgres::Client;
use trenddojo_store::Store;
use uuid::Uuid;

use crate::apply::Refresh;
use crate::local::{set_state, state_key};
use crate::net::{within, Limits, Server};
use crate::{outbox, pull, quarantine, SyncError};

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// The server user the round ran as.
    pub user: Uuid,
    pub pushed: usize,
    pub duplicates: usize,
    pub pulled: usize,
    /// Values replaced by a merge that were real conflicts (logged; see `sync conflicts`).
    pub conflicts: usize,
    /// The user's rows kept aside after this round (refused by the server or by the store, never dropped;
    /// see the review list): a state, not a count of attempts.
    pub kept_aside: usize,
    pub acknowledged: i64,
    pub cursor: i64,
}

/// The oldest server schema this engine can sync with: V14 has the columns of imported fills and the
/// import batches this engine pushes (V8 and later answer `schema_version()`, so an older one is named).
pub const MIN_SERVER_SCHEMA: u32 = 14;

/// 42883: `schema_version()` does not exist yet (a server from before V8).
fn before_v8(e: &tokio_postgres::Error) -> bool {
    e.code().map(|c| c.code()) == Some("42883")
}

/// The server's schema version (as `schema_version()` returns it), if this engine can sync with it.
fn schema_usable(found: i32) -> Result<u32, SyncError> {
    let found = u32::try_from(found).unwrap_or(0);
    let known = trenddojo_server::migrations::latest_version();
    if found > known {
        return Err(SyncError::NewerServer { found, known });
    }
    if found < MIN_SERVER_SCHEMA {
        return Err(SyncError::OlderServer { found, needed: MIN_SERVER_SCHEMA });
    }
    Ok(found)
}

/// Check the server's schema version before any exchange.
pub async fn check_server_schema(client: &Client, limits: &Limits) -> Result<u32, SyncError> {
    let answer =
        tokio::time::timeout(limits.exchange, client.query_typed_one("SELECT trenddojo.schema_version()", &[]))
            .await
            .map_err(|_| SyncError::Stalled { what: "the schema check", after: limits.exchange })?;
    match answer {
        Ok(row) => schema_usable(row.get(0)),
        Err(e) if before_v8(&e) => schema_usable(0),
        Err(e) => Err(e.into()),
    }
}

/// The TrendDojo user the connection is signed in as.
pub async fn server_user(client: &Client, limits: &Limits) -> Result<Uuid, SyncError> {
    within(limits.exchange, "the sign-in", client.query_typed_one("SELECT trenddojo.app_uid()", &[]))
        .await?
        .get::<_, Option<Uuid>>(0)
        .ok_or_else(not_a_user)
}

fn not_a_user() -> SyncError {
    SyncError::LoginRefused("this login is not a TrendDojo user".into())
}

/// [`check_server_schema`] and [`server_user`] in one exchange, as every round starts: across a network
/// each exchange is a round trip, and one change reaching another device is a chain of them.
pub(crate) async fn handshake(server: &Server) -> Result<Uuid, SyncError> {
    Ok(handshake_version(server).await?.0)
}

/// [`handshake`] with the server's schema version.
pub(crate) async fn handshake_version(server: &Server) -> Result<(Uuid, u32), SyncError> {
    let answer = tokio::time::timeout(
        server.limits.exchange,
        server.client.query_typed_one("SELECT trenddojo.schema_version(), trenddojo.app_uid()", &[]),
    )
    .await
    .map_err(|_| SyncError::Stalled { what: "the sign-in", after: server.limits.exchange })?;
    match answer {
        Ok(row) => {
            let version = schema_usable(row.get(0))?;
            Ok((row.get::<_, Option<Uuid>>(1).ok_or_else(not_a_user)?, version))
        }
        Err(e) if before_v8(&e) => Err(SyncError::OlderServer { found: 0, needed: MIN_SERVER_SCHEMA }),
        Err(e) => Err(e.into()),
    }
}

/// One sync round for the store's user that the server connection is signed in as: push, then pull,
/// then push what the pull recomputed and what was kept aside before (when the round moved anything, the
/// obstacle may be gone).
pub async fn sync_once(store: &Store, server: &mut Server, refresh: &Refresh<'_>) -> Result<Report, SyncError> {
    let (user, schema) = handshake_version(server).await?;
    // Before anything moves: the server's audit chain still holds what this device saw (crate::witness).
    crate::witness::check_and_record(store, server, user, schema).await?;
    // A store that does not have the user yet (a new device) gets it, with its data, from the pull.
    let mut report = Report { user, ..Report::default() };
    outbox::push(store, server, user, &mut report).await?;
    let published = pull::pull(store, server, user, refresh, &mut report).await?;
    let moved = report.pushed > 0 || report.pulled > 0;
    let requeued = if moved { store.write(|tx| quarantine::requeue_pushed(tx, user))? } else { 0 };
    if published || requeued > 0 {
        outbox::push(store, server, user, &mut report).await?;
    }
    report.kept_aside = usize::try_from(store.read(|c| quarantine::count(c, user))?).unwrap_or(usize::MAX);
    Ok(report)
}

/// Record a round's outcome for `sync status`: the time of the last success, or the time and message of
/// the last error (kept after a later success, so the status can say what went wrong last, when, and that
/// a later round succeeded).
pub fn record_outcome(store: &Store, user: Uuid, outcome: Result<&Report, &SyncError>) -> Result<(), SyncError> {
    store.write(|tx| {
        match outcome {
            Ok(_) => set_state(tx, &state_key(user, "last_success"), &tx.now)?,
            Err(e) => {
                set_state(tx, &state_key(user, "last_error_at"), &tx.now)?;
                set_state(tx, &state_key(user, "last_error"), &e.to_string())?;
            }
        }
        Ok::<_, SyncError>(())
    })
}

/// A text entry of the device's sync bookkeeping for `user` (`last_success`, `last_error`, ...).
pub fn state_text(store: &Store, user: Uuid, what: &str) -> Result<Option<String>, SyncError> {
    store.read(|c| crate::local::get_state(c, &state_key(user, what)))
}

/// Connect and run one round (the unit background sync repeats).
pub async fn connect_and_sync(
    store: &Store,
    target: &trenddojo_server::envs::Target,
    limits: Limits,
    refresh: &Refresh<'_>,
    progress: Option<crate::progress::OnProgress>,
) -> Result<Report, SyncError> {
    let mut server = Server::connect(target, limits).await?.with_progress(progress);
    sync_once(store, &mut server, refresh).await
}
