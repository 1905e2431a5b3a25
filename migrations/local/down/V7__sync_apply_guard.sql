-- V7 down: the unguarded outbox and clock triggers of V5 and V6.

DROP TRIGGER users_outbox_insert;
CREATE TRIGGER users_outbox_insert AFTER INSERT ON users
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('users', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER users_outbox_update;
CREATE TRIGGER users_outbox_update AFTER UPDATE ON users
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('users', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER accounts_outbox_insert;
CREATE TRIGGER accounts_outbox_insert AFTER INSERT ON accounts
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('accounts', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER accounts_outbox_update;
CREATE TRIGGER accounts_outbox_update AFTER UPDATE ON accounts
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('accounts', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER risk_settings_outbox_insert;
CREATE TRIGGER risk_settings_outbox_insert AFTER INSERT ON risk_settings
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('risk_settings', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER risk_settings_outbox_update;
CREATE TRIGGER risk_settings_outbox_update AFTER UPDATE ON risk_settings
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('risk_settings', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER trades_outbox_insert;
CREATE TRIGGER trades_outbox_insert AFTER INSERT ON trades
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trades', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER trades_outbox_update;
CREATE TRIGGER trades_outbox_update AFTER UPDATE ON trades
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trades', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER executions_outbox_insert;
CREATE TRIGGER executions_outbox_insert AFTER INSERT ON executions
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('executions', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER executions_outbox_update;
CREATE TRIGGER executions_outbox_update AFTER UPDATE ON executions
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('executions', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER trade_stop_adjustments_outbox_insert;
CREATE TRIGGER trade_stop_adjustments_outbox_insert AFTER INSERT ON trade_stop_adjustments
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_stop_adjustments', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER trade_stop_adjustments_outbox_update;
CREATE TRIGGER trade_stop_adjustments_outbox_update AFTER UPDATE ON trade_stop_adjustments
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_stop_adjustments', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER trade_targets_outbox_insert;
CREATE TRIGGER trade_targets_outbox_insert AFTER INSERT ON trade_targets
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_targets', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER trade_targets_outbox_update;
CREATE TRIGGER trade_targets_outbox_update AFTER UPDATE ON trade_targets
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_targets', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER trade_notes_outbox_insert;
CREATE TRIGGER trade_notes_outbox_insert AFTER INSERT ON trade_notes
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_notes', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER trade_notes_outbox_update;
CREATE TRIGGER trade_notes_outbox_update AFTER UPDATE ON trade_notes
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_notes', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER trade_checklist_templates_outbox_insert;
CREATE TRIGGER trade_checklist_templates_outbox_insert AFTER INSERT ON trade_checklist_templates
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_checklist_templates', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER trade_checklist_templates_outbox_update;
CREATE TRIGGER trade_checklist_templates_outbox_update AFTER UPDATE ON trade_checklist_templates
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_checklist_templates', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER trade_checklist_items_outbox_insert;
CREATE TRIGGER trade_checklist_items_outbox_insert AFTER INSERT ON trade_checklist_items
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_checklist_items', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER trade_checklist_items_outbox_update;
CREATE TRIGGER trade_checklist_items_outbox_update AFTER UPDATE ON trade_checklist_items
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_checklist_items', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER trade_checklist_responses_outbox_insert;
CREATE TRIGGER trade_checklist_responses_outbox_insert AFTER INSERT ON trade_checklist_responses
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_checklist_responses', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER trade_checklist_responses_outbox_update;
CREATE TRIGGER trade_checklist_responses_outbox_update AFTER UPDATE ON trade_checklist_responses
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_checklist_responses', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER broker_connections_outbox_insert;
CREATE TRIGGER broker_connections_outbox_insert AFTER INSERT ON broker_connections
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('broker_connections', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER broker_connections_outbox_update;
CREATE TRIGGER broker_connections_outbox_update AFTER UPDATE ON broker_connections
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('broker_connections', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

DROP TRIGGER users_clock_insert;
CREATE TRIGGER users_clock_insert AFTER INSERT ON users
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    VALUES ('users', NEW.id, '*', NEW.updated_hlc);
END;

DROP TRIGGER users_clock_update;
CREATE TRIGGER users_clock_update AFTER UPDATE ON users
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    SELECT 'users', NEW.id, value, NEW.updated_hlc FROM json_each(json_array(
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.email IS NOT NEW.email THEN 'email' END,
        CASE WHEN OLD.display_name IS NOT NEW.display_name THEN 'display_name' END,
        CASE WHEN OLD.subscription_tier IS NOT NEW.subscription_tier THEN 'subscription_tier' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL;
END;

DROP TRIGGER accounts_clock_insert;
CREATE TRIGGER accounts_clock_insert AFTER INSERT ON accounts
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    VALUES ('accounts', NEW.id, '*', NEW.updated_hlc);
END;

DROP TRIGGER accounts_clock_update;
CREATE TRIGGER accounts_clock_update AFTER UPDATE ON accounts
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    SELECT 'accounts', NEW.id, value, NEW.updated_hlc FROM json_each(json_array(
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.user_id IS NOT NEW.user_id THEN 'user_id' END,
        CASE WHEN OLD.name IS NOT NEW.name THEN 'name' END,
        CASE WHEN OLD.currency IS NOT NEW.currency THEN 'currency' END,
        CASE WHEN OLD.starting_balance IS NOT NEW.starting_balance THEN 'starting_balance' END,
        CASE WHEN OLD.time_zone IS NOT NEW.time_zone THEN 'time_zone' END,
        CASE WHEN OLD.broker IS NOT NEW.broker THEN 'broker' END,
        CASE WHEN OLD.matching_method IS NOT NEW.matching_method THEN 'matching_method' END,
        CASE WHEN OLD.breakeven_tolerance IS NOT NEW.breakeven_tolerance THEN 'breakeven_tolerance' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL;
END;

DROP TRIGGER risk_settings_clock_insert;
CREATE TRIGGER risk_settings_clock_insert AFTER INSERT ON risk_settings
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    VALUES ('risk_settings', NEW.id, '*', NEW.updated_hlc);
END;

DROP TRIGGER risk_settings_clock_update;
CREATE TRIGGER risk_settings_clock_update AFTER UPDATE ON risk_settings
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    SELECT 'risk_settings', NEW.id, value, NEW.updated_hlc FROM json_each(json_array(
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.user_id IS NOT NEW.user_id THEN 'user_id' END,
        CASE WHEN OLD.account_id IS NOT NEW.account_id THEN 'account_id' END,
        CASE WHEN OLD.max_risk_per_trade_pct IS NOT NEW.max_risk_per_trade_pct THEN 'max_risk_per_trade_pct' END,
        CASE WHEN OLD.max_daily_loss_pct IS NOT NEW.max_daily_loss_pct THEN 'max_daily_loss_pct' END,
        CASE WHEN OLD.max_weekly_loss_pct IS NOT NEW.max_weekly_loss_pct THEN 'max_weekly_loss_pct' END,
        CASE WHEN OLD.max_open_positions IS NOT NEW.max_open_positions THEN 'max_open_positions' END,
        CASE WHEN OLD.max_correlated_positions IS NOT NEW.max_correlated_positions THEN 'max_correlated_positions' END,
        CASE WHEN OLD.sizing_method IS NOT NEW.sizing_method THEN 'sizing_method' END,
        CASE WHEN OLD.fixed_amount IS NOT NEW.fixed_amount THEN 'fixed_amount' END,
        CASE WHEN OLD.fixed_quantity IS NOT NEW.fixed_quantity THEN 'fixed_quantity' END,
        CASE WHEN OLD.enforcement IS NOT NEW.enforcement THEN 'enforcement' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL;
END;

DROP TRIGGER trades_clock_insert;
CREATE TRIGGER trades_clock_insert AFTER INSERT ON trades
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    VALUES ('trades', NEW.id, '*', NEW.updated_hlc);
END;

DROP TRIGGER trades_clock_update;
CREATE TRIGGER trades_clock_update AFTER UPDATE ON trades
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    SELECT 'trades', NEW.id, value, NEW.updated_hlc FROM json_each(json_array(
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.user_id IS NOT NEW.user_id THEN 'user_id' END,
        CASE WHEN OLD.account_id IS NOT NEW.account_id THEN 'account_id' END,
        CASE WHEN OLD.symbol IS NOT NEW.symbol THEN 'symbol' END,
        CASE WHEN OLD.direction IS NOT NEW.direction THEN 'direction' END,
        CASE WHEN OLD.status IS NOT NEW.status THEN 'status' END,
        CASE WHEN OLD.multiplier IS NOT NEW.multiplier THEN 'multiplier' END,
        CASE WHEN OLD.planned_entry IS NOT NEW.planned_entry THEN 'planned_entry' END,
        CASE WHEN OLD.planned_quantity IS NOT NEW.planned_quantity THEN 'planned_quantity' END,
        CASE WHEN OLD.initial_stop IS NOT NEW.initial_stop THEN 'initial_stop' END,
        CASE WHEN OLD.current_stop IS NOT NEW.current_stop THEN 'current_stop' END,
        CASE WHEN OLD.setup IS NOT NEW.setup THEN 'setup' END,
        CASE WHEN OLD.correlation_group IS NOT NEW.correlation_group THEN 'correlation_group' END,
        CASE WHEN OLD.entered_quantity IS NOT NEW.entered_quantity THEN 'entered_quantity' END,
        CASE WHEN OLD.open_quantity IS NOT NEW.open_quantity THEN 'open_quantity' END,
        CASE WHEN OLD.avg_entry_price IS NOT NEW.avg_entry_price THEN 'avg_entry_price' END,
        CASE WHEN OLD.avg_exit_price IS NOT NEW.avg_exit_price THEN 'avg_exit_price' END,
        CASE WHEN OLD.gross_pnl IS NOT NEW.gross_pnl THEN 'gross_pnl' END,
        CASE WHEN OLD.fees IS NOT NEW.fees THEN 'fees' END,
        CASE WHEN OLD.net_pnl IS NOT NEW.net_pnl THEN 'net_pnl' END,
        CASE WHEN OLD.initial_risk IS NOT NEW.initial_risk THEN 'initial_risk' END,
        CASE WHEN OLD.r_multiple IS NOT NEW.r_multiple THEN 'r_multiple' END,
        CASE WHEN OLD.exit_days IS NOT NEW.exit_days THEN 'exit_days' END,
        CASE WHEN OLD.opened_at IS NOT NEW.opened_at THEN 'opened_at' END,
        CASE WHEN OLD.closed_at IS NOT NEW.closed_at THEN 'closed_at' END,
        CASE WHEN OLD.cancelled_at IS NOT NEW.cancelled_at THEN 'cancelled_at' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL;
END;

DROP TRIGGER executions_clock_insert;
CREATE TRIGGER executions_clock_insert AFTER INSERT ON executions
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    VALUES ('executions', NEW.id, '*', NEW.updated_hlc);
END;

DROP TRIGGER executions_clock_update;
CREATE TRIGGER executions_clock_update AFTER UPDATE ON executions
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    SELECT 'executions', NEW.id, value, NEW.updated_hlc FROM json_each(json_array(
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
    WHERE value IS NOT NULL;
END;

DROP TRIGGER trade_stop_adjustments_clock_insert;
CREATE TRIGGER trade_stop_adjustments_clock_insert AFTER INSERT ON trade_stop_adjustments
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    VALUES ('trade_stop_adjustments', NEW.id, '*', NEW.updated_hlc);
END;

DROP TRIGGER trade_stop_adjustments_clock_update;
CREATE TRIGGER trade_stop_adjustments_clock_update AFTER UPDATE ON trade_stop_adjustments
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    SELECT 'trade_stop_adjustments', NEW.id, value, NEW.updated_hlc FROM json_each(json_array(
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.user_id IS NOT NEW.user_id THEN 'user_id' END,
        CASE WHEN OLD.trade_id IS NOT NEW.trade_id THEN 'trade_id' END,
        CASE WHEN OLD.price IS NOT NEW.price THEN 'price' END,
        CASE WHEN OLD.adjusted_at IS NOT NEW.adjusted_at THEN 'adjusted_at' END,
        CASE WHEN OLD.reason IS NOT NEW.reason THEN 'reason' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL;
END;

DROP TRIGGER trade_targets_clock_insert;
CREATE TRIGGER trade_targets_clock_insert AFTER INSERT ON trade_targets
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    VALUES ('trade_targets', NEW.id, '*', NEW.updated_hlc);
END;

DROP TRIGGER trade_targets_clock_update;
CREATE TRIGGER trade_targets_clock_update AFTER UPDATE ON trade_targets
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    SELECT 'trade_targets', NEW.id, value, NEW.updated_hlc FROM json_each(json_array(
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.user_id IS NOT NEW.user_id THEN 'user_id' END,
        CASE WHEN OLD.trade_id IS NOT NEW.trade_id THEN 'trade_id' END,
        CASE WHEN OLD.price IS NOT NEW.price THEN 'price' END,
        CASE WHEN OLD.quantity IS NOT NEW.quantity THEN 'quantity' END,
        CASE WHEN OLD.label IS NOT NEW.label THEN 'label' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL;
END;

DROP TRIGGER trade_notes_clock_insert;
CREATE TRIGGER trade_notes_clock_insert AFTER INSERT ON trade_notes
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    VALUES ('trade_notes', NEW.id, '*', NEW.updated_hlc);
END;

DROP TRIGGER trade_notes_clock_update;
CREATE TRIGGER trade_notes_clock_update AFTER UPDATE ON trade_notes
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    SELECT 'trade_notes', NEW.id, value, NEW.updated_hlc FROM json_each(json_array(
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.user_id IS NOT NEW.user_id THEN 'user_id' END,
        CASE WHEN OLD.account_id IS NOT NEW.account_id THEN 'account_id' END,
        CASE WHEN OLD.trade_id IS NOT NEW.trade_id THEN 'trade_id' END,
        CASE WHEN OLD.kind IS NOT NEW.kind THEN 'kind' END,
        CASE WHEN OLD.body IS NOT NEW.body THEN 'body' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL;
END;

DROP TRIGGER trade_checklist_templates_clock_insert;
CREATE TRIGGER trade_checklist_templates_clock_insert AFTER INSERT ON trade_checklist_templates
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    VALUES ('trade_checklist_templates', NEW.id, '*', NEW.updated_hlc);
END;

DROP TRIGGER trade_checklist_templates_clock_update;
CREATE TRIGGER trade_checklist_templates_clock_update AFTER UPDATE ON trade_checklist_templates
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    SELECT 'trade_checklist_templates', NEW.id, value, NEW.updated_hlc FROM json_each(json_array(
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.user_id IS NOT NEW.user_id THEN 'user_id' END,
        CASE WHEN OLD.name IS NOT NEW.name THEN 'name' END,
        CASE WHEN OLD.description IS NOT NEW.description THEN 'description' END,
        CASE WHEN OLD.active IS NOT NEW.active THEN 'active' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL;
END;

DROP TRIGGER trade_checklist_items_clock_insert;
CREATE TRIGGER trade_checklist_items_clock_insert AFTER INSERT ON trade_checklist_items
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    VALUES ('trade_checklist_items', NEW.id, '*', NEW.updated_hlc);
END;

DROP TRIGGER trade_checklist_items_clock_update;
CREATE TRIGGER trade_checklist_items_clock_update AFTER UPDATE ON trade_checklist_items
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    SELECT 'trade_checklist_items', NEW.id, value, NEW.updated_hlc FROM json_each(json_array(
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.user_id IS NOT NEW.user_id THEN 'user_id' END,
        CASE WHEN OLD.template_id IS NOT NEW.template_id THEN 'template_id' END,
        CASE WHEN OLD.position IS NOT NEW.position THEN 'position' END,
        CASE WHEN OLD.prompt IS NOT NEW.prompt THEN 'prompt' END,
        CASE WHEN OLD.required IS NOT NEW.required THEN 'required' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL;
END;

DROP TRIGGER trade_checklist_responses_clock_insert;
CREATE TRIGGER trade_checklist_responses_clock_insert AFTER INSERT ON trade_checklist_responses
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    VALUES ('trade_checklist_responses', NEW.id, '*', NEW.updated_hlc);
END;

DROP TRIGGER trade_checklist_responses_clock_update;
CREATE TRIGGER trade_checklist_responses_clock_update AFTER UPDATE ON trade_checklist_responses
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    SELECT 'trade_checklist_responses', NEW.id, value, NEW.updated_hlc FROM json_each(json_array(
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.user_id IS NOT NEW.user_id THEN 'user_id' END,
        CASE WHEN OLD.trade_id IS NOT NEW.trade_id THEN 'trade_id' END,
        CASE WHEN OLD.item_id IS NOT NEW.item_id THEN 'item_id' END,
        CASE WHEN OLD.checked IS NOT NEW.checked THEN 'checked' END,
        CASE WHEN OLD.comment IS NOT NEW.comment THEN 'comment' END,
        CASE WHEN OLD.answered_at IS NOT NEW.answered_at THEN 'answered_at' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL;
END;

DROP TRIGGER broker_connections_clock_insert;
CREATE TRIGGER broker_connections_clock_insert AFTER INSERT ON broker_connections
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    VALUES ('broker_connections', NEW.id, '*', NEW.updated_hlc);
END;

DROP TRIGGER broker_connections_clock_update;
CREATE TRIGGER broker_connections_clock_update AFTER UPDATE ON broker_connections
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc)
    SELECT 'broker_connections', NEW.id, value, NEW.updated_hlc FROM json_each(json_array(
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.user_id IS NOT NEW.user_id THEN 'user_id' END,
        CASE WHEN OLD.account_id IS NOT NEW.account_id THEN 'account_id' END,
        CASE WHEN OLD.broker IS NOT NEW.broker THEN 'broker' END,
        CASE WHEN OLD.label IS NOT NEW.label THEN 'label' END,
        CASE WHEN OLD.api_key_hint IS NOT NEW.api_key_hint THEN 'api_key_hint' END,
        CASE WHEN OLD.sealed_secret IS NOT NEW.sealed_secret THEN 'sealed_secret' END,
        CASE WHEN OLD.status IS NOT NEW.status THEN 'status' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL;
END;

DROP TABLE sync_conflict_restores;
DROP TABLE sync_apply_guard;
