-- A login records the account's credentials version in its session; disabling the account,
-- resetting or changing its password and logging out everywhere raise the version, and the
-- session store saves and loads a logged-in session only while the two agree. So a login that
-- read the account before such a change cannot keep a session after it.
ALTER TABLE users ADD COLUMN credentials_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN credentials_version INTEGER NOT NULL DEFAULT 0;
