DROP TABLE trenddojo.trade_targets;
DROP TABLE trenddojo.trade_stop_adjustments;
DROP TABLE trenddojo.executions;
DROP TABLE trenddojo.trades;
DROP TABLE trenddojo.risk_settings;
DROP TABLE trenddojo.accounts;
