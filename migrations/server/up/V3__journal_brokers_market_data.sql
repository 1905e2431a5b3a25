-- V3: journal notes, pre-trade checklists, broker connections (RESTRICTED secrets arrive sealed by the
-- client), and the PUBLIC reference data: market_data_cache (range-partitioned by month) and
-- stock_fundamentals, readable by every signed-in user and writable only by the service role (the owner).

CREATE TABLE trenddojo.trade_notes (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES trenddojo.users (id),
    account_id  uuid,
    trade_id    uuid,
    kind        text NOT NULL DEFAULT 'journal' CHECK (kind IN ('plan', 'review', 'journal', 'lesson')),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    updated_hlc       text NOT NULL,
    deleted           boolean NOT NULL DEFAULT false,
    server_seq        bigint NOT NULL DEFAULT 0,
    received_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, user_id) REFERENCES trenddojo.accounts (id, user_id),
    FOREIGN KEY (trade_id, user_id) REFERENCES trenddojo.trades (id, user_id)
);
CREATE INDEX trade_notes_user_idx ON trenddojo.trade_notes (user_id, server_seq);
CREATE INDEX trade_notes_created_idx ON trenddojo.trade_notes (user_id, created_at);
CREATE INDEX trade_notes_trade_idx ON trenddojo.trade_notes (trade_id);
CREATE INDEX trade_notes_account_idx ON trenddojo.trade_notes (account_id);
COMMENT ON COLUMN trenddojo.trade_notes.body IS 'CONFIDENTIAL: the trader''s own words';
SELECT trenddojo.make_tenant_table('trade_notes');

CREATE TABLE trenddojo.trade_checklist_templates (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES trenddojo.users (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description text,
    active      boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    updated_hlc       text NOT NULL,
    deleted           boolean NOT NULL DEFAULT false,
    server_seq        bigint NOT NULL DEFAULT 0,
    received_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, user_id)
);
CREATE INDEX trade_checklist_templates_user_idx ON trenddojo.trade_checklist_templates (user_id, server_seq);
CREATE INDEX trade_checklist_templates_created_idx ON trenddojo.trade_checklist_templates (created_at);
CREATE UNIQUE INDEX trade_checklist_templates_name_uq ON trenddojo.trade_checklist_templates (user_id, name) WHERE NOT deleted;
SELECT trenddojo.make_tenant_table('trade_checklist_templates');

CREATE TABLE trenddojo.trade_checklist_items (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES trenddojo.users (id),
    template_id uuid NOT NULL,
    position    integer NOT NULL CHECK (position >= 0),
    prompt      text NOT NULL CHECK (length(prompt) BETWEEN 1 AND 500),
    required    boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    updated_hlc       text NOT NULL,
    deleted           boolean NOT NULL DEFAULT false,
    server_seq        bigint NOT NULL DEFAULT 0,
    received_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, user_id),
    FOREIGN KEY (template_id, user_id) REFERENCES trenddojo.trade_checklist_templates (id, user_id)
);
CREATE INDEX trade_checklist_items_user_idx ON trenddojo.trade_checklist_items (user_id, server_seq);
CREATE INDEX trade_checklist_items_template_idx ON trenddojo.trade_checklist_items (template_id, position);
CREATE INDEX trade_checklist_items_created_idx ON trenddojo.trade_checklist_items (created_at);
SELECT trenddojo.make_tenant_table('trade_checklist_items');

CREATE TABLE trenddojo.trade_checklist_responses (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES trenddojo.users (id),
    trade_id    uuid NOT NULL,
    item_id     uuid NOT NULL,
    checked     boolean NOT NULL,
    comment     text,
    answered_at timestamptz NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    updated_hlc       text NOT NULL,
    deleted           boolean NOT NULL DEFAULT false,
    server_seq        bigint NOT NULL DEFAULT 0,
    received_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (trade_id, user_id) REFERENCES trenddojo.trades (id, user_id),
    FOREIGN KEY (item_id, user_id) REFERENCES trenddojo.trade_checklist_items (id, user_id)
);
CREATE INDEX trade_checklist_responses_user_idx ON trenddojo.trade_checklist_responses (user_id, server_seq);
CREATE INDEX trade_checklist_responses_created_idx ON trenddojo.trade_checklist_responses (created_at);
CREATE UNIQUE INDEX trade_checklist_responses_uq ON trenddojo.trade_checklist_responses (trade_id, item_id) WHERE NOT deleted;
SELECT trenddojo.make_tenant_table('trade_checklist_responses');

-- The secret is sealed on the client (AES-256-GCM, nonce || ciphertext || tag, bound to row and user as
-- associated data) with a key the server never sees; the CHECK refuses anything too short to be that.
CREATE TABLE trenddojo.broker_connections (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES trenddojo.users (id),
    account_id    uuid,
    broker        text NOT NULL CHECK (length(broker) BETWEEN 1 AND 60),
    label         text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    api_key_hint  text CHECK (length(api_key_hint) <= 8),
    sealed_secret bytea NOT NULL CHECK (octet_length(sealed_secret) >= 12 + 16 + 1),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    updated_hlc       text NOT NULL,
    deleted           boolean NOT NULL DEFAULT false,
    server_seq        bigint NOT NULL DEFAULT 0,
    received_at       timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, user_id) REFERENCES trenddojo.accounts (id, user_id)
);
CREATE INDEX broker_connections_user_idx ON trenddojo.broker_connections (user_id, server_seq);
CREATE INDEX broker_connections_account_idx ON trenddojo.broker_connections (account_id);
CREATE INDEX broker_connections_created_idx ON trenddojo.broker_connections (created_at);
COMMENT ON COLUMN trenddojo.broker_connections.sealed_secret IS 'RESTRICTED: client-sealed AES-256-GCM ciphertext; the server holds no key';
COMMENT ON COLUMN trenddojo.broker_connections.api_key_hint IS 'CONFIDENTIAL: last characters of the API key';
SELECT trenddojo.make_tenant_table('broker_connections');

-- PUBLIC reference data. Monthly range partitions, plus a default partition so an insert never fails for
-- want of one; trenddojo.maintain_market_data_partitions() creates months ahead and moves any rows that
-- landed in the default partition into their month (run by every migrate and 'trenddojo server maintain';
-- on Supabase schedule it with pg_cron).
CREATE TABLE trenddojo.market_data_cache (
    symbol     text NOT NULL CHECK (length(symbol) BETWEEN 1 AND 32),
    bar_date   date NOT NULL,
    open       numeric NOT NULL CHECK (open > 0),
    high       numeric NOT NULL CHECK (high > 0),
    low        numeric NOT NULL CHECK (low > 0),
    close      numeric NOT NULL CHECK (close > 0),
    volume     numeric NOT NULL CHECK (volume >= 0),
    source     text NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, bar_date),
    CHECK (low <= high)
) PARTITION BY RANGE (bar_date);
CREATE INDEX market_data_cache_date_idx ON trenddojo.market_data_cache (bar_date);
CREATE TABLE trenddojo.market_data_cache_default PARTITION OF trenddojo.market_data_cache DEFAULT;
COMMENT ON TABLE trenddojo.market_data_cache IS 'PUBLIC: daily bars; partitioned by month on bar_date';

CREATE FUNCTION trenddojo.maintain_market_data_partitions(months_back integer, months_ahead integer)
    RETURNS integer
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
DECLARE
    first_month date := (date_trunc('month', now()) - make_interval(months => months_back))::date;
    m date;
    part text;
    created integer := 0;
    lo date;
    hi date;
BEGIN
    -- Months that already hold rows in the default partition get their own partition too.
    FOR m IN
        SELECT DISTINCT date_trunc('month', bar_date)::date FROM trenddojo.market_data_cache_default
        UNION
        SELECT generate_series(first_month, (date_trunc('month', now()) + make_interval(months => months_ahead))::date,
                               interval '1 month')::date
        ORDER BY 1
    LOOP
        part := 'market_data_cache_' || to_char(m, 'YYYY_MM');
        IF to_regclass('trenddojo.' || part) IS NULL THEN
            lo := m;
            hi := (m + interval '1 month')::date;
            CREATE TEMP TABLE IF NOT EXISTS pg_temp.moving (LIKE trenddojo.market_data_cache) ON COMMIT DROP;
            DELETE FROM pg_temp.moving;
            WITH moved AS (
                DELETE FROM trenddojo.market_data_cache_default WHERE bar_date >= lo AND bar_date < hi RETURNING *
            )
            INSERT INTO pg_temp.moving SELECT * FROM moved;
            EXECUTE format('CREATE TABLE trenddojo.%I PARTITION OF trenddojo.market_data_cache FOR VALUES FROM (%L) TO (%L)',
                           part, lo, hi);
            INSERT INTO trenddojo.market_data_cache SELECT * FROM pg_temp.moving;
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;
REVOKE ALL ON FUNCTION trenddojo.maintain_market_data_partitions(integer, integer) FROM PUBLIC;
SELECT trenddojo.maintain_market_data_partitions(12, 3);

ALTER TABLE trenddojo.market_data_cache ENABLE ROW LEVEL SECURITY;
ALTER TABLE trenddojo.market_data_cache FORCE ROW LEVEL SECURITY;
CREATE POLICY market_data_cache_select ON trenddojo.market_data_cache FOR SELECT TO trenddojo_app USING (true);
REVOKE ALL ON trenddojo.market_data_cache FROM PUBLIC;
GRANT SELECT ON trenddojo.market_data_cache TO trenddojo_app;

CREATE TABLE trenddojo.stock_fundamentals (
    symbol         text PRIMARY KEY CHECK (length(symbol) BETWEEN 1 AND 32),
    name           text NOT NULL,
    exchange       text,
    sector         text,
    industry       text,
    market_cap     numeric,
    pe_ratio       numeric,
    eps            numeric,
    dividend_yield numeric,
    beta           numeric,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_fundamentals_sector_idx ON trenddojo.stock_fundamentals (sector);
COMMENT ON TABLE trenddojo.stock_fundamentals IS 'PUBLIC: company reference data';
ALTER TABLE trenddojo.stock_fundamentals ENABLE ROW LEVEL SECURITY;
ALTER TABLE trenddojo.stock_fundamentals FORCE ROW LEVEL SECURITY;
CREATE POLICY stock_fundamentals_select ON trenddojo.stock_fundamentals FOR SELECT TO trenddojo_app USING (true);
REVOKE ALL ON trenddojo.stock_fundamentals FROM PUBLIC;
GRANT SELECT ON trenddojo.stock_fundamentals TO trenddojo_app;
