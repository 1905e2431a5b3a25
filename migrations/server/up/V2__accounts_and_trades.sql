-- V2: accounts, risk settings, trades with their whole lifecycle, executions, stop history and targets.
--
-- Money, prices and quantities are NUMERIC (exact), never float. Children reference their parent by
-- (id, user_id), so a row can only point at a parent of the same user: foreign-key checks bypass RLS, and
-- this keeps a user from attaching rows to (or probing) another user's accounts and trades.
-- Sync columns on every tenant row: updated_at/updated_hlc (the client's clock), deleted (tombstone),
-- server_seq (server change order) and received_at (server time), the last two set by trenddojo.stamp_row().

CREATE TABLE trenddojo.accounts (
    id                  uuid PRIMARY KEY,
    user_id             uuid NOT NULL REFERENCES trenddojo.users (id),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    starting_balance    numeric NOT NULL,
    time_zone           text NOT NULL,
    broker              text,
    matching_method     text NOT NULL DEFAULT 'fifo' CHECK (matching_method IN ('fifo', 'lifo', 'average_cost')),
    breakeven_tolerance numeric NOT NULL DEFAULT 0 CHECK (breakeven_tolerance >= 0),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    updated_hlc       text NOT NULL,
    deleted           boolean NOT NULL DEFAULT false,
    server_seq        bigint NOT NULL DEFAULT 0,
    received_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, user_id)
);
CREATE INDEX accounts_user_idx ON trenddojo.accounts (user_id);
CREATE INDEX accounts_created_idx ON trenddojo.accounts (created_at);
CREATE INDEX accounts_sync_idx ON trenddojo.accounts (user_id, server_seq);
COMMENT ON COLUMN trenddojo.accounts.starting_balance IS 'CONFIDENTIAL: financial';
SELECT trenddojo.make_tenant_table('accounts');

CREATE TABLE trenddojo.risk_settings (
    id                       uuid PRIMARY KEY,
    user_id                  uuid NOT NULL REFERENCES trenddojo.users (id),
    account_id               uuid NOT NULL,
    max_risk_per_trade_pct   numeric NOT NULL CHECK (max_risk_per_trade_pct > 0 AND max_risk_per_trade_pct <= 100),
    max_daily_loss_pct       numeric NOT NULL CHECK (max_daily_loss_pct > 0 AND max_daily_loss_pct <= 100),
    max_weekly_loss_pct      numeric NOT NULL CHECK (max_weekly_loss_pct > 0 AND max_weekly_loss_pct <= 100),
    max_open_positions       integer NOT NULL CHECK (max_open_positions >= 0),
    max_correlated_positions integer NOT NULL CHECK (max_correlated_positions >= 0),
    sizing_method            text NOT NULL CHECK (sizing_method IN ('fixed_fractional', 'fixed_amount', 'fixed_quantity')),
    fixed_amount             numeric,
    fixed_quantity           numeric,
    enforcement              text NOT NULL CHECK (enforcement IN ('block', 'warn')),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    updated_hlc       text NOT NULL,
    deleted           boolean NOT NULL DEFAULT false,
    server_seq        bigint NOT NULL DEFAULT 0,
    received_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, user_id) REFERENCES trenddojo.accounts (id, user_id)
);
CREATE INDEX risk_settings_user_idx ON trenddojo.risk_settings (user_id, server_seq);
CREATE UNIQUE INDEX risk_settings_account_uq ON trenddojo.risk_settings (account_id) WHERE NOT deleted;
CREATE INDEX risk_settings_created_idx ON trenddojo.risk_settings (created_at);
SELECT trenddojo.make_tenant_table('risk_settings');

CREATE TABLE trenddojo.trades (
    id                uuid PRIMARY KEY,
    user_id           uuid NOT NULL REFERENCES trenddojo.users (id),
    account_id        uuid NOT NULL,
    symbol            text NOT NULL CHECK (length(symbol) BETWEEN 1 AND 32),
    direction         text NOT NULL CHECK (direction IN ('long', 'short')),
    status            text NOT NULL CHECK (status IN ('planned', 'open', 'partially_closed', 'closed', 'cancelled')),
    multiplier        numeric NOT NULL DEFAULT 1 CHECK (multiplier > 0),
    planned_entry     numeric,
    planned_quantity  numeric,
    initial_stop      numeric,
    current_stop      numeric,
    setup             text,
    correlation_group text,
    entered_quantity  numeric NOT NULL DEFAULT 0 CHECK (entered_quantity >= 0),
    open_quantity     numeric NOT NULL DEFAULT 0 CHECK (open_quantity >= 0),
    avg_entry_price   numeric,
    avg_exit_price    numeric,
    gross_pnl         numeric NOT NULL DEFAULT 0,
    fees              numeric NOT NULL DEFAULT 0 CHECK (fees >= 0),
    net_pnl           numeric NOT NULL DEFAULT 0,
    initial_risk      numeric,
    r_multiple        numeric,
    exit_days         text,
    opened_at         timestamptz,
    closed_at         timestamptz,
    cancelled_at      timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    updated_hlc       text NOT NULL,
    deleted           boolean NOT NULL DEFAULT false,
    server_seq        bigint NOT NULL DEFAULT 0,
    received_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, user_id),
    FOREIGN KEY (account_id, user_id) REFERENCES trenddojo.accounts (id, user_id)
);
CREATE INDEX trades_user_idx ON trenddojo.trades (user_id, opened_at DESC, id);
CREATE INDEX trades_account_idx ON trenddojo.trades (account_id, opened_at DESC, id) WHERE NOT deleted;
CREATE INDEX trades_symbol_idx ON trenddojo.trades (user_id, symbol, opened_at DESC);
CREATE INDEX trades_created_idx ON trenddojo.trades (user_id, created_at);
CREATE INDEX trades_received_idx ON trenddojo.trades (user_id, received_at);
CREATE INDEX trades_closed_idx ON trenddojo.trades (account_id, closed_at) WHERE status = 'closed' AND NOT deleted;
-- The dashboard: a user's open positions and latest closed trades without touching the rest of the history.
CREATE INDEX trades_user_open_idx ON trenddojo.trades (user_id, opened_at DESC)
    WHERE status IN ('open', 'partially_closed') AND NOT deleted;
CREATE INDEX trades_user_closed_idx ON trenddojo.trades (user_id, closed_at DESC) WHERE status = 'closed' AND NOT deleted;
CREATE INDEX trades_sync_idx ON trenddojo.trades (user_id, server_seq);
COMMENT ON COLUMN trenddojo.trades.net_pnl IS 'CONFIDENTIAL: financial';
COMMENT ON COLUMN trenddojo.trades.gross_pnl IS 'CONFIDENTIAL: financial';
COMMENT ON COLUMN trenddojo.trades.planned_quantity IS 'CONFIDENTIAL: financial';
COMMENT ON COLUMN trenddojo.trades.entered_quantity IS 'CONFIDENTIAL: financial';
SELECT trenddojo.make_tenant_table('trades');

CREATE TABLE trenddojo.executions (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES trenddojo.users (id),
    account_id     uuid NOT NULL,
    trade_id       uuid NOT NULL,
    side           text NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity       numeric NOT NULL CHECK (quantity > 0),
    price          numeric NOT NULL CHECK (price > 0),
    fees           numeric NOT NULL DEFAULT 0 CHECK (fees >= 0),
    executed_at    timestamptz NOT NULL,
    time_zone      text NOT NULL,
    realized_gross numeric,
    realized_net   numeric,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    updated_hlc       text NOT NULL,
    deleted           boolean NOT NULL DEFAULT false,
    server_seq        bigint NOT NULL DEFAULT 0,
    received_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (trade_id, user_id) REFERENCES trenddojo.trades (id, user_id),
    FOREIGN KEY (account_id, user_id) REFERENCES trenddojo.accounts (id, user_id)
);
CREATE INDEX executions_user_idx ON trenddojo.executions (user_id, server_seq);
CREATE INDEX executions_trade_idx ON trenddojo.executions (trade_id, executed_at);
CREATE INDEX executions_account_idx ON trenddojo.executions (account_id, executed_at);
CREATE INDEX executions_created_idx ON trenddojo.executions (created_at);
COMMENT ON COLUMN trenddojo.executions.quantity IS 'CONFIDENTIAL: financial';
COMMENT ON COLUMN trenddojo.executions.price IS 'CONFIDENTIAL: financial';
SELECT trenddojo.make_tenant_table('executions');

CREATE TABLE trenddojo.trade_stop_adjustments (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES trenddojo.users (id),
    trade_id    uuid NOT NULL,
    price       numeric NOT NULL CHECK (price > 0),
    adjusted_at timestamptz NOT NULL,
    reason      text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    updated_hlc       text NOT NULL,
    deleted           boolean NOT NULL DEFAULT false,
    server_seq        bigint NOT NULL DEFAULT 0,
    received_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (trade_id, user_id) REFERENCES trenddojo.trades (id, user_id)
);
CREATE INDEX trade_stop_adjustments_user_idx ON trenddojo.trade_stop_adjustments (user_id, server_seq);
CREATE INDEX trade_stop_adjustments_trade_idx ON trenddojo.trade_stop_adjustments (trade_id, adjusted_at);
CREATE INDEX trade_stop_adjustments_created_idx ON trenddojo.trade_stop_adjustments (created_at);
SELECT trenddojo.make_tenant_table('trade_stop_adjustments');

CREATE TABLE trenddojo.trade_targets (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES trenddojo.users (id),
    trade_id    uuid NOT NULL,
    price       numeric NOT NULL CHECK (price > 0),
    quantity    numeric CHECK (quantity > 0),
    label       text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    updated_hlc       text NOT NULL,
    deleted           boolean NOT NULL DEFAULT false,
    server_seq        bigint NOT NULL DEFAULT 0,
    received_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (trade_id, user_id) REFERENCES trenddojo.trades (id, user_id)
);
CREATE INDEX trade_targets_user_idx ON trenddojo.trade_targets (user_id, server_seq);
CREATE INDEX trade_targets_trade_idx ON trenddojo.trade_targets (trade_id);
CREATE INDEX trade_targets_created_idx ON trenddojo.trade_targets (created_at);
SELECT trenddojo.make_tenant_table('trade_targets');
