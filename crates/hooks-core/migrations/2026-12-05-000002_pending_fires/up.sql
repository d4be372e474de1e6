-- An API call's fire is written as 'pending' before its task is created and given its outcome after, so a task
-- created by an api-server that then stopped is still recorded: pending rows left behind are settled by asking
-- the queue whether their task exists. listLastFires and getHookStatus don't show them.
ALTER TABLE last_fires DROP CONSTRAINT last_fires_result_check;
ALTER TABLE last_fires ADD CONSTRAINT last_fires_result_check CHECK (result IN ('success', 'error', 'pending'));
-- Settling finds the pending rows left behind by age, across all hooks.
CREATE INDEX last_fires_pending ON last_fires (task_create_time) WHERE result = 'pending';
