-- A hook's own schedule options, extensions upstream doesn't have; NULL when the hook doesn't set them. The
-- service validates them (an IANA zone name; a policy and, with `all`, a window in humantime syntax).
ALTER TABLE hooks
    ADD COLUMN time_zone text,
    ADD COLUMN catch_up_policy text CHECK (catch_up_policy IN ('none', 'latest', 'all')),
    ADD COLUMN catch_up_window text,
    ADD CONSTRAINT hooks_catch_up_window_needs_all
        CHECK (catch_up_window IS NULL OR catch_up_policy IS NOT DISTINCT FROM 'all');
-- They are part of the definition: a change to them announces the hook as changed (the scheduler wakes up and
-- reads its next slot, which a new zone moves).
DROP TRIGGER hooks_changed ON hooks;
CREATE TRIGGER hooks_changed
    AFTER INSERT OR DELETE
        OR UPDATE OF metadata, task, bindings, schedule, trigger_schema, time_zone, catch_up_policy, catch_up_window
    ON hooks
    FOR EACH ROW EXECUTE FUNCTION hooks_notify_changed();
