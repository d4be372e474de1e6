-- Signed webhooks (an extension, docs/api.md): a hook's webhook, if it has one. Goes with the hook.
CREATE TABLE hook_webhooks (
    hook_group_id text NOT NULL,
    hook_id text NOT NULL,
    -- github, gitlab or standard: how deliveries are signed.
    kind text NOT NULL,
    -- The events that fire the hook; empty: every event.
    events jsonb NOT NULL,
    -- The signing secret, sealed like trigger tokens (context `webhook-secret:<group>/<id>`).
    encrypted_secret bytea NOT NULL,
    PRIMARY KEY (hook_group_id, hook_id),
    FOREIGN KEY (hook_group_id, hook_id) REFERENCES hooks (hook_group_id, hook_id) ON DELETE CASCADE
);

-- Each delivery a hook's webhook accepted, by the sender's delivery id: a redelivery finds it and creates
-- nothing new, on any api-server. A delivery still pending keeps its payload, so another api-server can finish
-- it when the one that accepted it stops; the payload is dropped once it is done. Expires with last fires.
CREATE TABLE webhook_deliveries (
    hook_group_id text NOT NULL,
    hook_id text NOT NULL,
    delivery_id text NOT NULL,
    -- Derived from the hook and the delivery id; with fire_now, every attempt renders the same task.
    task_id text NOT NULL,
    fire_now timestamptz NOT NULL,
    kind text NOT NULL,
    event text NOT NULL,
    -- pending, created, declined or failed.
    state text NOT NULL,
    -- JSON text, not jsonb: jsonb refuses U+0000, which a payload may hold.
    payload text,
    -- A pending delivery whose lease has run out is finished by whichever api-server takes it.
    lease_until timestamptz NOT NULL,
    received timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hook_group_id, hook_id, delivery_id),
    FOREIGN KEY (hook_group_id, hook_id) REFERENCES hooks (hook_group_id, hook_id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (lease_until) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received);
