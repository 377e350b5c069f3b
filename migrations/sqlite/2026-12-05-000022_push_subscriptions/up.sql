-- Web push (issue 29): the browsers that asked to be told of what needs their user while no
-- page of ours is open. A subscription belongs to the login session that made it
-- (`session_id`: the session's public id, which stays the same when the session's key
-- changes), so logging out ends it; it is pushed to only while that session lives.
-- `endpoint` is the push service's URL for this browser, unique: subscribing again updates.
-- `p256dh` and `auth`: the browser's public key and secret (base64url), which RFC 8291
-- encrypts each message for. `failures` counts deliveries that failed in a row; until
-- `retry_after` (Unix milliseconds) none is tried.
CREATE TABLE push_subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    endpoint TEXT NOT NULL UNIQUE,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    retry_after BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX push_subscriptions_user_id ON push_subscriptions (user_id);
CREATE INDEX push_subscriptions_session_id ON push_subscriptions (session_id);
