-- V2: trades with their whole lifecycle, executions (fills), stop history and targets.
--
-- The summary columns of `trades` (status, quantities, averages, P&L, risk, R) are derived from the
-- executions by trenddojo-domain::trade::summarize and rewritten in the same transaction as every
-- execution change, so statistics read one row per trade instead of re-matching every fill.
-- `exit_days` is the trade's net P&L split by the calendar day (in the account's time zone) of each exit,
-- as `YYYY-MM-DD=amount` pairs joined by `;` (just `YYYY-MM-DD` when every exit fell on one day), so daily
-- P&L needs no join with executions either.

CREATE TABLE trades (
    id                TEXT PRIMARY KEY NOT NULL,
    user_id           TEXT NOT NULL REFERENCES users (id),
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    symbol            TEXT NOT NULL CHECK (length(symbol) BETWEEN 1 AND 32),
    direction         TEXT NOT NULL CHECK (direction IN ('long', 'short')),
    status            TEXT NOT NULL CHECK (status IN ('planned', 'open', 'partially_closed', 'closed', 'cancelled')),
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
    deleted           INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;
CREATE INDEX trades_user_idx ON trades (user_id, deleted, opened_at, id);
CREATE INDEX trades_symbol_idx ON trades (user_id, symbol, deleted, opened_at, id);
CREATE INDEX trades_created_idx ON trades (account_id, created_at);
-- The trade list: one account, newest first, optionally by status.
CREATE INDEX trades_account_list_idx ON trades (account_id, deleted, opened_at, id);
-- The trade list sorted by P&L: `decimal` is an exact collation for decimal text (see store::sql).
CREATE INDEX trades_account_pnl_idx ON trades (account_id, net_pnl COLLATE decimal) WHERE deleted = 0;
-- Statistics: closed trades of an account in close order, covering the columns stats read.
CREATE INDEX trades_account_closed_idx
    ON trades (account_id, closed_at, id, net_pnl, fees, initial_risk, exit_days)
    WHERE status = 'closed' AND deleted = 0;
-- Risk checks: open positions of an account.
CREATE INDEX trades_account_open_idx ON trades (account_id, status, correlation_group, symbol) WHERE deleted = 0;

-- Derived per-account totals, kept in step with every trade change in the same transaction so that an
-- account's equity costs one row read instead of a sum over all its trades. Local only, not synced: it can
-- be recomputed from `trades` at any time (`db check` verifies it).
CREATE TABLE account_summaries (
    account_id   TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id),
    realized_net TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

CREATE TABLE executions (
    id             TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id),
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    trade_id       TEXT NOT NULL REFERENCES trades (id),
    side           TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity       TEXT NOT NULL,
    price          TEXT NOT NULL,
    fees           TEXT NOT NULL DEFAULT '0',
    executed_at    TEXT NOT NULL,
    time_zone      TEXT NOT NULL,
    realized_gross TEXT,
    realized_net   TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_hlc    TEXT NOT NULL,
    deleted        INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;
CREATE INDEX executions_user_idx ON executions (user_id);
CREATE INDEX executions_trade_idx ON executions (trade_id, executed_at);
CREATE INDEX executions_account_idx ON executions (account_id, executed_at);
CREATE INDEX executions_created_idx ON executions (created_at);

CREATE TABLE trade_stop_adjustments (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    trade_id    TEXT NOT NULL REFERENCES trades (id),
    price       TEXT NOT NULL,
    adjusted_at TEXT NOT NULL,
    reason      TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_hlc TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;
CREATE INDEX trade_stop_adjustments_user_idx ON trade_stop_adjustments (user_id);
CREATE INDEX trade_stop_adjustments_trade_idx ON trade_stop_adjustments (trade_id, adjusted_at);

CREATE TABLE trade_targets (
    id          TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id),
    trade_id    TEXT NOT NULL REFERENCES trades (id),
    price       TEXT NOT NULL,
    quantity    TEXT,
    label       TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_hlc TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;
CREATE INDEX trade_targets_user_idx ON trade_targets (user_id);
CREATE INDEX trade_targets_trade_idx ON trade_targets (trade_id);
