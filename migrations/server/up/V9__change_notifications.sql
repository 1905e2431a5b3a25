-- V9: change notifications, so an online device pulls within moments of another device's push instead of
-- at its next poll.
--
-- Every writing statement on a user's rows already passes through lock_user_version() (V7). It now also
-- queues a NOTIFY on the user's channel; PostgreSQL delivers it when (and only if) the transaction
-- commits, and folds the notifications of one transaction into one. LISTEN is not subject to any
-- privilege: any role may listen on any channel name. So the channel is not guessable from the user's
-- id: it is a random name (122 random bits from gen_random_uuid()) made on first request and handed only
-- to its owner by sync_channel(). A stranger who cannot learn it cannot even learn *when* a user writes.
-- The payload is empty: a notification only says "pull now"; the data still travels through RLS.

CREATE TABLE trenddojo.sync_channels (
    user_id uuid PRIMARY KEY REFERENCES trenddojo.users (id) ON DELETE CASCADE,
    channel text NOT NULL UNIQUE
);
COMMENT ON TABLE trenddojo.sync_channels IS 'INTERNAL: each user''s secret LISTEN channel for change notifications';
COMMENT ON COLUMN trenddojo.sync_channels.channel IS 'CONFIDENTIAL: knowing it reveals when the user writes';
ALTER TABLE trenddojo.sync_channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE trenddojo.sync_channels FORCE ROW LEVEL SECURITY;
CREATE POLICY sync_channels_select ON trenddojo.sync_channels FOR SELECT TO trenddojo_app USING (false);
CREATE POLICY sync_channels_insert ON trenddojo.sync_channels FOR INSERT TO trenddojo_app WITH CHECK (false);
CREATE POLICY sync_channels_update ON trenddojo.sync_channels FOR UPDATE TO trenddojo_app USING (false) WITH CHECK (false);
CREATE POLICY sync_channels_delete ON trenddojo.sync_channels FOR DELETE TO trenddojo_app USING (false);
REVOKE ALL ON trenddojo.sync_channels FROM PUBLIC;

-- The caller's channel, made on first use.
CREATE FUNCTION trenddojo.sync_channel() RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_user uuid := trenddojo.app_uid();
    v_channel text;
BEGIN
    IF v_user IS NULL THEN
        RAISE EXCEPTION 'not a TrendDojo user' USING ERRCODE = '42501';
    END IF;
    INSERT INTO trenddojo.sync_channels (user_id, channel)
    VALUES (v_user, 'td_' || replace(gen_random_uuid()::text, '-', ''))
    ON CONFLICT (user_id) DO NOTHING;
    SELECT c.channel INTO v_channel FROM trenddojo.sync_channels c WHERE c.user_id = v_user;
    RETURN v_channel;
END
$$;
REVOKE ALL ON FUNCTION trenddojo.sync_channel() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION trenddojo.sync_channel() TO trenddojo_app;

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
