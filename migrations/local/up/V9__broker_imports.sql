-- V9: broker imports. Every imported fill keeps where it came from; every import is a batch.
--
-- Executions are the source of truth, so an imported fill keeps what the broker's file said about it in
-- columns of its own `executions` row (NULL on fills a user typed): the batch that brought it, the broker,
-- broker account, broker execution and order ids, the instrument's full identity (asset class, canonical
-- key, underlying, expiry, strike, right, futures root and contract month), multiplier, currency, each
-- kind of fee (their sum stays in `fees`, which every computation reads), the time text as written, the
-- zone it was read in, the file line, the content fingerprint and the key imports deduplicate on
-- (`dedupe_key`: the broker's execution id where the format has one, else the fingerprint).
-- Columns on the fill rather than a side table: one row per fill keeps a 100,000-fill import at one insert
-- (and one audit row, one outbox entry) per fill, and the provenance syncs with the fill it describes.
--
-- Undo must work through sync, where a tombstone is final (a delete wins every merge). So an undo never
-- revives a row: a fill a batch corrected keeps the values it replaced (`replaced`, JSON) and the batch
-- that corrected it (`corrected_by_batch`), and undo writes them back as an ordinary edit; a fill a batch
-- cancelled (`removed_by_batch`) is brought back by undo as a new row. `dedupe_key` is deliberately not
-- unique: two devices importing overlapping files while apart make rows with the same key, and the
-- merge must apply them (the import gives such fills the same id on both devices, derived from the key,
-- so the common case merges into one row instead of two).
--
-- import_batches: one row per confirmed import (file name and sha256, format and parser version, the
-- statement zone, counts of new, duplicate, corrected, cancelled, rejected and skipped rows, trades
-- created and changed, who confirmed it and when, and who undid it and when). Synced like the fills.
-- import_mappings: a user's saved column mappings for generic CSV files, by name (this device only).


ALTER TABLE executions ADD COLUMN import_batch_id TEXT;

ALTER TABLE executions ADD COLUMN broker TEXT;

ALTER TABLE executions ADD COLUMN broker_account TEXT;

ALTER TABLE executions ADD COLUMN broker_exec_id TEXT;

ALTER TABLE executions ADD COLUMN order_id TEXT;

ALTER TABLE executions ADD COLUMN asset_class TEXT;

ALTER TABLE executions ADD COLUMN instrument_key TEXT;

ALTER TABLE executions ADD COLUMN underlying TEXT;

ALTER TABLE executions ADD COLUMN expiry TEXT;

ALTER TABLE executions ADD COLUMN strike TEXT;

ALTER TABLE executions ADD COLUMN option_right TEXT;

ALTER TABLE executions ADD COLUMN future_root TEXT;

ALTER TABLE executions ADD COLUMN contract_month TEXT;

ALTER TABLE executions ADD COLUMN multiplier TEXT;

ALTER TABLE executions ADD COLUMN currency TEXT;

ALTER TABLE executions ADD COLUMN commission TEXT;

ALTER TABLE executions ADD COLUMN exchange_fee TEXT;

ALTER TABLE executions ADD COLUMN regulatory_fee TEXT;

ALTER TABLE executions ADD COLUMN other_fee TEXT;

ALTER TABLE executions ADD COLUMN raw_time TEXT;

ALTER TABLE executions ADD COLUMN statement_tz TEXT;

ALTER TABLE executions ADD COLUMN source_line INTEGER;

ALTER TABLE executions ADD COLUMN fingerprint TEXT;

ALTER TABLE executions ADD COLUMN dedupe_key TEXT;

ALTER TABLE executions ADD COLUMN corrected_by_batch TEXT;

ALTER TABLE executions ADD COLUMN replaced TEXT;

ALTER TABLE executions ADD COLUMN removed_by_batch TEXT;

-- Dedupe looks keys up per account (live and tombstoned rows: a key's tombstones decide a re-imported
-- fill's id); regrouping finds the imported fills of one instrument; undo finds what a batch wrote.
CREATE INDEX executions_dedupe_idx ON executions (account_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX executions_instrument_idx ON executions (account_id, instrument_key, executed_at)
    WHERE instrument_key IS NOT NULL AND deleted = 0;
CREATE INDEX executions_batch_idx ON executions (import_batch_id) WHERE import_batch_id IS NOT NULL;
CREATE INDEX executions_corrected_idx ON executions (corrected_by_batch) WHERE corrected_by_batch IS NOT NULL;
CREATE INDEX executions_removed_idx ON executions (removed_by_batch) WHERE removed_by_batch IS NOT NULL;

CREATE TABLE import_batches (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id),
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    file_name       TEXT NOT NULL,
    file_sha256     TEXT NOT NULL,
    format          TEXT NOT NULL,
    parser_version  INTEGER NOT NULL,
    statement_tz    TEXT NOT NULL,
    new_count       INTEGER NOT NULL DEFAULT 0,
    duplicate_count INTEGER NOT NULL DEFAULT 0,
    corrected_count INTEGER NOT NULL DEFAULT 0,
    cancelled_count INTEGER NOT NULL DEFAULT 0,
    rejected_count  INTEGER NOT NULL DEFAULT 0,
    skipped_count   INTEGER NOT NULL DEFAULT 0,
    trades_created  INTEGER NOT NULL DEFAULT 0,
    trades_changed  INTEGER NOT NULL DEFAULT 0,
    confirmed_by    TEXT NOT NULL,
    confirmed_at    TEXT NOT NULL,
    undone_by       TEXT,
    undone_at       TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_hlc     TEXT NOT NULL,
    deleted         INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;
CREATE INDEX import_batches_user_idx ON import_batches (user_id, confirmed_at);
CREATE INDEX import_batches_account_idx ON import_batches (account_id, file_sha256);

CREATE TABLE import_mappings (
    user_id    TEXT NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    mapping    TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
) STRICT;


CREATE TRIGGER import_batches_audit_insert AFTER INSERT ON import_batches
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'import_batches', NEW.id, 'insert', NULL,
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'account_id', NEW.account_id, 'file_name', NEW.file_name,
            'file_sha256', NEW.file_sha256, 'format', NEW.format, 'parser_version', NEW.parser_version, 'statement_tz', NEW.statement_tz,
            'new_count', NEW.new_count, 'duplicate_count', NEW.duplicate_count, 'corrected_count', NEW.corrected_count, 'cancelled_count', NEW.cancelled_count,
            'rejected_count', NEW.rejected_count, 'skipped_count', NEW.skipped_count, 'trades_created', NEW.trades_created, 'trades_changed', NEW.trades_changed,
            'confirmed_by', NEW.confirmed_by, 'confirmed_at', NEW.confirmed_at, 'undone_by', NEW.undone_by, 'undone_at', NEW.undone_at,
            'created_at', NEW.created_at, 'updated_at', NEW.updated_at, 'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted));
END;

CREATE TRIGGER import_batches_audit_update AFTER UPDATE ON import_batches
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'import_batches', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END,
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'file_name', OLD.file_name,
            'file_sha256', OLD.file_sha256, 'format', OLD.format, 'parser_version', OLD.parser_version, 'statement_tz', OLD.statement_tz,
            'new_count', OLD.new_count, 'duplicate_count', OLD.duplicate_count, 'corrected_count', OLD.corrected_count, 'cancelled_count', OLD.cancelled_count,
            'rejected_count', OLD.rejected_count, 'skipped_count', OLD.skipped_count, 'trades_created', OLD.trades_created, 'trades_changed', OLD.trades_changed,
            'confirmed_by', OLD.confirmed_by, 'confirmed_at', OLD.confirmed_at, 'undone_by', OLD.undone_by, 'undone_at', OLD.undone_at,
            'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted),
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'account_id', NEW.account_id, 'file_name', NEW.file_name,
            'file_sha256', NEW.file_sha256, 'format', NEW.format, 'parser_version', NEW.parser_version, 'statement_tz', NEW.statement_tz,
            'new_count', NEW.new_count, 'duplicate_count', NEW.duplicate_count, 'corrected_count', NEW.corrected_count, 'cancelled_count', NEW.cancelled_count,
            'rejected_count', NEW.rejected_count, 'skipped_count', NEW.skipped_count, 'trades_created', NEW.trades_created, 'trades_changed', NEW.trades_changed,
            'confirmed_by', NEW.confirmed_by, 'confirmed_at', NEW.confirmed_at, 'undone_by', NEW.undone_by, 'undone_at', NEW.undone_at,
            'created_at', NEW.created_at, 'updated_at', NEW.updated_at, 'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted));
END;

CREATE TRIGGER import_batches_audit_delete AFTER DELETE ON import_batches
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'import_batches', OLD.id, 'delete',
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'file_name', OLD.file_name,
            'file_sha256', OLD.file_sha256, 'format', OLD.format, 'parser_version', OLD.parser_version, 'statement_tz', OLD.statement_tz,
            'new_count', OLD.new_count, 'duplicate_count', OLD.duplicate_count, 'corrected_count', OLD.corrected_count, 'cancelled_count', OLD.cancelled_count,
            'rejected_count', OLD.rejected_count, 'skipped_count', OLD.skipped_count, 'trades_created', OLD.trades_created, 'trades_changed', OLD.trades_changed,
            'confirmed_by', OLD.confirmed_by, 'confirmed_at', OLD.confirmed_at, 'undone_by', OLD.undone_by, 'undone_at', OLD.undone_at,
            'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted), NULL);
END;

CREATE TRIGGER import_batches_outbox_insert AFTER INSERT ON import_batches
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('import_batches', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER import_batches_outbox_update AFTER UPDATE ON import_batches
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('import_batches', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER import_batches_clock_insert AFTER INSERT ON import_batches
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('import_batches', NEW.id, '*', NEW.updated_hlc, '');
END;

CREATE TRIGGER import_batches_clock_update AFTER UPDATE ON import_batches
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    SELECT 'import_batches', NEW.id, value, NEW.updated_hlc,
        coalesce((SELECT coalesce(c.base, c.hlc) FROM sync_field_clock c
                  WHERE c.table_name = 'import_batches' AND c.row_id = NEW.id AND c.field = '*'), '')
    FROM json_each(json_array(
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.user_id IS NOT NEW.user_id THEN 'user_id' END,
        CASE WHEN OLD.account_id IS NOT NEW.account_id THEN 'account_id' END,
        CASE WHEN OLD.file_name IS NOT NEW.file_name THEN 'file_name' END,
        CASE WHEN OLD.file_sha256 IS NOT NEW.file_sha256 THEN 'file_sha256' END,
        CASE WHEN OLD.format IS NOT NEW.format THEN 'format' END,
        CASE WHEN OLD.parser_version IS NOT NEW.parser_version THEN 'parser_version' END,
        CASE WHEN OLD.statement_tz IS NOT NEW.statement_tz THEN 'statement_tz' END,
        CASE WHEN OLD.new_count IS NOT NEW.new_count THEN 'new_count' END,
        CASE WHEN OLD.duplicate_count IS NOT NEW.duplicate_count THEN 'duplicate_count' END,
        CASE WHEN OLD.corrected_count IS NOT NEW.corrected_count THEN 'corrected_count' END,
        CASE WHEN OLD.cancelled_count IS NOT NEW.cancelled_count THEN 'cancelled_count' END,
        CASE WHEN OLD.rejected_count IS NOT NEW.rejected_count THEN 'rejected_count' END,
        CASE WHEN OLD.skipped_count IS NOT NEW.skipped_count THEN 'skipped_count' END,
        CASE WHEN OLD.trades_created IS NOT NEW.trades_created THEN 'trades_created' END,
        CASE WHEN OLD.trades_changed IS NOT NEW.trades_changed THEN 'trades_changed' END,
        CASE WHEN OLD.confirmed_by IS NOT NEW.confirmed_by THEN 'confirmed_by' END,
        CASE WHEN OLD.confirmed_at IS NOT NEW.confirmed_at THEN 'confirmed_at' END,
        CASE WHEN OLD.undone_by IS NOT NEW.undone_by THEN 'undone_by' END,
        CASE WHEN OLD.undone_at IS NOT NEW.undone_at THEN 'undone_at' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL
    ON CONFLICT (table_name, row_id, field)
    DO UPDATE SET hlc = excluded.hlc, base = coalesce(sync_field_clock.base, sync_field_clock.hlc);
END;


-- The executions triggers record the new columns too.

DROP TRIGGER executions_audit_insert;
CREATE TRIGGER executions_audit_insert AFTER INSERT ON executions
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'executions', NEW.id, 'insert', NULL,
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'account_id', NEW.account_id, 'trade_id', NEW.trade_id,
            'side', NEW.side, 'quantity', NEW.quantity, 'price', NEW.price, 'fees', NEW.fees,
            'executed_at', NEW.executed_at, 'time_zone', NEW.time_zone, 'realized_gross', NEW.realized_gross, 'realized_net', NEW.realized_net,
            'created_at', NEW.created_at, 'updated_at', NEW.updated_at, 'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted,
            'import_batch_id', NEW.import_batch_id, 'broker', NEW.broker, 'broker_account', NEW.broker_account, 'broker_exec_id', NEW.broker_exec_id,
            'order_id', NEW.order_id, 'asset_class', NEW.asset_class, 'instrument_key', NEW.instrument_key, 'underlying', NEW.underlying,
            'expiry', NEW.expiry, 'strike', NEW.strike, 'option_right', NEW.option_right, 'future_root', NEW.future_root,
            'contract_month', NEW.contract_month, 'multiplier', NEW.multiplier, 'currency', NEW.currency, 'commission', NEW.commission,
            'exchange_fee', NEW.exchange_fee, 'regulatory_fee', NEW.regulatory_fee, 'other_fee', NEW.other_fee, 'raw_time', NEW.raw_time,
            'statement_tz', NEW.statement_tz, 'source_line', NEW.source_line, 'fingerprint', NEW.fingerprint, 'dedupe_key', NEW.dedupe_key,
            'corrected_by_batch', NEW.corrected_by_batch, 'replaced', NEW.replaced, 'removed_by_batch', NEW.removed_by_batch));
END;

DROP TRIGGER executions_audit_update;
CREATE TRIGGER executions_audit_update AFTER UPDATE ON executions
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'executions', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END,
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'trade_id', OLD.trade_id,
            'side', OLD.side, 'quantity', OLD.quantity, 'price', OLD.price, 'fees', OLD.fees,
            'executed_at', OLD.executed_at, 'time_zone', OLD.time_zone, 'realized_gross', OLD.realized_gross, 'realized_net', OLD.realized_net,
            'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted,
            'import_batch_id', OLD.import_batch_id, 'broker', OLD.broker, 'broker_account', OLD.broker_account, 'broker_exec_id', OLD.broker_exec_id,
            'order_id', OLD.order_id, 'asset_class', OLD.asset_class, 'instrument_key', OLD.instrument_key, 'underlying', OLD.underlying,
            'expiry', OLD.expiry, 'strike', OLD.strike, 'option_right', OLD.option_right, 'future_root', OLD.future_root,
            'contract_month', OLD.contract_month, 'multiplier', OLD.multiplier, 'currency', OLD.currency, 'commission', OLD.commission,
            'exchange_fee', OLD.exchange_fee, 'regulatory_fee', OLD.regulatory_fee, 'other_fee', OLD.other_fee, 'raw_time', OLD.raw_time,
            'statement_tz', OLD.statement_tz, 'source_line', OLD.source_line, 'fingerprint', OLD.fingerprint, 'dedupe_key', OLD.dedupe_key,
            'corrected_by_batch', OLD.corrected_by_batch, 'replaced', OLD.replaced, 'removed_by_batch', OLD.removed_by_batch),
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'account_id', NEW.account_id, 'trade_id', NEW.trade_id,
            'side', NEW.side, 'quantity', NEW.quantity, 'price', NEW.price, 'fees', NEW.fees,
            'executed_at', NEW.executed_at, 'time_zone', NEW.time_zone, 'realized_gross', NEW.realized_gross, 'realized_net', NEW.realized_net,
            'created_at', NEW.created_at, 'updated_at', NEW.updated_at, 'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted,
            'import_batch_id', NEW.import_batch_id, 'broker', NEW.broker, 'broker_account', NEW.broker_account, 'broker_exec_id', NEW.broker_exec_id,
            'order_id', NEW.order_id, 'asset_class', NEW.asset_class, 'instrument_key', NEW.instrument_key, 'underlying', NEW.underlying,
            'expiry', NEW.expiry, 'strike', NEW.strike, 'option_right', NEW.option_right, 'future_root', NEW.future_root,
            'contract_month', NEW.contract_month, 'multiplier', NEW.multiplier, 'currency', NEW.currency, 'commission', NEW.commission,
            'exchange_fee', NEW.exchange_fee, 'regulatory_fee', NEW.regulatory_fee, 'other_fee', NEW.other_fee, 'raw_time', NEW.raw_time,
            'statement_tz', NEW.statement_tz, 'source_line', NEW.source_line, 'fingerprint', NEW.fingerprint, 'dedupe_key', NEW.dedupe_key,
            'corrected_by_batch', NEW.corrected_by_batch, 'replaced', NEW.replaced, 'removed_by_batch', NEW.removed_by_batch));
END;

DROP TRIGGER executions_audit_delete;
CREATE TRIGGER executions_audit_delete AFTER DELETE ON executions
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'executions', OLD.id, 'delete',
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'trade_id', OLD.trade_id,
            'side', OLD.side, 'quantity', OLD.quantity, 'price', OLD.price, 'fees', OLD.fees,
            'executed_at', OLD.executed_at, 'time_zone', OLD.time_zone, 'realized_gross', OLD.realized_gross, 'realized_net', OLD.realized_net,
            'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted,
            'import_batch_id', OLD.import_batch_id, 'broker', OLD.broker, 'broker_account', OLD.broker_account, 'broker_exec_id', OLD.broker_exec_id,
            'order_id', OLD.order_id, 'asset_class', OLD.asset_class, 'instrument_key', OLD.instrument_key, 'underlying', OLD.underlying,
            'expiry', OLD.expiry, 'strike', OLD.strike, 'option_right', OLD.option_right, 'future_root', OLD.future_root,
            'contract_month', OLD.contract_month, 'multiplier', OLD.multiplier, 'currency', OLD.currency, 'commission', OLD.commission,
            'exchange_fee', OLD.exchange_fee, 'regulatory_fee', OLD.regulatory_fee, 'other_fee', OLD.other_fee, 'raw_time', OLD.raw_time,
            'statement_tz', OLD.statement_tz, 'source_line', OLD.source_line, 'fingerprint', OLD.fingerprint, 'dedupe_key', OLD.dedupe_key,
            'corrected_by_batch', OLD.corrected_by_batch, 'replaced', OLD.replaced, 'removed_by_batch', OLD.removed_by_batch), NULL);
END;

DROP TRIGGER executions_clock_update;
CREATE TRIGGER executions_clock_update AFTER UPDATE ON executions
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    SELECT 'executions', NEW.id, value, NEW.updated_hlc,
        coalesce((SELECT coalesce(c.base, c.hlc) FROM sync_field_clock c
                  WHERE c.table_name = 'executions' AND c.row_id = NEW.id AND c.field = '*'), '')
    FROM json_each(json_array(
        CASE WHEN OLD.import_batch_id IS NOT NEW.import_batch_id THEN 'import_batch_id' END,
        CASE WHEN OLD.broker IS NOT NEW.broker THEN 'broker' END,
        CASE WHEN OLD.broker_account IS NOT NEW.broker_account THEN 'broker_account' END,
        CASE WHEN OLD.broker_exec_id IS NOT NEW.broker_exec_id THEN 'broker_exec_id' END,
        CASE WHEN OLD.order_id IS NOT NEW.order_id THEN 'order_id' END,
        CASE WHEN OLD.asset_class IS NOT NEW.asset_class THEN 'asset_class' END,
        CASE WHEN OLD.instrument_key IS NOT NEW.instrument_key THEN 'instrument_key' END,
        CASE WHEN OLD.underlying IS NOT NEW.underlying THEN 'underlying' END,
        CASE WHEN OLD.expiry IS NOT NEW.expiry THEN 'expiry' END,
        CASE WHEN OLD.strike IS NOT NEW.strike THEN 'strike' END,
        CASE WHEN OLD.option_right IS NOT NEW.option_right THEN 'option_right' END,
        CASE WHEN OLD.future_root IS NOT NEW.future_root THEN 'future_root' END,
        CASE WHEN OLD.contract_month IS NOT NEW.contract_month THEN 'contract_month' END,
        CASE WHEN OLD.multiplier IS NOT NEW.multiplier THEN 'multiplier' END,
        CASE WHEN OLD.currency IS NOT NEW.currency THEN 'currency' END,
        CASE WHEN OLD.commission IS NOT NEW.commission THEN 'commission' END,
        CASE WHEN OLD.exchange_fee IS NOT NEW.exchange_fee THEN 'exchange_fee' END,
        CASE WHEN OLD.regulatory_fee IS NOT NEW.regulatory_fee THEN 'regulatory_fee' END,
        CASE WHEN OLD.other_fee IS NOT NEW.other_fee THEN 'other_fee' END,
        CASE WHEN OLD.raw_time IS NOT NEW.raw_time THEN 'raw_time' END,
        CASE WHEN OLD.statement_tz IS NOT NEW.statement_tz THEN 'statement_tz' END,
        CASE WHEN OLD.source_line IS NOT NEW.source_line THEN 'source_line' END,
        CASE WHEN OLD.fingerprint IS NOT NEW.fingerprint THEN 'fingerprint' END,
        CASE WHEN OLD.dedupe_key IS NOT NEW.dedupe_key THEN 'dedupe_key' END,
        CASE WHEN OLD.corrected_by_batch IS NOT NEW.corrected_by_batch THEN 'corrected_by_batch' END,
        CASE WHEN OLD.replaced IS NOT NEW.replaced THEN 'replaced' END,
        CASE WHEN OLD.removed_by_batch IS NOT NEW.removed_by_batch THEN 'removed_by_batch' END,
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.user_id IS NOT NEW.user_id THEN 'user_id' END,
        CASE WHEN OLD.account_id IS NOT NEW.account_id THEN 'account_id' END,
        CASE WHEN OLD.trade_id IS NOT NEW.trade_id THEN 'trade_id' END,
        CASE WHEN OLD.side IS NOT NEW.side THEN 'side' END,
        CASE WHEN OLD.quantity IS NOT NEW.quantity THEN 'quantity' END,
        CASE WHEN OLD.price IS NOT NEW.price THEN 'price' END,
        CASE WHEN OLD.fees IS NOT NEW.fees THEN 'fees' END,
        CASE WHEN OLD.executed_at IS NOT NEW.executed_at THEN 'executed_at' END,
        CASE WHEN OLD.time_zone IS NOT NEW.time_zone THEN 'time_zone' END,
        CASE WHEN OLD.realized_gross IS NOT NEW.realized_gross THEN 'realized_gross' END,
        CASE WHEN OLD.realized_net IS NOT NEW.realized_net THEN 'realized_net' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL
    ON CONFLICT (table_name, row_id, field)
    DO UPDATE SET hlc = excluded.hlc, base = coalesce(sync_field_clock.base, sync_field_clock.hlc);
END;
