-- Accounts and the server-side sessions that actix-session stores for them.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- Usernames are ASCII (see domain::Username), so NOCASE makes uniqueness case-insensitive.
    username TEXT NOT NULL UNIQUE COLLATE NOCASE
        CHECK (length(username) BETWEEN 3 AND 32),
    password_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE sessions (
    -- The random key carried (encrypted) in the session cookie.
    id TEXT PRIMARY KEY NOT NULL,
    -- Set once the session is logged in, so that a user's sessions can be revoked together.
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    -- actix-session's state map, as JSON.
    state TEXT NOT NULL,
    -- Unix seconds. A session is valid while now < idle_expires_at and now < expires_at.
    idle_expires_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_user_id ON sessions (user_id);
