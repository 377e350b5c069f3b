-- Files go, and with them the messages that were nothing but a file (marked deleted, as the
-- older CHECK wants of an empty message). The log is made again without attachment_id.
UPDATE log_entries SET deleted_at = sent_at, html = ''
    WHERE kind = 'message' AND body = '' AND deleted_at IS NULL;
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

DROP TABLE attachments;
