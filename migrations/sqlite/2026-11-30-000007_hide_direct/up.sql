-- Nobody deletes a direct conversation for both people: each may hide it from their own
-- lobby, and it shows again when a message arrives or they open it again.
ALTER TABLE room_members ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;
