DROP TABLE trade_targets;
DROP TABLE trade_stop_adjustments;
DROP TABLE executions;
DROP TABLE account_summaries;
DROP TABLE trades;
