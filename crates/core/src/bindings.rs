//! The TypeScript types of the API, generated from the Rust definitions (ts-rs) into `ui/src/bindings`.
//!
//! The app's UI is written against these files, which are committed: a change to an API type that is not
//! carried into them fails `typescript_bindings_are_current`. To regenerate after changing a type:
//! `TRENDDOJO_UPDATE_BINDINGS=1 cargo test -p trenddojo-core bindings`.

use std::path::Path;

use ts_rs::TS;

use crate::dto;
use crate::error::ApiError;
use crate::service::*;

/// Write every API type (and what it depends on) into `dir` as one `.ts` file per type.
pub fn export_all(dir: &Path) -> Result<(), ts_rs::ExportError> {
    macro_rules! export {
        ($($t:ty),+ $(,)?) => { $( <$t>::export_all_to(dir)?; )+ };
    }
    export!(
        ApiError,
        dto::User,
        dto::AccountSummary,
        dto::PositionSize,
        dto::Checklist,
        dto::ChecklistAnswer,
        dto::Note,
        dto::BrokerConnection,
        dto::SyncReport,
        dto::SyncStatus,
        dto::SyncEvent,
        dto::Progress,
        dto::UpdateCheck,
        dto::UpdateInstalled,
        crate::Action,
        dto::ConflictEntry,
        dto::KeptAside,
        dto::ImportBatch,
        dto::FillSource,
        ImportInput,
        ImportPreview,
        UndoResult,
        TradeDetail,
        ReviewItems,
        SyncReview,
        AccountStats,
        LoginOutcome,
        OpenTradeInput,
        ExecutionInput,
        CloseInput,
        EditTradeInput,
        ExecutionEditInput,
        TradeListInput,
        MergeTradesInput,
        SplitTradeInput,
        SplitResult,
        AccountInput,
        RiskInput,
        SizeInput,
        ChecklistInput,
        UserInput,
        // App
        dto::LaunchState,
        dto::DayNotes,
        dto::RiskCheck,
        dto::SyncActivity,
        dto::CalendarDay,
        DashboardInput,
        Dashboard,
        TradePageInput,
        TradePage,
        NewTradeInput,
        ChecklistAnswerInput,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn read_dir(dir: &Path) -> BTreeMap<String, String> {
        let mut files = BTreeMap::new();
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                if name.ends_with(".ts") {
                    files.insert(name, std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        files
    }

    #[test]
    fn typescript_bindings_are_current() {
        let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings");
        let fresh = tempfile::tempdir().expect("temp dir");
        export_all(fresh.path()).expect("export the bindings");
        if std::env::var_os("TRENDDOJO_UPDATE_BINDINGS").is_some() {
            let _ = std::fs::remove_dir_all(&committed);
            std::fs::create_dir_all(&committed).expect("bindings dir");
            for (name, text) in read_dir(fresh.path()) {
                std::fs::write(committed.join(name), text).expect("write a binding");
            }
        }
        let (want, have) = (read_dir(fresh.path()), read_dir(&committed));
        assert!(!want.is_empty(), "the export produced files");
        let missing: Vec<&String> = want.keys().filter(|k| !have.contains_key(*k)).collect();
        let stale: Vec<&String> = have.keys().filter(|k| !want.contains_key(*k)).collect();
        let changed: Vec<&String> =
            want.iter().filter(|(k, v)| have.get(*k).is_some_and(|h| h != *v)).map(|(k, _)| k).collect();
        assert!(
            missing.is_empty() && stale.is_empty() && changed.is_empty(),
            "ui/src/bindings is out of date (missing {missing:?}, no longer generated {stale:?}, changed {changed:?}): \
             run TRENDDOJO_UPDATE_BINDINGS=1 cargo test -p trenddojo-core bindings"
        );
    }
}
