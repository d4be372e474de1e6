-- One row per Pulse message that fires a hook, written as soon as the message is received, before its task is
-- created. A message that comes back redelivered (its connection died before it was acknowledged) claims its row
-- and fires again under the same taskId and `now`, so the queue sees the identical task and creates nothing new; a
-- row already `done` means the fire was recorded and only the acknowledgement was lost.
--
-- No foreign key to hooks: the scheduler claims hooks FOR UPDATE, which would block this insert's key-share lock
-- for as long as a scheduled batch fires. Rows go when the listener deletes the hook's queue, or with age.
CREATE TABLE pulse_fires (
    hook_group_id text NOT NULL,
    hook_id text NOT NULL,
    task_id text NOT NULL,
    -- SHA-256 of the message's exchange, routing key, CC list, message id, timestamp and body.
    message_key bytea NOT NULL,
    -- The `now` the task was rendered with.
    fire_now timestamptz NOT NULL,
    -- The fire is recorded in last_fires (or was declined): only the acknowledgement may be missing.
    done boolean NOT NULL DEFAULT false,
    -- The listener session (one connection to the broker) that holds the message now. A redelivery only claims rows
    -- of other sessions, so two byte-identical messages redelivered together never share one row.
    claimed_by text NOT NULL,
    created timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hook_group_id, hook_id, task_id)
);
-- A redelivered message looks up its earlier fire.
CREATE INDEX pulse_fires_message ON pulse_fires (hook_group_id, hook_id, message_key);
-- Expiry deletes by age.
CREATE INDEX pulse_fires_created ON pulse_fires (created);
