-- Counters that let the lobby count unread messages, and the administrators' list count
-- messages, without reading the log (issue 23). Kept in the transaction of every write.
--
-- rooms.posted: messages ever posted in the room (deleted ones included); rooms.deleted: of
-- those, how many were deleted.
ALTER TABLE rooms ADD COLUMN posted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
-- Per entry, running counts up to and including it: the room's messages (on every entry),
-- and its author's messages in the room (on messages; 0 on other entries).
ALTER TABLE log_entries ADD COLUMN posted_through INTEGER NOT NULL DEFAULT 0;
ALTER TABLE log_entries ADD COLUMN author_through INTEGER NOT NULL DEFAULT 0;
-- An author's latest message in a room at or below a number, in one probe.
CREATE INDEX log_entries_room_author_seq ON log_entries (room_id, author_id, seq)
    WHERE kind = 'message';
-- Deleted messages by number, as a Fenwick tree per room (author_id 0) and per author in
-- the room: a deletion adds 1 to at most 32 nodes, and how many deleted messages lie at or
-- below a number is the sum of at most 31 (node 2^31 holds the total).
CREATE TABLE deletion_counts (
    room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL,
    node BIGINT NOT NULL,
    deleted INTEGER NOT NULL,
    PRIMARY KEY (room_id, author_id, node)
);

-- Backfill: the counts of what existing databases hold (models::read's tests run this part
-- again on a log they wrote).
UPDATE log_entries SET posted_through = counted.posted_through,
    author_through = counted.author_through
FROM (
    SELECT id,
        COUNT(*) FILTER (WHERE kind = 'message') OVER (PARTITION BY room_id ORDER BY seq) AS posted_through,
        CASE WHEN kind = 'message'
            THEN COUNT(*) FILTER (WHERE kind = 'message') OVER (PARTITION BY room_id, author_id ORDER BY seq)
            ELSE 0 END AS author_through
    FROM log_entries
) AS counted
WHERE log_entries.id = counted.id;

UPDATE rooms SET
    posted = (SELECT COUNT(*) FROM log_entries l
              WHERE l.room_id = rooms.id AND l.kind = 'message'),
    deleted = (SELECT COUNT(*) FROM log_entries l
               WHERE l.room_id = rooms.id AND l.kind = 'message' AND l.deleted_at IS NOT NULL);

INSERT INTO deletion_counts (room_id, author_id, node, deleted)
WITH RECURSIVE climb (room_id, author_id, node) AS (
    SELECT room_id, author_id, CAST(seq AS BIGINT) FROM log_entries
    WHERE kind = 'message' AND deleted_at IS NOT NULL
    UNION ALL
    SELECT room_id, author_id, node + (node & -node) FROM climb WHERE node < 2147483648
)
SELECT room_id, author_id, node, COUNT(*) FROM climb GROUP BY room_id, author_id, node
UNION ALL
SELECT room_id, 0, node, COUNT(*) FROM climb GROUP BY room_id, node;
