-- A server's set of people as one byte string (see `models::presence_rows::PackedSet`), which
-- PostgreSQL stores as it comes, instead of six arrays: at 40,000 people, parsing and
-- compressing the arrays took it 55-65 ms a heartbeat, and the server as much again. The sets
-- last seconds (each server writes its own every few), so the table starts empty.
DROP TABLE presence_sets;
CREATE UNLOGGED TABLE presence_sets (
    -- A number each server draws at start.
    server_id BIGINT PRIMARY KEY,
    -- For each person whose page polls that server: the user, the room, when they last polled
    -- there, until when they type, and their name.
    members BYTEA NOT NULL,
    -- When the row was written, by the database's clock, as `presence.written_ms`.
    written_ms BIGINT NOT NULL
);
-- Not compressed: a set is mostly numbers, and compressing a megabyte costs more CPU than its
-- storage saves in a table of one row per server.
ALTER TABLE presence_sets ALTER COLUMN members SET STORAGE EXTERNAL;
