-- Sessions were stored under their keys in clear: whoever could read the database could act
-- as anyone logged in. The table is rebuilt to hold only a SHA-256 of each key, and the
-- sessions stored the old way end (everyone logs in once more): a key that sat in a readable
-- file is not worth keeping.
DROP TABLE sessions;

CREATE TABLE sessions (
    -- SHA-256 of the random key carried (encrypted) in the session cookie, as hex.
    id TEXT PRIMARY KEY NOT NULL,
    -- Set once the session is logged in, so that a user's sessions can be revoked together.
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    -- actix-session's state map, as JSON.
    state TEXT NOT NULL,
    -- Unix seconds. A session is valid while now < idle_expires_at and now < expires_at.
    idle_expires_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- What the account page shows of a logged-in session, and the handle it ends it by: a
    -- random id that is not the key. Empty for a session nobody logged into.
    public_id TEXT NOT NULL DEFAULT '',
    -- Unix seconds of the login.
    started_at BIGINT NOT NULL DEFAULT 0,
    -- The client's address and User-Agent at login (the agent cut to 200 characters).
    client TEXT NOT NULL DEFAULT '',
    agent TEXT NOT NULL DEFAULT ''
);

CREATE INDEX sessions_user_id ON sessions (user_id);
