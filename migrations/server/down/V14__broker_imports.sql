-- V14 down: back to V13. Import batches go; imported fills stay as plain fills of their trades.

DROP TABLE trenddojo.import_batches;
DROP INDEX trenddojo.executions_batch_idx;
ALTER TABLE trenddojo.executions
    DROP COLUMN import_batch_id, DROP COLUMN broker, DROP COLUMN broker_account, DROP COLUMN broker_exec_id,
    DROP COLUMN order_id, DROP COLUMN asset_class, DROP COLUMN instrument_key, DROP COLUMN underlying,
    DROP COLUMN expiry, DROP COLUMN strike, DROP COLUMN option_right, DROP COLUMN future_root,
    DROP COLUMN contract_month, DROP COLUMN multiplier, DROP COLUMN currency, DROP COLUMN commission,
    DROP COLUMN exchange_fee, DROP COLUMN regulatory_fee, DROP COLUMN other_fee, DROP COLUMN raw_time,
    DROP COLUMN statement_tz, DROP COLUMN source_line, DROP COLUMN fingerprint, DROP COLUMN dedupe_key,
    DROP COLUMN corrected_by_batch, DROP COLUMN replaced, DROP COLUMN removed_by_batch;
