ALTER TABLE log_entries DROP COLUMN posted_as;
DROP TABLE webhooks;
DROP TABLE bots;
DROP TABLE api_tokens;
ALTER TABLE users DROP COLUMN is_bot;
