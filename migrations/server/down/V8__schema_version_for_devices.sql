DROP FUNCTION trenddojo.schema_version();
