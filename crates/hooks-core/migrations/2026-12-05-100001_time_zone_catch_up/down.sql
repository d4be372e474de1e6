DROP TRIGGER hooks_changed ON hooks;
CREATE TRIGGER hooks_changed
    AFTER INSERT OR DELETE OR UPDATE OF metadata, task, bindings, schedule, trigger_schema ON hooks
    FOR EACH ROW EXECUTE FUNCTION hooks_notify_changed();
ALTER TABLE hooks
    DROP CONSTRAINT hooks_catch_up_window_needs_all,
    DROP COLUMN catch_up_window,
    DROP COLUMN catch_up_policy,
    DROP COLUMN time_zone;
