-- The fire log: what became of every event that reached a hook (created, declined, failed, refused, skipped,
-- dead-lettered), newest first per hook. Written on the same paths as last fires, and expired with them.
CREATE TABLE fire_log (
    id bigserial PRIMARY KEY,
    hook_group_id text NOT NULL,
    hook_id text NOT NULL,
    time timestamptz NOT NULL,
    fired_by text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('created', 'declined', 'render-error', 'payload-rejected',
        'create-failed', 'skipped-slot', 'dead-lettered')),
    task_id text,
    error text,
    -- Which event it was: the slot; the exchange, routing key and message id; the webhook delivery; the caller.
    source jsonb NOT NULL DEFAULT '{}',
    -- The same event written twice (a write retried after its commit was lost) is kept once. NULL for events
    -- without an identity of their own (a refused or dead-lettered message), which are never written twice.
    event_key text,
    FOREIGN KEY (hook_group_id, hook_id) REFERENCES hooks (hook_group_id, hook_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX fire_log_event ON fire_log (hook_group_id, hook_id, event_key);
-- The fire-log endpoint: newest first per hook, with a stable tie-break for pagination.
CREATE INDEX fire_log_newest ON fire_log (hook_group_id, hook_id, time DESC, id DESC);
-- Expiry deletes by age across all hooks.
CREATE INDEX fire_log_time ON fire_log (time);
