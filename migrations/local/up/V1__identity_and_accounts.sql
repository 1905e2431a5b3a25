-- V1: store bookkeeping, users, subscription tiers, accounts and their risk settings.
--
-- Conventions for every synced table (the sync engine relies on them):
--   id          TEXT  UUIDv7, generated on the device that created the row
--   user_id     TEXT  owner; every tenant row carries it (the server's RLS keys on it)
--   created_at  TEXT  UTC instant, fixed-width RFC 3339 with microseconds ("2026-01-02T03:04:05.000006Z")
--   updated_at  TEXT  same format, wall clock of the last change
--   updated_hlc TEXT  hybrid logical clock of the last change ("<ms:13>.<counter:5>.<device>"), sortable as text
--   deleted     INTEGER 0/1 tombstone: rows are never hard-deleted while they may still need to sync
-- Money, prices and quantities are canonical decimal TEXT (never REAL): see trenddojo-domain::money.

CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE subscription_limits (
    tier                     TEXT PRIMARY KEY NOT NULL CHECK (tier IN ('free', 'basic', 'pro')),
    max_accounts             INTEGER NOT NULL CHECK (max_accounts >= 0),
    max_trades_per_month     INTEGER NOT NULL CHECK (max_trades_per_month >= 0),
    max_broker_connections   INTEGER NOT NULL CHECK (max_broker_connections >= 0),
    max_checklist_templates  INTEGER NOT NULL CHECK (max_checklist_templates >= 0),
    market_data              INTEGER NOT NULL CHECK (market_data IN (0, 1)),
    updated_at               TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    id                TEXT PRIMARY KEY NOT NULL,
    email             TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    password_hash     TEXT,
    subscription_tier TEXT NOT NULL DEFAULT 'free' CHECK (subscription_tier IN ('free', 'basic', 'pro')),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    updated_hlc       TEXT NOT NULL,
    deleted           INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;
CREATE UNIQUE INDEX users_email_uq ON users (lower(email)) WHERE deleted = 0;

CREATE TABLE accounts (
    id                  TEXT PRIMARY KEY NOT NULL,
    user_id             TEXT NOT NULL REFERENCES users (id),
    name                TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    currency            TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    starting_balance    TEXT NOT NULL,
    time_zone           TEXT NOT NULL,
    broker              TEXT,
    matching_method     TEXT NOT NULL DEFAULT 'fifo' CHECK (matching_method IN ('fifo', 'lifo', 'average_cost')),
    breakeven_tolerance TEXT NOT NULL DEFAULT '0',
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    updated_hlc         TEXT NOT NULL,
    deleted             INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;
CREATE INDEX accounts_user_idx ON accounts (user_id);
CREATE INDEX accounts_created_idx ON accounts (created_at);
CREATE UNIQUE INDEX accounts_user_name_uq ON accounts (user_id, name) WHERE deleted = 0;

CREATE TABLE risk_settings (
    id                       TEXT PRIMARY KEY NOT NULL,
    user_id                  TEXT NOT NULL REFERENCES users (id),
    account_id               TEXT NOT NULL REFERENCES accounts (id),
    max_risk_per_trade_pct   TEXT NOT NULL,
    max_daily_loss_pct       TEXT NOT NULL,
    max_weekly_loss_pct      TEXT NOT NULL,
    max_open_positions       INTEGER NOT NULL CHECK (max_open_positions >= 0),
    max_correlated_positions INTEGER NOT NULL CHECK (max_correlated_positions >= 0),
    sizing_method            TEXT NOT NULL CHECK (sizing_method IN ('fixed_fractional', 'fixed_amount', 'fixed_quantity')),
    fixed_amount             TEXT,
    fixed_quantity           TEXT,
    enforcement              TEXT NOT NULL CHECK (enforcement IN ('block', 'warn')),
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL,
    updated_hlc              TEXT NOT NULL,
    deleted                  INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;
CREATE INDEX risk_settings_user_idx ON risk_settings (user_id);
CREATE UNIQUE INDEX risk_settings_account_uq ON risk_settings (account_id) WHERE deleted = 0;
