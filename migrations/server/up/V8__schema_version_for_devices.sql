-- V8: devices learn the server's schema version before every exchange, so an older client facing a
-- newer server stops with a clear message instead of writing rows it does not understand. The history
-- table lives in trenddojo_meta, which the app role cannot read; this function answers for it.

CREATE FUNCTION trenddojo.schema_version() RETURNS integer
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT coalesce(max(version), 0)::integer FROM trenddojo_meta.refinery_schema_history $$;
REVOKE ALL ON FUNCTION trenddojo.schema_version() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION trenddojo.schema_version() TO trenddojo_app;
