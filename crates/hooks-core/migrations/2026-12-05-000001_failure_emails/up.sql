-- Failure emails are limited to one per hook per hour: when the last was sent, and how many permanent failures of
-- scheduled fires have happened since (the next email says how many).
ALTER TABLE hooks
    ADD COLUMN failure_emailed_at timestamptz,
    ADD COLUMN failures_not_emailed integer NOT NULL DEFAULT 0;
