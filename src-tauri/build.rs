//! Builds the Tauri context and the app's command permissions.
//!
//! The commands are listed here so that Tauri generates an `allow-<command>` permission for each; the
//! window's capability (`capabilities/main.json`) grants exactly the ones the UI calls, so a command the
//! UI does not use cannot be invoked from the page even if one is added to the handler by mistake.
//!
//! The UI is embedded at compile time from `../ui/dist`. Without it (a checkout where `npm run build` has
//! not run) a one-page placeholder is written there so the workspace still builds; it tells whoever opens
//! the app how to build the real interface (`scripts/test.sh` and `scripts/app.sh` always build it first).

const COMMANDS: &[&str] = &include!("src/command_names.in");

fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist");
    let index = dist.join("index.html");
    if !index.exists() {
        let _ = std::fs::create_dir_all(&dist);
        let _ = std::fs::write(
            &index,
            "<!doctype html><meta charset=utf-8><title>TrendDojo</title><body style=\"font-family:sans-serif\">\
             <h1>TrendDojo</h1><p>The interface was not built: run <code>npm ci &amp;&amp; npm run build</code> in \
             <code>ui/</code>, then build the app again.</p>",
        );
    }
    println!("cargo:rerun-if-changed=../ui/dist");
    println!("cargo:rerun-if-changed=src/command_names.in");
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .unwrap_or_else(|e| panic!("tauri build: {e:#}"));
}
