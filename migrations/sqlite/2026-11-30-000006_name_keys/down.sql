-- Room keys keep their new form: they are still unique, and lower case.
DROP INDEX users_username_key;
ALTER TABLE users DROP COLUMN username_key;
