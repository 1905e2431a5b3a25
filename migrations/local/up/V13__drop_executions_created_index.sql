-- V13: drop an index no query uses (issue 15, decision 3).
--
-- `executions_created_idx` (V2) ordered every execution by its creation time; no query of the store, the
-- sync engine or the exports reads executions in that order (they go by trade, account, import batch or
-- dedupe key). Each imported or typed fill still paid for it: ~5% of a bulk insert
-- (`trenddojo-bench indexes`, docs/benchmarks.md). Reversible: the down migration builds it again.

DROP INDEX executions_created_idx;
