DROP INDEX log_entries_author_id_client_id;
ALTER TABLE log_entries DROP COLUMN client_id;
