ALTER TABLE sessions DROP COLUMN credentials_version;
ALTER TABLE users DROP COLUMN credentials_version;
