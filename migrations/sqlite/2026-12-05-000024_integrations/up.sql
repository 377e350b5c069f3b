-- Integrations (issue 31): API tokens, bots, incoming webhooks.
--
-- A bot is an account that cannot log in with a password (it has none that any password
-- matches) and acts through its API tokens. Its entries carry "bot": true.
ALTER TABLE users ADD COLUMN is_bot BOOLEAN NOT NULL DEFAULT 0;

-- Personal API tokens (and bots' tokens): `Authorization: Bearer <token>` on the API. Only
-- the token's SHA-256 (hex) is kept; the token is shown once. Revoking deletes the row.
-- `last_used_at` moves at most once a minute per token.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX api_tokens_user_id ON api_tokens (user_id);

-- The bots that administrators made. A deleted bot loses this row and its tokens, and its
-- account is disabled: its entries stay in the logs under its name. `webhook_url`: where
-- the server tells the bot it was mentioned or written to (outgoing webhook); the last
-- failure to deliver there is kept for /admin.
CREATE TABLE bots (
    user_id INTEGER PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    webhook_url TEXT,
    last_failure TEXT,
    last_failure_at TIMESTAMP
);

-- Incoming webhooks: a secret URL that posts into one room under the hook's name. Only the
-- key's SHA-256 (hex) is kept; the URL is shown once. Revoking deletes the row.
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    key_hash TEXT NOT NULL UNIQUE,
    created_by INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_room_id ON webhooks (room_id);

-- The name an entry was posted under when it is not its author's: an incoming webhook's
-- (`author_id` is then the hook's maker, who answers for it). Such entries are a bot's.
ALTER TABLE log_entries ADD COLUMN posted_as TEXT;
