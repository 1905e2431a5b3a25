//! The IPC commands: each is a few lines that call one core use case and return its DTO or its
//! `ApiError` (code, message, field, hint) unchanged, so the UI shows the core's words next to the field
//! the error names. No SQL, no rules and no money arithmetic here: inputs are the core's own input structs
//! (strings as typed), outputs the core's DTOs.
//!
//! Every command is `async` and does its work on a blocking thread ([`AppState::run`]): a command without
//! `async` would run on the window's main thread and freeze it during a query.

use std::path::PathBuf;

use tauri::{AppHandle, Runtime, State};
use trenddojo_core::dto::{self, AccountSummary, LaunchState, User};
use trenddojo_core::seed::SeedState;
use trenddojo_core::sync_types::Limits;
use trenddojo_core::{
    AccountInput, ApiError, ApiResult, ChecklistInput, CloseInput, Dashboard, DashboardInput, EditTradeInput,
    ErrorCode, ExecutionEditInput, ExecutionInput, ImportInput, ImportPreview, Journal, KeySource, LoginOutcome,
    LoginServer, Maintenance, MergeTradesInput, NewTradeInput, OpenOptions, OpenTradeInput, Passphrase, RecoveryKey,
    RiskInput, SizeInput, SplitResult, SplitTradeInput, SyncReview, TradeDetail, TradePage, TradePageInput, UndoResult,
    UserInput,
};

use crate::state::{join_error, AppState};
use crate::sync_task::{progress_sink, settings, SyncTask};

type Cmd<T> = Result<T, ApiError>;

/// Run blocking work that needs no open journal (opening one, restoring a backup) off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> ApiResult<T> + Send + 'static) -> ApiResult<T> {
    tauri::async_runtime::spawn_blocking(f).await.map_err(join_error)?
}

/// A passphrase as typed, or the OS keyring when none is given.
fn key_source(passphrase: Option<String>) -> ApiResult<KeySource> {
    match passphrase.filter(|p| !p.is_empty()) {
        Some(p) => Ok(KeySource::Passphrase(Passphrase::new(p)?)),
        None => Ok(KeySource::Keyring),
    }
}

fn recovery(text: Option<String>) -> ApiResult<Option<RecoveryKey>> {
    Ok(match text.filter(|t| !t.trim().is_empty()) {
        Some(t) => Some(RecoveryKey::parse(&t)?),
        None => None,
    })
}

/// Start background sync when this device has a sync login (and it is not running already).
fn start_sync_if_set_up<R: Runtime>(app: &AppHandle<R>, state: &AppState) {
    let Ok(j) = state.journal() else { return };
    let signed_in = j.sync_status(None).map(|s| s.server.is_some()).unwrap_or(false);
    if signed_in && !state.sync_running() {
        state.set_sync(SyncTask::start(app.clone(), j));
    }
}

/// Open the journal in the data folder with `key`, make it the app's, and start sync if set up.
async fn open_with<R: Runtime>(app: &AppHandle<R>, state: &AppState, key: KeySource) -> ApiResult<User> {
    let opts = OpenOptions { home: state.home.clone(), key: key.clone(), user: None };
    let mut j = blocking(move || Journal::open_deferring_backup(&opts)).await?;
    j.set_progress(progress_sink(app.clone()));
    let user = j.user()?;
    state.set(j, key)?;
    // The daily backup after the unlock, not before it (seconds for a large journal).
    state.backup_in_background();
    start_sync_if_set_up(app, state);
    Ok(user)
}

// ----- first run, unlock, demo data, restore ------------------------------------------------------------

#[tauri::command]
pub async fn launch_state(state: State<'_, AppState>) -> Cmd<LaunchState> {
    let home = state.home.clone();
    blocking(move || Journal::launch_state(&home)).await
}

/// The user the open journal acts for; none while locked.
#[tauri::command]
pub async fn session(state: State<'_, AppState>) -> Cmd<Option<User>> {
    if !state.is_open() {
        return Ok(None);
    }
    state.run(|j| j.user().map(Some)).await
}

/// Create the encrypted store (key in the OS keyring, or behind `passphrase`) and open it. Returns the
/// recovery key, shown once until the user confirms it.
#[tauri::command]
pub async fn create_store<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    email: String,
    name: Option<String>,
    passphrase: Option<String>,
) -> Cmd<String> {
    let key = key_source(passphrase)?;
    let (home, k) = (state.home.clone(), key.clone());
    let (mut journal, code) = blocking(move || {
        let input =
            UserInput { email, name: name.filter(|n| !n.trim().is_empty()), tier: Some("pro".into()), password: None };
        let j = Journal::init(&home, &k, &input)?;
        let code = Maintenance::open(&home, &k)?.pending_recovery_key()?;
        Ok((j, code))
    })
    .await?;
    journal.set_progress(progress_sink(app.clone()));
    state.set(journal, key)?;
    start_sync_if_set_up(&app, &state);
    code.map(|c| c.to_string())
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "recovery key: the new store has none to show"))
}

/// Confirm the recovery key as typed back: the copy kept for showing is erased.
#[tauri::command]
pub async fn confirm_recovery_key(state: State<'_, AppState>, text: String) -> Cmd<()> {
    let (home, key) = (state.home.clone(), state.key()?);
    blocking(move || {
        Maintenance::open(&home, &key)?.confirm_recovery_key(&text).map_err(|e| {
            if e.field.is_none() {
                e.with_field("recovery_key")
            } else {
                e
            }
        })
    })
    .await
}

/// Unlock the store: with the OS keyring, a passphrase, or the recovery key.
#[tauri::command]
pub async fn unlock<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    passphrase: Option<String>,
    recovery_key: Option<String>,
) -> Cmd<User> {
    let key = match recovery(recovery_key)? {
        Some(r) => KeySource::Recovery(r),
        None => key_source(passphrase)?,
    };
    open_with(&app, &state, key).await
}

/// Replace the journal's contents with the demo portfolio (after an automatic backup) and reopen it.
#[tauri::command]
pub async fn load_demo<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> Cmd<User> {
    let key = state.key()?;
    state.close()?;
    let (home, k) = (state.home.clone(), key.clone());
    let reset = blocking(move || Maintenance::open(&home, &k)?.reset(SeedState::Demo).map(|_| ())).await;
    let reopened = open_with(&app, &state, key).await;
    reset.and(reopened)
}

/// Restore a backup file into the data folder (a machine that never had the store, or replacing the one
/// here; the replaced files are kept aside). Unlocked with the backup's passphrase or the recovery key.
#[tauri::command]
pub async fn restore_backup(
    state: State<'_, AppState>,
    file: String,
    passphrase: Option<String>,
    recovery_key: Option<String>,
) -> Cmd<LaunchState> {
    let rec = recovery(recovery_key)?;
    let key = key_source(passphrase)?;
    let current = state.close()?.unwrap_or(KeySource::Keyring);
    let (home, k) = (state.home.clone(), key.clone());
    let source = if matches!(key, KeySource::Keyring) { current } else { k };
    blocking(move || {
        Maintenance::restore_file(&home, &PathBuf::from(file), &source, rec.as_ref())?;
        Journal::launch_state(&home)
    })
    .await
}

/// Back the store up to `file` (a new file); checked before it counts.
#[tauri::command]
pub async fn backup_now(state: State<'_, AppState>, file: String) -> Cmd<String> {
    let (home, key) = (state.home.clone(), state.key()?);
    blocking(move || {
        Maintenance::open(&home, &key)?.backup(&PathBuf::from(&file))?;
        Ok(file)
    })
    .await
}

// ----- accounts, risk, sizing ------------------------------------------------------------------------------

#[tauri::command]
pub async fn list_accounts(state: State<'_, AppState>) -> Cmd<Vec<AccountSummary>> {
    state.run(Journal::list_accounts).await
}

#[tauri::command]
pub async fn add_account(state: State<'_, AppState>, input: AccountInput) -> Cmd<AccountSummary> {
    state.run(move |j| j.add_account(&input)).await
}

#[tauri::command]
pub async fn delete_account(state: State<'_, AppState>, account: String) -> Cmd<dto::AccountId> {
    state.run(move |j| j.delete_account(&account)).await
}

#[tauri::command]
pub async fn set_risk(state: State<'_, AppState>, account: String, input: RiskInput) -> Cmd<dto::RiskSettings> {
    state.run(move |j| j.set_risk(Some(&account), &input)).await
}

#[tauri::command]
pub async fn set_account_time_zone(
    state: State<'_, AppState>,
    account: String,
    time_zone: String,
) -> Cmd<AccountSummary> {
    state.run(move |j| j.set_account_time_zone(&account, &time_zone)).await
}

#[tauri::command]
pub async fn position_size(state: State<'_, AppState>, input: SizeInput) -> Cmd<dto::PositionSize> {
    state.run(move |j| j.position_size(&input)).await
}

// ----- dashboard and trades --------------------------------------------------------------------------------

#[tauri::command]
pub async fn dashboard(state: State<'_, AppState>, input: DashboardInput) -> Cmd<Dashboard> {
    state.run(move |j| j.dashboard(&input)).await
}

#[tauri::command]
pub async fn trade_page(state: State<'_, AppState>, input: TradePageInput) -> Cmd<TradePage> {
    state.run(move |j| j.trade_page(&input)).await
}

#[tauri::command]
pub async fn trade_setups(state: State<'_, AppState>) -> Cmd<Vec<String>> {
    state.run(Journal::trade_setups).await
}

#[tauri::command]
pub async fn trade_detail(state: State<'_, AppState>, trade: String) -> Cmd<TradeDetail> {
    state.run(move |j| j.show_trade(&trade)).await
}

#[tauri::command]
pub async fn check_new_trade(state: State<'_, AppState>, input: OpenTradeInput) -> Cmd<dto::RiskCheck> {
    state.run(move |j| j.check_new_trade(&input)).await
}

#[tauri::command]
pub async fn open_trade(state: State<'_, AppState>, input: NewTradeInput) -> Cmd<TradeDetail> {
    state.run(move |j| j.open_trade_with_checklist(&input)).await
}

#[tauri::command]
pub async fn add_execution(state: State<'_, AppState>, trade: String, input: ExecutionInput) -> Cmd<TradeDetail> {
    state.run(move |j| j.add_execution(&trade, &input)).await
}

#[tauri::command]
pub async fn close_trade(state: State<'_, AppState>, trade: String, input: CloseInput) -> Cmd<TradeDetail> {
    state.run(move |j| j.close_trade(&trade, &input)).await
}

#[tauri::command]
pub async fn edit_trade(state: State<'_, AppState>, trade: String, input: EditTradeInput) -> Cmd<TradeDetail> {
    state.run(move |j| j.edit_trade(&trade, &input)).await
}

#[tauri::command]
pub async fn delete_trade(state: State<'_, AppState>, trade: String) -> Cmd<dto::TradeId> {
    state.run(move |j| j.delete_trade(&trade)).await
}

#[tauri::command]
pub async fn edit_execution(
    state: State<'_, AppState>,
    execution: String,
    input: ExecutionEditInput,
) -> Cmd<TradeDetail> {
    state.run(move |j| j.edit_execution(&execution, &input)).await
}

#[tauri::command]
pub async fn delete_execution(state: State<'_, AppState>, execution: String) -> Cmd<dto::ExecutionId> {
    state.run(move |j| j.delete_execution(&execution)).await
}

#[tauri::command]
pub async fn merge_trades(state: State<'_, AppState>, input: MergeTradesInput) -> Cmd<TradeDetail> {
    state.run(move |j| j.merge_trades(&input)).await
}

#[tauri::command]
pub async fn split_trade(state: State<'_, AppState>, input: SplitTradeInput) -> Cmd<SplitResult> {
    state.run(move |j| j.split_trade(&input)).await
}

// ----- journal: notes, checklists, broker connections -------------------------------------------------------

#[tauri::command]
pub async fn add_note(
    state: State<'_, AppState>,
    body: String,
    trade: Option<String>,
    account: Option<String>,
    kind: Option<String>,
) -> Cmd<dto::Note> {
    state.run(move |j| j.add_note(&body, trade.as_deref(), account.as_deref(), kind.as_deref())).await
}

#[tauri::command]
pub async fn day_notes(state: State<'_, AppState>) -> Cmd<Vec<dto::DayNotes>> {
    state.run(|j| j.day_notes(500)).await
}

#[tauri::command]
pub async fn list_checklists(state: State<'_, AppState>) -> Cmd<Vec<dto::Checklist>> {
    state.run(Journal::list_checklists).await
}

#[tauri::command]
pub async fn add_checklist(state: State<'_, AppState>, input: ChecklistInput) -> Cmd<dto::Checklist> {
    state.run(move |j| j.add_checklist(&input)).await
}

#[tauri::command]
pub async fn answer_checklist(
    state: State<'_, AppState>,
    trade: String,
    checklist: String,
    item: u32,
    checked: bool,
    comment: Option<String>,
) -> Cmd<Vec<dto::ChecklistAnswer>> {
    state.run(move |j| j.answer_checklist(&trade, &checklist, item, checked, comment.as_deref())).await
}

#[tauri::command]
pub async fn list_broker_connections(state: State<'_, AppState>) -> Cmd<Vec<dto::BrokerConnection>> {
    state.run(Journal::list_broker_connections).await
}

/// The secret is sealed on this device by the core and never comes back; it is zeroed here once used.
#[tauri::command]
pub async fn add_broker_connection(
    state: State<'_, AppState>,
    broker: String,
    label: String,
    account: Option<String>,
    key_hint: Option<String>,
    secret: String,
) -> Cmd<dto::BrokerConnection> {
    let secret = zeroize::Zeroizing::new(secret);
    state
        .run(move |j| {
            j.add_broker_connection(&broker, &label, account.as_deref(), key_hint.as_deref(), secret.trim().as_bytes())
        })
        .await
}

// ----- sync ---------------------------------------------------------------------------------------------------

#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> Cmd<dto::SyncStatus> {
    state.run(|j| j.sync_status(None)).await
}

/// Sign in with the connection string `server add-user` printed and the password (kept in the OS
/// keyring), then start background sync.
#[tauri::command]
pub async fn sync_login<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    server: String,
    password: String,
) -> Cmd<LoginOutcome> {
    let password = zeroize::Zeroizing::new(password);
    let outcome = state
        .run(move |j| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ApiError::new(ErrorCode::Internal, format!("sync: runtime: {e}")))?;
            rt.block_on(j.sync_login(&LoginServer::Url(server.trim().to_string()), &password, Limits::DEFAULT))
        })
        .await?;
    state.stop_sync();
    start_sync_if_set_up(&app, &state);
    Ok(outcome)
}

/// One round now (the palette's "sync now"); background sync goes on.
#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>) -> Cmd<dto::SyncReport> {
    state
        .run(|j| {
            let target = j.sync_target(&settings())?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ApiError::new(ErrorCode::Internal, format!("sync: runtime: {e}")))?;
            rt.block_on(j.sync_round(&target, Limits::DEFAULT))
        })
        .await
}

#[tauri::command]
pub async fn sync_conflicts(state: State<'_, AppState>) -> Cmd<Vec<dto::ConflictEntry>> {
    state.run(Journal::sync_conflicts).await
}

#[tauri::command]
pub async fn sync_restore(state: State<'_, AppState>, seq: i64) -> Cmd<dto::ConflictEntry> {
    state.run(move |j| j.sync_restore(seq)).await
}

#[tauri::command]
pub async fn sync_review(state: State<'_, AppState>) -> Cmd<SyncReview> {
    state.run(Journal::sync_review).await
}

// ----- broker imports -------------------------------------------------------------------------------------------

/// Read a broker file and show what importing it would do (nothing is written).
#[tauri::command]
pub async fn import_preview(state: State<'_, AppState>, input: ImportInput) -> Cmd<ImportPreview> {
    state.run(move |j| j.import_preview(&j.import_read(&input)?)).await
}

/// Import a broker file as one undoable batch (the file is read again: what the preview showed is what
/// a file unchanged since then imports).
#[tauri::command]
pub async fn import_commit(state: State<'_, AppState>, input: ImportInput) -> Cmd<ImportPreview> {
    state.run(move |j| j.import_commit(&j.import_read(&input)?)).await
}

#[tauri::command]
pub async fn import_list(state: State<'_, AppState>, account: Option<String>) -> Cmd<Vec<dto::ImportBatch>> {
    state.run(move |j| j.import_list(account.as_deref())).await
}

#[tauri::command]
pub async fn import_undo(state: State<'_, AppState>, batch: String) -> Cmd<UndoResult> {
    state.run(move |j| j.import_undo(&batch)).await
}
