DROP TABLE presence_sets;
CREATE UNLOGGED TABLE presence_sets (
    server_id BIGINT PRIMARY KEY,
    user_ids INTEGER[] NOT NULL,
    usernames TEXT[] NOT NULL,
    room_ids INTEGER[] NOT NULL,
    seen_ms BIGINT[] NOT NULL,
    typing_until_ms BIGINT[] NOT NULL,
    written_ms BIGINT NOT NULL
);
