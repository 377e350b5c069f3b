DROP TABLE notices;
DROP TABLE room_notifications;
ALTER TABLE log_entries DROP COLUMN mentions;
