//! Signed updates through Tauri's updater plugin, with a backup of the journal before anything installs.
//!
//! Why it is built this way:
//! - **Trust comes from the key compiled in, never from the network or the environment.** The public key is
//!   `plugins.updater.pubkey` in `tauri.conf.json`, embedded at build time; nothing at run time can replace
//!   it (only this module's tests pass their own throwaway key). The plugin checks every package against
//!   it (minisign, Ed25519) before it returns the bytes, so an unsigned, wrongly signed or altered package
//!   never reaches the installer.
//! - **The feed is configurable, its trust is not.** The feed URL is `plugins.updater.endpoints`, or
//!   `TRENDDOJO_UPDATE_URL` (a mirror, a staging feed, a test server). A release build refuses a feed that
//!   is not `https` (the plugin's rule); a wrong feed can at worst offer nothing, because it cannot sign.
//! - **No downgrades.** `requireSignedVersion` binds each signature to the version it was made for, so a
//!   feed that pairs a new version number with an old (genuinely signed) package is refused; and a feed
//!   that offers a version not newer than the running one is reported as refused, not silently ignored,
//!   so whoever looks sees why nothing was offered.
//! - **Backup before install.** A package that passed verification is installed only after the journal
//!   was backed up with the core's backup use case ([`Maintenance::backup`]) into the data folder's
//!   `backups/` folder; a bad update is rolled back by installing the previous package and restoring that
//!   file (docs/packaging.md). A locked journal cannot be backed up, so the update waits for the unlock.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tauri::{AppHandle, Runtime, State};
use tauri_plugin_updater::{Update, UpdaterExt};
use trenddojo_core::dto::{UpdateCheck, UpdateInstalled};
use trenddojo_core::{ApiError, ApiResult, ErrorCode, Journal, KeySource, Maintenance};

use crate::state::{join_error, AppState};

/// Replaces the configured feed URL (`plugins.updater.endpoints`) when set and not empty.
pub const FEED_ENV: &str = "TRENDDOJO_UPDATE_URL";

/// Where updates come from: the feed URLs (the environment's override, else the configuration).
fn feed_override() -> ApiResult<Option<Vec<tauri::Url>>> {
    match std::env::var(FEED_ENV) {
        Ok(v) if !v.trim().is_empty() => {
            let mut urls = Vec::new();
            for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                urls.push(
                    part.parse::<tauri::Url>()
                        .map_err(|e| ApiError::invalid(FEED_ENV, format!("update feed: not a URL ({e}): {part}")))?,
                );
            }
            Ok(Some(urls))
        }
        _ => Ok(None),
    }
}

fn updater_error(what: &str, e: tauri_plugin_updater::Error) -> ApiError {
    use tauri_plugin_updater::Error as E;
    match e {
        E::Minisign(_) | E::Base64(_) | E::SignatureUtf8(_) => ApiError::new(
            ErrorCode::Refused,
            format!(
                "update package: its signature does not match TrendDojo's public key (altered, unsigned or signed \
                 by someone else); it was refused and nothing was installed ({e})"
            ),
        ),
        E::SignedVersionMismatch { signed, announced } => ApiError::new(
            ErrorCode::Refused,
            format!(
                "update package: it was signed for version {signed} but the feed announced {announced}; a feed that \
                 passes an old package off as a new one is refused and nothing was installed"
            ),
        ),
        E::MissingSignedVersion => ApiError::new(
            ErrorCode::Refused,
            "update package: its signature does not say which version it was signed for; refused, nothing was \
             installed",
        ),
        E::InsecureTransportProtocol => {
            ApiError::invalid(FEED_ENV, "update feed: it must be an https URL (a release build refuses plain http)")
        }
        E::EmptyEndpoints => ApiError::invalid(FEED_ENV, "update feed: none is configured (plugins.updater.endpoints)"),
        E::Reqwest(_) | E::Network(_) | E::ReleaseNotFound => ApiError::new(
            ErrorCode::Unreachable,
            format!("update feed: {what} failed, the feed could not be read ({e})"),
        )
        .with_hint("check the network connection, or try again later"),
        E::TargetNotFound(_) | E::TargetsNotFound(_) => {
            ApiError::new(ErrorCode::NotFound, format!("update feed: it has no package for this platform ({e})"))
        }
        other => ApiError::new(ErrorCode::Internal, format!("update: {what} failed: {other}")),
    }
}

/// The plugin's updater for `app`: the feed from [`FEED_ENV`] or the configuration; `test_pubkey` replaces
/// the built-in key in this module's tests only (the commands always pass `None`). The version comparator
/// accepts only newer versions and remembers what the feed offered, so a refusal can be reported.
fn updater<R: Runtime>(
    app: &AppHandle<R>,
    test_pubkey: Option<&str>,
    offered: Arc<Mutex<Option<String>>>,
) -> ApiResult<tauri_plugin_updater::Updater> {
    let mut b = app.updater_builder().version_comparator(move |current, remote| {
        if let Ok(mut o) = offered.lock() {
            *o = Some(remote.version.to_string());
        }
        remote.version > current
    });
    if let Some(urls) = feed_override()? {
        b = b.endpoints(urls).map_err(|e| updater_error("reading the feed URL", e))?;
    }
    if let Some(k) = test_pubkey {
        b = b.pubkey(k);
    }
    b.build().map_err(|e| updater_error("setting up the updater", e))
}

/// Ask the feed; `Ok(None)` with the check result when nothing is to be installed.
async fn find<R: Runtime>(app: &AppHandle<R>, test_pubkey: Option<&str>) -> ApiResult<(UpdateCheck, Option<Update>)> {
    let current = app.package_info().version.to_string();
    let offered = Arc::new(Mutex::new(None));
    let found = updater(app, test_pubkey, offered.clone())?.check().await.map_err(|e| updater_error("checking", e))?;
    Ok(match found {
        Some(u) => (
            UpdateCheck::Available {
                current,
                version: u.version.clone(),
                notes: u.body.clone(),
                date: u.date.map(|d| d.to_string()),
            },
            Some(u),
        ),
        None => {
            let offered = offered.lock().ok().and_then(|o| o.clone());
            match offered {
                Some(v) if v != current => (
                    UpdateCheck::Refused {
                        reason: format!(
                            "update feed: it offers version {v}, which is not newer than the installed {current}; \
                             downgrades are refused (to go back, install the older package by hand and restore \
                             a backup)"
                        ),
                        current,
                        offered: v,
                    },
                    None,
                ),
                _ => (UpdateCheck::UpToDate { current }, None),
            }
        }
    })
}

/// Back the journal in `home` up before an update: `Ok(None)` when this computer has no journal yet.
/// `key` is how the open journal was unlocked; without it (locked) the update is refused until unlock.
pub fn backup_before_update(home: &Path, key: Option<&KeySource>, from: &str, to: &str) -> ApiResult<Option<PathBuf>> {
    if !Journal::launch_state(home)?.exists {
        return Ok(None);
    }
    let key = key.ok_or_else(|| {
        ApiError::new(ErrorCode::NotInitialized, "update: the journal is locked, so it cannot be backed up first")
            .with_hint("unlock the journal, then install the update")
    })?;
    let dir = home.join("backups");
    std::fs::create_dir_all(&dir).map_err(|e| {
        ApiError::new(ErrorCode::Io, format!("update: the backups folder {} could not be made: {e}", dir.display()))
    })?;
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let file = dir.join(format!("before-update-{from}-to-{to}-{stamp}.tdbackup"));
    Maintenance::open(home, key)?.backup(&file)?;
    Ok(Some(file))
}

/// Download the offered update (verified against the public key), then back the journal up. Returns the
/// verified package and the backup; nothing is installed yet and nothing is backed up for a refused package.
async fn download_and_back_up<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    test_pubkey: Option<&str>,
) -> ApiResult<(Update, Vec<u8>, Option<PathBuf>)> {
    let (check, update) = find(app, test_pubkey).await?;
    let update = match (check, update) {
        (_, Some(u)) => u,
        (UpdateCheck::Refused { reason, .. }, None) => return Err(ApiError::new(ErrorCode::Refused, reason)),
        _ => return Err(ApiError::new(ErrorCode::NotFound, "update: the feed offers no newer version to install")),
    };
    let bytes = update.download(|_, _| {}, || {}).await.map_err(|e| updater_error("downloading", e))?;
    let key = state.key().ok();
    let (home, from, to) = (state.home.clone(), update.current_version.clone(), update.version.clone());
    let backup = tauri::async_runtime::spawn_blocking(move || backup_before_update(&home, key.as_ref(), &from, &to))
        .await
        .map_err(join_error)??;
    Ok((update, bytes, backup))
}

/// Check the update feed.
#[tauri::command]
pub async fn check_update<R: Runtime>(app: AppHandle<R>) -> Result<UpdateCheck, ApiError> {
    Ok(find(&app, None).await?.0)
}

/// Download the offered update, verify it, back the journal up, then install it (restart to run it).
#[tauri::command]
pub async fn install_update<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<UpdateInstalled, ApiError> {
    let (update, bytes, backup) = download_and_back_up(&app, &state, None).await?;
    let version = update.version.clone();
    tauri::async_runtime::spawn_blocking(move || update.install(bytes))
        .await
        .map_err(join_error)?
        .map_err(|e| updater_error("installing", e))?;
    Ok(UpdateInstalled { version, backup: backup.map(|b| b.display().to_string()), restart_required: true })
}

#[cfg(test)]
mod tests {
    //! Against a feed and packages served from 127.0.0.1, with keys made by the Tauri signer (the CLI in
    //! `packaging/node_modules`, `TRENDDOJO_TAURI_CLI` to use another) in a temporary folder. The package is
    //! the real `.deb` when `TRENDDOJO_UPDATE_PACKAGE` names one (scripts/package-test.sh), else a file of
    //! the same kind of bytes: the signature covers bytes, whatever they are.

    use std::collections::HashMap;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::process::Command;

    use serde_json::json;
    use tauri::test::{mock_builder, MockRuntime};
    use tauri::App;
    use trenddojo_core::{Passphrase, UserInput};

    use super::*;

    const PASSWORD: &str = "update-test-key-password";

    fn user() -> UserInput {
        UserInput { email: "me@example.com".into(), name: None, tier: None, password: None }
    }

    /// `major.minor.patch` of a version text.
    fn parts(v: &str) -> (u64, u64, u64) {
        let n: Vec<u64> = v.split('.').map(|p| p.parse().expect("a numeric version part")).collect();
        (n[0], n[1], n[2])
    }

    fn tauri_cli() -> PathBuf {
        std::env::var_os("TRENDDOJO_TAURI_CLI")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/node_modules/.bin/tauri"))
    }

    /// A key pair from `tauri signer generate`: (private key file, public key as the config holds it).
    fn keypair(dir: &Path, name: &str) -> (PathBuf, String) {
        let key = dir.join(name);
        let o = Command::new(tauri_cli())
            .args(["signer", "generate", "--ci", "-p", PASSWORD, "-w"])
            .arg(&key)
            .output()
            .expect("run the Tauri CLI (scripts/setup.sh installs it in packaging/)");
        assert!(o.status.success(), "tauri signer generate: {}", String::from_utf8_lossy(&o.stderr));
        let public = std::fs::read_to_string(dir.join(format!("{name}.pub"))).expect("the public key file");
        (key, public.trim().to_string())
    }

    /// `tauri signer sign` for `version`: the signature text the feed carries.
    fn sign(key: &Path, file: &Path, version: &str) -> String {
        let o = Command::new(tauri_cli())
            .args(["signer", "sign", "-p", PASSWORD, "--app-version", version, "-f"])
            .arg(key)
            .arg(file)
            .env_remove("TAURI_SIGNING_PRIVATE_KEY")
            .env_remove("TAURI_SIGNING_PRIVATE_KEY_PASSWORD")
            .output()
            .expect("run the Tauri CLI");
        assert!(o.status.success(), "tauri signer sign: {}", String::from_utf8_lossy(&o.stderr));
        let mut sig = file.as_os_str().to_owned();
        sig.push(".sig");
        std::fs::read_to_string(PathBuf::from(sig)).expect("the .sig file").trim().to_string()
    }

    /// A feed announcing `version` at `url` with `signature`, for this platform.
    fn feed(version: &str, url: &str, signature: &str) -> Vec<u8> {
        let target = format!("linux-{}", std::env::consts::ARCH);
        serde_json::to_vec(&json!({
            "version": version,
            "notes": "test release",
            "pub_date": "2026-12-04T12:00:00Z",
            "platforms": { target: { "url": url, "signature": signature } }
        }))
        .expect("feed JSON")
    }

    fn app() -> App<MockRuntime> {
        mock_builder()
            .plugin(tauri_plugin_updater::Builder::new().build())
            .build(tauri::generate_context!(test = true))
            .expect("the app builds on the mock runtime")
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        base: String,
        pubkey: String,
    }

    /// Keys, packages and feeds: `/ok.json` (a newer version, correctly signed), `/tampered.json` (the
    /// same signature, altered bytes), `/other-key.json` (signed by another key), `/old.json` (an older
    /// version), `/disguised.json` (a newer version number on a package signed for an older one).
    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let (key, pubkey) = keypair(dir.path(), "test.key");
        let (other_key, _) = keypair(dir.path(), "other.key");
        let pkg = match std::env::var_os("TRENDDOJO_UPDATE_PACKAGE") {
            Some(p) => std::fs::read(&p).expect("the package named by TRENDDOJO_UPDATE_PACKAGE"),
            None => b"!<arch>\ndebian-binary   stand-in package for the updater test\n".repeat(64),
        };
        let current = parts(env!("CARGO_PKG_VERSION"));
        let newer = format!("{}.{}.0", current.0, current.1 + 1);
        let older = "0.0.1".to_string();
        assert!(parts(&older) < current, "0.0.1 is older than {current:?}");
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).expect("write a package");
            p
        };
        let good = write("good.deb", &pkg);
        let sig_good = sign(&key, &good, &newer);
        let mut altered = pkg.clone();
        let mid = altered.len() / 2;
        altered[mid] ^= 0x01;
        let other = write("other.deb", &pkg);
        let sig_other = sign(&other_key, &other, &newer);
        let old = write("old.deb", &pkg);
        let sig_old = sign(&key, &old, &older);

        let mut files = HashMap::new();
        files.insert("/good.deb".to_string(), pkg.clone());
        files.insert("/tampered.deb".to_string(), altered);
        files.insert("/other.deb".to_string(), pkg.clone());
        files.insert("/old.deb".to_string(), pkg);
        // The feeds name the packages by absolute URL, so they are added once the server's address is known.
        let server_files = Arc::new(Mutex::new(files));
        let base = serve_shared(server_files.clone());
        let mut f = server_files.lock().expect("files");
        f.insert("/ok.json".into(), feed(&newer, &format!("{base}/good.deb"), &sig_good));
        f.insert("/tampered.json".into(), feed(&newer, &format!("{base}/tampered.deb"), &sig_good));
        f.insert("/other-key.json".into(), feed(&newer, &format!("{base}/other.deb"), &sig_other));
        f.insert("/old.json".into(), feed(&older, &format!("{base}/old.deb"), &sig_old));
        f.insert("/disguised.json".into(), feed(&newer, &format!("{base}/old.deb"), &sig_old));
        drop(f);
        Fixture { _dir: dir, base, pubkey }
    }

    /// [`serve`] over a map the test can still add to.
    fn serve_shared(files: Arc<Mutex<HashMap<String, Vec<u8>>>>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("address");
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let snapshot = files.lock().map(|f| f.clone()).unwrap_or_default();
                answer(stream, &snapshot);
            }
        });
        format!("http://{addr}")
    }

    fn answer(mut stream: std::net::TcpStream, files: &HashMap<String, Vec<u8>>) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).map(|n| n == 0).unwrap_or(true) || h == "\r\n" {
                break;
            }
        }
        let (status, body) = match files.get(&path) {
            Some(b) => ("200 OK", b.clone()),
            None => ("404 Not Found", b"not found".to_vec()),
        };
        let head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
        let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&body));
    }

    /// Run `f` with `TRENDDOJO_UPDATE_URL` set to `url` (the tests share the process environment: one at a
    /// time).
    fn with_feed<T>(url: &str, f: impl FnOnce() -> T) -> T {
        static ENV: Mutex<()> = Mutex::new(());
        let _g = ENV.lock().unwrap_or_else(|p| p.into_inner());
        std::env::set_var(FEED_ENV, url);
        let out = f();
        std::env::remove_var(FEED_ENV);
        out
    }

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tauri::async_runtime::block_on(f)
    }

    #[test]
    fn a_signed_newer_update_is_offered_downloaded_and_the_journal_backed_up_first() {
        let fx = fixture();
        let app = app();
        let home = tempfile::tempdir().expect("home");
        let key = KeySource::Passphrase(Passphrase::new("update test passphrase").expect("passphrase"));
        let j = Journal::init(home.path(), &key, &user()).expect("a journal");
        let state = AppState::new(home.path().to_path_buf());
        state.set(j, key).expect("open the journal in the app state");
        with_feed(&format!("{}/ok.json", fx.base), || {
            let (check, update) = block(find(app.handle(), Some(&fx.pubkey))).expect("the check succeeds");
            let UpdateCheck::Available { version, current, .. } = &check else {
                panic!("a newer signed version is offered, got {check:?}")
            };
            assert_eq!(current, env!("CARGO_PKG_VERSION"), "the running version is the crate's");
            assert!(version != current, "the offer is another version: {check:?}");
            assert!(update.is_some(), "an update to install comes with the offer");
            let (u, bytes, backup) =
                block(download_and_back_up(app.handle(), &state, Some(&fx.pubkey))).expect("download and backup");
            assert_eq!(&u.version, version, "the downloaded update is the one offered");
            assert!(!bytes.is_empty(), "the verified package bytes are returned");
            assert!(u.verify(&bytes).is_ok(), "the bytes verify against the key");
            let backup = backup.expect("a journal exists, so it was backed up");
            assert!(backup.starts_with(home.path().join("backups")), "the backup is in the data folder: {backup:?}");
            let listed = Maintenance::list_backups(home.path());
            assert!(
                listed.iter().any(|b| b.path == backup && b.intact == Some(true)),
                "the pre-update backup is listed as a complete backup: {listed:?}"
            );
        });
    }

    fn refusal(fx: &Fixture, feed: &str) -> ApiError {
        let app = app();
        let home = tempfile::tempdir().expect("home");
        let state = AppState::new(home.path().to_path_buf());
        let e = with_feed(&format!("{}/{feed}", fx.base), || {
            block(download_and_back_up(app.handle(), &state, Some(&fx.pubkey)))
        })
        .err()
        .unwrap_or_else(|| panic!("{feed}: the update is refused"));
        assert!(!home.path().join("backups").exists(), "{feed}: no backup is taken for a refused update");
        e
    }

    #[test]
    fn a_tampered_package_is_refused_with_a_clear_message() {
        let fx = fixture();
        let e = refusal(&fx, "tampered.json");
        assert_eq!(e.code, ErrorCode::Refused, "a tampered package is refused: {e:?}");
        assert!(e.message.contains("signature does not match"), "the message says why: {}", e.message);
        assert!(e.message.contains("nothing was installed"), "and what happened: {}", e.message);
    }

    #[test]
    fn a_package_signed_with_another_key_is_refused() {
        let fx = fixture();
        let e = refusal(&fx, "other-key.json");
        assert_eq!(e.code, ErrorCode::Refused, "another key's signature is refused: {e:?}");
        assert!(e.message.contains("signature does not match"), "the message says why: {}", e.message);
    }

    #[test]
    fn a_downgrade_is_refused_with_a_clear_message() {
        let fx = fixture();
        let app = app();
        let check = with_feed(&format!("{}/old.json", fx.base), || block(find(app.handle(), Some(&fx.pubkey))))
            .expect("the check itself succeeds");
        let (check, update) = check;
        assert!(update.is_none(), "nothing to install from an older version");
        let UpdateCheck::Refused { offered, reason, .. } = &check else {
            panic!("an older version is reported as refused, got {check:?}")
        };
        assert_eq!(offered, "0.0.1", "the refused version is named");
        assert!(reason.contains("downgrades are refused"), "the reason says why: {reason}");
        let e = refusal(&fx, "old.json");
        assert_eq!(e.code, ErrorCode::Refused, "installing a downgrade is refused: {e:?}");
    }

    #[test]
    fn an_old_package_announced_as_a_new_version_is_refused() {
        let fx = fixture();
        let e = refusal(&fx, "disguised.json");
        assert_eq!(e.code, ErrorCode::Refused, "the signed version must match the announced one: {e:?}");
        assert!(e.message.contains("signed for version 0.0.1"), "names the signed version: {}", e.message);
    }

    #[test]
    fn an_unreachable_feed_and_a_bad_feed_url_are_reported() {
        let app = app();
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().expect("address").port()
        };
        let e = with_feed(&format!("http://127.0.0.1:{port}/feed.json"), || block(find(app.handle(), None)))
            .err()
            .expect("no feed answers");
        assert_eq!(e.code, ErrorCode::Unreachable, "a feed that does not answer: {e:?}");
        let e = with_feed("not a url", || block(find(app.handle(), None))).err().expect("a malformed feed URL");
        assert_eq!(e.code, ErrorCode::InvalidInput, "a malformed URL is invalid input: {e:?}");
        assert!(e.message.contains("not a URL"), "and says so: {}", e.message);
    }

    #[test]
    fn the_built_in_key_and_feed_are_configured() {
        let conf: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).expect("tauri.conf.json");
        let u = &conf["plugins"]["updater"];
        let key = u["pubkey"].as_str().expect("a public key");
        let text =
            String::from_utf8(base64::Engine::decode(&base64::engine::general_purpose::STANDARD, key).expect("base64"))
                .expect("text");
        assert!(text.contains("minisign public key"), "the key is a minisign public key: {text}");
        assert_eq!(u["requireSignedVersion"], json!(true), "signatures must name their version");
        assert!(
            u["endpoints"]
                .as_array()
                .is_some_and(|e| e.iter().all(|x| x.as_str().is_some_and(|s| s.starts_with("https://")))),
            "the configured feeds are https: {u}"
        );
    }

    #[test]
    fn a_locked_journal_is_not_updated_before_it_can_be_backed_up() {
        let home = tempfile::tempdir().expect("home");
        assert_eq!(
            backup_before_update(home.path(), None, "0.1.0", "0.2.0").expect("no journal yet"),
            None,
            "no journal: nothing to back up"
        );
        let key = KeySource::Passphrase(Passphrase::new("update test passphrase").expect("passphrase"));
        drop(Journal::init(home.path(), &key, &user()).expect("a journal"));
        let e = backup_before_update(home.path(), None, "0.1.0", "0.2.0").expect_err("locked");
        assert_eq!(e.code, ErrorCode::NotInitialized, "a locked journal stops the update: {e:?}");
        assert!(e.hint.as_deref().is_some_and(|h| h.contains("unlock")), "and says to unlock: {e:?}");
    }
}
