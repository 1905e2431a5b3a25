-- V10 down: the audit log and the outbox as two tables again. Entries of the change log become audit rows
-- (a change's fields as old and new values) and the changes not yet confirmed by the server become outbox
-- entries with the same sequence numbers.

DROP TRIGGER users_log_insert;
DROP TRIGGER users_log_update;
DROP TRIGGER users_log_delete;
DROP TRIGGER accounts_log_insert;
DROP TRIGGER accounts_log_update;
DROP TRIGGER accounts_log_delete;
DROP TRIGGER risk_settings_log_insert;
DROP TRIGGER risk_settings_log_update;
DROP TRIGGER risk_settings_log_delete;
DROP TRIGGER trades_log_insert;
DROP TRIGGER trades_log_update;
DROP TRIGGER trades_log_delete;
DROP TRIGGER import_batches_log_insert;
DROP TRIGGER import_batches_log_update;
DROP TRIGGER import_batches_log_delete;
DROP TRIGGER executions_log_insert;
DROP TRIGGER executions_log_update;
DROP TRIGGER executions_log_delete;
DROP TRIGGER trade_stop_adjustments_log_insert;
DROP TRIGGER trade_stop_adjustments_log_update;
DROP TRIGGER trade_stop_adjustments_log_delete;
DROP TRIGGER trade_targets_log_insert;
DROP TRIGGER trade_targets_log_update;
DROP TRIGGER trade_targets_log_delete;
DROP TRIGGER trade_notes_log_insert;
DROP TRIGGER trade_notes_log_update;
DROP TRIGGER trade_notes_log_delete;
DROP TRIGGER trade_checklist_templates_log_insert;
DROP TRIGGER trade_checklist_templates_log_update;
DROP TRIGGER trade_checklist_templates_log_delete;
DROP TRIGGER trade_checklist_items_log_insert;
DROP TRIGGER trade_checklist_items_log_update;
DROP TRIGGER trade_checklist_items_log_delete;
DROP TRIGGER trade_checklist_responses_log_insert;
DROP TRIGGER trade_checklist_responses_log_update;
DROP TRIGGER trade_checklist_responses_log_delete;
DROP TRIGGER broker_connections_log_insert;
DROP TRIGGER broker_connections_log_update;
DROP TRIGGER broker_connections_log_delete;

CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    table_name  TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    old_values  TEXT,
    new_values  TEXT
) STRICT;
CREATE TABLE sync_outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    op         TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    hlc        TEXT NOT NULL,
    queued_at  TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_row_idx ON audit_log (table_name, row_id);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, at);
CREATE INDEX sync_outbox_row_idx ON sync_outbox (table_name, row_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
SELECT at, user_id, table_name, row_id,
       CASE action WHEN 'remove' THEN 'delete' ELSE action END,
       CASE WHEN json_type(changes, '$.old') IS NOT NULL OR json_type(changes, '$.new') IS NOT NULL
                 THEN json_extract(changes, '$.old')
            WHEN action = 'remove' THEN changes
            WHEN action = 'insert' THEN NULL
            ELSE (SELECT json_group_object(key, json_extract(value, '$[0]')) FROM json_each(changes)) END,
       CASE WHEN json_type(changes, '$.old') IS NOT NULL OR json_type(changes, '$.new') IS NOT NULL
                 THEN json_extract(changes, '$.new')
            WHEN action = 'remove' THEN NULL
            WHEN action = 'insert' THEN json_object('id', row_id)
            ELSE (SELECT json_group_object(key, json_extract(value, '$[1]')) FROM json_each(changes)) END
FROM change_log WHERE action IN ('insert', 'update', 'delete', 'remove') ORDER BY seq;

INSERT INTO sync_outbox (seq, table_name, row_id, op, hlc, queued_at)
SELECT c.seq, c.table_name, c.row_id,
       CASE c.action WHEN 'insert' THEN 'insert' WHEN 'delete' THEN 'delete' ELSE 'update' END,
       coalesce(c.hlc, ''), c.at
FROM change_log c
WHERE c.push = 1
  AND c.seq > coalesce((SELECT CAST(s.value AS INTEGER) FROM sync_state s WHERE s.key = c.user_id || '.acknowledged'), 0)
ORDER BY c.seq;
DELETE FROM sqlite_sequence WHERE name = 'sync_outbox';
INSERT INTO sqlite_sequence (name, seq) SELECT 'sync_outbox', coalesce(max(seq), 0) FROM change_log;

DROP TABLE change_log;

CREATE TRIGGER accounts_audit_delete AFTER DELETE ON accounts
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'accounts', OLD.id, 'delete',
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'name', OLD.name, 'currency', OLD.currency,
            'starting_balance', OLD.starting_balance, 'time_zone', OLD.time_zone, 'broker', OLD.broker, 'matching_method', OLD.matching_method,
            'breakeven_tolerance', OLD.breakeven_tolerance, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc,
            'deleted', OLD.deleted), NULL);
END;

CREATE TRIGGER accounts_audit_insert AFTER INSERT ON accounts
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'accounts', NEW.id, 'insert', NULL,
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'name', NEW.name, 'currency', NEW.currency,
            'starting_balance', NEW.starting_balance, 'time_zone', NEW.time_zone, 'broker', NEW.broker, 'matching_method', NEW.matching_method,
            'breakeven_tolerance', NEW.breakeven_tolerance, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at, 'updated_hlc', NEW.updated_hlc,
            'deleted', NEW.deleted));
END;

CREATE TRIGGER accounts_audit_update AFTER UPDATE ON accounts
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'accounts', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END,
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'name', OLD.name, 'currency', OLD.currency,
            'starting_balance', OLD.starting_balance, 'time_zone', OLD.time_zone, 'broker', OLD.broker, 'matching_method', OLD.matching_method,
            'breakeven_tolerance', OLD.breakeven_tolerance, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc,
            'deleted', OLD.deleted),
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'name', NEW.name, 'currency', NEW.currency,
            'starting_balance', NEW.starting_balance, 'time_zone', NEW.time_zone, 'broker', NEW.broker, 'matching_method', NEW.matching_method,
            'breakeven_tolerance', NEW.breakeven_tolerance, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at, 'updated_hlc', NEW.updated_hlc,
            'deleted', NEW.deleted));
END;

CREATE TRIGGER accounts_outbox_insert AFTER INSERT ON accounts
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('accounts', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER accounts_outbox_update AFTER UPDATE ON accounts
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('accounts', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER broker_connections_audit_delete AFTER DELETE ON broker_connections
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'broker_connections', OLD.id, 'delete',
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'broker', OLD.broker,
            'label', OLD.label, 'api_key_hint', OLD.api_key_hint, 'status', OLD.status, 'created_at', OLD.created_at,
            'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted), NULL);
END;

CREATE TRIGGER broker_connections_audit_insert AFTER INSERT ON broker_connections
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'broker_connections', NEW.id, 'insert', NULL,
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'account_id', NEW.account_id, 'broker', NEW.broker,
            'label', NEW.label, 'api_key_hint', NEW.api_key_hint, 'status', NEW.status, 'created_at', NEW.created_at,
            'updated_at', NEW.updated_at, 'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted));
END;

CREATE TRIGGER broker_connections_audit_update AFTER UPDATE ON broker_connections
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'broker_connections', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END,
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'broker', OLD.broker,
            'label', OLD.label, 'api_key_hint', OLD.api_key_hint, 'status', OLD.status, 'created_at', OLD.created_at,
            'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted),
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'account_id', NEW.account_id, 'broker', NEW.broker,
            'label', NEW.label, 'api_key_hint', NEW.api_key_hint, 'status', NEW.status, 'created_at', NEW.created_at,
            'updated_at', NEW.updated_at, 'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted));
END;

CREATE TRIGGER broker_connections_outbox_insert AFTER INSERT ON broker_connections
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('broker_connections', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER broker_connections_outbox_update AFTER UPDATE ON broker_connections
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('broker_connections', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

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

CREATE TRIGGER executions_outbox_insert AFTER INSERT ON executions
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('executions', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER executions_outbox_update AFTER UPDATE ON executions
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('executions', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
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

CREATE TRIGGER risk_settings_audit_delete AFTER DELETE ON risk_settings
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'risk_settings', OLD.id, 'delete',
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'max_risk_per_trade_pct', OLD.max_risk_per_trade_pct,
            'max_daily_loss_pct', OLD.max_daily_loss_pct, 'max_weekly_loss_pct', OLD.max_weekly_loss_pct, 'max_open_positions', OLD.max_open_positions, 'max_correlated_positions', OLD.max_correlated_positions,
            'sizing_method', OLD.sizing_method, 'fixed_amount', OLD.fixed_amount, 'fixed_quantity', OLD.fixed_quantity, 'enforcement', OLD.enforcement,
            'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted), NULL);
END;

CREATE TRIGGER risk_settings_audit_insert AFTER INSERT ON risk_settings
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'risk_settings', NEW.id, 'insert', NULL,
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'account_id', NEW.account_id, 'max_risk_per_trade_pct', NEW.max_risk_per_trade_pct,
            'max_daily_loss_pct', NEW.max_daily_loss_pct, 'max_weekly_loss_pct', NEW.max_weekly_loss_pct, 'max_open_positions', NEW.max_open_positions, 'max_correlated_positions', NEW.max_correlated_positions,
            'sizing_method', NEW.sizing_method, 'fixed_amount', NEW.fixed_amount, 'fixed_quantity', NEW.fixed_quantity, 'enforcement', NEW.enforcement,
            'created_at', NEW.created_at, 'updated_at', NEW.updated_at, 'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted));
END;

CREATE TRIGGER risk_settings_audit_update AFTER UPDATE ON risk_settings
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'risk_settings', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END,
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'max_risk_per_trade_pct', OLD.max_risk_per_trade_pct,
            'max_daily_loss_pct', OLD.max_daily_loss_pct, 'max_weekly_loss_pct', OLD.max_weekly_loss_pct, 'max_open_positions', OLD.max_open_positions, 'max_correlated_positions', OLD.max_correlated_positions,
            'sizing_method', OLD.sizing_method, 'fixed_amount', OLD.fixed_amount, 'fixed_quantity', OLD.fixed_quantity, 'enforcement', OLD.enforcement,
            'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted),
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'account_id', NEW.account_id, 'max_risk_per_trade_pct', NEW.max_risk_per_trade_pct,
            'max_daily_loss_pct', NEW.max_daily_loss_pct, 'max_weekly_loss_pct', NEW.max_weekly_loss_pct, 'max_open_positions', NEW.max_open_positions, 'max_correlated_positions', NEW.max_correlated_positions,
            'sizing_method', NEW.sizing_method, 'fixed_amount', NEW.fixed_amount, 'fixed_quantity', NEW.fixed_quantity, 'enforcement', NEW.enforcement,
            'created_at', NEW.created_at, 'updated_at', NEW.updated_at, 'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted));
END;

CREATE TRIGGER risk_settings_outbox_insert AFTER INSERT ON risk_settings
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('risk_settings', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER risk_settings_outbox_update AFTER UPDATE ON risk_settings
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('risk_settings', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_checklist_items_outbox_insert AFTER INSERT ON trade_checklist_items
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_checklist_items', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_checklist_items_outbox_update AFTER UPDATE ON trade_checklist_items
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_checklist_items', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_checklist_responses_outbox_insert AFTER INSERT ON trade_checklist_responses
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_checklist_responses', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_checklist_responses_outbox_update AFTER UPDATE ON trade_checklist_responses
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_checklist_responses', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_checklist_templates_outbox_insert AFTER INSERT ON trade_checklist_templates
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_checklist_templates', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_checklist_templates_outbox_update AFTER UPDATE ON trade_checklist_templates
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_checklist_templates', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_notes_outbox_insert AFTER INSERT ON trade_notes
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_notes', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_notes_outbox_update AFTER UPDATE ON trade_notes
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_notes', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_stop_adjustments_audit_delete AFTER DELETE ON trade_stop_adjustments
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'trade_stop_adjustments', OLD.id, 'delete',
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'trade_id', OLD.trade_id, 'price', OLD.price,
            'adjusted_at', OLD.adjusted_at, 'reason', OLD.reason, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at,
            'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted), NULL);
END;

CREATE TRIGGER trade_stop_adjustments_audit_insert AFTER INSERT ON trade_stop_adjustments
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_stop_adjustments', NEW.id, 'insert', NULL,
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'trade_id', NEW.trade_id, 'price', NEW.price,
            'adjusted_at', NEW.adjusted_at, 'reason', NEW.reason, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at,
            'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted));
END;

CREATE TRIGGER trade_stop_adjustments_audit_update AFTER UPDATE ON trade_stop_adjustments
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_stop_adjustments', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END,
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'trade_id', OLD.trade_id, 'price', OLD.price,
            'adjusted_at', OLD.adjusted_at, 'reason', OLD.reason, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at,
            'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted),
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'trade_id', NEW.trade_id, 'price', NEW.price,
            'adjusted_at', NEW.adjusted_at, 'reason', NEW.reason, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at,
            'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted));
END;

CREATE TRIGGER trade_stop_adjustments_outbox_insert AFTER INSERT ON trade_stop_adjustments
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_stop_adjustments', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_stop_adjustments_outbox_update AFTER UPDATE ON trade_stop_adjustments
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_stop_adjustments', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_targets_audit_delete AFTER DELETE ON trade_targets
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'trade_targets', OLD.id, 'delete',
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'trade_id', OLD.trade_id, 'price', OLD.price,
            'quantity', OLD.quantity, 'label', OLD.label, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at,
            'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted, 'set_id', OLD.set_id), NULL);
END;

CREATE TRIGGER trade_targets_audit_insert AFTER INSERT ON trade_targets
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_targets', NEW.id, 'insert', NULL,
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'trade_id', NEW.trade_id, 'price', NEW.price,
            'quantity', NEW.quantity, 'label', NEW.label, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at,
            'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted, 'set_id', NEW.set_id));
END;

CREATE TRIGGER trade_targets_audit_update AFTER UPDATE ON trade_targets
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_targets', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END,
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'trade_id', OLD.trade_id, 'price', OLD.price,
            'quantity', OLD.quantity, 'label', OLD.label, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at,
            'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted, 'set_id', OLD.set_id),
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'trade_id', NEW.trade_id, 'price', NEW.price,
            'quantity', NEW.quantity, 'label', NEW.label, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at,
            'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted, 'set_id', NEW.set_id));
END;

CREATE TRIGGER trade_targets_outbox_insert AFTER INSERT ON trade_targets
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_targets', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_targets_outbox_update AFTER UPDATE ON trade_targets
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_targets', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trades_audit_delete AFTER DELETE ON trades
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'trades', OLD.id, 'delete',
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'symbol', OLD.symbol,
            'direction', OLD.direction, 'status', OLD.status, 'multiplier', OLD.multiplier, 'planned_entry', OLD.planned_entry,
            'planned_quantity', OLD.planned_quantity, 'initial_stop', OLD.initial_stop, 'current_stop', OLD.current_stop, 'setup', OLD.setup,
            'correlation_group', OLD.correlation_group, 'entered_quantity', OLD.entered_quantity, 'open_quantity', OLD.open_quantity, 'avg_entry_price', OLD.avg_entry_price,
            'avg_exit_price', OLD.avg_exit_price, 'gross_pnl', OLD.gross_pnl, 'fees', OLD.fees, 'net_pnl', OLD.net_pnl,
            'initial_risk', OLD.initial_risk, 'r_multiple', OLD.r_multiple, 'exit_days', OLD.exit_days, 'opened_at', OLD.opened_at,
            'closed_at', OLD.closed_at, 'cancelled_at', OLD.cancelled_at, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at,
            'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted, 'excess_quantity', OLD.excess_quantity, 'review', OLD.review, 'targets_set', OLD.targets_set), NULL);
END;

CREATE TRIGGER trades_audit_insert AFTER INSERT ON trades
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'trades', NEW.id, 'insert', NULL,
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'account_id', NEW.account_id, 'symbol', NEW.symbol,
            'direction', NEW.direction, 'status', NEW.status, 'multiplier', NEW.multiplier, 'planned_entry', NEW.planned_entry,
            'planned_quantity', NEW.planned_quantity, 'initial_stop', NEW.initial_stop, 'current_stop', NEW.current_stop, 'setup', NEW.setup,
            'correlation_group', NEW.correlation_group, 'entered_quantity', NEW.entered_quantity, 'open_quantity', NEW.open_quantity, 'avg_entry_price', NEW.avg_entry_price,
            'avg_exit_price', NEW.avg_exit_price, 'gross_pnl', NEW.gross_pnl, 'fees', NEW.fees, 'net_pnl', NEW.net_pnl,
            'initial_risk', NEW.initial_risk, 'r_multiple', NEW.r_multiple, 'exit_days', NEW.exit_days, 'opened_at', NEW.opened_at,
            'closed_at', NEW.closed_at, 'cancelled_at', NEW.cancelled_at, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at,
            'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted, 'excess_quantity', NEW.excess_quantity, 'review', NEW.review, 'targets_set', NEW.targets_set));
END;

CREATE TRIGGER trades_audit_update AFTER UPDATE ON trades
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'trades', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END,
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'symbol', OLD.symbol,
            'direction', OLD.direction, 'status', OLD.status, 'multiplier', OLD.multiplier, 'planned_entry', OLD.planned_entry,
            'planned_quantity', OLD.planned_quantity, 'initial_stop', OLD.initial_stop, 'current_stop', OLD.current_stop, 'setup', OLD.setup,
            'correlation_group', OLD.correlation_group, 'entered_quantity', OLD.entered_quantity, 'open_quantity', OLD.open_quantity, 'avg_entry_price', OLD.avg_entry_price,
            'avg_exit_price', OLD.avg_exit_price, 'gross_pnl', OLD.gross_pnl, 'fees', OLD.fees, 'net_pnl', OLD.net_pnl,
            'initial_risk', OLD.initial_risk, 'r_multiple', OLD.r_multiple, 'exit_days', OLD.exit_days, 'opened_at', OLD.opened_at,
            'closed_at', OLD.closed_at, 'cancelled_at', OLD.cancelled_at, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at,
            'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted, 'excess_quantity', OLD.excess_quantity, 'review', OLD.review, 'targets_set', OLD.targets_set),
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'account_id', NEW.account_id, 'symbol', NEW.symbol,
            'direction', NEW.direction, 'status', NEW.status, 'multiplier', NEW.multiplier, 'planned_entry', NEW.planned_entry,
            'planned_quantity', NEW.planned_quantity, 'initial_stop', NEW.initial_stop, 'current_stop', NEW.current_stop, 'setup', NEW.setup,
            'correlation_group', NEW.correlation_group, 'entered_quantity', NEW.entered_quantity, 'open_quantity', NEW.open_quantity, 'avg_entry_price', NEW.avg_entry_price,
            'avg_exit_price', NEW.avg_exit_price, 'gross_pnl', NEW.gross_pnl, 'fees', NEW.fees, 'net_pnl', NEW.net_pnl,
            'initial_risk', NEW.initial_risk, 'r_multiple', NEW.r_multiple, 'exit_days', NEW.exit_days, 'opened_at', NEW.opened_at,
            'closed_at', NEW.closed_at, 'cancelled_at', NEW.cancelled_at, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at,
            'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted, 'excess_quantity', NEW.excess_quantity, 'review', NEW.review, 'targets_set', NEW.targets_set));
END;

CREATE TRIGGER trades_outbox_insert AFTER INSERT ON trades
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trades', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trades_outbox_update AFTER UPDATE ON trades
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trades', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER users_outbox_insert AFTER INSERT ON users
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('users', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER users_outbox_update AFTER UPDATE ON users
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('users', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;
