DROP TABLE room_reads;
DROP TABLE room_members;
ALTER TABLE rooms DROP COLUMN is_direct;

CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    sent_at TIMESTAMP NOT NULL
);
INSERT INTO messages (id, room_id, author_id, body, sent_at)
    SELECT id, room_id, author_id, body, sent_at FROM log_entries
    WHERE kind = 'message' AND deleted_at IS NULL;
DELETE FROM sqlite_sequence WHERE name = 'messages';
INSERT INTO sqlite_sequence (name, seq) SELECT 'messages', seq FROM sqlite_sequence WHERE name = 'log_entries';
DROP TABLE log_entries;
CREATE INDEX messages_room_id_id ON messages (room_id, id);
