DROP TABLE deletion_counts;
DROP INDEX log_entries_room_author_seq;
ALTER TABLE log_entries DROP COLUMN author_through;
ALTER TABLE log_entries DROP COLUMN posted_through;
ALTER TABLE rooms DROP COLUMN deleted;
ALTER TABLE rooms DROP COLUMN posted;
