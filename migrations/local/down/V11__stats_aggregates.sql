-- V10 down: the statistics aggregates are derived data; dropping them loses nothing.
DROP TRIGGER IF EXISTS stats_accounts_update;
DROP TRIGGER IF EXISTS stats_trades_delete;
DROP TRIGGER IF EXISTS stats_trades_update;
DROP TRIGGER IF EXISTS stats_trades_insert;
DROP TABLE IF EXISTS stats_dirty;
DROP TABLE IF EXISTS stats_days;
