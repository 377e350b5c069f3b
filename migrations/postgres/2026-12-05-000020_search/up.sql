-- Search (issue 28): every live message's text, folded (lower case, no accents: see
-- domain::search::fold), in `search_text`, and a GIN index of three-character pieces
-- (pg_trgm) over it, which LIKE '%term%' uses, so that a term is found anywhere inside a word
-- ("ello" finds "Hello"). `search_text` is NULL for every other entry, and again once a
-- message is deleted; an edit changes it. The server folds the text (Unicode's rules, the same
-- on SQLite), so no unaccent() or IMMUTABLE wrapper is needed and both databases match the
-- same messages. Messages stored before this get theirs from the server when it brings the
-- database up to date (models::log::backfill).
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: a database's owner may
-- create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
ALTER TABLE log_entries ADD COLUMN search_text TEXT;
CREATE INDEX log_entries_search ON log_entries USING gin (search_text gin_trgm_ops)
    WHERE search_text IS NOT NULL;
