DROP TABLE hook_pauses;
DROP FUNCTION hook_pauses_notify_changed();
