-- V8: states a merge can produce, and rows kept aside.
--
-- Fills are facts: two devices that recorded fills of one trade while apart must always merge, even when
-- the merged fills break a rule a single device enforces (both devices closed the same 10 shares). So a
-- trade gets the status `needs_review`, with the reasons (`review`: comma-separated codes) and the exit
-- quantity that found nothing open (`excess_quantity`), all derived from its rows as every device derives
-- them. `targets_set` makes replacing a trade's targets one edit: every target row belongs to a set
-- (`trade_targets.set_id`) and the trade names its current set, so two devices replacing the targets at
-- once end with one side's list (the field merge picks it and logs the other) instead of the union.
--
-- sync_field_clock.base: NULL when the field's current value is one the server has (pulled, or pushed and
-- acknowledged); otherwise the field holds an unsynced local edit and `base` is the synced stamp that edit
-- replaced ('' for a row created here). A merge logs a conflict only when such an unsynced edit meets a
-- concurrent one: an edit made after pulling the other device's value is an ordinary update.
--
-- sync_quarantine: a pulled or pushed row that cannot be applied (a constraint, a tier limit, a missing
-- parent) is kept aside with its reason instead of stopping sync for every row behind it; it is retried
-- after the next change and never dropped. sync_pending_trades: trades whose rows arrived in a download
-- that has not finished: their executions are still on the way, so their summaries are the server's
-- until the download's last transaction recomputes them (`db check` says so instead of calling it damage).
--
-- Names are unique per user only for live rows created on one device: two devices may both create an
-- account or a checklist named "Swing" while apart, and the merge must apply. The core API refuses a
-- duplicate name when a user types one; duplicates a merge made are shown and can be renamed.
--
-- Migrations run with foreign_keys off (the store's migration runner), so `trades` can be rebuilt in place
-- (SQLite cannot change a CHECK constraint otherwise); the last statement proves no foreign key broke.

CREATE TABLE sync_quarantine (
    table_name TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    direction  TEXT NOT NULL CHECK (direction IN ('push', 'pull')),
    user_id    TEXT NOT NULL,
    -- What went wrong: a SQLSTATE for a push the server refused, `constraint` for a pulled row the store
    -- refused, `recompute` for a trade whose derived data could not be computed.
    code       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    -- A pulled row's state (fields with their stamps, as JSON) to apply again; NULL for a pushed row
    -- (its local row is the state).
    state      TEXT,
    first_seen TEXT NOT NULL,
    last_tried TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (table_name, row_id, direction)
) STRICT;

CREATE TABLE sync_pending_trades (
    trade_id TEXT PRIMARY KEY NOT NULL
) STRICT, WITHOUT ROWID;

ALTER TABLE sync_field_clock ADD COLUMN base TEXT;
-- Fields of rows still waiting in the outbox hold unsynced edits whose base is unknown.
UPDATE sync_field_clock SET base = ''
WHERE EXISTS (SELECT 1 FROM sync_outbox o WHERE o.table_name = sync_field_clock.table_name AND o.row_id = sync_field_clock.row_id);

DROP INDEX accounts_user_name_uq;
CREATE INDEX accounts_user_name_idx ON accounts (user_id, name) WHERE deleted = 0;
DROP INDEX trade_checklist_templates_name_uq;
CREATE INDEX trade_checklist_templates_name_idx ON trade_checklist_templates (user_id, name) WHERE deleted = 0;

-- trades, rebuilt with the new status and columns (same rows, same ids).
CREATE TABLE trades_v8 (
    id                TEXT PRIMARY KEY NOT NULL,
    user_id           TEXT NOT NULL REFERENCES users (id),
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    symbol            TEXT NOT NULL CHECK (length(symbol) BETWEEN 1 AND 32),
    direction         TEXT NOT NULL CHECK (direction IN ('long', 'short')),
    status            TEXT NOT NULL CHECK (status IN ('planned', 'open', 'partially_closed', 'closed', 'cancelled', 'needs_review')),
    multiplier        TEXT NOT NULL DEFAULT '1',
    planned_entry     TEXT,
    planned_quantity  TEXT,
    initial_stop      TEXT,
    current_stop      TEXT,
    setup             TEXT,
    correlation_group TEXT,
    entered_quantity  TEXT NOT NULL DEFAULT '0',
    open_quantity     TEXT NOT NULL DEFAULT '0',
    avg_entry_price   TEXT,
    avg_exit_price    TEXT,
    gross_pnl         TEXT NOT NULL DEFAULT '0',
    fees              TEXT NOT NULL DEFAULT '0',
    net_pnl           TEXT NOT NULL DEFAULT '0',
    initial_risk      TEXT,
    r_multiple        TEXT,
    exit_days         TEXT,
    opened_at         TEXT,
    closed_at         TEXT,
    cancelled_at      TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    updated_hlc       TEXT NOT NULL,
    deleted           INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    excess_quantity   TEXT,
    review            TEXT,
    targets_set       TEXT
) STRICT;
INSERT INTO trades_v8 (id, user_id, account_id, symbol, direction, status, multiplier, planned_entry, planned_quantity,
    initial_stop, current_stop, setup, correlation_group, entered_quantity, open_quantity, avg_entry_price,
    avg_exit_price, gross_pnl, fees, net_pnl, initial_risk, r_multiple, exit_days, opened_at, closed_at,
    cancelled_at, created_at, updated_at, updated_hlc, deleted)
SELECT id, user_id, account_id, symbol, direction, status, multiplier, planned_entry, planned_quantity,
    initial_stop, current_stop, setup, correlation_group, entered_quantity, open_quantity, avg_entry_price,
    avg_exit_price, gross_pnl, fees, net_pnl, initial_risk, r_multiple, exit_days, opened_at, closed_at,
    cancelled_at, created_at, updated_at, updated_hlc, deleted
FROM trades;
DROP TABLE trades;
-- Other objects name `trades` in their bodies; the legacy rename leaves them alone (they refer to it by
-- name and find the new table).
PRAGMA legacy_alter_table = ON;
ALTER TABLE trades_v8 RENAME TO trades;
PRAGMA legacy_alter_table = OFF;
CREATE INDEX trades_user_idx ON trades (user_id, deleted, opened_at, id);
CREATE INDEX trades_symbol_idx ON trades (user_id, symbol, deleted, opened_at, id);
CREATE INDEX trades_created_idx ON trades (account_id, created_at);
CREATE INDEX trades_account_list_idx ON trades (account_id, deleted, opened_at, id);
CREATE INDEX trades_account_pnl_idx ON trades (account_id, net_pnl COLLATE decimal) WHERE deleted = 0;
CREATE INDEX trades_account_closed_idx
    ON trades (account_id, closed_at, id, net_pnl, fees, initial_risk, exit_days)
    WHERE status = 'closed' AND deleted = 0;
CREATE INDEX trades_account_open_idx ON trades (account_id, status, correlation_group, symbol) WHERE deleted = 0;
-- Trades that need review, per user (the review list and `trade list --status needs_review`).
CREATE INDEX trades_review_idx ON trades (user_id, account_id) WHERE status = 'needs_review' AND deleted = 0;

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

CREATE TRIGGER trades_clock_insert AFTER INSERT ON trades
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trades', NEW.id, '*', NEW.updated_hlc, '');
END;

CREATE TRIGGER trades_clock_update AFTER UPDATE ON trades
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    SELECT 'trades', NEW.id, value, NEW.updated_hlc,
        coalesce((SELECT coalesce(c.base, c.hlc) FROM sync_field_clock c
                  WHERE c.table_name = 'trades' AND c.row_id = NEW.id AND c.field = '*'), '')
    FROM json_each(json_array(
        CASE WHEN OLD.excess_quantity IS NOT NEW.excess_quantity THEN 'excess_quantity' END,
        CASE WHEN OLD.review IS NOT NEW.review THEN 'review' END,
        CASE WHEN OLD.targets_set IS NOT NEW.targets_set THEN 'targets_set' END,
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
    WHERE value IS NOT NULL
    ON CONFLICT (table_name, row_id, field)
    DO UPDATE SET hlc = excluded.hlc, base = coalesce(sync_field_clock.base, sync_field_clock.hlc);
END;

-- trade_targets: the set a target belongs to (see trades.targets_set).
ALTER TABLE trade_targets ADD COLUMN set_id TEXT;

DROP TRIGGER trade_targets_audit_insert;
CREATE TRIGGER trade_targets_audit_insert AFTER INSERT ON trade_targets
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (NEW.updated_at, NEW.user_id, 'trade_targets', NEW.id, 'insert', NULL,
        json_object(
            'id', NEW.id, 'user_id', NEW.user_id, 'trade_id', NEW.trade_id, 'price', NEW.price,
            'quantity', NEW.quantity, 'label', NEW.label, 'created_at', NEW.created_at, 'updated_at', NEW.updated_at,
            'updated_hlc', NEW.updated_hlc, 'deleted', NEW.deleted, 'set_id', NEW.set_id));
END;

DROP TRIGGER trade_targets_audit_update;
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

DROP TRIGGER trade_targets_audit_delete;
CREATE TRIGGER trade_targets_audit_delete AFTER DELETE ON trade_targets
BEGIN
    INSERT INTO audit_log (at, user_id, table_name, row_id, action, old_values, new_values)
    VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), OLD.user_id, 'trade_targets', OLD.id, 'delete',
        json_object(
            'id', OLD.id, 'user_id', OLD.user_id, 'trade_id', OLD.trade_id, 'price', OLD.price,
            'quantity', OLD.quantity, 'label', OLD.label, 'created_at', OLD.created_at, 'updated_at', OLD.updated_at,
            'updated_hlc', OLD.updated_hlc, 'deleted', OLD.deleted, 'set_id', OLD.set_id), NULL);
END;

-- Every table's clock triggers now keep the base of an unsynced local edit (see the header).

DROP TRIGGER users_clock_insert;
CREATE TRIGGER users_clock_insert AFTER INSERT ON users
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('users', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER users_clock_update;
CREATE TRIGGER users_clock_update AFTER UPDATE ON users
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    SELECT 'users', NEW.id, value, NEW.updated_hlc,
        coalesce((SELECT coalesce(c.base, c.hlc) FROM sync_field_clock c
                  WHERE c.table_name = 'users' AND c.row_id = NEW.id AND c.field = '*'), '')
    FROM json_each(json_array(
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.email IS NOT NEW.email THEN 'email' END,
        CASE WHEN OLD.display_name IS NOT NEW.display_name THEN 'display_name' END,
        CASE WHEN OLD.subscription_tier IS NOT NEW.subscription_tier THEN 'subscription_tier' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL
    ON CONFLICT (table_name, row_id, field)
    DO UPDATE SET hlc = excluded.hlc, base = coalesce(sync_field_clock.base, sync_field_clock.hlc);
END;

DROP TRIGGER accounts_clock_insert;
CREATE TRIGGER accounts_clock_insert AFTER INSERT ON accounts
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('accounts', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER accounts_clock_update;
CREATE TRIGGER accounts_clock_update AFTER UPDATE ON accounts
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    SELECT 'accounts', NEW.id, value, NEW.updated_hlc,
        coalesce((SELECT coalesce(c.base, c.hlc) FROM sync_field_clock c
                  WHERE c.table_name = 'accounts' AND c.row_id = NEW.id AND c.field = '*'), '')
    FROM json_each(json_array(
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
    WHERE value IS NOT NULL
    ON CONFLICT (table_name, row_id, field)
    DO UPDATE SET hlc = excluded.hlc, base = coalesce(sync_field_clock.base, sync_field_clock.hlc);
END;

DROP TRIGGER risk_settings_clock_insert;
CREATE TRIGGER risk_settings_clock_insert AFTER INSERT ON risk_settings
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('risk_settings', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER risk_settings_clock_update;
CREATE TRIGGER risk_settings_clock_update AFTER UPDATE ON risk_settings
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    SELECT 'risk_settings', NEW.id, value, NEW.updated_hlc,
        coalesce((SELECT coalesce(c.base, c.hlc) FROM sync_field_clock c
                  WHERE c.table_name = 'risk_settings' AND c.row_id = NEW.id AND c.field = '*'), '')
    FROM json_each(json_array(
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
    WHERE value IS NOT NULL
    ON CONFLICT (table_name, row_id, field)
    DO UPDATE SET hlc = excluded.hlc, base = coalesce(sync_field_clock.base, sync_field_clock.hlc);
END;

DROP TRIGGER executions_clock_insert;
CREATE TRIGGER executions_clock_insert AFTER INSERT ON executions
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('executions', NEW.id, '*', NEW.updated_hlc, '');
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

DROP TRIGGER trade_stop_adjustments_clock_insert;
CREATE TRIGGER trade_stop_adjustments_clock_insert AFTER INSERT ON trade_stop_adjustments
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_stop_adjustments', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER trade_stop_adjustments_clock_update;
CREATE TRIGGER trade_stop_adjustments_clock_update AFTER UPDATE ON trade_stop_adjustments
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    SELECT 'trade_stop_adjustments', NEW.id, value, NEW.updated_hlc,
        coalesce((SELECT coalesce(c.base, c.hlc) FROM sync_field_clock c
                  WHERE c.table_name = 'trade_stop_adjustments' AND c.row_id = NEW.id AND c.field = '*'), '')
    FROM json_each(json_array(
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
    WHERE value IS NOT NULL
    ON CONFLICT (table_name, row_id, field)
    DO UPDATE SET hlc = excluded.hlc, base = coalesce(sync_field_clock.base, sync_field_clock.hlc);
END;

DROP TRIGGER trade_targets_clock_insert;
CREATE TRIGGER trade_targets_clock_insert AFTER INSERT ON trade_targets
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_targets', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER trade_targets_clock_update;
CREATE TRIGGER trade_targets_clock_update AFTER UPDATE ON trade_targets
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    SELECT 'trade_targets', NEW.id, value, NEW.updated_hlc,
        coalesce((SELECT coalesce(c.base, c.hlc) FROM sync_field_clock c
                  WHERE c.table_name = 'trade_targets' AND c.row_id = NEW.id AND c.field = '*'), '')
    FROM json_each(json_array(
        CASE WHEN OLD.set_id IS NOT NEW.set_id THEN 'set_id' END,
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
    WHERE value IS NOT NULL
    ON CONFLICT (table_name, row_id, field)
    DO UPDATE SET hlc = excluded.hlc, base = coalesce(sync_field_clock.base, sync_field_clock.hlc);
END;

DROP TRIGGER trade_notes_clock_insert;
CREATE TRIGGER trade_notes_clock_insert AFTER INSERT ON trade_notes
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_notes', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER trade_notes_clock_update;
CREATE TRIGGER trade_notes_clock_update AFTER UPDATE ON trade_notes
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    SELECT 'trade_notes', NEW.id, value, NEW.updated_hlc,
        coalesce((SELECT coalesce(c.base, c.hlc) FROM sync_field_clock c
                  WHERE c.table_name = 'trade_notes' AND c.row_id = NEW.id AND c.field = '*'), '')
    FROM json_each(json_array(
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
    WHERE value IS NOT NULL
    ON CONFLICT (table_name, row_id, field)
    DO UPDATE SET hlc = excluded.hlc, base = coalesce(sync_field_clock.base, sync_field_clock.hlc);
END;

DROP TRIGGER trade_checklist_templates_clock_insert;
CREATE TRIGGER trade_checklist_templates_clock_insert AFTER INSERT ON trade_checklist_templates
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_checklist_templates', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER trade_checklist_templates_clock_update;
CREATE TRIGGER trade_checklist_templates_clock_update AFTER UPDATE ON trade_checklist_templates
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    SELECT 'trade_checklist_templates', NEW.id, value, NEW.updated_hlc,
        coalesce((SELECT coalesce(c.base, c.hlc) FROM sync_field_clock c
                  WHERE c.table_name = 'trade_checklist_templates' AND c.row_id = NEW.id AND c.field = '*'), '')
    FROM json_each(json_array(
        CASE WHEN OLD.id IS NOT NEW.id THEN 'id' END,
        CASE WHEN OLD.user_id IS NOT NEW.user_id THEN 'user_id' END,
        CASE WHEN OLD.name IS NOT NEW.name THEN 'name' END,
        CASE WHEN OLD.description IS NOT NEW.description THEN 'description' END,
        CASE WHEN OLD.active IS NOT NEW.active THEN 'active' END,
        CASE WHEN OLD.created_at IS NOT NEW.created_at THEN 'created_at' END,
        CASE WHEN OLD.updated_at IS NOT NEW.updated_at THEN 'updated_at' END,
        CASE WHEN OLD.updated_hlc IS NOT NEW.updated_hlc THEN 'updated_hlc' END,
        CASE WHEN OLD.deleted IS NOT NEW.deleted THEN 'deleted' END))
    WHERE value IS NOT NULL
    ON CONFLICT (table_name, row_id, field)
    DO UPDATE SET hlc = excluded.hlc, base = coalesce(sync_field_clock.base, sync_field_clock.hlc);
END;

DROP TRIGGER trade_checklist_items_clock_insert;
CREATE TRIGGER trade_checklist_items_clock_insert AFTER INSERT ON trade_checklist_items
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_checklist_items', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER trade_checklist_items_clock_update;
CREATE TRIGGER trade_checklist_items_clock_update AFTER UPDATE ON trade_checklist_items
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    SELECT 'trade_checklist_items', NEW.id, value, NEW.updated_hlc,
        coalesce((SELECT coalesce(c.base, c.hlc) FROM sync_field_clock c
                  WHERE c.table_name = 'trade_checklist_items' AND c.row_id = NEW.id AND c.field = '*'), '')
    FROM json_each(json_array(
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
    WHERE value IS NOT NULL
    ON CONFLICT (table_name, row_id, field)
    DO UPDATE SET hlc = excluded.hlc, base = coalesce(sync_field_clock.base, sync_field_clock.hlc);
END;

DROP TRIGGER trade_checklist_responses_clock_insert;
CREATE TRIGGER trade_checklist_responses_clock_insert AFTER INSERT ON trade_checklist_responses
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('trade_checklist_responses', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER trade_checklist_responses_clock_update;
CREATE TRIGGER trade_checklist_responses_clock_update AFTER UPDATE ON trade_checklist_responses
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    SELECT 'trade_checklist_responses', NEW.id, value, NEW.updated_hlc,
        coalesce((SELECT coalesce(c.base, c.hlc) FROM sync_field_clock c
                  WHERE c.table_name = 'trade_checklist_responses' AND c.row_id = NEW.id AND c.field = '*'), '')
    FROM json_each(json_array(
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
    WHERE value IS NOT NULL
    ON CONFLICT (table_name, row_id, field)
    DO UPDATE SET hlc = excluded.hlc, base = coalesce(sync_field_clock.base, sync_field_clock.hlc);
END;

DROP TRIGGER broker_connections_clock_insert;
CREATE TRIGGER broker_connections_clock_insert AFTER INSERT ON broker_connections
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT OR REPLACE INTO sync_field_clock (table_name, row_id, field, hlc, base)
    VALUES ('broker_connections', NEW.id, '*', NEW.updated_hlc, '');
END;

DROP TRIGGER broker_connections_clock_update;
CREATE TRIGGER broker_connections_clock_update AFTER UPDATE ON broker_connections
WHEN NOT EXISTS (SELECT 1 FROM sync_apply_guard)
BEGIN
    INSERT INTO sync_field_clock (table_name, row_id, field, hlc, base)
    SELECT 'broker_connections', NEW.id, value, NEW.updated_hlc,
        coalesce((SELECT coalesce(c.base, c.hlc) FROM sync_field_clock c
                  WHERE c.table_name = 'broker_connections' AND c.row_id = NEW.id AND c.field = '*'), '')
    FROM json_each(json_array(
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
    WHERE value IS NOT NULL
    ON CONFLICT (table_name, row_id, field)
    DO UPDATE SET hlc = excluded.hlc, base = coalesce(sync_field_clock.base, sync_field_clock.hlc);
END;

-- No foreign key broke while `trades` was rebuilt (foreign keys are off during migrations): the insert
-- fails, and with it the migration, if any row points nowhere.
CREATE TEMP TABLE v8_fk_check (violations INTEGER CHECK (violations = 0));
INSERT INTO v8_fk_check SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE v8_fk_check;
