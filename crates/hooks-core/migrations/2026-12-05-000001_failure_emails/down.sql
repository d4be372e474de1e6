ALTER TABLE hooks DROP COLUMN failure_emailed_at, DROP COLUMN failures_not_emailed;
