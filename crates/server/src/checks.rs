//! Catalog rules the server schema must keep, checked against the live database.
//!
//! Row-level security fails open by omission: a table added without `FORCE`, a command without a policy,
//! a function that defaults to PUBLIC EXECUTE, or a login role with BYPASSRLS silently hands one user's
//! rows to another. These rules read the catalog and list every violation; the test suite fails on any,
//! and `db status --env` reports them for a live server.

use tokio_postgres::Client;

use crate::error::Result;

/// One query per rule; each returns one text line per violation.
const RULES: &[(&str, &str)] = &[
    (
        "row-level security enabled and forced on every table",
        r#"SELECT format('table %s: row-level security %s', c.relname,
                         CASE WHEN NOT c.relrowsecurity THEN 'is not enabled' ELSE 'is not forced' END)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'trenddojo' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
             AND NOT (c.relrowsecurity AND c.relforcerowsecurity)"#,
    ),
    (
        "partitions are reachable only through their parent",
        r#"SELECT format('partition %s: the app role holds privileges on it (its parent''s policies do not apply)', c.relname)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'trenddojo' AND c.relispartition
             AND EXISTS (SELECT 1 FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
                         WHERE a.grantee IN (0, (SELECT oid FROM pg_roles WHERE rolname = 'trenddojo_app')))"#,
    ),
    (
        "a policy for each command, TO the app role, on every tenant table",
        r#"SELECT format('tenant table %s: no %s policy', c.relname, cmd.c)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           CROSS JOIN (VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE')) AS cmd(c)
           WHERE n.nspname = 'trenddojo' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
             AND (c.relname = 'users' OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                                                 AND a.attname = 'user_id' AND NOT a.attisdropped))
             AND NOT EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = 'trenddojo' AND p.tablename = c.relname
                             AND p.cmd IN (cmd.c, 'ALL'))
           UNION ALL
           SELECT format('policy %s on %s: applies to %s, not only trenddojo_app', p.policyname, p.tablename, p.roles)
           FROM pg_policies p WHERE p.schemaname = 'trenddojo' AND p.roles <> '{trenddojo_app}'::name[]
           UNION ALL
           SELECT format('policy %s on %s: UPDATE needs both USING and WITH CHECK', p.policyname, p.tablename)
           FROM pg_policies p WHERE p.schemaname = 'trenddojo' AND p.cmd = 'UPDATE'
             AND (p.qual IS NULL OR p.with_check IS NULL)"#,
    ),
    (
        "functions pin search_path and are not executable by PUBLIC",
        r#"SELECT format('function %s: search_path is not pinned', p.oid::regprocedure)
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'trenddojo'
             AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) s WHERE s LIKE 'search\_path=%')
           UNION ALL
           -- An empty or pg_temp-less path still searches the session's temporary schema first for types.
           SELECT format('function %s: search_path must end with pg_temp (pg_catalog, pg_temp)', p.oid::regprocedure)
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'trenddojo'
             AND EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) s WHERE s LIKE 'search\_path=%')
             AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) s WHERE s LIKE 'search\_path=%pg\_temp')
           UNION ALL
           SELECT format('function %s: PUBLIC may execute it', p.oid::regprocedure)
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'trenddojo'
             AND EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a WHERE a.grantee = 0)"#,
    ),
    (
        "nothing granted to PUBLIC",
        r#"SELECT format('%s %s: granted to PUBLIC (%s)', CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'relation' END,
                         c.relname, a.privilege_type)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a
           WHERE n.nspname = 'trenddojo' AND a.grantee = 0
           UNION ALL
           SELECT format('schema trenddojo: granted to PUBLIC (%s)', a.privilege_type)
           FROM pg_namespace n CROSS JOIN LATERAL aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
           WHERE n.nspname = 'trenddojo' AND a.grantee = 0"#,
    ),
    (
        "app roles hold no privilege beyond the group",
        r#"SELECT format('role %s: %s', r.rolname, concat_ws(', ',
                  CASE WHEN r.rolsuper THEN 'superuser' END, CASE WHEN r.rolbypassrls THEN 'bypasses RLS' END,
                  CASE WHEN r.rolcreaterole THEN 'can create roles' END, CASE WHEN r.rolcreatedb THEN 'can create databases' END,
                  CASE WHEN r.rolreplication THEN 'replication' END,
                  CASE WHEN r.rolcanlogin AND r.rolconnlimit < 1 THEN 'no connection limit' END,
                  CASE WHEN r.rolcanlogin AND NOT EXISTS (
                      SELECT 1 FROM pg_db_role_setting s, unnest(s.setconfig) cfg
                      WHERE s.setrole = r.oid AND cfg LIKE 'statement\_timeout=%') THEN 'no statement timeout' END,
                  CASE WHEN r.rolname = 'trenddojo_app' AND r.rolcanlogin THEN 'the group role can log in' END))
           FROM pg_roles r
           WHERE (r.rolname = 'trenddojo_app' OR r.oid IN (SELECT member FROM pg_auth_members WHERE roleid = 'trenddojo_app'::regrole))
             AND (r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication
                  OR (r.rolcanlogin AND r.rolconnlimit < 1)
                  OR (r.rolcanlogin AND NOT EXISTS (SELECT 1 FROM pg_db_role_setting s, unnest(s.setconfig) cfg
                                                    WHERE s.setrole = r.oid AND cfg LIKE 'statement\_timeout=%'))
                  OR (r.rolname = 'trenddojo_app' AND r.rolcanlogin))
           UNION ALL
           SELECT format('role %s: member of %s besides trenddojo_app', r.rolname, g.rolname)
           FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid JOIN pg_roles g ON g.oid = m.roleid
           WHERE r.oid IN (SELECT member FROM pg_auth_members WHERE roleid = 'trenddojo_app'::regrole)
             AND g.rolname <> 'trenddojo_app'"#,
    ),
    (
        "secrets are classified RESTRICTED",
        r#"SELECT format('column %s.%s: a secret not classified RESTRICTED', c.relname, a.attname)
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'trenddojo' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0
             AND NOT a.attisdropped AND a.attname LIKE '%secret%'
             AND coalesce(col_description(c.oid, a.attnum), '') NOT LIKE 'RESTRICTED%'"#,
    ),
];

/// Every violation of the catalog rules, one line each ("rule: detail"). Empty means all hold.
pub async fn catalog_violations(client: &Client) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (rule, sql) in RULES {
        for row in client.query(*sql, &[]).await? {
            out.push(format!("{rule}: {}", row.get::<_, String>(0)));
        }
    }
    Ok(out)
}
