-- nestjs-pg-queue schema, version 3.
--
-- 1. The status of a job whose attempt failed and that will run again is now 'retrying' (it was
--    'failed', which users of other queues read as final; 'killed' stays the end). Rows are renamed.
--    Processes of version 0.1 may still be running during a rolling deploy and write
--    'failed': the check still admits it and the claim still takes it, until the next minor
--    version renames what is left and drops it.
-- 2. `errors`: the history of failed attempts, oldest first, at most the last 20, each
--    { attempt, at, error } with the error text cut to 8 kB. `last_error` is the latest
--    attempt's error in full and is cleared when an attempt succeeds.
-- 3. `workers.names`: the job names each live worker has handlers for, so that a due job of a
--    name no live process handles can be reported (QueueAdmin.stats, the workers' warning).

ALTER TABLE {{schema}}.jobs DROP CONSTRAINT IF EXISTS jobs_status_check;
UPDATE {{schema}}.jobs SET status = 'retrying' WHERE status = 'failed';
ALTER TABLE {{schema}}.jobs ADD CONSTRAINT jobs_status_check
  CHECK (status IN ('pending', 'running', 'done', 'retrying', 'killed', 'failed'));

DROP INDEX {{schema}}.jobs_claim_idx;
CREATE INDEX jobs_claim_idx ON {{schema}}.jobs (queue, priority DESC, run_at, id)
  WHERE status IN ('pending', 'retrying', 'failed');

ALTER TABLE {{schema}}.jobs ADD COLUMN errors jsonb NOT NULL DEFAULT '[]'::jsonb;
UPDATE {{schema}}.jobs
SET errors = jsonb_build_array(jsonb_build_object('attempt', attempts, 'at', coalesce(done_at, locked_at, run_at), 'error', left(last_error, 8192))),
    last_error = CASE WHEN status = 'done' THEN NULL ELSE last_error END
WHERE last_error IS NOT NULL;

ALTER TABLE {{schema}}.workers ADD COLUMN names text[] NOT NULL DEFAULT '{}';
