-- Mentions and notifications (issue 29).
--
-- mentions: the canonical names of the accounts a message mentions ("@name"), space-separated,
-- each once, in the order they first appear; NULL when none (and on every other kind).
ALTER TABLE log_entries ADD COLUMN mentions TEXT;

-- How loud a room is for someone. No row: the default, 'mentions' in a public room and 'all'
-- in a direct conversation.
CREATE TABLE room_notifications (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    level TEXT NOT NULL CHECK (level IN ('all', 'mentions', 'nothing')),
    PRIMARY KEY (user_id, room_id)
);
CREATE INDEX room_notifications_room_id ON room_notifications (room_id);

-- A message that needs someone: one row per recipient (never its author), written in the
-- message's own transaction. `mention`: it mentions them (the lobby counts these while
-- unread); `notify`: their level for the room says to tell them (the poll's attention and web
-- push). `push_state` 0 until a server's push worker claims the row (then 1), so that two
-- servers never push the same one.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    room_id INTEGER NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    mention BOOLEAN NOT NULL,
    notify BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    push_state INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, room_id, seq)
);
CREATE INDEX notices_room_id_seq ON notices (room_id, seq);
CREATE INDEX notices_unpushed ON notices (id) WHERE notify AND push_state = 0;
