DROP INDEX last_fires_pending;
DELETE FROM last_fires WHERE result = 'pending';
ALTER TABLE last_fires DROP CONSTRAINT last_fires_result_check;
ALTER TABLE last_fires ADD CONSTRAINT last_fires_result_check CHECK (result IN ('success', 'error'));
