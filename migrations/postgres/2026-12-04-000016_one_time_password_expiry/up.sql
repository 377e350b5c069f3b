-- A one-time password (`chatroom users reset-password`) works for one login, within a day of
-- when it was issued: when it was issued, and when its one login used it (UTC).
ALTER TABLE users ADD COLUMN one_time_password_issued_at TIMESTAMP;
ALTER TABLE users ADD COLUMN one_time_password_used_at TIMESTAMP;
-- One issued before this had no time: its day starts now.
UPDATE users SET one_time_password_issued_at = (now() AT TIME ZONE 'UTC')
WHERE must_change_password;
