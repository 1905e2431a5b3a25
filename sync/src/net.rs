//! Talking to the server without ever hanging: a deadline on every exchange, keepalives on every
//! connection, and server-side limits on what a vanished client can hold.
//!
//! A network that stops forwarding but keeps the socket open (a stalled proxy, a laptop lid, a NAT that
//! forgot the flow) gives no error at all: a read just never completes. So every exchange with the server
//! (connecting, each statement, each commit) runs under [`Limits::exchange`]; one that gets no answer in
//! time fails the round with [`SyncError::Stalled`], and background sync retries with backoff. TCP
//! keepalives are on so a connection to a peer that vanished (not merely stalled) errors out on its own.
//!
//! On the server, a session whose client vanished in the middle of a transaction would keep the device's
//! row lock until the server's own TCP keepalive gives up (about two hours by default), and every later
//! sync of that device would wait on it. Each transaction therefore sets, with `SET LOCAL` semantics (it
//! ends with the transaction, so it is safe behind a transaction pooler):
//! - `idle_in_transaction_session_timeout` ([`Limits::server_idle`]): the server ends a session that
//!   sits idle inside a transaction longer than that, releasing its locks;
//! - `lock_timeout` on the device lock: a second sync of the same device fails fast with "another sync of
//!   this device is still running" instead of queueing behind a dead one ([`SyncError::DeviceBusy`]).

use std::future::Future;
use std::time::Duration;

use tokio_postgres::Client;
use trenddojo_server::envs::Target;

use crate::SyncError;

/// How long the engine waits on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// One exchange: a connection (with TLS and authentication), a statement, a commit.
    pub exchange: Duration,
    /// How long the server lets a session of ours sit idle inside a transaction before it ends it.
    pub server_idle: Duration,
    /// How long a push waits for the device's lock on the server.
    pub device_lock: Duration,
}

impl Limits {
    /// The defaults: 30 s per exchange, 45 s server-side idle limit, 5 s for the device lock.
    pub const DEFAULT: Limits = Limits {
        exchange: Duration::from_secs(30),
        server_idle: Duration::from_secs(45),
        device_lock: Duration::from_secs(5),
    };

    /// Limits derived from one exchange limit (the user's setting): the server's idle limit is longer by
    /// half again (a client that is merely slow between two statements is not cut off), at least 5 s.
    pub fn with_exchange(exchange: Duration) -> Limits {
        let exchange = exchange.max(Duration::from_millis(100));
        Limits {
            exchange,
            server_idle: (exchange + exchange / 2).max(Duration::from_secs(5)),
            device_lock: Limits::DEFAULT.device_lock.min(exchange),
        }
    }

    /// `server_idle` as PostgreSQL setting text (milliseconds).
    pub(crate) fn server_idle_setting(&self) -> String {
        self.server_idle.as_millis().to_string()
    }

    /// `device_lock` as PostgreSQL setting text (milliseconds).
    pub(crate) fn device_lock_setting(&self) -> String {
        self.device_lock.as_millis().to_string()
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Run one exchange with the server under `limit`; `what` names it in the error ("the push", ...).
pub async fn within<T, E>(
    limit: Duration,
    what: &'static str,
    f: impl Future<Output = Result<T, E>>,
) -> Result<T, SyncError>
where
    SyncError: From<E>,
{
    match tokio::time::timeout(limit, f).await {
        Ok(r) => r.map_err(SyncError::from),
        Err(_) => Err(SyncError::Stalled { what, after: limit }),
    }
}

/// An open connection for one round, with the limits every exchange on it runs under.
pub struct Server {
    pub client: Client,
    pub limits: Limits,
    /// Who hears how far uploads and downloads have come (see [`crate::progress`]).
    pub progress: Option<crate::progress::OnProgress>,
}

/// The connection settings every sync connection uses on top of the user's: a connect timeout, and TCP
/// keepalives (idle 15 s, then every 5 s, 3 probes) so a peer that vanished is noticed in about 30 s.
pub fn hardened(target: &Target, limits: &Limits) -> Target {
    let mut t = target.clone();
    if t.config.get_connect_timeout().is_none() {
        t.config.connect_timeout(limits.exchange);
    }
    t.config
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(15))
        .keepalives_interval(Duration::from_secs(5))
        .keepalives_retries(3);
    t
}

/// A refused login from the server crate, as the engine's own error (so background sync stops on it).
pub(crate) fn connect_error(e: trenddojo_server::ServerError) -> SyncError {
    match e {
        trenddojo_server::ServerError::LoginRefused(m) => SyncError::LoginRefused(m),
        other => SyncError::Server(other),
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("limits", &self.limits).field("progress", &self.progress.is_some()).finish()
    }
}

impl Server {
    /// Connect for one round: the whole connection set-up (TCP, TLS, authentication) within the exchange
    /// limit, with keepalives on.
    pub async fn connect(target: &Target, limits: Limits) -> Result<Server, SyncError> {
        let target = hardened(target, &limits);
        let client = match tokio::time::timeout(limits.exchange, target.connect()).await {
            Ok(r) => r.map_err(connect_error)?,
            Err(_) => return Err(SyncError::Stalled { what: "the connection", after: limits.exchange }),
        };
        Ok(Server { client, limits, progress: None })
    }

    /// The same connection, reporting progress to `on`.
    pub fn with_progress(mut self, on: Option<crate::progress::OnProgress>) -> Server {
        self.progress = on;
        self
    }

    /// Tell the listener, if any.
    pub(crate) fn report(&self, step: crate::progress::Step) {
        if let Some(on) = &self.progress {
            on(step);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_exchange_limit() {
        let l = Limits::with_exchange(Duration::from_secs(4));
        assert_eq!(l.server_idle, Duration::from_secs(6), "half again on the server");
        assert_eq!(l.device_lock, Duration::from_secs(4), "the lock wait never exceeds an exchange");
        assert_eq!(Limits::with_exchange(Duration::from_secs(1)).server_idle, Duration::from_secs(5), "at least 5 s");
        assert_eq!(Limits::DEFAULT.server_idle_setting(), "45000", "milliseconds for PostgreSQL");
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn an_exchange_that_never_answers_fails_within_its_limit() {
        let never = std::future::pending::<Result<(), SyncError>>();
        let err = within(Duration::from_secs(30), "the push", never).await.expect_err("must time out");
        assert!(matches!(err, SyncError::Stalled { what: "the push", .. }), "stalled, naming the exchange: {err}");
        let quick = within(Duration::from_secs(30), "the pull", async { Ok::<_, SyncError>(7) }).await;
        assert_eq!(quick.ok(), Some(7), "an answer in time passes through");
    }
}
