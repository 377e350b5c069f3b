DROP FUNCTION chatroom_rate_hit_many(TEXT[], BIGINT, BIGINT[], INTEGER[]);
