//! The core API called the way the desktop app calls it: from inside a running multi-threaded Tokio
//! runtime, each use case spawned as a task. Every server and sync use case must run there (no runtime
//! built inside a runtime, no blocking call that panics), and its future must be `Send` (Tauri runs async
//! commands on its runtime's worker threads). The blocking conveniences must refuse with an error instead
//! of panicking.

use std::sync::Arc;

use crate::pg::Pg;
use trenddojo_core::dto::{Progress, ProgressTask};
use trenddojo_core::seed::SeedState;
use trenddojo_core::sync_types::{Limits, WatchOptions};
use trenddojo_core::{
    AccountInput, ErrorCode, Journal, KeySource, Passphrase, ServerAdmin, ServerTarget, SyncSettings, UserInput,
};

const PW: &str = "async-test-password";

/// Fails to compile unless the future can move between threads.
fn send<F: std::future::Future + Send>(f: F) -> F {
    f
}

fn key() -> KeySource {
    KeySource::Passphrase(Passphrase::new("async api passphrase").expect("passphrase"))
}

fn user_url(p: &trenddojo_core::server_types::Provisioned) -> String {
    p.url.replacen("postgresql://", &format!("postgresql://{}:{PW}@", p.role), 1).replacen(
        &format!("@{}@", p.role),
        "@",
        1,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_server_and_sync_use_case_runs_inside_a_running_runtime() {
    let pg = Pg::migrated().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let admin = ServerAdmin::new(&dir.path().join("admin"));
    let target = ServerTarget::Url(pg.service());

    // Server administration, each call spawned onto the runtime as an app command would be.
    let (a, t) = (admin.clone(), target.clone());
    let status = tokio::spawn(send(async move { a.status(&t).await })).await.expect("task").expect("status");
    assert_eq!(status.schema_version, status.latest_version, "the test cluster is migrated: {status:?}");
    let (a, t) = (admin.clone(), target.clone());
    let back = tokio::spawn(send(async move { a.rollback(&t, None, None).await })).await.expect("task");
    let back = back.expect("rollback one step");
    assert!(back.applied && back.to_version + 1 == back.from_version, "one step back: {back:?}");
    let (a, t) = (admin.clone(), target.clone());
    let up = tokio::spawn(send(async move { a.migrate(&t, None, None).await })).await.expect("task").expect("migrate");
    assert_eq!(up.to_version, status.latest_version, "migrated back up: {up:?}");
    let (a, t) = (admin.clone(), target.clone());
    let seeded = tokio::spawn(send(async move { a.seed(&t, SeedState::Empty).await })).await.expect("task");
    assert!(seeded.expect("seed empty").is_empty(), "the empty state provisions nobody");
    let (a, t) = (admin.clone(), target.clone());
    let n = tokio::spawn(send(async move { a.maintain(&t).await })).await.expect("task").expect("maintain");
    assert!(n >= 0, "partitions created: {n}");

    // A device whose user the server knows by the same id.
    let home = dir.path().join("device");
    let j = Journal::init(
        &home,
        &key(),
        &UserInput { email: "async@example.com".into(), tier: Some("pro".into()), ..UserInput::default() },
    )
    .expect("init");
    let uid = j.user().expect("user").id;
    let (a, t) = (admin.clone(), target.clone());
    let p = tokio::spawn(send(async move { a.add_user(&t, "async@example.com", "pro", None, Some(uid.0), PW).await }))
        .await
        .expect("task")
        .expect("provision");
    let url = user_url(&p);

    // The blocking convenience refuses inside a runtime instead of panicking.
    let e = j.sync_once(&url).expect_err("sync_once inside a runtime");
    assert_eq!(e.code, ErrorCode::Internal, "a clear refusal, not a panic: {e:?}");

    j.add_account(&AccountInput {
        name: "Main".into(),
        currency: "USD".into(),
        balance: "10000".into(),
        ..AccountInput::default()
    })
    .expect("account");
    // Long jobs report progress to one sink per journal (the app forwards it to its window).
    let heard: Arc<std::sync::Mutex<Vec<Progress>>> = Arc::default();
    let mut j = j;
    j.set_progress({
        let heard = heard.clone();
        Arc::new(move |p: Progress| heard.lock().expect("progress log").push(p))
    });
    let j = Arc::new(j);
    let settings = SyncSettings { server_url: Some(url.clone()), ..SyncSettings::default() };
    let sync_target = j.sync_target(&settings).expect("target");

    let (jj, tt) = (j.clone(), sync_target.clone());
    let report = tokio::spawn(send(async move { jj.sync_round(&tt, Limits::DEFAULT).await }))
        .await
        .expect("task")
        .expect("a round");
    assert!(report.pushed >= 1, "the account went up: {report:?}");
    let upload: Vec<Progress> =
        heard.lock().expect("log").iter().filter(|p| p.task == ProgressTask::SyncUpload).cloned().collect();
    assert!(
        upload.last().is_some_and(|p| p.total == Some(p.done) && p.done >= 1),
        "the upload was reported up to its total: {upload:?}"
    );

    let (jj, tt) = (j.clone(), sync_target.clone());
    let reset = tokio::spawn(send(async move { jj.sync_reset(&tt, false, Limits::DEFAULT).await }))
        .await
        .expect("task")
        .expect("a reset with nothing pending");
    assert!(reset.pulled >= 1, "the account came back down: {reset:?}");
    let download: Vec<Progress> =
        heard.lock().expect("log").iter().filter(|p| p.task == ProgressTask::SyncDownload).cloned().collect();
    assert!(
        download.last().is_some_and(|p| p.total == Some(p.done) && p.done >= 1),
        "the download was reported, its last report final: {download:?}"
    );

    // Background sync runs until told to stop, then returns.
    let (jj, tt) = (j.clone(), sync_target.clone());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let rounds = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = rounds.clone();
    let watch = tokio::spawn(send(async move {
        let on_event = move |e: trenddojo_core::dto::SyncEvent| {
            if matches!(e, trenddojo_core::dto::SyncEvent::Round { .. }) {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        };
        jj.sync_watch(&tt, &WatchOptions::default(), on_event, async {
            let _ = stop_rx.await;
        })
        .await
    }));
    // The first round starts at once; wait for it by polling the counter (bounded).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while rounds.load(std::sync::atomic::Ordering::SeqCst) == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(rounds.load(std::sync::atomic::Ordering::SeqCst) > 0, "background sync ran a round");
    stop_tx.send(()).expect("stop");
    tokio::time::timeout(std::time::Duration::from_secs(10), watch)
        .await
        .expect("watch stops when told")
        .expect("task")
        .expect("watch ends cleanly");

    let status = j.sync_status(Some(&url)).expect("status");
    assert_eq!(status.pending, 0, "nothing left to push: {status:?}");
    j.sync_review().expect("review");
    j.sync_conflicts().expect("conflicts");

    // Login goes through the same async path (the password would go to the keyring; a refused one is
    // reported with its own code, not a panic).
    let bad = trenddojo_core::LoginServer::Url(url.replacen(PW, "", 1).replacen(":@", "@", 1));
    let jj = j.clone();
    let refused = tokio::spawn(send(async move { jj.sync_login(&bad, "wrong password", Limits::DEFAULT).await }))
        .await
        .expect("task");
    assert_eq!(refused.expect_err("wrong password").code, ErrorCode::LoginRefused, "a refused login");

    let (a, t) = (admin.clone(), target.clone());
    let audit = tokio::spawn(send(async move { a.verify_audit(&t, None, None).await })).await.expect("task");
    assert!(audit.expect("audit chains intact").rows > 0, "the sync wrote audited rows");
    let (a, t) = (admin.clone(), target);
    let removed = tokio::spawn(send(async move { a.remove_user(&t, "async@example.com").await })).await.expect("task");
    assert!(removed.expect("remove user"), "the user existed");
    let a = admin.clone();
    let profile = tokio::spawn(send(async move {
        a.set_env("staging", "postgresql://svc@db.example.com:5432/trenddojo", false, None, None).await
    }))
    .await
    .expect("task")
    .expect("profile");
    assert!(!profile.production, "staging is not production");
    assert!(admin.list_envs().expect("envs").environments.contains_key("staging"), "the profile was saved");
}
