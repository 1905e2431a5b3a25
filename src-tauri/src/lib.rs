//! TrendDojo's desktop shell: a thin Tauri 2 crate over `trenddojo-core`, exactly as the CLI is a thin
//! clap crate over it (see ARCHITECTURE.md).
//!
//! - [`commands`]: one IPC command per use case, returning the core's DTOs or its `ApiError` as-is.
//! - [`state`]: the open journal shared with the background sync loop, and a clean close on quit.
//! - [`sync_task`]: the core's watch loop on its own thread, reporting `sync-activity` events.
//! - [`update`]: signed updates (Tauri's updater plugin), the journal backed up before one installs.
//!
//! Configuration has one source, `tauri.conf.json` at the repository root (`src-tauri/tauri.conf.json` is a
//! symbolic link to it). The window's capability (`capabilities/main.json`) grants only the commands the UI
//! calls; `build.rs` turns [`COMMANDS`] into permissions, and a test holds the three lists equal.
//!
//! The app shares its data folder with the CLI: `--home DIR`, else `TRENDDOJO_HOME`, else
//! `$XDG_DATA_HOME/trenddojo` (`~/.local/share/trenddojo`), so `trenddojo stats` reads the same store.

pub mod commands;
pub mod state;
pub mod sync_task;
pub mod update;

use std::path::PathBuf;

use tauri::{Manager, Runtime};

pub use state::AppState;

/// Every command the shell offers (the same list `build.rs` makes permissions from).
pub const COMMANDS: &[&str] = &include!("command_names.in");

/// The data folder: `--home DIR` (or `--home=DIR`) in `args`, else `TRENDDOJO_HOME`, else the CLI's default.
pub fn data_folder(args: &[String]) -> PathBuf {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--home" {
            if let Some(dir) = it.next() {
                return PathBuf::from(dir);
            }
        } else if let Some(dir) = a.strip_prefix("--home=") {
            return PathBuf::from(dir);
        }
    }
    if let Some(h) = std::env::var_os("TRENDDOJO_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("trenddojo")
}

/// The app's commands and state on any runtime (the real one, or Tauri's mock runtime in tests).
pub fn builder<R: Runtime>(b: tauri::Builder<R>, home: PathBuf) -> tauri::Builder<R> {
    use commands::*;
    use update::{check_update, install_update};
    b.manage(AppState::new(home)).invoke_handler(tauri::generate_handler![
        launch_state,
        session,
        create_store,
        confirm_recovery_key,
        unlock,
        load_demo,
        restore_backup,
        backup_now,
        list_accounts,
        add_account,
        delete_account,
        set_risk,
        set_account_time_zone,
        position_size,
        dashboard,
        trade_page,
        trade_setups,
        trade_detail,
        check_new_trade,
        open_trade,
        add_execution,
        close_trade,
        edit_trade,
        delete_trade,
        edit_execution,
        delete_execution,
        merge_trades,
        split_trade,
        add_note,
        day_notes,
        list_checklists,
        add_checklist,
        answer_checklist,
        list_broker_connections,
        add_broker_connection,
        sync_status,
        sync_login,
        sync_now,
        sync_conflicts,
        sync_restore,
        sync_review,
        import_preview,
        import_commit,
        import_list,
        import_undo,
        check_update,
        install_update,
    ])
}

/// Paint the page without WebKitGTK's accelerated compositing (unless the user chose otherwise by setting
/// `WEBKIT_DISABLE_COMPOSITING_MODE` themselves, `0` to keep it on). The UI is flat boxes, text and one
/// canvas chart: nothing that needs GPU layers. Accelerated compositing keeps a GL context and its buffers
/// in the web process (a software GL stack where there is no GPU driver, as under Xvfb) and is the usual
/// cause of blank or flickering WebKitGTK windows on some drivers. Measured (docs/benchmarks.md, idle on
/// the dashboard): the web process 222 → 120 MiB PSS, all processes 353 → 255 MiB, cold start
/// 728 → 633 ms. Called first thing in `main`'s thread, before GTK or any other thread starts.
fn software_compositing() {
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
}

/// Start the app; returns when its window is closed.
pub fn run() -> std::process::ExitCode {
    software_compositing();
    let args: Vec<String> = std::env::args().collect();
    let home = data_folder(&args);
    let app = builder(tauri::Builder::default(), home)
        // First: a second launch hands its arguments to this one, which brings its window forward.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.show();
                let _ = w.set_focus();
            }
        }))
        .plugin(tauri_plugin_dialog::init())
        // Signed updates: the commands in `update` drive it (the page is granted none of its own commands).
        .plugin(tauri_plugin_updater::Builder::new().build())
        .build(tauri::generate_context!());
    let app = match app {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: the window could not be created: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            // Stop sync, push what is pending (bounded), and close the store before the process ends.
            handle.state::<AppState>().shutdown();
        }
    });
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests;
