//! Server schema migrations: refinery applies `migrations/server/up`, we apply `migrations/server/down`.
//!
//! refinery's history lives in schema `trenddojo_meta`, apart from the data schema `trenddojo` that V1
//! creates and its rollback drops. After every migrate the live schema's fingerprint (a canonical text of
//! tables, columns, constraints, indexes, triggers, policies, functions and grants; see [`fingerprint`]) is
//! recorded per version, so `db status` can report drift: the live schema differing from what the
//! migrations defined. The test suite migrates up to every N, down to N-1 and compares fingerprints.

use serde::Serialize;
use tokio_postgres::Client;

use crate::error::{Result, ServerError};

#[derive(Debug, Clone, Copy)]
pub struct MigrationDef {
    pub version: u32,
    pub name: &'static str,
    pub up: &'static str,
    pub down: &'static str,
}

macro_rules! migration {
    ($v:literal, $name:literal) => {
        MigrationDef {
            version: $v,
            name: $name,
            up: include_str!(concat!("../../../migrations/server/up/V", $v, "__", $name, ".sql")),
            down: include_str!(concat!("../../../migrations/server/down/V", $v, "__", $name, ".sql")),
        }
    };
}

/// Every server migration, in order.
pub const MIGRATIONS: &[MigrationDef] = &[
    migration!(1, "identity_and_tenancy"),
    migration!(2, "accounts_and_trades"),
    migration!(3, "journal_brokers_market_data"),
    migration!(4, "audit_limits_provisioning"),
    migration!(5, "gap_free_change_versions"),
    migration!(6, "sync_push"),
    migration!(7, "security_hardening"),
    migration!(8, "schema_version_for_devices"),
    migration!(9, "change_notifications"),
    migration!(10, "statement_level_audit_and_trade_limit"),
    migration!(11, "statement_local_version_counter"),
    migration!(12, "audit_without_sync_stamps"),
    migration!(13, "merge_states"),
    migration!(14, "broker_imports"),
    migration!(15, "set_based_audit"),
];

const HISTORY: &str = "trenddojo_meta.refinery_schema_history";

pub fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Applied {
    pub version: u32,
    pub name: String,
    pub applied_on: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Pending {
    pub version: u32,
    pub name: String,
}

async fn has_history(client: &Client) -> Result<bool> {
    Ok(client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&HISTORY]).await?.get(0))
}

pub async fn applied(client: &Client) -> Result<Vec<Applied>> {
    if !has_history(client).await? {
        return Ok(Vec::new());
    }
    let rows = client.query(&format!("SELECT version, name, applied_on FROM {HISTORY} ORDER BY version"), &[]).await?;
    Ok(rows
        .iter()
        .map(|r| Applied {
            version: u32::try_from(r.get::<_, i32>(0)).unwrap_or(0),
            name: r.get(1),
            applied_on: r.get::<_, Option<String>>(2).unwrap_or_default(),
        })
        .collect())
}

pub async fn current_version(client: &Client) -> Result<u32> {
    let found = applied(client).await?.last().map_or(0, |a| a.version);
    if found > latest_version() {
        return Err(ServerError::NewerSchema { found, known: latest_version() });
    }
    Ok(found)
}

pub async fn pending(client: &Client) -> Result<Vec<Pending>> {
    let current = current_version(client).await?;
    Ok(MIGRATIONS
        .iter()
        .filter(|m| m.version > current)
        .map(|m| Pending { version: m.version, name: m.name.to_string() })
        .collect())
}

/// The migrating role must be able to create roles (provisioning) and must not be subject to the tenant
/// policies (the SECURITY DEFINER functions run as it): a superuser, or CREATEROLE + BYPASSRLS (Supabase's
/// `postgres`).
async fn check_owner(client: &Client) -> Result<()> {
    let row = client
        .query_one(
            "SELECT rolsuper OR rolbypassrls, rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await?;
    if !(row.get::<_, bool>(0) && row.get::<_, bool>(1)) {
        return Err(ServerError::Refused(
            "server migrations need the service connection: a role with CREATEROLE and BYPASSRLS (or a superuser)"
                .into(),
        ));
    }
    Ok(())
}

fn refinery_set() -> Result<Vec<refinery::Migration>> {
    MIGRATIONS
        .iter()
        .map(|m| Ok(refinery::Migration::unapplied(&format!("V{}__{}", m.version, m.name), m.up)?))
        .collect()
}

/// Apply migrations up to `target` (default: the newest). Returns the versions applied.
pub async fn migrate(client: &mut Client, target: Option<u32>) -> Result<Vec<u32>> {
    check_owner(client).await?;
    let current = current_version(client).await?;
    let target = target.unwrap_or_else(latest_version);
    if target > latest_version() {
        return Err(ServerError::invalid(
            "to",
            format!("no server migration {target}; the newest is {}", latest_version()),
        ));
    }
    if target <= current {
        return Ok(Vec::new());
    }
    client
        .batch_execute(
            "CREATE SCHEMA IF NOT EXISTS trenddojo_meta; REVOKE ALL ON SCHEMA trenddojo_meta FROM PUBLIC; \
             CREATE TABLE IF NOT EXISTS trenddojo_meta.schema_fingerprints \
             (version integer PRIMARY KEY, fingerprint text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
    let mut runner = refinery::Runner::new(&refinery_set()?);
    runner.set_migration_table_name(HISTORY);
    let runner = runner.set_target(refinery::Target::Version(target as i32));
    let report = runner.run_async(client).await?;
    let done: Vec<u32> = report.applied_migrations().iter().map(|m| m.version() as u32).collect();
    let fp = fingerprint(client).await?;
    client
        .execute(
            "INSERT INTO trenddojo_meta.schema_fingerprints (version, fingerprint) VALUES ($1, $2) \
             ON CONFLICT (version) DO UPDATE SET fingerprint = excluded.fingerprint, recorded_at = now()",
            &[&(target as i32), &fp],
        )
        .await?;
    Ok(done)
}

/// Undo migrations down to version `to`, newest first, each with its history row in one transaction.
pub async fn rollback(client: &mut Client, to: u32) -> Result<Vec<u32>> {
    check_owner(client).await?;
    let current = current_version(client).await?;
    let mut done = Vec::new();
    for m in MIGRATIONS.iter().rev().filter(|m| m.version > to && m.version <= current) {
        let tx = client.transaction().await?;
        tx.batch_execute(m.down).await.map_err(|e| {
            ServerError::Migration(format!("rolling back V{} {}: {}", m.version, m.name, ServerError::from(e)))
        })?;
        tx.execute(&format!("DELETE FROM {HISTORY} WHERE version = $1"), &[&(m.version as i32)]).await?;
        tx.execute("DELETE FROM trenddojo_meta.schema_fingerprints WHERE version >= $1", &[&(m.version as i32)])
            .await?;
        tx.commit().await?;
        done.push(m.version);
    }
    Ok(done)
}

/// A canonical text of the `trenddojo` schema, one line per object, sorted. Monthly partitions of
/// market_data_cache are left out: they are data-driven (created ahead by maintenance), not schema.
pub async fn fingerprint(client: &Client) -> Result<String> {
    const SQL: &str = r#"
WITH rels AS (
    SELECT c.oid, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'trenddojo' AND NOT c.relispartition AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
)
SELECT line FROM (
    SELECT format('schema acl=%s', nspacl) AS line FROM pg_namespace WHERE nspname = 'trenddojo'
    UNION ALL
    SELECT format('rel %s kind=%s rls=%s force=%s acl=%s part=%s comment=%s', r.relname, r.relkind,
                  c.relrowsecurity, c.relforcerowsecurity, c.relacl, pg_get_partkeydef(c.oid),
                  obj_description(c.oid, 'pg_class'))
    FROM rels r JOIN pg_class c ON c.oid = r.oid
    UNION ALL
    SELECT format('col %s.%s %s notnull=%s default=%s comment=%s acl=%s', r.relname, a.attname,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid),
                  col_description(r.oid, a.attnum), a.attacl)
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = r.oid AND d.adnum = a.attnum
    UNION ALL
    SELECT format('constraint %s.%s %s', r.relname, co.conname, pg_get_constraintdef(co.oid))
    FROM rels r JOIN pg_constraint co ON co.conrelid = r.oid
    UNION ALL
    SELECT format('index %s', pg_get_indexdef(i.indexrelid)) FROM rels r JOIN pg_index i ON i.indrelid = r.oid
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(t.oid)) FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid
    WHERE NOT t.tgisinternal AND t.tgparentid = 0
    UNION ALL
    SELECT format('policy %s.%s %s %s permissive=%s using=%s check=%s', p.tablename, p.policyname, p.cmd, p.roles,
                  p.permissive, p.qual, p.with_check)
    FROM pg_policies p WHERE p.schemaname = 'trenddojo'
    UNION ALL
    SELECT format('function %s secdef=%s volatile=%s config=%s acl=%s body=%s', p.oid::regprocedure, p.prosecdef,
                  p.provolatile, p.proconfig, p.proacl, md5(p.prosrc))
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'trenddojo'
    UNION ALL
    SELECT format('role %s login=%s super=%s bypassrls=%s inherit=%s', rolname, rolcanlogin, rolsuper, rolbypassrls,
                  rolinherit)
    FROM pg_roles WHERE rolname = 'trenddojo_app'
) x ORDER BY line COLLATE "C"
"#;
    let rows = client.query(SQL, &[]).await?;
    let mut out = String::new();
    for r in rows {
        out.push_str(&r.get::<_, String>(0));
        out.push('\n');
    }
    Ok(out)
}

/// Schema drift: lines of the live fingerprint missing from (`-`) or added to (`+`) the one recorded when
/// the current version was migrated. Empty means no drift. `None` when nothing was recorded.
pub async fn drift(client: &Client) -> Result<Option<Vec<String>>> {
    let version = current_version(client).await?;
    if version == 0 {
        return Ok(None);
    }
    let has = client.query_one("SELECT to_regclass('trenddojo_meta.schema_fingerprints') IS NOT NULL", &[]).await?;
    if !has.get::<_, bool>(0) {
        return Ok(None);
    }
    let Some(row) = client
        .query_opt(
            "SELECT fingerprint FROM trenddojo_meta.schema_fingerprints WHERE version = $1",
            &[&(version as i32)],
        )
        .await?
    else {
        return Ok(None);
    };
    let recorded: String = row.get(0);
    let live = fingerprint(client).await?;
    let rec: std::collections::BTreeSet<&str> = recorded.lines().collect();
    let liv: std::collections::BTreeSet<&str> = live.lines().collect();
    let mut diff: Vec<String> = rec.difference(&liv).map(|l| format!("- {l}")).collect();
    diff.extend(liv.difference(&rec).map(|l| format!("+ {l}")));
    Ok(Some(diff))
}
