-- Counts a batch of events, each under its own name, window and maximum (see
-- chatroom_rate_hit), in one call: for each, in the order given, 0 when counted, else how many
-- milliseconds until one more fits. The names' locks are taken in one order (by their lock
-- key, then their place in the batch), whatever the order given, so that two batches never
-- each hold a lock the other waits for. A loop over an ordered query keeps that order by
-- definition; a function called in the select list of an ordered subquery only in practice.
CREATE FUNCTION chatroom_rate_hit_many(event_names TEXT[], now_ms BIGINT, window_ms BIGINT[], max_events INTEGER[])
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
