-- Messages that live (issue 27): edits, reactions and replies, each change a new entry of the
-- room's log, and every message's HTML rendered once when it is stored or edited.
--
-- SQLite cannot change a table's CHECK constraints, so the log is made again with the new
-- kinds and columns (SQLite's twelve-step recipe; nothing references log_entries):
--   html       the message's text rendered (models::log; NULL on rows from before this, until
--              the server renders them at start-up), and on 'edited' the new text's;
--   edited_at  when a message was last edited;
--   reply_to   the number of the message of the same room that this one answers.
-- 'edited' carries the new text, 'reacted' and 'unreacted' the reaction; each names its message
-- in target_seq, as 'deleted' does.
CREATE TABLE log_entries_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT 'message'
        CHECK (kind IN ('message', 'joined', 'left', 'deleted', 'edited', 'reacted', 'unreacted')),
    body TEXT NOT NULL,
    target_seq INTEGER,
    deleted_at TIMESTAMP,
    sent_at TIMESTAMP NOT NULL,
    client_id TEXT,
    seq INTEGER NOT NULL DEFAULT 0,
    posted_through INTEGER NOT NULL DEFAULT 0,
    author_through INTEGER NOT NULL DEFAULT 0,
    html TEXT,
    edited_at TIMESTAMP,
    reply_to INTEGER,
    CHECK (
        (kind = 'message' AND (deleted_at IS NOT NULL OR length(body) BETWEEN 1 AND 2000))
        OR (kind IN ('joined', 'left', 'deleted') AND body = '')
        -- Emptied when its message is deleted.
        OR (kind = 'edited' AND length(body) <= 2000)
        OR (kind IN ('reacted', 'unreacted') AND length(body) BETWEEN 1 AND 16)
    ),
    CHECK ((kind IN ('deleted', 'edited', 'reacted', 'unreacted')) = (target_seq IS NOT NULL)),
    CHECK (kind = 'message' OR reply_to IS NULL)
);

INSERT INTO log_entries_new (id, room_id, author_id, kind, body, target_seq, deleted_at, sent_at,
    client_id, seq, posted_through, author_through, html)
SELECT id, room_id, author_id, kind, body, target_seq, deleted_at, sent_at,
    client_id, seq, posted_through, author_through,
    CASE WHEN kind = 'message' AND deleted_at IS NOT NULL THEN '' END
FROM log_entries;

-- Row ids are never given twice (the lobby's version counts on it): the new table goes on
-- from where the old one's AUTOINCREMENT was.
DELETE FROM sqlite_sequence WHERE name = 'log_entries_new';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'log_entries_new', seq FROM sqlite_sequence WHERE name = 'log_entries';

DROP TABLE log_entries;
ALTER TABLE log_entries_new RENAME TO log_entries;

CREATE UNIQUE INDEX log_entries_author_id_client_id ON log_entries (author_id, client_id)
    WHERE client_id IS NOT NULL;
CREATE UNIQUE INDEX log_entries_room_id_seq ON log_entries (room_id, seq);
CREATE INDEX log_entries_room_author_seq ON log_entries (room_id, author_id, seq)
    WHERE kind = 'message';
-- The entries that changed a message (its edits, for blanking them when it is deleted).
CREATE INDEX log_entries_room_target ON log_entries (room_id, target_seq)
    WHERE target_seq IS NOT NULL;

-- Who reacted to which message with what: the state the log's 'reacted' and 'unreacted'
-- entries lead to, so that a message read at any time carries its reactions. The id orders
-- them (first reacted, first shown).
CREATE TABLE reactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    message_seq INTEGER NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji TEXT NOT NULL,
    UNIQUE (room_id, message_seq, user_id, emoji)
);
CREATE INDEX reactions_user_id ON reactions (user_id);
