-- V10: per-account, per-day statistics aggregates (issue 15, decision 5).
--
-- `stats_days` holds, per account and calendar day (in the account's time zone, cut where docs/metrics.md
-- cuts days), the fold of that day's closed trades in close order (trenddojo-domain::stats::DaySummary):
-- counts, sums, extremes, and the day's equity path and runs, which chain associatively into every
-- statistic of any range of whole days. `stats` then reads O(days) rows instead of O(trades).
--
-- Local, derived, never synced, never audited: no audit or outbox trigger touches these tables, and a
-- store can rebuild them from `trades` at any time (`db check` compares them with a recomputation).
--
-- Maintenance. Decimal arithmetic cannot be done exactly in SQL and a day's path depends on the order of
-- its trades, so the triggers below only *mark* what changed, cheaply, in the same transaction as the
-- change: the UTC date of the close (one small row per date; repeated marks of a date are a no-op) or,
-- when the account's time zone or breakeven tolerance changes, the whole account (`utc_date = ''`). The
-- store folds the marked days again before every commit of a write transaction (Rust, exact decimals).
-- Triggers catch every writer: local edits, imports, trade recomputation and rows applied by sync pulls.
-- A mark left over (a writer that committed without the store's commit path) is never wrong: `stats`
-- computes an account with marks from its trades.

-- Amounts are exact `rust_decimal` values in their 16-byte binary form (`Decimal::serialize`), not decimal
-- text: `stats` reads one row per day, and parsing a dozen decimal texts per row was most of its cost.
CREATE TABLE stats_days (
    account_id   TEXT NOT NULL,
    day          TEXT NOT NULL,
    trades       INTEGER NOT NULL,
    wins         INTEGER NOT NULL,
    losses       INTEGER NOT NULL,
    breakevens   INTEGER NOT NULL,
    net          BLOB NOT NULL,
    gross_profit BLOB NOT NULL,
    gross_loss   BLOB NOT NULL,
    fees         BLOB NOT NULL,
    largest_win  BLOB,
    largest_loss BLOB,
    r_trades     INTEGER NOT NULL,
    total_r      BLOB NOT NULL,
    high         BLOB NOT NULL,
    low          BLOB NOT NULL,
    low_at       INTEGER NOT NULL,
    fall         BLOB NOT NULL,
    fall_at      INTEGER NOT NULL,
    fall_peak    BLOB NOT NULL,
    first_run    INTEGER NOT NULL,
    last_run     INTEGER NOT NULL,
    best_win_run INTEGER NOT NULL,
    best_loss_run INTEGER NOT NULL,
    -- P&L per exit day of these trades: per day 24 bytes (day as days since 0001-01-01 and trade count, 4
    -- bytes each little-endian, then the amount).
    exits        BLOB NOT NULL,
    magnitude    BLOB NOT NULL,
    PRIMARY KEY (account_id, day)
) STRICT, WITHOUT ROWID;

-- What must be folded again before the aggregates of an account can be trusted.
CREATE TABLE stats_dirty (
    account_id TEXT NOT NULL,
    utc_date   TEXT NOT NULL,
    PRIMARY KEY (account_id, utc_date)
) STRICT, WITHOUT ROWID;

-- A closed trade appears, disappears or changes what statistics read of it. Only closed, live trades
-- matter, so inserts of planned trades and edits of open ones (notes, stops) write nothing here.
CREATE TRIGGER stats_trades_insert AFTER INSERT ON trades
WHEN NEW.status = 'closed' AND NEW.deleted = 0
BEGIN
    INSERT OR IGNORE INTO stats_dirty (account_id, utc_date) VALUES (NEW.account_id, substr(NEW.closed_at, 1, 10));
END;

CREATE TRIGGER stats_trades_update AFTER UPDATE OF account_id, status, deleted, closed_at, net_pnl, fees, initial_risk, exit_days ON trades
WHEN ((OLD.status = 'closed' AND OLD.deleted = 0) OR (NEW.status = 'closed' AND NEW.deleted = 0))
    AND (OLD.account_id IS NOT NEW.account_id OR OLD.status IS NOT NEW.status OR OLD.deleted IS NOT NEW.deleted
        OR OLD.closed_at IS NOT NEW.closed_at OR OLD.net_pnl IS NOT NEW.net_pnl OR OLD.fees IS NOT NEW.fees
        OR OLD.initial_risk IS NOT NEW.initial_risk OR OLD.exit_days IS NOT NEW.exit_days)
BEGIN
    INSERT OR IGNORE INTO stats_dirty (account_id, utc_date)
    SELECT OLD.account_id, substr(OLD.closed_at, 1, 10) WHERE OLD.status = 'closed' AND OLD.deleted = 0;
    INSERT OR IGNORE INTO stats_dirty (account_id, utc_date)
    SELECT NEW.account_id, substr(NEW.closed_at, 1, 10) WHERE NEW.status = 'closed' AND NEW.deleted = 0;
END;

CREATE TRIGGER stats_trades_delete AFTER DELETE ON trades
WHEN OLD.status = 'closed' AND OLD.deleted = 0
BEGIN
    INSERT OR IGNORE INTO stats_dirty (account_id, utc_date) VALUES (OLD.account_id, substr(OLD.closed_at, 1, 10));
END;

-- Days are cut in the account's time zone and wins are told from breakevens by its tolerance: a change of
-- either refolds the whole account.
CREATE TRIGGER stats_accounts_update AFTER UPDATE OF time_zone, breakeven_tolerance ON accounts
WHEN OLD.time_zone IS NOT NEW.time_zone OR OLD.breakeven_tolerance IS NOT NEW.breakeven_tolerance
BEGIN
    INSERT OR IGNORE INTO stats_dirty (account_id, utc_date) VALUES (NEW.id, '');
END;

-- Existing data: every account is folded by the first write after the migration (until then `stats`
-- computes from the trades, as before).
INSERT INTO stats_dirty (account_id, utc_date) SELECT id, '' FROM accounts;
