-- Undo V14: every local insert writes its field-clock entry again, and the rows created here that had none
-- yet (never changed, not acknowledged) get it now: the row's stamp, base '' (unsynced).

DROP TRIGGER users_clock_first;
INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'users', x.id, '*', x.updated_hlc, '' FROM users x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'users' AND c.row_id = x.id);
CREATE TRIGGER users_clock_insert AFTER INSERT ON users
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('users', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER accounts_clock_first;
INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'accounts', x.id, '*', x.updated_hlc, '' FROM accounts x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'accounts' AND c.row_id = x.id);
CREATE TRIGGER accounts_clock_insert AFTER INSERT ON accounts
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('accounts', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER risk_settings_clock_first;
INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'risk_settings', x.id, '*', x.updated_hlc, '' FROM risk_settings x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'risk_settings' AND c.row_id = x.id);
CREATE TRIGGER risk_settings_clock_insert AFTER INSERT ON risk_settings
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('risk_settings', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER trades_clock_first;
INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'trades', x.id, '*', x.updated_hlc, '' FROM trades x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trades' AND c.row_id = x.id);
CREATE TRIGGER trades_clock_insert AFTER INSERT ON trades
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trades', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER import_batches_clock_first;
INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'import_batches', x.id, '*', x.updated_hlc, '' FROM import_batches x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'import_batches' AND c.row_id = x.id);
CREATE TRIGGER import_batches_clock_insert AFTER INSERT ON import_batches
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('import_batches', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER executions_clock_first;
INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'executions', x.id, '*', x.updated_hlc, '' FROM executions x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'executions' AND c.row_id = x.id);
CREATE TRIGGER executions_clock_insert AFTER INSERT ON executions
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('executions', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER trade_stop_adjustments_clock_first;
INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'trade_stop_adjustments', x.id, '*', x.updated_hlc, '' FROM trade_stop_adjustments x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_stop_adjustments' AND c.row_id = x.id);
CREATE TRIGGER trade_stop_adjustments_clock_insert AFTER INSERT ON trade_stop_adjustments
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_stop_adjustments', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER trade_targets_clock_first;
INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'trade_targets', x.id, '*', x.updated_hlc, '' FROM trade_targets x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_targets' AND c.row_id = x.id);
CREATE TRIGGER trade_targets_clock_insert AFTER INSERT ON trade_targets
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_targets', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER trade_notes_clock_first;
INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'trade_notes', x.id, '*', x.updated_hlc, '' FROM trade_notes x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_notes' AND c.row_id = x.id);
CREATE TRIGGER trade_notes_clock_insert AFTER INSERT ON trade_notes
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_notes', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER trade_checklist_templates_clock_first;
INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'trade_checklist_templates', x.id, '*', x.updated_hlc, '' FROM trade_checklist_templates x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_checklist_templates' AND c.row_id = x.id);
CREATE TRIGGER trade_checklist_templates_clock_insert AFTER INSERT ON trade_checklist_templates
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_checklist_templates', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER trade_checklist_items_clock_first;
INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'trade_checklist_items', x.id, '*', x.updated_hlc, '' FROM trade_checklist_items x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_checklist_items' AND c.row_id = x.id);
CREATE TRIGGER trade_checklist_items_clock_insert AFTER INSERT ON trade_checklist_items
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_checklist_items', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER trade_checklist_responses_clock_first;
INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'trade_checklist_responses', x.id, '*', x.updated_hlc, '' FROM trade_checklist_responses x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_checklist_responses' AND c.row_id = x.id);
CREATE TRIGGER trade_checklist_responses_clock_insert AFTER INSERT ON trade_checklist_responses
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_checklist_responses', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER broker_connections_clock_first;
INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'broker_connections', x.id, '*', x.updated_hlc, '' FROM broker_connections x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'broker_connections' AND c.row_id = x.id);
CREATE TRIGGER broker_connections_clock_insert AFTER INSERT ON broker_connections
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('broker_connections', NEW.id, '*', NEW.updated_hlc, '');
END;
