DROP INDEX log_entries_search;
ALTER TABLE log_entries DROP COLUMN search_text;
