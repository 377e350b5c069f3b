-- A deleted room's name, so that the lobby of someone who was inside can say which room was
-- deleted ("“Kitchen” was deleted.") from the server's own record, never from the URL.
-- Rooms deleted before this migration keep an empty name (the notice then names none).
ALTER TABLE deleted_rooms ADD COLUMN name TEXT NOT NULL DEFAULT '';
