DROP TABLE broker_connections;
DROP TABLE stock_fundamentals;
DROP TABLE market_data_cache;
