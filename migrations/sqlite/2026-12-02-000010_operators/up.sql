-- What the people who run the server need: disabled accounts, when each user was last seen,
-- the registration mode, invitations, the audit log of administrators' actions, and the
-- revocations that every running server follows to forget ended sessions.

-- A disabled account cannot log in; disabling it ended its sessions.
ALTER TABLE users ADD COLUMN disabled_at TIMESTAMP;
-- Set at login and when a session is used (as coarsely as the session store touches it).
ALTER TABLE users ADD COLUMN last_seen_at TIMESTAMP;

-- The server's settings that administrators change while it runs (name -> value).
CREATE TABLE settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- Single-use invitation links. The link carries a random token; only its SHA-256 is kept, so
-- a copy of the database lets nobody register. A withdrawn invitation is deleted.
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_by INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    used_at TIMESTAMP
);

-- Who did what as an administrator (or from the server's command line), newest last. Names,
-- not ids: the record reads the same whatever happens to the rows later.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL
);

-- Every change to stored sessions that other running servers must not miss, in order: all of
-- a user's sessions ended (disabling, a password reset or change, log out everywhere), or one
-- session ended or changed (logout, a new key at login, its state written). Each server
-- forgets its cached copy when it reads one, and reads the sessions table afresh. Kept an
-- hour.
CREATE TABLE revocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- One of the two: the user whose sessions all ended, or the session (its row id).
    user_id INTEGER,
    session_id TEXT,
    revoked_at BIGINT NOT NULL,
    CHECK ((user_id IS NULL) <> (session_id IS NULL))
);
CREATE INDEX revocations_revoked_at ON revocations (revoked_at);
