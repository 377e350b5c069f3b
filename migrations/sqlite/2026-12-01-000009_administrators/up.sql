-- Administrators run the server's chat (the first account of a new database is one). An
-- existing database's oldest account becomes its administrator: someone must be.
ALTER TABLE users ADD COLUMN is_admin BOOLEAN NOT NULL DEFAULT 0;
UPDATE users SET is_admin = 1 WHERE id = (SELECT MIN(id) FROM users);
