ALTER TABLE deleted_rooms DROP COLUMN name;
