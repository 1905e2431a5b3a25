-- V15: the audit trigger hashes a statement's rows in one set-based step and links the chain once per
-- statement (audit format 2).
--
-- Format 1 (V4-V14) chained every row to the previous one: hash = sha256(row text || previous hash), so a
-- statement of n rows ran n dependent sha256 steps in a PL/pgSQL loop, and an update converted each old
-- and new row to text inside that loop. Format 2 splits the work:
--
--   * each row's own hash (`hash`) is sha256 over its canonical payload, computed by one SQL expression
--     over the whole statement (independent rows: no loop):
--       'trenddojo-audit-v2' \n user \n position \n at (UTC, microseconds) \n actor \n table \n row id \n
--       action \n old values as jsonb text or '-' \n new values as jsonb text or '-'
--   * the statement's rows of one user take the next positions of that user's chain, all with `prev_hash` =
--     the chain head before the statement, and the last of them carries `chain_hash` = the new head:
--       sha256('trenddojo-audit-v2-link' \n user \n first position \n last position \n hex(prev head) \n
--              || the rows' hashes in position order, 32 bytes each)
--     so every row is still covered by the chain (a changed, removed or reordered row breaks the link),
--     but the chain advances once per statement and user.
--
-- `format` tells the two apart (1 for every row written before this migration); `server verify-audit`
-- checks both, and a chain may switch formats at any statement boundary. A chain head (audit_heads, the
-- heads devices witness) always sits at a statement boundary, where the chain hash is `hash` for a
-- format-1 row and `chain_hash` for a format-2 one.
--
-- Rollback (down) keeps format-2 rows verifiable: it sets their format and chain hash aside in
-- trenddojo_meta.audit_v2_links before dropping the columns, and this migration puts them back.

ALTER TABLE trenddojo.audit_log
    ADD COLUMN format smallint NOT NULL DEFAULT 1 CHECK (format IN (1, 2)),
    ADD COLUMN chain_hash bytea CHECK (chain_hash IS NULL OR octet_length(chain_hash) = 32);
COMMENT ON COLUMN trenddojo.audit_log.format IS
    'INTERNAL: 1 = per-row chain (hash covers the row and prev_hash); 2 = per-statement chain (hash covers the row, chain_hash on the statement''s last row links the statement)';
COMMENT ON COLUMN trenddojo.audit_log.chain_hash IS
    'INTERNAL: format 2 only, on the last row of a statement: the chain head after that statement';

-- Rows set aside by a rollback of this migration come back (the append-only guard is lifted for exactly
-- this restoration of columns the rollback removed).
DO $$
BEGIN
    IF to_regclass('trenddojo_meta.audit_v2_links') IS NOT NULL THEN
        ALTER TABLE trenddojo.audit_log DISABLE TRIGGER audit_log_no_change;
        EXECUTE 'UPDATE trenddojo.audit_log a SET format = l.format, chain_hash = l.chain_hash
                 FROM trenddojo_meta.audit_v2_links l WHERE a.id = l.id';
        ALTER TABLE trenddojo.audit_log ENABLE TRIGGER audit_log_no_change;
        DROP TABLE trenddojo_meta.audit_v2_links;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION trenddojo.audit_statement() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_key text := CASE WHEN TG_TABLE_NAME = 'users' THEN 'id' ELSE 'user_id' END;
    -- One instant per statement: the rows of a statement are one change.
    v_at timestamptz := clock_timestamp();
    v_at_text text;
    a_user uuid[];
    a_row uuid[];
    a_old jsonb[];
    a_new jsonb[];
    a_action text[];
    a_users uuid[];
BEGIN
    v_at_text := to_char(v_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    -- The statement's changes as parallel arrays, each row converted to jsonb once.
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg((n ->> v_key)::uuid), array_agg((n ->> 'id')::uuid), array_agg(NULL::jsonb), array_agg(n),
               array_agg('insert'::text)
        INTO a_user, a_row, a_old, a_new, a_action
        FROM (SELECT to_jsonb(t) - 'sealed_secret' - 'field_hlcs' AS n FROM new_rows t) s;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg((n ->> v_key)::uuid), array_agg((n ->> 'id')::uuid), array_agg(o), array_agg(n),
               array_agg(CASE WHEN (o ->> 'deleted')::boolean IS FALSE AND (n ->> 'deleted')::boolean IS TRUE
                              THEN 'delete' ELSE 'update' END)
        INTO a_user, a_row, a_old, a_new, a_action
        FROM (SELECT to_jsonb(ot) - 'sealed_secret' - 'field_hlcs' AS o,
                     to_jsonb(nt) - 'sealed_secret' - 'field_hlcs' AS n
              FROM old_rows ot JOIN new_rows nt ON nt.id = ot.id) s;
    ELSE
        SELECT array_agg((o ->> v_key)::uuid), array_agg((o ->> 'id')::uuid), array_agg(o), array_agg(NULL::jsonb),
               array_agg('delete'::text)
        INTO a_user, a_row, a_old, a_new, a_action
        FROM (SELECT to_jsonb(t) - 'sealed_secret' - 'field_hlcs' AS o FROM old_rows t) s;
    END IF;
    IF a_row IS NULL THEN
        RETURN NULL;
    END IF;
    -- Every user the statement touched gets a chain head, locked in one order (a service statement may touch
    -- several users; a user's statement only that user): concurrent writers of a user serialize here.
    SELECT array_agg(DISTINCT u ORDER BY u) INTO a_users FROM unnest(a_user) AS u;
    INSERT INTO trenddojo.audit_heads (user_id, last_pos, last_hash)
    SELECT u, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea FROM unnest(a_users) AS u
    ON CONFLICT (user_id) DO NOTHING;
    PERFORM 1 FROM trenddojo.audit_heads WHERE user_id = ANY (a_users) ORDER BY user_id FOR UPDATE;
    -- Positions (each user's next ones, in statement order), each row's hash, each user's link: one
    -- statement, no loop. Only narrow tuples are sorted (user, ordinal) and (position, hash).
    WITH x AS (
        SELECT c.ord, c.u, c.r, c.o, c.n, c.action, h.last_pos + p.rn AS pos, h.last_hash AS prev
        FROM unnest(a_user, a_row, a_old, a_new, a_action) WITH ORDINALITY AS c (u, r, o, n, action, ord)
        JOIN (SELECT y.ord, row_number() OVER (PARTITION BY y.u ORDER BY y.ord) AS rn
              FROM unnest(a_user) WITH ORDINALITY AS y (u, ord)) p ON p.ord = c.ord
        JOIN trenddojo.audit_heads h ON h.user_id = c.u
    ), l AS (
        SELECT x.*, sha256(convert_to(concat_ws(E'\n', 'trenddojo-audit-v2', x.u::text, x.pos::text, v_at_text,
                                                session_user::text, TG_TABLE_NAME, x.r::text, x.action,
                                                coalesce(x.o::text, '-'), coalesce(x.n::text, '-')), 'UTF8')) AS leaf
        FROM x
    ), k AS (
        SELECT l.u, max(l.pos) AS last,
               sha256(convert_to(concat_ws(E'\n', 'trenddojo-audit-v2-link', l.u::text, min(l.pos)::text,
                                           max(l.pos)::text, encode(l.prev, 'hex')) || E'\n', 'UTF8')
                      || string_agg(l.leaf, ''::bytea ORDER BY l.pos)) AS chain
        FROM l GROUP BY l.u, l.prev
    ), heads AS (
        UPDATE trenddojo.audit_heads h SET last_pos = k.last, last_hash = k.chain FROM k WHERE h.user_id = k.u
    )
    INSERT INTO trenddojo.audit_log (user_id, chain_pos, at, actor, table_name, row_id, action, old_values,
                                     new_values, prev_hash, hash, format, chain_hash)
    SELECT l.u, l.pos, v_at, session_user, TG_TABLE_NAME, l.r, l.action, l.o, l.n, l.prev, l.leaf, 2,
           CASE WHEN l.pos = k.last THEN k.chain END
    FROM l JOIN k ON k.u = l.u;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION trenddojo.audit_statement() FROM PUBLIC;
