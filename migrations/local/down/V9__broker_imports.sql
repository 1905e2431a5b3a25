-- V9 down: no import batches, no saved mappings, executions without provenance (imported fills stay as
-- plain fills of their trades).

DROP TABLE import_mappings;
DROP TABLE import_batches;
DROP INDEX executions_dedupe_idx;
DROP INDEX executions_instrument_idx;
DROP INDEX executions_batch_idx;
DROP INDEX executions_corrected_idx;
DROP INDEX executions_removed_idx;


DROP TRIGGER executions_audit_insert;

DROP TRIGGER executions_audit_update;

DROP TRIGGER executions_audit_delete;

DROP TRIGGER executions_clock_update;

ALTER TABLE executions DROP COLUMN import_batch_id;

ALTER TABLE executions DROP COLUMN broker;

ALTER TABLE executions DROP COLUMN broker_account;

ALTER TABLE executions DROP COLUMN broker_exec_id;

ALTER TABLE executions DROP COLUMN order_id;

ALTER TABLE executions DROP COLUMN asset_class;

ALTER TABLE executions DROP COLUMN instrument_key;

ALTER TABLE executions DROP COLUMN underlying;

ALTER TABLE executions DROP COLUMN expiry;

ALTER TABLE executions DROP COLUMN strike;

ALTER TABLE executions DROP COLUMN option_right;

ALTER TABLE executions DROP COLUMN future_root;

ALTER TABLE executions DROP COLUMN contract_month;

ALTER TABLE executions DROP COLUMN multiplier;

ALTER TABLE executions DROP COLUMN currency;

ALTER TABLE executions DROP COLUMN commission;

ALTER TABLE executions DROP COLUMN exchange_fee;

ALTER TABLE executions DROP COLUMN regulatory_fee;

ALTER TABLE executions DROP COLUMN other_fee;

ALTER TABLE executions DROP COLUMN raw_time;

ALTER TABLE executions DROP COLUMN statement_tz;

ALTER TABLE executions DROP COLUMN source_line;

ALTER TABLE executions DROP COLUMN fingerprint;

ALTER TABLE executions DROP COLUMN dedupe_key;

ALTER TABLE executions DROP COLUMN corrected_by_batch;

ALTER TABLE executions DROP COLUMN replaced;

ALTER TABLE executions DROP COLUMN removed_by_batch;

CREATE TRIGGER executions_audit_insert AFTER INSERT ON executions
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'executions', NEW.id, 'insert', NULL,
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'account_id', NEW.account_id, 'trade_id', NEW.trade_id,
            'side', NEW.side, 'quantity', NEW.quantity, 'price', NEW.price, 'fees', NEW.fees,
            'executed_at', NEW.executed_at, 'time_zone', NEW.time_zone, 'realized_gross', NEW.realized_gross, 'realized_net', NEW.realized_net,
            'created_at', NEW.created_at, 'updated_at', NEW.updated_at, 'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted));
END;

CREATE TRIGGER executions_audit_update AFTER UPDATE ON executions
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'executions', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END,
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'trade_id', OLD.trade_id,
            'side', OLD.side, 'quantity', OLD.quantity, 'price', OLD.price, 'fees', OLD.fees,
            'executed_at', OLD.executed_at, 'time_zone', OLD.time_zone, 'realized_gross', OLD.realized_gross, 'realized_net', OLD.realized_net,
            'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted),
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'account_id', NEW.account_id, 'trade_id', NEW.trade_id,
            'side', NEW.side, 'quantity', NEW.quantity, 'price', NEW.price, 'fees', NEW.fees,
            'executed_at', NEW.executed_at, 'time_zone', NEW.time_zone, 'realized_gross', NEW.realized_gross, 'realized_net', NEW.realized_net,
            'created_at', NEW.created_at, 'updated_at', NEW.updated_at, 'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted));
END;

CREATE TRIGGER executions_audit_delete AFTER DELETE ON executions
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'executions', OLD.id, 'delete',
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'trade_id', OLD.trade_id,
            'side', OLD.side, 'quantity', OLD.quantity, 'price', OLD.price, 'fees', OLD.fees,
            'executed_at', OLD.executed_at, 'time_zone', OLD.time_zone, 'realized_gross', OLD.realized_gross, 'realized_net', OLD.realized_net,
            'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted), NULL);
END;

CREATE TRIGGER executions_clock_update AFTER UPDATE ON executions
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    SELECT 'executions', NEW.id, value, NEW.updated_hlc,
        coalesce((SELECT coalesce(c.base, c.hlc) FROM sync_field_clock c
                  WHERE c.table_name = 'executions' AND c.row_id = NEW.id AND c.field = '*'), '')
    FROM json_each(json_array(
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
