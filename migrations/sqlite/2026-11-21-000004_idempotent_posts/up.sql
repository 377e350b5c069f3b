-- A client may name each message it sends (an idempotency key): a retried POST with the same
-- name returns the message stored the first time instead of storing it twice.
ALTER TABLE log_entries ADD COLUMN client_id TEXT;
CREATE UNIQUE INDEX log_entries_author_id_client_id ON log_entries (author_id, client_id)
    WHERE client_id IS NOT NULL;
