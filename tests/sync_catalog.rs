//! The sync catalog (`trenddojo_sync::tables`) against both real schemas: a freshly created encrypted
//! local store and a migrated PostgreSQL. Every synced column must exist on both sides with the
//! representation its kind prescribes and the same nullability; every other column must be declared
//! local-only or server-only; every server tenant table must be synced or declared internal.

use crate::common;
use crate::pg;

use std::collections::BTreeMap;

use trenddojo_sync::tables::{Kind, SERVER_ONLY, TABLES};

/// Server tables with a user_id that are bookkeeping, not synced data.
const SERVER_INTERNAL: &[&str] =
    &["audit_log", "audit_heads", "tier_usage", "user_versions", "user_roles", "sync_devices", "sync_channels"];

fn local_type(k: Kind) -> &'static str {
    match k {
        Kind::Uuid | Kind::Text | Kind::Decimal | Kind::Time => "TEXT",
        Kind::Int | Kind::Bool => "INTEGER",
        Kind::Bytes => "BLOB",
    }
}

fn server_types(k: Kind) -> &'static [&'static str] {
    match k {
        Kind::Uuid => &["uuid"],
        Kind::Text => &["text"],
        Kind::Decimal => &["numeric"],
        Kind::Int => &["integer"],
        Kind::Bool => &["boolean"],
        Kind::Time => &["timestamp with time zone"],
        Kind::Bytes => &["bytea"],
    }
}

#[test]
fn the_catalog_matches_the_local_store() {
    let home = common::Home::init();
    let store = home.open_store();
    for t in TABLES {
        let cols: BTreeMap<String, (String, bool)> = store
            .read(|c| {
                let mut st =
                    c.prepare(&format!("SELECT name, type, \"notnull\" FROM pragma_table_info('{}')", t.name))?;
                let rows = st
                    .query_map([], |r| {
                        Ok((r.get::<_, String>(0)?, (r.get::<_, String>(1)?, r.get::<_, i64>(2)? == 1)))
                    })?
                    .collect::<Result<_, _>>()?;
                Ok::<_, trenddojo_store::StoreError>(rows)
            })
            .expect("table info");
        assert!(!cols.is_empty(), "{}: the local store has the table", t.name);
        let mut expected: Vec<String> = t.all_columns().iter().map(|c| c.name.to_string()).collect();
        expected.extend(t.local_only.iter().map(|c| c.to_string()));
        expected.sort();
        assert_eq!(
            cols.keys().cloned().collect::<Vec<_>>(),
            expected,
            "{}: local columns are exactly the catalog's",
            t.name
        );
        for c in t.all_columns() {
            let (ty, notnull) = &cols[c.name];
            assert_eq!(ty, local_type(c.kind), "{}.{}: local type for {:?}", t.name, c.name, c.kind);
            assert_eq!(*notnull, !c.nullable, "{}.{}: local nullability", t.name, c.name);
        }
    }
}

#[tokio::test]
async fn the_catalog_matches_the_server_schema() {
    let pg = pg::Pg::migrated().await;
    let admin = pg.admin().await;
    for t in TABLES {
        let rows = admin
            .query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atttypid < 16384
                 FROM pg_attribute a WHERE a.attrelid = ('trenddojo.' || $1)::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                &[&t.name],
            )
            .await
            .expect("columns");
        let cols: BTreeMap<String, (String, bool)> = rows.iter().map(|r| (r.get(0), (r.get(1), r.get(2)))).collect();
        // A type that is not built in (an enum, a domain; OIDs from 16384 up) makes tokio-postgres prepare a
        // named statement to look it up, which a transaction pooler may lose (docs/sync.md, Poolers).
        for r in &rows {
            let (name, builtin): (String, bool) = (r.get(0), r.get(3));
            assert!(builtin, "{}.{name}: synced tables use built-in types only", t.name);
        }
        let mut expected: Vec<String> = t.all_columns().iter().map(|c| c.name.to_string()).collect();
        expected.extend(SERVER_ONLY.iter().map(|c| c.to_string()));
        expected.sort();
        assert_eq!(
            cols.keys().cloned().collect::<Vec<_>>(),
            expected,
            "{}: server columns are exactly the catalog's",
            t.name
        );
        for c in t.all_columns() {
            let (ty, notnull) = &cols[c.name];
            assert!(
                server_types(c.kind).contains(&ty.as_str()),
                "{}.{}: server type {ty} for {:?}",
                t.name,
                c.name,
                c.kind
            );
            assert_eq!(*notnull, !c.nullable, "{}.{}: server nullability", t.name, c.name);
        }
    }
    let tenant: Vec<String> = admin
        .query(
            "SELECT DISTINCT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'user_id'
             WHERE n.nspname = 'trenddojo' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1",
            &[],
        )
        .await
        .expect("tenant tables")
        .iter()
        .map(|r| r.get(0))
        .collect();
    for name in tenant {
        assert!(
            TABLES.iter().any(|t| t.name == name) || SERVER_INTERNAL.contains(&name.as_str()),
            "server table {name} has user rows but is neither synced nor declared internal"
        );
    }
}
