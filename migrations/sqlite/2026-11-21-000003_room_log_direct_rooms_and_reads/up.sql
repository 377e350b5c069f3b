-- One ordered log per room: messages and the events around them (joins, leaves, deletions)
-- share one id sequence, so a poller's single cursor sees every change in one order.
-- SQLite cannot change a table's CHECK in place, so messages is rebuilt; its AUTOINCREMENT
-- counter is carried over so that no id is ever reused.

CREATE TABLE log_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    -- Who wrote the message, joined, left, or deleted a message.
    author_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT 'message'
        CHECK (kind IN ('message', 'joined', 'left', 'deleted')),
    body TEXT NOT NULL,
    -- For 'deleted': the message it deleted.
    target_id INTEGER,
    -- For a message: when it was deleted (its body is then emptied).
    deleted_at TIMESTAMP,
    sent_at TIMESTAMP NOT NULL,
    CHECK (
        (kind = 'message' AND (deleted_at IS NOT NULL OR length(body) BETWEEN 1 AND 2000))
        OR (kind <> 'message' AND body = '')
    ),
    CHECK ((kind = 'deleted') = (target_id IS NOT NULL))
);

INSERT INTO log_entries (id, room_id, author_id, kind, body, sent_at)
    SELECT id, room_id, author_id, 'message', body, sent_at FROM messages;
DELETE FROM sqlite_sequence WHERE name = 'log_entries';
INSERT INTO sqlite_sequence (name, seq) SELECT 'log_entries', seq FROM sqlite_sequence WHERE name = 'messages';
DROP TABLE messages;
CREATE INDEX log_entries_room_id_id ON log_entries (room_id, id);

-- A direct conversation is a room that only its two members can see.
ALTER TABLE rooms ADD COLUMN is_direct BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE room_members (
    room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user_id ON room_members (user_id);

-- The last log entry each user has seen in each room: unread counts and the "new" line.
CREATE TABLE room_reads (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    last_read_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, room_id)
);
