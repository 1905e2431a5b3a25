CREATE SEQUENCE trenddojo.change_seq AS bigint;
REVOKE ALL ON SEQUENCE trenddojo.change_seq FROM PUBLIC;
SELECT setval('trenddojo.change_seq', greatest(coalesce((SELECT max(version) FROM trenddojo.user_versions), 0), 1));

CREATE OR REPLACE FUNCTION trenddojo.stamp_row() RETURNS trigger
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

DROP TABLE trenddojo.user_versions;
