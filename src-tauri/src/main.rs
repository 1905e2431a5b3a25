//! `trenddojo-app`: the desktop app. Everything is in the library (so the command tests can build the
//! same app on Tauri's mock runtime); this only starts it.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    trenddojo_app::run()
}
