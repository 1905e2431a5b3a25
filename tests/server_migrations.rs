//! Server schema migrations against a real PostgreSQL: every migration rolls back to exactly the schema
//! before it, drift is detected, a newer schema is refused, and production changes need confirmation.

use crate::pg;

use std::process::{Command, Stdio};

use pg::Pg;
use trenddojo_server::migrations::{self, MIGRATIONS};
use trenddojo_server::ServerError;

#[tokio::test]
async fn every_migration_rolls_back_to_the_schema_before_it() {
    let pg = Pg::start().await;
    let mut c = pg.admin().await;
    let mut fingerprints = vec![migrations::fingerprint(&c).await.expect("fingerprint of the empty database")];
    assert!(fingerprints[0].is_empty(), "no trenddojo schema before V1: {}", fingerprints[0]);
    for m in MIGRATIONS {
        let applied = migrations::migrate(&mut c, Some(m.version)).await.expect("migrate up one step");
        assert_eq!(applied, vec![m.version], "exactly V{} applied", m.version);
        fingerprints.push(migrations::fingerprint(&c).await.expect("fingerprint"));
        assert_ne!(
            fingerprints[fingerprints.len() - 1],
            fingerprints[fingerprints.len() - 2],
            "V{} changes the schema",
            m.version
        );
    }
    // A provisioned user (a cluster-wide role) must not survive the rollback of V1.
    pg.user("someone@example.com", "basic", "s3cret-pass").await;
    for m in MIGRATIONS.iter().rev() {
        let n = m.version as usize;
        let up = migrations::fingerprint(&c).await.expect("fingerprint at N");
        assert_eq!(up, fingerprints[n], "the live schema at V{n} is what migrating to V{n} produced");
        let done = migrations::rollback(&mut c, m.version - 1).await.expect("roll back one step");
        assert_eq!(done, vec![m.version], "exactly V{n} rolled back");
        let down = migrations::fingerprint(&c).await.expect("fingerprint at N-1");
        assert_eq!(down, fingerprints[n - 1], "rolling back V{n} restores the schema of V{}", n - 1);
        assert_eq!(migrations::current_version(&c).await.expect("version"), m.version - 1, "history follows");
        // And forward again from N-1 reproduces N (the rollback left nothing behind that breaks it).
        migrations::migrate(&mut c, Some(m.version)).await.expect("re-apply");
        assert_eq!(migrations::fingerprint(&c).await.expect("fp"), fingerprints[n], "re-applying V{n} is identical");
        migrations::rollback(&mut c, m.version - 1).await.expect("roll back again");
    }
    let roles: i64 = c
        .query_one("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'td\\_%' OR rolname = 'trenddojo_app'", &[])
        .await
        .expect("roles")
        .get(0);
    assert_eq!(roles, 0, "rolling back V1 drops the app role and every per-user role");
}

#[tokio::test]
async fn drift_and_newer_schemas_are_reported() {
    let pg = Pg::migrated().await;
    let c = pg.admin().await;
    assert_eq!(migrations::drift(&c).await.expect("drift"), Some(vec![]), "a freshly migrated schema has no drift");
    c.batch_execute("ALTER TABLE trenddojo.trades ADD COLUMN sneaky text; DROP INDEX trenddojo.trades_symbol_idx")
        .await
        .expect("hand edit");
    let drift = migrations::drift(&c).await.expect("drift").expect("recorded");
    assert!(drift.iter().any(|l| l.starts_with("+ col trades.sneaky")), "an added column shows as +: {drift:?}");
    assert!(
        drift.iter().any(|l| l.starts_with("- index") && l.contains("trades_symbol_idx")),
        "a dropped index shows as -: {drift:?}"
    );

    c.batch_execute(
        "INSERT INTO trenddojo_meta.refinery_schema_history (version, name, applied_on, checksum) VALUES (99, 'future', 'x', '0')",
    )
    .await
    .expect("pretend a newer build migrated");
    match migrations::current_version(&c).await {
        Err(ServerError::NewerSchema { found: 99, known }) => {
            assert_eq!(known, migrations::latest_version(), "names this build's version")
        }
        other => panic!("a newer server schema must be refused, got {other:?}"),
    }
}

#[tokio::test]
async fn migrations_need_the_service_role() {
    let pg = Pg::migrated().await;
    let p = pg.user("user@example.com", "pro", "user-pass-1").await;
    let mut c = pg.connect_as(&p, "user-pass-1").await;
    match migrations::rollback(&mut c, 0).await {
        Err(ServerError::Refused(m)) => assert!(m.contains("CREATEROLE"), "explains what is needed: {m}"),
        other => panic!("a user role must not run migrations, got {other:?}"),
    }
}

fn trenddojo(home: &std::path::Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    use std::io::Write;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trenddojo"));
    cmd.env("TRENDDOJO_HOME", home)
        .env_remove("TRENDDOJO_ADMIN_URL")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn trenddojo");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(s) = stdin {
        // A command that refuses its arguments exits before reading its input: a closed pipe is fine.
        if let Err(e) = input.write_all(s.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
        }
    }
    drop(input);
    child.wait_with_output().expect("wait")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn production_changes_need_confirmation_and_are_never_seeded() {
    let pg = Pg::start().await;
    let home = pg.dir.path().join("home");
    let service = pg.service();
    let o = trenddojo(&home, &["server", "env", "set", "production", "--service", &service], None);
    assert!(o.status.success(), "saving a profile works: {}", stderr(&o));

    let o = trenddojo(&home, &["db", "migrate", "--env", "production"], None);
    assert_eq!(o.status.code(), Some(13), "production needs confirmation: {}", stderr(&o));
    assert!(
        stderr(&o).contains("V1 identity_and_tenancy") && stderr(&o).contains("--confirm production"),
        "shows the plan: {}",
        stderr(&o)
    );
    let c = pg.admin().await;
    assert_eq!(migrations::current_version(&c).await.expect("version"), 0, "nothing was applied");

    let o = trenddojo(&home, &["db", "migrate", "--env", "production", "--confirm", "yes"], None);
    assert_eq!(o.status.code(), Some(2), "a wrong confirmation word is bad input: {}", stderr(&o));
    assert_eq!(migrations::current_version(&c).await.expect("version"), 0, "still nothing applied");

    let o = trenddojo(&home, &["--json", "db", "migrate", "--env", "production", "--confirm", "production"], None);
    assert!(o.status.success(), "confirmed: {}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(r["to_version"], migrations::latest_version(), "migrated to the newest: {r}");

    let o = trenddojo(&home, &["db", "rollback", "--env", "production"], None);
    assert_eq!(o.status.code(), Some(13), "rolling back production needs confirmation too: {}", stderr(&o));

    // Naming the production server by URL instead of by profile does not sidestep the confirmation.
    let o = trenddojo(&home, &["db", "rollback", "--server", &service], None);
    assert_eq!(o.status.code(), Some(13), "--server pointing at production needs confirmation: {}", stderr(&o));

    let o = trenddojo(&home, &["db", "seed", "--env", "production", "--state", "demo"], None);
    assert_eq!(o.status.code(), Some(11), "seeding production is refused: {}", stderr(&o));
    let users: i64 = c.query_one("SELECT count(*) FROM trenddojo.users", &[]).await.expect("count").get(0);
    assert_eq!(users, 0, "no seed user reached production");

    let o = trenddojo(&home, &["--json", "db", "status", "--env", "production"], None);
    assert!(o.status.success(), "status: {}", stderr(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(s["pending"], serde_json::json!([]), "nothing pending: {s}");
    assert_eq!(s["drift"], serde_json::json!([]), "no drift: {s}");
    assert_eq!(s["security"], serde_json::json!([]), "security rules hold: {s}");
    assert_eq!(s["production"], true, "marked production: {s}");

    let o = trenddojo(
        &home,
        &["server", "env", "set", "staging", "--service", "postgresql://svc:pw@db.example.com/postgres"],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "a profile with a password is refused: {}", stderr(&o));
    assert!(!stderr(&o).contains(":pw@"), "the secret is not echoed: {}", stderr(&o));
    let file = std::fs::read_to_string(home.join("environments.json")).expect("profiles file");
    assert!(!file.contains("staging"), "nothing saved for the refused profile");
}

#[tokio::test]
async fn server_dev_starts_reuses_and_provisions_over_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let home = dir.path().join("home");
    let o = trenddojo(&home, &["--json", "server", "dev"], None);
    assert!(o.status.success(), "server dev: {}", stderr(&o));
    let first: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(first["started"], true, "started: {first}");
    assert_eq!(first["applied"].as_array().map(Vec::len), Some(MIGRATIONS.len()), "migrated: {first}");
    let o = trenddojo(&home, &["--json", "server", "dev"], None);
    let second: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(second["started"], false, "reused: {second}");
    assert_eq!(second["port"], first["port"], "same cluster: {second}");

    let o = trenddojo(
        &home,
        &[
            "--json",
            "server",
            "add-user",
            "--env",
            "development",
            "--email",
            "T@Example.com",
            "--tier",
            "basic",
            "--password-stdin",
        ],
        Some("first-pass\n"),
    );
    assert!(o.status.success(), "add-user: {}", stderr(&o));
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let url = p["url"].as_str().expect("url").to_string();
    assert!(url.starts_with("postgresql://td_") && !url.contains("first-pass"), "a URL without the password: {url}");
    assert_eq!(p["created"], true, "new user: {p}");

    // Idempotent: the same email updates the password and tier, keeps the role.
    let o = trenddojo(
        &home,
        &[
            "--json",
            "server",
            "add-user",
            "--env",
            "development",
            "--email",
            "t@example.com",
            "--tier",
            "pro",
            "--password-stdin",
        ],
        Some("second-pass\n"),
    );
    assert!(o.status.success(), "add-user again: {}", stderr(&o));
    let again: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(again["role"], p["role"], "same role");
    assert_eq!(again["created"], false, "updated, not created: {again}");

    let connect = |pw: &'static str| {
        let mut config: tokio_postgres::Config = url.parse().expect("url");
        config.password(pw);
        async move { trenddojo_server::db::connect_config(&config).await }
    };
    assert!(connect("first-pass").await.is_err(), "the old password no longer works");
    let c = connect("second-pass").await.expect("the user logs in with SCRAM over TCP");
    let row = c
        .query_one("SELECT trenddojo.app_uid(), (SELECT subscription_tier FROM trenddojo.users)", &[])
        .await
        .expect("whoami");
    assert_eq!(row.get::<_, uuid::Uuid>(0).to_string(), p["user_id"].as_str().expect("id"), "app_uid() is this user");
    assert_eq!(row.get::<_, String>(1), "pro", "the tier was updated");
    drop(c);

    let o = trenddojo(&home, &["server", "remove-user", "--env", "development", "--email", "t@example.com"], None);
    assert!(o.status.success(), "remove-user: {}", stderr(&o));
    assert!(connect("second-pass").await.is_err(), "a removed user can no longer log in");
    let o = trenddojo(&home, &["server", "remove-user", "--env", "development", "--email", "t@example.com"], None);
    assert_eq!(o.status.code(), Some(3), "removing again: not found: {}", stderr(&o));

    let o = trenddojo(&home, &["server", "verify-audit", "--env", "development"], None);
    assert!(o.status.success(), "the audit chain of the add/update/remove verifies: {}", stderr(&o));

    let o = trenddojo(&home, &["server", "stop"], None);
    assert!(o.status.success(), "stop: {}", stderr(&o));
    let o = trenddojo(
        &home,
        &["server", "add-user", "--env", "development", "--email", "x@example.com", "--password-stdin"],
        Some("whatever1\n"),
    );
    assert_eq!(o.status.code(), Some(12), "a stopped server is unreachable: {}", stderr(&o));
}

#[tokio::test]
async fn server_bad_input_names_the_field_and_changes_nothing() {
    let pg = Pg::migrated().await;
    let home = pg.dir.path().join("home");
    let service = pg.service();
    let c = pg.admin().await;
    let users =
        || async { c.query_one("SELECT count(*) FROM trenddojo.users", &[]).await.expect("count").get::<_, i64>(0) };
    let cases: &[(&[&str], Option<&str>, i32, &str)] = &[
        (
            &["server", "add-user", "--admin-url", &service, "--email", "a@b.co", "--tier", "gold", "--password-stdin"],
            Some("password1\n"),
            2,
            "tier:",
        ),
        (
            &["server", "add-user", "--admin-url", &service, "--email", "not-an-email", "--password-stdin"],
            Some("password1\n"),
            2,
            "email:",
        ),
        (
            &["server", "add-user", "--admin-url", &service, "--email", "a@b.co", "--password-stdin"],
            Some("short\n"),
            2,
            "password:",
        ),
        (
            &["server", "add-user", "--admin-url", &service, "--email", "a@b.co", "--password-stdin"],
            None,
            2,
            "password:",
        ),
        (&["server", "add-user", "--email", "a@b.co", "--password-stdin"], Some("password1\n"), 2, "admin-url:"),
        (
            &["server", "add-user", "--env", "staging", "--email", "a@b.co", "--password-stdin"],
            Some("password1\n"),
            3,
            "no environment \"staging\"",
        ),
        (
            &[
                "server",
                "add-user",
                "--admin-url",
                "postgresql://nobody@127.0.0.1:1/x",
                "--email",
                "a@b.co",
                "--password-stdin",
            ],
            Some("password1\n"),
            12,
            "could not reach",
        ),
        (&["db", "migrate", "--server", "not a url at all", "--to", "2"], None, 2, "server:"),
        (&["db", "migrate", "--server", &service, "--to", "99"], None, 2, "to:"),
        (&["db", "seed", "--server", &service, "--state", "lots"], None, 2, "state"),
        (&["server", "env", "set", "Prod!", "--service", &service], None, 2, "env:"),
    ];
    for (args, input, code, needle) in cases {
        let o = trenddojo(&home, args, *input);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(*code), "{args:?}: exit code: {err}");
        assert!(err.contains(needle), "{args:?}: the message names {needle:?}: {err}");
        assert!(crate::common::is_one_error(&err), "{args:?}: one error (and what to do): {err}");
    }
    assert_eq!(users().await, 0, "no bad input created a user");
    assert_eq!(
        migrations::current_version(&c).await.expect("version"),
        migrations::latest_version(),
        "the schema is as it was"
    );
}

#[tokio::test]
async fn server_dev_works_from_a_private_home() {
    // A data folder the `postgres` system user cannot enter (like root's own home): the cluster moves to
    // a stable place of its own instead of failing or opening the folder up.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("chmod");
    let home = dir.path().join("home");
    let o = trenddojo(&home, &["--json", "server", "dev"], None);
    assert!(o.status.success(), "server dev from a private home: {}", stderr(&o));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let data_dir = std::path::PathBuf::from(d["data_dir"].as_str().expect("data_dir"));
    let is_root =
        std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false);
    if is_root {
        assert!(data_dir.starts_with("/var/lib/trenddojo/"), "moved out of the private home: {}", data_dir.display());
    }
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(dir.path()).expect("meta").permissions()) & 0o777;
    assert_eq!(mode, 0o700, "the private folder was not opened up");
    let again = trenddojo(&home, &["--json", "server", "dev"], None);
    let d2: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json");
    assert_eq!(
        (d2["started"].clone(), d2["port"].clone()),
        (serde_json::json!(false), d["port"].clone()),
        "found again and reused"
    );
    let o = trenddojo(&home, &["server", "stop"], None);
    assert!(o.status.success(), "stop: {}", stderr(&o));
    if is_root {
        let cluster = data_dir.parent().expect("cluster dir");
        std::fs::remove_dir_all(cluster).expect("clean up the test cluster");
    }
}
