-- V4: the append-only, hash-chained audit trail; tier limits enforced in the database; user provisioning.
--
-- Audit: every INSERT, UPDATE and DELETE on a financial table writes one audit_log row from a trigger
-- (who: session_user; what: table, row, action, old and new values as jsonb; when: clock_timestamp()).
-- Rows of one user form a hash chain: hash = sha256(canonical text of the row || previous hash), with the
-- chain head kept in audit_heads under a row lock, so concurrent writers of one user serialize and the
-- chain has no forks. No role is granted UPDATE or DELETE on it and triggers refuse both (and TRUNCATE)
-- even for the owner; a superuser who bypasses that is caught by `trenddojo server verify-audit`.
-- broker_connections.sealed_secret is never copied into the audit trail.

CREATE TABLE trenddojo.audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     uuid NOT NULL,
    chain_pos   bigint NOT NULL CHECK (chain_pos > 0),
    at          timestamptz NOT NULL,
    actor       name NOT NULL,
    table_name  text NOT NULL,
    row_id      uuid NOT NULL,
    action      text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    old_values  jsonb,
    new_values  jsonb,
    prev_hash   bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash        bytea NOT NULL CHECK (octet_length(hash) = 32),
    UNIQUE (user_id, chain_pos)
);
CREATE INDEX audit_log_row_idx ON trenddojo.audit_log (table_name, row_id);
CREATE INDEX audit_log_at_idx ON trenddojo.audit_log (user_id, at);
COMMENT ON TABLE trenddojo.audit_log IS 'CONFIDENTIAL: append-only audit trail, per-user sha256 hash chain';

CREATE TABLE trenddojo.audit_heads (
    user_id   uuid PRIMARY KEY,
    last_pos  bigint NOT NULL,
    last_hash bytea NOT NULL
);
COMMENT ON TABLE trenddojo.audit_heads IS 'INTERNAL: head of each user''s audit hash chain';

CREATE FUNCTION trenddojo.audit_payload(
    p_user uuid, p_pos bigint, p_at timestamptz, p_actor name, p_table text, p_row uuid, p_action text,
    p_old jsonb, p_new jsonb, p_prev bytea) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = ''
AS $$
    SELECT concat_ws(E'\n', 'trenddojo-audit-v1', p_user::text, p_pos::text,
                     to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), p_actor::text, p_table,
                     p_row::text, p_action, coalesce(p_old::text, '-'), coalesce(p_new::text, '-'),
                     encode(p_prev, 'hex'))
$$;
REVOKE ALL ON FUNCTION trenddojo.audit_payload(uuid, bigint, timestamptz, name, text, uuid, text, jsonb, jsonb, bytea) FROM PUBLIC;

CREATE FUNCTION trenddojo.audit_row() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    v_old jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) - 'sealed_secret' END;
    v_new jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) - 'sealed_secret' END;
    v_any jsonb := coalesce(v_new, v_old);
    v_user uuid := CASE WHEN TG_TABLE_NAME = 'users' THEN (v_any ->> 'id')::uuid ELSE (v_any ->> 'user_id')::uuid END;
    v_row uuid := (v_any ->> 'id')::uuid;
    v_action text := lower(TG_OP);
    v_at timestamptz := clock_timestamp();
    v_pos bigint;
    v_prev bytea;
    v_hash bytea;
BEGIN
    IF TG_OP = 'UPDATE' AND (v_old ->> 'deleted')::boolean IS FALSE AND (v_new ->> 'deleted')::boolean IS TRUE THEN
        v_action := 'delete';
    END IF;
    INSERT INTO trenddojo.audit_heads (user_id, last_pos, last_hash)
    VALUES (v_user, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
    ON CONFLICT (user_id) DO NOTHING;
    SELECT last_pos + 1, last_hash INTO v_pos, v_prev FROM trenddojo.audit_heads WHERE user_id = v_user FOR UPDATE;
    v_hash := sha256(convert_to(trenddojo.audit_payload(v_user, v_pos, v_at, session_user, TG_TABLE_NAME, v_row,
                                                        v_action, v_old, v_new, v_prev), 'UTF8'));
    INSERT INTO trenddojo.audit_log (user_id, chain_pos, at, actor, table_name, row_id, action, old_values, new_values,
                                     prev_hash, hash)
    VALUES (v_user, v_pos, v_at, session_user, TG_TABLE_NAME, v_row, v_action, v_old, v_new, v_prev, v_hash);
    UPDATE trenddojo.audit_heads SET last_pos = v_pos, last_hash = v_hash WHERE user_id = v_user;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION trenddojo.audit_row() FROM PUBLIC;

CREATE FUNCTION trenddojo.audit_is_append_only() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'TD004';
END
$$;
REVOKE ALL ON FUNCTION trenddojo.audit_is_append_only() FROM PUBLIC;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON trenddojo.audit_log
    FOR EACH ROW EXECUTE FUNCTION trenddojo.audit_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON trenddojo.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION trenddojo.audit_is_append_only();

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'accounts', 'risk_settings', 'trades', 'executions', 'trade_stop_adjustments',
                             'trade_targets', 'broker_connections']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON trenddojo.%I FOR EACH ROW '
                       'EXECUTE FUNCTION trenddojo.audit_row()', t || '_audit', t);
    END LOOP;
END
$$;

-- A user reads their own audit rows and chain head (so a client can remember the head it last verified);
-- nobody but the trigger writes either.
ALTER TABLE trenddojo.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE trenddojo.audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_select ON trenddojo.audit_log FOR SELECT TO trenddojo_app USING (user_id = (SELECT trenddojo.app_uid()));
CREATE POLICY audit_log_insert ON trenddojo.audit_log FOR INSERT TO trenddojo_app WITH CHECK (false);
CREATE POLICY audit_log_update ON trenddojo.audit_log FOR UPDATE TO trenddojo_app USING (false) WITH CHECK (false);
CREATE POLICY audit_log_delete ON trenddojo.audit_log FOR DELETE TO trenddojo_app USING (false);
REVOKE ALL ON trenddojo.audit_log FROM PUBLIC;
GRANT SELECT ON trenddojo.audit_log TO trenddojo_app;

ALTER TABLE trenddojo.audit_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE trenddojo.audit_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_heads_select ON trenddojo.audit_heads FOR SELECT TO trenddojo_app USING (user_id = (SELECT trenddojo.app_uid()));
CREATE POLICY audit_heads_insert ON trenddojo.audit_heads FOR INSERT TO trenddojo_app WITH CHECK (false);
CREATE POLICY audit_heads_update ON trenddojo.audit_heads FOR UPDATE TO trenddojo_app USING (false) WITH CHECK (false);
CREATE POLICY audit_heads_delete ON trenddojo.audit_heads FOR DELETE TO trenddojo_app USING (false);
REVOKE ALL ON trenddojo.audit_heads FROM PUBLIC;
GRANT SELECT ON trenddojo.audit_heads TO trenddojo_app;

-- Trades received per user and calendar month (server time), for the monthly trade limit. A trade counts
-- when it arrives; deleting it later does not give the allowance back.
CREATE TABLE trenddojo.tier_usage (
    user_id uuid NOT NULL REFERENCES trenddojo.users (id),
    month   date NOT NULL,
    trades  bigint NOT NULL CHECK (trades >= 0),
    PRIMARY KEY (user_id, month)
);
COMMENT ON TABLE trenddojo.tier_usage IS 'INTERNAL: usage counted against the tier limits; written only by triggers';
ALTER TABLE trenddojo.tier_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE trenddojo.tier_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY tier_usage_select ON trenddojo.tier_usage FOR SELECT TO trenddojo_app USING (user_id = (SELECT trenddojo.app_uid()));
CREATE POLICY tier_usage_insert ON trenddojo.tier_usage FOR INSERT TO trenddojo_app WITH CHECK (false);
CREATE POLICY tier_usage_update ON trenddojo.tier_usage FOR UPDATE TO trenddojo_app USING (false) WITH CHECK (false);
CREATE POLICY tier_usage_delete ON trenddojo.tier_usage FOR DELETE TO trenddojo_app USING (false);
REVOKE ALL ON trenddojo.tier_usage FROM PUBLIC;
GRANT SELECT ON trenddojo.tier_usage TO trenddojo_app;

-- Tier limits, enforced here so a modified client cannot exceed them. The user's row is locked first, so
-- two connections of one user racing past a limit serialize and the second sees the first's row (READ
-- COMMITTED takes a new snapshot per statement; under a stronger isolation the count could be stale, so
-- limited inserts refuse to run there). SQLSTATE TD001 means "tier limit reached".
CREATE FUNCTION trenddojo.enforce_tier_limits() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    lim trenddojo.subscription_limits%ROWTYPE;
    used bigint;
    allowed integer;
    what text;
BEGIN
    IF NEW.deleted THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        -- Only an undelete can add to what counts; trades count by month of arrival, so not even that.
        IF NOT OLD.deleted OR TG_TABLE_NAME = 'trades' THEN
            RETURN NEW;
        END IF;
    END IF;
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'rows limited by the subscription tier must be written under READ COMMITTED'
            USING ERRCODE = 'TD003';
    END IF;
    SELECT l.* INTO lim FROM trenddojo.users u JOIN trenddojo.subscription_limits l ON l.tier = u.subscription_tier
    WHERE u.id = NEW.user_id FOR UPDATE OF u;
    IF NOT FOUND THEN
        RETURN NEW; -- the foreign key reports the unknown user
    END IF;
    CASE TG_TABLE_NAME
        WHEN 'accounts' THEN
            SELECT count(*) INTO used FROM trenddojo.accounts WHERE user_id = NEW.user_id AND NOT deleted;
            allowed := lim.max_accounts; what := 'accounts';
        WHEN 'trades' THEN
            -- A counter, not a count(*): a push of thousands of trades stays linear.
            INSERT INTO trenddojo.tier_usage AS t (user_id, month, trades)
            VALUES (NEW.user_id, date_trunc('month', now())::date, 1)
            ON CONFLICT (user_id, month) DO UPDATE SET trades = t.trades + 1
            RETURNING t.trades - 1 INTO used;
            allowed := lim.max_trades_per_month; what := 'trades a month';
        WHEN 'broker_connections' THEN
            SELECT count(*) INTO used FROM trenddojo.broker_connections WHERE user_id = NEW.user_id AND NOT deleted;
            allowed := lim.max_broker_connections; what := 'broker connections';
        WHEN 'trade_checklist_templates' THEN
            SELECT count(*) INTO used FROM trenddojo.trade_checklist_templates WHERE user_id = NEW.user_id AND NOT deleted;
            allowed := lim.max_checklist_templates; what := 'checklist templates';
    END CASE;
    IF used >= allowed THEN
        RAISE EXCEPTION 'limit: the % tier allows % %', lim.tier, allowed, what
            USING ERRCODE = 'TD001', HINT = 'upgrade the subscription to add more';
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION trenddojo.enforce_tier_limits() FROM PUBLIC;
CREATE TRIGGER accounts_tier_limit BEFORE INSERT OR UPDATE OF deleted ON trenddojo.accounts
    FOR EACH ROW EXECUTE FUNCTION trenddojo.enforce_tier_limits();
CREATE TRIGGER trades_tier_limit BEFORE INSERT ON trenddojo.trades
    FOR EACH ROW EXECUTE FUNCTION trenddojo.enforce_tier_limits();
CREATE TRIGGER broker_connections_tier_limit BEFORE INSERT OR UPDATE OF deleted ON trenddojo.broker_connections
    FOR EACH ROW EXECUTE FUNCTION trenddojo.enforce_tier_limits();
CREATE TRIGGER trade_checklist_templates_tier_limit BEFORE INSERT OR UPDATE OF deleted ON trenddojo.trade_checklist_templates
    FOR EACH ROW EXECUTE FUNCTION trenddojo.enforce_tier_limits();

-- Provisioning: creates (or updates) the user, its LOGIN role and password, idempotently. The password
-- arrives only as a SCRAM-SHA-256 verifier computed by the caller, so the server never sees it in the
-- clear. Owner-only; on Supabase grant EXECUTE to the trusted caller (see docs/server.md).
CREATE FUNCTION trenddojo.provision_user(p_user_id uuid, p_email text, p_display_name text, p_tier text,
                                         p_password_verifier text)
    RETURNS TABLE (user_id uuid, role_name name, created boolean)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    v_user uuid;
    v_role name;
    v_created boolean := false;
BEGIN
    IF p_password_verifier IS NULL OR p_password_verifier NOT LIKE 'SCRAM-SHA-256$%' THEN
        RAISE EXCEPTION 'password: expected a SCRAM-SHA-256 verifier, never a plain password' USING ERRCODE = 'TD005';
    END IF;
    SELECT u.id INTO v_user FROM trenddojo.users u WHERE lower(u.email) = lower(p_email);
    IF v_user IS NULL THEN
        INSERT INTO trenddojo.users (id, email, display_name, subscription_tier, created_at, updated_at, updated_hlc)
        VALUES (p_user_id, p_email, p_display_name, p_tier, now(), now(),
                lpad((extract(epoch FROM now()) * 1000)::bigint::text, 13, '0') || '.00000.server');
        v_user := p_user_id;
        v_created := true;
    ELSE
        UPDATE trenddojo.users u SET subscription_tier = p_tier, deleted = false, updated_at = now(),
            updated_hlc = lpad((extract(epoch FROM now()) * 1000)::bigint::text, 13, '0') || '.00000.server'
        WHERE u.id = v_user AND (u.subscription_tier <> p_tier OR u.deleted);
    END IF;
    v_role := 'td_' || replace(v_user::text, '-', '');
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
        EXECUTE format('ALTER ROLE %I WITH LOGIN PASSWORD %L', v_role, p_password_verifier);
    ELSE
        EXECUTE format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS '
                       'INHERIT CONNECTION LIMIT 10 PASSWORD %L IN ROLE trenddojo_app', v_role, p_password_verifier);
        v_created := true;
    END IF;
    EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', v_role, '5s');
    EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L', v_role, '30s');
    EXECUTE format('ALTER ROLE %I SET search_path = %L', v_role, 'trenddojo');
    INSERT INTO trenddojo.user_roles (role_name, user_id) VALUES (v_role, v_user) ON CONFLICT DO NOTHING;
    RETURN QUERY SELECT v_user, v_role, v_created;
END
$$;
REVOKE ALL ON FUNCTION trenddojo.provision_user(uuid, text, text, text, text) FROM PUBLIC;

-- Removal: the login role goes (its sessions are ended), the user is tombstoned; the rows and the audit
-- trail stay for the record. Returns whether anything changed (false: no such user, or already removed).
CREATE FUNCTION trenddojo.remove_user(p_email text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    v_user uuid;
    v_changed boolean := false;
    r record;
BEGIN
    SELECT u.id INTO v_user FROM trenddojo.users u WHERE lower(u.email) = lower(p_email);
    IF v_user IS NULL THEN
        RETURN false;
    END IF;
    FOR r IN SELECT ur.role_name FROM trenddojo.user_roles ur WHERE ur.user_id = v_user LOOP
        PERFORM pg_catalog.pg_terminate_backend(a.pid) FROM pg_catalog.pg_stat_activity a WHERE a.usename = r.role_name;
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r.role_name) THEN
            EXECUTE format('DROP ROLE %I', r.role_name);
        END IF;
        DELETE FROM trenddojo.user_roles ur WHERE ur.role_name = r.role_name;
        v_changed := true;
    END LOOP;
    UPDATE trenddojo.users u SET deleted = true, updated_at = now(),
        updated_hlc = lpad((extract(epoch FROM now()) * 1000)::bigint::text, 13, '0') || '.00000.server'
    WHERE u.id = v_user AND NOT u.deleted;
    RETURN v_changed OR FOUND;
END
$$;
REVOKE ALL ON FUNCTION trenddojo.remove_user(text) FROM PUBLIC;
