-- V14: the field clock of a row created here is written when the row first needs it (lazy clock).
--
-- Until V13 every local insert wrote a `sync_field_clock` entry ('*': the row's stamp, base '': created
-- here, not yet on the server) next to the row: one more B-tree entry per row, keyed by table, random id
-- and field, which was a tenth of a bulk import's time (issue 15: 0.53 of the floor with it, 0.60 without).
-- That entry says nothing the row does not: its stamp is the row's `updated_hlc` as inserted. So a row
-- with no clock entry at all now means exactly that: created here, never changed since, not yet
-- acknowledged by the server; its every field carries the row's `updated_hlc` with base ''. The entry is
-- written when that stops being true:
--
-- * the row's first update (a `BEFORE UPDATE` trigger per table, whatever changes it, the sync engine
--   included) writes the entry the insert used to write, from the row as it was, before the update's own
--   per-field entries (the `AFTER UPDATE` triggers, unchanged) read it;
-- * the server's acknowledgement of the row (the engine's `mark_synced`) writes it with base NULL;
-- * a pulled row is stamped by the engine as before, and a reset stamps the user row it keeps.
--
-- Rows that already had no entry before this migration (none should: every insert wrote one, a pull
-- stamps what it applies) read as synced at stamp zero under the old rule; they get that entry written
-- here, so no existing row changes meaning.

INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'users', x.id, '*', '0000000000000.00000.0', NULL FROM users x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'users' AND c.row_id = x.id);
DROP TRIGGER users_clock_insert;
CREATE TRIGGER users_clock_first BEFORE UPDATE ON users
WHEN NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'users' AND c.row_id = OLD.id)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('users', OLD.id, '*', OLD.updated_hlc, '');
END;

INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'accounts', x.id, '*', '0000000000000.00000.0', NULL FROM accounts x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'accounts' AND c.row_id = x.id);
DROP TRIGGER accounts_clock_insert;
CREATE TRIGGER accounts_clock_first BEFORE UPDATE ON accounts
WHEN NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'accounts' AND c.row_id = OLD.id)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('accounts', OLD.id, '*', OLD.updated_hlc, '');
END;

INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'risk_settings', x.id, '*', '0000000000000.00000.0', NULL FROM risk_settings x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'risk_settings' AND c.row_id = x.id);
DROP TRIGGER risk_settings_clock_insert;
CREATE TRIGGER risk_settings_clock_first BEFORE UPDATE ON risk_settings
WHEN NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'risk_settings' AND c.row_id = OLD.id)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('risk_settings', OLD.id, '*', OLD.updated_hlc, '');
END;

INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'trades', x.id, '*', '0000000000000.00000.0', NULL FROM trades x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trades' AND c.row_id = x.id);
DROP TRIGGER trades_clock_insert;
CREATE TRIGGER trades_clock_first BEFORE UPDATE ON trades
WHEN NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trades' AND c.row_id = OLD.id)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trades', OLD.id, '*', OLD.updated_hlc, '');
END;

INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'import_batches', x.id, '*', '0000000000000.00000.0', NULL FROM import_batches x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'import_batches' AND c.row_id = x.id);
DROP TRIGGER import_batches_clock_insert;
CREATE TRIGGER import_batches_clock_first BEFORE UPDATE ON import_batches
WHEN NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'import_batches' AND c.row_id = OLD.id)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('import_batches', OLD.id, '*', OLD.updated_hlc, '');
END;

INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'executions', x.id, '*', '0000000000000.00000.0', NULL FROM executions x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'executions' AND c.row_id = x.id);
DROP TRIGGER executions_clock_insert;
CREATE TRIGGER executions_clock_first BEFORE UPDATE ON executions
WHEN NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'executions' AND c.row_id = OLD.id)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('executions', OLD.id, '*', OLD.updated_hlc, '');
END;

INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'trade_stop_adjustments', x.id, '*', '0000000000000.00000.0', NULL FROM trade_stop_adjustments x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_stop_adjustments' AND c.row_id = x.id);
DROP TRIGGER trade_stop_adjustments_clock_insert;
CREATE TRIGGER trade_stop_adjustments_clock_first BEFORE UPDATE ON trade_stop_adjustments
WHEN NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_stop_adjustments' AND c.row_id = OLD.id)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_stop_adjustments', OLD.id, '*', OLD.updated_hlc, '');
END;

INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'trade_targets', x.id, '*', '0000000000000.00000.0', NULL FROM trade_targets x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_targets' AND c.row_id = x.id);
DROP TRIGGER trade_targets_clock_insert;
CREATE TRIGGER trade_targets_clock_first BEFORE UPDATE ON trade_targets
WHEN NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_targets' AND c.row_id = OLD.id)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_targets', OLD.id, '*', OLD.updated_hlc, '');
END;

INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'trade_notes', x.id, '*', '0000000000000.00000.0', NULL FROM trade_notes x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_notes' AND c.row_id = x.id);
DROP TRIGGER trade_notes_clock_insert;
CREATE TRIGGER trade_notes_clock_first BEFORE UPDATE ON trade_notes
WHEN NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_notes' AND c.row_id = OLD.id)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_notes', OLD.id, '*', OLD.updated_hlc, '');
END;

INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'trade_checklist_templates', x.id, '*', '0000000000000.00000.0', NULL FROM trade_checklist_templates x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_checklist_templates' AND c.row_id = x.id);
DROP TRIGGER trade_checklist_templates_clock_insert;
CREATE TRIGGER trade_checklist_templates_clock_first BEFORE UPDATE ON trade_checklist_templates
WHEN NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_checklist_templates' AND c.row_id = OLD.id)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_checklist_templates', OLD.id, '*', OLD.updated_hlc, '');
END;

INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'trade_checklist_items', x.id, '*', '0000000000000.00000.0', NULL FROM trade_checklist_items x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_checklist_items' AND c.row_id = x.id);
DROP TRIGGER trade_checklist_items_clock_insert;
CREATE TRIGGER trade_checklist_items_clock_first BEFORE UPDATE ON trade_checklist_items
WHEN NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_checklist_items' AND c.row_id = OLD.id)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_checklist_items', OLD.id, '*', OLD.updated_hlc, '');
END;

INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'trade_checklist_responses', x.id, '*', '0000000000000.00000.0', NULL FROM trade_checklist_responses x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_checklist_responses' AND c.row_id = x.id);
DROP TRIGGER trade_checklist_responses_clock_insert;
CREATE TRIGGER trade_checklist_responses_clock_first BEFORE UPDATE ON trade_checklist_responses
WHEN NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'trade_checklist_responses' AND c.row_id = OLD.id)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_checklist_responses', OLD.id, '*', OLD.updated_hlc, '');
END;

INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
SELECT 'broker_connections', x.id, '*', '0000000000000.00000.0', NULL FROM broker_connections x
WHERE NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'broker_connections' AND c.row_id = x.id);
DROP TRIGGER broker_connections_clock_insert;
CREATE TRIGGER broker_connections_clock_first BEFORE UPDATE ON broker_connections
WHEN NOT EXISTS (SELECT 1 FROM sync_field_clock c WHERE c.table_name = 'broker_connections' AND c.row_id = OLD.id)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('broker_connections', OLD.id, '*', OLD.updated_hlc, '');
END;
