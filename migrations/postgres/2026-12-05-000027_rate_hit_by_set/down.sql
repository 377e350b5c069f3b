-- The event-by-event count of migration 2026-12-03-000014_rate_hit_many.
CREATE OR REPLACE FUNCTION chatroom_rate_hit_many(event_names TEXT[], now_ms BIGINT, window_ms BIGINT[], max_events INTEGER[])
RETURNS BIGINT[] LANGUAGE plpgsql AS $$
DECLARE
    hit RECORD;
    waits BIGINT[] := array_fill(0::BIGINT, ARRAY[coalesce(array_length(event_names, 1), 0)]);
BEGIN
    FOR hit IN
        SELECT u.name, u.window_ms, u.max_events, u.place
        FROM unnest(event_names, window_ms, max_events)
            WITH ORDINALITY AS u(name, window_ms, max_events, place)
        ORDER BY hashtextextended('rate:' || u.name, 0), u.place
    LOOP
        waits[hit.place] := chatroom_rate_hit(hit.name, now_ms, hit.window_ms, hit.max_events);
    END LOOP;
    RETURN waits;
END
$$;
