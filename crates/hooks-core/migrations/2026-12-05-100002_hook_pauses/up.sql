-- A paused hook (an extension, docs/api.md): kept apart from the definition columns, since pausing is state, not
-- definition (updateHook keeps it). Goes with the hook.
CREATE TABLE hook_pauses (
    hook_group_id text NOT NULL,
    hook_id text NOT NULL,
    reason text NOT NULL,
    paused_by text NOT NULL,
    since timestamptz NOT NULL,
    PRIMARY KEY (hook_group_id, hook_id),
    FOREIGN KEY (hook_group_id, hook_id) REFERENCES hooks (hook_group_id, hook_id) ON DELETE CASCADE
);

-- Pausing and resuming change whether the listener consumes the hook's queue: announce them as a change to the
-- hook, as a definition change is.
CREATE FUNCTION hook_pauses_notify_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('hooks_changed', json_build_object('op', 'UPDATE', 'hookGroupId', OLD.hook_group_id, 'hookId', OLD.hook_id)::text);
    ELSE
        PERFORM pg_notify('hooks_changed', json_build_object('op', 'UPDATE', 'hookGroupId', NEW.hook_group_id, 'hookId', NEW.hook_id)::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER hook_pauses_changed
    AFTER INSERT OR DELETE ON hook_pauses
    FOR EACH ROW EXECUTE FUNCTION hook_pauses_notify_changed();
