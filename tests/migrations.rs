//! Every migration is reversible: for each N, migrating up to N and back down to N-1 gives exactly the
//! schema of a store migrated straight to N-1. Also: the compiled list matches the files, and an existing
//! store is backed up before it is migrated.

use crate::common;

use trenddojo_store::migrations::{self, latest_version, schema_fingerprint, MIGRATIONS};

fn fresh(dir: &std::path::Path) -> trenddojo_store::Store {
    // A store with nothing applied: init creates the latest schema, so roll it back to zero first.
    let store = trenddojo_store::Store::init(dir, &common::key()).expect("init");
    store.with_writer(|c| migrations::rollback(c, 0).map(|_| ())).expect("rollback to 0");
    store
}

#[test]
fn each_migration_rolls_back_to_the_previous_schema() {
    let base = tempfile::tempdir().unwrap();
    for m in MIGRATIONS {
        let n = m.version;
        let a = fresh(&base.path().join(format!("up-{n}")));
        let b = fresh(&base.path().join(format!("direct-{}", n - 1)));
        let (at_n, after_down) = a
            .with_writer(|c| {
                migrations::migrate(c, Some(n))?;
                let at_n = schema_fingerprint(c)?;
                let done = migrations::rollback(c, n - 1)?;
                assert_eq!(done, vec![n], "exactly V{n} was rolled back");
                Ok((at_n, schema_fingerprint(c)?))
            })
            .unwrap();
        let direct = b
            .with_writer(|c| {
                migrations::migrate(c, Some(n - 1))?;
                schema_fingerprint(c)
            })
            .unwrap();
        assert_eq!(after_down, direct, "V{n} {} down must restore the schema of V{}", m.name, n - 1);
        assert_ne!(at_n, direct, "V{n} {} must change the schema", m.name);
        // And back up again: the round trip is repeatable.
        let again = a
            .with_writer(|c| {
                migrations::migrate(c, Some(n))?;
                schema_fingerprint(c)
            })
            .unwrap();
        assert_eq!(again, at_n, "V{n} re-applied after its rollback gives the same schema");
    }
}

#[test]
fn compiled_migrations_match_the_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/local");
    for sub in ["up", "down"] {
        let mut files: Vec<String> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut expected: Vec<String> = MIGRATIONS.iter().map(|m| format!("V{}__{}.sql", m.version, m.name)).collect();
        expected.sort();
        assert_eq!(files, expected, "migrations/local/{sub} must hold exactly the compiled migrations");
    }
    let versions: Vec<u32> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(versions, (1..=latest_version()).collect::<Vec<_>>(), "versions are 1..=N without gaps");
}

#[test]
fn cli_rollback_and_migrate_with_automatic_backups() {
    let h = common::Home::init();
    h.json(&["account", "add", "--name", "Keep", "--currency", "USD", "--balance", "1"]);
    let last = latest_version();
    let down = h.json(&["db", "rollback", "--to", &(last - 1).to_string()]);
    assert_eq!(down["to_version"], last - 1, "rolled back one step");
    assert!(down["backup"].as_str().is_some_and(|b| std::path::Path::new(b).exists()), "a backup was taken: {down}");
    let status = h.json(&["db", "status"]);
    assert_eq!(status["pending"].as_array().map(Vec::len), Some(1), "the newest migration is pending: {status}");
    let up = h.json(&["db", "migrate"]);
    assert_eq!(up["applied"], serde_json::json!([last]), "the newest migration applied again");
    let accounts = h.json(&["account", "list"]);
    assert_eq!(accounts[0]["name"], "Keep", "data survives a rollback of an unrelated migration");

    // Opening an old store for normal work migrates it and takes a backup first.
    h.json(&["db", "rollback", "--to", "3"]);
    let before = common::files_under(&h.path().join("backups")).len();
    h.json(&["account", "list"]);
    let after = common::files_under(&h.path().join("backups")).len();
    assert_eq!(after, before + 1, "an automatic backup precedes the automatic migration");
    assert_eq!(h.json(&["db", "status"])["schema_version"], latest_version(), "migrated to the latest");
}
