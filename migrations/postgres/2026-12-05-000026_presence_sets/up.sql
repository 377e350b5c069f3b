-- Presence costs each server a row every few seconds, not each person a row every few
-- seconds: besides what changes (someone arrives, moves, types, leaves: the `presence`
-- table), each server writes the set of people whose pages poll it, with when each last
-- polled, in one row of its own, and the others count each of them as a poll then. A server
-- that stops writing its set stops keeping its people present once presence times out.
-- UNLOGGED, as `presence`: lost in a crash of the database, it costs a few seconds of presence.
CREATE UNLOGGED TABLE presence_sets (
    -- A number each server draws at start.
    server_id BIGINT PRIMARY KEY,
    user_ids INTEGER[] NOT NULL,
    usernames TEXT[] NOT NULL,
    room_ids INTEGER[] NOT NULL,
    -- When each last polled this server, in Unix milliseconds.
    seen_ms BIGINT[] NOT NULL,
    -- Until when each types, in Unix milliseconds (0: not typing).
    typing_until_ms BIGINT[] NOT NULL,
    -- When the row was written, by the database's clock, as `presence.written_ms`.
    written_ms BIGINT NOT NULL
);
