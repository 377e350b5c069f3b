DROP TABLE sessions;
DROP TABLE room_reads;
DROP TABLE room_members;
DROP TABLE log_entries;
DROP TABLE deleted_rooms;
ALTER TABLE users DROP CONSTRAINT users_current_room_id_fkey;
DROP TABLE rooms;
DROP TABLE users;
