-- V1: the server schema, its roles, identity and the tenancy machinery every later table uses.
--
-- Everything lives in schema `trenddojo` (not `public`, which Supabase's REST API exposes).
-- Identity comes from Postgres authentication, never from a client-settable setting such as
-- `request.jwt.claims`: every user has one LOGIN role (SCRAM), `user_roles` maps role -> user, and
-- `app_uid()` (SECURITY DEFINER, pinned search_path) reads it keyed on `session_user`, which `SET ROLE`
-- cannot change. Per-user roles are members of the group role `trenddojo_app` and of nothing else; every
-- policy is `TO trenddojo_app`. Nothing is granted to PUBLIC: each function's EXECUTE is revoked explicitly
-- (functions default to PUBLIC execute) and a catalog test fails the build if one is missed.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'trenddojo_app') THEN
        CREATE ROLE trenddojo_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    END IF;
END
$$;

CREATE SCHEMA trenddojo;
REVOKE ALL ON SCHEMA trenddojo FROM PUBLIC;
GRANT USAGE ON SCHEMA trenddojo TO trenddojo_app;
COMMENT ON SCHEMA trenddojo IS 'TrendDojo server data. Tenant tables: RLS enabled and forced, policies TO trenddojo_app.';

-- Server-side change order for sync: every insert and update of a synced row takes the next value.
CREATE SEQUENCE trenddojo.change_seq AS bigint;

CREATE TABLE trenddojo.subscription_limits (
    tier                    text PRIMARY KEY CHECK (tier IN ('free', 'basic', 'pro')),
    max_accounts            integer NOT NULL CHECK (max_accounts >= 0),
    max_trades_per_month    integer NOT NULL CHECK (max_trades_per_month >= 0),
    max_broker_connections  integer NOT NULL CHECK (max_broker_connections >= 0),
    max_checklist_templates integer NOT NULL CHECK (max_checklist_templates >= 0),
    market_data             boolean NOT NULL,
    updated_at              timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE trenddojo.subscription_limits IS 'INTERNAL: what each tier allows; enforced by triggers.';
INSERT INTO trenddojo.subscription_limits
    (tier, max_accounts, max_trades_per_month, max_broker_connections, max_checklist_templates, market_data)
VALUES ('free', 1, 100, 0, 1, false),
       ('basic', 3, 1000, 1, 5, true),
       ('pro', 25, 1000000, 10, 50, true);

CREATE TABLE trenddojo.users (
    id                uuid PRIMARY KEY,
    email             text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND position('@' IN email) > 1),
    display_name      text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    subscription_tier text NOT NULL DEFAULT 'free' REFERENCES trenddojo.subscription_limits (tier),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    updated_hlc       text NOT NULL,
    deleted           boolean NOT NULL DEFAULT false,
    server_seq        bigint NOT NULL DEFAULT 0,
    received_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_uq ON trenddojo.users (lower(email));
CREATE INDEX users_created_idx ON trenddojo.users (created_at);
COMMENT ON COLUMN trenddojo.users.email IS 'CONFIDENTIAL: personal data';
COMMENT ON COLUMN trenddojo.users.subscription_tier IS 'INTERNAL: changed only by the service role';

-- Login role -> user. Read only through app_uid(); no grant to the app role.
CREATE TABLE trenddojo.user_roles (
    role_name  name PRIMARY KEY,
    user_id    uuid NOT NULL UNIQUE REFERENCES trenddojo.users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE trenddojo.user_roles IS 'INTERNAL: identity mapping, service role only';

CREATE FUNCTION trenddojo.app_uid() RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = ''
AS $$ SELECT user_id FROM trenddojo.user_roles WHERE role_name = session_user $$;
REVOKE ALL ON FUNCTION trenddojo.app_uid() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION trenddojo.app_uid() TO trenddojo_app;

-- Stamp every synced row on the way in: server change order, server receive time, and an immutable owner.
CREATE FUNCTION trenddojo.stamp_row() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
BEGIN
    NEW.server_seq := nextval('trenddojo.change_seq');
    IF TG_OP = 'INSERT' THEN
        NEW.received_at := now();
    ELSE
        NEW.received_at := OLD.received_at;
        IF TG_TABLE_NAME = 'users' THEN
            IF NEW.id IS DISTINCT FROM OLD.id THEN
                RAISE EXCEPTION 'users.id cannot change' USING ERRCODE = 'TD002';
            END IF;
        ELSIF (to_jsonb(NEW) ->> 'user_id') IS DISTINCT FROM (to_jsonb(OLD) ->> 'user_id') THEN
            RAISE EXCEPTION '%.user_id cannot change', TG_TABLE_NAME USING ERRCODE = 'TD002';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION trenddojo.stamp_row() FROM PUBLIC;

CREATE TRIGGER users_stamp BEFORE INSERT OR UPDATE ON trenddojo.users
    FOR EACH ROW EXECUTE FUNCTION trenddojo.stamp_row();

-- Tenant tables all get the same treatment; this owner-only helper keeps it identical everywhere:
-- RLS enabled and forced, one policy per command TO the app role, USING and WITH CHECK both keyed on
-- `(SELECT trenddojo.app_uid())` (a sub-select: evaluated once per query, not per row).
CREATE FUNCTION trenddojo.make_tenant_table(tbl text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
DECLARE
    q text := format('trenddojo.%I', tbl);
    me text := '(SELECT trenddojo.app_uid())';
BEGIN
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', q);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', q);
    EXECUTE format('CREATE POLICY %I ON %s FOR SELECT TO trenddojo_app USING (user_id = %s)', tbl || '_select', q, me);
    EXECUTE format('CREATE POLICY %I ON %s FOR INSERT TO trenddojo_app WITH CHECK (user_id = %s)', tbl || '_insert', q, me);
    EXECUTE format('CREATE POLICY %I ON %s FOR UPDATE TO trenddojo_app USING (user_id = %s) WITH CHECK (user_id = %s)',
                   tbl || '_update', q, me, me);
    EXECUTE format('CREATE POLICY %I ON %s FOR DELETE TO trenddojo_app USING (user_id = %s)', tbl || '_delete', q, me);
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC', q);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO trenddojo_app', q);
    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION trenddojo.stamp_row()',
                   tbl || '_stamp', q);
END
$$;
REVOKE ALL ON FUNCTION trenddojo.make_tenant_table(text) FROM PUBLIC;

-- users: a user sees and renames only their own row; tier, email and identity change only by the service role.
ALTER TABLE trenddojo.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE trenddojo.users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_select ON trenddojo.users FOR SELECT TO trenddojo_app USING (id = (SELECT trenddojo.app_uid()));
CREATE POLICY users_insert ON trenddojo.users FOR INSERT TO trenddojo_app WITH CHECK (false);
CREATE POLICY users_update ON trenddojo.users FOR UPDATE TO trenddojo_app
    USING (id = (SELECT trenddojo.app_uid())) WITH CHECK (id = (SELECT trenddojo.app_uid()));
CREATE POLICY users_delete ON trenddojo.users FOR DELETE TO trenddojo_app USING (false);
REVOKE ALL ON trenddojo.users FROM PUBLIC;
GRANT SELECT ON trenddojo.users TO trenddojo_app;
GRANT UPDATE (display_name, updated_at, updated_hlc, deleted) ON trenddojo.users TO trenddojo_app;

ALTER TABLE trenddojo.subscription_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE trenddojo.subscription_limits FORCE ROW LEVEL SECURITY;
CREATE POLICY subscription_limits_select ON trenddojo.subscription_limits FOR SELECT TO trenddojo_app USING (true);
REVOKE ALL ON trenddojo.subscription_limits FROM PUBLIC;
GRANT SELECT ON trenddojo.subscription_limits TO trenddojo_app;

-- The app role has no grant and, should one ever be added, policies that deny everything. The owner (which
-- the SECURITY DEFINER functions run as) must hold BYPASSRLS (migrations check it), so FORCE does not
-- lock it out.
ALTER TABLE trenddojo.user_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE trenddojo.user_roles FORCE ROW LEVEL SECURITY;
CREATE POLICY user_roles_select ON trenddojo.user_roles FOR SELECT TO trenddojo_app USING (false);
CREATE POLICY user_roles_insert ON trenddojo.user_roles FOR INSERT TO trenddojo_app WITH CHECK (false);
CREATE POLICY user_roles_update ON trenddojo.user_roles FOR UPDATE TO trenddojo_app USING (false) WITH CHECK (false);
CREATE POLICY user_roles_delete ON trenddojo.user_roles FOR DELETE TO trenddojo_app USING (false);
REVOKE ALL ON trenddojo.user_roles FROM PUBLIC;
REVOKE ALL ON SEQUENCE trenddojo.change_seq FROM PUBLIC;
