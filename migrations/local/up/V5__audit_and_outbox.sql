-- V5: the append-only audit trail of every financial change and the sync outbox.
--
-- Both are written by triggers, in the same transaction as the change itself, so no code path (CLI, app,
-- seed, future sync apply) can change money data without leaving an audit row and an outbox entry.
-- Audit values are JSON objects of the row's columns; broker_connections.sealed_secret is never copied.

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
CREATE INDEX audit_log_row_idx ON audit_log (table_name, row_id);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- One row per local change still to be pushed; the sync engine deletes entries once the server has them.
CREATE TABLE sync_outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    op         TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    hlc        TEXT NOT NULL,
    queued_at  TEXT NOT NULL
) STRICT;
CREATE INDEX sync_outbox_row_idx ON sync_outbox (table_name, row_id);


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
            'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted));
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
            'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted),
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'account_id', NEW.account_id, 'symbol', NEW.symbol,
            'direction', NEW.direction, 'status', NEW.status, 'multiplier', NEW.multiplier, 'planned_entry', NEW.planned_entry,
            'planned_quantity', NEW.planned_quantity, 'initial_stop', NEW.initial_stop, 'current_stop', NEW.current_stop, 'setup', NEW.setup,
            'correlation_group', NEW.correlation_group, 'entered_quantity', NEW.entered_quantity, 'open_quantity', NEW.open_quantity, 'avg_entry_price', NEW.avg_entry_price,
            'avg_exit_price', NEW.avg_exit_price, 'gross_pnl', NEW.gross_pnl, 'fees', NEW.fees, 'net_pnl', NEW.net_pnl,
            'initial_risk', NEW.initial_risk, 'r_multiple', NEW.r_multiple, 'exit_days', NEW.exit_days, 'opened_at', NEW.opened_at,
            'closed_at', NEW.closed_at, 'cancelled_at', NEW.cancelled_at, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at,
            'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted));
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
            'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted), NULL);
END;

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
CREATE TRIGGER trade_stop_adjustments_audit_delete AFTER DELETE ON trade_stop_adjustments
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'trade_stop_adjustments', OLD.id, 'delete',
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'trade_id', OLD.trade_id, 'price', OLD.price,
            'adjusted_at', OLD.adjusted_at, 'reason', OLD.reason, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at,
            'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted), NULL);
END;

CREATE TRIGGER trade_targets_audit_insert AFTER INSERT ON trade_targets
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_targets', NEW.id, 'insert', NULL,
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'trade_id', NEW.trade_id, 'price', NEW.price,
            'quantity', NEW.quantity, 'label', NEW.label, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at,
            'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted));
END;
CREATE TRIGGER trade_targets_audit_update AFTER UPDATE ON trade_targets
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_targets', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END,
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'trade_id', OLD.trade_id, 'price', OLD.price,
            'quantity', OLD.quantity, 'label', OLD.label, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at,
            'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted),
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'trade_id', NEW.trade_id, 'price', NEW.price,
            'quantity', NEW.quantity, 'label', NEW.label, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at,
            'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted));
END;
CREATE TRIGGER trade_targets_audit_delete AFTER DELETE ON trade_targets
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'trade_targets', OLD.id, 'delete',
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'trade_id', OLD.trade_id, 'price', OLD.price,
            'quantity', OLD.quantity, 'label', OLD.label, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at,
            'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted), NULL);
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
CREATE TRIGGER broker_connections_audit_delete AFTER DELETE ON broker_connections
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'broker_connections', OLD.id, 'delete',
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'broker', OLD.broker,
            'label', OLD.label, 'api_key_hint', OLD.api_key_hint, 'status', OLD.status, 'created_at', OLD.created_at,
            'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted), NULL);
END;

CREATE TRIGGER users_outbox_insert AFTER INSERT ON users
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('users', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;
CREATE TRIGGER users_outbox_update AFTER UPDATE ON users
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('users', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER accounts_outbox_insert AFTER INSERT ON accounts
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('accounts', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;
CREATE TRIGGER accounts_outbox_update AFTER UPDATE ON accounts
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('accounts', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER risk_settings_outbox_insert AFTER INSERT ON risk_settings
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('risk_settings', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;
CREATE TRIGGER risk_settings_outbox_update AFTER UPDATE ON risk_settings
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('risk_settings', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trades_outbox_insert AFTER INSERT ON trades
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trades', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;
CREATE TRIGGER trades_outbox_update AFTER UPDATE ON trades
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trades', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER executions_outbox_insert AFTER INSERT ON executions
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('executions', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;
CREATE TRIGGER executions_outbox_update AFTER UPDATE ON executions
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('executions', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_stop_adjustments_outbox_insert AFTER INSERT ON trade_stop_adjustments
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_stop_adjustments', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;
CREATE TRIGGER trade_stop_adjustments_outbox_update AFTER UPDATE ON trade_stop_adjustments
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_stop_adjustments', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_targets_outbox_insert AFTER INSERT ON trade_targets
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_targets', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;
CREATE TRIGGER trade_targets_outbox_update AFTER UPDATE ON trade_targets
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_targets', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_notes_outbox_insert AFTER INSERT ON trade_notes
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_notes', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;
CREATE TRIGGER trade_notes_outbox_update AFTER UPDATE ON trade_notes
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_notes', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_checklist_templates_outbox_insert AFTER INSERT ON trade_checklist_templates
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_checklist_templates', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;
CREATE TRIGGER trade_checklist_templates_outbox_update AFTER UPDATE ON trade_checklist_templates
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_checklist_templates', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_checklist_items_outbox_insert AFTER INSERT ON trade_checklist_items
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_checklist_items', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;
CREATE TRIGGER trade_checklist_items_outbox_update AFTER UPDATE ON trade_checklist_items
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_checklist_items', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER trade_checklist_responses_outbox_insert AFTER INSERT ON trade_checklist_responses
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('trade_checklist_responses', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;
CREATE TRIGGER trade_checklist_responses_outbox_update AFTER UPDATE ON trade_checklist_responses
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('trade_checklist_responses', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;

CREATE TRIGGER broker_connections_outbox_insert AFTER INSERT ON broker_connections
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at) VALUES ('broker_connections', NEW.id, 'insert', NEW.updated_hlc, NEW.updated_at);
END;
CREATE TRIGGER broker_connections_outbox_update AFTER UPDATE ON broker_connections
BEGIN
    INSERT INTO sync_outbox (table_name, row_id, op, hlc, queued_at)
    VALUES ('broker_connections', NEW.id, CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, NEW.updated_hlc, NEW.updated_at);
END;
