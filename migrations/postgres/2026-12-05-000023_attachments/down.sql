ALTER TABLE log_entries DROP CONSTRAINT log_entries_body;
ALTER TABLE log_entries ADD CONSTRAINT log_entries_body CHECK (
    (kind = 'message' AND (deleted_at IS NOT NULL OR length(body) BETWEEN 1 AND 2000))
    OR (kind IN ('joined', 'left', 'deleted') AND body = '')
    -- Emptied when its message is deleted.
    OR (kind = 'edited' AND length(body) <= 2000)
    OR (kind IN ('reacted', 'unreacted') AND length(body) BETWEEN 1 AND 16)
) NOT VALID;
DROP INDEX log_entries_attachment_id;
ALTER TABLE log_entries DROP COLUMN attachment_id;
DROP TABLE attachments;
