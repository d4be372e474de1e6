DROP TABLE hook_pauses;
