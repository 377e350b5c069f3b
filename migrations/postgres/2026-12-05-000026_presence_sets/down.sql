DROP TABLE presence_sets;
