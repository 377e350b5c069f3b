-- Rooms, their messages, and each user's current room.

CREATE TABLE rooms (
    -- AUTOINCREMENT: a deleted room's id is never reused, so it can keep answering 410.
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    -- The name folded to lower case (Unicode-aware, done in domain::RoomName):
    -- names are unique ignoring case.
    name_key TEXT NOT NULL UNIQUE,
    creator_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_activity_at TIMESTAMP NOT NULL
);

-- Remembers which ids belonged to rooms that were deleted: 410 Gone rather than 404.
CREATE TABLE deleted_rooms (
    id INTEGER PRIMARY KEY NOT NULL,
    deleted_at TIMESTAMP NOT NULL
);

CREATE TABLE messages (
    -- AUTOINCREMENT: ids only grow and are never reused; the pollers' cursors depend on it.
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    sent_at TIMESTAMP NOT NULL
);

CREATE INDEX messages_room_id_id ON messages (room_id, id);

-- A user is in at most one room at a time; deleting the room takes everyone out.
ALTER TABLE users ADD COLUMN current_room_id INTEGER REFERENCES rooms (id) ON DELETE SET NULL;

CREATE INDEX users_current_room_id ON users (current_room_id);
