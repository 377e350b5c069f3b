-- Each room's log is numbered 1, 2, 3, ... within the room, with no holes. The number comes
-- from a counter on the room's row (rooms.last_seq), raised inside the write's transaction:
-- the row's lock makes the order of numbers the order of commits, on any database that locks
-- rows. The global id stays as the row's key, and nothing outside the database sees it.
-- Existing entries are numbered in their old id order.

ALTER TABLE rooms ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE log_entries ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;

UPDATE log_entries SET seq = numbered.seq
FROM (
    SELECT id, ROW_NUMBER() OVER (PARTITION BY room_id ORDER BY id) AS seq FROM log_entries
) AS numbered
WHERE log_entries.id = numbered.id;

UPDATE rooms SET last_seq = COALESCE(
    (SELECT MAX(seq) FROM log_entries WHERE log_entries.room_id = rooms.id), 0);

-- A 'deleted' entry names the message it deleted by that message's number in the room.
ALTER TABLE log_entries RENAME COLUMN target_id TO target_seq;
UPDATE log_entries SET target_seq =
    (SELECT target.seq FROM log_entries AS target WHERE target.id = log_entries.target_seq)
WHERE target_seq IS NOT NULL;

-- Read marks count in the same numbers.
ALTER TABLE room_reads RENAME COLUMN last_read_id TO last_read_seq;
UPDATE room_reads SET last_read_seq = COALESCE(
    (SELECT l.seq FROM log_entries AS l
     WHERE l.room_id = room_reads.room_id AND l.id <= room_reads.last_read_seq
     ORDER BY l.id DESC LIMIT 1), 0);

DROP INDEX log_entries_room_id_id;
CREATE UNIQUE INDEX log_entries_room_id_seq ON log_entries (room_id, seq);
