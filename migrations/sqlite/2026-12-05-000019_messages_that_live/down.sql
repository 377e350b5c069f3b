DROP TABLE reactions;
DELETE FROM log_entries WHERE kind IN ('edited', 'reacted', 'unreacted');
DROP INDEX log_entries_room_target;
ALTER TABLE log_entries DROP COLUMN html;
ALTER TABLE log_entries DROP COLUMN edited_at;
ALTER TABLE log_entries DROP COLUMN reply_to;
