DROP FUNCTION chatroom_rate_hit(TEXT, BIGINT, BIGINT, INTEGER);
DROP TABLE rate_events;
DROP TABLE presence;
