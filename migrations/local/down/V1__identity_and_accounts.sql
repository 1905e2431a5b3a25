DROP TABLE risk_settings;
DROP TABLE accounts;
DROP TABLE users;
DROP TABLE subscription_limits;
DROP TABLE store_meta;
