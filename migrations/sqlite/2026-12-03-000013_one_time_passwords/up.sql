-- Set when `chatroom users reset-password` gives the account a one-time password: the next
-- login with it must choose a new password before anything else.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT 0;
