-- V12: a signal for the writes the change log does not list row by row.
--
-- The desktop app's trade list keeps an index of the trades in memory (crates/store/src/trade_list.rs) and
-- follows local edits through the change log, which names every trade a local write touched. The sync
-- engine's writes are the exception by design: a pull or reset applies the server's rows with
-- `sync_apply_guard` held, so no per-row entries are written. Each release of the guard moves this counter
-- once (one write per applying transaction, not per row), and the list rebuilds its index when it moved.

CREATE TABLE applied_epoch (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    n   INTEGER NOT NULL
) STRICT;
INSERT INTO applied_epoch (one, n) VALUES (1, 0);

CREATE TRIGGER applied_epoch_on_guard_release AFTER DELETE ON sync_apply_guard
BEGIN
    UPDATE applied_epoch SET n = n + 1 WHERE one = 1;
END;
