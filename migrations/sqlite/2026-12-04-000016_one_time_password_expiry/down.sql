ALTER TABLE users DROP COLUMN one_time_password_used_at;
ALTER TABLE users DROP COLUMN one_time_password_issued_at;
