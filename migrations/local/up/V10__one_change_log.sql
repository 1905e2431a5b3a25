-- V10: one change log for audit and sync.
--
-- Until V9 every local change wrote two rows besides itself: an `audit_log` row holding a JSON copy of
-- every column (twice for an update: before and after) and a `sync_outbox` row naming the row to push.
-- That bookkeeping was three quarters of a bulk import's cost. Now each change writes one `change_log`
-- row, in the same transaction (triggers, so no code path can skip it):
--
-- * it is the audit trail: append-only (the triggers below refuse updates and deletes), every financial
--   change with when, whose, which row, what happened and the values that changed. An insert records no
--   values (the row holds them; every later change records the fields it changed, old and new, and a
--   removal records the whole row), so any past state can be rebuilt without copying every column of every
--   row at write time. Secrets (a broker connection's sealed secret, a password hash) are never copied:
--   their change is recorded as "changed".
-- * it is the outbox: entries with `push = 1` are changes to upload; each user's upload mark
--   (`sync_state` `<user>.acknowledged`) is the last sequence number the server confirmed, so the outbox is
--   the entries after the mark. Nothing is deleted when the server confirms: the mark moves. Sequence
--   numbers go on from the old outbox's (the server knows each device's changes by these numbers).
-- * rows applied by a pull are not logged one by one (the server's hash-chained audit holds them): the
--   engine writes one `pull` entry per applied batch. Rows a merge recomputed and queues for upload are
--   `derived` entries; rows kept aside and queued again are `requeue` entries.
--
-- The history in `audit_log` is carried over (its entries keep their full before/after copies in the
-- `{"old": ..., "new": ...}` form), and changes still waiting in `sync_outbox` become `requeue` entries.

CREATE TABLE change_log (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    table_name TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('insert', 'update', 'delete', 'remove', 'pull', 'derived',
                                               'requeue', 'reset', 'migrate')),
    push       INTEGER NOT NULL CHECK (push IN (0, 1)),
    hlc        TEXT,
    changes    TEXT
) STRICT;

-- Numbers go on after the old outbox's (never reused: nothing is ever deleted from this table). A store
-- with history records the move as its first entry; a new store (nothing to carry) starts empty, so two
-- stores made the same way hold the same rows.
INSERT INTO change_log (seq, at, user_id, table_name, row_id, action, push, hlc, changes)
SELECT coalesce((SELECT max(seq) FROM sqlite_sequence WHERE name = 'sync_outbox'), 0) + 1,
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), '', '*', '', 'migrate', 0, NULL,
       json_object('from', 'audit_log and sync_outbox', 'to', 'change_log')
WHERE EXISTS (SELECT 1 FROM audit_log) OR EXISTS (SELECT 1 FROM sync_outbox)
   OR coalesce((SELECT max(seq) FROM sqlite_sequence WHERE name = 'sync_outbox'), 0) > 0;

INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
SELECT at, user_id, table_name, row_id,
       CASE WHEN action = 'delete' AND new_values IS NULL THEN 'remove' ELSE action END,
       0, NULL, json_object('old', json(old_values), 'new', json(new_values))
FROM audit_log ORDER BY seq;

INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
SELECT o.queued_at, coalesce(CASE o.table_name
            WHEN 'users' THEN o.row_id
            WHEN 'accounts' THEN (SELECT x.user_id FROM accounts x WHERE x.id = o.row_id)
            WHEN 'risk_settings' THEN (SELECT x.user_id FROM risk_settings x WHERE x.id = o.row_id)
            WHEN 'trades' THEN (SELECT x.user_id FROM trades x WHERE x.id = o.row_id)
            WHEN 'import_batches' THEN (SELECT x.user_id FROM import_batches x WHERE x.id = o.row_id)
            WHEN 'executions' THEN (SELECT x.user_id FROM executions x WHERE x.id = o.row_id)
            WHEN 'trade_stop_adjustments' THEN (SELECT x.user_id FROM trade_stop_adjustments x WHERE x.id = o.row_id)
            WHEN 'trade_targets' THEN (SELECT x.user_id FROM trade_targets x WHERE x.id = o.row_id)
            WHEN 'trade_notes' THEN (SELECT x.user_id FROM trade_notes x WHERE x.id = o.row_id)
            WHEN 'trade_checklist_templates' THEN (SELECT x.user_id FROM trade_checklist_templates x WHERE x.id = o.row_id)
            WHEN 'trade_checklist_items' THEN (SELECT x.user_id FROM trade_checklist_items x WHERE x.id = o.row_id)
            WHEN 'trade_checklist_responses' THEN (SELECT x.user_id FROM trade_checklist_responses x WHERE x.id = o.row_id)
            WHEN 'broker_connections' THEN (SELECT x.user_id FROM broker_connections x WHERE x.id = o.row_id)
        END, ''),
       o.table_name, o.row_id, 'requeue', 1, o.hlc, NULL
FROM sync_outbox o ORDER BY o.seq;

CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log
BEGIN
    SELECT RAISE(ABORT, 'change_log is append-only');
END;
CREATE TRIGGER change_log_no_delete BEFORE DELETE ON change_log
BEGIN
    SELECT RAISE(ABORT, 'change_log is append-only');
END;

DROP TRIGGER accounts_audit_delete;
DROP TRIGGER accounts_audit_insert;
DROP TRIGGER accounts_audit_update;
DROP TRIGGER accounts_outbox_insert;
DROP TRIGGER accounts_outbox_update;
DROP TRIGGER broker_connections_audit_delete;
DROP TRIGGER broker_connections_audit_insert;
DROP TRIGGER broker_connections_audit_update;
DROP TRIGGER broker_connections_outbox_insert;
DROP TRIGGER broker_connections_outbox_update;
DROP TRIGGER executions_audit_delete;
DROP TRIGGER executions_audit_insert;
DROP TRIGGER executions_audit_update;
DROP TRIGGER executions_outbox_insert;
DROP TRIGGER executions_outbox_update;
DROP TRIGGER import_batches_audit_delete;
DROP TRIGGER import_batches_audit_insert;
DROP TRIGGER import_batches_audit_update;
DROP TRIGGER import_batches_outbox_insert;
DROP TRIGGER import_batches_outbox_update;
DROP TRIGGER risk_settings_audit_delete;
DROP TRIGGER risk_settings_audit_insert;
DROP TRIGGER risk_settings_audit_update;
DROP TRIGGER risk_settings_outbox_insert;
DROP TRIGGER risk_settings_outbox_update;
DROP TRIGGER trade_checklist_items_outbox_insert;
DROP TRIGGER trade_checklist_items_outbox_update;
DROP TRIGGER trade_checklist_responses_outbox_insert;
DROP TRIGGER trade_checklist_responses_outbox_update;
DROP TRIGGER trade_checklist_templates_outbox_insert;
DROP TRIGGER trade_checklist_templates_outbox_update;
DROP TRIGGER trade_notes_outbox_insert;
DROP TRIGGER trade_notes_outbox_update;
DROP TRIGGER trade_stop_adjustments_audit_delete;
DROP TRIGGER trade_stop_adjustments_audit_insert;
DROP TRIGGER trade_stop_adjustments_audit_update;
DROP TRIGGER trade_stop_adjustments_outbox_insert;
DROP TRIGGER trade_stop_adjustments_outbox_update;
DROP TRIGGER trade_targets_audit_delete;
DROP TRIGGER trade_targets_audit_insert;
DROP TRIGGER trade_targets_audit_update;
DROP TRIGGER trade_targets_outbox_insert;
DROP TRIGGER trade_targets_outbox_update;
DROP TRIGGER trades_audit_delete;
DROP TRIGGER trades_audit_insert;
DROP TRIGGER trades_audit_update;
DROP TRIGGER trades_outbox_insert;
DROP TRIGGER trades_outbox_update;
DROP TRIGGER users_outbox_insert;
DROP TRIGGER users_outbox_update;
DROP TABLE audit_log;
DROP TABLE sync_outbox;

CREATE TRIGGER users_log_insert AFTER INSERT ON users
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.id, 'users', NEW.id, 'insert', 1, NEW.updated_hlc, NULL);
END;
CREATE TRIGGER users_log_update AFTER UPDATE ON users
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.id, 'users', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, 1, NEW.updated_hlc,
        (SELECT json_group_object(f, json(v)) FROM (
            SELECT 'id' AS f, json_array(OLD.id, NEW.id) AS v WHERE OLD.id IS NOT NEW.id
            UNION ALL SELECT 'email', json_array(OLD.email, NEW.email) WHERE OLD.email IS NOT NEW.email
            UNION ALL SELECT 'display_name', json_array(OLD.display_name, NEW.display_name) WHERE OLD.display_name IS NOT NEW.display_name
            UNION ALL SELECT 'password_hash', json_quote('changed') WHERE OLD.password_hash IS NOT NEW.password_hash
            UNION ALL SELECT 'subscription_tier', json_array(OLD.subscription_tier, NEW.subscription_tier) WHERE OLD.subscription_tier IS NOT NEW.subscription_tier
            UNION ALL SELECT 'created_at', json_array(OLD.created_at, NEW.created_at) WHERE OLD.created_at IS NOT NEW.created_at
            UNION ALL SELECT 'deleted', json_array(OLD.deleted, NEW.deleted) WHERE OLD.deleted IS NOT NEW.deleted)));
END;
CREATE TRIGGER users_log_delete AFTER DELETE ON users
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.id, 'users', OLD.id, 'remove', 0, NULL,
        json_object('id', OLD.id, 'email', OLD.email, 'display_name', OLD.display_name, 'subscription_tier', OLD.subscription_tier, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted));
END;

CREATE TRIGGER accounts_log_insert AFTER INSERT ON accounts
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'accounts', NEW.id, 'insert', 1, NEW.updated_hlc, NULL);
END;
CREATE TRIGGER accounts_log_update AFTER UPDATE ON accounts
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'accounts', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, 1, NEW.updated_hlc,
        (SELECT json_group_object(f, json(v)) FROM (
            SELECT 'id' AS f, json_array(OLD.id, NEW.id) AS v WHERE OLD.id IS NOT NEW.id
            UNION ALL SELECT 'user_id', json_array(OLD.user_id, NEW.user_id) WHERE OLD.user_id IS NOT NEW.user_id
            UNION ALL SELECT 'name', json_array(OLD.name, NEW.name) WHERE OLD.name IS NOT NEW.name
            UNION ALL SELECT 'currency', json_array(OLD.currency, NEW.currency) WHERE OLD.currency IS NOT NEW.currency
            UNION ALL SELECT 'starting_balance', json_array(OLD.starting_balance, NEW.starting_balance) WHERE OLD.starting_balance IS NOT NEW.starting_balance
            UNION ALL SELECT 'time_zone', json_array(OLD.time_zone, NEW.time_zone) WHERE OLD.time_zone IS NOT NEW.time_zone
            UNION ALL SELECT 'broker', json_array(OLD.broker, NEW.broker) WHERE OLD.broker IS NOT NEW.broker
            UNION ALL SELECT 'matching_method', json_array(OLD.matching_method, NEW.matching_method) WHERE OLD.matching_method IS NOT NEW.matching_method
            UNION ALL SELECT 'breakeven_tolerance', json_array(OLD.breakeven_tolerance, NEW.breakeven_tolerance) WHERE OLD.breakeven_tolerance IS NOT NEW.breakeven_tolerance
            UNION ALL SELECT 'created_at', json_array(OLD.created_at, NEW.created_at) WHERE OLD.created_at IS NOT NEW.created_at
            UNION ALL SELECT 'deleted', json_array(OLD.deleted, NEW.deleted) WHERE OLD.deleted IS NOT NEW.deleted)));
END;
CREATE TRIGGER accounts_log_delete AFTER DELETE ON accounts
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'accounts', OLD.id, 'remove', 0, NULL,
        json_object('id', OLD.id, 'user_id', OLD.user_id, 'name', OLD.name, 'currency', OLD.currency, 'starting_balance', OLD.starting_balance, 'time_zone', OLD.time_zone, 'broker', OLD.broker, 'matching_method', OLD.matching_method, 'breakeven_tolerance', OLD.breakeven_tolerance, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted));
END;

CREATE TRIGGER risk_settings_log_insert AFTER INSERT ON risk_settings
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'risk_settings', NEW.id, 'insert', 1, NEW.updated_hlc, NULL);
END;
CREATE TRIGGER risk_settings_log_update AFTER UPDATE ON risk_settings
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'risk_settings', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, 1, NEW.updated_hlc,
        (SELECT json_group_object(f, json(v)) FROM (
            SELECT 'id' AS f, json_array(OLD.id, NEW.id) AS v WHERE OLD.id IS NOT NEW.id
            UNION ALL SELECT 'user_id', json_array(OLD.user_id, NEW.user_id) WHERE OLD.user_id IS NOT NEW.user_id
            UNION ALL SELECT 'account_id', json_array(OLD.account_id, NEW.account_id) WHERE OLD.account_id IS NOT NEW.account_id
            UNION ALL SELECT 'max_risk_per_trade_pct', json_array(OLD.max_risk_per_trade_pct, NEW.max_risk_per_trade_pct) WHERE OLD.max_risk_per_trade_pct IS NOT NEW.max_risk_per_trade_pct
            UNION ALL SELECT 'max_daily_loss_pct', json_array(OLD.max_daily_loss_pct, NEW.max_daily_loss_pct) WHERE OLD.max_daily_loss_pct IS NOT NEW.max_daily_loss_pct
            UNION ALL SELECT 'max_weekly_loss_pct', json_array(OLD.max_weekly_loss_pct, NEW.max_weekly_loss_pct) WHERE OLD.max_weekly_loss_pct IS NOT NEW.max_weekly_loss_pct
            UNION ALL SELECT 'max_open_positions', json_array(OLD.max_open_positions, NEW.max_open_positions) WHERE OLD.max_open_positions IS NOT NEW.max_open_positions
            UNION ALL SELECT 'max_correlated_positions', json_array(OLD.max_correlated_positions, NEW.max_correlated_positions) WHERE OLD.max_correlated_positions IS NOT NEW.max_correlated_positions
            UNION ALL SELECT 'sizing_method', json_array(OLD.sizing_method, NEW.sizing_method) WHERE OLD.sizing_method IS NOT NEW.sizing_method
            UNION ALL SELECT 'fixed_amount', json_array(OLD.fixed_amount, NEW.fixed_amount) WHERE OLD.fixed_amount IS NOT NEW.fixed_amount
            UNION ALL SELECT 'fixed_quantity', json_array(OLD.fixed_quantity, NEW.fixed_quantity) WHERE OLD.fixed_quantity IS NOT NEW.fixed_quantity
            UNION ALL SELECT 'enforcement', json_array(OLD.enforcement, NEW.enforcement) WHERE OLD.enforcement IS NOT NEW.enforcement
            UNION ALL SELECT 'created_at', json_array(OLD.created_at, NEW.created_at) WHERE OLD.created_at IS NOT NEW.created_at
            UNION ALL SELECT 'deleted', json_array(OLD.deleted, NEW.deleted) WHERE OLD.deleted IS NOT NEW.deleted)));
END;
CREATE TRIGGER risk_settings_log_delete AFTER DELETE ON risk_settings
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'risk_settings', OLD.id, 'remove', 0, NULL,
        json_object('id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'max_risk_per_trade_pct', OLD.max_risk_per_trade_pct, 'max_daily_loss_pct', OLD.max_daily_loss_pct, 'max_weekly_loss_pct', OLD.max_weekly_loss_pct, 'max_open_positions', OLD.max_open_positions, 'max_correlated_positions', OLD.max_correlated_positions, 'sizing_method', OLD.sizing_method, 'fixed_amount', OLD.fixed_amount, 'fixed_quantity', OLD.fixed_quantity, 'enforcement', OLD.enforcement, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted));
END;

CREATE TRIGGER trades_log_insert AFTER INSERT ON trades
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'trades', NEW.id, 'insert', 1, NEW.updated_hlc, NULL);
END;
CREATE TRIGGER trades_log_update AFTER UPDATE ON trades
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'trades', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, 1, NEW.updated_hlc,
        (SELECT json_group_object(f, json(v)) FROM (
            SELECT 'id' AS f, json_array(OLD.id, NEW.id) AS v WHERE OLD.id IS NOT NEW.id
            UNION ALL SELECT 'user_id', json_array(OLD.user_id, NEW.user_id) WHERE OLD.user_id IS NOT NEW.user_id
            UNION ALL SELECT 'account_id', json_array(OLD.account_id, NEW.account_id) WHERE OLD.account_id IS NOT NEW.account_id
            UNION ALL SELECT 'symbol', json_array(OLD.symbol, NEW.symbol) WHERE OLD.symbol IS NOT NEW.symbol
            UNION ALL SELECT 'direction', json_array(OLD.direction, NEW.direction) WHERE OLD.direction IS NOT NEW.direction
            UNION ALL SELECT 'status', json_array(OLD.status, NEW.status) WHERE OLD.status IS NOT NEW.status
            UNION ALL SELECT 'multiplier', json_array(OLD.multiplier, NEW.multiplier) WHERE OLD.multiplier IS NOT NEW.multiplier
            UNION ALL SELECT 'planned_entry', json_array(OLD.planned_entry, NEW.planned_entry) WHERE OLD.planned_entry IS NOT NEW.planned_entry
            UNION ALL SELECT 'planned_quantity', json_array(OLD.planned_quantity, NEW.planned_quantity) WHERE OLD.planned_quantity IS NOT NEW.planned_quantity
            UNION ALL SELECT 'initial_stop', json_array(OLD.initial_stop, NEW.initial_stop) WHERE OLD.initial_stop IS NOT NEW.initial_stop
            UNION ALL SELECT 'current_stop', json_array(OLD.current_stop, NEW.current_stop) WHERE OLD.current_stop IS NOT NEW.current_stop
            UNION ALL SELECT 'setup', json_array(OLD.setup, NEW.setup) WHERE OLD.setup IS NOT NEW.setup
            UNION ALL SELECT 'correlation_group', json_array(OLD.correlation_group, NEW.correlation_group) WHERE OLD.correlation_group IS NOT NEW.correlation_group
            UNION ALL SELECT 'entered_quantity', json_array(OLD.entered_quantity, NEW.entered_quantity) WHERE OLD.entered_quantity IS NOT NEW.entered_quantity
            UNION ALL SELECT 'open_quantity', json_array(OLD.open_quantity, NEW.open_quantity) WHERE OLD.open_quantity IS NOT NEW.open_quantity
            UNION ALL SELECT 'avg_entry_price', json_array(OLD.avg_entry_price, NEW.avg_entry_price) WHERE OLD.avg_entry_price IS NOT NEW.avg_entry_price
            UNION ALL SELECT 'avg_exit_price', json_array(OLD.avg_exit_price, NEW.avg_exit_price) WHERE OLD.avg_exit_price IS NOT NEW.avg_exit_price
            UNION ALL SELECT 'gross_pnl', json_array(OLD.gross_pnl, NEW.gross_pnl) WHERE OLD.gross_pnl IS NOT NEW.gross_pnl
            UNION ALL SELECT 'fees', json_array(OLD.fees, NEW.fees) WHERE OLD.fees IS NOT NEW.fees
            UNION ALL SELECT 'net_pnl', json_array(OLD.net_pnl, NEW.net_pnl) WHERE OLD.net_pnl IS NOT NEW.net_pnl
            UNION ALL SELECT 'initial_risk', json_array(OLD.initial_risk, NEW.initial_risk) WHERE OLD.initial_risk IS NOT NEW.initial_risk
            UNION ALL SELECT 'r_multiple', json_array(OLD.r_multiple, NEW.r_multiple) WHERE OLD.r_multiple IS NOT NEW.r_multiple
            UNION ALL SELECT 'exit_days', json_array(OLD.exit_days, NEW.exit_days) WHERE OLD.exit_days IS NOT NEW.exit_days
            UNION ALL SELECT 'opened_at', json_array(OLD.opened_at, NEW.opened_at) WHERE OLD.opened_at IS NOT NEW.opened_at
            UNION ALL SELECT 'closed_at', json_array(OLD.closed_at, NEW.closed_at) WHERE OLD.closed_at IS NOT NEW.closed_at
            UNION ALL SELECT 'cancelled_at', json_array(OLD.cancelled_at, NEW.cancelled_at) WHERE OLD.cancelled_at IS NOT NEW.cancelled_at
            UNION ALL SELECT 'created_at', json_array(OLD.created_at, NEW.created_at) WHERE OLD.created_at IS NOT NEW.created_at
            UNION ALL SELECT 'deleted', json_array(OLD.deleted, NEW.deleted) WHERE OLD.deleted IS NOT NEW.deleted
            UNION ALL SELECT 'excess_quantity', json_array(OLD.excess_quantity, NEW.excess_quantity) WHERE OLD.excess_quantity IS NOT NEW.excess_quantity
            UNION ALL SELECT 'review', json_array(OLD.review, NEW.review) WHERE OLD.review IS NOT NEW.review
            UNION ALL SELECT 'targets_set', json_array(OLD.targets_set, NEW.targets_set) WHERE OLD.targets_set IS NOT NEW.targets_set)));
END;
CREATE TRIGGER trades_log_delete AFTER DELETE ON trades
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'trades', OLD.id, 'remove', 0, NULL,
        json_object('id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'symbol', OLD.symbol, 'direction', OLD.direction, 'status', OLD.status, 'multiplier', OLD.multiplier, 'planned_entry', OLD.planned_entry, 'planned_quantity', OLD.planned_quantity, 'initial_stop', OLD.initial_stop, 'current_stop', OLD.current_stop, 'setup', OLD.setup, 'correlation_group', OLD.correlation_group, 'entered_quantity', OLD.entered_quantity, 'open_quantity', OLD.open_quantity, 'avg_entry_price', OLD.avg_entry_price, 'avg_exit_price', OLD.avg_exit_price, 'gross_pnl', OLD.gross_pnl, 'fees', OLD.fees, 'net_pnl', OLD.net_pnl, 'initial_risk', OLD.initial_risk, 'r_multiple', OLD.r_multiple, 'exit_days', OLD.exit_days, 'opened_at', OLD.opened_at, 'closed_at', OLD.closed_at, 'cancelled_at', OLD.cancelled_at, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted, 'excess_quantity', OLD.excess_quantity, 'review', OLD.review, 'targets_set', OLD.targets_set));
END;

CREATE TRIGGER import_batches_log_insert AFTER INSERT ON import_batches
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'import_batches', NEW.id, 'insert', 1, NEW.updated_hlc, NULL);
END;
CREATE TRIGGER import_batches_log_update AFTER UPDATE ON import_batches
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'import_batches', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, 1, NEW.updated_hlc,
        (SELECT json_group_object(f, json(v)) FROM (
            SELECT 'id' AS f, json_array(OLD.id, NEW.id) AS v WHERE OLD.id IS NOT NEW.id
            UNION ALL SELECT 'user_id', json_array(OLD.user_id, NEW.user_id) WHERE OLD.user_id IS NOT NEW.user_id
            UNION ALL SELECT 'account_id', json_array(OLD.account_id, NEW.account_id) WHERE OLD.account_id IS NOT NEW.account_id
            UNION ALL SELECT 'file_name', json_array(OLD.file_name, NEW.file_name) WHERE OLD.file_name IS NOT NEW.file_name
            UNION ALL SELECT 'file_sha256', json_array(OLD.file_sha256, NEW.file_sha256) WHERE OLD.file_sha256 IS NOT NEW.file_sha256
            UNION ALL SELECT 'format', json_array(OLD.format, NEW.format) WHERE OLD.format IS NOT NEW.format
            UNION ALL SELECT 'parser_version', json_array(OLD.parser_version, NEW.parser_version) WHERE OLD.parser_version IS NOT NEW.parser_version
            UNION ALL SELECT 'statement_tz', json_array(OLD.statement_tz, NEW.statement_tz) WHERE OLD.statement_tz IS NOT NEW.statement_tz
            UNION ALL SELECT 'new_count', json_array(OLD.new_count, NEW.new_count) WHERE OLD.new_count IS NOT NEW.new_count
            UNION ALL SELECT 'duplicate_count', json_array(OLD.duplicate_count, NEW.duplicate_count) WHERE OLD.duplicate_count IS NOT NEW.duplicate_count
            UNION ALL SELECT 'corrected_count', json_array(OLD.corrected_count, NEW.corrected_count) WHERE OLD.corrected_count IS NOT NEW.corrected_count
            UNION ALL SELECT 'cancelled_count', json_array(OLD.cancelled_count, NEW.cancelled_count) WHERE OLD.cancelled_count IS NOT NEW.cancelled_count
            UNION ALL SELECT 'rejected_count', json_array(OLD.rejected_count, NEW.rejected_count) WHERE OLD.rejected_count IS NOT NEW.rejected_count
            UNION ALL SELECT 'skipped_count', json_array(OLD.skipped_count, NEW.skipped_count) WHERE OLD.skipped_count IS NOT NEW.skipped_count
            UNION ALL SELECT 'trades_created', json_array(OLD.trades_created, NEW.trades_created) WHERE OLD.trades_created IS NOT NEW.trades_created
            UNION ALL SELECT 'trades_changed', json_array(OLD.trades_changed, NEW.trades_changed) WHERE OLD.trades_changed IS NOT NEW.trades_changed
            UNION ALL SELECT 'confirmed_by', json_array(OLD.confirmed_by, NEW.confirmed_by) WHERE OLD.confirmed_by IS NOT NEW.confirmed_by
            UNION ALL SELECT 'confirmed_at', json_array(OLD.confirmed_at, NEW.confirmed_at) WHERE OLD.confirmed_at IS NOT NEW.confirmed_at
            UNION ALL SELECT 'undone_by', json_array(OLD.undone_by, NEW.undone_by) WHERE OLD.undone_by IS NOT NEW.undone_by
            UNION ALL SELECT 'undone_at', json_array(OLD.undone_at, NEW.undone_at) WHERE OLD.undone_at IS NOT NEW.undone_at
            UNION ALL SELECT 'created_at', json_array(OLD.created_at, NEW.created_at) WHERE OLD.created_at IS NOT NEW.created_at
            UNION ALL SELECT 'deleted', json_array(OLD.deleted, NEW.deleted) WHERE OLD.deleted IS NOT NEW.deleted)));
END;
CREATE TRIGGER import_batches_log_delete AFTER DELETE ON import_batches
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'import_batches', OLD.id, 'remove', 0, NULL,
        json_object('id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'file_name', OLD.file_name, 'file_sha256', OLD.file_sha256, 'format', OLD.format, 'parser_version', OLD.parser_version, 'statement_tz', OLD.statement_tz, 'new_count', OLD.new_count, 'duplicate_count', OLD.duplicate_count, 'corrected_count', OLD.corrected_count, 'cancelled_count', OLD.cancelled_count, 'rejected_count', OLD.rejected_count, 'skipped_count', OLD.skipped_count, 'trades_created', OLD.trades_created, 'trades_changed', OLD.trades_changed, 'confirmed_by', OLD.confirmed_by, 'confirmed_at', OLD.confirmed_at, 'undone_by', OLD.undone_by, 'undone_at', OLD.undone_at, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted));
END;

CREATE TRIGGER executions_log_insert AFTER INSERT ON executions
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'executions', NEW.id, 'insert', 1, NEW.updated_hlc, NULL);
END;
CREATE TRIGGER executions_log_update AFTER UPDATE ON executions
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'executions', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, 1, NEW.updated_hlc,
        (SELECT json_group_object(f, json(v)) FROM (
            SELECT 'id' AS f, json_array(OLD.id, NEW.id) AS v WHERE OLD.id IS NOT NEW.id
            UNION ALL SELECT 'user_id', json_array(OLD.user_id, NEW.user_id) WHERE OLD.user_id IS NOT NEW.user_id
            UNION ALL SELECT 'account_id', json_array(OLD.account_id, NEW.account_id) WHERE OLD.account_id IS NOT NEW.account_id
            UNION ALL SELECT 'trade_id', json_array(OLD.trade_id, NEW.trade_id) WHERE OLD.trade_id IS NOT NEW.trade_id
            UNION ALL SELECT 'side', json_array(OLD.side, NEW.side) WHERE OLD.side IS NOT NEW.side
            UNION ALL SELECT 'quantity', json_array(OLD.quantity, NEW.quantity) WHERE OLD.quantity IS NOT NEW.quantity
            UNION ALL SELECT 'price', json_array(OLD.price, NEW.price) WHERE OLD.price IS NOT NEW.price
            UNION ALL SELECT 'fees', json_array(OLD.fees, NEW.fees) WHERE OLD.fees IS NOT NEW.fees
            UNION ALL SELECT 'executed_at', json_array(OLD.executed_at, NEW.executed_at) WHERE OLD.executed_at IS NOT NEW.executed_at
            UNION ALL SELECT 'time_zone', json_array(OLD.time_zone, NEW.time_zone) WHERE OLD.time_zone IS NOT NEW.time_zone
            UNION ALL SELECT 'realized_gross', json_array(OLD.realized_gross, NEW.realized_gross) WHERE OLD.realized_gross IS NOT NEW.realized_gross
            UNION ALL SELECT 'realized_net', json_array(OLD.realized_net, NEW.realized_net) WHERE OLD.realized_net IS NOT NEW.realized_net
            UNION ALL SELECT 'created_at', json_array(OLD.created_at, NEW.created_at) WHERE OLD.created_at IS NOT NEW.created_at
            UNION ALL SELECT 'deleted', json_array(OLD.deleted, NEW.deleted) WHERE OLD.deleted IS NOT NEW.deleted
            UNION ALL SELECT 'import_batch_id', json_array(OLD.import_batch_id, NEW.import_batch_id) WHERE OLD.import_batch_id IS NOT NEW.import_batch_id
            UNION ALL SELECT 'broker', json_array(OLD.broker, NEW.broker) WHERE OLD.broker IS NOT NEW.broker
            UNION ALL SELECT 'broker_account', json_array(OLD.broker_account, NEW.broker_account) WHERE OLD.broker_account IS NOT NEW.broker_account
            UNION ALL SELECT 'broker_exec_id', json_array(OLD.broker_exec_id, NEW.broker_exec_id) WHERE OLD.broker_exec_id IS NOT NEW.broker_exec_id
            UNION ALL SELECT 'order_id', json_array(OLD.order_id, NEW.order_id) WHERE OLD.order_id IS NOT NEW.order_id
            UNION ALL SELECT 'asset_class', json_array(OLD.asset_class, NEW.asset_class) WHERE OLD.asset_class IS NOT NEW.asset_class
            UNION ALL SELECT 'instrument_key', json_array(OLD.instrument_key, NEW.instrument_key) WHERE OLD.instrument_key IS NOT NEW.instrument_key
            UNION ALL SELECT 'underlying', json_array(OLD.underlying, NEW.underlying) WHERE OLD.underlying IS NOT NEW.underlying
            UNION ALL SELECT 'expiry', json_array(OLD.expiry, NEW.expiry) WHERE OLD.expiry IS NOT NEW.expiry
            UNION ALL SELECT 'strike', json_array(OLD.strike, NEW.strike) WHERE OLD.strike IS NOT NEW.strike
            UNION ALL SELECT 'option_right', json_array(OLD.option_right, NEW.option_right) WHERE OLD.option_right IS NOT NEW.option_right
            UNION ALL SELECT 'future_root', json_array(OLD.future_root, NEW.future_root) WHERE OLD.future_root IS NOT NEW.future_root
            UNION ALL SELECT 'contract_month', json_array(OLD.contract_month, NEW.contract_month) WHERE OLD.contract_month IS NOT NEW.contract_month
            UNION ALL SELECT 'multiplier', json_array(OLD.multiplier, NEW.multiplier) WHERE OLD.multiplier IS NOT NEW.multiplier
            UNION ALL SELECT 'currency', json_array(OLD.currency, NEW.currency) WHERE OLD.currency IS NOT NEW.currency
            UNION ALL SELECT 'commission', json_array(OLD.commission, NEW.commission) WHERE OLD.commission IS NOT NEW.commission
            UNION ALL SELECT 'exchange_fee', json_array(OLD.exchange_fee, NEW.exchange_fee) WHERE OLD.exchange_fee IS NOT NEW.exchange_fee
            UNION ALL SELECT 'regulatory_fee', json_array(OLD.regulatory_fee, NEW.regulatory_fee) WHERE OLD.regulatory_fee IS NOT NEW.regulatory_fee
            UNION ALL SELECT 'other_fee', json_array(OLD.other_fee, NEW.other_fee) WHERE OLD.other_fee IS NOT NEW.other_fee
            UNION ALL SELECT 'raw_time', json_array(OLD.raw_time, NEW.raw_time) WHERE OLD.raw_time IS NOT NEW.raw_time
            UNION ALL SELECT 'statement_tz', json_array(OLD.statement_tz, NEW.statement_tz) WHERE OLD.statement_tz IS NOT NEW.statement_tz
            UNION ALL SELECT 'source_line', json_array(OLD.source_line, NEW.source_line) WHERE OLD.source_line IS NOT NEW.source_line
            UNION ALL SELECT 'fingerprint', json_array(OLD.fingerprint, NEW.fingerprint) WHERE OLD.fingerprint IS NOT NEW.fingerprint
            UNION ALL SELECT 'dedupe_key', json_array(OLD.dedupe_key, NEW.dedupe_key) WHERE OLD.dedupe_key IS NOT NEW.dedupe_key
            UNION ALL SELECT 'corrected_by_batch', json_array(OLD.corrected_by_batch, NEW.corrected_by_batch) WHERE OLD.corrected_by_batch IS NOT NEW.corrected_by_batch
            UNION ALL SELECT 'replaced', json_array(OLD.replaced, NEW.replaced) WHERE OLD.replaced IS NOT NEW.replaced
            UNION ALL SELECT 'removed_by_batch', json_array(OLD.removed_by_batch, NEW.removed_by_batch) WHERE OLD.removed_by_batch IS NOT NEW.removed_by_batch)));
END;
CREATE TRIGGER executions_log_delete AFTER DELETE ON executions
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'executions', OLD.id, 'remove', 0, NULL,
        json_object('id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'trade_id', OLD.trade_id, 'side', OLD.side, 'quantity', OLD.quantity, 'price', OLD.price, 'fees', OLD.fees, 'executed_at', OLD.executed_at, 'time_zone', OLD.time_zone, 'realized_gross', OLD.realized_gross, 'realized_net', OLD.realized_net, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted, 'import_batch_id', OLD.import_batch_id, 'broker', OLD.broker, 'broker_account', OLD.broker_account, 'broker_exec_id', OLD.broker_exec_id, 'order_id', OLD.order_id, 'asset_class', OLD.asset_class, 'instrument_key', OLD.instrument_key, 'underlying', OLD.underlying, 'expiry', OLD.expiry, 'strike', OLD.strike, 'option_right', OLD.option_right, 'future_root', OLD.future_root, 'contract_month', OLD.contract_month, 'multiplier', OLD.multiplier, 'currency', OLD.currency, 'commission', OLD.commission, 'exchange_fee', OLD.exchange_fee, 'regulatory_fee', OLD.regulatory_fee, 'other_fee', OLD.other_fee, 'raw_time', OLD.raw_time, 'statement_tz', OLD.statement_tz, 'source_line', OLD.source_line, 'fingerprint', OLD.fingerprint, 'dedupe_key', OLD.dedupe_key, 'corrected_by_batch', OLD.corrected_by_batch, 'replaced', OLD.replaced, 'removed_by_batch', OLD.removed_by_batch));
END;

CREATE TRIGGER trade_stop_adjustments_log_insert AFTER INSERT ON trade_stop_adjustments
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_stop_adjustments', NEW.id, 'insert', 1, NEW.updated_hlc, NULL);
END;
CREATE TRIGGER trade_stop_adjustments_log_update AFTER UPDATE ON trade_stop_adjustments
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_stop_adjustments', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, 1, NEW.updated_hlc,
        (SELECT json_group_object(f, json(v)) FROM (
            SELECT 'id' AS f, json_array(OLD.id, NEW.id) AS v WHERE OLD.id IS NOT NEW.id
            UNION ALL SELECT 'user_id', json_array(OLD.user_id, NEW.user_id) WHERE OLD.user_id IS NOT NEW.user_id
            UNION ALL SELECT 'trade_id', json_array(OLD.trade_id, NEW.trade_id) WHERE OLD.trade_id IS NOT NEW.trade_id
            UNION ALL SELECT 'price', json_array(OLD.price, NEW.price) WHERE OLD.price IS NOT NEW.price
            UNION ALL SELECT 'adjusted_at', json_array(OLD.adjusted_at, NEW.adjusted_at) WHERE OLD.adjusted_at IS NOT NEW.adjusted_at
            UNION ALL SELECT 'reason', json_array(OLD.reason, NEW.reason) WHERE OLD.reason IS NOT NEW.reason
            UNION ALL SELECT 'created_at', json_array(OLD.created_at, NEW.created_at) WHERE OLD.created_at IS NOT NEW.created_at
            UNION ALL SELECT 'deleted', json_array(OLD.deleted, NEW.deleted) WHERE OLD.deleted IS NOT NEW.deleted)));
END;
CREATE TRIGGER trade_stop_adjustments_log_delete AFTER DELETE ON trade_stop_adjustments
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'trade_stop_adjustments', OLD.id, 'remove', 0, NULL,
        json_object('id', OLD.id, 'user_id', OLD.user_id, 'trade_id', OLD.trade_id, 'price', OLD.price, 'adjusted_at', OLD.adjusted_at, 'reason', OLD.reason, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted));
END;

CREATE TRIGGER trade_targets_log_insert AFTER INSERT ON trade_targets
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_targets', NEW.id, 'insert', 1, NEW.updated_hlc, NULL);
END;
CREATE TRIGGER trade_targets_log_update AFTER UPDATE ON trade_targets
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_targets', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, 1, NEW.updated_hlc,
        (SELECT json_group_object(f, json(v)) FROM (
            SELECT 'id' AS f, json_array(OLD.id, NEW.id) AS v WHERE OLD.id IS NOT NEW.id
            UNION ALL SELECT 'user_id', json_array(OLD.user_id, NEW.user_id) WHERE OLD.user_id IS NOT NEW.user_id
            UNION ALL SELECT 'trade_id', json_array(OLD.trade_id, NEW.trade_id) WHERE OLD.trade_id IS NOT NEW.trade_id
            UNION ALL SELECT 'price', json_array(OLD.price, NEW.price) WHERE OLD.price IS NOT NEW.price
            UNION ALL SELECT 'quantity', json_array(OLD.quantity, NEW.quantity) WHERE OLD.quantity IS NOT NEW.quantity
            UNION ALL SELECT 'label', json_array(OLD.label, NEW.label) WHERE OLD.label IS NOT NEW.label
            UNION ALL SELECT 'created_at', json_array(OLD.created_at, NEW.created_at) WHERE OLD.created_at IS NOT NEW.created_at
            UNION ALL SELECT 'deleted', json_array(OLD.deleted, NEW.deleted) WHERE OLD.deleted IS NOT NEW.deleted
            UNION ALL SELECT 'set_id', json_array(OLD.set_id, NEW.set_id) WHERE OLD.set_id IS NOT NEW.set_id)));
END;
CREATE TRIGGER trade_targets_log_delete AFTER DELETE ON trade_targets
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'trade_targets', OLD.id, 'remove', 0, NULL,
        json_object('id', OLD.id, 'user_id', OLD.user_id, 'trade_id', OLD.trade_id, 'price', OLD.price, 'quantity', OLD.quantity, 'label', OLD.label, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted, 'set_id', OLD.set_id));
END;

CREATE TRIGGER trade_notes_log_insert AFTER INSERT ON trade_notes
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_notes', NEW.id, 'insert', 1, NEW.updated_hlc, NULL);
END;
CREATE TRIGGER trade_notes_log_update AFTER UPDATE ON trade_notes
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_notes', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, 1, NEW.updated_hlc,
        (SELECT json_group_object(f, json(v)) FROM (
            SELECT 'id' AS f, json_array(OLD.id, NEW.id) AS v WHERE OLD.id IS NOT NEW.id
            UNION ALL SELECT 'user_id', json_array(OLD.user_id, NEW.user_id) WHERE OLD.user_id IS NOT NEW.user_id
            UNION ALL SELECT 'account_id', json_array(OLD.account_id, NEW.account_id) WHERE OLD.account_id IS NOT NEW.account_id
            UNION ALL SELECT 'trade_id', json_array(OLD.trade_id, NEW.trade_id) WHERE OLD.trade_id IS NOT NEW.trade_id
            UNION ALL SELECT 'kind', json_array(OLD.kind, NEW.kind) WHERE OLD.kind IS NOT NEW.kind
            UNION ALL SELECT 'body', json_array(OLD.body, NEW.body) WHERE OLD.body IS NOT NEW.body
            UNION ALL SELECT 'created_at', json_array(OLD.created_at, NEW.created_at) WHERE OLD.created_at IS NOT NEW.created_at
            UNION ALL SELECT 'deleted', json_array(OLD.deleted, NEW.deleted) WHERE OLD.deleted IS NOT NEW.deleted)));
END;
CREATE TRIGGER trade_notes_log_delete AFTER DELETE ON trade_notes
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'trade_notes', OLD.id, 'remove', 0, NULL,
        json_object('id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'trade_id', OLD.trade_id, 'kind', OLD.kind, 'body', OLD.body, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted));
END;

CREATE TRIGGER trade_checklist_templates_log_insert AFTER INSERT ON trade_checklist_templates
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_checklist_templates', NEW.id, 'insert', 1, NEW.updated_hlc, NULL);
END;
CREATE TRIGGER trade_checklist_templates_log_update AFTER UPDATE ON trade_checklist_templates
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_checklist_templates', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, 1, NEW.updated_hlc,
        (SELECT json_group_object(f, json(v)) FROM (
            SELECT 'id' AS f, json_array(OLD.id, NEW.id) AS v WHERE OLD.id IS NOT NEW.id
            UNION ALL SELECT 'user_id', json_array(OLD.user_id, NEW.user_id) WHERE OLD.user_id IS NOT NEW.user_id
            UNION ALL SELECT 'name', json_array(OLD.name, NEW.name) WHERE OLD.name IS NOT NEW.name
            UNION ALL SELECT 'description', json_array(OLD.description, NEW.description) WHERE OLD.description IS NOT NEW.description
            UNION ALL SELECT 'active', json_array(OLD.active, NEW.active) WHERE OLD.active IS NOT NEW.active
            UNION ALL SELECT 'created_at', json_array(OLD.created_at, NEW.created_at) WHERE OLD.created_at IS NOT NEW.created_at
            UNION ALL SELECT 'deleted', json_array(OLD.deleted, NEW.deleted) WHERE OLD.deleted IS NOT NEW.deleted)));
END;
CREATE TRIGGER trade_checklist_templates_log_delete AFTER DELETE ON trade_checklist_templates
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'trade_checklist_templates', OLD.id, 'remove', 0, NULL,
        json_object('id', OLD.id, 'user_id', OLD.user_id, 'name', OLD.name, 'description', OLD.description, 'active', OLD.active, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted));
END;

CREATE TRIGGER trade_checklist_items_log_insert AFTER INSERT ON trade_checklist_items
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_checklist_items', NEW.id, 'insert', 1, NEW.updated_hlc, NULL);
END;
CREATE TRIGGER trade_checklist_items_log_update AFTER UPDATE ON trade_checklist_items
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_checklist_items', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, 1, NEW.updated_hlc,
        (SELECT json_group_object(f, json(v)) FROM (
            SELECT 'id' AS f, json_array(OLD.id, NEW.id) AS v WHERE OLD.id IS NOT NEW.id
            UNION ALL SELECT 'user_id', json_array(OLD.user_id, NEW.user_id) WHERE OLD.user_id IS NOT NEW.user_id
            UNION ALL SELECT 'template_id', json_array(OLD.template_id, NEW.template_id) WHERE OLD.template_id IS NOT NEW.template_id
            UNION ALL SELECT 'position', json_array(OLD.position, NEW.position) WHERE OLD.position IS NOT NEW.position
            UNION ALL SELECT 'prompt', json_array(OLD.prompt, NEW.prompt) WHERE OLD.prompt IS NOT NEW.prompt
            UNION ALL SELECT 'required', json_array(OLD.required, NEW.required) WHERE OLD.required IS NOT NEW.required
            UNION ALL SELECT 'created_at', json_array(OLD.created_at, NEW.created_at) WHERE OLD.created_at IS NOT NEW.created_at
            UNION ALL SELECT 'deleted', json_array(OLD.deleted, NEW.deleted) WHERE OLD.deleted IS NOT NEW.deleted)));
END;
CREATE TRIGGER trade_checklist_items_log_delete AFTER DELETE ON trade_checklist_items
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'trade_checklist_items', OLD.id, 'remove', 0, NULL,
        json_object('id', OLD.id, 'user_id', OLD.user_id, 'template_id', OLD.template_id, 'position', OLD.position, 'prompt', OLD.prompt, 'required', OLD.required, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted));
END;

CREATE TRIGGER trade_checklist_responses_log_insert AFTER INSERT ON trade_checklist_responses
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_checklist_responses', NEW.id, 'insert', 1, NEW.updated_hlc, NULL);
END;
CREATE TRIGGER trade_checklist_responses_log_update AFTER UPDATE ON trade_checklist_responses
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_checklist_responses', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, 1, NEW.updated_hlc,
        (SELECT json_group_object(f, json(v)) FROM (
            SELECT 'id' AS f, json_array(OLD.id, NEW.id) AS v WHERE OLD.id IS NOT NEW.id
            UNION ALL SELECT 'user_id', json_array(OLD.user_id, NEW.user_id) WHERE OLD.user_id IS NOT NEW.user_id
            UNION ALL SELECT 'trade_id', json_array(OLD.trade_id, NEW.trade_id) WHERE OLD.trade_id IS NOT NEW.trade_id
            UNION ALL SELECT 'item_id', json_array(OLD.item_id, NEW.item_id) WHERE OLD.item_id IS NOT NEW.item_id
            UNION ALL SELECT 'checked', json_array(OLD.checked, NEW.checked) WHERE OLD.checked IS NOT NEW.checked
            UNION ALL SELECT 'comment', json_array(OLD.comment, NEW.comment) WHERE OLD.comment IS NOT NEW.comment
            UNION ALL SELECT 'answered_at', json_array(OLD.answered_at, NEW.answered_at) WHERE OLD.answered_at IS NOT NEW.answered_at
            UNION ALL SELECT 'created_at', json_array(OLD.created_at, NEW.created_at) WHERE OLD.created_at IS NOT NEW.created_at
            UNION ALL SELECT 'deleted', json_array(OLD.deleted, NEW.deleted) WHERE OLD.deleted IS NOT NEW.deleted)));
END;
CREATE TRIGGER trade_checklist_responses_log_delete AFTER DELETE ON trade_checklist_responses
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'trade_checklist_responses', OLD.id, 'remove', 0, NULL,
        json_object('id', OLD.id, 'user_id', OLD.user_id, 'trade_id', OLD.trade_id, 'item_id', OLD.item_id, 'checked', OLD.checked, 'comment', OLD.comment, 'answered_at', OLD.answered_at, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted));
END;

CREATE TRIGGER broker_connections_log_insert AFTER INSERT ON broker_connections
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'broker_connections', NEW.id, 'insert', 1, NEW.updated_hlc, NULL);
END;
CREATE TRIGGER broker_connections_log_update AFTER UPDATE ON broker_connections
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (NEW.updated_at, NEW.user_id, 'broker_connections', NEW.id,
        CASE WHEN NEW.deleted = 1 AND OLD.deleted = 0 THEN 'delete' ELSE 'update' END, 1, NEW.updated_hlc,
        (SELECT json_group_object(f, json(v)) FROM (
            SELECT 'id' AS f, json_array(OLD.id, NEW.id) AS v WHERE OLD.id IS NOT NEW.id
            UNION ALL SELECT 'user_id', json_array(OLD.user_id, NEW.user_id) WHERE OLD.user_id IS NOT NEW.user_id
            UNION ALL SELECT 'account_id', json_array(OLD.account_id, NEW.account_id) WHERE OLD.account_id IS NOT NEW.account_id
            UNION ALL SELECT 'broker', json_array(OLD.broker, NEW.broker) WHERE OLD.broker IS NOT NEW.broker
            UNION ALL SELECT 'label', json_array(OLD.label, NEW.label) WHERE OLD.label IS NOT NEW.label
            UNION ALL SELECT 'api_key_hint', json_array(OLD.api_key_hint, NEW.api_key_hint) WHERE OLD.api_key_hint IS NOT NEW.api_key_hint
            UNION ALL SELECT 'sealed_secret', json_quote('changed') WHERE OLD.sealed_secret IS NOT NEW.sealed_secret
            UNION ALL SELECT 'status', json_array(OLD.status, NEW.status) WHERE OLD.status IS NOT NEW.status
            UNION ALL SELECT 'created_at', json_array(OLD.created_at, NEW.created_at) WHERE OLD.created_at IS NOT NEW.created_at
            UNION ALL SELECT 'deleted', json_array(OLD.deleted, NEW.deleted) WHERE OLD.deleted IS NOT NEW.deleted)));
END;
CREATE TRIGGER broker_connections_log_delete AFTER DELETE ON broker_connections
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO change_log (at, user_id, table_name, row_id, action, push, hlc, changes)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'broker_connections', OLD.id, 'remove', 0, NULL,
        json_object('id', OLD.id, 'user_id', OLD.user_id, 'account_id', OLD.account_id, 'broker', OLD.broker, 'label', OLD.label, 'api_key_hint', OLD.api_key_hint, 'status', OLD.status, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at, 'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted));
END;
