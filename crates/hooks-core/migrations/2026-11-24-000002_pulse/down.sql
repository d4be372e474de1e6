DROP TABLE pulse_fires;
