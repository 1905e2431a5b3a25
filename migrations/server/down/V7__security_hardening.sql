DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT tgname, tgrelid::regclass AS t FROM pg_trigger WHERE tgname LIKE '%\_lock\_version' AND NOT tgisinternal LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.t);
    END LOOP;
END
$$;
DROP FUNCTION trenddojo.lock_user_version();

CREATE OR REPLACE FUNCTION trenddojo.stamp_row() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    v_user uuid;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF TG_TABLE_NAME = 'users' THEN
            IF NEW.id IS DISTINCT FROM OLD.id THEN
                RAISE EXCEPTION 'users.id cannot change' USING ERRCODE = 'TD002';
            END IF;
        ELSIF (to_jsonb(NEW) ->> 'user_id') IS DISTINCT FROM (to_jsonb(OLD) ->> 'user_id') THEN
            RAISE EXCEPTION '%.user_id cannot change', TG_TABLE_NAME USING ERRCODE = 'TD002';
        END IF;
    END IF;
    v_user := CASE WHEN TG_TABLE_NAME = 'users' THEN NEW.id ELSE (to_jsonb(NEW) ->> 'user_id')::uuid END;
    INSERT INTO trenddojo.user_versions AS v (user_id, version) VALUES (v_user, 1)
    ON CONFLICT (user_id) DO UPDATE SET version = v.version + 1
    RETURNING v.version INTO NEW.server_seq;
    IF TG_OP = 'INSERT' THEN
        NEW.received_at := now();
    ELSE
        NEW.received_at := OLD.received_at;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION trenddojo.enforce_tier_limits() RETURNS trigger
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

CREATE OR REPLACE FUNCTION trenddojo.provision_user(p_user_id uuid, p_email text, p_display_name text, p_tier text,
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

CREATE OR REPLACE FUNCTION trenddojo.remove_user(p_email text) RETURNS boolean
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

DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'trenddojo'
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %L', f, '');
    END LOOP;
END
$$;
