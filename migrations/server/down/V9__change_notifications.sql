CREATE OR REPLACE FUNCTION trenddojo.lock_user_version() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_user uuid := trenddojo.app_uid();
BEGIN
    IF v_user IS NOT NULL THEN
        INSERT INTO trenddojo.user_versions AS v (user_id, version) VALUES (v_user, 0)
        ON CONFLICT (user_id) DO UPDATE SET version = v.version;
    END IF;
    RETURN NULL;
END
$$;
DROP FUNCTION trenddojo.sync_channel();
DROP TABLE trenddojo.sync_channels;
