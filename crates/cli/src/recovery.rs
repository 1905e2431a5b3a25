//! The CLI's recovery commands: `key ...`, `db restore`, `db recover`, `db backups`, `export`,
//! `import-backup`, and the recovery key's announcement and confirmation at `init`.
//!
//! Secrets read here (recovery keys, new passphrases) are zeroed when dropped and never echoed back in
//! errors. The recovery key is printed on stdout exactly when the user asked for it (`init`, `key
//! show-recovery`, `key create-recovery`), never on stderr where logs collect.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use zeroize::Zeroizing;

use trenddojo_core::maintenance_types::{BackupEntry, BackupOutcome, RecoveryState, RestoreOutcome};
use trenddojo_core::{ApiError, ApiResult, ErrorCode, Journal, KeySource, Maintenance, Passphrase, RecoveryKey};

use crate::args::{ExportArgs, KeyCmd};
use crate::{out, Output, Stdin};

/// What `init` (and `key create-recovery`) print around a new recovery key.
pub fn announce(code: &str) -> String {
    format!(
        "\nRecovery key (shown until you confirm it; write it down and keep it away from this computer):\n\n    {code}\n\n\
         It unlocks this store and every backup of it if the passphrase is forgotten or this machine (and its keyring) \
         is lost.\n"
    )
}

pub const CONFIRM_LATER: &str = "Confirm you wrote it down with `trenddojo key confirm-recovery` (it reads the key \
from standard input); until then `trenddojo key show-recovery` shows it again.\n";

/// Ask the user on the terminal to type the recovery key back; returns what to print afterwards.
pub fn confirm_interactively(m: &Maintenance) -> String {
    print!("Type the recovery key to confirm you wrote it down (or press Enter to do it later): ");
    let _ = std::io::stdout().flush();
    let mut line = Zeroizing::new(String::new());
    if std::io::stdin().lock().read_line(&mut line).is_err() || line.trim().is_empty() {
        return format!("\n{CONFIRM_LATER}");
    }
    match m.confirm_recovery_key(&line) {
        Ok(()) => "Confirmed. The recovery key is no longer kept on this machine: your copy is the only one.\n".into(),
        Err(e) => format!("That is not it ({}).\n{CONFIRM_LATER}", e.message),
    }
}

/// A new passphrase: the next line of standard input, or typed twice at a prompt.
fn new_passphrase(from_stdin: bool, stdin: &mut Option<Stdin>) -> ApiResult<Passphrase> {
    if from_stdin {
        let line = Stdin::next(stdin)?.ok_or_else(|| {
            ApiError::invalid(
                "new passphrase",
                "--new-passphrase-stdin given but there is no new passphrase on standard input",
            )
        })?;
        return Ok(Passphrase::new(line.as_str())?);
    }
    if !std::io::stdin().is_terminal() {
        return Err(ApiError::invalid(
            "new passphrase",
            "standard input is not a terminal to prompt on; pass --new-passphrase-stdin",
        ));
    }
    let prompt = |p: &str| {
        rpassword::prompt_password(p).map(Zeroizing::new).map_err(|e| {
            ApiError::invalid("new passphrase", format!("cannot prompt ({e}); pass --new-passphrase-stdin"))
        })
    };
    let first = prompt("New passphrase: ")?;
    let again = prompt("New passphrase again: ")?;
    if first != again {
        return Err(ApiError::invalid("new passphrase", "the two entries differ"));
    }
    Ok(Passphrase::new(first.as_str())?)
}

fn state_text(s: RecoveryState) -> &'static str {
    match s {
        RecoveryState::None => "none (make one with `trenddojo key create-recovery`)",
        RecoveryState::Unconfirmed => "created, not confirmed yet (`trenddojo key confirm-recovery`)",
        RecoveryState::Confirmed => "confirmed (only your written copy exists)",
    }
}

/// `trenddojo key ...`
pub fn key(cmd: &KeyCmd, home: &Path, key: &KeySource, stdin: &mut Option<Stdin>) -> ApiResult<Output> {
    let m = Maintenance::open(home, key)?;
    match cmd {
        KeyCmd::Status => {
            let s = m.key_status();
            let text = format!(
                "Store {}\n  key: {}\n  recovery key: {}\n  key info: {}\n",
                s.store_id,
                if s.method == "keyring" { "in the OS keyring" } else { "protected by a passphrase" },
                state_text(s.recovery_key),
                s.keyinfo.display()
            );
            out(&s, text)
        }
        KeyCmd::ShowRecovery => {
            let code = m.show_recovery_key()?;
            let text = format!("{}{CONFIRM_LATER}", announce(&code));
            out(&serde_json::json!({ "recovery_key": code.as_str(), "state": RecoveryState::Unconfirmed }), text)
        }
        KeyCmd::ConfirmRecovery => {
            let line = Stdin::next(stdin)?.ok_or_else(|| {
                ApiError::invalid("recovery key", "standard input is empty; give the recovery key on it")
            })?;
            m.confirm_recovery_key(&line)?;
            out(
                &serde_json::json!({ "confirmed": true, "state": RecoveryState::Confirmed }),
                "Confirmed. The recovery key is no longer kept on this machine: your copy is the only one.\n".into(),
            )
        }
        KeyCmd::CreateRecovery => {
            let code = m.create_recovery_key()?;
            let text = format!(
                "{}Backups made before keep opening with the old recovery key (or their passphrase); backups from \
                 now on open with this one.\n{CONFIRM_LATER}",
                announce(&code)
            );
            out(&serde_json::json!({ "recovery_key": code.as_str(), "state": RecoveryState::Unconfirmed }), text)
        }
        KeyCmd::ChangePassphrase { new_passphrase_stdin } | KeyCmd::UsePassphrase { new_passphrase_stdin } => {
            let p = new_passphrase(*new_passphrase_stdin, stdin)?;
            m.change_passphrase(&p)?;
            out(
                &serde_json::json!({ "method": "passphrase" }),
                "The store key is now protected by the new passphrase. Backups made before open with the passphrase \
                 of their day or the recovery key.\n"
                    .into(),
            )
        }
        KeyCmd::UseKeyring => {
            m.use_keyring()?;
            out(
                &serde_json::json!({ "method": "keyring" }),
                "The store key is now kept in the OS keyring; no passphrase is needed on this machine. Backups open \
                 with the recovery key (and those made before, with their passphrase).\n"
                    .into(),
            )
        }
    }
}

pub fn render_backup(b: &BackupOutcome) -> String {
    let opens_with = match (b.passphrase, b.recovery_key) {
        (true, true) => "the passphrase in use now or the recovery key, on any machine",
        (true, false) => "the passphrase in use now, on any machine (this store has no recovery key: `trenddojo key create-recovery`)",
        (false, true) => "the recovery key on any machine (or this machine's keyring)",
        (false, false) => "this machine's keyring only (this store has no recovery key: `trenddojo key create-recovery`)",
    };
    format!(
        "Backed up to {} ({} bytes, schema v{}, checked). It opens with {opens_with}.\n",
        b.path.display(),
        b.bytes,
        b.schema_version
    )
}

pub fn render_backups(all: &[BackupEntry], folder: &Path) -> String {
    if all.is_empty() {
        return format!("No backups in {}.\n", folder.display());
    }
    let mut s = format!("Backups in {} (newest first):\n", folder.display());
    for b in all {
        let state = match (b.intact, &b.problem) {
            (Some(true), _) => "intact".to_string(),
            (Some(false), Some(p)) => format!("DAMAGED: {p}"),
            (Some(false), None) => "DAMAGED".to_string(),
            (None, _) => "plain (checked when restored)".to_string(),
        };
        s.push_str(&format!(
            "  {}  {:<12} {:>10} bytes  {}  {}\n",
            if b.created_at.is_empty() { "-" } else { b.created_at.as_str() },
            b.kind,
            b.bytes,
            b.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            state
        ));
    }
    s
}

/// `trenddojo db restore FILE`
pub fn restore(home: &Path, file: &Path, key: &KeySource, recovery: Option<&RecoveryKey>) -> ApiResult<Output> {
    let r: RestoreOutcome = Maintenance::restore_file(home, file, key, recovery)?;
    let mut text = format!(
        "Restored {} (backup of store {}{}, schema v{}{}) into {}.\n",
        file.display(),
        r.store_id,
        r.created_at.as_deref().map(|t| format!(" made {t}")).unwrap_or_default(),
        r.backup_schema_version,
        if r.schema_version != r.backup_schema_version {
            format!(", migrated to v{}", r.schema_version)
        } else {
            String::new()
        },
        home.display()
    );
    text.push_str(&format!(
        "  opened with: {}\n",
        match r.unlocked_with {
            trenddojo_core::maintenance_types::UnlockedWith::StoreKey => "this store's own key",
            trenddojo_core::maintenance_types::UnlockedWith::RecoveryKey => "the recovery key",
            trenddojo_core::maintenance_types::UnlockedWith::Passphrase => "the passphrase",
            trenddojo_core::maintenance_types::UnlockedWith::Keyring => "the key in this machine's keyring",
        }
    ));
    match &r.previous_data_saved_to {
        Some(p) => text.push_str(&format!(
            "  the replaced {}files were moved to {} (open them with --home {})\n",
            if r.previous_was_damaged { "(damaged) " } else { "" },
            p.display(),
            p.display()
        )),
        None => text.push_str("  the data folder held no store before\n"),
    }
    if r.keyinfo_created {
        text.push_str(&format!(
            "  the restored store's key is now {}\n",
            if r.key_method == "keyring" {
                "in this machine's OS keyring"
            } else {
                "protected by the passphrase given"
            }
        ));
    }
    text.push_str(&format!("  check: {}\n", r.check));
    out(&r, text)
}

/// `trenddojo db recover`
pub fn recover(home: &Path, key: &KeySource) -> ApiResult<Output> {
    let r = Maintenance::recover(home, key)?;
    let mut text =
        format!("Salvaged the store in {} into a new one (schema v{}).\n", home.display(), r.salvage.schema_version);
    match (&r.salvage.compared_with, &r.salvage.compared_backup_created_at) {
        (Some(b), Some(at)) => {
            text.push_str(&format!("Rows per table, against the newest good backup {} (made {at}):\n", b.display()))
        }
        _ => text.push_str("Rows per table (no good backup to compare with):\n"),
    }
    text.push_str(&format!("  {:<28} {:>10} {:>10}  notes\n", "table", "salvaged", "in backup"));
    for t in &r.salvage.tables {
        if t.salvaged == 0 && t.in_backup.unwrap_or(0) == 0 && t.damaged_regions == 0 {
            continue;
        }
        let mut notes = Vec::new();
        if t.damaged_regions > 0 {
            notes.push(format!("{} unreadable region(s) skipped", t.damaged_regions));
        }
        if t.dropped_orphans > 0 {
            notes.push(format!("{} row(s) dropped: their parent was lost", t.dropped_orphans));
        }
        text.push_str(&format!(
            "  {:<28} {:>10} {:>10}  {}\n",
            t.table,
            t.salvaged,
            t.in_backup.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
            notes.join("; ")
        ));
    }
    for n in &r.salvage.notes {
        text.push_str(&format!("  note: {n}\n"));
    }
    if r.trades_recomputed > 0 {
        text.push_str(&format!(
            "  {} trade summaries recomputed from the executions that survived\n",
            r.trades_recomputed
        ));
    }
    if let Some(p) = &r.salvage.previous_data_saved_to {
        text.push_str(&format!("  the damaged files were moved to {}\n", p.display()));
    }
    text.push_str(&format!("  check: {}\n", r.check_summary));
    if !r.check_ok {
        return Err(ApiError::new(
            ErrorCode::Corrupt,
            format!("recover: the salvaged store does not pass its checks: {}", r.check_summary),
        ));
    }
    out(&r, text)
}

/// `trenddojo export --format json|csv FILE`
pub fn export(a: &ExportArgs, j: &Journal) -> ApiResult<Output> {
    let e = j.export(&a.format, &a.file)?;
    let text = if e.format == "csv" {
        format!(
            "Exported {} execution(s) of {} trade(s) in {} account(s) to {} (CSV, trenddojo-v1).\n",
            e.executions,
            e.trades,
            e.accounts,
            e.file.display()
        )
    } else {
        format!(
            "Exported {} user(s), {} account(s), {} trade(s), {} execution(s), {} note(s) and {} checklist answer(s) \
             to {} (JSON; read it back with `trenddojo import-backup`). The file is not encrypted: keep it safe.\n",
            e.users,
            e.accounts,
            e.trades,
            e.executions,
            e.notes,
            e.checklist_answers,
            e.file.display()
        )
    };
    out(&e, text)
}

/// `trenddojo import-backup FILE`
pub fn import_backup(file: &Path, j: &Journal) -> ApiResult<Output> {
    let r = j.import_backup(file)?;
    let text = format!(
        "Imported {} account(s), {} trade(s), {} execution(s), {} note(s), {} checklist(s) and {} answer(s) from {}{}.\n",
        r.accounts,
        r.trades,
        r.executions,
        r.notes,
        r.checklists,
        r.checklist_answers,
        file.display(),
        if r.users_created.is_empty() { String::new() } else { format!("; new users: {}", r.users_created.join(", ")) }
    );
    out(&r, text)
}
