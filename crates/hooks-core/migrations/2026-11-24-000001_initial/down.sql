DROP TRIGGER hooks_changed ON hooks;
DROP FUNCTION hooks_notify_changed();
DROP TABLE embedded_tasks;
DROP TABLE audit_history;
DROP TABLE pulse_queues;
DROP TABLE last_fires;
DROP TABLE hooks;
