-- Undo V1: drop the schema with everything in it, the per-user login roles it created, and the group role.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT role_name FROM trenddojo.user_roles LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.role_name) THEN
            EXECUTE format('DROP ROLE %I', r.role_name);
        END IF;
    END LOOP;
END
$$;
DROP SCHEMA trenddojo CASCADE;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'trenddojo_app') THEN
        DROP ROLE trenddojo_app;
    END IF;
END
$$;
