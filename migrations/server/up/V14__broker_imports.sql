-- V14: broker imports (see the local V9). Imported fills keep their provenance in columns of their
-- executions row (NULL on fills typed by hand); each confirmed import is an import_batches row.
--
-- Fees: an imported fill's kinds of fee are kept apart (commission, exchange, regulatory, other); each may
-- be negative (a rebate), their sum (`fees`) stays zero or more as before. `dedupe_key` is not unique here
-- either: two devices that imported overlapping files while apart must both be able to push.
-- import_batches is a tenant table like every other: forced row-level security with one policy per
-- command, the change version and notification of every write, and the hash-chained audit trail.

ALTER TABLE trenddojo.executions
    ADD COLUMN import_batch_id    uuid,
    ADD COLUMN broker             text CHECK (length(broker) <= 60),
    ADD COLUMN broker_account     text CHECK (length(broker_account) <= 100),
    ADD COLUMN broker_exec_id     text CHECK (length(broker_exec_id) <= 200),
    ADD COLUMN order_id           text CHECK (length(order_id) <= 200),
    ADD COLUMN asset_class        text CHECK (asset_class IN ('stock', 'option', 'future', 'future_option', 'forex',
                                                              'crypto', 'cfd', 'bond', 'other')),
    ADD COLUMN instrument_key     text CHECK (length(instrument_key) <= 200),
    ADD COLUMN underlying         text,
    ADD COLUMN expiry             text CHECK (expiry ~ '^\d{4}-\d{2}-\d{2}$'),
    ADD COLUMN strike             numeric,
    ADD COLUMN option_right       text CHECK (option_right IN ('C', 'P')),
    ADD COLUMN future_root        text,
    ADD COLUMN contract_month     text CHECK (contract_month ~ '^\d{4}-\d{2}$'),
    ADD COLUMN multiplier         numeric CHECK (multiplier > 0),
    ADD COLUMN currency           text CHECK (currency ~ '^[A-Z0-9]{3,5}$'),
    ADD COLUMN commission         numeric,
    ADD COLUMN exchange_fee       numeric,
    ADD COLUMN regulatory_fee     numeric,
    ADD COLUMN other_fee          numeric,
    ADD COLUMN raw_time           text CHECK (length(raw_time) <= 100),
    ADD COLUMN statement_tz       text CHECK (length(statement_tz) <= 64),
    ADD COLUMN source_line        integer CHECK (source_line > 0),
    ADD COLUMN fingerprint        text CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    ADD COLUMN dedupe_key         text CHECK (length(dedupe_key) <= 400),
    ADD COLUMN corrected_by_batch uuid,
    ADD COLUMN replaced           text,
    ADD COLUMN removed_by_batch   uuid;
CREATE INDEX executions_batch_idx ON trenddojo.executions (import_batch_id) WHERE import_batch_id IS NOT NULL;
COMMENT ON COLUMN trenddojo.executions.broker_account IS 'CONFIDENTIAL: financial';

CREATE TABLE trenddojo.import_batches (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES trenddojo.users (id),
    account_id      uuid NOT NULL,
    file_name       text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    file_sha256     text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    format          text NOT NULL CHECK (length(format) <= 40),
    parser_version  integer NOT NULL CHECK (parser_version > 0),
    statement_tz    text NOT NULL CHECK (length(statement_tz) <= 64),
    new_count       integer NOT NULL DEFAULT 0 CHECK (new_count >= 0),
    duplicate_count integer NOT NULL DEFAULT 0 CHECK (duplicate_count >= 0),
    corrected_count integer NOT NULL DEFAULT 0 CHECK (corrected_count >= 0),
    cancelled_count integer NOT NULL DEFAULT 0 CHECK (cancelled_count >= 0),
    rejected_count  integer NOT NULL DEFAULT 0 CHECK (rejected_count >= 0),
    skipped_count   integer NOT NULL DEFAULT 0 CHECK (skipped_count >= 0),
    trades_created  integer NOT NULL DEFAULT 0 CHECK (trades_created >= 0),
    trades_changed  integer NOT NULL DEFAULT 0 CHECK (trades_changed >= 0),
    confirmed_by    text NOT NULL,
    confirmed_at    timestamptz NOT NULL,
    undone_by       text,
    undone_at       timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    updated_hlc     text NOT NULL,
    deleted         boolean NOT NULL DEFAULT false,
    server_seq      bigint NOT NULL DEFAULT 0,
    received_at     timestamptz NOT NULL DEFAULT now(),
    field_hlcs      jsonb NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (id, user_id),
    FOREIGN KEY (account_id, user_id) REFERENCES trenddojo.accounts (id, user_id)
);
CREATE INDEX import_batches_user_idx ON trenddojo.import_batches (user_id, server_seq);
CREATE INDEX import_batches_account_idx ON trenddojo.import_batches (account_id, confirmed_at);
CREATE INDEX import_batches_created_idx ON trenddojo.import_batches (created_at);
COMMENT ON COLUMN trenddojo.import_batches.file_name IS 'CONFIDENTIAL: financial';
SELECT trenddojo.make_tenant_table('import_batches');
-- make_tenant_table predates the pinned search paths of V7: its stamp trigger is the same function.
CREATE TRIGGER import_batches_lock_version BEFORE INSERT OR UPDATE OR DELETE ON trenddojo.import_batches
    FOR EACH STATEMENT EXECUTE FUNCTION trenddojo.lock_user_version();
CREATE TRIGGER import_batches_version_insert AFTER INSERT ON trenddojo.import_batches
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trenddojo.commit_user_version();
CREATE TRIGGER import_batches_version_update AFTER UPDATE ON trenddojo.import_batches
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trenddojo.commit_user_version();
CREATE TRIGGER import_batches_audit_insert AFTER INSERT ON trenddojo.import_batches
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trenddojo.audit_statement();
CREATE TRIGGER import_batches_audit_update AFTER UPDATE ON trenddojo.import_batches
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trenddojo.audit_statement();
CREATE TRIGGER import_batches_audit_delete AFTER DELETE ON trenddojo.import_batches
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION trenddojo.audit_statement();
