-- What several servers on one database share and that need not survive a crash of the
-- database: presence and typing, and the rate limits' events. UNLOGGED: no write-ahead log,
-- so a heartbeat costs little; after a crash PostgreSQL empties them, which loses a few
-- seconds of presence and lets a few more attempts through. PostgreSQL only: on SQLite one
-- server keeps these in memory.

-- One row per user: the room their page polls (NULL once they left, moved away or logged
-- out), and until when they are typing. Written in batches, each user at most every few
-- seconds unless something changed (see live::presence).
CREATE UNLOGGED TABLE presence (
    user_id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    room_id INTEGER,
    -- When what the row says happened, in Unix milliseconds: a write about an older moment
    -- never replaces a newer one.
    at_ms BIGINT NOT NULL,
    typing_until_ms BIGINT NOT NULL DEFAULT 0,
    -- When the row was written, by the database's clock: servers read what changed since.
    written_ms BIGINT NOT NULL
);
CREATE INDEX presence_written_ms ON presence (written_ms);

-- The events each rate limit counts, by limit and key ("messages:42").
CREATE UNLOGGED TABLE rate_events (
    name TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX rate_events_name_at_ms ON rate_events (name, at_ms);

-- Counts an event under `event_name` unless `max_events` were counted within the last
-- `window_ms`: returns 0 when counted, else how many milliseconds until one more fits. One
-- call, one round trip; concurrent calls for one name take turns on an advisory lock (held
-- to the end of the calling statement's transaction).
CREATE FUNCTION chatroom_rate_hit(event_name TEXT, now_ms BIGINT, window_ms BIGINT, max_events INTEGER)
RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    counted INTEGER;
    freed_at BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('rate:' || event_name, 0));
    DELETE FROM rate_events WHERE name = event_name AND at_ms <= now_ms - window_ms;
    SELECT count(*) INTO counted FROM rate_events WHERE name = event_name;
    IF counted >= max_events THEN
        -- The event whose expiry makes room for one more.
        SELECT at_ms INTO freed_at FROM rate_events WHERE name = event_name
            ORDER BY at_ms OFFSET counted - max_events LIMIT 1;
        RETURN GREATEST(freed_at + window_ms - now_ms, 1);
    END IF;
    INSERT INTO rate_events (name, at_ms) VALUES (event_name, now_ms);
    RETURN 0;
END
$$;
