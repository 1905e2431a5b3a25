-- V10: the audit trail and the monthly trade counter work per statement instead of per row.
--
-- A push writes hundreds of rows per statement. Row-level, every row paid for its own trigger call plus
-- three statements on audit_heads (upsert, lock, update) and an upsert of tier_usage: measured at
-- ~415 µs of audit and ~95 µs of tier counting per trade row, against ~36 µs for the insert itself.
-- Statement-level triggers with transition tables do the same work once per statement: the audit head of
-- each user is locked once, the chain is extended row by row in a fixed order (user, row id) with exactly
-- the payload and hash of V4, and the head is written once; the trade counter takes the statement's
-- count in one upsert and refuses the whole statement if it passes the tier's limit. What is recorded,
-- who can write it, and what a limit allows are unchanged.

CREATE FUNCTION trenddojo.audit_statement() RETURNS trigger
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
              FROM (SELECT NULL::jsonb AS o, to_jsonb(t) - 'sealed_secret' AS n FROM new_rows t) s OFFSET 0) x;
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
              FROM (SELECT to_jsonb(ot) - 'sealed_secret' AS o, to_jsonb(nt) - 'sealed_secret' AS n FROM old_rows ot JOIN new_rows nt ON nt.id = ot.id) s OFFSET 0) x;
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
              FROM (SELECT to_jsonb(t) - 'sealed_secret' AS o, NULL::jsonb AS n FROM old_rows t) s OFFSET 0) x;
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
REVOKE ALL ON FUNCTION trenddojo.audit_statement() FROM PUBLIC;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'accounts', 'risk_settings', 'trades', 'executions', 'trade_stop_adjustments',
                             'trade_targets', 'broker_connections']
    LOOP
        EXECUTE format('DROP TRIGGER %I ON trenddojo.%I', t || '_audit', t);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON trenddojo.%I REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION trenddojo.audit_statement()', t || '_audit_insert', t);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON trenddojo.%I REFERENCING OLD TABLE AS old_rows '
                       'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trenddojo.audit_statement()',
                       t || '_audit_update', t);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON trenddojo.%I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION trenddojo.audit_statement()', t || '_audit_delete', t);
    END LOOP;
END
$$;

-- Trades count by month of arrival, deleted or not (V7): one upsert per user and statement.
CREATE FUNCTION trenddojo.count_new_trades() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g record;
    lim trenddojo.subscription_limits%ROWTYPE;
    v_used bigint;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'rows limited by the subscription tier must be written under READ COMMITTED'
            USING ERRCODE = 'TD003';
    END IF;
    FOR g IN SELECT user_id, count(*) AS n FROM new_rows GROUP BY user_id ORDER BY user_id LOOP
        SELECT l.* INTO lim FROM trenddojo.users u JOIN trenddojo.subscription_limits l ON l.tier = u.subscription_tier
        WHERE u.id = g.user_id FOR UPDATE OF u;
        IF NOT FOUND THEN
            CONTINUE; -- the foreign key has already refused an unknown user
        END IF;
        INSERT INTO trenddojo.tier_usage AS t (user_id, month, trades)
        VALUES (g.user_id, date_trunc('month', now())::date, g.n)
        ON CONFLICT (user_id, month) DO UPDATE SET trades = t.trades + excluded.trades
        RETURNING t.trades INTO v_used;
        IF v_used > lim.max_trades_per_month THEN
            RAISE EXCEPTION 'limit: the % tier allows % trades a month', lim.tier, lim.max_trades_per_month
                USING ERRCODE = 'TD001', HINT = 'upgrade the subscription to add more';
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION trenddojo.count_new_trades() FROM PUBLIC;

DROP TRIGGER trades_tier_limit ON trenddojo.trades;
CREATE TRIGGER trades_tier_limit AFTER INSERT ON trenddojo.trades REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION trenddojo.count_new_trades();
