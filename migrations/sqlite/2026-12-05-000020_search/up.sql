-- Search (issue 28): every live message's text, folded (lower case, no accents: see
-- domain::search::fold), in `search_text`, and an FTS5 index of three-character pieces over it,
-- so that a term of three or more characters is found anywhere inside a word ("ello" finds
-- "Hello"). `search_text` is NULL for every other entry, and again once a message is deleted;
-- an edit changes it. The server writes it; the triggers keep the index in step inside the same
-- transaction. Messages stored before this get theirs from the server when it brings the
-- database up to date (models::log::backfill), which SQL cannot do: folding is Unicode's.
ALTER TABLE log_entries ADD COLUMN search_text TEXT;

-- External content: the index keeps no copy of the text. The text is folded already, so the
-- tokenizer compares it as it is.
CREATE VIRTUAL TABLE message_search USING fts5(
    search_text,
    content = 'log_entries',
    content_rowid = 'id',
    tokenize = 'trigram case_sensitive 1'
);

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
