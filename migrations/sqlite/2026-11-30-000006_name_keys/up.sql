-- Room names and usernames are compared by one key (domain::name_key): NFKC, full case
-- folding, default-ignorable characters dropped, whitespace collapsed. SQL cannot compute it,
-- so the server recomputes every stored key that differs from it each time it opens the
-- database (models::name_key); two names that now share a key are reported, not merged.
-- Usernames get a key column of their own, which also makes their uniqueness a plain index
-- rather than SQLite's NOCASE collation. Usernames are ASCII, so lower() is already their key.
ALTER TABLE users ADD COLUMN username_key TEXT NOT NULL DEFAULT '';
UPDATE users SET username_key = lower(username);
CREATE UNIQUE INDEX users_username_key ON users (username_key);
