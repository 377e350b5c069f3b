CREATE INDEX log_entries_room_id_id ON log_entries (room_id, id);

UPDATE room_reads SET last_read_seq = COALESCE(
    (SELECT l.id FROM log_entries AS l
     WHERE l.room_id = room_reads.room_id AND l.seq <= room_reads.last_read_seq
     ORDER BY l.seq DESC LIMIT 1), 0);
ALTER TABLE room_reads RENAME COLUMN last_read_seq TO last_read_id;

UPDATE log_entries SET target_seq =
    (SELECT target.id FROM log_entries AS target
     WHERE target.room_id = log_entries.room_id AND target.seq = log_entries.target_seq)
WHERE target_seq IS NOT NULL;
ALTER TABLE log_entries RENAME COLUMN target_seq TO target_id;
DROP INDEX log_entries_room_id_seq;

ALTER TABLE log_entries DROP COLUMN seq;
ALTER TABLE rooms DROP COLUMN last_seq;
