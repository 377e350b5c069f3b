DROP FUNCTION chatroom_rate_hit_all(TEXT[], BIGINT, BIGINT[], INTEGER[]);
