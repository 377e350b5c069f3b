-- Administrators run the server's chat (the first account of a new database is one). An
-- existing database's oldest account becomes its administrator: someone must be.
ALTER TABLE users ADD COLUMN is_admin BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET is_admin = TRUE WHERE id = (SELECT MIN(id) FROM users);
