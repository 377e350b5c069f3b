-- Files and images in messages (issue 30). A file lives in the database, beside the message
-- that carries it, so every server and every backup has it and nothing else is shared.
--
-- `name`: for display and download only (its last path part, no control characters, at most
-- 255 bytes). `content_type`: decided from the bytes, never from the client. `width` and
-- `height`: for an image shown inline (PNG, JPEG, GIF, WebP that decoded within the limits),
-- NULL for any other file. `data`: the file as stored (an image without its metadata).
-- `thumbnail`: an image's smaller copy, when it does not fit 1200×800 (NULL: the original is
-- its own thumbnail). `etag`: a hash of `data`, for conditional requests.
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    width INTEGER,
    height INTEGER,
    etag TEXT NOT NULL,
    data BLOB NOT NULL,
    thumbnail BLOB,
    thumbnail_type TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX attachments_room_id ON attachments (room_id);

-- The message that carries a file (`attachment_id`), which may have no text. Deleting the
-- message deletes the file; the entry keeps its place, emptied. SQLite cannot change a table's
-- CHECK constraints, so the log is made again (SQLite's twelve-step recipe, as in
-- 000019): the same rows with the same ids, so the search index, which refers to them by id,
-- stays as it is; its triggers go with the old table and are made again.
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
    search_text TEXT,
    mentions TEXT,
    attachment_id INTEGER REFERENCES attachments (id) ON DELETE SET NULL,
    CHECK (
        (kind = 'message' AND (deleted_at IS NOT NULL OR length(body) BETWEEN 1 AND 2000
            OR (attachment_id IS NOT NULL AND body = '')))
        OR (kind IN ('joined', 'left', 'deleted') AND body = '')
        -- Emptied when its message is deleted.
        OR (kind = 'edited' AND length(body) <= 2000)
        OR (kind IN ('reacted', 'unreacted') AND length(body) BETWEEN 1 AND 16)
    ),
    CHECK ((kind IN ('deleted', 'edited', 'reacted', 'unreacted')) = (target_seq IS NOT NULL)),
    CHECK (kind = 'message' OR reply_to IS NULL)
);

INSERT INTO log_entries_new (id, room_id, author_id, kind, body, target_seq, deleted_at, sent_at,
    client_id, seq, posted_through, author_through, html, edited_at, reply_to, search_text,
    mentions)
SELECT id, room_id, author_id, kind, body, target_seq, deleted_at, sent_at,
    client_id, seq, posted_through, author_through, html, edited_at, reply_to, search_text,
    mentions
FROM log_entries;

-- Row ids are never given twice (the lobby's version counts on it).
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
CREATE INDEX log_entries_room_target ON log_entries (room_id, target_seq)
    WHERE target_seq IS NOT NULL;
CREATE INDEX log_entries_attachment_id ON log_entries (attachment_id)
    WHERE attachment_id IS NOT NULL;

CREATE TRIGGER message_search_insert AFTER INSERT ON log_entries
WHEN new.search_text IS NOT NULL BEGIN
    INSERT INTO message_search (rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON log_entries
WHEN old.search_text IS NOT NULL BEGIN
    INSERT INTO message_search (message_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
END;

CREATE TRIGGER message_search_update AFTER UPDATE OF search_text ON log_entries BEGIN
    INSERT INTO message_search (message_search, rowid, search_text)
        SELECT 'delete', old.id, old.search_text WHERE old.search_text IS NOT NULL;
    INSERT INTO message_search (rowid, search_text)
        SELECT new.id, new.search_text WHERE new.search_text IS NOT NULL;
END;
