-- chatroom_rate_hit_many counted a batch event by event: four statements each (a lock, the
-- name's expired events deleted, its events counted, the new one inserted). Under a burst of
-- posts that was a quarter of PostgreSQL's time. Now a batch takes its names' locks (in the
-- same order as before: by lock key), then deletes, reads and inserts for all of its names at
-- once: three statements a batch.
--
-- The answers are the ones the event-by-event count gave. Every event of a batch is counted
-- at the same `now_ms`, so for a name that already holds `c` live events, the batch's events
-- under it (in the order given, the `nth` of them from 0) are counted while c + nth < max,
-- and every later one is refused. A refused event waits until the event whose expiry makes
-- room for one more: of the name's events (those held, then the batch's counted ones at
-- `now_ms`), in time order, the one at offset (its count - max).
CREATE OR REPLACE FUNCTION chatroom_rate_hit_many(event_names TEXT[], now_ms BIGINT, window_ms BIGINT[], max_events INTEGER[])
RETURNS BIGINT[] LANGUAGE plpgsql AS $$
DECLARE
    lock_key BIGINT;
    waits BIGINT[];
BEGIN
    IF coalesce(array_length(event_names, 1), 0) = 0 THEN
        RETURN '{}';
    END IF;
    -- A loop over an ordered query keeps the locks' order by definition.
    FOR lock_key IN
        SELECT DISTINCT hashtextextended('rate:' || u.name, 0) AS k
        FROM unnest(event_names) AS u(name)
        ORDER BY k
    LOOP
        PERFORM pg_advisory_xact_lock(lock_key);
    END LOOP;
    -- `name = ANY` walks the index name by name (a join here was planned as a scan of them all).
    DELETE FROM rate_events AS r
    WHERE r.name = ANY(event_names)
        AND r.at_ms <= now_ms - window_ms[array_position(event_names, r.name)];
    WITH events AS (
        SELECT u.name, u.window_ms, u.max_events, u.place,
               row_number() OVER (PARTITION BY u.name ORDER BY u.place) - 1 AS nth
        FROM unnest(event_names, window_ms, max_events)
            WITH ORDINALITY AS u(name, window_ms, max_events, place)
    ), held AS (
        SELECT r.name, count(*) AS c, array_agg(r.at_ms ORDER BY r.at_ms) AS times
        FROM rate_events AS r
        WHERE r.name = ANY(event_names)
        GROUP BY r.name
    )
    SELECT array_agg(
        CASE
            WHEN coalesce(h.c, 0) + e.nth < e.max_events THEN 0
            -- Full before the batch: the held event at offset c - max.
            WHEN h.c >= e.max_events THEN
                GREATEST(h.times[h.c - e.max_events + 1] + e.window_ms - now_ms, 1)
            -- Filled by the batch: the oldest of the held ones and the batch's.
            ELSE GREATEST(LEAST(coalesce(h.times[1], now_ms), now_ms) + e.window_ms - now_ms, 1)
        END
        ORDER BY e.place)
    INTO waits
    FROM events AS e LEFT JOIN held AS h ON h.name = e.name;
    INSERT INTO rate_events (name, at_ms)
    SELECT u.name, now_ms FROM unnest(event_names, waits) AS u(name, wait) WHERE u.wait = 0;
    RETURN waits;
END
$$;
