DROP TABLE reactions;
DELETE FROM log_entries WHERE kind IN ('edited', 'reacted', 'unreacted');
DROP INDEX log_entries_room_target;
ALTER TABLE log_entries DROP CONSTRAINT log_entries_kind, DROP CONSTRAINT log_entries_body,
    DROP CONSTRAINT log_entries_target, DROP CONSTRAINT log_entries_reply;
ALTER TABLE log_entries DROP COLUMN html, DROP COLUMN edited_at, DROP COLUMN reply_to;
ALTER TABLE log_entries ADD CHECK (kind IN ('message', 'joined', 'left', 'deleted'));
ALTER TABLE log_entries ADD CHECK (
    (kind = 'message' AND (deleted_at IS NOT NULL OR length(body) BETWEEN 1 AND 2000))
    OR (kind <> 'message' AND body = ''));
ALTER TABLE log_entries ADD CHECK ((kind = 'deleted') = (target_seq IS NOT NULL));
