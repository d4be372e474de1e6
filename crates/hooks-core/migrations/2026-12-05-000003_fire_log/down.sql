DROP TABLE fire_log;
