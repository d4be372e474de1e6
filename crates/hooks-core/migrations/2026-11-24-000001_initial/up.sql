-- The hooks themselves. Secrets are sealed with AES-256-GCM by the service (see crypto.rs), never stored in clear.
CREATE TABLE hooks (
    hook_group_id text NOT NULL,
    hook_id text NOT NULL,
    metadata jsonb NOT NULL,
    task jsonb NOT NULL,
    bindings jsonb NOT NULL,
    schedule jsonb NOT NULL,
    trigger_schema jsonb NOT NULL,
    encrypted_trigger_token bytea NOT NULL,
    -- Keys the derivation of each scheduled slot's taskId, so nobody outside can predict it.
    encrypted_schedule_secret bytea NOT NULL,
    -- The next slot to fire; NULL when the hook has no schedule.
    next_scheduled_date timestamptz,
    -- After a transient failure of the slot: not before this time, and how many attempts failed so far.
    schedule_retry_at timestamptz,
    schedule_failures integer NOT NULL DEFAULT 0,
    created timestamptz NOT NULL DEFAULT now(),
    updated timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hook_group_id, hook_id)
);
-- The scheduler's claim query: the earliest due slots first.
CREATE INDEX hooks_next_scheduled_date ON hooks (next_scheduled_date) WHERE next_scheduled_date IS NOT NULL;

-- One row per fire attempt that was not declined. A re-fired slot reuses its taskId, so the key keeps it to one row.
CREATE TABLE last_fires (
    hook_group_id text NOT NULL,
    hook_id text NOT NULL,
    fired_by text NOT NULL,
    task_id text NOT NULL,
    task_create_time timestamptz NOT NULL,
    result text NOT NULL CHECK (result IN ('success', 'error')),
    error text NOT NULL DEFAULT '',
    PRIMARY KEY (hook_group_id, hook_id, task_id),
    FOREIGN KEY (hook_group_id, hook_id) REFERENCES hooks (hook_group_id, hook_id) ON DELETE CASCADE
);
-- listLastFires: newest first per hook, with a stable tie-break for pagination.
CREATE INDEX last_fires_newest ON last_fires (hook_group_id, hook_id, task_create_time DESC, task_id DESC);
-- Expiry deletes by age across all hooks.
CREATE INDEX last_fires_task_create_time ON last_fires (task_create_time);

-- The pulse listener's bookkeeping: the queue it keeps for each hook and the bindings it last applied.
CREATE TABLE pulse_queues (
    hook_group_id text NOT NULL,
    hook_id text NOT NULL,
    queue_name text NOT NULL UNIQUE,
    bindings jsonb NOT NULL,
    updated timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hook_group_id, hook_id)
);

-- Who changed which hook, how, and when. Kept when the hook is removed.
CREATE TABLE audit_history (
    id bigserial PRIMARY KEY,
    hook_group_id text NOT NULL,
    hook_id text NOT NULL,
    client_id text NOT NULL,
    action text NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_history_hook ON audit_history (hook_group_id, hook_id, created);

-- Tasks "created" by the embedded sink, used when no Taskcluster deployment is configured.
CREATE TABLE embedded_tasks (
    task_id text PRIMARY KEY,
    hook_group_id text NOT NULL,
    hook_id text NOT NULL,
    definition jsonb NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);

-- Daemons LISTEN on hooks_changed so a change takes effect at once. Only definition changes notify: the
-- scheduler advancing next_scheduled_date must not wake every scheduler.
CREATE FUNCTION hooks_notify_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('hooks_changed', json_build_object('op', TG_OP, 'hookGroupId', OLD.hook_group_id, 'hookId', OLD.hook_id)::text);
    ELSE
        PERFORM pg_notify('hooks_changed', json_build_object('op', TG_OP, 'hookGroupId', NEW.hook_group_id, 'hookId', NEW.hook_id)::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER hooks_changed
    AFTER INSERT OR DELETE OR UPDATE OF metadata, task, bindings, schedule, trigger_schema ON hooks
    FOR EACH ROW EXECUTE FUNCTION hooks_notify_changed();
