DROP TABLE trenddojo.stock_fundamentals;
DROP FUNCTION trenddojo.maintain_market_data_partitions(integer, integer);
DROP TABLE trenddojo.market_data_cache;
DROP TABLE trenddojo.broker_connections;
DROP TABLE trenddojo.trade_checklist_responses;
DROP TABLE trenddojo.trade_checklist_items;
DROP TABLE trenddojo.trade_checklist_templates;
DROP TABLE trenddojo.trade_notes;
