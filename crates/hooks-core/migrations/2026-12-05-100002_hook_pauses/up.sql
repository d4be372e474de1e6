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
