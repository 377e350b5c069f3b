DROP TRIGGER message_search_update;
DROP TRIGGER message_search_delete;
DROP TRIGGER message_search_insert;
DROP TABLE message_search;
ALTER TABLE log_entries DROP COLUMN search_text;
