-- V15 down: back to the per-row chain of V12 (format 1 only). Rows written in format 2 keep their place
-- in the chain: their format and chain hash are set aside in trenddojo_meta.audit_v2_links (outside the
-- trenddojo schema) and come back when V15 is applied again. Until then this build's verify-audit checks
-- them as format 1 and reports them; new rows continue the chain from its head in format 1.

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM trenddojo.audit_log WHERE format = 2) THEN
        CREATE TABLE IF NOT EXISTS trenddojo_meta.audit_v2_links (
            id bigint PRIMARY KEY, format smallint NOT NULL, chain_hash bytea);
        INSERT INTO trenddojo_meta.audit_v2_links (id, format, chain_hash)
        SELECT id, format, chain_hash FROM trenddojo.audit_log WHERE format = 2
        ON CONFLICT (id) DO NOTHING;
    END IF;
END
$$;

ALTER TABLE trenddojo.audit_log DROP COLUMN chain_hash, DROP COLUMN format;

CREATE OR REPLACE FUNCTION trenddojo.audit_statement() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_key text := CASE WHEN TG_TABLE_NAME = 'users' THEN 'id' ELSE 'user_id' END;
    v_user uuid;
    v_pos bigint;
    v_prev bytea;
    a_user uuid[];
    a_row uuid[];
    a_old jsonb[];
    a_new jsonb[];
    a_action text[];
    a_at timestamptz[];
    a_rest text[];
    a_pos bigint[];
    a_prev bytea[];
    a_hash bytea[];
BEGIN
    -- The statement's changes in the order the statement made them, as parallel arrays, with the text
    -- each row's hash covers after its chain position: exactly trenddojo.audit_payload (V4), assembled here
    -- because a SQL function with a pinned search_path cannot be inlined and cost more than the rest of the
    -- row. verify-audit recomputes every hash independently, so a difference would not go unnoticed. (No
    -- ORDER BY: sorting rows of a thousand bytes several times cost more than all the rest.)
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(x.u), array_agg(x.r), array_agg(x.o), array_agg(x.n), array_agg(x.at), array_agg(x.action),
               array_agg(concat_ws(E'\n', to_char(x.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                   session_user::text, TG_TABLE_NAME, x.r::text, x.action,
                                   coalesce(x.o::text, '-'), coalesce(x.n::text, '-')))
        INTO a_user, a_row, a_old, a_new, a_at, a_action, a_rest
        FROM (SELECT (coalesce(n, o) ->> v_key)::uuid AS u, (coalesce(n, o) ->> 'id')::uuid AS r, o, n,
                     clock_timestamp() AS at,
                     CASE WHEN TG_OP = 'UPDATE' AND (o ->> 'deleted')::boolean IS FALSE
                               AND (n ->> 'deleted')::boolean IS TRUE THEN 'delete'
                          ELSE lower(TG_OP) END AS action
              FROM (SELECT NULL::jsonb AS o, to_jsonb(t) - 'sealed_secret' - 'field_hlcs' AS n FROM new_rows t) s OFFSET 0) x;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(x.u), array_agg(x.r), array_agg(x.o), array_agg(x.n), array_agg(x.at), array_agg(x.action),
               array_agg(concat_ws(E'\n', to_char(x.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                   session_user::text, TG_TABLE_NAME, x.r::text, x.action,
                                   coalesce(x.o::text, '-'), coalesce(x.n::text, '-')))
        INTO a_user, a_row, a_old, a_new, a_at, a_action, a_rest
        FROM (SELECT (coalesce(n, o) ->> v_key)::uuid AS u, (coalesce(n, o) ->> 'id')::uuid AS r, o, n,
                     clock_timestamp() AS at,
                     CASE WHEN TG_OP = 'UPDATE' AND (o ->> 'deleted')::boolean IS FALSE
                               AND (n ->> 'deleted')::boolean IS TRUE THEN 'delete'
                          ELSE lower(TG_OP) END AS action
              FROM (SELECT to_jsonb(ot) - 'sealed_secret' - 'field_hlcs' AS o, to_jsonb(nt) - 'sealed_secret' - 'field_hlcs' AS n FROM old_rows ot JOIN new_rows nt ON nt.id = ot.id) s OFFSET 0) x;
    ELSE
        SELECT array_agg(x.u), array_agg(x.r), array_agg(x.o), array_agg(x.n), array_agg(x.at), array_agg(x.action),
               array_agg(concat_ws(E'\n', to_char(x.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                   session_user::text, TG_TABLE_NAME, x.r::text, x.action,
                                   coalesce(x.o::text, '-'), coalesce(x.n::text, '-')))
        INTO a_user, a_row, a_old, a_new, a_at, a_action, a_rest
        FROM (SELECT (coalesce(n, o) ->> v_key)::uuid AS u, (coalesce(n, o) ->> 'id')::uuid AS r, o, n,
                     clock_timestamp() AS at,
                     CASE WHEN TG_OP = 'UPDATE' AND (o ->> 'deleted')::boolean IS FALSE
                               AND (n ->> 'deleted')::boolean IS TRUE THEN 'delete'
                          ELSE lower(TG_OP) END AS action
              FROM (SELECT to_jsonb(t) - 'sealed_secret' - 'field_hlcs' AS o, NULL::jsonb AS n FROM old_rows t) s OFFSET 0) x;
    END IF;
    IF a_row IS NULL THEN
        RETURN NULL;
    END IF;
    a_pos := array_fill(NULL::bigint, ARRAY[cardinality(a_row)]);
    a_prev := array_fill(NULL::bytea, ARRAY[cardinality(a_row)]);
    a_hash := array_fill(NULL::bytea, ARRAY[cardinality(a_row)]);
    -- The chain is sequential: a user's head is locked when the user's first row comes, then extended row
    -- by row (a service statement may touch several users; a user's statement only that user).
    FOR i IN 1..cardinality(a_row) LOOP
        IF v_user IS DISTINCT FROM a_user[i] THEN
            IF v_user IS NOT NULL THEN
                UPDATE trenddojo.audit_heads SET last_pos = v_pos, last_hash = v_prev WHERE user_id = v_user;
            END IF;
            v_user := a_user[i];
            INSERT INTO trenddojo.audit_heads (user_id, last_pos, last_hash)
            VALUES (v_user, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
            ON CONFLICT (user_id) DO NOTHING;
            SELECT last_pos, last_hash INTO v_pos, v_prev FROM trenddojo.audit_heads WHERE user_id = v_user FOR UPDATE;
        END IF;
        v_pos := v_pos + 1;
        a_pos[i] := v_pos;
        a_prev[i] := v_prev;
        v_prev := sha256(convert_to('trenddojo-audit-v1' || E'\n' || v_user::text || E'\n' || v_pos::text || E'\n'
                                    || a_rest[i] || E'\n' || encode(v_prev, 'hex'), 'UTF8'));
        a_hash[i] := v_prev;
    END LOOP;
    UPDATE trenddojo.audit_heads SET last_pos = v_pos, last_hash = v_prev WHERE user_id = v_user;
    INSERT INTO trenddojo.audit_log (user_id, chain_pos, at, actor, table_name, row_id, action, old_values,
                                     new_values, prev_hash, hash)
    SELECT x.u, x.pos, x.at, session_user, TG_TABLE_NAME, x.r, x.action, x.o, x.n, x.prev, x.hash
    FROM unnest(a_user, a_pos, a_at, a_row, a_action, a_old, a_new, a_prev, a_hash)
         AS x (u, pos, at, r, action, o, n, prev, hash);
    RETURN NULL;
END
$$;
