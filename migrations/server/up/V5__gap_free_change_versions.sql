-- V5: gap-free change versions per user, the pull cursor of the sync engine.
--
-- A global sequence is not a safe cursor: transaction T1 takes number 10, T2 takes 11 and commits first,
-- a device pulls "everything after 9", sees 11, moves its cursor to 11, and never sees 10 when T1 commits.
-- Instead every row written for a user takes the user's next version from user_versions, under that
-- row's lock, which is held until the writing transaction ends. So a second transaction writing for the
-- same user waits at its first row until the first one commits or rolls back: versions of one user are
-- committed in order and without holes (a rollback releases its numbers with its lock), and
-- `server_seq > cursor` never skips a row. Writers of different users never wait for each other.

CREATE TABLE trenddojo.user_versions (
    user_id uuid PRIMARY KEY,
    version bigint NOT NULL CHECK (version >= 0)
);
COMMENT ON TABLE trenddojo.user_versions IS 'INTERNAL: the newest change version of each user (sync pull cursor)';
ALTER TABLE trenddojo.user_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE trenddojo.user_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY user_versions_select ON trenddojo.user_versions FOR SELECT TO trenddojo_app USING (user_id = (SELECT trenddojo.app_uid()));
CREATE POLICY user_versions_insert ON trenddojo.user_versions FOR INSERT TO trenddojo_app WITH CHECK (false);
CREATE POLICY user_versions_update ON trenddojo.user_versions FOR UPDATE TO trenddojo_app USING (false) WITH CHECK (false);
CREATE POLICY user_versions_delete ON trenddojo.user_versions FOR DELETE TO trenddojo_app USING (false);
REVOKE ALL ON trenddojo.user_versions FROM PUBLIC;
GRANT SELECT ON trenddojo.user_versions TO trenddojo_app;

-- Rows written before this migration keep their numbers; each user's counter starts above them. The
-- lock waits for writers already running (whose numbers the max() could not see yet) and holds new ones
-- off until the new stamping is in place.
LOCK TABLE trenddojo.users, trenddojo.accounts, trenddojo.risk_settings, trenddojo.trades, trenddojo.executions,
    trenddojo.trade_stop_adjustments, trenddojo.trade_targets, trenddojo.trade_notes,
    trenddojo.trade_checklist_templates, trenddojo.trade_checklist_items, trenddojo.trade_checklist_responses,
    trenddojo.broker_connections IN SHARE MODE;
INSERT INTO trenddojo.user_versions (user_id, version)
SELECT user_id, max(server_seq) FROM (
    SELECT id AS user_id, server_seq FROM trenddojo.users
    UNION ALL SELECT user_id, server_seq FROM trenddojo.accounts
    UNION ALL SELECT user_id, server_seq FROM trenddojo.risk_settings
    UNION ALL SELECT user_id, server_seq FROM trenddojo.trades
    UNION ALL SELECT user_id, server_seq FROM trenddojo.executions
    UNION ALL SELECT user_id, server_seq FROM trenddojo.trade_stop_adjustments
    UNION ALL SELECT user_id, server_seq FROM trenddojo.trade_targets
    UNION ALL SELECT user_id, server_seq FROM trenddojo.trade_notes
    UNION ALL SELECT user_id, server_seq FROM trenddojo.trade_checklist_templates
    UNION ALL SELECT user_id, server_seq FROM trenddojo.trade_checklist_items
    UNION ALL SELECT user_id, server_seq FROM trenddojo.trade_checklist_responses
    UNION ALL SELECT user_id, server_seq FROM trenddojo.broker_connections
) s GROUP BY user_id;

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

DROP SEQUENCE trenddojo.change_seq;
