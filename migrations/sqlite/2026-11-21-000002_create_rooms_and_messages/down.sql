DROP INDEX users_current_room_id;
ALTER TABLE users DROP COLUMN current_room_id;
DROP TABLE messages;
DROP TABLE deleted_rooms;
DROP TABLE rooms;
