//! Background sync: the loop behind `trenddojo sync --watch` and the desktop app's sync.
//!
//! A round (push, then pull) runs:
//! - after a local change, debounced: [`WatchOptions::debounce`] after the last change seen, but no later
//!   than [`WatchOptions::max_delay`] after the first, so a burst of edits is one round and a steady
//!   stream of edits still syncs;
//! - when the server says another device wrote: a LISTEN connection on the user's secret channel
//!   (server V9) gets a notification at each commit of the user's rows;
//! - on a timer: [`WatchOptions::interval`] while notifications work, [`WatchOptions::poll_interval`]
//!   when they do not (a server before V9, or a pooler in transaction mode, which cannot LISTEN: a new
//!   listener sends itself a probe and keeps the connection only if it comes back);
//! - on reconnect: when the notification connection comes back, anything it missed is pulled at once;
//! - after a failure, with exponential backoff (1 s, 2 s, 4 s, ... up to [`WatchOptions::backoff_max`],
//!   with jitter so many devices do not retry in step) *without* waiting for a new local write.
//!
//! Local changes are seen by polling the outbox's sequence (`sqlite_sequence`, which only grows), every
//! [`WatchOptions::local_check`]: it catches writes made by this process and by any other process on the
//! same store (the CLI next to the app) at the cost of one indexed read.
//!
//! Each round uses its own short connection (dropped when the round ends): nothing stays open between
//! rounds but the listener, which carries no data. Errors that retrying cannot fix (a newer server
//! schema, a server that lost acknowledged data, a device id owned by someone else, a login the server
//! refuses) end the loop; the caller starts it again once the login (or the build) changes.
//!
//! Nothing waits forever: every exchange of a round runs under [`WatchOptions::limits`], so a stalled
//! network fails the round (and it is retried) instead of hanging it; and `stop` is watched *during* a
//! round too, so Ctrl-C, SIGTERM or the app closing end the loop at once. A round cut off that way leaves
//! the store consistent (each of its local transactions committed or not) and the server rolls its side
//! back.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tokio::time::{sleep_until, Instant};
use tokio_postgres::types::Type;
use trenddojo_server::db::Notice;
use trenddojo_server::envs::Target;
use trenddojo_store::Store;
use uuid::Uuid;

use crate::apply::Refresh;
use crate::net::Limits;
use crate::round::{self, Report};
use crate::SyncError;

/// Timing of the background loop, and who hears each round's progress.
#[derive(Clone)]
pub struct WatchOptions {
    pub debounce: Duration,
    pub max_delay: Duration,
    pub interval: Duration,
    pub poll_interval: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    pub local_check: Duration,
    /// Deadlines of each round's exchanges with the server.
    pub limits: Limits,
    /// Reports uploads and downloads as they go (see [`crate::progress`]).
    pub progress: Option<crate::progress::OnProgress>,
}

impl std::fmt::Debug for WatchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchOptions")
            .field("debounce", &self.debounce)
            .field("max_delay", &self.max_delay)
            .field("interval", &self.interval)
            .field("poll_interval", &self.poll_interval)
            .field("backoff_min", &self.backoff_min)
            .field("backoff_max", &self.backoff_max)
            .field("local_check", &self.local_check)
            .field("limits", &self.limits)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            debounce: Duration::from_millis(300),
            max_delay: Duration::from_secs(3),
            interval: Duration::from_secs(300),
            poll_interval: Duration::from_secs(15),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(120),
            local_check: Duration::from_millis(200),
            limits: Limits::DEFAULT,
            progress: None,
        }
    }
}

/// Why a round ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Start,
    LocalChange,
    Notification,
    Timer,
    Retry,
    Reconnect,
}

/// What the loop reports to its caller (the CLI prints these; the app shows them).
#[derive(Debug)]
pub enum WatchEvent<'a> {
    /// A round finished.
    Round { trigger: Trigger, report: &'a Report, took: Duration },
    /// A round failed; the next try is in `retry_in`.
    Failed { trigger: Trigger, error: &'a SyncError, failures: u32, retry_in: Duration },
    /// Notifications are on (true) or off, with the reason they are off.
    Listening { on: bool, reason: Option<String> },
}

/// The delay before retry number `failures` (1-based): doubling from `min`, capped at `max`, then
/// jittered down by up to a fifth.
pub fn backoff(opts: &WatchOptions, failures: u32) -> Duration {
    let doubled = opts.backoff_min.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let capped = doubled.min(opts.backoff_max);
    let jitter = rand::thread_rng().gen_range(0..=capped.as_millis().min(u128::from(u32::MAX)) as u64 / 5);
    capped.saturating_sub(Duration::from_millis(jitter))
}

/// The highest outbox sequence ever used on this store: grows with every local change.
fn outbox_mark(store: &Store) -> Result<i64, SyncError> {
    store.read(|c| {
        Ok(c.query_row("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'sync_outbox'", [], |r| {
            r.get(0)
        })
        .map_err(trenddojo_store::StoreError::from)?)
    })
}

/// Why notifications are off.
struct NoListen {
    /// The server cannot notify (a schema before V9): no point retrying soon.
    unsupported: bool,
    message: String,
}

impl From<SyncError> for NoListen {
    fn from(e: SyncError) -> Self {
        NoListen { unsupported: false, message: e.to_string() }
    }
}

type Listener = (tokio_postgres::Client, tokio::sync::mpsc::UnboundedReceiver<Notice>);

/// The payload prefix of the probe a new listener sends itself. The server's own notifications carry an
/// empty payload; probes (this device's or another's on the same channel) never trigger a round.
const PROBE: &str = "probe:";

/// How long a new listener waits for its own probe before it concludes notifications do not reach it.
const PROBE_WAIT: Duration = Duration::from_secs(3);

/// Open the notification connection, LISTEN on the user's channel, and check that a notification
/// actually arrives: behind a pooler in transaction mode LISTEN is accepted but the listening session goes
/// back to the pool at once, so nothing would ever be heard and the device would wait for its slow timer.
/// Such a connection is refused as `unsupported`, and the loop polls. Supabase's transaction pooler is
/// recognised beforehand and listened to through its session port ([`Target::for_notifications`]).
/// Dropping the returned client closes the connection.
async fn listen(target: &Target, limits: Limits) -> Result<Listener, NoListen> {
    let target = crate::net::hardened(&target.for_notifications(), &limits);
    let stalled = |what| NoListen::from(SyncError::Stalled { what, after: limits.exchange });
    let (client, mut rx) = tokio::time::timeout(
        limits.exchange,
        trenddojo_server::db::connect_listener(&target.config, target.ca_file.as_deref()),
    )
    .await
    .map_err(|_| stalled("the notification connection"))?
    .map_err(crate::net::connect_error)?;
    let asked = tokio::time::timeout(limits.exchange, client.query_typed_one("SELECT trenddojo.sync_channel()", &[]))
        .await
        .map_err(|_| stalled("the notification set-up"))?;
    let channel: String = match asked {
        Ok(row) => row.get(0),
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_FUNCTION) => {
            return Err(NoListen {
                unsupported: true,
                message: "the server's schema predates change notifications (V9); polling instead".into(),
            })
        }
        Err(e) => return Err(SyncError::from(e).into()),
    };
    // The server makes channels as td_ + hex; anything else is refused rather than quoted.
    if !channel.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(NoListen { unsupported: true, message: "the server sent an unexpected channel name".into() });
    }
    crate::net::within(
        limits.exchange,
        "the notification set-up",
        client.batch_execute(&format!("LISTEN \"{channel}\"")),
    )
    .await?;
    // The probe goes out on a connection of its own. Sent on the listener's, a pooler in transaction mode
    // would usually run it on the very server session that ran LISTEN (PgBouncer reuses the last idle
    // one), which hears its own notification and passes it back: the probe would come back although no
    // other session's notification ever would.
    let probe = format!("{PROBE}{}", Uuid::now_v7().simple());
    let sender = crate::net::Server::connect(&target, limits).await?;
    crate::net::within(
        limits.exchange,
        "the notification probe",
        sender.client.execute_typed("SELECT pg_notify($1, $2)", &[(&channel, Type::TEXT), (&probe, Type::TEXT)]),
    )
    .await?;
    drop(sender);
    let heard = tokio::time::timeout(PROBE_WAIT, async {
        // Anything else heard meanwhile was committed before the round that follows a new listener.
        while let Some(n) = rx.recv().await {
            if n.payload == probe {
                return true;
            }
        }
        false
    })
    .await;
    match heard {
        Ok(true) => Ok((client, rx)),
        Ok(false) => {
            Err(SyncError::from(trenddojo_server::ServerError::Connect("the notification connection closed".into()))
                .into())
        }
        Err(_) => Err(NoListen {
            unsupported: true,
            message: format!(
                "notifications sent through {} do not come back (a pooler in transaction mode?); polling instead",
                trenddojo_server::envs::describe(&target.config)
            ),
        }),
    }
}

/// Run background sync (for `user`, once known: a new device learns it from its first round) until `stop` completes (Ok) or an error no retry can fix (Err).
pub async fn watch(
    store: &Store,
    mut user: Option<Uuid>,
    target: &Target,
    refresh: &Refresh<'_>,
    opts: &WatchOptions,
    mut on_event: impl FnMut(WatchEvent<'_>),
    stop: impl Future<Output = ()>,
) -> Result<(), SyncError> {
    tokio::pin!(stop);
    let far = Duration::from_secs(365 * 24 * 3600);
    let mut due = Instant::now();
    let mut trigger = Trigger::Start;
    let mut failures: u32 = 0;
    let mut mark = outbox_mark(store)?;
    let mut first_change: Option<Instant> = None;
    let mut listener: Option<Listener> = None;
    // A listener being set up (connect, LISTEN, probe: up to PROBE_WAIT), polled alongside everything
    // else so rounds, local changes and `stop` never wait for it.
    let mut connecting = None;
    let mut listener_failures: u32 = 0;
    let mut listener_retry = Instant::now();
    let mut tick = tokio::time::interval(opts.local_check);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let listening = listener.is_some();
        let attempting = connecting.is_some();
        tokio::select! {
            biased;
            () = &mut stop => return Ok(()),
            () = sleep_until(listener_retry), if !listening && !attempting && listener_retry < Instant::now() + far => {
                connecting = Some(Box::pin(listen(target, opts.limits)));
            }
            attempt = async { connecting.as_mut().expect("guarded").await }, if attempting => {
                connecting = None;
                match attempt {
                    Ok(l) => {
                        listener = Some(l);
                        listener_failures = 0;
                        listener_retry = Instant::now() + far;
                        on_event(WatchEvent::Listening { on: true, reason: None });
                        // Whatever happened while we were not listening is pulled now (unless the first
                        // round has not run yet: it will).
                        if trigger != Trigger::Start {
                            due = Instant::now();
                            trigger = Trigger::Reconnect;
                        }
                    }
                    Err(e) => {
                        listener_failures += 1;
                        // A server without V9 cannot notify: poll, and ask again much later.
                        let wait = if e.unsupported { opts.interval } else { backoff(opts, listener_failures) };
                        listener_retry = Instant::now() + wait;
                        on_event(WatchEvent::Listening { on: false, reason: Some(e.message) });
                        due = due.min(Instant::now() + opts.poll_interval);
                    }
                }
            }
            n = async { listener.as_mut().expect("guarded").1.recv().await }, if listening => {
                match n {
                    Some(n) if n.payload.starts_with(PROBE) => {}
                    Some(_) => {
                        if failures == 0 {
                            due = due.min(Instant::now());
                            trigger = Trigger::Notification;
                        }
                    }
                    None => {
                        listener = None;
                        listener_failures += 1;
                        listener_retry = Instant::now() + backoff(opts, listener_failures);
                        on_event(WatchEvent::Listening { on: false, reason: Some("the notification connection closed".into()) });
                        due = due.min(Instant::now() + opts.poll_interval);
                    }
                }
            }
            _ = tick.tick() => {
                let now_mark = outbox_mark(store)?;
                if now_mark > mark {
                    mark = now_mark;
                    let now = Instant::now();
                    let first = *first_change.get_or_insert(now);
                    let when = (now + opts.debounce).min(first + opts.max_delay);
                    if failures == 0 || when < due {
                        due = if failures == 0 { when } else { due.min(when) };
                        trigger = Trigger::LocalChange;
                    }
                }
            }
            () = sleep_until(due) => {
                let started = Instant::now();
                first_change = None;
                // The round races `stop`: a stop during a round (a stalled one too) ends the loop at once.
                let result = tokio::select! {
                    biased;
                    () = &mut stop => return Ok(()),
                    r = round::connect_and_sync(store, target, opts.limits, refresh, opts.progress.clone()) => r,
                };
                if let Ok(r) = &result {
                    user = Some(r.user);
                }
                if let Some(u) = user {
                    // Best effort: a store that cannot record the outcome fails the next round visibly.
                    let _ = round::record_outcome(store, u, result.as_ref());
                }
                match result {
                    Ok(report) => {
                        failures = 0;
                        on_event(WatchEvent::Round { trigger, report: &report, took: started.elapsed() });
                        due = Instant::now() + if listener.is_some() { opts.interval } else { opts.poll_interval };
                        trigger = Trigger::Timer;
                    }
                    Err(e) if e.is_fatal() => return Err(e),
                    Err(e) => {
                        failures += 1;
                        let retry_in = backoff(opts, failures);
                        on_event(WatchEvent::Failed { trigger, error: &e, failures, retry_in });
                        due = Instant::now() + retry_in;
                        trigger = Trigger::Retry;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let opts = WatchOptions::default();
        for (n, full) in [(1, 1000), (2, 2000), (3, 4000), (4, 8000), (8, 120_000), (40, 120_000)] {
            let d = backoff(&opts, n).as_millis();
            assert!(d <= full && d >= full * 4 / 5, "retry {n}: {d} ms is not within [{}, {full}] ms", full * 4 / 5);
        }
    }
}
