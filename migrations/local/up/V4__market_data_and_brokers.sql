-- V4: PUBLIC market data (cache of daily bars, fundamentals) and broker connections.
--
-- broker_connections.sealed_secret is RESTRICTED: AES-256-GCM ciphertext (nonce || ciphertext || tag) sealed
-- on this device with the row id and user id as associated data. The server only ever stores these bytes.

CREATE TABLE market_data_cache (
    symbol     TEXT NOT NULL,
    bar_date   TEXT NOT NULL CHECK (length(bar_date) = 10),
    open       TEXT NOT NULL,
    high       TEXT NOT NULL,
    low        TEXT NOT NULL,
    close      TEXT NOT NULL,
    volume     TEXT NOT NULL,
    source     TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (symbol, bar_date)
) STRICT, WITHOUT ROWID;
CREATE INDEX market_data_cache_date_idx ON market_data_cache (bar_date);

CREATE TABLE stock_fundamentals (
    symbol         TEXT PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL,
    exchange       TEXT,
    sector         TEXT,
    industry       TEXT,
    market_cap     TEXT,
    pe_ratio       TEXT,
    eps            TEXT,
    dividend_yield TEXT,
    beta           TEXT,
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX stock_fundamentals_sector_idx ON stock_fundamentals (sector);

CREATE TABLE broker_connections (
    id            TEXT PRIMARY KEY NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id),
    account_id    TEXT REFERENCES accounts (id),
    broker        TEXT NOT NULL,
    label         TEXT NOT NULL,
    api_key_hint  TEXT,
    sealed_secret BLOB NOT NULL,
    status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_hlc   TEXT NOT NULL,
    deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;
CREATE INDEX broker_connections_user_idx ON broker_connections (user_id);
CREATE INDEX broker_connections_account_idx ON broker_connections (account_id);
