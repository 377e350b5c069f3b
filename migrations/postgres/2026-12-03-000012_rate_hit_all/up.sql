-- Counts an event under each of `event_names` (each with its own window and maximum) if every
-- one of them has room; else counts none and returns how many milliseconds until all have
-- room. One call, one round trip: a login reserves its attempt against its username and
-- against its address together, so that attempts spread over several servers cannot each
-- take one counter's last place, be refused by the other, and leave fewer than the limit to
-- try. The names' locks are taken in one order, whatever the order given.
CREATE FUNCTION chatroom_rate_hit_all(event_names TEXT[], now_ms BIGINT, window_ms BIGINT[], max_events INTEGER[])
RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE
    event_name TEXT;
    i INTEGER;
    counted INTEGER;
    freed_at BIGINT;
    wait BIGINT := 0;
BEGIN
    FOR event_name IN
        SELECT u.name FROM unnest(event_names) AS u(name)
        ORDER BY hashtextextended('rate:' || u.name, 0)
    LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended('rate:' || event_name, 0));
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(event_names, 1), 0) LOOP
        DELETE FROM rate_events WHERE name = event_names[i] AND at_ms <= now_ms - window_ms[i];
        SELECT count(*) INTO counted FROM rate_events WHERE name = event_names[i];
        IF counted >= max_events[i] THEN
            SELECT at_ms INTO freed_at FROM rate_events WHERE name = event_names[i]
                ORDER BY at_ms OFFSET counted - max_events[i] LIMIT 1;
            wait := GREATEST(wait, freed_at + window_ms[i] - now_ms, 1);
        END IF;
    END LOOP;
    IF wait > 0 THEN
        RETURN wait;
    END IF;
    INSERT INTO rate_events (name, at_ms) SELECT u.name, now_ms FROM unnest(event_names) AS u(name);
    RETURN 0;
END
$$;
