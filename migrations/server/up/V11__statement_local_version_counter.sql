-- V11: change versions from a statement-local counter.
--
-- Each row written for a user takes the user's next version (V5). Taking it by updating the user's
-- user_versions row once per row left, within a transaction, a chain of row versions that every later
-- update had to walk: ~100 µs per row in a batch of 2,000, more than the insert itself. Now the
-- statement-level trigger that already locks the user's counter (V7) also copies it into a
-- transaction-local setting; each row takes the next number from that setting; and one statement-level
-- trigger after the statement writes the highest number used back to the counter. The lock is held to the
-- end of the transaction as before, so one user's versions still commit in order, densely numbered.
--
-- A client can change the setting itself (set_config in its own statement): that only renumbers the
-- client's own rows, never another user's (row-level security), and the counter only moves forward
-- (greatest). Writes by the service role (no signed-in user) keep the V5 path. stamp_row also reads the
-- owner column directly instead of through to_jsonb, and the ownership check it made for every row moves
-- to the slow path and to the row-level tier checks, the only triggers that run between it and
-- row-level security.

CREATE OR REPLACE FUNCTION trenddojo.lock_user_version() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_user uuid := trenddojo.app_uid();
    v_version bigint;
    v_channel text;
BEGIN
    IF v_user IS NOT NULL THEN
        INSERT INTO trenddojo.user_versions AS v (user_id, version) VALUES (v_user, 0)
        ON CONFLICT (user_id) DO UPDATE SET version = v.version
        RETURNING v.version INTO v_version;
        PERFORM set_config('trenddojo.next_version', v_user::text || ':' || v_version::text, true);
        SELECT c.channel INTO v_channel FROM trenddojo.sync_channels c WHERE c.user_id = v_user;
        IF v_channel IS NOT NULL THEN
            PERFORM pg_notify(v_channel, '');
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION trenddojo.stamp_row() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_user uuid;
    v_counter text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF TG_TABLE_NAME = 'users' THEN
            IF NEW.id IS DISTINCT FROM OLD.id THEN
                RAISE EXCEPTION 'users.id cannot change' USING ERRCODE = 'TD002';
            END IF;
        ELSIF NEW.user_id IS DISTINCT FROM OLD.user_id THEN
            RAISE EXCEPTION '%.user_id cannot change', TG_TABLE_NAME USING ERRCODE = 'TD002';
        END IF;
    END IF;
    -- Separate assignments: an expression naming NEW.user_id cannot even be prepared for `users`.
    IF TG_TABLE_NAME = 'users' THEN
        v_user := NEW.id;
    ELSE
        v_user := NEW.user_id;
    END IF;
    v_counter := current_setting('trenddojo.next_version', true);
    IF v_counter LIKE v_user::text || ':%' THEN
        -- The statement's counter is this row's owner's: no table is touched here. (A client that forged
        -- the setting for another user's id reaches no lock and no other trigger's probe: its row is
        -- refused by row-level security right after this trigger; the row-level tier checks make their
        -- own ownership check first.)
        NEW.server_seq := split_part(v_counter, ':', 2)::bigint + 1;
        PERFORM set_config('trenddojo.next_version', v_user::text || ':' || NEW.server_seq::text, true);
    ELSE
        -- A user's row for someone else fails here, before the other user's counter is locked.
        IF v_user IS DISTINCT FROM coalesce(trenddojo.app_uid(), v_user) THEN
            RAISE EXCEPTION 'new row violates row-level security policy for table "%"', TG_TABLE_NAME
                USING ERRCODE = '42501';
        END IF;
        INSERT INTO trenddojo.user_versions AS v (user_id, version) VALUES (v_user, 1)
        ON CONFLICT (user_id) DO UPDATE SET version = v.version + 1
        RETURNING v.version INTO NEW.server_seq;
    END IF;
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
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lim trenddojo.subscription_limits%ROWTYPE;
    used bigint;
    allowed integer;
    what text;
BEGIN
    -- Another user's row fails before that user's row is locked or their tier can show in an error
    -- (stamp_row no longer checks this on its fast path).
    IF NEW.user_id IS DISTINCT FROM coalesce(trenddojo.app_uid(), NEW.user_id) THEN
        RAISE EXCEPTION 'new row violates row-level security policy for table "%"', TG_TABLE_NAME
            USING ERRCODE = '42501';
    END IF;
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

CREATE FUNCTION trenddojo.commit_user_version() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_user uuid := trenddojo.app_uid();
    v_max bigint;
BEGIN
    IF v_user IS NOT NULL THEN
        SELECT max(server_seq) INTO v_max FROM new_rows;
        IF v_max IS NOT NULL THEN
            UPDATE trenddojo.user_versions SET version = greatest(version, v_max) WHERE user_id = v_user;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION trenddojo.commit_user_version() FROM PUBLIC;

DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT tgrelid::regclass FROM pg_trigger WHERE tgname LIKE '%\_stamp' AND NOT tgisinternal
             AND tgrelid::regclass::text LIKE 'trenddojo.%'
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION trenddojo.commit_user_version()',
                       split_part(t::text, '.', 2) || '_version_insert', t);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION trenddojo.commit_user_version()',
                       split_part(t::text, '.', 2) || '_version_update', t);
    END LOOP;
END
$$;
