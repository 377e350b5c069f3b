DROP TABLE revocations;
DROP TABLE audit_log;
DROP TABLE invitations;
DROP TABLE settings;
ALTER TABLE users DROP COLUMN last_seen_at;
ALTER TABLE users DROP COLUMN disabled_at;
