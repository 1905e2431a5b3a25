DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT tgrelid::regclass FROM pg_trigger WHERE tgname LIKE '%\_stamp' AND NOT tgisinternal
             AND tgrelid::regclass::text LIKE 'trenddojo.%'
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', split_part(t::text, '.', 2) || '_version_insert', t);
        EXECUTE format('DROP TRIGGER %I ON %s', split_part(t::text, '.', 2) || '_version_update', t);
    END LOOP;
END
$$;
DROP FUNCTION trenddojo.commit_user_version();

CREATE OR REPLACE FUNCTION trenddojo.stamp_row() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
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
    -- A user's row for someone else fails here, before any other trigger could lock the other user's
    -- rows or tell, by its error, what tier that user has.
    IF v_user IS DISTINCT FROM coalesce(trenddojo.app_uid(), v_user) THEN
        RAISE EXCEPTION 'new row violates row-level security policy for table "%"', TG_TABLE_NAME USING ERRCODE = '42501';
    END IF;
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

CREATE OR REPLACE FUNCTION trenddojo.lock_user_version() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_user uuid := trenddojo.app_uid();
    v_channel text;
BEGIN
    IF v_user IS NOT NULL THEN
        INSERT INTO trenddojo.user_versions AS v (user_id, version) VALUES (v_user, 0)
        ON CONFLICT (user_id) DO UPDATE SET version = v.version;
        SELECT c.channel INTO v_channel FROM trenddojo.sync_channels c WHERE c.user_id = v_user;
        IF v_channel IS NOT NULL THEN
            PERFORM pg_notify(v_channel, '');
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION trenddojo.enforce_tier_limits() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lim trenddojo.subscription_limits%ROWTYPE;
    used bigint;
    allowed integer;
    what text;
BEGIN
    -- A trade counts when it arrives, deleted or not (inserting tombstones and undeleting them later
    -- must not get around the monthly limit); other rows count while they are not deleted.
    IF NEW.deleted AND TG_TABLE_NAME <> 'trades' THEN
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
